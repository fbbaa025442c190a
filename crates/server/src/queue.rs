//! One request at a time per company file.
//!
//! QuickBooks works on one request at a time for a company file, and the
//! request processor is not safe to call twice at once. Each company file
//! (the backend's key) has a lane: a semaphore of one permit and a bound on
//! how many may wait. A request that finds the lane full, or waits longer
//! than the wait timeout, is refused (503) before it reaches the backend.
//! Different company files have different lanes and run in parallel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Lanes {
    depth: usize,
    wait: Duration,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
}

struct Lane {
    turn: Arc<Semaphore>,
    /// Waiting or running.
    queued: AtomicUsize,
}

/// Holding a turn: the company file is ours until this is dropped.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
    lane: Arc<Lane>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.lane.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// `depth` requests are already queued.
    Full,
    /// Waited the whole wait timeout.
    TimedOut,
}

/// Lanes are kept while anything is queued; idle ones are dropped when
/// the table grows past this.
const MAX_IDLE_LANES: usize = 1024;

impl Lanes {
    pub fn new(depth: usize, wait: Duration) -> Lanes {
        Lanes {
            depth,
            wait,
            lanes: Mutex::new(HashMap::new()),
        }
    }

    fn lane(&self, key: &str) -> Arc<Lane> {
        let mut map = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = map.get(key) {
            return l.clone();
        }
        if map.len() >= MAX_IDLE_LANES {
            map.retain(|_, l| l.queued.load(Ordering::SeqCst) > 0 || Arc::strong_count(l) > 1);
        }
        let l = Arc::new(Lane {
            turn: Arc::new(Semaphore::new(1)),
            queued: AtomicUsize::new(0),
        });
        map.insert(key.to_string(), l.clone());
        l
    }

    /// Wait for the company file's turn.
    pub async fn acquire(&self, key: &str) -> Result<Turn, Refused> {
        let lane = self.lane(key);
        // One running plus `depth` waiting.
        let before = lane.queued.fetch_add(1, Ordering::SeqCst);
        if before > self.depth {
            lane.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Refused::Full);
        }
        match tokio::time::timeout(self.wait, lane.turn.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Turn {
                _permit: permit,
                lane,
            }),
            _ => {
                lane.queued.fetch_sub(1, Ordering::SeqCst);
                Err(Refused::TimedOut)
            }
        }
    }

    /// (company file, queued) for every lane in use.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_per_key_and_a_bounded_queue() {
        let lanes = Arc::new(Lanes::new(1, Duration::from_secs(30)));
        let a = lanes.acquire("a").await.unwrap();
        // Another key is independent.
        let b = lanes.acquire("b").await.unwrap();
        // One may wait on "a"; the next is refused.
        let l2 = lanes.clone();
        let waiter = tokio::spawn(async move { l2.acquire("a").await.map(|_| ()) });
        while lanes.depths().iter().find(|(k, _)| k == "a").map(|x| x.1) != Some(2) {
            tokio::task::yield_now().await;
        }
        assert_eq!(lanes.acquire("a").await.err(), Some(Refused::Full));
        drop(a);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        drop(b);
        assert!(lanes.depths().iter().all(|(_, n)| *n == 0));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_times_out() {
        let lanes = Lanes::new(8, Duration::from_secs(5));
        let _a = lanes.acquire("a").await.unwrap();
        assert_eq!(lanes.acquire("a").await.err(), Some(Refused::TimedOut));
    }
}
