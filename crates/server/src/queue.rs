//! One request at a time per company file.
//!
//! QuickBooks works on one request at a time for a company file, and the
//! request processor is not safe to call twice at once. Each company file
//! (the backend's key) has a lane: a task that runs the backend work sent
//! to it, one job after the other, and a bounded queue in front of it.
//! Running the jobs back to back on one task, rather than waking each
//! waiting request in turn, keeps thread hand-offs off the serial path: a
//! busy company file does nothing but backend work.
//!
//! A job that finds the queue full, or waits longer than the wait timeout,
//! is refused (503) and never runs. A job that has started runs to the end
//! even if its caller gives up (504) or hangs up, so jobs never interleave
//! and no backend call is cut off halfway. A job that panics is caught:
//! its caller gets an error, the lane goes on. Different company files
//! have different lanes and run in parallel.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
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

/// A queued job.
pub struct Pending<T> {
    job: Arc<JobState>,
    done: oneshot::Receiver<T>,
    submitted: Instant,
    wait: Duration,
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

impl<T> Pending<T> {
    /// Wait until the job starts (at most the queue's wait timeout) and
    /// then until it ends (at most `run` from its start).
    pub async fn finish(mut self, run: Duration) -> Result<T, NotDone> {
        loop {
            // The start is not signalled (a wake-up per request would
            // cost more than it is worth): while it waits, look every
            // 100 ms, so a run timeout is late by at most that.
            let deadline = match self.job.started.get() {
                None => (self.submitted + self.wait).min(Instant::now() + CHECK_EVERY),
                Some(t0) => *t0 + run,
            };
            tokio::select! {
                r = &mut self.done => return r.map_err(|_| NotDone::Failed),
                _ = tokio::time::sleep_until(deadline) => {}
            }
            if let Some(t0) = self.job.started.get() {
                if *t0 + run <= Instant::now() {
                    return Err(NotDone::TimedOut);
                }
                continue; // it started meanwhile: now wait for its end
            }
            if Instant::now() < self.submitted + self.wait {
                continue;
            }
            if self
                .job
                .state
                .compare_exchange(WAITING, CANCELLED, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Err(NotDone::Refused(Refused::TimedOut));
            }
            // It is starting right now: the start time is about to be set.
            tokio::task::yield_now().await;
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

    fn lane(&self, key: &str) -> Lane {
        let mut map = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(key) {
            return l.clone();
        }
        if map.len() >= MAX_IDLE_LANES {
            map.retain(|_, l| l.queued.load(Ordering::SeqCst) > 0);
        }
        let (tx, rx) = mpsc::channel(self.depth.max(1));
        let queued = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run_lane(rx, queued.clone()));
        let lane = Lane { jobs: tx, queued };
        map.insert(key.to_string(), lane.clone());
        lane
    }

    /// Queue `work` for the company file; [`Pending::finish`] waits for
    /// it. Refused at once when the queue is full.
    pub fn submit<T: Send + 'static>(
        &self,
        key: &str,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<Pending<T>, Refused> {
        let lane = self.lane(key);
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
        lane.queued.fetch_add(1, Ordering::SeqCst);
        if lane.jobs.try_send(job).is_err() {
            lane.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Full);
        }
        Ok(Pending {
            job: job_state,
            done: done_rx,
            submitted: Instant::now(),
            wait: self.wait,
        })
    }

    /// Run `work` in the company file's turn however long the queue is
    /// (closing sessions must happen), and wait for it. `None` if it
    /// panicked.
    pub async fn run_anyway<T: Send + 'static>(
        &self,
        key: &str,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let lane = self.lane(key);
        let (done_tx, done_rx) = oneshot::channel::<T>();
        let job: Job = Box::pin(async move {
            let _ = done_tx.send(work.await);
        });
        lane.queued.fetch_add(1, Ordering::SeqCst);
        if lane.jobs.send(job).await.is_err() {
            lane.queued.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
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
async fn run_lane(mut jobs: mpsc::Receiver<Job>, queued: Arc<AtomicUsize>) {
    while let Some(job) = jobs.recv().await {
        // A panicking job drops its result sender: its caller sees an
        // error, and the lane goes on.
        let _ = CatchUnwind(job).await;
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
        let a = lanes
            .submit("a", async move {
                let _ = release_rx.await;
                1
            })
            .unwrap();
        // Another key is independent.
        let b = lanes.submit("b", async { 2 }).unwrap();
        assert_eq!(b.finish(RUN).await, Ok(2));
        // Wait until "a" runs: then one may wait; the next is refused.
        while a.job.started.get().is_none() {
            tokio::task::yield_now().await;
        }
        let waiting = lanes.submit("a", async { 3 }).unwrap();
        assert_eq!(lanes.submit("a", async { 4 }).err(), Some(Refused::Full));
        let _ = release_tx.send(());
        assert_eq!(a.finish(RUN).await, Ok(1));
        assert_eq!(waiting.finish(RUN).await, Ok(3));
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
