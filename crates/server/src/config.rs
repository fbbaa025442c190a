//! The configuration file (`qbconnector.toml`) and its checks.
//!
//! Parsing is strict (an unknown key is an error, so a typo never silently
//! leaves a default in place); [`Config::check`] then says precisely what
//! is wrong with values that parse but cannot work. Relative paths are
//! relative to the configuration file's directory.

use crate::auth::PasswordHash;
use crate::connstr::{ConnectionMode, ConnectionString};
use ipnet::IpNet;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: String,
    /// Seconds a client has to send a request's headers and body (408);
    /// also bounds the TLS handshake.
    pub request_timeout_secs: u64,
    /// Largest request body, in bytes (413).
    pub max_request_bytes: usize,
    /// Clients allowed to connect: IP addresses and CIDR blocks. Empty: any.
    pub allowed_clients: Vec<String>,
    /// Seconds the backend may take to answer (504).
    pub backend_timeout_secs: u64,
    /// Requests that may wait for one company file (503 beyond).
    pub queue_depth: usize,
    /// Seconds a request may wait for its company file (503 after).
    pub queue_wait_secs: u64,
    /// Seconds an unused persistent session (ticket) lives.
    pub session_idle_secs: u64,
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: one /64) at most,
    /// so that one client cannot take every slot.
    pub max_connections_per_client: usize,
    pub tls: Option<TlsConfig>,
    pub auth: AuthConfig,
    /// The seed's DefaultConnectionString: settings for users that the
    /// authorization hook accepts but that are not in the list.
    pub default_connection: DefaultConnection,
    pub backend: BackendConfig,
    pub metrics: MetricsConfig,
    /// Scheduled online backups of the company files (`backup.rs`).
    pub backup: BackupConfig,
    pub users: Vec<UserConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:2080".into(),
            request_timeout_secs: 30,
            max_request_bytes: 10 * 1024 * 1024,
            allowed_clients: Vec::new(),
            backend_timeout_secs: 120,
            queue_depth: 1024,
            queue_wait_secs: 60,
            session_idle_secs: 600,
            max_connections: 4096,
            max_connections_per_client: 1024,
            tls: None,
            auth: AuthConfig::default(),
            default_connection: DefaultConnection::default(),
            backend: BackendConfig::default(),
            metrics: MetricsConfig::default(),
            backup: BackupConfig::default(),
            users: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (server certificate first) …
    pub cert: Option<PathBuf>,
    /// … and its PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// Or the same as PEM text in the file (the seed's `ssl_cert_encoded`):
    /// the chain, optionally followed by its private key …
    pub cert_pem: Option<String>,
    /// … and the key as PEM text, when it is not in `cert_pem` or `key`.
    pub key_pem: Option<String>,
    /// Or a PKCS#12 / PFX file holding both …
    pub pfx: Option<PathBuf>,
    /// … the entry to use when it holds several (the seed's
    /// `ssl_cert_subject`): its certificate's subject in RFC 4514 form
    /// (`CN=host, O=Acme`), or just its common name; `*` (or unset) for
    /// the first, by alias …
    pub pfx_subject: Option<String>,
    /// … and its password (or the name of an environment variable that
    /// holds it, so it need not sit in the file).
    pub pfx_password: Option<String>,
    pub pfx_password_env: Option<String>,
    /// PEM certificates of the CAs that sign client certificates: when set,
    /// clients must present a certificate signed by one of them.
    pub client_ca: Option<PathBuf>,
    /// When set, the client certificate's subject must equal this
    /// (RFC 4514 form, e.g. `CN=app1, O=Acme`; compared case-insensitively).
    pub client_subject: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Failed attempts (per client address, and per user name) before a
    /// lockout.
    pub max_failures: u32,
    /// Seconds a lockout lasts; failures older than this are forgotten.
    pub lockout_secs: u64,
    /// Seconds a verified password is remembered (as a keyed hash).
    pub cache_secs: u64,
    /// Windows users (`auth_mode = "windows"`): LogonUser with an
    /// interactive logon instead of a network logon (the seed's
    /// UseInteractiveLogon).
    pub use_interactive_logon: bool,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            max_failures: 10,
            lockout_secs: 300,
            cache_secs: 60,
            use_interactive_logon: false,
        }
    }
}

/// `[backup]`: consistent copies of the company files, made while the
/// connector serves (`backup.rs`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Where backups go: one folder per backup, named by its UTC time
    /// (`2026-12-05T031500Z`). Empty: no scheduled backups (SIGUSR1 and
    /// `qbconnector backup --out` still make one).
    pub dir: PathBuf,
    /// Hours between scheduled backups, the first one that long after
    /// listening starts (0: none scheduled).
    pub every_hours: u64,
    /// Backups kept in `dir`: once a new one is complete, the oldest
    /// beyond this many are removed (0: keep them all).
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> BackupConfig {
        BackupConfig {
            dir: PathBuf::new(),
            every_hours: 24,
            keep: 7,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultConnection {
    /// QBConnectionString syntax.
    pub connection: String,
    pub read_only: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Simulator,
    /// Answers every request with a fixed response: tests and benchmarks.
    Memory,
    /// QuickBooks Desktop through its request processor (QBXMLRP2) over
    /// COM: the Windows build, on the machine that runs QuickBooks.
    Com,
    /// QuickBooks on another machine, through the QuickBooks Web
    /// Connector, which calls the connector's SOAP endpoint
    /// (`[backend.qbwc]`).
    Qbwc,
}

/// Why `kind = "com"` fails elsewhere.
pub const COM_NEEDS_WINDOWS: &str = "the com backend drives QuickBooks through COM \
     and needs the Windows build of qbconnector, on the machine that runs QuickBooks";

/// `[backend.com]`: how the COM backend talks to QuickBooks (the seed's
/// and the Remote Connector's settings).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComConfig {
    /// The request processor's ProgID.
    pub progid: String,
    /// OpenConnection2 with localQBDLaunchUI (start QuickBooks' window and
    /// ask for a login when it is not running) instead of localQBD.
    pub launch_ui: bool,
    /// PutUnattendedModePref: `optional` or `required`.
    pub unattended_mode: String,
    /// PutPersonalDataPref: `notneeded`, `optional` or `required`.
    pub personal_data: String,
    /// PutAuthFlags when the connection settings give none: the editions
    /// the application supports (0xF: all four), plus 0x80000000 to force
    /// the authorization dialog.
    pub auth_flags: u32,
    /// CloseAndRetryConnect: when opening fails with one of
    /// `close_and_retry_errors`, end QuickBooks and try again.
    pub close_and_retry_connect: bool,
    pub close_and_retry_count: u32,
    /// Seconds to wait for QuickBooks to exit after ending it.
    pub close_and_retry_timeout_secs: u64,
    /// HRESULTs, as `0x80040408`.
    pub close_and_retry_errors: Vec<String>,
    /// Accept company files on network shares (`\\server\share\…`).
    pub allow_unc: bool,
    /// Seconds a call into QuickBooks may run before health says down.
    pub hung_after_secs: u64,
}

impl Default for ComConfig {
    fn default() -> ComConfig {
        let d = crate::backend::com::ComSettings::default();
        ComConfig {
            progid: "QBXMLRP2.RequestProcessor".into(),
            launch_ui: d.launch_ui,
            unattended_mode: "optional".into(),
            personal_data: "notneeded".into(),
            auth_flags: d.auth_flags,
            close_and_retry_connect: d.close_and_retry,
            close_and_retry_count: d.retry_count,
            close_and_retry_timeout_secs: 30,
            close_and_retry_errors: d
                .retry_errors
                .iter()
                .map(|h| format!("{h:#010X}").replace("0X", "0x"))
                .collect(),
            allow_unc: d.allow_unc,
            hung_after_secs: d.hung_after.as_secs(),
        }
    }
}

impl ComConfig {
    /// The backend's settings, or what is wrong (key, message).
    pub fn settings(&self) -> Result<crate::backend::com::ComSettings, String> {
        use crate::backend::com::typelib as t;
        let unattended_mode = match self.unattended_mode.to_ascii_lowercase().as_str() {
            "optional" => t::UMP_OPTIONAL,
            "required" => t::UMP_REQUIRED,
            o => {
                return Err(format!(
                    "unattended_mode: `{o}` is not optional or required"
                ))
            }
        };
        let personal_data = match self.personal_data.to_ascii_lowercase().as_str() {
            "notneeded" => t::PDP_NOT_NEEDED,
            "optional" => t::PDP_OPTIONAL,
            "required" => t::PDP_REQUIRED,
            o => {
                return Err(format!(
                    "personal_data: `{o}` is not notneeded, optional or required"
                ))
            }
        };
        let mut retry_errors = Vec::new();
        for e in &self.close_and_retry_errors {
            let hex = e
                .strip_prefix("0x")
                .or_else(|| e.strip_prefix("0X"))
                .unwrap_or(e);
            match u32::from_str_radix(hex, 16) {
                Ok(v) => retry_errors.push(v),
                Err(_) => {
                    return Err(format!(
                        "close_and_retry_errors: `{e}` is not an HRESULT such as 0x80040408"
                    ))
                }
            }
        }
        if self.progid.trim().is_empty() {
            return Err("progid: empty".into());
        }
        if self.close_and_retry_count > 10 {
            return Err("close_and_retry_count: at most 10".into());
        }
        if !(1..=86_400).contains(&self.hung_after_secs) {
            return Err("hung_after_secs: from 1 to 86400".into());
        }
        if self.close_and_retry_timeout_secs > 300 {
            return Err("close_and_retry_timeout_secs: at most 300".into());
        }
        if self.auth_flags & !(0xF | crate::backend::com::FORCE_AUTH_DIALOG) != 0 {
            return Err(format!(
                "auth_flags: {:#x} has bits other than SimpleStart 0x1, Pro 0x2, Premier 0x4, \
                 Enterprise 0x8 and ForceAuthDialog 0x80000000",
                self.auth_flags
            ));
        }
        if self.auth_flags & 0xF == 0 {
            // A client may only narrow these: none would let no one in.
            return Err(format!(
                "auth_flags: {:#x} allows no QuickBooks edition (SimpleStart 0x1, Pro 0x2, \
                 Premier 0x4, Enterprise 0x8; 0xF allows all)",
                self.auth_flags
            ));
        }
        Ok(crate::backend::com::ComSettings {
            launch_ui: self.launch_ui,
            unattended_mode,
            personal_data,
            auth_flags: self.auth_flags,
            close_and_retry: self.close_and_retry_connect,
            retry_count: self.close_and_retry_count,
            retry_errors,
            allow_unc: self.allow_unc,
            hung_after: std::time::Duration::from_secs(self.hung_after_secs),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// Simulator: the directory that holds the company files. A company
    /// file name never leaves it.
    pub data_dir: PathBuf,
    /// Simulator: the company file used when neither the user nor the
    /// client names one ("the file open in QuickBooks").
    pub default_company: String,
    /// Simulator: create a company file that does not exist (QuickBooks
    /// would answer 0x80040408).
    pub create_missing: bool,
    /// Simulator: company files open at once, at most (the least recently
    /// used idle one is closed to open another; when all are in use, 503).
    pub max_open_companies: usize,
    /// Simulator: company files one user may hold open at once (sessions
    /// and requests in flight on distinct files; 503 beyond).
    pub max_open_per_user: usize,
    /// Simulator: `create_missing` adds no company file once the data
    /// directory holds this many (0: no limit).
    pub max_company_files: usize,
    /// Simulator: the largest answer one message set may build (0: no
    /// limit); a query past it is answered with status 1000.
    pub max_response_bytes: usize,
    /// The seed's `ConnectedToQB`: keep one QuickBooks session open on
    /// the default connection's company file, for every request without
    /// a ticket that opens it the same way (`persistent.rs`).
    pub connected_to_qb: bool,
    /// COM: `[backend.com]`.
    pub com: ComConfig,
    /// The Web Connector bridge: `[backend.qbwc]`.
    pub qbwc: crate::backend::qbwc::QbwcConfig,
}

impl Default for BackendConfig {
    fn default() -> BackendConfig {
        BackendConfig {
            kind: BackendKind::Simulator,
            data_dir: PathBuf::from("data"),
            default_company: "company.qbw".into(),
            create_missing: false,
            max_open_companies: 256,
            max_open_per_user: 32,
            max_company_files: 1000,
            max_response_bytes: 32 * 1024 * 1024,
            connected_to_qb: false,
            com: ComConfig::default(),
            qbwc: Default::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` without credentials on this separate address
    /// (e.g. `127.0.0.1:9180`). Unset: `/metrics` on the main address,
    /// for configured users only.
    pub listen: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// The seed's amNormal: the password is checked against the hash here.
    #[default]
    Normal,
    /// The seed's amWindows: Windows checks the credentials (LogonUser).
    Windows,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    /// argon2id in PHC form (`$argon2id$v=19$m=…`); `qbconnector user add`
    /// writes it. Never a plain password.
    #[serde(default)]
    pub password_hash: String,
    #[serde(default)]
    pub auth_mode: AuthMode,
    /// The seed's AuthorizedUserQBConnectionString, whole: every key is
    /// kept and read back as given (AppID, AuthFlags, keys the connector
    /// does not use). `company_file`, `application_name` and
    /// `connection_mode` below, when set, take precedence over it.
    #[serde(default)]
    pub connection: String,
    /// The company file this user's requests go to.
    #[serde(default)]
    pub company_file: Option<String>,
    /// May the client name the company file (X-QB-Connection CompanyFile)
    /// when `company_file` is not set?
    #[serde(default)]
    pub client_company_file: bool,
    #[serde(default)]
    pub application_name: Option<String>,
    #[serde(default)]
    pub connection_mode: Option<String>,
    #[serde(default)]
    pub read_only: bool,
}

impl UserConfig {
    /// A user with a password hash and a whole connection string.
    pub fn new(name: &str, password_hash: &str, connection: &str, read_only: bool) -> UserConfig {
        UserConfig {
            name: name.to_string(),
            password_hash: password_hash.to_string(),
            auth_mode: AuthMode::Normal,
            connection: connection.to_string(),
            company_file: None,
            client_company_file: false,
            application_name: None,
            connection_mode: None,
            read_only,
        }
    }

    /// The user's server-side connection settings: `connection`, with the
    /// separate keys over it. (`check` has refused a string that does not
    /// parse.)
    pub fn connection(&self) -> ConnectionString {
        let whole = ConnectionString::parse(&self.connection).unwrap_or_default();
        let own = ConnectionString {
            application_name: self.application_name.clone(),
            company_file: self.company_file.clone(),
            connection_mode: self
                .connection_mode
                .as_deref()
                .and_then(ConnectionMode::parse),
            ..ConnectionString::default()
        };
        let mut c = own.or(&whole);
        c.extra = whole.extra;
        c
    }

    /// The connection string as the seed's
    /// AuthorizedUserQBConnectionString reads it back: as given when only
    /// `connection` holds settings, else written from all of them.
    pub fn connection_string(&self) -> String {
        if self.company_file.is_none()
            && self.application_name.is_none()
            && self.connection_mode.is_none()
        {
            self.connection.clone()
        } else {
            self.connection().to_string()
        }
    }

    /// Set the whole string: the separate keys go (they are in it now).
    pub fn set_connection(&mut self, connection: &str) {
        self.connection = connection.to_string();
        self.company_file = None;
        self.application_name = None;
        self.connection_mode = None;
    }
}

/// One thing wrong with a configuration, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The key, e.g. `users[2].password_hash` or `tls.cert`.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a configuration could not be used.
#[derive(Debug)]
pub enum ConfigError {
    Read(PathBuf, std::io::Error),
    /// TOML syntax or an unknown key or a wrong type (the message names
    /// the line and key).
    Parse(PathBuf, String),
    Invalid(Vec<Problem>),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            ConfigError::Parse(p, e) => write!(f, "{}: {e}", p.display()),
            ConfigError::Invalid(ps) => {
                for (i, p) in ps.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Read and parse a file; relative paths become relative to its
    /// directory. Does not run [`Config::check`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
        let mut config =
            Config::parse(&text).map_err(|e| ConfigError::Parse(path.to_path_buf(), e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.rebase(base);
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// Make relative paths relative to `base`.
    pub fn rebase(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.backend.data_dir);
        // Empty is "none", not the configuration's folder.
        if !self.backup.dir.as_os_str().is_empty() {
            fix(&mut self.backup.dir);
        }
        if let Some(tls) = &mut self.tls {
            for p in [
                &mut tls.cert,
                &mut tls.key,
                &mut tls.pfx,
                &mut tls.client_ca,
            ]
            .into_iter()
            .flatten()
            {
                fix(p);
            }
        }
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        parse_listen(&self.listen)
    }

    pub fn allowed(&self) -> Result<Vec<IpNet>, String> {
        self.allowed_clients.iter().map(|s| parse_net(s)).collect()
    }

    /// Every problem found, not only the first. Loads the TLS material to
    /// be sure it works.
    pub fn check(&self) -> Vec<Problem> {
        let mut ps = Vec::new();
        let mut bad = |key: &str, message: String| {
            ps.push(Problem {
                key: key.to_string(),
                message,
            })
        };
        if let Err(e) = self.listen_addr() {
            bad("listen", e);
        }
        for (i, c) in self.allowed_clients.iter().enumerate() {
            if let Err(e) = parse_net(c) {
                bad(&format!("allowed_clients[{i}]"), e);
            }
        }
        const WEEK: u64 = 7 * 24 * 3600;
        for (key, v, min, max) in [
            ("request_timeout_secs", self.request_timeout_secs, 1, WEEK),
            ("backend_timeout_secs", self.backend_timeout_secs, 1, WEEK),
            ("queue_wait_secs", self.queue_wait_secs, 1, WEEK),
            ("session_idle_secs", self.session_idle_secs, 1, WEEK),
            ("auth.lockout_secs", self.auth.lockout_secs, 1, WEEK),
            ("auth.cache_secs", self.auth.cache_secs, 0, WEEK),
            (
                "auth.max_failures",
                u64::from(self.auth.max_failures),
                1,
                1_000_000,
            ),
            (
                "max_request_bytes",
                self.max_request_bytes as u64,
                64,
                1 << 30,
            ),
            ("queue_depth", self.queue_depth as u64, 1, 1_000_000),
            ("max_connections", self.max_connections as u64, 1, 1_000_000),
            (
                "max_connections_per_client",
                self.max_connections_per_client as u64,
                1,
                1_000_000,
            ),
            (
                "backend.max_open_companies",
                self.backend.max_open_companies as u64,
                1,
                100_000,
            ),
            (
                "backend.max_open_per_user",
                self.backend.max_open_per_user as u64,
                1,
                100_000,
            ),
            ("backup.every_hours", self.backup.every_hours, 0, 24 * 366),
            ("backup.keep", self.backup.keep as u64, 0, 100_000),
        ] {
            if v < min || v > max {
                bad(key, format!("{v} is outside {min}..={max}"));
            }
        }
        if let Some(tls) = &self.tls {
            if let Err(e) = crate::tls::server_config(tls) {
                bad(&format!("tls.{}", e.key), e.message);
            }
        }
        if let Some(l) = &self.metrics.listen {
            if let Err(e) = parse_listen(l) {
                bad("metrics.listen", e);
            }
        }
        if let Err(e) = ConnectionString::parse(&self.default_connection.connection) {
            bad("default_connection.connection", e.0);
        }
        if self.backend.kind == BackendKind::Com {
            if !cfg!(windows) {
                bad("backend.kind", COM_NEEDS_WINDOWS.into());
            }
            if let Err(e) = self.backend.com.settings() {
                let (k, m) = e.split_once(": ").unwrap_or(("", &e));
                bad(&format!("backend.com.{k}"), m.to_string());
            }
        }
        if self.backend.kind == BackendKind::Qbwc {
            for (k, m) in self.backend.qbwc.problems() {
                bad(&format!("backend.qbwc.{k}"), m);
            }
            if self.backend.connected_to_qb {
                bad(
                    "backend.connected_to_qb",
                    "the Web Connector bridge keeps its own sessions (keep_alive_secs); \
                     connected_to_qb cannot be used with it"
                        .into(),
                );
            }
        }
        if self.backend.kind == BackendKind::Simulator {
            if let Err(e) = crate::backend::names::check_name(&self.backend.default_company) {
                bad("backend.default_company", e);
            }
            if self.backend.data_dir.exists() && !self.backend.data_dir.is_dir() {
                bad(
                    "backend.data_dir",
                    format!("{} is not a directory", self.backend.data_dir.display()),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            let key = |k: &str| format!("users[{i}].{k}");
            if u.name.is_empty()
                || u.name.contains(':')
                || u.name.chars().any(char::is_control)
                || u.name.len() > crate::auth::MAX_NAME
            {
                bad(
                    &key("name"),
                    format!(
                        "`{}`: a user name is not empty, at most {} bytes, and has no `:` or \
                         control characters",
                        u.name.escape_debug(),
                        crate::auth::MAX_NAME
                    ),
                );
            }
            if !seen.insert(u.name.to_lowercase()) {
                bad(&key("name"), format!("`{}` appears twice", u.name));
            }
            match u.auth_mode {
                AuthMode::Normal => {
                    if let Err(e) = PasswordHash::parse(&u.password_hash) {
                        bad(&key("password_hash"), e);
                    }
                }
                AuthMode::Windows if cfg!(windows) => {
                    if !u.password_hash.is_empty() {
                        bad(
                            &key("password_hash"),
                            "a Windows user's password is checked by Windows; remove the hash"
                                .into(),
                        );
                    }
                }
                AuthMode::Windows => {
                    bad(
                        &key("auth_mode"),
                        "windows authentication (LogonUser) needs the Windows build; \
                         use auth_mode = \"normal\""
                            .into(),
                    );
                }
            }
            if let Some(m) = &u.connection_mode {
                if ConnectionMode::parse(m).is_none() {
                    bad(
                        &key("connection_mode"),
                        format!("`{m}` is not one of dontcare, single, multi"),
                    );
                }
            }
            if let Err(e) = ConnectionString::parse(&u.connection) {
                bad(&key("connection"), e.0);
            }
            if let Some(f) = &u.connection().company_file {
                let checked = match self.backend.kind {
                    BackendKind::Simulator => crate::backend::names::check_name(f),
                    BackendKind::Com => {
                        crate::backend::com::check_company_path(f, self.backend.com.allow_unc)
                    }
                    BackendKind::Memory => Ok(()),
                    BackendKind::Qbwc => {
                        let q = &self.backend.qbwc;
                        if q.companies.iter().any(|c| c.name.eq_ignore_ascii_case(f)) {
                            Ok(())
                        } else {
                            Err(format!("`{f}` is not one of backend.qbwc.companies"))
                        }
                    }
                };
                if let Err(e) = checked {
                    bad(&key("company_file"), e);
                }
            }
        }
        ps
    }
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>().map_err(|_| {
        format!("`{s}` is not an address and port such as 127.0.0.1:2080 or [::]:2080")
    })
}

/// `10.0.0.0/8`, `192.168.1.7`, `::1`.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let t = s.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("`{s}` is not an IP address or CIDR block (10.0.0.0/8)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.listen, "127.0.0.1:2080");
        assert!(c.check().is_empty(), "{:?}", c.check());
        let e = Config::parse("lisen = \"0.0.0.0:1\"").unwrap_err();
        assert!(e.contains("lisen"), "{e}");
    }

    #[test]
    fn problems_name_the_key() {
        let c = Config::parse(
            r#"
listen = "localhost"
allowed_clients = ["10.0.0.0/8", "10.0.0.300"]
queue_depth = 0
[[users]]
name = "a"
password_hash = "secret"
[[users]]
name = "A"
auth_mode = "windows"
company_file = "../etc/passwd"
"#,
        )
        .unwrap();
        let ps: Vec<String> = c.check().iter().map(|p| p.to_string()).collect();
        let has = |k: &str| ps.iter().any(|p| p.starts_with(k));
        for k in [
            "listen:",
            "allowed_clients[1]",
            "queue_depth",
            "users[0].password_hash",
            "users[1].name",
            "users[1].auth_mode",
            "users[1].company_file",
        ] {
            assert!(has(k), "{k} not in {ps:#?}");
        }
        assert!(!has("allowed_clients[0]"));
    }

    #[test]
    fn auth_flags_must_allow_an_edition() {
        for (flags, ok) in [
            ("0xF", true),
            ("0x2", true),
            ("0", false),
            ("0x80000000", false),
        ] {
            let c = Config::parse(&format!(
                "[backend]\nkind = \"com\"\n[backend.com]\nauth_flags = {flags}\n"
            ))
            .unwrap();
            let ps: Vec<String> = c.check().iter().map(|p| p.to_string()).collect();
            let refused = ps.iter().any(|p| p.contains("auth_flags"));
            assert_eq!(refused, !ok, "{flags}: {ps:#?}");
        }
    }
}
