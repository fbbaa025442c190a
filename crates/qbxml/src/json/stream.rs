//! QuickBooks' answer → the JSON form in one pass over its text, without
//! building a document: what the connector's `/json` does for every
//! answer. An answer comes in schema order, so each name's elements are
//! next to each other and the JSON can be written as the text is read.
//!
//! Anything this pass does not expect — elements out of schema order or
//! unknown to the schema, two names of one repeating group (invoice lines
//! and line groups, report rows: they need `#order`), CDATA or entity
//! references where a document's reading is subtle — makes it give up
//! (`None`), and the caller walks a parsed document instead. Both give
//! the same JSON (`tests/json.rs` checks it on every simulator answer).

use super::from_xml::{value, Writer};
use super::Sink;
use crate::schema::{name_hash, ContentKind, Decl, Model, Position, Schema, START};
use crate::version::Version;

/// One open element.
struct Frame<'a> {
    /// Its name, which its end tag must repeat.
    name: &'a str,
    decl: Decl,
    /// Holds text (a scalar, or `#text` beside attributes).
    simple: bool,
    /// Written as an object (`{…}`): it has children, or attributes.
    object: bool,
    /// Its content model (the newest version's) and the state after the
    /// children read so far: a child is one automaton step, as in the
    /// validator (the follow lists are small and keyed by a name hash).
    model: Option<Model>,
    state: u32,
    /// The last child's position, and whether its array is open.
    last: Option<Position>,
    array_open: bool,
    /// The root: it holds a message set (the document reader refuses a
    /// `<QBXML>` without one).
    has_set: bool,
}

/// The JSON of `xml`, an answer to a request of `version`; `None` when
/// this pass cannot be sure to write what the document walk writes.
///
/// The text is scanned by hand, for the subset of XML that QuickBooks
/// and the simulator write (tags, attributes in quotes, text with the
/// five entities and character references): a generic tokenizer costs
/// more than the rest of the conversion. Anything outside that subset,
/// or not well-formed, is left to the document reader.
pub(crate) fn convert(xml: &str, version: Version) -> Option<String> {
    let schema = Schema::for_version(version);
    let b = xml.as_bytes();
    let mut w = Writer::new(xml.len() + xml.len() / 4);
    let mut stack: Vec<Frame<'_>> = Vec::with_capacity(16);
    let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(8);
    // The document reader's bounds (`Limits::default()`, which the walk
    // uses): beyond them it refuses, so this pass does not answer.
    let limits = crate::error::Limits::default();
    if xml.len() >= limits.max_size {
        return None;
    }
    let mut elements = 0usize;
    let mut pos = 0;
    // The prolog, as QuickBooks writes it: the XML declaration first (in
    // UTF-8), perhaps `<?qbxml version="…"?>`, layout. Anything else —
    // comments, other processing instructions, another encoding — is the
    // reader's to judge.
    if b.starts_with(b"<?xml ") {
        let end = find(b, b"?>")?;
        let decl = &xml[..end];
        if let Some(i) = decl.find("encoding") {
            let rest = decl[i + 8..].trim_start().strip_prefix('=')?.trim_start();
            let q = rest.chars().next()?;
            let value = rest.get(1..)?.split(q).next()?;
            if !value.eq_ignore_ascii_case("utf-8") {
                return None;
            }
        }
        pos = end + 2;
    }
    loop {
        pos = skip_ws(b, pos);
        if b[pos..].starts_with(b"<?qbxml ") {
            let end = pos + find(&b[pos..], b"?>")?;
            let body = xml[pos + 8..end].trim();
            let version = body.strip_prefix("version=\"")?.strip_suffix('"')?;
            if version.is_empty() || !version.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
                return None;
            }
            pos = end + 2;
        } else if b.get(pos) == Some(&b'<') && !matches!(b.get(pos + 1), Some(b'?' | b'!')) {
            break;
        } else {
            return None;
        }
    }
    loop {
        // At a '<' inside an element with children (or the root's).
        if b.get(pos + 1) == Some(&b'/') {
            // An end tag: the open element's name again.
            let frame = stack.pop()?;
            let after = end_tag(b, pos + 2, frame.name)?;
            if stack.is_empty() && !frame.has_set {
                return None;
            }
            close(frame, "", false, &mut w)?;
            pos = after + 1;
        } else {
            let (name, mut at) = name_at(xml, pos + 1)?;
            elements += 1;
            // Conservative: at a bound, the reader decides.
            if elements >= limits.max_elements || stack.len() + 1 >= limits.max_depth {
                return None;
            }
            attrs.clear();
            loop {
                let next = skip_ws(b, at);
                match b.get(next)? {
                    b'>' | b'/' => {
                        at = next;
                        break;
                    }
                    _ if next == at => return None, // no space before an attribute
                    _ => {}
                }
                let (key, after) = name_at(xml, next)?;
                let after = skip_ws(b, after);
                if b.get(after) != Some(&b'=') {
                    return None;
                }
                let q = skip_ws(b, after + 1);
                let quote = *b.get(q)?;
                if quote != b'"' && quote != b'\'' {
                    return None;
                }
                let end = q + 1 + xml[q + 1..].find(char::from(quote))?;
                let value = &xml[q + 1..end];
                if attrs.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                if value.len() >= limits.max_text || attrs.len() + 1 >= limits.max_attributes {
                    return None;
                }
                attrs.push((key, value));
                at = end + 1;
            }
            let empty = b[at] == b'/';
            if empty && b.get(at + 1) != Some(&b'>') {
                return None;
            }
            let content = at + if empty { 2 } else { 1 };
            let frame = open(name, &attrs, &schema, version, &mut stack, &mut w)?;
            if empty {
                if stack.is_empty() {
                    return None; // an empty <QBXML/>
                }
                close(frame, "", false, &mut w)?;
                pos = content;
            } else if frame.simple {
                // Text up to its end tag.
                let (end, decode) = text_at(b, content)?;
                let text = &xml[content..end];
                if text.len() >= limits.max_text {
                    return None;
                }
                if b.get(end + 1) != Some(&b'/') {
                    return None; // a child, a comment, CDATA
                }
                let after = end_tag(b, end + 2, name)?;
                close(frame, text, decode, &mut w)?;
                pos = after + 1;
            } else {
                stack.push(frame);
                pos = content;
            }
        }
        if stack.is_empty() {
            w.end_object();
            // After the root: only layout.
            return (skip_ws(b, pos) == b.len()).then_some(w.out);
        }
        // Between children: only layout, then the next tag.
        pos = skip_ws(b, pos);
        if b.get(pos) != Some(&b'<') || b[pos..].starts_with(b"<!") || b[pos..].starts_with(b"<?") {
            return None;
        }
    }
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(at) {
        at += 1;
    }
    at
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A byte's class, for the two scans that run over every byte of an
/// answer: a table lookup each instead of a chain of comparisons.
const NAME_START: u8 = 1;
const NAME: u8 = 2;
/// In text: a byte to look at closely (see [`plain`]).
const SPECIAL: u8 = 4;
/// `<`: where an element's text ends.
const LT: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] = NAME_START | NAME;
        } else if b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':') {
            t[c] = NAME;
        }
        if (b < 0x20 && !matches!(b, b'\t' | b'\n')) || matches!(b, b']' | b'&' | 0xEF) {
            t[c] |= SPECIAL;
        }
        if b == b'<' {
            t[c] |= LT;
        }
        c += 1;
    }
    t
};

/// An XML name (the ASCII names qbXML uses) at `at`, and where it ends.
fn name_at(s: &str, at: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    if CLASS[usize::from(*b.get(at)?)] & NAME_START == 0 {
        return None;
    }
    let len = b[at + 1..]
        .iter()
        .position(|&c| CLASS[usize::from(c)] & NAME == 0)
        .map_or(b.len() - at, |n| n + 1);
    Some((&s[at..at + len], at + len))
}

/// After `</` at `at`: `name`, layout, `>`; where the `>` is. The name
/// must end there (`</CustomerRetX>` does not close `CustomerRet`).
fn end_tag(b: &[u8], at: usize, name: &str) -> Option<usize> {
    let end = at + name.len();
    if b.get(at..end)? != name.as_bytes() || CLASS[usize::from(*b.get(end)?)] & NAME != 0 {
        return None;
    }
    let after = skip_ws(b, end);
    (b.get(after) == Some(&b'>')).then_some(after)
}

/// An element's text from `at` to the next `<`: where it ends, and
/// whether decoding changes it (see [`plain`]); `None` when it is not
/// plain, or never ends. One scan for both.
fn text_at(b: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut decode = false;
    let mut i = at;
    loop {
        i += b
            .get(i..)?
            .iter()
            .position(|&c| CLASS[usize::from(c)] & (SPECIAL | LT) != 0)?;
        match special(b, i)? {
            Some(d) => decode |= d,
            None => return Some((i, decode)),
        }
        i += 1;
    }
}

/// The special byte at `i`: `Some(Some(decode))` when it may stay (and
/// whether decoding changes the text), `Some(None)` at a `<`, `None` when
/// the text is not plain.
fn special(b: &[u8], i: usize) -> Option<Option<bool>> {
    let ok = match b[i] {
        b'<' => return Some(None),
        b'\r' => return Some(Some(true)),
        0..=0x1F => false,
        b']' => !b[i..].starts_with(b"]]>"),
        // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters.
        0xEF => !matches!(b.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])),
        // b'&'
        _ => return reference(b.get(i + 1..)?).then_some(Some(true)),
    };
    ok.then_some(Some(false))
}

/// Is text (or an attribute value) plain enough to read here: XML
/// characters only, references only to the five entities or to
/// characters, no `]]>`? `Some(true)` when it holds a reference or a
/// carriage return, which decoding changes.
fn plain(text: &str) -> Option<bool> {
    let b = text.as_bytes();
    let mut decode = false;
    let mut i = 0;
    while let Some(k) = b[i..]
        .iter()
        .position(|&c| CLASS[usize::from(c)] & SPECIAL != 0)
    {
        i += k;
        decode |= special(b, i)??;
        i += 1;
    }
    Some(decode)
}

/// After an `&`: one of the five entities or a character reference to an
/// XML character, then `;`.
fn reference(tail: &[u8]) -> bool {
    let Some(semi) = tail.iter().position(|&c| c == b';') else {
        return false;
    };
    let Ok(r) = std::str::from_utf8(&tail[..semi]) else {
        return false;
    };
    matches!(r, "lt" | "gt" | "amp" | "apos" | "quot")
        || r.strip_prefix("#x")
            .map(|h| {
                h.bytes()
                    .all(|c| c.is_ascii_hexdigit())
                    .then(|| u32::from_str_radix(h, 16).ok())
                    .flatten()
            })
            .unwrap_or_else(|| {
                r.strip_prefix('#')
                    .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|d| d.parse().ok())
            })
            .and_then(char::from_u32)
            .is_some_and(|c| {
                matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            })
}

/// A start tag: its key (and array) in the parent, its attributes.
fn open<'a>(
    name: &'a str,
    attrs: &[(&str, &str)],
    schema: &Schema,
    version: Version,
    stack: &mut [Frame<'a>],
    w: &mut Writer,
) -> Option<Frame<'a>> {
    // What the document reader checks of each response (`check_status`):
    // an answer it refuses is left to it, to say why.
    if stack.len() == 2
        && matches!(
            stack[1].decl.name(),
            "QBXMLMsgsRs" | "QBXMLSubscriptionMsgsRs"
        )
    {
        let attr = |k: &str| attrs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let number = |v: &str| v.trim().parse::<u32>().is_ok();
        if !attr("statusCode").is_some_and(number)
            || attr("statusSeverity")
                .and_then(crate::catalog::Severity::parse)
                .is_none()
            || ["retCount", "iteratorRemainingCount", "messageSetStatusCode"]
                .iter()
                .any(|k| attr(k).is_some_and(|v| !number(v)))
        {
            return None;
        }
    }
    let depth = stack.len();
    let decl = match stack.last_mut() {
        None => {
            let root = schema.root();
            if name != root.name() {
                return None;
            }
            w.start_object();
            w.name_key("version", false);
            w.string(&version.to_string());
            w.name_key(name, false);
            root
        }
        Some(parent) => {
            if depth == 1
                && matches!(
                    name,
                    "QBXMLMsgsRs" | "QBXMLSubscriptionMsgsRs" | "SignonMsgsRs"
                )
            {
                parent.has_set = true;
            }
            // Not a child that may come here (out of schema order, an
            // element the schema does not have): the document walk's.
            let model = parent.model?;
            let local = model.step(parent.state, name, name_hash(name))?;
            parent.state = local;
            let pos = model.position(local);
            match parent.last {
                // The same name again: the next item of its array.
                Some(last) if last == pos => {
                    if !parent.array_open {
                        return None;
                    }
                }
                Some(last) => {
                    // A name met before (the automaton allows going back
                    // in a repeating group), or a second name of one
                    // repeating group: the document walk's business.
                    if pos.id() <= last.id()
                        || (pos.repeats() && last.repeats() && pos.sort_key() == last.sort_key())
                    {
                        return None;
                    }
                    if parent.array_open {
                        w.end_array();
                    }
                    parent.array_open = open_key(w, name, pos);
                }
                None => parent.array_open = open_key(w, name, pos),
            }
            parent.last = Some(pos);
            pos.decl()
        }
    };
    let simple = matches!(
        decl.content(),
        ContentKind::Simple | ContentKind::SimpleWithAttributes
    );
    let object = !simple || !attrs.is_empty();
    if object {
        w.start_object();
    }
    for &(key, raw) in attrs {
        // References and line ends in attribute values: the document
        // reader's normalisation decides.
        if raw
            .bytes()
            .any(|b| matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
            || plain(raw).is_none()
        {
            return None;
        }
        w.name_key(key, true);
        let kind = decl.attribute(key).map(|a| a.simple_type().kind());
        value(raw, kind, w);
    }
    Some(Frame {
        name,
        decl,
        simple,
        object,
        model: if simple { None } else { decl.full_model() },
        state: START,
        last: None,
        array_open: false,
        has_set: false,
    })
}

/// The member's key, and `[` when the name may repeat.
fn open_key(w: &mut Writer, name: &str, pos: Position) -> bool {
    w.name_key(name, false);
    if pos.repeats() {
        w.start_array();
        true
    } else {
        false
    }
}

/// An end tag: the text of a simple element, and the closing brackets.
/// `raw` is plain text (see [`plain`]); `decode`: decoding changes it.
fn close(f: Frame<'_>, raw: &str, decode: bool, w: &mut Writer) -> Option<()> {
    if f.simple {
        let kind = f.decl.simple_type().map(|s| s.kind());
        if f.object {
            w.key(super::TEXT);
        }
        if decode {
            let mut text = String::with_capacity(raw.len());
            crate::parse::decode_into(raw, &mut text);
            value(&text, kind, w);
        } else {
            value(raw, kind, w);
        }
    } else if f.array_open {
        w.end_array();
    }
    if f.object {
        w.end_object();
    }
    Some(())
}
