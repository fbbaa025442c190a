//! Bad input gets a clear error, in bounded memory and time, and never a
//! panic: not XML, wrong root, DOCTYPE and entity bombs, deep nesting,
//! invalid UTF-8, huge text nodes, truncated documents, limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbxml::{parse_request, parse_request_with, parse_response, ErrorKind, HResult, Limit, Limits};

const VALID: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<?qbxml version="13.0"?>
<QBXML>
  <QBXMLMsgsRq onError="stopOnError">
    <CustomerAddRq requestID="7">
      <CustomerAdd>
        <Name>Acme &amp; Sons</Name>
        <BillAddress><Addr1>1 Main St</Addr1><City>Springfield</City></BillAddress>
      </CustomerAdd>
    </CustomerAddRq>
    <CustomerQueryRq requestID="8" iterator="Start"><MaxReturned>10</MaxReturned></CustomerQueryRq>
  </QBXMLMsgsRq>
</QBXML>
"#;

fn kind_of(input: impl Into<Vec<u8>>) -> ErrorKind {
    match parse_request(input) {
        Ok(_) => panic!("accepted"),
        Err(e) => {
            assert_eq!(
                e.hresult == HResult::UNSUPPORTED_VERSION,
                e.kind == ErrorKind::UnsupportedVersion
            );
            assert!(!e.detail.is_empty());
            e.kind
        }
    }
}

#[test]
fn the_reference_document_is_valid() {
    let set = parse_request(VALID).unwrap();
    assert_eq!(set.len(), 2);
    let add = set.request(0).unwrap();
    assert_eq!(
        add.element()
            .child("CustomerAdd")
            .unwrap()
            .child_text("Name"),
        Some("Acme & Sons")
    );
    assert_eq!(add.request_id(), Some("7"));
}

#[test]
fn not_xml() {
    for input in [
        "",
        "   ",
        "hello",
        "{\"json\": true}",
        "<",
        "<<>>",
        "\u{0}\u{1}",
    ] {
        let e = parse_request(input).unwrap_err();
        assert_eq!(e.hresult, HResult::PARSE_ERROR, "{input:?}");
        assert!(matches!(e.kind, ErrorKind::Syntax), "{input:?}: {e}");
    }
}

#[test]
fn wrong_root_and_no_message_set() {
    let e = parse_request("<?qbxml version=\"13.0\"?><Envelope/>").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotQbxml);
    assert_eq!(
        e.detail,
        "the root element is <Envelope>; qbXML starts with <QBXML>"
    );
    assert_eq!(
        kind_of("<?qbxml version=\"13.0\"?><QBXML/>"),
        ErrorKind::NotQbxml
    );
    assert_eq!(
        kind_of("<?qbxml version=\"13.0\"?><QBXML></QBXML><QBXML/>"),
        ErrorKind::Syntax
    );
    assert_eq!(
        kind_of("<QBXML><QBXMLMsgsRq onError=\"stopOnError\"/></QBXML>"),
        ErrorKind::MissingVersion
    );
}

#[test]
fn versions() {
    let doc = |v: &str| VALID.replace("13.0", v);
    for bad in ["17.0", "6.1", "CA3.0", "13", "", "abc"] {
        let e = parse_request(doc(bad)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedVersion, "{bad}");
        assert_eq!(e.hresult.to_string(), "0x80040423");
        assert_eq!(
            e.message(),
            "The version of qbXML that was requested is not supported or is unknown."
        );
    }
    for good in ["2.0", "8.0", "12.0", "14.0", "15.0", "16.0"] {
        assert!(parse_request(doc(good)).is_ok(), "{good}");
    }
}

#[test]
fn doctype_and_entity_bombs_are_refused_unread() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<?qbxml version="13.0"?>
<QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerAddRq><CustomerAdd><Name>&lol9;</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>"#;
    let e = parse_request(laughs).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Doctype);
    assert_eq!((e.line, e.column), (2, 1));

    let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><QBXML>&xxe;</QBXML>"#;
    assert_eq!(kind_of(xxe), ErrorKind::Doctype);
    assert!(parse_response(xxe).is_err_and(|e| e.kind == ErrorKind::Doctype));

    // An entity used without a DTD is undefined, never expanded.
    let e = parse_request(VALID.replace("&amp;", "&lol9;")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UndefinedEntity);
    assert!(e.detail.contains("&lol9;"), "{}", e.detail);
}

#[test]
fn deep_nesting_stops_at_the_limit() {
    let depth = 100_000;
    let mut s = String::from("<?qbxml version=\"13.0\"?><QBXML>");
    s.push_str(&"<a>".repeat(depth));
    s.push_str(&"</a>".repeat(depth));
    s.push_str("</QBXML>");
    // Validated: the schema refuses <a> right away.
    assert_eq!(kind_of(s.clone()), ErrorKind::UnexpectedElement);
    // Unvalidated (a response): the depth limit stops it.
    let e = parse_response(s).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit(Limit::Depth));
    assert!(e.is_limit());
    assert_eq!(e.line, 1);
}

#[test]
fn invalid_utf8() {
    let mut bytes = VALID.as_bytes().to_vec();
    let at = VALID.find("Sons").unwrap();
    bytes[at] = 0xFF;
    let e = parse_request(bytes).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Encoding);
    assert_eq!((e.line, e.column), (7, 26));
    assert!(e.detail.contains("0xFF"), "{}", e.detail);
    // Overlong encoding and a lone surrogate.
    assert_eq!(
        kind_of(b"<?qbxml version=\"13.0\"?><QBXML>\xC0\xAF</QBXML>".to_vec()),
        ErrorKind::Encoding
    );
    assert_eq!(
        kind_of(b"<QBXML>\xED\xA0\x80</QBXML>".to_vec()),
        ErrorKind::Encoding
    );
    // UTF-16 is refused with a reason.
    assert_eq!(kind_of(b"\xFF\xFE<\x00Q\x00".to_vec()), ErrorKind::Encoding);
}

#[test]
fn a_200_mb_text_node_is_over_the_limits() {
    let mut s = String::with_capacity(201 << 20);
    s.push_str("<?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerAddRq><CustomerAdd><Name>");
    s.extend(std::iter::repeat_n('x', 200 << 20));
    s.push_str("</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>");
    let bytes = s.into_bytes();
    // Default limits: refused by size before any parsing.
    let e = parse_request(bytes.clone()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit(Limit::TotalSize));
    // With the size limit lifted, the text-node limit stops it.
    let limits = Limits {
        max_size: usize::MAX,
        ..Limits::default()
    };
    let e = parse_request_with(bytes, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit(Limit::TextSize));
    assert_eq!(e.path, "QBXML/QBXMLMsgsRq/CustomerAddRq/CustomerAdd/Name");
}

/// A text node made of many small pieces (references, CDATA) is one node.
#[test]
fn text_limit_covers_split_text() {
    let limits = Limits {
        max_text: 1000,
        ..Limits::default()
    };
    for piece in ["a&amp;", "<![CDATA[x]]>", "&#233;"] {
        let doc = VALID.replace("Acme &amp; Sons", &piece.repeat(300));
        let e = parse_request_with(doc, &limits).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Limit(Limit::TextSize), "{piece}");
    }
}

#[test]
fn other_limits() {
    let tight = Limits {
        max_elements: 5,
        ..Limits::default()
    };
    let e = parse_request_with(VALID, &tight).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit(Limit::Elements));
    let tight = Limits {
        max_attributes: 1,
        ..Limits::default()
    };
    let e = parse_request_with(
        VALID.replace(
            "iterator=\"Start\"",
            "iterator=\"Start\" metaData=\"NoMetaData\"",
        ),
        &tight,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit(Limit::Attributes));
    let tight = Limits {
        max_size: 100,
        ..Limits::default()
    };
    assert_eq!(
        parse_request_with(VALID, &tight).unwrap_err().kind,
        ErrorKind::Limit(Limit::TotalSize)
    );
}

#[test]
fn every_truncation_is_refused_with_a_place() {
    let bytes = VALID.as_bytes();
    let end = VALID.rfind("</QBXML>").unwrap();
    for cut in 0..=end {
        let e = parse_request(&bytes[..cut]).unwrap_err();
        assert_eq!(e.hresult.0 & 0xFFFF_FF00, 0x8004_0400, "cut at {cut}");
        assert!(e.line >= 1, "cut at {cut}");
    }
    let e = parse_request(&bytes[..end]).unwrap_err();
    assert_eq!(
        e.detail,
        "the document ends inside <QBXML>: it is truncated or a closing tag is missing"
    );
}

#[test]
fn malformed_markup() {
    let cases = [
        ("<CustomerAdd>", "<CustomerAdd x=\"1\" x=\"2\">"),
        ("<Name>Acme &amp; Sons</Name>", "<Name>Acme & Sons</Name>"),
        (
            "<Name>Acme &amp; Sons</Name>",
            "<Name>Acme &#0; Sons</Name>",
        ),
        (
            "<Name>Acme &amp; Sons</Name>",
            "<Name>Acme \u{1} Sons</Name>",
        ),
        (
            "<Name>Acme &amp; Sons</Name>",
            "<Name>Acme <!-- a -- b --> Sons</Name>",
        ),
        ("</BillAddress>", "</Billaddress>"),
        (
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            "\n<?xml version=\"1.0\"?>\n",
        ),
        ("<CustomerAdd>", "<CustomerAdd>stray text"),
        ("<QBXML>", "<QBXML>x"),
    ];
    for (from, to) in cases {
        let doc = VALID.replacen(from, to, 1);
        let e = parse_request(doc).unwrap_err();
        assert_eq!(e.hresult, HResult::PARSE_ERROR, "{to}");
        assert!(e.line > 0, "{to}");
    }
}

#[test]
fn text_forms_decode() {
    let doc = VALID.replace(
        "<Name>Acme &amp; Sons</Name>",
        "<Name><![CDATA[A<b>]]>&#233;&#x20AC;<!-- c -->\r\nz</Name>",
    );
    let set = parse_request(doc).unwrap();
    let name = set
        .request(0)
        .unwrap()
        .element()
        .child("CustomerAdd")
        .unwrap()
        .child_text("Name");
    assert_eq!(name, Some("A<b>é€\nz"));
}
