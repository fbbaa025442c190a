//! Starting the real `qbconnector serve`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Lines, Read, Write};
use std::process::{Child, ChildStderr, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_qbconnector");

/// `qbconnector serve --config CONFIG` (logging at info, no colours); its
/// address (`127.0.0.1:PORT`, from the "serving http(s)://…" line) and the
/// rest of its log, which the caller must keep reading (or drop in a
/// thread) so that the server never blocks on a full pipe.
pub fn serve(config: &str) -> (Child, String, Lines<BufReader<ChildStderr>>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config", config])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server said where it listens")
            .unwrap();
        if let Some(i) = line.find("serving http") {
            let rest = &line[i..];
            break rest.split("://").nth(1).unwrap().trim().to_string();
        }
    };
    (child, addr, lines)
}

/// `qbconnector ARGS` with `stdin` as its input.
pub fn qbc(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that does not read its input may exit before we write it
    // (a broken pipe): its output and status are what the test checks.
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().unwrap()
}

/// Standard output, then standard error.
pub fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
}

/// One request on a kept-alive connection: (status, body).
pub fn keep_alive_post(tcp: &mut std::net::TcpStream, auth: &str) -> (u16, String) {
    let body = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><HostQueryRq/></QBXMLMsgsRq></QBXML>";
    write!(
        tcp,
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = std::io::BufReader::new(tcp.try_clone().unwrap());
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut b = vec![0; length];
    r.read_exact(&mut b).unwrap();
    let code = status.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0);
    (code, String::from_utf8_lossy(&b).into_owned())
}

/// The Basic credentials' base64 (without `Basic `).
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
