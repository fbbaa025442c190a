//! A client's QBConnectionString: where the connector is, who we are, and
//! how QuickBooks should be opened.
//!
//! `URL='https://qb.example.com:2080' User='ann' Password='…'
//! CompanyFile='acme.qbw' SSLAcceptServerCertFile='connector.pem'`.
//! Names are case-insensitive; names this client does not use are kept and
//! passed to the connector in `X-QB-Connection`.

use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::time::Duration;

/// Where the connector listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The path requests go to (`/` unless the URL names another).
    pub path: String,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("URL `{s}` does not start with http:// or https://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| format!("URL `{s}`: unclosed [ in the host"))?;
            let host = &v6[..end];
            let port = v6[end + 1..].strip_prefix(':');
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("URL `{s}` has no host"));
        }
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| format!("URL `{s}`: `{p}` is not a port"))?,
            None if https => 443,
            None => 80,
        };
        Ok(Url {
            https,
            host,
            port,
            path: path.to_string(),
        })
    }
}

/// Parsed connection settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub url: Url,
    pub user: String,
    pub password: String,
    pub application_name: Option<String>,
    pub company_file: Option<String>,
    pub connection_mode: Option<String>,
    /// For one HTTP exchange (default 60 s).
    pub timeout: Duration,
    /// Trust exactly these certificates (the connector's exported one)
    /// instead of the system's roots.
    pub pinned: Vec<CertificateDer<'static>>,
    /// Names this client does not use, passed on to the connector.
    pub extra: Vec<(String, String)>,
}

impl Settings {
    pub fn parse(s: &str) -> Result<Settings, Error> {
        let pairs = qbxml::connstr::pairs(s).map_err(|e| Error::ConnectionString(e.to_string()))?;
        let bad = |m: String| Error::ConnectionString(m);
        let mut url = None;
        let mut out = Settings {
            url: Url {
                https: false,
                host: String::new(),
                port: 0,
                path: "/".into(),
            },
            user: String::new(),
            password: String::new(),
            application_name: None,
            company_file: None,
            connection_mode: None,
            timeout: Duration::from_secs(60),
            pinned: Vec::new(),
            extra: Vec::new(),
        };
        for (name, value) in pairs {
            match name.to_ascii_lowercase().as_str() {
                "url" => url = Some(Url::parse(&value).map_err(bad)?),
                "user" => out.user = value,
                "password" => out.password = value,
                "applicationname" | "appname" => out.application_name = Some(value),
                "companyfile" => out.company_file = Some(value),
                "connectionmode" | "qbconnectionmode" => out.connection_mode = Some(value),
                "timeout" => {
                    let secs: u64 = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| *n > 0 && *n <= 86_400)
                        .ok_or_else(|| {
                            bad(format!(
                                "Timeout `{value}` is not a number of seconds (1..=86400)"
                            ))
                        })?;
                    out.timeout = Duration::from_secs(secs);
                }
                "sslacceptservercert" => out.pinned.extend(
                    certificates(value.as_bytes())
                        .map_err(|e| bad(format!("SSLAcceptServerCert: {e}")))?,
                ),
                "sslacceptservercertfile" => {
                    let data = std::fs::read(&value)
                        .map_err(|e| bad(format!("SSLAcceptServerCertFile `{value}`: {e}")))?;
                    out.pinned.extend(
                        certificates(&data)
                            .map_err(|e| bad(format!("SSLAcceptServerCertFile `{value}`: {e}")))?,
                    );
                }
                _ => out.extra.push((name, value)),
            }
        }
        out.url = url.ok_or_else(|| bad("URL is missing (URL='http://host:2080')".into()))?;
        if out.user.contains(':') {
            return Err(bad("User may not contain `:` (HTTP Basic)".into()));
        }
        if !out.pinned.is_empty() && !out.url.https {
            return Err(bad("SSLAcceptServerCert needs an https:// URL".into()));
        }
        Ok(out)
    }

    /// What goes to the connector in `X-QB-Connection` (never credentials).
    pub fn connection_header(&self) -> String {
        let mut parts = Vec::new();
        let mut put = |k: &str, v: &str| {
            if let Some(q) = qbxml::connstr::quote(v) {
                parts.push(format!("{k}={q}"));
            }
        };
        if let Some(v) = &self.application_name {
            put("ApplicationName", v);
        }
        if let Some(v) = &self.company_file {
            put("CompanyFile", v);
        }
        if let Some(v) = &self.connection_mode {
            put("ConnectionMode", v);
        }
        for (k, v) in &self.extra {
            put(k, v);
        }
        parts.join(" ")
    }
}

/// PEM (one or more CERTIFICATE blocks), or base64 of DER, or DER.
fn certificates(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = String::from_utf8_lossy(data);
    if text.contains("-----BEGIN") {
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(data).collect();
        let certs = certs.map_err(|e| format!("bad PEM: {e}"))?;
        if certs.is_empty() {
            return Err("no CERTIFICATE in the PEM".into());
        }
        return Ok(certs);
    }
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        return Ok(vec![CertificateDer::from(der)]);
    }
    if data.first() == Some(&0x30) {
        return Ok(vec![CertificateDer::from(data.to_vec())]);
    }
    Err("neither PEM, base64 nor DER".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_connection_strings_in_every_style() {
        for s in [
            "URL='http://127.0.0.1:2080' User='ann' Password='pw' CompanyFile='a.qbw'",
            "url=\"http://127.0.0.1:2080\" user=\"ann\" password=\"pw\" companyfile=\"a.qbw\"",
            " URL = 'http://127.0.0.1:2080'  User= ann ;Password ='pw'; CompanyFile=a.qbw ",
            "CompanyFile='a.qbw' Password='pw' User='ann' URL='http://127.0.0.1:2080/'",
        ] {
            let c = Settings::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(c.url.host, "127.0.0.1", "{s}");
            assert_eq!(c.url.port, 2080);
            assert_eq!((c.user.as_str(), c.password.as_str()), ("ann", "pw"));
            assert_eq!(c.company_file.as_deref(), Some("a.qbw"));
        }
        let c = Settings::parse("URL=https://qb.example.com User=u Password=p Color=red Timeout=5")
            .unwrap();
        assert_eq!((c.url.https, c.url.port), (true, 443));
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.extra, vec![("Color".to_string(), "red".to_string())]);
        assert_eq!(c.connection_header(), "Color=\"red\"");
        let c = Settings::parse("URL='http://[::1]:9/x' User=u Password=p").unwrap();
        assert_eq!(
            (c.url.host.as_str(), c.url.port, c.url.path.as_str()),
            ("::1", 9, "/x")
        );
    }

    #[test]
    fn bad_connection_strings_say_what() {
        for (s, want) in [
            ("URL='http://h:2080 User='u'", "expected `=` after `u`"),
            ("URL='http://h:2080' User 'u'", "expected `=` after `User`"),
            ("User='u' Password='p'", "URL is missing"),
            ("URL='ftp://h' User=u", "does not start with http"),
            ("URL='http://h:99999' User=u", "not a port"),
            ("URL='http://:80' User=u", "no host"),
            ("URL='http://h' Timeout=soon", "Timeout `soon`"),
            (
                "URL='http://h' SSLAcceptServerCert='@@@'",
                "SSLAcceptServerCert",
            ),
            (
                "URL='http://h' SSLAcceptServerCertFile='/nonexistent.pem'",
                "/nonexistent.pem",
            ),
            ("URL='http://h' User='a:b'", "may not contain `:`"),
        ] {
            let e = Settings::parse(s)
                .err()
                .unwrap_or_else(|| panic!("{s} parsed"));
            assert!(e.to_string().contains(want), "{s}: {e}");
        }
    }
}
