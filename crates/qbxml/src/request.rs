//! Request message sets: parse, validate, and read them.

use crate::classify::{access_of, Access};
use crate::doc::{Document, Element};
use crate::error::{ErrorKind, FieldError, Limits, ParseError};
use crate::parse::{self, Mode, RequestMeta};
use crate::version::Version;

/// `QBXMLMsgsRq onError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    StopOnError,
    ContinueOnError,
    /// In the schema, but QuickBooks Desktop refuses it (FACTS §1); the
    /// parser accepts it so the backend can answer as QuickBooks does.
    RollbackOnError,
}

impl OnError {
    pub fn as_str(self) -> &'static str {
        match self {
            OnError::StopOnError => "stopOnError",
            OnError::ContinueOnError => "continueOnError",
            OnError::RollbackOnError => "rollbackOnError",
        }
    }

    pub fn parse(s: &str) -> Option<OnError> {
        match s {
            "stopOnError" => Some(OnError::StopOnError),
            "continueOnError" => Some(OnError::ContinueOnError),
            "rollbackOnError" => Some(OnError::RollbackOnError),
            _ => None,
        }
    }
}

/// `QBXMLMsgsRq responseData`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseData {
    IncludeAll,
    IncludeNone,
}

/// The `iterator` attribute of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IteratorMode {
    Start,
    Continue,
    Stop,
}

/// The `metaData` attribute of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaData {
    NoMetaData,
    MetaDataOnly,
    MetaDataAndResponseData,
}

/// Which message set the document carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageSetKind {
    /// `QBXMLMsgsRq`: ordinary requests.
    Requests,
    /// `QBXMLSubscriptionMsgsRq`: event subscriptions.
    Subscriptions,
}

/// A validated request message set.
///
/// Parsing succeeds when QuickBooks would accept the message set as a whole;
/// a request whose values QuickBooks would refuse carries its
/// [`FieldError`] (see [`Request::error`]).
#[derive(Debug)]
pub struct RequestSet {
    doc: Document,
    version: Version,
    kind: MessageSetKind,
    msgs: u32,
    requests: Vec<RequestMeta>,
    /// Read from the JSON form: its answer is wanted in JSON too.
    json: bool,
}

impl std::fmt::Debug for RequestMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request#{}", self.node)
    }
}

/// Parse and validate a qbXML request with the default [`Limits`].
pub fn parse_request(input: impl Into<Vec<u8>>) -> Result<RequestSet, ParseError> {
    parse_request_with(input, &Limits::default())
}

/// How many request documents this process has parsed (for tests that
/// check a request is parsed once on its way to the backend).
pub fn requests_parsed() -> u64 {
    PARSED.load(std::sync::atomic::Ordering::Relaxed)
}

static PARSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Parse and validate a qbXML request.
pub fn parse_request_with(
    input: impl Into<Vec<u8>>,
    limits: &Limits,
) -> Result<RequestSet, ParseError> {
    PARSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let parsed = parse::parse(input.into(), limits, Mode::Request)?;
    let Some(version) = parsed.version else {
        // The parser refuses a missing or unsupported version before <QBXML>.
        return Err(not_qbxml(&parsed.doc, "no qbXML version"));
    };
    let doc = parsed.doc;
    let root = doc.root();
    let set = root
        .children()
        .find(|c| matches!(c.name(), "QBXMLMsgsRq" | "QBXMLSubscriptionMsgsRq"));
    let Some(set) = set else {
        return Err(not_qbxml(
            &doc,
            "<QBXML> holds no request message set (<QBXMLMsgsRq onError=\"stopOnError\">…</QBXMLMsgsRq>)",
        ));
    };
    let kind = if set.name() == "QBXMLMsgsRq" {
        MessageSetKind::Requests
    } else {
        MessageSetKind::Subscriptions
    };
    let msgs = set.id();
    Ok(RequestSet {
        doc,
        version,
        kind,
        msgs,
        requests: parsed.requests,
        json: false,
    })
}

fn not_qbxml(doc: &Document, detail: &str) -> ParseError {
    let (line, column) = doc.root().line_col();
    ParseError {
        kind: ErrorKind::NotQbxml,
        hresult: crate::catalog::HResult::PARSE_ERROR,
        detail: detail.to_string(),
        line,
        column,
        path: "QBXML".into(),
    }
}

impl RequestSet {
    /// The declared `<?qbxml version?>`.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The set was read from the JSON form ([`crate::json::request_from_json`]):
    /// a backend that builds its answers may write them in JSON
    /// ([`ResponseWriter::json`](crate::ResponseWriter::json)) rather than
    /// have the connector read its qbXML back.
    pub fn answers_in_json(&self) -> bool {
        self.json
    }

    pub(crate) fn read_from_json(mut self) -> RequestSet {
        self.json = true;
        self
    }

    /// The same set, its answer wanted as qbXML whatever it was read from
    /// (a caller that reads the answer itself: the Python package walks
    /// it into native values).
    pub fn answered_in_qbxml(mut self) -> RequestSet {
        self.json = false;
        self
    }

    pub fn kind(&self) -> MessageSetKind {
        self.kind
    }

    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The request as UTF-8 text, exactly what was validated: a body that
    /// came in ISO-8859-1 or windows-1252 is decoded, and its XML
    /// declaration says UTF-8. This is what goes to QuickBooks.
    pub fn xml(&self) -> &str {
        self.doc.source()
    }

    /// The message set element (`QBXMLMsgsRq`).
    pub fn message_set(&self) -> Element<'_> {
        self.doc.element(self.msgs)
    }

    /// `onError` (required by the schema on `QBXMLMsgsRq`; `None` for a
    /// subscription message set, which has none).
    pub fn on_error(&self) -> Option<OnError> {
        self.message_set().attr("onError").and_then(OnError::parse)
    }

    pub fn new_message_set_id(&self) -> Option<&str> {
        self.message_set().attr("newMessageSetID")
    }

    pub fn old_message_set_id(&self) -> Option<&str> {
        self.message_set().attr("oldMessageSetID")
    }

    pub fn response_data(&self) -> ResponseData {
        match self.message_set().attr("responseData") {
            Some("includeNone") => ResponseData::IncludeNone,
            _ => ResponseData::IncludeAll,
        }
    }

    /// `SignonMsgsRq`, if present.
    pub fn signon(&self) -> Option<Element<'_>> {
        self.doc.root().child("SignonMsgsRq")
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The requests in document order.
    pub fn requests(&self) -> impl ExactSizeIterator<Item = Request<'_>> {
        self.requests
            .iter()
            .map(move |meta| Request { set: self, meta })
    }

    pub fn request(&self, index: usize) -> Option<Request<'_>> {
        self.requests
            .get(index)
            .map(|meta| Request { set: self, meta })
    }

    /// `Read` only if every request only reads. The read-only guard of the
    /// server relies on this.
    pub fn access(&self) -> Access {
        if self.requests().all(|r| r.access() == Access::Read) {
            Access::Read
        } else {
            Access::Write
        }
    }
}

/// One request of a [`RequestSet`].
#[derive(Clone, Copy)]
pub struct Request<'a> {
    set: &'a RequestSet,
    meta: &'a RequestMeta,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("name", &self.name())
            .field("request_id", &self.request_id())
            .field("error", &self.error())
            .finish()
    }
}

impl<'a> Request<'a> {
    /// The `*Rq` element.
    pub fn element(&self) -> Element<'a> {
        self.set.doc.element(self.meta.node)
    }

    /// `CustomerAddRq`.
    pub fn name(&self) -> &'a str {
        self.element().name()
    }

    /// The response element name: `CustomerAddRq` → `CustomerAddRs`.
    pub fn response_name(&self) -> String {
        let n = self.name();
        format!("{}Rs", n.strip_suffix("Rq").unwrap_or(n))
    }

    pub fn request_id(&self) -> Option<&'a str> {
        self.element().attr("requestID")
    }

    pub fn iterator(&self) -> Option<IteratorMode> {
        match self.element().attr("iterator")? {
            "Start" => Some(IteratorMode::Start),
            "Continue" => Some(IteratorMode::Continue),
            "Stop" => Some(IteratorMode::Stop),
            _ => None,
        }
    }

    pub fn iterator_id(&self) -> Option<&'a str> {
        self.element().attr("iteratorID")
    }

    pub fn meta_data(&self) -> MetaData {
        match self.element().attr("metaData") {
            Some("MetaDataOnly") => MetaData::MetaDataOnly,
            Some("MetaDataAndResponseData") => MetaData::MetaDataAndResponseData,
            _ => MetaData::NoMetaData,
        }
    }

    /// The value error QuickBooks would answer this request with, if any.
    pub fn error(&self) -> Option<&'a FieldError> {
        self.meta.error.as_ref()
    }

    pub fn access(&self) -> Access {
        access_of(self.name())
    }
}
