//! Payroll, in a company that runs none: QuickBooks keeps payroll items
//! as list records (`kinds.rs`), but the simulated company has no payroll
//! subscription, so there are no paychecks, liability checks or payroll
//! adjustments to find, and recording a payroll adjustment or prior
//! payment is refused with 3250 ("This feature is not enabled or not
//! available in this version of QuickBooks.") [I: the status a company
//! without a subscription answers is not documented].
//!
//! Employee defaults (16.0) are kept as set (`EmployeeDefaultMod`).

use crate::body::{self, RefRequest};
use crate::kinds;
use crate::refs::resolve;
use crate::render::complete_refs;
use crate::store;
use crate::{status, Answer, Ctx, Res};
use qbxml::{Elem, Request, Status};

/// A query of payroll transactions: none exist. One that names them
/// (TxnID, RefNumber) is told they are missing (500).
pub fn txn_query(_ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    // The query aggregate (PayrollTxnQuery in 16.0's PaycheckQuery) or the
    // request itself holds the names.
    let holder = e.children().find(|c| c.has_children()).unwrap_or(e);
    let named = [e, holder].into_iter().find_map(|x| {
        x.child_text("TxnID")
            .or_else(|| x.child_text("RefNumber"))
            .or_else(|| x.child_text("RefNumberCaseSensitive"))
    });
    Ok(Answer::status(match named {
        Some(v) => Status::from_code(500, &[("value", v)]),
        None => Status::from_code(1, &[]),
    }))
}

/// Payroll adjustments and prior payments need a payroll subscription.
pub fn refused(_ctx: &Ctx<'_>, _rq: &Request<'_>) -> Res<Answer> {
    Err(status(3250, &[]))
}

pub fn employee_default_query(ctx: &Ctx<'_>, _rq: &Request<'_>) -> Res<Answer> {
    Ok(Answer {
        status: Status::ok(),
        items: vec![employee_default(ctx)?],
        ..Answer::default()
    })
}

fn employee_default(ctx: &Ctx<'_>) -> Res<Elem> {
    let mut ret = Elem::new("EmployeeDefaultRet");
    if let Some(text) = store::meta(ctx.db, "employee_default")? {
        ret.children = body::decode(&text);
    }
    complete_refs(ctx, &mut ret);
    Ok(ret)
}

/// `EmployeeDefaultMod`: the payroll defaults new employees start with,
/// merged into what is kept (references resolved as in any Mod).
pub fn employee_default_mod(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(m) = rq.element().child("EmployeeDefaultMod") else {
        return Err(status(1000, &[]));
    };
    let Some(ret) = ctx
        .schema
        .response("EmployeeDefaultQueryRs")
        .and_then(|p| p.decl().child("EmployeeDefaultRet"))
    else {
        return Err(status(1000, &[]));
    };
    let mut resolver = |r: &RefRequest<'_>| -> Res<String> {
        let targets = kinds::ref_targets(r.name).unwrap_or_default();
        Ok(resolve(ctx, &targets, r, "EmployeeDefault")?.id)
    };
    let mut changes = Vec::new();
    if let Some(info) = m.child("EmployeeDefaultPayrollInfoMod") {
        if let Some(decl) = ret.decl().child("EmployeeDefaultPayrollInfo") {
            let mut e = Elem::new("EmployeeDefaultPayrollInfo");
            e.children = body::map_children(info, decl.decl(), &[], &mut resolver)?;
            changes.push(e);
        }
    }
    let mut items = store::meta(ctx.db, "employee_default")?
        .map(|t| body::decode(&t))
        .unwrap_or_default();
    for c in changes {
        match items.iter_mut().find(|i| i.name == c.name) {
            Some(i) => body::merge(&mut i.children, c.children, &[]),
            None => items.push(c),
        }
    }
    store::set_meta(ctx.db, "employee_default", &body::encode(&items))?;
    Ok(Answer {
        status: Status::ok(),
        items: vec![employee_default(ctx)?],
        ..Answer::default()
    })
}
