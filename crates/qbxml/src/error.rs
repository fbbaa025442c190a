//! Errors: what fails a whole message set ([`ParseError`], an HRESULT as
//! QuickBooks' request processor raises it) and what fails one request
//! ([`FieldError`], a status code QuickBooks answers in that request's `*Rs`).

use crate::catalog::{HResult, Severity};
use std::fmt;

/// Why a document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not UTF-8 (or not valid in its declared encoding), or an encoding we
    /// do not read.
    Encoding,
    /// Not well-formed XML, including a truncated document.
    Syntax,
    /// A `<!DOCTYPE>`: DTDs are never read, so entity bombs cannot start.
    Doctype,
    /// An entity reference other than `&lt; &gt; &amp; &apos; &quot;` and
    /// character references.
    UndefinedEntity,
    /// A configured [`Limits`](crate::Limits) bound was exceeded.
    Limit(Limit),
    /// Well-formed XML that is not qbXML (wrong root, no message set).
    NotQbxml,
    /// No `<?qbxml version="…"?>` before `<QBXML>`.
    MissingVersion,
    /// The declared qbXML version is not one QuickBooks supports.
    UnsupportedVersion,
    /// An element that is unknown or not allowed where it stands.
    UnexpectedElement,
    /// An element that exists only in a newer qbXML version than declared.
    ElementTooNew,
    /// An element ended before a required child.
    MissingElement,
    /// More repetitions than the schema allows.
    TooManyOccurrences,
    /// Text where the schema allows only elements.
    UnexpectedText,
    /// An attribute that is unknown, missing or has a value outside its list.
    Attribute,
    /// A response without a readable status (statusCode, statusSeverity).
    InvalidResponse,
}

/// Which limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    TotalSize,
    Depth,
    Elements,
    TextSize,
    Attributes,
}

/// A message set QuickBooks would refuse as a whole.
///
/// `hresult` and [`message`](Self::message) are exactly what QuickBooks'
/// request processor reports; `detail`, `line`, `column` and `path` are ours:
/// what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub hresult: HResult,
    pub detail: String,
    /// 1-based; 0 when the error is not at a place in the text.
    pub line: u32,
    pub column: u32,
    /// Element path such as `QBXML/QBXMLMsgsRq/CustomerAddRq/CustomerAdd`.
    pub path: String,
}

impl ParseError {
    /// QuickBooks' message for the HRESULT.
    pub fn message(&self) -> &'static str {
        self.hresult.message().unwrap_or("Unexpected error.")
    }

    /// Is this a size/depth/count limit rather than a mistake in the XML?
    pub fn is_limit(&self) -> bool {
        matches!(self.kind, ErrorKind::Limit(_))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.hresult, self.message(), self.detail)?;
        if self.line > 0 {
            write!(f, " (line {}, column {}", self.line, self.column)?;
            if !self.path.is_empty() {
                write!(f, ", {}", self.path)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// A request QuickBooks would answer with an error status, without touching
/// the rest of the message set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub status_code: u32,
    pub severity: Severity,
    /// QuickBooks' `statusMessage`, exactly.
    pub message: String,
    /// Ours: what is wrong and what is allowed.
    pub detail: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "status {} ({}): {} {} (line {}, column {}, {})",
            self.status_code,
            self.severity,
            self.message,
            self.detail,
            self.line,
            self.column,
            self.path
        )
    }
}

impl std::error::Error for FieldError {}

/// Bounds that keep hostile input cheap to refuse.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Total input size in bytes.
    pub max_size: usize,
    /// Element nesting depth (qbXML needs about 10; reports a few more).
    pub max_depth: usize,
    /// Elements in the document.
    pub max_elements: usize,
    /// One text node or attribute value, in bytes.
    pub max_text: usize,
    /// Attributes on one element.
    pub max_attributes: usize,
}

impl Default for Limits {
    /// 100 MiB, depth 64, 5 million elements, 1 MiB per text, 16 attributes.
    fn default() -> Self {
        Limits {
            max_size: 100 << 20,
            max_depth: 64,
            max_elements: 5_000_000,
            max_text: 1 << 20,
            max_attributes: 16,
        }
    }
}
