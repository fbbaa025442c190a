//! The JSON form of qbXML, derived from Intuit's schema (docs/PROTOCOL.md
//! §14 has the whole description and examples):
//!
//! * A document is `{"version": "16.0", "QBXML": {…}}`.
//! * An element is a member named as in qbXML. Its value is a scalar if
//!   the element holds text, an object if it holds elements; an element
//!   that holds text and has attributes is `{"@attr": …, "#text": …}`.
//! * Attributes are members named `@` + their name (`@requestID`).
//! * A name the schema allows more than once in its parent is always an
//!   array, even of one; a name allowed once never is.
//! * Booleans are `true`/`false`, integers numbers; amounts, prices,
//!   quantities, percentages and floats are strings with their exact
//!   decimal text (numbers are accepted on input, and their literal text
//!   is kept); everything else (dates, IDs, enumerations) is a string.
//! * Where the schema lets elements of different names interleave (an
//!   invoice's lines and line groups, a report's rows, the requests of a
//!   message set), each name still has its array, and `#order` lists the
//!   names in document order. On input it may be left out: each name's
//!   items then come in the schema's order of the names.
//! * Input order never matters otherwise: elements are written in the
//!   schema's order.
//!
//! JSON → qbXML is [`to_qbxml`] (and [`request_from_json`], which also
//! validates it as a request); qbXML → JSON is [`document_to_json`] (or
//! [`visit`], which drives a [`Sink`] instead of writing text).

pub(crate) mod from_xml;
mod openapi;
mod stream;
mod to_xml;
pub mod value;

pub use from_xml::Sink;
pub use openapi::openapi;

use crate::catalog::HResult;
use crate::doc::Document;
use crate::error::{ErrorKind, Limits, ParseError};
use crate::request::RequestSet;
use crate::schema::Kind;
use crate::version::Version;

/// The member listing an interleaved group's names in document order.
pub const ORDER: &str = "#order";
/// The member holding the text of an element that also has attributes.
pub const TEXT: &str = "#text";

/// How a simple type is written in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    Int,
    /// Exact decimal text, as a string.
    Decimal,
    Text,
}

/// The JSON type of a qbXML simple type.
pub fn scalar_of(kind: Kind) -> Scalar {
    match kind {
        Kind::Bool => Scalar::Bool,
        Kind::Int => Scalar::Int,
        Kind::Amt | Kind::Price | Kind::Quan | Kind::Percent | Kind::Float => Scalar::Decimal,
        _ => Scalar::Text,
    }
}

/// Text that a JSON integer gives back unchanged: `0`, `-12`, no sign
/// `+`, no leading zeros, within an `i64`.
pub(crate) fn is_canonical_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && s != "-0"
}

/// Why a JSON document was refused: not JSON, or JSON that does not fit
/// the schema (then with QuickBooks' HRESULT and the validator's detail,
/// as for qbXML).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub kind: ErrorKind,
    /// `None` when the text is not JSON at all.
    pub hresult: Option<HResult>,
    pub detail: String,
    /// The JSON path of the offending member (`$.QBXML.QBXMLMsgsRq.
    /// CustomerAddRq[0].CustomerAdd.Nme`); `""` when the text is not JSON.
    pub path: String,
    /// Where in the JSON text, for text that is not JSON (else 0).
    pub line: u32,
    pub column: u32,
}

impl JsonError {
    fn shape(kind: ErrorKind, detail: String, path: String) -> JsonError {
        let hresult = if kind == ErrorKind::UnsupportedVersion {
            HResult::UNSUPPORTED_VERSION
        } else {
            HResult::PARSE_ERROR
        };
        JsonError {
            kind,
            hresult: Some(hresult),
            detail,
            path,
            line: 0,
            column: 0,
        }
    }

    /// Is the text not JSON at all (rather than JSON that is not qbXML)?
    pub fn is_syntax(&self) -> bool {
        self.hresult.is_none()
    }

    /// QuickBooks' message for the HRESULT, or "not JSON".
    pub fn message(&self) -> &'static str {
        match self.hresult {
            Some(h) => h.message().unwrap_or("Unexpected error."),
            None => "The request is not JSON.",
        }
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.message(), self.detail)?;
        if self.is_syntax() {
            write!(f, " (line {}, column {})", self.line, self.column)
        } else {
            write!(f, " (at {})", self.path)
        }
    }
}

impl std::error::Error for JsonError {}

/// Nesting allowed in JSON: an element and its array per qbXML level.
fn max_json_depth(limits: &Limits) -> usize {
    limits.max_depth.saturating_mul(2).saturating_add(4)
}

fn read<'t>(text: &'t str, limits: &Limits) -> Result<value::Value<'t>, JsonError> {
    if text.len() > limits.max_size {
        return Err(JsonError {
            kind: ErrorKind::Limit(crate::error::Limit::TotalSize),
            hresult: Some(HResult::PARSE_ERROR),
            detail: format!("the document is larger than {} bytes", limits.max_size),
            path: "$".into(),
            line: 0,
            column: 0,
        });
    }
    value::parse(text, max_json_depth(limits)).map_err(|e| {
        let (line, column) = crate::doc::line_col(text, e.offset);
        JsonError {
            kind: ErrorKind::Syntax,
            hresult: None,
            detail: e.message,
            path: String::new(),
            line,
            column,
        }
    })
}

/// The most qbXML a JSON document within `limits` may stand for: twice
/// the size limit (its tags are written twice; JSON that stands for more,
/// such as long arrays of empty values, is refused rather than written).
fn qbxml_cap(limits: &Limits) -> usize {
    limits.max_size.saturating_mul(2)
}

/// The JSON form → qbXML text (a request or a response document), in
/// schema order. Only the shape is checked here; [`request_from_json`]
/// also validates a request.
pub fn to_qbxml(text: &str, limits: &Limits) -> Result<String, JsonError> {
    let v = read(text, limits)?;
    let out = to_xml::document(&v, text.len() * 2, qbxml_cap(limits), false)?;
    Ok(out.xml)
}

/// A JSON request document → the validated request set, exactly as if
/// its qbXML had been sent (one parse of the written text). A
/// validation error names the JSON member it comes from.
pub fn request_from_json(text: &str, limits: &Limits) -> Result<RequestSet, JsonError> {
    let v = read(text, limits)?;
    let cap = qbxml_cap(limits);
    let out = to_xml::document(&v, text.len() * 2, cap, false)?;
    let xml_limits = Limits {
        max_size: cap,
        ..limits.clone()
    };
    crate::request::parse_request_with(out.xml, &xml_limits)
        .map(crate::RequestSet::read_from_json)
        .map_err(|e| {
            // Written again, this time keeping where each line comes from.
            match to_xml::document(&v, text.len() * 2, cap, true) {
                Ok(again) => locate(e, &again.lines),
                Err(shape) => shape,
            }
        })
}

/// A validator error in the written text, told in the JSON's terms.
fn locate(e: ParseError, lines: &to_xml::Lines<'_>) -> JsonError {
    // The reader checks the version at the root element.
    let path = match e.kind {
        ErrorKind::UnsupportedVersion | ErrorKind::MissingVersion => "$.version".into(),
        _ => lines.path_of_line(e.line),
    };
    JsonError {
        path,
        kind: e.kind,
        hresult: Some(e.hresult),
        detail: e.detail,
        line: 0,
        column: 0,
    }
}

/// A parsed document (request or response) as JSON text.
pub fn document_to_json(doc: &Document, version: Version) -> String {
    let mut w = from_xml::Writer::new(doc.source().len());
    from_xml::document(doc, version, &mut w);
    w.out
}

/// A qbXML response text (QuickBooks' answer to a request of `version`)
/// as JSON text.
pub fn response_to_json(xml: &str, version: Version) -> Result<String, ParseError> {
    // One pass over the text when the answer is as QuickBooks writes it;
    // otherwise the parsed document's walk (which also says what is wrong
    // with an answer that is not qbXML).
    match stream::convert(xml, version) {
        Some(json) => Ok(json),
        None => response_to_json_walked(xml, version),
    }
}

/// The one pass alone: `None` where it leaves the answer to the walk
/// (tests check both write the same).
#[doc(hidden)]
pub fn response_to_json_one_pass(xml: &str, version: Version) -> Option<String> {
    stream::convert(xml, version)
}

/// The document walk alone (tests compare it with the one pass).
#[doc(hidden)]
pub fn response_to_json_walked(xml: &str, version: Version) -> Result<String, ParseError> {
    let set = crate::response::parse_response(xml)?;
    Ok(document_to_json(set.document(), version))
}

/// A built element's value in the JSON form, typed by its declaration
/// (`None`: by its shape): for example a query's records, as the
/// children of an `Elem` named for its `…QueryRs`.
pub fn elem_to_json(e: &crate::build::Elem, decl: Option<crate::schema::Decl>) -> String {
    let mut w = from_xml::Writer::new(256);
    from_xml::element(e, decl, &mut w);
    w.out
}

/// Walk a parsed document into a [`Sink`] (native values, for bindings).
pub fn visit(doc: &Document, version: Version, sink: &mut impl Sink) {
    from_xml::document(doc, version, sink);
}

#[cfg(test)]
mod tests;
