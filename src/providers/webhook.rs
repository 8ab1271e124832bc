//! Webhook deliveries: Stripe's HMAC signature scheme, PayPal's transmission headers, and the
//! event each one carries, reduced to what Comptoir acts on.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha2::Sha256;

use super::ProviderError;

pub const STRIPE_SIGNATURE_HEADER: &str = "Stripe-Signature";
/// Stripe's libraries refuse deliveries signed more than five minutes away from now.
pub const STRIPE_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the signature header is malformed: {0}")]
    MalformedHeader(String),
    #[error("the delivery was signed {age_seconds} s away from now (more than the {tolerance_seconds} s allowed)")]
    Stale { age_seconds: i64, tolerance_seconds: u64 },
    #[error("the signature does not match the payload")]
    BadSignature,
    #[error("the event cannot be read: {0}")]
    BadPayload(String),
    #[error("webhooks cannot be checked: set {0}")]
    NotConfigured(&'static str),
    /// The provider could not be asked (PayPal verification): answer 5xx so it delivers again.
    #[error("the signature could not be verified: {0}")]
    Provider(ProviderError),
}

impl WebhookError {
    /// Whether the delivery should be refused for good (400) rather than retried by the
    /// provider (503).
    pub fn is_rejection(&self) -> bool {
        !matches!(self, WebhookError::Provider(e) if e.is_transient())
            && !matches!(self, WebhookError::NotConfigured(_))
    }
}

/// A verified event, with the charge it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub provider: &'static str,
    /// `evt_…` or `WH-…`: deliveries repeat, so handle each id once.
    pub id: String,
    /// `payment_intent.succeeded`, `PAYMENT.CAPTURE.COMPLETED`, …
    pub kind: String,
    /// The payment's reference as `create_payment` returned it: the PaymentIntent id (Stripe)
    /// or the order id (PayPal), when the event names one.
    pub reference: Option<String>,
    /// The id of the event's own object (`pi_…`, `ch_…`, `re_…`, a capture or refund id).
    pub object_id: Option<String>,
    /// PayPal: the capture the event concerns (what refunds take).
    pub capture_id: Option<String>,
    pub payload: Value,
}

/// Checks a Stripe delivery: `Stripe-Signature: t=…,v1=…[,v1=…]` where each `v1` is the hex
/// HMAC-SHA256, keyed by the endpoint secret, of `"{t}.{payload}"`. Any matching `v1` passes
/// (Stripe signs with every active secret while one is rolled); the comparison takes constant
/// time; a timestamp further than `tolerance` from `now` is refused, so a captured delivery
/// cannot be replayed later.
pub fn verify_stripe_webhook(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<WebhookEvent, WebhookError> {
    let header = header.ok_or(WebhookError::MissingHeader(STRIPE_SIGNATURE_HEADER))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = Some(value),
            "v1" => signatures.push(value),
            _ => {} // v0 (test mode legacy) and future schemes are ignored.
        }
    }
    let timestamp = timestamp.ok_or_else(|| WebhookError::MalformedHeader("no timestamp (t=)".into()))?;
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| WebhookError::MalformedHeader(format!("timestamp {timestamp:?} is not a number")))?;
    if signatures.is_empty() {
        return Err(WebhookError::MalformedHeader("no v1 signature".into()));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    let matched = signatures
        .iter()
        .filter_map(|s| decode_hex(s))
        .any(|candidate| mac.clone().verify_slice(&candidate).is_ok());
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    let age = now.timestamp() - seconds;
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(WebhookError::Stale {
            age_seconds: age,
            tolerance_seconds: tolerance.as_secs(),
        });
    }
    stripe_event(serde_json::from_slice(payload).map_err(|e| WebhookError::BadPayload(e.to_string()))?)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Value::as_str).map(str::to_string)
}

/// `{id: "evt_…", type, data: {object: {...}}}`.
fn stripe_event(payload: Value) -> Result<WebhookEvent, WebhookError> {
    let id = text(&payload, "/id").ok_or_else(|| WebhookError::BadPayload("no event id".into()))?;
    let kind = text(&payload, "/type").ok_or_else(|| WebhookError::BadPayload("no event type".into()))?;
    let object = payload.pointer("/data/object").cloned().unwrap_or(Value::Null);
    let object_id = text(&object, "/id");
    let reference = match object.get("object").and_then(Value::as_str) {
        Some("payment_intent") => object_id.clone(),
        // Charges, refunds and disputes name their PaymentIntent.
        _ => text(&object, "/payment_intent"),
    };
    Ok(WebhookEvent {
        provider: "stripe",
        id,
        kind,
        reference,
        object_id,
        capture_id: None,
        payload,
    })
}

/// The transmission headers PayPal sends with each delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaypalTransmission {
    pub transmission_id: String,
    pub transmission_time: String,
    pub transmission_sig: String,
    pub cert_url: String,
    pub auth_algo: String,
}

impl PaypalTransmission {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, WebhookError> {
        let get = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or(WebhookError::MissingHeader(name))
        };
        Ok(PaypalTransmission {
            transmission_id: get("PAYPAL-TRANSMISSION-ID")?,
            transmission_time: get("PAYPAL-TRANSMISSION-TIME")?,
            transmission_sig: get("PAYPAL-TRANSMISSION-SIG")?,
            cert_url: get("PAYPAL-CERT-URL")?,
            auth_algo: get("PAYPAL-AUTH-ALGO")?,
        })
    }
}

/// `{id: "WH-…", event_type, resource_type, resource: {...}}`.
pub(crate) fn paypal_event(payload: Value) -> Result<WebhookEvent, WebhookError> {
    let id = text(&payload, "/id").ok_or_else(|| WebhookError::BadPayload("no event id".into()))?;
    let kind = text(&payload, "/event_type").ok_or_else(|| WebhookError::BadPayload("no event_type".into()))?;
    let resource = payload.get("resource").cloned().unwrap_or(Value::Null);
    let object_id = text(&resource, "/id");
    let related = |name: &str| text(&resource, &format!("/supplementary_data/related_ids/{name}"));
    let (reference, capture_id) = match payload.get("resource_type").and_then(Value::as_str) {
        Some("checkout-order") => (object_id.clone(), None),
        Some("capture") => (related("order_id"), object_id.clone()),
        // A refund points up to its capture.
        Some("refund") => (
            related("order_id"),
            related("capture_id").or_else(|| up_link(&resource, "captures")),
        ),
        _ => (related("order_id"), related("capture_id")),
    };
    Ok(WebhookEvent {
        provider: "paypal",
        id,
        kind,
        reference,
        object_id,
        capture_id,
        payload,
    })
}

/// The id at the end of the `rel: "up"` link, when it points into `collection`.
fn up_link(resource: &Value, collection: &str) -> Option<String> {
    resource.get("links")?.as_array()?.iter().find_map(|link| {
        let href = link.get("href")?.as_str()?;
        (link.get("rel")?.as_str()? == "up" && href.contains(&format!("/{collection}/")))
            .then(|| href.rsplit('/').next().map(str::to_string))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoding_refuses_odd_input() {
        assert_eq!(decode_hex(&"ab".repeat(32)).unwrap(), vec![0xab; 32]);
        assert!(decode_hex("abc").is_none());
        assert!(decode_hex(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn paypal_refund_events_name_their_capture() {
        let event = serde_json::json!({
            "id": "WH-1", "event_type": "PAYMENT.CAPTURE.REFUNDED", "resource_type": "refund",
            "resource": {"id": "1JU08902781691411", "links": [
                {"href": "https://api-m.paypal.com/v2/payments/refunds/1JU08902781691411", "rel": "self"},
                {"href": "https://api-m.paypal.com/v2/payments/captures/2GG279541U471931P", "rel": "up"}]}
        });
        let event = paypal_event(event).unwrap();
        assert_eq!(event.capture_id.as_deref(), Some("2GG279541U471931P"));
        assert_eq!(event.object_id.as_deref(), Some("1JU08902781691411"));
    }
}
