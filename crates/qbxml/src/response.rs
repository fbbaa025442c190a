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
    /// The outcome of a response text (QuickBooks'), read with
    /// [`parse_response`].
    pub fn of(xml: &str) -> Result<Outcome, ParseError> {
        Ok(parse_response(xml)?.outcome())
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
