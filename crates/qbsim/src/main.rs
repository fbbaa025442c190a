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
    /// Create a sample company in a temporary file and walk through what the
    /// simulator does: queries, adds, QuickBooks' errors, iterators.
    Demo {
        /// Keep the company file here instead of a temporary directory.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
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
        Command::Demo { keep } => demo(keep)?,
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
                Ok(rs) => writeln!(std::io::stdout().lock(), "{rs}")?,
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
    }
    Ok(ExitCode::SUCCESS)
}

const DEMO: &[(&str, &str)] = &[
    (
        "Which QuickBooks is this? (HostQuery)",
        "<HostQueryRq requestID=\"1\"/>",
    ),
    (
        "Customers whose name starts with \"Ab\", at most 3 (jobs come right after their customer)",
        "<CustomerQueryRq requestID=\"2\"><MaxReturned>3</MaxReturned><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>Ab</Name></NameFilter><IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>EditSequence</IncludeRetElement><IncludeRetElement>FullName</IncludeRetElement><IncludeRetElement>Sublevel</IncludeRetElement><IncludeRetElement>TotalBalance</IncludeRetElement></CustomerQueryRq>",
    ),
    (
        "Add a customer with terms and an address; QuickBooks fills in IDs, times, the address block",
        "<CustomerAddRq requestID=\"3\"><CustomerAdd><Name>Harbor Lights Bakery</Name><CompanyName>Harbor Lights Bakery LLC</CompanyName><BillAddress><Addr1>12 Quay Street</Addr1><City>Portland</City><State>ME</State><PostalCode>04101</PostalCode></BillAddress><Phone>207-555-0142</Phone><TermsRef><FullName>Net 30</FullName></TermsRef><OpenBalance>250.00</OpenBalance></CustomerAdd></CustomerAddRq>",
    ),
    (
        "The same name again (case differs): 3100",
        "<CustomerAddRq requestID=\"4\"><CustomerAdd><Name>HARBOR LIGHTS BAKERY</Name></CustomerAdd></CustomerAddRq>",
    ),
    (
        "A reference to terms that do not exist: 3140",
        "<CustomerAddRq requestID=\"5\"><CustomerAdd><Name>Quay Fish</Name><TermsRef><FullName>Net 90</FullName></TermsRef></CustomerAdd></CustomerAddRq>",
    ),
    (
        "A modification with an out-of-date EditSequence: 3200",
        "<CustomerModRq requestID=\"6\"><CustomerMod><ListID>{ID}</ListID><EditSequence>1</EditSequence><Phone>207-555-0199</Phone></CustomerMod></CustomerModRq>",
    ),
    (
        "Page through the vendors with an iterator (Start, 2 at a time)",
        "<VendorQueryRq requestID=\"7\" iterator=\"Start\"><MaxReturned>2</MaxReturned><IncludeRetElement>Name</IncludeRetElement></VendorQueryRq>",
    ),
    (
        "Invoice the new customer: 2 hours of design and a window (taxable); QuickBooks adds the terms, due date, tax and totals",
        "<InvoiceAddRq requestID=\"8\"><InvoiceAdd><CustomerRef><FullName>Harbor Lights Bakery</FullName></CustomerRef><ItemSalesTaxRef><FullName>Bayshore County</FullName></ItemSalesTaxRef><InvoiceLineAdd><ItemRef><FullName>Design</FullName></ItemRef><Quantity>2</Quantity></InvoiceLineAdd><InvoiceLineAdd><ItemRef><FullName>Window</FullName></ItemRef><Quantity>1</Quantity><SalesTaxCodeRef><FullName>Tax</FullName></SalesTaxCodeRef></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>",
    ),
    (
        "Pay more than is due: 3210",
        "<ReceivePaymentAddRq requestID=\"9\"><ReceivePaymentAdd><CustomerRef><FullName>Harbor Lights Bakery</FullName></CustomerRef><TotalAmount>9999.00</TotalAmount><AppliedToTxnAdd><TxnID>{TXN}</TxnID><PaymentAmount>9999.00</PaymentAmount></AppliedToTxnAdd></ReceivePaymentAdd></ReceivePaymentAddRq>",
    ),
    (
        "Unpaid invoices of last month, summary only",
        "<InvoiceQueryRq requestID=\"10\" metaData=\"MetaDataOnly\"><TxnDateRangeFilter><DateMacro>LastMonth</DateMacro></TxnDateRangeFilter><PaidStatus>NotPaidOnly</PaidStatus></InvoiceQueryRq>",
    ),
    (
        "Profit & Loss, this year to date, from the ledger",
        "<GeneralSummaryReportQueryRq requestID=\"11\"><GeneralSummaryReportType>ProfitAndLossStandard</GeneralSummaryReportType><ReportDateMacro>ThisYearToDate</ReportDateMacro></GeneralSummaryReportQueryRq>",
    ),
    (
        "Who owes what, and for how long (A/R aging)",
        "<AgingReportQueryRq requestID=\"12\"><AgingReportType>ARAgingSummary</AgingReportType></AgingReportQueryRq>",
    ),
];

/// The demo: a sample company and a tour of requests, each printed with
/// QuickBooks' answer.
fn demo(keep: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = std::env::temp_dir().join(format!("qbsim-demo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let file = keep.unwrap_or_else(|| tmp.join("Sample Company.qbsim"));
    for ext in ["", "-wal", "-shm"] {
        let mut p = file.clone().into_os_string();
        p.push(ext);
        let _ = std::fs::remove_file(p);
    }
    let c = Company::open(&file, Config::default())?;
    let n = sample::generate(&c, sample::SampleSize::default())?;
    let t = sample::transactions(&c, sample::TxnPlan::default())?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# A sample company: {} ({n} list records, {} transactions over a year)\n",
        file.display(),
        t.added
    )?;
    let s = c.begin_session();
    let mut added_id = String::new();
    let mut txn_id = String::new();
    for (what, body) in DEMO {
        let body = body.replace("{ID}", &added_id).replace("{TXN}", &txn_id);
        let rq = format!(
            "<?xml version=\"1.0\"?>\n<?qbxml version=\"13.0\"?>\n<QBXML><QBXMLMsgsRq onError=\"continueOnError\">{body}</QBXMLMsgsRq></QBXML>"
        );
        writeln!(out, "## {what}\n> {body}\n")?;
        let rs = c.process(s, rq.as_bytes())?;
        if added_id.is_empty() && rs.contains("<CustomerAddRs requestID=\"3\" statusCode=\"0\"") {
            if let Some(id) = rs
                .split("<ListID>")
                .nth(1)
                .and_then(|r| r.split('<').next())
            {
                added_id = id.to_string();
            }
        }
        if txn_id.is_empty() && rs.contains("<InvoiceAddRs requestID=\"8\" statusCode=\"0\"") {
            if let Some(id) = rs.split("<TxnID>").nth(1).and_then(|r| r.split('<').next()) {
                txn_id = id.to_string();
            }
        }
        writeln!(out, "{rs}\n")?;
    }
    c.end_session(s);
    if file.starts_with(&tmp) {
        drop(c);
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}
