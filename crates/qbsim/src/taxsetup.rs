//! A company's tax reporting setup: which accounts feed each box of Form
//! 1099-MISC (`Form1099CategoryAccountMappingQuery`/`Mod`), and the income
//! tax lines its accounts are assigned (`AccountTaxLineInfoQuery`).
//!
//! The mapping is kept in `meta` (`form1099`). A new company is not
//! filing 1099-MISC and maps no accounts; each box has the threshold
//! QuickBooks starts with [I: the IRS reporting thresholds]. Tax lines are
//! the ones the company's accounts use: the simulator has no tax form
//! chosen, so it knows no tax line names [I].

use crate::body::{self, leaf, RefRequest};
use crate::kinds;
use crate::refs::resolve;
use crate::render::complete_refs;
use crate::store;
use crate::{invalid, status, Answer, Ctx, Res};
use qbxml::{Elem, Request, Status};

/// Starting thresholds of the boxes (the IRS reporting thresholds of the
/// 13.0 form [I]); other boxes start at 0.00.
const THRESHOLDS: &[(&str, &str)] = &[
    ("BOX1", "600.00"),
    ("BOX2", "10.00"),
    ("BOX3", "600.00"),
    ("BOX6", "600.00"),
    ("BOX7", "600.00"),
    ("BOX8", "10.00"),
    ("BOX9", "5000.00"),
    ("BOX10", "600.00"),
    ("BOX14", "600.00"),
];

/// The boxes of the form in the request's version (13.0 and 16.0 differ:
/// the form was redesigned in between).
fn boxes(ctx: &Ctx<'_>) -> Vec<&'static str> {
    ctx.schema
        .response("Form1099CategoryAccountMappingQueryRs")
        .and_then(|p| p.decl().child("Form1099CategoryAccountMappingRet"))
        .and_then(|p| p.decl().child("CategoryAccountMapping"))
        .and_then(|p| p.decl().child("MappingCategory"))
        .and_then(|p| p.decl().simple_type())
        .map(|t| t.values().collect())
        .unwrap_or_default()
}

/// The stored setup (a new company's: not filing, nothing mapped), with an
/// entry for every box of the request's version.
fn load(ctx: &Ctx<'_>) -> Res<Vec<Elem>> {
    let mut items = match store::meta(ctx.db, "form1099")? {
        Some(text) => body::decode(&text),
        None => vec![Elem::leaf("IsFiling1099Misc", "false")],
    };
    for b in boxes(ctx) {
        let known = items.iter().any(|i| {
            i.name == "CategoryAccountMapping" && leaf(&i.children, "MappingCategory") == Some(b)
        });
        if !known {
            let t = THRESHOLDS
                .iter()
                .find(|(x, _)| *x == b)
                .map(|(_, t)| *t)
                .unwrap_or("0.00");
            items.push(
                Elem::new("CategoryAccountMapping")
                    .with("MappingCategory", b)
                    .with("Threshold", t),
            );
        }
    }
    Ok(items)
}

fn answer(ctx: &Ctx<'_>, items: Vec<Elem>, only: &[&str]) -> Res<Answer> {
    let shown = boxes(ctx);
    let mut ret = Elem::new("Form1099CategoryAccountMappingRet");
    for mut i in items {
        if i.name == "CategoryAccountMapping" {
            let cat = leaf(&i.children, "MappingCategory").unwrap_or("");
            if !shown.contains(&cat) || (!only.is_empty() && !only.contains(&cat)) {
                continue;
            }
        }
        complete_refs(ctx, &mut i);
        ret.push(i);
    }
    Ok(Answer {
        status: Status::ok(),
        items: vec![ret],
        ..Answer::default()
    })
}

pub fn query(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let only: Vec<&str> = rq
        .element()
        .children_named("MappingCategory")
        .map(|c| c.text())
        .collect();
    answer(ctx, load(ctx)?, &only)
}

/// Map accounts to boxes: a box named in the Mod gets the accounts given
/// (and its threshold, if given). An account mapped to another box moves
/// only when `ForceMapping` says so; otherwise 3210 [I].
pub fn modify(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let Some(m) = rq.element().child("Form1099CategoryAccountMappingMod") else {
        return Err(status(1000, &[]));
    };
    let mut items = load(ctx)?;
    if let Some(v) = m.child_text("IsFiling1099Misc") {
        let v = if v == "true" || v == "1" {
            "true"
        } else {
            "false"
        };
        for i in items.iter_mut().filter(|i| i.name == "IsFiling1099Misc") {
            i.text = v.to_string();
        }
    }
    let accounts: Vec<&'static kinds::Kind> = kinds::kind("Account").into_iter().collect();
    for c in m.children_named("CategoryAccountMappingMod") {
        let category = c.child_text("MappingCategory").unwrap_or("");
        let mut given = Vec::new();
        for ma in c.children_named("MappingAccount") {
            let Some(r) = ma.child("AccountRef") else {
                continue;
            };
            let row = resolve(
                ctx,
                &accounts,
                &RefRequest::of("AccountRef", r),
                "Form1099CategoryAccountMapping",
            )?;
            let force = ma
                .child_text("ForceMapping")
                .is_some_and(|v| v == "true" || v == "1");
            given.push((row, force));
        }
        for (row, force) in &given {
            for other in items.iter_mut().filter(|i| {
                i.name == "CategoryAccountMapping"
                    && leaf(&i.children, "MappingCategory") != Some(category)
            }) {
                let mapped = other.children.iter().any(|a| {
                    a.name == "AccountRef" && a.get("ListID").is_some_and(|l| l.text == row.id)
                });
                if mapped && !force {
                    return Err(invalid(
                        "MappingAccount",
                        &row.full_name,
                        "The account is mapped to another 1099 box; set ForceMapping to move it.",
                    ));
                }
                other.children.retain(|a| {
                    !(a.name == "AccountRef" && a.get("ListID").is_some_and(|l| l.text == row.id))
                });
            }
        }
        let Some(entry) = items.iter_mut().find(|i| {
            i.name == "CategoryAccountMapping"
                && leaf(&i.children, "MappingCategory") == Some(category)
        }) else {
            return Err(status(3250, &[]));
        };
        let threshold = c
            .child_text("Threshold")
            .map(|t| store::money(store::cents(t)))
            .or_else(|| leaf(&entry.children, "Threshold").map(str::to_string));
        entry.children = vec![Elem::leaf("MappingCategory", category)];
        for (row, _) in &given {
            entry.push(Elem::new("AccountRef").with("ListID", row.id.clone()));
        }
        if let Some(t) = threshold {
            entry.push(Elem::leaf("Threshold", t));
        }
    }
    store::set_meta(ctx.db, "form1099", &body::encode(&items))?;
    answer(ctx, items, &[])
}

/// `AccountTaxLineInfoQuery`: the tax lines the accounts are assigned.
pub fn tax_lines(ctx: &Ctx<'_>, _rq: &Request<'_>) -> Res<Answer> {
    let ids = store::ids_in_order(ctx.db, "Account", &store::ColumnFilter::default())?;
    let mut lines: Vec<String> = Vec::new();
    for r in store::get_many(ctx.db, "Account", &ids)? {
        if !r.body.contains("TaxLineInfoRet") {
            continue;
        }
        for t in body::decode(&r.body)
            .iter()
            .filter(|e| e.name == "TaxLineInfoRet")
        {
            if let Some(id) = leaf(&t.children, "TaxLineID") {
                if !lines.iter().any(|l| l == id) {
                    lines.push(id.to_string());
                }
            }
        }
    }
    lines.sort_by_key(|l| l.parse::<i64>().unwrap_or(i64::MAX));
    let items: Vec<Elem> = lines
        .into_iter()
        .map(|l| Elem::new("AccountTaxLineInfoRet").with("TaxLineID", l))
        .collect();
    Ok(Answer::found(items))
}
