//! The reader on a Web Connector session as it went over the wire
//! (shared/qbwc/wire), and the writer beside a reference server's answers
//! to the same calls (spyne, from the same capture).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbwc::{fault, read, write, Call, Reply};
use std::path::Path;

const WIRE: &str = "../../../shared/qbwc/wire";

/// (SOAPAction, body) of a captured request.
fn request(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap();
    let action = head
        .lines()
        .find_map(|l| l.strip_prefix("SOAPAction:"))
        .unwrap()
        .trim()
        .to_string();
    (action, body.to_string())
}

/// The result element's content in a spyne answer, prefixes removed.
fn spyne_result(text: &str, op: &str) -> String {
    let open = format!("<tns:{op}Result>");
    let close = format!("</tns:{op}Result>");
    let start = text.find(&open).map(|i| i + open.len());
    match start {
        Some(s) => text[s..s + text[s..].find(&close).unwrap()].replace("tns:", ""),
        // An empty result: <tns:xResult/>
        None => String::new(),
    }
}

fn our_result(text: &str, op: &str) -> String {
    let open = format!("<{op}Result>");
    let close = format!("</{op}Result>");
    let s = text.find(&open).unwrap() + open.len();
    text[s..s + text[s..].find(&close).unwrap()].to_string()
}

#[test]
fn a_captured_session_reads_and_answers_as_the_reference_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(WIRE);
    if !dir.exists() {
        eprintln!("SKIP: {} not found", dir.display());
        return;
    }
    let mut requests: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".request.xml"))
        .collect();
    requests.sort();
    assert_eq!(requests.len(), 10);
    for path in requests {
        let (action, body) = request(&path);
        let call = read(body.as_bytes(), Some(&action)).unwrap();
        let op = call.operation();
        assert!(action.trim_matches('"').ends_with(op), "{action} {op}");
        // The same call without the header: the body alone names it.
        assert_eq!(read(body.as_bytes(), None).unwrap(), call);
        let answer = std::fs::read_to_string(
            path.to_string_lossy()
                .replace(".request.xml", ".response-spyne.xml"),
        )
        .unwrap();
        let expected = spyne_result(&answer, op);
        let reply = match &call {
            Call::Authenticate { .. } => {
                let strings: Vec<String> = expected
                    .split("<string>")
                    .skip(1)
                    .map(|s| s.split("</string>").next().unwrap().to_string())
                    .collect();
                Reply::Authenticate {
                    ticket: strings[0].clone(),
                    status: strings[1].clone(),
                    postpone_secs: None,
                    min_run_every_secs: None,
                }
            }
            Call::ReceiveResponseXml { response, .. } => {
                assert!(response.starts_with("<?xml") && response.contains("<QBXML>"));
                Reply::Progress(expected.parse().unwrap())
            }
            _ => Reply::Text {
                operation: op,
                text: quick_unescape(&expected),
            },
        };
        let ours = write(&reply);
        assert_eq!(our_result(&ours, op), expected, "{}", path.display());
        match call {
            Call::SendRequestXml {
                ticket,
                company_file,
                country,
                major,
                ..
            } => {
                assert!(!ticket.is_empty());
                assert_eq!(
                    (company_file.as_str(), country.as_str(), major),
                    (r"C:\x.QBW", "US", 13)
                );
            }
            Call::Authenticate { user, password } => {
                assert_eq!((user.as_str(), password.as_str()), ("username", "password"))
            }
            _ => {}
        }
    }
}

fn quick_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[test]
fn rpc_style_prefixes_types_and_an_unquoted_action() {
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
 <soap:Body>
  <q1:receiveResponseXML xmlns:q1="http://developer.intuit.com/">
   <ticket xsi:type="xsd:string">t-1</ticket>
   <response xsi:type="xsd:string">&lt;QBXML&gt;&lt;a b=&quot;1&quot;&gt;&amp;amp;&#233;&lt;/a&gt;&lt;/QBXML&gt;</response>
   <hresult xsi:type="xsd:string"/>
   <message xsi:type="xsd:string"><![CDATA[fine & dandy]]></message>
  </q1:receiveResponseXML>
 </soap:Body>
</soap:Envelope>"#;
    let call = read(
        body.as_bytes(),
        Some("http://developer.intuit.com/receiveResponseXML"),
    )
    .unwrap();
    assert_eq!(
        call,
        Call::ReceiveResponseXml {
            ticket: "t-1".into(),
            response: "<QBXML><a b=\"1\">&amp;é</a></QBXML>".into(),
            hresult: String::new(),
            message: "fine & dandy".into(),
        }
    );
    assert_eq!(call.ticket(), Some("t-1"));
}

#[test]
fn an_empty_body_is_named_by_the_action() {
    let body = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body></soap:Body></soap:Envelope>"#;
    assert_eq!(
        read(
            body.as_bytes(),
            Some("\"http://developer.intuit.com/serverVersion\"")
        )
        .unwrap(),
        Call::ServerVersion
    );
    assert!(read(body.as_bytes(), None).is_err());
}

#[test]
fn what_is_not_a_call_is_refused_with_why() {
    for (body, want) in [
        ("<x/>", "not a SOAP Envelope"),
        ("<!DOCTYPE e [<!ENTITY x 'y'>]><Envelope/>", "DOCTYPE"),
        ("<Envelope><Body><authenticate><strUserName><b/></strUserName></authenticate></Body></Envelope>", "parameters are text"),
        ("<Envelope><Body><dropTables/></Body></Envelope>", "not an operation"),
        ("<Envelope><Body><authenticate><strUserName>a</strUserName><strUserName>b</strUserName></authenticate></Body></Envelope>", "twice"),
        ("<Envelope><Body><a/><b/></Body></Envelope>", "more than one"),
        ("<Envelope><Body><getLastError><ticket>&foo;</ticket></getLastError></Body></Envelope>", "not defined"),
        ("<Envelope><Body><sendRequestXML><qbXMLMajorVers>13.0</qbXMLMajorVers></sendRequestXML></Body></Envelope>", "whole number"),
        ("<Envelope><Body><getLastError>", "truncated"),
    ] {
        let e = read(body.as_bytes(), None).unwrap_err();
        assert!(e.0.contains(want), "{body}: {e}");
    }
    assert!(read(&[0xff, 0xfe, 0x00], None)
        .unwrap_err()
        .0
        .contains("UTF-8"));
}

#[test]
fn the_writer_keeps_empty_strings_and_slots() {
    let w = write(&Reply::Authenticate {
        ticket: "t".into(),
        status: String::new(),
        postpone_secs: None,
        min_run_every_secs: Some(60),
    });
    assert!(w.contains("<authenticateResult><string>t</string><string></string><string>0</string><string>60</string></authenticateResult>"), "{w}");
    let w = write(&Reply::Text {
        operation: "sendRequestXML",
        text: "<QBXML a=\"1\">&</QBXML>".into(),
    });
    assert!(
        w.contains(
            r#"<sendRequestXMLResult>&lt;QBXML a="1"&gt;&amp;&lt;/QBXML&gt;</sendRequestXMLResult>"#
        ),
        "{w}"
    );
    // What we write, a reader reads back (the qbXML round-trips).
    let as_call = w
        .replace("sendRequestXMLResponse", "getLastError")
        .replace("sendRequestXMLResult", "ticket");
    assert_eq!(
        read(as_call.as_bytes(), None).unwrap(),
        Call::GetLastError {
            ticket: "<QBXML a=\"1\">&</QBXML>".into()
        }
    );
    assert!(write(&Reply::Progress(-101))
        .contains("<receiveResponseXMLResult>-101</receiveResponseXMLResult>"));
    let f = fault(true, "bad <call>");
    assert!(
        f.contains("<faultcode>soap:Client</faultcode><faultstring>bad &lt;call&gt;</faultstring>")
    );
}
