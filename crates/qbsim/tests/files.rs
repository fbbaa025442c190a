//! What the simulator opens as a company file, and what opening may do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use qbsim::{Company, Config, OpenError, Opening};
use std::path::Path;

const ADD: &str = r#"<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><CustomerAddRq><CustomerAdd><Name>Kept</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>"#;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_company_file_carries_the_application_id_in_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.qbw");
    drop(Company::open(&path, Config::default()).unwrap());
    let head = std::fs::read(&path).unwrap();
    assert_eq!(&head[..16], b"SQLite format 3\0");
    assert_eq!(
        i32::from_be_bytes([head[68], head[69], head[70], head[71]]),
        qbsim::APPLICATION_ID
    );
    // Built under a hidden name and linked into place: nothing else is
    // left beside it.
    let names: Vec<String> = files(dir.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["new.qbw"]);
}

#[test]
fn side_files_and_foreign_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("v0.qbw");
    let c = Company::open(&main, Config::default()).unwrap();
    c.process(c.begin_session(), ADD.as_bytes()).unwrap();
    // While it is open its WAL exists beside it.
    assert!(dir.path().join("v0.qbw-wal").exists());
    std::fs::write(dir.path().join("text.qbw"), "hello").unwrap();
    std::fs::write(dir.path().join("empty.qbw"), "").unwrap();
    rusqlite::Connection::open(dir.path().join("app.db"))
        .unwrap()
        .execute_batch("PRAGMA application_id=42; CREATE TABLE t(x);")
        .unwrap();
    // Another application's database with a schema version the simulator
    // once used, and no application id: still not a company file.
    rusqlite::Connection::open(dir.path().join("versioned.db"))
        .unwrap()
        .execute_batch("PRAGMA user_version=2; CREATE TABLE meta(key, value); INSERT INTO meta VALUES('seeded','1');")
        .unwrap();
    std::fs::create_dir(dir.path().join("folder.qbw")).unwrap();
    let before = files(dir.path());
    for name in [
        "v0.qbw-wal",
        "text.qbw",
        "empty.qbw",
        "app.db",
        "versioned.db",
    ] {
        for opening in [Opening::Create, Opening::Existing, Opening::NoWrite] {
            match Company::open_with(&dir.path().join(name), Config::default(), opening) {
                Err(OpenError::NotACompany(_)) => {}
                Err(e) => panic!("{name}: {e}"),
                Ok(_) => panic!("{name} opened as a company"),
            }
        }
    }
    assert!(matches!(
        Company::open(&dir.path().join("folder.qbw"), Config::default()),
        Err(OpenError::NotACompany(_))
    ));
    assert_eq!(before, files(dir.path()), "nothing was written");
    drop(c);
}

#[test]
fn missing_files_are_created_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.qbw");
    for opening in [Opening::Existing, Opening::NoWrite] {
        assert!(matches!(
            Company::open_with(&path, Config::default(), opening),
            Err(OpenError::Missing)
        ));
    }
    assert!(files(dir.path()).is_empty());
    Company::open_with(&path, Config::default(), Opening::Create).unwrap();
    assert!(path.exists());
}

#[test]
fn opening_without_writing_leaves_the_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("books.qbw");
    {
        let c = Company::open(&path, Config::default()).unwrap();
        c.process(c.begin_session(), ADD.as_bytes()).unwrap();
    }
    let before = files(dir.path());
    for exclusive in [false, true] {
        let c = Company::open_with(
            &path,
            Config {
                exclusive,
                ..Config::default()
            },
            Opening::NoWrite,
        )
        .unwrap();
        let rs = c
            .process(
                c.begin_session(),
                ADD.replace("CustomerAdd", "CustomerQuery")
                    .replace("<CustomerQuery><Name>Kept</Name></CustomerQuery>", "")
                    .as_bytes(),
            )
            .unwrap();
        assert!(rs.contains("<Name>Kept</Name>"), "{rs}");
        drop(c);
        assert_eq!(before, files(dir.path()), "exclusive={exclusive}");
    }
}

/// A file made before company files carried the application id (schema
/// version set, id 0) is still a company file; a writable opening stamps
/// it, an opening that may not write leaves it as it is.
#[test]
fn older_company_files_are_recognised_and_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.qbw");
    {
        let c = Company::open(&path, Config::default()).unwrap();
        c.process(c.begin_session(), ADD.as_bytes()).unwrap();
    }
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("PRAGMA application_id=0; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let id = |p: &Path| {
        let h = std::fs::read(p).unwrap();
        i32::from_be_bytes([h[68], h[69], h[70], h[71]])
    };
    assert_eq!(id(&path), 0);
    drop(Company::open_with(&path, Config::default(), Opening::NoWrite).unwrap());
    assert_eq!(id(&path), 0);
    drop(Company::open_with(&path, Config::default(), Opening::Existing).unwrap());
    assert_eq!(id(&path), qbsim::APPLICATION_ID);
}

/// A file that needs a migration is refused to an opening that may not
/// write, and left as it is.
#[test]
fn an_opening_that_may_not_write_refuses_an_older_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.qbw");
    drop(Company::open(&path, Config::default()).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version=1; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let before = files(dir.path());
    match Company::open_with(&path, Config::default(), Opening::NoWrite) {
        Err(OpenError::Store(e)) => assert!(e.to_string().contains("upgrade"), "{e}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened"),
    }
    assert_eq!(before, files(dir.path()));
}
