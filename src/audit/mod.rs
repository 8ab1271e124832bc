//! The audit log: every admin and API action, who did it, when, from which
//! address. Entries are only appended (database triggers refuse changes).
//! Record inside the action's transaction where there is one, so that an
//! action and its entry commit or vanish together.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::money::Money;
use crate::store::{Store, StoreError, Tx};

mod sql;
pub mod words;

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

/// The business objects a page of the log names (its entries' targets and
/// the ids their details cite), by kind.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub invoices: BTreeSet<i64>,
    pub customers: BTreeSet<i64>,
    pub operators: BTreeSet<i64>,
    pub api_keys: BTreeSet<i64>,
    pub payments: BTreeSet<i64>,
    pub contracts: BTreeSet<i64>,
    pub orders: BTreeSet<i64>,
    pub products: BTreeSet<String>,
    pub imports: BTreeSet<i64>,
    pub bank_entries: BTreeSet<i64>,
    pub documents: BTreeSet<i64>,
}

/// An invoice or credit note as the log names it: its number (none for a draft).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceName {
    pub reference: Option<String>,
    pub credit_note: bool,
}

/// A payment as the log names it: its amount and its invoice's number.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentName {
    pub amount: Option<Money>,
    pub reference: Option<String>,
}

/// A bank credit as the log names it.
#[derive(Debug, Clone, PartialEq)]
pub struct BankEntryName {
    pub amount: Option<Money>,
    pub booking_date: NaiveDate,
    pub payer: Option<String>,
}

/// What [`Wanted`] found (an object since deleted is absent).
#[derive(Debug, Clone, Default)]
pub struct Objects {
    pub invoices: HashMap<i64, InvoiceName>,
    /// Customers' names.
    pub customers: HashMap<i64, String>,
    /// Operators' names.
    pub operators: HashMap<i64, String>,
    /// Keys' names and prefixes.
    pub api_keys: HashMap<i64, (String, String)>,
    pub payments: HashMap<i64, PaymentName>,
    /// Contracts' customers' names.
    pub contracts: HashMap<i64, String>,
    /// Orders' customers' names.
    pub orders: HashMap<i64, String>,
    /// Products' names by SKU.
    pub products: HashMap<String, String>,
    /// Imports' file names.
    pub imports: HashMap<i64, String>,
    pub bank_entries: HashMap<i64, BankEntryName>,
    /// Generated documents' file names.
    pub documents: HashMap<i64, String>,
}

/// Reads the objects `wanted` names: one query per kind of object, not one per entry.
pub async fn objects(store: &Store, wanted: &Wanted) -> Result<Objects, StoreError> {
    sql::objects(store, wanted).await
}
