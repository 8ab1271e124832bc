//! Neutral shapes that cross the storage seam.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a job is in its lifecycle (see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Available,
    Scheduled,
    Running,
    Retryable,
    Completed,
    Cancelled,
    Discarded,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Available,
        JobState::Scheduled,
        JobState::Running,
        JobState::Retryable,
        JobState::Completed,
        JobState::Cancelled,
        JobState::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Available => "available",
            JobState::Scheduled => "scheduled",
            JobState::Running => "running",
            JobState::Retryable => "retryable",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
            JobState::Discarded => "discarded",
        }
    }

    /// Its place in [`JobState::ALL`], the order a list sorted by state follows.
    pub fn rank(self) -> i64 {
        JobState::ALL.iter().position(|s| *s == self).unwrap_or_default() as i64
    }

    /// The state in words (feminine, like « tâche »), the same on every page
    /// and in the audit log.
    pub fn words(self) -> crate::i18n::Text {
        use crate::text;
        match self {
            JobState::Available => text!("prête"),
            JobState::Scheduled => text!("programmée"),
            JobState::Running => text!("en cours"),
            JobState::Retryable => text!("à retenter"),
            JobState::Completed => text!("terminée"),
            JobState::Cancelled => text!("annulée"),
            JobState::Discarded => text!("écartée"),
        }
    }

    /// The state named by `code` (`as_str`), if any.
    pub fn parse(code: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// Completed, cancelled and discarded jobs never run again by themselves.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Completed | JobState::Cancelled | JobState::Discarded)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = JobState::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown job state {s:?} (expected one of {})", names.join(", "))
        })
    }
}

/// One failed attempt, kept for the whole life of the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptError {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub error: String,
    /// When the attempt that ended here had started (when its worker claimed
    /// it, if its start was not written yet: starts are written in batches);
    /// none for an entry written before this was recorded, or for a job
    /// cancelled or discarded while it was not running (the entry is then its
    /// reason, not an attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When the failed attempt's retry was scheduled for (a retryable end only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

/// A job row as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub args: serde_json::Value,
    pub queue: String,
    pub priority: i16,
    pub state: JobState,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    /// When the worker holding it started it (a claimed job waits in its
    /// worker's buffer until a slot frees); `None` while only claimed.
    pub started_at: Option<DateTime<Utc>>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub errors: Vec<AttemptError>,
    pub unique_key: Option<String>,
    pub progress: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// When a new job becomes due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunAt {
    /// Now, by the database clock.
    Now,
    /// After this delay, by the database clock.
    In(Duration),
    /// At this instant.
    At(DateTime<Utc>),
}

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub args: serde_json::Value,
    pub queue: String,
    pub priority: i16,
    pub max_attempts: i32,
    pub run_at: RunAt,
    pub unique_key: Option<String>,
    /// At most this many jobs of the key run at once, across every worker.
    pub concurrency: Option<ConcurrencyLimit>,
    /// At most this many starts per period under the key, across every worker.
    pub rate: Option<RateLimit>,
}

/// A per-key concurrency limit carried by a job row: at most `limit` jobs
/// with `key` are running at any time, on every worker and machine; with 1
/// they run strictly one at a time, in claim order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyLimit {
    pub key: String,
    pub limit: i32,
}

/// A rate limit carried by a job row: at most `limit` jobs with `key` start
/// within any window of `period` (the window slides), across every worker.
/// A job held back waits without using an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub key: String,
    pub limit: i32,
    pub period: Duration,
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New(i64),
    /// A live job already holds the unique key; this is its id.
    Duplicate(i64),
}

impl Inserted {
    pub fn id(self) -> i64 {
        match self {
            Inserted::New(id) | Inserted::Duplicate(id) => id,
        }
    }
}

/// A job handed to a worker by a claim.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub args: serde_json::Value,
    pub queue: String,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What a claim of limited jobs got, and when to try again for the jobs a
/// rate limit held back.
#[derive(Debug, Clone, Default)]
pub struct LimitedClaim {
    pub jobs: Vec<ClaimedJob>,
    /// Due jobs were held back by a rate limit: the earliest moment one of
    /// their keys has a start free again (from now).
    pub rate_wait: Option<Duration>,
    /// Due limited jobs were seen that this claim could not take (their
    /// keys at their limit, or locked by another claimer).
    pub held: bool,
}

#[derive(Debug, Clone)]
pub struct ClaimParams<'a> {
    pub queue: &'a str,
    /// Most jobs to claim.
    pub limit: i64,
    /// Of those, most jobs under a rate limit ([`crate::store::Store::claim_limited_jobs`]):
    /// about what can start at once, so that they start when they are let through.
    pub rate_room: i64,
    pub worker_id: &'a str,
    pub lease: Duration,
}

/// How an attempt ended, when it did not simply complete.
#[derive(Debug, Clone)]
pub enum Finish {
    /// Failed; runs again after `delay`.
    Retry { delay: Duration, error: String },
    /// Failed for the last time (or cannot succeed): kept with its errors.
    Discard { error: String },
    /// The job asked to stop for good.
    Cancel { reason: String },
    /// Not ready yet: runs again after `delay` without using an attempt.
    Snooze { delay: Duration },
}

/// Filters for listing jobs; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub queue: Option<String>,
    /// Matched against kind, args, unique key and errors.
    pub text: Option<String>,
    pub limit: i64,
    /// Only jobs with an id below this (keyset pagination, newest first).
    pub before_id: Option<i64>,
}

/// The column a jobs list is sorted by (then by id, in the same direction).
/// Only these: the SQL of each is a constant of the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JobSort {
    #[default]
    Id,
    Kind,
    Queue,
    /// In the order of [`JobState::ALL`] (the lifecycle), not alphabetical.
    State,
    Attempt,
    RunAt,
}

impl JobSort {
    pub const ALL: [JobSort; 6] = [
        JobSort::Id,
        JobSort::Kind,
        JobSort::Queue,
        JobSort::State,
        JobSort::Attempt,
        JobSort::RunAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobSort::Id => "id",
            JobSort::Kind => "kind",
            JobSort::Queue => "queue",
            JobSort::State => "state",
            JobSort::Attempt => "attempt",
            JobSort::RunAt => "run_at",
        }
    }

    pub fn parse(text: &str) -> Option<JobSort> {
        JobSort::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A job's value in a [`JobSort`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSortValue {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

/// How a jobs list is ordered and where its page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOrder {
    pub by: JobSort,
    pub ascending: bool,
    /// Keyset pagination: only the jobs that come after the one with this
    /// sort value and this id.
    pub after: Option<(JobSortValue, i64)>,
}

impl Default for JobOrder {
    /// Newest first.
    fn default() -> JobOrder {
        JobOrder {
            by: JobSort::Id,
            ascending: false,
            after: None,
        }
    }
}

/// Count of jobs per queue and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueCount {
    pub queue: String,
    pub state: JobState,
    pub count: i64,
}

/// Attempts that ended within one hour (UTC hours, times by the database clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourlyAttempts {
    /// The start of the hour.
    pub hour: DateTime<Utc>,
    /// Jobs completed in that hour (by `finished_at`).
    pub completed: i64,
    /// Entries of the jobs' error histories dated in that hour: failed
    /// attempts, rescues after a lost lease, and the reasons recorded when a
    /// job was cancelled or discarded.
    pub failed: i64,
}

/// A worker process as seen through its heartbeat.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerInfo {
    pub id: String,
    pub hostname: String,
    pub pid: i32,
    pub queues: String,
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
