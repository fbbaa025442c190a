//! The administrative commands: serve, demo, user, cert, check-config.
//!
//! Users and TLS paths are edited in the configuration file with
//! `toml_edit`, so an admin's comments and layout survive.

use crate::{CertCommand, UserCommand};
use qbc_server::auth::PasswordHash;
use qbc_server::{Config, Connector, TracingEvents};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

type Result<T> = std::result::Result<T, String>;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Days of daily log files kept, unless told otherwise.
pub const LOG_KEEP_DAYS: u32 = 30;

/// Logging to standard error, or to daily files in `dir` (the Windows
/// service has no console).
pub fn init_logging(format: LogFormat, dir: Option<&Path>, keep_days: u32) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match (dir, format) {
        (Some(dir), format) => {
            let files = Arc::new(crate::logfile::DailyFiles::new(dir, keep_days)?);
            let b = builder.with_ansi(false).with_writer(files);
            match format {
                LogFormat::Human => b.try_init(),
                LogFormat::Json => b.json().try_init(),
            }
        }
        // Colours only on a terminal: a log file or a pipe gets plain text.
        (None, format) => {
            let b = builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr);
            match format {
                LogFormat::Human => b.try_init(),
                LogFormat::Json => b.json().try_init(),
            }
        }
    };
    Ok(())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Wait for SIGTERM or Ctrl-C.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The configuration exists and passes its check (before it is handed to
/// a service that would only fail later, in its log).
pub fn check_file(path: &Path) -> Result<()> {
    let config = load(path)?;
    let problems = config.check();
    if problems.is_empty() {
        return Ok(());
    }
    let mut msg = format!("{}: {} problem(s)", path.display(), problems.len());
    for p in problems {
        msg.push_str(&format!("\n  {p}"));
    }
    Err(msg)
}

pub(crate) fn load(path: &Path) -> Result<Config> {
    if !path.exists() {
        return Err(format!(
            "{} not found: create it (see docs/PROTOCOL.md), or add a first user with `qbconnector user add NAME --config {}`",
            path.display(),
            path.display()
        ));
    }
    Config::load(path).map_err(|e| e.to_string())
}

pub fn serve(path: &Path, log: LogFormat, log_dir: Option<&Path>, keep_days: u32) -> Result<()> {
    init_logging(log, log_dir, keep_days)?;
    serve_until(path, stop_signal())
}

/// Serve until `stop` completes, following the file's changes
/// (`reload.rs`); in-flight requests finish first.
pub fn serve_until(path: &Path, stop: impl std::future::Future<Output = ()>) -> Result<()> {
    let runtime = runtime()?;
    // Before the configuration is read: SIGHUP reloads from now on, and
    // the text it follows from is the text the server starts with.
    let (follower, mut usr1) = runtime.block_on(async {
        (
            crate::reload::Follower::new(path),
            crate::reload::Signal::user1(),
        )
    });
    let config = match follower.loaded() {
        Some(bytes) => {
            crate::reload::parse(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => load(path)?,
    };
    let connector = Connector::new(config)
        .map_err(|e| format!("{}:\n{e}", path.display()))?
        .with_events(Arc::new(TracingEvents));
    runtime.block_on(async move {
        let running = connector.listen().await?;
        let scheme = if running_tls(path) { "https" } else { "http" };
        tracing::info!("qbconnector serving {scheme}://{}", running.local_addr());
        // The file's changes (and SIGHUP) reach the running connector.
        let follow = tokio::spawn(follower.follow(running.control().clone()));
        // SIGUSR1: a backup now (its outcome is logged by the events).
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = usr1.recv() => {
                    let _ = running.backup().await;
                }
            }
        }
        follow.abort();
        tracing::info!("stopping: in-flight requests finish, new ones are refused");
        running.shutdown().await;
        Ok(())
    })
}

/// `qbconnector backup`: the configured backend's company files, copied
/// now into a new folder under `out` (or `[backup]`'s `dir`).
pub fn backup(path: &Path, out: Option<&Path>) -> Result<()> {
    let config = load(path)?;
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None if !config.backup.dir.as_os_str().is_empty() => config.backup.dir.clone(),
        None => return Err("where to? give --out, or set `dir` in [backup]".into()),
    };
    // A running connector holds its company files (and cleans its data
    // directory when it starts, as this would): it makes its own backups.
    if let Ok(addr) = config.listen_addr() {
        let ip = match addr.ip() {
            ip if ip.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
            ip => ip,
        };
        let probe = std::net::SocketAddr::new(ip, addr.port());
        if addr.port() != 0
            && std::net::TcpStream::connect_timeout(&probe, std::time::Duration::from_secs(1))
                .is_ok()
        {
            return Err(format!(
                "a connector is listening on {probe} with this configuration: it holds the \
                 company files and makes its own backups; send it SIGUSR1 \
                 (`systemctl kill -s USR1 qbconnector`) and it backs up into [backup]'s dir"
            ));
        }
    }
    let backend = qbc_server::backend_from_config(&config)?;
    let made = runtime()?
        .block_on(qbc_server::backup::make(&backend, &dir, config.backup.keep))
        .map_err(|e| {
            if e.contains("locked") {
                format!(
                    "{e}\n(a running connector holds its company files: send it SIGUSR1 \
                     (`systemctl kill -s USR1 qbconnector`) and it backs up into [backup]'s dir)"
                )
            } else {
                e
            }
        })?;
    outln!("{}", made.summary())?;
    Ok(())
}

fn running_tls(path: &Path) -> bool {
    Config::load(path).map(|c| c.tls.is_some()).unwrap_or(false)
}

pub fn check_config(path: &Path) -> Result<()> {
    check_file(path)?;
    let config = load(path)?;
    outln!(
        "{}: ok — listen {}{}, {} user(s), backend {:?}, {} allowed client rule(s)",
        path.display(),
        config.listen,
        if config.tls.is_some() { " (TLS)" } else { "" },
        config.users.len(),
        config.backend.kind,
        config.allowed_clients.len()
    )?;
    if config.backend.kind == qbc_server::BackendKind::Com {
        probe_quickbooks(&config)?;
    }
    if config.backend.kind == qbc_server::BackendKind::Qbwc {
        let q = &config.backend.qbwc;
        outln!(
            "Web Connector endpoint {} (wait {} s, offline after {} s, keep-alive {} s{})",
            q.path,
            q.wait_secs,
            q.offline_after_secs,
            q.keep_alive_secs,
            if q.long_poll_secs > 0 {
                format!(", long poll {} s", q.long_poll_secs)
            } else {
                String::new()
            }
        )?;
        for c in &q.companies {
            outln!(
                "  company `{}`: Web Connector user `{}`, file {}, FileID {}{}",
                c.name,
                c.user,
                if c.company_file.is_empty() {
                    "(the one open in QuickBooks)"
                } else {
                    &c.company_file
                },
                c.file_id(),
                if c.read_only { ", read-only" } else { "" }
            )?;
        }
        if config.tls.is_none()
            && !config.listen.starts_with("127.")
            && !config.listen.starts_with("[::1]")
        {
            outln!(
                "note: the Web Connector accepts http only for localhost (QBWC1010):                  add [tls] to reach it from another machine"
            )?;
        }
    }
    Ok(())
}

/// The Remote Connector's "Test Connection": open a QuickBooks session
/// with the default connection's settings, say which company file is
/// open, and close it again.
fn probe_quickbooks(config: &Config) -> Result<()> {
    let conn = qbc_server::ConnectionString::parse(&config.default_connection.connection)
        .map_err(|e| e.0)?;
    let settings = qbc_server::OpenSettings {
        company_file: conn.company_file.clone().unwrap_or_default(),
        application_name: conn
            .application_name
            .clone()
            .unwrap_or_else(|| "QBConnector".into()),
        app_id: conn.app_id.clone().unwrap_or_default(),
        mode: conn.connection_mode.unwrap_or_default(),
        // As the read-write users will connect: the authorization QuickBooks
        // asks for the first time then covers them too.
        read_only: false,
        auth_flags: conn.auth_flags,
        user: String::new(),
        shared: false,
    };
    let backend = qbc_server::backend_from_config(config)?;
    runtime()?.block_on(async move {
        let session = backend.open(settings).await;
        let open = backend.open_companies();
        match session {
            Ok(id) => {
                backend.close(id).await;
                outln!(
                    "QuickBooks: reachable; company file open: {}",
                    open.first().map_or("(none reported)", String::as_str)
                )?;
                Ok(())
            }
            Err(e) => Err(format!("QuickBooks: not reachable: {e}")),
        }
    })
}

pub(crate) fn random_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 20];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| "no system randomness".to_string())?;
    Ok(b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect())
}

pub fn demo(port: u16, customers: usize) -> Result<()> {
    init_logging(LogFormat::Human, None, 0)?;
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let company = "sample.qbw";
    eprintln!("creating a sample company ({customers} customers) …");
    {
        let c = qbsim::Company::open(&dir.path().join(company), qbsim::Config::default())
            .map_err(|e| e.to_string())?;
        let vendors = (customers / 3).max(1);
        qbsim::sample::generate(&c, qbsim::sample::SampleSize { customers, vendors })
            .map_err(|e| e.to_string())?;
        let t = qbsim::sample::transactions(&c, qbsim::sample::TxnPlan::default())
            .map_err(|e| e.to_string())?;
        eprintln!("… and a year of its business: {} transactions", t.added);
    }
    let mut config = Config {
        // Loopback only: the demo user's password is printed.
        listen: format!("127.0.0.1:{port}"),
        ..Config::default()
    };
    config.backend.data_dir = dir.path().to_path_buf();
    config.backend.default_company = company.into();
    let password = random_password()?;
    let connector = Connector::new(config).map_err(|e| e.to_string())?;
    connector.add_user(
        "demo",
        &password,
        &format!("CompanyFile='{company}'"),
        false,
    )?;
    let connector = connector.with_events(Arc::new(TracingEvents));
    runtime()?.block_on(async move {
        let running = connector.listen().await?;
        let addr = running.local_addr();
        outln!(
            "\nqbconnector demo: the simulator's sample company on http://{addr}/\n\
             user: demo\npassword: {password}\n\n\
             Try it:\n\n  \
             curl -s -u 'demo:{password}' -H 'Content-Type: text/xml' --data-binary \
             '<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">\
             <CustomerQueryRq requestID=\"1\"><MaxReturned>3</MaxReturned></CustomerQueryRq>\
             </QBXMLMsgsRq></QBXML>' http://{addr}/\n\n\
             Ctrl-C stops it (the sample company is deleted).\n"
        )?;
        let _ = std::io::stdout().flush();
        stop_signal().await;
        running.shutdown().await;
        Ok::<(), String>(())
    })?;
    drop(dir);
    Ok(())
}

pub(crate) fn read_doc(path: &Path) -> Result<DocumentMut> {
    if !path.exists() {
        return Ok(DocumentMut::new());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.parse::<DocumentMut>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Write the document, then make sure the result is a configuration that
/// loads (a broken file is never left behind).
pub(crate) fn write_doc(path: &Path, doc: &DocumentMut) -> Result<()> {
    let text = doc.to_string();
    Config::parse(&text).map_err(|e| format!("refusing to write an invalid configuration: {e}"))?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    restrict(&tmp);
    keep_group_access(&tmp, path);
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}

/// A rewritten configuration keeps the file's owner, and its group's
/// read access if it had it: a Linux service reads its file as its own
/// group (`root:qbconnector`, 0640, docs/OPERATIONS.md), and an admin's
/// `sudo qbconnector user add` must not take that away. Never more than
/// owner read-write and group read.
fn keep_group_access(tmp: &Path, original: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Ok(m) = std::fs::metadata(original) {
            let _ = std::os::unix::fs::chown(tmp, Some(m.uid()), Some(m.gid()));
            // Group read only for the original's group: a chown that did
            // not happen (not root) must not open it to the caller's.
            let same_group = std::fs::metadata(tmp).is_ok_and(|t| t.gid() == m.gid());
            let mode = 0o600 | if same_group { m.mode() & 0o040 } else { 0 };
            let _ = std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = (tmp, original);
}

/// The file holds password hashes and maybe a PFX password: owner only.
/// Only the owner may read it (password hashes, the TLS key).
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    // No inherited access; full control for LocalSystem (the service),
    // Administrators and the user running the command — all by SID, so
    // that it works in every language of Windows and for domain users.
    #[cfg(windows)]
    {
        let me = std::process::Command::new("whoami")
            .args(["/user", "/fo", "csv", "/nh"])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split('"')
                    .find(|f| f.starts_with("S-1-"))
                    .map(|sid| format!("*{sid}:F"))
            });
        let mut cmd = std::process::Command::new("icacls");
        cmd.arg(path).args([
            "/inheritance:r",
            "/grant:r",
            "*S-1-5-18:F",
            "*S-1-5-32-544:F",
        ]);
        if let Some(me) = &me {
            cmd.arg(me);
        }
        let ok = cmd.output().map(|o| o.status.success()).unwrap_or(false);
        if !ok || me.is_none() {
            eprintln!(
                "warning: could not limit access to {} to SYSTEM, Administrators and you \
                 (icacls); do it by hand: it holds password hashes or a private key",
                path.display()
            );
        }
    }
    #[cfg(not(any(unix, windows)))]
    let _ = path;
}

fn users_of(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables> {
    if doc.get("users").is_none() {
        doc.insert("users", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc.get_mut("users")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| "`users` is not an array of tables ([[users]])".to_string())
}

/// The entry whose `name` is `name`, case aside.
pub(crate) fn find_user(users: &ArrayOfTables, name: &str) -> Option<usize> {
    users.iter().position(|t| {
        t.get("name")
            .and_then(|v| v.as_str())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

pub(crate) fn read_password(from_stdin: bool) -> Result<String> {
    let pw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("password: ").map_err(|e| e.to_string())?;
        let b = rpassword::prompt_password("again: ").map_err(|e| e.to_string())?;
        if a != b {
            return Err("the passwords differ".into());
        }
        a
    } else {
        return Err("no terminal to ask for the password: use --password-stdin".into());
    };
    if pw.chars().count() < 8 {
        return Err("a password has at least 8 characters".into());
    }
    if pw.len() > qbc_server::auth::MAX_PASSWORD {
        return Err(format!(
            "a password has at most {} bytes (the server refuses longer ones)",
            qbc_server::auth::MAX_PASSWORD
        ));
    }
    Ok(pw)
}

pub fn user(path: &Path, command: UserCommand) -> Result<()> {
    let mut doc = read_doc(path)?;
    match command {
        UserCommand::Add {
            name,
            read_only,
            company_file,
            client_company_file,
            app_name,
            connection_mode,
            password_stdin,
            windows,
        } => {
            if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
                return Err(format!("`{name}`: a user name is not empty and has no `:`"));
            }
            if find_user(users_of(&mut doc)?, &name).is_some() {
                return Err(format!(
                    "user `{name}` exists (use `user passwd` or `user remove`)"
                ));
            }
            let mut t = Table::new();
            t.insert("name", value(name.as_str()));
            if windows {
                t.insert("auth_mode", value("windows"));
            } else {
                let password = read_password(password_stdin)?;
                let hash = PasswordHash::create(&password)?;
                t.insert("password_hash", value(hash.as_str()));
            }
            if let Some(f) = company_file {
                t.insert("company_file", value(f));
            }
            if client_company_file {
                t.insert("client_company_file", value(true));
            }
            if let Some(a) = app_name {
                t.insert("application_name", value(a));
            }
            if let Some(m) = connection_mode {
                t.insert("connection_mode", value(m));
            }
            t.insert("read_only", value(read_only));
            users_of(&mut doc)?.push(t);
            check_users(&doc)?;
            write_doc(path, &doc)?;
            outln!(
                "added user `{name}`{} to {}",
                if read_only { " (read-only)" } else { "" },
                path.display()
            )?;
        }
        UserCommand::List => {
            let users = users_of(&mut doc)?;
            if users.is_empty() {
                outln!("no users in {}", path.display())?;
            }
            for t in users.iter() {
                let s = |k: &str| t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                let b = |k: &str| t.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
                outln!(
                    "{}\t{}\tcompany={}\tapp={}\tauth={}",
                    s("name"),
                    if b("read_only") {
                        "read-only"
                    } else {
                        "read-write"
                    },
                    if s("company_file").is_empty() {
                        if b("client_company_file") {
                            "(client's choice)".into()
                        } else {
                            "(default)".into()
                        }
                    } else {
                        s("company_file")
                    },
                    s("application_name"),
                    if s("auth_mode").is_empty() {
                        "normal".into()
                    } else {
                        s("auth_mode")
                    },
                )?;
            }
        }
        UserCommand::Remove { name } => {
            let users = users_of(&mut doc)?;
            let i = find_user(users, &name).ok_or_else(|| format!("no user `{name}`"))?;
            users.remove(i);
            write_doc(path, &doc)?;
            outln!("removed user `{name}`")?;
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let i =
                find_user(users_of(&mut doc)?, &name).ok_or_else(|| format!("no user `{name}`"))?;
            let password = read_password(password_stdin)?;
            let hash = PasswordHash::create(&password)?;
            let users = users_of(&mut doc)?;
            if let Some(t) = users.get_mut(i) {
                t.insert("password_hash", value(hash.as_str()));
            }
            write_doc(path, &doc)?;
            outln!("password of `{name}` changed")?;
        }
    }
    Ok(())
}

/// Refuse a user entry that `check-config` would refuse.
fn check_users(doc: &DocumentMut) -> Result<()> {
    check_keys(doc, "users")
}

/// Refuse what `check-config` would refuse under the keys starting with
/// `prefix` (an edit the command made).
pub(crate) fn check_keys(doc: &DocumentMut, prefix: &str) -> Result<()> {
    let config = Config::parse(&doc.to_string())?;
    let problems: Vec<String> = config
        .check()
        .into_iter()
        .filter(|p| p.key.starts_with(prefix))
        .map(|p| p.to_string())
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

pub fn cert(path: &Path, command: CertCommand) -> Result<()> {
    match command {
        CertCommand::Generate { hosts, dir, force } => {
            let base = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = dir.unwrap_or_else(|| base.to_path_buf());
            let cert_path = dir.join("cert.pem");
            let key_path = dir.join("key.pem");
            for p in [&cert_path, &key_path] {
                if p.exists() && !force {
                    return Err(format!(
                        "{} exists (use --force to replace it)",
                        p.display()
                    ));
                }
            }
            let g = qbc_server::tls::generate(&hosts)?;
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&key_path, &g.key_pem)
                .map_err(|e| format!("{}: {e}", key_path.display()))?;
            restrict(&key_path);
            std::fs::write(&cert_path, &g.cert_pem)
                .map_err(|e| format!("{}: {e}", cert_path.display()))?;
            let mut doc = read_doc(path)?;
            if doc.get("tls").is_none() {
                doc.insert("tls", Item::Table(Table::new()));
            }
            let tls = doc
                .get_mut("tls")
                .and_then(Item::as_table_mut)
                .ok_or_else(|| "`tls` is not a table".to_string())?;
            // The new files replace every other form of the material.
            for k in [
                "pfx",
                "pfx_password",
                "pfx_password_env",
                "pfx_subject",
                "cert_pem",
                "key_pem",
            ] {
                tls.remove(k);
            }
            tls.insert("cert", value(abs(&cert_path)));
            tls.insert("key", value(abs(&key_path)));
            write_doc(path, &doc)?;
            outln!(
                "wrote {} and {} (for {}); {} now serves HTTPS.\n\
                 Give clients the public certificate to pin: qbconnector cert export --config {}",
                cert_path.display(),
                key_path.display(),
                hosts.join(", "),
                path.display(),
                path.display()
            )?;
            Ok(())
        }
        CertCommand::Export { out } => {
            let config = load(path)?;
            let tls = config
                .tls
                .as_ref()
                .ok_or_else(|| format!("{} has no [tls] section", path.display()))?;
            let pem = qbc_server::tls::export(tls)
                .map_err(|e| format!("tls.{}: {}", e.key, e.message))?;
            match out {
                Some(o) => std::fs::write(&o, pem).map_err(|e| format!("{}: {e}", o.display())),
                None => {
                    out!("{pem}")?;
                    Ok(())
                }
            }
        }
    }
}

fn abs(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| PathBuf::from(p))
        .display()
        .to_string()
}
