//! TLS: loading the server's certificate (PEM or PKCS#12), client
//! certificates, and generating a self-signed certificate to pin.
//!
//! One crypto provider, ring, everywhere. Only TLS 1.2 and 1.3 exist in
//! rustls, so TLS 1.0/1.1 clients fail the handshake.

use crate::config::TlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::path::Path;
use std::sync::Arc;

/// A problem with one TLS setting.
#[derive(Debug)]
pub struct TlsProblem {
    /// The key under `[tls]`.
    pub key: &'static str,
    pub message: String,
}

fn problem(key: &'static str, message: impl Into<String>) -> TlsProblem {
    TlsProblem {
        key,
        message: message.into(),
    }
}

/// What the server needs to speak TLS.
#[derive(Clone)]
pub struct TlsSetup {
    pub config: Arc<ServerConfig>,
    /// The client certificate's subject must equal this.
    pub client_subject: Option<String>,
    pub client_auth: bool,
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build the rustls configuration from the `[tls]` table.
pub fn server_config(tls: &TlsConfig) -> Result<TlsSetup, TlsProblem> {
    let (certs, key) = material(tls)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| problem("cert", e.to_string()))?;
    let client_auth = tls.client_ca.is_some();
    let builder = match &tls.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in load_certs(ca, "client_ca")? {
                roots
                    .add(c)
                    .map_err(|e| problem("client_ca", format!("{}: {e}", ca.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| problem("client_ca", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => {
            if tls.client_subject.is_some() {
                return Err(problem(
                    "client_subject",
                    "needs client_ca: without it no client certificate is asked for",
                ));
            }
            builder.with_no_client_auth()
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| problem("key", format!("does not fit the certificate: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsSetup {
        config: Arc::new(config),
        client_subject: tls.client_subject.clone(),
        client_auth,
    })
}

/// The certificate chain and its key, from whichever form the `[tls]`
/// table gives: files (`cert`, `key`), PEM text (`cert_pem`, `key_pem`;
/// the key may follow the chain in `cert_pem`), or a PKCS#12 store
/// (`pfx`, the entry chosen by `pfx_subject`).
fn material(
    tls: &TlsConfig,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsProblem> {
    let pem_given =
        tls.cert.is_some() || tls.cert_pem.is_some() || tls.key.is_some() || tls.key_pem.is_some();
    if tls.pfx.is_none() && tls.pfx_subject.is_some() {
        return Err(problem("pfx_subject", "chooses an entry of pfx: give pfx"));
    }
    if let Some(pfx) = &tls.pfx {
        if pem_given {
            return Err(problem(
                "pfx",
                "give either pfx (with pfx_password) or a PEM certificate and key, not both",
            ));
        }
        return load_pfx(pfx, tls);
    }
    let certs = match (&tls.cert, &tls.cert_pem) {
        (Some(path), None) => load_certs(path, "cert")?,
        (None, Some(text)) => pem_certs(text.as_bytes(), "cert_pem", "cert_pem")?,
        (Some(_), Some(_)) => return Err(problem("cert_pem", "give cert or cert_pem, not both")),
        (None, None) => {
            return Err(problem(
                "cert",
                "missing: give cert and key (PEM files), cert_pem (PEM text), or pfx (PKCS#12)",
            ))
        }
    };
    let key = match (&tls.key, &tls.key_pem, &tls.cert_pem) {
        (Some(path), None, _) => load_key(path)?,
        (None, Some(text), _) => PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|e| problem("key_pem", format!("no PEM private key ({e})")))?,
        (Some(_), Some(_), _) => return Err(problem("key_pem", "give key or key_pem, not both")),
        // The key after the chain in cert_pem.
        (None, None, Some(text)) => PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|_| {
            problem(
                "key_pem",
                "missing: the PEM private key (in key_pem, in a key file, or after the chain in cert_pem)",
            )
        })?,
        (None, None, None) => return Err(problem("key", "missing: the PEM private key")),
    };
    Ok((certs, key))
}

/// The PEM certificates in `data`; `what` names it in messages.
fn pem_certs(
    data: &[u8],
    key: &'static str,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsProblem> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(data).collect();
    let certs = certs.map_err(|e| problem(key, format!("{what}: {e}")))?;
    if certs.is_empty() {
        return Err(problem(key, format!("{what}: no PEM CERTIFICATE in it")));
    }
    Ok(certs)
}

fn load_certs(path: &Path, key: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsProblem> {
    let data = std::fs::read(path).map_err(|e| problem(key, format!("{}: {e}", path.display())))?;
    pem_certs(&data, key, &path.display().to_string())
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsProblem> {
    let data =
        std::fs::read(path).map_err(|e| problem("key", format!("{}: {e}", path.display())))?;
    PrivateKeyDer::from_pem_slice(&data).map_err(|e| {
        problem(
            "key",
            format!("{}: no PEM private key ({e})", path.display()),
        )
    })
}

fn load_pfx(
    path: &Path,
    tls: &TlsConfig,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsProblem> {
    let data =
        std::fs::read(path).map_err(|e| problem("pfx", format!("{}: {e}", path.display())))?;
    let password = match (&tls.pfx_password, &tls.pfx_password_env) {
        (Some(p), None) => p.clone(),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            problem(
                "pfx_password_env",
                format!("the environment variable {var} is not set"),
            )
        })?,
        (None, None) => String::new(),
        (Some(_), Some(_)) => {
            return Err(problem(
                "pfx_password",
                "give pfx_password or pfx_password_env, not both",
            ))
        }
    };
    let store = p12_keystore::KeyStore::from_pkcs12(
        &data,
        &password,
        p12_keystore::Pkcs12ImportPolicy::Strict,
    )
    .map_err(|e| {
        problem(
            "pfx",
            format!("{}: cannot open (wrong password?): {e}", path.display()),
        )
    })?;
    let mut chains = store.entries().filter_map(|(_, e)| match e {
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => Some(chain),
        _ => None,
    });
    let chain = match tls.pfx_subject.as_deref().map(str::trim) {
        None | Some("*") => chains.next(),
        Some(want) => chains.find(|c| {
            c.certs()
                .first()
                .is_some_and(|leaf| subject_is(leaf.as_der(), want))
        }),
    };
    let Some(chain) = chain else {
        return Err(match &tls.pfx_subject {
            Some(want) if want.trim() != "*" => problem(
                "pfx_subject",
                format!(
                    "{}: no private key whose certificate's subject is `{want}` (it holds: {})",
                    path.display(),
                    subjects_in(&store)
                ),
            ),
            _ => problem(
                "pfx",
                format!(
                    "{}: holds no private key with its certificate",
                    path.display()
                ),
            ),
        });
    };
    let certs = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect::<Vec<_>>();
    if certs.is_empty() {
        return Err(problem(
            "pfx",
            format!("{}: the key has no certificate", path.display()),
        ));
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    Ok((certs, key))
}

/// Whether a certificate is the one `want` names: its whole subject
/// (RFC 4514, compared as [`subject_matches`] does) or its common name.
fn subject_is(der: &[u8], want: &str) -> bool {
    subject_matches(der, want)
        || subject_attributes(der).is_some_and(|attrs| {
            attrs
                .iter()
                .any(|(k, v)| k == "cn" && v.eq_ignore_ascii_case(want))
        })
}

/// The subjects of a store's key entries, for a message.
fn subjects_in(store: &p12_keystore::KeyStore) -> String {
    let all: Vec<String> = store
        .entries()
        .filter_map(|(_, e)| match e {
            p12_keystore::KeyStoreEntry::PrivateKeyChain(c) => c.certs().first(),
            _ => None,
        })
        .map(|leaf| subject_of(leaf.as_der()).unwrap_or_else(|| "?".into()))
        .map(|s| format!("`{s}`"))
        .collect();
    if all.is_empty() {
        "nothing".into()
    } else {
        all.join(", ")
    }
}

/// The subject of a DER certificate in RFC 4514 form (`CN=app1, O=Acme`).
pub fn subject_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.subject().to_string())
}

/// The subject's attributes as (type, value) pairs: `("cn", "app1")`.
pub fn subject_attributes(der: &[u8]) -> Option<Vec<(String, String)>> {
    use x509_parser::objects::{oid2abbrev, oid_registry};
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut out = Vec::new();
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let key = oid2abbrev(attr.attr_type(), oid_registry())
                .map(str::to_string)
                .unwrap_or_else(|_| attr.attr_type().to_id_string());
            out.push((key.to_ascii_lowercase(), attr.as_str().ok()?.to_string()));
        }
    }
    Some(out)
}

/// Does a certificate's subject equal the configured one (`CN=app1,
/// O=Acme`: types case-insensitive, values compared ignoring case, order
/// free)? Compared attribute by attribute, so a CN that itself holds
/// `, O=Acme` does not match.
pub fn subject_matches(der: &[u8], want: &str) -> bool {
    let Some(mut have) = subject_attributes(der) else {
        return false;
    };
    let mut want: Vec<(String, String)> = want
        .split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let norm = |v: &mut Vec<(String, String)>| {
        for (_, val) in v.iter_mut() {
            *val = val.to_lowercase();
        }
        v.sort();
    };
    norm(&mut have);
    norm(&mut want);
    !want.is_empty() && have == want
}

/// A self-signed certificate and its key, both PEM.
pub struct Generated {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Generate a self-signed server certificate for these host names / IPs.
pub fn generate(hosts: &[String]) -> Result<Generated, String> {
    let mut params =
        rcgen::CertificateParams::new(hosts.to_vec()).map_err(|e| format!("bad host name: {e}"))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        hosts
            .first()
            .cloned()
            .unwrap_or_else(|| "qbconnector".into()),
    );
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "QBConnector");
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok(Generated {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The public certificate (first PEM block) of the configured TLS
/// material, for clients to pin.
pub fn export(tls: &TlsConfig) -> Result<String, TlsProblem> {
    let certs = match (&tls.pfx, &tls.cert, &tls.cert_pem) {
        (Some(pfx), _, _) => load_pfx(pfx, tls)?.0,
        (None, Some(cert), _) => load_certs(cert, "cert")?,
        (None, None, Some(text)) => pem_certs(text.as_bytes(), "cert_pem", "cert_pem")?,
        (None, None, None) => return Err(problem("cert", "no certificate configured")),
    };
    let Some(first) = certs.first() else {
        return Err(problem("cert", "no certificate"));
    };
    Ok(pem_encode("CERTIFICATE", first.as_ref()))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_loads_and_exports() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        std::fs::write(dir.path().join("c.pem"), &g.cert_pem).unwrap();
        std::fs::write(dir.path().join("k.pem"), &g.key_pem).unwrap();
        let tls = TlsConfig {
            cert: Some(dir.path().join("c.pem")),
            key: Some(dir.path().join("k.pem")),
            ..TlsConfig::default()
        };
        assert!(server_config(&tls).is_ok());
        assert_eq!(export(&tls).unwrap().trim(), g.cert_pem.trim());
        let der = CertificateDer::from_pem_slice(g.cert_pem.as_bytes()).unwrap();
        assert!(subject_of(der.as_ref()).unwrap().contains("CN=localhost"));
        assert!(subject_matches(der.as_ref(), "cn=localhost,O=QBConnector"));
        assert!(subject_matches(der.as_ref(), "O=qbconnector, CN=LOCALHOST"));
        assert!(!subject_matches(der.as_ref(), "CN=localhost"));
        assert!(!subject_matches(
            der.as_ref(),
            "CN=localhost, O=QBConnector, OU=x"
        ));
    }

    #[test]
    fn problems_name_the_setting() {
        let e = server_config(&TlsConfig::default()).err().unwrap();
        assert_eq!(e.key, "cert");
        let e = server_config(&TlsConfig {
            cert: Some("/nonexistent.pem".into()),
            key: Some("/nonexistent.key".into()),
            ..TlsConfig::default()
        })
        .err()
        .unwrap();
        assert!(e.message.contains("/nonexistent.pem"), "{}", e.message);
    }
}
