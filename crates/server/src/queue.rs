//! One request at a time per company file.
//!
//! QuickBooks works on one request at a time for a company file, and the
//! request processor is not safe to call twice at once. Each company file
//! (the backend's key) has a lane: a turn (who may call the backend now),
//! a bounded queue, and a task that runs queued jobs one after the other.
//! A request that finds its lane empty takes the turn and runs its job in
//! place, with no hand-off at all; otherwise its job is queued, and the
//! lane task runs it when the turn is free. Thread hand-offs are what
//! cost most here: both paths keep them off the serial path.
//!
//! A job that finds the queue full, or waits longer than the wait timeout,
//! is refused (503) and never runs. A job that has started runs to the end
//! even if its caller gives up (504) or hangs up — an abandoned in-place
//! job moves to a task of its own, still holding the turn — so jobs never
//! interleave and no backend call is cut off halfway. A job that panics is
//! caught: its caller gets an error, the turn is given back, the lane goes
//! on. Different company files have different lanes and run in parallel.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct Lanes {
    depth: usize,
    wait: Duration,
    lanes: Mutex<HashMap<String, Lane>>,
}

#[derive(Clone)]
struct Lane {
    jobs: mpsc::Sender<Job>,
    /// Waiting or running.
    queued: Arc<AtomicUsize>,
    turn: Arc<Turn>,
}

/// Whose turn it is: held by the lane task while it runs a job, or by a
/// caller that found the lane empty and runs its job in place.
struct Turn {
    busy: AtomicBool,
    freed: Notify,
}

impl Turn {
    fn try_take(&self) -> bool {
        !self.busy.swap(true, Ordering::SeqCst)
    }

    async fn take(&self) {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.try_take() {
                return;
            }
            freed.await;
        }
    }
}

/// Gives the turn back when dropped (also when a job panics).
struct Held(Arc<Turn>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::SeqCst);
        self.0.freed.notify_one();
    }
}

struct Decrement(Arc<AtomicUsize>);

impl Drop for Decrement {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// `depth` requests are already waiting.
    Full,
    /// Waited the whole wait timeout.
    TimedOut,
}

struct JobState {
    state: AtomicU8,
    started: OnceLock<Instant>,
}

/// A caller that stops waiting (it hung up) takes its queued job back:
/// a job nobody waits for never starts late.
struct CancelOnDrop(Arc<JobState>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let _ =
            self.0
                .state
                .compare_exchange(WAITING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst);
    }
}

impl std::ops::Deref for CancelOnDrop {
    type Target = JobState;
    fn deref(&self) -> &JobState {
        &self.0
    }
}

/// A submitted job.
pub struct Pending<T: Send + 'static>(Kind<T>);

enum Kind<T: Send + 'static> {
    /// In the lane's queue; the lane task runs it.
    Queued {
        job: CancelOnDrop,
        done: oneshot::Receiver<T>,
        submitted: Instant,
        wait: Duration,
    },
    /// The lane was empty: the caller holds the turn and runs it.
    InPlace(InPlace<T>),
}

/// How waiting for a job ended without its result.
#[derive(Debug, PartialEq, Eq)]
pub enum NotDone {
    /// It never started within the wait timeout, and now never will.
    Refused(Refused),
    /// It started and ran past the run timeout; it still finishes.
    TimedOut,
    /// It panicked.
    Failed,
}

impl<T: Send + 'static> Pending<T> {
    /// Wait until the job starts (at most the queue's wait timeout) and
    /// then until it ends (at most `run` from its start).
    pub async fn finish(self, run: Duration) -> Result<T, NotDone> {
        match self.0 {
            Kind::InPlace(mut work) => match tokio::time::timeout(run, &mut work).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(())) => Err(NotDone::Failed),
                Err(_) => {
                    drop(work); // it goes on, on a task of its own
                    Err(NotDone::TimedOut)
                }
            },
            Kind::Queued {
                job,
                mut done,
                submitted,
                wait,
            } => loop {
                // The start is not signalled (a wake-up per request would
                // cost more than it is worth): while it waits, look every
                // 100 ms, so a run timeout is late by at most that.
                let deadline = match job.started.get() {
                    None => (submitted + wait).min(Instant::now() + CHECK_EVERY),
                    Some(t0) => *t0 + run,
                };
                tokio::select! {
                    r = &mut done => return r.map_err(|_| NotDone::Failed),
                    _ = tokio::time::sleep_until(deadline) => {}
                }
                if let Some(t0) = job.started.get() {
                    if *t0 + run <= Instant::now() {
                        return Err(NotDone::TimedOut);
                    }
                    continue; // it started meanwhile: now wait for its end
                }
                if Instant::now() < submitted + wait {
                    continue;
                }
                if job
                    .state
                    .compare_exchange(WAITING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return Err(NotDone::Refused(Refused::TimedOut));
                }
                // It is starting right now: the start time is about to be set.
                tokio::task::yield_now().await;
            },
        }
    }
}

/// A job run by its caller. Dropped before it completes (the caller timed
/// out or hung up), it is spawned to completion instead of cancelled.
struct InPlace<T: Send + 'static>(Option<Pin<Box<dyn Future<Output = T> + Send>>>);

impl<T: Send + 'static> Future for InPlace<T> {
    type Output = Result<T, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(f) = self.0.as_mut() else {
            return Poll::Ready(Err(()));
        };
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx)));
        match out {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                self.0 = None;
                Poll::Ready(Ok(v))
            }
            Err(_) => {
                self.0 = None; // drops its guards: the turn is given back
                Poll::Ready(Err(()))
            }
        }
    }
}

impl<T: Send + 'static> Drop for InPlace<T> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                // Still holding the turn; the result has no one to go to.
                let job: Job = Box::pin(async move {
                    let _ = f.await;
                });
                rt.spawn(CatchUnwind(job));
            }
        }
    }
}

const CHECK_EVERY: Duration = Duration::from_millis(100);

const WAITING: u8 = 0;
const STARTED: u8 = 1;
const CANCELLED: u8 = 2;

/// Lanes are kept while anything is queued; idle ones are dropped (their
/// task ends) when the table grows past this.
const MAX_IDLE_LANES: usize = 1024;

impl Lanes {
    pub fn new(depth: usize, wait: Duration) -> Lanes {
        Lanes {
            depth,
            wait,
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// The key's lane, with one more job counted in `queued` (taken under
    /// the table's lock, so an idle lane cannot be dropped and replaced
    /// while someone is about to use it), and the count before.
    fn reserve(&self, key: &str) -> (Lane, usize) {
        let mut map = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(key) {
            let before = l.queued.fetch_add(1, Ordering::SeqCst);
            return (l.clone(), before);
        }
        if map.len() >= MAX_IDLE_LANES {
            map.retain(|_, l| l.queued.load(Ordering::SeqCst) > 0);
        }
        // The bound is `queued`; the channel only needs room for it.
        let (tx, rx) = mpsc::channel(self.depth + 2);
        let queued = Arc::new(AtomicUsize::new(1));
        let turn = Arc::new(Turn {
            busy: AtomicBool::new(false),
            freed: Notify::new(),
        });
        tokio::spawn(run_lane(rx, queued.clone(), turn.clone()));
        let lane = Lane {
            jobs: tx,
            queued,
            turn,
        };
        map.insert(key.to_string(), lane.clone());
        (lane, 0)
    }

    /// Queue `work` for the company file; [`Pending::finish`] waits for
    /// it. Refused at once when the queue is full.
    pub fn submit<T: Send + 'static>(
        &self,
        key: &str,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<Pending<T>, Refused> {
        // One running plus `depth` waiting.
        let (lane, before) = self.reserve(key);
        // An empty lane: run it here, with no hand-off to the lane task.
        if before == 0 && lane.turn.try_take() {
            let held = Held(lane.turn.clone());
            let dec = Decrement(lane.queued.clone());
            return Ok(Pending(Kind::InPlace(InPlace(Some(Box::pin(
                async move {
                    let _held = held;
                    let _dec = dec;
                    work.await
                },
            ))))));
        }
        if before > self.depth {
            lane.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Full);
        }
        let job_state = Arc::new(JobState {
            state: AtomicU8::new(WAITING),
            started: OnceLock::new(),
        });
        let (done_tx, done_rx) = oneshot::channel::<T>();
        let st = job_state.clone();
        let job: Job = Box::pin(async move {
            if st
                .state
                .compare_exchange(WAITING, STARTED, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                return; // the caller stopped waiting: never run it
            }
            let _ = st.started.set(Instant::now());
            let out = work.await;
            let _ = done_tx.send(out);
        });
        if lane.jobs.try_send(job).is_err() {
            lane.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Full);
        }
        Ok(Pending(Kind::Queued {
            job: CancelOnDrop(job_state),
            done: done_rx,
            submitted: Instant::now(),
            wait: self.wait,
        }))
    }

    /// Run `work` in the company file's turn however long the queue is
    /// (closing sessions must happen), and wait for it. `None` if it
    /// panicked.
    pub async fn run_anyway<T: Send + 'static>(
        &self,
        key: &str,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (lane, _) = self.reserve(key);
        let (done_tx, done_rx) = oneshot::channel::<T>();
        let job: Job = Box::pin(async move {
            let _ = done_tx.send(work.await);
        });
        // Queued by a task of its own: a caller that stops waiting (a
        // timeout) must not take the job, and the lane's count, with it.
        tokio::spawn(async move {
            if lane.jobs.send(job).await.is_err() {
                lane.queued.fetch_sub(1, Ordering::SeqCst);
            }
        });
        done_rx.await.ok()
    }

    /// (company file, queued) for every lane.
    pub fn depths(&self) -> Vec<(String, usize)> {
        let map = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map
            .iter()
            .map(|(k, l)| (k.clone(), l.queued.load(Ordering::SeqCst)))
            .collect();
        v.sort();
        v
    }
}

/// The lane's task: one job at a time, until every sender is gone.
async fn run_lane(mut jobs: mpsc::Receiver<Job>, queued: Arc<AtomicUsize>, turn: Arc<Turn>) {
    while let Some(job) = jobs.recv().await {
        turn.take().await;
        let held = Held(turn.clone());
        // A panicking job drops its result sender: its caller sees an
        // error, and the lane goes on.
        let _ = CatchUnwind(job).await;
        drop(held);
        queued.fetch_sub(1, Ordering::SeqCst);
    }
}

struct CatchUnwind(Job);

impl Future for CatchUnwind {
    type Output = Result<(), ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let job = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| job.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    const RUN: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn one_job_at_a_time_per_key_bounded_queue() {
        let lanes = Arc::new(Lanes::new(1, Duration::from_secs(30)));
        let (release_tx, release_rx) = oneshot::channel::<()>();
        // The lane is empty: this one runs in place and holds the turn.
        let a = lanes
            .submit("a", async move {
                let _ = release_rx.await;
                1
            })
            .unwrap();
        assert!(matches!(a.0, Kind::InPlace(_)));
        // Another key is independent.
        let b = lanes.submit("b", async { 2 }).unwrap();
        assert_eq!(b.finish(RUN).await, Ok(2));
        // One may wait on "a"; the next is refused.
        let waiting = lanes.submit("a", async { 3 }).unwrap();
        assert!(matches!(waiting.0, Kind::Queued { .. }));
        assert_eq!(lanes.submit("a", async { 4 }).err(), Some(Refused::Full));
        let a = tokio::spawn(a.finish(RUN));
        // The waiting job cannot start while "a" holds the turn.
        tokio::task::yield_now().await;
        let _ = release_tx.send(());
        assert_eq!(a.await.unwrap(), Ok(1));
        assert_eq!(waiting.finish(RUN).await, Ok(3));
        assert_eq!(lanes.depths(), vec![("a".into(), 0), ("b".into(), 0)]);
    }

    #[tokio::test]
    async fn an_abandoned_in_place_job_still_finishes_and_keeps_the_turn() {
        let lanes = Lanes::new(8, Duration::from_secs(30));
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let first = lanes
            .submit("a", async move {
                let _ = go_rx.await;
                r.store(true, Ordering::SeqCst);
            })
            .unwrap();
        drop(first); // the caller hung up before it even started
        let second = lanes.submit("a", async { 5 }).unwrap();
        assert!(
            matches!(second.0, Kind::Queued { .. }),
            "the turn is still held"
        );
        let _ = go_tx.send(());
        assert_eq!(second.finish(RUN).await, Ok(5));
        assert!(ran.load(Ordering::SeqCst), "the abandoned job ran first");
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_waited_too_long_never_runs() {
        let lanes = Lanes::new(8, Duration::from_secs(5));
        let (_hold, release) = oneshot::channel::<()>();
        let first = lanes
            .submit("a", async move {
                let _ = release.await;
            })
            .unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let late = lanes
            .submit("a", async move { r.store(true, Ordering::SeqCst) })
            .unwrap();
        assert_eq!(
            late.finish(RUN).await,
            Err(NotDone::Refused(Refused::TimedOut))
        );
        // The first one started and runs past its run time: 504-like.
        assert_eq!(
            first.finish(Duration::from_secs(1)).await,
            Err(NotDone::TimedOut)
        );
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_queued_job_whose_caller_hung_up_never_runs() {
        let lanes = Lanes::new(8, Duration::from_secs(30));
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let first = lanes
            .submit("a", async move {
                let _ = go_rx.await;
            })
            .unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = lanes
            .submit("a", async move { r.store(true, Ordering::SeqCst) })
            .unwrap();
        drop(queued); // the client went away while it waited
        let _ = go_tx.send(());
        first.finish(RUN).await.unwrap();
        assert_eq!(lanes.run_anyway("a", async { 1 }).await, Some(1));
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_stop_the_lane() {
        let lanes = Lanes::new(8, Duration::from_secs(5));
        let boom = lanes
            .submit("a", async {
                if lanes_panic() {
                    panic!("backend bug");
                }
            })
            .unwrap();
        assert_eq!(boom.finish(RUN).await, Err(NotDone::Failed));
        assert_eq!(
            lanes.submit("a", async { 7 }).unwrap().finish(RUN).await,
            Ok(7)
        );
        assert_eq!(lanes.run_anyway("a", async { 8 }).await, Some(8));
    }

    fn lanes_panic() -> bool {
        true
    }
}
