//! What QuickBooks works out for the lists that hold rates: a billing
//! rate's and a price level's type (fixed, or per item), the per-item
//! entries given as an adjustment, and a workers' compensation code's
//! current and next rate from its dated rate entries.
//!
//! The request gives the choice (`FixedBillingRate` or
//! `BillingRatePerItem`); the Ret says which it is (`BillingRateType`) and
//! keeps only what was chosen. An adjustment ("10% over the standard
//! rate") is not kept as given: the Ret has no place for it, and QuickBooks
//! shows it as the custom percentage it comes to.

use crate::store;
use crate::Ctx;
use crate::Res;
use qbxml::{Elem, Element};

/// Derive `kind`'s computed fields into `items` (the mapped body).
pub(crate) fn derive(
    ctx: &Ctx<'_>,
    kind: &str,
    agg: Element<'_>,
    items: &mut Vec<Elem>,
) -> Res<()> {
    match kind {
        "BillingRate" => {
            per_item(ctx, agg, items, &BILLING_RATE)?;
            typed(items, &BILLING_RATE);
        }
        "PriceLevel" => {
            per_item(ctx, agg, items, &PRICE_LEVEL)?;
            typed(items, &PRICE_LEVEL);
        }
        "WorkersCompCode" => workers_comp(agg, items, &ctx.tz.date(ctx.now)),
        _ => {}
    }
    Ok(())
}

/// The names one of the two "fixed or per item" lists uses.
struct Shape {
    type_field: &'static str,
    fixed: &'static str,
    fixed_type: &'static str,
    per_item: &'static str,
    per_item_type: &'static str,
    custom: &'static str,
    custom_percent: &'static str,
    relative_to: &'static str,
}

const BILLING_RATE: Shape = Shape {
    type_field: "BillingRateType",
    fixed: "FixedBillingRate",
    fixed_type: "FixedRate",
    per_item: "BillingRatePerItem",
    per_item_type: "PerItem",
    custom: "CustomRate",
    custom_percent: "CustomRatePercent",
    relative_to: "AdjustBillingRateRelativeTo",
};

const PRICE_LEVEL: Shape = Shape {
    type_field: "PriceLevelType",
    fixed: "PriceLevelFixedPercentage",
    fixed_type: "FixedPercentage",
    per_item: "PriceLevelPerItem",
    per_item_type: "PerItem",
    custom: "CustomPrice",
    custom_percent: "CustomPricePercent",
    relative_to: "AdjustRelativeTo",
};

/// The type follows what the record holds; a Mod that switches from one
/// to the other drops the one it left.
fn typed(items: &mut Vec<Elem>, s: &Shape) {
    let per_item_ret = format!("{}Ret", s.per_item);
    let last_fixed = items.iter().rposition(|e| e.name == s.fixed);
    let last_per_item = items.iter().rposition(|e| e.name == per_item_ret);
    let per_item = match (last_fixed, last_per_item) {
        (Some(f), Some(p)) => p > f,
        (None, Some(_)) => true,
        _ => false,
    };
    if per_item {
        items.retain(|e| e.name != s.fixed);
    } else if last_fixed.is_some() {
        items.retain(|e| e.name != per_item_ret);
    }
    items.retain(|e| e.name != s.type_field);
    if last_fixed.is_some() || last_per_item.is_some() {
        let t = if per_item {
            s.per_item_type
        } else {
            s.fixed_type
        };
        items.push(Elem::leaf(s.type_field, t));
    }
}

/// Per-item entries given as an adjustment (`AdjustPercentage` relative
/// to the standard rate or price, the current custom one, or the item's
/// cost) become the custom percentage or price they come to [I]:
/// relative to the standard or current custom figure, the percentage is
/// kept as the custom percentage; relative to cost, the custom price is
/// the item's purchase cost adjusted by it (0.00 for an item without a
/// cost).
fn per_item(ctx: &Ctx<'_>, agg: Element<'_>, items: &mut [Elem], s: &Shape) -> Res<()> {
    let per_item_ret = format!("{}Ret", s.per_item);
    let given: Vec<Element<'_>> = agg.children().filter(|c| c.name() == s.per_item).collect();
    if given.is_empty() {
        return Ok(());
    }
    // Each given entry became one Ret entry (its ItemRef is required), in
    // order, as the latest ones of the body.
    let mapped: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| e.name == per_item_ret)
        .map(|(i, _)| i)
        .collect();
    if mapped.len() < given.len() {
        return Ok(());
    }
    let mapped = &mapped[mapped.len() - given.len()..];
    for (g, &i) in given.iter().zip(mapped) {
        let Some(pct) = g.child_text("AdjustPercentage") else {
            continue;
        };
        let e = &mut items[i];
        e.children
            .retain(|c| c.name != s.custom && c.name != s.custom_percent);
        if g.child_text(s.relative_to) == Some("Cost") {
            let cost = match crate::ledger::ref_id(&e.children, "ItemRef") {
                Some(id) => item_cost(ctx, &id)?,
                None => 0.0,
            };
            let pct: f64 = pct.trim().parse().unwrap_or(0.0);
            let price = (cost * (1.0 + pct / 100.0) * 100.0).round() / 100.0;
            e.push(Elem::leaf(s.custom, format!("{price:.2}")));
        } else {
            e.push(Elem::leaf(s.custom_percent, pct.trim()));
        }
    }
    Ok(())
}

/// An item's purchase cost, wherever its kind keeps it.
fn item_cost(ctx: &Ctx<'_>, id: &str) -> Res<f64> {
    let Some(row) = store::get(ctx.db, "Item", id)? else {
        return Ok(0.0);
    };
    let body = crate::body::decode(&row.body);
    let cost = body
        .iter()
        .flat_map(|e| std::iter::once(e).chain(e.children.iter()))
        .find(|e| e.name == "PurchaseCost")
        .and_then(|e| e.text.trim().parse().ok());
    Ok(cost.unwrap_or(0.0))
}

/// A workers' compensation code keeps every rate it was given with its
/// date (`RateHistory`, newest first [I]); the current rate is the latest
/// in effect today and the next one the earliest still to come. A rate
/// given again for a date already there replaces it [I].
fn workers_comp(agg: Element<'_>, items: &mut Vec<Elem>, today: &str) {
    let mut entries: Vec<(String, String)> = items
        .iter()
        .filter(|e| e.name == "RateHistory")
        .filter_map(|e| {
            Some((
                e.get("EffectiveDate")?.text.to_string(),
                e.get("Rate")?.text.to_string(),
            ))
        })
        .collect();
    for r in agg.children().filter(|c| c.name() == "RateEntry") {
        let (Some(rate), Some(date)) = (r.child_text("Rate"), r.child_text("EffectiveDate")) else {
            continue;
        };
        entries.retain(|(d, _)| d != date);
        entries.push((date.to_string(), rate.to_string()));
    }
    entries.sort();
    items.retain(|e| {
        !matches!(
            e.name.as_ref(),
            "CurrentRate"
                | "CurrentEffectiveDate"
                | "NextRate"
                | "NextEffectiveDate"
                | "RateHistory"
        )
    });
    if let Some((d, r)) = entries.iter().rfind(|(d, _)| d.as_str() <= today) {
        items.push(Elem::leaf("CurrentRate", r.clone()));
        items.push(Elem::leaf("CurrentEffectiveDate", d.clone()));
    }
    if let Some((d, r)) = entries.iter().find(|(d, _)| d.as_str() > today) {
        items.push(Elem::leaf("NextRate", r.clone()));
        items.push(Elem::leaf("NextEffectiveDate", d.clone()));
    }
    for (d, r) in entries.iter().rev() {
        items.push(
            Elem::new("RateHistory")
                .with("Rate", r.clone())
                .with("EffectiveDate", d.clone()),
        );
    }
}
