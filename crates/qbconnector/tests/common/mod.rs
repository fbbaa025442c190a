//! Starting the real `qbconnector serve`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, Stdio};

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
