//! Provider webhooks. A delivery is believed only once its signature checks
//! out (Stripe: HMAC with a timestamp tolerance; PayPal: its verification
//! API); then it is recorded once and only triggers a job that asks the
//! provider. A missing, stale or forged signature is refused and changes nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::{Access, AppState, Routes};
use crate::billing::jobs::payments::on_provider_event;
use crate::providers::{PaypalTransmission, WebhookError, WebhookEvent};

/// Public: a delivery proves itself by its signature, checked below.
pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/webhooks/stripe", Access::Public, stripe)
        .post("/webhooks/paypal", Access::Public, paypal)
}

type Answer = (StatusCode, Json<Value>);

async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let verified = match state.app.providers.stripe() {
        Ok(client) => client.verify_webhook(&headers, &body),
        Err(_) => return not_configured("stripe"),
    };
    handle(&state, verified).await
}

async fn paypal(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Answer {
    let client = match state.app.providers.paypal() {
        Ok(client) => client,
        Err(_) => return not_configured("paypal"),
    };
    let verified = match PaypalTransmission::from_headers(&headers) {
        Ok(transmission) => client.verify_webhook(&transmission, &body).await,
        Err(e) => Err(e),
    };
    handle(&state, verified).await
}

fn not_configured(provider: &str) -> Answer {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("{provider} is not configured") })),
    )
}

async fn handle(state: &AppState, verified: Result<WebhookEvent, WebhookError>) -> Answer {
    let event = match verified {
        Ok(event) => event,
        Err(e) if e.is_rejection() => {
            tracing::warn!(error = %e, "webhook refused");
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "invalid webhook signature" })),
            );
        }
        Err(e) => {
            // The provider retries later: its own verification service was unreachable.
            tracing::error!(error = %e, "webhook could not be verified now");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "try again later" })),
            );
        }
    };
    match on_provider_event(&state.store, &event).await {
        Ok(new) => (StatusCode::OK, Json(json!({ "received": event.id, "duplicate": !new }))),
        Err(e) => {
            tracing::error!(error = %e, event = %event.id, "webhook not recorded");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "try again later" })),
            )
        }
    }
}
