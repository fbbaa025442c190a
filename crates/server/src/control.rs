//! The owner's hand on the connector: users, settings and `config`, before
//! and while it listens.
//!
//! Every change goes the same way: take the current configuration, change
//! a copy, check the copy whole, build a new [`Live`] from it and swap it
//! in. Changes are one at a time (a mutex), readers never wait for one
//! (they clone an `Arc` out of a `watch` channel), and a change that does
//! not check out leaves everything as it was. While listening, a change to
//! a setting that only a restart can apply is refused with its name; the
//! CLI's reload ([`Control::reload`]) instead keeps the running value and
//! reports it.
//!
//! A [`crate::Connector`] and its [`crate::Running`] share one `Control`,
//! so users and settings survive `listening` going off and on.

use crate::auth::{PasswordHash, MAX_PASSWORD};
use crate::backend::Backend;
use crate::config::{AuthMode, Config, ConfigError, UserConfig};
use crate::connstr::ConnectionString;
use crate::live::{keep_restart_only, restart_only_changes, Live};
use crate::persistent::Persistent;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

pub struct Control {
    current: watch::Sender<Arc<Live>>,
    /// Held while a change is made; holds the backend while listening
    /// (the kept QuickBooks session needs it).
    write: Mutex<Option<Arc<dyn Backend>>>,
    /// Kept sessions a change replaced: the running server closes them in
    /// their company file's turn.
    retired: Mutex<Vec<Arc<Persistent>>>,
    /// Seed settings that have no effect here, as last set
    /// (`settings::INERT`).
    inert: Mutex<std::collections::HashMap<&'static str, String>>,
}

/// One configured user, as the seed's AuthorizedUser* properties read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    /// The whole QBConnectionString, as given.
    pub connection: String,
    pub read_only: bool,
    pub auth_mode: AuthMode,
}

impl Control {
    /// Refuses a configuration with problems (all of them, named).
    pub fn new(config: Config) -> Result<Control, ConfigError> {
        let problems = config.check();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        let live = Live::build(config, None, None).map_err(|e| {
            ConfigError::Invalid(vec![crate::config::Problem {
                key: String::new(),
                message: e,
            }])
        })?;
        Ok(Control {
            current: watch::Sender::new(Arc::new(live)),
            write: Mutex::new(None),
            retired: Mutex::new(Vec::new()),
            inert: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The settings now: what a request that starts now uses.
    pub fn live(&self) -> Arc<Live> {
        self.current.borrow().clone()
    }

    /// The configuration now (a copy).
    pub fn configuration(&self) -> Config {
        self.live().config.clone()
    }

    /// Told of every change.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Live>> {
        self.current.subscribe()
    }

    pub fn listening(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Option<Arc<dyn Backend>>> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the configuration: `f` edits a copy; the copy is checked
    /// whole and then applies to every request that starts after this
    /// returns. Nothing changes when `f` or the check fails, or when, while
    /// listening, `f` touched a setting only a restart applies. Changes
    /// are one at a time: `f` must not call back into this `Control` (it
    /// would wait for itself).
    pub fn change<R>(&self, f: impl FnOnce(&mut Config) -> Result<R, String>) -> Result<R, String> {
        let backend = self.lock();
        let old = self.live();
        let mut config = old.config.clone();
        let out = f(&mut config)?;
        if backend.is_some() {
            let fixed = restart_only_changes(&old.config, &config);
            if !fixed.is_empty() {
                return Err(format!(
                    "{} cannot change while listening (turn listening off first)",
                    fixed.join(", ")
                ));
            }
        }
        self.swap(&backend, &old, config)?;
        Ok(out)
    }

    /// Take a whole new configuration (the CLI's reload). While listening,
    /// settings that only a restart applies keep their running values;
    /// their keys are returned. Nothing changes when it does not check out.
    pub fn reload(&self, config: Config) -> Result<Vec<&'static str>, String> {
        let backend = self.lock();
        let old = self.live();
        let (config, fixed) = match backend.is_some() {
            true => {
                let fixed = restart_only_changes(&old.config, &config);
                (keep_restart_only(&old.config, config), fixed)
            }
            false => (config, Vec::new()),
        };
        self.swap(&backend, &old, config)?;
        Ok(fixed)
    }

    fn swap(
        &self,
        backend: &Option<Arc<dyn Backend>>,
        old: &Live,
        config: Config,
    ) -> Result<(), String> {
        let live = Live::build(config, Some(old), backend.as_deref())?;
        if let Some(p) = &old.persistent {
            if !live.persistent.as_ref().is_some_and(|n| Arc::ptr_eq(p, n)) {
                self.retired
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(p.clone());
            }
        }
        self.current.send_replace(Arc::new(live));
        Ok(())
    }

    /// Listening starts on `backend`, with the restart-only settings of
    /// `started` (the configuration the server was built from: a change
    /// made while it bound its address must not show values that are not
    /// running). The kept session (connected_to_qb) can exist now.
    pub(crate) fn attach(&self, backend: Arc<dyn Backend>, started: &Config) -> Result<(), String> {
        let mut slot = self.lock();
        if slot.is_some() {
            return Err("already listening".into());
        }
        let old = self.live();
        let config = keep_restart_only(started, old.config.clone());
        let live = Live::build(config, Some(&old), Some(backend.as_ref()))?;
        *slot = Some(backend);
        self.current.send_replace(Arc::new(live));
        Ok(())
    }

    /// Listening stopped: the kept sessions go (returned, for closing —
    /// the current one and any a change retired), and the view has none,
    /// so that listening again opens a new one.
    pub(crate) fn detach(&self) -> Vec<Arc<Persistent>> {
        let mut slot = self.lock();
        *slot = None;
        let old = self.live();
        let mut live = (*old).clone();
        live.persistent = None;
        self.current.send_replace(Arc::new(live));
        let mut out = self.take_retired();
        out.extend(old.persistent.clone());
        out
    }

    pub(crate) fn set_inert(&self, name: &'static str, value: String) {
        self.inert
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, value);
    }

    pub(crate) fn inert(&self, name: &str) -> Option<String> {
        self.inert
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Kept sessions replaced since the last call.
    pub(crate) fn take_retired(&self) -> Vec<Arc<Persistent>> {
        std::mem::take(&mut *self.retired.lock().unwrap_or_else(|e| e.into_inner()))
    }

    // The seed's users.

    /// The seed's AddUser: a user with a password (hashed here with
    /// argon2id) and a QBConnectionString of server-side settings, kept
    /// whole. Returns the user's index.
    pub fn add_user(
        &self,
        name: &str,
        password: &str,
        connection: &str,
        read_only: bool,
    ) -> Result<usize, String> {
        ConnectionString::parse(connection).map_err(|e| e.0)?;
        let hash = hash_password(password)?;
        self.change(|c| {
            if c.users.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
                return Err(format!("user `{name}` exists"));
            }
            c.users
                .push(UserConfig::new(name, hash.as_str(), connection, read_only));
            Ok(c.users.len() - 1)
        })
    }

    /// A user whose password Windows checks (the seed's amWindows).
    pub fn add_windows_user(
        &self,
        name: &str,
        connection: &str,
        read_only: bool,
    ) -> Result<usize, String> {
        self.change(|c| {
            if c.users.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
                return Err(format!("user `{name}` exists"));
            }
            let mut u = UserConfig::new(name, "", connection, read_only);
            u.auth_mode = AuthMode::Windows;
            c.users.push(u);
            Ok(c.users.len() - 1)
        })
    }

    /// Remove user `i`; the users after it move up one. The user's open
    /// sessions end.
    pub fn remove_user(&self, i: usize) -> Result<UserInfo, String> {
        self.change(|c| {
            let n = c.users.len();
            if i >= n {
                return Err(format!("there is no user {i} (there are {n})"));
            }
            Ok(info(&c.users.remove(i)))
        })
    }

    pub fn user_count(&self) -> usize {
        self.live().config.users.len()
    }

    pub fn user(&self, i: usize) -> Option<UserInfo> {
        self.live().config.users.get(i).map(info)
    }

    pub fn users(&self) -> Vec<UserInfo> {
        self.live().config.users.iter().map(info).collect()
    }

    /// The index of user `name` (case-insensitive).
    pub fn user_index(&self, name: &str) -> Option<usize> {
        self.live().user(name).map(|(i, _)| i)
    }

    /// The seed's AuthorizedUser (its name). The user's sessions end.
    pub fn set_user_name(&self, i: usize, name: &str) -> Result<(), String> {
        let taken = self.live().user(name).is_some_and(|(j, _)| j != i);
        if taken {
            return Err(format!("user `{name}` exists"));
        }
        // (`check` refuses two users of one name, should one be added
        // between the look above and the change.)
        self.edit_user(i, |u| {
            u.name = name.to_string();
            Ok(())
        })
    }

    pub fn set_user_password(&self, i: usize, password: &str) -> Result<(), String> {
        let hash = hash_password(password)?;
        self.edit_user(i, |u| {
            if u.auth_mode == AuthMode::Windows {
                return Err(format!(
                    "`{}` is a Windows user: Windows checks the password",
                    u.name
                ));
            }
            u.password_hash = hash.as_str().to_string();
            Ok(())
        })
    }

    pub fn set_user_read_only(&self, i: usize, read_only: bool) -> Result<(), String> {
        self.edit_user(i, |u| {
            u.read_only = read_only;
            Ok(())
        })
    }

    /// The seed's AuthorizedUserQBConnectionString, whole.
    pub fn set_user_connection(&self, i: usize, connection: &str) -> Result<(), String> {
        ConnectionString::parse(connection).map_err(|e| e.0)?;
        self.edit_user(i, |u| {
            u.set_connection(connection);
            Ok(())
        })
    }

    /// The seed's AuthorizedAuthMode. Turning a user to Windows drops its
    /// password hash; turning a Windows user to Normal needs a password,
    /// in the same change: [`Control::set_user_normal`].
    pub fn set_user_auth_mode(&self, i: usize, mode: AuthMode) -> Result<(), String> {
        self.edit_user(i, |u| {
            if mode == AuthMode::Windows {
                u.password_hash.clear();
            } else if u.auth_mode == AuthMode::Windows {
                return Err(format!(
                    "`{}` is a Windows user: give a password with set_user_normal",
                    u.name
                ));
            }
            u.auth_mode = mode;
            Ok(())
        })
    }

    /// Turn user `i` into a user with this password (AuthMode Normal).
    pub fn set_user_normal(&self, i: usize, password: &str) -> Result<(), String> {
        let hash = hash_password(password)?;
        self.edit_user(i, |u| {
            u.auth_mode = AuthMode::Normal;
            u.password_hash = hash.as_str().to_string();
            Ok(())
        })
    }

    fn edit_user(
        &self,
        i: usize,
        f: impl FnOnce(&mut UserConfig) -> Result<(), String>,
    ) -> Result<(), String> {
        self.change(|c| {
            let n = c.users.len();
            let u = c
                .users
                .get_mut(i)
                .ok_or_else(|| format!("there is no user {i} (there are {n})"))?;
            f(u)
        })
    }

    /// The seed's Reset: the defaults, no users. Not while listening.
    pub fn reset(&self) -> Result<(), String> {
        let backend = self.lock();
        if backend.is_some() {
            return Err("reset: turn listening off first".into());
        }
        let old = self.live();
        self.swap(&backend, &old, Config::default())
    }

    /// The seed's Config method: `"Name=Value"` sets, `"Name"` reads; both
    /// return the value now. The names are in [`crate::settings`].
    pub fn config(&self, setting: &str) -> Result<String, String> {
        crate::settings::config(self, setting)
    }
}

fn info(u: &UserConfig) -> UserInfo {
    UserInfo {
        name: u.name.clone(),
        connection: u.connection_string(),
        read_only: u.read_only,
        auth_mode: u.auth_mode,
    }
}

fn hash_password(password: &str) -> Result<PasswordHash, String> {
    if password.len() > MAX_PASSWORD {
        return Err(format!(
            "a password has at most {MAX_PASSWORD} bytes (longer ones are refused at login)"
        ));
    }
    PasswordHash::create(password)
}
