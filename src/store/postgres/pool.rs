//! The connection pool as the queue's SQL sees it: on a direct connection it
//! is sqlx's pool as is; behind PgBouncer in transaction mode it keeps no
//! state on a server connection from one transaction to the next.
//!
//! In transaction mode PgBouncer lends a server connection for one
//! transaction, and outside an explicit transaction for one exchange ending
//! in `Sync`. sqlx runs a statement with arguments as two exchanges (Parse
//! and Describe, then Bind and Execute) and names it (`sqlx_s_N`, counted per
//! client connection), never closing it when its cache is off: the two halves
//! may land on two server connections, and a name another client left on a
//! server connection collides with ours ("prepared statement sqlx_s_1 already
//! exists"). So, behind a pooler, every statement runs in a transaction that
//! first drops whatever prepared statements the server connection holds
//! (`DEALLOCATE ALL`): within it the server connection is ours, and the names
//! sqlx makes there are gone before anyone else's transaction uses them.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgPool, Postgres, Transaction};

/// How a transaction begins behind a pooler: the server connection's prepared
/// statements are dropped, and statements are planned with their actual
/// arguments (what the `plan_cache_mode` startup option does on a direct
/// connection, which PgBouncer would refuse).
const POOLED_BEGIN: &str = "BEGIN; DEALLOCATE ALL; SET LOCAL plan_cache_mode = force_custom_plan";

/// sqlx's pool, and whether it reaches PostgreSQL through a pooler in
/// transaction mode. `&Pool` is an executor like `&PgPool`.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    inner: PgPool,
    pooled: bool,
}

impl Pool {
    pub fn new(inner: PgPool, pooled: bool) -> Pool {
        Pool { inner, pooled }
    }

    /// Whether connections go through a pooler in transaction mode.
    pub fn is_pooled(&self) -> bool {
        self.pooled
    }

    /// sqlx's pool, for what needs a session of its own (direct mode only).
    pub fn raw(&self) -> &PgPool {
        &self.inner
    }

    /// Starts a transaction, made safe for a shared server connection when pooled.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        begin(&self.inner, self.pooled).await
    }

    pub async fn close(&self) {
        self.inner.close().await
    }
}

async fn begin(pool: &PgPool, pooled: bool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    if pooled {
        pool.begin_with(POOLED_BEGIN).await
    } else {
        pool.begin().await
    }
}

/// Begins on `conn` as [`Pool::begin`] does (for a connection held outside the pool).
pub(crate) async fn begin_on(
    conn: &mut sqlx::PgConnection,
    pooled: bool,
) -> Result<Transaction<'_, Postgres>, sqlx::Error> {
    use sqlx::Connection;
    if pooled {
        conn.begin_with(POOLED_BEGIN).await
    } else {
        conn.begin().await
    }
}

impl<'p> Executor<'p> for &'_ Pool {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if !self.pooled {
            return self.inner.fetch_many(query);
        }
        let pool = self.inner.clone();
        // The results are whole once the transaction has committed: collect
        // them, then hand them on.
        stream::once(async move {
            let mut tx = begin(&pool, true).await?;
            let items: Vec<_> = tx.fetch_many(query).try_collect().await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(stream::iter(items.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if !self.pooled {
            return self.inner.fetch_optional(query);
        }
        let pool = self.inner.clone();
        Box::pin(async move {
            let mut tx = begin(&pool, true).await?;
            let row = tx.fetch_optional(query).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        if !self.pooled {
            return self.inner.prepare_with(sql, parameters);
        }
        let pool = self.inner.clone();
        Box::pin(async move {
            let mut tx = begin(&pool, true).await?;
            let statement = tx.prepare_with(sql, parameters).await?;
            tx.commit().await?;
            Ok(statement)
        })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        if !self.pooled {
            return self.inner.describe(sql);
        }
        let pool = self.inner.clone();
        Box::pin(async move {
            let mut tx = begin(&pool, true).await?;
            let described = tx.describe(sql).await?;
            tx.commit().await?;
            Ok(described)
        })
    }
}
