//! A read-only user cannot be talked into writing: every write request
//! type of the 13.0 schema, generated from the schema's list of request
//! types, is refused with 403 and the company file does not change; every
//! query type is answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "../../qbxml/tests/common/mod.rs"]
mod gen;

use common::*;
use qbxml::{access_of, Access, Version};

fn file_state(dir: &std::path::Path) -> Vec<Vec<u8>> {
    ["acme.qbw", "acme.qbw-wal"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn every_write_type_is_refused_and_nothing_changes() {
    let s = start().await;
    assert_eq!(
        post(s.addr, "ann", &customer_add("Before")).await.status,
        200
    );
    let before = file_state(s.dir.path());
    assert!(!before[0].is_empty());

    let v = Version::V13_0;
    let mut rng = gen::Rng(0x5EED);
    let (mut writes, mut reads) = (0, 0);
    for p in gen::request_types(v) {
        let name = p.decl().name();
        let e = gen::element(&mut rng, p.decl(), Some(p), v, 0);
        let doc = gen::document(v, "continueOnError", &[e]);
        let r = post(s.addr, "rob", &doc).await;
        match access_of(name) {
            Access::Write => {
                writes += 1;
                assert_eq!(r.status, 403, "{name}: {}", r.body);
                assert_eq!(r.code(), "QBC_READ_ONLY");
                assert!(r.body.contains(name), "{}", r.body);
            }
            Access::Read => {
                reads += 1;
                assert_eq!(r.status, 200, "{name}: {}", r.body);
            }
        }
    }
    // A write hidden after a query in one message set is refused too.
    let mixed = qbxml(
        "<CustomerQueryRq requestID=\"1\"/><CustomerAddRq requestID=\"2\"><CustomerAdd><Name>Sneaky</Name></CustomerAdd></CustomerAddRq>",
    );
    assert_eq!(post(s.addr, "rob", &mixed).await.status, 403);
    // Error recovery keeps and deletes state other clients rely on.
    for attr in [
        "newMessageSetID=\"mine\"",
        "oldMessageSetID=\"ClearAllMessageSets\"",
    ] {
        let doc = customer_query().replace("onError=", &format!("{attr} onError="));
        let r = post(s.addr, "rob", &doc).await;
        assert_eq!(
            (r.status, r.code()),
            (403, "QBC_READ_ONLY"),
            "{attr}: {}",
            r.body
        );
    }
    eprintln!("read-only: {writes} write types refused, {reads} query types answered");
    assert!(writes > 100 && reads > 50, "{writes} {reads}");
    assert!(
        file_state(s.dir.path()) == before,
        "the company file changed"
    );
    // And the same write from a read-write user goes through.
    let r = post(s.addr, "ann", &customer_add("After")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
}
