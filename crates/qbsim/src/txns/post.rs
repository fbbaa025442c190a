//! What a transaction posts to the ledger, per role (sale, purchase,
//! payment, deposit, journal, inventory adjustment): balanced postings,
//! inventory quantity and value moved at cost.

use super::arith::*;
use super::Draft;
use crate::body::{self, leaf};
use crate::ledger::{self, qty_text, qty_units, Posting};
use crate::store::{self};
use crate::txnkinds::{self, Role, Special};
use crate::Ctx;
use crate::{invalid, status, Res};
use qbxml::Elem;

/// A payment's postings as (account, amount, entity): `sign` 1 for money
/// in (a customer's payment: bank debited, A/R credited), -1 for money out
/// (a bill payment). Each discount taken on an application moves from the
/// discount account to the controlling account with the money's sign.
pub(super) fn payment(
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

/// An A/R or A/P reference must name an account of that type (3140).
pub(super) fn check_head_account(ctx: &Ctx<'_>, d: &Draft<'_>) -> Res<()> {
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
pub(super) fn postings(ctx: &Ctx<'_>, d: &mut Draft<'_>, t: &Totals) -> Res<Vec<Posting>> {
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
        Role::Order | Role::Record => {}
        Role::Charge => {
            let Some(head) = d.account() else {
                return Err(status(3150, &[("field", "ARAccountRef")]));
            };
            ps.push(p(head, t.total, entity.clone()));
            ps.push(p(
                super::billable::charge_income(ctx, d)?,
                -t.total,
                entity.clone(),
            ));
        }
        Role::Transfer => {
            let Some(from) = d.account() else {
                return Err(status(3150, &[("field", "TransferFromAccountRef")]));
            };
            let Some(to) = ledger::ref_id(&d.items, "TransferToAccountRef") else {
                return Err(status(3150, &[("field", "TransferToAccountRef")]));
            };
            if from == to {
                let name = store::full_name(ctx.db, "Account", &to)?.unwrap_or(to);
                return Err(invalid(
                    "TransferToAccountRef",
                    &name,
                    "The accounts to transfer from and to must be different.",
                ));
            }
            ps.push(p(to, t.total, None));
            ps.push(p(from, -t.total, None));
        }
        Role::TaxPayment => {
            let Some(bank) = d.account() else {
                return Err(status(3150, &[("field", "BankAccountRef")]));
            };
            // Money out of the bank; what it pays leaves Sales Tax Payable.
            ps.push(p(bank, -t.total, None));
            ps.push(p(
                ledger::special(ctx, Special::SalesTaxPayable)?,
                t.total,
                None,
            ));
        }
        Role::Refund => {
            let Some(ar) = d.account() else {
                return Err(status(3150, &[("field", "ARAccountRef")]));
            };
            let Some(from) = ledger::ref_id(&d.items, "RefundFromAccountRef") else {
                return Err(status(3150, &[("field", "RefundFromAccountRef")]));
            };
            // The customer's credit is paid out: A/R back up, money out.
            ps.push(p(ar, t.total, entity.clone()));
            ps.push(p(from, -t.total, None));
        }
        Role::Build => super::stock::build_postings(ctx, d, &mut ps)?,
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
                    None if it.as_ref().is_some_and(|i| {
                        matches!(i.kind(), "ItemSalesTax" | "ItemSalesTaxGroup")
                    }) =>
                    {
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
pub(super) fn adjustment(it: &Item, c: &[Elem], before: (i64, i64)) -> (i64, i64) {
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
