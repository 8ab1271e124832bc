//! Queues as an operator sees them: paused or not, by whom, and how many of
//! their jobs wait or run. A paused queue keeps accepting jobs; no worker
//! starts one of them until it is resumed (the claim reads `comptoir_queues`).
//!
//! Pausing is an upsert: a queue no job has named yet can be paused ahead of
//! its first job. Resuming wakes the workers at commit: on PostgreSQL with a
//! `pg_notify` in the same statement (every worker process on the database
//! hears it), and this process's own idle workers in any case.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::tx::TxInner;
use super::{postgres, sqlite, Inner, Store, StoreError, Tx};

/// A queue's name, checked as enqueue checks it (not blank, at most 100
/// bytes) and without control characters (PostgreSQL refuses NUL in text; a
/// line break would forge a line in the logs and the command's output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueName(String);

/// A name no queue can have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue must be a name of 1 to 100 characters, not only blanks, without control characters")]
pub struct BadQueueName;

impl QueueName {
    /// The most bytes a queue's name takes (enqueue refuses longer ones).
    pub const MAX: usize = 100;

    pub fn parse(name: &str) -> Result<QueueName, BadQueueName> {
        if name.trim().is_empty() || name.len() > Self::MAX || name.chars().any(char::is_control) {
            return Err(BadQueueName);
        }
        Ok(QueueName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for QueueName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One queue: its pause, and its unfinished jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueInfo {
    pub name: String,
    pub paused: bool,
    /// When the current pause began (database clock); none while running.
    pub paused_at: Option<DateTime<Utc>>,
    /// Who paused it (the audit actor's name: an e-mail, `api:…`, `cli`).
    pub paused_by: Option<String>,
    /// Jobs available, scheduled or retryable.
    pub waiting: i64,
    /// Jobs claimed or running.
    pub running: i64,
}

impl QueueInfo {
    /// A queue known by name only: running, no job.
    pub fn empty(name: impl Into<String>) -> QueueInfo {
        QueueInfo {
            name: name.into(),
            paused: false,
            paused_at: None,
            paused_by: None,
            waiting: 0,
            running: 0,
        }
    }
}

/// `queues` with every name of `known` that it lacks added as an empty,
/// running queue (the queues a worker serves before any job named them),
/// sorted by name.
pub fn with_known<I, S>(mut queues: Vec<QueueInfo>, known: I) -> Vec<QueueInfo>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    for name in known {
        let name = name.into();
        if !queues.iter().any(|q| q.name == name) {
            queues.push(QueueInfo::empty(name));
        }
    }
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    queues
}

impl Tx {
    /// Pauses `queue` (created if no row names it yet), recording `by`.
    /// `false` when it was paused already (its pause keeps its time and author).
    #[tracing::instrument(skip(self))]
    pub async fn pause_queue(&mut self, queue: &QueueName, by: &str) -> Result<bool, StoreError> {
        match &mut self.inner {
            TxInner::Postgres(tx) => postgres::queues::pause(tx, queue.as_str(), by).await,
            TxInner::Sqlite(tx) => sqlite::queues::pause(tx, queue.as_str(), by).await,
        }
    }

    /// Resumes `queue` and wakes the workers once this commits. `false` when
    /// it was not paused (nothing changes, nobody is woken).
    #[tracing::instrument(skip(self))]
    pub async fn resume_queue(&mut self, queue: &QueueName) -> Result<bool, StoreError> {
        let changed = match &mut self.inner {
            TxInner::Postgres(tx) => postgres::queues::resume(tx, queue.as_str()).await?,
            TxInner::Sqlite(tx) => sqlite::queues::resume(tx, queue.as_str()).await?,
        };
        if changed {
            self.wake_workers_on_commit();
        }
        Ok(changed)
    }

    /// One queue as this transaction sees it (its own pause or resume
    /// included).
    pub async fn queue_info(&mut self, queue: &QueueName) -> Result<QueueInfo, StoreError> {
        let found = match &mut self.inner {
            TxInner::Postgres(tx) => postgres::queues::list(&mut **tx, Some(queue.as_str())).await?,
            TxInner::Sqlite(tx) => sqlite::queues::list(&mut **tx, Some(queue.as_str())).await?,
        };
        Ok(first_or_empty(found, queue))
    }
}

impl Store {
    /// [`Tx::pause_queue`] in a transaction of its own.
    pub async fn pause_queue(&self, queue: &QueueName, by: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed = tx.pause_queue(queue, by).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// [`Tx::resume_queue`] in a transaction of its own.
    pub async fn resume_queue(&self, queue: &QueueName) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let changed = tx.resume_queue(queue).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Every queue that has unfinished jobs or has ever been paused, by
    /// name. A queue whose jobs have all finished and that was never paused
    /// is left out (counting finished jobs would read the whole table): see
    /// [`with_known`] for the queues a worker serves.
    #[tracing::instrument(skip(self))]
    pub async fn list_queues(&self) -> Result<Vec<QueueInfo>, StoreError> {
        match &self.inner {
            Inner::Postgres(s) => postgres::queues::list(&s.pool, None).await,
            Inner::Sqlite(s) => sqlite::queues::list(&s.reader, None).await,
        }
    }

    /// One queue as [`Store::list_queues`] shows it (an empty, running one
    /// when nothing names it).
    pub async fn queue_info(&self, queue: &QueueName) -> Result<QueueInfo, StoreError> {
        let found = match &self.inner {
            Inner::Postgres(s) => postgres::queues::list(&s.pool, Some(queue.as_str())).await?,
            Inner::Sqlite(s) => sqlite::queues::list(&s.reader, Some(queue.as_str())).await?,
        };
        Ok(first_or_empty(found, queue))
    }
}

fn first_or_empty(found: Vec<QueueInfo>, queue: &QueueName) -> QueueInfo {
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| QueueInfo::empty(queue.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_as_enqueue_checks_them() {
        assert_eq!(QueueName::parse("billing").unwrap().as_str(), "billing");
        assert_eq!(QueueName::parse(" a b ").unwrap().as_str(), " a b ", "kept as typed");
        assert_eq!(QueueName::parse("é".repeat(50).as_str()).unwrap().as_str().len(), 100);
        for bad in [
            "",
            " ",
            "\t\n",
            &"x".repeat(101),
            &"é".repeat(51),
            "a\0b",
            "a\nb",
            "\u{1b}[2J",
        ] {
            assert_eq!(QueueName::parse(bad), Err(BadQueueName), "{bad:?}");
        }
    }

    #[test]
    fn known_queues_are_added_once_and_sorted() {
        let mut paused = QueueInfo::empty("mail");
        paused.paused = true;
        let all = with_known(vec![paused.clone(), QueueInfo::empty("zeta")], ["default", "mail"]);
        let names: Vec<&str> = all.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["default", "mail", "zeta"]);
        assert_eq!(all[1], paused, "the store's row wins");
    }
}
