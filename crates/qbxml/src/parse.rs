//! The one pass over the input: decode, tokenize with quick-xml, build the
//! node arena, enforce limits, and (for requests) drive the validator.
//!
//! Offsets: quick-xml reports `buffer_position()` after each event, and text
//! events stop at `<`, so the position before reading a tag event is the
//! offset of its `<`. Names, attribute values and leaf text are recorded as
//! spans of the source; nothing is copied unless it needs decoding.

use crate::catalog::{self, HResult, Severity};
use crate::doc::{AttrSpan, Document, Node, HAS_CHILDREN, NONE, TEXT_OWNED};
use crate::error::{ErrorKind, FieldError, Limit, Limits, ParseError};
use crate::validate::{VFrame, Validator};
use crate::version::Version;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Validate against the schema of the declared version.
    Request,
    /// Well-formedness and limits only.
    Response,
}

/// One request of a message set, with the first value error QuickBooks
/// would answer it with.
pub(crate) struct RequestMeta {
    pub node: u32,
    pub error: Option<FieldError>,
}

pub(crate) struct Parsed {
    pub doc: Document,
    pub version: Option<Version>,
    pub requests: Vec<RequestMeta>,
}

struct Frame {
    node: u32,
    last_child: u32,
    content_start: u32,
    has_children: bool,
    /// Entity or character references inside.
    has_ref: bool,
    /// CDATA, comments or PIs inside (text must be reassembled).
    special: bool,
    /// Non-whitespace text seen.
    text: bool,
    /// Text is allowed (a simple element, or any element of a response).
    holds_text: bool,
    /// Validation state (requests).
    v: Option<VFrame>,
}

fn err(
    kind: ErrorKind,
    detail: impl Into<String>,
    src: &str,
    offset: usize,
    path: String,
) -> ParseError {
    let (line, column) = crate::doc::line_col(src, offset);
    let hresult = if kind == ErrorKind::UnsupportedVersion {
        HResult::UNSUPPORTED_VERSION
    } else {
        HResult::PARSE_ERROR
    };
    ParseError {
        kind,
        hresult,
        detail: detail.into(),
        line,
        column,
        path,
    }
}

fn is_ws(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The first offset at or after `at` that is not XML whitespace.
fn skip_ws(src: &str, at: usize) -> usize {
    let rest = src.as_bytes().get(at..).unwrap_or(&[]);
    at + rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count()
}

/// Offset of a tag's `<` given its name (a slice of `src`) and the length
/// of what precedes the name (`<` or `</`).
fn tag_offset(src: &str, name: &str, prefix: usize) -> Option<usize> {
    offset_in(src, name).and_then(|o| o.checked_sub(prefix))
}

/// Byte offset of `part` inside `src`, if it is a slice of it.
fn offset_in(src: &str, part: &str) -> Option<usize> {
    let a = src.as_ptr() as usize;
    let b = part.as_ptr() as usize;
    (b >= a && b + part.len() <= a + src.len()).then(|| b - a)
}

pub(crate) fn parse(input: Vec<u8>, limits: &Limits, mode: Mode) -> Result<Parsed, ParseError> {
    let src = decode(input, limits)?;
    let mut p = Parser {
        src: &src,
        limits,
        mode,
        // Typical qbXML has an element per 25-30 bytes. Reserving more is
        // free (untouched pages are never faulted in) and growing a large
        // arena would copy it.
        nodes: Vec::with_capacity((src.len() / 12 + 16).min(limits.max_elements)),
        attrs: Vec::with_capacity(8),
        owned: Vec::new(),
        stack: Vec::with_capacity(16),
        validator: None,
        requests: Vec::with_capacity(4),
        version_text: None,
        version: None,
        root_done: false,
    };
    p.run()?;
    let Parser {
        nodes,
        attrs,
        owned,
        validator,
        requests,
        version,
        ..
    } = p;
    Ok(Parsed {
        doc: Document {
            src,
            nodes,
            attrs,
            owned,
            schema: validator.map(|v| v.schema()),
        },
        version,
        requests,
    })
}

struct Parser<'s> {
    src: &'s str,
    limits: &'s Limits,
    mode: Mode,
    nodes: Vec<Node>,
    attrs: Vec<AttrSpan>,
    owned: Vec<String>,
    stack: Vec<Frame>,
    validator: Option<Validator>,
    requests: Vec<RequestMeta>,
    version_text: Option<String>,
    version: Option<Version>,
    root_done: bool,
}

impl<'s> Parser<'s> {
    fn path_with(&self, last: Option<&str>) -> String {
        let mut parts: Vec<&str> = self.stack.iter().map(|f| self.name_of(f.node)).collect();
        if let Some(l) = last {
            parts.push(l);
        }
        parts.join("/")
    }

    fn name_of(&self, node: u32) -> &'s str {
        let n = &self.nodes[node as usize];
        self.src
            .get(n.name_start as usize..n.name_start as usize + usize::from(n.name_len))
            .unwrap_or("")
    }

    /// A text node or attribute value over `Limits::max_text`.
    fn too_long(&self, what: &str, len: usize, at: usize, last: Option<&str>) -> ParseError {
        self.fail(
            ErrorKind::Limit(Limit::TextSize),
            format!(
                "{what} of {len} bytes exceeds the limit of {}",
                self.limits.max_text
            ),
            at,
            last,
        )
    }

    fn bad_name(&self, name: &str, at: usize) -> ParseError {
        self.fail(
            ErrorKind::Syntax,
            format!("\"{name}\" is not a valid XML element name"),
            at,
            None,
        )
    }

    fn fail(
        &self,
        kind: ErrorKind,
        detail: impl Into<String>,
        offset: usize,
        last: Option<&str>,
    ) -> ParseError {
        err(kind, detail, self.src, offset, self.path_with(last))
    }

    fn run(&mut self) -> Result<(), ParseError> {
        let src = self.src;
        let mut reader = Reader::from_str(src);
        {
            let c = reader.config_mut();
            // Whitespace-only text between tags then produces no event at
            // all (fewer events to dispatch); leaf text is taken from the
            // source span between its tags, so trimming never changes it.
            c.trim_text(true);
            c.check_end_names = true;
            c.check_comments = true;
            c.expand_empty_elements = false;
            c.allow_dangling_amp = false;
            c.allow_unmatched_ends = false;
        }
        let mut first_event = true;
        loop {
            let before = reader.buffer_position() as usize;
            let ev = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = reader.error_position() as usize;
                    return Err(self.fail(
                        ErrorKind::Syntax,
                        format!("not well-formed XML: {e}"),
                        at,
                        None,
                    ));
                }
            };
            // With trimming, skipped whitespace may precede the event: move
            // `before` onto it. Tags are located by their names, which
            // borrow the source.
            let before = match &ev {
                Event::Start(e) | Event::Empty(e) => tag_offset(src, e.name().as_ref(), 1),
                Event::End(e) => tag_offset(src, e.name().as_ref(), 2),
                _ => None,
            }
            .unwrap_or_else(|| skip_ws(src, before));
            let was_first = std::mem::replace(&mut first_event, false);
            match ev {
                Event::Decl(_) => {
                    if !was_first || before != 0 {
                        return Err(self.fail(
                            ErrorKind::Syntax,
                            "the XML declaration must be the very first thing in the document",
                            before,
                            None,
                        ));
                    }
                }
                Event::DocType(_) => {
                    return Err(self.fail(
                        ErrorKind::Doctype,
                        "a DOCTYPE is not allowed: qbXML requests never carry a DTD, and entities are not expanded",
                        before,
                        None,
                    ));
                }
                Event::PI(pi) => {
                    if let Some(f) = self.stack.last_mut() {
                        f.special = true;
                    } else if !self.root_done
                        && pi.target() == "qbxml"
                        && self.version_text.is_none()
                    {
                        let mut v = None;
                        for a in pi.attributes().with_checks(false) {
                            let a = a.map_err(|e| {
                                self.fail(
                                    ErrorKind::Syntax,
                                    format!("in <?qbxml?>: {e}"),
                                    before,
                                    None,
                                )
                            })?;
                            if a.key.as_ref() == "version" {
                                v = Some(a.value.to_string());
                            }
                        }
                        self.version = v.as_deref().and_then(Version::parse);
                        self.version_text = Some(v.unwrap_or_default());
                    }
                }
                Event::Comment(_) => {
                    if let Some(f) = self.stack.last_mut() {
                        f.special = true;
                    }
                }
                Event::Start(e) => {
                    self.open(&e, before, reader.buffer_position() as usize, false)?
                }
                Event::Empty(e) => {
                    self.open(&e, before, reader.buffer_position() as usize, true)?
                }
                Event::End(_) => self.close(before)?,
                // Trimming drops whitespace-only text, so this is content.
                // Its size is checked with the whole text node, at the end tag.
                Event::Text(t) => self.text_content(before, &t)?,
                Event::CData(c) => {
                    if self.stack.is_empty() {
                        return Err(self.fail(
                            ErrorKind::Syntax,
                            "CDATA outside the root element",
                            before,
                            None,
                        ));
                    }
                    if !c.is_empty() {
                        self.text_content(before, &c)?;
                    }
                    if let Some(f) = self.stack.last_mut() {
                        f.special = true;
                    }
                }
                Event::GeneralRef(r) => {
                    self.check_ref(&r, before)?;
                    self.text_content(before, "&")?;
                    if let Some(f) = self.stack.last_mut() {
                        f.has_ref = true;
                    }
                }
                Event::Eof => break,
            }
        }
        if let Some(f) = self.stack.last() {
            let name = self.name_of(f.node);
            return Err(self.fail(
                ErrorKind::Syntax,
                format!("the document ends inside <{name}>: it is truncated or a closing tag is missing"),
                src.len(),
                None,
            ));
        }
        if !self.root_done {
            return Err(self.fail(
                ErrorKind::Syntax,
                "the document has no root element",
                src.len(),
                None,
            ));
        }
        Ok(())
    }

    fn check_ref(&self, r: &quick_xml::events::BytesRef<'_>, at: usize) -> Result<(), ParseError> {
        if self.stack.is_empty() {
            return Err(self.fail(
                ErrorKind::Syntax,
                "a reference outside the root element",
                at,
                None,
            ));
        }
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) if is_xml_char(c) => Ok(()),
                _ => Err(self.fail(
                    ErrorKind::Syntax,
                    format!("&{}; is not a character allowed in XML", &**r),
                    at,
                    None,
                )),
            };
        }
        match &**r {
            "lt" | "gt" | "amp" | "apos" | "quot" => Ok(()),
            other => Err(self.fail(
                ErrorKind::UndefinedEntity,
                format!("the entity &{other}; is not defined: qbXML allows only &lt; &gt; &amp; &apos; &quot; and character references"),
                at,
                None,
            )),
        }
    }

    /// Non-whitespace text inside the current element.
    fn text_content(&mut self, at: usize, sample: &str) -> Result<(), ParseError> {
        let Some(f) = self.stack.last() else {
            return Err(self.fail(ErrorKind::Syntax, "text outside the root element", at, None));
        };
        if f.has_children || !f.holds_text {
            let name = self.name_of(f.node);
            let shown: String = sample.trim().chars().take(40).collect();
            return Err(self.fail(
                ErrorKind::UnexpectedText,
                format!("<{name}> holds elements, not text; found \"{shown}\""),
                at,
                None,
            ));
        }
        if let Some(f) = self.stack.last_mut() {
            f.text = true;
        }
        Ok(())
    }

    fn open(
        &mut self,
        e: &BytesStart<'_>,
        before: usize,
        after: usize,
        empty: bool,
    ) -> Result<(), ParseError> {
        let name = e.name();
        let name: &str = name.as_ref();
        // Requests: an invalid name cannot match the schema, so it is only
        // checked when the validator refuses the element.
        if self.mode == Mode::Response && !is_xml_name(name) {
            return Err(self.bad_name(name, before));
        }
        let name_start = before + 1;
        if name.len() > usize::from(u16::MAX) {
            return Err(self.fail(
                ErrorKind::Limit(Limit::TextSize),
                format!("an element name of {} bytes", name.len()),
                before,
                None,
            ));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(self.fail(
                ErrorKind::Limit(Limit::Depth),
                format!(
                    "elements are nested more than {} deep",
                    self.limits.max_depth
                ),
                before,
                None,
            ));
        }
        if self.nodes.len() >= self.limits.max_elements {
            return Err(self.fail(
                ErrorKind::Limit(Limit::Elements),
                format!(
                    "the document has more than {} elements",
                    self.limits.max_elements
                ),
                before,
                None,
            ));
        }
        let mut request_level = false;
        let vframe = match self.stack.last() {
            None => {
                if self.root_done {
                    return Err(self.fail(
                        ErrorKind::Syntax,
                        format!("a second root element <{name}>"),
                        before,
                        None,
                    ));
                }
                self.root_done = true;
                self.open_root(name, before)?
            }
            Some(parent) => {
                if parent.text {
                    let pname = self.name_of(parent.node);
                    return Err(self.fail(
                        ErrorKind::UnexpectedText,
                        format!("<{pname}> mixes text and elements"),
                        before,
                        Some(name),
                    ));
                }
                let depth = self.stack.len();
                let step = match (
                    &self.validator,
                    self.stack.last_mut().and_then(|p| p.v.as_mut()),
                ) {
                    (Some(v), Some(pv)) => {
                        request_level = depth == 2 && Validator::is_message_set(pv);
                        v.start(pv, name).map(Some)
                    }
                    _ => Ok(None),
                };
                match step {
                    Ok(f) => f,
                    Err(_) if !is_xml_name(name) => return Err(self.bad_name(name, before)),
                    Err(x) => return Err(self.fail(x.kind, x.detail, before, Some(name))),
                }
            }
        };
        let pos = vframe.map_or(NONE, |f| f.pos);
        let id = self.nodes.len() as u32;
        let attrs_start = self.attrs.len() as u32;
        if !is_ws(e.attributes_raw()) {
            self.read_attrs(e, before, name)?;
        }
        let attrs_len = self.attrs.len() as u32 - attrs_start;
        if let (Some(v), Some(f)) = (&self.validator, &vframe) {
            if attrs_len > 0 || f.required_attrs {
                let list = &self.attrs[attrs_start as usize..];
                let (src, owned) = (self.src, &self.owned);
                let iter = list.iter().map(|a| attr_strs(src, owned, a));
                if let Err(x) = v.attributes(f, iter) {
                    return Err(self.fail(x.kind, x.detail, before, Some(name)));
                }
            }
        }
        let parent = self.stack.last().map_or(NONE, |f| f.node);
        self.nodes.push(Node {
            name_start: name_start as u32,
            name_len: name.len() as u16,
            flags: 0,
            parent,
            next_sibling: NONE,
            content: after as u32,
            text_len: 0,
            pos,
        });
        if let Some(f) = self.stack.last_mut() {
            if f.last_child == NONE {
                let p = &mut self.nodes[f.node as usize];
                p.flags |= HAS_CHILDREN;
                p.content = id;
            } else {
                self.nodes[f.last_child as usize].next_sibling = id;
            }
            f.last_child = id;
            f.has_children = true;
        }
        if request_level {
            self.open_request(id, before, name);
        }
        self.stack.push(Frame {
            node: id,
            last_child: NONE,
            content_start: after as u32,
            has_children: false,
            has_ref: false,
            special: false,
            text: false,
            holds_text: vframe.is_none_or(|f| f.holds_text),
            v: vframe,
        });
        if empty {
            self.close(after)?;
        }
        Ok(())
    }

    fn open_root(&mut self, name: &str, before: usize) -> Result<Option<VFrame>, ParseError> {
        if !is_xml_name(name) {
            return Err(self.bad_name(name, before));
        }
        if name != "QBXML" {
            return Err(self.fail(
                ErrorKind::NotQbxml,
                format!("the root element is <{name}>; qbXML starts with <QBXML>"),
                before,
                Some(name),
            ));
        }
        if self.mode == Mode::Response {
            return Ok(None);
        }
        let version = match (&self.version_text, self.version) {
            (None, _) => {
                return Err(self.fail(
                    ErrorKind::MissingVersion,
                    "no <?qbxml version=\"…\"?> before <QBXML>: QuickBooks needs it to pick the schema",
                    before,
                    Some(name),
                ))
            }
            (Some(_), Some(v)) if v.is_supported() => v,
            (Some(text), _) => {
                return Err(self.fail(
                    ErrorKind::UnsupportedVersion,
                    format!(
                        "qbXML version \"{text}\" is not supported: QuickBooks Desktop accepts 1.0, 1.1, 2.0, 2.1, 3.0, 4.0, 4.1 and 5.0 to {}",
                        Version::LATEST
                    ),
                    before,
                    Some(name),
                ))
            }
        };
        let v = Validator::new(version);
        let frame = match v.root(name) {
            Ok(f) => f,
            Err(x) => return Err(self.fail(x.kind, x.detail, before, Some(name))),
        };
        self.validator = Some(v);
        Ok(Some(frame))
    }

    /// A child of a message set: one request. QuickBooks checks requestID's
    /// length per request (status 1060).
    fn open_request(&mut self, id: u32, before: usize, name: &str) {
        let first = self.attrs.partition_point(|a| a.node < id);
        let list = &self.attrs[first..];
        let request_id = list
            .iter()
            .map(|a| attr_strs(self.src, &self.owned, a))
            .find(|(k, _)| *k == "requestID")
            .map(|(_, v)| v);
        let error = request_id.filter(|r| r.chars().count() > 50).map(|r| {
            let (line, column) = crate::doc::line_col(self.src, before);
            FieldError {
                status_code: 1060,
                severity: Severity::Error,
                message: catalog::status(1060)
                    .map(|s| s.format(&[("value", r)]))
                    .unwrap_or_default(),
                detail: format!(
                    "requestID is {} characters; QuickBooks allows 50",
                    r.chars().count()
                ),
                path: self.path_with(Some(name)),
                line,
                column,
            }
        });
        self.requests.push(RequestMeta { node: id, error });
    }

    fn read_attrs(
        &mut self,
        e: &BytesStart<'_>,
        before: usize,
        name: &str,
    ) -> Result<(), ParseError> {
        let mut count = 0;
        let first = self.attrs.len();
        // quick-xml's duplicate check allocates per element; with at most
        // `max_attributes` per element a scan of the earlier ones is cheaper.
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|x| {
                self.fail(
                    ErrorKind::Syntax,
                    format!("in the attributes of <{name}>: {x}"),
                    before,
                    Some(name),
                )
            })?;
            count += 1;
            if count > self.limits.max_attributes {
                return Err(self.fail(
                    ErrorKind::Limit(Limit::Attributes),
                    format!(
                        "<{name}> has more than {} attributes",
                        self.limits.max_attributes
                    ),
                    before,
                    Some(name),
                ));
            }
            let key: &str = a.key.as_ref();
            let raw: &str = &a.value;
            if self.attrs[first..].iter().any(|p| {
                self.src
                    .get(p.name_start as usize..(p.name_start + p.name_len) as usize)
                    == Some(key)
            }) {
                return Err(self.fail(
                    ErrorKind::Syntax,
                    format!("the attribute {key} appears twice on <{name}>"),
                    before,
                    Some(name),
                ));
            }
            if raw.len() > self.limits.max_text {
                return Err(self.too_long("an attribute value", raw.len(), before, Some(name)));
            }
            let (Some(key_at), Some(raw_at)) = (offset_in(self.src, key), offset_in(self.src, raw))
            else {
                return Err(self.fail(
                    ErrorKind::Syntax,
                    "unreadable attribute",
                    before,
                    Some(name),
                ));
            };
            if raw
                .bytes()
                .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            {
                return Err(self.fail(
                    ErrorKind::Syntax,
                    format!("a control character in an attribute of <{name}>"),
                    before,
                    Some(name),
                ));
            }
            let needs = raw
                .bytes()
                .any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'));
            let span = if needs {
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|x| {
                        self.fail(
                            ErrorKind::UndefinedEntity,
                            format!("in the attributes of <{name}>: {x}"),
                            before,
                            Some(name),
                        )
                    })?;
                self.owned.push(v.into_owned());
                AttrSpan {
                    node: self.nodes.len() as u32,
                    name_start: key_at as u32,
                    name_len: key.len() as u32,
                    value_start: (self.owned.len() - 1) as u32,
                    value_len: 0,
                    owned: true,
                }
            } else {
                AttrSpan {
                    node: self.nodes.len() as u32,
                    name_start: key_at as u32,
                    name_len: key.len() as u32,
                    value_start: raw_at as u32,
                    value_len: raw.len() as u32,
                    owned: false,
                }
            };
            self.attrs.push(span);
        }
        Ok(())
    }

    fn close(&mut self, end_at: usize) -> Result<(), ParseError> {
        let Some(f) = self.stack.pop() else {
            return Err(self.fail(
                ErrorKind::Syntax,
                "a closing tag without an opening tag",
                end_at,
                None,
            ));
        };
        let mut text: &str = "";
        if !f.has_children {
            let start = f.content_start as usize;
            let raw = self.src.get(start..end_at.max(start)).unwrap_or("");
            // Text split by references or CDATA arrives in small events:
            // the limit is on the whole text node.
            if raw.len() > self.limits.max_text {
                self.stack.push(f);
                return Err(self.too_long("a text node", raw.len(), start, None));
            }
            let mut cr = false;
            for &b in raw.as_bytes() {
                if b < 0x20 {
                    if b == b'\r' {
                        cr = true;
                    } else if b != b'\t' && b != b'\n' {
                        self.stack.push(f);
                        return Err(self.fail(
                            ErrorKind::Syntax,
                            format!("the control character U+{b:04X} is not allowed in XML"),
                            end_at,
                            None,
                        ));
                    }
                }
            }
            let node = &mut self.nodes[f.node as usize];
            if f.special || f.has_ref || cr {
                let decoded = if f.special {
                    decode_mixed(raw)
                } else {
                    decode_text(raw)
                };
                self.owned.push(decoded);
                node.flags |= TEXT_OWNED;
                node.content = (self.owned.len() - 1) as u32;
                node.text_len = 0;
                text = self.owned.last().map_or("", String::as_str);
            } else {
                node.content = start as u32;
                node.text_len = raw.len() as u32;
                text = raw;
            }
        }
        if let (Some(v), Some(vf)) = (&self.validator, &f.v) {
            match v.end(vf, text) {
                Ok(None) => {}
                Ok(Some(bad)) => {
                    let node = self.nodes[f.node as usize];
                    let name = self.name_of(f.node);
                    let at = (node.name_start as usize).saturating_sub(1);
                    let (line, column) = crate::doc::line_col(self.src, at);
                    let path = self.path_with(Some(name));
                    if let Some(r) = self.requests.last_mut().filter(|r| r.error.is_none()) {
                        if self.stack.len() >= 3 {
                            r.error = Some(FieldError {
                                status_code: bad.code,
                                severity: Severity::for_code(bad.code),
                                message: bad.message,
                                detail: bad.detail,
                                path,
                                line,
                                column,
                            });
                        }
                    }
                }
                Err(x) => {
                    let name = self.name_of(f.node);
                    return Err(self.fail(x.kind, x.detail, end_at, Some(name)));
                }
            }
        }
        Ok(())
    }
}

fn attr_strs<'a>(src: &'a str, owned: &'a [String], a: &AttrSpan) -> (&'a str, &'a str) {
    let key = src
        .get(a.name_start as usize..(a.name_start + a.name_len) as usize)
        .unwrap_or("");
    let value = if a.owned {
        owned.get(a.value_start as usize).map_or("", String::as_str)
    } else {
        src.get(a.value_start as usize..(a.value_start + a.value_len) as usize)
            .unwrap_or("")
    };
    (key, value)
}

/// XML 1.0 Name, checked exactly for ASCII (letters, digits, `_ : - .`, not
/// starting with a digit, `-` or `.`); non-ASCII characters are accepted.
fn is_xml_name(name: &str) -> bool {
    let b = name.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'_' || first == b':' || first >= 0x80)
        && b.iter().all(|&c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.') || c >= 0x80
        })
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Decode entity and character references and normalise line ends. The
/// references were checked by the tokenizer.
fn decode_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    decode_into(raw, &mut out);
    out
}

pub(crate) fn decode_into(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('\r') {
            out.push('\n');
            rest = after.strip_prefix('\n').unwrap_or(after);
            continue;
        }
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return;
        };
        let name = &tail[1..semi];
        let c = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=semi]),
        }
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
}

/// Text with CDATA sections, comments or PIs: keep CDATA verbatim (line ends
/// normalised), drop comments and PIs, decode the rest.
fn decode_mixed(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('<') {
        decode_into(&rest[..i], &mut out);
        let tail = &rest[i..];
        let (body, skip) = if let Some(t) = tail.strip_prefix("<![CDATA[") {
            let end = t.find("]]>").unwrap_or(t.len());
            (Some(&t[..end]), 9 + end + 3)
        } else if let Some(t) = tail.strip_prefix("<!--") {
            (None, 4 + t.find("-->").unwrap_or(t.len()) + 3)
        } else if let Some(t) = tail.strip_prefix("<?") {
            (None, 2 + t.find("?>").unwrap_or(t.len()) + 2)
        } else {
            (None, 1)
        };
        if let Some(b) = body {
            out.push_str(&b.replace("\r\n", "\n").replace('\r', "\n"));
        }
        rest = tail.get(skip.min(tail.len())..).unwrap_or("");
    }
    decode_into(rest, &mut out);
    out
}

/// Bytes to UTF-8 text: BOM, declared encoding, size limit.
fn decode(mut input: Vec<u8>, limits: &Limits) -> Result<String, ParseError> {
    let fail = |kind: ErrorKind, detail: String| ParseError {
        kind,
        hresult: HResult::PARSE_ERROR,
        detail,
        line: 1,
        column: 1,
        path: String::new(),
    };
    if input.len() > limits.max_size {
        return Err(fail(
            ErrorKind::Limit(Limit::TotalSize),
            format!(
                "the document is {} bytes; the limit is {}",
                input.len(),
                limits.max_size
            ),
        ));
    }
    if input.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input.drain(..3);
    } else if input.starts_with(&[0xFF, 0xFE]) || input.starts_with(&[0xFE, 0xFF]) {
        return Err(fail(
            ErrorKind::Encoding,
            "UTF-16 is not supported: send UTF-8".into(),
        ));
    }
    let declared = declared_encoding(&input).map(|e| e.to_ascii_lowercase());
    match declared.as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii") => {
            String::from_utf8(input).map_err(|e| {
                let at = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..at]);
                let (line, column) = crate::doc::line_col(&prefix, at);
                ParseError {
                    kind: ErrorKind::Encoding,
                    hresult: HResult::PARSE_ERROR,
                    detail: format!(
                        "invalid UTF-8 (byte 0x{:02X} at offset {at})",
                        bytes.get(at).copied().unwrap_or(0)
                    ),
                    line,
                    column,
                    path: String::new(),
                }
            })
        }
        Some("iso-8859-1" | "latin1" | "latin-1" | "l1" | "iso_8859-1") => {
            Ok(redeclared(input.iter().map(|&b| char::from(b)).collect()))
        }
        Some("windows-1252" | "cp1252") => {
            Ok(redeclared(input.iter().map(|&b| cp1252(b)).collect()))
        }
        Some(other) => Err(fail(
            ErrorKind::Encoding,
            format!("the encoding \"{other}\" is not supported: send UTF-8"),
        )),
    }
}

/// The `encoding` pseudo-attribute of a leading XML declaration.
fn declared_encoding(input: &[u8]) -> Option<&str> {
    let (start, end) = encoding_span(input)?;
    std::str::from_utf8(&input[start..end]).ok()
}

/// Where the value of the declaration's `encoding` is (between its quotes).
fn encoding_span(input: &[u8]) -> Option<(usize, usize)> {
    if !input.starts_with(b"<?xml") {
        return None;
    }
    let head = &input[..input.len().min(512)];
    let end = head.iter().position(|&b| b == b'>')?;
    let decl = &head[..end];
    // A byte scan: `str::find` would build a two-way searcher per document.
    let at = decl.windows(8).position(|w| w == b"encoding")? + 8;
    let mut i = at;
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *decl.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
    let start = i + 1;
    let len = decl[start..].iter().position(|&b| b == quote)?;
    Some((start, start + len))
}

/// The decoded text declared as what it now is, UTF-8: whoever reads it
/// next (QuickBooks, through COM) must not be told it is Latin-1. A name
/// longer than `UTF-8` (`ISO-8859-1`, `windows-1252`) is padded with
/// spaces after the closing quote, so positions after it (error columns)
/// stay where they were; a shorter alias (`l1`) moves the rest of its
/// line left by the difference.
fn redeclared(mut text: String) -> String {
    if let Some((start, end)) = encoding_span(text.as_bytes()) {
        let pad = (end - start).saturating_sub(5);
        let mut with = String::from("UTF-8");
        with.push(char::from(text.as_bytes()[end]));
        with.push_str(&" ".repeat(pad));
        text.replace_range(start..=end, &with);
    }
    text
}

/// Windows-1252 to Unicode.
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}',
        '\u{017D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
        '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}',
        '\u{9D}', '\u{017E}', '\u{0178}',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_references_and_line_ends() {
        assert_eq!(
            decode_text("a &amp; b &lt;c&gt; &#65;&#x42; &quot;&apos;"),
            "a & b <c> AB \"'"
        );
        assert_eq!(decode_text("x\r\ny\rz"), "x\ny\nz");
        assert_eq!(
            decode_mixed("a<!-- c --><![CDATA[<b>&amp;]]>&amp;<?pi x?>z"),
            "a<b>&amp;&z"
        );
    }

    #[test]
    fn encodings() {
        let l = Limits::default();
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>".to_vec();
        assert!(decode(latin.clone(), &l).is_ok_and(|s| s.contains('é')));
        // Declared as what it is now, each later position where it was.
        assert_eq!(
            decode(latin, &l).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"     ?><a>é</a>"
        );
        let cp = b"<?xml version='1.0' encoding='windows-1252'?><a>\x80</a>".to_vec();
        assert!(decode(cp, &l).is_ok_and(|s| s.contains('€')));
        let bad = b"<?xml version=\"1.0\"?>\n<a>\xff</a>".to_vec();
        let e = decode(bad, &l).err();
        assert_eq!(
            e.as_ref().map(|e| (e.kind.clone(), e.line, e.column)),
            Some((ErrorKind::Encoding, 2, 4))
        );
        let odd = b"<?xml version=\"1.0\" encoding=\"EBCDIC\"?><a/>".to_vec();
        assert!(decode(odd, &l).is_err());
        let bom = b"\xEF\xBB\xBF<a/>".to_vec();
        assert_eq!(decode(bom, &l).ok().as_deref(), Some("<a/>"));
    }
}
