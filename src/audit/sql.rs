//! The `audit_log` table (append-only). Written once for both backends.

use chrono::{DateTime, Utc};

use crate::audit::{Actor, AuditEntry, AuditFilter, Record};
use crate::store::jobs::like_pattern;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

fn decode(r: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.get("id")?,
        at: r.get("at")?,
        operator_id: r.get("operator_id")?,
        actor: r.get("actor")?,
        action: r.get("action")?,
        target: r.get("target")?,
        details: r.json("details")?,
        ip: r.get("ip")?,
    })
}

pub(crate) async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    record: &Record<'_>,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    sql!(
        fetch_one,
        tx,
        "INSERT INTO audit_log (at, operator_id, actor, action, target, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        at,
        actor.operator_id,
        &actor.name,
        record.action,
        &record.target,
        sqlx::types::Json(record.details.clone()),
        &actor.ip
    )?
    .get("id")
}

pub(crate) async fn list(store: &Store, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    // An action ending in '.' is a prefix: `invoice.` matches every invoice action.
    let action = f.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let (exact, prefix) = match action {
        Some(a) if a.ends_with('.') => (None, Some(format!("{}%", like_pattern(a).trim_end_matches('%')))),
        Some(a) => (Some(a.to_string()), None),
        None => (None, None),
    };
    let actor = f.actor.as_deref().filter(|a| !a.is_empty()).map(like_pattern);
    let target = f.target.as_deref().filter(|t| !t.is_empty()).map(like_pattern);
    read!(
        fetch_all,
        store,
        "SELECT id, at, operator_id, actor, action, target, details, ip FROM audit_log
         WHERE ($1 IS NULL OR LOWER(actor) LIKE LOWER($1) ESCAPE '\\')
           AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR action LIKE $3 ESCAPE '\\')
           AND ($4 IS NULL OR LOWER(target) LIKE LOWER($4) ESCAPE '\\')
           AND ($5 IS NULL OR id < $5)
           AND ($6 IS NULL OR at >= $6)
           AND ($7 IS NULL OR at < $7)
         ORDER BY id DESC LIMIT $8",
        actor,
        exact,
        prefix,
        target,
        f.before_id,
        f.since,
        f.until,
        f.limit.clamp(1, 500)
    )?
    .iter()
    .map(decode)
    .collect()
}
