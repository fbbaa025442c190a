//! Time as QuickBooks writes it.
//!
//! QuickBooks stamps `TimeCreated`/`TimeModified` with the local wall-clock
//! time of the PC but labels it with the zone's *standard* offset, even in
//! summer (FACTS §5: 242 DST-month values are exactly one hour off the epoch
//! in their EditSequence). We store UTC seconds and render that quirk.
//!
//! No time-zone database: a zone is a standard offset plus a DST rule
//! (none, US since 2007, EU), which is what a QuickBooks PC in the US,
//! Canada or the UK needs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from: the system clock, or a settable one for tests.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// A fixed instant (Unix seconds) that tests may move.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(epoch: i64) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(epoch)))
    }

    pub fn now(&self) -> i64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            Clock::Manual(t) => t.load(Ordering::Relaxed),
        }
    }

    /// Move a manual clock forward (no effect on the system clock).
    pub fn advance(&self, secs: i64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(secs, Ordering::Relaxed);
        }
    }
}

/// Daylight-saving rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dst {
    None,
    /// Second Sunday of March 02:00 local to first Sunday of November 02:00.
    Us,
    /// Last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
    Eu,
}

/// The company's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeZone {
    /// Standard offset from UTC in minutes (US Eastern: -300).
    pub std_offset_min: i32,
    pub dst: Dst,
}

impl Default for TimeZone {
    /// US Eastern, the zone of the Rock Castle dumps (`-05:00`).
    fn default() -> TimeZone {
        TimeZone {
            std_offset_min: -300,
            dst: Dst::Us,
        }
    }
}

impl TimeZone {
    /// `US/Eastern`, `US/Central`, `US/Mountain`, `US/Arizona`, `US/Pacific`,
    /// `Europe/London`, `UTC`, or a fixed offset such as `-05:00`.
    pub fn parse(s: &str) -> Option<TimeZone> {
        let us = |h: i32| TimeZone {
            std_offset_min: h * 60,
            dst: Dst::Us,
        };
        Some(match s {
            "US/Eastern" | "America/New_York" => us(-5),
            "US/Central" | "America/Chicago" => us(-6),
            "US/Mountain" | "America/Denver" => us(-7),
            "US/Pacific" | "America/Los_Angeles" => us(-8),
            "US/Arizona" | "America/Phoenix" => TimeZone {
                std_offset_min: -420,
                dst: Dst::None,
            },
            "Europe/London" => TimeZone {
                std_offset_min: 0,
                dst: Dst::Eu,
            },
            "UTC" => TimeZone {
                std_offset_min: 0,
                dst: Dst::None,
            },
            _ => {
                let (sign, rest) = match s.as_bytes().first()? {
                    b'+' => (1, &s[1..]),
                    b'-' => (-1, &s[1..]),
                    _ => return None,
                };
                let (h, m) = rest.split_once(':')?;
                let h: i32 = h.parse().ok()?;
                let m: i32 = m.parse().ok()?;
                if !(0..=14).contains(&h) || !(0..60).contains(&m) {
                    return None;
                }
                TimeZone {
                    std_offset_min: sign * (h * 60 + m),
                    dst: Dst::None,
                }
            }
        })
    }

    /// The zone as `parse` accepts it (fixed-offset form for custom zones).
    pub fn name(&self) -> String {
        let named = [
            "US/Eastern",
            "US/Central",
            "US/Mountain",
            "US/Pacific",
            "US/Arizona",
            "Europe/London",
            "UTC",
        ];
        for n in named {
            if TimeZone::parse(n) == Some(*self) {
                return n.to_string();
            }
        }
        offset_text(self.std_offset_min)
    }

    fn in_dst(&self, utc: i64) -> bool {
        let std_local = utc + self.std_offset_min as i64 * 60;
        let (y, _, _) = civil_from_days(std_local.div_euclid(86_400));
        match self.dst {
            Dst::None => false,
            Dst::Us => {
                // Transitions at 02:00 local standard time (start) and
                // 02:00 local daylight time = 01:00 standard (end).
                let start = days_from_civil(y, 3, nth_sunday(y, 3, 2)) * 86_400 + 2 * 3600;
                let end = days_from_civil(y, 11, nth_sunday(y, 11, 1)) * 86_400 + 3600;
                std_local >= start && std_local < end
            }
            Dst::Eu => {
                let start = days_from_civil(y, 3, last_sunday(y, 3)) * 86_400 + 3600;
                let end = days_from_civil(y, 10, last_sunday(y, 10)) * 86_400 + 3600;
                utc >= start && utc < end
            }
        }
    }

    /// `YYYY-MM-DDThh:mm:ss±hh:mm`: local wall time, standard offset.
    pub fn format(&self, utc: i64) -> String {
        let dst = if self.in_dst(utc) { 3600 } else { 0 };
        let local = utc + self.std_offset_min as i64 * 60 + dst;
        let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
        let s = local.rem_euclid(86_400);
        if !(0..=9999).contains(&y) {
            return format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{}",
                s / 3600,
                s / 60 % 60,
                s % 60,
                offset_text(self.std_offset_min)
            );
        }
        // By hand: every Ret has two of these, and `format!` costs more
        // than the rest of writing them.
        let mut out = String::with_capacity(25);
        let digits = |out: &mut String, n: i64, width: u32| {
            for k in (0..width).rev() {
                let digit = (n / 10_i64.pow(k)) % 10;
                out.push(char::from(b'0' + digit as u8));
            }
        };
        digits(&mut out, y, 4);
        out.push('-');
        digits(&mut out, i64::from(mo), 2);
        out.push('-');
        digits(&mut out, i64::from(d), 2);
        out.push('T');
        digits(&mut out, s / 3600, 2);
        out.push(':');
        digits(&mut out, s / 60 % 60, 2);
        out.push(':');
        digits(&mut out, s % 60, 2);
        let off = self.std_offset_min;
        out.push(if off < 0 { '-' } else { '+' });
        digits(&mut out, i64::from(off.abs() / 60), 2);
        out.push(':');
        digits(&mut out, i64::from(off.abs() % 60), 2);
        out
    }

    /// Today's date in the company's zone, `YYYY-MM-DD`.
    pub fn date(&self, utc: i64) -> String {
        let dst = if self.in_dst(utc) { 3600 } else { 0 };
        let local = utc + self.std_offset_min as i64 * 60 + dst;
        let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
        format!("{y:04}-{mo:02}-{d:02}")
    }

    /// Read a request date or datetime as UTC seconds. Without an offset it
    /// is local wall time (QuickBooks' reading); with one, that offset.
    /// A bare date is its midnight. `end` makes a bare date its last second
    /// (for `To…` bounds).
    pub fn parse_datetime(&self, s: &str, end: bool) -> Option<i64> {
        let s = s.trim();
        let (date, time) = match s.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (s, None),
        };
        let mut it = date.splitn(3, '-');
        let y: i64 = it.next()?.parse().ok()?;
        let mo: u32 = it.next()?.parse().ok()?;
        let d: u32 = it.next()?.parse().ok()?;
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        let Some(time) = time else {
            let secs = days * 86_400 + if end { 86_399 } else { 0 };
            return Some(self.local_to_utc(secs));
        };
        let (clock, offset) = match time.find(['+', '-', 'Z']) {
            Some(i) => (&time[..i], Some(&time[i..])),
            None => (time, None),
        };
        let mut parts = clock.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let mi: i64 = parts.next().unwrap_or("0").parse().ok()?;
        let se: i64 = parts.next().unwrap_or("0").parse().ok()?;
        let local = days * 86_400 + h * 3600 + mi * 60 + se;
        match offset {
            None => Some(self.local_to_utc(local)),
            Some("Z") => Some(local),
            Some(o) => {
                let tz = TimeZone::parse(o)?;
                Some(local - tz.std_offset_min as i64 * 60)
            }
        }
    }

    fn local_to_utc(&self, local: i64) -> i64 {
        let guess = local - self.std_offset_min as i64 * 60;
        if self.in_dst(guess - 3600) {
            guess - 3600
        } else {
            guess
        }
    }
}

fn offset_text(min: i32) -> String {
    let sign = if min < 0 { '-' } else { '+' };
    let a = min.abs();
    format!("{sign}{:02}:{:02}", a / 60, a % 60)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn weekday(days: i64) -> i64 {
    // 1970-01-01 was a Thursday; 0 = Sunday.
    (days + 4).rem_euclid(7)
}

fn nth_sunday(y: i64, m: u32, n: u32) -> u32 {
    let first = days_from_civil(y, m, 1);
    let to_sunday = (7 - weekday(first)) % 7;
    1 + to_sunday as u32 + 7 * (n - 1)
}

fn last_sunday(y: i64, m: u32) -> u32 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    let last = next - 1;
    let (_, _, d) = civil_from_days(last - weekday(last));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written formatter writes what `format!` did.
    #[test]
    fn format_by_hand_matches_format() {
        let reference = |tz: &TimeZone, utc: i64| {
            let dst = if tz.in_dst(utc) { 3600 } else { 0 };
            let local = utc + tz.std_offset_min as i64 * 60 + dst;
            let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
            let s = local.rem_euclid(86_400);
            format!(
                "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}{}",
                s / 3600,
                s / 60 % 60,
                s % 60,
                offset_text(tz.std_offset_min)
            )
        };
        for off in [-300, 0, 330, -570, 600] {
            let tz = TimeZone {
                std_offset_min: off,
                ..TimeZone::default()
            };
            let mut t = -86_400 * 365 * 3;
            while t < 2_000_000_000 {
                assert_eq!(tz.format(t), reference(&tz, t), "{off} {t}");
                t += 7_654_321;
            }
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    /// Real pairs from the Rock Castle dump: EditSequence epoch and the
    /// TimeModified QuickBooks printed (Eastern, standard offset always).
    #[test]
    fn standard_offset_even_in_summer() {
        let tz = TimeZone::default();
        // Winter: exact.
        assert_eq!(tz.format(1_702_703_202), "2023-12-16T00:06:42-05:00");
        // Summer: wall clock is EDT (UTC-4) but labelled -05:00.
        assert_eq!(tz.format(1_343_306_783), "2012-07-26T08:46:23-05:00");
        assert_eq!(tz.format(933_272_658), "1999-07-29T14:24:18-05:00");
    }

    #[test]
    fn parse_local_and_offset() {
        let tz = TimeZone::default();
        assert_eq!(
            tz.parse_datetime("2023-12-16T00:06:42", false),
            Some(1_702_703_202)
        );
        assert_eq!(
            tz.parse_datetime("2023-12-16T00:06:42-05:00", false),
            Some(1_702_703_202)
        );
        assert_eq!(
            tz.parse_datetime("2012-07-26T08:46:23", false),
            Some(1_343_306_783)
        );
        assert!(tz.parse_datetime("2023-13-01", false).is_none());
        assert_eq!(
            TimeZone::parse("-05:00").map(|t| t.std_offset_min),
            Some(-300)
        );
        assert_eq!(
            TimeZone::parse("US/Pacific").map(|t| t.name()),
            Some("US/Pacific".into())
        );
    }
}

/// `YYYY-MM-DD` → days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Days since 1970-01-01 → `YYYY-MM-DD`.
pub fn date_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The days of the month `months` after (y, m)'s first day.
fn month_start(y: i64, m: u32, months: i64) -> i64 {
    let idx = y * 12 + (m as i64 - 1) + months;
    days_from_civil(idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32, 1)
}

/// The inclusive (from, to) days of a qbXML `DateMacro` relative to
/// `today` (the enumerations of qbxmlops130: DateMacro's `ThisCalendarYear`
/// and ReportDateMacro's `ThisYear` are the same period). Weeks start on Sunday; the
/// fiscal year is the calendar year [I] (QuickBooks reads both from the
/// company's preferences).
pub fn macro_range(name: &str, today: i64) -> Option<(Option<i64>, Option<i64>)> {
    let (y, m, _) = civil_from_days(today);
    let week = today - weekday(today);
    let q0 = (m - 1) / 3 * 3 + 1;
    let month = |k: i64| (month_start(y, m, k), month_start(y, m, k + 1) - 1);
    let quarter = |k: i64| (month_start(y, q0, 3 * k), month_start(y, q0, 3 * k + 3) - 1);
    let year = |k: i64| {
        (
            days_from_civil(y + k, 1, 1),
            days_from_civil(y + k + 1, 1, 1) - 1,
        )
    };
    let (f, t) = match name {
        "All" => return Some((None, None)),
        "Today" => (today, today),
        "Yesterday" => (today - 1, today - 1),
        "ThisWeek" => (week, week + 6),
        "ThisWeekToDate" => (week, today),
        "LastWeek" => (week - 7, week - 1),
        "LastWeekToDate" => (week - 7, today - 7),
        "NextWeek" => (week + 7, week + 13),
        "NextFourWeeks" => (week + 7, week + 34),
        "ThisMonth" => month(0),
        "ThisMonthToDate" => (month(0).0, today),
        "LastMonth" => month(-1),
        "LastMonthToDate" => {
            let (f, t) = month(-1);
            (f, (f + (today - month(0).0)).min(t))
        }
        "NextMonth" => month(1),
        "ThisQuarter" | "ThisCalendarQuarter" | "ThisFiscalQuarter" => quarter(0),
        "ThisQuarterToDate" | "ThisCalendarQuarterToDate" | "ThisFiscalQuarterToDate" => {
            (quarter(0).0, today)
        }
        "LastQuarter" | "LastCalendarQuarter" | "LastFiscalQuarter" => quarter(-1),
        "LastQuarterToDate" | "LastCalendarQuarterToDate" | "LastFiscalQuarterToDate" => {
            let (f, t) = quarter(-1);
            (f, (f + (today - quarter(0).0)).min(t))
        }
        "NextQuarter" | "NextCalendarQuarter" | "NextFiscalQuarter" => quarter(1),
        "ThisYear" | "ThisCalendarYear" | "ThisFiscalYear" => year(0),
        "ThisYearToDate" | "ThisCalendarYearToDate" | "ThisFiscalYearToDate" => (year(0).0, today),
        "LastYear" | "LastCalendarYear" | "LastFiscalYear" => year(-1),
        "LastYearToDate" | "LastCalendarYearToDate" | "LastFiscalYearToDate" => {
            let (f, t) = year(-1);
            (f, (f + (today - year(0).0)).min(t))
        }
        "NextYear" | "NextCalendarYear" | "NextFiscalYear" => year(1),
        _ => return None,
    };
    Some((Some(f), Some(t)))
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn macros() {
        let today = parse_date("2024-05-15").unwrap(); // a Wednesday
        let r = |n: &str| {
            let (f, t) = macro_range(n, today).unwrap();
            (f.map(date_text), t.map(date_text))
        };
        let s = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
        assert_eq!(r("ThisWeek"), s("2024-05-12", "2024-05-18"));
        assert_eq!(r("LastMonth"), s("2024-04-01", "2024-04-30"));
        assert_eq!(r("ThisCalendarQuarter"), s("2024-04-01", "2024-06-30"));
        assert_eq!(r("LastFiscalQuarter"), s("2024-01-01", "2024-03-31"));
        assert_eq!(r("ThisCalendarYearToDate"), s("2024-01-01", "2024-05-15"));
        assert_eq!(r("LastFiscalYear"), s("2023-01-01", "2023-12-31"));
        assert_eq!(r("NextMonth"), s("2024-06-01", "2024-06-30"));
        assert_eq!(r("All"), (None, None));
        assert!(macro_range("Someday", today).is_none());
    }
}
