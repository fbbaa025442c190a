//! The double-entry ledger under every transaction.
//!
//! A transaction's postings are its debits (positive cents) and credits
//! (negative cents); they always sum to zero — [`post`] refuses anything
//! else, so the trial balance nets to zero by construction. The balances
//! QuickBooks shows on list records derive from the postings and are kept
//! in the same SQLite transaction:
//!
//! - an account's `Balance` is the sum of its postings, shown with its
//!   natural sign (credit-normal accounts — liabilities, equity, income —
//!   show credits as positive); `TotalBalance` adds its subaccounts';
//! - a customer's `Balance` is the sum of the A/R postings naming it, a
//!   vendor's the negated sum of the A/P postings naming it, each with
//!   `TotalBalance` up the job tree;
//! - an inventory item's quantity on hand and value are the sums of the
//!   quantities and amounts posted to its asset account for it.
//!
//! Reversing (Mod, TxnDel, TxnVoid) removes a transaction's postings and
//! applies the same deltas negated.

use crate::body;
use crate::store::{self, Db, StoreError};
use crate::txnkinds::Special;
use crate::Ctx;
use crate::{invalid, Res};
use qbxml::Elem;
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

/// One debit (amount > 0) or credit (amount < 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Posting {
    pub account: String,
    pub amount: i64,
    /// The customer (on A/R), vendor (on A/P) or other name it is for.
    pub entity: Option<String>,
    /// The inventory item whose value this moves (asset postings only).
    pub item: Option<String>,
    /// Quantity moved, in hundred-thousandths.
    pub qty: i64,
}

/// Quantities are kept in hundred-thousandths (QuickBooks shows at most
/// five decimals).
pub const QTY_SCALE: f64 = 100_000.0;

pub fn qty_units(q: f64) -> i64 {
    (q * QTY_SCALE).round() as i64
}

pub fn qty_text(units: i64) -> String {
    let whole = units / 100_000;
    let frac = (units % 100_000).abs();
    let sign = if units < 0 && whole == 0 { "-" } else { "" };
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let f = format!("{frac:05}");
    format!("{sign}{whole}.{}", f.trim_end_matches('0'))
}

/// Does a posting to an account of this type increase its balance when
/// debited? (Assets and expenses are debit-normal.)
pub fn debit_normal(account_type: &str) -> bool {
    matches!(
        account_type,
        "Bank"
            | "AccountsReceivable"
            | "OtherCurrentAsset"
            | "FixedAsset"
            | "OtherAsset"
            | "CostOfGoodsSold"
            | "Expense"
            | "OtherExpense"
            | "NonPosting"
    )
}

/// The AccountType of an account (None if it is not an account).
pub fn account_type(db: &Db, id: &str) -> Result<Option<String>, StoreError> {
    let mut st = db.prepare_cached("SELECT body FROM list WHERE ns='Account' AND id=?1")?;
    let body: Option<String> = st.query_row([id], |r| r.get(0)).optional()?;
    Ok(body.and_then(|b| {
        body::decode(&b)
            .into_iter()
            .find(|e| e.name == "AccountType")
            .map(|e| e.text)
    }))
}

/// The AccountType of an account, remembered for the request.
pub fn type_of(ctx: &Ctx<'_>, id: &str) -> Result<Option<String>, StoreError> {
    if let Some(t) = ctx.account_types.borrow().get(id) {
        return Ok(Some(t.clone()));
    }
    let t = account_type(ctx.db, id)?;
    if let Some(t) = &t {
        ctx.account_types
            .borrow_mut()
            .insert(id.to_string(), t.clone());
    }
    Ok(t)
}

/// The account QuickBooks uses for `which`, if the file has one: a
/// top-level account of that name and type, else (for A/R and A/P) the
/// first account of the type. Reads only (queries and reports use it).
pub fn find_special(ctx: &Ctx<'_>, which: Special) -> Res<Option<String>> {
    let (name, ty) = which.account();
    if let Some(id) = store::meta(ctx.db, &format!("special:{name}"))? {
        if type_of(ctx, &id)?.as_deref() == Some(ty) {
            return Ok(Some(id));
        }
    }
    if let Some(row) = store::by_name(ctx.db, "Account", name)? {
        if type_of(ctx, &row.id)?.as_deref() == Some(ty) {
            return Ok(Some(row.id));
        }
    }
    if matches!(
        which,
        Special::AccountsReceivable | Special::AccountsPayable
    ) {
        let ids = store::ids_in_order(ctx.db, "Account", &store::ColumnFilter::default())?;
        for id in ids {
            if account_type(ctx.db, &id)?.as_deref() == Some(ty) {
                return Ok(Some(id));
            }
        }
    }
    Ok(None)
}

/// The account QuickBooks uses for `which`, created on first use (for
/// writes only).
pub fn special(ctx: &Ctx<'_>, which: Special) -> Res<String> {
    let (name, ty) = which.account();
    let key = format!("special:{name}");
    if let Some(id) = find_special(ctx, which)? {
        if store::meta(ctx.db, &key)?.as_deref() != Some(id.as_str()) {
            store::set_meta(ctx.db, &key, &id)?;
        }
        return Ok(id);
    }
    // Not there: QuickBooks makes it (with a suffix if the name is taken
    // by an account of another type).
    let mut full = name.to_string();
    let mut n = 2;
    while store::by_name(ctx.db, "Account", &full)?.is_some() {
        full = format!("{name} {n}");
        n += 1;
    }
    let id = format!("{:X}-{}", store::next_counter(ctx.db, "Account")?, ctx.now);
    let mut items = vec![
        Elem::leaf("AccountType", ty),
        Elem::leaf(
            "CashFlowClassification",
            crate::kinds::cash_flow_classification(ty),
        ),
    ];
    if let Some(t) = which.special_type() {
        items.push(Elem::leaf("SpecialAccountType", t));
    }
    store::insert(
        ctx.db,
        &store::Row {
            id: id.clone(),
            kind: "Account".into(),
            ns: "Account".into(),
            parent: None,
            name: full.clone(),
            sort_key: format!(
                "{:02}\u{2}{}",
                crate::kinds::account_type_rank(ty),
                full.to_lowercase()
            ),
            full_name: full,
            active: true,
            created: ctx.now,
            modified: ctx.now,
            edit_seq: ctx.now,
            body: body::encode(&items),
            ..store::Row::default()
        },
    )?;
    store::set_meta(ctx.db, &key, &id)?;
    Ok(id)
}

/// Write a transaction's postings and move every balance they touch.
/// Refuses (3210) postings that do not balance, and A/R or A/P postings
/// without the customer or vendor they are for.
pub fn post(ctx: &Ctx<'_>, txn: &str, date: &str, postings: &[Posting]) -> Res<()> {
    let sum: i64 = postings.iter().map(|p| p.amount).sum();
    if sum != 0 {
        return Err(invalid(
            "Amount",
            &store::money(sum),
            "Transaction not in balance.",
        ));
    }
    let mut st = ctx.db.prepare_cached(
        "INSERT INTO posting(txn, seq, account, amount, entity, item, qty, date) \
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    )?;
    let mut deltas = Deltas::default();
    for (i, p) in postings.iter().enumerate() {
        if p.amount == 0 && p.qty == 0 {
            continue;
        }
        let ty = type_of(ctx, &p.account)?.unwrap_or_default();
        check_entity(ctx, &ty, p)?;
        st.execute(params![
            txn, i as i64, p.account, p.amount, p.entity, p.item, p.qty, date
        ])?;
        deltas.add(&ty, p, 1);
    }
    deltas.apply(ctx)
}

fn check_entity(ctx: &Ctx<'_>, ty: &str, p: &Posting) -> Res<()> {
    let need = match ty {
        "AccountsReceivable" => "Customer",
        "AccountsPayable" => "Vendor",
        _ => return Ok(()),
    };
    let kind: Option<String> = match &p.entity {
        Some(e) => ctx
            .db
            .prepare_cached("SELECT kind FROM list WHERE ns='Name' AND id=?1")?
            .query_row([e], |r| r.get(0))
            .optional()?,
        None => None,
    };
    if kind.as_deref() == Some(need) {
        return Ok(());
    }
    let reason = if need == "Customer" {
        "You must specify a customer for each line that uses an Accounts Receivable account."
    } else {
        "You must specify a vendor for each line that uses an Accounts Payable account."
    };
    Err(invalid(
        "EntityRef",
        p.entity.as_deref().unwrap_or(""),
        reason,
    ))
}

/// Remove a transaction's postings, moving balances back.
pub fn unpost(ctx: &Ctx<'_>, txn: &str) -> Res<()> {
    let rows: Vec<Posting> = {
        let mut st = ctx.db.prepare_cached(
            "SELECT account, amount, entity, item, qty FROM posting WHERE txn=?1",
        )?;
        let it = st.query_map([txn], |r| {
            Ok(Posting {
                account: r.get(0)?,
                amount: r.get(1)?,
                entity: r.get(2)?,
                item: r.get(3)?,
                qty: r.get(4)?,
            })
        })?;
        it.collect::<rusqlite::Result<_>>()
            .map_err(StoreError::from)?
    };
    let mut deltas = Deltas::default();
    for p in &rows {
        let ty = type_of(ctx, &p.account)?.unwrap_or_default();
        deltas.add(&ty, p, -1);
    }
    deltas.apply(ctx)?;
    ctx.db
        .prepare_cached("DELETE FROM posting WHERE txn=?1")?
        .execute([txn])?;
    Ok(())
}

/// What a set of postings does to the balances on list records, summed
/// per record before it is written (an invoice's five lines to one income
/// account are one update).
#[derive(Default)]
struct Deltas {
    /// (namespace, ListID) → change of Balance.
    balance: HashMap<(&'static str, String), i64>,
    /// item → (quantity, value).
    stock: HashMap<String, (i64, i64)>,
}

impl Deltas {
    fn add(&mut self, ty: &str, p: &Posting, dir: i64) {
        let shown = if debit_normal(ty) {
            p.amount
        } else {
            -p.amount
        } * dir;
        *self
            .balance
            .entry(("Account", p.account.clone()))
            .or_default() += shown;
        if let Some(e) = &p.entity {
            let d = match ty {
                "AccountsReceivable" => p.amount * dir,
                "AccountsPayable" => -p.amount * dir,
                _ => 0,
            };
            if d != 0 {
                *self.balance.entry(("Name", e.clone())).or_default() += d;
            }
        }
        if let Some(item) = &p.item {
            let s = self.stock.entry(item.clone()).or_default();
            s.0 += p.qty * dir;
            s.1 += p.amount * dir;
        }
    }

    fn apply(self, ctx: &Ctx<'_>) -> Res<()> {
        for ((ns, id), d) in self.balance {
            add_balance(ctx.db, ns, &id, d)?;
        }
        let mut st = ctx.db.prepare_cached(
            "UPDATE list SET qty=qty+?1, value=value+?2 WHERE ns='Item' AND id=?3",
        )?;
        for (item, (q, v)) in self.stock {
            st.execute(params![q, v, item])?;
        }
        Ok(())
    }
}

/// Add to a record's Balance, and to the TotalBalance of it and its
/// ancestors.
fn add_balance(db: &Db, ns: &str, id: &str, delta: i64) -> Result<(), StoreError> {
    if delta == 0 {
        return Ok(());
    }
    db.prepare_cached("UPDATE list SET balance=balance+?1 WHERE ns=?2 AND id=?3")?
        .execute(params![delta, ns, id])?;
    let mut up =
        db.prepare_cached("UPDATE list SET total=total+?1 WHERE ns=?2 AND id=?3 RETURNING parent")?;
    let mut cur = Some(id.to_string());
    let mut guard = 0;
    while let Some(c) = cur.take() {
        cur = up
            .query_row(params![delta, ns, c], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten();
        guard += 1;
        if guard > 64 {
            break;
        }
    }
    Ok(())
}

/// Opening balances given on list Adds (`OpenBalance` of an account,
/// customer or vendor, an inventory item's starting quantity and value)
/// post like QuickBooks' own opening entries: against Opening Balance
/// Equity for accounts and inventory, Uncategorized Income for customers,
/// Uncategorized Expenses for vendors. Kept under the pseudo-transaction
/// `open:<namespace>/<ListID>`, which no query returns.
pub fn opening(
    ctx: &Ctx<'_>,
    kind: &str,
    id: &str,
    amount: i64,
    qty: i64,
    body: &[Elem],
    as_of: Option<&str>,
) -> Res<()> {
    if amount == 0 && qty == 0 {
        return Ok(());
    }
    // Dated as the Add says (OpenBalanceDate), else today.
    let date = as_of
        .and_then(crate::clock::parse_date)
        .map(crate::clock::date_text)
        .unwrap_or_else(|| ctx.tz.date(ctx.now));
    let ps = match kind {
        "Customer" => vec![
            Posting {
                account: special(ctx, Special::AccountsReceivable)?,
                amount,
                entity: Some(id.to_string()),
                ..Posting::default()
            },
            Posting {
                account: special(ctx, Special::UncategorizedIncome)?,
                amount: -amount,
                ..Posting::default()
            },
        ],
        "Vendor" => vec![
            Posting {
                account: special(ctx, Special::AccountsPayable)?,
                amount: -amount,
                entity: Some(id.to_string()),
                ..Posting::default()
            },
            Posting {
                account: special(ctx, Special::UncategorizedExpenses)?,
                amount,
                ..Posting::default()
            },
        ],
        "Account" => {
            let ty = account_type(ctx.db, id)?.unwrap_or_default();
            if matches!(ty.as_str(), "AccountsReceivable" | "AccountsPayable") {
                // Opening A/R and A/P come from customers' and vendors'
                // balances, as in QuickBooks.
                return Ok(());
            }
            let obe = special(ctx, Special::OpeningBalanceEquity)?;
            if obe == id {
                return Ok(());
            }
            let dr = if debit_normal(&ty) { amount } else { -amount };
            vec![
                Posting {
                    account: id.to_string(),
                    amount: dr,
                    ..Posting::default()
                },
                Posting {
                    account: obe,
                    amount: -dr,
                    ..Posting::default()
                },
            ]
        }
        k if crate::kinds::is_stocked(k) => {
            let asset = ref_id(body, "AssetAccountRef")
                .map(Ok)
                .unwrap_or_else(|| special(ctx, Special::InventoryAsset))?;
            vec![
                Posting {
                    account: asset,
                    amount,
                    item: Some(id.to_string()),
                    qty,
                    ..Posting::default()
                },
                Posting {
                    account: special(ctx, Special::OpeningBalanceEquity)?,
                    amount: -amount,
                    ..Posting::default()
                },
            ]
        }
        _ => return Ok(()),
    };
    // ListIDs are unique per namespace only: the key names it.
    let ns = match kind {
        "Customer" | "Vendor" => "Name",
        k if crate::kinds::is_stocked(k) => "Item",
        _ => "Account",
    };
    let txn = format!("open:{}", store::key(ns, id));
    post(ctx, &txn, &date, &ps)?;
    store::set_refs(ctx.db, &format!("txn/{txn}"), &posting_refs(&ps))?;
    Ok(())
}

/// The list records postings touch, as `ref` keys (so ListDel refuses
/// records in use).
pub fn posting_refs(ps: &[Posting]) -> Vec<String> {
    let mut out = Vec::new();
    for p in ps {
        out.push(store::key("Account", &p.account));
        if let Some(e) = &p.entity {
            out.push(store::key("Name", e));
        }
        if let Some(i) = &p.item {
            out.push(store::key("Item", i));
        }
    }
    out
}

/// Whether any transaction has posted to the account.
pub fn has_postings(db: &Db, account: &str) -> Result<bool, StoreError> {
    Ok(db
        .prepare_cached("SELECT 1 FROM posting WHERE account=?1 LIMIT 1")?
        .query_row([account], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The ListID of a stored reference in a body.
pub fn ref_id(items: &[Elem], name: &str) -> Option<String> {
    items
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.get("ListID"))
        .map(|e| e.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_minimally() {
        assert_eq!(qty_text(qty_units(2.0)), "2");
        assert_eq!(qty_text(qty_units(2.5)), "2.5");
        assert_eq!(qty_text(qty_units(-0.25)), "-0.25");
        assert_eq!(qty_text(qty_units(-3.125)), "-3.125");
    }
}
