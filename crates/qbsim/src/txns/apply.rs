//! What a transaction applies to other transactions: payments and
//! credits to invoices and bills, deposits of received payments — as
//! links, with what each document still owes.

use super::arith::*;
use super::map::*;
use super::Draft;
use crate::body::{self, leaf, RefRequest};
use crate::ledger::{self};
use crate::store::{self, Link, TxnRow};
use crate::txnkinds::{Role, Special};
use crate::Ctx;
use crate::{invalid, status, Res};
use qbxml::{Elem, Element};
use store::MAX_CENTS;

/// One application a payment (or an invoice's SetCredit) makes: the
/// document it pays, how much, the discount, and credits used on it.
#[derive(Clone, Debug, Default)]
pub(super) struct AppSpec {
    pub(super) txn: String,
    pub(super) amount: i64,
    pub(super) discount: i64,
    /// DiscountAccountRef / DiscountClassRef, resolved.
    pub(super) refs: Vec<Elem>,
    pub(super) credits: Vec<(String, i64)>,
}

/// The applications a request states (AppliedToTxnAdd/Mod with their
/// SetCredit; an invoice's own SetCredit as one spec for itself).
pub(super) fn specs_from_request(
    ctx: &Ctx<'_>,
    d: &mut Draft<'_>,
    agg: Element<'_>,
) -> Res<Vec<AppSpec>> {
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
    if d.kind.role == Role::Refund {
        for a in agg.children_named("RefundAppliedToTxnAdd") {
            let amount = a.child_text("RefundAmount").map(store::cents).unwrap_or(0);
            if amount <= 0 {
                return Err(invalid(
                    "RefundAppliedToTxnAdd RefundAmount",
                    &store::money(amount),
                    "The amount must be more than zero.",
                ));
            }
            out.push(AppSpec {
                txn: a.child_text("TxnID").unwrap_or("").to_string(),
                amount: in_range("RefundAmount", amount)?,
                ..AppSpec::default()
            });
        }
        return Ok(out);
    }
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
                let rq = RefRequest::of(f, e);
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
pub(super) fn specs_from_stored(items: &[Elem], role: Role) -> Vec<AppSpec> {
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
    if role == Role::Refund {
        return items
            .iter()
            .filter(|e| e.name == "RefundAppliedToTxnRet")
            .map(|a| AppSpec {
                txn: a.get("TxnID").map(|e| e.text.clone()).unwrap_or_default(),
                amount: a
                    .get("RefundAmount")
                    .map(|e| store::cents(&e.text))
                    .unwrap_or(0),
                ..AppSpec::default()
            })
            .collect();
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

pub(super) fn set_credit_elems(credits: &[(String, i64)]) -> Vec<Elem> {
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
pub(super) fn applications(
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
    // What a payment pays: a customer's invoices and statement charges, a
    // vendor's bills.
    let target_kinds: &[&'static str] = if customer {
        &["Invoice", "Charge"]
    } else {
        &["Bill"]
    };
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
                // A customer's payment pays invoices and statement charges.
                let kinds = target_kinds;
                let target = target(ctx, &spec.txn, kinds, entity.as_deref())?;
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
                let open = open_docs(ctx, target_kinds, entity.as_deref(), id)?;
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
        Role::Refund => {
            // A refund pays out credits: each credit memo or unused payment
            // it names loses what is refunded from it.
            let mut rets = Vec::new();
            let mut sum = 0i64;
            for spec in specs {
                let credit = target(
                    ctx,
                    &spec.txn,
                    &["CreditMemo", "ReceivePayment"],
                    entity.as_deref(),
                )?;
                if d.account().is_some() && credit.account != d.account() {
                    return Err(invalid(
                        "TxnID",
                        &spec.txn,
                        "The credit is in another A/R account.",
                    ));
                }
                if spec.amount > credit.open {
                    return Err(invalid(
                        "RefundAppliedToTxnAdd RefundAmount",
                        &store::money(spec.amount),
                        "You cannot refund more than the credit remaining.",
                    ));
                }
                links.push(Link {
                    src: id.to_string(),
                    dst: credit.id.clone(),
                    via: id.to_string(),
                    amount: spec.amount,
                    discount: 0,
                });
                sum += spec.amount;
                rets.push(
                    Elem::new("RefundAppliedToTxnRet")
                        .with("TxnID", credit.id)
                        .with("RefundAmount", store::money(spec.amount)),
                );
            }
            d.items.retain(|e| e.name != "RefundAppliedToTxnRet");
            d.items.extend(rets);
            t.total = in_range("TotalAmount", sum)?;
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
pub(super) fn deposit_links(
    ctx: &Ctx<'_>,
    items: &mut [Elem],
    id: &str,
    links: &mut Vec<Link>,
) -> Res<()> {
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

pub(super) fn target_of(ctx: &Ctx<'_>, id: &str, kind: &str, entity: Option<&str>) -> Res<TxnRow> {
    target(ctx, id, &[kind], entity)
}

/// A transaction an application names: it must exist, be of one of the
/// kinds, and belong to the same customer or vendor.
pub(super) fn target(ctx: &Ctx<'_>, id: &str, kinds: &[&str], entity: Option<&str>) -> Res<TxnRow> {
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

/// Open documents of one customer or vendor, of the kinds a payment
/// applies to, oldest first.
pub(super) fn open_docs(
    ctx: &Ctx<'_>,
    kinds: &[&'static str],
    entity: Option<&str>,
    except: &str,
) -> Res<Vec<TxnRow>> {
    let Some(entity) = entity else {
        return Ok(Vec::new());
    };
    let list = kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(",");
    let mut st = ctx.db.prepare_cached(&format!(
        "SELECT id FROM txn WHERE entity=?1 AND type IN ({list}) AND open>0 AND voided=0 \
         AND id<>?2 ORDER BY date, created, id"
    ))?;
    let ids: Vec<String> = st
        .query_map([entity, except], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    Ok(store::get_txns(ctx.db, &ids)?)
}

/// Apply links: the documents they pay lose open balance, the payments
/// and credits they use lose their unused part. Each must stay ≥ 0
/// (3210 "You cannot pay more than the amount due.").
pub(super) fn apply_links(ctx: &Ctx<'_>, links: &[Link], dir: i64) -> Res<()> {
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
pub(super) fn remove_links(ctx: &Ctx<'_>, via: &str) -> Res<()> {
    let links = store::links_via(ctx.db, via)?;
    apply_links(ctx, &links, -1)?;
    store::delete_links_via(ctx.db, via)?;
    Ok(())
}
