use chrono::Utc;

use crate::store::sql::sql;
use crate::store::{StoreError, Tx};

/// Records a provider event once; `false` when this event id was seen before
/// (providers deliver webhooks at least once).
pub(crate) async fn record(
    tx: &mut Tx,
    provider: &str,
    event_id: &str,
    kind: &str,
    payload: &serde_json::Value,
) -> Result<bool, StoreError> {
    let inserted = sql!(
        fetch_optional,
        tx,
        "INSERT INTO provider_events (provider, event_id, event_type, payload, received_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
        provider,
        event_id,
        kind,
        sqlx::types::Json(payload),
        Utc::now()
    )?;
    Ok(inserted.is_some())
}

pub(crate) async fn mark_processed(tx: &mut Tx, provider: &str, event_id: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE provider_events SET processed_at = $1 WHERE provider = $2 AND event_id = $3",
        Utc::now(),
        provider,
        event_id
    )?;
    Ok(())
}
