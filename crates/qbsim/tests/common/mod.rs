//! Test helpers: a company file in a temporary directory with a manual
//! clock, a way to send requests, and a schema check of every response the
//! test saw (xmllint against Intuit's XSD, when available).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbsim::{Clock, Company, Config, Session};
use qbxml::{parse_response, ResponseSet};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP: {why}");
}

pub fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("qbxml").is_dir() {
        Some(p)
    } else {
        skip("../shared/qbxml not found beside the checkout; sample-based checks not run");
        None
    }
}

/// 2023-11-14T22:13:20Z: a winter instant (standard time).
pub const T0: i64 = 1_700_000_000;

pub struct Sim {
    pub dir: tempfile::TempDir,
    pub company: Company,
    pub session: Session,
    pub clock: Clock,
    seen: RefCell<Vec<(String, String)>>,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with_config(|_| {})
    }

    pub fn with_config(f: impl FnOnce(&mut Config)) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(T0);
        let mut config = Config {
            clock: clock.clone(),
            ..Config::default()
        };
        f(&mut config);
        let company = Company::open(&dir.path().join("test.qbsim"), config).unwrap();
        let session = company.begin_session();
        Sim {
            dir,
            company,
            session,
            clock,
            seen: RefCell::new(Vec::new()),
        }
    }

    /// A fresh company with a generated sample company in it.
    pub fn with_sample(customers: usize, vendors: usize) -> Sim {
        let sim = Sim::new();
        qbsim::sample::generate(
            &sim.company,
            qbsim::sample::SampleSize { customers, vendors },
        )
        .unwrap();
        sim
    }

    pub fn path(&self) -> &Path {
        self.company.path()
    }

    /// Send requests (the inside of QBXMLMsgsRq) and parse the answer.
    pub fn send_v(&self, version: &str, on_error: &str, requests: &str) -> ResponseSet {
        let xml = format!(
            "<?xml version=\"1.0\"?><?qbxml version=\"{version}\"?><QBXML><QBXMLMsgsRq onError=\"{on_error}\">{requests}</QBXMLMsgsRq></QBXML>"
        );
        let rs = self
            .company
            .process(self.session, xml.as_bytes())
            .unwrap_or_else(|f| panic!("{f}\n{xml}"));
        self.seen
            .borrow_mut()
            .push((version.to_string(), rs.clone()));
        parse_response(rs.clone()).unwrap_or_else(|e| panic!("{e}\n{rs}"))
    }

    pub fn send(&self, requests: &str) -> ResponseSet {
        self.send_v("13.0", "continueOnError", requests)
    }

    /// The text of the answer to `requests` (13.0), to look inside
    /// aggregates `one` does not open.
    pub fn send_text(&self, requests: &str) -> String {
        self.send(requests);
        self.seen
            .borrow()
            .last()
            .map(|s| s.1.clone())
            .unwrap_or_default()
    }

    /// One request, its single response.
    pub fn one(&self, request: &str) -> Rs {
        let set = self.send(request);
        let r = set.responses().next().unwrap();
        Rs::of(&r)
    }

    /// Every response this Sim produced validates against Intuit's XSD
    /// for its version (xmllint; skipped without it or without ../shared).
    pub fn check_schema(&self) {
        check_schema(&self.seen.borrow());
    }
}

/// A response, owned: status and the items as XML snippets.
#[derive(Debug, Clone)]
pub struct Rs {
    pub name: String,
    pub code: u32,
    pub severity: String,
    pub message: String,
    pub items: Vec<Item>,
    pub ret_count: Option<u32>,
    pub remaining: Option<u32>,
    pub iterator_id: Option<String>,
}

/// An item of a response: its name and its direct leaf texts, plus the
/// FullName of each reference child.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub fields: Vec<(String, String)>,
    pub children: Vec<String>,
}

impl Item {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn must(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("{} has no {name}: {:?}", self.name, self.fields))
    }
}

impl Rs {
    pub fn of(r: &qbxml::Response<'_>) -> Rs {
        Rs {
            name: r.name().to_string(),
            code: r.status_code(),
            severity: r.severity().as_str().to_string(),
            message: r.message().to_string(),
            ret_count: r.ret_count(),
            remaining: r.iterator_remaining_count(),
            iterator_id: r.iterator_id().map(str::to_string),
            items: r
                .items()
                .map(|e| {
                    let mut fields = Vec::new();
                    let mut children = Vec::new();
                    if !e.has_children() {
                        fields.push((e.name().to_string(), e.text().to_string()));
                    }
                    for c in e.children() {
                        children.push(c.name().to_string());
                        if !c.has_children() {
                            fields.push((c.name().to_string(), c.text().to_string()));
                        } else if let Some(f) = c.child_text("FullName") {
                            fields.push((format!("{}.FullName", c.name()), f.to_string()));
                            if let Some(id) = c.child_text("ListID") {
                                fields.push((format!("{}.ListID", c.name()), id.to_string()));
                            }
                        }
                    }
                    Item {
                        name: e.name().to_string(),
                        fields,
                        children,
                    }
                })
                .collect(),
        }
    }

    pub fn item(&self) -> &Item {
        self.items
            .first()
            .unwrap_or_else(|| panic!("{} has no items: {} {}", self.name, self.code, self.message))
    }

    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "{}: {} {}",
            self.name, self.code, self.message
        );
        self
    }
}

pub fn xmllint_available() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Validate response documents with xmllint, per version's XSD.
pub fn check_schema(docs: &[(String, String)]) {
    let Some(shared) = shared() else { return };
    if !xmllint_available() {
        skip("xmllint not found (apt-get install libxml2-utils); response schema check not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (version, xsd) in [("13.0", "qbxmlops130.xsd"), ("16.0", "qbxmlops160.xsd")] {
        let files: Vec<PathBuf> = docs
            .iter()
            .enumerate()
            .filter(|(_, (v, _))| {
                let major: u32 = v.split('.').next().unwrap().parse().unwrap();
                if version == "13.0" {
                    major <= 13
                } else {
                    major > 13
                }
            })
            .map(|(i, (_, d))| {
                let p = dir.path().join(format!("rs{i}.xml"));
                std::fs::write(&p, d).unwrap();
                p
            })
            .collect();
        if files.is_empty() {
            continue;
        }
        for chunk in files.chunks(200) {
            let out = Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(shared.join("qbxml/schema").join(xsd))
                .args(chunk)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let bad: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.ends_with(" validates"))
                .collect();
            if !bad.is_empty() {
                let mut parts = bad[0].split(':');
                let first = parts.next().unwrap_or("");
                let line: usize = parts.next().and_then(|l| l.parse().ok()).unwrap_or(1);
                let doc = std::fs::read_to_string(first).unwrap_or_default();
                // The lines before the error: enough to see the record.
                let context: Vec<&str> =
                    doc.lines().skip(line.saturating_sub(40)).take(45).collect();
                panic!(
                    "responses do not validate against {xsd}:\n{}\n--- {first} around line {line}:\n{}",
                    bad.join("\n"),
                    context.join("\n")
                );
            }
        }
    }
}
