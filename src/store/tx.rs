use super::{Inner, Store, StoreError};

/// A transaction on either backend. Domain code passes `&mut Tx` to every
/// operation that must commit or vanish together (an invoice and its e-mail
/// job). Dropping it without [`Tx::commit`] rolls back.
pub struct Tx {
    pub(crate) inner: TxInner,
    store: Store,
    wake_on_commit: bool,
    /// Jobs inserted per kind, counted in the metrics once committed.
    enqueued: Vec<(String, u64)>,
}

pub(crate) enum TxInner {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Tx {
    pub(super) async fn begin(store: &Store) -> Result<Tx, StoreError> {
        let inner = match &store.inner {
            Inner::Postgres(s) => TxInner::Postgres(s.pool.begin().await?),
            Inner::Sqlite(s) => TxInner::Sqlite(s.writer.begin_with("BEGIN IMMEDIATE").await?),
        };
        Ok(Tx {
            inner,
            store: store.clone(),
            wake_on_commit: false,
            enqueued: Vec::new(),
        })
    }

    pub fn backend(&self) -> super::Backend {
        self.store.backend()
    }

    /// The store this transaction runs on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The database clock, read on this transaction's own connection (a
    /// transaction never waits for a second connection of the pool; on
    /// PostgreSQL this is the time the transaction started).
    pub async fn now(&mut self) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        match &mut self.inner {
            TxInner::Postgres(c) => super::postgres::now(&mut **c).await,
            TxInner::Sqlite(c) => super::sqlite::now(&mut **c).await,
        }
    }

    /// Asks for this process's idle workers to be woken once the transaction commits.
    pub(crate) fn wake_workers_on_commit(&mut self) {
        self.wake_on_commit = true;
    }

    #[tracing::instrument(skip_all)]
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Postgres(tx) => tx.commit().await?,
            TxInner::Sqlite(tx) => tx.commit().await?,
        }
        if self.wake_on_commit {
            self.store.wake_local();
        }
        for (kind, n) in &self.enqueued {
            crate::metrics::global().job_enqueued(kind, *n);
        }
        Ok(())
    }

    /// Notes the jobs an insert created (not the duplicates), per kind.
    pub(crate) fn count_enqueued(&mut self, jobs: &[super::types::NewJob], out: &[super::types::Inserted]) {
        for (job, inserted) in jobs.iter().zip(out) {
            if !matches!(inserted, super::types::Inserted::New(_)) {
                continue;
            }
            // A batch is nearly always of one kind: look at the last entry first.
            match self.enqueued.iter_mut().rev().find(|(k, _)| *k == job.kind) {
                Some((_, n)) => *n += 1,
                None => self.enqueued.push((job.kind.clone(), 1)),
            }
        }
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Postgres(tx) => tx.rollback().await?,
            TxInner::Sqlite(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}
