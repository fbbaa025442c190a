//! Counters for `/metrics`, in Prometheus' text format.
//!
//! Atomics only on the request path; the text is built when scraped.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// HTTP statuses counted by value; any other lands in `other`.
const CODES: [u16; 16] = [
    200, 201, 204, 400, 401, 403, 404, 405, 408, 413, 415, 429, 500, 502, 503, 504,
];

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

#[derive(Default)]
pub struct Metrics {
    by_code: [AtomicU64; CODES.len()],
    other_code: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    pub auth_failures: AtomicU64,
    pub lockouts: AtomicU64,
    pub connections_total: AtomicU64,
    pub connections_open: AtomicU64,
    pub sessions_open: AtomicU64,
    pub backend_timeouts: AtomicU64,
    /// Backups (`[backup]`, SIGUSR1) that failed, and when the last one
    /// succeeded (Unix seconds; 0: none since start).
    pub backup_failures: AtomicU64,
    pub backup_last_success: AtomicU64,
}

impl Metrics {
    pub fn record(&self, status: u16, took: Duration) {
        match CODES.iter().position(|c| *c == status) {
            Some(i) => self.by_code[i].fetch_add(1, Relaxed),
            None => self.other_code.fetch_add(1, Relaxed),
        };
        let s = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us
            .fetch_add(took.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }

    /// The exposition text; `queues` are (company file, waiting) pairs.
    pub fn render(&self, queues: &[(String, usize)]) -> String {
        let mut o = String::with_capacity(4096);
        let _ = writeln!(
            o,
            "# HELP qbconnector_requests_total HTTP requests answered, by status."
        );
        let _ = writeln!(o, "# TYPE qbconnector_requests_total counter");
        for (i, c) in CODES.iter().enumerate() {
            let _ = writeln!(
                o,
                "qbconnector_requests_total{{code=\"{c}\"}} {}",
                self.by_code[i].load(Relaxed)
            );
        }
        let _ = writeln!(
            o,
            "qbconnector_requests_total{{code=\"other\"}} {}",
            self.other_code.load(Relaxed)
        );
        let _ = writeln!(
            o,
            "# HELP qbconnector_request_duration_seconds Time from request head to response."
        );
        let _ = writeln!(o, "# TYPE qbconnector_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(
                o,
                "qbconnector_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(
            o,
            "qbconnector_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            o,
            "qbconnector_request_duration_seconds_sum {}",
            self.latency_sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(o, "qbconnector_request_duration_seconds_count {count}");
        for (name, help, kind, v) in [
            (
                "auth_failures_total",
                "Requests refused for credentials.",
                "counter",
                &self.auth_failures,
            ),
            (
                "lockouts_total",
                "Lockouts started (per address or user).",
                "counter",
                &self.lockouts,
            ),
            (
                "connections_total",
                "Connections accepted.",
                "counter",
                &self.connections_total,
            ),
            (
                "connections_open",
                "Connections open now.",
                "gauge",
                &self.connections_open,
            ),
            (
                "sessions_open",
                "Persistent sessions (tickets) open now.",
                "gauge",
                &self.sessions_open,
            ),
            (
                "backend_timeouts_total",
                "Requests answered 504.",
                "counter",
                &self.backend_timeouts,
            ),
            (
                "backup_failures_total",
                "Backups of the company files that failed.",
                "counter",
                &self.backup_failures,
            ),
            (
                "backup_last_success_timestamp_seconds",
                "When the last backup completed (Unix time; 0: none since start).",
                "gauge",
                &self.backup_last_success,
            ),
        ] {
            let _ = writeln!(o, "# HELP qbconnector_{name} {help}");
            let _ = writeln!(o, "# TYPE qbconnector_{name} {kind}");
            let _ = writeln!(o, "qbconnector_{name} {}", v.load(Relaxed));
        }
        let _ = writeln!(
            o,
            "# HELP qbconnector_queue_depth Requests waiting or running, per company file."
        );
        let _ = writeln!(o, "# TYPE qbconnector_queue_depth gauge");
        for (company, n) in queues {
            let _ = writeln!(
                o,
                "qbconnector_queue_depth{{company=\"{}\"}} {n}",
                label(company)
            );
        }
        o
    }
}

/// Escape a label value (backslash, quote, newline).
pub(crate) fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.record(200, Duration::from_micros(300));
        m.record(200, Duration::from_millis(30));
        m.record(418, Duration::from_secs(100));
        let t = m.render(&[("a\"b.qbw".into(), 2)]);
        assert!(
            t.contains("qbconnector_requests_total{code=\"200\"} 2"),
            "{t}"
        );
        assert!(t.contains("qbconnector_requests_total{code=\"other\"} 1"));
        assert!(t.contains("_bucket{le=\"0.0005\"} 1\n"));
        assert!(t.contains("_bucket{le=\"0.05\"} 2\n"));
        assert!(t.contains("_bucket{le=\"60\"} 2\n"));
        assert!(t.contains("_bucket{le=\"+Inf\"} 3\n"));
        assert!(t.contains("qbconnector_queue_depth{company=\"a\\\"b.qbw\"} 2"));
    }
}
