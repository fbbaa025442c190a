//! The `qbconnector` command as an admin uses it: users, certificates,
//! check-config, serve and SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[cfg(unix)]
use common::{basic, keep_alive_post};
use common::{qbc, text};

#[cfg(unix)]
use std::io::{Read, Write};
use std::path::Path;
#[cfg(unix)]
use std::process::Command;

fn cfg(dir: &Path) -> String {
    dir.join("qbconnector.toml").display().to_string()
}

#[test]
fn users_are_added_listed_changed_removed() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    let o = qbc(
        &[
            "user",
            "add",
            "ann",
            "--company-file",
            "acme.qbw",
            "--password-stdin",
            "--config",
            &c,
        ],
        "a long password\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = qbc(
        &[
            "user",
            "add",
            "rob",
            "--read-only",
            "--password-stdin",
            "--config",
            &c,
        ],
        "another password\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let file = std::fs::read_to_string(&c).unwrap();
    assert!(file.contains("$argon2id$"), "{file}");
    assert!(
        !file.contains("a long password"),
        "a plain password in the file"
    );
    let o = qbc(&["user", "list", "--config", &c], "");
    let t = text(&o);
    assert!(t.contains("ann\tread-write\tcompany=acme.qbw"), "{t}");
    assert!(t.contains("rob\tread-only"), "{t}");
    assert!(!t.contains("argon2"));
    // Refusals: a duplicate (any case), a short password, no terminal.
    let o = qbc(
        &["user", "add", "ANN", "--password-stdin", "--config", &c],
        "long enough pw\n",
    );
    assert!(
        !o.status.success() && text(&o).contains("exists"),
        "{}",
        text(&o)
    );
    let o = qbc(
        &["user", "add", "sue", "--password-stdin", "--config", &c],
        "short\n",
    );
    assert!(!o.status.success() && text(&o).contains("8 characters"));
    let o = qbc(&["user", "add", "sue", "--config", &c], "");
    assert!(!o.status.success() && text(&o).contains("--password-stdin"));
    // passwd changes the hash.
    let before = std::fs::read_to_string(&c).unwrap();
    let o = qbc(
        &["user", "passwd", "ann", "--password-stdin", "--config", &c],
        "a new password\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(std::fs::read_to_string(&c).unwrap(), before);
    let o = qbc(&["user", "remove", "rob", "--config", &c], "");
    assert!(o.status.success());
    let o = qbc(&["user", "list", "--config", &c], "");
    assert!(!text(&o).contains("rob"));
    let o = qbc(&["check-config", "--config", &c], "");
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn check_config_names_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    std::fs::write(&c, "lisen = \"0.0.0.0:80\"\n").unwrap();
    let o = qbc(&["check-config", "--config", &c], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("lisen"), "{}", text(&o));
    std::fs::write(
        &c,
        "listen = \"nowhere\"\nallowed_clients = [\"10.0.0.0/33\"]\n[[users]]\nname = \"x\"\npassword_hash = \"hunter2\"\n",
    )
    .unwrap();
    let o = qbc(&["check-config", "--config", &c], "");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1));
    for k in ["listen:", "allowed_clients[0]", "users[0].password_hash"] {
        assert!(t.contains(k), "{k} in {t}");
    }
    let o = qbc(&["check-config", "--config", &format!("{c}.missing")], "");
    assert!(text(&o).contains("not found"));
}

#[test]
fn cert_generate_then_export_for_pinning() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    let o = qbc(
        &[
            "cert",
            "generate",
            "--host",
            "localhost",
            "--host",
            "127.0.0.1",
            "--config",
            &c,
        ],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let cert = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
    let o = qbc(&["cert", "export", "--config", &c], "");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), cert.trim());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("PRIVATE"));
    // Not replaced without --force.
    let o = qbc(
        &["cert", "generate", "--host", "localhost", "--config", &c],
        "",
    );
    assert!(!o.status.success() && text(&o).contains("--force"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key is readable by others");
    }
}

#[cfg(unix)]
#[test]
fn serve_answers_then_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    std::fs::write(
        &c,
        "listen = \"127.0.0.1:0\"\n[backend]\ndata_dir = \"data\"\ncreate_missing = true\n",
    )
    .unwrap();
    let o = qbc(
        &["user", "add", "ann", "--password-stdin", "--config", &c],
        "a long password\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    let (mut child, addr, lines) = common::serve(&c);
    // Keep reading the log so the server never blocks on a full pipe.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let body = "<?xml version=\"1.0\"?><?qbxml version=\"13.0\"?><QBXML><QBXMLMsgsRq onError=\"stopOnError\"><HostQueryRq/></QBXMLMsgsRq></QBXML>";
    let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        tcp,
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: Basic YW5uOmEgbG9uZyBwYXNzd29yZA==\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<HostRet>"));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("qbconnector::audit"), "{log}");
    assert!(log.contains("user=\"ann\""), "{log}");
}

/// `qbconnector serve` follows its file: a user added by `qbconnector user
/// add` gets in without a restart and without a connection dropped; a
/// file that does not load is refused with the reason and the running
/// configuration kept; a restart-only change is named; SIGHUP reloads.
#[cfg(unix)]
#[test]
fn serve_follows_its_file() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    // No lockout: the test polls with a password that is wrong until the
    // change arrives.
    std::fs::write(
        &c,
        "listen = \"127.0.0.1:0\"\n[auth]\nmax_failures = 1000000\n\
         [backend]\ndata_dir = \"data\"\ncreate_missing = true\n",
    )
    .unwrap();
    let add = |name: &str| {
        let o = qbc(
            &["user", "add", name, "--password-stdin", "--config", &c],
            "a long password\n",
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    add("ann");
    let (mut child, addr, lines) = common::serve(&c);
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                log.lock().unwrap().push(l);
            }
        })
    };
    let wait_log = |what: &str, from: usize| -> bool {
        for _ in 0..200 {
            if log.lock().unwrap()[from..].iter().any(|l| l.contains(what)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    };
    let (ann, bob) = (
        basic("ann", "a long password"),
        basic("bob", "a long password"),
    );
    let mut kept = std::net::TcpStream::connect(&addr).unwrap();
    assert_eq!(keep_alive_post(&mut kept, &ann).0, 200);
    assert_eq!(keep_alive_post(&mut kept, &bob).0, 401);

    // A user added on the running server gets in.
    let mut fresh = std::net::TcpStream::connect(&addr).unwrap();
    add("bob");
    let start = Instant::now();
    let mut status = 0;
    while start.elapsed() < Duration::from_secs(10) {
        status = keep_alive_post(&mut fresh, &bob).0;
        if status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status, 200, "bob is let in");
    eprintln!("bob let in {:?} after `user add` returned", start.elapsed());
    // The connection from before the change still serves.
    assert_eq!(keep_alive_post(&mut kept, &ann).0, 200);
    assert_eq!(keep_alive_post(&mut kept, &bob).0, 200);

    // A broken file: refused with the reason; bob still gets in.
    let good = std::fs::read_to_string(&c).unwrap();
    let from = log.lock().unwrap().len();
    std::fs::write(&c, format!("{good}\nlisten = [oops\n")).unwrap();
    assert!(wait_log(
        "not loaded, the running configuration is kept",
        from
    ));
    assert_eq!(keep_alive_post(&mut kept, &bob).0, 200);
    // An emptied file too (it would remove every user).
    let from = log.lock().unwrap().len();
    std::fs::write(&c, "# nothing\n").unwrap();
    assert!(wait_log("it has no settings at all", from));
    assert_eq!(keep_alive_post(&mut kept, &bob).0, 200);

    // A restart-only change is named, the rest applies.
    let from = log.lock().unwrap().len();
    let moved = good.replace("127.0.0.1:0", "127.0.0.1:1");
    std::fs::write(&c, &moved).unwrap();
    assert!(wait_log(
        "listen changed, which applies only when the server restarts",
        from
    ));
    assert_eq!(keep_alive_post(&mut kept, &ann).0, 200);

    // SIGHUP: read again at once, changed or not.
    let from = log.lock().unwrap().len();
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    assert!(wait_log("reloaded (2 user(s))", from));

    // Removed from the file: refused.
    let o = qbc(&["user", "remove", "bob", "--config", &c], "");
    assert!(o.status.success(), "{}", text(&o));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        status = keep_alive_post(&mut kept, &bob).0;
        if status == 401 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status, 401);
    assert_eq!(keep_alive_post(&mut kept, &ann).0, 200);

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
}

/// `qbconnector backup` on a stopped connector: refused with nothing to
/// back up or nowhere to put it; then a consistent copy in a new folder.
#[test]
fn backup_copies_a_stopped_connectors_company_files() {
    let dir = tempfile::tempdir().unwrap();
    let c = cfg(dir.path());
    std::fs::write(
        &c,
        "listen = \"127.0.0.1:0\"\n[backend]\ndata_dir = \"data\"\n",
    )
    .unwrap();
    let out = dir.path().join("backups");
    let out_s = out.display().to_string();
    let o = qbc(&["backup", "--config", &c], "");
    assert!(!o.status.success());
    assert!(text(&o).contains("--out"), "{}", text(&o));
    let o = qbc(&["backup", "--config", &c, "--out", &out_s], "");
    assert!(!o.status.success());
    assert!(text(&o).contains("no company file"), "{}", text(&o));

    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    drop(
        qbsim::Company::open(&dir.path().join("data/acme.qbw"), qbsim::Config::default()).unwrap(),
    );
    let o = qbc(&["backup", "--config", &c, "--out", &out_s], "");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 company file(s)"), "{}", text(&o));
    let made: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1);
    let copy = qbsim::Company::open(&made[0].join("acme.qbw"), qbsim::Config::default()).unwrap();
    assert_eq!(copy.integrity_check().unwrap(), "ok");
}
