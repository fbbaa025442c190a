//! Where the COM path's time goes (Windows; under wine, bench/com-wine.sh
//! runs it): the same point query, one at a time, through
//!  1. the simulator called directly;
//!  2. the simulator backend through the server's Backend trait, from a
//!     task on a multi-threaded tokio runtime, as the server calls it;
//!  3. QBXMLRP2 (here fakeqb.dll) through `qbwin::com` on this STA thread:
//!     one late-bound ProcessRequest per request;
//!  4. the COM backend through the Backend trait from a tokio task: (3)
//!     plus the hand-off to the STA worker thread and back.
//!
//! Usage: com_calls [REQUESTS, default 2000]. Needs fakeqb.dll registered.

#[cfg(not(windows))]
fn main() {
    eprintln!("com_calls measures the COM path: build it for Windows (see bench/com-wine.sh)");
}

#[cfg(windows)]
fn main() {
    if let Err(e) = windows_main::run() {
        eprintln!("com_calls: {e}");
        std::process::exit(1);
    }
}

#[cfg(windows)]
mod windows_main {
    use qbc_server::backend::com::{ComBackend, ComSettings};
    use qbc_server::backend::simulator::SimulatorBackend;
    use qbc_server::{Backend, OpenSettings};
    use std::sync::Arc;
    use std::time::Instant;

    type Result<T> = std::result::Result<T, String>;

    fn point_query(company: &qbsim::Company) -> Result<String> {
        let add = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerAddRq><CustomerAdd><Name>Harbor Lights</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>";
        let rs = company
            .process_bulk(add.as_bytes())
            .map_err(|f| f.message)?;
        let id = rs
            .split("<ListID>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .ok_or("no ListID")?;
        Ok(format!("<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><CustomerQueryRq requestID=\"1\"><ListID>{id}</ListID></CustomerQueryRq></QBXMLMsgsRq></QBXML>"))
    }

    fn report(what: &str, n: usize, t: Instant) {
        let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("{what:<58} {us:8.1} µs/request");
    }

    pub fn run() -> Result<()> {
        let n: usize = std::env::args()
            .nth(1)
            .map_or(Ok(2000), |a| a.parse())
            .map_err(|e| format!("REQUESTS: {e}"))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Three copies of one company: each path owns its file.
        let first = dir.path().join("direct.qbw");
        let rq = {
            let c = qbsim::Company::open(&first, qbsim::Config::default())
                .map_err(|e| e.to_string())?;
            point_query(&c)?
        };
        for name in ["backend.qbw", "com.qbw"] {
            std::fs::copy(&first, dir.path().join(name)).map_err(|e| e.to_string())?;
        }
        std::env::set_var("FAKEQB_DATA", dir.path());

        // 1. Direct, the file held exclusively as the backends hold theirs.
        let exclusive = qbsim::Config {
            exclusive: true,
            ..qbsim::Config::default()
        };
        let c = qbsim::Company::open(&first, exclusive).map_err(|e| e.to_string())?;
        let s = c.begin_session();
        let t = Instant::now();
        for _ in 0..n {
            c.process(s, rq.as_bytes()).map_err(|f| f.message)?;
        }
        report("1. simulator, direct", n, t);
        drop(c);

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let through = |backend: Arc<dyn Backend>, file: &str| -> Result<f64> {
            let settings = OpenSettings {
                company_file: file.to_string(),
                application_name: "com_calls".into(),
                ..OpenSettings::default()
            };
            // Parsed once, as the connector's front door hands it on.
            let rq: qbc_server::backend::Request =
                Arc::new(qbxml::parse_request(rq.as_bytes()).map_err(|e| e.to_string())?);
            rt.block_on(async move {
                tokio::spawn(async move {
                    let id = backend.open(settings).await.map_err(|e| e.to_string())?;
                    let t = Instant::now();
                    for _ in 0..n {
                        backend
                            .process(id.clone(), rq.clone())
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
                    backend.close(id).await;
                    Ok::<f64, String>(us)
                })
                .await
                .map_err(|e| e.to_string())?
            })
        };

        // 2. The simulator backend through the trait.
        let sim: Arc<dyn Backend> =
            Arc::new(SimulatorBackend::new(dir.path(), "backend.qbw", false));
        let us = through(sim, "backend.qbw")?;
        println!(
            "{:<58} {us:8.1} µs/request",
            "2. simulator backend, Backend trait, tokio task"
        );

        // 3. COM in place, on this thread.
        {
            let _sta = qbwin::com::Apartment::enter().map_err(|e| e.to_string())?;
            let mut rp = qbwin::com::RequestProcessor::create(qbwin::com::PROGID)
                .map_err(|e| e.to_string())?;
            rp.open_connection2("", "com_calls", 1)
                .map_err(|e| e.to_string())?;
            let ticket = rp
                .begin_session("C:\\books\\com.qbw", 2)
                .map_err(|e| e.to_string())?;
            let t = Instant::now();
            for _ in 0..n {
                rp.process_request(&ticket, &rq)
                    .map_err(|e| e.to_string())?;
            }
            report("3. QBXMLRP2 (fakeqb.dll), IDispatch on this STA", n, t);
            rp.end_session(&ticket).map_err(|e| e.to_string())?;
            rp.close_connection().map_err(|e| e.to_string())?;
        }

        // 4. The COM backend through the trait.
        let com: Arc<dyn Backend> = Arc::new(ComBackend::spawn(
            || {
                qbc_server::backend::com::windows::Qbxmlrp2::create(
                    qbwin::com::PROGID,
                    std::time::Duration::from_secs(1),
                )
            },
            ComSettings::default(),
        )?);
        let us = through(com, "C:\\books\\com.qbw")?;
        println!(
            "{:<58} {us:8.1} µs/request",
            "4. COM backend, Backend trait, tokio task → STA worker"
        );
        Ok(())
    }
}
