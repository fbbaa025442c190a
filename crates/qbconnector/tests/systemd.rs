//! The Linux service (issue 20): `dist/systemd/qbconnector.service` run
//! the way systemd runs it, without systemd (a test host has none
//! running): its `ExecStart` as written, with the unit's paths moved under
//! a temporary root; as its `User=` with no new privileges; with the file
//! system read-only but for its `StateDirectory=` and `LogsDirectory=`
//! (`ProtectSystem=strict`, in a mount namespace of its own); reloaded
//! with its `ExecReload=`; backed up on SIGUSR1; stopped with SIGTERM.
//!
//! The user and the read-only file system need root (CI runs as root);
//! elsewhere the binary runs as the current user with the same arguments
//! and directories, and the test says what it could not do.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{basic, keep_alive_post, qbc, text};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dist/systemd/qbconnector.service"
);
const CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dist/systemd/qbconnector.toml"
);

/// The `[Service]` section: each key with its values in order.
fn service_section(unit: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut in_service = false;
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && !line.starts_with('#') {
            if let Some((k, v)) = line.split_once('=') {
                out.entry(k.trim().into())
                    .or_default()
                    .push(v.trim().into());
            }
        }
    }
    out
}

fn one<'a>(s: &'a HashMap<String, Vec<String>>, key: &str) -> &'a str {
    match s.get(key).map(Vec::as_slice) {
        Some([v]) => v,
        other => panic!("{key}: {other:?}"),
    }
}

/// `abs` (a path of the unit's) under the test's root.
fn at(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Replace the unit's absolute paths in `text` by paths under `root`.
fn moved(text: &str, root: &Path, paths: &[&str]) -> String {
    paths.iter().fold(text.to_string(), |t, p| {
        t.replace(p, &at(root, p).display().to_string())
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// uid and gid of `user`, if it exists here.
fn ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let o = Command::new("id").args([flag, user]).output().ok()?;
        if !o.status.success() {
            return None;
        }
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// Whether this process can make a mount namespace with a read-only view
/// (root, and a kernel and sandbox that allow it).
fn can_protect() -> bool {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("setpriv").arg("--help").output().is_ok()
}

/// What `ProtectSystem=strict` with state and logs directories does, in
/// shell, before the program is started in its place: every mount
/// read-only but the kernel's API file systems, then the writable
/// directories bound back read-write.
const PROTECT: &str = r#"
set -e
awk '{print $5}' /proc/self/mountinfo | sort -u | while read -r m; do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) ;; *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;; esac
done
for d in "$QBC_STATE" "$QBC_LOGS"; do
  mount --bind "$d" "$d"
  mount -o remount,bind,rw "$d"
done
exec "$@"
"#;

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("waited 10 s for {what}");
}

/// The log files' text, all days.
fn logs(dir: &Path) -> String {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect()
}

struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_unit_runs_the_connector_as_systemd_would() {
    let unit = std::fs::read_to_string(UNIT).unwrap();
    let s = service_section(&unit);
    // What the issue asks of the unit, so that a change to it is seen.
    let user = one(&s, "User");
    assert_eq!(user, "qbconnector");
    assert_eq!(one(&s, "ProtectSystem"), "strict");
    assert_eq!(one(&s, "NoNewPrivileges"), "yes");
    assert_eq!(one(&s, "ExecReload"), "/bin/kill -HUP $MAINPID");
    let state = format!("/var/lib/{}", one(&s, "StateDirectory"));
    let logs_at = format!("/var/log/{}", one(&s, "LogsDirectory"));
    let config_dir = format!("/etc/{}", one(&s, "ConfigurationDirectory"));
    let exec: Vec<&str> = one(&s, "ExecStart").split_whitespace().collect();
    assert_eq!(exec[0], "/usr/local/bin/qbconnector");
    assert!(exec.contains(&"--log-dir") && exec.contains(&logs_at.as_str()));
    let config_file = exec[exec.iter().position(|a| *a == "--config").unwrap() + 1];
    assert!(config_file.starts_with(&config_dir), "{config_file}");

    // The machine as the install steps in docs/OPERATIONS.md leave it.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let paths = [
        "/usr/local/bin/qbconnector",
        state.as_str(),
        logs_at.as_str(),
        config_dir.as_str(),
    ];
    let bin = at(root, "/usr/local/bin/qbconnector");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(common::BIN, &bin).unwrap();
    for d in [&state, &logs_at, &config_dir] {
        std::fs::create_dir_all(at(root, d)).unwrap();
    }
    let root_user = is_root();
    let protect = root_user && can_protect();
    let account = if root_user {
        match ids(user) {
            Some(ids) => Some((user.to_string(), ids)),
            None => {
                eprintln!("NOTE: no user `{user}` here (CI makes it): running as `nobody`");
                Some(("nobody".to_string(), ids("nobody").unwrap()))
            }
        }
    } else {
        eprintln!("SKIP (part): not root: the service user is not switched to");
        None
    };
    if root_user && !protect {
        eprintln!("SKIP (part): no mount namespace here: ProtectSystem=strict is not emulated");
    }
    // systemd's StateDirectoryMode=/LogsDirectoryMode=, owned by the user.
    for d in [&state, &logs_at] {
        let p = at(root, d);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o750)).unwrap();
        if let Some((_, (uid, gid))) = &account {
            std::os::unix::fs::chown(&p, Some(*uid), Some(*gid)).unwrap();
        }
    }
    let config = at(root, config_file);
    let text_of = std::fs::read_to_string(CONFIG)
        .unwrap()
        .replace("127.0.0.1:2080", "127.0.0.1:0")
        .replace("127.0.0.1:9280", "127.0.0.1:0");
    std::fs::write(&config, moved(&text_of, root, &paths)).unwrap();
    // root:qbconnector 0640: the service reads, only root writes.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
    if let Some((_, (_, gid))) = &account {
        std::os::unix::fs::chown(&config, Some(0), Some(*gid)).unwrap();
    }
    let config_s = config.display().to_string();
    let add = |name: &str| {
        let o = qbc(
            &[
                "user",
                "add",
                name,
                "--password-stdin",
                "--config",
                &config_s,
            ],
            "a long password\n",
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    add("ann");
    // `user add` (as root) kept the file readable by the service's group.
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    // ExecStart, as the unit's user, in its working directory.
    let args: Vec<String> = exec[1..].iter().map(|a| moved(a, root, &paths)).collect();
    let mut cmd = if let Some((name, (uid, gid))) = &account {
        let mut c = if protect {
            let mut c = Command::new("unshare");
            c.args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                PROTECT,
                "sh",
            ]);
            c
        } else {
            Command::new("env")
        };
        c.arg("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--init-groups")
            .arg("--no-new-privs")
            .arg("--reset-env");
        eprintln!("running as {name} ({uid}:{gid})");
        c.arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.args(&args)
        .current_dir(at(root, &state))
        .env("QBC_STATE", at(root, &state))
        .env("QBC_LOGS", at(root, &logs_at));
    let mut child = Stop(cmd.spawn().unwrap());
    let pid = child.0.id();
    let log_dir = at(root, &logs_at);

    // It logs to its daily file, and says where it listens.
    let mut addr = String::new();
    wait_for("the serving line in the log folder", || {
        let l = logs(&log_dir);
        if let Some(i) = l.find("serving http://") {
            addr = l[i + "serving http://".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            true
        } else {
            false
        }
    });
    if let Some((_, (uid, _))) = &account {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            uid_line.split_whitespace().nth(1) == Some(&uid.to_string()),
            "{uid_line}"
        );
        assert!(status.lines().any(|l| l == "NoNewPrivs:\t1"), "{status}");
    }
    let ann = basic("ann", "a long password");
    let bob = basic("bob", "a long password");
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    let (code, body) = keep_alive_post(&mut tcp, &ann);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("HostRet"), "{body}");
    // Its company file is in the state directory.
    assert!(at(root, &state).join("data/company.qbw").exists());
    if protect {
        // Nothing outside its directories can be written: not even the
        // configuration folder its own user could otherwise reach.
        let o = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-m", "touch"])
            .arg(at(root, &config_dir).join("written"))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&o.stderr);
        assert!(said.contains("Read-only file system"), "{said}");
    }

    // ExecReload: a user added to the file gets in at once.
    add("bob");
    let reload = one(&s, "ExecReload").replace("$MAINPID", &pid.to_string());
    let mut words = reload.split_whitespace();
    let ok = Command::new(words.next().unwrap())
        .args(words)
        .status()
        .unwrap();
    assert!(ok.success());
    wait_for("the reload", || {
        logs(&log_dir).contains("reloaded (2 user(s))")
    });
    assert_eq!(keep_alive_post(&mut tcp, &bob).0, 200);

    // SIGUSR1: a backup into [backup]'s dir, in the state directory.
    let ok = Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let backups = at(root, &state).join("backups");
    wait_for("the backup", || logs(&log_dir).contains("company file(s)"));
    let made: Vec<PathBuf> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].join("company.qbw").is_file());
    let copy = qbsim::Company::open(&made[0].join("company.qbw"), qbsim::Config::default());
    assert!(copy.is_ok(), "the backup opens as a company file");

    // SIGTERM (systemd's stop): a clean exit.
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(logs(&log_dir).contains("stopping"));
}
