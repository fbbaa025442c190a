//! `qbsim`: create, inspect and talk to simulated QuickBooks company files.

use clap::{Parser, Subcommand};
use qbsim::{sample, Company, Config};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "qbsim", about = "An embedded QuickBooks Desktop simulator")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a company file and fill it with a generated sample company.
    Create {
        file: PathBuf,
        /// Top-level customers (about a third get jobs).
        #[arg(long, default_value_t = 100)]
        customers: usize,
        #[arg(long, default_value_t = 50)]
        vendors: usize,
    },
    /// Send a qbXML request (a file, or `-` for stdin) and print the answer.
    Process { file: PathBuf, request: PathBuf },
    /// Run SQLite's integrity check on a company file.
    Check { file: PathBuf },
    /// Add customers forever, printing each name once its add is answered
    /// with status 0 (used by the crash test).
    #[command(hide = true)]
    WriteLoop { file: PathBuf, prefix: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qbsim: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: Command) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cmd {
        Command::Create {
            file,
            customers,
            vendors,
        } => {
            let c = Company::open(&file, Config::default())?;
            let n = sample::generate(&c, sample::SampleSize { customers, vendors })?;
            println!("{}: {n} records added", file.display());
        }
        Command::Process { file, request } => {
            let mut body = Vec::new();
            if request.as_os_str() == "-" {
                std::io::stdin().read_to_end(&mut body)?;
            } else {
                body = std::fs::read(&request)?;
            }
            let c = Company::open(&file, Config::default())?;
            let s = c.begin_session();
            match c.process(s, &body) {
                Ok(rs) => println!("{rs}"),
                Err(f) => {
                    eprintln!("{f}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Command::Check { file } => {
            let c = Company::open(&file, Config::default())?;
            let r = c.integrity_check()?;
            println!("{r}");
            if r != "ok" {
                return Ok(ExitCode::from(1));
            }
        }
        Command::WriteLoop { file, prefix } => {
            let c = Company::open(&file, Config::default())?;
            let s = c.begin_session();
            let mut out = std::io::stdout().lock();
            for i in 0u64.. {
                let name = format!("{prefix}-{i}");
                let rq = format!(
                    "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\">\
                     <CustomerAddRq><CustomerAdd><Name>{name}</Name><CompanyName>Crash test</CompanyName></CustomerAdd></CustomerAddRq>\
                     </QBXMLMsgsRq></QBXML>"
                );
                let rs = c.process(s, rq.as_bytes())?;
                if rs.contains("statusCode=\"0\"") {
                    writeln!(out, "{name}")?;
                    out.flush()?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
