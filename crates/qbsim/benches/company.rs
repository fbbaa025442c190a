//! Simulator throughput, each beside its floor in the same run:
//!
//! - `add`: one CustomerAdd per message set, durable (synchronous=FULL,
//!   one SQLite transaction per request), against the baseline of one bare
//!   `INSERT` of a comparable row per durable transaction in the same
//!   kind of file — the cost of the disk that no simulator can beat.
//! - `query`: CustomerQuery by ListID in a file of 10,000 customers, opened
//!   as the connector opens it (exclusive), parse included; the same
//!   request parsed by the caller (as the connector hands it over); against
//!   parsing the same request alone (the qbXML parser's share).
//!
//! - `invoice`: one InvoiceAdd with 5 lines (services and stock, sales
//!   tax) per message set, durable, in a sample company — lines, tax,
//!   postings, balances, inventory — against the same floor for what it
//!   writes: one durable transaction of 16 bare INSERTs (the invoice row,
//!   its postings and references).
//!
//! The 100,000-customer iteration (time and peak RSS) and the trial
//! balance over 100,000 transactions are the `scale` example. Results:
//! docs/BENCHMARKS.md.
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
    // As the connector opens its company files: SQLite's lock held while
    // open (no file lock per statement, names cached between requests).
    let company = Company::open(
        &dir.path().join("bench.qbsim"),
        Config {
            exclusive: true,
            ..Config::default()
        },
    )
    .unwrap();
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
    // The connector parses each request once on its way in and hands the
    // simulator the parsed set: this is the simulator's own share.
    let sets: Vec<qbxml::RequestSet> = requests
        .iter()
        .map(|r| qbxml::parse_request(r.as_bytes().to_vec()).unwrap())
        .collect();
    let mut k = 0usize;
    g.bench_function("qbsim CustomerQuery by ListID, parsed by the caller", |b| {
        b.iter(|| {
            k = (k + 7919) % sets.len();
            black_box(company.process_set(session, &sets[k]).unwrap());
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

fn invoice(c: &mut Criterion) {
    invoice_with(c, qbsim::Durability::Full, "durable");
    invoice_with(c, qbsim::Durability::Normal, "synchronous=NORMAL");
}

fn invoice_with(c: &mut Criterion, durability: qbsim::Durability, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let company = Company::open(
        &dir.path().join("bench.qbsim"),
        Config {
            durability,
            ..Config::default()
        },
    )
    .unwrap();
    sample::generate(
        &company,
        sample::SampleSize {
            customers: 200,
            vendors: 20,
        },
    )
    .unwrap();
    let session = company.begin_session();
    let customers: Vec<String> = company
        .process(
            session,
            envelope("<CustomerQueryRq><IncludeRetElement>FullName</IncludeRetElement></CustomerQueryRq>").as_bytes(),
        )
        .unwrap()
        .split("<FullName>")
        .skip(1)
        .filter_map(|s| s.split_once("</FullName>").map(|(n, _)| n.to_string()))
        .collect();
    assert!(customers.len() > 100);
    let mut g = c.benchmark_group("invoice");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function(format!("qbsim InvoiceAdd, 5 lines ({label})"), |b| {
        b.iter(|| {
            i += 1;
            let rq = envelope(&format!(
                "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{}</FullName></CustomerRef><TxnDate>2024-03-{:02}</TxnDate>\
                 <InvoiceLineAdd><ItemRef><FullName>Labor:Framing</FullName></ItemRef><Quantity>{}</Quantity></InvoiceLineAdd>\
                 <InvoiceLineAdd><ItemRef><FullName>Design</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>\
                 <InvoiceLineAdd><ItemRef><FullName>Window</FullName></ItemRef><Quantity>1</Quantity></InvoiceLineAdd>\
                 <InvoiceLineAdd><ItemRef><FullName>Cabinet Pulls</FullName></ItemRef><Quantity>12</Quantity><Rate>5.50</Rate></InvoiceLineAdd>\
                 <InvoiceLineAdd><ItemRef><FullName>Freight</FullName></ItemRef><Amount>45.00</Amount></InvoiceLineAdd>\
                 </InvoiceAdd></InvoiceAddRq>",
                customers[i % customers.len()],
                1 + i % 28,
                1 + i % 16
            ));
            let rs = company.process(session, rq.as_bytes()).unwrap();
            assert!(rs.contains("statusCode=\"0\""), "{rs}");
            black_box(rs);
        })
    });
    let raw = rusqlite::Connection::open(dir.path().join("baseline.db")).unwrap();
    let sync = if durability == qbsim::Durability::Full {
        "FULL"
    } else {
        "NORMAL"
    };
    raw.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};
         CREATE TABLE t(id TEXT PRIMARY KEY, body TEXT);"
    ))
    .unwrap();
    let mut j = 0u64;
    g.bench_function(
        format!("baseline: transaction of 16 bare INSERTs ({label})"),
        |b| {
            b.iter(|| {
                let tx = raw.unchecked_transaction().unwrap();
                for _ in 0..16 {
                    j += 1;
                    tx.execute(
                        "INSERT INTO t VALUES(?1, ?2)",
                        (format!("{j:X}-1700000000"), "x".repeat(120)),
                    )
                    .unwrap();
                }
                tx.commit().unwrap();
            })
        },
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = add, query, invoice
}
criterion_main!(benches);
