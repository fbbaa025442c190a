//! The filters list queries and transaction queries share (FACTS §5):
//! a text matched by `MatchCriterion` (NameFilter, RefNumberFilter), a
//! range of texts (NameRangeFilter, RefNumberRangeFilter), and a range of
//! times (FromModifiedDate/ToModifiedDate, DeletedDateRangeFilter).
//! Texts compare case-insensitively, as QuickBooks' do.

use crate::Ctx;
use qbxml::Element;

/// `MatchCriterion` with its text: `StartsWith` (the default),
/// `Contains`, `EndsWith`.
#[derive(Clone, Debug)]
pub(crate) struct TextMatch {
    criterion: Criterion,
    /// Lower-cased.
    text: String,
}

#[derive(Clone, Copy, Debug)]
enum Criterion {
    StartsWith,
    Contains,
    EndsWith,
}

impl TextMatch {
    /// From a filter element whose text is in `value` (`Name`,
    /// `RefNumber`).
    pub fn read(filter: Element<'_>, value: &str) -> TextMatch {
        TextMatch {
            criterion: match filter.child_text("MatchCriterion") {
                Some("Contains") => Criterion::Contains,
                Some("EndsWith") => Criterion::EndsWith,
                _ => Criterion::StartsWith,
            },
            text: filter.child_text(value).unwrap_or("").to_lowercase(),
        }
    }

    /// Whether `lowered` (a lower-cased value) matches.
    pub fn keeps(&self, lowered: &str) -> bool {
        let t = self.text.as_str();
        match self.criterion {
            Criterion::StartsWith => lowered.starts_with(t),
            Criterion::Contains => lowered.contains(t),
            Criterion::EndsWith => lowered.ends_with(t),
        }
    }
}

/// A range of texts, each end open when absent; lower-cased. How a value
/// compares with its ends is the caller's (names and RefNumbers differ).
#[derive(Clone, Debug, Default)]
pub(crate) struct TextRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl TextRange {
    pub fn read(filter: Element<'_>, from: &str, to: &str) -> TextRange {
        TextRange {
            from: filter.child_text(from).map(str::to_lowercase),
            to: filter.child_text(to).map(str::to_lowercase),
        }
    }
}

/// A range of times (Unix seconds) from two date-time children of `e`
/// in the company's zone: `from` at the start of its day when it is a
/// date, `to` at its end. An end that is absent or does not parse is
/// open.
pub(crate) fn time_range(
    ctx: &Ctx<'_>,
    e: Element<'_>,
    from: &str,
    to: &str,
) -> (Option<i64>, Option<i64>) {
    (
        e.child_text(from)
            .and_then(|d| ctx.tz.parse_datetime(d, false)),
        e.child_text(to)
            .and_then(|d| ctx.tz.parse_datetime(d, true)),
    )
}
