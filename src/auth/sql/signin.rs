//! Sign-in throttling, device cookies and one-time sign-in links. Written
//! once for both backends (see `store::sql`), except the lock that makes the
//! throttle's count-then-record atomic on PostgreSQL.

use chrono::{DateTime, Utc};

use crate::store::sql::{read, sql};
use crate::store::{Store, StoreError, Tx};

// ---- attempts --------------------------------------------------------------

/// Advisory lock classes (`pg_advisory_xact_lock(class, key)`): one space for
/// e-mails, one for addresses, so that a hash of one never collides with a
/// hash of the other. Locks are always taken e-mail first, then address:
/// two attempts can never wait for each other in a cycle.
const LOCK_EMAIL: i32 = 0x7369_676e; // "sign"
const LOCK_IP: i32 = 0x7369_6970; // "siip"

/// Serialises, until `tx` ends, the attempts counted for this e-mail (and
/// this address, when given). On SQLite the transaction already holds the
/// database's write lock (`BEGIN IMMEDIATE`), which serialises every writer.
pub(crate) async fn lock_attempts(tx: &mut Tx, email: &str, ip: Option<&str>) -> Result<(), StoreError> {
    for (class, key) in [(LOCK_EMAIL, Some(email)), (LOCK_IP, ip)] {
        let Some(key) = key else { continue };
        sql!(
            postgres_only,
            tx,
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            class,
            key
        )?;
    }
    Ok(())
}

/// Attempts of one lane since `since`: for this e-mail, from this address,
/// and the oldest of each (when the window frees a slot).
pub(crate) struct Window {
    pub by_email: i64,
    pub oldest_by_email: Option<DateTime<Utc>>,
    pub by_ip: i64,
    pub oldest_by_ip: Option<DateTime<Utc>>,
}

/// Counts inside `tx`, which must hold [`lock_attempts`].
pub(crate) async fn attempts_window(
    tx: &mut Tx,
    email: &str,
    ip: &str,
    lane: &str,
    since: DateTime<Utc>,
) -> Result<Window, StoreError> {
    let r = sql!(
        fetch_one,
        tx,
        "SELECT
            (SELECT COUNT(*) FROM signin_attempts WHERE email = $1 AND lane = $3 AND at >= $4) AS by_email,
            (SELECT MIN(at) FROM signin_attempts WHERE email = $1 AND lane = $3 AND at >= $4) AS oldest_by_email,
            (SELECT COUNT(*) FROM signin_attempts WHERE ip = $2 AND lane = $3 AND at >= $4) AS by_ip,
            (SELECT MIN(at) FROM signin_attempts WHERE ip = $2 AND lane = $3 AND at >= $4) AS oldest_by_ip",
        email,
        ip,
        lane,
        since
    )?;
    Ok(Window {
        by_email: r.get("by_email")?,
        oldest_by_email: r.get("oldest_by_email")?,
        by_ip: r.get("by_ip")?,
        oldest_by_ip: r.get("oldest_by_ip")?,
    })
}

/// Records an attempt inside `tx` (after [`attempts_window`] let it through);
/// attempts older than a day go at the same time.
pub(crate) async fn insert_attempt(
    tx: &mut Tx,
    email: &str,
    ip: &str,
    lane: &str,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    sql!(
        execute,
        tx,
        "DELETE FROM signin_attempts WHERE at < $1",
        at - chrono::Duration::days(1)
    )?;
    sql!(
        fetch_one,
        tx,
        "INSERT INTO signin_attempts (email, ip, lane, at) VALUES ($1, $2, $3, $4) RETURNING id",
        email,
        ip,
        lane,
        at
    )?
    .get("id")
}

/// After a success: the attempts of this lane for this e-mail count no more.
pub(crate) async fn clear_attempts(store: &Store, email: &str, lane: &str) -> Result<u64, StoreError> {
    let mut tx = store.begin().await?;
    let n = sql!(
        execute,
        tx,
        "DELETE FROM signin_attempts WHERE email = $1 AND lane = $2",
        email,
        lane
    )?;
    tx.commit().await?;
    Ok(n)
}

// ---- device cookies --------------------------------------------------------

/// The device with this token hash, if it belongs to the operator with this
/// e-mail and was used since `since`.
pub(crate) async fn device_of(
    store: &Store,
    token_hash: &str,
    email: &str,
    since: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let row = read!(
        fetch_optional,
        store,
        "SELECT d.id FROM signin_devices d JOIN operators o ON o.id = d.operator_id
         WHERE d.token_hash = $1 AND o.email = $2 AND d.last_used_at >= $3",
        token_hash,
        email,
        since
    )?;
    row.map(|r| r.get("id")).transpose()
}

/// A new device of the operator; devices unused since `stale_before` go.
pub(crate) async fn insert_device(
    store: &Store,
    operator_id: i64,
    token_hash: &str,
    at: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "DELETE FROM signin_devices WHERE last_used_at < $1",
        stale_before
    )?;
    let id = sql!(
        fetch_one,
        tx,
        "INSERT INTO signin_devices (token_hash, operator_id, created_at, last_used_at) VALUES ($1, $2, $3, $3)
         RETURNING id",
        token_hash,
        operator_id,
        at
    )?
    .get("id")?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn touch_device(store: &Store, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "UPDATE signin_devices SET last_used_at = $1 WHERE id = $2",
        at,
        id
    )?;
    tx.commit().await
}

// ---- one-time sign-in links ------------------------------------------------

pub(crate) async fn insert_link(
    store: &Store,
    token_hash: &str,
    operator_id: i64,
    via: &str,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    // Links dead for a day are of no use, even to the audit (which has its own entries).
    sql!(
        execute,
        tx,
        "DELETE FROM signin_links WHERE expires_at < $1",
        at - chrono::Duration::days(1)
    )?;
    sql!(
        execute,
        tx,
        "INSERT INTO signin_links (token_hash, operator_id, via, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        operator_id,
        via,
        at,
        expires_at
    )?;
    tx.commit().await
}

/// Whether the link is unused and unexpired at `now`.
pub(crate) async fn link_valid(store: &Store, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let row = read!(
        fetch_optional,
        store,
        "SELECT 1 AS ok FROM signin_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        token_hash,
        now
    )?;
    Ok(row.is_some())
}

/// Marks the link used: (operator id, how the link was given), or `None`
/// when it was unknown, used or expired. One statement: of two concurrent
/// uses, one wins.
pub(crate) async fn use_link(
    tx: &mut Tx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(i64, String)>, StoreError> {
    let row = sql!(
        fetch_optional,
        tx,
        "UPDATE signin_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING operator_id, via",
        now,
        token_hash
    )?;
    match row {
        Some(r) => Ok(Some((r.get("operator_id")?, r.get("via")?))),
        None => Ok(None),
    }
}
