//! One company file served through its Web Connector: the jobs waiting
//! for it, the one in QuickBooks' hands, the Web Connector session that
//! fetches them, and the clients' sessions bound to that session.
//!
//! Everything here is synchronous and runs under the company's lock,
//! which is never held across an `await`: a SOAP call or a client's
//! request takes the lock, changes the state, and leaves. The waiting is
//! done outside, on the job's channel (`mod.rs`).
//!
//! The rules, each enforced in one place:
//! - a job is handed to the Web Connector at most once (`take`); one is in
//!   QuickBooks' hands at a time (`inflight`);
//! - a write handed over whose answer never comes back is never sent again
//!   (`end_session`: it fails as lost); a read is put back in line, unless
//!   it belongs to a client session (an iterator page), which ends with
//!   its Web Connector session;
//! - a client session binds to the first Web Connector session that takes
//!   one of its jobs and lives as long as that one (`Binding`).

use super::store::{Store, Write};
use super::{Outcome, QbwcError};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A message set on its way to QuickBooks.
pub struct Job {
    pub id: u64,
    pub xml: String,
    pub write: bool,
    /// The client session it belongs to (`Backend::open`), if any.
    pub client: Option<u64>,
    /// Where the waiting client is; `None` once it stopped waiting (or, after
    /// a restart, for the job that was in flight).
    pub reply: Option<oneshot::Sender<Outcome>>,
}

/// A client session's tie to a Web Connector session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// None of its jobs has been handed over yet.
    Unbound,
    /// Its jobs go to this Web Connector session only (iterators live in
    /// one QuickBooks session).
    Bound(String),
    /// That session ended: the client's ticket is lost, as a COM session
    /// that QuickBooks closed.
    Dead,
}

/// The Web Connector session now open on this company file.
pub struct WcSession {
    pub ticket: String,
    /// The first sendRequestXML (with the HCP response) was checked.
    pub checked: bool,
    /// Why the session must end (a wrong company file, QuickBooks could not
    /// open it): what getLastError says.
    pub last_error: Option<String>,
    /// Nothing more is handed over in this session, and why (another
    /// company file is open): what new requests are told at once.
    pub refused: Option<String>,
    pub answered: u64,
}

impl WcSession {
    /// A session that has not made its first sendRequestXML yet.
    pub fn new(ticket: String) -> WcSession {
        WcSession {
            ticket,
            checked: false,
            last_error: None,
            refused: None,
            answered: 0,
        }
    }
}

/// What QuickBooks said about itself (the HCP response).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QbInfo {
    pub product: String,
    pub version: String,
    pub country: String,
    pub file: String,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Counts {
    pub handed: u64,
    pub answered: u64,
    pub lost: u64,
    pub timeouts: u64,
    pub not_taken: u64,
    pub offline: u64,
    pub wrong_file: u64,
}

pub struct State {
    pub queue: VecDeque<Job>,
    /// The job in QuickBooks' hands and the session it went to.
    pub inflight: Option<(Job, String)>,
    pub session: Option<WcSession>,
    /// The Web Connector's last call (or when the bridge started, so that
    /// it has `offline_after` to show up after a restart).
    pub last_contact: Instant,
    /// Whether that contact was a real one.
    pub ever_contacted: bool,
    /// The last client request or session (keep-alive).
    pub last_client: Option<Instant>,
    pub clients: HashMap<u64, Binding>,
    pub qb: QbInfo,
    pub counts: Counts,
}

impl State {
    pub fn new(now: Instant) -> State {
        State {
            queue: VecDeque::new(),
            inflight: None,
            session: None,
            last_contact: now,
            ever_contacted: false,
            last_client: None,
            clients: HashMap::new(),
            qb: QbInfo::default(),
            counts: Counts::default(),
        }
    }

    /// The Web Connector called.
    pub fn contact(&mut self, now: Instant) {
        self.last_contact = now;
        self.ever_contacted = true;
    }

    /// No call for longer than `offline_after`; while a job is in
    /// QuickBooks' hands (a long request keeps the Web Connector silent),
    /// for four times as long.
    pub fn offline(&self, now: Instant, offline_after: Duration) -> bool {
        let silent = now.duration_since(self.last_contact);
        match self.inflight {
            None => silent > offline_after,
            Some(_) => silent > offline_after * 4,
        }
    }

    /// Clients want a session kept open: work waits, a client session is
    /// open, or a client asked within `keep_alive`.
    /// (An open client session counts even with `keep_alive` 0: its
    /// iterators live in one Web Connector session.)
    pub fn clients_active(&self, now: Instant, keep_alive: Duration) -> bool {
        !self.queue.is_empty()
            || self.inflight.is_some()
            || self.clients.values().any(|b| *b != Binding::Dead)
            || self
                .last_client
                .is_some_and(|t| now.duration_since(t) < keep_alive)
    }

    fn binding(&self, job: &Job) -> Binding {
        match job.client {
            None => Binding::Unbound,
            Some(c) => self.clients.get(&c).cloned().unwrap_or(Binding::Dead),
        }
    }

    /// May this session take the job?
    fn eligible(&self, job: &Job, ticket: &str) -> bool {
        match self.binding(job) {
            Binding::Unbound => true,
            Binding::Bound(t) => t == ticket,
            Binding::Dead => false,
        }
    }

    pub fn has_work_for(&self, ticket: &str) -> bool {
        self.queue.iter().any(|j| self.eligible(j, ticket))
    }

    /// Hand the next job this session may take to the Web Connector.
    pub fn take(&mut self, ticket: &str, store: &Store) -> Option<String> {
        let at = self.queue.iter().position(|j| self.eligible(j, ticket))?;
        let job = self.queue.remove(at)?;
        if let Some(c) = job.client {
            self.clients.insert(c, Binding::Bound(ticket.to_string()));
        }
        // Kept on the job: a read whose session ends goes back in line.
        let xml = job.xml.clone();
        store.send(Write::Handed {
            id: job.id,
            ticket: ticket.to_string(),
        });
        self.counts.handed += 1;
        self.inflight = Some((job, ticket.to_string()));
        Some(xml)
    }

    /// QuickBooks' answer (or its failure) for the job in flight.
    pub fn finish(&mut self, ticket: &str, outcome: Outcome, store: &Store) -> bool {
        match &self.inflight {
            Some((_, t)) if t == ticket => {}
            _ => return false,
        }
        let Some((mut job, _)) = self.inflight.take() else {
            return false;
        };
        let (state, answer, error) = match &outcome {
            Ok(a) => ("answered", Some(a.xml.clone()), None),
            Err(e) => ("failed", None, Some(e.to_string())),
        };
        store.send(Write::Done {
            id: job.id,
            state,
            answer,
            error,
        });
        self.counts.answered += 1;
        if let Some(s) = self.session.as_mut() {
            s.answered += 1;
        }
        if let Some(r) = job.reply.take() {
            // A client that stopped waiting has its answer on record.
            let _ = r.send(outcome);
        }
        true
    }

    /// Fail every waiting job this session could have taken (the session
    /// cannot serve them: wrong file, QuickBooks unreachable).
    pub fn fail_waiting(&mut self, ticket: &str, error: &QbwcError, store: &Store) {
        let mut keep = VecDeque::new();
        while let Some(mut job) = self.queue.pop_front() {
            if self.eligible(&job, ticket) {
                store.send(Write::Done {
                    id: job.id,
                    state: "refused",
                    answer: None,
                    error: Some(error.to_string()),
                });
                if let Some(r) = job.reply.take() {
                    let _ = r.send(Err(error.clone()));
                }
            } else {
                keep.push_back(job);
            }
        }
        self.queue = keep;
    }

    /// The Web Connector session `ticket` is over (closed, replaced,
    /// failed). What it held is settled: the job in flight (lost if it
    /// writes, back in line if it reads), the client sessions bound to it.
    pub fn end_session(&mut self, ticket: &str, why: &str, store: &Store) {
        if self.session.as_ref().is_some_and(|s| s.ticket == ticket) {
            self.session = None;
        }
        store.send(Write::SessionEnded {
            ticket: ticket.to_string(),
        });
        let bound_here = |b: &Binding| *b == Binding::Bound(ticket.to_string());
        if matches!(&self.inflight, Some((_, t)) if t == ticket) {
            if let Some((mut job, _)) = self.inflight.take() {
                let in_client_session = job
                    .client
                    .and_then(|c| self.clients.get(&c))
                    .is_some_and(bound_here);
                if !job.write && !in_client_session && job.reply.is_some() {
                    // A read may simply be asked again, in the next session.
                    store.send(Write::Requeued { id: job.id });
                    self.queue.push_front(job);
                } else {
                    self.counts.lost += 1;
                    // A write may have been done: never "nothing happened"
                    // (a lost session's code, after which clients start
                    // over), but lost — and not sent again.
                    let e = if in_client_session && !job.write {
                        QbwcError::SessionLost(why.to_string())
                    } else {
                        QbwcError::Lost(why.to_string())
                    };
                    store.send(Write::Done {
                        id: job.id,
                        state: "lost",
                        answer: None,
                        error: Some(e.to_string()),
                    });
                    if let Some(r) = job.reply.take() {
                        let _ = r.send(Err(e));
                    }
                }
            }
        }
        for b in self.clients.values_mut() {
            if bound_here(b) {
                *b = Binding::Dead;
            }
        }
        // Jobs of those client sessions cannot be served any more.
        let mut keep = VecDeque::new();
        while let Some(mut job) = self.queue.pop_front() {
            if self.binding(&job) == Binding::Dead {
                let e = QbwcError::SessionLost(why.to_string());
                store.send(Write::Done {
                    id: job.id,
                    state: "failed",
                    answer: None,
                    error: Some(e.to_string()),
                });
                if let Some(r) = job.reply.take() {
                    let _ = r.send(Err(e));
                }
            } else {
                keep.push_back(job);
            }
        }
        self.queue = keep;
    }

    /// Percent done for receiveResponseXML: below 100 while this session
    /// has more to do or clients want it kept open.
    pub fn progress(&self, ticket: &str, keep_open: bool) -> i32 {
        let waiting = self
            .queue
            .iter()
            .filter(|j| self.eligible(j, ticket))
            .count() as u64;
        let done = self.session.as_ref().map_or(0, |s| s.answered);
        if waiting > 0 {
            ((100 * done) / (done + waiting)).min(99) as i32
        } else if keep_open {
            99
        } else {
            100
        }
    }
}
