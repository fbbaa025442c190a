//! The seed's `ConnectedToQB`: one QuickBooks session the connector keeps
//! open for everyone.
//!
//! Without it, a request without a ticket opens a session, sends its
//! message set and closes the session; against real QuickBooks an open
//! costs a second or more (a cold start 10–30 s). With it, requests whose
//! settings open the default connection's company file the same way (the
//! same application, AppID, file mode and AuthFlags) are sent on one
//! session the connector opened, in that file's lane as always, so they
//! never overlap. The session opens with the first such request; when
//! QuickBooks drops it (the backend then answers 0x8004040D: nothing was
//! done), it is opened again and the request sent again. Read-only users
//! share it: the connector's read-only rule, which refuses every write
//! before QuickBooks sees it, is what keeps them read-only there (the
//! session is opened read-write, for everyone).
//!
//! Turning it off, or changing the default connection while listening,
//! retires the session: it is closed in its file's turn, and a request
//! that had already chosen it is sent on a session of its own instead —
//! a retired session is never opened again.

use crate::backend::{
    Answer, Backend, BackendError, BackendErrorKind, OpenSettings, Request, SessionId,
};
use crate::config::DefaultConnection;
use crate::ConnectionString;
use std::sync::Arc;

pub struct Persistent {
    /// The company file's key: the lane its requests run in.
    key: String,
    settings: OpenSettings,
    session: tokio::sync::Mutex<Slot>,
}

enum Slot {
    Closed,
    Open(SessionId),
    /// Closed for good (turned off, replaced, shutdown).
    Retired,
}

impl Persistent {
    /// For the default connection's settings.
    pub fn new(backend: &dyn Backend, default: &DefaultConnection) -> Result<Persistent, String> {
        let c = ConnectionString::parse(&default.connection)
            .map_err(|e| format!("default_connection.connection: {}", e.0))?;
        let settings = OpenSettings {
            company_file: c.company_file.unwrap_or_default(),
            application_name: c.application_name.unwrap_or_else(|| "QBConnector".into()),
            app_id: c.app_id.unwrap_or_default(),
            mode: c.connection_mode.unwrap_or_default(),
            read_only: false,
            auth_flags: c.auth_flags,
            user: String::new(),
            shared: true,
        };
        let key = backend
            .company_key(&settings)
            .map_err(|e| format!("connected_to_qb: the default connection's company file: {e}"))?;
        Ok(Persistent {
            key,
            settings,
            session: tokio::sync::Mutex::new(Slot::Closed),
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether a request that would open `s` (on the file `key`) goes on
    /// this session: the same file, opened the same way, and no iterator
    /// in it (iterators live in their session: on a shared one they would
    /// pile up for everyone until shutdown; a ticket is their place).
    pub fn serves(&self, key: &str, s: &OpenSettings, request: &Request) -> bool {
        let p = &self.settings;
        key == self.key
            && s.application_name == p.application_name
            && s.app_id == p.app_id
            && s.mode == p.mode
            && s.auth_flags == p.auth_flags
            && !request
                .requests()
                .any(|r| r.element().attr("iterator").is_some())
    }

    /// Send a request on the session, opening it first if it is not open;
    /// on a session of its own (`own`) if this one is retired. Called in
    /// the file's lane.
    pub async fn process(
        &self,
        backend: &Arc<dyn Backend>,
        own: OpenSettings,
        request: Request,
    ) -> Result<Answer, BackendError> {
        let mut slot = self.session.lock().await;
        let mut reopened = false;
        loop {
            let id = match &*slot {
                Slot::Open(id) => id.clone(),
                Slot::Closed => {
                    let id = backend.open(self.settings.clone()).await?;
                    *slot = Slot::Open(id.clone());
                    id
                }
                Slot::Retired => {
                    drop(slot);
                    return backend.once(own, request).await;
                }
            };
            match backend.process(id, request.clone()).await {
                // The backend no longer has the session (QuickBooks
                // dropped it under an earlier request): nothing was done
                // with this one. Open it again and send it there.
                Err(e)
                    if e.kind == BackendErrorKind::Request
                        && e.hresult == Some(qbxml::HResult(0x8004_040D))
                        && !reopened =>
                {
                    *slot = Slot::Closed;
                    reopened = true;
                }
                out => return out,
            }
        }
    }

    /// Close the session if it is open, for good. Called in the file's
    /// lane.
    pub async fn close(&self, backend: &Arc<dyn Backend>) {
        let mut slot = self.session.lock().await;
        if let Slot::Open(id) = std::mem::replace(&mut *slot, Slot::Retired) {
            backend.close(id).await;
        }
    }
}
