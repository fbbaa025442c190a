//! Queries that work an answer out rather than list stored records: the
//! bills a vendor can be paid for (`BillToPayQuery`), the sales tax owed
//! to each tax agency (`SalesTaxPayableQuery`), and how many of an
//! assembly its components on hand can build
//! (`ItemAssembliesCanBuildQuery`).

use crate::body::{self, leaf, RefRequest};
use crate::kinds;
use crate::ledger;
use crate::refs::resolve;
use crate::render::complete_refs;
use crate::store::{self, TxnRow};
use crate::{status, Answer, Ctx, Res};
use qbxml::{Elem, Element, Request};
use std::collections::HashMap;

/// A reference the request gives, resolved against `kinds`.
fn given_ref(
    ctx: &Ctx<'_>,
    e: Element<'_>,
    field: &'static str,
    kinds: &[&'static kinds::Kind],
    object: &str,
) -> Res<Option<store::Row>> {
    let Some(r) = e.child(field) else {
        return Ok(None);
    };
    Ok(Some(resolve(
        ctx,
        kinds,
        &RefRequest::of(field, r),
        object,
    )?))
}

fn answer(ctx: &Ctx<'_>, mut items: Vec<Elem>) -> Res<Answer> {
    for i in items.iter_mut() {
        complete_refs(ctx, i);
        ctx.spend(i)?;
    }
    Ok(Answer::found(items))
}

/// Every open transaction of these types, of one name, oldest first.
fn open_of(ctx: &Ctx<'_>, entity: &str, types: &[&str]) -> Res<Vec<TxnRow>> {
    let mut st = ctx.db.prepare_cached(
        "SELECT id, type FROM txn WHERE entity=?1 AND open<>0 AND voided=0 ORDER BY date, created, id",
    )?;
    let rows = st.query_map([entity], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut ids = Vec::new();
    for r in rows {
        let (id, ty) = r?;
        if types.contains(&ty.as_str()) {
            ids.push(id);
        }
    }
    Ok(store::get_txns(ctx.db, &ids)?)
}

/// `BillToPayQuery`: a vendor's open bills (due by `DueDate` when given)
/// and the credits it can apply to them, in one A/P account when asked.
pub fn bills_to_pay(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let payee = given_ref(
        ctx,
        e,
        "PayeeEntityRef",
        &kinds::ref_targets("PayeeEntityRef").unwrap_or_default(),
        "BillToPay",
    )?;
    let Some(payee) = payee else {
        return Err(status(3150, &[("field", "PayeeEntityRef")]));
    };
    let account = given_ref(
        ctx,
        e,
        "APAccountRef",
        &kinds::ref_targets("APAccountRef").unwrap_or_default(),
        "BillToPay",
    )?;
    let due_by = e.child_text("DueDate");
    let mut items = Vec::new();
    for t in open_of(ctx, &payee.id, &["Bill", "VendorCredit"])? {
        if account
            .as_ref()
            .is_some_and(|a| t.account.as_ref() != Some(&a.id))
        {
            continue;
        }
        let b = body::decode(&t.body);
        let due = leaf(&b, "DueDate").map(str::to_string);
        let bill = t.kind == "Bill";
        if bill {
            if let (Some(limit), Some(d)) = (due_by, due.as_deref()) {
                if d > limit {
                    continue;
                }
            }
        }
        let mut x = Elem::new(if bill { "BillToPay" } else { "CreditToApply" })
            .with("TxnID", t.id.clone())
            .with("TxnType", t.kind.clone());
        if let Some(a) = &t.account {
            x.push(Elem::new("APAccountRef").with("ListID", a.clone()));
        }
        x.push(Elem::leaf("TxnDate", t.date.clone()));
        if let Some(r) = &t.ref_number {
            x.push(Elem::leaf("RefNumber", r.clone()));
        }
        if bill {
            if let Some(d) = due {
                x.push(Elem::leaf("DueDate", d));
            }
            x.push(Elem::leaf("AmountDue", store::money(t.open)));
        } else {
            x.push(Elem::leaf("CreditRemaining", store::money(t.open)));
        }
        items.push(Elem::new("BillToPayRet").child(x));
    }
    answer(ctx, items)
}

/// `ItemAssembliesCanBuildQuery`: how many of an assembly the components
/// on hand can build. Quantities are today's: the simulator keeps no
/// history of stock by date [I].
pub fn assemblies_can_build(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let targets: Vec<&'static kinds::Kind> =
        kinds::kind("ItemInventoryAssembly").into_iter().collect();
    let Some(asm) = given_ref(
        ctx,
        e,
        "ItemInventoryAssemblyRef",
        &targets,
        "ItemAssembliesCanBuild",
    )?
    else {
        return Err(status(3150, &[("field", "ItemInventoryAssemblyRef")]));
    };
    let n = crate::txns::quantity_can_build(ctx, &asm.id)?;
    let mut ret = Elem::new("ItemAssembliesCanBuildRet")
        .child(Elem::new("ItemInventoryAssemblyRef").with("ListID", asm.id.clone()));
    if let Some(d) = e.child_text("TxnDate") {
        ret.push(Elem::leaf("TxnDate", d));
    }
    ret.push(Elem::leaf("QuantityCanBuild", ledger::qty_text(n)));
    answer(ctx, vec![ret])
}

/// `SalesTaxPayableQuery`: what each sales tax item has collected less
/// what sales tax payments paid for it, as of a date (today when left
/// out), per tax agency (the item's TaxVendorRef). Tax charged through a
/// sales tax group is shared among its items by their rates [I].
pub fn sales_tax_payable(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let as_of = e
        .child_text("AsOfDate")
        .map(str::to_string)
        .unwrap_or_else(|| ctx.tz.date(ctx.now));
    let owed = payable_by_item(ctx, &as_of)?;
    // Per agency, in name order; items without an agency under none.
    let mut agencies: Vec<(Option<String>, Lines)> = Vec::new();
    let mut items: Vec<(String, String, i64)> = Vec::new();
    for (id, amount) in owed {
        let Some(row) = store::get(ctx.db, "Item", &id)? else {
            continue;
        };
        items.push((row.full_name.to_lowercase(), id, amount));
    }
    items.sort();
    for (_, id, amount) in items {
        let agency = match store::get(ctx.db, "Item", &id)? {
            Some(r) => ledger::ref_id(&body::decode(&r.body), "TaxVendorRef"),
            None => None,
        };
        match agencies.iter_mut().find(|a| a.0 == agency) {
            Some(a) => a.1.push((id, amount)),
            None => agencies.push((agency, vec![(id, amount)])),
        }
    }
    let mut out = Vec::new();
    for (agency, lines) in agencies {
        let mut ret = Elem::new("SalesTaxPayableRet");
        if let Some(a) = agency {
            ret.push(Elem::new("PayeeEntityRef").with("ListID", a));
        }
        let total: i64 = lines.iter().map(|l| l.1).sum();
        ret.push(Elem::leaf("Amount", store::money(total)));
        for (id, amount) in lines {
            ret.push(
                Elem::new("SalesTaxPayableLineRet")
                    .child(Elem::new("ItemSalesTaxRef").with("ListID", id))
                    .with("Amount", store::money(amount)),
            );
        }
        out.push(ret);
    }
    answer(ctx, out)
}

/// What each sales tax item has collected less what sales tax payments
/// paid for it, through `as_of` (cents by item ListID).
pub(crate) fn payable_by_item(ctx: &Ctx<'_>, as_of: &str) -> Res<HashMap<String, i64>> {
    let mut owed: HashMap<String, i64> = HashMap::new();
    let mut st = ctx.db.prepare_cached(
        "SELECT id, type FROM txn WHERE voided=0 AND date<=?1 AND type IN \
         ('Invoice','SalesReceipt','CreditMemo','SalesTaxPaymentCheck') ORDER BY date, created",
    )?;
    let rows = st.query_map([as_of], |r| r.get::<_, String>(0))?;
    let ids: Vec<String> = rows
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    for t in store::get_txns(ctx.db, &ids)? {
        let b = body::decode(&t.body);
        if t.kind == "SalesTaxPaymentCheck" {
            for l in b.iter().filter(|x| x.name == "SalesTaxPaymentCheckLineRet") {
                if let Some(item) = ledger::ref_id(&l.children, "ItemSalesTaxRef") {
                    let a = leaf(&l.children, "Amount").map(store::cents).unwrap_or(0);
                    *owed.entry(item).or_default() -= a;
                }
            }
            continue;
        }
        let sign = if t.kind == "CreditMemo" { -1 } else { 1 };
        // Sales tax charged as a line of the form.
        for l in b.iter().filter(|x| x.name.ends_with("LineRet")) {
            let Some(item) = ledger::ref_id(&l.children, "ItemRef") else {
                continue;
            };
            let amount = leaf(&l.children, "Amount").map(store::cents).unwrap_or(0);
            if amount == 0 {
                continue;
            }
            let is_tax = store::get(ctx.db, "Item", &item)?
                .is_some_and(|r| matches!(r.kind.as_str(), "ItemSalesTax" | "ItemSalesTaxGroup"));
            if is_tax {
                for (member, share) in shares(ctx, &item, amount)? {
                    *owed.entry(member).or_default() += sign * share;
                }
            }
        }
        let tax = leaf(&b, "SalesTaxTotal").map(store::cents).unwrap_or(0);
        if tax != 0 {
            if let Some(item) = ledger::ref_id(&b, "ItemSalesTaxRef") {
                for (member, share) in shares(ctx, &item, tax)? {
                    *owed.entry(member).or_default() += sign * share;
                }
            }
        }
    }
    Ok(owed)
}

/// A tax agency's lines: (sales tax item, amount owed).
type Lines = Vec<(String, i64)>;

/// How a tax amount charged through `item` falls to sales tax items: all
/// of it to a single item; a group's shared by its items' rates, the
/// rounding left to the last one.
fn shares(ctx: &Ctx<'_>, item: &str, tax: i64) -> Res<Vec<(String, i64)>> {
    let Some(row) = store::get(ctx.db, "Item", item)? else {
        return Ok(Vec::new());
    };
    if row.kind != "ItemSalesTaxGroup" {
        return Ok(vec![(item.to_string(), tax)]);
    }
    let b = body::decode(&row.body);
    let mut members = Vec::new();
    for r in b.iter().filter(|x| x.name == "ItemSalesTaxRef") {
        let Some(id) = r.get("ListID").map(|x| x.text.to_string()) else {
            continue;
        };
        let rate = match store::get(ctx.db, "Item", &id)? {
            Some(m) => leaf(&body::decode(&m.body), "TaxRate")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0),
            None => 0.0,
        };
        members.push((id, rate));
    }
    let sum: f64 = members.iter().map(|m| m.1).sum();
    let mut out = Vec::new();
    let mut given = 0;
    for (i, (id, rate)) in members.iter().enumerate() {
        let share = if i + 1 == members.len() {
            tax - given
        } else if sum > 0.0 {
            (tax as f64 * rate / sum).round() as i64
        } else {
            0
        };
        given += share;
        out.push((id.clone(), share));
    }
    Ok(out)
}
