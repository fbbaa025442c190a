//! `Config::max_response_bytes`: the answer to one message set is bounded,
//! whatever asks for it, and a refused page is never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbsim::{Company, Config};

fn set(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"continueOnError\">{inner}</QBXMLMsgsRq></QBXML>"
    )
}

fn company(limit: usize) -> (tempfile::TempDir, Company) {
    let dir = tempfile::tempdir().unwrap();
    let c = Company::open(
        &dir.path().join("b.qbw"),
        Config {
            max_response_bytes: limit,
            ..Config::default()
        },
    )
    .unwrap();
    (dir, c)
}

/// Queries that no handler counts as it renders (Host, Preferences) are
/// bounded too: the message set counts every read's answer.
#[test]
fn every_read_counts() {
    const LIMIT: usize = 20_000;
    let (_d, c) = company(LIMIT);
    let many = "<PreferencesQueryRq/><HostQueryRq/>".repeat(2_000);
    let rs = c.process(c.begin_session(), set(&many).as_bytes()).unwrap();
    let refused = rs.matches("statusCode=\"1000\"").count();
    assert!(refused > 3_900, "{refused}");
    // The limit, plus a short status for each read after it.
    assert!(rs.len() < LIMIT + 4_000 * 600, "{}", rs.len());
    let answered = rs.matches("<PreferencesRet>").count() + rs.matches("<HostRet>").count();
    assert!(answered > 0 && answered < 40, "{answered}");
}

/// Text full of characters that are escaped when written counts at its
/// written size.
#[test]
fn escaped_text_counts_as_written() {
    const LIMIT: usize = 100_000;
    let (_d, c) = company(LIMIT);
    let quotes = "&quot;".repeat(1_000);
    let adds: String = (0..60)
        .map(|i| {
            format!("<CustomerAddRq><CustomerAdd><Name>C{i}</Name><Notes>{quotes}</Notes></CustomerAdd></CustomerAddRq>")
        })
        .collect();
    c.process(c.begin_session(), set(&adds).as_bytes()).unwrap();
    let rs = c
        .process(c.begin_session(), set("<CustomerQueryRq/>").as_bytes())
        .unwrap();
    assert!(rs.len() <= LIMIT, "{}", rs.len());
    assert!(rs.contains("statusCode=\"1000\""), "{}", &rs[..300]);
}

/// A page refused for the limit is not skipped: the iterator stays where
/// it was, and a smaller page gets the same records.
#[test]
fn a_refused_page_is_asked_for_again() {
    const LIMIT: usize = 40_000;
    let (_d, c) = company(LIMIT);
    let adds: String = (0..100)
        .map(|i| {
            format!(
                "<CustomerAddRq><CustomerAdd><Name>Customer {i:03}</Name><Notes>{}</Notes></CustomerAdd></CustomerAddRq>",
                "n".repeat(900)
            )
        })
        .collect();
    c.process(c.begin_session(), set(&adds).as_bytes()).unwrap();
    let s = c.begin_session();
    let query = |attrs: &str, max: u32| {
        set(&format!(
            "<CustomerQueryRq {attrs}><MaxReturned>{max}</MaxReturned><IncludeRetElement>Name</IncludeRetElement><IncludeRetElement>Notes</IncludeRetElement></CustomerQueryRq>"
        ))
    };
    // Too big a first page: refused, and no iterator is left behind.
    let rs = c
        .process(s, query("iterator=\"Start\"", 80).as_bytes())
        .unwrap();
    assert!(rs.contains("statusCode=\"1000\""), "{}", &rs[..300]);
    assert_eq!(c.open_iterators(), 0);
    let rs = c
        .process(s, query("iterator=\"Start\"", 10).as_bytes())
        .unwrap();
    let id = rs
        .split("iteratorID=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let mut names: Vec<String> = names_in(&rs);
    loop {
        let cont = |max| query(&format!("iterator=\"Continue\" iteratorID=\"{id}\""), max);
        // Too big: refused, nothing skipped.
        let rs = c.process(s, cont(80).as_bytes()).unwrap();
        if rs.contains("statusCode=\"3391\"") {
            break; // the iterator is done
        }
        if !rs.contains("statusCode=\"1000\"") {
            // The rest fits at once.
            names.extend(names_in(&rs));
            assert!(
                rs.contains("iteratorRemainingCount=\"0\""),
                "{}",
                &rs[..300]
            );
            break;
        }
        let rs = c.process(s, cont(10).as_bytes()).unwrap();
        names.extend(names_in(&rs));
        if rs.contains("iteratorRemainingCount=\"0\"") {
            break;
        }
    }
    let mut want: Vec<String> = (0..100).map(|i| format!("Customer {i:03}")).collect();
    want.sort();
    names.sort();
    assert_eq!(names, want);
}

fn names_in(rs: &str) -> Vec<String> {
    rs.split("<Name>")
        .skip(1)
        .filter_map(|r| r.split("</Name>").next())
        .map(str::to_string)
        .collect()
}

/// What counts is what is written: parts of a record newer than the
/// request's version are not in the answer, and not counted either.
#[test]
fn an_older_version_counts_only_what_it_gets() {
    const LIMIT: usize = 20_000;
    let (_d, c) = company(LIMIT);
    let s = c.begin_session();
    // AdditionalContactRef is 12.0: eight of 255 characters per customer.
    let contacts: String = (0..8)
        .map(|i| {
            format!(
                "<AdditionalContactRef><ContactName>C{i}</ContactName><ContactValue>{}</ContactValue></AdditionalContactRef>",
                "v".repeat(255)
            )
        })
        .collect();
    let adds: String = (0..20)
        .map(|i| format!("<CustomerAddRq><CustomerAdd><Name>Wide {i}</Name>{contacts}</CustomerAdd></CustomerAddRq>"))
        .collect();
    let rs = c.process(s, set(&adds).as_bytes()).unwrap();
    assert_eq!(rs.matches("statusCode=\"0\"").count(), 20, "{rs}");
    // In 13.0 the contacts are written, and the answer does not fit.
    let q13 = c.process(s, set("<CustomerQueryRq/>").as_bytes()).unwrap();
    assert!(q13.contains("statusCode=\"1000\""), "{q13}");
    // In 8.0 they are not, and it does.
    let q8 = c
        .process(
            s,
            set("<CustomerQueryRq/>")
                .replace("version=\"13.0\"", "version=\"8.0\"")
                .as_bytes(),
        )
        .unwrap();
    assert!(q8.contains("statusCode=\"0\""), "{q8}");
    assert_eq!(q8.matches("<CustomerRet>").count(), 20);
    assert!(!q8.contains("AdditionalContactRef"));
}

/// A set read from JSON, answered in JSON, meets the limit exactly where
/// its qbXML would: the JSON is the converted qbXML answer, refusals and
/// all.
#[test]
fn the_limit_decides_alike_in_json() {
    let (_d, c) = company(9_000);
    qbsim::sample::generate(
        &c,
        qbsim::sample::SampleSize {
            customers: 20,
            vendors: 10,
        },
    )
    .unwrap();
    let s = c.begin_session();
    let xml = set(&"<CustomerQueryRq/><VendorQueryRq/><PreferencesQueryRq/><AccountQueryRq/><HostQueryRq/><ItemQueryRq/>".repeat(3));
    let rs = c.process(s, xml.as_bytes()).unwrap();
    assert!(rs.contains("statusCode=\"1000\""), "the limit is met");
    assert!(rs.contains("statusCode=\"0\""), "some are answered");
    let converted = qbxml::json::response_to_json(&rs, qbxml::Version::V13_0).unwrap();
    let request = qbxml::parse_request(xml.into_bytes()).unwrap();
    let json = qbxml::json::document_to_json(request.document(), request.version());
    let jset = qbxml::json::request_from_json(&json, &qbxml::Limits::default()).unwrap();
    let r = c.process_set(s, &jset).unwrap();
    assert!(r.json);
    assert_eq!(r.xml, converted);
}
