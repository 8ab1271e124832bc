//! PostgreSQL backend: the production engine (many workers, many machines).

pub(super) mod activity;
pub(super) mod admin;
pub(super) mod batches;
pub(super) mod jobs;
pub(super) mod kinds;
pub(super) mod pool;
pub(super) mod queues;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Pooler, StoreError, StoreOptions};
use pool::Pool;

/// The channel the insert trigger notifies (see the first migration).
pub(super) const CHANNEL: &str = "comptoir_jobs";

#[derive(Clone)]
pub(super) struct PgStore {
    pub pool: Pool,
    /// PostgreSQL itself, where migrations run when `pool` goes through a
    /// pooler in transaction mode (`None` otherwise, or when not configured).
    pub direct: Option<Box<PgConnectOptions>>,
}

impl PgStore {
    pub async fn connect(url: &str, store: &StoreOptions) -> Result<PgStore, StoreError> {
        let pooled = store.pooler == Pooler::Transaction;
        let options = connect_options(url, "PostgreSQL URL")?;
        let options = if pooled {
            // PgBouncer (1.18, Debian 12's) refuses startup parameters it does
            // not know, and a statement cached on one server connection is
            // unknown to the next: no cache, no startup options (pool.rs sets
            // the plan cache mode per transaction instead).
            options.statement_cache_capacity(0).extra_float_digits(None)
        } else {
            // sqlx prepares and caches statements; after five runs PostgreSQL
            // may switch one to a generic plan, and for the queue's batched
            // statements (`unnest($1)` joins) a generic plan can scan the whole
            // table: completions of 2,000 jobs took seconds. Plan each run
            // with its actual arguments.
            options.options([("plan_cache_mode", "force_custom_plan")])
        };
        let direct = match (&store.direct_url, pooled) {
            (Some(direct), true) => Some(Box::new(connect_options(direct, super::options::DIRECT_URL_ENV)?)),
            _ => None,
        };
        let max = std::env::var("COMPTOIR_PG_POOL_SIZE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        // One direct attempt first: a refused or misconfigured connection is
        // reported at once with its cause, instead of a pool time-out.
        use sqlx::{ConnectOptions, Connection};
        options.connect().await?.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Ok(PgStore {
            pool: Pool::new(pool, pooled),
            direct,
        })
    }
}

fn connect_options(url: &str, what: &str) -> Result<PgConnectOptions, StoreError> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("bad {what}: {e}")))?
        .application_name("comptoir"))
}

pub(super) async fn now<'e, E: sqlx::PgExecutor<'e>>(on: E) -> Result<DateTime<Utc>, StoreError> {
    Ok(sqlx::query_scalar("SELECT now()").fetch_one(on).await?)
}

/// Listens on [`CHANNEL`] and wakes local waiters on every notification. After
/// a lost connection it wakes them too, since notifications may have been missed.
pub(super) async fn spawn_listener(pool: &sqlx::PgPool, wake: Arc<Notify>) -> Result<JoinHandle<()>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => wake.notify_waiters(),
                // The connection was lost and is re-established by the next call.
                Ok(None) => wake.notify_waiters(),
                Err(sqlx::Error::PoolClosed) => return,
                Err(err) => {
                    tracing::warn!(error = %err, "LISTEN connection failed; polling until it is back");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }))
}
