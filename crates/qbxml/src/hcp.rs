//! What QuickBooks says about itself at the start of a Web Connector
//! session: the `strHCPResponse` of the first `sendRequestXML`, which
//! holds its answers to HostQuery, CompanyQuery and PreferencesQuery.
//!
//! The Web Connector bridge reads it to learn which QuickBooks it talks
//! to and to check that the company file open there is the one it was
//! configured for (the `FileID` the Web Connector writes as a DataExt on
//! the company record, the company's name). It is read here, in the
//! format crate, so that the server never looks inside qbXML text.
//!
//! The reader streams the text (no document, no schema: QuickBooks' own
//! answer, which the schema of the session's version may not describe)
//! and keeps only the few fields it knows; anything else is skipped.

use crate::catalog::HResult;
use crate::error::{ErrorKind, ParseError};
use quick_xml::events::Event;
use quick_xml::Reader;

/// The fields of an HCP response the bridge uses. Empty when absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hcp {
    /// `HostRet/ProductName`: "QuickBooks Enterprise Solutions 23.0".
    pub product: String,
    /// `HostRet/MajorVersion` and `MinorVersion`.
    pub major_version: String,
    pub minor_version: String,
    /// `HostRet/Country`: US, CA, UK, AU.
    pub country: String,
    /// `HostRet/SupportedQBXMLVersion`, in order.
    pub qbxml_versions: Vec<String>,
    /// `CompanyRet/CompanyName`.
    pub company_name: String,
    /// The company record's DataExts: (OwnerID, DataExtName, DataExtValue).
    pub data_ext: Vec<(String, String, String)>,
}

impl Hcp {
    /// The value of the company's DataExt `name` that `owner` (a GUID,
    /// compared without regard to case) wrote: the Web Connector writes
    /// `FileID` under the application's OwnerID.
    pub fn data_ext_of(&self, owner: &str, name: &str) -> Option<&str> {
        self.data_ext
            .iter()
            .find(|(o, n, _)| o.eq_ignore_ascii_case(owner) && n.eq_ignore_ascii_case(name))
            .map(|(_, _, v)| v.as_str())
    }

    /// The value of the company's DataExt `name` (the Web Connector's
    /// `FileID`), whatever its owner.
    pub fn data_ext(&self, name: &str) -> Option<&str> {
        self.data_ext
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, _, v)| v.as_str())
    }
}

/// Deeper than any HCP answer nests; a deeper text is refused.
const MAX_DEPTH: usize = 64;

fn bad(detail: String) -> ParseError {
    ParseError {
        kind: ErrorKind::Syntax,
        hresult: HResult::PARSE_ERROR,
        detail,
        line: 0,
        column: 0,
        path: String::new(),
    }
}

/// Read an `strHCPResponse`. An empty text (a later call of the session,
/// or QuickBooks Point of Sale) reads as an empty [`Hcp`].
pub fn read_hcp(xml: &str) -> Result<Hcp, ParseError> {
    let mut out = Hcp::default();
    if xml.trim().is_empty() {
        return Ok(out);
    }
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    // The DataExtRet being read: owner, name, value.
    let mut ext: Option<(String, String, String)> = None;
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(e) => {
                if path.len() >= MAX_DEPTH {
                    return Err(bad("the HCP response nests too deep".into()));
                }
                let name = e.local_name().as_ref().to_string();
                if name == "DataExtRet" && path.iter().any(|p| p == "CompanyRet") {
                    ext = Some(Default::default());
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(_) => text.clear(),
            Event::Text(t) => text.push_str(&t),
            Event::CData(c) => text.push_str(&c),
            Event::GeneralRef(r) => {
                // An entity or character reference inside text.
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    }
                };
                match ch {
                    Some(c) => text.push(c),
                    None => return Err(bad(format!("undefined entity &{};", &*r))),
                }
            }
            Event::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(bad("an end tag without its start".into()));
                };
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = text.trim().to_string();
                match (parent, name.as_str()) {
                    ("HostRet", "ProductName") => out.product = value,
                    ("HostRet", "MajorVersion") => out.major_version = value,
                    ("HostRet", "MinorVersion") => out.minor_version = value,
                    ("HostRet", "Country") => out.country = value,
                    ("HostRet", "SupportedQBXMLVersion") => out.qbxml_versions.push(value),
                    ("CompanyRet", "CompanyName") => out.company_name = value,
                    ("DataExtRet", field) => {
                        if let Some(x) = ext.as_mut() {
                            match field {
                                "OwnerID" => x.0 = value,
                                "DataExtName" => x.1 = value,
                                "DataExtValue" => x.2 = value,
                                _ => {}
                            }
                        }
                    }
                    (_, "DataExtRet") => {
                        if let Some(x) = ext.take() {
                            out.data_ext.push(x);
                        }
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::DocType(_) => return Err(bad("a DOCTYPE is not allowed".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(bad("the HCP response ends inside an element".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HCP: &str = r#"<?xml version="1.0" ?>
<QBXML><QBXMLMsgsRs>
<HostQueryRs requestID="0" statusCode="0" statusSeverity="Info" statusMessage="Status OK"><HostRet>
<ProductName>QuickBooks Enterprise Solutions 23.0 (emulated)</ProductName><MajorVersion>33</MajorVersion><MinorVersion>0</MinorVersion>
<Country>US</Country><SupportedQBXMLVersion>13.0</SupportedQBXMLVersion><SupportedQBXMLVersion>16.0</SupportedQBXMLVersion>
</HostRet></HostQueryRs>
<CompanyQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK"><CompanyRet>
<CompanyName>Smith &amp; Sons</CompanyName>
<DataExtRet><OwnerID>{57F3B9B1-86F1-4FCC-B1EE-566DE1813D20}</OwnerID><DataExtName>FileID</DataExtName><DataExtType>STR255TYPE</DataExtType><DataExtValue>{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}</DataExtValue></DataExtRet>
</CompanyRet></CompanyQueryRs>
<PreferencesQueryRs requestID="2" statusCode="0" statusSeverity="Info" statusMessage="Status OK"><PreferencesRet/></PreferencesQueryRs>
</QBXMLMsgsRs></QBXML>"#;

    #[test]
    fn reads_host_company_and_file_id() {
        let h = read_hcp(HCP).unwrap();
        assert_eq!(h.product, "QuickBooks Enterprise Solutions 23.0 (emulated)");
        assert_eq!(
            (h.major_version.as_str(), h.minor_version.as_str()),
            ("33", "0")
        );
        assert_eq!(h.country, "US");
        assert_eq!(h.qbxml_versions, ["13.0", "16.0"]);
        assert_eq!(h.company_name, "Smith & Sons");
        assert_eq!(
            h.data_ext("fileid"),
            Some("{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}")
        );
        let owner = "{57f3b9b1-86f1-4fcc-b1ee-566de1813d20}";
        assert!(h.data_ext_of(owner, "FileID").is_some());
        assert_eq!(
            h.data_ext_of("{00000000-0000-0000-0000-000000000000}", "FileID"),
            None
        );
    }

    #[test]
    fn empty_is_nothing_and_garbage_is_refused() {
        assert_eq!(read_hcp("  ").unwrap(), Hcp::default());
        assert!(read_hcp("<QBXML><a></QBXML>").is_err());
        assert!(read_hcp("<QBXML><a>").is_err());
        assert!(read_hcp("<!DOCTYPE x [<!ENTITY e 'x'>]><QBXML>&e;</QBXML>").is_err());
        assert!(read_hcp(&"<a>".repeat(100)).is_err());
    }
}
