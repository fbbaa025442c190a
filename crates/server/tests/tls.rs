//! HTTPS: a generated certificate, pinned and unpinned clients, old
//! protocol versions, client certificates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use qbc_server::config::TlsConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

fn write_server_cert(dir: &Path) -> String {
    let g = qbc_server::tls::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), &g.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &g.key_pem).unwrap();
    g.cert_pem
}

fn roots(pem: &str) -> RootCertStore {
    let mut r = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        r.add(c.unwrap()).unwrap();
    }
    r
}

fn client(roots: RootCertStore, identity: Option<(&str, &str)>) -> Arc<ClientConfig> {
    let b = ClientConfig::builder_with_provider(qbc_server::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match identity {
        None => b.with_no_client_auth(),
        Some((cert, key)) => {
            let chain: Vec<_> = CertificateDer::pem_slice_iter(cert.as_bytes())
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            b.with_client_auth_cert(chain, key).unwrap()
        }
    })
}

/// HostQuery over HTTPS as `ann`; Err when TLS (or the connection) fails.
async fn https_post(addr: SocketAddr, config: Arc<ClientConfig>) -> Result<Resp, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let auth = basic("ann", PASSWORD);
    send_on(
        tls,
        "POST",
        "/",
        &[("authorization", &auth), ("content-type", "text/xml")],
        &host_query(),
    )
    .await
}

async fn tls_server(client_ca: Option<&str>, client_subject: Option<&str>) -> (Server, String) {
    tls_server_with(client_ca, client_subject, None).await
}

async fn tls_server_with(
    client_ca: Option<&str>,
    client_subject: Option<&str>,
    events: Option<Arc<dyn qbc_server::Events>>,
) -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let cert_pem = write_server_cert(dir.path());
    if let Some(ca) = client_ca {
        std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
    }
    let mut cfg = config(dir.path());
    cfg.tls = Some(TlsConfig {
        cert: Some(dir.path().join("cert.pem")),
        key: Some(dir.path().join("key.pem")),
        client_ca: client_ca.map(|_| dir.path().join("ca.pem")),
        client_subject: client_subject.map(str::to_string),
        ..TlsConfig::default()
    });
    let c = connector(cfg);
    (start_with(c, dir, None, events).await, cert_pem)
}

/// Refuses TLS connections that ask for a host name other than `localhost`.
#[derive(Default)]
struct OnlyLocalhost(std::sync::Mutex<Vec<(Option<String>, usize)>>);

impl qbc_server::Events for OnlyLocalhost {
    fn ssl_connection_request(&self, e: &mut qbc_server::events::SslConnectionRequest) {
        self.0
            .lock()
            .unwrap()
            .push((e.server_name.clone(), e.cipher_suites.len()));
        e.accept = e.server_name.as_deref() == Some("localhost");
    }
}

#[tokio::test]
async fn ssl_connection_request_sees_the_hello_and_may_refuse() {
    let seen = Arc::new(OnlyLocalhost::default());
    let (s, pem) = tls_server_with(None, None, Some(seen.clone())).await;
    let r = https_post(s.addr, client(roots(&pem), None)).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    // Another name (the certificate holds 127.0.0.1 too): refused before
    // the handshake completes.
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let ip = ServerName::try_from("127.0.0.1").unwrap();
    let refused = TlsConnector::from(client(roots(&pem), None))
        .connect(ip, tcp)
        .await;
    assert!(refused.is_err(), "the handshake should fail");
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0.as_deref(), Some("localhost"));
    assert!(seen[0].1 > 0, "cipher suites offered: {seen:?}");
    // An IP address is not sent as SNI.
    assert_eq!(seen[1].0, None);
    // And the next client is served.
    assert_eq!(
        https_post(s.addr, client(roots(&pem), None))
            .await
            .unwrap()
            .status,
        200
    );
}

#[tokio::test]
async fn pinned_client_succeeds_unpinned_fails_plain_http_fails() {
    let (s, _) = tls_server(None, None).await;
    // Pin what `qbconnector cert export` prints.
    let exported = qbc_server::tls::export(&TlsConfig {
        cert: Some(s.dir.path().join("cert.pem")),
        ..TlsConfig::default()
    })
    .unwrap();
    let r = https_post(s.addr, client(roots(&exported), None))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("<HostQueryRs"));
    // Another certificate pinned: refused.
    let other = qbc_server::tls::generate(&["localhost".into()]).unwrap();
    let e = https_post(s.addr, client(roots(&other.cert_pem), None))
        .await
        .unwrap_err();
    assert!(e.contains("handshake"), "{e}");
    // Plain HTTP to the HTTPS port gets no answer.
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    assert!(send_on(tcp, "POST", "/", &[], &host_query()).await.is_err());
}

/// `openssl s_client` offering only the given protocol version.
fn openssl_handshake(addr: SocketAddr, flag: &str) -> Option<bool> {
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            flag,
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Some(text.contains("Cipher is ") && !text.contains("Cipher is (NONE)"))
}

#[tokio::test]
async fn tls_1_0_and_1_1_are_refused() {
    let (s, _) = tls_server(None, None).await;
    let addr = s.addr;
    let check = tokio::task::spawn_blocking(move || {
        (
            openssl_handshake(addr, "-tls1_2"),
            openssl_handshake(addr, "-tls1_1"),
            openssl_handshake(addr, "-tls1"),
        )
    })
    .await
    .unwrap();
    match check {
        (Some(v12), Some(v11), Some(v10)) => {
            assert!(v12, "the control: openssl does TLS 1.2 with the server");
            assert!(!v11, "TLS 1.1 handshake succeeded");
            assert!(!v10, "TLS 1.0 handshake succeeded");
        }
        _ => skip("openssl not found: TLS 1.0/1.1 refusal not checked here"),
    }
}

struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn ca(name: &str) -> Pki {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Pki {
        ca_pem: cert.pem(),
        issuer: rcgen::Issuer::new(params, key),
    }
}

fn client_cert(pki: &Pki, cn: &str) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    if !cn.contains(',') {
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Acme Corp");
    }
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn client_certificates_required() {
    let good = ca("Acme clients");
    let evil = ca("Acme clients"); // same name, other key
    let (s, server_pem) = tls_server(Some(&good.ca_pem), Some("CN=app1, O=Acme Corp")).await;
    let pinned = || roots(&server_pem);

    let (c, k) = client_cert(&good, "app1");
    let der = CertificateDer::from_pem_slice(c.as_bytes()).unwrap();
    assert!(
        qbc_server::tls::subject_matches(der.as_ref(), "CN=app1, O=Acme Corp"),
        "{:?}",
        qbc_server::tls::subject_attributes(der.as_ref())
    );
    let r = https_post(s.addr, client(pinned(), Some((&c, &k))))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);

    // No certificate, a certificate from another CA, the wrong subject.
    assert!(https_post(s.addr, client(pinned(), None)).await.is_err());
    let (c, k) = client_cert(&evil, "app1");
    assert!(https_post(s.addr, client(pinned(), Some((&c, &k))))
        .await
        .is_err());
    // A CN that spells the whole wanted subject is one attribute, not two.
    let (c, k) = client_cert(&good, "app1, O=Acme Corp");
    assert!(https_post(s.addr, client(pinned(), Some((&c, &k))))
        .await
        .is_err());
    let (c, k) = client_cert(&good, "app2");
    assert!(https_post(s.addr, client(pinned(), Some((&c, &k))))
        .await
        .is_err());
}

#[tokio::test]
async fn pkcs12_identity_loads() {
    // A PFX written by the same library that reads it, with a password.
    let dir = tempfile::tempdir().unwrap();
    let g = qbc_server::tls::generate(&["localhost".into()]).unwrap();
    let der = CertificateDer::from_pem_slice(g.cert_pem.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(g.key_pem.as_bytes()).unwrap();
    let cert = p12_keystore::Certificate::from_der(der.as_ref()).unwrap();
    let pk = p12_keystore::PrivateKey::from_der(key.secret_der()).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(b"id".to_vec(), pk, vec![cert]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry("qbc", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    let pfx = store.writer("pfx secret").write().unwrap();
    std::fs::write(dir.path().join("id.pfx"), pfx).unwrap();
    let mut tls = TlsConfig {
        pfx: Some(dir.path().join("id.pfx")),
        pfx_password: Some("pfx secret".into()),
        ..TlsConfig::default()
    };
    assert!(qbc_server::tls::server_config(&tls).is_ok());
    assert_eq!(
        qbc_server::tls::export(&tls).unwrap().trim(),
        g.cert_pem.trim()
    );
    tls.pfx_password = Some("wrong".into());
    let e = qbc_server::tls::server_config(&tls).err().unwrap();
    assert_eq!(e.key, "pfx");
}

/// A PKCS#12 store with one key entry per (alias, generated certificate).
fn pfx_of(entries: &[(&str, &qbc_server::tls::Generated)], password: &str) -> Vec<u8> {
    let mut store = p12_keystore::KeyStore::new();
    for (alias, g) in entries {
        let der = CertificateDer::from_pem_slice(g.cert_pem.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(g.key_pem.as_bytes()).unwrap();
        let cert = p12_keystore::Certificate::from_der(der.as_ref()).unwrap();
        let pk = p12_keystore::PrivateKey::from_der(key.secret_der()).unwrap();
        let chain = p12_keystore::PrivateKeyChain::new(alias.as_bytes().to_vec(), pk, vec![cert]);
        store.add_entry(alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    }
    store.writer(password).write().unwrap()
}

/// A server with this TLS material answers a client that trusts `pem`.
async fn serves_https(tls: TlsConfig, dir: tempfile::TempDir, pem: &str) {
    let mut cfg = config(dir.path());
    cfg.tls = Some(tls);
    let s = start_with(connector(cfg), dir, None, None).await;
    let r = https_post(s.addr, client(roots(pem), None)).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    s.running.shutdown().await;
}

#[tokio::test]
async fn certificates_as_pem_text_and_chosen_from_a_store_by_subject() {
    let local = qbc_server::tls::generate(&["localhost".into()]).unwrap();
    let alpha = qbc_server::tls::generate(&["alpha".into()]).unwrap();
    let export = |tls: &TlsConfig| qbc_server::tls::export(tls).unwrap();

    // PEM text in the file: the key apart, or after the chain.
    for tls in [
        TlsConfig {
            cert_pem: Some(local.cert_pem.clone()),
            key_pem: Some(local.key_pem.clone()),
            ..TlsConfig::default()
        },
        TlsConfig {
            cert_pem: Some(format!("{}{}", local.cert_pem, local.key_pem)),
            ..TlsConfig::default()
        },
    ] {
        serves_https(tls, tempfile::tempdir().unwrap(), &local.cert_pem).await;
    }
    let e = qbc_server::tls::server_config(&TlsConfig {
        cert_pem: Some(local.cert_pem.clone()),
        ..TlsConfig::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.key, "key_pem", "{}", e.message);

    // A store with two entries: by common name, by whole subject, "*".
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.pfx");
    std::fs::write(&path, pfx_of(&[("a", &alpha), ("b", &local)], "pw")).unwrap();
    let store = |subject: Option<&str>| TlsConfig {
        pfx: Some(path.clone()),
        pfx_password: Some("pw".into()),
        pfx_subject: subject.map(str::to_string),
        ..TlsConfig::default()
    };
    assert_eq!(
        export(&store(Some("localhost"))).trim(),
        local.cert_pem.trim()
    );
    assert_eq!(
        export(&store(Some("O=QBConnector, CN=alpha"))).trim(),
        alpha.cert_pem.trim()
    );
    assert_eq!(export(&store(Some("*"))).trim(), alpha.cert_pem.trim());
    assert_eq!(export(&store(None)).trim(), alpha.cert_pem.trim());
    let e = qbc_server::tls::server_config(&store(Some("CN=nobody")))
        .err()
        .unwrap();
    assert_eq!(e.key, "pfx_subject");
    assert!(
        e.message.contains("CN=alpha") && e.message.contains("CN=localhost"),
        "{}",
        e.message
    );
    // Served with the entry chosen.
    serves_https(store(Some("localhost")), dir, &local.cert_pem).await;
    // pfx_subject without pfx, and two forms at once, are refused.
    let e = qbc_server::tls::server_config(&TlsConfig {
        cert_pem: Some(local.cert_pem.clone()),
        key_pem: Some(local.key_pem.clone()),
        pfx_subject: Some("x".into()),
        ..TlsConfig::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.key, "pfx_subject");
    let e = qbc_server::tls::server_config(&TlsConfig {
        cert_pem: Some(local.cert_pem.clone()),
        pfx: Some(path.clone()),
        ..TlsConfig::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.key, "pfx");
}
