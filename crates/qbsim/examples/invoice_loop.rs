//! Profiling aid: InvoiceAdd in a loop (`perf record` around it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use qbsim::{sample, Company, Config, Durability};
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let c = Company::open(
        &dir.path().join("p.qbsim"),
        Config {
            durability: Durability::Normal,
            ..Config::default()
        },
    )
    .unwrap();
    sample::generate(
        &c,
        sample::SampleSize {
            customers: 200,
            vendors: 20,
        },
    )
    .unwrap();
    let s = c.begin_session();
    let raw = rusqlite::Connection::open(dir.path().join("p.qbsim")).unwrap();
    let frames = |raw: &rusqlite::Connection| -> i64 {
        raw.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap()
    };
    raw.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let f0 = frames(&raw);
    let t = std::time::Instant::now();
    for i in 0..n {
        let rq = format!(
            "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Abbott, Ada</FullName></CustomerRef><TxnDate>2024-03-{:02}</TxnDate>\
             <InvoiceLineAdd><ItemRef><FullName>Labor:Framing</FullName></ItemRef><Quantity>{}</Quantity></InvoiceLineAdd>\
             <InvoiceLineAdd><ItemRef><FullName>Design</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd>\
             <InvoiceLineAdd><ItemRef><FullName>Window</FullName></ItemRef><Quantity>1</Quantity></InvoiceLineAdd>\
             <InvoiceLineAdd><ItemRef><FullName>Cabinet Pulls</FullName></ItemRef><Quantity>12</Quantity><Rate>5.50</Rate></InvoiceLineAdd>\
             <InvoiceLineAdd><ItemRef><FullName>Freight</FullName></ItemRef><Amount>45.00</Amount></InvoiceLineAdd>\
             </InvoiceAdd></InvoiceAddRq></QBXMLMsgsRq></QBXML>",
            1 + i % 28,
            1 + i % 16
        );
        let rs = c.process(s, rq.as_bytes()).unwrap();
        assert!(rs.contains("statusCode=\"0\""), "{rs}");
        if i == 9 {
            println!("WAL frames for 10 invoices: {}", frames(&raw) - f0);
        }
    }
    println!(
        "{n} invoices in {:.2} s: {:.0} µs each",
        t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
