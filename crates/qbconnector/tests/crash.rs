//! Kill `qbconnector serve` (SIGKILL) at random moments while clients
//! write over HTTP, many rounds, restarting it each time:
//!
//! - every add answered 200 with status 0 is in the company file after
//!   the restart;
//! - the company file never needs repair (SQLite's integrity check);
//! - each request in flight at the kill is fully in or fully out, and
//!   error recovery (`oldMessageSetID`) tells the client exactly which:
//!   the saved answers name the adds that are there, no more, no fewer;
//!   a set with no saved state (600) had done nothing, and is done now.
//!
//! `QBC_CRASH_ROUNDS` sets the number of rounds (default 8; the longer run
//! in docs/BENCHMARKS.md used 200).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long password";
const WRITERS: usize = 4;

/// A message set of adds, sent with `newMessageSetID`.
#[derive(Clone, Debug)]
struct Set {
    id: String,
    names: Vec<String>,
}

impl Set {
    fn xml(&self, old: bool) -> String {
        let adds: String = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "<CustomerAddRq requestID=\"{i}\"><CustomerAdd><Name>{n}</Name></CustomerAdd></CustomerAddRq>"
                )
            })
            .collect();
        let ids = if old {
            format!("oldMessageSetID=\"{0}\" newMessageSetID=\"{0}-r\"", self.id)
        } else {
            format!("newMessageSetID=\"{}\"", self.id)
        };
        format!(
            "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\" {ids}>{adds}</QBXMLMsgsRq></QBXML>"
        )
    }
}

/// One POST over a fresh connection: the status and body, or an I/O error
/// (the server died).
fn post(addr: &str, xml: &str) -> std::io::Result<(u16, String)> {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("ann:{PASSWORD}"));
    let mut tcp = std::net::TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        tcp,
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{xml}",
        xml.len()
    )?;
    let mut answer = String::new();
    tcp.read_to_string(&mut answer)?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {answer:?}")))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Each response's status code and the customer name it returned; `None`
/// when the body is not a whole response (the kill cut it short).
fn try_answers(body: &str) -> Option<Answers> {
    qbxml::parse_response(body.as_bytes().to_vec()).ok()?;
    Some(answers(body))
}

/// The message set's status code, and each response's status code and
/// the customer name it returned.
type Answers = (Option<String>, Vec<(u32, Option<String>)>);

fn answers(body: &str) -> Answers {
    let set = qbxml::parse_response(body.as_bytes().to_vec()).unwrap();
    let msgset = set.message_set_status_code().map(|c| c.to_string());
    let rs = set
        .responses()
        .map(|r| {
            let name = r
                .items()
                .next()
                .and_then(|e| e.child_text("Name").map(str::to_string));
            (r.status_code(), name)
        })
        .collect();
    (msgset, rs)
}

fn all_names(addr: &str) -> BTreeSet<String> {
    let q = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq><IncludeRetElement>Name</IncludeRetElement></CustomerQueryRq></QBXMLMsgsRq></QBXML>";
    let (status, body) = post(addr, q).unwrap();
    assert_eq!(status, 200, "{body}");
    let set = qbxml::parse_response(body.into_bytes()).unwrap();
    let rs = set.responses().next().unwrap();
    rs.items()
        .filter_map(|e| e.child_text("Name").map(str::to_string))
        .collect()
}

/// A served connector, killed (SIGKILL) when dropped — also when the
/// test fails, so that no server outlives it.
struct Served(std::process::Child);
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(config: &str) -> (Served, String) {
    let (child, addr, lines) = common::serve(config);
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (Served(child), addr)
}

/// A small deterministic generator: the same rounds every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[test]
fn sigkill_of_the_server_loses_nothing_acknowledged() {
    let rounds: usize = std::env::var("QBC_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("qbconnector.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\n[backend]\ndata_dir = \"data\"\ncreate_missing = true\ndefault_company = \"acme.qbw\"\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let mut add = Command::new(common::BIN)
        .args([
            "user",
            "add",
            "ann",
            "--password-stdin",
            "--config",
            &config,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());
    let company = dir.path().join("data").join("acme.qbw");

    let mut rng = Lcg(0x5eed);
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let (mut recovered_in, mut recovered_out, mut partial) = (0, 0, 0);
    let started = Instant::now();
    for round in 0..rounds {
        let (child, addr) = serve(&config);
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let unknown = Arc::new(Mutex::new(Vec::<Set>::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (addr, stop, acked, unknown) =
                    (addr.clone(), stop.clone(), acked.clone(), unknown.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let size = 1 + (n % 3);
                        let set = Set {
                            id: format!("r{round}w{w}s{n}"),
                            names: (0..size)
                                .map(|k| format!("r{round}-w{w}-{n}-{k}"))
                                .collect(),
                        };
                        n += 1;
                        match post(&addr, &set.xml(false)) {
                            Ok((200, body)) if try_answers(&body).is_some() => {
                                let (_, rs) = answers(&body);
                                assert!(rs.iter().all(|(c, _)| *c == 0), "a write failed: {body}");
                                acked.lock().unwrap().extend(set.names);
                            }
                            Ok((status, body)) if status != 200 => panic!("{status}: {body}"),
                            // The server died with this set in flight (no
                            // answer, or one cut short).
                            _ => {
                                unknown.lock().unwrap().push(set);
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        // Let the writers run, then kill at a moment of the generator's
        // choosing: sometimes early, sometimes mid-stream.
        std::thread::sleep(Duration::from_millis(20 + rng.next(300)));
        drop(child); // SIGKILL
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().unwrap();
        }
        acknowledged.extend(acked.lock().unwrap().drain(..));

        // No repair needed: SQLite's integrity check on the file as the
        // kill left it (WAL included).
        {
            let c = qbsim::Company::open_with(
                &company,
                qbsim::Config::default(),
                qbsim::Opening::NoWrite,
            )
            .unwrap();
            assert_eq!(c.integrity_check().unwrap(), "ok", "round {round}");
        }

        // Restart: everything acknowledged is there.
        let (child, addr) = serve(&config);
        let present = all_names(&addr);
        let lost: Vec<&String> = acknowledged.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged but lost: {lost:?}"
        );
        // The sets in flight: recovery says exactly what happened.
        for set in unknown.lock().unwrap().iter() {
            let there: BTreeSet<&String> =
                set.names.iter().filter(|n| present.contains(*n)).collect();
            let (status, body) = post(&addr, &set.xml(true)).unwrap();
            assert_eq!(status, 200, "{body}");
            let (msgset, rs) = answers(&body);
            match msgset.as_deref() {
                Some("0") => {
                    // Saved answers: exactly the adds that are there.
                    let saved: BTreeSet<&String> = rs
                        .iter()
                        .filter(|(c, _)| *c == 0)
                        .filter_map(|(_, n)| n.as_ref())
                        .collect();
                    assert_eq!(saved, there, "round {round}, set {}: {body}", set.id);
                    assert!(!there.is_empty());
                    if there.len() < set.names.len() {
                        partial += 1;
                    }
                    recovered_in += 1;
                    // What is saved is done; the rest was not, and the
                    // recovery did not do it either.
                    acknowledged.extend(there.into_iter().cloned());
                }
                Some("600") => {
                    // No state: nothing of it was done before, all of it now.
                    assert!(there.is_empty(), "round {round}, set {}: {there:?}", set.id);
                    assert!(rs.iter().all(|(c, _)| *c == 0), "{body}");
                    recovered_out += 1;
                    acknowledged.extend(set.names.iter().cloned());
                }
                other => panic!("messageSetStatusCode {other:?}: {body}"),
            }
        }
        drop(child);
    }
    let c = qbsim::Company::open(&company, qbsim::Config::default()).unwrap();
    assert_eq!(c.integrity_check().unwrap(), "ok");
    eprintln!(
        "crash test: {rounds} SIGKILLs of qbconnector serve in {:.1} s, {} acknowledged adds, none lost; \
         in flight at the kill: {recovered_in} found done by oldMessageSetID ({partial} of them partly), \
         {recovered_out} found not done (600)",
        started.elapsed().as_secs_f64(),
        acknowledged.len()
    );
    assert!(acknowledged.len() >= rounds, "the writers wrote nothing");
}
