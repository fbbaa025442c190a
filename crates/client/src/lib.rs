//! A client for the QBConnector (`docs/PROTOCOL.md`).
//!
//! Connect with a QBConnectionString, send qbXML, open and close a
//! persistent session, page through a query with iterators, and tell the
//! three kinds of failure apart: the connector or the network
//! ([`Error::Transport`], [`Error::Http`]), QuickBooks refusing the whole
//! message set ([`Error::HResult`]), and one request's status
//! ([`Error::Status`], with the request it belongs to).
//!
//! Retries: a message set that only reads is retried on `503` (the company
//! file was busy), honouring `Retry-After`, a few times. A write is never
//! retried blindly: after a lost answer (a `504`, a dropped connection) it
//! may or may not have happened. Send writes with a `newMessageSetID` and,
//! when the answer is lost, ask with `oldMessageSetID`: the connector's
//! QuickBooks answers with the saved responses of the set if it ran.

mod settings;
pub mod verify;

pub use settings::{Settings, Url};
pub use verify::ServerCertificate;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use qbxml::{Elem, HResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The connection string is malformed (with the position).
    ConnectionString(String),
    /// No answer: connecting, TLS (e.g. a certificate that does not match
    /// the pin), a dropped connection, a timeout.
    Transport(String),
    /// The connector refused or failed with its own code (`QBC_…`), or an
    /// HTTP status without an HRESULT.
    Http {
        status: u16,
        code: String,
        message: String,
    },
    /// QuickBooks (or the connector's validator on its behalf) refused the
    /// message set as a whole.
    HResult {
        status: u16,
        hresult: HResult,
        message: String,
    },
    /// One request of the set failed (severity Error).
    Status {
        request: String,
        request_id: Option<String>,
        code: u32,
        message: String,
    },
    /// The answer was not a qbXML response.
    Response(String),
    /// A JSON document that is not JSON, or does not fit the schema: what
    /// and where (its JSON path).
    Json(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::ConnectionString(m) => write!(f, "connection string: {m}"),
            Error::Transport(m) => write!(f, "cannot reach the connector: {m}"),
            Error::Http {
                status,
                code,
                message,
            } => write!(f, "the connector answered {status} {code}: {message}"),
            Error::HResult {
                hresult, message, ..
            } => write!(f, "QuickBooks refused the request: {hresult} {message}"),
            Error::Status {
                request,
                request_id,
                code,
                message,
            } => write!(
                f,
                "{request}{}: status {code}: {message}",
                request_id
                    .as_deref()
                    .map(|i| format!(" (requestID {i})"))
                    .unwrap_or_default()
            ),
            Error::Response(m) => write!(f, "not a qbXML response: {m}"),
            Error::Json(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Retries of a read-only message set refused with 503.
const READ_RETRIES: u32 = 5;

/// A connector client. Cheap to clone: clones share the connection and
/// the session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    tls: Option<tokio_rustls::TlsConnector>,
    conn: Mutex<Option<SendRequest<Full<Bytes>>>>,
    ticket: std::sync::Mutex<Option<String>>,
    auth: String,
    hook: verify::HookSlot,
}

/// An HTTP answer.
struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: String,
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, Error> {
        let hook = verify::HookSlot::default();
        let tls = if settings.url.https {
            let mut roots = rustls::RootCertStore::empty();
            if settings.pinned.is_empty() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            } else {
                for c in &settings.pinned {
                    roots.add(c.clone()).map_err(|e| {
                        Error::ConnectionString(format!("SSLAcceptServerCert: {e}"))
                    })?;
                }
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let usual = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| Error::ConnectionString(format!("SSLAcceptServerCert: {e}")))?;
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Transport(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verify::Verifier::new(
                    usual,
                    hook.clone(),
                )))
                .with_no_client_auth();
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        use base64::Engine;
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", settings.user, settings.password))
        );
        Ok(Client {
            inner: Arc::new(Inner {
                settings,
                tls,
                conn: Mutex::new(None),
                ticket: std::sync::Mutex::new(None),
                auth,
                hook,
            }),
        })
    }

    /// The seed's SSLServerAuthentication: `hook` sees the connector's
    /// certificate with the usual verdict (system roots or the pin) and
    /// decides; `None` leaves the usual verdict alone. Applies to
    /// connections made after it.
    pub fn set_server_authentication(&self, hook: Option<verify::Hook>) {
        self.inner.hook.set(hook);
    }

    pub fn from_connection_string(s: &str) -> Result<Client, Error> {
        Client::new(Settings::parse(s)?)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Use a ticket obtained elsewhere (another process of the same user).
    pub fn set_ticket(&self, ticket: Option<String>) {
        if let Ok(mut slot) = self.inner.ticket.lock() {
            *slot = ticket;
        }
    }

    /// The open session's ticket, if any.
    pub fn ticket(&self) -> Option<String> {
        self.inner.ticket.lock().ok().and_then(|t| t.clone())
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let url = &self.inner.settings.url;
        let addr = format!("{}:{}", bracket(&url.host), url.port);
        let tcp = TcpStream::connect(&addr)
            .await
            .map_err(|e| Error::Transport(format!("{addr}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        match &self.inner.tls {
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(url.host.clone())
                    .map_err(|e| Error::ConnectionString(format!("URL host: {e}")))?;
                let stream = tls.connect(name, tcp).await.map_err(|e| {
                    Error::Transport(format!(
                        "TLS with {addr}: {e} (if the connector uses a self-signed certificate, pin it with SSLAcceptServerCertFile)"
                    ))
                })?;
                handshake(stream).await
            }
            None => handshake(tcp).await,
        }
    }

    /// One HTTP exchange on the kept-alive connection (reconnecting once
    /// if the connector closed it).
    async fn exchange(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        extra: &[(&str, String)],
        body: &str,
    ) -> Result<Answer, Error> {
        let mut conn = self.inner.conn.lock().await;
        for attempt in 0..2 {
            let mut sender = match conn.take() {
                Some(s) if !s.is_closed() => s,
                _ => self.connect().await?,
            };
            let mut req = Request::builder()
                .method(method)
                .uri(path)
                .header("host", &self.inner.settings.url.host)
                .header("authorization", &self.inner.auth)
                .header("content-type", content_type);
            for (k, v) in extra {
                req = req.header(*k, v);
            }
            let req = req
                .body(Full::new(Bytes::from(body.to_string())))
                .map_err(|e| Error::Transport(e.to_string()))?;
            let sent = tokio::time::timeout(self.inner.settings.timeout, async {
                let resp = sender.send_request(req).await?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = resp.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>((status, headers, body))
            })
            .await;
            match sent {
                Ok(Ok((status, headers, body))) => {
                    if !headers
                        .get("connection")
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
                    {
                        *conn = Some(sender);
                    }
                    return Ok(Answer {
                        status,
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                // A kept-alive connection the connector had closed: once more.
                Ok(Err(e)) if attempt == 0 && e.is_canceled() => continue,
                Ok(Err(e)) => return Err(Error::Transport(e.to_string())),
                Err(_) => {
                    return Err(Error::Transport(format!(
                        "no answer within {} s",
                        self.inner.settings.timeout.as_secs()
                    )))
                }
            }
        }
        Err(Error::Transport("the connection closed".into()))
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        let c = self.inner.settings.connection_header();
        if !c.is_empty() {
            h.push(("x-qb-connection", c));
        }
        if let Some(t) = self.ticket() {
            h.push(("x-qb-ticket", t));
        }
        h
    }

    /// Send a qbXML request message set; the answer is QuickBooks'
    /// response text, whatever the status codes inside it say.
    pub async fn send(&self, xml: &str) -> Result<String, Error> {
        let reads = qbxml::parse_request(xml.as_bytes().to_vec())
            .map(|s| s.access() == qbxml::Access::Read)
            .unwrap_or(false);
        let path = self.inner.settings.url.path.clone();
        self.post(&path, "text/xml", xml, reads).await
    }

    /// Send a message set in the JSON form (docs/PROTOCOL.md §14) to the
    /// connector's `/json`; the answer is QuickBooks' response in the
    /// JSON form, whatever the status codes inside it say. A document
    /// that does not fit the schema is refused here, before anything is
    /// sent, with the member's JSON path ([`Error::Json`]).
    pub async fn send_json(&self, json: &str) -> Result<String, Error> {
        let set = qbxml::json::request_from_json(json, &qbxml::Limits::default())
            .map_err(|e| Error::Json(e.to_string()))?;
        let reads = set.access() == qbxml::Access::Read;
        let base = self.inner.settings.url.path.trim_end_matches('/');
        let path = format!("{base}/json");
        self.post(&path, "application/json", json, reads).await
    }

    /// [`send_json`](Self::send_json) with native values: amounts,
    /// prices and quantities are strings with their exact decimal text.
    pub async fn json(&self, doc: &serde_json::Value) -> Result<serde_json::Value, Error> {
        let text = self.send_json(&doc.to_string()).await?;
        serde_json::from_str(&text).map_err(|e| Error::Response(e.to_string()))
    }

    /// POST a message set, retrying a read the connector had no room for.
    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        reads: bool,
    ) -> Result<String, Error> {
        let mut tries = 0;
        loop {
            let a = self
                .exchange("POST", path, content_type, &self.headers(), body)
                .await?;
            if a.status == 200 {
                return Ok(a.body);
            }
            if a.status == 503 && reads && tries < READ_RETRIES {
                tries += 1;
                let wait = a
                    .headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 30);
                // Exponential on top of what the connector asks for.
                tokio::time::sleep(Duration::from_secs(wait) * (1 << (tries - 1))).await;
                continue;
            }
            return Err(refusal(&a));
        }
    }

    /// Send, parse, and turn the first request that failed (severity
    /// Error) into [`Error::Status`].
    pub async fn request(&self, xml: &str) -> Result<qbxml::ResponseSet, Error> {
        let text = self.send(xml).await?;
        let set =
            qbxml::parse_response(text.into_bytes()).map_err(|e| Error::Response(e.to_string()))?;
        if let Some(r) = set.responses().find(|r| r.is_error()) {
            return Err(Error::Status {
                request: r.name().strip_suffix("Rs").unwrap_or(r.name()).to_string() + "Rq",
                request_id: r.request_id().map(str::to_string),
                code: r.status_code(),
                message: r.message().to_string(),
            });
        }
        Ok(set)
    }

    /// The seed's OpenQBConnection: later requests reuse one QuickBooks
    /// session (iterators need one) until [`Client::close_session`].
    pub async fn open_session(&self) -> Result<String, Error> {
        let mut h = self.headers();
        h.retain(|(k, _)| *k != "x-qb-ticket");
        let a = self
            .exchange("POST", "/session", "text/xml", &h, "")
            .await?;
        if a.status != 201 {
            return Err(refusal(&a));
        }
        let t = a
            .headers
            .get("x-qb-ticket")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Response("201 without X-QB-Ticket".into()))?
            .to_string();
        if let Ok(mut slot) = self.inner.ticket.lock() {
            *slot = Some(t.clone());
        }
        Ok(t)
    }

    /// The seed's CloseQBConnection (a no-op without a session).
    pub async fn close_session(&self) -> Result<(), Error> {
        let Some(t) = self.inner.ticket.lock().ok().and_then(|mut s| s.take()) else {
            return Ok(());
        };
        let a = self
            .exchange("DELETE", "/session", "text/xml", &[("x-qb-ticket", t)], "")
            .await?;
        if a.status != 204 {
            return Err(refusal(&a));
        }
        Ok(())
    }

    /// Page through a query (`<CustomerQueryRq>` with its filters) with an
    /// iterator, `page` records at a time. Opens a session if none is
    /// open (and closes it at the end).
    pub fn pages(&self, mut query: Elem, page: u32, version: qbxml::Version) -> Pages {
        // Each page sets its own MaxReturned.
        query.children.retain(|c| c.name != "MaxReturned");
        Pages {
            client: self.clone(),
            query,
            page: page.max(1),
            version,
            iterator: None,
            remaining: None,
            done: false,
            own_session: false,
        }
    }
}

/// An iterated query in progress; see [`Client::pages`]. Dropped before
/// the end, it stops the iterator (and closes a session it opened) on a
/// task of its own.
pub struct Pages {
    client: Client,
    /// The query without MaxReturned.
    query: Elem,
    page: u32,
    version: qbxml::Version,
    iterator: Option<String>,
    remaining: Option<u32>,
    done: bool,
    own_session: bool,
}

impl Pages {
    /// Records still to come, as QuickBooks last said.
    pub fn remaining(&self) -> Option<u32> {
        self.remaining
    }

    /// The next page of records (the query's Ret elements); `None` at the
    /// end.
    pub async fn next(&mut self) -> Result<Option<Vec<Elem>>, Error> {
        if self.done {
            return Ok(None);
        }
        if self.client.ticket().is_none() {
            self.client.open_session().await?;
            self.own_session = true;
        }
        let mut rq = self
            .query
            .clone()
            .with("MaxReturned", self.page.to_string());
        rq = match &self.iterator {
            None => rq.attr("iterator", "Start"),
            Some(id) => rq
                .attr("iterator", "Continue")
                .attr("iteratorID", id.clone()),
        };
        let xml = qbxml::RequestBuilder::new(self.version)
            .request(rq)
            .build()
            .map_err(|e| Error::Response(format!("cannot build the query: {e}")))?;
        let set = match self.client.request(&xml).await {
            Ok(s) => s,
            // 1: nothing (more) found.
            Err(Error::Status { code: 1, .. }) => {
                self.finish().await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let Some(r) = set.responses().next() else {
            return Err(Error::Response("an empty response".into()));
        };
        let items: Vec<Elem> = r.items().map(Elem::from_element).collect();
        self.iterator = r.iterator_id().map(str::to_string);
        self.remaining = r.iterator_remaining_count();
        if self.remaining.unwrap_or(0) == 0 {
            self.finish().await?;
        }
        Ok(Some(items))
    }

    async fn finish(&mut self) -> Result<(), Error> {
        self.done = true;
        if self.own_session {
            self.own_session = false;
            self.client.close_session().await?;
        }
        Ok(())
    }

    /// Stop early: QuickBooks frees the iterator (iterator="Stop").
    pub async fn stop(mut self) -> Result<(), Error> {
        let stop = self.stop_request();
        if let Some(xml) = stop {
            let _ = self.client.send(&xml).await;
        }
        self.finish().await
    }

    fn stop_request(&self) -> Option<String> {
        let id = self.iterator.clone().filter(|_| !self.done)?;
        let rq = self
            .query
            .clone()
            .attr("iterator", "Stop")
            .attr("iteratorID", id);
        qbxml::RequestBuilder::new(self.version)
            .request(rq)
            .build()
            .ok()
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let stop = self.stop_request();
        let own = std::mem::replace(&mut self.own_session, false);
        let client = self.client.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Some(xml) = stop {
                    let _ = client.send(&xml).await;
                }
                if own {
                    let _ = client.close_session().await;
                }
            });
        }
    }
}

fn refusal(a: &Answer) -> Error {
    let code = a
        .headers
        .get("x-qb-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let message = between(&a.body, "<Message>", "</Message>")
        .map(unescape)
        .or_else(|| json_message(&a.body))
        .unwrap_or_else(|| a.body.chars().take(300).collect());
    match HResult::parse(&code).filter(|_| code.starts_with("0x")) {
        Some(hresult) => Error::HResult {
            status: a.status,
            hresult,
            message,
        },
        None => Error::Http {
            status: a.status,
            code,
            message,
        },
    }
}

/// The JSON door's refusal: `{"code", "message", "path"}`.
fn json_message(body: &str) -> Option<String> {
    let serde_json::Value::Object(m) = serde_json::from_str(body).ok()? else {
        return None;
    };
    let message = m.get("message")?.as_str()?.to_string();
    Some(match m.get("path").and_then(|p| p.as_str()) {
        Some(p) if !message.contains(p) => format!("{message} (at {p})"),
        _ => message,
    })
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let i = s.find(open)? + open.len();
    let j = s[i..].find(close)? + i;
    Some(&s[i..j])
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

async fn handshake<IO>(io: IO) -> Result<SendRequest<Full<Bytes>>, Error>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Error::Transport(e.to_string()))?;
    tokio::spawn(conn);
    Ok(sender)
}
