//! `SpecialAccountAdd` and `SpecialItemAdd`: the accounts and items
//! QuickBooks keeps for its own purposes (Accounts Receivable, Undeposited
//! Funds, Retained Earnings…; the finance charge item, the reimbursable
//! expense group and subtotal), made on request. One that exists already
//! is answered as it is, not made twice [I].

use crate::body;
use crate::kinds;
use crate::ledger;
use crate::render::{self, include_of, RetOpts};
use crate::store::{self, Row};
use crate::txnkinds::Special;
use crate::{status, Answer, Ctx, Res};
use qbxml::{Elem, Request, Status};

fn answer_ret(
    ctx: &Ctx<'_>,
    rq: &Request<'_>,
    kind: &'static kinds::Kind,
    row: &Row,
) -> Res<Answer> {
    let opts = RetOpts {
        include: include_of(rq.element()),
        owners: Vec::new(),
    };
    Ok(Answer {
        status: Status::ok(),
        items: render::ret(ctx, row, kind, &opts).into_iter().collect(),
        ..Answer::default()
    })
}

pub fn account_add(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e
        .child("SpecialAccountAdd")
        .and_then(|a| a.child_text("SpecialAccountType"))
        .unwrap_or("");
    let Some(which) = Special::of_type(ty) else {
        return Err(status(3250, &[]));
    };
    let id = ledger::special(ctx, which)?;
    let (Some(row), Some(kind)) = (store::get(ctx.db, "Account", &id)?, kinds::kind("Account"))
    else {
        return Err(status(1000, &[]));
    };
    answer_ret(ctx, rq, kind, &row)
}

/// The item a `SpecialItemType` stands for: its kind, QuickBooks' name for
/// it, and what it holds.
fn special_item(ctx: &Ctx<'_>, ty: &str) -> Res<Option<(&'static str, &'static str, Vec<Elem>)>> {
    Ok(Some(match ty {
        "FinanceCharge" => {
            let income = ledger::special(ctx, Special::FinanceChargeIncome)?;
            (
                "ItemOtherCharge",
                "Finance Charge",
                vec![Elem::new("SalesOrPurchase")
                    .with("Desc", "Finance Charge")
                    .with("Price", "0.00")
                    .child(Elem::new("AccountRef").with("ListID", income))],
            )
        }
        "ReimbursableExpenseGroup" => (
            "ItemGroup",
            "Reimb Group",
            vec![
                Elem::leaf("ItemDesc", "Total Reimbursable Expenses"),
                Elem::leaf("IsPrintItemsInGroup", "true"),
            ],
        ),
        "ReimbursableExpenseSubtotal" => (
            "ItemSubtotal",
            "Reimb Subt",
            vec![Elem::leaf("ItemDesc", "Total Reimbursable Expenses")],
        ),
        _ => return Ok(None),
    }))
}

pub fn item_add(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e
        .child("SpecialItemAdd")
        .and_then(|a| a.child_text("SpecialItemType"))
        .unwrap_or("");
    let Some((kind_name, name, items)) = special_item(ctx, ty)? else {
        return Err(status(3250, &[]));
    };
    let Some(kind) = kinds::kind(kind_name) else {
        return Err(status(1000, &[]));
    };
    let key = format!("special-item:{ty}");
    if let Some(id) = store::meta(ctx.db, &key)? {
        if let Some(row) = store::get(ctx.db, "Item", &id)?.filter(|r| r.kind == kind_name) {
            return answer_ret(ctx, rq, kind, &row);
        }
    }
    if store::by_name(ctx.db, "Item", name)?.is_some() {
        return Err(status(3100, &[("value", name)]));
    }
    let id = format!(
        "{:X}-{}",
        store::next_counter(ctx.db, kind.counter)?,
        ctx.now
    );
    let row = Row {
        id: id.clone(),
        kind: kind_name.into(),
        ns: kind.namespace.into(),
        name: name.into(),
        full_name: name.into(),
        sort_key: name.to_lowercase(),
        active: true,
        created: ctx.now,
        modified: ctx.now,
        edit_seq: ctx.now,
        body: body::encode(&items),
        ..Row::default()
    };
    store::insert(ctx.db, &row)?;
    let mut refs = Vec::new();
    crate::lists::collect_ref_ids(&items, &mut refs);
    store::set_refs(ctx.db, &store::key(kind.namespace, &id), &refs)?;
    store::set_meta(ctx.db, &key, &id)?;
    answer_ret(ctx, rq, kind, &row)
}
