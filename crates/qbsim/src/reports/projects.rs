//! Reports on jobs and time: `JobReportQuery` (profitability, estimates
//! against actuals, by job or by item), `TimeReportQuery` (hours by name,
//! item or job) and, for a company without payroll, the payroll reports
//! (`PayrollSummaryReportQuery`, `PayrollDetailReportQuery`).
//!
//! Job figures per (customer, item) [I where QuickBooks' own definition
//! is not documented]:
//! - actual revenue: the item lines of invoices, sales receipts and
//!   statement charges, less credit memos;
//! - actual cost: purchase lines that name the customer, and the cost of
//!   inventory sold to it (what left the inventory asset);
//! - estimated revenue: the lines of its estimates; estimated cost: their
//!   quantities at each item's purchase cost.
//!
//! Time is TimeTracking's durations, summed in minutes and written as
//! qbXML durations (`PT2H30M`).

use super::detail::{filters, load_chart, Filters, PURCHASES, SALES};
use super::pivot::{Axis, Key, Keys, Pivot};
use super::{answer, period, period_text, Report};
use crate::body::{self, leaf};
use crate::ledger;
use crate::store::{self, TxnRow};
use crate::{status, Answer, Ctx, Res};
use qbxml::Request;
use std::collections::BTreeMap;

/// One job's figures for one item (cents).
#[derive(Default, Clone, Copy)]
struct Figures {
    est_cost: i64,
    act_cost: i64,
    est_rev: i64,
    act_rev: i64,
}

/// Does a filter let this name (or item) through?
fn passes(ids: &Option<std::collections::HashSet<String>>, id: Option<&str>) -> bool {
    match ids {
        Some(ids) => id.is_some_and(|i| ids.contains(i)),
        None => true,
    }
}

/// Figures per (customer, item) over the period.
fn job_figures(
    ctx: &Ctx<'_>,
    from: Option<i64>,
    to: i64,
    f: &Filters,
) -> Res<BTreeMap<(String, Option<String>), Figures>> {
    let mut out: BTreeMap<(String, Option<String>), Figures> = BTreeMap::new();
    let mut add = |customer: Option<String>, item: Option<String>, apply: &dyn Fn(&mut Figures)| {
        let Some(c) = customer else { return };
        if !passes(&f.names, Some(&c)) || !passes(&f.items, item.as_deref()) {
            return;
        }
        apply(out.entry((c, item)).or_default());
    };
    let types = [SALES, &["Charge", "Estimate"], PURCHASES].concat();
    let mut item_kinds = super::detail::Kinds::default();
    for t in super::detail::txns_in(ctx, from, to, &types, false)? {
        let b = body::decode(&t.body);
        let sale = matches!(
            t.kind.as_str(),
            "Invoice" | "SalesReceipt" | "CreditMemo" | "Charge"
        );
        let sign = if matches!(
            t.kind.as_str(),
            "CreditMemo" | "VendorCredit" | "CreditCardCredit"
        ) {
            -1
        } else {
            1
        };
        if t.kind == "Charge" {
            let item = ledger::ref_id(&b, "ItemRef");
            add(t.entity.clone(), item, &|x| x.act_rev += t.amount);
            continue;
        }
        for l in b.iter().filter(|e| e.name.ends_with("LineRet")) {
            let c = &l.children;
            if !item_kinds.counts(ctx, c)? {
                continue;
            }
            let amount = sign * leaf(c, "Amount").map(store::cents).unwrap_or(0);
            let item = ledger::ref_id(c, "ItemRef");
            if t.kind == "Estimate" {
                let cost = match &item {
                    Some(i) => estimated_cost(ctx, i, leaf(c, "Quantity"))?,
                    None => 0,
                };
                add(t.entity.clone(), item, &|x| {
                    x.est_rev += amount;
                    x.est_cost += cost;
                });
            } else if sale {
                add(t.entity.clone(), item, &|x| x.act_rev += amount);
            } else if let Some(customer) = ledger::ref_id(c, "CustomerRef") {
                add(Some(customer), item, &|x| x.act_cost += amount);
            }
        }
    }
    // The cost of inventory sold: what left the asset on each sale.
    let from_s = from.map(crate::clock::date_text).unwrap_or_default();
    let mut st = ctx.db.prepare_cached(
        "SELECT t.entity, p.item, SUM(p.amount) FROM posting p JOIN txn t ON t.id = p.txn \
         WHERE p.item IS NOT NULL AND t.type IN ('Invoice','SalesReceipt','CreditMemo') \
         AND p.date >= ?1 AND p.date <= ?2 GROUP BY t.entity, p.item",
    )?;
    let rows = st.query_map([&from_s, &crate::clock::date_text(to)], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for r in rows {
        let (customer, item, moved) = r?;
        add(customer, item, &|x| x.act_cost -= moved);
    }
    Ok(out)
}

/// An estimate line's cost: its quantity at the item's purchase cost.
fn estimated_cost(ctx: &Ctx<'_>, item: &str, qty: Option<&str>) -> Res<i64> {
    let Some(row) = store::get(ctx.db, "Item", item)? else {
        return Ok(0);
    };
    let b = body::decode(&row.body);
    let cost = b
        .iter()
        .flat_map(|e| std::iter::once(e).chain(e.children.iter()))
        .find(|e| e.name == "PurchaseCost")
        .and_then(|e| e.text.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    let q = qty
        .and_then(|q| q.trim().parse::<f64>().ok())
        .unwrap_or(1.0);
    Ok((cost * q * 100.0).round() as i64)
}

/// `JobReportQuery`.
pub fn job(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e.child_text("JobReportType").unwrap_or("");
    let (from, to) = period(ctx, rq, "ThisYearToDate")?;
    let f = filters(ctx, e)?;
    let figures = job_figures(ctx, from, to, &f)?;
    let (title, estimates, by_item, detail) = match ty {
        "JobProfitabilitySummary" => ("Job Profitability Summary", false, false, false),
        "JobProfitabilityDetail" => ("Job Profitability Detail", false, true, true),
        "JobEstimatesVsActualsSummary" => ("Job Estimates vs. Actuals Summary", true, false, false),
        "JobEstimatesVsActualsDetail" => ("Job Estimates vs. Actuals Detail", true, true, true),
        "ItemProfitability" => ("Item Profitability", false, true, false),
        "ItemEstimatesVsActuals" => ("Item Estimates vs. Actuals", true, true, false),
        _ => return Err(status(3250, &[])),
    };
    let cols: &[(&str, &'static str, &'static str)] = if estimates {
        &[
            ("", "STRTYPE", "Label"),
            ("Est. Cost", "AMTTYPE", "Amount"),
            ("Act. Cost", "AMTTYPE", "Amount"),
            ("($) Diff.", "AMTTYPE", "AmountDifference"),
            ("Est. Revenue", "AMTTYPE", "Amount"),
            ("Act. Revenue", "AMTTYPE", "Amount"),
            ("($) Diff.", "AMTTYPE", "AmountDifference"),
        ]
    } else {
        &[
            ("", "STRTYPE", "Label"),
            ("Act. Cost", "AMTTYPE", "Amount"),
            ("Act. Revenue", "AMTTYPE", "Amount"),
            ("($) Diff.", "AMTTYPE", "AmountDifference"),
        ]
    };
    let values = |x: &Figures| -> Vec<Option<String>> {
        let v: Vec<i64> = if estimates {
            vec![
                x.est_cost,
                x.act_cost,
                x.act_cost - x.est_cost,
                x.est_rev,
                x.act_rev,
                x.act_rev - x.est_rev,
            ]
        } else {
            vec![x.act_cost, x.act_rev, x.act_rev - x.act_cost]
        };
        v.into_iter().map(|c| Some(store::money(c))).collect()
    };
    let sum = |a: &mut Figures, b: &Figures| {
        a.est_cost += b.est_cost;
        a.act_cost += b.act_cost;
        a.est_rev += b.est_rev;
        a.act_rev += b.act_rev;
    };
    let chart = load_chart(ctx)?;
    let mut keys = Keys::new(&chart, from.unwrap_or(to));
    let mut r = Report::new(title, period_text(from, to), cols);
    let mut total = Figures::default();
    // Item reports: one row per item. Job summaries: one per job. Job
    // details: each job's items, then the job's total.
    let mut groups: BTreeMap<Key, BTreeMap<Key, Figures>> = BTreeMap::new();
    for ((customer, item), x) in &figures {
        let job = keys
            .name(ctx, Some(customer), None)?
            .unwrap_or_else(|| Key::new("~", "No name"));
        let it = keys.item(ctx, item.as_deref())?;
        let (g, k) = match (by_item, detail) {
            (true, false) => (Key::new("", ""), it),
            (false, _) => (Key::new("", ""), job),
            (true, true) => (job, it),
        };
        sum(groups.entry(g).or_default().entry(k).or_default(), x);
    }
    let row_type = if by_item { "item" } else { "customer" };
    for (g, rows) in &groups {
        if detail {
            r.text(&g.label);
        }
        let mut sub = Figures::default();
        for (k, x) in rows {
            sum(&mut sub, x);
            r.row_with(
                "DataRow",
                Some((row_type, k.label.as_str())),
                &k.label,
                &values(x),
            );
        }
        if detail {
            r.row_with(
                "SubtotalRow",
                Some(("customer", g.label.as_str())),
                &format!("Total {}", g.label),
                &values(&sub),
            );
        }
        sum(&mut total, &sub);
    }
    r.row("TotalRow", None, "TOTAL", &values(&total));
    answer(ctx, r.finish())
}

/// Minutes as a qbXML duration.
fn duration(minutes: i64) -> String {
    format!("PT{}H{}M", minutes / 60, minutes % 60)
}

/// `TimeReportQuery`: TimeTracking hours by name, item or job (columns as
/// `SummarizeColumnsBy` asks), or each record under its job.
pub fn time(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e.child_text("TimeReportType").unwrap_or("");
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    let f = filters(ctx, e)?;
    let chart = load_chart(ctx)?;
    let mut keys = Keys::new(&chart, from.unwrap_or(to));
    let records: Vec<TxnRow> = super::detail::txns_in(ctx, from, to, &["TimeTracking"], false)?;
    let (title, row_axis) = match ty {
        "TimeByName" => ("Time by Name", Axis::Name(None)),
        "TimeByItem" => ("Time by Item", Axis::Item),
        "TimeByJobSummary" => ("Time by Job Summary", Axis::Name(Some("Customer"))),
        "TimeByJobDetail" => ("Time by Job Detail", Axis::Name(Some("Customer"))),
        _ => return Err(status(3250, &[])),
    };
    let col_axis = Axis::of(e.child_text("SummarizeColumnsBy").unwrap_or("TotalOnly"));
    // Each record as an entry: its name, customer, item, date, minutes.
    struct Rec {
        name: Option<String>,
        customer: Option<String>,
        item: Option<String>,
        date: String,
        minutes: i64,
        billable: Option<String>,
    }
    let mut recs = Vec::new();
    for t in &records {
        let b = body::decode(&t.body);
        let rec = Rec {
            name: t.entity.clone(),
            customer: ledger::ref_id(&b, "CustomerRef"),
            item: ledger::ref_id(&b, "ItemServiceRef"),
            date: t.date.clone(),
            minutes: leaf(&b, "Duration")
                .and_then(crate::txns::duration_minutes)
                .unwrap_or(0),
            billable: leaf(&b, "BillableStatus").map(str::to_string),
        };
        if !passes(&f.items, rec.item.as_deref()) {
            continue;
        }
        if f.names.is_some()
            && !passes(&f.names, rec.name.as_deref())
            && !passes(&f.names, rec.customer.as_deref())
        {
            continue;
        }
        recs.push(rec);
    }
    let key_of = |keys: &mut Keys<'_>, axis: Axis, r: &Rec| -> Res<Option<Key>> {
        Ok(match axis {
            Axis::Total => Some(Key::new("", "TOTAL")),
            Axis::Name(Some("Customer")) => Some(
                keys.name(ctx, r.customer.as_deref(), None)?
                    .unwrap_or_else(|| Key::new("~", "No name")),
            ),
            Axis::Name(kind) => keys.name(ctx, r.name.as_deref(), kind)?,
            Axis::Item => Some(keys.item(ctx, r.item.as_deref())?),
            Axis::Period(_) => {
                let e = super::detail::Entry {
                    date: r.date.clone(),
                    ..Default::default()
                };
                keys.of(ctx, axis, &e)?
            }
            Axis::Account | Axis::Rep => Some(Key::new("", "TOTAL")),
        })
    };
    if ty == "TimeByJobDetail" {
        let mut r = Report::new(
            title,
            period_text(from, to),
            &[
                ("", "STRTYPE", "Label"),
                ("Date", "DATETYPE", "Date"),
                ("Name", "STRTYPE", "Name"),
                ("Item", "STRTYPE", "Item"),
                ("Billing Status", "STRTYPE", "BillingStatus"),
                ("Duration", "TIMEINTERVALTYPE", "Duration"),
            ],
        );
        let mut by_job: BTreeMap<Key, Vec<&Rec>> = BTreeMap::new();
        for rec in &recs {
            if let Some(k) = key_of(&mut keys, row_axis, rec)? {
                by_job.entry(k).or_default().push(rec);
            }
        }
        let mut total = 0;
        for (job, list) in &by_job {
            r.text(&job.label);
            let mut sub = 0;
            for rec in list {
                sub += rec.minutes;
                let name = match &rec.name {
                    Some(n) => keys.names.get(ctx, "Name", n)?,
                    None => None,
                };
                let item = match &rec.item {
                    Some(i) => keys.names.get(ctx, "Item", i)?,
                    None => None,
                };
                r.row(
                    "DataRow",
                    None,
                    "",
                    &[
                        Some(rec.date.clone()),
                        name,
                        item,
                        rec.billable.clone(),
                        Some(duration(rec.minutes)),
                    ],
                );
                if let Some(last) = r.rows.last_mut() {
                    last.children.retain(|c| {
                        !(c.name == "ColData"
                            && c.attrs.iter().any(|(k, v)| k == "colID" && v == "1"))
                    });
                }
            }
            total += sub;
            r.row_with(
                "SubtotalRow",
                Some(("customer", job.label.as_str())),
                &format!("Total {}", job.label),
                &[None, None, None, None, Some(duration(sub))],
            );
        }
        r.row(
            "TotalRow",
            None,
            "TOTAL",
            &[None, None, None, None, Some(duration(total))],
        );
        return answer(ctx, r.finish());
    }
    let mut p = Pivot::default();
    for rec in &recs {
        let (Some(row), Some(col)) = (
            key_of(&mut keys, row_axis, rec)?,
            key_of(&mut keys, col_axis, rec)?,
        ) else {
            continue;
        };
        p.add(row, col, rec.minutes);
    }
    let report = p.write(
        title,
        period_text(from, to),
        "TIMEINTERVALTYPE",
        match row_axis {
            Axis::Item => Some("item"),
            Axis::Name(Some("Customer")) => Some("customer"),
            _ => Some("name"),
        },
        &duration,
        &|_, v| v,
    );
    answer(ctx, report)
}

/// `PayrollSummaryReportQuery` and `PayrollDetailReportQuery`: the
/// simulated company runs no payroll (there are no paychecks to report),
/// so each report answers with its title and a zero total, as QuickBooks'
/// reports do for a period without payroll [I].
pub fn payroll(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e
        .child_text("PayrollSummaryReportType")
        .or_else(|| e.child_text("PayrollDetailReportType"))
        .unwrap_or("");
    let title = match ty {
        "PayrollSummary" => "Payroll Summary",
        "EmployeeEarningsSummary" => "Employee Earnings Summary",
        "PayrollLiabilityBalances" => "Payroll Liability Balances",
        "EmployeeStateTaxesDetail" => "Employee State Taxes Detail",
        "PayrollItemDetail" => "Payroll Item Detail",
        "PayrollReviewDetail" => "Payroll Review Detail",
        "PayrollTransactionDetail" => "Payroll Transaction Detail",
        "PayrollTransactionsByPayee" => "Payroll Transactions by Payee",
        _ => return Err(status(3250, &[])),
    };
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    let mut r = Report::new(
        title,
        period_text(from, to),
        &[("", "STRTYPE", "Label"), ("TOTAL", "AMTTYPE", "Total")],
    );
    r.row("TotalRow", None, "TOTAL", &[Some(store::money(0))]);
    answer(ctx, r.finish())
}
