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
//! `post.rs` and `apply.rs`.
//!
//! Types that are not forms of lines have their own files: `billable.rs`
//! (statement charges, time, mileage) and `stock.rs` (builds, transfers
//! between sites).
//!
//! The jobs, in the order a write does them: `map.rs` (request → Draft:
//! header, lines, references, defaults, numbering), `arith.rs` (lines,
//! tax, totals, open balances), `post.rs` (the ledger), `apply.rs`
//! (payments, credits and deposits as links); this file holds the Draft
//! and the handlers that run those steps and save the result.

mod apply;
mod arith;
mod billable;
mod map;
mod post;
mod stock;

use crate::body::{self, leaf, RefRequest};
use crate::clock::{date_text, parse_date};
use crate::ledger;
use crate::render::include_of;
use crate::store::{self, Link, TxnRow};
use crate::txnkinds::{self, Role, TxnKind};
use crate::txnret::{line_family, DYNAMIC};
use crate::{invalid, status, Res};
use crate::{Answer, Ctx, SimError};
use apply::*;
use arith::*;
pub(crate) use billable::duration_minutes;
use map::*;
use post::*;
use qbxml::schema::Decl;
use qbxml::{Elem, Request, Status};
pub(crate) use stock::quantity_can_build;

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

    for rec in ctx.lookups.borrow().values() {
        if let Some(ns) = crate::kinds::namespace_of(&rec.0.ns) {
            ctx.names.borrow_mut().note(ns, &rec.0.id, &rec.0.full_name);
        }
    }
    let items = crate::txnret::ret(ctx, row, kind, &opts)
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
        let current = crate::txnret::ret(ctx, &old, kind, &opts);
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
    // A statement charge is one line on its header: a changed quantity,
    // rate or item recomputes its amount (and a new item its rate) unless
    // the Mod gives them.
    if kind.role == Role::Charge && agg.child("Amount").is_none() {
        let given = |n: &str| agg.child_text(n).is_some_and(|v| !v.is_empty());
        if given("ItemRef") && !given("Rate") {
            header.retain(|e| e.name != "Rate");
        }
        // Recomputed only from a rate: given, kept, or the new item's.
        let rate_known = given("Rate") || leaf(&header, "Rate").is_some() || given("ItemRef");
        if rate_known && (given("Quantity") || given("Rate") || given("ItemRef")) {
            header.retain(|e| e.name != "Amount");
        }
    }
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
            | "CreditAmount" | "DepositTotal" | "ValueDifference" | "RefundAmount" => {
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
