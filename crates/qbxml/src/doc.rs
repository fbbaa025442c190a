//! A parsed qbXML document: the source text plus a flat arena of element
//! nodes that point into it.
//!
//! Nothing is copied while parsing: names, attribute values and leaf text are
//! spans of the source; text that needs decoding (entities, CDATA, `\r`) is
//! decoded once and kept aside. [`Element`] is a cheap `Copy` handle.

use crate::schema::{Position, Schema};
use std::fmt;

pub(crate) const NONE: u32 = u32::MAX;

/// `Node::flags`: the element has children (`content` is the first).
pub(crate) const HAS_CHILDREN: u8 = 1;
/// `Node::flags`: leaf text lives in `Document::owned` (decoded), at
/// index `content`; otherwise it is the source span `content..+text_len`.
pub(crate) const TEXT_OWNED: u8 = 2;

/// One element, 24 bytes: the arena is the biggest allocation of a parse.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// Byte offset of the tag name (just after `<`).
    pub name_start: u32,
    pub name_len: u16,
    pub flags: u8,
    pub parent: u32,
    pub next_sibling: u32,
    /// First child, or (for a leaf) the start of its text.
    pub content: u32,
    pub text_len: u32,
    /// Schema position the element was validated against, or `NONE`.
    pub pos: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct AttrSpan {
    /// The element it belongs to (attributes are stored in element order).
    pub node: u32,
    pub name_start: u32,
    pub name_len: u32,
    /// A span of the source, or (when `owned`) an index into `owned`.
    pub value_start: u32,
    pub value_len: u32,
    pub owned: bool,
}

/// A parsed document. Requests and responses wrap one.
pub struct Document {
    pub(crate) src: String,
    pub(crate) nodes: Vec<Node>,
    pub(crate) attrs: Vec<AttrSpan>,
    pub(crate) owned: Vec<String>,
    pub(crate) schema: Option<Schema>,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("bytes", &self.src.len())
            .field("elements", &self.nodes.len())
            .finish()
    }
}

impl Document {
    /// The root element (`QBXML`).
    pub fn root(&self) -> Element<'_> {
        Element { doc: self, id: 0 }
    }

    /// The source text (UTF-8; transcoded if it was declared otherwise).
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub(crate) fn element(&self, id: u32) -> Element<'_> {
        Element { doc: self, id }
    }

    fn span(&self, start: u32, len: u32) -> &str {
        self.src
            .get(start as usize..(start + len) as usize)
            .unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        line_col(&self.src, offset)
    }
}

/// 1-based line and column (in characters) of a byte offset of `src`.
pub(crate) fn line_col(src: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(src.len());
    let before = src.as_bytes().get(..offset).unwrap_or(&[]);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line as u32, col as u32)
}

/// A handle to one element of a [`Document`].
#[derive(Clone, Copy)]
pub struct Element<'d> {
    doc: &'d Document,
    id: u32,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.name())
    }
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.doc, other.doc) && self.id == other.id
    }
}

impl<'d> Element<'d> {
    fn node(&self) -> &'d Node {
        &self.doc.nodes[self.id as usize]
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    pub fn document(&self) -> &'d Document {
        self.doc
    }

    pub fn name(&self) -> &'d str {
        let n = self.node();
        self.doc.span(n.name_start, u32::from(n.name_len))
    }

    /// An attribute's value, entity references decoded.
    pub fn attr(&self, name: &str) -> Option<&'d str> {
        self.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// All attributes in document order.
    pub fn attrs(&self) -> impl Iterator<Item = (&'d str, &'d str)> + 'd {
        let doc = self.doc;
        let id = self.id;
        let start = doc.attrs.partition_point(|a| a.node < id);
        doc.attrs[start..]
            .iter()
            .take_while(move |a| a.node == id)
            .map(move |a| {
                let value = if a.owned {
                    doc.owned
                        .get(a.value_start as usize)
                        .map_or("", String::as_str)
                } else {
                    doc.span(a.value_start, a.value_len)
                };
                (doc.span(a.name_start, a.name_len), value)
            })
    }

    pub fn parent(&self) -> Option<Element<'d>> {
        let p = self.node().parent;
        (p != NONE).then(|| self.doc.element(p))
    }

    pub fn children(&self) -> Children<'d> {
        Children {
            doc: self.doc,
            next: self.first_child(),
        }
    }

    pub fn has_children(&self) -> bool {
        self.node().flags & HAS_CHILDREN != 0
    }

    fn first_child(&self) -> u32 {
        let n = self.node();
        if n.flags & HAS_CHILDREN != 0 {
            n.content
        } else {
            NONE
        }
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.name() == name)
    }

    /// All children with this name.
    pub fn children_named<'n>(&self, name: &'n str) -> impl Iterator<Item = Element<'d>> + 'n
    where
        'd: 'n,
    {
        self.children().filter(move |c| c.name() == name)
    }

    /// The text of a leaf element, entity references decoded; `""` for an
    /// element with children.
    pub fn text(&self) -> &'d str {
        let n = self.node();
        if n.flags & HAS_CHILDREN != 0 {
            ""
        } else if n.flags & TEXT_OWNED != 0 {
            self.doc
                .owned
                .get(n.content as usize)
                .map_or("", String::as_str)
        } else {
            self.doc.span(n.content, n.text_len)
        }
    }

    /// The text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&'d str> {
        self.child(name).map(|c| c.text())
    }

    /// Byte offset of the start tag's `<`.
    pub fn offset(&self) -> usize {
        self.node().name_start.saturating_sub(1) as usize
    }

    /// 1-based line and column of the start tag.
    pub fn line_col(&self) -> (u32, u32) {
        self.doc.line_col(self.offset())
    }

    /// `QBXML/QBXMLMsgsRq/CustomerAddRq/CustomerAdd/Name`.
    pub fn path(&self) -> String {
        let mut names = vec![self.name()];
        let mut cur = self.parent();
        while let Some(e) = cur {
            names.push(e.name());
            cur = e.parent();
        }
        names.reverse();
        names.join("/")
    }

    /// The schema position the element was validated against (requests).
    pub fn schema_position(&self) -> Option<Position> {
        let pos = self.node().pos;
        match (self.doc.schema, pos) {
            (Some(s), p) if p != NONE => Some(Position::from_id(s, p)),
            _ => None,
        }
    }
}

/// Iterator over an element's children.
pub struct Children<'d> {
    doc: &'d Document,
    next: u32,
}

impl<'d> Iterator for Children<'d> {
    type Item = Element<'d>;

    fn next(&mut self) -> Option<Element<'d>> {
        if self.next == NONE {
            return None;
        }
        let e = self.doc.element(self.next);
        self.next = e.node().next_sibling;
        Some(e)
    }
}
