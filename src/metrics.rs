//! The process's own metrics, kept in a `prometheus-client` registry: jobs
//! enqueued and finished by this process, how long their attempts ran, and
//! the HTTP requests it answered.
//!
//! What lives in the database (jobs by queue and state, the oldest waiting
//! job) is read at scrape time by `GET /metrics` (`src/web/metrics.rs`) into a
//! registry of its own; [`render`] writes both in the Prometheus text
//! exposition format 0.0.4.

use std::collections::HashSet;
use std::sync::{LazyLock, RwLock};
use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of the exposition (text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    method: &'static str,
    route: String,
    status: u16,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The registry of one process.
pub struct Metrics {
    registry: Registry,
    /// Kinds whose counters exist (at zero at first), so that a kind's series
    /// are all there from its first event on.
    kinds: RwLock<HashSet<String>>,
    enqueued: Family<KindLabels, Counter>,
    finished: Family<OutcomeLabels, Counter>,
    run: Family<KindLabels, Histogram>,
    requests: Family<StatusLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram>,
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide registry.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let enqueued = Family::default();
        let finished = Family::default();
        let run = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        let requests = Family::default();
        let request_duration = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        // Counters are named without `_total`, which the encoding appends; the
        // registry ends each help with a full stop.
        registry.register(
            "comptoir_jobs_enqueued",
            "Jobs inserted by this process (committed), by kind. Process-local: resets when the process restarts",
            enqueued.clone(),
        );
        registry.register(
            "comptoir_jobs_finished",
            "Job attempts ended by the worker embedded in this process, by kind and outcome. Process-local",
            finished.clone(),
        );
        registry.register(
            "comptoir_job_run_seconds",
            "How long job attempts ran in the worker embedded in this process, by kind. Process-local",
            run.clone(),
        );
        registry.register(
            "comptoir_http_requests",
            "HTTP requests answered by this process, by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "comptoir_http_request_duration_seconds",
            "Time to answer HTTP requests (until the response head), by method and matched route",
            request_duration.clone(),
        );
        Metrics {
            registry,
            kinds: RwLock::default(),
            enqueued,
            finished,
            run,
            requests,
            request_duration,
        }
    }

    /// `n` jobs of `kind` were inserted (counted when their transaction committed).
    pub fn job_enqueued(&self, kind: &str, n: u64) {
        self.known(kind);
        self.enqueued.get_or_create(&kind_labels(kind)).inc_by(n);
    }

    /// An attempt of `kind` ended with `outcome` after running for `ran`.
    pub fn job_finished(&self, kind: &str, outcome: JobOutcome, ran: Duration) {
        self.known(kind);
        self.finished
            .get_or_create(&OutcomeLabels {
                kind: kind.to_string(),
                outcome: outcome.as_str(),
            })
            .inc();
        self.run.get_or_create(&kind_labels(kind)).observe(ran.as_secs_f64());
    }

    /// The first event of a kind creates its counters at zero: jobs enqueued
    /// and one per outcome, so that no series appears later out of nothing.
    fn known(&self, kind: &str) {
        if self.kinds.read().unwrap_or_else(|e| e.into_inner()).contains(kind) {
            return;
        }
        if !self
            .kinds
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kind.to_string())
        {
            return;
        }
        self.enqueued.get_or_create(&kind_labels(kind)).inc_by(0);
        for outcome in JobOutcome::ALL {
            self.finished
                .get_or_create(&OutcomeLabels {
                    kind: kind.to_string(),
                    outcome: outcome.as_str(),
                })
                .inc_by(0);
        }
    }

    /// A request was answered. `route` is the matched route pattern (never the
    /// raw path) or `unmatched`.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&StatusLabels {
                method,
                route: route.to_string(),
                status,
            })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }
}

fn kind_labels(kind: &str) -> KindLabels {
    KindLabels { kind: kind.to_string() }
}

/// Known methods keep their name; anything else is `other` (bounded labels).
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// The exposition: the families of `scraped` (read for this scrape), then
/// this process's.
pub fn render(scraped: &Registry, process: &Metrics) -> String {
    let mut text = String::new();
    for registry in [scraped, &process.registry] {
        // Writing to a String fails only if a label fails to encode, which
        // none of ours can.
        if let Err(e) = prometheus_text::encode(&mut text, registry) {
            tracing::error!(error = %e, "metrics: encoding failed");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.job_enqueued("a\"b\\c\nd", 3);
        let text = render(&Registry::default(), &metrics);
        assert!(
            text.contains("comptoir_jobs_enqueued_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn a_kind_starts_with_every_outcome_at_zero() {
        let metrics = Metrics::new();
        metrics.job_finished("k", JobOutcome::Retry, Duration::from_millis(3));
        let text = render(&Registry::default(), &metrics);
        assert!(text.contains("# TYPE comptoir_jobs_finished_total counter\n"), "{text}");
        for (outcome, n) in [
            ("completed", 0),
            ("retry", 1),
            ("discard", 0),
            ("cancel", 0),
            ("snooze", 0),
        ] {
            let line = format!("comptoir_jobs_finished_total{{kind=\"k\",outcome=\"{outcome}\"}} {n}\n");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains("comptoir_jobs_enqueued_total{kind=\"k\"} 0\n"), "{text}");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::new();
        for ms in [1, 3, 20, 700, 90_000] {
            metrics.job_finished("k", JobOutcome::Completed, Duration::from_millis(ms));
        }
        let text = render(&Registry::default(), &metrics);
        // ≤0.005: 2, ≤0.01: 2, ≤0.025: 3, … ≤1: 4, … ≤60: 4, +Inf: 5.
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("comptoir_job_run_seconds_bucket{kind=\"k\""))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
            .collect();
        assert_eq!(buckets, [2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5], "{text}");
        assert!(
            text.contains("comptoir_job_run_seconds_bucket{kind=\"k\",le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("comptoir_job_run_seconds_bucket{kind=\"k\",le=\"+Inf\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("comptoir_job_run_seconds_count{kind=\"k\"} 5\n"),
            "{text}"
        );
        let sum: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("comptoir_job_run_seconds_sum{kind=\"k\"} "))
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 90.724).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
    }
}
