//! The queue engine: typed jobs, an explicit registry, transactional enqueue,
//! and a worker that claims, leases, retries and rescues.

pub mod batch;
mod builtin;
mod completer;
mod enqueue;
mod executor;
mod job;
mod maintenance;
pub mod mask;
mod periodic;
mod producer;
mod registry;
pub mod retry;
mod schedule;
mod worker;

pub use batch::{Batch, BatchOutcomes, JobOutcome};
pub use builtin::Noop;
pub use enqueue::{enqueue, enqueue_many, enqueue_now, EnqueueOptions};
pub use job::{
    idempotency_key, Job, JobContext, JobError, JobKind, JobMeta, JobResult, KindConcurrency, KindOptions, KindRate,
    LimitKey, Outcome,
};
pub use periodic::enqueue_periodic;
pub use registry::{ArgsError, Registry};
pub use schedule::{Missed, Schedule};
pub use worker::{DrainLimits, Report, StopReason, Worker, WorkerConfig};

pub use crate::store::types::{ConcurrencyLimit, Inserted, JobFilter, JobRow, JobState, RateLimit, RunAt};

use thiserror::Error;

use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("invalid args for kind {kind:?}: {message}")]
    InvalidArgs { kind: String, message: String },
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("cannot encode args: {0}")]
    Encode(#[from] serde_json::Error),
}

impl Error {
    /// What an operator is told, in their language (`Display` is the
    /// program's English, for logs and the worker's command line). The
    /// details are the program's own words (a kind's name, a serde message).
    pub fn text(&self) -> crate::i18n::Text {
        use crate::text;
        match self {
            Error::Store(e) => crate::i18n::Text::verbatim(e.to_string()),
            Error::UnknownKind(kind) => text!("type de tâche inconnu : {kind}", kind = kind),
            Error::InvalidArgs { kind, message } => text!(
                "arguments invalides pour une tâche {kind} : {detail}",
                kind = kind,
                detail = message
            ),
            Error::InvalidOption(detail) => text!("option invalide : {detail}", detail = detail),
            Error::Encode(e) => text!("arguments impossibles à encoder : {detail}", detail = e),
        }
    }
}

/// Enqueues a job of a kind known only by name (CLI, admin, API), after
/// checking its args against the registry.
pub async fn enqueue_raw<C>(
    tx: &mut crate::store::Tx,
    registry: &Registry<C>,
    kind: &str,
    args: serde_json::Value,
    opts: EnqueueOptions,
) -> Result<Inserted, Error> {
    registry.validate(kind, &args)?;
    let defaults = registry
        .options(kind)
        .ok_or_else(|| Error::UnknownKind(kind.to_string()))?;
    let row = enqueue::new_job(kind, args, defaults, opts)?;
    let inserted = tx.insert_jobs(std::slice::from_ref(&row)).await?;
    inserted
        .into_iter()
        .next()
        .ok_or_else(|| Error::Store(StoreError::Database("insert returned no row".into())))
}
