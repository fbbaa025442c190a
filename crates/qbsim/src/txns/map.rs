//! A transaction request mapped onto the Ret it will be stored as: the
//! header and lines (references resolved, line IDs given), the defaults
//! QuickBooks fills in (terms, due date, accounts, tax codes, numbering).

use super::Draft;
use crate::body::{self, leaf, RefRequest};
use crate::clock::{date_text, parse_date};
use crate::kinds;
use crate::ledger::{self};
use crate::refs::resolve;
use crate::store::{self};
use crate::txnkinds::{Role, Special, TxnKind};
use crate::txnret::{line_family, DYNAMIC};
use crate::{status, Res};
use crate::{Ctx, Record};
use qbxml::schema::Decl;
use qbxml::{Elem, Element};
use std::rc::Rc;

/// Request children this module handles itself rather than mapping them
/// onto the Ret.
pub(super) const OWN_FIELDS: &[&str] = &[
    "TxnID",
    "EditSequence",
    "AppliedToTxnAdd",
    "AppliedToTxnMod",
    "SetCredit",
    "LinkToTxnID",
    "IsAutoApply",
    "CashBackInfoAdd",
    "CashBackInfoMod",
    "ClearExpenseLines",
    "ClearItemLines",
    "TotalAmount",
    // Custom fields on transactions are not kept (docs/SIMULATOR.md).
    "DataExt",
];

pub(super) fn set_leaf(items: &mut Vec<Elem>, name: &'static str, value: String) {
    match items.iter_mut().find(|e| e.name == name) {
        Some(e) => {
            e.text = value;
            e.children.clear();
        }
        None => items.push(Elem::leaf(name, value)),
    }
}

/// Resolve a reference for a transaction, remembering it as in use.
pub(super) fn resolve_ref(
    ctx: &Ctx<'_>,
    r: &RefRequest<'_>,
    object: &str,
    refs: &mut Vec<String>,
) -> Res<String> {
    let targets = kinds::ref_targets(r.name).unwrap_or_default();
    let row = resolve(ctx, &targets, r, object)?;
    refs.push(store::key(&row.ns, &row.id));
    Ok(row.id)
}

/// A list record's stored body (items, customers, accounts, tax codes),
/// read once per request (`Ctx::lookups`).
pub(super) fn list_body(ctx: &Ctx<'_>, ns: &str, id: &str) -> Res<Option<Record>> {
    let key = store::key(ns, id);
    if let Some(hit) = ctx.lookups.borrow().get(&key) {
        return Ok(Some(hit.clone()));
    }
    let Some(r) = store::get(ctx.db, ns, id)? else {
        return Ok(None);
    };
    let b = body::decode(&r.body);
    let v = Rc::new((r, b));
    ctx.lookups.borrow_mut().insert(key, v.clone());
    Ok(Some(v))
}

/// Map the header of an Add or Mod aggregate.
pub(super) fn map_header(
    ctx: &Ctx<'_>,
    kind: &TxnKind,
    agg: Element<'_>,
    ret: Decl,
    refs: &mut Vec<String>,
) -> Res<Vec<Elem>> {
    let mut skip: Vec<&str> = OWN_FIELDS.to_vec();
    let line_names: Vec<String> = agg
        .children()
        .filter(|c| line_family(c.name(), ret).is_some() || c.name() == "JournalLineMod")
        .map(|c| c.name().to_string())
        .collect();
    skip.extend(line_names.iter().map(String::as_str));
    let mut resolver = |r: &RefRequest<'_>| resolve_ref(ctx, r, kind.name, refs);
    let mut items = body::map_children(agg, ret, &skip, &mut resolver)?;
    items.retain(|e| !DYNAMIC.contains(&e.name.as_ref()));
    // What the Ret does not show but a build needs on a Mod too: kept in
    // the stored body (writing out drops what the Ret does not have).
    if let Some(v) = agg.child("MarkPendingIfRequired") {
        items.push(Elem::from_element(v));
    }
    Ok(items)
}

/// Map one line aggregate onto its Ret family (without its TxnLineID).
pub(super) fn map_line(
    ctx: &Ctx<'_>,
    kind: &TxnKind,
    el: Element<'_>,
    family: &'static str,
    ret: Decl,
    refs: &mut Vec<String>,
) -> Res<Elem> {
    if family.contains("Group") {
        return Err(status(3250, &[]));
    }
    let Some(decl) = ret.child(family).map(|p| p.decl()) else {
        return Err(status(1000, &[]));
    };
    let object = format!("{} line", kind.name);
    let mut resolver = |r: &RefRequest<'_>| resolve_ref(ctx, r, &object, refs);
    let children = body::map_children(
        el,
        decl,
        &["TxnLineID", "JournalLineType", "DataExt"],
        &mut resolver,
    )?;
    let mut e = Elem::new(family);
    e.children = children;
    // What the Ret does not show but the arithmetic needs on a Mod: kept
    // in the stored line (writing out drops what the Ret does not have).
    if family == "InventoryAdjustmentLineRet" {
        for n in ["QuantityAdjustment", "ValueAdjustment"] {
            if let Some(x) = el.child(n) {
                e.children.push(Elem::from_element(x));
            }
        }
    }
    // A transfer line's quantity to transfer is the Ret's quantity
    // transferred.
    if family == "TransferInventoryLineRet" {
        if let Some(q) = el.child_text("QuantityToTransfer") {
            e.children.retain(|c| c.name != "QuantityTransferred");
            e.children.push(Elem::leaf("QuantityTransferred", q.trim()));
        }
    }
    if family == "DepositLineRet" {
        if let Some(p) = el.child_text("PaymentTxnID") {
            e.children.push(Elem::leaf("TxnID", p));
        }
    }
    Ok(e)
}

pub(super) fn next_line_id(ctx: &Ctx<'_>, created: i64) -> Res<String> {
    Ok(format!(
        "{:X}-{created}",
        store::next_seq(ctx.db, "Txn", 1)?
    ))
}

pub(super) fn give_line_id(line: &mut Elem, id: String) {
    line.children.retain(|c| c.name != "TxnLineID");
    line.children.insert(0, Elem::leaf("TxnLineID", id));
}

/// Status fields QuickBooks sets on a new order or line: (type or line
/// family, field, value). Orders are not yet invoiced or received from
/// here (linking POs to receipts and sales orders to invoices is not
/// simulated), so these stay at their first values.
pub(super) const NEW_FLAGS: &[(&str, &str, &str)] = &[
    ("SalesOrder", "IsManuallyClosed", "false"),
    ("SalesOrder", "IsFullyInvoiced", "false"),
    ("SalesOrderLineRet", "Invoiced", "0"),
    ("SalesOrderLineRet", "IsManuallyClosed", "false"),
    ("PurchaseOrder", "IsManuallyClosed", "false"),
    ("PurchaseOrder", "IsFullyReceived", "false"),
    ("PurchaseOrderLineRet", "ReceivedQuantity", "0"),
    ("PurchaseOrderLineRet", "IsManuallyClosed", "false"),
    ("Estimate", "IsActive", "true"),
];

/// QuickBooks' defaults for what the Add left out.
pub(super) fn fill_defaults(ctx: &Ctx<'_>, d: &mut Draft<'_>, agg: Element<'_>) -> Res<()> {
    let kind = d.kind;
    let has = |n: &str| d.ret.child(n).is_some();
    // The header account.
    if let Some((field, Some(special))) = kind.account {
        if ledger::ref_id(&d.items, field).is_none() {
            let id = ledger::special(ctx, special)?;
            d.refs.push(store::key("Account", &id));
            d.items.push(Elem::new(field).with("ListID", id));
        }
    }
    // A refund's money comes out of Undeposited Funds when the request
    // names no account [I].
    if kind.role == Role::Refund && ledger::ref_id(&d.items, "RefundFromAccountRef").is_none() {
        let id = ledger::special(ctx, Special::UndepositedFunds)?;
        d.items
            .push(Elem::new("RefundFromAccountRef").with("ListID", id));
    }
    if kind.role == Role::CustomerPayment
        && ledger::ref_id(&d.items, "DepositToAccountRef").is_none()
    {
        let id = ledger::special(ctx, Special::UndepositedFunds)?;
        d.items
            .push(Elem::new("DepositToAccountRef").with("ListID", id));
    }
    if let Some(t) = kind.template {
        if has("TemplateRef") && ledger::ref_id(&d.items, "TemplateRef").is_none() {
            if let Some(row) = store::by_name(ctx.db, "Template", t)? {
                d.items
                    .push(Elem::new("TemplateRef").with("ListID", row.id));
            }
        }
    }
    // Date and number.
    if leaf(&d.items, "TxnDate").is_none() {
        set_leaf(&mut d.items, "TxnDate", ctx.tz.date(ctx.now));
    }
    d.date = leaf(&d.items, "TxnDate")
        .and_then(parse_date)
        .unwrap_or_default();
    if kind.numbered && leaf(&d.items, "RefNumber").is_none() && has("RefNumber") {
        set_leaf(&mut d.items, "RefNumber", next_ref(ctx, kind.name)?);
    }
    // What the customer or vendor record gives.
    let entity = match d.entity() {
        Some(e) => list_body(ctx, "Name", &e)?,
        None => None,
    };
    if let Some(rec) = &entity {
        let eb = &rec.1;
        for (field, from) in [
            ("BillAddress", "BillAddress"),
            ("ShipAddress", "ShipAddress"),
            ("VendorAddress", "VendorAddress"),
        ] {
            if has(field) && agg.child(field).is_none() {
                if let Some(a) = eb.iter().find(|e| e.name == from) {
                    let mut a = a.clone();
                    a.name = field.into();
                    d.items.push(a);
                }
            }
        }
        for (field, from) in [
            ("TermsRef", "TermsRef"),
            ("SalesRepRef", "SalesRepRef"),
            ("CustomerSalesTaxCodeRef", "SalesTaxCodeRef"),
            ("ItemSalesTaxRef", "ItemSalesTaxRef"),
        ] {
            if has(field) && ledger::ref_id(&d.items, field).is_none() {
                if let Some(id) = ledger::ref_id(eb, from) {
                    d.items.push(Elem::new(field).with("ListID", id));
                }
            }
        }
    }
    crate::lists::add_blocks(&mut d.items, d.ret);
    // Dates derived from the terms.
    if has("DueDate") && leaf(&d.items, "DueDate").is_none() {
        let due = due_date(ctx, &d.items, d.date)?;
        set_leaf(&mut d.items, "DueDate", date_text(due));
    }
    if has("ShipDate")
        && leaf(&d.items, "ShipDate").is_none()
        && matches!(kind.role, Role::Sale { .. })
    {
        set_leaf(&mut d.items, "ShipDate", date_text(d.date));
    }
    for (owner, field, value) in NEW_FLAGS {
        if *owner == kind.name && has(field) && leaf(&d.items, field).is_none() {
            d.items.push(Elem::leaf(*field, *value));
        }
    }
    let ret = d.ret;
    for line in d.items.iter_mut() {
        let Some(family) = line_family(&line.name, ret) else {
            continue;
        };
        let decl = ret.child(family).map(|p| p.decl());
        for (owner, field, value) in NEW_FLAGS {
            if *owner == family
                && decl.is_some_and(|dd| dd.child(field).is_some())
                && leaf(&line.children, field).is_none()
            {
                line.children.push(Elem::leaf(*field, *value));
            }
        }
    }
    // Flags QuickBooks sets on its forms.
    for (field, value) in [
        ("IsPending", "false"),
        ("IsFinanceCharge", "false"),
        ("IsToBePrinted", "true"),
        ("IsToBeEmailed", "false"),
    ] {
        let form = matches!(kind.role, Role::Sale { .. } | Role::Order)
            || field == "IsToBePrinted" && kind.name == "Check";
        if form && has(field) && leaf(&d.items, field).is_none() {
            d.items.push(Elem::leaf(field, value));
        }
    }
    Ok(())
}

/// The due date the terms give: StandardTerms' days after the date,
/// DateDrivenTerms' day of the next month when the date is within
/// DueNextMonthDays of it (else this month's).
pub(super) fn due_date(ctx: &Ctx<'_>, items: &[Elem], date: i64) -> Res<i64> {
    let Some(t) = ledger::ref_id(items, "TermsRef") else {
        return Ok(date);
    };
    let Some(rec) = list_body(ctx, "Terms", &t)? else {
        return Ok(date);
    };
    let (row, b) = (&rec.0, &rec.1);
    let int = |n: &str| leaf(b, n).and_then(|v| v.parse::<i64>().ok());
    if row.kind == "StandardTerms" {
        return Ok(date + int("StdDueDays").unwrap_or(0).clamp(0, 36_500));
    }
    let day = int("DayOfMonthDue").unwrap_or(1).clamp(1, 28) as u32;
    let next_month_days = int("DueNextMonthDays").unwrap_or(0).clamp(0, 366);
    let (y, m, _) = crate::clock::civil_from_days(date);
    let this = crate::clock::days_from_civil(y, m, day);
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let next = crate::clock::days_from_civil(ny, nm, day);
    Ok(if this < date || this - date < next_month_days {
        next
    } else {
        this
    })
}

/// The next number of a form: one more than the last numeric RefNumber
/// given to that type (keeping leading zeros), else 1. The last one is kept
/// in `meta` (`lastref:<type>`), so this costs one lookup however many
/// transactions the file has.
pub(super) fn next_ref(ctx: &Ctx<'_>, kind: &str) -> Res<String> {
    if let Some(r) = store::meta(ctx.db, &format!("lastref:{kind}"))? {
        if let Ok(n) = r.parse::<u64>() {
            let next = (n + 1).to_string();
            let width = r.len().max(next.len());
            if width <= 11 {
                return Ok(format!("{next:0>width$}"));
            }
        }
    }
    Ok("1".into())
}

/// Remember a numeric RefNumber as the form's last number.
pub(super) fn note_ref(ctx: &Ctx<'_>, kind: &str, r: Option<&str>) -> Res<()> {
    if let Some(r) =
        r.filter(|r| !r.is_empty() && r.len() <= 11 && r.bytes().all(|b| b.is_ascii_digit()))
    {
        store::set_meta(ctx.db, &format!("lastref:{kind}"), r)?;
    }
    Ok(())
}
