//! Response message sets, as QuickBooks (or the Web Connector) returns them.
//!
//! Responses are checked for well-formedness, limits and a readable status
//! on every `*Rs`; their content is not schema-validated (QuickBooks is the
//! authority on what it answers).

use crate::catalog::Severity;
use crate::doc::{Document, Element};
use crate::error::{ErrorKind, Limits, ParseError};
use crate::parse::{self, Mode};
use crate::write::Status;

/// A parsed response message set.
#[derive(Debug)]
pub struct ResponseSet {
    doc: Document,
    msgs: Option<u32>,
}

/// Parse a qbXML response with the default [`Limits`].
pub fn parse_response(input: impl Into<Vec<u8>>) -> Result<ResponseSet, ParseError> {
    parse_response_with(input, &Limits::default())
}

/// Parse a qbXML response.
pub fn parse_response_with(
    input: impl Into<Vec<u8>>,
    limits: &Limits,
) -> Result<ResponseSet, ParseError> {
    let parsed = parse::parse(input.into(), limits, Mode::Response)?;
    let doc = parsed.doc;
    let root = doc.root();
    let msgs = root
        .children()
        .find(|c| matches!(c.name(), "QBXMLMsgsRs" | "QBXMLSubscriptionMsgsRs"));
    if msgs.is_none() && root.child("SignonMsgsRs").is_none() {
        return Err(invalid(
            root,
            ErrorKind::NotQbxml,
            "<QBXML> holds no response message set (QBXMLMsgsRs)".into(),
        ));
    }
    if let Some(m) = msgs {
        for rs in m.children() {
            check_status(rs)?;
        }
    }
    let msgs = msgs.map(|m| m.id());
    Ok(ResponseSet { doc, msgs })
}

fn invalid(at: Element<'_>, kind: ErrorKind, detail: String) -> ParseError {
    let (line, column) = at.line_col();
    ParseError {
        kind,
        hresult: crate::catalog::HResult::PARSE_ERROR,
        detail,
        line,
        column,
        path: at.path(),
    }
}

fn check_status(rs: Element<'_>) -> Result<(), ParseError> {
    let code = rs.attr("statusCode");
    if code.and_then(|c| c.trim().parse::<u32>().ok()).is_none() {
        return Err(invalid(
            rs,
            ErrorKind::InvalidResponse,
            format!("<{}> has no numeric statusCode", rs.name()),
        ));
    }
    if rs
        .attr("statusSeverity")
        .and_then(Severity::parse)
        .is_none()
    {
        return Err(invalid(
            rs,
            ErrorKind::InvalidResponse,
            format!(
                "<{}> has no statusSeverity of Info, Warn or Error",
                rs.name()
            ),
        ));
    }
    for a in ["retCount", "iteratorRemainingCount", "messageSetStatusCode"] {
        if rs.attr(a).is_some_and(|v| v.trim().parse::<u32>().is_err()) {
            return Err(invalid(
                rs,
                ErrorKind::InvalidResponse,
                format!("<{}> has a {a} that is not a number", rs.name()),
            ));
        }
    }
    Ok(())
}

impl ResponseSet {
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// `QBXMLMsgsRs`, if present.
    pub fn message_set(&self) -> Option<Element<'_>> {
        self.msgs.map(|m| self.doc.element(m))
    }

    pub fn new_message_set_id(&self) -> Option<&str> {
        self.message_set()?.attr("newMessageSetID")
    }

    pub fn message_set_status_code(&self) -> Option<u32> {
        self.message_set()?
            .attr("messageSetStatusCode")?
            .trim()
            .parse()
            .ok()
    }

    /// The `*Rs` elements in order.
    pub fn responses(&self) -> impl Iterator<Item = Response<'_>> {
        self.message_set()
            .into_iter()
            .flat_map(|m| m.children())
            .map(|el| Response { el })
    }

    pub fn len(&self) -> usize {
        self.responses().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each response's status, and the message set's status code.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            statuses: self
                .responses()
                .map(|r| Status {
                    code: r.status_code(),
                    severity: r.severity(),
                    message: r.message().to_string(),
                })
                .collect(),
            message_set_status_code: self.message_set_status_code(),
        }
    }
}

/// What a caller needs to know of an answer without reading its text:
/// each `*Rs`'s status in order, and `QBXMLMsgsRs messageSetStatusCode`.
/// A backend gives it beside the text, so that nothing outside this crate
/// looks inside qbXML.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub statuses: Vec<Status>,
    pub message_set_status_code: Option<u32>,
}

impl Outcome {
    /// The outcome of a response text (QuickBooks'), read in one pass over
    /// its tags without building a document: linear in the text and
    /// without [`Limits`], since the answer is already in memory and a
    /// large one (a full customer list) must still say how it went. Each
    /// `*Rs` must carry a numeric `statusCode` and a `statusSeverity`, as
    /// [`parse_response`] requires.
    pub fn of(xml: &str) -> Result<Outcome, ParseError> {
        scan::outcome(xml)
    }

    /// Whether any request was answered with severity Error.
    pub fn any_error(&self) -> bool {
        self.statuses.iter().any(|s| s.severity == Severity::Error)
    }
}

/// One `*Rs` element.
#[derive(Clone, Copy, Debug)]
pub struct Response<'a> {
    el: Element<'a>,
}

impl<'a> Response<'a> {
    pub fn element(&self) -> Element<'a> {
        self.el
    }

    /// `CustomerQueryRs`.
    pub fn name(&self) -> &'a str {
        self.el.name()
    }

    pub fn request_id(&self) -> Option<&'a str> {
        self.el.attr("requestID")
    }

    /// Checked to be a number when the set was parsed.
    pub fn status_code(&self) -> u32 {
        self.el
            .attr("statusCode")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Checked to be readable when the set was parsed.
    pub fn severity(&self) -> Severity {
        self.el
            .attr("statusSeverity")
            .and_then(Severity::parse)
            .unwrap_or(Severity::Error)
    }

    pub fn message(&self) -> &'a str {
        self.el.attr("statusMessage").unwrap_or("")
    }

    pub fn ret_count(&self) -> Option<u32> {
        self.el.attr("retCount")?.trim().parse().ok()
    }

    pub fn iterator_remaining_count(&self) -> Option<u32> {
        self.el.attr("iteratorRemainingCount")?.trim().parse().ok()
    }

    pub fn iterator_id(&self) -> Option<&'a str> {
        self.el.attr("iteratorID")
    }

    /// The `*Ret` (and other) children.
    pub fn items(&self) -> crate::doc::Children<'a> {
        self.el.children()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// The streaming read behind [`Outcome::of`].
mod scan {
    use super::Outcome;
    use crate::catalog::{HResult, Severity};
    use crate::error::{ErrorKind, ParseError};
    use crate::write::Status;
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;

    fn bad(kind: ErrorKind, detail: String) -> ParseError {
        ParseError {
            kind,
            hresult: HResult::PARSE_ERROR,
            detail,
            line: 0,
            column: 0,
            path: String::new(),
        }
    }

    fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, ParseError> {
        for a in e.attributes() {
            let a = a.map_err(|x| bad(ErrorKind::Syntax, x.to_string()))?;
            if a.key.as_ref() == name {
                let v = a
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|x| bad(ErrorKind::UndefinedEntity, x.to_string()))?;
                return Ok(Some(v.into_owned()));
            }
        }
        Ok(None)
    }

    fn number(e: &BytesStart<'_>, name: &str) -> Result<Option<u32>, ParseError> {
        match attr(e, name)? {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                let el = e.name().as_ref().to_string();
                bad(
                    ErrorKind::InvalidResponse,
                    format!("<{el}> has a {name} that is not a number"),
                )
            }),
        }
    }

    fn status(e: &BytesStart<'_>) -> Result<Status, ParseError> {
        let el = || e.name().as_ref().to_string();
        let code = number(e, "statusCode")?.ok_or_else(|| {
            bad(
                ErrorKind::InvalidResponse,
                format!("<{}> has no numeric statusCode", el()),
            )
        })?;
        let severity = attr(e, "statusSeverity")?
            .as_deref()
            .and_then(Severity::parse)
            .ok_or_else(|| {
                bad(
                    ErrorKind::InvalidResponse,
                    format!("<{}> has no statusSeverity of Info, Warn or Error", el()),
                )
            })?;
        let message = attr(e, "statusMessage")?.unwrap_or_default();
        Ok(Status {
            code,
            severity,
            message,
        })
    }

    pub(super) fn outcome(xml: &str) -> Result<Outcome, ParseError> {
        let mut reader = Reader::from_str(xml);
        let mut out = Outcome::default();
        // Depth of the element being read: 1 is <QBXML>.
        let mut depth = 0usize;
        let mut in_msgs = false;
        let mut message_set = false;
        let mut root = false;
        let mut msgs_seen = false;
        loop {
            let event = reader
                .read_event()
                .map_err(|x| bad(ErrorKind::Syntax, x.to_string()))?;
            let (e, empty) = match event {
                Event::Start(e) => (e, false),
                Event::Empty(e) => (e, true),
                Event::End(_) => {
                    if depth == 2 {
                        in_msgs = false;
                    }
                    depth = depth.saturating_sub(1);
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let at = depth + 1;
            match at {
                1 if root || e.name().as_ref() != "QBXML" => {
                    return Err(bad(
                        ErrorKind::NotQbxml,
                        "the document is not one <QBXML> element".into(),
                    ));
                }
                1 => root = true,
                2 => match e.name().as_ref() {
                    // The first message set is the answer, as for
                    // parse_response.
                    "QBXMLMsgsRs" | "QBXMLSubscriptionMsgsRs" if !msgs_seen => {
                        msgs_seen = true;
                        message_set = true;
                        in_msgs = !empty;
                        // Read as the full parse reads it: a status code
                        // that is not a number is no status code.
                        out.message_set_status_code =
                            attr(&e, "messageSetStatusCode")?.and_then(|v| v.trim().parse().ok());
                    }
                    "SignonMsgsRs" => message_set = true,
                    _ => {}
                },
                3 if in_msgs => out.statuses.push(status(&e)?),
                _ => {}
            }
            if !empty {
                depth = at;
            }
        }
        if depth != 0 {
            // quick-xml ends quietly inside open elements: a cut-off
            // answer is not a complete one.
            return Err(bad(
                ErrorKind::Syntax,
                "the document ends inside an element".into(),
            ));
        }
        if !message_set {
            return Err(bad(
                ErrorKind::NotQbxml,
                "<QBXML> holds no response message set (QBXMLMsgsRs)".into(),
            ));
        }
        Ok(out)
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]
        use super::super::{parse_response, Outcome};
        use crate::catalog::Severity;

        const RS: &str = "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs messageSetStatusCode=\"0\">\n<HostQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\">\n<HostRet>\n<ProductName>QuickBooks</ProductName>\n<StatusInside statusCode=\"9\"/>\n</HostRet>\n</HostQueryRs>\n<CustomerQueryRs statusCode=\"500\" statusSeverity=\"Warn\" statusMessage=\"The query request has not been fully completed. &quot;x&quot; &amp; y\" />\n</QBXMLMsgsRs>\n</QBXML>\n";

        #[test]
        fn reads_what_the_full_parse_reads() {
            let scanned = Outcome::of(RS).unwrap();
            assert_eq!(scanned, parse_response(RS).unwrap().outcome());
            assert_eq!(scanned.statuses.len(), 2);
            assert_eq!(scanned.statuses[1].severity, Severity::Warn);
            assert!(scanned.statuses[1].message.ends_with("\"x\" & y"));
            assert_eq!(scanned.message_set_status_code, Some(0));
        }

        #[test]
        fn a_large_answer_keeps_its_statuses() {
            // Past the parser's default limits: a text over 1 MiB, an
            // element with 17 attributes.
            let attrs: String = (0..17).map(|i| format!(" a{i}=\"v\"")).collect();
            let text = "x".repeat(2 << 20);
            let big = RS.replace(
                "<HostRet>",
                &format!("<HostRet><Notes{attrs}>{text}</Notes>"),
            );
            assert!(parse_response(big.as_str()).is_err());
            assert_eq!(Outcome::of(&big).unwrap().statuses.len(), 2);
        }

        #[test]
        fn refuses_what_is_not_an_answer() {
            assert!(Outcome::of("<QBXML><X/></QBXML>").is_err());
            assert!(Outcome::of("<Other/>").is_err());
            assert!(Outcome::of(&RS.replace("statusCode=\"500\"", "")).is_err());
            assert!(Outcome::of(&RS.replace("\"Warn\"", "\"Meh\"")).is_err());
            assert!(Outcome::of(&RS.replace("</HostRet>", "")).is_err());
            assert!(Outcome::of(&RS.replace("&amp;", "&nope;")).is_err());
            // Cut off anywhere inside: not an answer.
            for cut in [RS.len() / 2, RS.len() - 12, 60] {
                assert!(Outcome::of(&RS[..cut]).is_err(), "{}", &RS[..cut]);
            }
            assert!(Outcome::of(&format!("{RS}{RS}")).is_err(), "two roots");
        }

        #[test]
        fn reads_the_message_set_as_the_full_parse_does() {
            let odd = RS.replace("messageSetStatusCode=\"0\"", "messageSetStatusCode=\"x\"");
            let full = parse_response(odd.as_str()).map(|r| r.outcome());
            if let Ok(full) = full {
                assert_eq!(Outcome::of(&odd).unwrap(), full);
            }
            assert_eq!(Outcome::of(&odd).unwrap().message_set_status_code, None);
            // A sign-on answer before it changes nothing.
            let signon = RS.replace(
                "<QBXMLMsgsRs",
                "<SignonMsgsRs><SignonAppCertRs statusCode=\"0\" statusSeverity=\"Info\"/></SignonMsgsRs>\n<QBXMLMsgsRs",
            );
            assert_eq!(Outcome::of(&signon).unwrap(), Outcome::of(RS).unwrap());
            // Only the first message set is the answer.
            let two = RS.replace(
                "</QBXMLMsgsRs>\n</QBXML>",
                "</QBXMLMsgsRs>\n<QBXMLMsgsRs><XRs statusCode=\"1\" statusSeverity=\"Info\"/></QBXMLMsgsRs>\n</QBXML>",
            );
            assert_eq!(Outcome::of(&two).unwrap().statuses.len(), 2);
        }
    }
}
