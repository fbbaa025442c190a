//! Parse + validate throughput against plain quick-xml tokenization of the
//! same bytes (the baseline: every event read, nothing built or checked).
//!
//! Inputs: the valid requests of the sample corpus in `../shared` (skipped
//! when absent) and a generated ~50 MB message set of 100,000 CustomerAdd
//! requests — and that message set converted to and from the JSON form.
//! Results: docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::hint::black_box;
use std::path::PathBuf;

/// `n` CustomerAdd requests of about 500 bytes each (100,000: 50 MB).
pub fn big_request(n: usize) -> String {
    let mut s = String::with_capacity(n * 540);
    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?qbxml version=\"13.0\"?>\n<QBXML>\n<QBXMLMsgsRq onError=\"continueOnError\">\n");
    for i in 0..n {
        s.push_str(&format!(
            "<CustomerAddRq requestID=\"{i}\">\n<CustomerAdd>\n<Name>Customer {i:06} &amp; Sons</Name>\n<IsActive>true</IsActive>\n\
<CompanyName>Harbor Lights Bakery {i}</CompanyName>\n<FirstName>Ines</FirstName>\n<LastName>Okafor</LastName>\n\
<BillAddress>\n<Addr1>{i} Quay Street</Addr1>\n<City>Portland</City>\n<State>ME</State>\n<PostalCode>04101</PostalCode>\n</BillAddress>\n\
<Phone>207-555-0142</Phone>\n<Email>ines{i}@example.com</Email>\n<CreditLimit>2500.00</CreditLimit>\n<JobStatus>InProgress</JobStatus>\n\
<Notes>Prefers deliveries before 7am.</Notes>\n</CustomerAdd>\n</CustomerAddRq>\n"
        ));
    }
    s.push_str("</QBXMLMsgsRq>\n</QBXML>\n");
    s
}

fn tokenize(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => {
                black_box(&e);
                n += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    n
}

fn corpus() -> Vec<Vec<u8>> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/qbxml/samples/requests");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIP corpus benchmark: {} not found", dir.display());
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .filter(|b| qbxml::parse_request(b.as_slice()).is_ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let limits = qbxml::Limits::default();

    let files = corpus();
    if !files.is_empty() {
        let total: usize = files.iter().map(Vec::len).sum();
        let mut g = c.benchmark_group("corpus");
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_function("quick-xml tokenize", |b| {
            b.iter(|| files.iter().map(|f| tokenize(f)).sum::<usize>())
        });
        g.bench_function("qbxml parse+validate", |b| {
            b.iter_batched(
                || files.clone(),
                |owned| {
                    owned
                        .into_iter()
                        .map(|f| qbxml::parse_request_with(f, &limits).unwrap().len())
                        .sum::<usize>()
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }

    let big = big_request(100_000).into_bytes();
    let mut g = c.benchmark_group("100k CustomerAdd");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("quick-xml tokenize", big.len()),
        &big,
        |b, big| b.iter(|| tokenize(big)),
    );
    // The parser takes ownership of its input (a server hands over the
    // request body); the copy made for each iteration is not timed.
    g.bench_with_input(
        BenchmarkId::new("qbxml parse+validate", big.len()),
        &big,
        |b, big| {
            b.iter_batched(
                || big.clone(),
                |owned| qbxml::parse_request_with(owned, &limits).unwrap().len(),
                BatchSize::PerIteration,
            )
        },
    );
    g.finish();

    // The JSON form of the same message set (issue 19): each direction's
    // throughput in its input's bytes, beside the parse above.
    let set = qbxml::parse_request_with(big.clone(), &limits).unwrap();
    let json = qbxml::json::document_to_json(set.document(), set.version());
    let mut g = c.benchmark_group("100k CustomerAdd, JSON form");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function(
        BenchmarkId::new("qbXML to JSON (parsed set)", big.len()),
        |b| b.iter(|| qbxml::json::document_to_json(set.document(), set.version()).len()),
    );
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function(BenchmarkId::new("JSON to qbXML text", json.len()), |b| {
        b.iter(|| qbxml::json::to_qbxml(&json, &limits).unwrap().len())
    });
    g.bench_function(
        BenchmarkId::new("JSON to validated request set", json.len()),
        |b| {
            b.iter(|| {
                qbxml::json::request_from_json(&json, &limits)
                    .unwrap()
                    .len()
            })
        },
    );
    g.finish();

    // An answer: 100,000 CustomerRet, as the connector's /json converts
    // it — one pass over the text, and the parse-then-walk it falls back
    // to.
    let answer = big_answer(100_000);
    assert_eq!(
        qbxml::json::response_to_json_one_pass(&answer, qbxml::Version::V13_0),
        qbxml::json::response_to_json_walked(&answer, qbxml::Version::V13_0).ok()
    );
    let mut g = c.benchmark_group("100k CustomerRet answer, to JSON");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(answer.len() as u64));
    g.bench_function(BenchmarkId::new("one pass", answer.len()), |b| {
        b.iter(|| {
            qbxml::json::response_to_json_one_pass(&answer, qbxml::Version::V13_0).map(|j| j.len())
        })
    });
    g.bench_function(BenchmarkId::new("parse, then walk", answer.len()), |b| {
        b.iter(|| {
            qbxml::json::response_to_json_walked(&answer, qbxml::Version::V13_0).map(|j| j.len())
        })
    });
    g.finish();
}

/// A CustomerQueryRs with `n` CustomerRet of about 600 bytes, in schema
/// order as QuickBooks writes them.
fn big_answer(n: usize) -> String {
    let mut s = String::with_capacity(n * 640);
    s.push_str("<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\">\n");
    for i in 0..n {
        s.push_str(&format!(
            "<CustomerRet>\n<ListID>{:X}-1700000000</ListID>\n<TimeCreated>2026-11-14T17:13:20-05:00</TimeCreated>\n\
<TimeModified>2026-11-14T17:13:20-05:00</TimeModified>\n<EditSequence>1700000000</EditSequence>\n\
<Name>Customer {i:06} &amp; Sons</Name>\n<FullName>Customer {i:06} &amp; Sons</FullName>\n<IsActive>true</IsActive>\n\
<Sublevel>0</Sublevel>\n<CompanyName>Harbor Lights Bakery {i}</CompanyName>\n<FirstName>Ines</FirstName>\n\
<LastName>Okafor</LastName>\n<BillAddress>\n<Addr1>{i} Quay Street</Addr1>\n<City>Portland</City>\n<State>ME</State>\n\
<PostalCode>04101</PostalCode>\n</BillAddress>\n<Phone>207-555-0142</Phone>\n<Email>ines{i}@example.com</Email>\n\
<Balance>1250.00</Balance>\n<TotalBalance>1250.00</TotalBalance>\n<CreditLimit>2500.00</CreditLimit>\n\
<JobStatus>InProgress</JobStatus>\n<Notes>Prefers deliveries before 7am.</Notes>\n</CustomerRet>\n",
            0x8000_0000u32 + i as u32
        ));
    }
    s.push_str("</CustomerQueryRs>\n</QBXMLMsgsRs>\n</QBXML>");
    s
}

criterion_group!(benches, bench);
criterion_main!(benches);
