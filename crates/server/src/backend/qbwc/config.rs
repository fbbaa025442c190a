//! `[backend.qbwc]`: the Web Connector bridge's settings, and the company
//! files it serves (`[[backend.qbwc.companies]]`), each with the Web
//! Connector user that fetches its work.

use crate::auth::PasswordHash;
use serde::Deserialize;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QbwcConfig {
    /// The SOAP endpoint's path on the connector's address (AppURL).
    pub path: String,
    /// Seconds a client's request waits for its answer, at most (a client
    /// may ask for less with `X-QB-Timeout`). Not taken by then: 503,
    /// nothing sent; taken but not answered: 504, the answer kept.
    pub wait_secs: u64,
    /// A company file whose Web Connector has not called for this long is
    /// offline: its clients get 503 `QBC_QBWC_OFFLINE` at once.
    pub offline_after_secs: u64,
    /// While clients are active (a request or an open session within this
    /// many seconds), a Web Connector session is kept open with `NoOp`:
    /// QBWC asks again every 5 s. 0: never (QBWC comes at its schedule).
    pub keep_alive_secs: u64,
    /// Hold an empty `sendRequestXML` open up to this many seconds for a
    /// job to arrive (0: off, the default). Not verified against a real
    /// Web Connector; keep it well below its HTTP timeout (100 s).
    pub long_poll_secs: u64,
    /// The jobs, their answers and the Web Connector sessions, in SQLite;
    /// relative to `backend.data_dir`. Empty: in memory only.
    pub state_file: String,
    /// Days a finished job (and its answer) is kept in `state_file`.
    pub keep_days: u64,
    /// The largest receiveResponseXML call, in bytes: it carries
    /// QuickBooks' whole answer, escaped (so larger than the answer). Other
    /// calls have `max_request_bytes`.
    pub max_soap_bytes: usize,
    /// Seconds a receiveResponseXML body may take to arrive (a large answer
    /// over a slow link). Other calls have `request_timeout_secs`.
    pub answer_timeout_secs: u64,
    /// The company file a client that names none gets; empty: the only
    /// company, when there is one.
    pub default_company: String,
    pub companies: Vec<QbwcCompany>,
}

impl Default for QbwcConfig {
    fn default() -> QbwcConfig {
        QbwcConfig {
            path: "/qbwc".into(),
            wait_secs: 90,
            offline_after_secs: 150,
            keep_alive_secs: 300,
            long_poll_secs: 0,
            state_file: "qbwc.sqlite".into(),
            keep_days: 7,
            max_soap_bytes: 128 * 1024 * 1024,
            answer_timeout_secs: 600,
            default_company: String::new(),
            companies: Vec::new(),
        }
    }
}

/// One company file served through its own Web Connector.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QbwcCompany {
    /// What clients call it (their CompanyFile); unique.
    pub name: String,
    /// The Web Connector's user name (the .qwc's UserName) … A user that
    /// serves several company files logs in only through each one's own
    /// path (`/qbwc/<name>`), which tells them apart.
    pub user: String,
    /// … and its password as argon2id (`qbconnector hash-password`).
    pub password_hash: String,
    /// The path the Web Connector reports (strCompanyFileName), checked on
    /// a session's first call; empty: not checked. Also what authenticate
    /// answers (empty: the file open in QuickBooks).
    pub company_file: String,
    /// The .qwc's FileID and OwnerID (GUIDs); empty: stable ones derived
    /// from `name`. A different FileID on the company record ends the
    /// session before anything is sent.
    pub file_id: String,
    pub owner_id: String,
    /// Checked against CompanyRet/CompanyName when set.
    pub company_name: String,
    /// Reads only: writes are refused here, and the .qwc says IsReadOnly.
    pub read_only: bool,
}

impl QbwcCompany {
    pub fn file_id(&self) -> String {
        if self.file_id.is_empty() {
            qbwc::qwc::stable_guid(&format!("file:{}", self.name.to_lowercase()))
        } else {
            self.file_id.clone()
        }
    }

    pub fn owner_id(&self) -> String {
        if self.owner_id.is_empty() {
            qbwc::qwc::stable_guid(&format!("owner:{}", self.name.to_lowercase()))
        } else {
            self.owner_id.clone()
        }
    }
}

impl QbwcConfig {
    /// The company file's own endpoint: `/qbwc/<name>`, the name
    /// percent-encoded.
    pub fn company_path(&self, name: &str) -> String {
        let mut p = format!("{}/", self.path.trim_end_matches('/'));
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                p.push(b as char);
            } else {
                p.push_str(&format!("%{b:02X}"));
            }
        }
        p
    }

    pub fn wait(&self) -> Duration {
        Duration::from_secs(self.wait_secs)
    }

    /// Every problem, as (key under `backend.qbwc`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((k.to_string(), m));
        if !self.path.starts_with('/') || self.path.len() < 2 || self.path.contains(['?', '#']) {
            bad(
                "path",
                format!("`{}` is not a path such as /qbwc", self.path),
            );
        }
        for (k, v, lo, hi) in [
            ("wait_secs", self.wait_secs, 1, 3600),
            ("offline_after_secs", self.offline_after_secs, 1, 86_400),
            ("keep_alive_secs", self.keep_alive_secs, 0, 86_400),
            ("long_poll_secs", self.long_poll_secs, 0, 60),
            ("keep_days", self.keep_days, 1, 3650),
            (
                "max_soap_bytes",
                self.max_soap_bytes as u64,
                65_536,
                1 << 31,
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                bad(k, format!("{v}: from {lo} to {hi}"));
            }
        }
        if self.long_poll_secs >= self.offline_after_secs && self.long_poll_secs > 0 {
            bad(
                "long_poll_secs",
                "must be below offline_after_secs (a held call is the only contact)".into(),
            );
        }
        if self.companies.is_empty() {
            bad(
                "companies",
                "no company file: add a [[backend.qbwc.companies]] with name, user and \
                 password_hash"
                    .into(),
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.companies.iter().enumerate() {
            let key = |k: &str| format!("companies[{i}].{k}");
            if c.name.trim().is_empty()
                || c.name.len() > 200
                || c.name.chars().any(char::is_control)
            {
                bad(
                    &key("name"),
                    "a name is not empty, at most 200 bytes, no control characters".into(),
                );
            }
            if !names.insert(c.name.to_lowercase()) {
                bad(&key("name"), format!("`{}` appears twice", c.name));
            }
            if c.user.trim().is_empty() || c.user.len() > crate::auth::MAX_NAME {
                bad(
                    &key("user"),
                    "the Web Connector's user name is missing or too long".into(),
                );
            }
            if let Err(e) = PasswordHash::parse(&c.password_hash) {
                bad(&key("password_hash"), e);
            }
            for (k, v) in [("file_id", &c.file_id), ("owner_id", &c.owner_id)] {
                if !v.is_empty() && !qbwc::qwc::is_guid(v) {
                    bad(
                        &key(k),
                        format!("`{v}` is not a GUID such as {{6A2A2B16-…}}"),
                    );
                }
            }
        }
        if !self.default_company.is_empty()
            && !self
                .companies
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&self.default_company))
        {
            bad(
                "default_company",
                format!("`{}` is not one of the companies", self.default_company),
            );
        }
        out
    }
}
