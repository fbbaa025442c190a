//! JSON text in and out, as small as the JSON form needs: a reader that
//! keeps every number's literal text (an amount sent as `10.10` must reach
//! QuickBooks as `10.10`, not as the nearest binary fraction), refuses
//! duplicate keys (which one would win?), and bounds nesting so hostile
//! input cannot exhaust the stack; and the string escaper of the writer.
//!
//! Hand-written rather than serde_json: its `Value` loses number text
//! unless the `arbitrary_precision` feature is on, and features unify
//! across the workspace, changing every other user's numbers.

use std::borrow::Cow;

/// A parsed JSON value, borrowing from the input where it can.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number's literal text, as sent (`10.10`, `-3`, `1e2`).
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    /// Members in input order; keys are unique.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl Value<'_> {
    /// What the value is, for error messages ("an array", "a string").
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Why JSON text could not be read: what, and where (byte offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub offset: usize,
}

/// Read one JSON document (RFC 8259) from `src`, nested at most
/// `max_depth` arrays and objects deep.
pub fn parse(src: &str, max_depth: usize) -> Result<Value<'_>, SyntaxError> {
    let mut r = Reader {
        src,
        b: src.as_bytes(),
        pos: 0,
        depth: 0,
        max_depth,
    };
    // A byte order mark is not JSON, but editors write one.
    if r.b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        r.pos = 3;
    }
    let v = r.value()?;
    r.ws();
    if r.pos < r.b.len() {
        return Err(r.err("more text after the JSON value"));
    }
    Ok(v)
}

/// Members beyond which an object's keys are kept in a set.
const LONG_OBJECT: usize = 16;

struct Reader<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, message: &str) -> SyntaxError {
        SyntaxError {
            message: message.to_string(),
            offset: self.pos,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Value<'a>, SyntaxError> {
        self.ws();
        match self.b.get(self.pos) {
            None => Err(self.err("the JSON ends where a value should be")),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a JSON value")),
        }
    }

    fn nested(
        &mut self,
        f: fn(&mut Self) -> Result<Value<'a>, SyntaxError>,
    ) -> Result<Value<'a>, SyntaxError> {
        if self.depth >= self.max_depth {
            return Err(self.err(&format!(
                "nested deeper than {} arrays and objects",
                self.max_depth
            )));
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn word(&mut self, w: &str, v: Value<'a>) -> Result<Value<'a>, SyntaxError> {
        if self.b[self.pos..].starts_with(w.as_bytes()) {
            self.pos += w.len();
            Ok(v)
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn object(&mut self) -> Result<Value<'a>, SyntaxError> {
        self.pos += 1; // {
        let mut members: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
        let mut seen: Option<std::collections::HashSet<String>> = None;
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return Err(self.err("expected a member name in double quotes"));
            }
            let at = self.pos;
            let key = self.string()?;
            // A short object is searched; a long one keeps a set, so that
            // an object of a million members costs a million lookups.
            let twice = if members.len() < LONG_OBJECT {
                members.iter().any(|(k, _)| *k == key)
            } else {
                let seen = seen
                    .get_or_insert_with(|| members.iter().map(|(k, _)| k.to_string()).collect());
                !seen.insert(key.to_string())
            };
            if twice {
                return Err(SyntaxError {
                    message: format!("the member \"{key}\" appears twice in one object"),
                    offset: at,
                });
            }
            self.ws();
            if self.b.get(self.pos) != Some(&b':') {
                return Err(self.err("expected ':' after the member name"));
            }
            self.pos += 1;
            let v = self.value()?;
            members.push((key, v));
            self.ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.err("expected ',' or '}' in the object")),
            }
        }
    }

    fn array(&mut self) -> Result<Value<'a>, SyntaxError> {
        self.pos += 1; // [
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']' in the array")),
            }
        }
    }

    fn number(&mut self) -> Result<Value<'a>, SyntaxError> {
        let start = self.pos;
        let digits = |r: &mut Self| {
            let from = r.pos;
            while let Some(b'0'..=b'9') = r.b.get(r.pos) {
                r.pos += 1;
            }
            r.pos - from
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[int_start] == b'0') {
            self.pos = start;
            return Err(self.err("not a JSON number"));
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.err("a digit must follow the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.b.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("a digit must follow the exponent"));
            }
        }
        Ok(Value::Number(&self.src[start..self.pos]))
    }

    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        self.pos += 1; // "
        let start = self.pos;
        // Fast path: no escapes, borrow the input.
        loop {
            match self.b.get(self.pos) {
                None => return Err(self.err("a string is not closed")),
                Some(b'"') => {
                    let s = &self.src[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(c) if *c < 0x20 => {
                    return Err(self.err("a control character must be escaped in a string"))
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::from(&self.src[start..self.pos]);
        loop {
            match self.b.get(self.pos) {
                None => return Err(self.err("a string is not closed")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.b.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.b[self.pos..].starts_with(b"\\u") {
                                    return Err(self.err("a lone UTF-16 surrogate"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("a lone UTF-16 surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.err("a lone UTF-16 surrogate"))?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.err("an unknown escape in a string")),
                    };
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) if *c < 0x20 => {
                    return Err(self.err("a control character must be escaped in a string"))
                }
                Some(_) => {
                    // Copy up to the next quote or backslash at once.
                    let from = self.pos;
                    while let Some(&c) = self.b.get(self.pos) {
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    out.push_str(&self.src[from..self.pos]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let h = self
            .b
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .filter(|_| {
                self.b[self.pos..self.pos + 4]
                    .iter()
                    .all(u8::is_ascii_hexdigit)
            })
            .ok_or_else(|| self.err("\\u must be followed by four hex digits"))?;
        self.pos += 4;
        Ok(h)
    }
}

/// Where the first byte that must be escaped is. Eight bytes at a time
/// while none is (a string of names, IDs and amounts rarely has one):
/// a byte below 0x20, or equal to `"` or `\`, sets its top bit in the
/// word tests below (the classic "has a zero / a smaller byte" tricks,
/// exact as to whether a word has one); then the byte that did is found
/// in the table.
fn first_escape(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = b.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // A byte below 0x20; a zero byte after an XOR with `"` or `\`.
        let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        if below(w, 0x20) | below(quote, 1) | below(slash, 1) != 0 {
            break;
        }
        at += 8;
    }
    b[at..]
        .iter()
        .position(|&c| ESCAPE[usize::from(c)])
        .map(|k| at + k)
}

/// Bytes a JSON string must escape: the quote, the backslash and the control characters.
const ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Append `s` as a JSON string, quotes included. Most strings (names,
/// IDs, amounts) need no escape: they are copied whole.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(k) = first_escape(&b[from..]) {
        let i = from + k;
        out.push_str(&s[from..i]);
        match b[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c => out.push_str(&format!("\\u{c:04x}")),
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Value<'_>, SyntaxError> {
        parse(s, 16)
    }

    /// The word-at-a-time search finds what the byte-by-byte one finds.
    #[test]
    fn first_escape_is_the_first_byte_to_escape() {
        let naive = |b: &[u8]| b.iter().position(|&c| ESCAPE[usize::from(c)]);
        let specials: Vec<u8> = (0u8..0x20).chain([b'"', b'\\']).collect();
        let fillers = [
            b'a', 0x7f, 0x80, 0xe9, 0xff, b'!', b'#', b'[', b']', 0x21, 0x5d,
        ];
        for len in 0..24 {
            for &f in &fillers {
                let base = vec![f; len];
                assert_eq!(first_escape(&base), naive(&base));
                for at in 0..len {
                    for &c in &specials {
                        let mut b = base.clone();
                        b[at] = c;
                        assert_eq!(first_escape(&b), naive(&b), "{b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn reads_what_json_is() {
        let v =
            p(r#" {"a": [1, -2.50, 3e2, true, false, null, "x\u00e9\n\ud83d\ude00"], "b": {}} "#);
        let Ok(Value::Object(m)) = v else {
            panic!("{v:?}")
        };
        assert_eq!(m[0].0, "a");
        let Value::Array(items) = &m[0].1 else {
            panic!()
        };
        assert_eq!(items[1], Value::Number("-2.50"), "the literal text is kept");
        assert_eq!(items[6], Value::String("xé\n😀".into()));
        assert_eq!(m[1].1, Value::Object(Vec::new()));
    }

    #[test]
    fn refuses_what_json_is_not() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "1e",
            "\"\\x\"",
            "\"a\nb\"",
            "\"\\ud800\"",
            "\"\\u12g4\"",
            "tru",
            "{} {}",
            "{a:1}",
            "'a'",
        ] {
            assert!(p(bad).is_err(), "{bad:?} was read");
        }
        let dup = p(r#"{"a":1,"b":2,"a":3}"#);
        assert!(dup.is_err_and(|e| e.message.contains("\"a\" appears twice") && e.offset == 13));
    }

    #[test]
    fn long_objects_find_duplicates_too() {
        let many: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(p(&ok).is_ok());
        let dup = format!("{{{},\"k50\":0}}", many.join(","));
        assert!(p(&dup).is_err_and(|e| e.message.contains("\"k50\" appears twice")));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(17) + &"]".repeat(17);
        assert!(p(&deep).is_err_and(|e| e.message.contains("nested deeper")));
        let ok = "[".repeat(16) + &"]".repeat(16);
        assert!(p(&ok).is_ok());
        // No stack is spent on a million brackets: the bound stops it.
        assert!(parse(&"[".repeat(1_000_000), 64).is_err());
    }

    #[test]
    fn strings_round_trip() {
        for s in ["plain", "q\"uote\\", "tab\tnl\ncr\r", "\u{1}\u{1f}", "é😀"] {
            let mut out = String::new();
            write_string(&mut out, s);
            assert_eq!(p(&out), Ok(Value::String(s.into())), "{out}");
        }
    }
}
