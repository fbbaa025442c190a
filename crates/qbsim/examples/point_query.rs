//! CustomerQuery by ListID in a loop, for a profiler:
//!
//! ```sh
//! cargo build --release -p qbsim --example point_query
//! perf record -e cpu-clock -g target/release/examples/point_query 200000
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*timed_loop*' \
//!     target/release/examples/point_query 2000
//! ```
//!
//! It makes a sample company of 10,000 customers in a temporary file
//! first (a few seconds), then times the queries: parsed once each, as
//! the connector sends them (`process_set`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbsim::{sample, Company, Config};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // As the connector opens its files: SQLite holds the lock while open.
    let config = Config {
        exclusive: std::env::var("SHARED").is_err(),
        ..Config::default()
    };
    let company = Company::open(&dir.path().join("q.qbw"), config).unwrap();
    sample::generate(
        &company,
        sample::SampleSize {
            customers: 10_000,
            vendors: 50,
        },
    )
    .unwrap();
    let s = company.begin_session();
    let env = |body: &str| {
        format!(
            "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{body}</QBXMLMsgsRq></QBXML>"
        )
    };
    let all = company
        .process(
            s,
            env("<CustomerQueryRq><IncludeRetElement>ListID</IncludeRetElement></CustomerQueryRq>")
                .as_bytes(),
        )
        .unwrap();
    let sets: Vec<qbxml::RequestSet> = all
        .split("<ListID>")
        .skip(1)
        .filter_map(|s| s.split_once("</ListID>").map(|(id, _)| id))
        .map(|id| {
            qbxml::parse_request(env(&format!(
                "<CustomerQueryRq><ListID>{id}</ListID></CustomerQueryRq>"
            )))
            .unwrap()
        })
        .collect();
    let started = Instant::now();
    let bytes = timed_loop(&company, s, &sets, n);
    let t = started.elapsed();
    println!(
        "{n} point queries: {:.2} µs each ({bytes} bytes)",
        t.as_secs_f64() * 1e6 / n as f64
    );
}

/// The queries alone (`valgrind --toggle-collect='*timed_loop*'`).
#[inline(never)]
fn timed_loop(company: &Company, s: qbsim::Session, sets: &[qbxml::RequestSet], n: usize) -> usize {
    let mut bytes = 0;
    for i in 0..n {
        let rs = company
            .process_set(s, &sets[(i * 7919) % sets.len()])
            .unwrap();
        bytes += rs.xml.len();
    }
    bytes
}
