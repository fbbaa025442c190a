//! Test helpers: where `../shared` is, and a generator of random valid
//! requests that walks the schema's content models.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbxml::schema::{ContentKind, Decl, Kind, Position, Schema};
use qbxml::{Elem, Version};
use std::path::PathBuf;

/// Say that a test skips, on the real stderr: libtest captures `eprintln!`
/// (shown only on failure), not writes to the stream itself.
pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP: {why}");
}

/// `../shared` beside the checkout, or `None` (tests then skip, loudly).
pub fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("qbxml").is_dir() {
        Some(p)
    } else {
        skip("../shared/qbxml not found beside the checkout; sample-based checks not run");
        None
    }
}

/// SplitMix64: small, deterministic, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CHARS: &[char] = &[
    'a', 'b', 'c', 'x', 'Y', 'Z', '0', '7', ' ', '&', '<', '>', '"', '\'', 'é', 'ß', '€', '-', ':',
    '\n',
];

fn text(rng: &mut Rng, max: usize) -> String {
    let n = rng.below(max.min(12) + 1);
    let mut s: String = (0..n).map(|_| *rng.pick(CHARS)).collect();
    // XML text may not start or end with whitespace we would compare.
    s = s.trim().to_string();
    s
}

fn number(rng: &mut Rng, int_digits: usize, frac: usize) -> String {
    let int: u64 = rng.next() % 10u64.pow(int_digits.min(9) as u32);
    let sign = if rng.chance(20) { "-" } else { "" };
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let f: u64 = rng.next() % 10u64.pow(frac as u32);
    format!("{sign}{int}.{f:0width$}", width = frac)
}

pub fn value(rng: &mut Rng, decl: Decl, pos: Option<Position>) -> String {
    let Some(st) = decl.simple_type() else {
        return String::new();
    };
    let max_len = pos.and_then(|p| p.max_len()).or(st.max_len()).unwrap_or(30) as usize;
    let (lo, hi) = pos.map_or((None, None), |p| p.value_range());
    let lo = lo.or(st.min().map(|v| v as f64));
    let hi = hi.or(st.max().map(|v| v as f64));
    match st.kind() {
        Kind::Str | Kind::Uuid | Kind::Macro => text(rng, max_len),
        Kind::Id => format!(
            "{:X}-{}",
            rng.next() % 0xFFFF_FFFF,
            1_000_000_000 + rng.next() % 900_000_000
        ),
        Kind::Bool => rng.pick(&["true", "false", "1", "0"]).to_string(),
        Kind::Date => format!(
            "20{:02}-{:02}-{:02}",
            rng.below(30),
            1 + rng.below(12),
            1 + rng.below(28)
        ),
        Kind::DateTime => {
            let base = format!(
                "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}",
                rng.below(30),
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            );
            if rng.chance(50) {
                base + "-05:00"
            } else {
                base
            }
        }
        Kind::TimeInterval => format!("PT{}H{}M", rng.below(10), rng.below(60)),
        Kind::Amt => {
            let frac = if rng.chance(50) { 2 } else { 0 };
            number(rng, 7, frac)
        }
        Kind::Price | Kind::Quan | Kind::Percent | Kind::Int | Kind::Float => {
            let lo = lo.unwrap_or(if st.kind() == Kind::Int { 1.0 } else { 0.0 });
            let hi = hi.unwrap_or(lo + 1000.0);
            let v = lo + (rng.next() % 1000) as f64 / 1000.0 * (hi - lo);
            match st.kind() {
                Kind::Int => format!("{}", v.round().clamp(lo.ceil(), hi.floor()) as i64),
                _ => format!("{:.3}", v.max(lo).min(hi)),
            }
        }
        Kind::Guid => format!(
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            rng.next() as u32,
            rng.next() as u16,
            rng.next() as u16,
            rng.next() as u16,
            rng.next() & 0xFFFF_FFFF_FFFF
        ),
        Kind::Enum => {
            let values: Vec<&str> = st.values().collect();
            if values.is_empty() {
                text(rng, max_len)
            } else {
                rng.pick(&values).to_string()
            }
        }
    }
}

/// A random element valid against `decl` for `version`.
pub fn element(
    rng: &mut Rng,
    decl: Decl,
    pos: Option<Position>,
    version: Version,
    depth: usize,
) -> Elem {
    let mut e = Elem::new(decl.name());
    for a in decl.attributes() {
        if a.required() || rng.chance(30) {
            let values: Vec<&str> = a.simple_type().values().collect();
            let v = if values.is_empty() {
                format!("{}", rng.below(1000))
            } else {
                rng.pick(&values).to_string()
            };
            e = e.attr(a.name(), v);
        }
    }
    match decl.content() {
        ContentKind::Simple | ContentKind::SimpleWithAttributes => {
            e.text = value(rng, decl, pos);
        }
        ContentKind::Empty => {}
        ContentKind::Complex => {
            let Some(model) = decl.content_model(version) else {
                return e;
            };
            let mut state = model.start();
            loop {
                let options: Vec<(Position, _)> = model.next(state).collect();
                let n = e.children.len();
                if model.can_end(state)
                    && (options.is_empty() || depth > 6 || rng.chance(25 + 8 * n as u64))
                {
                    break;
                }
                if options.is_empty() || n > 60 {
                    break;
                }
                // Past a few children, prefer options that can end soon.
                let endable: Vec<&(Position, _)> =
                    options.iter().filter(|(_, s)| model.can_end(*s)).collect();
                let (p, s) = if n > 8 && !endable.is_empty() {
                    *endable[rng.below(endable.len())]
                } else {
                    options[rng.below(options.len())]
                };
                e.push(element(rng, p.decl(), Some(p), version, depth + 1));
                state = s;
            }
        }
    }
    e
}

/// Request types a generator may use for `version` (subscription sets
/// aside).
pub fn request_types(version: Version) -> Vec<Position> {
    Schema::for_version(version)
        .request_types()
        .filter(|p| p.introduced() <= version)
        .collect()
}

/// A random valid request element of a random type.
pub fn request(rng: &mut Rng, version: Version) -> Elem {
    let types = request_types(version);
    let p = *rng.pick(&types);
    element(rng, p.decl(), Some(p), version, 0)
}

/// Shuffle every element's children (a builder must restore the order).
pub fn shuffle(rng: &mut Rng, e: &mut Elem) {
    let n = e.children.len();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        e.children.swap(i, j);
    }
    for c in &mut e.children {
        shuffle(rng, c);
    }
}

/// A whole request document, children written exactly as given.
pub fn document(version: Version, on_error: &str, requests: &[Elem]) -> String {
    let mut s = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?qbxml version=\"{version}\"?>\n<QBXML>\n<QBXMLMsgsRq onError=\"{on_error}\">\n");
    for r in requests {
        r.write_to(&mut s);
    }
    s.push_str("</QBXMLMsgsRq>\n</QBXML>\n");
    s
}
