//! What a customer may be billed for besides an invoice's lines: a
//! statement charge's amount, and time and mileage as billable or not.
//!
//! A statement charge is one item at a quantity and rate, like one line
//! of an invoice written on the header. Time and mileage post nothing:
//! QuickBooks carries them until they are put on an invoice, so here they
//! are records that keep whether they are billable.

use super::arith::*;
use super::map::*;
use super::Draft;
use crate::body::leaf;
use crate::ledger;
use crate::store;
use crate::Ctx;
use crate::{invalid, Res};
use qbxml::Elem;

/// A statement charge's amount: the Amount given, else Quantity (1 when
/// left out) × Rate, the Rate defaulting to the item's sales price; the
/// description defaults to the item's. Inventory parts cannot be charged
/// this way: a statement charge moves no stock [I].
pub(super) fn charge(ctx: &Ctx<'_>, d: &mut Draft<'_>) -> Res<i64> {
    let it = item(ctx, &d.items)?;
    if let Some(it) = it.as_ref().filter(|i| i.is_inventory()) {
        return Err(invalid(
            "ItemRef",
            &it.row().full_name,
            "Inventory items cannot be used on statement charges.",
        ));
    }
    if leaf(&d.items, "Desc").is_none() {
        if let Some(desc) = it.as_ref().and_then(|i| i.sales_desc()) {
            set_leaf(&mut d.items, "Desc", desc);
        }
    }
    let qty = num(leaf(&d.items, "Quantity"));
    if qty.is_some_and(|q| q.abs() > MAX_QTY) {
        return Err(invalid(
            "Quantity",
            leaf(&d.items, "Quantity").unwrap_or(""),
            "The quantity is too large.",
        ));
    }
    let given_rate = num(leaf(&d.items, "Rate"));
    let rate = given_rate.or_else(|| it.as_ref().and_then(|i| i.sales_price()));
    let given_amount = leaf(&d.items, "Amount").map(store::cents);
    let amount = match (given_amount, rate) {
        (Some(a), _) => a,
        (None, Some(r)) => round_cents(qty.unwrap_or(1.0) * r),
        (None, None) => 0,
    };
    let amount = in_range("Amount", amount)?;
    // The rate shown is one the amount came from, or the one given.
    if let Some(r) = given_rate.or(rate.filter(|_| given_amount.is_none())) {
        set_leaf(&mut d.items, "Rate", price_text(r));
    }
    set_leaf(&mut d.items, "Amount", store::money(amount));
    Ok(amount)
}

/// The income account a statement charge credits.
pub(super) fn charge_income(ctx: &Ctx<'_>, d: &Draft<'_>) -> Res<String> {
    if let Some(a) = ledger::ref_id(&d.items, "OverrideItemAccountRef") {
        return Ok(a);
    }
    match item(ctx, &d.items)?.as_ref().and_then(Item::income_account) {
        Some(a) => Ok(a),
        None => ledger::special(ctx, crate::txnkinds::Special::UncategorizedIncome),
    }
}

/// Time and mileage: billable when they name a customer, unless the
/// request says otherwise [I]; mileage's total miles from the odometer,
/// and its billable amount at the mileage item's rate.
pub(super) fn time_and_mileage(ctx: &Ctx<'_>, d: &mut Draft<'_>) -> Res<()> {
    if d.ret.child("BillableStatus").is_some() && leaf(&d.items, "BillableStatus").is_none() {
        let status = if ledger::ref_id(&d.items, "CustomerRef").is_some() {
            "Billable"
        } else {
            "NotBillable"
        };
        set_leaf(&mut d.items, "BillableStatus", status.into());
    }
    // A time entry is at most a day and a half of hours [I] (reports add
    // durations up; an unbounded one would not fit).
    if d.kind.name == "TimeTracking" {
        let given = leaf(&d.items, "Duration").unwrap_or("");
        let minutes = duration_minutes(given);
        if !minutes.is_some_and(|m| (0..=24 * 60 * 366).contains(&m)) {
            return Err(invalid(
                "Duration",
                given,
                "The duration must be given as PT<hours>H<minutes>M, at most 8,784 hours.",
            ));
        }
    }
    if d.kind.name != "VehicleMileage" {
        return Ok(());
    }
    let miles = match num(leaf(&d.items, "TotalMiles")) {
        Some(m) => m,
        None => {
            let start = num(leaf(&d.items, "OdometerStart")).unwrap_or(0.0);
            let end = num(leaf(&d.items, "OdometerEnd")).unwrap_or(0.0);
            end - start
        }
    };
    if !(0.0..=MAX_QTY).contains(&miles) {
        return Err(invalid(
            "TotalMiles",
            &ledger::qty_text(ledger::qty_units(miles.clamp(-MAX_QTY, MAX_QTY))),
            "The odometer's end must not be less than its start.",
        ));
    }
    set_leaf(
        &mut d.items,
        "TotalMiles",
        ledger::qty_text(ledger::qty_units(miles)),
    );
    // The trip's end date is the record's date for queries [I].
    if let Some(date) = leaf(&d.items, "TripEndDate").and_then(crate::clock::parse_date) {
        d.date = date;
    }
    d.items
        .retain(|e| !matches!(e.name.as_ref(), "BillableRate" | "BillableAmount"));
    if let Some(rate) = item(ctx, &d.items)?.and_then(|i| i.sales_price()) {
        let amount = in_range("BillableAmount", round_cents(miles * rate))?;
        d.items.push(Elem::leaf("BillableRate", price_text(rate)));
        d.items
            .push(Elem::leaf("BillableAmount", store::money(amount)));
    }
    Ok(())
}

/// A qbXML duration (`PT2H30M`, `PT1H`, `PT45M10S`) in whole minutes;
/// `None` for anything else (a sign, days, too many digits).
pub(crate) fn duration_minutes(d: &str) -> Option<i64> {
    let rest = d.trim().strip_prefix("PT")?;
    let mut total = 0.0f64;
    let mut num = String::new();
    for ch in rest.chars() {
        match ch {
            '0'..='9' | '.' if num.len() < 12 => num.push(ch),
            'H' | 'M' | 'S' if !num.is_empty() => {
                let v: f64 = num.parse().ok()?;
                total += match ch {
                    'H' => v * 60.0,
                    'M' => v,
                    _ => v / 60.0,
                };
                num.clear();
            }
            _ => return None,
        }
    }
    num.is_empty().then(|| total.round() as i64)
}
