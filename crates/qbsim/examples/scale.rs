//! Scale check: iterate every customer of a large company file with
//! `iterator="Start"`/`"Continue"` and MaxReturned 1000, and report the
//! total time and this process's peak RSS (VmHWM).
//!
//! ```sh
//! cargo run --release -p qbsim --example scale -- create /tmp/big.qbsim 100000
//! cargo run --release -p qbsim --example scale -- iterate /tmp/big.qbsim
//! ```
//! (Two processes, so the peak RSS is the iteration's alone.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbsim::{sample, Company, Config};
use std::time::Instant;

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{body}</QBXMLMsgsRq></QBXML>"
    )
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("create") => {
            let n: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000);
            let t = Instant::now();
            let c = Company::open(args[2].as_ref(), Config::default()).unwrap();
            // `customers` counts top-level customers; a third get one to three
            // jobs, so ~3/5 of n lands near n records.
            let added = sample::generate(
                &c,
                sample::SampleSize {
                    customers: n * 3 / 5,
                    vendors: 50,
                },
            )
            .unwrap();
            println!(
                "created {added} records in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        }
        Some("iterate") => {
            let c = Company::open(args[2].as_ref(), Config::default()).unwrap();
            let s = c.begin_session();
            let t = Instant::now();
            let start = c
                .process(
                    s,
                    envelope("<CustomerQueryRq iterator=\"Start\"><MaxReturned>1000</MaxReturned></CustomerQueryRq>")
                        .as_bytes(),
                )
                .unwrap();
            let id = start
                .split("iteratorID=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap()
                .to_string();
            let mut records = start.matches("<CustomerRet>").count();
            let mut bytes = start.len();
            let mut remaining: usize = start
                .split("iteratorRemainingCount=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            while remaining > 0 {
                let rs = c
                    .process(
                        s,
                        envelope(&format!(
                            "<CustomerQueryRq iterator=\"Continue\" iteratorID=\"{id}\"><MaxReturned>1000</MaxReturned></CustomerQueryRq>"
                        ))
                        .as_bytes(),
                    )
                    .unwrap();
                records += rs.matches("<CustomerRet>").count();
                bytes += rs.len();
                remaining = rs
                    .split("iteratorRemainingCount=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
            println!(
                "iterated {records} customers ({:.1} MB of qbXML) in {:.2} s; peak RSS {:.0} MB",
                bytes as f64 / 1e6,
                t.elapsed().as_secs_f64(),
                peak_rss_mb()
            );
        }
        _ => eprintln!("usage: scale create FILE [N] | scale iterate FILE"),
    }
}
