//! What a job is: typed args, a kind name, one handler, typed outcomes.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::retry;
use crate::store::{Store, StoreError};

/// The args of a job and its kind name. Enqueueing needs only this, so code
/// that enqueues never depends on the worker's context type.
pub trait JobKind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored in the jobs table; never rename a kind that has jobs.
    const KIND: &'static str;

    /// Defaults for this kind (queue, priority, attempts, timeout, backoff).
    fn options() -> KindOptions {
        KindOptions::default()
    }
}

/// A job that a worker with application context `C` can perform.
pub trait Job<C>: JobKind {
    fn perform(self, ctx: JobContext<C>) -> impl Future<Output = JobResult> + Send;
}

/// How an attempt ended, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Finished: the job is completed.
    Done,
    /// Not ready yet: run again after this delay; no attempt is used.
    Snooze(Duration),
    /// Stop for good, on purpose (e.g. the invoice was paid meanwhile).
    Cancel(String),
    /// Stop for good because it can never succeed (kept with this error).
    Discard(String),
}

/// `Err` means "failed this attempt": retried with backoff while attempts remain.
pub type JobResult = Result<Outcome, JobError>;

/// A failed attempt's error, with its whole cause chain in the message.
/// Any `std::error::Error` converts with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    message: String,
}

impl JobError {
    pub fn msg(message: impl fmt::Display) -> JobError {
        JobError {
            message: message.to_string(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for JobError {
    fn from(err: E) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        JobError { message }
    }
}

/// Per-kind defaults; each enqueue may still override queue, priority and attempts.
#[derive(Clone)]
pub struct KindOptions {
    pub queue: Cow<'static, str>,
    /// Lower runs first (as in delayed_job).
    pub priority: i16,
    pub max_attempts: i32,
    /// An attempt running longer fails with a timeout error.
    pub timeout: Duration,
    /// Delay before the retry that follows failed attempt number `attempt` (1-based).
    pub backoff: fn(i32) -> Duration,
    /// At most this many jobs of one key run at once, across every worker.
    pub concurrency: Option<KindConcurrency>,
    /// At most this many starts per period under one key, across every worker.
    pub rate: Option<KindRate>,
}

/// Where a kind's limit key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKey {
    /// One key for the whole kind: `kind:<KIND>`.
    Kind,
    /// `<name>:<value>`, the value read from the args at a JSON pointer
    /// (`/customer_id`). Kinds naming the same `name` share the limit (a
    /// charge and a refund on one provider account, say).
    Arg { name: &'static str, pointer: &'static str },
}

impl LimitKey {
    /// The key of a job of `kind` with `args`; an error when the args lack
    /// the value (or hold an object or an array there).
    pub fn key_for(&self, kind: &str, args: &serde_json::Value) -> Result<String, String> {
        match self {
            LimitKey::Kind => Ok(format!("kind:{kind}")),
            LimitKey::Arg { name, pointer } => match args.pointer(pointer) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(format!("{name}:{s}")),
                Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Ok(format!("{name}:{v}")),
                _ => Err(format!("args have no value at {pointer} for the {name} limit key")),
            },
        }
    }
}

/// A kind's concurrency limit: at most `limit` of one key at once (1 =
/// strictly one at a time, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindConcurrency {
    pub key: LimitKey,
    pub limit: i32,
}

/// A kind's rate limit: at most `limit` starts per `period` under one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindRate {
    pub key: LimitKey,
    pub limit: i32,
    pub period: Duration,
}

impl Default for KindOptions {
    fn default() -> Self {
        KindOptions {
            queue: Cow::Borrowed("default"),
            priority: 0,
            max_attempts: retry::DEFAULT_MAX_ATTEMPTS,
            timeout: Duration::from_secs(3600),
            backoff: retry::delayed_job_backoff,
            concurrency: None,
            rate: None,
        }
    }
}

impl fmt::Debug for KindOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KindOptions")
            .field("queue", &self.queue)
            .field("priority", &self.priority)
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

/// Facts about the running attempt.
#[derive(Debug, Clone)]
pub struct JobMeta {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    /// 1 on the first run.
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What a handler receives besides its args.
pub struct JobContext<C> {
    pub app: C,
    pub job: JobMeta,
    store: Store,
}

impl<C> JobContext<C> {
    pub(crate) fn new(app: C, job: JobMeta, store: Store) -> Self {
        JobContext { app, job, store }
    }

    /// The same for every attempt and every rescue of this job: hand it to
    /// any outside system (payment provider, mailer) so a re-run is not a
    /// second charge or a second e-mail.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(self.job.id)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records progress (any JSON) visible to operators while the job runs.
    pub async fn set_progress(&self, progress: serde_json::Value) -> Result<(), StoreError> {
        self.store
            .set_job_progress(self.job.id, self.job.attempt, &progress)
            .await
            .map(|_| ())
    }
}

/// The idempotency key of job `id`.
pub fn idempotency_key(id: i64) -> String {
    format!("comptoir-job-{id}")
}

#[cfg(test)]
mod limit_key_tests {
    use super::LimitKey;
    use serde_json::json;

    #[test]
    fn keys_come_from_the_kind_a_name_or_the_args() {
        let args = json!({ "payment_id": 42, "account": "acct_1", "nested": { "id": "x" } });
        assert_eq!(
            LimitKey::Kind.key_for("billing.charge", &args).unwrap(),
            "kind:billing.charge"
        );
        let by_payment = LimitKey::Arg {
            name: "payment",
            pointer: "/payment_id",
        };
        assert_eq!(by_payment.key_for("k", &args).unwrap(), "payment:42");
        let by_account = LimitKey::Arg {
            name: "stripe",
            pointer: "/account",
        };
        assert_eq!(by_account.key_for("k", &args).unwrap(), "stripe:acct_1");
        let nested = LimitKey::Arg {
            name: "n",
            pointer: "/nested/id",
        };
        assert_eq!(nested.key_for("k", &args).unwrap(), "n:x");
    }

    #[test]
    fn args_without_the_key_are_refused() {
        let key = LimitKey::Arg {
            name: "payment",
            pointer: "/payment_id",
        };
        for args in [
            json!({}),
            json!({ "payment_id": null }),
            json!({ "payment_id": "" }),
            json!({ "payment_id": {} }),
        ] {
            let err = key.key_for("k", &args).unwrap_err();
            assert!(err.contains("/payment_id"), "{err}");
        }
    }
}
