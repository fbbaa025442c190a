//! A backend that answers every request with one fixed response, at once.
//!
//! For tests and benchmarks: it measures the server alone, and it can be
//! told to hold each request for a while and to record how many run at the
//! same time, per company file and in all, which is how the tests see that
//! one company file's requests never interleave while different files run
//! in parallel.

use super::{
    Answer, Backend, BackendError, BackendErrorKind, BoxFuture, Health, OpenSettings, Request,
    SessionId,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub const DEFAULT_RESPONSE: &str = "<?xml version=\"1.0\" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<HostQueryRs requestID=\"1\" statusCode=\"0\" statusSeverity=\"Info\" statusMessage=\"Status OK\">\n<HostRet>\n<ProductName>QuickBooks Pro 2023</ProductName>\n<MajorVersion>33</MajorVersion>\n<MinorVersion>0</MinorVersion>\n<Country>US</Country>\n<SupportedQBXMLVersion>13.0</SupportedQBXMLVersion>\n<IsAutomaticLogin>false</IsAutomaticLogin>\n<QBFileMode>SingleUser</QBFileMode>\n</HostRet>\n</HostQueryRs>\n</QBXMLMsgsRs>\n</QBXML>\n";

pub struct MemoryBackend {
    response: Answer,
    hold: Duration,
    /// Hold each request until this many are in flight (or 10 s pass).
    wait_for: usize,
    next: AtomicU64,
    sessions: Mutex<HashMap<u64, String>>,
    in_flight: Mutex<HashMap<String, usize>>,
    total_in_flight: AtomicUsize,
    /// The most requests seen in flight for one company file.
    pub max_per_company: AtomicUsize,
    /// The most requests seen in flight in all.
    pub max_total: AtomicUsize,
    pub processed: AtomicU64,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend::new(DEFAULT_RESPONSE)
    }
}

impl MemoryBackend {
    /// Sessions opened since the start.
    pub fn sessions_opened(&self) -> u64 {
        self.next.load(Ordering::Relaxed) - 1
    }

    /// Sessions open now (opened and not closed).
    pub fn open_sessions(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn new(response: &str) -> MemoryBackend {
        MemoryBackend {
            response: Answer::from_xml(response.to_string()),
            hold: Duration::ZERO,
            wait_for: 0,
            next: AtomicU64::new(1),
            sessions: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            total_in_flight: AtomicUsize::new(0),
            max_per_company: AtomicUsize::new(0),
            max_total: AtomicUsize::new(0),
            processed: AtomicU64::new(0),
        }
    }

    /// Hold every request this long.
    pub fn holding(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// Hold every request until `n` are in flight together (10 s at most).
    pub fn waiting_for(mut self, n: usize) -> Self {
        self.wait_for = n;
        self
    }

    fn enter(&self, company: &str) {
        let per = {
            let mut m = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            // Without a new key when the file is known (most requests).
            match m.get_mut(company) {
                Some(n) => {
                    *n += 1;
                    *n
                }
                None => {
                    m.insert(company.to_string(), 1);
                    1
                }
            }
        };
        self.max_per_company.fetch_max(per, Ordering::SeqCst);
        let total = self.total_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_total.fetch_max(total, Ordering::SeqCst);
    }

    /// One request on a company file: counted, held as told, answered.
    async fn serve(&self, company: &str) -> Answer {
        self.enter(company);
        if self.wait_for > 0 {
            for _ in 0..1000 {
                if self.total_in_flight.load(Ordering::SeqCst) >= self.wait_for {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if !self.hold.is_zero() {
            tokio::time::sleep(self.hold).await;
        }
        self.leave(company);
        self.processed.fetch_add(1, Ordering::Relaxed);
        self.response.clone()
    }

    fn leave(&self, company: &str) {
        let mut m = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(company) {
            *n -= 1;
        }
        self.total_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn company_key(&self, settings: &OpenSettings) -> Result<String, BackendError> {
        if settings.company_file.contains("..") {
            return Err(BackendError::new(
                BackendErrorKind::Settings,
                None,
                "a company file name may not contain `..`",
            ));
        }
        Ok(settings.company_file.clone())
    }

    fn open(&self, settings: OpenSettings) -> BoxFuture<'_, Result<SessionId, BackendError>> {
        Box::pin(async move {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let key = self.company_key(&settings)?;
            self.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, key);
            Ok(SessionId(id))
        })
    }

    fn process(
        &self,
        session: SessionId,
        _request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        Box::pin(async move {
            let company = self
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&session.0)
                .cloned()
                .ok_or_else(BackendError::invalid_session)?;
            Ok(self.serve(&company).await)
        })
    }

    /// Without a session to open and close: what it would record is
    /// nothing a test reads.
    fn once(
        &self,
        settings: OpenSettings,
        _request: Request,
    ) -> BoxFuture<'_, Result<Answer, BackendError>> {
        Box::pin(async move {
            self.company_key(&settings)?;
            Ok(self.serve(&settings.company_file).await)
        })
    }

    fn close(&self, session: SessionId) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&session.0);
        })
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async { Health::Ok })
    }
}
