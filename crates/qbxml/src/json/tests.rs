#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn limits() -> Limits {
    Limits::default()
}

fn request(json: &str) -> Result<RequestSet, JsonError> {
    request_from_json(json, &limits())
}

#[test]
fn a_query_becomes_the_qbxml_it_stands_for() {
    let set = request(
        r#"{"version": "16.0", "QBXML": {"QBXMLMsgsRq": {"@onError": "stopOnError",
            "CustomerQueryRq": [{"IncludeRetElement": ["Name", "ListID"], "ActiveStatus": "All",
                "@requestID": "7", "NameFilter": {"Name": "Bolt & Nut", "MatchCriterion": "StartsWith"},
                "MaxReturned": 5}]}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.version(), Version::V16_0);
    let rq = set.requests().next().unwrap();
    assert_eq!(rq.name(), "CustomerQueryRq");
    let xml = set.xml();
    // Schema order, whatever the JSON's order.
    let at = |s: &str| xml.find(s).unwrap_or_else(|| panic!("{s} in {xml}"));
    assert!(at("<MaxReturned>5") < at("<ActiveStatus>All"));
    assert!(at("<ActiveStatus>All") < at("<NameFilter>"));
    assert!(at("<NameFilter>") < at("<IncludeRetElement>Name"));
    assert!(at("<IncludeRetElement>Name") < at("<IncludeRetElement>ListID"));
    assert!(xml.contains("<Name>Bolt &amp; Nut</Name>"), "{xml}");
    assert!(xml.contains("requestID=\"7\""), "{xml}");
}

#[test]
fn amounts_keep_their_text_and_booleans_their_type() {
    let set = request(
        r#"{"version": "13.0", "QBXML": {"QBXMLMsgsRq": {"@onError": "stopOnError",
            "CustomerAddRq": [{"CustomerAdd": {"Name": "A", "IsActive": false, "OpenBalance": 10.10}}]}}}"#,
    )
    .unwrap();
    let xml = set.xml();
    assert!(xml.contains("<OpenBalance>10.10</OpenBalance>"), "{xml}");
    assert!(xml.contains("<IsActive>false</IsActive>"), "{xml}");
    // Back to JSON: the amount is a string with the same text.
    let json = document_to_json(set.document(), set.version());
    assert!(json.contains(r#""OpenBalance":"10.10""#), "{json}");
    assert!(json.contains(r#""IsActive":false"#), "{json}");
    assert!(json.contains(r#""CustomerAddRq":[{"#), "{json}");
}

#[test]
fn a_misspelt_name_is_named_by_its_path_with_a_suggestion() {
    let e = request(
        r#"{"version": "13.0", "QBXML": {"QBXMLMsgsRq": {"@onError": "stopOnError",
            "CustomerAddRq": [{"CustomerAdd": {"Name": "A"}}, {"CustomerAdd": {"Name": "B", "CompanyNme": "x"}}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.hresult, Some(HResult::PARSE_ERROR));
    assert_eq!(
        e.path,
        "$.QBXML.QBXMLMsgsRq.CustomerAddRq[1].CustomerAdd.CompanyNme"
    );
    assert!(
        e.detail.contains("did you mean CompanyName?"),
        "{}",
        e.detail
    );
}

#[test]
fn shapes_the_schema_does_not_allow_are_refused() {
    let cases = [
        // An array for an element allowed once.
        (
            r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","CustomerAddRq":[{"CustomerAdd":[{"Name":"A"}]}]}}}"#,
            "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd",
            "allows one CustomerAdd",
        ),
        // A string where an object is needed.
        (
            r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","CustomerAddRq":[{"CustomerAdd":"A"}]}}}"#,
            "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd",
            "expected an object",
        ),
        // A boolean where a string is needed.
        (
            r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","CustomerAddRq":[{"CustomerAdd":{"Name":true}}]}}}"#,
            "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd.Name",
            "expected a string",
        ),
        // An unknown attribute.
        (
            r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onerror":"stopOnError"}}}"#,
            "$.QBXML.QBXMLMsgsRq.@onerror",
            "did you mean @onError?",
        ),
        // No version.
        (r#"{"QBXML":{}}"#, "$", "no version"),
        // A version that cannot be one.
        (
            r#"{"version":"16\"?><x","QBXML":{}}"#,
            "$.version",
            "not a qbXML version",
        ),
    ];
    for (json, path, says) in cases {
        let e = request(json).unwrap_err();
        assert_eq!(e.path, path, "{json}: {e}");
        assert!(e.detail.contains(says), "{json}: {}", e.detail);
    }
}

#[test]
fn what_the_validator_finds_is_told_at_the_json_path() {
    // CustomerAdd without its required Name: the validator finds it at
    // the first child, which cannot come first.
    let e = request(
        r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError",
            "CustomerQueryRq":[{}], "CustomerAddRq":[{"CustomerAdd":{"CompanyName":"x"}}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnexpectedElement, "{e}");
    assert!(e.detail.contains("expected Name; found CompanyName"), "{e}");
    assert_eq!(
        e.path,
        "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd.CompanyName"
    );
    // An empty CustomerAdd: the validator reports its end.
    let e = request(
        r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError",
            "CustomerAddRq":[{"CustomerAdd":{}}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingElement, "{e}");
    assert_eq!(e.path, "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd");
    // An unsupported version: QuickBooks' own HRESULT.
    let e = request(r#"{"version":"12.5","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError"}}}"#)
        .unwrap_err();
    assert_eq!(e.hresult, Some(HResult::UNSUPPORTED_VERSION), "{e}");
    assert_eq!(e.path, "$.version");
    // A 16.0-only request type in a 13.0 document.
    let e = request(
        r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","AlertQueryRq":[{}]}}}"#,
    )
    .unwrap_err();
    assert!(e.path.starts_with("$.QBXML.QBXMLMsgsRq"), "{e}");
}

#[test]
fn text_that_is_not_json_says_where() {
    let e = request("{\n  \"version\": \"13.0\",\n  \"QBXML\": {,}\n}").unwrap_err();
    assert!(e.is_syntax());
    assert_eq!((e.line, e.column), (3, 13), "{e}");
    assert!(request("[]").is_err_and(|e| e.path == "$"));
}

#[test]
fn interleaved_lines_keep_their_order() {
    let json = r##"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","InvoiceAddRq":[{"InvoiceAdd":{
        "CustomerRef":{"FullName":"A"},
        "InvoiceLineAdd":[{"Desc":"one"},{"Desc":"three"}],
        "InvoiceLineGroupAdd":[{"ItemGroupRef":{"FullName":"G"}}],
        "#order":["InvoiceLineAdd","InvoiceLineGroupAdd","InvoiceLineAdd"]}}]}}}"##;
    let set = request(json).unwrap();
    let xml = set.xml();
    let (one, group, three) = (
        xml.find("one").unwrap(),
        xml.find("<InvoiceLineGroupAdd>").unwrap(),
        xml.find("three").unwrap(),
    );
    assert!(one < group && group < three, "{xml}");
    let back = document_to_json(set.document(), set.version());
    assert!(
        back.contains(r##""#order":["InvoiceLineAdd","InvoiceLineGroupAdd","InvoiceLineAdd"]"##),
        "{back}"
    );
    // Without #order: each name's items in schema order.
    let plain = json.replace(
        r##""#order":["InvoiceLineAdd","InvoiceLineGroupAdd","InvoiceLineAdd"]"##,
        r#""Memo":"m""#,
    );
    let xml = request(&plain).unwrap().xml().to_string();
    assert!(xml.find("three").unwrap() < xml.find("<InvoiceLineGroupAdd>").unwrap());
    // An #order that does not account for every item is refused.
    let short = json.replace(r#","InvoiceLineAdd"]"#, "]");
    let e = request(&short).unwrap_err();
    assert!(e.detail.contains("does not list every item"), "{e}");
}

#[test]
fn a_response_becomes_typed_json() {
    let xml = r#"<?xml version="1.0" ?>
<QBXML>
<QBXMLMsgsRs>
<CustomerQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK" iteratorRemainingCount="3" iteratorID="{a}">
<CustomerRet>
<ListID>80000001-1</ListID>
<Name>A &amp; B</Name>
<IsActive>true</IsActive>
<Sublevel>0</Sublevel>
<Balance>12.50</Balance>
</CustomerRet>
</CustomerQueryRs>
</QBXMLMsgsRs>
</QBXML>"#;
    let json = response_to_json(xml, Version::V13_0).unwrap();
    // Written in one pass over the text, as the walk would write it.
    assert_eq!(stream::convert(xml, Version::V13_0).as_ref(), Some(&json));
    assert_eq!(response_to_json_walked(xml, Version::V13_0).unwrap(), json);
    assert_eq!(
        json,
        r#"{"version":"13.0","QBXML":{"QBXMLMsgsRs":{"CustomerQueryRs":[{"@requestID":"1","@statusCode":0,"@statusSeverity":"Info","@statusMessage":"Status OK","@iteratorRemainingCount":3,"@iteratorID":"{a}","CustomerRet":[{"ListID":"80000001-1","Name":"A & B","IsActive":true,"Sublevel":0,"Balance":"12.50"}]}]}}}"#
    );
    // And back: the same elements.
    let again = to_qbxml(&json, &limits()).unwrap();
    let set = crate::response::parse_response(again).unwrap();
    assert_eq!(document_to_json(set.document(), Version::V13_0), json);
}

#[test]
fn the_openapi_document_is_json_with_a_schema_per_type() {
    let doc = openapi();
    let v = value::parse(&doc, 256).unwrap();
    let value::Value::Object(top) = v else {
        panic!()
    };
    let comps = &top.iter().find(|(k, _)| k == "components").unwrap().1;
    let value::Value::Object(comps) = comps else {
        panic!()
    };
    let schemas = &comps.iter().find(|(k, _)| k == "schemas").unwrap().1;
    let value::Value::Object(schemas) = schemas else {
        panic!()
    };
    for name in [
        "v13.CustomerAddRq",
        "v16.CustomerAddRq",
        "v16.CustomerQueryRs",
        "v16.AlertQueryRq",
        "v13.Document",
        "v16.InvoiceRet",
    ] {
        assert!(schemas.iter().any(|(k, _)| k == name), "{name}");
    }
    assert!(!schemas.iter().any(|(k, _)| k == "v13.AlertQueryRq"));
}

#[test]
fn tabs_nulls_and_odd_keys() {
    // A tab in an attribute survives (XML would read a raw one as a space).
    let set = request(
        r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","HostQueryRq":[{"@requestID":"a\tb"}]}}}"#,
    )
    .unwrap();
    let back = document_to_json(set.document(), set.version());
    assert!(back.contains(r#""@requestID":"a\tb""#), "{back}");
    // null is "absent", wherever it stands.
    let set = request(
        r##"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","@newMessageSetID":null,"CustomerQueryRq":[{"MaxReturned":null,"#order":null}]}}}"##,
    )
    .unwrap();
    assert!(!set.xml().contains("MaxReturned"), "{}", set.xml());
    // A key the schema does not have, named exactly in the path.
    let e = request(
        r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","CustomerQueryRq":[{"a.b[0]":1}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.path,
        r#"$.QBXML.QBXMLMsgsRq.CustomerQueryRq[0]["a.b[0]"]"#
    );
    // JSON that stands for far more qbXML than its size is refused.
    let empties = vec![r#""""#; 20_000].join(",");
    let big = format!(
        r#"{{"version":"13.0","QBXML":{{"QBXMLMsgsRq":{{"@onError":"stopOnError","CustomerQueryRq":[{{"FullName":[{empties}]}}]}}}}}}"#
    );
    let small = Limits {
        max_size: 100_000,
        ..Limits::default()
    };
    let e = request_from_json(&big, &small).unwrap_err();
    assert!(e.detail.contains("larger than 200000 bytes"), "{e}");
}
