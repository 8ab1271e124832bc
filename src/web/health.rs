//! `/healthz`: the process answers. `/readyz`: the database answers, its
//! migrations are current, and the configuration is complete (the seller's
//! identity, without which nothing can be invoiced). Each check is named in
//! the answer, so an operator sees what is missing. Its `details` say when
//! the last backup was taken (a warning after two days, never a failure).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::{Access, AppState, Routes};
use crate::billing::{settings, BillingError};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/healthz", Access::Public, healthz)
        .get("/readyz", Access::Public, readyz)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The backups, as a detail: a stale backup is a warning for the operator,
/// not a reason to take the process out of a load balancer.
async fn backup_details(state: &AppState) -> Value {
    use crate::keeping::backup::{self, Freshness, STALE_AFTER_HOURS};
    match backup::freshness(&state.store).await {
        Ok(f) => {
            let warning = match &f {
                Freshness::Never => Some("no backup recorded yet (comptoir-worker backup)".to_string()),
                Freshness::Stale { .. } => Some(format!("last backup older than {STALE_AFTER_HOURS} h")),
                Freshness::External => None,
                Freshness::Ok { .. } => None,
            };
            let mut value = serde_json::to_value(&f).unwrap_or(Value::Null);
            if let (Some(w), Some(map)) = (warning, value.as_object_mut()) {
                map.insert("warning".into(), Value::String(w));
            }
            value
        }
        Err(e) => {
            tracing::warn!(error = %e, "backup status unreadable");
            json!({ "status": "unknown" })
        }
    }
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let unavailable = |reason: &str, checks: Value| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason, "checks": checks })),
        )
    };
    let migrations = match state.store.migration_status().await {
        Ok(status) => status,
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            return unavailable("database unreachable", json!({ "database": "unreachable" }));
        }
    };
    if !migrations.is_current() {
        let reason = if migrations.changed.is_empty() {
            "migrations pending"
        } else {
            "applied migrations changed since they ran"
        };
        return unavailable(
            reason,
            json!({ "database": "ok", "migrations": { "pending": migrations.pending, "changed": migrations.changed } }),
        );
    }
    match settings::load(&state.store).await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "checks": { "database": "ok", "migrations": "ok", "configuration": "ok" },
                "details": { "backup": backup_details(&state).await },
            })),
        ),
        Err(BillingError::NoSettings) => unavailable(
            "configuration incomplete: the seller's identity is not set (Réglages in the admin, or comptoir-worker billing configure)",
            json!({ "database": "ok", "migrations": "ok", "configuration": "billing settings missing" }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("database unreachable", json!({ "database": "unreachable" }))
        }
    }
}
