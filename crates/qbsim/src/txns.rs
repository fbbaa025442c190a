//! Transactions: Add, Mod, TxnDel and TxnVoid for every type of
//! `txnkinds.rs`, and the postings each makes.
//!
//! A transaction is built the way a list record is (the schema maps the
//! request onto the stored Ret body, references keep their ListID), then
//! QuickBooks' arithmetic runs over it (FACTS §5 "Totals"): line Amount
//! defaults to Quantity × Rate, Subtotal, SalesTaxTotal from the taxable
//! lines and the sales tax item's rate, open balances; then its postings go
//! to the ledger and its applications (payments, credits, deposits) to the
//! `link` table. Mod reverses the old postings and applications and makes
//! the new ones; TxnDel and TxnVoid reverse them for good.
//!
//! What varies per type is data in `txnkinds.rs`; what varies per role
//! (sale, purchase, payment, deposit, journal, inventory adjustment) is
//! `postings` and `apply_links` here.

use crate::body::{self, leaf, RefRequest};
use crate::clock::{date_text, parse_date};
use crate::kinds;
use crate::ledger::{self, qty_text, qty_units, Posting};
use crate::refs::resolve;
use crate::render::include_of;
use crate::store::{self, Link, TxnRow};
use crate::txnkinds::{self, Role, Special, TxnKind};
use crate::txnret::{line_family, DYNAMIC};
use crate::{invalid, status, Res};
use crate::{Answer, Ctx, Record, SimError};
use qbxml::schema::Decl;
use qbxml::{Elem, Element, Request, Status};
use std::rc::Rc;

/// Request children this module handles itself rather than mapping them
/// onto the Ret.
const OWN_FIELDS: &[&str] = &[
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

/// A payment's postings as (account, amount, entity): `sign` 1 for money
/// in (a customer's payment: bank debited, A/R credited), -1 for money out
/// (a bill payment). Each discount taken on an application moves from the
/// discount account to the controlling account with the money's sign.
fn payment(
    items: &[Elem],
    bank: String,
    control: &str,
    total: i64,
    sign: i64,
    entity: &Option<String>,
) -> Res<Vec<(String, i64, Option<String>)>> {
    let mut out = vec![
        (bank, sign * total, None),
        (control.to_string(), -sign * total, entity.clone()),
    ];
    for a in items.iter().filter(|e| e.name == "AppliedToTxnRet") {
        let disc = leaf(&a.children, "DiscountAmount")
            .map(store::cents)
            .unwrap_or(0);
        if disc != 0 {
            let Some(acct) = ledger::ref_id(&a.children, "DiscountAccountRef") else {
                return Err(status(3150, &[("field", "DiscountAccountRef")]));
            };
            out.push((acct, sign * disc, None));
            out.push((control.to_string(), -sign * disc, entity.clone()));
        }
    }
    Ok(out)
}

fn set_leaf(items: &mut Vec<Elem>, name: &'static str, value: String) {
    match items.iter_mut().find(|e| e.name == name) {
        Some(e) => {
            e.text = value;
            e.children.clear();
        }
        None => items.push(Elem::leaf(name, value)),
    }
}

fn num(s: Option<&str>) -> Option<f64> {
    s.and_then(|v| v.trim().parse::<f64>().ok())
}

fn round_cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

use store::MAX_CENTS;

/// The largest quantity on a line or adjustment (ten billion units).
const MAX_QTY: f64 = 10_000_000_000.0;

fn in_range(field: &str, cents: i64) -> Res<i64> {
    if cents.abs() > MAX_CENTS {
        return Err(invalid(
            field,
            &store::money(cents.clamp(-MAX_CENTS * 10, MAX_CENTS * 10)),
            "The amount is too large.",
        ));
    }
    Ok(cents)
}

/// A price as QuickBooks prints it: at least two decimals, at most five.
fn price_text(x: f64) -> String {
    let s = format!("{x:.5}");
    let s = s.trim_end_matches('0');
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut f = frac.to_string();
    while f.len() < 2 {
        f.push('0');
    }
    format!("{whole}.{f}")
}

/// Resolve a reference for a transaction, remembering it as in use.
fn resolve_ref(
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
fn list_body(ctx: &Ctx<'_>, ns: &str, id: &str) -> Res<Option<Record>> {
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

/// What the line arithmetic and postings need to know of an item.
struct Item {
    rec: Record,
}

impl Item {
    fn row(&self) -> &store::Row {
        &self.rec.0
    }

    fn kind(&self) -> &str {
        &self.rec.0.kind
    }

    fn get(&self, path: &[&str]) -> Option<&Elem> {
        let mut cur = self.rec.1.iter().find(|e| e.name == path[0])?;
        for p in &path[1..] {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    fn text(&self, paths: &[&[&str]]) -> Option<String> {
        paths
            .iter()
            .find_map(|p| self.get(p).map(|e| e.text.clone()))
    }

    fn ref_id(&self, paths: &[&[&str]]) -> Option<String> {
        paths.iter().find_map(|p| {
            self.get(p)
                .and_then(|e| e.get("ListID"))
                .map(|e| e.text.clone())
        })
    }

    fn sales_price(&self) -> Option<f64> {
        num(self
            .text(&[
                &["SalesPrice"],
                &["SalesOrPurchase", "Price"],
                &["SalesAndPurchase", "SalesPrice"],
            ])
            .as_deref())
    }

    fn purchase_cost(&self) -> Option<f64> {
        num(self
            .text(&[
                &["PurchaseCost"],
                &["SalesOrPurchase", "Price"],
                &["SalesAndPurchase", "PurchaseCost"],
            ])
            .as_deref())
    }

    fn sales_desc(&self) -> Option<String> {
        self.text(&[
            &["SalesDesc"],
            &["SalesOrPurchase", "Desc"],
            &["SalesAndPurchase", "SalesDesc"],
            &["ItemDesc"],
        ])
    }

    fn purchase_desc(&self) -> Option<String> {
        self.text(&[
            &["PurchaseDesc"],
            &["SalesOrPurchase", "Desc"],
            &["SalesAndPurchase", "PurchaseDesc"],
        ])
    }

    fn income_account(&self) -> Option<String> {
        self.ref_id(&[
            &["IncomeAccountRef"],
            &["SalesOrPurchase", "AccountRef"],
            &["SalesAndPurchase", "IncomeAccountRef"],
            &["AccountRef"],
            &["DepositToAccountRef"],
        ])
    }

    fn expense_account(&self) -> Option<String> {
        self.ref_id(&[
            &["SalesOrPurchase", "AccountRef"],
            &["SalesAndPurchase", "ExpenseAccountRef"],
            &["AccountRef"],
        ])
    }

    fn is_inventory(&self) -> bool {
        self.kind() == "ItemInventory"
    }

    /// Average cost of `qty` units now.
    fn cost_of(&self, qty: i64) -> i64 {
        cost_at(self.row().qty, self.row().value, self, qty)
    }
}

fn item(ctx: &Ctx<'_>, line: &[Elem]) -> Res<Option<Item>> {
    let Some(id) = ledger::ref_id(line, "ItemRef") else {
        return Ok(None);
    };
    Ok(list_body(ctx, "Item", &id)?.map(|rec| Item { rec }))
}

/// Is the sales tax code `id` taxable?
fn taxable(ctx: &Ctx<'_>, id: Option<&str>) -> Res<bool> {
    let Some(id) = id else { return Ok(false) };
    Ok(
        list_body(ctx, "SalesTaxCode", id)?
            .is_some_and(|r| leaf(&r.1, "IsTaxable") == Some("true")),
    )
}

fn tax_code_id(ctx: &Ctx<'_>, name: &str) -> Res<Option<String>> {
    Ok(store::by_name(ctx.db, "SalesTaxCode", name)?.map(|r| r.id))
}

/// A transaction being built: its stored body (header fields and lines,
/// in Ret names) and the list records it refers to.
struct Draft<'k> {
    kind: &'k TxnKind,
    ret: Decl,
    items: Vec<Elem>,
    refs: Vec<String>,
    /// TxnDate as days.
    date: i64,
}

impl Draft<'_> {
    fn lines(&self) -> impl Iterator<Item = &Elem> {
        let ret = self.ret;
        self.items
            .iter()
            .filter(move |e| line_family(&e.name, ret).is_some())
    }

    fn entity(&self) -> Option<String> {
        self.kind
            .entity
            .and_then(|f| ledger::ref_id(&self.items, f))
    }

    fn account(&self) -> Option<String> {
        self.kind
            .account
            .and_then(|(f, _)| ledger::ref_id(&self.items, f))
    }
}

/// Map the header of an Add or Mod aggregate.
fn map_header(
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
    Ok(items)
}

/// Map one line aggregate onto its Ret family (without its TxnLineID).
fn map_line(
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
    if family == "DepositLineRet" {
        if let Some(p) = el.child_text("PaymentTxnID") {
            e.children.push(Elem::leaf("TxnID", p));
        }
    }
    Ok(e)
}

fn next_line_id(ctx: &Ctx<'_>, created: i64) -> Res<String> {
    Ok(format!(
        "{:X}-{created}",
        store::next_seq(ctx.db, "Txn", 1)?
    ))
}

fn give_line_id(line: &mut Elem, id: String) {
    line.children.retain(|c| c.name != "TxnLineID");
    line.children.insert(0, Elem::leaf("TxnLineID", id));
}

/// Status fields QuickBooks sets on a new order or line: (type or line
/// family, field, value). Orders are not yet invoiced or received from
/// here (linking POs to receipts and sales orders to invoices is not
/// simulated), so these stay at their first values.
const NEW_FLAGS: &[(&str, &str, &str)] = &[
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
fn fill_defaults(ctx: &Ctx<'_>, d: &mut Draft<'_>, agg: Element<'_>) -> Res<()> {
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
fn due_date(ctx: &Ctx<'_>, items: &[Elem], date: i64) -> Res<i64> {
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
fn next_ref(ctx: &Ctx<'_>, kind: &str) -> Res<String> {
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
fn note_ref(ctx: &Ctx<'_>, kind: &str, r: Option<&str>) -> Res<()> {
    if let Some(r) =
        r.filter(|r| !r.is_empty() && r.len() <= 11 && r.bytes().all(|b| b.is_ascii_digit()))
    {
        store::set_meta(ctx.db, &format!("lastref:{kind}"), r)?;
    }
    Ok(())
}

/// Totals of a transaction: what it is for, and how much of that is tax.
#[derive(Default)]
struct Totals {
    total: i64,
    tax: i64,
}

/// Line arithmetic and totals, written into the draft.
fn compute(ctx: &Ctx<'_>, d: &mut Draft<'_>) -> Res<Totals> {
    let kind = d.kind;
    let ret = d.ret;
    let sale = matches!(kind.role, Role::Sale { .. }) || ret.child("SalesTaxTotal").is_some();
    let customer_taxable = match ledger::ref_id(&d.items, "CustomerSalesTaxCodeRef") {
        Some(c) => taxable(ctx, Some(&c))?,
        None => true,
    };
    let non = tax_code_id(ctx, "Non")?;
    let mut subtotal = 0i64;
    let mut taxable_sum = 0i64;
    let mut since_subtotal = 0i64;
    let mut prev = 0i64;
    let mut debits = 0i64;
    let mut credits = 0i64;
    let mut items = std::mem::take(&mut d.items);
    for line in items.iter_mut() {
        let Some(family) = line_family(&line.name, ret) else {
            continue;
        };
        let decl = ret.child(family).map(|p| p.decl());
        let has = |n: &str| decl.is_some_and(|dd| dd.child(n).is_some());
        let it = item(ctx, &line.children)?;
        let c = &mut line.children;
        let amount;
        if family == "InventoryAdjustmentLineRet" {
            continue;
        } else if let Some(it) = it.as_ref().filter(|_| has("Rate") || has("Cost")) {
            let price_field: &'static str = if has("Rate") { "Rate" } else { "Cost" };
            if leaf(c, "Desc").is_none() && has("Desc") {
                let desc = if price_field == "Rate" && sale {
                    it.sales_desc()
                } else {
                    it.purchase_desc().or_else(|| it.sales_desc())
                };
                if let Some(t) = desc.filter(|t| !t.is_empty()) {
                    c.push(Elem::leaf("Desc", t));
                }
            }
            let qty = num(leaf(c, "Quantity"));
            if qty.is_some_and(|q| q.abs() > MAX_QTY) {
                return Err(invalid(
                    "Quantity",
                    leaf(c, "Quantity").unwrap_or(""),
                    "The quantity is too large.",
                ));
            }
            let given = leaf(c, "Amount").map(store::cents);
            match it.kind() {
                "ItemSubtotal" => {
                    amount = since_subtotal;
                    since_subtotal = 0;
                    set_leaf(c, "Amount", store::money(amount));
                    prev = amount;
                    continue;
                }
                "ItemDiscount" | "ItemSalesTax" if given.is_none() => {
                    let pct = num(leaf(c, "RatePercent")).or_else(|| {
                        num(it
                            .text(&[&["DiscountRatePercent"], &["TaxRate"]])
                            .as_deref())
                    });
                    let rate = num(leaf(c, price_field))
                        .or_else(|| num(it.text(&[&["DiscountRate"]]).as_deref()));
                    let sign = if it.kind() == "ItemDiscount" {
                        -1.0
                    } else {
                        1.0
                    };
                    amount = match (rate, pct) {
                        (Some(r), _) => round_cents(sign * r.abs()),
                        (None, Some(p)) => {
                            if has("RatePercent") && leaf(c, "RatePercent").is_none() {
                                c.push(Elem::leaf("RatePercent", price_text(p)));
                            }
                            round_cents(sign * p.abs() / 100.0 * prev as f64 / 100.0)
                        }
                        (None, None) => 0,
                    };
                }
                _ => {
                    let rate = num(leaf(c, price_field)).or_else(|| {
                        if price_field == "Rate" && sale {
                            it.sales_price()
                        } else {
                            it.purchase_cost()
                        }
                    });
                    amount = match (given, rate) {
                        (Some(a), _) => a,
                        (None, Some(r)) => round_cents(qty.unwrap_or(1.0) * r),
                        (None, None) => 0,
                    };
                    let shown = match rate {
                        Some(r) if leaf(c, "RatePercent").is_none() => Some(r),
                        _ if leaf(c, "RatePercent").is_some() => None,
                        _ => Some(amount as f64 / 100.0 / qty.filter(|q| *q != 0.0).unwrap_or(1.0)),
                    };
                    if let Some(r) = shown {
                        set_leaf(c, price_field, price_text(r));
                    }
                }
            }
            if sale && has("SalesTaxCodeRef") && ledger::ref_id(c, "SalesTaxCodeRef").is_none() {
                let code = it.ref_id(&[&["SalesTaxCodeRef"]]).or_else(|| non.clone());
                if let Some(code) = code {
                    c.push(Elem::new("SalesTaxCodeRef").with("ListID", code));
                }
            }
        } else {
            amount = leaf(c, "Amount").map(store::cents).unwrap_or(0);
        }
        let amount = in_range("Amount", amount)?;
        if has("Amount") {
            set_leaf(c, "Amount", store::money(amount));
        }
        if family == "JournalCreditLine" {
            credits += amount;
        } else {
            debits += amount;
        }
        if sale
            && customer_taxable
            && taxable(ctx, ledger::ref_id(c, "SalesTaxCodeRef").as_deref())?
        {
            taxable_sum += amount;
        }
        subtotal += amount;
        since_subtotal += amount;
        prev = amount;
    }
    d.items = items;
    let mut t = Totals::default();
    if d.ret.child("SalesTaxTotal").is_some() {
        let pct = match ledger::ref_id(&d.items, "ItemSalesTaxRef") {
            Some(id) => list_body(ctx, "Item", &id)?
                .and_then(|r| num(leaf(&r.1, "TaxRate")))
                .unwrap_or(0.0),
            None => 0.0,
        };
        t.tax = round_cents(taxable_sum as f64 / 100.0 * pct / 100.0);
        set_leaf(&mut d.items, "Subtotal", store::money(subtotal));
        set_leaf(&mut d.items, "SalesTaxPercentage", price_text(pct));
        set_leaf(&mut d.items, "SalesTaxTotal", store::money(t.tax));
        t.total = subtotal + t.tax;
    } else if kind.role == Role::Journal {
        if debits != credits {
            return Err(invalid(
                "JournalCreditLine Amount",
                &store::money(credits),
                "Transaction not in balance.  The total of the debits must equal the total of the credits.",
            ));
        }
        t.total = debits;
    } else {
        t.total = subtotal;
    }
    if kind.role == Role::Deposit {
        if let Some(cb) = d.items.iter().find(|e| e.name == "CashBackInfoRet") {
            t.total -= leaf(&cb.children, "Amount").map(store::cents).unwrap_or(0);
        }
    }
    Ok(t)
}

/// An A/R or A/P reference must name an account of that type (3140).
fn check_head_account(ctx: &Ctx<'_>, d: &Draft<'_>) -> Res<()> {
    let Some((field, _)) = d.kind.account else {
        return Ok(());
    };
    let want = match field {
        "ARAccountRef" => "AccountsReceivable",
        "APAccountRef" => "AccountsPayable",
        _ => return Ok(()),
    };
    let Some(id) = d.account() else {
        return Ok(());
    };
    if ledger::type_of(ctx, &id)?.as_deref() == Some(want) {
        return Ok(());
    }
    let name = store::full_name(ctx.db, "Account", &id)?.unwrap_or(id);
    Err(status(
        3140,
        &[
            ("type", "Account"),
            ("value", &name),
            ("object", d.kind.name),
        ],
    ))
}

/// The postings of a built transaction.
fn postings(ctx: &Ctx<'_>, d: &mut Draft<'_>, t: &Totals) -> Res<Vec<Posting>> {
    let kind = d.kind;
    check_head_account(ctx, d)?;
    let entity = d.entity();
    let mut ps = Vec::new();
    let p = |account: String, amount: i64, entity: Option<String>| Posting {
        account,
        amount,
        entity,
        ..Posting::default()
    };
    match kind.role {
        Role::Order => {}
        Role::Sale { sign } => {
            let Some(head) = d.account() else {
                return Err(status(
                    3140,
                    &[("type", "Account"), ("value", ""), ("object", kind.name)],
                ));
            };
            ps.push(p(head, sign * t.total, entity.clone()));
            if t.tax != 0 {
                ps.push(p(
                    ledger::special(ctx, Special::SalesTaxPayable)?,
                    -sign * t.tax,
                    None,
                ));
            }
            for line in d.lines() {
                let c = &line.children;
                let amount = leaf(c, "Amount").map(store::cents).unwrap_or(0);
                let it = item(ctx, c)?;
                if it.as_ref().is_some_and(|i| i.kind() == "ItemSubtotal") {
                    continue;
                }
                let account = match ledger::ref_id(c, "OverrideItemAccountRef")
                    .or_else(|| it.as_ref().and_then(Item::income_account))
                {
                    Some(a) => a,
                    // A sales tax line is tax collected.
                    None if it.as_ref().is_some_and(|i| i.kind() == "ItemSalesTax") => {
                        ledger::special(ctx, Special::SalesTaxPayable)?
                    }
                    None => ledger::special(ctx, Special::UncategorizedIncome)?,
                };
                ps.push(p(account, -sign * amount, entity.clone()));
                if let Some(it) = it.as_ref().filter(|i| i.is_inventory()) {
                    let q = qty_units(num(leaf(c, "Quantity")).unwrap_or(1.0));
                    let cost = it.cost_of(q);
                    let cogs = match it.ref_id(&[&["COGSAccountRef"]]) {
                        Some(a) => a,
                        None => ledger::special(ctx, Special::CostOfGoodsSold)?,
                    };
                    let asset = match it.ref_id(&[&["AssetAccountRef"]]) {
                        Some(a) => a,
                        None => ledger::special(ctx, Special::InventoryAsset)?,
                    };
                    ps.push(p(cogs, sign * cost, None));
                    ps.push(Posting {
                        account: asset,
                        amount: -sign * cost,
                        item: Some(it.row().id.clone()),
                        qty: -sign * q,
                        entity: None,
                    });
                }
            }
        }
        Role::Purchase { sign } => {
            let Some(head) = d.account() else {
                return Err(status(
                    3140,
                    &[("type", "Account"), ("value", ""), ("object", kind.name)],
                ));
            };
            ps.push(p(head, -sign * t.total, entity.clone()));
            for line in d.lines() {
                let c = &line.children;
                let amount = leaf(c, "Amount").map(store::cents).unwrap_or(0);
                if let Some(a) = ledger::ref_id(c, "AccountRef") {
                    let e = ledger::ref_id(c, "CustomerRef");
                    ps.push(p(a, sign * amount, e));
                    continue;
                }
                let it = item(ctx, c)?;
                match it {
                    Some(it) if it.is_inventory() => {
                        let asset = match it.ref_id(&[&["AssetAccountRef"]]) {
                            Some(a) => a,
                            None => ledger::special(ctx, Special::InventoryAsset)?,
                        };
                        ps.push(Posting {
                            account: asset,
                            amount: sign * amount,
                            item: Some(it.row().id.clone()),
                            qty: sign * qty_units(num(leaf(c, "Quantity")).unwrap_or(1.0)),
                            entity: None,
                        });
                    }
                    other => {
                        let a = match other.as_ref().and_then(Item::expense_account) {
                            Some(a) => a,
                            None => ledger::special(ctx, Special::UncategorizedExpenses)?,
                        };
                        ps.push(p(a, sign * amount, None));
                    }
                }
            }
        }
        Role::Journal => {
            for line in d.lines() {
                let c = &line.children;
                let amount = leaf(c, "Amount").map(store::cents).unwrap_or(0);
                let sign = if line.name == "JournalCreditLine" {
                    -1
                } else {
                    1
                };
                if let Some(a) = ledger::ref_id(c, "AccountRef") {
                    ps.push(p(a, sign * amount, ledger::ref_id(c, "EntityRef")));
                }
            }
        }
        Role::Deposit => {
            let Some(head) = ledger::ref_id(&d.items, "DepositToAccountRef") else {
                return Err(status(3150, &[("field", "DepositToAccountRef")]));
            };
            ps.push(p(head, t.total, None));
            if let Some(cb) = d.items.iter().find(|e| e.name == "CashBackInfoRet") {
                let amount = leaf(&cb.children, "Amount").map(store::cents).unwrap_or(0);
                if let Some(a) = ledger::ref_id(&cb.children, "AccountRef") {
                    ps.push(p(a, amount, None));
                }
            }
            for line in d.lines() {
                let c = &line.children;
                let amount = leaf(c, "Amount").map(store::cents).unwrap_or(0);
                let account = match leaf(c, "TxnID") {
                    Some(pid) => store::get_txn(ctx.db, pid)?.and_then(|r| {
                        ledger::ref_id(&body::decode(&r.body), "DepositToAccountRef")
                    }),
                    None => ledger::ref_id(c, "AccountRef"),
                };
                let Some(account) = account else {
                    return Err(status(3150, &[("field", "AccountRef")]));
                };
                ps.push(p(account, -amount, ledger::ref_id(c, "EntityRef")));
            }
        }
        Role::CustomerPayment => {
            let Some(ar) = d.account() else {
                return Err(status(3150, &[("field", "ARAccountRef")]));
            };
            let Some(bank) = ledger::ref_id(&d.items, "DepositToAccountRef") else {
                return Err(status(3150, &[("field", "DepositToAccountRef")]));
            };
            // Money in: debit the bank, credit A/R.
            for (a, amount, e) in payment(&d.items, bank, &ar, t.total, 1, &entity)? {
                ps.push(p(a, amount, e));
            }
        }
        Role::VendorPayment => {
            let Some(ap) = d.account() else {
                return Err(status(3150, &[("field", "APAccountRef")]));
            };
            let field = txnkinds::payment_account(kind).unwrap_or("BankAccountRef");
            let Some(bank) = ledger::ref_id(&d.items, field) else {
                return Err(status(3150, &[("field", field)]));
            };
            // Money out: credit the bank, debit A/P.
            for (a, amount, e) in payment(&d.items, bank, &ap, t.total, -1, &entity)? {
                ps.push(p(a, amount, e));
            }
        }
        Role::InventoryAdjustment => {
            let Some(adj) = d.account() else {
                return Err(status(3150, &[("field", "AccountRef")]));
            };
            let mut items = std::mem::take(&mut d.items);
            // Lines of one adjustment see each other's changes.
            let mut moved: std::collections::HashMap<String, (i64, i64)> = Default::default();
            for line in items
                .iter_mut()
                .filter(|e| e.name == "InventoryAdjustmentLineRet")
            {
                let Some(it) = item(ctx, &line.children)? else {
                    continue;
                };
                if !it.is_inventory() {
                    d.items = items;
                    return Err(invalid(
                        "ItemRef",
                        &it.row().full_name,
                        "Only inventory items can be adjusted.",
                    ));
                }
                let c = &mut line.children;
                let stored = (
                    leaf(c, "QuantityDifference").map(|q| qty_units(num(Some(q)).unwrap_or(0.0))),
                    leaf(c, "ValueDifference").map(store::cents),
                );
                let (dq, dv) = match stored {
                    // Kept by a Mod: what it moved then, not recomputed
                    // against today's stock.
                    (Some(q), Some(v)) => (q, v),
                    _ => {
                        let before = moved.get(&it.row().id).copied().unwrap_or((0, 0));
                        adjustment(&it, c, before)
                    }
                };
                let dv = in_range("ValueDifference", dv)?;
                let m = moved.entry(it.row().id.clone()).or_default();
                m.0 += dq;
                m.1 += dv;
                c.retain(|e| !matches!(e.name.as_ref(), "QuantityDifference" | "ValueDifference"));
                c.push(Elem::leaf("QuantityDifference", qty_text(dq)));
                c.push(Elem::leaf("ValueDifference", store::money(dv)));
                let asset = match it.ref_id(&[&["AssetAccountRef"]]) {
                    Some(a) => a,
                    None => ledger::special(ctx, Special::InventoryAsset)?,
                };
                ps.push(Posting {
                    account: asset,
                    amount: dv,
                    item: Some(it.row().id.clone()),
                    qty: dq,
                    entity: None,
                });
                ps.push(p(adj.clone(), -dv, None));
            }
            d.items = items;
        }
    }
    Ok(ps)
}

/// An inventory adjustment line's (quantity, value) change from what the
/// request gave (kept in the stored line as the request's elements).
fn adjustment(it: &Item, c: &[Elem], before: (i64, i64)) -> (i64, i64) {
    let on_hand = it.row().qty + before.0;
    let value = it.row().value + before.1;
    let sub = |agg: &str, n: &str| {
        c.iter()
            .find(|e| e.name == agg)
            .and_then(|e| e.get(n))
            .and_then(|e| e.text.trim().parse::<f64>().ok())
            .map(|v| v.clamp(-MAX_QTY, MAX_QTY))
    };
    if c.iter().any(|e| e.name == "ValueAdjustment") {
        let dq = match (
            sub("ValueAdjustment", "NewQuantity"),
            sub("ValueAdjustment", "QuantityDifference"),
        ) {
            (Some(n), _) => qty_units(n) - on_hand,
            (None, Some(dq)) => qty_units(dq),
            _ => 0,
        };
        let dv = match sub("ValueAdjustment", "NewValue") {
            Some(v) => round_cents(v) - value,
            None => cost_at(on_hand, value, it, dq),
        };
        return (dq, dv);
    }
    let dq = match (
        sub("QuantityAdjustment", "NewQuantity"),
        sub("QuantityAdjustment", "QuantityDifference"),
    ) {
        (Some(n), _) => qty_units(n) - on_hand,
        (None, Some(dq)) => qty_units(dq),
        _ => 0,
    };
    (dq, cost_at(on_hand, value, it, dq))
}

/// The value of `qty` units at the average cost of `value` over `on_hand`.
fn cost_at(on_hand: i64, value: i64, it: &Item, qty: i64) -> i64 {
    if on_hand > 0 {
        ((value as i128 * qty as i128) / on_hand as i128)
            .clamp(-(MAX_CENTS as i128) * 10, MAX_CENTS as i128 * 10) as i64
    } else {
        round_cents(it.purchase_cost().unwrap_or(0.0) * qty as f64 / ledger::QTY_SCALE)
    }
}

/// One application a payment (or an invoice's SetCredit) makes: the
/// document it pays, how much, the discount, and credits used on it.
#[derive(Clone, Debug, Default)]
struct AppSpec {
    txn: String,
    amount: i64,
    discount: i64,
    /// DiscountAccountRef / DiscountClassRef, resolved.
    refs: Vec<Elem>,
    credits: Vec<(String, i64)>,
}

/// The applications a request states (AppliedToTxnAdd/Mod with their
/// SetCredit; an invoice's own SetCredit as one spec for itself).
fn specs_from_request(ctx: &Ctx<'_>, d: &mut Draft<'_>, agg: Element<'_>) -> Res<Vec<AppSpec>> {
    let mut out = Vec::new();
    let credits = |e: Element<'_>| {
        e.children_named("SetCredit")
            .map(|sc| {
                (
                    sc.child_text("CreditTxnID").unwrap_or("").to_string(),
                    sc.child_text("AppliedAmount")
                        .map(store::cents)
                        .unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    if matches!(d.kind.role, Role::Sale { .. }) {
        let c = credits(agg);
        if let Some((_, v)) = c.iter().find(|(_, v)| *v < 0 || *v > MAX_CENTS) {
            return Err(invalid(
                "SetCredit AppliedAmount",
                &store::money(*v),
                "The amount cannot be negative.",
            ));
        }
        if !c.is_empty() {
            out.push(AppSpec {
                credits: c,
                ..AppSpec::default()
            });
        }
        return Ok(out);
    }
    for a in agg
        .children()
        .filter(|c| matches!(c.name(), "AppliedToTxnAdd" | "AppliedToTxnMod"))
    {
        let mut spec = AppSpec {
            txn: a.child_text("TxnID").unwrap_or("").to_string(),
            amount: a.child_text("PaymentAmount").map(store::cents).unwrap_or(0),
            discount: a
                .child_text("DiscountAmount")
                .map(store::cents)
                .unwrap_or(0),
            credits: credits(a),
            ..AppSpec::default()
        };
        for (field, v) in [
            ("AppliedToTxnAdd payment amount", spec.amount),
            ("DiscountAmount", spec.discount),
        ] {
            if v < 0 {
                return Err(invalid(
                    field,
                    &store::money(v),
                    "The amount cannot be negative.",
                ));
            }
            in_range(field, v)?;
        }
        if let Some((_, v)) = spec.credits.iter().find(|(_, v)| *v < 0 || *v > MAX_CENTS) {
            return Err(invalid(
                "SetCredit AppliedAmount",
                &store::money(*v),
                "The amount cannot be negative.",
            ));
        }
        for f in ["DiscountAccountRef", "DiscountClassRef"] {
            if let Some(e) = a.child(f) {
                let rq = RefRequest {
                    name: f,
                    list_id: e.child_text("ListID").filter(|s| !s.is_empty()),
                    full_name: e.child_text("FullName").filter(|s| !s.is_empty()),
                };
                let lid = resolve_ref(ctx, &rq, d.kind.name, &mut d.refs)?;
                spec.refs.push(Elem::new(f).with("ListID", lid));
            }
        }
        out.push(spec);
    }
    Ok(out)
}

/// The applications a stored transaction made (kept in its body:
/// AppliedToTxnRet and, never written out, SetCredit).
fn specs_from_stored(items: &[Elem], role: Role) -> Vec<AppSpec> {
    let credits = |c: &[Elem]| {
        c.iter()
            .filter(|e| e.name == "SetCredit")
            .map(|sc| {
                (
                    sc.get("CreditTxnID")
                        .map(|e| e.text.clone())
                        .unwrap_or_default(),
                    sc.get("AppliedAmount")
                        .map(|e| store::cents(&e.text))
                        .unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    if matches!(role, Role::Sale { .. }) {
        let c = credits(items);
        return if c.is_empty() {
            Vec::new()
        } else {
            vec![AppSpec {
                credits: c,
                ..AppSpec::default()
            }]
        };
    }
    items
        .iter()
        .filter(|e| e.name == "AppliedToTxnRet")
        .map(|a| AppSpec {
            txn: a.get("TxnID").map(|e| e.text.clone()).unwrap_or_default(),
            amount: a.get("Amount").map(|e| store::cents(&e.text)).unwrap_or(0),
            discount: a
                .get("DiscountAmount")
                .map(|e| store::cents(&e.text))
                .unwrap_or(0),
            refs: a
                .children
                .iter()
                .filter(|e| e.name.ends_with("Ref"))
                .cloned()
                .collect(),
            credits: credits(&a.children),
        })
        .collect()
}

fn set_credit_elems(credits: &[(String, i64)]) -> Vec<Elem> {
    credits
        .iter()
        .map(|(id, amt)| {
            Elem::new("SetCredit")
                .with("CreditTxnID", id.clone())
                .with("AppliedAmount", store::money(*amt))
        })
        .collect()
}

/// Turn applications into links and AppliedToTxnRet elements, checking
/// each names a document of this customer or vendor. Payments without
/// applications and IsAutoApply pay the oldest open documents (an exact
/// match first, as QuickBooks does).
fn applications(
    ctx: &Ctx<'_>,
    d: &mut Draft<'_>,
    specs: Vec<AppSpec>,
    auto: bool,
    id: &str,
    given_total: Option<i64>,
    t: &mut Totals,
) -> Res<Vec<Link>> {
    let kind = d.kind;
    let mut links = Vec::new();
    let entity = d.entity();
    let customer = kind.role == Role::CustomerPayment;
    let target_kind = if customer { "Invoice" } else { "Bill" };
    let credit_kind = if customer {
        "CreditMemo"
    } else {
        "VendorCredit"
    };
    match kind.role {
        Role::CustomerPayment | Role::VendorPayment => {
            let mut rets = Vec::new();
            let mut sum = 0i64;
            let explicit = !specs.is_empty();
            let my_account = d.account();
            for spec in specs {
                let target = target(ctx, &spec.txn, &[target_kind], entity.as_deref())?;
                if my_account.is_some() && target.account != my_account {
                    return Err(invalid(
                        "TxnID",
                        &spec.txn,
                        "The transaction is in another A/R or A/P account.",
                    ));
                }
                let mut r = Elem::new("AppliedToTxnRet").with("TxnID", target.id.clone());
                r.push(Elem::leaf("Amount", store::money(spec.amount)));
                if spec.discount != 0 {
                    r.push(Elem::leaf("DiscountAmount", store::money(spec.discount)));
                }
                r.children.extend(spec.refs.iter().cloned());
                r.children.extend(set_credit_elems(&spec.credits));
                if spec.amount != 0 || spec.discount != 0 {
                    links.push(Link {
                        src: id.to_string(),
                        dst: target.id.clone(),
                        via: id.to_string(),
                        amount: spec.amount,
                        discount: spec.discount,
                    });
                }
                for (cid, amt) in &spec.credits {
                    let credit = target_of(ctx, cid, credit_kind, entity.as_deref())?;
                    links.push(Link {
                        src: credit.id,
                        dst: target.id.clone(),
                        via: id.to_string(),
                        amount: *amt,
                        discount: 0,
                    });
                }
                sum += spec.amount;
                rets.push(r);
            }
            if auto && !explicit {
                let mut budget = given_total.unwrap_or(0);
                let open = open_docs(ctx, target_kind, entity.as_deref(), id)?;
                let exact = open.iter().position(|r| r.open == budget);
                let order: Vec<&TxnRow> = match exact {
                    Some(i) => vec![&open[i]],
                    None => open.iter().collect(),
                };
                for r in order {
                    if budget <= 0 {
                        break;
                    }
                    let amt = r.open.min(budget);
                    budget -= amt;
                    sum += amt;
                    rets.push(
                        Elem::new("AppliedToTxnRet")
                            .with("TxnID", r.id.clone())
                            .with("Amount", store::money(amt)),
                    );
                    links.push(Link {
                        src: id.to_string(),
                        dst: r.id.clone(),
                        via: id.to_string(),
                        amount: amt,
                        discount: 0,
                    });
                }
            }
            t.total = match (customer, given_total) {
                (true, Some(g)) => g,
                _ => sum,
            };
            if t.total < sum {
                return Err(invalid(
                    "TotalAmount",
                    &store::money(t.total),
                    "The amount applied is more than the amount of the payment.",
                ));
            }
            d.items.retain(|e| e.name != "AppliedToTxnRet");
            d.items.extend(rets);
            if d.ret.child("UnusedCredits").is_some() {
                set_leaf(&mut d.items, "UnusedCredits", "0.00".into());
            }
        }
        Role::Sale { .. } => {
            d.items.retain(|e| e.name != "SetCredit");
            for spec in specs {
                for (cid, amt) in &spec.credits {
                    let credit = target_of(ctx, cid, "CreditMemo", entity.as_deref())?;
                    links.push(Link {
                        src: credit.id,
                        dst: id.to_string(),
                        via: id.to_string(),
                        amount: *amt,
                        discount: 0,
                    });
                }
                d.items.extend(set_credit_elems(&spec.credits));
            }
        }
        Role::Deposit => {
            let mut items = std::mem::take(&mut d.items);
            let result = deposit_links(ctx, &mut items, id, &mut links);
            d.items = items;
            result?;
            // Payment lines took their payment's amount.
            let lines: i64 = d
                .lines()
                .map(|l| leaf(&l.children, "Amount").map(store::cents).unwrap_or(0))
                .sum();
            let cash_back = d
                .items
                .iter()
                .find(|e| e.name == "CashBackInfoRet")
                .and_then(|cb| leaf(&cb.children, "Amount").map(store::cents))
                .unwrap_or(0);
            t.total = lines - cash_back;
        }
        _ => {}
    }
    Ok(links)
}

/// Deposit lines that name a payment: it must be in Undeposited Funds and
/// not deposited yet; the line takes its amount, customer and number.
fn deposit_links(ctx: &Ctx<'_>, items: &mut [Elem], id: &str, links: &mut Vec<Link>) -> Res<()> {
    let uf = ledger::special(ctx, Special::UndepositedFunds)?;
    let mut seen = std::collections::HashSet::new();
    for line in items.iter_mut().filter(|e| e.name == "DepositLineRet") {
        let Some(pid) = leaf(&line.children, "TxnID").map(str::to_string) else {
            continue;
        };
        if !seen.insert(pid.clone()) {
            return Err(invalid(
                "PaymentTxnID",
                &pid,
                "This payment is on the deposit twice.",
            ));
        }
        let Some(pay) = store::get_txn(ctx.db, &pid)?
            .filter(|r| matches!(r.kind.as_str(), "ReceivePayment" | "SalesReceipt") && !r.voided)
        else {
            return Err(status(3120, &[("value", &pid)]));
        };
        let deposited = store::links_of(ctx.db, &pay.id)?
            .iter()
            .any(|l| l.dst == pay.id && l.via != id && l.amount == 0);
        let in_uf = ledger::ref_id(&body::decode(&pay.body), "DepositToAccountRef")
            .is_some_and(|a| a == uf);
        if deposited || !in_uf {
            return Err(invalid(
                "PaymentTxnID",
                &pid,
                "This payment is not in Undeposited Funds or has already been deposited.",
            ));
        }
        set_leaf(&mut line.children, "Amount", store::money(pay.amount));
        if let Some(e) = pay.entity.clone() {
            if ledger::ref_id(&line.children, "EntityRef").is_none() {
                line.children.push(Elem::new("EntityRef").with("ListID", e));
            }
        }
        if let Some(a) = pay.ref_number.clone() {
            if leaf(&line.children, "CheckNumber").is_none() {
                line.children.push(Elem::leaf("CheckNumber", a));
            }
        }
        if leaf(&line.children, "TxnType").is_none() {
            line.children.push(Elem::leaf("TxnType", pay.kind.clone()));
        }
        if ledger::ref_id(&line.children, "AccountRef").is_none() {
            line.children
                .push(Elem::new("AccountRef").with("ListID", uf.clone()));
        }
        links.push(Link {
            src: id.to_string(),
            dst: pay.id,
            via: id.to_string(),
            amount: 0,
            discount: 0,
        });
    }
    Ok(())
}

fn target_of(ctx: &Ctx<'_>, id: &str, kind: &str, entity: Option<&str>) -> Res<TxnRow> {
    target(ctx, id, &[kind], entity)
}

/// A transaction an application names: it must exist, be of one of the
/// kinds, and belong to the same customer or vendor.
fn target(ctx: &Ctx<'_>, id: &str, kinds: &[&str], entity: Option<&str>) -> Res<TxnRow> {
    match store::get_txn(ctx.db, id)? {
        Some(r) if kinds.contains(&r.kind.as_str()) && !r.voided => {
            if entity.is_some() && r.entity.as_deref() != entity {
                return Err(invalid(
                    "TxnID",
                    id,
                    "The transaction is not for this customer or vendor.",
                ));
            }
            Ok(r)
        }
        _ => Err(status(3120, &[("value", id)])),
    }
}

/// Open documents of one customer or vendor, oldest first.
fn open_docs(ctx: &Ctx<'_>, kind: &str, entity: Option<&str>, except: &str) -> Res<Vec<TxnRow>> {
    let Some(entity) = entity else {
        return Ok(Vec::new());
    };
    let mut st = ctx.db.prepare_cached(
        "SELECT id FROM txn WHERE entity=?1 AND type=?2 AND open>0 AND voided=0 AND id<>?3 \
         ORDER BY date, created, id",
    )?;
    let ids: Vec<String> = st
        .query_map([entity, kind, except], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    Ok(store::get_txns(ctx.db, &ids)?)
}

/// Apply links: the documents they pay lose open balance, the payments
/// and credits they use lose their unused part. Each must stay ≥ 0
/// (3210 "You cannot pay more than the amount due.").
fn apply_links(ctx: &Ctx<'_>, links: &[Link], dir: i64) -> Res<()> {
    for l in links {
        if l.amount == 0 && l.discount == 0 {
            // A deposit of a payment: recorded, nothing owed changes.
            if dir > 0 {
                store::put_link(ctx.db, l)?;
            }
            continue;
        }
        let dst_open = store::add_open(ctx.db, &l.dst, -dir * (l.amount + l.discount))?;
        if dir > 0 && dst_open.is_some_and(|o| o < 0) {
            return Err(invalid(
                "AppliedToTxnAdd payment amount",
                &store::money(l.amount),
                "You cannot pay more than the amount due.",
            ));
        }
        let src_kind = store::get_txn(ctx.db, &l.src)?.map(|r| r.kind);
        if matches!(
            src_kind.as_deref(),
            Some("ReceivePayment" | "CreditMemo" | "VendorCredit")
        ) {
            let left = store::add_open(ctx.db, &l.src, -dir * l.amount)?;
            if dir > 0 && left.is_some_and(|o| o < 0) {
                return Err(invalid(
                    "SetCredit AppliedAmount",
                    &store::money(l.amount),
                    "You cannot apply more credit than is available.",
                ));
            }
        }
        if dir > 0 {
            store::put_link(ctx.db, l)?;
        }
    }
    Ok(())
}

/// Undo every application `via` made.
fn remove_links(ctx: &Ctx<'_>, via: &str) -> Res<()> {
    let links = store::links_via(ctx.db, via)?;
    apply_links(ctx, &links, -1)?;
    store::delete_links_via(ctx.db, via)?;
    Ok(())
}

/// Write a built transaction: its row, postings, links and references.
#[allow(clippy::too_many_arguments)]
fn save(
    ctx: &Ctx<'_>,
    d: &mut Draft<'_>,
    mut row: TxnRow,
    t: &Totals,
    specs: Vec<AppSpec>,
    auto: bool,
    given_total: Option<i64>,
) -> Res<TxnRow> {
    let mut t2 = Totals {
        total: t.total,
        tax: t.tax,
    };
    let links = applications(ctx, d, specs, auto, &row.id, given_total, &mut t2)?;
    in_range(d.kind.total.unwrap_or("Amount"), t2.total)?;
    if let Some(f) = d.kind.total {
        if d.ret.child(f).is_some() {
            set_leaf(&mut d.items, f, store::money(t2.total));
        }
    }
    let ps = postings(ctx, d, &t2)?;
    row.kind = d.kind.name.to_string();
    row.date = date_text(d.date);
    row.ref_number = leaf(&d.items, "RefNumber").map(str::to_string);
    row.entity = d.entity();
    row.account = d.account();
    row.amount = t2.total;
    // What stays open: the total less what others still apply to it (a
    // Mod keeps the payments on an invoice) — this transaction's own
    // applications follow in apply_links.
    row.open = 0;
    // A new transaction has nothing applied to it yet.
    let is_new = row.refs.is_empty() && row.modified == row.created;
    if d.kind.open.is_some() {
        let mut applied = 0;
        let existing = if is_new {
            Vec::new()
        } else {
            store::links_of(ctx.db, &row.id)?
        };
        for l in existing {
            if l.dst == row.id && (l.amount != 0 || l.discount != 0) {
                applied += l.amount + l.discount;
            } else if l.src == row.id && l.via != row.id {
                applied += l.amount;
            }
        }
        row.open = t2.total - applied;
        if row.open < 0 {
            return Err(invalid(
                d.kind.total.unwrap_or("Amount"),
                &store::money(t2.total),
                "The total is less than the payments and credits already applied to it.",
            ));
        }
    }
    d.items.retain(|e| !DYNAMIC.contains(&e.name.as_ref()));
    row.body = body::encode(&d.items);
    // The list records it uses: counted, so ListDel refuses them (3176).
    let mut refs = std::mem::take(&mut d.refs);
    refs.extend(ledger::posting_refs(&ps));
    crate::lists::collect_ref_ids(&d.items, &mut refs);
    refs.sort();
    refs.dedup();
    store::count_refs(ctx.db, row.refs.lines(), -1)?;
    row.refs = refs.join("\n");
    store::count_refs(ctx.db, row.refs.lines(), 1)?;
    store::put_txn(ctx.db, &row)?;
    ledger::post(ctx, &row.id, &row.date, &ps)?;
    apply_links(ctx, &links, 1)?;
    if links.is_empty() {
        return Ok(row);
    }
    // Its own applications moved its open amount (a payment's unused part).
    store::get_txn(ctx.db, &row.id)?.ok_or_else(|| status(1000, &[]))
}

pub fn add(ctx: &Ctx<'_>, kind: &'static TxnKind, rq: &Request<'_>) -> Res<Answer> {
    let Some(agg) = rq.element().child(&format!("{}Add", kind.name)) else {
        return Err(status(1000, &[]));
    };
    let Some(ret) = ctx.store_ret(kind.name) else {
        return Err(status(1000, &[]));
    };
    let created = ctx.now;
    // One block of IDs for the transaction and its lines (FACTS §5: they
    // share a counter; forms skip one value after the TxnID).
    let line_count = agg
        .children()
        .filter(|c| line_family(c.name(), ret).is_some())
        .count() as i64
        + i64::from(agg.child("CashBackInfoAdd").is_some());
    let skip = i64::from(line_count > 0 && kind.role != Role::Journal);
    let first = store::next_seqs(ctx.db, "Txn", 1, 1 + skip + line_count)?;
    let id = format!("{first:X}-{created}");
    let mut line_ids = (first + 1 + skip..).map(|n| format!("{n:X}-{created}"));
    let mut refs = Vec::new();
    let mut items = map_header(ctx, kind, agg, ret, &mut refs)?;
    let mut lines = Vec::new();
    for c in agg.children() {
        if let Some(f) = line_family(c.name(), ret) {
            lines.push(map_line(ctx, kind, c, f, ret, &mut refs)?);
        }
    }
    if let Some(cb) = agg.child("CashBackInfoAdd") {
        let mut resolver = |r: &RefRequest<'_>| resolve_ref(ctx, r, kind.name, &mut refs);
        if let Some(decl) = ret.child("CashBackInfoRet").map(|p| p.decl()) {
            let mut e = Elem::new("CashBackInfoRet");
            e.children = body::map_children(cb, decl, &[], &mut resolver)?;
            items.push(e);
        }
    }
    for l in lines.iter_mut() {
        give_line_id(l, line_ids.next().unwrap_or_default());
    }
    if let Some(cb) = items.iter_mut().find(|e| e.name == "CashBackInfoRet") {
        give_line_id(cb, line_ids.next().unwrap_or_default());
    }
    items.extend(lines);
    let mut d = Draft {
        kind,
        ret,
        items,
        refs,
        date: 0,
    };
    fill_defaults(ctx, &mut d, agg)?;
    let t = compute(ctx, &mut d)?;
    let given_total = agg.child_text("TotalAmount").map(store::cents);
    let specs = specs_from_request(ctx, &mut d, agg)?;
    let auto = agg
        .child_text("IsAutoApply")
        .is_some_and(|v| v == "true" || v == "1");
    let number = store::next_seq(ctx.db, "TxnNumber", 1)?;
    let row = TxnRow {
        id,
        number,
        created,
        modified: created,
        edit_seq: created,
        ..TxnRow::default()
    };
    let row = save(ctx, &mut d, row, &t, specs, auto, given_total)?;
    if kind.numbered {
        note_ref(ctx, kind.name, row.ref_number.as_deref())?;
    }
    answer(ctx, kind, &row, rq, true)
}

fn answer(
    ctx: &Ctx<'_>,
    kind: &TxnKind,
    row: &TxnRow,
    rq: &Request<'_>,
    lines: bool,
) -> Res<Answer> {
    let opts = crate::txnret::TxnOpts {
        include: include_of(rq.element()),
        owners: Vec::new(),
        lines,
        linked: false,
    };
    // The names of what the request read are known already.
    let mut names = crate::render::Names::default();
    for rec in ctx.lookups.borrow().values() {
        names.seed(&rec.0.ns, &rec.0.id, &rec.0.full_name);
    }
    let items = crate::txnret::ret(ctx, &mut names, row, kind, &opts)
        .into_iter()
        .collect();
    Ok(Answer {
        status: Status::ok(),
        items,
        ..Answer::default()
    })
}

/// The row of `id` if it is a `kind`, else 3120.
fn existing(ctx: &Ctx<'_>, kind: &str, id: &str) -> Res<TxnRow> {
    match store::get_txn(ctx.db, id)? {
        Some(r) if r.kind == kind => Ok(r),
        _ => Err(status(3120, &[("value", id)])),
    }
}

pub fn modify(ctx: &Ctx<'_>, kind: &'static TxnKind, rq: &Request<'_>) -> Res<Answer> {
    let Some(agg) = rq.element().child(&format!("{}Mod", kind.name)) else {
        return Err(status(1000, &[]));
    };
    let Some(ret) = ctx.store_ret(kind.name) else {
        return Err(status(1000, &[]));
    };
    let id = agg.child_text("TxnID").unwrap_or("");
    let old = existing(ctx, kind.name, id)?;
    let seq = agg.child_text("EditSequence").unwrap_or("");
    if seq != old.edit_seq.to_string() {
        let opts = crate::txnret::TxnOpts {
            lines: true,
            ..Default::default()
        };
        let current =
            crate::txnret::ret(ctx, &mut crate::render::Names::default(), &old, kind, &opts);
        return Err(SimError::StatusWith(
            Status::from_code(3200, &[("value", seq)]),
            current.into_iter().collect(),
        ));
    }
    if old.voided {
        return Err(invalid(
            "TxnID",
            id,
            "A voided transaction cannot be modified.",
        ));
    }
    // What other transactions do with it limits what a Mod may change: a
    // deposited payment is fixed until its deposit changes [I]; a document
    // others pay keeps its customer or vendor and its account.
    let others: Vec<Link> = store::links_of(ctx.db, &old.id)?
        .into_iter()
        .filter(|l| l.via != old.id)
        .collect();
    let refuse = |reason: &str| {
        status(
            3171,
            &[
                ("action", "modify"),
                ("object", kind.name),
                ("value", &old.id),
                ("reason", reason),
            ],
        )
    };
    if others
        .iter()
        .any(|l| l.dst == old.id && l.amount == 0 && l.discount == 0)
    {
        return Err(refuse(
            "It has been deposited; change or delete the deposit first.",
        ));
    }
    // Reverse what the old version did; the new one is built on the
    // balances without it.
    ledger::unpost(ctx, &old.id)?;
    remove_links(ctx, &old.id)?;
    // Stock and balances just moved: nothing read before is current.
    ctx.lookups.borrow_mut().clear();
    let mut refs = Vec::new();
    let changes = map_header(ctx, kind, agg, ret, &mut refs)?;
    let mut items = body::decode(&old.body);
    let cleared = body::cleared(agg, ret, OWN_FIELDS);
    let (old_lines, mut header): (Vec<Elem>, Vec<Elem>) = items
        .drain(..)
        .partition(|e| line_family(&e.name, ret).is_some());
    body::merge(&mut header, changes, &cleared);
    // Lines: a family named in the Mod is replaced by the lines given
    // (TxnLineID -1 adds one, a known TxnLineID keeps and changes that
    // line); families not named stay as they are.
    let mut lines: Vec<Elem> = Vec::new();
    let mut named: Vec<&'static str> = Vec::new();
    for c in agg.children() {
        let family = if c.name() == "JournalLineMod" {
            // One family for journal lines: a JournalLineMod may name either
            // side; without JournalLineType a kept line keeps its side.
            for f in ["JournalDebitLine", "JournalCreditLine"] {
                if !named.contains(&f) {
                    named.push(f);
                }
            }
            let kept = c.child_text("TxnLineID").and_then(|lid| {
                old_lines
                    .iter()
                    .find(|l| leaf(&l.children, "TxnLineID") == Some(lid))
                    .map(|l| l.name.to_string())
            });
            match (c.child_text("JournalLineType"), kept.as_deref()) {
                (Some("Credit"), _) => Some("JournalCreditLine"),
                (Some(_), _) => Some("JournalDebitLine"),
                (None, Some("JournalCreditLine")) => Some("JournalCreditLine"),
                (None, _) => Some("JournalDebitLine"),
            }
        } else {
            line_family(c.name(), ret)
        };
        let Some(family) = family else { continue };
        if !named.contains(&family) {
            named.push(family);
        }
        let lid = c.child_text("TxnLineID").unwrap_or("-1");
        let mapped = map_line(ctx, kind, c, family, ret, &mut refs)?;
        if lid == "-1" {
            let mut l = mapped;
            give_line_id(&mut l, next_line_id(ctx, old.created)?);
            lines.push(l);
            continue;
        }
        let Some(mut l) = old_lines
            .iter()
            .find(|l| leaf(&l.children, "TxnLineID") == Some(lid))
            .cloned()
        else {
            return Err(status(3120, &[("value", lid)]));
        };
        l.name = family.into();
        let decl = ret.child(family).map(|p| p.decl());
        let cleared_line = decl
            .map(|dd| body::cleared(c, dd, &["TxnLineID"]))
            .unwrap_or_default();
        // A new adjustment on a kept inventory line is computed afresh;
        // without one the line keeps the differences it had.
        if mapped.get("QuantityAdjustment").is_some() || mapped.get("ValueAdjustment").is_some() {
            l.children.retain(|e| {
                !matches!(
                    e.name.as_ref(),
                    "QuantityDifference"
                        | "ValueDifference"
                        | "QuantityAdjustment"
                        | "ValueAdjustment"
                )
            });
        }
        // A changed quantity or rate recomputes the amount unless given.
        if mapped.get("Amount").is_none()
            && (mapped.get("Quantity").is_some()
                || mapped.get("Rate").is_some()
                || mapped.get("Cost").is_some())
        {
            l.children.retain(|e| e.name != "Amount");
        }
        body::merge(&mut l.children, mapped.children, &cleared_line);
        lines.push(l);
    }
    let mut all = header;
    for l in old_lines {
        let fam = line_family(&l.name, ret).unwrap_or("");
        if !named.contains(&fam) {
            all.push(l);
        }
    }
    all.extend(lines);
    all.retain(|e| !e.name.ends_with("AddressBlock"));
    let mut d = Draft {
        kind,
        ret,
        items: all,
        refs,
        date: 0,
    };
    crate::lists::add_blocks(&mut d.items, ret);
    d.date = leaf(&d.items, "TxnDate")
        .and_then(parse_date)
        .unwrap_or_default();
    if !others.is_empty() && (d.entity() != old.entity || d.account() != old.account) {
        return Err(refuse(
            "Other transactions are applied to it: its customer or vendor and its account cannot change.",
        ));
    }
    let t = compute(ctx, &mut d)?;
    let given_total = match agg.child_text("TotalAmount") {
        Some(v) => Some(store::cents(v)),
        None if kind.role == Role::CustomerPayment => Some(old.amount),
        None => None,
    };
    // Applications: AppliedToTxnMod (or SetCredit) replaces them all;
    // without it the old ones are made again against the new amounts.
    let replaced = agg
        .children()
        .any(|c| c.name() == "AppliedToTxnMod" || c.name() == "SetCredit");
    let specs = if replaced {
        specs_from_request(ctx, &mut d, agg)?
    } else {
        specs_from_stored(&body::decode(&old.body), kind.role)
    };
    let modified = ctx.now.max(old.edit_seq + 1);
    let row = TxnRow {
        modified,
        edit_seq: modified,
        ..old.clone()
    };
    let row = save(ctx, &mut d, row, &t, specs, false, given_total)?;
    answer(ctx, kind, &row, rq, true)
}

/// Why a transaction cannot be deleted or voided: other transactions
/// apply to it or use it (payments on an invoice, a deposit of a payment,
/// a credit used on an invoice). QuickBooks asks the user to remove those
/// first; through the SDK it refuses [I] — we answer 3171.
fn in_use(ctx: &Ctx<'_>, row: &TxnRow, action: &str) -> Res<()> {
    let blocking = store::links_of(ctx.db, &row.id)?
        .into_iter()
        .find(|l| l.via != row.id);
    if let Some(l) = blocking {
        let other = if l.src == row.id { &l.via } else { &l.src };
        let other_kind = store::get_txn(ctx.db, other)?
            .map(|r| r.kind)
            .unwrap_or_default();
        return Err(status(
            3171,
            &[
                ("action", action),
                ("object", &row.kind),
                ("value", &row.id),
                (
                    "reason",
                    &format!(
                        "The transaction is linked to {other_kind} \"{other}\"; delete or change that first."
                    ),
                ),
            ],
        ));
    }
    Ok(())
}

fn del_or_void(ctx: &Ctx<'_>, rq: &Request<'_>, void: bool) -> Res<Answer> {
    let e = rq.element();
    let type_field = if void { "TxnVoidType" } else { "TxnDelType" };
    let ty = e.child_text(type_field).unwrap_or("");
    let id = e.child_text("TxnID").unwrap_or("");
    let Some(kind) = txnkinds::txn_kind(ty) else {
        return Err(status(3250, &[]));
    };
    let row = existing(ctx, kind.name, id)?;
    in_use(ctx, &row, if void { "void" } else { "delete" })?;
    ledger::unpost(ctx, &row.id)?;
    remove_links(ctx, &row.id)?;
    if void {
        let mut items = body::decode(&row.body);
        zero_amounts(&mut items);
        let memo = leaf(&items, "Memo").unwrap_or("").to_string();
        if !memo.starts_with("VOID:") {
            set_leaf(
                &mut items,
                "Memo",
                format!("VOID: {memo}").trim_end().to_string(),
            );
        }
        let modified = ctx.now.max(row.edit_seq + 1);
        let row = TxnRow {
            voided: true,
            amount: 0,
            open: 0,
            modified,
            edit_seq: modified,
            body: body::encode(&items),
            ..row
        };
        store::put_txn(ctx.db, &row)?;
        return Ok(Answer {
            status: Status::ok(),
            items: vec![
                Elem::leaf("TxnVoidType", kind.name),
                Elem::leaf("TxnID", row.id.clone()),
                Elem::leaf("TimeCreated", ctx.tz.format(row.created)),
                Elem::leaf("TimeModified", ctx.tz.format(row.modified)),
                Elem::leaf("RefNumber", row.ref_number.clone().unwrap_or_default()),
            ]
            .into_iter()
            .filter(|e| !(e.name == "RefNumber" && e.text.is_empty()))
            .collect(),
            ..Answer::default()
        });
    }
    store::delete_txn(ctx.db, &row, ctx.now)?;
    let mut items = vec![
        Elem::leaf("TxnDelType", kind.name),
        Elem::leaf("TxnID", row.id.clone()),
        Elem::leaf("TimeDeleted", ctx.tz.format(ctx.now)),
    ];
    if let Some(r) = row.ref_number.clone() {
        items.push(Elem::leaf("RefNumber", r));
    }
    Ok(Answer {
        status: Status::ok(),
        items,
        ..Answer::default()
    })
}

/// A voided transaction keeps its lines with zero amounts.
fn zero_amounts(items: &mut [Elem]) {
    for e in items.iter_mut() {
        match e.name.as_ref() {
            "Amount" | "Subtotal" | "SalesTaxTotal" | "TotalAmount" | "AmountDue"
            | "CreditAmount" | "DepositTotal" | "ValueDifference" => {
                e.text = store::money(0);
            }
            "Quantity" | "QuantityDifference" => e.text = "0".into(),
            "AppliedToTxnRet" => e.children.retain(|c| c.name == "TxnID"),
            _ if !e.children.is_empty() => zero_amounts(&mut e.children),
            _ => {}
        }
    }
}

pub fn del(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    del_or_void(ctx, rq, false)
}

pub fn void(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    del_or_void(ctx, rq, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_print_like_quickbooks() {
        assert_eq!(price_text(103.0), "103.00");
        assert_eq!(price_text(12.345), "12.345");
        assert_eq!(price_text(0.5), "0.50");
    }
}
