//! The client library and `qbconnector send`/`query` against the real
//! `qbconnector serve` binary with the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbc_client::{Client, Error};
use std::io::Write;
use std::process::{Child, Command, Stdio};

mod common;

use common::BIN;

struct Served {
    child: Child,
    addr: String,
    https: bool,
    dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn qbc(args: &[&str], stdin: &str) {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success(), "{args:?}");
}

/// `qbconnector serve` on an ephemeral port, users ann and bob.
fn serve(tls: bool) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("qbconnector.toml");
    std::fs::write(
        &cfg,
        "listen = \"127.0.0.1:0\"\n[backend]\ndata_dir = \"data\"\ndefault_company = \"acme.qbw\"\ncreate_missing = true\n",
    )
    .unwrap();
    let c = cfg.display().to_string();
    qbc(
        &["user", "add", "ann", "--password-stdin", "--config", &c],
        "ann password\n",
    );
    qbc(
        &["user", "add", "bob", "--password-stdin", "--config", &c],
        "bob password\n",
    );
    if tls {
        qbc(
            &["cert", "generate", "--host", "localhost", "--config", &c],
            "",
        );
    }
    let (child, addr, lines) = common::serve(&c);
    std::thread::spawn(move || lines.for_each(drop));
    Served {
        child,
        addr,
        https: tls,
        dir,
    }
}

impl Served {
    fn connection(&self, user: &str, extra: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let port = self.addr.rsplit(':').next().unwrap();
        let host = if self.https { "localhost" } else { "127.0.0.1" };
        format!("URL='{scheme}://{host}:{port}' User='{user}' Password='{user} password' {extra}")
    }
    fn client(&self, user: &str) -> Client {
        Client::from_connection_string(&self.connection(user, "")).unwrap()
    }
}

fn qbxml(inner: &str) -> String {
    format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{inner}</QBXMLMsgsRq></QBXML>")
}

fn first(set: &qbxml::ResponseSet, name: &str) -> String {
    let r = set.responses().next().unwrap();
    r.items()
        .next()
        .unwrap()
        .child_text(name)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_query_stale_mod_delete() {
    let s = serve(false);
    let c = s.client("ann");
    let set = c
        .request(&qbxml("<CustomerAddRq requestID=\"7\"><CustomerAdd><Name>Typed Errors Inc</Name></CustomerAdd></CustomerAddRq>"))
        .await
        .unwrap();
    let id = first(&set, "ListID");
    let seq = first(&set, "EditSequence");
    let set = c
        .request(&qbxml(&format!(
            "<CustomerQueryRq><ListID>{id}</ListID></CustomerQueryRq>"
        )))
        .await
        .unwrap();
    assert_eq!(first(&set, "Name"), "Typed Errors Inc");
    let stale = format!("{}", seq.parse::<u64>().unwrap() - 1);
    let e = c
        .request(&qbxml(&format!(
            "<CustomerModRq requestID=\"9\"><CustomerMod><ListID>{id}</ListID><EditSequence>{stale}</EditSequence><Name>New</Name></CustomerMod></CustomerModRq>"
        )))
        .await
        .unwrap_err();
    match &e {
        Error::Status {
            request,
            request_id,
            code,
            ..
        } => {
            assert_eq!(
                (request.as_str(), request_id.as_deref(), *code),
                ("CustomerModRq", Some("9"), 3200)
            );
        }
        other => panic!("{other:?}"),
    }
    c.request(&qbxml(&format!(
        "<ListDelRq><ListDelType>Customer</ListDelType><ListID>{id}</ListID></ListDelRq>"
    )))
    .await
    .unwrap();
    // Gone: not an error severity (500 Warn / 1 Info), and no record.
    let set = c
        .request(&qbxml(&format!(
            "<CustomerQueryRq><ListID>{id}</ListID></CustomerQueryRq>"
        )))
        .await
        .unwrap();
    let r = set.responses().next().unwrap();
    assert!(matches!(r.status_code(), 500 | 1), "{}", r.status_code());
    assert_eq!(r.items().count(), 0);
    // The connector's own refusals and QuickBooks' are told apart.
    let e = c.send("not xml").await.unwrap_err();
    assert!(matches!(e, Error::HResult { status: 400, .. }), "{e:?}");
    let bad =
        Client::from_connection_string(&s.connection("ann", "").replace("ann password", "nope"))
            .unwrap();
    let e = bad.send(&qbxml("<HostQueryRq/>")).await.unwrap_err();
    assert!(
        matches!(&e, Error::Http { status: 401, code, .. } if code == "QBC_AUTH"),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_reused_closed_and_private() {
    let s = serve(false);
    let ann = s.client("ann");
    let t = ann.open_session().await.unwrap();
    for _ in 0..3 {
        ann.send(&qbxml("<HostQueryRq/>")).await.unwrap();
        assert_eq!(ann.ticket().as_deref(), Some(t.as_str()));
    }
    // bob cannot use ann's ticket.
    let bob = s.client("bob");
    bob.set_ticket(Some(t.clone()));
    let e = bob.send(&qbxml("<HostQueryRq/>")).await.unwrap_err();
    assert!(
        matches!(&e, Error::HResult { hresult, .. } if hresult.0 == 0x8004_040D),
        "{e:?}"
    );
    ann.close_session().await.unwrap();
    assert_eq!(ann.ticket(), None);
    ann.set_ticket(Some(t));
    let e = ann.send(&qbxml("<HostQueryRq/>")).await.unwrap_err();
    assert!(
        matches!(&e, Error::HResult { hresult, .. } if hresult.0 == 0x8004_040D),
        "{e:?}"
    );
}

/// `qbconnector_sessions_open` from /metrics.
fn sessions_open(s: &Served) -> u64 {
    use std::io::Read;
    let mut tcp = std::net::TcpStream::connect(&s.addr).unwrap();
    write!(
        tcp,
        "GET /metrics HTTP/1.1\r\nhost: x\r\nauthorization: Basic YW5uOmFubiBwYXNzd29yZA==\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("qbconnector_sessions_open "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_customers_through_an_iterator_and_as_csv() {
    let s = serve(false);
    let c = s.client("ann");
    let mut adds = String::new();
    for i in 0..5000 {
        adds.push_str(&format!(
            "<CustomerAddRq><CustomerAdd><Name>Cust {i:04}</Name><CompanyName>Co, \"{i}\"</CompanyName></CustomerAdd></CustomerAddRq>"
        ));
    }
    c.request(&qbxml(&adds)).await.unwrap();
    let mut pages = c.pages(
        qbxml::Elem::new("CustomerQueryRq"),
        333,
        qbxml::Version::V13_0,
    );
    let mut names = std::collections::HashSet::new();
    let mut n = 0;
    while let Some(batch) = pages.next().await.unwrap() {
        for r in batch {
            n += 1;
            names.insert(r.get("Name").unwrap().text.clone());
        }
    }
    assert_eq!((n, names.len()), (5000, 5000), "each exactly once");
    assert_eq!(
        c.ticket(),
        None,
        "the session opened for the pages is closed"
    );

    // Dropped after one page: the iterator is stopped and the session it
    // opened is closed, on a task of its own.
    let c2 = s.client("ann");
    let mut pages = c2.pages(
        qbxml::Elem::new("CustomerQueryRq"),
        100,
        qbxml::Version::V13_0,
    );
    assert_eq!(pages.next().await.unwrap().unwrap().len(), 100);
    assert!(c2.ticket().is_some());
    drop(pages);
    let mut closed = false;
    for _ in 0..100 {
        if c2.ticket().is_none() && sessions_open(&s) == 0 {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(closed, "a dropped Pages left its session open");

    let out = Command::new(BIN)
        .args(["query", "Customer", "--format", "csv", "--page", "1000"])
        .env("QBC_CONNECTION", s.connection("ann", ""))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = csv_rows(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(rows.len(), 5001, "header and 5000 rows");
    let width = rows[0].len();
    assert!(
        rows.iter().all(|r| r.len() == width),
        "a table: every row as wide as the header"
    );
    let col = rows[0].iter().position(|h| h == "CompanyName").unwrap();
    assert_eq!(rows[1][col], "Co, \"0\"");
    // `… | head -5`: the reader goes away after a few lines; the command
    // ends quietly, as a Unix tool does, not with "Broken pipe".
    {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(BIN)
            .args(["query", "Customer", "--format", "csv", "--page", "1000"])
            .env("QBC_CONNECTION", s.connection("ann", ""))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..5 {
            lines.next().unwrap().unwrap();
        }
        drop(lines);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{:?}: {err}", out.status);
        assert!(!err.contains("Broken pipe"), "{err}");
    }
    // send: exit 3 when a request failed.
    let mut child = Command::new(BIN)
        .args(["send", "-", "--pretty"])
        .env("QBC_CONNECTION", s.connection("ann", ""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            qbxml(
                "<CustomerAddRq><CustomerAdd><Name>Cust 0001</Name></CustomerAdd></CustomerAddRq>",
            )
            .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("statusCode=\"3100\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_certificate_right_and_wrong() {
    let s = serve(true);
    let pem = s.dir.path().join("cert.pem");
    let right = format!("SSLAcceptServerCertFile='{}'", pem.display());
    let c = Client::from_connection_string(&s.connection("ann", &right)).unwrap();
    c.send(&qbxml("<HostQueryRq/>")).await.unwrap();
    // The certificate's base64 inline works too.
    let b64: String = std::fs::read_to_string(&pem)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let c = Client::from_connection_string(
        &s.connection("ann", &format!("SSLAcceptServerCert='{b64}'")),
    )
    .unwrap();
    c.send(&qbxml("<HostQueryRq/>")).await.unwrap();
    // Another certificate pinned: a clear transport error.
    let other = qbc_server::tls::generate(&["localhost".into()]).unwrap();
    let wrong = s.dir.path().join("other.pem");
    std::fs::write(&wrong, other.cert_pem).unwrap();
    let c = Client::from_connection_string(&s.connection(
        "ann",
        &format!("SSLAcceptServerCertFile='{}'", wrong.display()),
    ))
    .unwrap();
    let e = c.send(&qbxml("<HostQueryRq/>")).await.unwrap_err();
    match e {
        Error::Transport(m) => assert!(m.contains("TLS") && m.contains("certificate"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// The library server in-process, with a slow in-memory backend and a
/// queue of one: the company file is busy on demand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_retried_on_503_writes_are_not() {
    use qbc_server::backend::memory::MemoryBackend;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = qbc_server::Config {
        listen: "127.0.0.1:0".into(),
        queue_depth: 1,
        ..qbc_server::Config::default()
    };
    cfg.backend.data_dir = dir.path().to_path_buf();
    let conn = qbc_server::Connector::new(cfg).unwrap();
    conn.add_user("ann", "ann password", "", false).unwrap();
    let backend =
        Arc::new(MemoryBackend::default().holding(std::time::Duration::from_millis(1500)));
    let running = conn.with_backend(backend.clone()).listen().await.unwrap();
    let cs = format!(
        "URL='http://{}' User='ann' Password='ann password'",
        running.local_addr()
    );
    // Two slow requests: one runs, one waits; the queue is full.
    let mut busy = Vec::new();
    for _ in 0..2 {
        let c = Client::from_connection_string(&cs).unwrap();
        busy.push(tokio::spawn(async move {
            c.send(&qbxml("<HostQueryRq/>")).await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let write = Client::from_connection_string(&cs).unwrap();
    let e = write
        .send(&qbxml(
            "<CustomerAddRq><CustomerAdd><Name>X</Name></CustomerAdd></CustomerAddRq>",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Http { status: 503, code, .. } if code == "QBC_BUSY"),
        "{e:?}"
    );
    let read = Client::from_connection_string(&cs).unwrap();
    read.send(&qbxml("<HostQueryRq/>")).await.unwrap();
    for b in busy {
        b.await.unwrap().unwrap();
    }
    // 2 busy + the read; the write never reached the backend.
    assert_eq!(
        backend.processed.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    running.shutdown().await;
}

/// The JSON form from Rust (`Client::json`, `send_json`) and from the
/// shell (`send --json`, `query --format json`): nested, typed JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_from_the_client_and_the_shell() {
    use serde_json::{json, Value};
    let s = serve(false);
    let c = s.client("ann");
    let add = json!({"version": "13.0", "QBXML": {"QBXMLMsgsRq": {"@onError": "stopOnError",
        "CustomerAddRq": [{"CustomerAdd": {"Name": "Jay", "CompanyName": "J & Co"}}]}}});
    let v = c.json(&add).await.unwrap();
    let rs = &v["QBXML"]["QBXMLMsgsRs"]["CustomerAddRs"][0];
    assert_eq!(rs["@statusCode"], 0, "{v}");
    assert_eq!(rs["CustomerRet"]["IsActive"], true);
    assert_eq!(rs["CustomerRet"]["Balance"], "0.00");
    // A document that does not fit is refused before it is sent, at its path.
    let bad = json!({"version": "13.0", "QBXML": {"QBXMLMsgsRq": {"@onError": "stopOnError",
        "CustomerAddRq": [{"CustomerAdd": {"Nam": "x"}}]}}});
    match c.json(&bad).await {
        Err(Error::Json(m)) => {
            assert!(
                m.contains("$.QBXML.QBXMLMsgsRq.CustomerAddRq[0].CustomerAdd.Nam"),
                "{m}"
            );
            assert!(m.contains("did you mean Name?"), "{m}");
        }
        other => panic!("{other:?}"),
    }

    // send --json: the answer in JSON; exit 3 when a request failed.
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(BIN)
            .args(args)
            .env("QBC_CONNECTION", s.connection("ann", ""))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        (
            out.status.code(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, err) = run(&["send", "--json", "--pretty"], &add.to_string());
    assert_eq!(code, Some(3), "Jay exists now: {text} {err}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["QBXML"]["QBXMLMsgsRs"]["CustomerAddRs"][0]["@statusCode"],
        3100
    );
    let (code, _, err) = run(&["send", "--json"], &bad.to_string());
    assert_eq!(code, Some(1));
    assert!(err.contains("CustomerAdd.Nam"), "{err}");

    // query --format json: the records nested and typed, as the query's
    // response holds them.
    let (code, text, err) = run(&["query", "Customer", "--format", "json"], "");
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let rets = v["CustomerRet"].as_array().unwrap();
    assert_eq!(rets.len(), 1, "{v}");
    assert_eq!(rets[0]["Name"], "Jay");
    assert_eq!(rets[0]["IsActive"], true, "a boolean, not \"true\"");
    assert_eq!(rets[0]["Sublevel"], 0);
    assert_eq!(rets[0]["CompanyName"], "J & Co");
}
