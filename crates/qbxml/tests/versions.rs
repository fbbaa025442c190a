//! An element newer than the declared qbXML version fails the message set
//! (0x80040400), with the version that introduced it named; the same
//! request declared with a new enough version is valid.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbxml::{parse_request, ErrorKind, HResult};

fn doc(version: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"{version}\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{body}</QBXMLMsgsRq></QBXML>"
    )
}

/// `(body, introduced, one version too old)`
const CASES: &[(&str, &str, &str)] = &[
    // An element annotated "v12.0" in the ops file.
    (
        "<CustomerAddRq><CustomerAdd><Name>A</Name><JobTitle>Owner</JobTitle></CustomerAdd></CustomerAddRq>",
        "12.0",
        "11.0",
    ),
    // A request type annotated "v13.0".
    ("<LeadQueryRq/>", "13.0", "12.0"),
    // An OR group annotated "v11.0, BEGIN OR: … SerialNumber OR LotNumber".
    (
        "<InventoryAdjustmentAddRq><InventoryAdjustmentAdd><AccountRef><FullName>Adj</FullName></AccountRef>\
         <InventoryAdjustmentLineAdd><ItemRef><FullName>Widget</FullName></ItemRef>\
         <QuantityAdjustment><NewQuantity>3</NewQuantity><LotNumber>L1</LotNumber></QuantityAdjustment>\
         </InventoryAdjustmentLineAdd></InventoryAdjustmentAdd></InventoryAdjustmentAddRq>",
        "11.0",
        "10.0",
    ),
    // An attribute-bearing query from 1.1 (ReceivePaymentQueryRq is v1.1).
    ("<ReceivePaymentQueryRq requestID=\"1\"/>", "1.1", "1.0"),
];

#[test]
fn newer_elements_are_refused_for_older_versions() {
    for (body, introduced, too_old) in CASES {
        assert!(
            parse_request(doc(introduced, body)).is_ok(),
            "{body} at {introduced}"
        );
        assert!(parse_request(doc("13.0", body)).is_ok(), "{body} at 13.0");
        let e = parse_request(doc(too_old, body)).unwrap_err();
        assert_eq!(e.hresult, HResult::PARSE_ERROR);
        assert_eq!(e.kind, ErrorKind::ElementTooNew, "{body}: {e}");
        assert!(
            e.detail.contains(&format!(
                "is not in qbXML {too_old}: it was introduced in {introduced}"
            )),
            "{e}"
        );
    }
}

/// Request types the 16.0 schema added are refused under 13.0 with the
/// reason, and accepted from 14.0 (the earliest version they can be from;
/// the exact version is not public: documented in docs/QBXML.md).
#[test]
fn request_types_added_after_13_0() {
    let body = "<PayrollItemQueryRq/>";
    let e = parse_request(doc("13.0", body)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ElementTooNew, "{e}");
    assert!(e.detail.contains("introduced in 14.0"), "{e}");
    assert!(parse_request(doc("16.0", body)).is_ok());
    assert!(parse_request(doc("14.0", body)).is_ok());
}

/// The schema variant for old versions: an old version must not require
/// what it did not have, and must not accept what it did not have.
#[test]
fn content_models_follow_the_declared_version() {
    use qbxml::schema::Schema;
    use qbxml::Version;
    let adj = |v: Version| {
        let s = Schema::for_version(v);
        let rq = s.request("InventoryAdjustmentAddRq").unwrap().decl();
        let add = rq.child("InventoryAdjustmentAdd").unwrap().decl();
        let line = add.child("InventoryAdjustmentLineAdd").unwrap().decl();
        let model = line.content_model(v).unwrap();
        let (_, after_item) = model.step(model.start(), "ItemRef").unwrap();
        let mut next: Vec<&str> = model.next(after_item).map(|(p, _)| p.name()).collect();
        next.sort_unstable();
        next
    };
    assert_eq!(
        adj(Version::new(10, 0).unwrap()),
        ["QuantityAdjustment", "ValueAdjustment"]
    );
    assert_eq!(
        adj(Version::V13_0),
        [
            "LotNumberAdjustment",
            "QuantityAdjustment",
            "SerialNumberAdjustment",
            "ValueAdjustment"
        ]
    );
}
