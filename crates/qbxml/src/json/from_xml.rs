//! qbXML → the JSON form: one walk over a parsed document, each element
//! looked up in the schema for its shape (object, array or scalar) and its
//! value's type. The walk drives a [`Sink`], so the same walk writes JSON
//! text (the server, the CLI) or builds native values (the Python
//! package's dicts, lists and `Decimal`s).

use super::{scalar_of, Scalar, ORDER, TEXT};
use crate::build::Elem;
use crate::doc::{Document, Element};
use crate::schema::{ChildCursor, ContentKind, Decl, Position, Schema};
use crate::version::Version;

/// Where the walk's values go: a JSON writer, or a builder of native
/// values. Calls come in JSON's order: a key, then its value.
pub trait Sink {
    fn start_object(&mut self);
    fn end_object(&mut self);
    fn start_array(&mut self);
    fn end_array(&mut self);
    /// A member name: an element's name, `@` and an attribute's name,
    /// `#text` or `#order`.
    fn key(&mut self, key: &str);
    /// An attribute's member name: `@` and `name`.
    fn attribute_key(&mut self, name: &str) {
        self.key(&format!("@{name}"));
    }
    fn bool(&mut self, value: bool);
    /// An integer, as its canonical decimal text (fits an `i64`).
    fn int(&mut self, text: &str);
    /// An amount, price, quantity, percentage or float: its exact text.
    fn decimal(&mut self, text: &str);
    fn string(&mut self, value: &str);
}

/// Walk a whole document: `{"version": …, "QBXML": {…}}`.
pub fn document(doc: &Document, version: Version, sink: &mut impl Sink) {
    let schema = Schema::for_version(version);
    sink.start_object();
    sink.key("version");
    sink.string(&version.to_string());
    let root = doc.root();
    sink.key(root.name());
    let decl = Some(schema.root()).filter(|d| d.name() == root.name());
    element(root, decl, sink);
    sink.end_object();
}

/// An element to walk: a parsed document's, or a built [`Elem`].
pub(crate) trait Node<'a>: Copy {
    fn name(&self) -> &'a str;
    fn attrs(&self) -> impl Iterator<Item = (&'a str, &'a str)>;
    fn text(&self) -> &'a str;
    fn has_children(&self) -> bool;
    fn children(&self) -> impl Iterator<Item = Self>;
}

impl<'d> Node<'d> for Element<'d> {
    fn name(&self) -> &'d str {
        Element::name(self)
    }
    fn attrs(&self) -> impl Iterator<Item = (&'d str, &'d str)> {
        Element::attrs(self)
    }
    fn text(&self) -> &'d str {
        Element::text(self)
    }
    fn has_children(&self) -> bool {
        Element::has_children(self)
    }
    fn children(&self) -> impl Iterator<Item = Self> {
        Element::children(self)
    }
}

impl<'e> Node<'e> for &'e Elem {
    fn name(&self) -> &'e str {
        &self.name
    }
    fn attrs(&self) -> impl Iterator<Item = (&'e str, &'e str)> {
        self.attrs.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }
    fn text(&self) -> &'e str {
        &self.text
    }
    fn has_children(&self) -> bool {
        !self.children.is_empty()
    }
    fn children(&self) -> impl Iterator<Item = Self> {
        self.children.iter()
    }
}

/// One element's value (its name is the caller's key).
pub(crate) fn element<'a, N: Node<'a>>(e: N, decl: Option<Decl>, sink: &mut impl Sink) {
    let content = decl.map(|d| d.content());
    let has_attrs = e.attrs().next().is_some();
    // By the schema; but an element with children is an object whatever
    // the schema says (nothing of a document outside it is dropped).
    let simple = !e.has_children()
        && match content {
            Some(ContentKind::Simple | ContentKind::SimpleWithAttributes) => true,
            Some(_) => false,
            // Not in the schema (a newer QuickBooks' element): by its shape.
            None => !e.text().is_empty(),
        };
    if simple && !has_attrs {
        value(
            e.text(),
            decl.and_then(|d| d.simple_type()).map(|s| s.kind()),
            sink,
        );
        return;
    }
    sink.start_object();
    for (name, text) in e.attrs() {
        attribute(name, text, decl, sink);
    }
    if simple {
        sink.key(TEXT);
        value(
            e.text(),
            decl.and_then(|d| d.simple_type()).map(|s| s.kind()),
            sink,
        );
    } else {
        children(e, decl, sink);
        // Text where the schema has children (outside the schema): kept.
        if !e.has_children() && !e.text().trim().is_empty() {
            sink.key(TEXT);
            sink.string(e.text());
        }
    }
    sink.end_object();
}

pub(crate) fn attribute(name: &str, text: &str, decl: Option<Decl>, sink: &mut impl Sink) {
    sink.attribute_key(name);
    let kind = decl
        .and_then(|d| d.attribute(name))
        .map(|a| a.simple_type().kind());
    value(text, kind, sink);
}

/// A leaf's text as its type's JSON value. Text that would not come back
/// the same from the typed value (`1` for true, `007`, an empty boolean)
/// stays a string: nothing is lost either way.
pub(crate) fn value(text: &str, kind: Option<crate::schema::Kind>, sink: &mut impl Sink) {
    match kind.map(scalar_of) {
        Some(Scalar::Bool) if text == "true" => sink.bool(true),
        Some(Scalar::Bool) if text == "false" => sink.bool(false),
        Some(Scalar::Int) if super::is_canonical_int(text) => sink.int(text),
        Some(Scalar::Decimal) => sink.decimal(text),
        _ => sink.string(text),
    }
}

/// The children: one member per name, an array where the schema allows
/// the name more than once, and `#order` where members of a repeating
/// group of different names (invoice lines and line groups, report rows)
/// are interleaved.
///
/// One allocation per element (its children with their positions): this
/// runs for every element of every answer, on every server thread.
fn children<'a, N: Node<'a>>(e: N, decl: Option<Decl>, sink: &mut impl Sink) {
    let mut cursor = decl.map(ChildCursor::new);
    let kids: Vec<(N, &'a str, Option<Position>)> = e
        .children()
        .map(|c| {
            let name = c.name();
            (c, name, cursor.as_mut().and_then(|cur| cur.find(name)))
        })
        .collect();
    members(&kids, sink, element);
}

/// Children as members (see [`children`]): each `(item, name, position)`
/// is written by `write` with its declaration. Also what a response
/// message set written straight to JSON is made of
/// ([`crate::ResponseWriter::json`]), its responses rendered already.
pub(crate) fn members<'a, T: Copy, S: Sink>(
    kids: &[(T, &'a str, Option<Position>)],
    sink: &mut S,
    mut write: impl FnMut(T, Option<Decl>, &mut S),
) {
    for (i, &(c, name, pos)) in kids.iter().enumerate() {
        // A name's elements go out together, at its first appearance
        // (answers come in schema order: the same name is usually the
        // one just before).
        if kids[..i].iter().rev().any(|k| k.1 == name) {
            continue;
        }
        sink.key(name);
        let child_decl = pos.map(|p| p.decl());
        // An array where the schema allows more than one; and, so that
        // nothing is lost, where a document repeats what it should not.
        let many = pos.is_some_and(|p| p.repeats()) || kids[i + 1..].iter().any(|k| k.1 == name);
        if many {
            sink.start_array();
            for k in kids[i..].iter().filter(|k| k.1 == name) {
                write(k.0, child_decl, sink);
            }
            sink.end_array();
        } else {
            write(c, child_decl, sink);
        }
    }
    // Interleaved groups: two or more names present that share a
    // repeating group (the schema's sort key).
    let key =
        |k: &(T, &'a str, Option<Position>)| k.2.filter(|p| p.repeats()).map(|p| p.sort_key());
    let interleaved = |group: u32| {
        let mut names = kids.iter().filter(|k| key(k) == Some(group)).map(|k| k.1);
        let first = names.next();
        names.any(|n| Some(n) != first)
    };
    let mut groups: Vec<u32> = Vec::new();
    for k in kids {
        if let Some(g) = key(k) {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    groups.retain(|&g| interleaved(g));
    if !groups.is_empty() {
        sink.key(ORDER);
        sink.start_array();
        for k in kids
            .iter()
            .filter(|k| key(k).is_some_and(|g| groups.contains(&g)))
        {
            sink.string(k.1);
        }
        sink.end_array();
    }
}

/// The JSON writer: compact text.
pub(crate) struct Writer {
    pub out: String,
    /// The next value is the first in its object or array (no comma).
    first: bool,
}

impl Writer {
    pub(crate) fn new(capacity: usize) -> Writer {
        Writer {
            out: String::with_capacity(capacity),
            first: true,
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// A value already written as JSON (a response of a message set
    /// written straight to JSON).
    pub(crate) fn raw(&mut self, json: &str) {
        self.sep();
        self.out.push_str(json);
    }

    /// A member name that is an ASCII XML name (letters, digits, `_`, `-`,
    /// `.`, `:`; what the one-pass reader's names are): nothing in it
    /// needs escaping. `at`: an attribute's (`@name`).
    pub(crate) fn name_key(&mut self, name: &str, at: bool) {
        self.sep();
        self.out.push_str(if at { "\"@" } else { "\"" });
        self.out.push_str(name);
        self.out.push_str("\":");
        self.first = true;
    }
}

impl Sink for Writer {
    fn start_object(&mut self) {
        self.sep();
        self.out.push('{');
        self.first = true;
    }
    fn end_object(&mut self) {
        self.out.push('}');
        self.first = false;
    }
    fn start_array(&mut self) {
        self.sep();
        self.out.push('[');
        self.first = true;
    }
    fn end_array(&mut self) {
        self.out.push(']');
        self.first = false;
    }
    fn key(&mut self, key: &str) {
        self.sep();
        super::value::write_string(&mut self.out, key);
        self.out.push(':');
        // The value that follows takes no comma.
        self.first = true;
    }
    fn attribute_key(&mut self, name: &str) {
        self.sep();
        // A document's attribute names are not checked by its reader:
        // escaped like any string ("@" inside the quotes).
        let start = self.out.len();
        super::value::write_string(&mut self.out, name);
        self.out.insert(start + 1, '@');
        self.out.push(':');
        self.first = true;
    }
    fn bool(&mut self, value: bool) {
        self.sep();
        self.out.push_str(if value { "true" } else { "false" });
    }
    fn int(&mut self, text: &str) {
        self.sep();
        self.out.push_str(text);
    }
    fn decimal(&mut self, text: &str) {
        self.sep();
        super::value::write_string(&mut self.out, text);
    }
    fn string(&mut self, value: &str) {
        self.sep();
        super::value::write_string(&mut self.out, value);
    }
}
