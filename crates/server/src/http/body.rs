//! The request itself: its headers that may appear once, its
//! `Content-Type`, its ticket, the connection settings it carries, and its
//! body — read within the size and time limits.

use super::login::Principal;
use super::reply::{Refusal, CONNECTION_HEADER, TICKET_HEADER};
use crate::backend::OpenSettings;
use crate::connstr::ConnectionString;
use crate::live::Live;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{HeaderMap, Request};

/// The one value of a request header that may appear at most once: a
/// header sent twice is ambiguous (which one would a proxy in front of
/// us have looked at?), so it is refused rather than one of them picked.
pub fn single<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h HeaderValue>, SentTwice> {
    let mut all = headers.get_all(name).iter();
    let first = all.next();
    if all.next().is_some() {
        return Err(SentTwice);
    }
    Ok(first)
}

/// A header that may appear once appeared more often.
#[derive(Debug)]
pub struct SentTwice;

/// The ticket a request names. A present header always names a session:
/// one that is sent twice, or is not text, is refused like an unknown
/// ticket — never read as "no ticket", which would run the request
/// outside the session the client meant.
pub fn ticket_of(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    match single(headers, TICKET_HEADER) {
        Err(SentTwice) => Err(Refusal::BadTicket(
            "X-QB-Ticket is sent more than once".into(),
        )),
        Ok(None) => Ok(None),
        Ok(Some(v)) => match v.to_str() {
            Ok(s) => Ok(Some(s.trim().to_string())),
            Err(_) => Err(Refusal::BadTicket(
                "X-QB-Ticket holds bytes that are not ASCII".into(),
            )),
        },
    }
}

/// The media types a door takes, and what to tell a client that sent
/// another.
pub struct Media {
    pub types: &'static [&'static str],
    pub hint: &'static str,
}

/// qbXML: `text/xml` or `application/xml`.
pub const XML: Media = Media {
    types: &["text/xml", "application/xml"],
    hint: "send the qbXML with Content-Type: text/xml (or application/xml)",
};

/// The JSON form.
pub const JSON: Media = Media {
    types: &["application/json"],
    hint: "send the JSON with Content-Type: application/json",
};

/// One of `media`'s types, parameters aside.
pub fn content_type(headers: &HeaderMap, media: Media) -> Result<(), Refusal> {
    let mime = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or("").trim());
    match mime {
        Some(m) if media.types.iter().any(|t| m.eq_ignore_ascii_case(t)) => Ok(()),
        _ => Err(Refusal::MediaType(media.hint)),
    }
}

/// The header a client sends to wait less than the backend timeout for
/// its answer, in seconds (the Web Connector bridge's 90 s are long).
pub const TIMEOUT_HEADER: &str = "x-qb-timeout";

/// `X-QB-Timeout: <seconds>` (1 to 86400; decimals allowed).
pub fn wait_of(headers: &HeaderMap) -> Result<Option<std::time::Duration>, Refusal> {
    let v = single(headers, TIMEOUT_HEADER).map_err(|SentTwice| {
        Refusal::BadConnection("X-QB-Timeout is sent more than once".into())
    })?;
    let Some(v) = v else {
        return Ok(None);
    };
    let secs = v
        .to_str()
        .ok()
        .and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && (0.001..=86_400.0).contains(s))
        .ok_or_else(|| {
            Refusal::BadConnection(
                "X-QB-Timeout is not a number of seconds from 0.001 to 86400".into(),
            )
        })?;
    Ok(Some(std::time::Duration::from_secs_f64(secs)))
}

/// The user's settings merged with the client's `X-QB-Connection`: the
/// server's side wins (PROTOCOL.md §2.2).
pub fn settings(p: &Principal, headers: &HeaderMap) -> Result<OpenSettings, Refusal> {
    let header = single(headers, CONNECTION_HEADER).map_err(|SentTwice| {
        Refusal::BadConnection("X-QB-Connection is sent more than once".into())
    })?;
    let client = match header {
        None => ConnectionString::default(),
        Some(v) => {
            // UTF-8, so that a company file may have any name.
            let text = std::str::from_utf8(v.as_bytes())
                .map_err(|_| Refusal::BadConnection("X-QB-Connection is not UTF-8 text".into()))?;
            ConnectionString::parse(text)
                .map_err(|e| Refusal::BadConnection(format!("X-QB-Connection: {e}")))?
        }
    };
    if client.company_file.is_some()
        && p.connection.company_file.is_none()
        && !p.client_company_file
    {
        return Err(Refusal::CompanyFileDenied(p.name.clone()));
    }
    let m = p.connection.or(&client);
    Ok(OpenSettings {
        company_file: m.company_file.unwrap_or_default(),
        application_name: m.application_name.unwrap_or_else(|| "QBConnector".into()),
        app_id: m.app_id.unwrap_or_default(),
        mode: m.connection_mode.unwrap_or_default(),
        read_only: p.read_only,
        auth_flags: m.auth_flags,
        user: p.name.to_lowercase(),
        shared: false,
    })
}

/// Read the body within the size and time limits.
pub async fn read_body(live: &Live, req: Request<Incoming>) -> Result<Bytes, Refusal> {
    read_body_within(live, req, live.max_request_bytes, live.request_timeout).await
}

/// The body within `max` bytes and `time` (a door whose bodies may be
/// QuickBooks' answers, not client requests, has its own bounds).
pub async fn read_body_within(
    _live: &Live,
    req: Request<Incoming>,
    max: usize,
    time: std::time::Duration,
) -> Result<Bytes, Refusal> {
    // The length as the HTTP layer read it (it also takes a length sent
    // on two lines with one value, which `get` + `parse` would miss).
    if hyper::body::Body::size_hint(req.body()).lower() > max as u64 {
        return Err(Refusal::TooLarge(max));
    }
    let body = Limited::new(req.into_body(), max);
    match tokio::time::timeout(time, body.collect()).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Refusal::TooLarge(max))
        }
        Ok(Err(e)) => Err(Refusal::BadBody(e.to_string())),
        Err(_) => Err(Refusal::RequestTimeout),
    }
}
