//! The seed's QBConnector class, over `qbc_server::{Connector, Running,
//! Control}`.
//!
//! Users and settings live in the server's `Control`, the same before,
//! while and after listening; `listening = True` starts the server on the
//! shared runtime (the GIL released while it binds), `False` stops it
//! (in-flight requests finish), and `True` again starts it with the same
//! users. The `get_x`/`set_x` pairs and the `on_*` attributes are added
//! in Python (`qbconnector/__init__.py`) over the methods here.

use crate::events::{Handlers, PyEvents};
use crate::{config_error, runtime};
use pyo3::prelude::*;
use qbc_server::config::TlsConfig;
use qbc_server::{AuthMode, Config, Control};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

enum Mode {
    Idle(qbc_server::Connector),
    Listening(qbc_server::Running),
    /// Another thread is turning `listening` on or off.
    Changing,
}

/// The seed's TLS properties, kept as set and turned into `[tls]` while
/// `enable_ssl` is true.
#[derive(Clone, Default, PartialEq)]
struct Ssl {
    enable: bool,
    authenticate_clients: bool,
    cert_encoded: String,
    cert_store: String,
    cert_store_password: String,
    cert_store_type: String,
    cert_subject: String,
    client_ca: String,
    /// The `[tls]` of a configuration file, until a property changes.
    from_file: Option<TlsConfig>,
}

impl Ssl {
    /// The seed's properties for a `[tls]` section (from a file).
    fn of(tls: Option<&TlsConfig>) -> Ssl {
        let Some(t) = tls else {
            return Ssl::default();
        };
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        let mut s = Ssl {
            enable: true,
            authenticate_clients: t.client_ca.is_some(),
            client_ca: path(&t.client_ca).unwrap_or_default(),
            cert_subject: t.pfx_subject.clone().unwrap_or_default(),
            cert_store_password: t.pfx_password.clone().unwrap_or_default(),
            from_file: Some(t.clone()),
            ..Ssl::default()
        };
        if let Some(p) = path(&t.pfx) {
            (s.cert_store, s.cert_store_type) = (p, "PFXFile".into());
        } else if let Some(p) = path(&t.cert) {
            (s.cert_store, s.cert_store_type) = (p, "PEMKeyFile".into());
        } else if let Some(pem) = &t.cert_pem {
            s.cert_encoded = pem.clone();
        }
        s
    }

    fn tls(&self) -> Result<Option<TlsConfig>, String> {
        if !self.enable {
            return Ok(None);
        }
        // Loaded from a file and not changed since: as the file says
        // (a key in its own file, a password from the environment…).
        if let Some(t) = &self.from_file {
            return Ok(Some(t.clone()));
        }
        let mut t = TlsConfig::default();
        let kind = self.cert_store_type.to_ascii_lowercase();
        let kind = kind.trim_start_matches("cst");
        if !self.cert_encoded.is_empty() {
            t.cert_pem = Some(self.cert_encoded.clone());
        } else if self.cert_store.is_empty() {
            return Err(
                "enable_ssl: set ssl_cert_store (a PFX or PEM file) or ssl_cert_encoded".into(),
            );
        } else {
            match kind {
                "" | "pfxfile" | "pfx" | "pkcs12" | "p12" => {
                    t.pfx = Some(PathBuf::from(&self.cert_store));
                    if !self.cert_store_password.is_empty() {
                        t.pfx_password = Some(self.cert_store_password.clone());
                    }
                    if !self.cert_subject.is_empty() {
                        t.pfx_subject = Some(self.cert_subject.clone());
                    }
                }
                "pemkeyfile" | "pemfile" | "pem" => {
                    t.cert = Some(PathBuf::from(&self.cert_store));
                    t.key = Some(PathBuf::from(&self.cert_store));
                }
                "pemkeyblob" | "pemblob" => t.cert_pem = Some(self.cert_store.clone()),
                other => {
                    return Err(format!(
                        "ssl_cert_store_type `{other}`: PFXFile, PEMKeyFile or PEMKeyBlob \
                         (a Windows system store cannot be read here: export it to a PFX file)"
                    ))
                }
            }
        }
        if self.authenticate_clients {
            if self.client_ca.is_empty() {
                return Err(
                    "ssl_authenticate_clients: say which CAs sign client certificates \
                            with config(\"SSLClientCAFile=ca.pem\")"
                        .into(),
                );
            }
            t.client_ca = Some(PathBuf::from(&self.client_ca));
        }
        Ok(Some(t))
    }
}

/// The seed's QBConnector (use `qbconnector.QBConnector`, which adds the
/// `get_x`/`set_x` pairs and the `on_*` event attributes).
#[pyclass(module = "qbconnector._native", subclass)]
pub struct Connector {
    control: Arc<Control>,
    handlers: Arc<Handlers>,
    /// Shared with the registry `_closing` stops at exit.
    mode: Arc<Mutex<Mode>>,
    ssl: Mutex<Ssl>,
}

/// The modes of connectors that have listened: at exit, those still
/// listening are stopped ([`stop_all`]).
static MODES: Mutex<Vec<std::sync::Weak<Mutex<Mode>>>> = Mutex::new(Vec::new());

/// Stop every connector still listening (Python is exiting).
pub fn stop_all(py: Python<'_>) {
    let modes: Vec<Arc<Mutex<Mode>>> = {
        let mut all = MODES.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.iter().filter_map(|w| w.upgrade()).collect()
    };
    let Ok(rt) = runtime() else {
        return;
    };
    for mode in modes {
        let taken = {
            let mut m = mode.lock().unwrap_or_else(|e| e.into_inner());
            match &*m {
                Mode::Listening(_) => std::mem::replace(&mut *m, Mode::Changing),
                _ => continue,
            }
        };
        if let Mode::Listening(r) = taken {
            let c = py.detach(|| rt.block_on(r.stop()));
            *mode.lock().unwrap_or_else(|e| e.into_inner()) = Mode::Idle(c);
        }
    }
}

/// The Python package's defaults: the simulator, company files in `data`
/// created on first use, on 127.0.0.1:2080.
fn defaults() -> Config {
    let mut c = Config::default();
    c.backend.create_missing = true;
    c
}

impl Connector {
    fn with_config(py: Python<'_>, config: Config) -> PyResult<Connector> {
        let ssl = Ssl::of(config.tls.as_ref());
        let connector =
            qbc_server::Connector::new(config).map_err(|e| config_error(py, e.to_string()))?;
        let handlers = Arc::new(Handlers::default());
        let connector = connector.with_events(Arc::new(PyEvents {
            handlers: handlers.clone(),
        }));
        Ok(Connector {
            control: connector.control().clone(),
            handlers,
            mode: Arc::new(Mutex::new(Mode::Idle(connector))),
            ssl: Mutex::new(ssl),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn err(py: Python<'_>, r: Result<impl Sized, String>) -> PyResult<()> {
        r.map(|_| ()).map_err(|e| config_error(py, e))
    }

    /// Apply the SSL properties to the configuration.
    fn apply_ssl(&self, py: Python<'_>, change: impl FnOnce(&mut Ssl)) -> PyResult<()> {
        let mut ssl = self.ssl.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = ssl.clone();
        change(&mut next);
        if next != *ssl {
            // A property changed: the properties say it all now (not the
            // file's `[tls]` any more).
            next.from_file = None;
        }
        // Only a complete setting is applied: until enable_ssl is set,
        // the properties are kept as they are given.
        if next.enable || ssl.enable {
            let tls = match next.enable {
                true => next.tls().map_err(|e| config_error(py, e))?,
                false => None,
            };
            Self::err(
                py,
                self.control.change(|c| {
                    c.tls = tls;
                    Ok(())
                }),
            )?;
        }
        *ssl = next;
        Ok(())
    }

    /// A field of the SSL properties.
    fn ssl<T>(&self, field: impl FnOnce(&Ssl) -> T) -> T {
        field(&self.ssl.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn user_index(&self, i: i64) -> PyResult<usize> {
        let n = self.control.user_count();
        usize::try_from(i).ok().filter(|i| *i < n).ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!("no user {i} (there are {n})"))
        })
    }
}

#[pymethods]
impl Connector {
    /// A connector with the package's defaults, or with the settings and
    /// users of a `qbconnector.toml` (`config`).
    #[new]
    #[pyo3(signature = (config = None))]
    fn new(py: Python<'_>, config: Option<PathBuf>) -> PyResult<Connector> {
        let config = match config {
            Some(path) => Config::load(&path).map_err(|e| config_error(py, e.to_string()))?,
            None => defaults(),
        };
        Connector::with_config(py, config)
    }

    // Methods.

    /// The seed's AddUser: `connection` is the user's QBConnectionString
    /// (kept whole), `read_only` the seed's ReadOnly[i]. Returns the index.
    #[pyo3(signature = (user, password, connection = "", read_only = false))]
    fn add_user(
        &self,
        py: Python<'_>,
        user: &str,
        password: &str,
        connection: &str,
        read_only: bool,
    ) -> PyResult<usize> {
        let control = self.control.clone();
        let (user, password, connection) = (
            user.to_string(),
            password.to_string(),
            connection.to_string(),
        );
        // argon2 takes a moment: without the GIL.
        py.detach(move || control.add_user(&user, &password, &connection, read_only))
            .map_err(|e| config_error(py, e))
    }

    /// Remove user `index` (the users after it move up); its sessions end.
    fn remove_user(&self, py: Python<'_>, index: i64) -> PyResult<()> {
        let i = self.user_index(index)?;
        Self::err(py, self.control.remove_user(i))
    }

    /// The seed's Config: "Name=Value" sets, "Name" reads; both return the
    /// value now.
    fn config(&self, py: Python<'_>, setting: &str) -> PyResult<String> {
        let (name, value) = match setting.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (setting.trim(), None),
        };
        if name.eq_ignore_ascii_case("SSLClientCAFile") {
            if let Some(v) = value {
                let v = v.to_string();
                self.apply_ssl(py, |s| s.client_ca = v)?;
            }
            return Ok(self
                .ssl
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .client_ca
                .clone());
        }
        self.control
            .config(setting)
            .map_err(|e| config_error(py, e))
    }

    /// The seed's DoEvents: nothing to do here. Events are delivered on the
    /// server's own threads as they happen (a handler runs while its
    /// request waits), so there is no queue to drain.
    #[pyo3(signature = (timeout = None))]
    fn do_events(&self, timeout: Option<f64>) {
        let _ = timeout;
    }

    /// The seed's Reset: the defaults, no users, SSL off. Not while
    /// listening.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        Self::err(py, self.control.reset())?;
        Self::err(py, self.control.reload(defaults()))?;
        *self.ssl.lock().unwrap_or_else(|e| e.into_inner()) = Ssl::default();
        for name in crate::events::NAMES {
            let _ = self.handlers.put(name, None);
        }
        Ok(())
    }

    /// The seed's Shutdown: stop listening (in-flight requests finish and
    /// sessions close).
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.set_listening(py, false)
    }

    // Properties.

    #[getter]
    fn listening(&self) -> bool {
        matches!(*self.lock(), Mode::Listening(_))
    }

    #[setter]
    fn set_listening(&self, py: Python<'_>, on: bool) -> PyResult<()> {
        if crate::events::in_handler() || tokio::runtime::Handle::try_current().is_ok() {
            // It would wait for the very request the handler holds.
            return Err(config_error(
                py,
                "listening cannot be changed from inside an event handler",
            ));
        }
        let rt = runtime()?;
        let taken = {
            let mut mode = self.lock();
            match (&*mode, on) {
                (Mode::Changing, _) => {
                    return Err(config_error(
                        py,
                        "listening is being changed by another thread",
                    ))
                }
                (Mode::Listening(_), true) | (Mode::Idle(_), false) => return Ok(()),
                _ => std::mem::replace(&mut *mode, Mode::Changing),
            }
        };
        // Without the GIL, and without holding the mode's lock: starting
        // and stopping fire events, whose handlers need the GIL.
        let (next, failed) = py.detach(|| match taken {
            Mode::Idle(c) => match rt.block_on(c.listen()) {
                Ok(r) => (Mode::Listening(r), None),
                Err(e) => {
                    let message = e.message.clone();
                    (Mode::Idle(e.connector), Some(message))
                }
            },
            Mode::Listening(r) => (Mode::Idle(rt.block_on(r.stop())), None),
            Mode::Changing => (Mode::Changing, None),
        });
        if matches!(next, Mode::Listening(_)) {
            MODES
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::downgrade(&self.mode));
        }
        *self.lock() = next;
        match failed {
            Some(m) => Err(config_error(py, m)),
            None => Ok(()),
        }
    }

    #[getter]
    fn local_host(&self, py: Python<'_>) -> PyResult<String> {
        if let Mode::Listening(r) = &*self.lock() {
            return Ok(r.local_host());
        }
        self.config(py, "LocalHost")
    }

    #[setter]
    fn set_local_host(&self, py: Python<'_>, v: &str) -> PyResult<()> {
        self.config(py, &format!("LocalHost={v}")).map(|_| ())
    }

    /// While listening, the port it listens on (with local_port 0: the one
    /// the system chose).
    #[getter]
    fn local_port(&self, py: Python<'_>) -> PyResult<u16> {
        if let Mode::Listening(r) = &*self.lock() {
            return Ok(r.local_port());
        }
        self.config(py, "LocalPort")?
            .parse()
            .map_err(|_| config_error(py, "LocalPort is not a port"))
    }

    #[setter]
    fn set_local_port(&self, py: Python<'_>, v: u16) -> PyResult<()> {
        self.config(py, &format!("LocalPort={v}")).map(|_| ())
    }

    /// Seconds a client has to send its request.
    #[getter]
    fn timeout(&self, py: Python<'_>) -> PyResult<u64> {
        self.config(py, "Timeout")?
            .parse()
            .map_err(|_| config_error(py, "Timeout is not a number"))
    }

    #[setter]
    fn set_timeout(&self, py: Python<'_>, v: u64) -> PyResult<()> {
        self.config(py, &format!("Timeout={v}")).map(|_| ())
    }

    #[getter]
    fn connected_to_qb(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.config(py, "ConnectedToQB")? == "true")
    }

    #[setter]
    fn set_connected_to_qb(&self, py: Python<'_>, v: bool) -> PyResult<()> {
        self.config(py, &format!("ConnectedToQB={v}")).map(|_| ())
    }

    /// The number of configured users. Setting it truncates the list, or
    /// grows it with users `user<i>` that have no usable password until
    /// one is set (set_authorized_user_password).
    #[getter]
    fn authorized_user_count(&self) -> usize {
        self.control.user_count()
    }

    #[setter]
    fn set_authorized_user_count(&self, py: Python<'_>, n: usize) -> PyResult<()> {
        const MAX_USERS: usize = 100_000;
        if n > MAX_USERS {
            return Err(config_error(py, format!("at most {MAX_USERS} users")));
        }
        while self.control.user_count() > n {
            let last = self.control.user_count() - 1;
            Self::err(py, self.control.remove_user(last))?;
        }
        if self.control.user_count() < n {
            // One hash of a password nobody knows serves every new user
            // (argon2 once, not per user), added in one change.
            let unusable = random_password(py)?;
            let hash = py
                .detach(|| qbc_server::auth::PasswordHash::create(&unusable))
                .map_err(|e| config_error(py, e))?;
            Self::err(
                py,
                self.control.change(|c| {
                    while c.users.len() < n {
                        let mut name = format!("user{}", c.users.len());
                        while c.users.iter().any(|u| u.name.eq_ignore_ascii_case(&name)) {
                            name.push('_');
                        }
                        c.users
                            .push(qbc_server::UserConfig::new(&name, hash.as_str(), "", false));
                    }
                    Ok(())
                }),
            )?;
        }
        Ok(())
    }

    fn _get_authorized_user(&self, index: i64) -> PyResult<String> {
        let i = self.user_index(index)?;
        Ok(self.control.user(i).map(|u| u.name).unwrap_or_default())
    }

    fn _set_authorized_user(&self, py: Python<'_>, index: i64, name: &str) -> PyResult<()> {
        let i = self.user_index(index)?;
        Self::err(py, self.control.set_user_name(i, name))
    }

    /// Passwords are kept only as argon2id hashes: this reads "".
    fn _get_authorized_user_password(&self, index: i64) -> PyResult<String> {
        self.user_index(index)?;
        Ok(String::new())
    }

    fn _set_authorized_user_password(
        &self,
        py: Python<'_>,
        index: i64,
        password: &str,
    ) -> PyResult<()> {
        let i = self.user_index(index)?;
        let control = self.control.clone();
        let password = password.to_string();
        py.detach(move || match control.user(i).map(|u| u.auth_mode) {
            Some(AuthMode::Windows) => control.set_user_normal(i, &password),
            _ => control.set_user_password(i, &password),
        })
        .map_err(|e| config_error(py, e))
    }

    /// 0 (amNormal) or 1 (amWindows).
    fn _get_authorized_auth_mode(&self, index: i64) -> PyResult<u8> {
        let i = self.user_index(index)?;
        Ok(match self.control.user(i).map(|u| u.auth_mode) {
            Some(AuthMode::Windows) => 1,
            _ => 0,
        })
    }

    fn _set_authorized_auth_mode(&self, py: Python<'_>, index: i64, mode: u8) -> PyResult<()> {
        let i = self.user_index(index)?;
        let mode = match mode {
            0 => AuthMode::Normal,
            1 => AuthMode::Windows,
            m => {
                return Err(config_error(
                    py,
                    format!("auth mode {m}: 0 (amNormal) or 1 (amWindows)"),
                ))
            }
        };
        if mode == AuthMode::Normal
            && self.control.user(i).map(|u| u.auth_mode) == Some(AuthMode::Windows)
        {
            // A password comes next (set_authorized_user_password); until
            // then the user has none that works.
            let control = self.control.clone();
            let unusable = random_password(py)?;
            return py
                .detach(move || control.set_user_normal(i, &unusable))
                .map_err(|e| config_error(py, e));
        }
        Self::err(py, self.control.set_user_auth_mode(i, mode))
    }

    fn _get_authorized_user_qb_connection_string(&self, index: i64) -> PyResult<String> {
        let i = self.user_index(index)?;
        Ok(self
            .control
            .user(i)
            .map(|u| u.connection)
            .unwrap_or_default())
    }

    fn _set_authorized_user_qb_connection_string(
        &self,
        py: Python<'_>,
        index: i64,
        v: &str,
    ) -> PyResult<()> {
        let i = self.user_index(index)?;
        Self::err(py, self.control.set_user_connection(i, v))
    }

    // TLS, as the seed names it.

    #[getter]
    fn enable_ssl(&self) -> bool {
        self.ssl(|s| s.enable)
    }

    #[setter]
    fn set_enable_ssl(&self, py: Python<'_>, v: bool) -> PyResult<()> {
        self.apply_ssl(py, |s| s.enable = v)
    }

    #[getter]
    fn ssl_authenticate_clients(&self) -> bool {
        self.ssl(|s| s.authenticate_clients)
    }

    #[setter]
    fn set_ssl_authenticate_clients(&self, py: Python<'_>, v: bool) -> PyResult<()> {
        self.apply_ssl(py, |s| s.authenticate_clients = v)
    }

    #[getter]
    fn ssl_cert_encoded(&self) -> String {
        self.ssl(|s| s.cert_encoded.clone())
    }

    #[setter]
    fn set_ssl_cert_encoded(&self, py: Python<'_>, v: String) -> PyResult<()> {
        self.apply_ssl(py, |s| s.cert_encoded = v)
    }

    #[getter]
    fn ssl_cert_store(&self) -> String {
        self.ssl(|s| s.cert_store.clone())
    }

    #[setter]
    fn set_ssl_cert_store(&self, py: Python<'_>, v: String) -> PyResult<()> {
        self.apply_ssl(py, |s| s.cert_store = v)
    }

    #[getter]
    fn ssl_cert_store_password(&self) -> String {
        self.ssl(|s| s.cert_store_password.clone())
    }

    #[setter]
    fn set_ssl_cert_store_password(&self, py: Python<'_>, v: String) -> PyResult<()> {
        self.apply_ssl(py, |s| s.cert_store_password = v)
    }

    #[getter]
    fn ssl_cert_store_type(&self) -> String {
        self.ssl(|s| s.cert_store_type.clone())
    }

    #[setter]
    fn set_ssl_cert_store_type(&self, py: Python<'_>, v: String) -> PyResult<()> {
        self.apply_ssl(py, |s| s.cert_store_type = v)
    }

    #[getter]
    fn ssl_cert_subject(&self) -> String {
        self.ssl(|s| s.cert_subject.clone())
    }

    #[setter]
    fn set_ssl_cert_subject(&self, py: Python<'_>, v: String) -> PyResult<()> {
        self.apply_ssl(py, |s| s.cert_subject = v)
    }

    // The garbage collector sees the handlers (a handler that refers to
    // its connector makes a cycle).

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        self.handlers.traverse(&visit)
    }

    fn __clear__(&self) {
        for name in crate::events::NAMES {
            let _ = self.handlers.put(name, None);
        }
    }

    // Events (the Python class makes them `on_*` attributes).

    fn _get_handler(&self, py: Python<'_>, name: &str) -> Option<Py<PyAny>> {
        self.handlers.get(py, name)
    }

    fn _set_handler(&self, py: Python<'_>, name: &str, handler: Option<Py<PyAny>>) -> PyResult<()> {
        let handler = handler.filter(|h| !h.is_none(py));
        if let Some(h) = &handler {
            if !h.bind(py).is_callable() {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "on_{name} takes a callable (one argument: the event)"
                )));
            }
        }
        self.handlers
            .put(name, handler)
            .map_err(pyo3::exceptions::PyAttributeError::new_err)
    }
}

impl Drop for Connector {
    /// Collected while listening: stop serving, on the runtime (a handler
    /// of a request in flight may need the GIL this thread holds).
    fn drop(&mut self) {
        let mode = std::mem::replace(
            &mut *self.mode.lock().unwrap_or_else(|e| e.into_inner()),
            Mode::Changing,
        );
        if let (Mode::Listening(r), Ok(rt)) = (mode, runtime()) {
            rt.spawn(r.shutdown());
        }
    }
}

/// 32 random bytes, hex: a password nobody knows.
fn random_password(py: Python<'_>) -> PyResult<String> {
    let mut b = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| config_error(py, "no system randomness"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
