//! `GET /metrics`, parsed after enqueuing and running jobs and making
//! requests: the values match, every sample belongs to a family with its
//! `# TYPE`, histogram buckets are cumulative, routes are patterns.
//!
//! The counters are process-wide and this binary runs tests in parallel, so
//! each backend's test counts jobs of a kind only it uses; request counters
//! are checked for their labels and as at least what this test did.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use comptoir::jobs::{
    enqueue_now, EnqueueOptions, Inserted, Job, JobContext, JobError, JobKind, JobResult, Outcome, Registry,
    WorkerConfig,
};
use comptoir::store::Store;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::on_both_backends;
use crate::support::billing::raw_execute;
use crate::support::web::{Client, TestApp};
use crate::support::worker::drain;
use crate::support::Backend;

macro_rules! probe {
    ($name:ident, $kind:literal) => {
        #[derive(Debug, Clone, Serialize, Deserialize)]
        struct $name {
            fail: bool,
        }
        impl JobKind for $name {
            const KIND: &'static str = $kind;
        }
        impl Job<()> for $name {
            async fn perform(self, _ctx: JobContext<()>) -> JobResult {
                if self.fail {
                    Err(JobError::msg("probe failed"))
                } else {
                    Ok(Outcome::Done)
                }
            }
        }
        impl From<bool> for $name {
            fn from(fail: bool) -> Self {
                $name { fail }
            }
        }
    };
}

probe!(ProbePg, "test.metrics_probe_postgres");
probe!(ProbeSqlite, "test.metrics_probe_sqlite");

/// One sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the exposition; checks that every sample's family was announced
/// with `# HELP` and `# TYPE` before it.
fn parse(text: &str) -> (HashMap<String, String>, Vec<Sample>) {
    let mut types = HashMap::new();
    let mut helps = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helps.insert(rest.split_once(' ').expect("HELP name text").0.to_string(), ());
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "unexpected line {line:?}");
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value of {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, labels(rest.strip_suffix('}').expect("closing brace"))),
            None => (series, BTreeMap::new()),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "{name} has no # TYPE line");
        assert!(helps.contains_key(family), "{name} has no # HELP line");
        samples.push((name.to_string(), labels, value));
    }
    (types, samples)
}

/// `a="x",b="y\"z"` with the format's escapes.
fn labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'), "label {name} is quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape"),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.insert(name, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, labels, _)| {
            n == name
                && want.iter().all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
                && labels.len() == want.len()
        })
        .map(|s| s.2)
}

async fn scrape(client: &mut Client) -> (HashMap<String, String>, Vec<Sample>) {
    let answer = client.get("/metrics").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&answer.body)
}

async fn enqueue<J: JobKind + From<bool>>(store: &Store, fail: bool, opts: EnqueueOptions) -> Inserted {
    enqueue_now(store, &J::from(fail), opts).await.unwrap()
}

async fn run<J>(app: &TestApp, backend: Backend)
where
    J: Job<()> + From<bool> + DeserializeOwned,
{
    let store = &app.db.store;
    let kind = J::KIND;
    for _ in 0..4 {
        enqueue::<J>(store, false, EnqueueOptions::new()).await;
    }
    // Fails once, retried later (not due during the drain).
    enqueue::<J>(store, true, EnqueueOptions::new().max_attempts(3)).await;
    // Fails its only attempt: discarded.
    enqueue::<J>(store, true, EnqueueOptions::new().max_attempts(1)).await;
    // A duplicate and a rolled-back insert are not enqueued jobs.
    let keyed = enqueue::<J>(
        store,
        false,
        EnqueueOptions::new()
            .unique_key("once")
            .run_in(Duration::from_secs(3600)),
    )
    .await;
    let again = enqueue::<J>(store, false, EnqueueOptions::new().unique_key("once")).await;
    assert_eq!(again, Inserted::Duplicate(keyed.id()));
    let mut tx = store.begin().await.unwrap();
    comptoir::jobs::enqueue(&mut tx, &J::from(false), EnqueueOptions::new())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let config = WorkerConfig {
        maintenance: false,
        poll_interval: Some(Duration::from_millis(50)),
        ..WorkerConfig::default()
    };
    let report = drain(store, Registry::<()>::new().register::<J>(), &(), config).await;
    assert_eq!(
        (report.completed, report.retried, report.discarded),
        (4, 1, 1),
        "{report:?}"
    );
    // One due job, waiting for an hour.
    let waiting = enqueue::<J>(store, false, EnqueueOptions::new().queue("slow"))
        .await
        .id();
    let an_hour_ago = match backend {
        Backend::Postgres => "now() - interval '1 hour'".to_string(),
        Backend::Sqlite => "CAST(unixepoch('subsec') * 1000 AS INTEGER) - 3600000".to_string(),
    };
    let sql = format!("UPDATE comptoir_jobs SET run_at = {an_hour_ago} WHERE id = {waiting}");
    assert_eq!(raw_execute(&app.db, &sql).await, Ok(1));

    // Requests to count: a job page that does not exist, a path that matches no route.
    let mut operator = app.signed_in().await;
    assert_eq!(operator.get("/admin/jobs/98765").await.status, 404);
    assert_eq!(operator.get("/no/such/page-98765").await.status, 404);

    // A scraper with an API key.
    let key = app.api_key().await;
    let mut scraper = Client::new(&app.base).with_bearer(&key);
    let (types, samples) = scrape(&mut scraper).await;

    // Jobs in the database (this test's own), by queue and state, zeros included.
    assert_eq!(types["comptoir_jobs"], "gauge");
    let jobs = |queue: &str, state: &str| value(&samples, "comptoir_jobs", &[("queue", queue), ("state", state)]);
    assert_eq!(jobs("default", "completed"), Some(4.0));
    assert_eq!(jobs("default", "retryable"), Some(1.0));
    assert_eq!(jobs("default", "discarded"), Some(1.0));
    assert_eq!(jobs("default", "scheduled"), Some(1.0));
    assert_eq!(jobs("default", "running"), Some(0.0));
    assert_eq!(jobs("slow", "available"), Some(1.0));
    let oldest = value(&samples, "comptoir_jobs_oldest_waiting_seconds", &[]).unwrap();
    assert!((3600.0..3900.0).contains(&oldest), "{oldest}");
    assert_eq!(value(&samples, "comptoir_database_up", &[]), Some(1.0));

    // This process's counters for this test's kind.
    assert_eq!(types["comptoir_jobs_enqueued_total"], "counter");
    assert_eq!(
        value(&samples, "comptoir_jobs_enqueued_total", &[("kind", kind)]),
        Some(8.0)
    );
    let finished = |outcome: &str| {
        value(
            &samples,
            "comptoir_jobs_finished_total",
            &[("kind", kind), ("outcome", outcome)],
        )
    };
    assert_eq!(
        ["completed", "retry", "discard", "cancel", "snooze"].map(finished),
        [Some(4.0), Some(1.0), Some(1.0), Some(0.0), Some(0.0)]
    );
    assert_eq!(types["comptoir_job_run_seconds"], "histogram");
    let buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(n, l, _)| n == "comptoir_job_run_seconds_bucket" && l.get("kind").map(String::as_str) == Some(kind))
        .map(|(_, l, v)| (l["le"].replace("+Inf", "inf").parse::<f64>().unwrap(), *v))
        .collect();
    assert_eq!(buckets.len(), 14, "13 bounds and +Inf");
    assert_eq!(buckets[0].0, 0.005);
    assert_eq!(buckets[12].0, 60.0);
    assert!(
        buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "cumulative: {buckets:?}"
    );
    assert_eq!(buckets[13], (f64::INFINITY, 6.0));
    assert_eq!(
        value(&samples, "comptoir_job_run_seconds_count", &[("kind", kind)]),
        Some(6.0)
    );
    let sum = value(&samples, "comptoir_job_run_seconds_sum", &[("kind", kind)]).unwrap();
    assert!(sum > 0.0 && sum < 60.0, "{sum}");

    // Requests, by route pattern; never by raw path.
    assert_eq!(types["comptoir_http_requests_total"], "counter");
    let requests = |route: &str, status: &str| {
        value(
            &samples,
            "comptoir_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
    };
    assert!(requests("/admin/jobs/{id}", "404") >= Some(1.0));
    assert!(requests("unmatched", "404") >= Some(1.0));
    assert!(requests("/admin/login", "200") >= Some(1.0), "the sign-in page");
    assert!(
        samples
            .iter()
            .all(|(_, l, _)| l.get("route").is_none_or(|r| !r.contains("98765"))),
        "a raw path became a label"
    );
    assert_eq!(types["comptoir_http_request_duration_seconds"], "histogram");
    let count = value(
        &samples,
        "comptoir_http_request_duration_seconds_count",
        &[("method", "GET"), ("route", "/admin/jobs/{id}")],
    );
    assert!(count >= Some(1.0));

    // The scrape itself is counted at the next one; an operator may read it too.
    let (_, again) = scrape(&mut operator).await;
    let scrapes = value(
        &again,
        "comptoir_http_requests_total",
        &[("method", "GET"), ("route", "/metrics"), ("status", "200")],
    );
    assert!(scrapes >= Some(1.0));
}

async fn metrics_after_jobs_and_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    match backend {
        Backend::Postgres => run::<ProbePg>(&app, backend).await,
        Backend::Sqlite => run::<ProbeSqlite>(&app, backend).await,
    }
}

on_both_backends!(metrics_after_jobs_and_requests);
