use chrono::NaiveDate;

use crate::billing::closures::{Closure, ClosureKind};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const COLUMNS: &str = "number, kind, period_start, period_end, book_seq, book_hash, line_count, totals,
    prev_hash, hash, signature, public_key, closed_at";

fn decode(r: &AnyRow) -> Result<Closure, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(Closure {
        number: r.get("number")?,
        kind: ClosureKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("closure kind {kind:?}")))?,
        period_start: r.get("period_start")?,
        period_end: r.get("period_end")?,
        book_seq: r.get("book_seq")?,
        book_hash: r.get("book_hash")?,
        line_count: r.get("line_count")?,
        totals_json: r.get("totals")?,
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
        signature: r.get("signature")?,
        public_key: r.get("public_key")?,
        closed_at: r.get("closed_at")?,
    })
}

/// The last day of the latest closed period (any kind), if the book was ever closed.
pub(crate) async fn closed_until(tx: &mut Tx) -> Result<Option<NaiveDate>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        "SELECT period_end FROM book_closures ORDER BY period_end DESC LIMIT 1"
    )?
    .map(|r| r.get("period_end"))
    .transpose()
}

/// The same, read outside any transaction (no write lock on SQLite).
pub(crate) async fn closed_until_read(store: &Store) -> Result<Option<NaiveDate>, StoreError> {
    read!(
        fetch_optional,
        store,
        "SELECT period_end FROM book_closures ORDER BY period_end DESC LIMIT 1"
    )?
    .map(|r| r.get("period_end"))
    .transpose()
}

pub(crate) async fn all(store: &Store) -> Result<Vec<Closure>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM book_closures ORDER BY number")
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn latest(store: &Store) -> Result<Option<Closure>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM book_closures ORDER BY number DESC LIMIT 1")
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn latest_in(tx: &mut Tx) -> Result<Option<Closure>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM book_closures ORDER BY number DESC LIMIT 1")
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// (kind, first day) of every closure.
pub(crate) async fn closed_periods(tx: &mut Tx) -> Result<Vec<(ClosureKind, NaiveDate)>, StoreError> {
    sql!(fetch_all, tx, "SELECT kind, period_start FROM book_closures")?
        .iter()
        .map(|r| {
            let kind: String = r.get("kind")?;
            Ok((
                ClosureKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("closure kind {kind:?}")))?,
                r.get("period_start")?,
            ))
        })
        .collect()
}

pub(crate) async fn insert(tx: &mut Tx, c: &Closure) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO book_closures (number, kind, period_start, period_end, book_seq, book_hash, line_count, totals,
             prev_hash, hash, signature, public_key, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        c.number,
        c.kind.as_str(),
        c.period_start,
        c.period_end,
        c.book_seq,
        &c.book_hash,
        c.line_count,
        &c.totals_json,
        &c.prev_hash,
        &c.hash,
        &c.signature,
        &c.public_key,
        c.closed_at
    )?;
    Ok(())
}

/// The public keys registered as the book's.
pub(crate) async fn keys(tx: &mut Tx) -> Result<Vec<String>, StoreError> {
    sql!(fetch_all, tx, "SELECT public_key FROM book_keys ORDER BY registered_at")?
        .iter()
        .map(|r| r.get("public_key"))
        .collect()
}

pub(crate) async fn register_key(tx: &mut Tx, public_key: &str) -> Result<(), StoreError> {
    let now = tx.now().await?;
    sql!(
        execute,
        tx,
        "INSERT INTO book_keys (public_key, registered_at) VALUES ($1, $2) ON CONFLICT (public_key) DO NOTHING",
        public_key,
        now
    )?;
    Ok(())
}
