//! Kill the simulator in the middle of writing, many times: the company
//! file must always pass SQLite's integrity check, and every add that was
//! answered with status 0 must be there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigkill_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.qbsim");
    let exe = env!("CARGO_BIN_EXE_qbsim");
    let mut acknowledged: Vec<String> = Vec::new();
    let rounds = 60;
    for round in 0..rounds {
        let mut child = Command::new(exe)
            .arg("write-loop")
            .arg(&file)
            .arg(format!("r{round}"))
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
        while got < target && started.elapsed() < Duration::from_secs(30) {
            match lines.next() {
                Some(Ok(name)) => {
                    acknowledged.push(name);
                    got += 1;
                }
                _ => break,
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Whatever the child printed before it died was acknowledged too.
        for name in lines.map_while(Result::ok) {
            acknowledged.push(name);
        }
        assert!(got > 0, "round {round}: the writer produced nothing");

        let check = Command::new(exe).arg("check").arg(&file).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&check.stdout).trim(),
            "ok",
            "round {round}: integrity check"
        );
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
