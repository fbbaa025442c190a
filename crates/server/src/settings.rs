//! The names the seed's `config` method knows: a table, one row per
//! setting, each with how it reads and how it is set (if it can be).
//!
//! `config("Name=Value")` sets and `config("Name")` reads; both return the
//! value now, so everything that can be written can be read back. Names
//! are case-insensitive. A change goes through [`Control::change`]: it is
//! checked whole, and while listening applies to requests that start
//! after it (or is refused, for the few settings only a restart applies:
//! `LocalHost`, `LocalPort`, `AuthFlags`).

use crate::config::{parse_net, BackendKind, Config};
use crate::connstr::ConnectionString;
use crate::control::Control;

/// How a setting is written: the value's text into the configuration.
type Set = fn(&mut Config, &str) -> Result<(), String>;

/// One `config` name.
pub struct Setting {
    pub name: &'static str,
    pub about: &'static str,
    get: fn(&Config) -> Result<String, String>,
    /// `None`: read-only.
    set: Option<Set>,
}

impl Setting {
    pub fn read_only(&self) -> bool {
        self.set.is_none()
    }
}

/// A seed setting that changes nothing here: accepted (a program written
/// for the seed keeps working), checked, kept and read back, with the
/// reason it has no effect.
pub struct Inert {
    pub name: &'static str,
    pub default: &'static str,
    /// The value is a boolean (else a whole number).
    pub boolean: bool,
    pub why: &'static str,
}

/// The seed's settings that have no effect here.
pub const INERT: &[Inert] = &[
    Inert {
        name: "ProcessIdleEvents",
        default: "false",
        boolean: true,
        why: "events are delivered on the server's own threads as they happen; there is \
              no message loop to run",
    },
    Inert {
        name: "SelectWaitMillis",
        default: "20",
        boolean: false,
        why: "events are delivered on the server's own threads as they happen; nothing \
              waits in do_events",
    },
    Inert {
        name: "UseInternalSecurityAPI",
        default: "true",
        boolean: true,
        why: "TLS is always the connector's own (rustls with ring); there is no system \
              library to choose",
    },
];

/// Every name `config` takes (besides `ReadOnly[i]`).
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "AuthFlags",
        about: "QuickBooks editions the COM backend accepts (hex or decimal; \
                backend.com.auth_flags); set while not listening",
        get: |c| Ok(format!("0x{:X}", c.backend.com.auth_flags)),
        set: Some(|c, v| {
            let t = v.trim();
            c.backend.com.auth_flags =
                match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                    Some(h) => u32::from_str_radix(h, 16),
                    None => t.parse(),
                }
                .map_err(|_| format!("`{v}` is not a number"))?;
            Ok(())
        }),
    },
    Setting {
        name: "ConnectedToQB",
        about: "keep one QuickBooks session open on the default connection's company file",
        get: |c| Ok(c.backend.connected_to_qb.to_string()),
        set: Some(|c, v| {
            c.backend.connected_to_qb = bool_of(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "DefaultConnectionString",
        about: "connection settings for users the authorization handler accepts who are \
                not configured",
        get: |c| Ok(c.default_connection.connection.clone()),
        set: Some(|c, v| {
            ConnectionString::parse(v).map_err(|e| e.0)?;
            c.default_connection.connection = v.to_string();
            Ok(())
        }),
    },
    Setting {
        name: "DefaultReadOnly",
        about: "whether those users are read-only",
        get: |c| Ok(c.default_connection.read_only.to_string()),
        set: Some(|c, v| {
            c.default_connection.read_only = bool_of(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "UseInteractiveLogon",
        about: "Windows users log on interactively (else: network logon)",
        get: |c| Ok(c.auth.use_interactive_logon.to_string()),
        set: Some(|c, v| {
            c.auth.use_interactive_logon = bool_of(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "AllowedClients",
        about: "client addresses and CIDR blocks, comma-separated; empty or * for any",
        get: |c| Ok(c.allowed_clients.join(",")),
        set: Some(|c, v| {
            let list: Vec<String> = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "*")
                .collect();
            for s in &list {
                parse_net(s)?;
            }
            c.allowed_clients = list;
            Ok(())
        }),
    },
    Setting {
        name: "LocalHost",
        about: "the address to listen on; set while not listening",
        get: |c| Ok(c.listen_addr()?.ip().to_string()),
        set: Some(|c, v| {
            let mut addr = c.listen_addr()?;
            addr.set_ip(
                v.trim()
                    .parse()
                    .map_err(|_| format!("`{v}` is not an IP address"))?,
            );
            c.listen = addr.to_string();
            Ok(())
        }),
    },
    Setting {
        name: "LocalPort",
        about: "the port to listen on (0: any free one); set while not listening",
        get: |c| Ok(c.listen_addr()?.port().to_string()),
        set: Some(|c, v| {
            let mut addr = c.listen_addr()?;
            addr.set_port(
                v.trim()
                    .parse()
                    .map_err(|_| format!("`{v}` is not a port"))?,
            );
            c.listen = addr.to_string();
            Ok(())
        }),
    },
    Setting {
        name: "Timeout",
        about: "seconds a client has to send a request (the seed's timeout)",
        get: |c| Ok(c.request_timeout_secs.to_string()),
        set: Some(|c, v| {
            c.request_timeout_secs = seconds(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "BackendTimeout",
        about: "seconds QuickBooks may take to answer (504 after)",
        get: |c| Ok(c.backend_timeout_secs.to_string()),
        set: Some(|c, v| {
            c.backend_timeout_secs = seconds(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "SessionIdleTimeout",
        about: "seconds an unused session (ticket) lives",
        get: |c| Ok(c.session_idle_secs.to_string()),
        set: Some(|c, v| {
            c.session_idle_secs = seconds(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "MaxRequestBytes",
        about: "the largest request body (413 beyond)",
        get: |c| Ok(c.max_request_bytes.to_string()),
        set: Some(|c, v| {
            c.max_request_bytes = v
                .trim()
                .parse()
                .map_err(|_| format!("`{v}` is not a number of bytes"))?;
            Ok(())
        }),
    },
    Setting {
        name: "Backend",
        about: "simulator, com, qbwc or memory (backend.kind); set while not listening",
        get: |c| {
            Ok(match c.backend.kind {
                BackendKind::Simulator => "simulator",
                BackendKind::Com => "com",
                BackendKind::Memory => "memory",
                BackendKind::Qbwc => "qbwc",
            }
            .into())
        },
        set: Some(|c, v| {
            c.backend.kind = match v.trim().to_ascii_lowercase().as_str() {
                "simulator" => BackendKind::Simulator,
                "com" => BackendKind::Com,
                "memory" => BackendKind::Memory,
                "qbwc" => BackendKind::Qbwc,
                _ => return Err(format!("`{v}`: simulator, com, qbwc or memory")),
            };
            Ok(())
        }),
    },
    Setting {
        name: "DataDir",
        about: "the simulator's directory of company files (backend.data_dir); set while \
                not listening",
        get: |c| Ok(c.backend.data_dir.display().to_string()),
        set: Some(|c, v| {
            if v.trim().is_empty() {
                return Err("a directory, not nothing".into());
            }
            c.backend.data_dir = v.trim().into();
            Ok(())
        }),
    },
    Setting {
        name: "DefaultCompany",
        about: "the simulator's company file when neither the user nor the client names \
                one (backend.default_company); set while not listening",
        get: |c| Ok(c.backend.default_company.clone()),
        set: Some(|c, v| {
            c.backend.default_company = v.trim().to_string();
            Ok(())
        }),
    },
    Setting {
        name: "CreateMissing",
        about: "the simulator creates a company file named that does not exist \
                (backend.create_missing); set while not listening",
        get: |c| Ok(c.backend.create_missing.to_string()),
        set: Some(|c, v| {
            c.backend.create_missing = bool_of(v)?;
            Ok(())
        }),
    },
    Setting {
        name: "CodePage",
        about: "always 65001 (UTF-8): qbXML is read and written as UTF-8, whatever the \
                system's code page",
        get: |_| Ok("65001".into()),
        set: Some(|_, v| match v.trim().to_ascii_lowercase().as_str() {
            "65001" | "utf-8" | "utf8" => Ok(()),
            _ => Err(format!(
                "`{v}`: the connector reads and writes qbXML as UTF-8 (65001) only"
            )),
        }),
    },
    Setting {
        name: "BuildInfo",
        about: "the build: version, target, profile (read-only)",
        get: |_| Ok(build_info()),
        set: None,
    },
    Setting {
        name: "LicenseInfo",
        about: "the license (read-only)",
        get: |_| {
            Ok(format!(
                "{} (open source; no license key)",
                env!("CARGO_PKG_LICENSE")
            ))
        },
        set: None,
    },
];

/// `qbconnector 0.1.0 (x86_64-linux, release)`.
pub fn build_info() -> String {
    format!(
        "qbconnector {} ({}-{}, {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

/// `config` itself.
pub fn config(control: &Control, setting: &str) -> Result<String, String> {
    let (name, value) = match setting.split_once('=') {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (setting.trim(), None),
    };
    let lname = name.to_ascii_lowercase();
    if let Some(i) = lname
        .strip_prefix("readonly[")
        .and_then(|r| r.strip_suffix(']'))
    {
        let i: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("{name}: `{i}` is not a user index"))?;
        if let Some(v) = value {
            control.set_user_read_only(i, bool_of(v).map_err(|e| format!("{name}: {e}"))?)?;
        }
        return control
            .user(i)
            .map(|u| u.read_only.to_string())
            .ok_or_else(|| format!("{name}: there are {} users", control.user_count()));
    }
    if let Some(i) = INERT.iter().find(|i| i.name.eq_ignore_ascii_case(name)) {
        if let Some(v) = value {
            let v = match i.boolean {
                true => bool_of(v).map(|b| b.to_string()),
                false => v
                    .trim()
                    .parse::<u64>()
                    .map(|n| n.to_string())
                    .map_err(|_| format!("`{v}` is not a whole number")),
            }
            .map_err(|e| format!("{}: {e}", i.name))?;
            control.set_inert(i.name, v);
        }
        return Ok(control
            .inert(i.name)
            .unwrap_or_else(|| i.default.to_string()));
    }
    let Some(s) = SETTINGS.iter().find(|s| s.name.eq_ignore_ascii_case(name)) else {
        return Err(format!("unknown setting `{name}`"));
    };
    if let Some(v) = value {
        let set = s.set.ok_or_else(|| format!("{} is read-only", s.name))?;
        control
            .change(|c| set(c, v))
            .map_err(|e| format!("{}: {e}", s.name))?;
    }
    (s.get)(&control.live().config).map_err(|e| format!("{}: {e}", s.name))
}

fn bool_of(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("`{v}` is not true or false")),
    }
}

fn seconds(v: &str) -> Result<u64, String> {
    v.trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{v}` is not a number of seconds"))
}
