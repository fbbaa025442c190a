//! Simulator throughput, each beside its floor in the same run:
//!
//! - `add`: one CustomerAdd per message set, durable (synchronous=FULL,
//!   one SQLite transaction per request), against the baseline of one bare
//!   `INSERT` of a comparable row per durable transaction in the same
//!   kind of file — the cost of the disk that no simulator can beat.
//! - `query`: CustomerQuery by ListID in a file of 10,000 customers,
//!   against parsing the same request alone (our floor: the qbXML parser).
//!
//! The 100,000-customer iteration (time and peak RSS) is the `scale`
//! example. Results: docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qbsim::{sample, Company, Config};
use std::hint::black_box;

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{body}</QBXMLMsgsRq></QBXML>"
    )
}

fn add(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let company = Company::open(&dir.path().join("bench.qbsim"), Config::default()).unwrap();
    let session = company.begin_session();
    let mut g = c.benchmark_group("add");
    g.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    g.bench_function("qbsim CustomerAdd (durable)", |b| {
        b.iter(|| {
            i += 1;
            let rq = envelope(&format!(
                "<CustomerAddRq><CustomerAdd><Name>Customer {i:08}</Name><CompanyName>Harbor Lights</CompanyName>\
                 <BillAddress><Addr1>{i} Quay Street</Addr1><City>Portland</City><State>ME</State><PostalCode>04101</PostalCode></BillAddress>\
                 <Phone>207-555-0142</Phone></CustomerAdd></CustomerAddRq>"
            ));
            let rs = company.process(session, rq.as_bytes()).unwrap();
            assert!(rs.contains("statusCode=\"0\""));
            black_box(rs);
        })
    });
    let raw = rusqlite::Connection::open(dir.path().join("baseline.db")).unwrap();
    raw.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE t(id TEXT PRIMARY KEY, name TEXT UNIQUE, body TEXT);",
    )
    .unwrap();
    let mut j = 0u64;
    g.bench_function("baseline: bare durable INSERT", |b| {
        b.iter(|| {
            j += 1;
            raw.execute(
                "INSERT INTO t VALUES(?1, ?2, ?3)",
                (
                    format!("{j:X}-1700000000"),
                    format!("Customer {j:08}"),
                    "x".repeat(200),
                ),
            )
            .unwrap();
        })
    });
    g.finish();
}

fn query(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let company = Company::open(&dir.path().join("bench.qbsim"), Config::default()).unwrap();
    sample::generate(
        &company,
        sample::SampleSize {
            customers: 10_000,
            vendors: 50,
        },
    )
    .unwrap();
    let session = company.begin_session();
    let all = company
        .process(
            session,
            envelope(
                "<CustomerQueryRq><IncludeRetElement>ListID</IncludeRetElement></CustomerQueryRq>",
            )
            .as_bytes(),
        )
        .unwrap();
    let ids: Vec<String> = all
        .split("<ListID>")
        .skip(1)
        .filter_map(|s| s.split_once("</ListID>").map(|(id, _)| id.to_string()))
        .collect();
    assert!(ids.len() >= 10_000);
    let requests: Vec<String> = ids
        .iter()
        .map(|id| {
            envelope(&format!(
                "<CustomerQueryRq><ListID>{id}</ListID></CustomerQueryRq>"
            ))
        })
        .collect();
    let mut g = c.benchmark_group("query");
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function("qbsim CustomerQuery by ListID", |b| {
        b.iter(|| {
            k = (k + 7919) % requests.len();
            let rs = company.process(session, requests[k].as_bytes()).unwrap();
            black_box(rs);
        })
    });
    let mut k = 0usize;
    g.bench_function("baseline: parse the request only", |b| {
        b.iter(|| {
            k = (k + 7919) % requests.len();
            black_box(qbxml::parse_request(requests[k].as_bytes().to_vec()).unwrap());
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = add, query
}
criterion_main!(benches);
