//! qbXML, the XML dialect of QuickBooks Desktop's SDK: parse and validate
//! requests exactly as QuickBooks' request processor does, parse responses,
//! and write responses byte for byte in QuickBooks' style.
//!
//! No I/O, no async. Everything else in the project (the server's read-only
//! guard, the simulator, the Web Connector bridge, the client) takes its
//! understanding of qbXML from here.
//!
//! ```
//! let xml = r#"<?xml version="1.0"?>
//! <?qbxml version="13.0"?>
//! <QBXML><QBXMLMsgsRq onError="stopOnError">
//!   <CustomerAddRq requestID="1"><CustomerAdd><Name>Acme</Name><CompanyNme>x</CompanyNme></CustomerAdd></CustomerAddRq>
//! </QBXMLMsgsRq></QBXML>"#;
//! let err = qbxml::parse_request(xml).unwrap_err();
//! assert_eq!(err.hresult.to_string(), "0x80040400");
//! assert_eq!(err.message(), "QuickBooks found an error when parsing the provided XML text stream.");
//! assert!(err.detail.contains("in CustomerAdd after Name: expected one of IsActive, ClassRef, ParentRef, CompanyName"));
//! assert!(err.detail.contains("found CompanyNme"));
//! assert_eq!((err.line, err.column), (4, 62));
//! ```
//!
//! The layers: [`parse`](parse_request) streams the input through quick-xml
//! into a flat [`Document`] while the validator steps the content-model
//! automaton of each open element ([`schema`], generated from Intuit's XSDs
//! by `cargo xtask gen-schema`). Structure errors fail the message set
//! ([`ParseError`], HRESULT 0x80040400); value errors fail one request
//! ([`FieldError`], a status code such as 3070). [`catalog`] holds every
//! status code and HRESULT with QuickBooks' exact messages.

mod build;
pub mod catalog;
mod classify;
pub mod connstr;
mod doc;
mod error;
mod hcp;
pub mod json;
mod parse;
mod request;
mod response;
pub mod schema;
mod validate;
mod values;
mod version;
mod write;

pub use build::{BuildError, Elem, RequestBuilder};
pub use catalog::{HResult, Severity};
pub use classify::{access_of, Access};
pub use doc::{Children, Document, Element};
pub use error::{ErrorKind, FieldError, Limit, Limits, ParseError};
pub use hcp::{read_hcp, Hcp};
pub use request::{
    parse_request, parse_request_with, requests_parsed, IteratorMode, MessageSetKind, MetaData,
    OnError, Request, RequestSet, ResponseData,
};
pub use response::{parse_response, parse_response_with, Outcome, Response, ResponseSet};
pub use version::Version;
pub use write::{escape_into, escaped_len, ResponseWriter, RsHead, Status};
