//! Checks of simple-type values (the text of leaf elements).
//!
//! QuickBooks parses the XML against its DTD first (structure errors fail the
//! whole message set), then converts each field to its type; a value that
//! does not convert fails only its request, with a status code (FACTS §2).
//! These functions are that conversion step. Values are trimmed of XML
//! whitespace before non-string checks, as XSD does for booleans, dates and
//! decimals ([I] for the pattern-based money types; documented).

use crate::schema::Kind;

/// A value that does not convert: the status code and our explanation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Bad {
    pub code: u32,
    pub detail: String,
}

fn bad(code: u32, detail: impl Into<String>) -> Result<(), Bad> {
    Err(Bad {
        code,
        detail: detail.into(),
    })
}

/// Facets that apply to one value.
pub(crate) struct Facets<'a> {
    pub max_len: Option<u32>,
    pub enums: &'a mut dyn Iterator<Item = &'static str>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

pub(crate) fn check(kind: Kind, raw: &str, f: Facets<'_>) -> Result<(), Bad> {
    match kind {
        Kind::Str | Kind::Uuid | Kind::Macro => return too_long(raw, f.max_len, 3070),
        Kind::Id => return too_long(raw, f.max_len.or(Some(36)), 3000),
        _ => {}
    }
    let v = raw.trim_matches(is_xml_ws);
    match kind {
        Kind::Str | Kind::Uuid | Kind::Macro | Kind::Id => Ok(()),
        Kind::Enum => {
            let mut any = false;
            for e in f.enums {
                if e == v {
                    return Ok(());
                }
                any = true;
            }
            if any {
                bad(3065, "not one of the values the schema lists")
            } else {
                too_long(raw, f.max_len, 3070)
            }
        }
        Kind::Bool => match v {
            "true" | "false" | "1" | "0" | "" => Ok(()),
            _ => bad(3010, "a boolean is true, false, 1 or 0"),
        },
        Kind::Date => {
            if v.is_empty() || date(v).is_some() {
                Ok(())
            } else {
                bad(3020, "a date is YYYY-MM-DD")
            }
        }
        Kind::DateTime => {
            if v.is_empty() || date_time(v) {
                Ok(())
            } else {
                bad(
                    3020,
                    "a date-time is YYYY-MM-DDThh:mm:ss, optionally with an offset such as -05:00",
                )
            }
        }
        Kind::TimeInterval => {
            if v.is_empty() || time_interval(v) {
                Ok(())
            } else {
                bad(3035, "a time interval is PTnHnMnS, e.g. PT1H30M")
            }
        }
        Kind::Amt => {
            if v.is_empty() || decimal(v, 13, 2, 2) {
                range(v, &f, 3040)
            } else {
                bad(
                    3040,
                    "an amount has at most 13 digits and either no decimals or exactly 2",
                )
            }
        }
        Kind::Price | Kind::Quan | Kind::Percent => {
            let (code, what) = match kind {
                Kind::Price => (3045, "a price"),
                Kind::Quan => (3050, "a quantity"),
                _ => (3055, "a percentage"),
            };
            if v.is_empty() || decimal(v, 10, 1, 5) {
                range(v, &f, code)
            } else {
                bad(code, format!("{what} has at most 10 digits and 5 decimals"))
            }
        }
        Kind::Int => {
            let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return bad(3060, "an integer is expected");
            }
            range(v, &f, 3060)
        }
        Kind::Float => {
            if v.is_empty() || float(v) {
                range(v, &f, 3060)
            } else {
                bad(3060, "a decimal number is expected")
            }
        }
        Kind::Guid => {
            if guid(v) {
                Ok(())
            } else {
                bad(
                    3000,
                    "a GUID is {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} or 0",
                )
            }
        }
    }
}

fn too_long(raw: &str, max: Option<u32>, code: u32) -> Result<(), Bad> {
    let Some(max) = max else { return Ok(()) };
    // Bytes bound characters from above: most values never count chars.
    if raw.len() <= max as usize {
        return Ok(());
    }
    let n = raw.chars().count();
    if n <= max as usize {
        return Ok(());
    }
    bad(
        code,
        format!("{n} characters; QuickBooks Desktop allows {max} here"),
    )
}

fn range(v: &str, f: &Facets<'_>, code: u32) -> Result<(), Bad> {
    if f.min.is_none() && f.max.is_none() {
        return Ok(());
    }
    let Ok(x) = v.parse::<f64>() else {
        return Ok(()); // empty; the format check passed
    };
    if let Some(min) = f.min.filter(|&m| x < m) {
        return bad(code, format!("the smallest value allowed is {min}"));
    }
    if let Some(max) = f.max.filter(|&m| x > m) {
        return bad(code, format!("the largest value allowed is {max}"));
    }
    Ok(())
}

fn digits(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// `[+-]?d{1,int_max}(.d{frac_min..=frac_max})?`
fn decimal(v: &str, int_max: usize, frac_min: usize, frac_max: usize) -> bool {
    let s = v.strip_prefix(['+', '-']).unwrap_or(v);
    let i = digits(s);
    if i == 0 || i > int_max {
        return false;
    }
    let rest = &s[i..];
    if rest.is_empty() {
        return true;
    }
    let Some(frac) = rest.strip_prefix('.') else {
        return false;
    };
    let n = digits(frac);
    n == frac.len() && n >= frac_min && n <= frac_max
}

/// xsd:decimal
fn float(v: &str) -> bool {
    let s = v.strip_prefix(['+', '-']).unwrap_or(v);
    let i = digits(s);
    let rest = &s[i..];
    match rest.strip_prefix('.') {
        None => i > 0 && rest.is_empty(),
        Some(frac) => {
            let n = digits(frac);
            n == frac.len() && (i > 0 || n > 0)
        }
    }
}

fn num(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<(u32, &str)> {
    let n = digits(s);
    if !len.contains(&n) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD`, with an optional `Z` or `±hh:mm` (xsd:date). Returns what
/// follows the day for reuse by date_time.
fn ymd(v: &str, strict_two_digits: bool) -> Option<&str> {
    let two = if strict_two_digits { 2..=2 } else { 1..=2 };
    let (y, rest) = num(v, 4..=4)?;
    let (m, rest) = num(rest.strip_prefix('-')?, two.clone())?;
    let (d, rest) = num(rest.strip_prefix('-')?, two)?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(rest)
}

fn offset(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['+', '-']) else {
        return false;
    };
    let Some((h, rest)) = num(rest, 1..=2) else {
        return false;
    };
    let Some((m, rest)) = rest.strip_prefix(':').and_then(|r| num(r, 1..=2)) else {
        return false;
    };
    rest.is_empty() && h <= 14 && m <= 59
}

fn date(v: &str) -> Option<()> {
    let rest = ymd(v, true)?;
    (rest.is_empty() || rest == "Z" || offset(rest)).then_some(())
}

/// DATETIMETYPE: `YYYY-M-D(Th(:m(:s(±h:m)?)?)?)?` with values in range.
fn date_time(v: &str) -> bool {
    let Some(rest) = ymd(v, false) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix('T') else {
        return false;
    };
    let Some((h, rest)) = num(rest, 1..=2) else {
        return false;
    };
    if h > 23 {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let Some((m, rest)) = rest.strip_prefix(':').and_then(|r| num(r, 1..=2)) else {
        return false;
    };
    if m > 59 {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let Some((s, rest)) = rest.strip_prefix(':').and_then(|r| num(r, 1..=2)) else {
        return false;
    };
    s <= 59 && (rest.is_empty() || offset(rest))
}

fn time_interval(v: &str) -> bool {
    let s = v.strip_prefix(['+', '-']).unwrap_or(v);
    let Some(mut rest) = s.strip_prefix("PT") else {
        return false;
    };
    for unit in ['H', 'M', 'S'] {
        let n = digits(rest);
        if n > 0 {
            match rest[n..].strip_prefix(unit) {
                Some(r) => rest = r,
                None if unit == 'S' => return false,
                None => continue,
            }
        }
    }
    rest.is_empty()
}

fn guid(v: &str) -> bool {
    if v == "0" {
        return true;
    }
    let Some(inner) = v.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
        return false;
    };
    let groups: Vec<&str> = inner.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(kind: Kind, v: &str) -> Option<u32> {
        let mut none = std::iter::empty();
        check(
            kind,
            v,
            Facets {
                max_len: Some(5),
                enums: &mut none,
                min: None,
                max: None,
            },
        )
        .err()
        .map(|b| b.code)
    }

    #[test]
    fn amounts_follow_amttype() {
        for ok in [
            "",
            "0",
            "100.00",
            "-5.25",
            "+1",
            "1234567890123.99",
            " 12.00 ",
        ] {
            assert_eq!(code(Kind::Amt, ok), None, "{ok}");
        }
        // "97.5" and "246.9" were refused by real QuickBooks with 3040.
        for badv in [
            "97.5",
            "246.9",
            "100.0",
            "1,000.00",
            "$5",
            "12345678901234",
            "1.234",
            ".50",
            "abc",
        ] {
            assert_eq!(code(Kind::Amt, badv), Some(3040), "{badv}");
        }
    }

    #[test]
    fn dates_and_times() {
        for ok in [
            "2024-02-29",
            "1999-12-31",
            "",
            "2024-01-01Z",
            "2024-01-01-05:00",
        ] {
            assert_eq!(code(Kind::Date, ok), None, "{ok}");
        }
        for badv in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-1",
            "24-01-01",
            "2024/01/01",
            "yesterday",
        ] {
            assert_eq!(code(Kind::Date, badv), Some(3020), "{badv}");
        }
        for ok in [
            "2019-01-01T00:00:00",
            "1984-01-29T22:03:19",
            "2008-07-05T09:46:33-05:00",
            "2019-1-1",
            "2019-01-01T5",
        ] {
            assert_eq!(code(Kind::DateTime, ok), None, "{ok}");
        }
        for badv in [
            "2019-01-01T24:00:00",
            "2019-01-01 10:00:00",
            "2019-02-30T00:00:00",
            "now",
        ] {
            assert_eq!(code(Kind::DateTime, badv), Some(3020), "{badv}");
        }
        assert_eq!(code(Kind::TimeInterval, "PT1H30M"), None);
        assert_eq!(code(Kind::TimeInterval, "PT45S"), None);
        assert_eq!(code(Kind::TimeInterval, "1:30"), Some(3035));
        assert_eq!(code(Kind::TimeInterval, "PT1X"), Some(3035));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(code(Kind::Bool, "true"), None);
        assert_eq!(code(Kind::Bool, "1"), None);
        assert_eq!(code(Kind::Bool, "yes"), Some(3010));
        assert_eq!(code(Kind::Bool, "True"), Some(3010));
        assert_eq!(code(Kind::Str, "12345"), None);
        assert_eq!(code(Kind::Str, "123456"), Some(3070));
        assert_eq!(code(Kind::Str, "ééééé"), None, "length is in characters");
        assert_eq!(code(Kind::Int, "12"), None);
        assert_eq!(code(Kind::Int, ""), Some(3060));
        assert_eq!(code(Kind::Int, "1.5"), Some(3060));
        assert_eq!(code(Kind::Quan, "1.12345"), None);
        assert_eq!(code(Kind::Quan, "1.123456"), Some(3050));
        assert_eq!(code(Kind::Price, "13.344911793183279"), Some(3045));
        assert_eq!(code(Kind::Percent, "8.75"), None);
        assert_eq!(
            code(Kind::Guid, "{eb05f701-e727-472f-8ade-6753c4f67a46}"),
            None
        );
        assert_eq!(code(Kind::Guid, "0"), None);
        assert_eq!(
            code(Kind::Guid, "eb05f701-e727-472f-8ade-6753c4f67a46"),
            Some(3000)
        );
        assert_eq!(code(Kind::Float, ".5"), None);
        assert_eq!(code(Kind::Float, "."), Some(3060));
    }

    #[test]
    fn enums_and_ranges() {
        let values = ["ActiveOnly", "InactiveOnly", "All"];
        let mut it = values.iter().copied();
        let r = check(
            Kind::Enum,
            "Everything",
            Facets {
                max_len: None,
                enums: &mut it,
                min: None,
                max: None,
            },
        );
        assert_eq!(r.map_err(|b| b.code), Err(3065));
        let mut it = values.iter().copied();
        let r = check(
            Kind::Enum,
            "All",
            Facets {
                max_len: None,
                enums: &mut it,
                min: None,
                max: None,
            },
        );
        assert!(r.is_ok());
        let mut none = std::iter::empty();
        let r = check(
            Kind::Int,
            "13",
            Facets {
                max_len: None,
                enums: &mut none,
                min: Some(1.0),
                max: Some(12.0),
            },
        );
        assert_eq!(r.map_err(|b| b.code), Err(3060));
        let mut none = std::iter::empty();
        let r = check(
            Kind::Int,
            "0",
            Facets {
                max_len: None,
                enums: &mut none,
                min: Some(1.0),
                max: None,
            },
        );
        assert_eq!(r.map_err(|b| b.code), Err(3060));
    }
}
