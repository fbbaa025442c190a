//! `POST /json`: the JSON form through the real server and the simulator
//! — the same users, read-only rule, sessions, iterators and errors as
//! qbXML, answers in typed JSON, refusals in JSON; `GET /openapi.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{basic, send, start, Resp, PASSWORD};
use serde_json::{json, Value};
use std::net::SocketAddr;

async fn post_json(addr: SocketAddr, user: &str, extra: &[(&str, &str)], body: &Value) -> Resp {
    let auth = basic(user, PASSWORD);
    let mut h = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    h.extend_from_slice(extra);
    send(addr, "POST", "/json", &h, &body.to_string()).await
}

fn parsed(r: &Resp) -> Value {
    assert!(
        r.header("content-type").starts_with("application/json"),
        "{r:?}"
    );
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn set(version: &str, requests: Value) -> Value {
    let mut rq = json!({"@onError": "stopOnError"});
    for (k, v) in requests.as_object().unwrap() {
        rq[k] = v.clone();
    }
    json!({"version": version, "QBXML": {"QBXMLMsgsRq": rq}})
}

/// The first response of a JSON answer.
fn first<'a>(v: &'a Value, rs: &str) -> &'a Value {
    &v["QBXML"]["QBXMLMsgsRs"][rs][0]
}

#[tokio::test]
async fn adds_and_queries_answer_in_typed_json() {
    let s = start().await;
    let add = set(
        "16.0",
        json!({"CustomerAddRq": [{"@requestID": "1", "CustomerAdd": {
            "Name": "Acme & Co", "IsActive": true, "Phone": 5550100,
            "BillAddress": {"Addr1": "1 Main St", "City": "Springfield"}}}]}),
    );
    let r = post_json(s.addr, "ann", &[], &add).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = parsed(&r);
    assert_eq!(v["version"], "16.0");
    let rs = first(&v, "CustomerAddRs");
    assert_eq!(rs["@statusCode"], 0, "{v}");
    assert_eq!(rs["@requestID"], "1");
    let ret = &rs["CustomerRet"];
    assert!(ret.is_object(), "CustomerAddRs holds one CustomerRet: {v}");
    assert_eq!(ret["Name"], "Acme & Co");
    assert_eq!(ret["IsActive"], true);
    assert_eq!(
        ret["Phone"], "5550100",
        "a number sent for text is its text"
    );
    assert_eq!(ret["Sublevel"], 0);
    assert_eq!(ret["Balance"], "0.00", "amounts are exact decimal strings");
    assert_eq!(ret["BillAddress"]["City"], "Springfield");

    let q = set(
        "13.0",
        json!({"CustomerQueryRq": [{"FullName": ["Acme & Co"]}]}),
    );
    let v = parsed(&post_json(s.addr, "ann", &[], &q).await);
    let rets = &first(&v, "CustomerQueryRs")["CustomerRet"];
    assert!(rets.is_array(), "a query's Rets are an array: {v}");
    assert_eq!(rets[0]["Name"], "Acme & Co");

    // The same request in qbXML gets the same answer.
    let xml = common::post(
        s.addr,
        "ann",
        &common::qbxml("<CustomerQueryRq><FullName>Acme &amp; Co</FullName></CustomerQueryRq>"),
    )
    .await;
    let from_xml = qbxml::json::response_to_json(&xml.body, qbxml::Version::V13_0).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&from_xml).unwrap(), v);
}

#[tokio::test]
async fn an_invoice_with_lines_and_an_error_status() {
    let s = start().await;
    let setup = set(
        "13.0",
        json!({
            "CustomerAddRq": [{"CustomerAdd": {"Name": "Bo"}}],
            "ItemServiceAddRq": [{"ItemServiceAdd": {"Name": "Labor",
                "SalesOrPurchase": {"Price": 40, "AccountRef": {"FullName": "Services"}}}}],
            "AccountAddRq": [{"AccountAdd": {"Name": "Services", "AccountType": "Income"}}],
            "#order": ["AccountAddRq", "CustomerAddRq", "ItemServiceAddRq"]
        }),
    );
    let v = parsed(&post_json(s.addr, "ann", &[], &setup).await);
    for rs in ["AccountAddRs", "CustomerAddRs", "ItemServiceAddRs"] {
        assert_eq!(first(&v, rs)["@statusCode"], 0, "{rs}: {v}");
    }
    assert_eq!(
        v["QBXML"]["QBXMLMsgsRs"]["#order"],
        json!(["AccountAddRs", "CustomerAddRs", "ItemServiceAddRs"]),
        "responses of several types keep the requests' order"
    );
    let invoice = set(
        "13.0",
        json!({"InvoiceAddRq": [{"InvoiceAdd": {
        "CustomerRef": {"FullName": "Bo"},
        "TxnDate": "2026-12-01",
        "InvoiceLineAdd": [
            {"ItemRef": {"FullName": "Labor"}, "Quantity": "2", "Rate": "40.00"},
            {"ItemRef": {"FullName": "Labor"}, "Quantity": 1.5}
        ]}}]}),
    );
    let v = parsed(&post_json(s.addr, "ann", &[], &invoice).await);
    let rs = first(&v, "InvoiceAddRs");
    assert_eq!(rs["@statusCode"], 0, "{v}");
    let ret = &rs["InvoiceRet"];
    assert_eq!(ret["Subtotal"], "140.00", "{v}");
    let lines = ret["InvoiceLineRet"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["Quantity"], "1.5");
    assert_eq!(lines[1]["Amount"], "60.00");

    // An error is a status in the answer, as in qbXML: HTTP 200.
    let bad = set(
        "13.0",
        json!({"InvoiceAddRq": [{"InvoiceAdd": {"CustomerRef": {"FullName": "Nobody"},
            "InvoiceLineAdd": [{"Desc": "x"}]}}]}),
    );
    let r = post_json(s.addr, "ann", &[], &bad).await;
    assert_eq!(r.status, 200);
    let v = parsed(&r);
    let rs = first(&v, "InvoiceAddRs");
    assert_eq!(rs["@statusCode"], 3140, "{v}");
    assert_eq!(rs["@statusSeverity"], "Error");
    assert!(rs["@statusMessage"].as_str().unwrap().contains("Nobody"));
}

#[tokio::test]
async fn iterators_work_across_requests_on_a_session() {
    let s = start().await;
    for n in 0..5 {
        let add = set(
            "13.0",
            json!({"CustomerAddRq": [{"CustomerAdd": {"Name": format!("C{n}")}}]}),
        );
        assert_eq!(post_json(s.addr, "ann", &[], &add).await.status, 200);
    }
    let ticket = common::open_session(s.addr, "ann").await;
    let start_it = set(
        "13.0",
        json!({"CustomerQueryRq": [{"@iterator": "Start", "MaxReturned": 2}]}),
    );
    let v = parsed(&post_json(s.addr, "ann", &[("x-qb-ticket", &ticket)], &start_it).await);
    let rs = first(&v, "CustomerQueryRs");
    assert_eq!(rs["@iteratorRemainingCount"], 3, "{v}");
    assert_eq!(rs["CustomerRet"].as_array().unwrap().len(), 2);
    let id = rs["@iteratorID"].as_str().unwrap().to_string();
    let more = set(
        "13.0",
        json!({"CustomerQueryRq": [{"@iterator": "Continue", "@iteratorID": id, "MaxReturned": 2}]}),
    );
    let v = parsed(&post_json(s.addr, "ann", &[("x-qb-ticket", &ticket)], &more).await);
    let rs = first(&v, "CustomerQueryRs");
    assert_eq!(rs["@iteratorRemainingCount"], 1, "{v}");
    assert_eq!(rs["CustomerRet"][0]["Name"], "C2");
}

#[tokio::test]
async fn refusals_are_json_with_the_code_and_the_member_at_fault() {
    let s = start().await;
    let q = set("13.0", json!({"CustomerQueryRq": [{}]}));
    assert_eq!(
        post_json(s.addr, "ann", &[], &q).await.status,
        200,
        "creates the file"
    );
    // A misspelt element: 400 with QuickBooks' parse HRESULT and the path.
    let bad = set(
        "13.0",
        json!({"CustomerAddRq": [{"CustomerAdd": {"Name": "A", "CompanyNme": "x"}}]}),
    );
    let r = post_json(s.addr, "ann", &[], &bad).await;
    assert_eq!((r.status, r.code()), (400, "0x80040400"), "{}", r.body);
    let v = parsed(&r);
    assert_eq!(v["code"], "0x80040400");
    assert_eq!(
        v["path"],
        "$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd.CompanyNme"
    );
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("did you mean CompanyName?"));
    // Not JSON.
    let auth = basic("ann", PASSWORD);
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let r = send(s.addr, "POST", "/json", &h, "{\"version\": ").await;
    assert_eq!((r.status, r.code()), (400, "QBC_BAD_JSON"));
    assert!(parsed(&r)["message"].as_str().unwrap().contains("line 1"));
    // qbXML sent to the JSON door.
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "text/xml"),
    ];
    let r = send(s.addr, "POST", "/json", &h, &common::customer_query()).await;
    assert_eq!((r.status, r.code()), (415, "QBC_MEDIA_TYPE"));
    assert!(parsed(&r)["message"]
        .as_str()
        .unwrap()
        .contains("application/json"));
    // No credentials.
    let r = send(
        s.addr,
        "POST",
        "/json",
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!((r.status, r.code()), (401, "QBC_AUTH"));
    assert!(r.header("www-authenticate").starts_with("Basic"));
    parsed(&r);
    // A read-only user's write: 403, nothing written.
    let add = set(
        "13.0",
        json!({"CustomerAddRq": [{"CustomerAdd": {"Name": "R"}}]}),
    );
    let r = post_json(s.addr, "rob", &[], &add).await;
    assert_eq!((r.status, r.code()), (403, "QBC_READ_ONLY"), "{}", r.body);
    let v = parsed(&post_json(s.addr, "rob", &[], &q).await);
    assert_eq!(
        first(&v, "CustomerQueryRs")["@statusCode"],
        1,
        "nothing was added: {v}"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let s = start().await;
    let r = send(s.addr, "GET", "/openapi.json", &[], "").await;
    assert_eq!(r.status, 200);
    let v = parsed(&r);
    assert_eq!(v["openapi"], "3.1.0");
    assert!(v["components"]["schemas"]["v16.InvoiceAddRq"].is_object());
    assert!(v["paths"]["/json"]["post"].is_object());
    // The committed copy is the served one.
    let committed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let committed = std::fs::read_to_string(committed).unwrap();
    assert!(
        committed == r.body,
        "docs/openapi.json is stale: run `cargo xtask gen-openapi`"
    );
}
