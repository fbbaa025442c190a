//! Message sets: onError, error recovery, versions, iterators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{Rs, Sim};

fn all(set: &qbxml::ResponseSet) -> Vec<Rs> {
    set.responses().map(|r| Rs::of(&r)).collect()
}

const ADD_A: &str =
    "<CustomerAddRq requestID=\"1\"><CustomerAdd><Name>A</Name></CustomerAdd></CustomerAddRq>";
const ADD_BAD: &str = "<CustomerAddRq requestID=\"2\"><CustomerAdd><Name>B</Name><TermsRef><FullName>None</FullName></TermsRef></CustomerAdd></CustomerAddRq>";
const ADD_C: &str =
    "<CustomerAddRq requestID=\"3\"><CustomerAdd><Name>C</Name></CustomerAdd></CustomerAddRq>";

#[test]
fn stop_on_error_answers_the_rest_3231() {
    let sim = Sim::new();
    let set = sim.send_v("13.0", "stopOnError", &format!("{ADD_A}{ADD_BAD}{ADD_C}"));
    let rs = all(&set);
    assert_eq!(
        rs.iter().map(|r| r.code).collect::<Vec<_>>(),
        [0, 3140, 3231]
    );
    assert_eq!(rs[2].message, "The request has not been processed.");
    assert_eq!(rs[2].severity, "Error");
    // What was done before the error stays done; C was never added.
    assert_eq!(
        sim.one("<CustomerQueryRq><FullName>A</FullName></CustomerQueryRq>")
            .code,
        0
    );
    assert_eq!(
        sim.one("<CustomerQueryRq><FullName>C</FullName></CustomerQueryRq>")
            .code,
        500
    );
    // Info (1) and Warn (500) do not stop processing.
    let set = sim.send_v(
        "13.0",
        "stopOnError",
        &format!(
            "<VendorQueryRq/><CustomerQueryRq><FullName>Zed</FullName></CustomerQueryRq>{ADD_C}"
        ),
    );
    assert_eq!(
        all(&set).iter().map(|r| r.code).collect::<Vec<_>>(),
        [1, 500, 0]
    );
    sim.check_schema();
}

#[test]
fn continue_on_error_runs_everything() {
    let sim = Sim::new();
    let set = sim.send_v(
        "13.0",
        "continueOnError",
        &format!("{ADD_A}{ADD_BAD}{ADD_C}"),
    );
    let rs = all(&set);
    assert_eq!(rs.iter().map(|r| r.code).collect::<Vec<_>>(), [0, 3140, 0]);
    let ids: Vec<Option<&str>> = set.responses().map(|r| r.request_id()).collect();
    assert_eq!(ids, [Some("1"), Some("2"), Some("3")]);
    sim.check_schema();
}

#[test]
fn rollback_on_error_is_refused_whole() {
    let sim = Sim::new();
    let xml = format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"rollbackOnError\">{ADD_A}</QBXMLMsgsRq></QBXML>"
    );
    let err = sim
        .company
        .process(sim.session, xml.as_bytes())
        .unwrap_err();
    assert_eq!(err.hresult.to_string(), "0x80040400");
    assert!(err.detail.contains("rollbackOnError"));
    assert_eq!(
        sim.one("<CustomerQueryRq/>").code,
        1,
        "nothing was processed"
    );
}

fn raw(sim: &Sim, attrs: &str, body: &str) -> String {
    let xml = format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\" {attrs}>{body}</QBXMLMsgsRq></QBXML>"
    );
    sim.company.process(sim.session, xml.as_bytes()).unwrap()
}

#[test]
fn error_recovery_returns_saved_answers() {
    let sim = Sim::new();
    let first = raw(
        &sim,
        "newMessageSetID=\"set-1\"",
        &format!("{ADD_A}{ADD_C}"),
    );
    assert!(first.contains("<QBXMLMsgsRs newMessageSetID=\"set-1\" messageSetStatusCode=\"0\">"));
    // The client lost that reply and asks again, resending the same adds:
    // it gets the saved answers and nothing is added twice.
    sim.clock.advance(5);
    let again = raw(
        &sim,
        "oldMessageSetID=\"set-1\" newMessageSetID=\"set-2\"",
        &format!("{ADD_A}{ADD_C}"),
    );
    let body = |s: &str| s.split_once("\n<CustomerAddRs").map(|(_, b)| b.to_string());
    assert_eq!(body(&first), body(&again), "the very same answers");
    let q = sim.one("<CustomerQueryRq/>");
    assert_eq!(q.items.len(), 2);
    // An unknown old set: 600, and the new set is processed.
    let rs = raw(
        &sim,
        "oldMessageSetID=\"never\" newMessageSetID=\"set-3\"",
        "<CustomerAddRq><CustomerAdd><Name>D</Name></CustomerAdd></CustomerAddRq>",
    );
    assert!(rs.contains("messageSetStatusCode=\"600\""), "{rs}");
    assert!(rs.contains("statusCode=\"0\""));
    // ClearAllMessageSets forgets them all.
    raw(
        &sim,
        "oldMessageSetID=\"ClearAllMessageSets\"",
        "<HostQueryRq/>",
    );
    let rs = raw(&sim, "oldMessageSetID=\"set-1\"", ADD_A);
    assert!(rs.contains("statusCode=\"3100\""), "processed anew: {rs}");
    // A set whose second request failed keeps exactly what happened.
    let rs = raw(
        &sim,
        "newMessageSetID=\"set-4\"",
        &format!("{ADD_BAD}{ADD_C}"),
    );
    assert!(rs.contains("statusCode=\"3140\""));
    let saved = raw(&sim, "oldMessageSetID=\"set-4\"", "");
    assert!(saved.contains("statusCode=\"3140\"") && saved.contains("statusCode=\"3231\""));
    let docs: Vec<(String, String)> = [first, again, rs, saved]
        .into_iter()
        .map(|d| ("13.0".to_string(), d))
        .collect();
    common::check_schema(&docs);
}

#[test]
fn response_data_include_none() {
    let sim = Sim::new();
    let xml = format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\" responseData=\"includeNone\">{ADD_A}</QBXMLMsgsRq></QBXML>"
    );
    let rs = sim.company.process(sim.session, xml.as_bytes()).unwrap();
    assert!(rs.contains("<CustomerAddRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\" />"), "{rs}");
    assert_eq!(
        sim.one("<CustomerQueryRq/>").items.len(),
        1,
        "but the add happened"
    );
}

#[test]
fn answers_in_the_version_asked() {
    let sim = Sim::new();
    // ExternalGUID is 8.0, ClassRef in CustomerAdd 12.0, JobTitle 12.0.
    let set = sim.send_v(
        "16.0",
        "stopOnError",
        "<CustomerAddRq><CustomerAdd><Name>V</Name><ClassRef><FullName>None</FullName></ClassRef></CustomerAdd></CustomerAddRq>",
    );
    assert_eq!(set.responses().next().unwrap().status_code(), 3140);
    let set = sim.send_v(
        "16.0",
        "stopOnError",
        "<ClassAddRq><ClassAdd><Name>K</Name></ClassAdd></ClassAddRq>\
         <CustomerAddRq><CustomerAdd><Name>V</Name><ClassRef><FullName>K</FullName></ClassRef><JobTitle>Owner</JobTitle></CustomerAdd></CustomerAddRq>",
    );
    assert!(set.responses().all(|r| r.status_code() == 0));
    let new = Rs::of(
        &sim.send_v("13.0", "stopOnError", "<CustomerQueryRq/>")
            .responses()
            .next()
            .unwrap(),
    );
    assert!(new.item().children.contains(&"ClassRef".to_string()));
    let old = Rs::of(
        &sim.send_v("8.0", "stopOnError", "<CustomerQueryRq/>")
            .responses()
            .next()
            .unwrap(),
    );
    assert!(
        !old.item().children.contains(&"ClassRef".to_string()),
        "ClassRef is 12.0"
    );
    assert!(!old.item().children.contains(&"JobTitle".to_string()));
    assert_eq!(old.item().must("Name"), "V");
    sim.check_schema();
}

#[test]
fn iterators_page_once_each_and_expire() {
    let sim = Sim::new();
    let mut adds = String::new();
    for i in 0..10_000 {
        adds.push_str(&format!(
            "<CustomerAddRq><CustomerAdd><Name>Customer {i:05}</Name></CustomerAdd></CustomerAddRq>"
        ));
    }
    sim.company
        .process_bulk(
            format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{adds}</QBXMLMsgsRq></QBXML>").as_bytes(),
        )
        .unwrap();
    let start = sim.one(
        "<CustomerQueryRq iterator=\"Start\"><MaxReturned>333</MaxReturned></CustomerQueryRq>",
    );
    start.ok();
    let id = start.iterator_id.clone().unwrap();
    assert!(
        id.len() == 38 && id.starts_with('{') && id.ends_with('}') && id.matches('-').count() == 4,
        "braced GUID: {id}"
    );
    let mut seen: Vec<String> = start
        .items
        .iter()
        .map(|i| i.must("Name").to_string())
        .collect();
    assert_eq!(start.remaining, Some(10_000 - 333));
    let mut expected_remaining = 10_000 - 333;
    while expected_remaining > 0 {
        let next = sim.one(&format!(
            "<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>333</MaxReturned></CustomerQueryRq>"
        ));
        next.ok();
        expected_remaining -= next.items.len() as u32;
        assert_eq!(next.remaining, Some(expected_remaining));
        assert_eq!(next.iterator_id.as_deref(), Some(id.as_str()));
        seen.extend(next.items.iter().map(|i| i.must("Name").to_string()));
    }
    assert_eq!(seen.len(), 10_000);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 10_000, "each exactly once");
    assert_eq!(seen, sorted, "in list order");
    // Finished: the iterator is gone.
    let gone = sim.one(&format!(
        "<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>333</MaxReturned></CustomerQueryRq>"
    ));
    assert_eq!(gone.code, 3391);
    assert_eq!(
        gone.message,
        format!("The iteratorID \"{id}\" is not valid.")
    );

    // Another session cannot use it; Stop ends it; idle ones expire.
    let start = sim
        .one("<CustomerQueryRq iterator=\"Start\"><MaxReturned>10</MaxReturned></CustomerQueryRq>");
    let id = start.iterator_id.clone().unwrap();
    let other = sim.company.begin_session();
    let xml = format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>10</MaxReturned></CustomerQueryRq></QBXMLMsgsRq></QBXML>");
    let rs = sim.company.process(other, xml.as_bytes()).unwrap();
    assert!(rs.contains("statusCode=\"3391\""));
    let wrong_type = sim.one(&format!(
        "<VendorQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>10</MaxReturned></VendorQueryRq>"
    ));
    assert_eq!(wrong_type.code, 3391);
    let stop = sim.one(&format!(
        "<CustomerQueryRq iterator=\"Stop\" iteratorID=\"{id}\"></CustomerQueryRq>"
    ));
    stop.ok();
    assert_eq!(sim.company.open_iterators(), 0);
    let start = sim
        .one("<CustomerQueryRq iterator=\"Start\"><MaxReturned>10</MaxReturned></CustomerQueryRq>");
    let id = start.iterator_id.clone().unwrap();
    sim.clock.advance(601);
    let late = sim.one(&format!(
        "<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>10</MaxReturned></CustomerQueryRq>"
    ));
    assert_eq!(late.code, 3391, "expired after 10 idle minutes");
    // Ending a session drops its iterators.
    sim.one("<CustomerQueryRq iterator=\"Start\"><MaxReturned>10</MaxReturned></CustomerQueryRq>");
    assert_eq!(sim.company.open_iterators(), 1);
    sim.company.end_session(sim.session);
    assert_eq!(sim.company.open_iterators(), 0);
    // An unknown ID.
    let rs = sim.one("<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{00000000-0000-4000-8000-000000000000}\"></CustomerQueryRq>");
    assert_eq!(rs.code, 3391);
}
