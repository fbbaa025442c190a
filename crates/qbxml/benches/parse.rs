//! Parse + validate throughput against plain quick-xml tokenization of the
//! same bytes (the baseline: every event read, nothing built or checked).
//!
//! Inputs: the valid requests of the sample corpus in `../shared` (skipped
//! when absent) and a generated ~50 MB message set of 100,000 CustomerAdd
//! requests. Results: docs/BENCHMARKS.md.
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
