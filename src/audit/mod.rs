//! The audit log: every admin and API action, who did it, when, from which
//! address. Entries are only appended (database triggers refuse changes).
//! Record inside the action's transaction where there is one, so that an
//! action and its entry commit or vanish together.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::{Store, StoreError, Tx};

mod sql;

/// Who acted, and from where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actor {
    pub operator_id: Option<i64>,
    /// The operator's e-mail, `api:<key prefix>` for an API key, `cli` for a command.
    pub name: String,
    pub ip: String,
}

impl Actor {
    pub fn cli() -> Actor {
        Actor {
            operator_id: None,
            name: "cli".into(),
            ip: "local".into(),
        }
    }
}

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub operator_id: Option<i64>,
    pub actor: String,
    /// Dotted, e.g. `job.retry`, `invoice.issue`, `session.sign_in`.
    pub action: String,
    /// What it acted on, e.g. `job:42`, `invoice:7`.
    pub target: String,
    pub details: serde_json::Value,
    pub ip: String,
}

/// Filters for listing; newest first, keyset-paginated by id.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Matches the actor's name (substring).
    pub actor: Option<String>,
    /// Matches the action exactly, or a prefix ending in `.` (`invoice.`).
    pub action: Option<String>,
    /// Matches the target (substring).
    pub target: Option<String>,
    /// Entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Entries strictly before this instant.
    pub until: Option<DateTime<Utc>>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// What an entry records.
pub struct Record<'a> {
    pub action: &'a str,
    pub target: String,
    pub details: serde_json::Value,
}

impl<'a> Record<'a> {
    pub fn new(action: &'a str, target: impl Into<String>) -> Record<'a> {
        Record {
            action,
            target: target.into(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Record<'a> {
        self.details = details;
        self
    }
}

/// Appends an entry inside the caller's transaction.
pub async fn record_in(tx: &mut Tx, actor: &Actor, record: Record<'_>) -> Result<i64, StoreError> {
    tracing::info!(actor = %actor.name, ip = %actor.ip, action = record.action, target = %record.target, "audit");
    sql::insert(tx, actor, &record, Utc::now()).await
}

/// Appends an entry in a transaction of its own.
pub async fn record(store: &Store, actor: &Actor, record: Record<'_>) -> Result<i64, StoreError> {
    let mut tx = store.begin().await?;
    let id = record_in(&mut tx, actor, record).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn list(store: &Store, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    sql::list(store, filter).await
}
