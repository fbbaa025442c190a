//! Running a message set: `onError`, one transaction per request, error
//! recovery, and the dispatch of each request to its handler.
//!
//! - `stopOnError`: after the first request answered with severity Error,
//!   the rest are answered 3231 "The request has not been processed."
//!   (Info and Warn do not stop). Nothing already done is rolled back.
//! - `continueOnError`: every request runs.
//! - `rollbackOnError`: QuickBooks Desktop refuses it ("not valid and will
//!   produce an error", FACTS §1). We fail the whole set, unprocessed, with
//!   0x80040400 — see docs/SIMULATOR.md for why this HRESULT.
//! - Error recovery: with `newMessageSetID` each request's `…Rs` is saved
//!   in the same transaction as the request's changes, so the saved answers
//!   are exactly what happened. A later set with `oldMessageSetID` gets
//!   those answers back (`messageSetStatusCode="0"`) and is not processed;
//!   an unknown old ID answers `messageSetStatusCode="600"` and the set is
//!   processed. `ClearAllMessageSets` forgets every saved set.

use crate::{Answer, Ctx, Failure, Inner, SimError};
use qbxml::schema::Schema;
use qbxml::{
    access_of, Access, HResult, OnError, Outcome, RequestSet, ResponseData, ResponseWriter, RsHead,
    Severity, Status, Version,
};
use rusqlite::params;

pub(crate) fn process(
    inner: &mut Inner,
    session: u64,
    set: &RequestSet,
    bulk: bool,
) -> Result<crate::Response, Failure> {
    if set.kind() != qbxml::MessageSetKind::Requests {
        return Err(Failure::new(
            HResult(0x8004_0400),
            "subscription message sets (QBXMLSubscriptionMsgsRq) are not simulated",
        ));
    }
    if set.on_error() == Some(OnError::RollbackOnError) {
        return Err(Failure::new(
            HResult::PARSE_ERROR,
            "onError=\"rollbackOnError\" is not valid for QuickBooks Desktop; use stopOnError or continueOnError",
        ));
    }
    let version = set.version();
    let new_id = set.new_message_set_id().map(str::to_string);
    let mut set_status = None;
    if let Some(old) = set.old_message_set_id() {
        if old == "ClearAllMessageSets" {
            db_exec(inner, "DELETE FROM msgset", [])?;
            set_status = Some(0);
        } else {
            let saved = saved_answers(inner, old)?;
            if !saved.is_empty() {
                let mut w = ResponseWriter::with_message_set(version, new_id.as_deref(), Some(0));
                for text in &saved {
                    w.saved_response(text);
                }
                let xml = w.finish();
                // Saved as text: their statuses are read back (a rare path).
                let outcome = Outcome::of(&xml).unwrap_or_default();
                return Ok(crate::Response {
                    xml,
                    outcome,
                    json: false,
                });
            }
            set_status = Some(600);
        }
    }
    if new_id.is_some() && set_status.is_none() {
        set_status = Some(0);
    }
    if let Some(id) = &new_id {
        db_exec(inner, "DELETE FROM msgset WHERE id=?1", params![id])?;
    }
    let now = inner.config.clock.now();
    let schema = Schema::for_version(version);
    let latest = Schema::for_version(Version::LATEST);
    let stop_on_error = set.on_error() != Some(OnError::ContinueOnError);
    let include_data = set.response_data() == ResponseData::IncludeAll;
    if bulk {
        db_exec(inner, "BEGIN IMMEDIATE", [])?;
    }
    // A set read from JSON is answered in JSON, written from the records
    // rather than read back from qbXML; but for error recovery, whose
    // answers are kept as the qbXML they were (for any later client).
    let mut w = if set.answers_in_json() && new_id.is_none() {
        ResponseWriter::json(version, set_status)
    } else {
        ResponseWriter::with_message_set(version, new_id.as_deref(), set_status)
    };
    let json = w.is_json();
    let mut statuses = Vec::with_capacity(set.len());
    let mut stopped = false;
    // The answer's size so far (past the envelope's start), against
    // `max_response_bytes` (0: none).
    let limit = inner.config.max_response_bytes;
    let base = w.len();
    for (index, rq) in set.requests().enumerate() {
        let rs_name = rq.response_name();
        let id = rq.request_id();
        if stopped {
            let st = write(
                &mut w,
                &rs_name,
                id,
                Answer::status(Status::from_code(3231, &[])),
            );
            if let Some(set_id) = &new_id {
                save_answer(inner, set_id, index, w.last_response(), now)?;
            }
            statuses.push(st);
            continue;
        }
        let is_write = access_of(rq.name()) == Access::Write;
        // A read once the answer is full is refused before it does any
        // work; writes never are (what they do must be answered).
        let used = w.len() - base;
        let full = limit > 0 && !is_write && used >= limit;
        // A write (or any request whose answer is saved) is one SQLite
        // transaction: its changes and its saved answer commit together.
        let savepoint = is_write || new_id.is_some();
        // A write may rename what the cached names belong to; another
        // process may have, when the file is not held exclusively.
        if is_write || !inner.config.exclusive {
            inner.names.borrow_mut().clear();
        }
        if savepoint {
            db_exec(inner, "SAVEPOINT rq", [])?;
        }
        let ctx = Ctx {
            db: &inner.db,
            now,
            tz: inner.config.time_zone,
            version,
            schema,
            latest,
            lookups: Default::default(),
            account_types: Default::default(),
            budget: crate::Budget::new(limit, used),
            names: &inner.names,
        };
        let result = match rq.error() {
            Some(fe) => Err(SimError::Status(Status {
                code: fe.status_code,
                severity: fe.severity,
                message: fe.message.clone(),
            })),
            None if full => Err(SimError::Status(crate::too_large(limit))),
            None => crate::dispatch::run(
                &ctx,
                &rq,
                crate::dispatch::Env {
                    mode: inner.config.file_mode,
                    iterators: &mut inner.iterators,
                    session,
                    internal: bulk,
                },
            ),
        };
        let mut answer = match result {
            Ok(a) => a,
            Err(SimError::Status(st)) => Answer::status(st),
            Err(SimError::StatusWith(st, items)) => Answer {
                items,
                ..Answer::status(st)
            },
            Err(SimError::Store(e)) => Answer::status(Status {
                message: format!("{} ({e})", Status::from_code(1000, &[]).message),
                ..Status::from_code(1000, &[])
            }),
        };
        if !include_data {
            answer.items.clear();
        }
        let mut st = write(&mut w, &rs_name, id, answer);
        // Whatever a read rendered (a HostQuery, a page of records) counts
        // against the limit, handlers that count as they go or not.
        if limit > 0 && !is_write && w.len() - base > limit {
            w.undo_last();
            st = write(
                &mut w,
                &rs_name,
                id,
                Answer::status(crate::too_large(limit)),
            );
        }
        let failed = st.severity == Severity::Error;
        // What the write itself looked up may be rolled back below.
        if is_write {
            inner.names.borrow_mut().clear();
        }
        if savepoint {
            let mut ok = true;
            if failed && is_write {
                ok &= db_exec(inner, "ROLLBACK TO rq", []).is_ok();
            }
            if let Some(set_id) = &new_id {
                ok &= save_answer(inner, set_id, index, w.last_response(), now).is_ok();
            }
            let released = db_exec(inner, "RELEASE rq", []);
            if !ok || released.is_err() {
                let _ = inner.db.execute_batch("ROLLBACK TO rq; RELEASE rq");
                // The write did not become durable: it must not be
                // acknowledged as done.
                w.undo_last();
                statuses.push(write(
                    &mut w,
                    &rs_name,
                    id,
                    Answer::status(Status::from_code(1000, &[])),
                ));
                stopped |= stop_on_error;
                continue;
            }
        }
        statuses.push(st);
        if failed && stop_on_error {
            stopped = true;
        }
    }
    if bulk {
        if let Err(e) = db_exec(inner, "COMMIT", []) {
            // All of it is undone: so are the names looked up on the way.
            inner.names.borrow_mut().clear();
            return Err(e);
        }
    }
    Ok(crate::Response {
        json,
        xml: w.finish(),
        outcome: Outcome {
            statuses,
            message_set_status_code: set_status,
        },
    })
}

/// Run a statement (prepared once per connection: savepoints run on every
/// write).
fn db_exec<P: rusqlite::Params>(inner: &Inner, sql: &str, p: P) -> Result<(), Failure> {
    inner
        .db
        .prepare_cached(sql)
        .and_then(|mut st| st.execute(p))
        .map(|_| ())
        .map_err(|e| Failure::new(HResult(0x8004_041C), format!("company file: {e}")))
}

/// Keep one request's answer for error recovery (in the request's own
/// transaction, so it is saved exactly when the request's changes are).
fn save_answer(inner: &Inner, id: &str, index: usize, text: &str, now: i64) -> Result<(), Failure> {
    db_exec(
        inner,
        "INSERT OR REPLACE INTO msgset(id, response, created) VALUES(?1, ?2, ?3)",
        params![format!("{id}\u{1}{index:06}"), text, now],
    )
}

fn saved_answers(inner: &Inner, id: &str) -> Result<Vec<String>, Failure> {
    let fail =
        |e: rusqlite::Error| Failure::new(HResult(0x8004_041C), format!("company file: {e}"));
    let mut st = inner
        .db
        .prepare("SELECT response FROM msgset WHERE id > ?1 AND id < ?2 ORDER BY id")
        .map_err(fail)?;
    let rows = st
        .query_map(params![format!("{id}\u{1}"), format!("{id}\u{2}")], |r| {
            r.get(0)
        })
        .map_err(fail)?;
    rows.collect::<Result<Vec<String>, _>>().map_err(fail)
}

/// Write one `…Rs` for `a`, and give the status it was written with.
fn write(w: &mut ResponseWriter, name: &str, request_id: Option<&str>, a: Answer) -> Status {
    let mut head = RsHead::new(name, request_id, a.status);
    head.ret_count = a.ret_count;
    head.iterator_remaining_count = a.remaining;
    head.iterator_id = a.iterator_id.as_deref();
    // Records are kept in the newest version: what the request's version
    // does not have is left out, as QuickBooks answers in the version
    // asked for; ordering and fitting are one pass.
    if w.response_fitted(&head, a.items).is_err() {
        // Our own output does not fit the schema: answer without data
        // rather than write an invalid response.
        head.status = Status::from_code(1000, &[]);
        w.response_unchecked(&head, &[]);
    }
    head.status
}
