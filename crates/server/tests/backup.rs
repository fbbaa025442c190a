//! Online backups (issue 20): `Running::backup` (what SIGUSR1 and the
//! `[backup]` schedule call) copies every company file while clients
//! write, each copy consistent and whole; files that are not company
//! files are left out, named; the oldest backups beyond `keep` go.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Customers in a company file copy, and its integrity check.
fn customers_in(path: &std::path::Path) -> (usize, String) {
    let company = qbsim::Company::open(path, qbsim::Config::default()).unwrap();
    let check = company.integrity_check().unwrap();
    let s = company.begin_session();
    let answer = company.process(s, customer_query().as_bytes()).unwrap();
    company.end_session(s);
    (answer.matches("<CustomerRet>").count(), check)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_made_while_clients_write_is_consistent_and_whole() {
    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().to_path_buf();
    let s = start_configured(
        |c| {
            c.backup.dir = to.clone();
            c.backup.keep = 2;
        },
        None,
        None,
    )
    .await;
    let addr = s.addr;
    // Two company files, and a file in the data directory that is not one.
    let r = post(addr, "ann", &customer_add("First")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    let other = [("x-qb-connection", "CompanyFile='other.qbw'")];
    let r = post_with(addr, "eve", &other, &customer_add("Elsewhere")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    std::fs::write(s.dir.path().join("notes.txt"), "not a company file").unwrap();

    // A writer adds customers without pause; each acknowledged add counts.
    let acked = Arc::new(AtomicUsize::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = post(addr, "ann", &customer_add(&format!("Busy {n}"))).await;
                assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
                acked.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // Let some writes land first.
    while acked.load(Ordering::SeqCst) < 20 {
        tokio::task::yield_now().await;
    }
    let before = acked.load(Ordering::SeqCst);
    let made = s.running.backup().await.unwrap();
    // Counted once the writer is done: an add committed before the copy
    // may be acknowledged only after it.
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let after = acked.load(Ordering::SeqCst);

    // Both company files, by name; the text file left out, with why.
    let names: Vec<&str> = made.copied.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["acme.qbw", "other.qbw"], "{made:?}");
    assert_eq!(made.copied.skipped.len(), 1, "{made:?}");
    assert_eq!(made.copied.skipped[0].0, "notes.txt");
    assert!(made.copied.skipped[0].1.contains("not a company file"));
    assert!(made.folder.starts_with(backups.path()));
    // The copy holds every add acknowledged before the backup began, none
    // after it ended, and passes SQLite's integrity check.
    let (n, check) = customers_in(&made.folder.join("acme.qbw"));
    assert_eq!(check, "ok");
    eprintln!("{n} customers in the copy; {before} acknowledged before it, {after} by the end");
    assert!(
        (before..=after).contains(&n),
        "{n} customers, {before} acknowledged before, {after} after"
    );
    let (n, check) = customers_in(&made.folder.join("other.qbw"));
    assert_eq!((n, check.as_str()), (1, "ok"));
    // The running server still serves (it was not left locked out).
    let r = post(addr, "ann", &customer_add("Later")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);

    // keep = 2: a third backup removes the first; nothing hidden is left.
    let second = s.running.backup().await.unwrap();
    let third = s.running.backup().await.unwrap();
    assert_eq!(third.removed, std::slice::from_ref(&made.folder));
    let mut left: Vec<_> = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left, [second.folder, third.folder]);
    // The metrics say when the last one succeeded.
    let auth = basic("ann", PASSWORD);
    let m = send(addr, "GET", "/metrics", &[("authorization", &auth)], "").await;
    assert!(
        m.body.contains("qbconnector_backup_failures_total 0"),
        "{}",
        m.body
    );
    assert!(!m
        .body
        .contains("qbconnector_backup_last_success_timestamp_seconds 0\n"));
    s.running.shutdown().await;
}

/// A backup that cannot be made says why, counts as a failure, and leaves
/// nothing behind; with no folder configured, it is refused.
#[tokio::test]
async fn a_failed_backup_says_why_and_leaves_nothing() {
    let s = start().await;
    let err = s.running.backup().await.unwrap_err();
    assert!(err.contains("[backup]"), "{err}");
    s.running.shutdown().await;

    // The backup folder is a file: it cannot be made.
    let blocked = tempfile::NamedTempFile::new().unwrap();
    let path = blocked.path().to_path_buf();
    let s = start_configured(move |c| c.backup.dir = path, None, None).await;
    let r = post(s.addr, "ann", &customer_add("One")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    let err = s.running.backup().await.unwrap_err();
    assert!(err.contains("backup failed"), "{err}");
    let auth = basic("ann", PASSWORD);
    let m = send(s.addr, "GET", "/metrics", &[("authorization", &auth)], "").await;
    assert!(
        m.body.contains("qbconnector_backup_failures_total 1"),
        "{}",
        m.body
    );
    s.running.shutdown().await;

    // A data directory that cannot be read: the backup fails, and the
    // backup made before it is not pruned to make room (keep = 1).
    let backups = tempfile::tempdir().unwrap();
    let to = backups.path().to_path_buf();
    let s = start_configured(
        move |c| {
            c.backup.dir = to;
            c.backup.keep = 1;
        },
        None,
        None,
    )
    .await;
    // Nothing to back up yet: that fails too, and makes nothing.
    let err = s.running.backup().await.unwrap_err();
    assert!(err.contains("no company file"), "{err}");
    assert_eq!(std::fs::read_dir(backups.path()).unwrap().count(), 0);
    let r = post(s.addr, "ann", &customer_add("One")).await;
    assert!(r.body.contains("statusCode=\"0\""), "{}", r.body);
    let first = s.running.backup().await.unwrap();
    let gone = s.dir.path().with_extension("moved");
    std::fs::rename(s.dir.path(), &gone).unwrap();
    let err = s.running.backup().await.unwrap_err();
    assert!(err.contains("data directory"), "{err}");
    std::fs::rename(&gone, s.dir.path()).unwrap();
    let left: Vec<_> = std::fs::read_dir(backups.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left, [first.folder]);
    s.running.shutdown().await;
}
