//! The `GeneralSummaryReportQuery` types beyond the trial balance, the
//! P&L and the balance sheet (those are in `mod.rs`).
//!
//! Most are a pivot of the ledger ([`SPECS`]): postings or item lines,
//! kept by account class or transaction type, totalled by what the rows
//! stand for (customers, vendors, items, sales reps, accounts) and what
//! the columns stand for (`SummarizeColumnsBy`, the total by default; the
//! P&L by job: customers). The inventory reports read the items' stock;
//! the sales tax reports, the sales forms. What the simulator does not
//! track answers with what it has [I]: classes (by-class reports show one
//! unclassified column), sites (valuation by site: the whole company),
//! lots and serial numbers (no rows).

use super::detail::{
    entries, filters, load_chart, spec, Accounts, Group, Sign, Source, PURCHASES, SALES,
};
use super::pivot::{Axis, Key, Keys, Pivot};
use super::{answer, is_pl, long_date, period, period_text, Report};
use crate::body::{self, leaf};
use crate::ledger::{debit_normal, qty_text};
use crate::store;
use crate::{Answer, Ctx, Res};
use qbxml::Request;
use std::collections::HashMap;

/// A pivot report: its rows' source and sign, and its row axis.
struct Spec {
    ty: &'static str,
    title: &'static str,
    source: Source,
    accounts: Accounts,
    types: &'static [&'static str],
    sign: Sign,
    rows: Axis,
    /// Balances through the end date rather than activity in the period.
    balances: bool,
}

const fn pivot(ty: &'static str, title: &'static str, source: Source, rows: Axis) -> Spec {
    Spec {
        ty,
        title,
        source,
        accounts: Accounts::All,
        types: &[],
        sign: Sign::Debit,
        rows,
        balances: false,
    }
}

static SPECS: &[Spec] = &[
    Spec {
        accounts: Accounts::Receivable,
        balances: true,
        ..pivot(
            "CustomerBalanceSummary",
            "Customer Balance Summary",
            Source::Postings,
            Axis::Name(Some("Customer")),
        )
    },
    Spec {
        accounts: Accounts::Payable,
        sign: Sign::Credit,
        balances: true,
        ..pivot(
            "VendorBalanceSummary",
            "Vendor Balance Summary",
            Source::Postings,
            Axis::Name(Some("Vendor")),
        )
    },
    Spec {
        accounts: Accounts::ProfitAndLoss,
        sign: Sign::Credit,
        ..pivot(
            "IncomeByCustomerSummary",
            "Income by Customer Summary",
            Source::Postings,
            Axis::Name(Some("Customer")),
        )
    },
    Spec {
        accounts: Accounts::Expense,
        ..pivot(
            "ExpenseByVendorSummary",
            "Expenses by Vendor Summary",
            Source::Postings,
            Axis::Name(Some("Vendor")),
        )
    },
    Spec {
        types: SALES,
        ..pivot(
            "SalesByCustomerSummary",
            "Sales by Customer Summary",
            Source::Lines,
            Axis::Name(Some("Customer")),
        )
    },
    Spec {
        types: SALES,
        ..pivot(
            "SalesByItemSummary",
            "Sales by Item Summary",
            Source::Lines,
            Axis::Item,
        )
    },
    Spec {
        types: SALES,
        ..pivot(
            "SalesByRepSummary",
            "Sales by Rep Summary",
            Source::Lines,
            Axis::Rep,
        )
    },
    Spec {
        types: PURCHASES,
        ..pivot(
            "PurchaseByItemSummary",
            "Purchases by Item Summary",
            Source::Lines,
            Axis::Item,
        )
    },
    Spec {
        types: PURCHASES,
        ..pivot(
            "PurchaseByVendorSummary",
            "Purchases by Vendor Summary",
            Source::Lines,
            Axis::Name(Some("Vendor")),
        )
    },
    Spec {
        accounts: Accounts::ProfitAndLoss,
        sign: Sign::Natural,
        ..pivot(
            "ProfitAndLossByJob",
            "Profit & Loss by Job",
            Source::Postings,
            Axis::Account,
        )
    },
    Spec {
        accounts: Accounts::ProfitAndLoss,
        sign: Sign::Natural,
        ..pivot(
            "ProfitAndLossByClass",
            "Profit & Loss by Class",
            Source::Postings,
            Axis::Account,
        )
    },
    Spec {
        accounts: Accounts::TaxLine,
        sign: Sign::Natural,
        ..pivot(
            "IncomeTaxSummary",
            "Income Tax Summary",
            Source::Postings,
            Axis::Account,
        )
    },
];

/// `GeneralSummaryReportQuery` for the types of this file (None: not one
/// of them).
pub fn general(ctx: &Ctx<'_>, rq: &Request<'_>, ty: &str) -> Option<Res<Answer>> {
    if let Some(s) = SPECS.iter().find(|s| s.ty == ty) {
        return Some(run(ctx, rq, s));
    }
    Some(match ty {
        "ProfitAndLossPrevYearComp" | "ProfitAndLossYTDComp" => comparison(ctx, rq, ty),
        "BalanceSheetPrevYearComp" => balance_sheet_comparison(ctx, rq),
        // Classes are not kept on postings, and the summary's groups are
        // the standard report's: both are the balance sheet [I].
        "BalanceSheetSummary" | "BalanceSheetByClass" => super::balance_sheet(ctx, rq),
        "InventoryValuationSummary" | "InventoryValuationSummaryBySite" => valuation(ctx, rq, ty),
        "InventoryStockStatusByItem"
        | "InventoryStockStatusByVendor"
        | "PhysicalInventoryWorksheet" => stock_status(ctx, rq, ty),
        "SalesTaxLiability" | "SalesTaxRevenueSummary" => sales_tax(ctx, rq, ty),
        "LotNumberInStockBySite" | "SerialNumberInStockBySite" => empty(ctx, rq, ty),
        _ => return None,
    })
}

fn run(ctx: &Ctx<'_>, rq: &Request<'_>, s: &Spec) -> Res<Answer> {
    let e = rq.element();
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    let chart = load_chart(ctx)?;
    let source = super::detail::Spec {
        accounts: s.accounts,
        types: s.types,
        ..spec("summary", "", s.source, Group::None, &[])
    };
    let rows = entries(
        ctx,
        &source,
        if s.balances { None } else { from },
        to,
        &chart,
    )?;
    let mut f = filters(ctx, e)?;
    let cols = if s.ty == "ProfitAndLossByJob" {
        Axis::Name(Some("Customer"))
    } else if s.ty.ends_with("ByClass") {
        Axis::Total
    } else {
        Axis::of(e.child_text("SummarizeColumnsBy").unwrap_or("TotalOnly"))
    };
    let mut keys = Keys::new(&chart, from.unwrap_or(to));
    let mut p = Pivot::default();
    let mut signs: HashMap<Key, i64> = HashMap::new();
    for r in &rows {
        if s.source == Source::Postings {
            let a = r.account.as_deref().unwrap_or("");
            if !chart.keeps(s.accounts, a) {
                continue;
            }
        }
        if !s.types.is_empty() && !s.types.contains(&r.kind.as_str()) {
            continue;
        }
        if !f.keeps(ctx, &chart, r)? {
            continue;
        }
        let (Some(row), Some(col)) = (keys.of(ctx, s.rows, r)?, keys.of(ctx, cols, r)?) else {
            continue;
        };
        let ty = r.account.as_deref().map(|a| chart.ty(a)).unwrap_or("");
        let (v, back) = match s.sign {
            Sign::Debit => (r.amount, 1),
            Sign::Credit => (-r.amount, 1),
            // Each account in its own sign; totals net debits and credits
            // (net income, credit-positive, over P&L accounts).
            Sign::Natural => {
                let natural = if debit_normal(ty) { 1 } else { -1 };
                let total = if s.accounts == Accounts::ProfitAndLoss {
                    -1
                } else {
                    1
                };
                (natural * r.amount, natural * total)
            }
        };
        signs.insert(row.clone(), back);
        p.add(row, col, v);
    }
    let subtitle = if s.balances {
        format!("As of {}", long_date(to))
    } else {
        period_text(from, to)
    };
    let sign = |row: &Key, v: i64| v * signs.get(row).copied().unwrap_or(1);
    let report = p.write(
        s.title,
        subtitle,
        "AMTTYPE",
        row_type(s.rows),
        &|v| store::money(v),
        &sign,
    );
    answer(ctx, report)
}

fn row_type(axis: Axis) -> Option<&'static str> {
    match axis {
        Axis::Account => Some("account"),
        Axis::Item => Some("item"),
        Axis::Rep => Some("salesRep"),
        Axis::Name(Some("Customer")) => Some("customer"),
        Axis::Name(Some("Vendor")) => Some("vendor"),
        Axis::Name(_) => Some("name"),
        _ => None,
    }
}

/// One account's figure for a period: activity for P&L accounts, the
/// balance at the end for the others; in the account's own sign.
fn figures(ctx: &Ctx<'_>, from: Option<i64>, to: i64) -> Res<HashMap<String, i64>> {
    let sums = super::sums(ctx, from, to)?;
    let mut out = HashMap::new();
    for a in super::chart(ctx)? {
        let (through, within) = sums.get(&a.id).copied().unwrap_or((0, 0));
        let v = if is_pl(&a.ty) && from.is_some() {
            within
        } else {
            through
        };
        out.insert(a.id, if debit_normal(&a.ty) { v } else { -v });
    }
    Ok(out)
}

/// The balance sheet at the end of the period against a year before:
/// every balance-sheet account, earlier years' and this year's net
/// income, and the two totals that must agree.
fn balance_sheet_comparison(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let (_, to) = period(ctx, rq, "ThisMonthToDate")?;
    let (y, m, d) = crate::clock::civil_from_days(to);
    let then = crate::clock::days_from_civil(y - 1, m, if m == 2 && d == 29 { 28 } else { d });
    let now = super::closing_balances(ctx, to)?;
    let before = super::closing_balances(ctx, then)?;
    let prior: HashMap<&str, i64> = before
        .accounts
        .iter()
        .map(|(a, v)| (a.id.as_str(), *v))
        .collect();
    let mut r = Report::new(
        "Balance Sheet Prev Year Comparison",
        format!("As of {}", long_date(to)),
        &[
            ("", "STRTYPE", "Label"),
            (&long_date(to), "AMTTYPE", "Amount"),
            (&long_date(then), "AMTTYPE", "Amount"),
            ("$ Change", "AMTTYPE", "AmountDifference"),
            ("% Change", "PERCENTTYPE", "PercentChange"),
        ],
    );
    let row = |r: &mut Report, kind: &'static str, label: &str, x: i64, y: i64| {
        r.row(
            kind,
            None,
            label,
            &[
                Some(store::money(x)),
                Some(store::money(y)),
                Some(store::money(x - y)),
                percent_change(x, y),
            ],
        );
    };
    let assets = [
        "Bank",
        "AccountsReceivable",
        "OtherCurrentAsset",
        "FixedAsset",
        "OtherAsset",
    ];
    let (mut a_now, mut a_then, mut l_now, mut l_then) = (0, 0, 0, 0);
    for (a, x) in &now.accounts {
        if is_pl(&a.ty) || a.ty == "NonPosting" {
            continue;
        }
        let y = prior.get(a.id.as_str()).copied().unwrap_or(0);
        if *x == 0 && y == 0 {
            continue;
        }
        if assets.contains(&a.ty.as_str()) {
            a_now += x;
            a_then += y;
        } else {
            l_now += x;
            l_then += y;
        }
        r.row_with(
            "DataRow",
            Some(("account", a.full_name.as_str())),
            &a.full_name,
            &[
                Some(store::money(*x)),
                Some(store::money(y)),
                Some(store::money(x - y)),
                percent_change(*x, y),
            ],
        );
    }
    row(
        &mut r,
        "DataRow",
        "Retained Earnings",
        now.retained,
        before.retained,
    );
    row(
        &mut r,
        "DataRow",
        "Net Income",
        now.net_income,
        before.net_income,
    );
    l_now += now.retained + now.net_income;
    l_then += before.retained + before.net_income;
    row(&mut r, "TotalRow", "TOTAL ASSETS", a_now, a_then);
    row(
        &mut r,
        "TotalRow",
        "TOTAL LIABILITIES & EQUITY",
        l_now,
        l_then,
    );
    answer(ctx, r.finish())
}

/// The P&L comparisons: the period against the year before (or against
/// the year to date), with the change in amount and percent.
fn comparison(ctx: &Ctx<'_>, rq: &Request<'_>, ty: &str) -> Res<Answer> {
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    // The same day a year earlier (February 29: the 28th).
    let year = |d: i64| {
        let (y, m, day) = crate::clock::civil_from_days(d);
        let day = if m == 2 && day == 29 { 28 } else { day };
        crate::clock::days_from_civil(y - 1, m, day)
    };
    let (other_from, other_to, titles) = match ty {
        "ProfitAndLossYTDComp" => {
            let (y, _, _) = crate::clock::civil_from_days(to);
            (
                Some(crate::clock::days_from_civil(y, 1, 1)),
                to,
                ["Period", "YTD"],
            )
        }
        _ => (from.map(year), year(to), ["This Period", "Prev Year"]),
    };
    let now = figures(ctx, from, to)?;
    let then = figures(ctx, other_from, other_to)?;
    let title = match ty {
        "ProfitAndLossPrevYearComp" => "Profit & Loss Prev Year Comparison",
        _ => "Profit & Loss YTD Comparison",
    };
    let mut r = Report::new(
        title,
        period_text(from, to),
        &[
            ("", "STRTYPE", "Label"),
            (titles[0], "AMTTYPE", "Amount"),
            (titles[1], "AMTTYPE", "Amount"),
            ("$ Change", "AMTTYPE", "AmountDifference"),
            ("% Change", "PERCENTTYPE", "PercentChange"),
        ],
    );
    let mut totals = [0i64; 3];
    for a in super::chart(ctx)? {
        if !is_pl(&a.ty) {
            continue;
        }
        let (x, y) = (
            now.get(&a.id).copied().unwrap_or(0),
            then.get(&a.id).copied().unwrap_or(0),
        );
        if x == 0 && y == 0 {
            continue;
        }
        // What the account adds to the total: net income for the P&L.
        let sign = if matches!(a.ty.as_str(), "Income" | "OtherIncome") {
            1
        } else {
            -1
        };
        totals[0] += sign * x;
        totals[1] += sign * y;
        r.row_with(
            "DataRow",
            Some(("account", a.full_name.as_str())),
            &a.full_name,
            &[
                Some(store::money(x)),
                Some(store::money(y)),
                Some(store::money(x - y)),
                percent_change(x, y),
            ],
        );
    }
    totals[2] = totals[0] - totals[1];
    r.row(
        "TotalRow",
        None,
        "Net Income",
        &[
            Some(store::money(totals[0])),
            Some(store::money(totals[1])),
            Some(store::money(totals[2])),
            percent_change(totals[0], totals[1]),
        ],
    );
    answer(ctx, r.finish())
}

fn percent_change(now: i64, then: i64) -> Option<String> {
    (then != 0).then(|| format!("{:.1}", (now - then) as f64 * 100.0 / then.abs() as f64))
}

/// Stocked items (inventory parts and assemblies) in list order.
fn stocked(ctx: &Ctx<'_>) -> Res<Vec<store::Row>> {
    let mut rows = Vec::new();
    for k in ["ItemInventory", "ItemInventoryAssembly"] {
        let ids = store::ids_in_order(ctx.db, k, &store::ColumnFilter::default())?;
        rows.extend(store::get_many(ctx.db, "Item", &ids)?);
    }
    rows.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
    Ok(rows)
}

/// `InventoryValuationSummary`: each item's quantity on hand, average
/// cost and value, and its share of the total value. Quantities are
/// today's (the simulator keeps no stock history by date) [I]; by site,
/// the whole company.
fn valuation(ctx: &Ctx<'_>, rq: &Request<'_>, ty: &str) -> Res<Answer> {
    let (_, to) = period(ctx, rq, "Today")?;
    let items = stocked(ctx)?;
    let total: i64 = items.iter().map(|r| r.value).sum();
    let mut r = Report::new(
        if ty.ends_with("BySite") {
            "Inventory Valuation Summary by Site"
        } else {
            "Inventory Valuation Summary"
        },
        format!("As of {}", long_date(to)),
        &[
            ("", "STRTYPE", "Label"),
            ("On Hand", "QUANTYPE", "QuantityOnHand"),
            ("Avg Cost", "PRICETYPE", "AverageCost"),
            ("Asset Value", "AMTTYPE", "ValueOnHand"),
            ("% of Tot Asset", "PERCENTTYPE", "PercentOfTotalValue"),
        ],
    );
    let mut qty = 0;
    for i in &items {
        qty += i.qty;
        let avg = (i.qty > 0).then(|| {
            format!(
                "{:.2}",
                i.value as f64 / 100.0 / (i.qty as f64 / crate::ledger::QTY_SCALE)
            )
        });
        let share = (total != 0).then(|| format!("{:.1}", i.value as f64 * 100.0 / total as f64));
        r.row_with(
            "DataRow",
            Some(("item", i.full_name.as_str())),
            &i.full_name,
            &[
                Some(qty_text(i.qty)),
                avg,
                Some(store::money(i.value)),
                share,
            ],
        );
    }
    r.row(
        "TotalRow",
        None,
        "TOTAL",
        &[
            Some(qty_text(qty)),
            None,
            Some(store::money(total)),
            Some("100.0".into()),
        ],
    );
    answer(ctx, r.finish())
}

/// The stock status reports and the physical inventory worksheet: each
/// item's reorder point, quantity on hand and on purchase orders (every
/// order's lines: receiving is not linked to orders here [I]); by vendor,
/// grouped under each item's preferred vendor.
fn stock_status(ctx: &Ctx<'_>, rq: &Request<'_>, ty: &str) -> Res<Answer> {
    let (from, to) = period(ctx, rq, "Today")?;
    let mut on_po: HashMap<String, i64> = HashMap::new();
    let mut st = ctx
        .db
        .prepare_cached("SELECT id FROM txn WHERE voided=0 AND type='PurchaseOrder'")?;
    let ids: Vec<String> = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    for t in store::get_txns(ctx.db, &ids)? {
        for l in body::decode(&t.body)
            .iter()
            .filter(|e| e.name.ends_with("LineRet"))
        {
            if let Some(item) = crate::ledger::ref_id(&l.children, "ItemRef") {
                let q = leaf(&l.children, "Quantity")
                    .and_then(|q| q.trim().parse::<f64>().ok())
                    .unwrap_or(0.0);
                *on_po.entry(item).or_default() += crate::ledger::qty_units(q);
            }
        }
    }
    let worksheet = ty == "PhysicalInventoryWorksheet";
    let cols: &[(&str, &'static str, &'static str)] = if worksheet {
        &[
            ("", "STRTYPE", "Label"),
            ("Item Description", "STRTYPE", "ItemDesc"),
            ("On Hand", "QUANTYPE", "QuantityOnHand"),
            ("Physical Count", "QUANTYPE", "PhysicalCount"),
        ]
    } else {
        &[
            ("", "STRTYPE", "Label"),
            ("Item Description", "STRTYPE", "ItemDesc"),
            ("Reorder Pt", "QUANTYPE", "ReorderPoint"),
            ("On Hand", "QUANTYPE", "QuantityOnHand"),
            ("On PO", "QUANTYPE", "QuantityOnOrder"),
        ]
    };
    let title = match ty {
        "InventoryStockStatusByItem" => "Inventory Stock Status by Item",
        "InventoryStockStatusByVendor" => "Inventory Stock Status by Vendor",
        _ => "Physical Inventory Worksheet",
    };
    let subtitle = if worksheet {
        String::from("All Transactions")
    } else {
        period_text(from, to)
    };
    let mut r = Report::new(title, subtitle, cols);
    // Group by preferred vendor (by vendor) or not at all.
    let mut groups: Vec<(String, Vec<store::Row>)> = Vec::new();
    for i in stocked(ctx)? {
        let vendor = if ty == "InventoryStockStatusByVendor" {
            match crate::ledger::ref_id(&body::decode(&i.body), "PrefVendorRef") {
                Some(v) => store::full_name(ctx.db, "Name", &v)?.unwrap_or_default(),
                None => "No vendor".into(),
            }
        } else {
            String::new()
        };
        match groups.iter_mut().find(|g| g.0 == vendor) {
            Some(g) => g.1.push(i),
            None => groups.push((vendor, vec![i])),
        }
    }
    groups.sort_by_key(|g| g.0.to_lowercase());
    for (vendor, items) in &groups {
        if !vendor.is_empty() {
            r.text(vendor);
        }
        for i in items {
            let b = body::decode(&i.body);
            let desc = leaf(&b, "SalesDesc")
                .or_else(|| leaf(&b, "PurchaseDesc"))
                .map(str::to_string);
            let on_hand = Some(qty_text(i.qty));
            let vals = if worksheet {
                vec![desc, on_hand, None]
            } else {
                vec![
                    desc,
                    leaf(&b, "ReorderPoint")
                        .or_else(|| leaf(&b, "BuildPoint"))
                        .map(str::to_string),
                    on_hand,
                    Some(qty_text(on_po.get(&i.id).copied().unwrap_or(0))),
                ]
            };
            r.row_with(
                "DataRow",
                Some(("item", i.full_name.as_str())),
                &i.full_name,
                &vals,
            );
        }
    }
    let none: Vec<Option<String>> = vec![None; cols.len() - 1];
    r.row("TotalRow", None, "TOTAL", &none);
    answer(ctx, r.finish())
}

/// `SalesTaxLiability` and `SalesTaxRevenueSummary`: per sales tax item,
/// the sales of the period split into taxable and non-taxable, the tax
/// collected and (liability) what is still payable.
fn sales_tax(ctx: &Ctx<'_>, rq: &Request<'_>, ty: &str) -> Res<Answer> {
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    let from_s = from.map(crate::clock::date_text).unwrap_or_default();
    let to_s = crate::clock::date_text(to);
    let mut st = ctx.db.prepare_cached(
        "SELECT id FROM txn WHERE voided=0 AND date>=?1 AND date<=?2 \
         AND type IN ('Invoice','SalesReceipt','CreditMemo')",
    )?;
    let ids: Vec<String> = st
        .query_map([&from_s, &to_s], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()
        .map_err(store::StoreError::from)?;
    // Per tax item: (total sales, taxable sales, tax).
    let mut per: HashMap<String, [i64; 3]> = HashMap::new();
    let mut taxable_codes: HashMap<String, bool> = HashMap::new();
    let mut item_kinds = super::detail::Kinds::default();
    for t in store::get_txns(ctx.db, &ids)? {
        let b = body::decode(&t.body);
        let Some(item) = crate::ledger::ref_id(&b, "ItemSalesTaxRef") else {
            continue;
        };
        let sign = if t.kind == "CreditMemo" { -1 } else { 1 };
        let e = per.entry(item).or_default();
        e[2] += sign * leaf(&b, "SalesTaxTotal").map(store::cents).unwrap_or(0);
        for l in b.iter().filter(|x| x.name.ends_with("LineRet")) {
            if !item_kinds.counts(ctx, &l.children)? {
                continue;
            }
            let amount = sign * leaf(&l.children, "Amount").map(store::cents).unwrap_or(0);
            e[0] += amount;
            if let Some(code) = crate::ledger::ref_id(&l.children, "SalesTaxCodeRef") {
                let taxable = match taxable_codes.get(&code) {
                    Some(t) => *t,
                    None => {
                        let t = store::get(ctx.db, "SalesTaxCode", &code)?
                            .is_some_and(|r| r.body.contains("IsTaxable:4:true"));
                        taxable_codes.insert(code, t);
                        t
                    }
                };
                if taxable {
                    e[1] += amount;
                }
            }
        }
    }
    let liability = ty == "SalesTaxLiability";
    let mut cols: Vec<(&str, &'static str, &'static str)> = vec![
        ("", "STRTYPE", "Label"),
        ("Total Sales", "AMTTYPE", "Amount"),
        ("Non-Taxable Sales", "AMTTYPE", "Amount"),
        ("Taxable Sales", "AMTTYPE", "Amount"),
    ];
    if liability {
        cols.push(("Tax Collected", "AMTTYPE", "Amount"));
        cols.push(("Sales Tax Payable", "AMTTYPE", "Amount"));
    }
    let payable = if liability {
        crate::inquiries::payable_by_item(ctx, &to_s)?
    } else {
        HashMap::new()
    };
    let mut r = Report::new(
        if liability {
            "Sales Tax Liability"
        } else {
            "Sales Tax Revenue Summary"
        },
        period_text(from, to),
        &cols,
    );
    let mut rows: Vec<(String, [i64; 3], i64)> = Vec::new();
    let mut all: Vec<String> = per.keys().cloned().collect();
    for k in payable.keys() {
        if !all.contains(k) {
            all.push(k.clone());
        }
    }
    for id in all {
        let name = store::full_name(ctx.db, "Item", &id)?.unwrap_or_default();
        let f = per.get(&id).copied().unwrap_or_default();
        rows.push((name, f, payable.get(&id).copied().unwrap_or(0)));
    }
    rows.sort_by_key(|r| r.0.to_lowercase());
    let mut totals = [0i64; 5];
    for (name, f, pay) in &rows {
        let v = [f[0], f[0] - f[1], f[1], f[2], *pay];
        for (t, x) in totals.iter_mut().zip(v) {
            *t += x;
        }
        let n = if liability { 5 } else { 3 };
        let vals: Vec<Option<String>> = v[..n].iter().map(|x| Some(store::money(*x))).collect();
        r.row_with("DataRow", Some(("item", name.as_str())), name, &vals);
    }
    let n = if liability { 5 } else { 3 };
    let vals: Vec<Option<String>> = totals[..n].iter().map(|x| Some(store::money(*x))).collect();
    r.row("TotalRow", None, "TOTAL", &vals);
    answer(ctx, r.finish())
}

/// Reports of what the simulator does not track (lot and serial numbers
/// by site): the report with no rows [I].
fn empty(ctx: &Ctx<'_>, rq: &Request<'_>, ty: &str) -> Res<Answer> {
    let (_, to) = period(ctx, rq, "Today")?;
    let title = if ty.starts_with("Lot") {
        "Lot Number in Stock by Site"
    } else {
        "Serial Number in Stock by Site"
    };
    let mut r = Report::new(
        title,
        format!("As of {}", long_date(to)),
        &[
            ("", "STRTYPE", "Label"),
            ("On Hand", "QUANTYPE", "QuantityOnHand"),
        ],
    );
    r.row("TotalRow", None, "TOTAL", &[Some(qty_text(0))]);
    answer(ctx, r.finish())
}
