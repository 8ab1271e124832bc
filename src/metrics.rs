//! The process's own metrics, written by hand in the Prometheus text
//! exposition format 0.0.4: jobs enqueued and finished by this process, how
//! long their attempts ran, and the HTTP requests it answered. Counters are
//! atomics behind a map of label sets (a read lock on the hot path; the write
//! lock only the first time a label set is seen).
//!
//! What lives in the database (jobs by queue and state, the oldest waiting
//! job) is read at scrape time by `GET /metrics` (`src/web/metrics.rs`), which
//! renders both with [`Exposition`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::Duration;

/// Upper bounds (seconds) of the duration histograms, `+Inf` implied.
pub const DURATION_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How an attempt ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Completed,
    Retry,
    Discard,
    Cancel,
    Snooze,
}

impl JobOutcome {
    pub const ALL: [JobOutcome; 5] = [
        JobOutcome::Completed,
        JobOutcome::Retry,
        JobOutcome::Discard,
        JobOutcome::Cancel,
        JobOutcome::Snooze,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Completed => "completed",
            JobOutcome::Retry => "retry",
            JobOutcome::Discard => "discard",
            JobOutcome::Cancel => "cancel",
            JobOutcome::Snooze => "snooze",
        }
    }
}

/// A histogram of durations with fixed buckets.
pub struct Histogram {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = DURATION_BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(DURATION_BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Cumulative counts per bound (`+Inf` last), the sum in seconds, the count.
    pub fn snapshot(&self) -> (Vec<u64>, f64, u64) {
        let mut running = 0;
        let cumulative = self
            .counts
            .iter()
            .map(|c| {
                running += c.load(Ordering::Relaxed);
                running
            })
            .collect();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (cumulative, sum, self.count.load(Ordering::Relaxed))
    }
}

#[derive(Default)]
struct KindStats {
    enqueued: AtomicU64,
    finished: [AtomicU64; 5],
    run: Histogram,
}

#[derive(Default)]
struct HttpStats {
    statuses: Mutex<BTreeMap<u16, u64>>,
    duration: Histogram,
}

/// The registry of one process.
#[derive(Default)]
pub struct Metrics {
    kinds: RwLock<HashMap<String, Arc<KindStats>>>,
    /// method → matched route → stats.
    http: RwLock<HashMap<&'static str, HashMap<String, Arc<HttpStats>>>>,
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::default);

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

impl Metrics {
    fn kind(&self, kind: &str) -> Arc<KindStats> {
        if let Some(stats) = self.kinds.read().unwrap_or_else(|e| e.into_inner()).get(kind) {
            return stats.clone();
        }
        let mut kinds = self.kinds.write().unwrap_or_else(|e| e.into_inner());
        kinds.entry(kind.to_string()).or_default().clone()
    }

    /// `n` jobs of `kind` were inserted (counted when their transaction committed).
    pub fn job_enqueued(&self, kind: &str, n: u64) {
        self.kind(kind).enqueued.fetch_add(n, Ordering::Relaxed);
    }

    /// An attempt of `kind` ended with `outcome` after running for `ran`.
    pub fn job_finished(&self, kind: &str, outcome: JobOutcome, ran: Duration) {
        let stats = self.kind(kind);
        let i = JobOutcome::ALL.iter().position(|o| *o == outcome).unwrap_or(0);
        stats.finished[i].fetch_add(1, Ordering::Relaxed);
        stats.run.observe(ran);
    }

    /// A request was answered. `route` is the matched route pattern (never the
    /// raw path) or `unmatched`.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        let found = self
            .http
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(method)
            .and_then(|routes| routes.get(route))
            .cloned();
        let stats = match found {
            Some(stats) => stats,
            None => self
                .http
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .entry(method)
                .or_default()
                .entry(route.to_string())
                .or_default()
                .clone(),
        };
        *stats
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(status)
            .or_default() += 1;
        stats.duration.observe(took);
    }

    /// Writes every family of this registry.
    pub fn render(&self, out: &mut Exposition) {
        let kinds: BTreeMap<String, Arc<KindStats>> = self
            .kinds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.family(
            "comptoir_jobs_enqueued_total",
            "counter",
            "Jobs inserted by this process (committed), by kind. Process-local: resets when the process restarts.",
        );
        for (kind, stats) in &kinds {
            out.sample(
                "comptoir_jobs_enqueued_total",
                &[("kind", kind)],
                stats.enqueued.load(Ordering::Relaxed) as f64,
            );
        }
        out.family(
            "comptoir_jobs_finished_total",
            "counter",
            "Job attempts ended by the worker embedded in this process, by kind and outcome. Process-local.",
        );
        for (kind, stats) in &kinds {
            for (i, outcome) in JobOutcome::ALL.iter().enumerate() {
                out.sample(
                    "comptoir_jobs_finished_total",
                    &[("kind", kind), ("outcome", outcome.as_str())],
                    stats.finished[i].load(Ordering::Relaxed) as f64,
                );
            }
        }
        out.family(
            "comptoir_job_run_seconds",
            "histogram",
            "How long job attempts ran in the worker embedded in this process, by kind. Process-local.",
        );
        for (kind, stats) in &kinds {
            if stats.run.count.load(Ordering::Relaxed) > 0 {
                out.histogram("comptoir_job_run_seconds", &[("kind", kind)], &stats.run);
            }
        }
        self.render_http(out);
    }

    fn render_http(&self, out: &mut Exposition) {
        let mut routes: Vec<(&'static str, String, Arc<HttpStats>)> = Vec::new();
        for (method, by_route) in self.http.read().unwrap_or_else(|e| e.into_inner()).iter() {
            for (route, stats) in by_route {
                routes.push((method, route.clone(), stats.clone()));
            }
        }
        routes.sort_by(|a, b| (a.1.as_str(), a.0).cmp(&(b.1.as_str(), b.0)));
        out.family(
            "comptoir_http_requests_total",
            "counter",
            "HTTP requests answered by this process, by method, matched route and status.",
        );
        for (method, route, stats) in &routes {
            let statuses = stats.statuses.lock().unwrap_or_else(|e| e.into_inner()).clone();
            for (status, n) in statuses {
                let status = status.to_string();
                out.sample(
                    "comptoir_http_requests_total",
                    &[("method", method), ("route", route), ("status", &status)],
                    n as f64,
                );
            }
        }
        out.family(
            "comptoir_http_request_duration_seconds",
            "histogram",
            "Time to answer HTTP requests (until the response head), by method and matched route.",
        );
        for (method, route, stats) in &routes {
            out.histogram(
                "comptoir_http_request_duration_seconds",
                &[("method", method), ("route", route)],
                &stats.duration,
            );
        }
    }
}

/// Known methods keep their name; anything else is `other` (bounded labels).
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// A text exposition being written (format 0.0.4).
#[derive(Default)]
pub struct Exposition {
    text: String,
}

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// `# HELP` and `# TYPE` lines of a family (`counter`, `gauge`, `histogram`).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        write_labels(&mut self.text, labels, None);
        let _ = writeln!(self.text, " {}", number(value));
    }

    /// `_bucket{le}` (cumulative), `_sum` and `_count` of one label set.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        let (cumulative, sum, count) = h.snapshot();
        for (i, n) in cumulative.iter().enumerate() {
            let le = DURATION_BUCKETS.get(i).map_or("+Inf".to_string(), |b| number(*b));
            self.text.push_str(name);
            self.text.push_str("_bucket");
            write_labels(&mut self.text, labels, Some(&le));
            let _ = writeln!(self.text, " {n}");
        }
        for (suffix, value) in [("_sum", sum), ("_count", count as f64)] {
            self.text.push_str(name);
            self.text.push_str(suffix);
            write_labels(&mut self.text, labels, None);
            let _ = writeln!(self.text, " {}", number(value));
        }
    }

    pub fn finish(self) -> String {
        self.text
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (name, value) in labels.iter().copied().chain(le.map(|le| ("le", le))) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// A sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN` spelled out.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = Exposition::new();
        out.family("x_total", "counter", "A help with a \\ and\na newline.");
        out.sample("x_total", &[("kind", "a\"b\\c\nd")], 3.0);
        assert_eq!(
            out.finish(),
            "# HELP x_total A help with a \\\\ and\\na newline.\n# TYPE x_total counter\nx_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        for ms in [1, 3, 20, 700, 90_000] {
            h.observe(Duration::from_millis(ms));
        }
        let (cumulative, sum, count) = h.snapshot();
        assert_eq!(count, 5);
        assert!((sum - 90.724).abs() < 1e-9, "{sum}");
        // ≤0.005: 2, ≤0.01: 2, ≤0.025: 3, … ≤1: 4, … ≤60: 4, +Inf: 5.
        assert_eq!(cumulative, [2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5]);
        let mut out = Exposition::new();
        out.histogram("h_seconds", &[("kind", "k")], &h);
        let text = out.finish();
        assert!(text.contains("h_seconds_bucket{kind=\"k\",le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("h_seconds_bucket{kind=\"k\",le=\"+Inf\"} 5\n"), "{text}");
        assert!(text.contains("h_seconds_count{kind=\"k\"} 5\n"), "{text}");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
    }
}
