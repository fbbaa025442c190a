//! Summary reports that total figures by what a row stands for and what a
//! column stands for: `CustomSummaryReportQuery`, and the table the time,
//! job and payroll reports (`projects.rs`) write through.
//!
//! A [`Pivot`] collects (row key, column key, value) and writes them as
//! QuickBooks' summary layout: a label column, one column per key (in
//! order: accounts in chart order, names alphabetically, periods in date
//! order), a TOTAL column when there is more than one, a data row per
//! row key and a TOTAL row.

use super::detail::{
    entries, filters, load_chart, spec, Accounts, Chart, Entry, Group, Kinds, Names, Source,
};
use super::{answer, period, period_text, Report};
use crate::clock::{civil_from_days, date_text, days_from_civil, parse_date};
use crate::ledger::debit_normal;
use crate::store;
use crate::{Answer, Ctx, Res};
use qbxml::Request;
use std::collections::{BTreeMap, HashMap};

/// What a row or a column stands for (`SummarizeRowsBy`,
/// `SummarizeColumnsBy`).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Axis {
    Total,
    Account,
    /// A customer, vendor or employee (`None`: any name).
    Name(Option<&'static str>),
    Item,
    Rep,
    Period(Span),
}

/// The periods a date axis is cut in.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Span {
    Day,
    Week,
    TwoWeek,
    FourWeek,
    HalfMonth,
    Month,
    Quarter,
    Year,
}

impl Axis {
    /// The axis a `SummarizeRowsBy`/`SummarizeColumnsBy` value names.
    /// What the simulator does not keep (classes, customer types, terms,
    /// payment and ship methods, sales tax codes, payroll items) totals in
    /// one column [I].
    pub(super) fn of(v: &str) -> Axis {
        match v {
            "Account" | "BalanceSheet" | "IncomeStatement" | "TaxLine" => Axis::Account,
            "Customer" => Axis::Name(Some("Customer")),
            "Vendor" => Axis::Name(Some("Vendor")),
            "Employee" => Axis::Name(Some("Employee")),
            "Payee" => Axis::Name(None),
            "ItemDetail" | "ItemType" => Axis::Item,
            "SalesRep" => Axis::Rep,
            "Day" => Axis::Period(Span::Day),
            "Week" => Axis::Period(Span::Week),
            "TwoWeek" => Axis::Period(Span::TwoWeek),
            "FourWeek" => Axis::Period(Span::FourWeek),
            "HalfMonth" => Axis::Period(Span::HalfMonth),
            "Month" => Axis::Period(Span::Month),
            "Quarter" => Axis::Period(Span::Quarter),
            "Year" => Axis::Period(Span::Year),
            _ => Axis::Total,
        }
    }

    fn row_type(self) -> Option<&'static str> {
        match self {
            Axis::Account => Some("account"),
            Axis::Name(Some("Customer")) => Some("customer"),
            Axis::Name(Some("Vendor")) => Some("vendor"),
            Axis::Name(Some("Employee")) => Some("employee"),
            Axis::Name(_) => Some("name"),
            Axis::Item => Some("item"),
            Axis::Rep => Some("salesRep"),
            _ => None,
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The period a day falls in: (sort key, label). Weeks start on Sunday;
/// two- and four-week periods count from the report's first day.
fn period_of(span: Span, day: i64, start: i64) -> (String, String) {
    let (y, m, d) = civil_from_days(day);
    let short = |x: i64| {
        let (y, m, d) = civil_from_days(x);
        format!("{} {d}, {y}", MONTHS[(m - 1) as usize])
    };
    let from_to = |a: i64, b: i64| (date_text(a), format!("{} - {}", short(a), short(b)));
    match span {
        Span::Day => (date_text(day), short(day)),
        Span::Week => {
            let s = day - (day + 4).rem_euclid(7);
            from_to(s, s + 6)
        }
        Span::TwoWeek | Span::FourWeek => {
            let len = if span == Span::TwoWeek { 14 } else { 28 };
            let s = start + (day - start).div_euclid(len) * len;
            from_to(s, s + len - 1)
        }
        Span::HalfMonth => {
            let (a, b) = if d <= 15 {
                (days_from_civil(y, m, 1), days_from_civil(y, m, 15))
            } else {
                let next = if m == 12 {
                    days_from_civil(y + 1, 1, 1)
                } else {
                    days_from_civil(y, m + 1, 1)
                };
                (days_from_civil(y, m, 16), next - 1)
            };
            from_to(a, b)
        }
        Span::Month => (
            format!("{y:04}-{m:02}"),
            format!("{} {y}", MONTHS[(m - 1) as usize]),
        ),
        Span::Quarter => {
            let q = (m - 1) / 3 + 1;
            (format!("{y:04}-Q{q}"), format!("Q{q} {y}"))
        }
        Span::Year => (format!("{y:04}"), y.to_string()),
    }
}

/// A key: how it sorts, how it reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Key {
    pub(super) sort: String,
    pub(super) label: String,
}

impl Key {
    pub(super) fn new(sort: impl Into<String>, label: impl Into<String>) -> Key {
        Key {
            sort: sort.into(),
            label: label.into(),
        }
    }

    fn total() -> Key {
        Key::new("", "TOTAL")
    }
}

/// Looks keys up for entries: names and their kinds, read once.
pub(super) struct Keys<'c> {
    pub(super) names: Names,
    kinds: Kinds,
    chart: &'c Chart,
    start: i64,
}

impl<'c> Keys<'c> {
    pub(super) fn new(chart: &'c Chart, start: i64) -> Keys<'c> {
        Keys {
            names: Names::default(),
            kinds: Kinds::default(),
            chart,
            start,
        }
    }

    /// The key of a name (`None`: the entry is not of that kind).
    pub(super) fn name(
        &mut self,
        ctx: &Ctx<'_>,
        id: Option<&str>,
        kind: Option<&str>,
    ) -> Res<Option<Key>> {
        let Some(id) = id else {
            return Ok(kind.is_none().then(|| Key::new("~", "No name")));
        };
        if let Some(want) = kind {
            if self.kinds.of(ctx, "Name", id)? != want {
                return Ok(None);
            }
        }
        let label = self.names.get(ctx, "Name", id)?.unwrap_or_default();
        Ok(Some(Key::new(label.to_lowercase(), label)))
    }

    pub(super) fn item(&mut self, ctx: &Ctx<'_>, id: Option<&str>) -> Res<Key> {
        let label = match id {
            Some(i) => self.names.get(ctx, "Item", i)?.unwrap_or_default(),
            None => String::new(),
        };
        Ok(if label.is_empty() {
            Key::new("~", "No item")
        } else {
            Key::new(label.to_lowercase(), label)
        })
    }

    /// The key of an entry along an axis.
    pub(super) fn of(&mut self, ctx: &Ctx<'_>, axis: Axis, e: &Entry) -> Res<Option<Key>> {
        Ok(match axis {
            Axis::Total => Some(Key::total()),
            Axis::Account => e.account.as_ref().map(|a| {
                let pos = self.chart.by_id.get(a).map(|x| x.2).unwrap_or(usize::MAX);
                Key::new(format!("{pos:08}"), self.chart.name(a))
            }),
            // A by-customer row takes a purchase line's customer; other
            // names, the transaction's.
            Axis::Name(Some(kind)) => match self.name(ctx, e.own.as_deref(), Some(kind))? {
                Some(k) if e.own.is_some() => Some(k),
                _ => self.name(ctx, e.name.as_deref(), Some(kind))?,
            },
            Axis::Name(None) => self.name(ctx, e.name.as_deref(), None)?,
            Axis::Item => Some(self.item(ctx, e.item.as_deref())?),
            Axis::Rep => Some(match &e.rep {
                Some(r) => {
                    let l = self.names.get(ctx, "SalesRep", r)?.unwrap_or_default();
                    Key::new(l.to_lowercase(), l)
                }
                None => Key::new("~", "No sales rep"),
            }),
            Axis::Period(span) => {
                let day = parse_date(&e.date).unwrap_or(self.start);
                let (s, l) = period_of(span, day, self.start);
                Some(Key::new(s, l))
            }
        })
    }
}

/// Figures by (row, column).
#[derive(Default)]
pub(super) struct Pivot {
    rows: BTreeMap<Key, HashMap<Key, i64>>,
    cols: BTreeMap<Key, ()>,
}

impl Pivot {
    pub(super) fn add(&mut self, row: Key, col: Key, v: i64) {
        self.cols.insert(col.clone(), ());
        *self.rows.entry(row).or_default().entry(col).or_default() += v;
    }

    /// Write the table. `fmt` prints a value; `total` gives the TOTAL
    /// row's value for a column from its rows' (a plain sum unless the
    /// rows are in different signs).
    pub(super) fn write(
        self,
        title: &str,
        subtitle: String,
        data_type: &'static str,
        row_type: Option<&'static str>,
        fmt: &dyn Fn(i64) -> String,
        total: &dyn Fn(&Key, i64) -> i64,
    ) -> qbxml::Elem {
        let cols: Vec<Key> = self.cols.into_keys().collect();
        let with_total = cols.len() != 1 || cols[0] != Key::total();
        let mut desc: Vec<(&str, &'static str, &'static str)> = vec![("", "STRTYPE", "Label")];
        if with_total {
            for c in &cols {
                desc.push((c.label.as_str(), data_type, "Amount"));
            }
        }
        desc.push(("TOTAL", data_type, "Total"));
        let mut r = Report::new(title, subtitle, &desc);
        let mut col_totals = vec![0i64; cols.len()];
        let mut grand = 0;
        for (row, values) in &self.rows {
            let mut vals = Vec::new();
            let mut sum = 0;
            for (k, c) in cols.iter().enumerate() {
                let v = values.get(c).copied().unwrap_or(0);
                sum += v;
                col_totals[k] += total(row, v);
                if with_total {
                    vals.push(Some(fmt(v)));
                }
            }
            grand += total(row, sum);
            vals.push(Some(fmt(sum)));
            r.row_with(
                "DataRow",
                row_type.map(|t| (t, row.label.as_str())),
                &row.label,
                &vals,
            );
        }
        let mut vals: Vec<Option<String>> = Vec::new();
        if with_total {
            vals.extend(col_totals.iter().map(|v| Some(fmt(*v))));
        }
        vals.push(Some(fmt(grand)));
        r.row("TotalRow", None, "TOTAL", &vals);
        r.finish()
    }
}

/// `CustomSummaryReportQuery`: the ledger's figures by the rows and
/// columns asked for. Rows of accounts show each account in its own sign
/// (BalanceSheet: the balance-sheet accounts' balances at the end of the
/// period; IncomeStatement: the profit-and-loss accounts' activity;
/// Account: every account's activity in the period); rows of anything
/// else show what it brought to net income (income less expense) [I]. The
/// TOTAL row nets debits and credits: net income (credit-positive) for the
/// income statement, debits less credits otherwise.
pub fn custom_summary(ctx: &Ctx<'_>, rq: &Request<'_>) -> Res<Answer> {
    let e = rq.element();
    let rows_by = e.child_text("SummarizeRowsBy").unwrap_or("Account");
    let row_axis = Axis::of(rows_by);
    let col_axis = Axis::of(e.child_text("SummarizeColumnsBy").unwrap_or("TotalOnly"));
    let (from, to) = period(ctx, rq, "ThisMonthToDate")?;
    let accounts = match rows_by {
        "BalanceSheet" => Accounts::BalanceSheet,
        "IncomeStatement" => Accounts::ProfitAndLoss,
        "Account" | "TaxLine" => Accounts::All,
        _ => Accounts::ProfitAndLoss,
    };
    let chart = load_chart(ctx)?;
    let source = spec("CustomSummary", "", Source::Postings, Group::None, &[]);
    // Balances need everything before the period too.
    let balances = accounts == Accounts::BalanceSheet;
    let rows = entries(ctx, &source, if balances { None } else { from }, to, &chart)?;
    let mut f = filters(ctx, e)?;
    let mut keys = Keys::new(&chart, from.unwrap_or(to));
    let mut p = Pivot::default();
    let mut raw_sign: HashMap<Key, i64> = HashMap::new();
    for r in &rows {
        let a = r.account.as_deref().unwrap_or("");
        if !chart.keeps(accounts, a) {
            continue;
        }
        if !f.keeps(ctx, &chart, r)? {
            continue;
        }
        let (Some(row), Some(col)) = (keys.of(ctx, row_axis, r)?, keys.of(ctx, col_axis, r)?)
        else {
            continue;
        };
        let natural = if debit_normal(chart.ty(a)) { 1 } else { -1 };
        let (v, back) = if row_axis == Axis::Account {
            // Shown in the account's sign; the total nets debits and
            // credits (credit-positive for the income statement).
            let total_sign = if accounts == Accounts::ProfitAndLoss {
                -1
            } else {
                1
            };
            (natural * r.amount, natural * total_sign)
        } else {
            (-r.amount, 1)
        };
        raw_sign.insert(row.clone(), back);
        p.add(row, col, v);
    }
    let sign = |row: &Key, v: i64| v * raw_sign.get(row).copied().unwrap_or(1);
    let report = p.write(
        "Custom Summary Report",
        period_text(from, to),
        "AMTTYPE",
        row_axis.row_type(),
        &|v| store::money(v),
        &sign,
    );
    answer(ctx, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let d = |s: &str| parse_date(s).unwrap();
        let start = d("2023-01-01");
        assert_eq!(period_of(Span::Month, d("2023-11-14"), start).1, "Nov 2023");
        assert_eq!(
            period_of(Span::Quarter, d("2023-11-14"), start).1,
            "Q4 2023"
        );
        // 2023-11-14 is a Tuesday: its week is Sunday 12 to Saturday 18.
        assert_eq!(
            period_of(Span::Week, d("2023-11-14"), start).1,
            "Nov 12, 2023 - Nov 18, 2023"
        );
        assert_eq!(
            period_of(Span::HalfMonth, d("2023-02-20"), start).1,
            "Feb 16, 2023 - Feb 28, 2023"
        );
        assert_eq!(
            period_of(Span::TwoWeek, d("2023-01-15"), start).1,
            "Jan 15, 2023 - Jan 28, 2023"
        );
        assert_eq!(Axis::of("Customer"), Axis::Name(Some("Customer")));
        assert_eq!(Axis::of("Class"), Axis::Total);
    }
}
