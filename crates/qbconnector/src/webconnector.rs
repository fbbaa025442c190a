//! The Web Connector bridge's commands: `qbwc` (the company files it
//! serves, each with its Web Connector user), `qwc` (the file an admin
//! loads into the Web Connector) and `demo --qbwc`.

use crate::admin::{
    check_keys, find_user, init_logging, load, random_password, read_doc, read_password, runtime,
    stop_signal, write_doc, LogFormat,
};
use qbc_server::auth::PasswordHash;
use qbc_server::backend::qbwc::QbwcCompany;
use qbc_server::{BackendKind, Config, Connector, TracingEvents};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

type Result<T> = std::result::Result<T, String>;

#[derive(clap::Subcommand)]
pub enum QbwcCommand {
    /// Serve a company file through a Web Connector: its name for
    /// clients, the Web Connector's user name (the password is prompted
    /// for, or read with --password-stdin), and optionally the path
    /// QuickBooks has it at. Sets backend.kind = "qbwc".
    Add {
        /// What clients call it (their CompanyFile).
        name: String,
        /// The Web Connector's user name (the .qwc's UserName).
        #[arg(long)]
        user: String,
        /// The company file's path on the QuickBooks computer, as the Web
        /// Connector reports it; checked at each session.
        #[arg(long)]
        company_file: Option<String>,
        /// Only reads go through (the .qwc says IsReadOnly).
        #[arg(long)]
        read_only: bool,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the company files served through the Web Connector.
    List,
    /// Stop serving a company file.
    Remove { name: String },
    /// Set the Web Connector's password for a company file.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn companies_of(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables> {
    let backend = doc
        .entry("backend")
        .or_insert(Item::Table(Table::new()))
        .as_table_mut()
        .ok_or("`backend` is not a table")?;
    let qbwc = backend
        .entry("qbwc")
        .or_insert(Item::Table(Table::new()))
        .as_table_mut()
        .ok_or("`backend.qbwc` is not a table")?;
    qbwc.entry("companies")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| "`backend.qbwc.companies` is not [[backend.qbwc.companies]]".into())
}

pub fn qbwc(path: &Path, command: QbwcCommand) -> Result<()> {
    let mut doc = read_doc(path)?;
    match command {
        QbwcCommand::Add {
            name,
            user,
            company_file,
            read_only,
            password_stdin,
        } => {
            if find_user(companies_of(&mut doc)?, &name).is_some() {
                return Err(format!(
                    "company `{name}` is already served (qbwc passwd / remove)"
                ));
            }
            let password = read_password(password_stdin)?;
            let hash = PasswordHash::create(&password)?;
            let mut t = Table::new();
            t.insert("name", value(name.as_str()));
            t.insert("user", value(user.as_str()));
            t.insert("password_hash", value(hash.as_str()));
            if let Some(f) = company_file {
                t.insert("company_file", value(f));
            }
            t.insert("read_only", value(read_only));
            companies_of(&mut doc)?.push(t);
            if let Some(b) = doc.get_mut("backend").and_then(Item::as_table_mut) {
                b.insert("kind", value("qbwc"));
            }
            check_keys(&doc, "backend.qbwc")?;
            write_doc(path, &doc)?;
            outln!(
                "company `{name}` is served through the Web Connector user `{user}`; \
                 next: qbconnector qwc {name} --config {} --url https://YOUR.HOST:PORT/qbwc",
                path.display()
            )?;
        }
        QbwcCommand::List => {
            let config = load(path)?;
            for c in &config.backend.qbwc.companies {
                outln!(
                    "{}\tuser={}\tfile={}\t{}\tFileID={}",
                    c.name,
                    c.user,
                    if c.company_file.is_empty() {
                        "(the open one)"
                    } else {
                        &c.company_file
                    },
                    if c.read_only {
                        "read-only"
                    } else {
                        "read-write"
                    },
                    c.file_id()
                )?;
            }
        }
        QbwcCommand::Remove { name } => {
            let list = companies_of(&mut doc)?;
            let i = find_user(list, &name).ok_or_else(|| format!("no company `{name}`"))?;
            list.remove(i);
            write_doc(path, &doc)?;
            outln!("company `{name}` is no longer served")?;
        }
        QbwcCommand::Passwd {
            name,
            password_stdin,
        } => {
            let i = find_user(companies_of(&mut doc)?, &name)
                .ok_or_else(|| format!("no company `{name}`"))?;
            let hash = PasswordHash::create(&read_password(password_stdin)?)?;
            if let Some(t) = companies_of(&mut doc)?.get_mut(i) {
                t.insert("password_hash", value(hash.as_str()));
            }
            write_doc(path, &doc)?;
            outln!("the Web Connector password of `{name}` changed")?;
        }
    }
    Ok(())
}

/// `qbconnector qwc`'s options.
pub struct QwcArgs {
    pub company: String,
    pub url: Option<String>,
    pub support: Option<String>,
    pub app_name: String,
    pub minutes: Option<u32>,
    pub seconds: Option<u32>,
    pub out: Option<PathBuf>,
}

/// The .qwc for one company file, from the configuration.
pub fn qwc(path: &Path, a: QwcArgs) -> Result<()> {
    let config = load(path)?;
    let q = &config.backend.qbwc;
    let c = q
        .companies
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(&a.company))
        .ok_or_else(|| {
            format!(
                "no company `{}` in [[backend.qbwc.companies]] (qbconnector qbwc add)",
                a.company
            )
        })?;
    let url = match a.url {
        Some(u) => u,
        None if config.tls.is_none() => {
            let port = config.listen.rsplit(':').next().unwrap_or("2080");
            format!("http://localhost:{port}{}", q.company_path(&c.name))
        }
        None => {
            return Err(
                "give --url https://YOUR.HOST:PORT/qbwc: the Web Connector needs a host \
                        name, not an IP address (QBWC1001)"
                    .into(),
            )
        }
    };
    let text = qwc_text(
        c,
        &url,
        a.support.as_deref(),
        &a.app_name,
        a.minutes,
        a.seconds,
    )?;
    match a.out {
        Some(p) => {
            std::fs::write(&p, &text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            eprintln!(
                "wrote {}: load it into the Web Connector (Add an application) and type the \
                 password of `{}`",
                p.display(),
                c.user
            );
        }
        None => out!("{text}")?,
    }
    Ok(())
}

fn qwc_text(
    c: &QbwcCompany,
    url: &str,
    support: Option<&str>,
    app_name: &str,
    minutes: Option<u32>,
    seconds: Option<u32>,
) -> Result<String> {
    let schedule = match (minutes, seconds) {
        (Some(_), Some(_)) => return Err("--minutes or --seconds, not both".into()),
        (Some(m), None) => Some(qbwc::qwc::Schedule::Minutes(m)),
        (None, Some(s)) => Some(qbwc::qwc::Schedule::Seconds(s)),
        (None, None) => Some(qbwc::qwc::Schedule::Minutes(1)),
    };
    qbwc::qwc::write(&qbwc::qwc::Qwc {
        app_name: format!("{app_name} ({})", c.name),
        app_description: format!("QBConnector: company file {} for its clients", c.name),
        app_url: url.to_string(),
        app_support: support.map_or_else(|| url.to_string(), str::to_string),
        user_name: c.user.clone(),
        owner_id: c.owner_id(),
        file_id: c.file_id(),
        schedule,
        read_only: c.read_only,
        auth_flags: None,
    })
}

/// Where the project's QBWC emulator is, if it is near.
fn emulator() -> String {
    for p in [
        "../shared/tools/qbwc_emulator.py",
        "shared/tools/qbwc_emulator.py",
    ] {
        if let Ok(abs) = std::fs::canonicalize(p) {
            return abs.display().to_string();
        }
    }
    "shared/tools/qbwc_emulator.py".into()
}

/// `qbconnector demo --qbwc`: the bridge on 127.0.0.1, one company file
/// named after the sample company, a connector user and a Web Connector
/// user with fresh passwords.
pub fn demo(port: u16) -> Result<()> {
    init_logging(LogFormat::Human, None, 0)?;
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let company = "sample";
    let wc_password = random_password()?;
    let mut config = Config {
        listen: format!("127.0.0.1:{port}"),
        ..Config::default()
    };
    config.backend.kind = BackendKind::Qbwc;
    config.backend.data_dir = dir.path().to_path_buf();
    // A demo session ends half a minute after the last client request.
    config.backend.qbwc.keep_alive_secs = 30;
    config.backend.qbwc.companies = vec![QbwcCompany {
        name: company.into(),
        user: "qbwc-demo".into(),
        password_hash: PasswordHash::create(&wc_password)?.as_str().to_string(),
        ..QbwcCompany::default()
    }];
    let password = random_password()?;
    let connector = Connector::new(config).map_err(|e| e.to_string())?;
    connector.add_user(
        "demo",
        &password,
        &format!("CompanyFile='{company}'"),
        false,
    )?;
    let connector = connector.with_events(Arc::new(TracingEvents));
    let emulator = emulator();
    runtime()?.block_on(async move {
        let running = connector.listen().await?;
        let addr = running.local_addr();
        outln!(
            "\nqbconnector demo --qbwc: company file `{company}` through the Web Connector bridge on http://{addr}/\n\n\
             connector user: demo\npassword:       {password}\n\n\
             Web Connector URL:      http://localhost:{port}/qbwc\n\
             Web Connector user:     qbwc-demo\n\
             Web Connector password: {wc_password}\n\n\
             Try it (a client's request waits while a Web Connector — the emulator, with its fake\n\
             QuickBooks — fetches it and brings the answer; needs `pip install zeep==4.3.3`):\n\n  \
             curl -s -u 'demo:{password}' -H 'Content-Type: text/xml' --data-binary \
             '<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">\
             <CustomerQueryRq requestID=\"1\"><MaxReturned>3</MaxReturned></CustomerQueryRq>\
             </QBXMLMsgsRq></QBXML>' http://{addr}/ & \\\n  \
             sleep 1; python3 {emulator} --url http://localhost:{port}/qbwc --user qbwc-demo \
             --password '{wc_password}' --records 3; wait\n\n\
             Ctrl-C stops it.\n"
        )?;
        let _ = std::io::stdout().flush();
        stop_signal().await;
        running.shutdown().await;
        Ok::<(), String>(())
    })?;
    drop(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn qwc_has_the_company_user_and_stable_ids() {
        let c = QbwcCompany {
            name: "Acme".into(),
            user: "qbwc-acme".into(),
            read_only: true,
            ..QbwcCompany::default()
        };
        let a = qwc_text(
            &c,
            "https://qb.example.com/qbwc",
            None,
            "QBConnector",
            None,
            Some(30),
        )
        .unwrap();
        let b = qwc_text(
            &c,
            "https://qb.example.com/qbwc",
            None,
            "QBConnector",
            None,
            Some(30),
        )
        .unwrap();
        assert_eq!(a, b, "the same company gets the same file");
        assert!(a.contains("<UserName>qbwc-acme</UserName>"), "{a}");
        assert!(
            a.contains(&format!("<FileID>{}</FileID>", c.file_id())),
            "{a}"
        );
        assert!(a.contains("<IsReadOnly>true</IsReadOnly>"), "{a}");
        assert!(a.contains("<RunEveryNSeconds>30</RunEveryNSeconds>"), "{a}");
        // QBWC1010: http only for localhost.
        assert!(qwc_text(&c, "http://qb.example.com/qbwc", None, "Q", None, None).is_err());
        assert!(qwc_text(&c, "http://localhost:2080/qbwc", None, "Q", None, None).is_ok());
    }
}
