//! Defects an outside attack found (issue 14), each as the sequence that
//! showed it, through the real server on loopback. Single-request cases
//! live in the data-driven catalogue (`attacks.rs`, `attacks/cases.toml`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every file in `dir` with its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    out.sort();
    out
}

fn names(snap: &[(String, Vec<u8>)]) -> Vec<&str> {
    snap.iter().map(|(n, _)| n.as_str()).collect()
}

fn count_customers(body: &str) -> usize {
    body.matches("<CustomerRet>").count()
}

fn as_cat(file: &str) -> String {
    format!("CompanyFile='{file}'")
}

/// Defect 1: SQLite's side files of an open company (`-wal`, `-shm`,
/// `-journal`) and files that are not company files are refused
/// untouched, for every user and with or without `create_missing`; the
/// writes acknowledged meanwhile survive a restart.
#[tokio::test]
async fn side_files_and_foreign_files_are_never_opened() {
    for create_missing in [true, false] {
        let s = start_configured(|c| c.backend.create_missing = create_missing, None, None).await;
        let dir = s.dir.path().to_path_buf();
        if !create_missing {
            // The default company must exist to write to it.
            drop(qbsim::Company::open(&dir.join("acme.qbw"), qbsim::Config::default()).unwrap());
        }
        // A write to acme.qbw opens it: its -wal now exists (empty or not).
        let r = post(s.addr, "ann", &customer_add("Before")).await;
        assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
        std::fs::write(dir.join("notes.qbw"), "not a company\n").unwrap();
        std::fs::write(dir.join("empty.qbw"), "").unwrap();
        {
            let other = rusqlite::Connection::open(dir.join("other.db")).unwrap();
            other
                .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES(1);")
                .unwrap();
        }
        let before = snapshot(&dir);
        for (file, code) in [
            ("acme.qbw-wal", "QBC_BACKEND"),
            ("acme.qbw-shm", "QBC_BACKEND"),
            ("acme.qbw-journal", "QBC_BACKEND"),
            ("ACME.QBW-WAL", "QBC_BACKEND"),
            ("notes.qbw", "0x80040408"),
            ("empty.qbw", "0x80040408"),
            ("other.db", "0x80040408"),
        ] {
            let r = post_with(
                s.addr,
                "cat",
                &[("x-qb-connection", &as_cat(file))],
                &customer_add("Eve"),
            )
            .await;
            assert_eq!(r.status, 400, "cat {file}: {}", r.body);
            assert_eq!(r.code(), code, "cat {file}: {}", r.body);
            // Read-only dot may only read: the same refusal for a query.
            for user in ["cat", "dot"] {
                let r = post_with(
                    s.addr,
                    user,
                    &[("x-qb-connection", &as_cat(file))],
                    &customer_query(),
                )
                .await;
                assert_eq!(r.status, 400, "{user} {file} query: {}", r.body);
                assert_eq!(r.code(), code, "{user} {file} query: {}", r.body);
            }
        }
        let r = post(s.addr, "ann", &customer_add("After")).await;
        assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
        // Nothing was created or changed but acme.qbw's own files.
        let after = snapshot(&dir);
        assert_eq!(names(&before), names(&after));
        for ((n, a), (_, b)) in before.iter().zip(&after) {
            if !n.starts_with("acme.qbw") {
                assert!(a == b, "{n} changed");
            }
        }
        // Every acknowledged write is there after a restart.
        s.running.shutdown().await;
        let c = qbsim::Company::open(&dir.join("acme.qbw"), qbsim::Config::default()).unwrap();
        let all = c
            .process(c.begin_session(), customer_query().as_bytes())
            .unwrap();
        assert!(all.contains("<Name>Before</Name>"), "{all}");
        assert!(all.contains("<Name>After</Name>"), "{all}");
        assert!(!all.contains("Eve"), "{all}");
        assert_eq!(c.integrity_check().unwrap(), "ok");
    }
}

/// Defect 1, second half: a read-only user's opening writes nothing — no
/// file is created, and an existing company file is byte for byte the same.
#[tokio::test]
async fn a_read_only_users_opening_writes_nothing() {
    let s = start().await;
    let dir = s.dir.path().to_path_buf();
    {
        let c = qbsim::Company::open(&dir.join("books.qbw"), qbsim::Config::default()).unwrap();
        c.process(c.begin_session(), customer_add("Kept").as_bytes())
            .unwrap();
    }
    let before = snapshot(&dir);
    let r = post_with(
        s.addr,
        "dot",
        &[("x-qb-connection", &as_cat("books.qbw"))],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(count_customers(&r.body), 1, "{}", r.body);
    let r = post_with(
        s.addr,
        "dot",
        &[("x-qb-connection", &as_cat("new.qbw"))],
        &customer_query(),
    )
    .await;
    assert_eq!(r.code(), "0x80040408", "{}", r.body);
    s.running.shutdown().await;
    let after = snapshot(&dir);
    assert_eq!(before, after, "the data directory changed");
}

/// Defect 2: one user cannot take every open-company slot. Idle company
/// files are closed (least recently used first); one user holds at most
/// `max_open_per_user` at once; when every slot is held, 503 — and the
/// other users' own files open again as soon as a slot frees.
#[tokio::test]
async fn one_user_cannot_take_every_company_slot() {
    let s = start_configured(
        |c| {
            c.backend.max_open_companies = 4;
            c.backend.max_open_per_user = 2;
        },
        None,
        None,
    )
    .await;
    // Forty junk files one after another: each opens, answers, and is
    // closed again to make room.
    for i in 0..40 {
        let r = post_with(
            s.addr,
            "cat",
            &[("x-qb-connection", &as_cat(&format!("junk{i}.qbw")))],
            &customer_add("J"),
        )
        .await;
        assert_eq!(r.status, 200, "junk{i}: {}", r.body);
    }
    assert_eq!(post(s.addr, "ann", &customer_add("A1")).await.status, 200);
    // Sessions hold their files: cat may hold two, not three.
    let mut cat_tickets = Vec::new();
    for i in 0..2 {
        cat_tickets.push(open_session(s.addr, "cat", &format!("junk{i}.qbw")).await);
    }
    let r = open_session_resp(s.addr, "cat", "junk2.qbw").await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "QBC_COMPANY_LIMIT");
    assert!(r.body.contains("the most one user may"), "{}", r.body);
    assert_eq!(r.header("retry-after"), "5");
    // A file cat already holds still works.
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", &as_cat("junk0.qbw"))],
        &customer_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ann's own file meanwhile.
    assert_eq!(post(s.addr, "ann", &customer_add("A2")).await.status, 200);
    // Another user takes the last two slots: now every slot is held.
    let e1 = open_session(s.addr, "eve", "e1.qbw").await;
    let e2 = open_session(s.addr, "eve", "e2.qbw").await;
    let r = post(s.addr, "ann", &customer_add("A3")).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "QBC_COMPANY_LIMIT");
    assert!(r.body.contains("in use"), "{}", r.body);
    // One session closes: ann gets in again.
    assert_eq!(close_session(s.addr, "eve", &e1).await.status, 204);
    assert_eq!(post(s.addr, "ann", &customer_add("A3")).await.status, 200);
    for t in cat_tickets {
        close_session(s.addr, "cat", &t).await;
    }
    close_session(s.addr, "eve", &e2).await;
}

async fn open_session_resp(addr: std::net::SocketAddr, user: &str, file: &str) -> Resp {
    let auth = basic(user, PASSWORD);
    send(
        addr,
        "POST",
        "/session",
        &[("authorization", &auth), ("x-qb-connection", &as_cat(file))],
        "",
    )
    .await
}

async fn open_session(addr: std::net::SocketAddr, user: &str, file: &str) -> String {
    let r = open_session_resp(addr, user, file).await;
    assert_eq!(r.status, 201, "{user} {file}: {}", r.body);
    r.header("x-qb-ticket").to_string()
}

/// Defect 3: the answer to one message set is bounded. Two hundred full
/// queries stop at the limit with status 1000 and a message that says
/// how to page; the answer stays near the limit; writes are not refused
/// for it, and what they did is answered.
#[tokio::test]
async fn answers_are_bounded() {
    const LIMIT: usize = 200_000;
    let s = start_configured(|c| c.backend.max_response_bytes = LIMIT, None, None).await;
    let adds: String = (0..400)
        .map(|i| {
            format!(
                "<CustomerAddRq requestID=\"{i}\"><CustomerAdd><Name>Customer {i:04}</Name></CustomerAdd></CustomerAddRq>"
            )
        })
        .collect();
    let r = post(s.addr, "ann", &qbxml(&adds)).await;
    assert_eq!(r.body.matches("statusCode=\"0\"").count(), 400);
    // One full query on 400 customers is within the limit.
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!(count_customers(&r.body), 400);
    let one = r.body.len();
    assert!(one < LIMIT, "{one}");
    // Two hundred of them are not.
    let many: String = (0..200)
        .map(|i| format!("<CustomerQueryRq requestID=\"{i}\"/>"))
        .collect();
    let r = post(s.addr, "rob", &qbxml(&many)).await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() < LIMIT + 50_000, "{} bytes", r.body.len());
    assert!(r.body.contains("statusCode=\"1000\""), "{}", &r.body[..500]);
    assert!(
        r.body.contains("MaxReturned"),
        "the message says how to page"
    );
    assert!(
        r.body.contains("statusCode=\"3231\""),
        "the rest is not processed"
    );
    // continueOnError: every later query is refused the same way, and a
    // write after them is done and answered.
    let set = qbxml(&format!(
        "{many}<CustomerAddRq requestID=\"w\"><CustomerAdd><Name>Late Write</Name></CustomerAdd></CustomerAddRq>"
    ))
    .replace("stopOnError", "continueOnError");
    let r = post(s.addr, "ann", &set).await;
    // The limit, plus a short refusal for each request after it.
    assert!(r.body.len() < LIMIT + 200 * 500, "{} bytes", r.body.len());
    assert!(r.body.matches("statusCode=\"1000\"").count() > 150);
    assert!(
        r.body
            .contains("<CustomerAddRs requestID=\"w\" statusCode=\"0\""),
        "{}",
        &r.body[r.body.len().saturating_sub(800)..]
    );
    // A single query over the limit on its own.
    let s2 = start_configured(|c| c.backend.max_response_bytes = one / 2, None, None).await;
    post(s2.addr, "ann", &qbxml(&adds)).await;
    let r = post(s2.addr, "ann", &customer_query()).await;
    assert!(r.body.contains("statusCode=\"1000\""), "{}", r.body);
    assert_eq!(count_customers(&r.body), 0);
    // With MaxReturned it pages.
    let r = post(
        s2.addr,
        "ann",
        &qbxml("<CustomerQueryRq requestID=\"1\"><MaxReturned>50</MaxReturned></CustomerQueryRq>"),
    )
    .await;
    assert_eq!(count_customers(&r.body), 50, "{}", r.body);
}

/// A raw request over TCP; the response head and body as text.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The server may answer (431, 413) and close before it has read it all.
    let _ = tcp.write_all(bytes).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn request_bytes(headers: &[(&str, &[u8])], body: &str) -> Vec<u8> {
    let mut out = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    out
}

/// Defect 4: a ticket header that is there but cannot be a ticket (a
/// byte that is not ASCII, sent twice) is refused like an unknown ticket,
/// and the request does not run outside its session.
#[tokio::test]
async fn a_malformed_ticket_is_refused_not_ignored() {
    let s = start().await;
    let auth = basic("ann", PASSWORD);
    let mut ticket = b"0123456789abcdef0123456789abcde".to_vec();
    ticket.extend_from_slice("é".as_bytes());
    let bad_tickets: Vec<Vec<(&str, &[u8])>> = vec![
        vec![("X-QB-Ticket", &ticket)],
        vec![("X-QB-Ticket", &[0xE9, b'a'])],
        vec![
            ("X-QB-Ticket", b"0123456789abcdef0123456789abcdef"),
            ("X-QB-Ticket", b"fedcba9876543210fedcba9876543210"),
        ],
    ];
    for extra in bad_tickets {
        let mut h: Vec<(&str, &[u8])> = vec![
            ("Authorization", auth.as_bytes()),
            ("Content-Type", b"text/xml"),
        ];
        h.extend(extra);
        let resp = raw(s.addr, &request_bytes(&h, &customer_add("Ghost"))).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
        assert!(
            resp.to_ascii_lowercase()
                .contains("x-qb-error-code: 0x8004040d"),
            "{resp}"
        );
        // DELETE /session too.
        let mut d = request_bytes(&h, "");
        d.splice(0..4, b"DELETE /session".iter().copied());
        let d = String::from_utf8_lossy(&d).replacen("DELETE /session /", "DELETE /session", 1);
        let resp = raw(s.addr, d.as_bytes()).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    }
    let r = post(s.addr, "ann", &customer_query()).await;
    assert!(!r.body.contains("Ghost"), "{}", r.body);
    // Two X-QB-Connection headers, two Authorization headers.
    let r = raw(
        s.addr,
        &request_bytes(
            &[
                ("Authorization", auth.as_bytes()),
                ("Content-Type", b"text/xml"),
                ("X-QB-Connection", b"ApplicationName=a"),
                ("X-QB-Connection", b"ApplicationName=b"),
            ],
            &host_query(),
        ),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(r.contains("QBC_BAD_CONNECTION"), "{r}");
    let r = raw(
        s.addr,
        &request_bytes(
            &[
                ("Authorization", auth.as_bytes()),
                ("Authorization", auth.as_bytes()),
                ("Content-Type", b"text/xml"),
            ],
            &host_query(),
        ),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    assert!(r.contains("malformed"), "{r}");
}

/// Defect 5: Retry-After is rounded up, so a client that waits what it
/// is told finds the lockout over (rounded down, it was refused again).
#[tokio::test]
async fn retry_after_is_rounded_up() {
    let s = start_configured(
        |c| {
            c.auth.max_failures = 1;
            c.auth.lockout_secs = 2;
        },
        None,
        None,
    )
    .await;
    let bad = basic("ann", "wrong wrong");
    let h = [
        ("authorization", bad.as_str()),
        ("content-type", "text/xml"),
    ];
    assert_eq!(
        send(s.addr, "POST", "/", &h, &host_query()).await.status,
        401
    );
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 429);
    let wait: u64 = r.header("retry-after").parse().unwrap();
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = post(s.addr, "ann", &host_query()).await;
    assert_eq!(r.status, 200, "still locked after Retry-After: {wait}");
}

/// Defect 6: the request head is at most 64 KiB, exactly.
#[tokio::test]
async fn the_head_limit_is_64_kib() {
    let s = start().await;
    let auth = basic("ann", PASSWORD);
    let head_with = |pad: usize| {
        let filler = "a".repeat(pad);
        request_bytes(
            &[
                ("Authorization", auth.as_bytes()),
                ("Content-Type", b"text/xml"),
                ("X-Filler", filler.as_bytes()),
            ],
            &host_query(),
        )
    };
    // The head is everything before the body: the filler that makes it
    // exactly 64 KiB is accepted, one byte more is not.
    let head_len = |pad: usize| {
        let b = head_with(pad);
        b.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4
    };
    let exact = 64 * 1024 - head_len(0);
    assert_eq!(head_len(exact), 64 * 1024);
    let r = raw(s.addr, &head_with(exact)).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{}", &r[..r.len().min(200)]);
    let r = raw(s.addr, &head_with(exact + 1)).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{}", &r[..r.len().min(200)]);
    for pad in [100_000, 120_000] {
        let r = raw(s.addr, &head_with(pad)).await;
        assert!(
            r.starts_with("HTTP/1.1 431"),
            "{pad}: {}",
            &r[..r.len().min(200)]
        );
    }
}

/// Defect 7: a declared length over the limit is 413 with the code —
/// every length the HTTP layer can represent (it answers the last two
/// values of u64 itself; PROTOCOL.md §3 says so).
#[tokio::test]
async fn huge_declared_lengths() {
    let s = start().await;
    let auth = basic("ann", PASSWORD);
    for len in ["10485761", "4294967296", "18446744073709551613"] {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: text/xml\r\nContent-Length: {len}\r\n\r\n"
        );
        let r = raw(s.addr, req.as_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 413"), "{len}: {r}");
        assert!(
            r.to_ascii_lowercase()
                .contains("x-qb-error-code: qbc_too_large"),
            "{r}"
        );
    }
    for (len, status) in [
        ("18446744073709551614", "431"),
        ("18446744073709551615", "431"),
        ("18446744073709551616", "400"),
    ] {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: text/xml\r\nContent-Length: {len}\r\n\r\n"
        );
        let r = raw(s.addr, req.as_bytes()).await;
        assert!(r.starts_with(&format!("HTTP/1.1 {status}")), "{len}: {r}");
    }
}

/// Two names for one file (a hard link here; on Windows, another case or
/// a short name): one open company, not a second connection to the same
/// file — which its lock would refuse — and never one company answering
/// for another file.
#[tokio::test]
async fn two_names_for_one_file_are_one_company() {
    let s = start().await;
    let dir = s.dir.path().to_path_buf();
    let r = post(s.addr, "ann", &customer_add("Shared")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    std::fs::hard_link(dir.join("acme.qbw"), dir.join("alias.qbw")).unwrap();
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", &as_cat("alias.qbw"))],
        &customer_add("Through The Alias"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    let r = post(s.addr, "ann", &customer_query()).await;
    assert!(r.body.contains("Through The Alias"), "{}", r.body);
}

/// `create_missing` stops at `max_company_files`, counted under the same
/// lock as the creations in flight.
#[tokio::test]
async fn creation_stops_at_max_company_files() {
    let s = start_configured(|c| c.backend.max_company_files = 3, None, None).await;
    // acme.qbw is the first.
    assert_eq!(post(s.addr, "ann", &host_query()).await.status, 200);
    let mut ok = 0;
    let mut refused = 0;
    for i in 0..4 {
        let r = post_with(
            s.addr,
            "cat",
            &[("x-qb-connection", &as_cat(&format!("new{i}.qbw")))],
            &host_query(),
        )
        .await;
        match r.code() {
            "" => ok += 1,
            "0x80040408" => {
                assert!(r.body.contains("no more are created"), "{}", r.body);
                refused += 1
            }
            other => panic!("{other}: {}", r.body),
        }
    }
    assert_eq!((ok, refused), (2, 2));
    // An existing file still opens.
    let r = post_with(
        s.addr,
        "cat",
        &[("x-qb-connection", &as_cat("new0.qbw"))],
        &host_query(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
