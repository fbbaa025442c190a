//! The HTTP front door in process, for the fuzzer
//! (`fuzz/fuzz_targets/http.rs`, docs/FUZZING.md): arbitrary bytes as what
//! one client sends on one connection — request heads, Basic credentials,
//! connection strings, tickets, qbXML and JSON bodies, pipelined requests —
//! through the connector's own connection code (hyper, the timeouts, the
//! router, every front door) to the in-memory backend, and back.
//!
//! Not part of the API: it exists so that the fuzz crate can reach the
//! connection code without a socket.

use crate::backend::memory::MemoryBackend;
use crate::config::{Config, UserConfig};
use crate::server::ConnInfo;
use crate::state::State;
use crate::Running;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Users the harness knows, with passwords the fuzzer's dictionary holds:
/// `ann:pw` (writes), `rob:pw` (read-only), `eve:pw` (her own company
/// file, by her connection string). Their hashes are argon2id at the
/// lowest cost, so that a wrong password costs microseconds, not the
/// tens of milliseconds a real hash is made to cost.
const CHEAP_PW: &str = "$argon2id$v=19$m=8,t=1,p=1$cWJjb25uZWN0b3JmdXp6IQ$cx2VAtmnIvZZLidRw09N0g";

/// The connector, listening (on loopback, which the harness never uses),
/// and the runtime that drives it.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    running: Running,
}

impl Harness {
    /// A connector with the memory backend answering `answer` to every
    /// request (a QuickBooks response set).
    pub fn new(answer: &str) -> Result<Harness, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            // No lockout: the fuzzer would lock itself out for good, and
            // every later input would stop at the first check.
            ..Config::default()
        };
        config.auth.max_failures = 1_000_000;
        config.session_idle_secs = 5;
        for (name, conn, read_only) in [
            ("ann", "", false),
            ("rob", "", true),
            ("eve", "CompanyFile='eve.qbw' AppName='fuzz'", false),
        ] {
            config
                .users
                .push(UserConfig::new(name, CHEAP_PW, conn, read_only));
        }
        let connector = crate::Connector::new(config)
            .map_err(|e| e.to_string())?
            .with_backend(Arc::new(MemoryBackend::new(answer)));
        let running = runtime
            .block_on(connector.listen())
            .map_err(|e| e.message)?;
        Ok(Harness { runtime, running })
    }

    /// What the connector writes back when one client sends `input` on a
    /// connection and then closes its side.
    pub fn exchange(&self, input: &[u8]) -> Vec<u8> {
        let state: Arc<State> = self.running.state.clone();
        self.runtime.block_on(async move {
            let (client, server) = tokio::io::duplex(64 * 1024);
            let info = Arc::new(ConnInfo {
                id: state.next_conn.fetch_add(1, Ordering::Relaxed),
                remote: std::net::SocketAddr::from(([127, 0, 0, 1], 40_000)),
                allowed: true,
            });
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            let serving = tokio::spawn(crate::server::http(
                state,
                info,
                server,
                graceful.watcher(),
                false,
            ));
            let (mut read, mut write) = tokio::io::split(client);
            let sending = async move {
                let _ = write.write_all(input).await;
                let _ = write.shutdown().await;
            };
            let receiving = async move {
                let mut out = Vec::new();
                let _ = read.read_to_end(&mut out).await;
                out
            };
            let ((), out) = tokio::join!(sending, receiving);
            let _ = serving.await;
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(auth: &str, path: &str, kind: &str, body: &str) -> String {
        format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\n\
             content-type: {kind}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    /// The harness reaches the handlers: an answer for good credentials,
    /// 401 for bad ones, both answers to two pipelined requests, and the
    /// JSON door.
    #[test]
    fn the_harness_reaches_the_handlers() {
        let h = Harness::new(crate::backend::memory::DEFAULT_RESPONSE).unwrap();
        let xml = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><HostQueryRq/></QBXMLMsgsRq></QBXML>";
        let ann = "YW5uOnB3"; // ann:pw
        let bad = "YW5uOnB4"; // ann:px
        let out = h.exchange(post(ann, "/", "text/xml", xml).as_bytes());
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.contains("<HostRet>"), "{out}");
        let out = h.exchange(post(bad, "/", "text/xml", xml).as_bytes());
        assert!(out.starts_with(b"HTTP/1.1 401"));
        let two = post(bad, "/", "text/xml", xml) + &post(ann, "/", "text/xml", xml);
        let out = String::from_utf8_lossy(&h.exchange(two.as_bytes())).into_owned();
        assert!(out.starts_with("HTTP/1.1 401"), "{out}");
        assert!(out.contains("HTTP/1.1 200"), "{out}");
        let json = r#"{"version":"13.0","QBXML":{"QBXMLMsgsRq":{"@onError":"stopOnError","HostQueryRq":[{}]}}}"#;
        let out = h.exchange(post(ann, "/json", "application/json", json).as_bytes());
        let out = String::from_utf8_lossy(&out);
        assert!(out.contains("\"HostRet\""), "{out}");
        // Garbage gets an answer, not a hang or a panic.
        let out = h.exchange(b"\x00\xffGET / HTTP/9\r\n\r\n");
        assert!(
            out.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
}
