//! Writing qbXML the way QuickBooks does (FACTS §1 "Response"):
//! `<?xml version="1.0" ?>`, one element per line, no indentation, no
//! trailing newline after `</QBXML>`, empty `*Rs` self-closing with a space
//! before `/>`, all five XML characters escaped in text and attributes.

use crate::build::{BuildError, Elem};
use crate::catalog::{self, Severity};
use crate::schema::Schema;
use crate::version::Version;

/// Append `s` with `& < > " '` escaped (QuickBooks escapes all five, in
/// text too: `aren&apos;t`, `&quot;Overhead&quot;`).
pub fn escape_into(out: &mut String, s: &str) {
    // A byte scan: the five are ASCII, so they never sit inside a
    // multi-byte character, and every cut below is on a char boundary.
    let b = s.as_bytes();
    let mut from = 0;
    for (i, &c) in b.iter().enumerate() {
        let entity = match c {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(entity);
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

fn attr(out: &mut String, k: &str, v: &str) {
    out.push(' ');
    out.push_str(k);
    out.push_str("=\"");
    escape_into(out, v);
    out.push('"');
}

pub(crate) fn element(out: &mut String, e: &Elem) {
    out.push('<');
    out.push_str(&e.name);
    for (k, v) in &e.attrs {
        attr(out, k, v);
    }
    if e.children.is_empty() {
        if e.text.is_empty() && !e.attrs.is_empty() {
            out.push_str(" />\n");
            return;
        }
        out.push('>');
        escape_into(out, &e.text);
        out.push_str("</");
        out.push_str(&e.name);
        out.push_str(">\n");
        return;
    }
    out.push_str(">\n");
    for c in &e.children {
        element(out, c);
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push_str(">\n");
}

/// The status part of a `*Rs` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: u32,
    pub severity: Severity,
    pub message: String,
}

impl Status {
    /// 0, Info, "Status OK".
    pub fn ok() -> Status {
        Status::from_code(0, &[])
    }

    /// A status from the catalogue, placeholders filled.
    pub fn from_code(code: u32, args: &[(&str, &str)]) -> Status {
        match catalog::status(code) {
            Some(s) => Status {
                code,
                severity: s.severity,
                message: s.format(args),
            },
            None => Status {
                code,
                severity: Severity::for_code(code),
                message: String::new(),
            },
        }
    }
}

impl Default for Status {
    fn default() -> Status {
        Status::ok()
    }
}

/// The attributes of one `*Rs` element, in QuickBooks' order.
#[derive(Clone, Debug)]
pub struct RsHead<'a> {
    /// `CustomerQueryRs`.
    pub name: &'a str,
    /// Only when the request had one.
    pub request_id: Option<&'a str>,
    pub status: Status,
    /// Queries with `metaData`.
    pub ret_count: Option<u32>,
    pub iterator_remaining_count: Option<u32>,
    pub iterator_id: Option<&'a str>,
}

impl<'a> RsHead<'a> {
    pub fn new(name: &'a str, request_id: Option<&'a str>, status: Status) -> RsHead<'a> {
        RsHead {
            name,
            request_id,
            status,
            ret_count: None,
            iterator_remaining_count: None,
            iterator_id: None,
        }
    }
}

/// Writes a response message set: the one place the envelope
/// (`<?xml …?>`, `<QBXML>`, `<QBXMLMsgsRs …>`) is written.
///
/// Each `*Ret` is put in schema order and elements newer than the
/// request's version are refused (QuickBooks answers in the version asked
/// for).
pub struct ResponseWriter {
    out: String,
    schema: Schema,
    version: Version,
    /// Where the last `*Rs` written starts.
    last: usize,
}

impl ResponseWriter {
    /// A response to a request of `version`.
    pub fn new(version: Version) -> ResponseWriter {
        ResponseWriter::with_message_set(version, None, None)
    }

    /// With the error-recovery attributes of `QBXMLMsgsRs`.
    pub fn with_message_set(
        version: Version,
        new_message_set_id: Option<&str>,
        message_set_status_code: Option<u32>,
    ) -> ResponseWriter {
        let mut out = String::with_capacity(1024);
        out.push_str("<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs");
        if let Some(id) = new_message_set_id {
            attr(&mut out, "newMessageSetID", id);
        }
        if let Some(code) = message_set_status_code {
            attr(&mut out, "messageSetStatusCode", &code.to_string());
        }
        out.push_str(">\n");
        let last = out.len();
        ResponseWriter {
            out,
            schema: Schema::for_version(version),
            version,
            last,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing is written: never, since the envelope's start is
    /// written when the writer is made (`len` is the answer's size).
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The text of the last `*Rs` written (what error recovery saves).
    pub fn last_response(&self) -> &str {
        &self.out[self.last..]
    }

    /// Take the last `*Rs` back (to answer otherwise).
    pub fn undo_last(&mut self) {
        self.out.truncate(self.last);
    }

    /// A `*Rs` written before, as it was (error recovery's saved answers).
    pub fn saved_response(&mut self, text: &str) {
        self.last = self.out.len();
        self.out.push_str(text);
    }

    /// One `*Rs` with its items (`*Ret` elements, `ErrorRecovery`, …), which
    /// are put in schema order. On an error nothing is written.
    pub fn response(&mut self, head: &RsHead<'_>, mut items: Vec<Elem>) -> Result<(), BuildError> {
        if !items.is_empty() {
            let rs = self.response_decl(head.name)?;
            let mut wrapper = Elem::new(head.name.to_string());
            wrapper.children = items;
            wrapper.order_by_schema(rs, Some(self.version))?;
            items = wrapper.children;
        }
        self.response_unchecked(head, &items);
        Ok(())
    }

    /// One `*Rs` whose items are records kept in a newer version, in any
    /// order: what the response's version does not have is dropped, the
    /// rest put in schema order ([`Elem::fit_to_schema`]). An item that is
    /// not a child of the `*Rs` at all is an error, and nothing is written.
    pub fn response_fitted(
        &mut self,
        head: &RsHead<'_>,
        mut items: Vec<Elem>,
    ) -> Result<(), BuildError> {
        if !items.is_empty() {
            let decl = self.response_decl(head.name)?;
            if let Some(item) = items.iter().find(|i| decl.child(&i.name).is_none()) {
                return Err(BuildError {
                    path: format!("QBXML/QBXMLMsgsRs/{}", head.name),
                    detail: format!("{} is not a child of {}", item.name, head.name),
                    parse: None,
                });
            }
            let mut wrapper = Elem::new(head.name.to_string());
            wrapper.children = items;
            wrapper.fit_to_schema(decl, self.version);
            items = wrapper.children;
        }
        self.response_unchecked(head, &items);
        Ok(())
    }

    /// The declaration of a `*Rs`, or the error that it is none.
    fn response_decl(&self, name: &str) -> Result<crate::schema::Decl, BuildError> {
        self.schema
            .response(name)
            .map(|rs| rs.decl())
            .ok_or_else(|| BuildError {
                path: format!("QBXML/QBXMLMsgsRs/{name}"),
                detail: format!("{name} is not a qbXML response type"),
                parse: None,
            })
    }

    /// One `*Rs`, items written as given.
    pub fn response_unchecked(&mut self, head: &RsHead<'_>, items: &[Elem]) {
        self.last = self.out.len();
        let out = &mut self.out;
        out.push('<');
        out.push_str(head.name);
        if let Some(id) = head.request_id {
            attr(out, "requestID", id);
        }
        attr(out, "statusCode", &head.status.code.to_string());
        attr(out, "statusSeverity", head.status.severity.as_str());
        attr(out, "statusMessage", &head.status.message);
        if let Some(n) = head.ret_count {
            attr(out, "retCount", &n.to_string());
        }
        if let Some(n) = head.iterator_remaining_count {
            attr(out, "iteratorRemainingCount", &n.to_string());
        }
        if let Some(id) = head.iterator_id {
            attr(out, "iteratorID", id);
        }
        if items.is_empty() {
            out.push_str(" />\n");
            return;
        }
        out.push_str(">\n");
        for e in items {
            element(out, e);
        }
        out.push_str("</");
        out.push_str(head.name);
        out.push_str(">\n");
    }

    /// The document, ending with `</QBXML>` (no newline, as QuickBooks).
    pub fn finish(mut self) -> String {
        self.out.push_str("</QBXMLMsgsRs>\n</QBXML>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_all_five() {
        let mut s = String::new();
        escape_into(&mut s, "Use \"Overhead\" for <x> & y aren't");
        assert_eq!(
            s,
            "Use &quot;Overhead&quot; for &lt;x&gt; &amp; y aren&apos;t"
        );
    }

    /// Byte for byte the shape of a real response
    /// (`flowlink__item_inventory_query_rs_empty.xml`, whitespace aside).
    #[test]
    fn empty_query_response() {
        let mut w = ResponseWriter::new(Version::V13_0);
        let head = RsHead::new("ItemInventoryQueryRs", Some("1"), Status::from_code(1, &[]));
        assert!(w.response(&head, Vec::new()).is_ok());
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<ItemInventoryQueryRs requestID=\"1\" statusCode=\"1\" statusSeverity=\"Info\" statusMessage=\"A query request did not find a matching object in QuickBooks\" />\n</QBXMLMsgsRs>\n</QBXML>"
        );
    }
}
