//! `qbconnector service …`: the connector as a Windows service.
//!
//! `install` registers this executable to start automatically (as
//! LocalSystem) with `service run --config <absolute path> --log-dir
//! <absolute path>`; the SCM then starts it with those arguments, and
//! `run` hands the thread to the SCM's dispatcher and serves until the
//! SCM says stop. The other platforms have no services: the command says
//! so.

use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum ServiceCommand {
    /// Register the service (starts with Windows; as an administrator).
    Install {
        #[arg(long, default_value = "qbconnector.toml")]
        config: PathBuf,
        /// Where the service writes its daily log files.
        #[arg(long, default_value = "logs")]
        log_dir: PathBuf,
        /// Days of daily log files kept (0: all).
        #[arg(long, default_value_t = crate::admin::LOG_KEEP_DAYS)]
        log_keep_days: u32,
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Stop and remove the service.
    Uninstall {
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    Start {
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    Stop {
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// What the service control manager runs (not for a console).
    #[command(hide = true)]
    Run {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        log_dir: PathBuf,
        #[arg(long, default_value_t = crate::admin::LOG_KEEP_DAYS)]
        log_keep_days: u32,
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
}

const DEFAULT_NAME: &str = "qbconnector";

#[cfg(windows)]
pub fn run(command: ServiceCommand) -> Result<(), String> {
    use qbwin::service;
    match command {
        ServiceCommand::Install {
            config,
            log_dir,
            log_keep_days,
            name,
        } => {
            // The service starts in C:\Windows\System32: absolute paths.
            let config =
                std::path::absolute(&config).map_err(|e| format!("{}: {e}", config.display()))?;
            let log_dir =
                std::path::absolute(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
            crate::admin::check_file(&config)?;
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            if !in_protected_folder(&exe) {
                eprintln!(
                    "warning: {} is not under Program Files or the Windows folder; the \
                     service runs it as LocalSystem, so anyone who can replace it there \
                     runs code as LocalSystem: move it first (docs/WINDOWS.md §2)",
                    exe.display()
                );
            }
            service::install(
                &name,
                "QBConnector",
                "Relays qbXML from HTTP(S) clients to QuickBooks Desktop",
                exe,
                vec![
                    "service".into(),
                    "run".into(),
                    "--config".into(),
                    config.clone().into_os_string(),
                    "--log-dir".into(),
                    log_dir.clone().into_os_string(),
                    "--log-keep-days".into(),
                    log_keep_days.to_string().into(),
                    "--name".into(),
                    name.clone().into(),
                ],
            )?;
            outln!(
                "service `{name}` installed: config {}, logs in {}; start it with \
                 `qbconnector service start`",
                config.display(),
                log_dir.display()
            )?;
            Ok(())
        }
        ServiceCommand::Uninstall { name } => {
            service::uninstall(&name)?;
            outln!("service `{name}` removed")?;
            Ok(())
        }
        ServiceCommand::Start { name } => {
            service::start(&name)?;
            outln!("service `{name}`: start requested")?;
            Ok(())
        }
        ServiceCommand::Stop { name } => {
            service::stop(&name)?;
            outln!("service `{name}`: stop requested")?;
            Ok(())
        }
        ServiceCommand::Run {
            config,
            log_dir,
            log_keep_days,
            name,
        } => {
            crate::admin::init_logging(
                crate::admin::LogFormat::Human,
                Some(&log_dir),
                log_keep_days,
            )?;
            let body: service::Body = Box::new(move |stop| {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                // The SCM's stop arrives on a std channel; the server
                // waits on a future.
                std::thread::spawn(move || {
                    let _ = stop.recv();
                    let _ = tx.send(());
                });
                let r = crate::admin::serve_until(&config, async move {
                    let _ = rx.await;
                });
                if let Err(e) = &r {
                    tracing::error!("{e}");
                }
                r
            });
            service::run(&name, body)
        }
    }
}

/// Under a folder only administrators can write to by default.
#[cfg(windows)]
fn in_protected_folder(exe: &std::path::Path) -> bool {
    let exe = exe.to_string_lossy().to_lowercase();
    [
        "ProgramFiles",
        "ProgramFiles(x86)",
        "ProgramW6432",
        "SystemRoot",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok())
    .filter(|d| !d.is_empty())
    .any(|d| {
        let d = d.to_lowercase();
        let d = d.trim_end_matches('\\');
        exe.starts_with(&format!("{d}\\"))
    })
}

#[cfg(not(windows))]
pub fn run(_command: ServiceCommand) -> Result<(), String> {
    Err(
        "Windows services exist only on Windows; here, run `qbconnector serve` under \
         systemd (dist/systemd/qbconnector.service, docs/OPERATIONS.md) or another supervisor"
            .into(),
    )
}
