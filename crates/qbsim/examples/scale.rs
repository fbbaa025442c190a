//! Scale check: iterate every customer of a large company file with
//! `iterator="Start"`/`"Continue"` and MaxReturned 1000, and report the
//! total time and this process's peak RSS (VmHWM).
//!
//! ```sh
//! cargo run --release -p qbsim --example scale -- create /tmp/big.qbsim 100000
//! cargo run --release -p qbsim --example scale -- iterate /tmp/big.qbsim
//! ```
//! (Two processes, so the peak RSS is the iteration's alone.)
//!
//! Transactions and reports over them:
//!
//! ```sh
//! cargo run --release -p qbsim --example scale -- txns /tmp/books.qbsim 730 105
//! cargo run --release -p qbsim --example scale -- reports /tmp/books.qbsim
//! ```
//! `txns FILE DAYS INVOICES_PER_DAY` makes a sample company with that much
//! business (730 days × 105 invoices ≈ 100,000 transactions); `reports`
//! times TrialBalance, ProfitAndLossStandard, BalanceSheetStandard and
//! ARAgingSummary over it, each beside the SQL that sums the postings, run
//! alone (the floor), in the same run.
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
        Some("txns") => {
            let days: u32 = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(730);
            let per_day: u32 = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(105);
            let t = Instant::now();
            let c = Company::open(
                args[2].as_ref(),
                Config {
                    durability: qbsim::Durability::Normal,
                    ..Config::default()
                },
            )
            .unwrap();
            sample::generate(&c, sample::SampleSize::default()).unwrap();
            let s = sample::transactions(
                &c,
                sample::TxnPlan {
                    days,
                    invoices_per_day: per_day,
                },
            )
            .unwrap();
            println!(
                "{} transactions ({} refused) in {:.1} s",
                s.added,
                s.refused,
                t.elapsed().as_secs_f64()
            );
        }
        Some("reports") => {
            let c = Company::open(args[2].as_ref(), Config::default()).unwrap();
            let s = c.begin_session();
            let raw = rusqlite::Connection::open(&args[2]).unwrap();
            // The simulator's page cache and temp store, and the file
            // memory-mapped: through read() this connection took ~850 ms
            // for the same SQL on the reference machine (docs/BENCHMARKS.md).
            raw.execute_batch(
                "PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=1000000000;",
            )
            .unwrap();
            let (txns, postings): (i64, i64) = raw
                .query_row(
                    "SELECT (SELECT COUNT(*) FROM txn), (SELECT COUNT(*) FROM posting)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            println!("{txns} transactions, {postings} postings");
            let reports = [
                ("TrialBalance", "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>TrialBalance</GeneralSummaryReportType></GeneralSummaryReportQueryRq>"),
                ("ProfitAndLossStandard", "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>ProfitAndLossStandard</GeneralSummaryReportType><ReportDateMacro>ThisYear</ReportDateMacro></GeneralSummaryReportQueryRq>"),
                ("BalanceSheetStandard", "<GeneralSummaryReportQueryRq><GeneralSummaryReportType>BalanceSheetStandard</GeneralSummaryReportType></GeneralSummaryReportQueryRq>"),
                ("ARAgingSummary", "<AgingReportQueryRq><AgingReportType>ARAgingSummary</AgingReportType></AgingReportQueryRq>"),
            ];
            for round in 0..3 {
                for (name, body) in reports {
                    let t = Instant::now();
                    let rs = c.process(s, envelope(body).as_bytes()).unwrap();
                    assert!(rs.contains("statusCode=\"0\""), "{rs}");
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    println!(
                        "round {round}: {name:<22} {ms:7.1} ms ({} rows)",
                        rs.matches("Row rowNumber").count()
                    );
                }
                // The floor: the SQL a trial balance needs (every posting
                // through the date, summed per account), alone.
                let t = Instant::now();
                let mut st = raw
                    .prepare_cached(
                        "SELECT account, SUM(amount), SUM(CASE WHEN date >= ?2 THEN amount ELSE 0 END) \
                         FROM posting WHERE date <= ?1 GROUP BY account",
                    )
                    .unwrap();
                let n = st
                    .query_map(["2099-12-31", "2026-01-01"], |r| r.get::<_, i64>(1))
                    .unwrap()
                    .count();
                println!(
                    "round {round}: baseline: the summing SQL alone {:7.1} ms ({n} accounts)",
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        _ => eprintln!(
            "usage: scale create FILE [N] | iterate FILE | txns FILE [DAYS] [PER_DAY] | reports FILE"
        ),
    }
}
