//! Kill the simulator in the middle of writing, many times: the company
//! file must always pass SQLite's integrity check, and every add that was
//! answered with status 0 must be there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The writer: this test binary run again with `QBSIM_CRASH_WRITER` set
/// (the file, then the prefix of the names): add customers forever,
/// printing each name once its add is answered with status 0. Without
/// the variable (an ordinary test run) it does nothing.
#[test]
fn writer() {
    let Ok(spec) = std::env::var("QBSIM_CRASH_WRITER") else {
        return;
    };
    let (file, prefix) = spec.split_once('\n').unwrap();
    let c = qbsim::Company::open(file.as_ref(), qbsim::Config::default()).unwrap();
    let s = c.begin_session();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let name = format!("{prefix}-{i}");
        let rq = format!(
            "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">\
             <CustomerAddRq><CustomerAdd><Name>{name}</Name><CompanyName>Crash test</CompanyName></CustomerAdd></CustomerAddRq>\
             </QBXMLMsgsRq></QBXML>"
        );
        let rs = c.process(s, rq.as_bytes()).unwrap();
        if rs.contains("statusCode=\"0\"") {
            // Marked: the test harness writes lines of its own here too.
            writeln!(out, "ACK {name}").unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.qbsim");
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let rounds = 60;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--exact", "writer", "--nocapture", "--test-threads", "1"])
            .env(
                "QBSIM_CRASH_WRITER",
                format!("{}\nr{round}", file.display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Let it write a varying number of records, then kill it mid-loop.
        let target = 5 + (round * 7) % 40;
        let started = Instant::now();
        let mut got = 0;
        let ack = |line: &str| line.split_once("ACK ").map(|(_, n)| n.to_string());
        while got < target && started.elapsed() < Duration::from_secs(30) {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(name) = ack(&line) {
                        acknowledged.push(name);
                        got += 1;
                    }
                }
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Whatever the child printed before it died was acknowledged too.
        for line in lines.map_while(Result::ok) {
            acknowledged.extend(ack(&line));
        }
        assert!(got > 0, "round {round}: the writer produced nothing");

        // No repair needed, as the kill left it (WAL included).
        let c = qbsim::Company::open_with(&file, qbsim::Config::default(), qbsim::Opening::NoWrite)
            .unwrap();
        assert_eq!(c.integrity_check().unwrap(), "ok", "round {round}");
    }
    // Every acknowledged name is in the file.
    let company = qbsim::Company::open(&file, qbsim::Config::default()).unwrap();
    let s = company.begin_session();
    let rs = company
        .process(
            s,
            b"<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq><IncludeRetElement>Name</IncludeRetElement></CustomerQueryRq></QBXMLMsgsRq></QBXML>",
        )
        .unwrap();
    let set = qbxml::parse_response(rs).unwrap();
    let names: std::collections::HashSet<String> = set
        .responses()
        .next()
        .unwrap()
        .items()
        .filter_map(|e| e.child_text("Name").map(str::to_string))
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(acknowledged.len() >= rounds * 5);
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "crash test: {rounds} SIGKILLs, {} acknowledged adds, {} records in the file, none lost",
        acknowledged.len(),
        names.len()
    );
}
