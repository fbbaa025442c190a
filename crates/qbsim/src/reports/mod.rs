//! Reports computed from the ledger: `GeneralSummaryReportQuery` for
//! ProfitAndLossStandard, BalanceSheetStandard and TrialBalance, and
//! `AgingReportQuery` for ARAgingSummary, in the schema's report format
//! (`ReportRet` with `ColDesc` and `ReportData` rows whose values are
//! attributes).
//!
//! Sums come from `posting` alone (one grouped scan: balances through a
//! date, and income/expense activity within a period), so a report agrees
//! with the account balances by construction. The fiscal year is the
//! calendar year [I]; income and expense of earlier years show as
//! Retained Earnings, this year's as Net Income, as in QuickBooks.
//! P&L and balance sheet show subaccounts under their parent with "Total
//! <parent>" (and the parent's own amount as "<parent> - Other"), as
//! QuickBooks' summary reports do; the trial balance lists accounts flat by
//! FullName, as QuickBooks' does. The basis is always accrual.

mod budget;
mod detail;
mod pivot;
mod projects;
mod summaries;

pub(crate) use budget::set as budget_set;
pub use budget::{budget_summary, BudgetLine, BudgetPlan};
pub use detail::{custom as custom_detail, general as general_detail};
pub use pivot::custom_summary;
pub use projects::{job as job_report, payroll as payroll_report, time as time_report};

use crate::clock::{civil_from_days, date_text, days_from_civil, macro_range, parse_date};
use crate::ledger::{account_type, debit_normal};
use crate::store;
use crate::{status, Res};
use crate::{Answer, Ctx};
use qbxml::{Elem, Request, Status};
use std::collections::HashMap;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `November 14, 2023`.
fn long_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{} {d}, {y}", MONTHS[(m - 1) as usize])
}

/// QuickBooks' period subtitle: `January 1 - November 14, 2023`,
/// `December 1, 2022 - January 31, 2023`, `All Transactions`.
fn period_text(from: Option<i64>, to: i64) -> String {
    let Some(from) = from else {
        return format!("Through {}", long_date(to));
    };
    let (fy, fm, fd) = civil_from_days(from);
    let (ty, tm, td) = civil_from_days(to);
    if from == to {
        return long_date(to);
    }
    if fy == ty && fm == tm {
        return format!("{} {fd} - {td}, {ty}", MONTHS[(fm - 1) as usize]);
    }
    if fy == ty {
        return format!(
            "{} {fd} - {} {td}, {ty}",
            MONTHS[(fm - 1) as usize],
            MONTHS[(tm - 1) as usize]
        );
    }
    format!("{} - {}", long_date(from), long_date(to))
}

/// The report period: ReportPeriod or ReportDateMacro, else `default`.
fn period(ctx: &Ctx<'_>, rq: &Request<'_>, default: &str) -> Res<(Option<i64>, i64)> {
    let e = rq.element();
    let today = parse_date(&ctx.tz.date(ctx.now)).unwrap_or_default();
    let bad = |v: &str, f: &str| status(3020, &[("value", v), ("field", f)]);
    let (mut from, mut to) = (None, None);
    if let Some(p) = e.child("ReportPeriod") {
        if let Some(f) = p.child_text("FromReportDate") {
            from = Some(parse_date(f).ok_or_else(|| bad(f, "FromReportDate"))?);
        }
        if let Some(t) = p.child_text("ToReportDate") {
            to = Some(parse_date(t).ok_or_else(|| bad(t, "ToReportDate"))?);
        }
    } else {
        let m = e.child_text("ReportDateMacro").unwrap_or(default);
        let (a, b) = macro_range(m, today).ok_or_else(|| bad(m, "ReportDateMacro"))?;
        from = a;
        to = b;
    }
    let to = to.unwrap_or(today);
    if from.is_some_and(|f| f > to) {
        return Err(status(3030, &[]));
    }
    Ok((from, to))
}

/// An account as reports need it.
struct Account {
    id: String,
    parent: Option<String>,
    name: String,
    full_name: String,
    ty: String,
}

/// Every account in chart order.
fn chart(ctx: &Ctx<'_>) -> Res<Vec<Account>> {
    let ids = store::ids_in_order(ctx.db, "Account", &store::ColumnFilter::default())?;
    let mut out = Vec::with_capacity(ids.len());
    for r in store::get_many(ctx.db, "Account", &ids)? {
        let ty = account_type(ctx.db, &r.id)?.unwrap_or_default();
        out.push(Account {
            id: r.id,
            parent: r.parent,
            name: r.name,
            full_name: r.full_name,
            ty,
        });
    }
    Ok(out)
}

/// Sums of postings per account: everything through `to`, and what falls
/// within `[from, to]`.
fn sums(ctx: &Ctx<'_>, from: Option<i64>, to: i64) -> Res<HashMap<String, (i64, i64)>> {
    let to_s = date_text(to);
    let from_s = from.map(date_text).unwrap_or_default();
    let mut st = ctx.db.prepare_cached(
        "SELECT account, SUM(amount), SUM(CASE WHEN date >= ?2 THEN amount ELSE 0 END) \
         FROM posting WHERE date <= ?1 GROUP BY account",
    )?;
    let rows = st.query_map([&to_s, &from_s], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?),
        ))
    })?;
    let mut out = HashMap::new();
    for r in rows {
        let (k, v) = r?;
        out.insert(k, v);
    }
    Ok(out)
}

fn is_pl(ty: &str) -> bool {
    matches!(
        ty,
        "Income" | "CostOfGoodsSold" | "Expense" | "OtherIncome" | "OtherExpense"
    )
}

/// A report being written: columns, then rows.
struct Report {
    title: String,
    subtitle: String,
    /// (title, data type, ColType) of each column.
    cols: Vec<(String, &'static str, &'static str)>,
    rows: Vec<Elem>,
}

impl Report {
    fn new(title: &str, subtitle: String, cols: &[(&str, &'static str, &'static str)]) -> Report {
        Report {
            title: title.into(),
            subtitle,
            cols: cols.iter().map(|c| (c.0.to_string(), c.1, c.2)).collect(),
            rows: Vec::new(),
        }
    }

    fn n(&self) -> String {
        (self.rows.len() + 1).to_string()
    }

    fn text(&mut self, value: &str) {
        let e = Elem::new("TextRow")
            .attr("rowNumber", self.n())
            .attr("value", value);
        self.rows.push(e);
    }

    /// A row: `kind` DataRow/SubtotalRow/TotalRow, its RowData, and a
    /// value per column after the label (None: left empty).
    fn row(
        &mut self,
        kind: &'static str,
        row_type: Option<&str>,
        label: &str,
        values: &[Option<String>],
    ) {
        self.row_with(kind, row_type.map(|t| (t, label)), label, values);
    }

    /// A row whose RowData names something other than its label (a
    /// subaccount's full name under its own name).
    fn row_with(
        &mut self,
        kind: &'static str,
        row_data: Option<(&str, &str)>,
        label: &str,
        values: &[Option<String>],
    ) {
        let mut e = Elem::new(kind).attr("rowNumber", self.n());
        if let Some((t, v)) = row_data {
            e.push(Elem::new("RowData").attr("rowType", t).attr("value", v));
        }
        e.push(Elem::new("ColData").attr("colID", "1").attr("value", label));
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                e.push(
                    Elem::new("ColData")
                        .attr("colID", (i + 2).to_string())
                        .attr("value", v.clone()),
                );
            }
        }
        self.rows.push(e);
    }

    fn finish(self) -> Elem {
        let mut r = Elem::new("ReportRet")
            .with("ReportTitle", self.title)
            .with("ReportSubtitle", self.subtitle)
            .with("ReportBasis", "Accrual")
            .with("NumRows", self.rows.len().to_string())
            .with("NumColumns", self.cols.len().to_string())
            .with("NumColTitleRows", "1");
        for (i, (title, data_type, col_type)) in self.cols.iter().enumerate() {
            let mut t = Elem::new("ColTitle").attr("titleRow", "1");
            if !title.is_empty() {
                t = t.attr("value", title.clone());
            }
            r.push(
                Elem::new("ColDesc")
                    .attr("colID", (i + 1).to_string())
                    .attr("dataType", *data_type)
                    .child(t)
                    .with("ColType", *col_type),
            );
        }
        let mut data = Elem::new("ReportData");
        data.children = self.rows;
        r.push(data);
        r
    }
}

/// Accounts as QuickBooks' summary reports show them: a parent with
/// subaccounts is a text row, its subaccounts, its own amount as
/// "<parent> - Other", and "Total <parent>"; an account without
/// subaccounts is one row. `list` is in chart order with each account's
/// own amount; rows that are zero with all their subaccounts are left out.
/// Returns the total.
fn account_rows(r: &mut Report, list: &[(&Account, i64)]) -> i64 {
    let ids: std::collections::HashSet<&str> = list.iter().map(|(a, _)| a.id.as_str()).collect();
    let mut total = 0;
    for (a, own) in list {
        if a.parent.as_deref().is_some_and(|p| ids.contains(p)) {
            continue;
        }
        total += account_tree(r, list, a, *own);
    }
    total
}

/// A titled section of accounts with its "Total <title>" row; nothing when
/// every account in it is zero. Returns the total.
fn titled_section(r: &mut Report, title: &str, list: &[(&Account, i64)]) -> i64 {
    if list.iter().all(|(_, v)| *v == 0) {
        return 0;
    }
    r.text(title);
    let total = account_rows(r, list);
    r.row(
        "SubtotalRow",
        None,
        &format!("Total {title}"),
        &[money(total)],
    );
    total
}

fn subtree_total(list: &[(&Account, i64)], id: &str, depth: usize) -> i64 {
    if depth > 64 {
        return 0;
    }
    list.iter()
        .filter(|(a, _)| a.parent.as_deref() == Some(id))
        .map(|(a, v)| v + subtree_total(list, &a.id, depth + 1))
        .sum()
}

fn account_tree(r: &mut Report, list: &[(&Account, i64)], a: &Account, own: i64) -> i64 {
    let kids: Vec<&(&Account, i64)> = list
        .iter()
        .filter(|(k, v)| {
            k.parent.as_deref() == Some(a.id.as_str())
                && (*v != 0 || subtree_total(list, &k.id, 0) != 0)
        })
        .collect();
    if kids.is_empty() {
        if own != 0 {
            r.row_with(
                "DataRow",
                Some(("account", &a.full_name)),
                &a.name,
                &[money(own)],
            );
        }
        return own;
    }
    r.text(&a.name);
    let mut sub = own;
    for (k, v) in kids {
        sub += account_tree(r, list, k, *v);
    }
    if own != 0 {
        r.row_with(
            "DataRow",
            Some(("account", &a.full_name)),
            &format!("{} - Other", a.name),
            &[money(own)],
        );
    }
    r.row_with(
        "SubtotalRow",
        Some(("account", &a.full_name)),
        &format!("Total {}", a.name),
        &[money(sub)],
    );
    sub
}

fn money(c: i64) -> Option<String> {
    Some(store::money(c))
}

fn answer(ctx: &Ctx<'_>, report: Elem) -> Res<Answer> {
    ctx.spend(&report)?;
    Ok(Answer {
        status: Status::ok(),
        items: vec![report],
        ..Answer::default()
    })
}

pub fn general_summary(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let ty = rq
        .element()
        .child_text("GeneralSummaryReportType")
        .unwrap_or("");
    match ty {
        "TrialBalance" => trial_balance(ctx, rq),
        "ProfitAndLossStandard" => profit_and_loss(ctx, rq),
        "BalanceSheetStandard" => balance_sheet(ctx, rq),
        other => summaries::general(ctx, rq, other).unwrap_or_else(|| Err(status(3250, &[]))),
    }
}

/// Start of the fiscal (= calendar) year of `day`.
fn year_start(day: i64) -> i64 {
    let (y, _, _) = civil_from_days(day);
    days_from_civil(y, 1, 1)
}

/// Balances as of a date, natural sign (credit-normal accounts positive
/// when in credit).
struct Closing {
    /// Every account with its balance (income and expense: this year's).
    accounts: Vec<(Account, i64)>,
    /// Earlier years' net income (it is no account's postings).
    retained: i64,
    /// This year's net income.
    net_income: i64,
}

/// Balances as of `to`, with income and expense of earlier years moved
/// into Retained Earnings.
fn closing_balances(ctx: &Ctx<'_>, to: i64) -> Res<Closing> {
    let ys = year_start(to);
    let s = sums(ctx, Some(ys), to)?;
    let mut out = Vec::new();
    let mut retained = 0i64; // natural (credit-positive)
    let mut net_income = 0i64;
    for a in chart(ctx)? {
        let (through, within) = s.get(&a.id).copied().unwrap_or((0, 0));
        let raw = if is_pl(&a.ty) {
            // Earlier years' activity closes to Retained Earnings.
            retained -= through - within;
            net_income -= within;
            within
        } else {
            through
        };
        let natural = if debit_normal(&a.ty) { raw } else { -raw };
        out.push((a, natural));
    }
    Ok(Closing {
        accounts: out,
        retained,
        net_income,
    })
}

fn trial_balance(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let (_, to) = period(ctx, rq, "ThisCalendarYearToDate")?;
    let Closing {
        accounts: accts,
        retained,
        ..
    } = closing_balances(ctx, to)?;
    let mut r = Report::new(
        "Trial Balance",
        format!("As of {}", long_date(to)),
        &[
            ("", "STRTYPE", "Label"),
            ("Debit", "AMTTYPE", "Debit"),
            ("Credit", "AMTTYPE", "Credit"),
        ],
    );
    let (mut dr, mut cr) = (0i64, 0i64);
    let mut put = |r: &mut Report, name: &str, debit: i64| {
        if debit == 0 {
            return;
        }
        if debit > 0 {
            dr += debit;
            r.row("DataRow", Some("account"), name, &[money(debit), None]);
        } else {
            cr -= debit;
            r.row("DataRow", Some("account"), name, &[None, money(-debit)]);
        }
    };
    let mut retained_done = retained == 0;
    for (a, natural) in &accts {
        let debit = if debit_normal(&a.ty) {
            *natural
        } else {
            -*natural
        };
        if !retained_done
            && a.ty != "Equity"
            && crate::kinds::account_type_rank(&a.ty) > crate::kinds::account_type_rank("Equity")
        {
            put(&mut r, "Retained Earnings", -retained);
            retained_done = true;
        }
        put(&mut r, &a.full_name, debit);
    }
    if !retained_done {
        put(&mut r, "Retained Earnings", -retained);
    }
    r.row("TotalRow", None, "TOTAL", &[money(dr), money(cr)]);
    answer(ctx, r.finish())
}

fn profit_and_loss(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let (from, to) = period(ctx, rq, "ThisCalendarYearToDate")?;
    let s = sums(ctx, from, to)?;
    let accts = chart(ctx)?;
    let amount = |a: &Account| -> i64 {
        let (through, within) = s.get(&a.id).copied().unwrap_or((0, 0));
        let raw = if from.is_some() { within } else { through };
        if debit_normal(&a.ty) {
            raw
        } else {
            -raw
        }
    };
    let mut r = Report::new(
        "Profit & Loss",
        period_text(from, to),
        &[("", "STRTYPE", "Label"), ("TOTAL", "AMTTYPE", "Amount")],
    );
    let section = |r: &mut Report, ty: &str, title: &str| -> i64 {
        let list: Vec<(&Account, i64)> = accts
            .iter()
            .filter(|a| a.ty == ty)
            .map(|a| (a, amount(a)))
            .collect();
        titled_section(r, title, &list)
    };
    r.text("Ordinary Income/Expense");
    let income = section(&mut r, "Income", "Income");
    let cogs = section(&mut r, "CostOfGoodsSold", "Cost of Goods Sold");
    r.row("SubtotalRow", None, "Gross Profit", &[money(income - cogs)]);
    let expense = section(&mut r, "Expense", "Expense");
    let ordinary = income - cogs - expense;
    r.row(
        "SubtotalRow",
        None,
        "Net Ordinary Income",
        &[money(ordinary)],
    );
    let other_income = section(&mut r, "OtherIncome", "Other Income");
    let other_expense = section(&mut r, "OtherExpense", "Other Expense");
    if other_income != 0 || other_expense != 0 {
        r.row(
            "SubtotalRow",
            None,
            "Net Other Income",
            &[money(other_income - other_expense)],
        );
    }
    r.row(
        "TotalRow",
        None,
        "Net Income",
        &[money(ordinary + other_income - other_expense)],
    );
    answer(ctx, r.finish())
}

fn balance_sheet(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let (_, to) = period(ctx, rq, "ThisCalendarYearToDate")?;
    let Closing {
        accounts: accts,
        retained,
        net_income,
    } = closing_balances(ctx, to)?;
    let mut r = Report::new(
        "Balance Sheet",
        format!("As of {}", long_date(to)),
        &[("", "STRTYPE", "Label"), ("TOTAL", "AMTTYPE", "Amount")],
    );
    let group = |r: &mut Report, types: &[&str], title: &str| -> i64 {
        let list: Vec<(&Account, i64)> = accts
            .iter()
            .filter(|(a, _)| types.contains(&a.ty.as_str()))
            .map(|(a, v)| (a, *v))
            .collect();
        titled_section(r, title, &list)
    };
    r.text("ASSETS");
    let current = group(
        &mut r,
        &["Bank", "AccountsReceivable", "OtherCurrentAsset"],
        "Current Assets",
    );
    let fixed = group(&mut r, &["FixedAsset"], "Fixed Assets");
    let other = group(&mut r, &["OtherAsset"], "Other Assets");
    r.row(
        "TotalRow",
        None,
        "TOTAL ASSETS",
        &[money(current + fixed + other)],
    );
    r.text("LIABILITIES & EQUITY");
    let cl = group(
        &mut r,
        &["AccountsPayable", "CreditCard", "OtherCurrentLiability"],
        "Current Liabilities",
    );
    let ll = group(&mut r, &["LongTermLiability"], "Long Term Liabilities");
    r.row("SubtotalRow", None, "Total Liabilities", &[money(cl + ll)]);
    r.text("Equity");
    let equity_accounts: Vec<(&Account, i64)> = accts
        .iter()
        .filter(|(a, _)| a.ty == "Equity")
        .map(|(a, v)| (a, *v))
        .collect();
    let mut equity = account_rows(&mut r, &equity_accounts);
    if retained != 0 {
        equity += retained;
        r.row(
            "DataRow",
            Some("label"),
            "Retained Earnings",
            &[money(retained)],
        );
    }
    if net_income != 0 {
        equity += net_income;
        r.row("DataRow", Some("label"), "Net Income", &[money(net_income)]);
    }
    r.row("SubtotalRow", None, "Total Equity", &[money(equity)]);
    r.row(
        "TotalRow",
        None,
        "TOTAL LIABILITIES & EQUITY",
        &[money(cl + ll + equity)],
    );
    answer(ctx, r.finish())
}

/// One side of the books an aging report reads: the documents that are
/// open on it (with the sign their open amount counts with), what else
/// moves it through those documents (payments, refunds: already in the
/// open amounts), and its account type.
struct Side {
    docs: &'static [(&'static str, i64)],
    through_docs: &'static [&'static str],
    control: &'static str,
}

const RECEIVABLE: Side = Side {
    docs: &[
        ("Invoice", 1),
        ("Charge", 1),
        ("CreditMemo", -1),
        ("ReceivePayment", -1),
    ],
    through_docs: &["ARRefundCreditCard"],
    control: "AccountsReceivable",
};

const PAYABLE: Side = Side {
    docs: &[("Bill", 1), ("VendorCredit", -1)],
    through_docs: &["BillPaymentCheck", "BillPaymentCreditCard"],
    control: "AccountsPayable",
};

/// One open document of an aging report.
struct Aged {
    entity: String,
    kind: String,
    date: String,
    number: Option<String>,
    due: String,
    /// Days past due at the report date.
    days: i64,
    amount: i64,
}

/// Days past due to bucket: current, 1-30, 31-60, 61-90, over 90.
fn bucket(days: i64) -> usize {
    match days {
        i64::MIN..=0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

const BUCKETS: [&str; 5] = ["Current", "1 - 30", "31 - 60", "61 - 90", "> 90"];

/// The open documents of one side as of `to`, and the balances that move
/// its control accounts outside documents (opening balances, journal
/// lines: current). Open amounts are today's: payments dated after the
/// report date still count [I].
fn aged(ctx: &Ctx<'_>, side: &Side, to: i64) -> Res<(Vec<Aged>, HashMap<String, i64>)> {
    let to_s = date_text(to);
    let mut st = ctx.db.prepare_cached(
        "SELECT entity, type, date, open, body, ref FROM txn \
         WHERE open<>0 AND voided=0 AND date<=?1 AND entity IS NOT NULL",
    )?;
    let rows = st.query_map([&to_s], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut docs = Vec::new();
    for r in rows {
        let (entity, kind, date, open, body, number) = r?;
        let Some(sign) = side.docs.iter().find(|d| d.0 == kind).map(|d| d.1) else {
            continue;
        };
        // Documents with terms age from their due date; credits and
        // payments from their date.
        let due = if sign > 0 {
            crate::body::decode(&body)
                .into_iter()
                .find(|e| e.name == "DueDate")
                .map(|e| e.text)
                .unwrap_or_else(|| date.clone())
        } else {
            date.clone()
        };
        let days = to - parse_date(&due).unwrap_or(to);
        docs.push(Aged {
            entity,
            kind,
            date,
            number,
            due,
            days,
            amount: sign * open,
        });
    }
    let ids: Vec<String> = chart(ctx)?
        .into_iter()
        .filter(|a| a.ty == side.control)
        .map(|a| a.id)
        .collect();
    let mut skip: Vec<&str> = side.docs.iter().map(|d| d.0).collect();
    skip.extend(side.through_docs);
    let list = skip
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(",");
    let mut other = ctx.db.prepare_cached(&format!(
        "SELECT p.entity, SUM(p.amount) FROM posting p LEFT JOIN txn t ON t.id = p.txn \
         WHERE p.account=?1 AND p.date<=?2 AND p.entity IS NOT NULL \
         AND (t.type IS NULL OR t.type NOT IN ({list})) GROUP BY p.entity"
    ))?;
    let mut loose: HashMap<String, i64> = HashMap::new();
    let sign = if side.control == "AccountsPayable" {
        -1
    } else {
        1
    };
    for a in &ids {
        let rows = other.query_map([a, &to_s], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for r in rows {
            let (e, v) = r?;
            *loose.entry(e).or_default() += sign * v;
        }
    }
    Ok((docs, loose))
}

/// `AgingReportQuery`: open receivables (AR) or payables (AP) by days
/// past due at the report date — by customer or vendor (summaries), by
/// document under each age (details), or overdue invoices by customer
/// (CollectionsReport).
pub fn aging(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let ty = rq.element().child_text("AgingReportType").unwrap_or("");
    let (side, title, detail) = match ty {
        "ARAgingSummary" => (&RECEIVABLE, "A/R Aging Summary", false),
        "APAgingSummary" => (&PAYABLE, "A/P Aging Summary", false),
        "ARAgingDetail" => (&RECEIVABLE, "A/R Aging Detail", true),
        "APAgingDetail" => (&PAYABLE, "A/P Aging Detail", true),
        "CollectionsReport" => (&RECEIVABLE, "Collections Report", true),
        _ => return Err(status(3250, &[])),
    };
    let (_, to) = period(ctx, rq, "Today")?;
    let (docs, loose) = aged(ctx, side, to)?;
    let row_type = if side.control == "AccountsPayable" {
        "vendor"
    } else {
        "customer"
    };
    let mut names: HashMap<String, String> = HashMap::new();
    let mut name = |id: &str| -> Res<String> {
        if let Some(n) = names.get(id) {
            return Ok(n.clone());
        }
        let n = store::full_name(ctx.db, "Name", id)?.unwrap_or_else(|| id.to_string());
        names.insert(id.to_string(), n.clone());
        Ok(n)
    };
    if !detail {
        let mut per: HashMap<String, [i64; 5]> = HashMap::new();
        for d in &docs {
            per.entry(d.entity.clone()).or_insert([0; 5])[bucket(d.days)] += d.amount;
        }
        for (e, v) in &loose {
            per.entry(e.clone()).or_insert([0; 5])[0] += v;
        }
        let mut rows: Vec<(String, [i64; 5])> = Vec::new();
        for (id, b) in per {
            if b.iter().all(|v| *v == 0) {
                continue;
            }
            rows.push((name(&id)?, b));
        }
        rows.sort_by_key(|a| a.0.to_lowercase());
        let mut cols = vec![("", "STRTYPE", "Label")];
        for b in BUCKETS {
            cols.push((b, "AMTTYPE", "Amount"));
        }
        cols.push(("TOTAL", "AMTTYPE", "Total"));
        let mut r = Report::new(title, format!("As of {}", long_date(to)), &cols);
        let mut totals = [0i64; 6];
        for (n, b) in &rows {
            let sum: i64 = b.iter().sum();
            let mut vals: Vec<Option<String>> = b.iter().map(|v| money(*v)).collect();
            vals.push(money(sum));
            for (i, v) in b.iter().enumerate() {
                totals[i] += v;
            }
            totals[5] += sum;
            r.row("DataRow", Some(row_type), n, &vals);
        }
        let vals: Vec<Option<String>> = totals.iter().map(|v| money(*v)).collect();
        r.row("TotalRow", None, "TOTAL", &vals);
        return answer(ctx, r.finish());
    }
    // Details: each open document under its age (or, for collections,
    // each overdue invoice under its customer).
    let collections = ty == "CollectionsReport";
    let mut r = Report::new(
        title,
        format!("As of {}", long_date(to)),
        &[
            ("", "STRTYPE", "Label"),
            ("Type", "STRTYPE", "TxnType"),
            ("Date", "DATETYPE", "Date"),
            ("Num", "STRTYPE", "RefNumber"),
            ("Name", "STRTYPE", "Name"),
            ("Due Date", "DATETYPE", "DueDate"),
            ("Aging", "INTTYPE", "Aging"),
            ("Open Balance", "AMTTYPE", "OpenBalance"),
        ],
    );
    let mut groups: Vec<(String, String, Vec<&Aged>)> = Vec::new();
    // What moves the control account outside documents (opening balances,
    // journal lines) is current, one row per name [I].
    let loose_rows: Vec<Aged> = loose
        .iter()
        .filter(|(_, v)| **v != 0 && !collections)
        .map(|(e, v)| Aged {
            entity: e.clone(),
            kind: "open".into(),
            date: date_text(to),
            number: None,
            due: date_text(to),
            days: 0,
            amount: *v,
        })
        .collect();
    let mut sorted: Vec<&Aged> = docs
        .iter()
        .filter(|d| !collections || (d.days > 0 && d.amount > 0))
        .chain(loose_rows.iter())
        .collect();
    sorted.sort_by(|a, b| {
        (&a.due, &a.date, &a.entity, &a.number).cmp(&(&b.due, &b.date, &b.entity, &b.number))
    });
    for d in sorted {
        let (key, label) = if collections {
            let n = name(&d.entity)?;
            (n.to_lowercase(), n)
        } else {
            let b = bucket(d.days);
            (b.to_string(), BUCKETS[b].to_string())
        };
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.2.push(d),
            None => groups.push((key, label, vec![d])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut total = 0;
    for (_, label, list) in &groups {
        r.text(label);
        let mut sub = 0;
        for d in list {
            sub += d.amount;
            let label = crate::reports::detail::type_label(&d.kind).to_string();
            r.row(
                "DataRow",
                None,
                "",
                &[
                    Some(label),
                    Some(d.date.clone()),
                    d.number.clone(),
                    Some(name(&d.entity)?),
                    Some(d.due.clone()),
                    (d.days > 0).then(|| d.days.to_string()),
                    money(d.amount),
                ],
            );
            if let Some(last) = r.rows.last_mut() {
                last.children.retain(|c| {
                    !(c.name == "ColData" && c.attrs.iter().any(|(k, v)| k == "colID" && v == "1"))
                });
            }
        }
        total += sub;
        let mut vals = vec![None; 6];
        vals.push(money(sub));
        r.row("SubtotalRow", None, &format!("Total {label}"), &vals);
    }
    let mut vals = vec![None; 6];
    vals.push(money(total));
    r.row("TotalRow", None, "TOTAL", &vals);
    answer(ctx, r.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtitles() {
        let d = |s: &str| parse_date(s).unwrap();
        assert_eq!(
            period_text(Some(d("2023-01-01")), d("2023-11-14")),
            "January 1 - November 14, 2023"
        );
        assert_eq!(
            period_text(Some(d("2023-11-01")), d("2023-11-14")),
            "November 1 - 14, 2023"
        );
        assert_eq!(
            period_text(Some(d("2022-12-01")), d("2023-01-31")),
            "December 1, 2022 - January 31, 2023"
        );
        assert_eq!(long_date(d("2023-11-04")), "November 4, 2023");
    }
}
