//! The `qbconnector` command: serve, demo, users, certificates, checks.

#[macro_use]
mod out;
mod admin;
mod logfile;
mod reload;
mod remote;
mod service;
mod validate;
mod webconnector;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "qbconnector",
    version,
    about = "Relay qbXML from HTTP(S) clients to QuickBooks Desktop"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured connector until SIGTERM or Ctrl-C.
    Serve {
        #[arg(long, default_value = "qbconnector.toml")]
        config: PathBuf,
        /// Log format.
        #[arg(long, value_enum, default_value = "human")]
        log: admin::LogFormat,
        /// Write the log to daily files in this folder (yyyy_MM_dd.txt)
        /// instead of standard error.
        #[arg(long)]
        log_dir: Option<PathBuf>,
        /// Days of daily files kept in --log-dir: older ones are removed
        /// at start and as each day begins (0: keep them all).
        #[arg(long, default_value_t = admin::LOG_KEEP_DAYS)]
        log_keep_days: u32,
    },
    /// Back up every company file of the simulator now, consistently, into
    /// a new folder named by the time (docs/OPERATIONS.md). While `serve`
    /// runs it holds the files: it makes its own backups, on the schedule
    /// `[backup]` sets and at once on SIGUSR1.
    Backup {
        #[arg(long, default_value = "qbconnector.toml")]
        config: PathBuf,
        /// The folder that receives the backup's folder (default: the
        /// `dir` of [backup]).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the connector as a Windows service: install, uninstall, start,
    /// stop (as an administrator).
    Service {
        #[command(subcommand)]
        command: service::ServiceCommand,
    },
    /// Serve a generated sample company (simulator) on 127.0.0.1 with a
    /// demo user, and print a ready-to-paste curl command.
    Demo {
        #[arg(long, default_value_t = 2080)]
        port: u16,
        /// Customers in the sample company.
        #[arg(long, default_value_t = 150)]
        customers: usize,
        /// Serve the company through the Web Connector bridge instead: a
        /// Web Connector (or shared/tools/qbwc_emulator.py) fetches the
        /// requests.
        #[arg(long)]
        qbwc: bool,
    },
    /// Manage the company files served through the QuickBooks Web
    /// Connector (backend.kind = "qbwc").
    Qbwc {
        #[arg(long, default_value = "qbconnector.toml", global = true)]
        config: PathBuf,
        #[command(subcommand)]
        command: webconnector::QbwcCommand,
    },
    /// Write the .qwc file that the Web Connector loads for one company
    /// file (stable OwnerID and FileID; the password is not in it).
    Qwc {
        /// The company file's name in [[backend.qbwc.companies]].
        company: String,
        #[arg(long, default_value = "qbconnector.toml")]
        config: PathBuf,
        /// The SOAP endpoint as the Web Connector reaches it: https, with
        /// a host name; the company file's own path (/qbwc/NAME) or /qbwc
        /// (default: http://localhost:PORT/qbwc/NAME without TLS).
        #[arg(long)]
        url: Option<String>,
        /// A page on the same host that answers 200 (default: the URL).
        #[arg(long)]
        support: Option<String>,
        #[arg(long, default_value = "QBConnector")]
        app_name: String,
        /// Run every N minutes …
        #[arg(long)]
        minutes: Option<u32>,
        /// … or every N seconds ("Real Time"); default: every minute.
        #[arg(long)]
        seconds: Option<u32>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Manage users in the configuration file.
    User {
        #[arg(long, default_value = "qbconnector.toml", global = true)]
        config: PathBuf,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Generate or export the server's TLS certificate.
    Cert {
        #[arg(long, default_value = "qbconnector.toml", global = true)]
        config: PathBuf,
        #[command(subcommand)]
        command: CertCommand,
    },
    /// Send a qbXML request to a connector and print QuickBooks' answer
    /// (exit status 3 when a request in it failed).
    Send {
        /// The request file; `-` or none reads standard input.
        file: Option<PathBuf>,
        #[command(flatten)]
        conn: Conn,
        /// Indent the answer.
        #[arg(long)]
        pretty: bool,
        /// The request is the JSON form (docs/PROTOCOL.md §14), sent to
        /// the connector's /json; the answer is printed in JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a query (`Customer` → CustomerQueryRq) through a connector,
    /// paging with an iterator, and print the records.
    Query {
        /// The list or transaction: Customer, Vendor, Invoice, …
        kind: String,
        /// Filters as Path=value: ActiveStatus=All,
        /// NameFilter/MatchCriterion=StartsWith, NameFilter/Name=A
        #[arg(long = "filter", short = 'f')]
        filters: Vec<String>,
        /// Stop after this many records.
        #[arg(long)]
        max: Option<u32>,
        /// Records per page.
        #[arg(long, default_value_t = 500)]
        page: u32,
        #[arg(long, value_enum, default_value = "xml")]
        format: remote::Format,
        #[command(flatten)]
        conn: Conn,
    },
    /// Check the configuration file and say precisely what is wrong.
    CheckConfig {
        #[arg(long, default_value = "qbconnector.toml")]
        config: PathBuf,
    },
    /// Validate qbXML requests against Intuit's schema for their declared
    /// version, as QuickBooks would, and explain what it would refuse.
    Validate {
        /// Files to check; `-` or none reads standard input.
        files: Vec<PathBuf>,
        /// The files are responses (check well-formedness and statuses).
        #[arg(long)]
        response: bool,
        /// Print only failures.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Where the connection string comes from (the password is in it).
#[derive(clap::Args)]
struct Conn {
    /// `URL='https://host:2080' User='u' Password='p' …` (or set
    /// QBC_CONNECTION, or use --connection-file, to keep the password out
    /// of shell history).
    #[arg(long)]
    connection: Option<String>,
    /// A file holding the connection string.
    #[arg(long)]
    connection_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is prompted for (or read from standard
    /// input with --password-stdin), never given as an argument.
    Add {
        name: String,
        /// May only read: every write request is refused with 403.
        #[arg(long)]
        read_only: bool,
        /// The company file this user's requests go to.
        #[arg(long)]
        company_file: Option<String>,
        /// Let the client choose the company file (X-QB-Connection) when
        /// --company-file is not given.
        #[arg(long)]
        client_company_file: bool,
        /// The application name QuickBooks sees.
        #[arg(long)]
        app_name: Option<String>,
        /// dontcare, single or multi.
        #[arg(long)]
        connection_mode: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// A Windows account (DOMAIN\user, user@domain or a local user):
        /// Windows checks its password (LogonUser; the Windows build only).
        #[arg(long, conflicts_with = "password_stdin")]
        windows: bool,
    },
    /// List users (never their hashes).
    List,
    /// Remove a user.
    Remove { name: String },
    /// Set a user's password.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum CertCommand {
    /// Generate a self-signed certificate and key, and point the
    /// configuration's [tls] at them.
    Generate {
        /// A host name or IP address clients use (repeat for more).
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// Where to write cert.pem and key.pem (default: beside the
        /// configuration file).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
    /// Print the public certificate (PEM) for clients to pin.
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate {
            files,
            response,
            quiet,
        } => return validate::validate(&files, response, quiet),
        Command::Serve {
            config,
            log,
            log_dir,
            log_keep_days,
        } => admin::serve(&config, log, log_dir.as_deref(), log_keep_days),
        Command::Backup { config, out } => admin::backup(&config, out.as_deref()),
        Command::Service { command } => service::run(command),
        Command::Demo {
            port, qbwc: true, ..
        } => webconnector::demo(port),
        Command::Demo {
            port, customers, ..
        } => admin::demo(port, customers),
        Command::Qbwc { config, command } => webconnector::qbwc(&config, command),
        Command::Qwc {
            company,
            config,
            url,
            support,
            app_name,
            minutes,
            seconds,
            out,
        } => webconnector::qwc(
            &config,
            webconnector::QwcArgs {
                company,
                url,
                support,
                app_name,
                minutes,
                seconds,
                out,
            },
        ),
        Command::User { config, command } => admin::user(&config, command),
        Command::Cert { config, command } => admin::cert(&config, command),
        Command::CheckConfig { config } => admin::check_config(&config),
        Command::Send {
            file,
            conn,
            pretty,
            json,
        } => match remote::send(conn.connection, conn.connection_file, file, pretty, json) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Query {
            kind,
            filters,
            max,
            page,
            format,
            conn,
        } => remote::query(
            conn.connection,
            conn.connection_file,
            &kind,
            &filters,
            max,
            page,
            format,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qbconnector: {e}");
            ExitCode::from(1)
        }
    }
}
