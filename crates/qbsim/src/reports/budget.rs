//! Budgets and `BudgetSummaryReportQuery`.
//!
//! QuickBooks keeps budgets per fiscal year and criterion (accounts;
//! accounts and customers; accounts and classes), twelve monthly amounts
//! per account (and customer). The SDK has no request that makes one, so
//! a budget comes into a simulated company through
//! [`crate::Company::set_budget`] (the sample company has one for the
//! current year). It is kept in `meta` under `budget:<year>:<criterion>`,
//! one line per account: `account-id TAB customer-id TAB twelve cents`.
//!
//! The five report types: an overview of the budget by month (or by
//! customer), budget against actual for the period, and the performance
//! report (the period, the year to date and the whole year); for
//! profit-and-loss accounts or balance-sheet accounts. Actuals come from
//! the postings, as the summary reports' do. A year without a budget
//! answers a report with no account rows [I].

use super::{answer, chart, is_pl, money, period_text, Report};
use crate::clock::{civil_from_days, days_from_civil};
use crate::ledger::debit_normal;
use crate::store::{self, Db, StoreError};
use crate::{status, Answer, Ctx, Res};
use qbxml::Request;
use std::collections::HashMap;

/// A budget, as [`crate::Company::set_budget`] takes it.
#[derive(Clone, Debug, Default)]
pub struct BudgetPlan {
    /// The fiscal (calendar [I]) year it is for.
    pub fiscal_year: i32,
    /// `Accounts`, `AccountsAndCustomers` or `AccountsAndClasses`.
    pub criterion: String,
    pub lines: Vec<BudgetLine>,
}

/// One account's (and customer's) budget for each month.
#[derive(Clone, Debug, Default)]
pub struct BudgetLine {
    /// The account's FullName.
    pub account: String,
    /// The customer's FullName (criterion `AccountsAndCustomers`).
    pub customer: Option<String>,
    /// Cents, January to December.
    pub months: [i64; 12],
}

/// A stored line: (account ListID, customer ListID, months).
type Stored = (String, Option<String>, [i64; 12]);

const CRITERIA: &[&str] = &["Accounts", "AccountsAndCustomers", "AccountsAndClasses"];

/// Store a budget, replacing one of the same year and criterion. Every
/// account and customer must exist.
pub(crate) fn set(db: &Db, plan: &BudgetPlan) -> Result<(), StoreError> {
    if !CRITERIA.contains(&plan.criterion.as_str()) {
        return Err(StoreError(format!(
            "budget criterion {:?} is not one of {CRITERIA:?}",
            plan.criterion
        )));
    }
    let mut text = String::new();
    for l in &plan.lines {
        let account = store::by_name(db, "Account", &l.account)?
            .ok_or_else(|| StoreError(format!("budget: no account {:?}", l.account)))?;
        let customer = match &l.customer {
            Some(c) => Some(
                store::by_name(db, "Name", c)?
                    .filter(|r| r.kind == "Customer")
                    .ok_or_else(|| StoreError(format!("budget: no customer {c:?}")))?
                    .id,
            ),
            None => None,
        };
        let months: Vec<String> = l.months.iter().map(|m| m.to_string()).collect();
        text.push_str(&format!(
            "{}\t{}\t{}\n",
            account.id,
            customer.unwrap_or_default(),
            months.join(",")
        ));
    }
    store::set_meta(
        db,
        &format!("budget:{}:{}", plan.fiscal_year, plan.criterion),
        &text,
    )
}

fn load(ctx: &Ctx<'_>, year: i64, criterion: &str) -> Res<Vec<Stored>> {
    let Some(text) = store::meta(ctx.db, &format!("budget:{year}:{criterion}"))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.split('\t');
        let (Some(a), Some(c), Some(m)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let mut months = [0i64; 12];
        for (i, v) in m.split(',').take(12).enumerate() {
            months[i] = v.parse().unwrap_or(0);
        }
        let customer = (!c.is_empty()).then(|| c.to_string());
        out.push((a.to_string(), customer, months));
    }
    Ok(out)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The budget of the months from `from` to `to` (days), for one line.
fn budget_between(months: &[i64; 12], year: i64, from: i64, to: i64) -> i64 {
    (1..=12u32)
        .filter(|m| {
            let start = days_from_civil(year, *m, 1);
            start >= from && start <= to
        })
        .map(|m| months[(m - 1) as usize])
        .sum()
}

/// Actual activity of each account between two days, in its own sign.
fn actuals(ctx: &Ctx<'_>, from: i64, to: i64) -> Res<HashMap<String, i64>> {
    let sums = super::sums(ctx, Some(from), to)?;
    let mut out = HashMap::new();
    for a in chart(ctx)? {
        let (through, within) = sums.get(&a.id).copied().unwrap_or((0, 0));
        let v = if is_pl(&a.ty) { within } else { through };
        out.insert(a.id, if debit_normal(&a.ty) { v } else { -v });
    }
    Ok(out)
}

/// What one customer did in one account between two days, in the
/// account's own sign (profit-and-loss accounts: activity; balance-sheet
/// accounts: the balance at the end).
fn customer_actual(ctx: &Ctx<'_>, account: &str, customer: &str, from: i64, to: i64) -> Res<i64> {
    let ty = crate::ledger::account_type(ctx.db, account)?.unwrap_or_default();
    let from_s = if is_pl(&ty) {
        crate::clock::date_text(from)
    } else {
        String::new()
    };
    let mut st = ctx.db.prepare_cached(
        "SELECT COALESCE(SUM(amount),0) FROM posting WHERE account=?1 AND entity=?2 \
         AND date>=?3 AND date<=?4",
    )?;
    let v: i64 = st.query_row(
        [account, customer, &from_s, &crate::clock::date_text(to)],
        |r| r.get(0),
    )?;
    Ok(if debit_normal(&ty) { v } else { -v })
}

fn percent(actual: i64, budget: i64) -> Option<String> {
    (budget != 0).then(|| format!("{:.1}", actual as f64 * 100.0 / budget as f64))
}

/// `BudgetSummaryReportQuery`.
pub fn budget_summary(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let ty = e.child_text("BudgetSummaryReportType").unwrap_or("");
    let year: i64 = e
        .child_text("FiscalYear")
        .and_then(|y| y.trim().parse().ok())
        .filter(|y| (1900..=9999).contains(y))
        .ok_or_else(|| {
            status(
                3020,
                &[
                    ("value", e.child_text("FiscalYear").unwrap_or("")),
                    ("field", "FiscalYear"),
                ],
            )
        })?;
    let criterion = e.child_text("BudgetCriterion").unwrap_or("Accounts");
    let by_customer_rows = e.child_text("SummarizeBudgetRowsBy") == Some("Customer");
    let by_customer_cols = e.child_text("SummarizeBudgetColumnsBy") == Some("Customer");
    let balance_sheet = ty.starts_with("BalanceSheet");
    let (year_from, year_to) = (days_from_civil(year, 1, 1), days_from_civil(year, 12, 31));
    let (from, to) = if e.child("ReportPeriod").is_some() || e.child("ReportDateMacro").is_some() {
        let (f, t) = super::period(ctx, rq, "ThisYear")?;
        // A period outside the fiscal year shrinks to a day of it.
        let to = t.min(year_to).max(year_from);
        (f.unwrap_or(year_from).max(year_from).min(to), to)
    } else {
        (year_from, year_to)
    };
    let lines = load(ctx, year, criterion)?;
    let accounts = chart(ctx)?;
    let keep = |ty: &str| if balance_sheet { !is_pl(ty) } else { is_pl(ty) };
    let mut names: HashMap<String, String> = HashMap::new();
    let mut name_of = |id: &str| -> Res<String> {
        if let Some(n) = names.get(id) {
            return Ok(n.clone());
        }
        let n = store::full_name(ctx.db, "Name", id)?.unwrap_or_default();
        names.insert(id.to_string(), n.clone());
        Ok(n)
    };
    // Rows: accounts in chart order (or customers by name) with a budget.
    let mut rows: Vec<(String, String, Vec<&Stored>)> = Vec::new();
    if by_customer_rows {
        let mut by: HashMap<String, Vec<&Stored>> = HashMap::new();
        for l in &lines {
            let ty = accounts
                .iter()
                .find(|a| a.id == l.0)
                .map(|a| a.ty.as_str())
                .unwrap_or("");
            if let (Some(c), true) = (&l.1, keep(ty)) {
                by.entry(c.clone()).or_default().push(l);
            }
        }
        for (c, ls) in by {
            let n = name_of(&c)?;
            rows.push((n.clone(), n, ls));
        }
        rows.sort_by_key(|r| r.0.to_lowercase());
    } else {
        for a in accounts.iter().filter(|a| keep(&a.ty)) {
            let ls: Vec<&Stored> = lines.iter().filter(|l| l.0 == a.id).collect();
            if !ls.is_empty() {
                rows.push((a.id.clone(), a.full_name.clone(), ls));
            }
        }
    }
    let subtitle = period_text(Some(from), to);
    let sign_of = |id: &str| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| {
                if balance_sheet || matches!(a.ty.as_str(), "Income" | "OtherIncome") {
                    1
                } else {
                    -1
                }
            })
            .unwrap_or(1)
    };
    match ty {
        "ProfitAndLossBudgetOverview" | "BalanceSheetBudgetOverview" => {
            // Columns: the months of the period, or the customers.
            type Pick = Box<dyn Fn(&Stored) -> i64>;
            let mut cols: Vec<(String, Pick)> = Vec::new();
            if by_customer_cols {
                let mut customers: Vec<String> = lines.iter().filter_map(|l| l.1.clone()).collect();
                customers.sort();
                customers.dedup();
                for c in customers {
                    let label = name_of(&c)?;
                    cols.push((
                        label,
                        Box::new(move |l: &Stored| {
                            if l.1.as_deref() == Some(c.as_str()) {
                                l.2.iter().sum()
                            } else {
                                0
                            }
                        }),
                    ));
                }
            } else {
                let (_, fm, _) = civil_from_days(from);
                let (_, tm, _) = civil_from_days(to);
                for m in fm..=tm {
                    cols.push((
                        format!("{} {year}", MONTHS[(m - 1) as usize]),
                        Box::new(move |l: &Stored| l.2[(m - 1) as usize]),
                    ));
                }
            }
            let mut desc: Vec<(&str, &'static str, &'static str)> = vec![("", "STRTYPE", "Label")];
            for c in &cols {
                desc.push((c.0.as_str(), "AMTTYPE", "Amount"));
            }
            desc.push(("TOTAL", "AMTTYPE", "Total"));
            let title = if balance_sheet {
                "Balance Sheet Budget Overview"
            } else {
                "Profit & Loss Budget Overview"
            };
            let mut r = Report::new(title, subtitle, &desc);
            let mut totals = vec![0i64; cols.len() + 1];
            for (_, label, ls) in &rows {
                // An account's row shows its budget as kept; a customer's
                // row, what its lines add to the total.
                let value = |f: &dyn Fn(&Stored) -> i64| -> (i64, i64) {
                    let mut shown = 0;
                    let mut adds = 0;
                    for l in ls {
                        let v = f(l);
                        adds += sign_of(&l.0) * v;
                        shown += if by_customer_rows {
                            sign_of(&l.0) * v
                        } else {
                            v
                        };
                    }
                    (shown, adds)
                };
                let mut vals = Vec::new();
                for (k, (_, f)) in cols.iter().enumerate() {
                    let (shown, adds) = value(f.as_ref());
                    totals[k] += adds;
                    vals.push(money(shown));
                }
                let (shown, adds) = value(&|l: &Stored| cols.iter().map(|c| c.1(l)).sum());
                totals[cols.len()] += adds;
                vals.push(money(shown));
                r.row("DataRow", Some(row_type(by_customer_rows)), label, &vals);
            }
            let vals: Vec<Option<String>> = totals.iter().map(|v| money(*v)).collect();
            r.row("TotalRow", None, total_label(balance_sheet), &vals);
            answer(ctx, r.finish())
        }
        "ProfitAndLossBudgetVsActual"
        | "BalanceSheetBudgetVsActual"
        | "ProfitAndLossBudgetPerformance" => {
            let performance = ty == "ProfitAndLossBudgetPerformance";
            let actual = actuals(ctx, from, to)?;
            let ytd = actuals(ctx, year_from, to)?;
            let mut desc = vec![("", "STRTYPE", "Label")];
            let titles: &[(&str, &str)] = if performance {
                &[
                    ("Actual", "AMTTYPE"),
                    ("Budget", "AMTTYPE"),
                    ("YTD Actual", "AMTTYPE"),
                    ("YTD Budget", "AMTTYPE"),
                    ("Annual Budget", "AMTTYPE"),
                ]
            } else {
                &[
                    ("Actual", "AMTTYPE"),
                    ("Budget", "AMTTYPE"),
                    ("$ Over Budget", "AMTTYPE"),
                    ("% of Budget", "PERCENTTYPE"),
                ]
            };
            for (t, dt) in titles {
                desc.push((
                    t,
                    dt,
                    if *dt == "PERCENTTYPE" {
                        "Percent"
                    } else {
                        "Amount"
                    },
                ));
            }
            let title = match ty {
                "ProfitAndLossBudgetPerformance" => "Profit & Loss Budget Performance",
                "BalanceSheetBudgetVsActual" => "Balance Sheet Budget vs. Actual",
                _ => "Profit & Loss Budget vs. Actual",
            };
            let mut r = Report::new(title, subtitle, &desc);
            let n = titles.len();
            let mut totals = vec![0i64; n];
            for (key, label, ls) in &rows {
                // An account's row is in its own sign; a customer's row
                // nets its lines (income less expense).
                let factor = |l: &Stored| if by_customer_rows { sign_of(&l.0) } else { 1 };
                let mut act = 0;
                let mut act_ytd = 0;
                let mut budget = 0;
                let mut budget_ytd = 0;
                let mut annual = 0;
                for l in ls.iter() {
                    let f = factor(l);
                    budget += f * budget_between(&l.2, year, from, to);
                    budget_ytd += f * budget_between(&l.2, year, year_from, to);
                    annual += f * budget_between(&l.2, year, year_from, year_to);
                }
                if by_customer_rows {
                    let mut seen: Vec<&str> = Vec::new();
                    for l in ls.iter() {
                        if seen.contains(&l.0.as_str()) {
                            continue;
                        }
                        seen.push(&l.0);
                        act += factor(l) * customer_actual(ctx, &l.0, key, from, to)?;
                        act_ytd += factor(l) * customer_actual(ctx, &l.0, key, year_from, to)?;
                    }
                } else {
                    act = actual.get(key).copied().unwrap_or(0);
                    act_ytd = ytd.get(key).copied().unwrap_or(0);
                }
                let vals_num: Vec<i64> = if performance {
                    vec![act, budget, act_ytd, budget_ytd, annual]
                } else {
                    vec![act, budget, act - budget]
                };
                // What the row adds to the total: net income for the P&L.
                let sign = if by_customer_rows {
                    1
                } else {
                    ls.first().map(|l| sign_of(&l.0)).unwrap_or(1)
                };
                for (k, v) in vals_num.iter().enumerate() {
                    totals[k] += sign * v;
                }
                let mut vals: Vec<Option<String>> = vals_num.iter().map(|v| money(*v)).collect();
                if !performance {
                    vals.push(percent(act, budget));
                }
                r.row("DataRow", Some(row_type(by_customer_rows)), label, &vals);
            }
            if !performance {
                totals[2] = totals[0] - totals[1];
            }
            let mut vals: Vec<Option<String>> = totals
                .iter()
                .take(if performance { n } else { 3 })
                .map(|v| money(*v))
                .collect();
            if !performance {
                vals.push(percent(totals[0], totals[1]));
            }
            r.row("TotalRow", None, total_label(balance_sheet), &vals);
            answer(ctx, r.finish())
        }
        _ => Err(status(3250, &[])),
    }
}

/// A budget report's last row: net income for the P&L [I: income less
/// expense], the total for the balance sheet.
fn total_label(balance_sheet: bool) -> &'static str {
    if balance_sheet {
        "TOTAL"
    } else {
        "Net Income"
    }
}

/// Rows are accounts, or customers.
fn row_type(by_customer: bool) -> &'static str {
    if by_customer {
        "customer"
    } else {
        "account"
    }
}
