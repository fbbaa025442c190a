//! Users and settings changed on a running connector (the seed's
//! properties and `config` while `listening`), `listening` off and on, and
//! `config` reading back what it writes — through real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use qbc_server::auth::PasswordHash;
use qbc_server::backend::memory::MemoryBackend;
use qbc_server::settings::{INERT, SETTINGS};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpStream;

async fn post_as(addr: SocketAddr, user: &str, password: &str, xml: &str) -> Resp {
    let auth = basic(user, password);
    send(
        addr,
        "POST",
        "/",
        &[("authorization", &auth), ("content-type", "text/xml")],
        xml,
    )
    .await
}

/// One kept-alive HTTP/1.1 connection.
struct KeepAlive {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl KeepAlive {
    async fn connect(addr: SocketAddr) -> KeepAlive {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        KeepAlive { sender }
    }

    /// POST on this connection; `Err` if the connection failed.
    async fn post(&mut self, user: &str, password: &str, xml: &str) -> Result<Resp, String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let req = hyper::Request::post("/")
            .header("host", "localhost")
            .header("authorization", basic(user, password))
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(xml.to_string())))
            .unwrap();
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Ok(Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

#[tokio::test]
async fn users_change_while_listening() {
    let s = start().await;
    let c = s.running.control().clone();
    // A new user gets in at once, and its whole connection string stays.
    let whole = "CompanyFile='zed.qbw' AppID='app-7' AuthFlags=0x6 Color='blue'";
    let i = s.running.add_user("zed", "pw-1", whole, false).unwrap();
    assert_eq!(c.user(i).unwrap().connection, whole);
    let r = post_as(s.addr, "zed", "pw-1", &customer_add("Z1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        s.dir.path().join("zed.qbw").exists(),
        "zed's own company file"
    );
    // A new password: the old one is refused at once (not remembered by
    // the credential cache), the new one accepted.
    c.set_user_password(i, "pw-2").unwrap();
    assert_eq!(
        post_as(s.addr, "zed", "pw-1", &customer_query())
            .await
            .status,
        401
    );
    assert_eq!(
        post_as(s.addr, "zed", "pw-2", &customer_query())
            .await
            .status,
        200
    );
    // Read-only through config, then through the method.
    assert_eq!(c.config(&format!("ReadOnly[{i}]=true")).unwrap(), "true");
    let r = post_as(s.addr, "zed", "pw-2", &customer_add("Z2")).await;
    assert_eq!((r.status, r.code()), (403, "QBC_READ_ONLY"), "{}", r.body);
    c.set_user_read_only(i, false).unwrap();
    assert_eq!(c.config(&format!("ReadOnly[{i}]")).unwrap(), "false");
    // Another company file for the user: the next request goes there.
    c.set_user_connection(i, "CompanyFile='other.qbw'").unwrap();
    let r = post_as(s.addr, "zed", "pw-2", &customer_add("Z3")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(s.dir.path().join("other.qbw").exists());
    // Renamed: the new name gets in, the old one does not.
    c.set_user_name(i, "zoe").unwrap();
    assert_eq!(c.user(i).unwrap().name, "zoe");
    assert!(c.set_user_name(i, "ANN").unwrap_err().contains("exists"));
    assert_eq!(
        post_as(s.addr, "zed", "pw-2", &customer_query())
            .await
            .status,
        401
    );
    assert_eq!(
        post_as(s.addr, "zoe", "pw-2", &customer_query())
            .await
            .status,
        200
    );
    // Removed: refused, and the users after it move up.
    let before = c.user_count();
    let gone = c.remove_user(i).unwrap();
    assert_eq!(gone.name, "zoe");
    assert_eq!(c.user_count(), before - 1);
    assert_eq!(
        post_as(s.addr, "zoe", "pw-2", &customer_query())
            .await
            .status,
        401
    );
    // A bad change changes nothing.
    assert!(c
        .add_user("ann", "x", "", false)
        .unwrap_err()
        .contains("exists"));
    assert!(c
        .set_user_connection(0, "CompanyFile='x")
        .unwrap_err()
        .contains("never closes"));
    assert_eq!(c.user(0).unwrap().connection, "CompanyFile='acme.qbw'");
    assert_eq!(post(s.addr, "ann", &customer_query()).await.status, 200);
    s.running.shutdown().await;
}

#[tokio::test]
async fn removing_or_changing_a_user_ends_its_sessions() {
    let s = start().await;
    let c = s.running.control().clone();
    let kept = open_session(s.addr, "cat").await;
    let ended = open_session(s.addr, "ann").await;
    assert_eq!(s.running.open_sessions(), 2);
    let on = |t: String| async move {
        post_with(s.addr, "ann", &[("x-qb-ticket", &t)], &customer_query()).await
    };
    assert_eq!(on(ended.clone()).await.status, 200);
    // ann's read-only flag changes: her session ends (its request answers
    // as for a closed ticket), cat's stays.
    c.set_user_read_only(0, true).unwrap();
    let r = on(ended).await;
    assert_eq!(r.code(), "0x8004040D", "{} {}", r.status, r.body);
    let cat = c.user_index("cat").unwrap();
    let r = post_with(s.addr, "cat", &[("x-qb-ticket", &kept)], &customer_query()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // cat removed: the session is closed on the server's side too.
    c.remove_user(cat).unwrap();
    for _ in 0..200 {
        if s.running.open_sessions() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(s.running.open_sessions(), 0);
    s.running.shutdown().await;
}

#[tokio::test]
async fn the_allow_list_applies_to_connections_already_open() {
    let s = start().await;
    let mut conn = KeepAlive::connect(s.addr).await;
    let r = conn.post("ann", PASSWORD, &customer_query()).await.unwrap();
    assert_eq!(r.status, 200);
    s.running.config("AllowedClients=10.0.0.0/8").unwrap();
    let r = conn.post("ann", PASSWORD, &customer_query()).await.unwrap();
    assert_eq!((r.status, r.code()), (403, "QBC_CLIENT_DENIED"));
    assert_eq!(r.header("connection"), "close");
    assert_eq!(s.running.config("AllowedClients=").unwrap(), "");
    let mut conn = KeepAlive::connect(s.addr).await;
    let r = conn.post("ann", PASSWORD, &customer_query()).await.unwrap();
    assert_eq!(r.status, 200, "let in again");
    s.running.shutdown().await;
}

#[tokio::test]
async fn listening_off_on_off() {
    let dir = tempfile::tempdir().unwrap();
    let c = connector(config(dir.path()));
    let running = c.listen().await.unwrap();
    let first = running.local_addr();
    assert_eq!(post(first, "ann", &customer_add("A")).await.status, 200);
    running
        .add_user("new", "pw", "CompanyFile='acme.qbw'", false)
        .unwrap();
    // Off: nobody is let in; users stay, and can change.
    let c = running.stop().await;
    assert!(TcpStream::connect(first).await.is_err(), "not listening");
    assert!(!c.control().listening());
    c.config(&format!("LocalPort={}", first.port())).unwrap();
    c.add_user("later", "pw", "CompanyFile='acme.qbw'", true)
        .unwrap();
    // On again, on the same port: the same users, the same company file.
    let running = c.listen().await.unwrap();
    assert_eq!(running.local_addr(), first);
    assert!(running.control().listening());
    let r = post(first, "ann", &customer_query()).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<Name>A</Name>"), "{}", r.body);
    assert_eq!(
        post_as(first, "new", "pw", &customer_query()).await.status,
        200
    );
    let r = post_as(first, "later", "pw", &customer_add("B")).await;
    assert_eq!(r.code(), "QBC_READ_ONLY");
    // Listening again where something else listens fails, and gives the
    // connector back with its users.
    let c = running.stop().await;
    assert!(TcpStream::connect(first).await.is_err());
    let taken = tokio::net::TcpListener::bind(first).await.unwrap();
    let Err(e) = c.listen().await else {
        panic!("listened on a port that is taken")
    };
    assert!(e.message.contains("cannot listen"), "{e}");
    assert_eq!(e.connector.control().user_count(), 7);
    drop(taken);
    let running = e.connector.listen().await.unwrap();
    assert_eq!(post(first, "ann", &customer_query()).await.status, 200);
    // And off again.
    let c = running.stop().await;
    assert!(TcpStream::connect(first).await.is_err());
    assert_eq!(c.control().user_count(), 7);
}

/// A value to write for every setting `config` takes; the test fails
/// when a setting is added without one.
fn sample(name: &str) -> &'static str {
    match name {
        "AuthFlags" => "0x6",
        "ConnectedToQB" => "true",
        "DefaultConnectionString" => "CompanyFile='d.qbw' AppID='a1' Color='red'",
        "DefaultReadOnly" => "true",
        "UseInteractiveLogon" => "true",
        "AllowedClients" => "127.0.0.1,10.0.0.0/8",
        "LocalHost" => "127.0.0.1",
        "LocalPort" => "2999",
        "Timeout" => "7",
        "BackendTimeout" => "9",
        "SessionIdleTimeout" => "11",
        "MaxRequestBytes" => "4096",
        "CodePage" => "65001",
        "Backend" => "memory",
        "DataDir" => "/tmp/qbc-elsewhere",
        "DefaultCompany" => "other.qbw",
        "CreateMissing" => "false",
        other => panic!("no sample value for `{other}`: add one"),
    }
}

#[tokio::test]
async fn config_reads_back_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let c = connector(config(dir.path()));
    for s in SETTINGS {
        let before = c.config(s.name).unwrap();
        if s.read_only() {
            assert!(!before.is_empty(), "{}", s.name);
            let e = c.config(&format!("{}=x", s.name)).unwrap_err();
            assert!(e.contains("read-only"), "{e}");
            continue;
        }
        let v = sample(s.name);
        assert_eq!(
            c.config(&format!("{}={v}", s.name)).unwrap(),
            v,
            "{}",
            s.name
        );
        // Names are case-insensitive.
        assert_eq!(c.config(&s.name.to_lowercase()).unwrap(), v, "{}", s.name);
    }
    assert_eq!(c.config("ReadOnly[1]").unwrap(), "true");
    assert_eq!(c.config("ReadOnly[1]=false").unwrap(), "false");
    assert!(c
        .config("ReadOnly[99]")
        .unwrap_err()
        .contains("there are 5"));
    // The seed's settings that change nothing here: accepted, checked,
    // read back.
    for i in INERT {
        assert_eq!(c.config(i.name).unwrap(), i.default);
        let v = if i.boolean { "true" } else { "50" };
        assert_eq!(c.config(&format!("{}={v}", i.name)).unwrap(), v);
        assert_eq!(c.config(i.name).unwrap(), v);
        assert!(c.config(&format!("{}=soon", i.name)).is_err());
    }
    assert!(c.config("NoSuch").unwrap_err().contains("unknown setting"));
    // A bad value names the setting and changes nothing.
    let e = c.config("Timeout=soon").unwrap_err();
    assert!(e.starts_with("Timeout:"), "{e}");
    assert_eq!(c.config("Timeout").unwrap(), "7");
    assert!(c.config("CodePage=1252").is_err());
    assert!(c.config("BuildInfo").unwrap().starts_with("qbconnector "));
}

#[tokio::test]
async fn while_listening_restart_only_settings_are_refused_by_name() {
    let s = start().await;
    let e = s.running.config("LocalPort=1").unwrap_err();
    assert!(e.contains("listen cannot change while listening"), "{e}");
    assert_eq!(s.running.config("LocalPort").unwrap(), "0");
    let e = s.running.config("AuthFlags=0x2").unwrap_err();
    assert!(e.contains("backend cannot change while listening"), "{e}");
    // The rest applies to the next request.
    s.running.config("MaxRequestBytes=100").unwrap();
    let r = post(s.addr, "ann", &customer_query()).await;
    assert_eq!((r.status, r.code()), (413, "QBC_TOO_LARGE"));
    s.running.config("MaxRequestBytes=100000").unwrap();
    assert_eq!(post(s.addr, "ann", &customer_query()).await.status, 200);
    s.running.shutdown().await;
}

/// Sessions the backend has open, once they settle at `want` (a kept
/// session is closed in its company file's turn, a moment after the
/// change).
async fn settles(backend: &MemoryBackend, want: usize) -> usize {
    for _ in 0..300 {
        if backend.open_sessions() == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    backend.open_sessions()
}

#[tokio::test]
async fn connected_to_qb_turns_on_and_off_while_listening() {
    let backend = Arc::new(MemoryBackend::default());
    let s = start_configured(
        |c| {
            c.backend.kind = qbc_server::BackendKind::Memory;
            c.default_connection.connection = "CompanyFile='acme.qbw'".into();
        },
        Some(backend.clone()),
        None,
    )
    .await;
    let host = host_query();
    let ask = || post(s.addr, "ann", &host);
    // Off: each request opens nothing that stays.
    assert_eq!(ask().await.status, 200);
    assert_eq!(backend.open_sessions(), 0);
    // On: the first request opens the kept session, the next use it.
    assert_eq!(s.running.config("ConnectedToQB=true").unwrap(), "true");
    for _ in 0..3 {
        assert_eq!(ask().await.status, 200);
    }
    assert_eq!(backend.open_sessions(), 1);
    assert_eq!(backend.sessions_opened(), 1);
    // DefaultReadOnly does not touch the kept session.
    s.running.config("DefaultReadOnly=true").unwrap();
    assert_eq!(ask().await.status, 200);
    assert_eq!(settles(&backend, 1).await, 1);
    assert_eq!(backend.sessions_opened(), 1, "the same session");
    // The default connection moves: the old session is closed, a new one
    // opens with the next request.
    s.running
        .config("DefaultConnectionString=CompanyFile='acme.qbw' ApplicationName='Other'")
        .unwrap();
    assert_eq!(settles(&backend, 0).await, 0, "the old session closed");
    s.running
        .config("DefaultConnectionString=CompanyFile='acme.qbw'")
        .unwrap();
    assert_eq!(ask().await.status, 200);
    assert_eq!(backend.open_sessions(), 1);
    assert_eq!(backend.sessions_opened(), 2);
    // Off: closed, and not opened again.
    assert_eq!(s.running.config("ConnectedToQB=false").unwrap(), "false");
    assert_eq!(settles(&backend, 0).await, 0);
    assert_eq!(ask().await.status, 200);
    assert_eq!(backend.open_sessions(), 0);
    assert_eq!(
        backend.sessions_opened(),
        2,
        "a retired session is not reopened"
    );
    // On, then shutdown closes it.
    s.running.config("ConnectedToQB=true").unwrap();
    assert_eq!(ask().await.status, 200);
    assert_eq!(backend.open_sessions(), 1);
    s.running.shutdown().await;
    assert_eq!(backend.open_sessions(), 0);
}

/// Users, passwords, read-only flags and the allow-list change every few
/// milliseconds while clients send writes. The configurations alternate:
///
/// - even: password `even`, read-write, company file `even.qbw`;
/// - odd: password `odd`, read-only, company file `odd.qbw`;
/// - shut: as odd, and the allow-list keeps loopback out.
///
/// A request answered with a mix of two (the new password and the old
/// flag, the old file with the new password…) shows as an answer that no
/// single configuration gives, or as a customer in the wrong file.
#[tokio::test]
async fn changes_under_load_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.auth.max_failures = 1_000_000;
    let c = connector(cfg);
    let even = PasswordHash::create("even").unwrap();
    let odd = PasswordHash::create("odd").unwrap();
    let i = c
        .add_user("mix", "even", "CompanyFile='even.qbw'", false)
        .unwrap();
    let running = c.listen().await.unwrap();
    let addr = running.local_addr();
    // Both files exist before the load (created by a write each).
    assert_eq!(
        post_as(addr, "mix", "even", &customer_add("seed"))
            .await
            .status,
        200
    );
    let control = running.control().clone();
    control
        .change(|c| {
            c.users[i].set_connection("CompanyFile='odd.qbw'");
            Ok(())
        })
        .unwrap();
    assert_eq!(
        post_as(addr, "mix", "even", &customer_add("seed"))
            .await
            .status,
        200
    );
    let stop = Arc::new(AtomicBool::new(false));
    let changer = {
        let (control, stop) = (control.clone(), stop.clone());
        let (even, odd) = (even.clone(), odd.clone());
        tokio::spawn(async move {
            // 15 rounds of the three.
            for n in 0..45 {
                let phase = n % 3;
                control
                    .change(|c| {
                        let u = &mut c.users[i];
                        let (hash, file, ro) = match phase {
                            0 => (&even, "even.qbw", false),
                            _ => (&odd, "odd.qbw", true),
                        };
                        u.password_hash = hash.as_str().to_string();
                        u.set_connection(&format!("CompanyFile='{file}'"));
                        u.read_only = ro;
                        c.allowed_clients = match phase {
                            2 => vec!["10.0.0.0/8".into()],
                            _ => vec!["127.0.0.0/8".into()],
                        };
                        Ok(())
                    })
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            }
            stop.store(true, Ordering::SeqCst);
        })
    };
    let mut clients = Vec::new();
    for w in 0..4 {
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let mut seen: HashMap<(&str, u16, String), usize> = HashMap::new();
            let mut added = Vec::new();
            let mut conn = KeepAlive::connect(addr).await;
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let pw = if n % 2 == 0 { "even" } else { "odd" };
                let name = format!("w{w}-{n}-{pw}");
                let r = conn.post("mix", pw, &customer_add(&name)).await.unwrap();
                let code = r.code().to_string();
                if code == "QBC_CLIENT_DENIED" {
                    // Refused, and the connection closed: a new one,
                    // a little later.
                    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                    conn = KeepAlive::connect(addr).await;
                }
                let ok = match (pw, r.status, code.as_str()) {
                    ("even", 200, "") => {
                        added.push(name);
                        true
                    }
                    ("odd", 403, "QBC_READ_ONLY") => true,
                    (_, 401, "QBC_AUTH") | (_, 403, "QBC_CLIENT_DENIED") => true,
                    _ => false,
                };
                assert!(ok, "{pw}: {} {code}: {}", r.status, r.body);
                *seen.entry((pw, r.status, code)).or_default() += 1;
            }
            (seen, added)
        }));
    }
    let mut seen: HashMap<(&str, u16, String), usize> = HashMap::new();
    let mut added = Vec::new();
    for cl in clients {
        let (s, a) = cl.await.unwrap();
        for (k, v) in s {
            *seen.entry(k).or_default() += v;
        }
        added.extend(a);
    }
    changer.await.unwrap();
    eprintln!("answers: {seen:?}");
    assert!(!added.is_empty(), "some writes went through");
    // Every accepted write is in even.qbw, and none in odd.qbw.
    control
        .change(|c| {
            c.allowed_clients.clear();
            c.users[i].password_hash = even.as_str().to_string();
            c.users[i].read_only = false;
            Ok(())
        })
        .unwrap();
    let names = |file: &'static str| {
        let control = control.clone();
        async move {
            control
                .change(|c| {
                    c.users[i].set_connection(&format!("CompanyFile='{file}'"));
                    Ok(())
                })
                .unwrap();
            post_as(addr, "mix", "even", &customer_query()).await.body
        }
    };
    let in_even = names("even.qbw").await;
    let in_odd = names("odd.qbw").await;
    for name in &added {
        assert!(in_even.contains(&format!("<Name>{name}</Name>")), "{name}");
        assert!(!in_odd.contains(&format!("<Name>{name}</Name>")), "{name}");
    }
    running.shutdown().await;
}

#[derive(Default)]
struct Statuses(std::sync::Mutex<Vec<String>>);

impl qbc_server::Events for Statuses {
    fn status(&self, e: &qbc_server::events::Status<'_>) {
        self.0.lock().unwrap().push(e.message.to_string());
    }
}

#[tokio::test]
async fn the_status_event_says_what_changed() {
    let events = Arc::new(Statuses::default());
    let s = start_configured(|_| {}, None, Some(events.clone())).await;
    let c = s.running.control().clone();
    c.add_user("new", "pw", "", false).unwrap();
    c.config("AllowedClients=127.0.0.1").unwrap();
    c.remove_user(c.user_index("rob").unwrap()).unwrap();
    let want = [
        "settings changed: user `new` added",
        "the allow-list",
        "user `rob` removed",
    ];
    for _ in 0..200 {
        let all = events.0.lock().unwrap().join("\n");
        if want.iter().all(|w| all.contains(w)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let all = events.0.lock().unwrap().join("\n");
    for w in want {
        assert!(all.contains(w), "{w}: {all}");
    }
    assert!(!all.contains("$argon2"), "no password hash in a status");
    s.running.shutdown().await;
}
