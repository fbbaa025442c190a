//! The attack surface as data: every row of `attacks/cases.toml` is sent
//! to the real server on loopback, and its answer (status, error code,
//! body, headers) and the data directory (unchanged, byte for byte,
//! unless the row says otherwise) are checked. See the file's head for
//! the format.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Deserialize)]
struct Catalogue {
    case: Vec<Case>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Case {
    name: String,
    server: Option<String>,
    method: Option<String>,
    path: Option<String>,
    user: Option<String>,
    auth: Option<String>,
    headers: Vec<(String, String)>,
    content_type: Option<String>,
    body: Option<String>,
    qbxml: Option<String>,
    raw: Option<String>,
    status: u16,
    code: Option<String>,
    contains: Vec<String>,
    excludes: Vec<String>,
    header: BTreeMap<String, String>,
    changes: bool,
}

/// The answer as the test sees it.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `{auth:USER}`, `{x:HH}` and `{repeat:N:TEXT}` expanded into bytes.
fn expand(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..i]);
        let after = &rest[i + 1..];
        let directive = ["auth:", "x:", "repeat:"]
            .iter()
            .find(|d| after.starts_with(**d));
        let Some(d) = directive else {
            out.push(b'{');
            rest = after;
            continue;
        };
        // {repeat:N:TEXT} may hold `}`-free text only.
        let end = after.find('}').expect("an unclosed {…}");
        let arg = &after[d.len()..end];
        match *d {
            "auth:" => out.extend_from_slice(basic(arg, PASSWORD).as_bytes()),
            "x:" => out.push(u8::from_str_radix(arg, 16).unwrap()),
            _ => {
                let (n, t) = arg.split_once(':').unwrap();
                out.extend_from_slice(t.repeat(n.parse().unwrap()).as_bytes());
            }
        }
        rest = &after[end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// The request's bytes, as a client would send them.
fn request(c: &Case) -> Vec<u8> {
    if let Some(raw) = &c.raw {
        return expand(raw);
    }
    let body = match (&c.body, &c.qbxml) {
        (Some(b), _) => expand(b),
        (None, Some(q)) => qbxml(q).into_bytes(),
        (None, None) => Vec::new(),
    };
    let method = c.method.as_deref().unwrap_or("POST");
    let path = c.path.as_deref().unwrap_or("/");
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n")
        .into_bytes();
    let mut header = |k: &str, v: &[u8]| {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    };
    if let Some(u) = &c.user {
        header("Authorization", basic(u, PASSWORD).as_bytes());
    }
    if let Some(a) = &c.auth {
        header("Authorization", a.as_bytes());
    }
    match c.content_type.as_deref() {
        Some("") => {}
        Some(t) => header("Content-Type", t.as_bytes()),
        None => header("Content-Type", b"text/xml"),
    }
    for (k, v) in &c.headers {
        header(k, &expand(v));
    }
    header("Content-Length", body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    out
}

async fn exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> Answer {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = tcp.write_all(bytes).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Every file in the data directory with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn server(kind: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    match kind {
        "default" => {}
        "strict" => config.backend.create_missing = false,
        "lockout" => {
            config.auth.max_failures = 2;
            config.auth.lockout_secs = 60;
        }
        "small" => config.max_request_bytes = 1024,
        other => panic!("no server `{other}` in the catalogue's runner"),
    }
    let d = dir.path();
    drop(qbsim::Company::open(&d.join("acme.qbw"), qbsim::Config::default()).unwrap());
    std::fs::write(d.join("notes.qbw"), "not a company\n").unwrap();
    std::fs::write(d.join("empty.qbw"), "").unwrap();
    rusqlite::Connection::open(d.join("other.db"))
        .unwrap()
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .unwrap();
    let c = connector(config);
    c.add_user("fay", PASSWORD, "", false).unwrap();
    let s = start_with(c, dir, None, None).await;
    // acme.qbw open, as in a running connector: later reads change nothing.
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    s
}

#[tokio::test]
async fn every_case_in_the_catalogue() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attacks/cases.toml"),
    )
    .unwrap();
    let catalogue: Catalogue = toml::from_str(&text).unwrap();
    let mut servers: BTreeMap<String, Server> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &catalogue.case {
        let kind = c.server.clone().unwrap_or_else(|| "default".into());
        if !servers.contains_key(&kind) {
            servers.insert(kind.clone(), server(&kind).await);
        }
        let s = &servers[&kind];
        let before = snapshot(s.dir.path());
        let a = exchange(s.addr, &request(c)).await;
        let mut wrong = Vec::new();
        if a.status != c.status {
            wrong.push(format!("status {} (want {})", a.status, c.status));
        }
        match c.code.as_deref() {
            Some("") if a.header("x-qb-error-code").is_some() => {
                wrong.push(format!("an error code {:?}", a.header("x-qb-error-code")))
            }
            Some(code) if !code.is_empty() && a.header("x-qb-error-code") != Some(code) => wrong
                .push(format!(
                    "code {:?} (want {code})",
                    a.header("x-qb-error-code")
                )),
            _ => {}
        }
        for want in &c.contains {
            if !a.body.contains(want.as_str()) {
                wrong.push(format!("no {want:?} in the body"));
            }
        }
        for bad in &c.excludes {
            if a.body.contains(bad.as_str()) {
                wrong.push(format!("{bad:?} in the body"));
            }
        }
        for (k, v) in &c.header {
            if a.header(k) != Some(v.as_str()) {
                wrong.push(format!("{k}: {:?} (want {v:?})", a.header(k)));
            }
        }
        if !c.changes && snapshot(s.dir.path()) != before {
            wrong.push("the data directory changed".into());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n    body: {}",
                c.name,
                wrong.join("; "),
                a.body.chars().take(300).collect::<String>()
            ));
        }
    }
    for (_, s) in servers {
        s.running.shutdown().await;
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        catalogue.case.len(),
        failures.join("\n")
    );
    eprintln!("attack catalogue: {} cases", catalogue.case.len());
}
