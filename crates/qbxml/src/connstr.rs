//! The QBConnectionString grammar: `name = "value" name='value' …`.
//!
//! Not qbXML, but the other text format of the QuickBooks SDK world: the
//! Integrator classes, the connector's `X-QB-Connection` header and its
//! configuration all use it. Only the grammar lives here; what the names
//! mean is up to each user (the server's settings, the client's URL and
//! credentials).
//!
//! Pairs in any order, the value in single or double quotes (no escapes:
//! a value cannot hold its own quote) or bare up to the next whitespace or
//! `;`, whitespace around `=` optional, pairs separated by whitespace or
//! `;`. Names are ASCII letters, digits and `_`; callers compare them
//! case-insensitively.

use std::fmt;

/// A malformed string: what is wrong and where (a 0-based character
/// offset into the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairsError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for PairsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position + 1, self.message)
    }
}

impl std::error::Error for PairsError {}

/// Longest value taken.
pub const MAX_VALUE: usize = 32 * 1024;

/// Split a connection string into (name, value) pairs, in order.
pub fn pairs(input: &str) -> Result<Vec<(String, String)>, PairsError> {
    let chars: Vec<char> = input.chars().collect();
    let err = |position: usize, message: String| PairsError { position, message };
    let mut out = Vec::new();
    let mut i = 0;
    let skip = |i: &mut usize| {
        while *i < chars.len() && (chars[*i].is_whitespace() || chars[*i] == ';') {
            *i += 1;
        }
    };
    loop {
        skip(&mut i);
        if i >= chars.len() {
            return Ok(out);
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        if name.is_empty() {
            return Err(err(
                start,
                format!("expected a setting name, found `{}`", chars[start]),
            ));
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] != '=' {
            return Err(err(i, format!("expected `=` after `{name}`")));
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value: String = match chars.get(i) {
            Some(&q) if q == '"' || q == '\'' => {
                let open = i;
                i += 1;
                let from = i;
                while i < chars.len() && chars[i] != q {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err(
                        open,
                        format!("the value of `{name}` opens with {q} and never closes"),
                    ));
                }
                let v = chars[from..i].iter().collect();
                i += 1;
                v
            }
            _ => {
                let from = i;
                while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ';' {
                    i += 1;
                }
                chars[from..i].iter().collect()
            }
        };
        if value.len() > MAX_VALUE {
            return Err(err(start, format!("the value of `{name}` is too long")));
        }
        if value.chars().any(char::is_control) {
            return Err(err(
                start,
                format!("the value of `{name}` holds a control character"),
            ));
        }
        out.push((name, value));
    }
}

/// Quote a value for writing back: double quotes, or single quotes when it
/// holds a double quote. `None` when it holds both (it cannot be written).
pub fn quote(value: &str) -> Option<String> {
    match (value.contains('"'), value.contains('\'')) {
        (false, _) => Some(format!("\"{value}\"")),
        (true, false) => Some(format!("'{value}'")),
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(String, String)> {
        pairs(s).unwrap()
    }

    #[test]
    fn good_strings_in_every_style() {
        let want = vec![
            ("URL".to_string(), "https://h:2080".to_string()),
            ("User".to_string(), "Foo".to_string()),
        ];
        for s in [
            "URL='https://h:2080' User='Foo'",
            "URL=\"https://h:2080\" User=\"Foo\"",
            " URL = 'https://h:2080'   User= \"Foo\" ",
            "URL=https://h:2080 User=Foo",
            "URL='https://h:2080';User='Foo';",
            "URL='https://h:2080'User='Foo'",
        ] {
            assert_eq!(p(s), want, "{s}");
        }
        assert_eq!(p(""), vec![]);
        // No escapes: a doubled quote ends the value and starts garbage.
        assert!(pairs("A='it''s'").is_err());
    }

    #[test]
    fn bad_strings_say_what_and_where() {
        for (s, pos, msg) in [
            ("User='Foo", 5, "never closes"),
            ("User 'Foo'", 5, "expected `=` after `User`"),
            ("User", 4, "expected `=`"),
            ("=x", 0, "expected a setting name"),
            ("A=1 ,B=2", 4, "expected a setting name, found `,`"),
            ("A='x\ny'", 0, "control character"),
        ] {
            let e = pairs(s).unwrap_err();
            assert_eq!(e.position, pos, "{s}: {e}");
            assert!(e.message.contains(msg), "{s}: {e}");
        }
    }

    #[test]
    fn quoting_round_trips() {
        for v in ["plain", "it's", "say \"hi\"", ""] {
            let q = quote(v).unwrap();
            assert_eq!(p(&format!("K={q}")), vec![("K".into(), v.into())]);
        }
        assert_eq!(quote("both ' and \""), None);
    }
}
