//! The JSON form → qbXML text, in the schema's order. Every shape error
//! (an unknown name, an array where the schema allows one element, a
//! string where it wants an object) is found here and named by its JSON
//! path; everything else the qbXML validator finds when it reads the text
//! this writes, and [`Lines`] turns the line it reports back into the
//! JSON path of the member that line came from.
//!
//! The text puts every start tag, and every end tag of an element with
//! children, on a line of its own, and writes line breaks inside values
//! as character references: so each line comes from exactly one member.

use super::value::Value;
use super::{scalar_of, JsonError, Scalar, ORDER, TEXT};
use crate::error::ErrorKind;
use crate::schema::{ContentKind, Decl, Kind, Position, Schema};
use crate::version::Version;
use std::borrow::Cow;

/// One step of a JSON path: a member of its parent, maybe an array item.
struct Step<'v> {
    parent: u32,
    key: &'v str,
    index: Option<u32>,
}

/// The JSON path of every line of the written text.
pub(crate) struct Lines<'v> {
    steps: Vec<Step<'v>>,
    /// `owner[n]`: the step that wrote line `n + 1`.
    owner: Vec<u32>,
}

const ROOT: u32 = u32::MAX;

impl Lines<'_> {
    /// `$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd.Name`.
    pub(crate) fn path(&self, step: u32) -> String {
        let mut chain = Vec::new();
        let mut at = step;
        while let Some(s) = self.steps.get(at as usize) {
            chain.push(s);
            at = s.parent;
        }
        let mut out = String::from("$");
        for s in chain.iter().rev() {
            // A key that is not a plain name (one the schema does not
            // have) in brackets, as a JSON string: the path stays exact.
            if s.key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'#'))
                && !s.key.is_empty()
            {
                out.push('.');
                out.push_str(s.key);
            } else {
                out.push('[');
                super::value::write_string(&mut out, s.key);
                out.push(']');
            }
            if let Some(i) = s.index {
                out.push_str(&format!("[{i}]"));
            }
        }
        out
    }

    /// The path of the member that wrote a (1-based) line of the text.
    pub(crate) fn path_of_line(&self, line: u32) -> String {
        match line.checked_sub(1).and_then(|l| self.owner.get(l as usize)) {
            Some(&step) => self.path(step),
            None => "$".into(),
        }
    }
}

/// Writes the text and, when asked, remembers where each line came from.
pub(crate) struct Out<'v> {
    pub xml: String,
    pub lines: Lines<'v>,
    /// Keep `lines`: the writing is deterministic, so a document is
    /// written once without them, and again with them only to tell where
    /// an error is.
    record: bool,
    /// The most text to write: JSON within a size limit can stand for far
    /// more qbXML (`"X":["","",…]` is 3 bytes an element).
    cap: usize,
}

type Fail = (u32, String, ErrorKind);

impl<'v> Out<'v> {
    fn step(&mut self, parent: u32, key: &'v str, index: Option<u32>) -> u32 {
        if !self.record {
            return 0;
        }
        self.lines.steps.push(Step { parent, key, index });
        (self.lines.steps.len() - 1) as u32
    }

    /// Start a new line, owned by `step`.
    fn line(&mut self, step: u32) {
        if self.record {
            self.lines.owner.push(step);
        }
    }
}

/// Write the document `{"version": …, "QBXML": {…}}` as qbXML text;
/// with `record`, also where each line of it comes from.
pub(crate) fn document<'v>(
    doc: &'v Value<'v>,
    capacity: usize,
    cap: usize,
    record: bool,
) -> Result<Out<'v>, JsonError> {
    let mut out = Out {
        cap,
        xml: String::with_capacity(capacity.min(cap)),
        lines: Lines {
            steps: Vec::new(),
            owner: Vec::new(),
        },
        record,
    };
    match write_document(doc, &mut out) {
        // Where is it? Write again, keeping track.
        Err(_) if !record => document(doc, capacity, cap, true),
        Ok(()) => Ok(out),
        Err((step, detail, kind)) => Err(JsonError::shape(
            kind,
            detail,
            if step == ROOT {
                "$".into()
            } else {
                out.lines.path(step)
            },
        )),
    }
}

fn write_document<'v>(doc: &'v Value<'v>, out: &mut Out<'v>) -> Result<(), Fail> {
    let Value::Object(members) = doc else {
        return Err((
            ROOT,
            format!(
                "expected an object {{\"version\": \"16.0\", \"QBXML\": {{…}}}}; found {}",
                doc.describe()
            ),
            ErrorKind::NotQbxml,
        ));
    };
    let mut version = None;
    let mut root = None;
    for (k, v) in members {
        let step = out.step(ROOT, k, None);
        match k.as_ref() {
            "version" | "QBXML" if matches!(v, Value::Null) => {}
            "version" => version = Some((step, v)),
            "QBXML" => root = Some((step, v)),
            other => {
                let hint = match other.to_ascii_lowercase().as_str() {
                    "version" => " (did you mean version?)",
                    "qbxml" => " (did you mean QBXML?)",
                    _ => "",
                };
                return Err((
                    step,
                    format!("unknown member {other}: a document has version and QBXML{hint}"),
                    ErrorKind::NotQbxml,
                ));
            }
        }
    }
    let Some((vstep, vval)) = version else {
        return Err((
            ROOT,
            "no version: say which qbXML version the document is written in (\"version\": \"16.0\")"
                .into(),
            ErrorKind::MissingVersion,
        ));
    };
    let text = match vval {
        Value::String(s) => s.as_ref(),
        Value::Number(n) => n,
        other => {
            return Err((
                vstep,
                format!(
                    "the version is a string such as \"16.0\"; found {}",
                    other.describe()
                ),
                ErrorKind::MissingVersion,
            ))
        }
    };
    // The qbXML reader says whether the version is supported; here only
    // that it is safe to write into the processing instruction.
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err((
            vstep,
            format!("the version \"{text}\" is not a qbXML version (such as \"16.0\")"),
            ErrorKind::UnsupportedVersion,
        ));
    }
    let Some((rstep, rval)) = root else {
        return Err((
            ROOT,
            "no QBXML: the document's element (\"QBXML\": {\"QBXMLMsgsRq\": {…}})".into(),
            ErrorKind::NotQbxml,
        ));
    };
    let schema = Schema::for_version(Version::parse(text).unwrap_or(Version::LATEST));
    out.line(ROOT);
    out.xml
        .push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.line(vstep);
    out.xml.push_str("<?qbxml version=\"");
    out.xml.push_str(text);
    out.xml.push_str("\"?>\n");
    element(out, rstep, "QBXML", Some(schema.root()), rval)
}

/// What a scalar of this type is, for messages.
fn expected(kind: Kind) -> &'static str {
    match scalar_of(kind) {
        Scalar::Bool => "true or false",
        Scalar::Int => "an integer",
        Scalar::Decimal => "a decimal as a string (\"10.00\") or a number",
        Scalar::Text => "a string",
    }
}

/// A scalar's text for an element or attribute of `kind`.
fn scalar<'v>(v: &'v Value<'v>, kind: Option<Kind>) -> Result<Cow<'v, str>, String> {
    let kind_or_text = kind.unwrap_or(Kind::Str);
    match (v, scalar_of(kind_or_text)) {
        (Value::String(s), _) => Ok(Cow::Borrowed(s.as_ref())),
        (Value::Number(n), Scalar::Int | Scalar::Decimal | Scalar::Text) => Ok(Cow::Borrowed(n)),
        (Value::Bool(b), Scalar::Bool) => Ok(Cow::Borrowed(if *b { "true" } else { "false" })),
        (other, _) => Err(format!(
            "expected {}; found {}",
            expected(kind_or_text),
            other.describe()
        )),
    }
}

/// Append text escaped for XML: the five characters, and line breaks as
/// character references (so each line of the text stays one member's);
/// in an attribute also tabs (XML reads a raw one there as a space).
fn escape(out: &mut String, s: &str, in_attribute: bool) -> Result<(), String> {
    let b = s.as_bytes();
    let mut from = 0;
    for (i, &c) in b.iter().enumerate() {
        let entity = match c {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            b'\n' => "&#10;",
            b'\r' => "&#13;",
            b'\t' if in_attribute => "&#9;",
            b'\t' => continue,
            0..=0x1F => {
                return Err(format!(
                    "the control character U+{c:04X} cannot be written in qbXML"
                ))
            }
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(entity);
        from = i + 1;
    }
    out.push_str(&s[from..]);
    // U+FFFE and U+FFFF are not XML characters either.
    if s.contains(['\u{FFFE}', '\u{FFFF}']) {
        return Err("the characters U+FFFE and U+FFFF cannot be written in qbXML".into());
    }
    Ok(())
}

/// One element `name` with the JSON value `v`, as the member `step`.
fn element<'v>(
    out: &mut Out<'v>,
    step: u32,
    name: &'static str,
    decl: Option<Decl>,
    v: &'v Value<'v>,
) -> Result<(), Fail> {
    let content = decl.map_or(ContentKind::Complex, |d| d.content());
    let kind = decl.and_then(|d| d.simple_type()).map(|s| s.kind());
    out.line(step);
    out.xml.push('<');
    out.xml.push_str(name);
    match (content, v) {
        (ContentKind::Simple | ContentKind::SimpleWithAttributes, Value::Object(m))
            if content == ContentKind::SimpleWithAttributes =>
        {
            let mut text = None;
            for (k, mv) in m {
                let s = out.step(step, k, None);
                if k == TEXT {
                    text = Some((s, mv)).filter(|_| !matches!(mv, Value::Null));
                } else if let Some(a) = k.strip_prefix('@') {
                    attribute(out, s, decl, a, mv)?;
                } else {
                    return Err((
                        s,
                        format!("{name} holds text: its members are #text and attributes (@name); found {k}"),
                        ErrorKind::UnexpectedElement,
                    ));
                }
            }
            out.xml.push('>');
            if let Some((s, tv)) = text {
                let t = scalar(tv, kind).map_err(|e| (s, e, ErrorKind::UnexpectedText))?;
                escape(&mut out.xml, &t, false).map_err(|e| (s, e, ErrorKind::UnexpectedText))?;
            }
        }
        (ContentKind::Simple | ContentKind::SimpleWithAttributes, _) => {
            out.xml.push('>');
            let t = scalar(v, kind)
                .map_err(|e| (step, format!("{name}: {e}"), ErrorKind::UnexpectedText))?;
            escape(&mut out.xml, &t, false).map_err(|e| (step, e, ErrorKind::UnexpectedText))?;
        }
        (ContentKind::Empty | ContentKind::Complex, Value::Object(m)) => {
            let children = members(out, step, name, decl, m)?;
            out.xml.push('>');
            if !children.is_empty() {
                out.xml.push('\n');
                for (_, _, child_step, pos, cv) in children {
                    element(out, child_step, pos.name(), Some(pos.decl()), cv)?;
                }
                out.line(step);
            }
        }
        (ContentKind::Empty | ContentKind::Complex, other) => {
            return Err((
                step,
                format!(
                    "{name} is an element with children: expected an object; found {}",
                    other.describe()
                ),
                ErrorKind::UnexpectedText,
            ))
        }
    }
    out.xml.push_str("</");
    out.xml.push_str(name);
    out.xml.push_str(">\n");
    if out.xml.len() > out.cap {
        return Err((
            step,
            format!(
                "the qbXML this JSON stands for is larger than {} bytes",
                out.cap
            ),
            ErrorKind::Limit(crate::error::Limit::TotalSize),
        ));
    }
    Ok(())
}

fn attribute<'v>(
    out: &mut Out<'v>,
    step: u32,
    decl: Option<Decl>,
    name: &str,
    v: &'v Value<'v>,
) -> Result<(), Fail> {
    let Some(a) = decl.and_then(|d| d.attribute(name)) else {
        let known: Vec<&str> = decl
            .map(|d| d.attributes().map(|a| a.name()).collect())
            .unwrap_or_default();
        let hint = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(name))
            .map(|k| format!("; did you mean @{k}?"))
            .unwrap_or_default();
        let allowed = if known.is_empty() {
            "it has no attributes".to_string()
        } else {
            format!("its attributes are {}", known.join(", "))
        };
        return Err((
            step,
            format!("unknown attribute {name}: {allowed}{hint}"),
            ErrorKind::Attribute,
        ));
    };
    if matches!(v, Value::Null) {
        return Ok(());
    }
    let t = scalar(v, Some(a.simple_type().kind())).map_err(|e| (step, e, ErrorKind::Attribute))?;
    out.xml.push(' ');
    out.xml.push_str(a.name());
    out.xml.push_str("=\"");
    escape(&mut out.xml, &t, true).map_err(|e| (step, e, ErrorKind::Attribute))?;
    out.xml.push('"');
    Ok(())
}

/// A child to write: its sort key, its place within the key, its step,
/// position and value.
type Child<'v> = (u32, u64, u32, Position, &'v Value<'v>);

/// The members of an element with children: attributes are written at
/// once; children come back in the order to write them (schema order,
/// interleaved groups as `#order` says).
fn members<'v>(
    out: &mut Out<'v>,
    step: u32,
    name: &str,
    decl: Option<Decl>,
    m: &'v [(Cow<'v, str>, Value<'v>)],
) -> Result<Vec<Child<'v>>, Fail> {
    let mut children: Vec<Child<'v>> = Vec::with_capacity(m.len());
    let mut order: Option<(u32, &'v [Value<'v>])> = None;
    for (k, v) in m {
        let s = out.step(step, k, None);
        if let Some(a) = k.strip_prefix('@') {
            attribute(out, s, decl, a, v)?;
            continue;
        }
        if k == ORDER {
            match v {
                Value::Array(items) => order = Some((s, items)),
                Value::Null => {}
                other => {
                    return Err((
                        s,
                        format!(
                            "#order is an array of element names; found {}",
                            other.describe()
                        ),
                        ErrorKind::UnexpectedElement,
                    ))
                }
            }
            continue;
        }
        let pos = decl.and_then(|d| d.child(k)).ok_or_else(|| {
            let why = match decl.and_then(|d| crate::validate::closest(d, k)) {
                Some(c) => format!("{k} is not a child of {name}; did you mean {c}?"),
                None if k == TEXT => format!("{name} has children, not text"),
                None => format!("{k} is not a child of {name}"),
            };
            (s, why, ErrorKind::UnexpectedElement)
        })?;
        let key = pos.sort_key();
        let place = |i: u64| (u64::from(pos.id()) << 32) | i;
        match v {
            Value::Null => {}
            Value::Array(items) if pos.repeats() => {
                for (i, item) in items.iter().enumerate() {
                    let is = out.step(step, k, Some(i as u32));
                    if matches!(item, Value::Null) {
                        return Err((
                            is,
                            format!("{k}: null in an array"),
                            ErrorKind::UnexpectedText,
                        ));
                    }
                    children.push((key, place(i as u64), is, pos, item));
                }
            }
            Value::Array(items) => {
                return Err((
                    s,
                    format!(
                        "{name} allows one {k}: expected {}; found an array of {}",
                        if pos.decl().content() == ContentKind::Complex {
                            "an object"
                        } else {
                            "a value"
                        },
                        items.len()
                    ),
                    ErrorKind::TooManyOccurrences,
                ))
            }
            _ => children.push((key, place(0), s, pos, v)),
        }
    }
    if let Some((s, names)) = order {
        apply_order(&mut children, out, s, names)?;
    }
    children.sort_by_key(|c| (c.0, c.1));
    Ok(children)
}

/// `#order`: the sequence of an interleaved group's items, by name. Each
/// name's items are taken in their array's order; every item of every
/// name listed, and of every name sharing a group with one, must be
/// listed exactly once.
fn apply_order<'v>(
    children: &mut [Child<'v>],
    out: &mut Out<'v>,
    step: u32,
    names: &'v [Value<'v>],
) -> Result<(), Fail> {
    // Each name's items were pushed together, in their array's order: per
    // name, the next item to take and the end of its run.
    let mut next: std::collections::HashMap<&str, (usize, usize)> = Default::default();
    for (j, c) in children.iter().enumerate() {
        next.entry(c.3.name())
            .and_modify(|e| e.1 = j + 1)
            .or_insert((j, j + 1));
    }
    let mut used = vec![false; children.len()];
    let mut groups: Vec<u32> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let is = out.step(step, ORDER, Some(i as u32));
        let Value::String(n) = n else {
            return Err((
                is,
                format!("#order lists element names; found {}", n.describe()),
                ErrorKind::UnexpectedElement,
            ));
        };
        let j = match next.get_mut(n.as_ref()) {
            Some((at, end)) if *at < *end => {
                *at += 1;
                *at - 1
            }
            Some(_) => {
                return Err((
                    is,
                    format!("#order names {n} more times than {n} has items"),
                    ErrorKind::UnexpectedElement,
                ))
            }
            None => {
                return Err((
                    is,
                    format!("#order names {n}, which is not a member here"),
                    ErrorKind::UnexpectedElement,
                ))
            }
        };
        used[j] = true;
        children[j].1 = i as u64;
        if !groups.contains(&children[j].0) {
            groups.push(children[j].0);
        }
    }
    if let Some((j, _)) = children
        .iter()
        .enumerate()
        .find(|(j, c)| !used[*j] && groups.contains(&c.0))
    {
        let n = children[j].3.name();
        return Err((
            step,
            format!("#order does not list every item of {n} (it must list each item of the group it orders)"),
            ErrorKind::UnexpectedElement,
        ));
    }
    Ok(())
}
