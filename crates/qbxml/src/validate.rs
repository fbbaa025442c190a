//! Schema validation, step by step as the parser meets each tag.
//!
//! The validator keeps one frame per open element: its declaration, the
//! content-model automaton that applies to the declared version, and the
//! automaton state. A start tag is one automaton step (a scan of the state's
//! follow set by name hash); an end tag checks the state may end. Structure
//! errors fail the message set (0x80040400); value errors are collected per
//! request as status codes.

use crate::catalog;
use crate::doc::NONE;
use crate::error::ErrorKind;
use crate::schema::{name_hash, ContentKind, Decl, Kind, Model, Position, Schema, START};
use crate::values::{self, Facets};
use crate::version::Version;

/// A structure error, before the parser adds where it happened.
pub(crate) struct Violation {
    pub kind: ErrorKind,
    pub detail: String,
}

fn violation(kind: ErrorKind, detail: String) -> Violation {
    Violation { kind, detail }
}

/// A value QuickBooks would refuse: status code and both messages.
pub(crate) struct BadValue {
    pub code: u32,
    pub message: String,
    pub detail: String,
}

/// Validation state of one open element. The parser keeps it in its own
/// frame, so there is a single stack.
#[derive(Clone, Copy)]
pub(crate) struct VFrame {
    decl: Decl,
    model: Option<Model>,
    state: u32,
    /// Consecutive matches of the current position (for maxOccurs).
    run: u32,
    /// The position this element was entered through (`NONE` for the root).
    pub pos: u32,
    /// The element holds text (a simple type), not children.
    pub holds_text: bool,
    /// The element declares a required attribute.
    pub required_attrs: bool,
}

pub(crate) struct Validator {
    schema: Schema,
    version: Version,
}

/// How many names to list in "expected one of …".
const EXPECTED_SHOWN: usize = 8;

impl Validator {
    pub fn new(version: Version) -> Validator {
        Validator {
            schema: Schema::for_version(version),
            version,
        }
    }

    pub fn schema(&self) -> Schema {
        self.schema
    }

    fn frame(&self, decl: Decl, pos: u32) -> VFrame {
        let content = decl.content();
        VFrame {
            decl,
            model: match content {
                ContentKind::Complex => decl.model_for(self.version),
                _ => None,
            },
            state: START,
            run: 0,
            pos,
            holds_text: matches!(
                content,
                ContentKind::Simple | ContentKind::SimpleWithAttributes
            ),
            required_attrs: decl.requires_attributes(),
        }
    }

    /// The root element must be `QBXML`.
    pub fn root(&self, name: &str) -> Result<VFrame, Violation> {
        let root = self.schema.root();
        if name != root.name() {
            return Err(violation(
                ErrorKind::NotQbxml,
                format!("the root element is <{name}>; a qbXML request starts with <QBXML>"),
            ));
        }
        Ok(self.frame(root, NONE))
    }

    /// Is this element a message set (its children are requests)?
    pub fn is_message_set(f: &VFrame) -> bool {
        matches!(f.decl.name(), "QBXMLMsgsRq" | "QBXMLSubscriptionMsgsRq")
    }

    /// A start tag inside `top`: one automaton step. Returns the new
    /// element's frame.
    pub fn start(&self, top: &mut VFrame, name: &str) -> Result<VFrame, Violation> {
        let version = self.version;
        let Some(model) = top.model else {
            return Err(violation(
                ErrorKind::UnexpectedElement,
                format!(
                    "{} holds text, not elements; found <{name}>",
                    top.decl.name()
                ),
            ));
        };
        let Some(local) = model.step(top.state, name, name_hash(name)) else {
            return Err(unexpected(model, top, name, version));
        };
        let p = model.position(local);
        if p.introduced() > version {
            return Err(too_new(top.decl.name(), p, version));
        }
        if local == top.state {
            top.run += 1;
            if let Some(max) = p.max_occurs().filter(|&m| top.run > m) {
                return Err(violation(
                    ErrorKind::TooManyOccurrences,
                    format!("{} allows at most {max} {name}", top.decl.name()),
                ));
            }
        } else {
            top.run = 1;
        }
        top.state = local;
        Ok(self.frame(p.decl(), p.id()))
    }

    /// Check the attributes of the element of `f`.
    pub fn attributes<'a>(
        &self,
        f: &VFrame,
        attrs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<(), Violation> {
        let decl = f.decl;
        for (k, v) in attrs.clone() {
            let Some(a) = decl.attribute(k) else {
                let allowed: Vec<&str> = decl.attributes().map(|a| a.name()).collect();
                let hint = if allowed.is_empty() {
                    format!("{} takes no attributes", decl.name())
                } else {
                    format!("allowed: {}", allowed.join(", "))
                };
                return Err(violation(
                    ErrorKind::Attribute,
                    format!("attribute {k} is not allowed on <{}> ({hint})", decl.name()),
                ));
            };
            let ty = a.simple_type();
            let mut values = ty.values();
            if values.len() > 0 && !values.any(|e| e == v) {
                let list: Vec<&str> = ty.values().collect();
                return Err(violation(
                    ErrorKind::Attribute,
                    format!(
                        "attribute {k}=\"{v}\" of <{}> must be one of {}",
                        decl.name(),
                        list.join(", ")
                    ),
                ));
            }
        }
        for a in decl.attributes().filter(|a| a.required()) {
            if !attrs.clone().any(|(k, _)| k == a.name()) {
                return Err(violation(
                    ErrorKind::Attribute,
                    format!("<{}> requires the attribute {}", decl.name(), a.name()),
                ));
            }
        }
        Ok(())
    }

    /// The end tag of the element of `f`. `text` is its decoded text when
    /// it holds text. Returns a value error QuickBooks answers per request.
    pub fn end(&self, f: &VFrame, text: &str) -> Result<Option<BadValue>, Violation> {
        if let Some(model) = f.model {
            if !model.accepts_end(f.state) {
                let exp = expected_list(model, f.state, self.version);
                let after = after_clause(model, f.state);
                return Err(violation(
                    ErrorKind::MissingElement,
                    format!("<{}> ended too early{after}: expected {exp}", f.decl.name()),
                ));
            }
        }
        if !f.holds_text {
            return Ok(None);
        }
        let Some(ty) = f.decl.simple_type() else {
            return Ok(None);
        };
        let pos = (f.pos != NONE).then(|| Position::from_id(self.schema, f.pos));
        let kind = ty.kind();
        let mut enums = ty.values();
        let mut facets = Facets {
            max_len: pos.and_then(|p| p.qbd_max_len()).or(ty.max_len()),
            enums: &mut enums,
            min: None,
            max: None,
        };
        if matches!(
            kind,
            Kind::Int | Kind::Float | Kind::Amt | Kind::Price | Kind::Quan | Kind::Percent
        ) {
            let (min, max) = pos.map_or((None, None), |p| p.value_range());
            facets.min = min.or(ty.min().map(|v| v as f64));
            facets.max = max.or(ty.max().map(|v| v as f64));
        }
        match values::check(kind, text, facets) {
            Ok(()) => Ok(None),
            Err(b) => {
                let name = f.decl.name();
                let field = field_label(name);
                let message = catalog::status(b.code)
                    .map(|s| s.format(&[("value", text), ("field", field)]))
                    .unwrap_or_default();
                Ok(Some(BadValue {
                    code: b.code,
                    message,
                    detail: format!("{name}: {}", b.detail),
                }))
            }
        }
    }
}

/// QuickBooks names ID fields by an internal label in its messages
/// (`… in the field "list id" …`, seen in a real 3000 response); other
/// fields by their element name. The txn labels are [I].
fn field_label(name: &str) -> &str {
    match name {
        "ListID" => "list id",
        "TxnID" => "txn id",
        "TxnLineID" => "txn line id",
        other => other,
    }
}

fn too_new(parent: &str, p: Position, version: Version) -> Violation {
    violation(
        ErrorKind::ElementTooNew,
        format!(
            "<{}> in {parent} is not in qbXML {version}: it was introduced in {} (declare <?qbxml version=\"{}\"?> or later, or leave it out)",
            p.name(),
            p.introduced(),
            p.introduced()
        ),
    )
}

fn after_clause(model: Model, state: u32) -> String {
    if state == START {
        String::new()
    } else {
        format!(" after {}", model.position(state).name())
    }
}

fn expected_list(model: Model, state: u32, version: Version) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in model.expected(state) {
        if p.introduced() <= version && !names.contains(&p.name()) {
            names.push(p.name());
        }
    }
    let mut s = match names.len() {
        0 => return String::from("its end tag"),
        1 => names[0].to_string(),
        n if n <= EXPECTED_SHOWN => format!("one of {}", names.join(", ")),
        _ => format!("one of {}, …", names[..EXPECTED_SHOWN].join(", ")),
    };
    if model.accepts_end(state) {
        s.push_str(" or its end tag");
    }
    s
}

fn unexpected(model: Model, top: &VFrame, found: &str, version: Version) -> Violation {
    let parent = top.decl.name();
    let after = after_clause(model, top.state);
    let exp = expected_list(model, top.state, version);
    // Is the name a child of this element at all (in any version)?
    let known = top.decl.child(found);
    if let Some(p) = known.filter(|p| p.introduced() > version) {
        return too_new(parent, p, version);
    }
    // A request type only a newer schema has (16.0 added payroll, Alert…).
    if known.is_none() && Validator::is_message_set(top) {
        let newest = Schema::for_version(Version::LATEST);
        if let Some(p) = newest.request(found).filter(|p| p.introduced() > version) {
            return too_new(parent, p, version);
        }
    }
    let why = match known {
        Some(_) => format!(" ({})", misplaced(model, top.state, found)),
        None => match closest(top.decl, found) {
            Some(s) => format!(" ({found} is not a child of {parent}; did you mean {s}?)"),
            None => format!(" ({found} is not a child of {parent})"),
        },
    };
    violation(
        ErrorKind::UnexpectedElement,
        format!("in {parent}{after}: expected {exp}; found {found}{why}"),
    )
}

/// Why a known child cannot stand here: order, repetition, a missing
/// element before it, or an alternative already taken.
fn misplaced(model: Model, state: u32, found: &str) -> String {
    if state == START {
        return format!("{found} cannot come first: an element required before it is missing");
    }
    let current = model.position(state);
    let cur_name = current.name();
    if cur_name == found {
        return format!("{found} cannot repeat here");
    }
    // Breadth-first over the automaton: can `found` still come later?
    let mut seen = vec![state];
    let mut queue = vec![state];
    while let Some(s) = queue.pop() {
        for p in model.expected(s) {
            let local = model.local(p);
            if p.name() == found {
                return format!(
                    "{found} may come later, but an element required before it is missing"
                );
            }
            if !seen.contains(&local) {
                seen.push(local);
                queue.push(local);
            }
        }
    }
    let found_index = model.positions().position(|p| p.name() == found);
    let cur_index = model.positions().position(|p| p.name() == cur_name);
    if found_index < cur_index {
        format!("{found} must come before {cur_name}: qbXML requires the schema's order")
    } else {
        format!(
            "{found} is an alternative to an element already given: only one of them is allowed"
        )
    }
}

/// The child name closest to a misspelt one (edit distance ≤ 2, or a
/// case-insensitive match).
pub(crate) fn closest(decl: Decl, found: &str) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for p in decl.children() {
        let n = p.name();
        let d = if n.eq_ignore_ascii_case(found) {
            0
        } else {
            edit_distance(n, found)
        };
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, n));
        }
    }
    best.map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
