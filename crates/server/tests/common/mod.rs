//! The real server on loopback, and a small HTTP(S) client to talk to it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use qbc_server::{Backend, Config, Connector, Events, Running};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;

pub mod wc;

pub const PASSWORD: &str = "correct horse";

pub struct Server {
    pub running: Running,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

/// A config on an ephemeral loopback port with the simulator in a fresh
/// directory, fast timeouts, and users `ann` (read-write, company
/// `acme.qbw`), `rob` (read-only, same file), `cat` and `eve` (may choose
/// the file), `dot` (read-only, may choose the file).
pub fn config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".into(),
        ..Config::default()
    };
    c.backend.data_dir = dir.to_path_buf();
    c.backend.default_company = "acme.qbw".into();
    c.backend.create_missing = true;
    c
}

pub fn connector(config: Config) -> Connector {
    let c = Connector::new(config).unwrap();
    c.add_user("ann", PASSWORD, "CompanyFile='acme.qbw'", false)
        .unwrap();
    c.add_user("rob", PASSWORD, "CompanyFile='acme.qbw'", true)
        .unwrap();
    c.add_user("cat", PASSWORD, "", false).unwrap();
    // dot: read-only, may choose the file; eve: like cat.
    c.add_user("dot", PASSWORD, "", true).unwrap();
    c.add_user("eve", PASSWORD, "", false).unwrap();
    c.change(|cfg| {
        for u in &mut cfg.users[2..5] {
            u.client_company_file = true;
        }
        Ok(())
    })
    .unwrap();
    c
}

pub async fn start_with(
    connector: Connector,
    dir: tempfile::TempDir,
    backend: Option<Arc<dyn Backend>>,
    events: Option<Arc<dyn Events>>,
) -> Server {
    let mut c = connector;
    if let Some(b) = backend {
        c = c.with_backend(b);
    }
    if let Some(e) = events {
        c = c.with_events(e);
    }
    let running = c.listen().await.unwrap();
    Server {
        addr: running.local_addr(),
        running,
        dir,
    }
}

/// The default server (simulator backend).
pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let c = connector(config(dir.path()));
    start_with(c, dir, None, None).await
}

/// The default server after `edit` changes its configuration.
pub async fn start_configured(
    edit: impl FnOnce(&mut Config),
    backend: Option<Arc<dyn Backend>>,
    events: Option<Arc<dyn Events>>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let c = connector(config(dir.path()));
    c.change(|cfg| {
        edit(cfg);
        Ok(())
    })
    .unwrap();
    start_with(c, dir, backend, events).await
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn code(&self) -> &str {
        self.header("x-qb-error-code")
    }
}

pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A request on a new connection over `io`.
pub async fn send_on<IO>(
    io: IO,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Resp, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .header("host", "localhost")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let tcp = TcpStream::connect(addr).await.unwrap();
    send_on(tcp, method, path, headers, body).await.unwrap()
}

/// POST qbXML as `user` with the shared password.
pub async fn post(addr: SocketAddr, user: &str, xml: &str) -> Resp {
    post_with(addr, user, &[], xml).await
}

pub async fn post_with(addr: SocketAddr, user: &str, extra: &[(&str, &str)], xml: &str) -> Resp {
    let auth = basic(user, PASSWORD);
    let mut h = vec![
        ("authorization", auth.as_str()),
        ("content-type", "text/xml"),
    ];
    h.extend_from_slice(extra);
    send(addr, "POST", "/", &h, xml).await
}

/// POST /session as `user`: the ticket.
pub async fn open_session(addr: SocketAddr, user: &str) -> String {
    let auth = basic(user, PASSWORD);
    let r = send(addr, "POST", "/session", &[("authorization", &auth)], "").await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.header("x-qb-ticket").to_string()
}

/// DELETE /session as `user`.
pub async fn close_session(addr: SocketAddr, user: &str, ticket: &str) -> Resp {
    let auth = basic(user, PASSWORD);
    send(
        addr,
        "DELETE",
        "/session",
        &[("authorization", &auth), ("x-qb-ticket", ticket)],
        "",
    )
    .await
}

/// A request message set around `inner`.
pub fn qbxml(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">{inner}</QBXMLMsgsRq></QBXML>"
    )
}

pub fn customer_add(name: &str) -> String {
    qbxml(&format!(
        "<CustomerAddRq requestID=\"1\"><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>"
    ))
}

pub fn customer_query() -> String {
    qbxml("<CustomerQueryRq requestID=\"1\"></CustomerQueryRq>")
}

pub fn host_query() -> String {
    qbxml("<HostQueryRq requestID=\"1\"/>")
}

pub fn skip(why: &str) {
    eprintln!("SKIP: {why}");
}

/// POST raw bytes (a body in another encoding) as `user`.
pub async fn post_bytes(addr: SocketAddr, user: &str, body: &[u8]) -> Resp {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "localhost")
        .header("authorization", basic(user, PASSWORD))
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body.to_vec())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// CustomerAdd bodies in ISO-8859-1 and windows-1252, each with a name
/// that only survives if it is decoded right: (encoding, bytes, the name).
pub fn encoded_adds() -> Vec<(&'static str, Vec<u8>, String)> {
    let add = |encoding: &str, name: &[u8]| {
        let mut b = format!(
            "<?xml version=\"1.0\" encoding=\"{encoding}\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerAddRq><CustomerAdd><Name>"
        )
        .into_bytes();
        b.extend_from_slice(name);
        b.extend_from_slice(b"</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>");
        b
    };
    vec![
        // Latin-1: é = E9, ö = F6, ñ = F1.
        (
            "ISO-8859-1",
            add("ISO-8859-1", b"Caf\xe9 M\xf6ller Pe\xf1a"),
            "Café Möller Peña".to_string(),
        ),
        // windows-1252: € = 80, Œ = 8C, " = 93/94 (not Latin-1's controls).
        (
            "windows-1252",
            add("windows-1252", b"\x80 \x8cuvre \x93Bistro\x94"),
            "€ Œuvre “Bistro”".to_string(),
        ),
    ]
}
