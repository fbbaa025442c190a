//! A stored transaction written out as its `…Ret`: what the request asked
//! to see (lines, linked transactions, custom fields, IncludeRetElement),
//! the fields computed when written (open amounts, IsPaid, LinkedTxn), in
//! the request's version. Used by the transaction queries and by every
//! transaction write's answer.

use crate::body;
use crate::render::{self, include_of};
use crate::store::{self, TxnRow};
use crate::txnkinds::TxnKind;
use crate::Ctx;
use qbxml::schema::Decl;
use qbxml::{Elem, Element};

/// Ret fields computed from columns and links when written out, never
/// stored.
pub const DYNAMIC: &[&str] = &[
    "AppliedAmount",
    "BalanceRemaining",
    "IsPaid",
    "CreditRemaining",
    "OpenAmount",
    "UnusedPayment",
    "LinkedTxn",
];

/// The Ret line family a request child belongs to: `InvoiceLineAdd` →
/// `InvoiceLineRet`, `JournalDebitLine` → itself. Lines are the Ret
/// children that carry a TxnLineID.
pub fn line_family(name: &str, ret: Decl) -> Option<&'static str> {
    let base = name
        .strip_suffix("Add")
        .or_else(|| name.strip_suffix("Mod"))
        .unwrap_or(name);
    for cand in [format!("{base}Ret"), base.to_string()] {
        if let Some(p) = ret.child(&cand) {
            if p.decl().child("TxnLineID").is_some() {
                return Some(p.name());
            }
        }
    }
    None
}

/// What the request asked to see of each transaction.
#[derive(Default, Debug, Clone)]
pub struct TxnOpts {
    pub include: Vec<String>,
    pub owners: Vec<String>,
    pub lines: bool,
    pub linked: bool,
}

impl TxnOpts {
    pub fn of(e: Element<'_>) -> TxnOpts {
        let yes = |n: &str| e.child_text(n).is_some_and(|v| v == "true" || v == "1");
        TxnOpts {
            include: include_of(e),
            owners: e
                .children_named("OwnerID")
                .map(|o| o.text().to_string())
                .collect(),
            lines: yes("IncludeLineItems"),
            linked: yes("IncludeLinkedTxns"),
        }
    }
}

/// Write a transaction out for the request's version.
pub fn ret(ctx: &Ctx<'_>, row: &TxnRow, kind: &TxnKind, opts: &TxnOpts) -> Option<Elem> {
    let decl = render::ret_decl(ctx, kind.name)?;
    let mut e = Elem::new(decl.name());
    e.push(Elem::leaf("TxnID", row.id.clone()));
    e.push(Elem::leaf("TimeCreated", ctx.tz.format(row.created)));
    e.push(Elem::leaf("TimeModified", ctx.tz.format(row.modified)));
    e.push(Elem::leaf("EditSequence", row.edit_seq.to_string()));
    e.push(Elem::leaf("TxnNumber", row.number.to_string()));
    for mut c in body::decode(&row.body) {
        if !opts.lines && line_family(&c.name, decl).is_some() {
            continue;
        }
        if DYNAMIC.contains(&c.name.as_ref()) {
            continue;
        }
        if c.name == "AppliedToTxnRet" {
            applied_details(ctx, &mut c);
        }
        if c.name == "RefundAppliedToTxnRet" {
            refund_details(ctx, &mut c);
        }
        render::complete_refs(ctx, &mut c);
        e.push(c);
    }
    if let Some(f) = kind.open {
        e.push(Elem::leaf(f, store::money(row.open)));
    }
    if kind.name == "Invoice" {
        e.push(Elem::leaf(
            "AppliedAmount",
            store::money(row.open - row.amount),
        ));
    }
    if kind.name == "Transfer" {
        // Each account's balance now, as the transfer form shows it.
        for (r, field) in [
            ("TransferFromAccountRef", "FromAccountBalance"),
            ("TransferToAccountRef", "ToAccountBalance"),
        ] {
            let id = e
                .get(r)
                .and_then(|x| x.get("ListID"))
                .map(|x| x.text.clone());
            if let Some(Ok(Some(a))) = id.map(|id| store::get(ctx.db, "Account", &id)) {
                e.push(Elem::leaf(field, store::money(a.balance)));
            }
        }
    }
    if matches!(kind.name, "Invoice" | "Bill" | "Charge") {
        e.push(Elem::leaf(
            "IsPaid",
            render::bool_text(row.open == 0 && !row.voided),
        ));
    }
    if opts.linked && decl.child("LinkedTxn").is_some() {
        for l in linked(ctx, row) {
            e.push(l);
        }
    }
    if !opts.owners.is_empty() {
        for d in crate::custom::rets_for(ctx.db, &store::key("Txn", &row.id), &opts.owners) {
            e.push(d);
        }
    }
    render::fit(&mut e, decl, ctx.version);
    if e.order_by_schema(decl, Some(ctx.version)).is_err() {
        return None;
    }
    render::include(&mut e, decl, ctx.version, &opts.include);
    Some(e)
}

/// An applied-to element as QuickBooks writes it: the document's type,
/// date, number and what it still owes.
fn applied_details(ctx: &Ctx<'_>, a: &mut Elem) {
    let Some(id) = a.get("TxnID").map(|e| e.text.clone()) else {
        return;
    };
    a.children.retain(|c| c.name != "SetCredit");
    if let Ok(Some(t)) = store::get_txn(ctx.db, &id) {
        a.push(Elem::leaf("TxnType", t.kind.clone()));
        a.push(Elem::leaf("TxnDate", t.date.clone()));
        if let Some(r) = &t.ref_number {
            a.push(Elem::leaf("RefNumber", r.clone()));
        }
        a.push(Elem::leaf("BalanceRemaining", store::money(t.open)));
    }
}

/// A refund's credit as QuickBooks writes it: the credit's type, date,
/// number and what is left of it.
fn refund_details(ctx: &Ctx<'_>, a: &mut Elem) {
    let Some(id) = a.get("TxnID").map(|e| e.text.clone()) else {
        return;
    };
    if let Ok(Some(t)) = store::get_txn(ctx.db, &id) {
        a.push(Elem::leaf("TxnType", t.kind.clone()));
        a.push(Elem::leaf("TxnDate", t.date.clone()));
        if let Some(r) = &t.ref_number {
            a.push(Elem::leaf("RefNumber", r.clone()));
        }
        a.push(Elem::leaf("CreditRemaining", store::money(t.open)));
    }
}

/// `LinkedTxn`: the transactions applied to this one, or that this one
/// is applied to, with the amount as a negative number (FACTS §5).
fn linked(ctx: &Ctx<'_>, row: &TxnRow) -> Vec<Elem> {
    let Ok(links) = store::links_of(ctx.db, &row.id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for l in links {
        let other = if l.dst == row.id { &l.src } else { &l.dst };
        if other == &row.id {
            continue;
        }
        let Ok(Some(t)) = store::get_txn(ctx.db, other) else {
            continue;
        };
        let mut e = Elem::new("LinkedTxn")
            .with("TxnID", t.id.clone())
            .with("TxnType", t.kind.clone())
            .with("TxnDate", t.date.clone());
        if let Some(r) = &t.ref_number {
            e.push(Elem::leaf("RefNumber", r.clone()));
        }
        e.push(Elem::leaf("LinkType", "AMTTYPE"));
        e.push(Elem::leaf("Amount", store::money(-(l.amount + l.discount))));
        out.push(e);
    }
    out
}
