//! The connector as a Windows service (the Remote Connector runs as one).
//!
//! `install` registers the executable with the service control manager to
//! start automatically as LocalSystem with the arguments it is given (the
//! connector passes `service run --config … --log-dir …`); `run` is what
//! that command does: it hands the thread to the SCM's dispatcher and runs
//! the connector until the SCM says stop. Built on the `windows-service`
//! crate (the SCM's calls and the dispatcher's callbacks, safely).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;
use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_dispatcher;
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

/// What the service runs: it gets a receiver that yields once the SCM
/// asks it to stop, and returns when it has stopped.
pub type Body = Box<dyn FnOnce(mpsc::Receiver<()>) -> Result<(), String> + Send>;

static RUN: Mutex<Option<(String, Body)>> = Mutex::new(None);

fn manager(access: ServiceManagerAccess) -> Result<ServiceManager, String> {
    ServiceManager::local_computer(None::<&str>, access).map_err(|e| {
        format!("cannot open the service control manager (run as an administrator): {e}")
    })
}

/// Register the service.
pub fn install(
    name: &str,
    display_name: &str,
    description: &str,
    executable: PathBuf,
    arguments: Vec<OsString>,
) -> Result<(), String> {
    let m = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let info = ServiceInfo {
        name: name.into(),
        display_name: display_name.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: executable,
        launch_arguments: arguments,
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let s = m
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .map_err(|e| format!("cannot create the service `{name}`: {e}"))?;
    s.set_description(description)
        .map_err(|e| format!("cannot describe the service `{name}`: {e}"))
}

/// Stop the service if it runs, and remove it.
pub fn uninstall(name: &str) -> Result<(), String> {
    let m = manager(ServiceManagerAccess::CONNECT)?;
    let s = m
        .open_service(
            name,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )
        .map_err(|e| format!("cannot open the service `{name}`: {e}"))?;
    if let Ok(st) = s.query_status() {
        if st.current_state != ServiceState::Stopped {
            let _ = s.stop();
        }
    }
    s.delete()
        .map_err(|e| format!("cannot delete the service `{name}`: {e}"))
}

pub fn start(name: &str) -> Result<(), String> {
    let m = manager(ServiceManagerAccess::CONNECT)?;
    let s = m
        .open_service(name, ServiceAccess::START)
        .map_err(|e| format!("cannot open the service `{name}`: {e}"))?;
    s.start::<&str>(&[])
        .map_err(|e| format!("cannot start the service `{name}`: {e}"))
}

pub fn stop(name: &str) -> Result<(), String> {
    let m = manager(ServiceManagerAccess::CONNECT)?;
    let s = m
        .open_service(name, ServiceAccess::STOP)
        .map_err(|e| format!("cannot open the service `{name}`: {e}"))?;
    s.stop()
        .map(|_| ())
        .map_err(|e| format!("cannot stop the service `{name}`: {e}"))
}

/// The service's state as the SCM reports it (`Running`, `Stopped`, …).
pub fn state(name: &str) -> Result<String, String> {
    let m = manager(ServiceManagerAccess::CONNECT)?;
    let s = m
        .open_service(name, ServiceAccess::QUERY_STATUS)
        .map_err(|e| format!("cannot open the service `{name}`: {e}"))?;
    s.query_status()
        .map(|st| format!("{:?}", st.current_state))
        .map_err(|e| format!("cannot query the service `{name}`: {e}"))
}

/// Run `body` as the service `name`: blocks until the SCM has stopped it.
/// Fails at once when the process was not started by the SCM.
pub fn run(name: &str, body: Body) -> Result<(), String> {
    *RUN.lock().unwrap_or_else(|e| e.into_inner()) = Some((name.to_string(), body));
    service_dispatcher::start(name, ffi_service_main)
        .map_err(|e| format!("not started by the service control manager: {e}"))
}

#[allow(unsafe_code)]
mod ffi {
    windows_service::define_windows_service!(ffi_service_main, service_main);

    fn service_main(_arguments: Vec<std::ffi::OsString>) {
        super::service_main();
    }

    /// The dispatcher's entry point, as a plain function pointer.
    pub(super) const ENTRY: extern "system" fn(u32, *mut *mut u16) = ffi_service_main;
}
use ffi::ENTRY as ffi_service_main;

fn status(state: ServiceState, exit: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: if exit == 0 {
            ServiceExitCode::Win32(0)
        } else {
            ServiceExitCode::ServiceSpecific(exit)
        },
        checkpoint: 0,
        // In-flight requests finish before the connector stops.
        wait_hint: Duration::from_secs(30),
        process_id: None,
    }
}

/// Runs the body on its own thread and reports to the SCM from this one:
/// Running, StopPending as soon as a stop is asked for (requests in
/// flight still finish), Stopped with the body's outcome.
fn service_main() {
    let Some((name, body)) = RUN.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    let (control_tx, control_rx) = mpsc::channel::<()>();
    let control_tx = Mutex::new(control_tx);
    let handle = match service_control_handler::register(&name, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            let _ = control_tx.lock().map(|t| t.send(()));
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    }) {
        Ok(h) => h,
        Err(_) => return,
    };
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let worker = std::thread::spawn(move || body(stop_rx));
    let _ = handle.set_service_status(status(ServiceState::Running, 0));
    loop {
        match control_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(()) => {
                let _ = handle.set_service_status(status(ServiceState::StopPending, 0));
                let _ = stop_tx.send(());
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) if !worker.is_finished() => {}
            Err(_) => break,
        }
    }
    let exit = match worker.join() {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            last_resort_log(&e);
            1
        }
        Err(_) => {
            last_resort_log("the connector panicked");
            2
        }
    };
    let _ = handle.set_service_status(status(ServiceState::Stopped, exit));
}

/// The body logs through the connector's own logging; this is the last
/// resort when it fails before that is set up.
fn last_resort_log(e: &str) {
    eprintln!("qbconnector service: {e}");
}
