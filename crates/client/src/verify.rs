//! The seed's SSLServerAuthentication: the client checks the connector's
//! certificate as usual (the system's roots, or the pinned certificate),
//! then — if the owner set a hook — shows it the certificate with that
//! verdict, and the hook decides. "If the public key presented by the
//! QBConnector is trusted by the system, the Accept parameter will be
//! True. If it is not trusted … inspect the certificate and if valid,
//! override by setting Accept to True."
//!
//! Only the trust decision is the hook's: the handshake's signatures are
//! always checked (a peer must hold the key of the certificate it shows).

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex};

/// What the hook sees.
#[derive(Clone, Debug)]
pub struct ServerCertificate {
    /// DER of the connector's certificate.
    pub der: Vec<u8>,
    /// Subject and issuer in RFC 4514 form (`CN=qb.example.lan, O=Acme`).
    pub subject: String,
    pub issuer: String,
    /// Why the usual check refused it; empty when it is trusted.
    pub status: String,
    /// Whether the usual check trusts it (the hook's starting answer).
    pub trusted: bool,
}

/// The owner's decision about a certificate.
pub type Hook = Arc<dyn Fn(&ServerCertificate) -> bool + Send + Sync>;

/// The usual check, then the hook (when set).
#[derive(Debug)]
pub struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    pub hook: HookSlot,
}

/// Where the hook lives (it may be set after the client is made).
#[derive(Clone, Default)]
pub struct HookSlot(Arc<Mutex<Option<Hook>>>);

impl std::fmt::Debug for HookSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HookSlot")
    }
}

impl HookSlot {
    pub fn set(&self, hook: Option<Hook>) {
        let old = std::mem::replace(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()), hook);
        // Dropped after the lock (a hook may hold what reads the slot).
        drop(old);
    }

    fn get(&self) -> Option<Hook> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Verifier {
    pub fn new(inner: Arc<WebPkiServerVerifier>, hook: HookSlot) -> Verifier {
        Verifier { inner, hook }
    }
}

fn names(der: &[u8]) -> (String, String) {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => (c.subject().to_string(), c.issuer().to_string()),
        Err(_) => (String::new(), String::new()),
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let usual = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let Some(hook) = self.hook.get() else {
            return usual;
        };
        let (subject, issuer) = names(end_entity);
        let cert = ServerCertificate {
            der: end_entity.to_vec(),
            subject,
            issuer,
            status: usual
                .as_ref()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            trusted: usual.is_ok(),
        };
        if hook(&cert) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(usual.err().unwrap_or_else(|| {
                rustls::Error::General(
                    "the connector's certificate was refused by the client's \
                     ssl_server_authentication handler"
                        .into(),
                )
            }))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
