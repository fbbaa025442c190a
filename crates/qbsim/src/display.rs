//! Requests that ask QuickBooks to open one of its windows
//! (`ListDisplayAdd`/`Mod`, `TxnDisplayAdd`/`Mod`): a new record's form, or
//! an existing record's. The simulator has no windows; it answers as
//! QuickBooks does once the form is open (status 0, no data), after
//! checking that the record to show exists (3120 otherwise) [I].

use crate::store;
use crate::txnkinds;
use crate::{status, Answer, Ctx, Res};
use qbxml::{Request, Status};

pub fn list(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    if let Some(id) = e.child_text("ListID") {
        let ty = e.child_text("ListDisplayModType").unwrap_or("");
        let ns = match ty {
            "Customer" | "Vendor" | "Employee" | "OtherName" => "Name",
            other => crate::kinds::kind(other)
                .map(|k| k.namespace)
                .unwrap_or(other),
        };
        let found = store::get(ctx.db, ns, id)?
            .is_some_and(|r| r.kind == ty || ty == "Item" && r.ns == "Item");
        if !found {
            return Err(status(3120, &[("value", id)]));
        }
    }
    Ok(Answer::status(Status::ok()))
}

pub fn txn(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e
        .child_text("TxnDisplayModType")
        .or_else(|| e.child_text("TxnDisplayAddType"))
        .unwrap_or("");
    if txnkinds::txn_kind(ty).is_none() {
        return Err(status(3250, &[]));
    }
    if let Some(id) = e.child_text("TxnID") {
        if store::get_txn(ctx.db, id)?.is_none_or(|t| t.kind != ty) {
            return Err(status(3120, &[("value", id)]));
        }
    }
    Ok(Answer::status(Status::ok()))
}

/// `QBCommandExec` (16.0): run one of QuickBooks' file commands (Backup,
/// Restore, IIFImport, ExportReport, …) with a path on the QuickBooks
/// machine. A connector's clients do not get to write or replace files on
/// its host: every command answers 3260 ("Insufficient permission level to
/// perform this action.") [I]; backups are the operator's (`qbconnector
/// backup`).
pub fn command(_ctx: &Ctx<'_>, _rq: &Request<'_>) -> Res<Answer> {
    Err(status(3260, &[]))
}
