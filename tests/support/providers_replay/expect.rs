//! What each documented endpoint requires of a request; a request that breaks a rule gets the
//! provider's documented "invalid request" answer and is reported by the test.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

use super::{decode_form, Api, Recorded};

pub fn problems(api: &Api, r: &Recorded) -> Vec<String> {
    let mut p = Vec::new();
    let segments: Vec<&str> = r.path.trim_start_matches('/').split('/').collect();
    match api {
        Api::Stripe => stripe(r, &segments, &mut p),
        Api::Paypal {
            client_id,
            client_secret,
        } => paypal(r, &segments, client_id, client_secret, &mut p),
    }
    p
}

/// Stripe's `invalid_request_error` (HTTP 400), PayPal's `INVALID_REQUEST` (HTTP 400).
pub fn refusal(api: &Api, summary: &str) -> Response {
    let body = match api {
        Api::Stripe => json!({"error": {"type": "invalid_request_error", "message": summary}}),
        Api::Paypal { .. } => json!({
            "name": "INVALID_REQUEST", "message": "Request is not well-formed, syntactically incorrect, or violates schema.",
            "debug_id": "replay", "details": [{"issue": "REPLAY_EXPECTATION", "description": summary}]
        }),
    };
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn stripe(r: &Recorded, segments: &[&str], p: &mut Vec<String>) {
    match r.header("authorization") {
        Some(a) if a.starts_with("Bearer sk_test_") => {}
        other => p.push(format!("Authorization must be `Bearer sk_test_…`, got {other:?}")),
    }
    if r.header("stripe-version") != Some(comptoir::providers::STRIPE_API_VERSION) {
        p.push(format!(
            "Stripe-Version should pin the API version, got {:?}",
            r.header("stripe-version")
        ));
    }
    match (r.method.as_str(), segments) {
        ("POST", ["v1", "payment_intents"]) => {
            stripe_post(r, p);
            let form = r.form();
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            match get("amount").map(str::parse::<i64>) {
                Some(Ok(n)) if n > 0 => {}
                other => p.push(format!(
                    "amount must be a positive integer of minor units, got {other:?}"
                )),
            }
            match get("currency") {
                Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()) => {}
                other => p.push(format!("currency must be a lowercase ISO code, got {other:?}")),
            }
            if !get("payment_method").is_some_and(|m| m.starts_with("pm_")) {
                p.push("payment_method (pm_…) is required to confirm".into());
            }
            if get("confirm") != Some("true") {
                p.push("confirm=true expected".into());
            }
            if !matches!(get("capture_method"), Some("automatic" | "manual" | "automatic_async")) {
                p.push(format!("capture_method is {:?}", get("capture_method")));
            }
            if get("return_url").is_none() && get("automatic_payment_methods[allow_redirects]") != Some("never") {
                p.push("confirming without return_url needs automatic_payment_methods[allow_redirects]=never".into());
            }
            for (k, _) in &form {
                let known = [
                    "amount",
                    "currency",
                    "payment_method",
                    "confirm",
                    "capture_method",
                    "description",
                ]
                .contains(&k.as_str())
                    || ["customer", "off_session", "return_url", "expand[]"].contains(&k.as_str())
                    || k.starts_with("metadata[") && k.ends_with(']')
                    || k.starts_with("automatic_payment_methods[");
                if !known {
                    p.push(format!("unknown parameter {k:?}"));
                }
            }
        }
        ("POST", ["v1", "payment_intents", id, "capture"]) => {
            stripe_post(r, p);
            if !id.starts_with("pi_") {
                p.push(format!("{id:?} is not a PaymentIntent id"));
            }
        }
        ("POST", ["v1", "refunds"]) => {
            stripe_post(r, p);
            if !r.field("payment_intent").is_some_and(|pi| pi.starts_with("pi_")) && r.field("charge").is_none() {
                p.push("a refund names its payment_intent (or charge)".into());
            }
            if let Some(amount) = r.field("amount") {
                if !amount.parse::<i64>().is_ok_and(|n| n > 0) {
                    p.push(format!("refund amount {amount:?} must be a positive integer"));
                }
            }
        }
        ("GET", ["v1", "payment_intents", "search"]) => {
            // https://docs.stripe.com/search#search-query-language
            let query: Vec<(String, String)> = decode_form(&r.query);
            match query.iter().find(|(k, _)| k == "query").map(|(_, v)| v.as_str()) {
                Some(q) if q.starts_with("metadata['") && q.contains("']:'") && q.ends_with('\'') => {}
                other => p.push(format!("a search needs query=metadata['key']:'value', got {other:?}")),
            }
            if !r.body.is_empty() {
                p.push("a GET has no body".into());
            }
        }
        ("GET", ["v1", "payment_intents", id]) => {
            if !id.starts_with("pi_") {
                p.push(format!("{id:?} is not a PaymentIntent id"));
            }
            if !r.body.is_empty() {
                p.push("a GET has no body".into());
            }
        }
        (method, _) => p.push(format!("no such Stripe endpoint: {method} {}", r.path)),
    }
}

fn stripe_post(r: &Recorded, p: &mut Vec<String>) {
    if r.header("content-type") != Some("application/x-www-form-urlencoded") {
        p.push(format!(
            "Stripe takes form-encoded bodies, got Content-Type {:?}",
            r.header("content-type")
        ));
    }
    match r.header("idempotency-key") {
        Some(k) if !k.is_empty() && k.len() <= 255 => {}
        other => p.push(format!(
            "Idempotency-Key (1..255 chars) expected on POST, got {other:?}"
        )),
    }
}

fn paypal(r: &Recorded, segments: &[&str], client_id: &str, client_secret: &str, p: &mut Vec<String>) {
    if segments == ["v1", "oauth2", "token"] {
        let credentials = format!("{client_id}:{client_secret}");
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        );
        if r.method != Method::POST {
            p.push("the token endpoint takes POST".into());
        }
        if r.header("authorization") != Some(basic.as_str()) {
            p.push(format!(
                "Authorization must be {basic:?}, got {:?}",
                r.header("authorization")
            ));
        }
        if r.header("content-type") != Some("application/x-www-form-urlencoded") {
            p.push(format!("token request Content-Type is {:?}", r.header("content-type")));
        }
        if r.form() != vec![("grant_type".to_string(), "client_credentials".to_string())] {
            p.push(format!("token request body is {:?}", String::from_utf8_lossy(&r.body)));
        }
        return;
    }
    if !r.header("authorization").is_some_and(|a| a.starts_with("Bearer ")) {
        p.push(format!(
            "Authorization must be a Bearer token, got {:?}",
            r.header("authorization")
        ));
    }
    match (r.method.as_str(), segments) {
        ("POST", ["v2", "checkout", "orders"]) => {
            paypal_post(r, true, p);
            let body = r.json();
            if !matches!(body["intent"].as_str(), Some("CAPTURE" | "AUTHORIZE")) {
                p.push(format!("intent is {:?}", body["intent"]));
            }
            match body["purchase_units"].as_array() {
                Some(units) if !units.is_empty() => {
                    for unit in units {
                        amount(&unit["amount"], p);
                        for field in ["custom_id", "invoice_id", "description"] {
                            if unit[field]
                                .as_str()
                                .is_some_and(|v| v.is_empty() || v.chars().count() > 127)
                            {
                                p.push(format!("{field} must be 1 to 127 characters"));
                            }
                        }
                    }
                }
                _ => p.push("purchase_units must hold at least one unit".into()),
            }
        }
        ("POST", ["v2", "checkout", "orders", _, "capture"]) => {
            paypal_post(r, true, p);
            if !r.body.is_empty() && !r.json().is_object() {
                p.push("the capture body, when given, is a JSON object".into());
            }
        }
        ("POST", ["v2", "payments", "captures", _, "refund"]) => {
            paypal_post(r, true, p);
            let body = r.json();
            if !body.is_object() {
                p.push("the refund body is a JSON object".into());
            } else if !body["amount"].is_null() {
                amount(&body["amount"], p);
            }
        }
        ("GET", ["v2", "checkout", "orders", _]) => {
            if !r.body.is_empty() {
                p.push("a GET has no body".into());
            }
        }
        ("POST", ["v1", "notifications", "verify-webhook-signature"]) => {
            paypal_post(r, false, p);
            let body = r.json();
            for field in [
                "auth_algo",
                "cert_url",
                "transmission_id",
                "transmission_sig",
                "transmission_time",
                "webhook_id",
            ] {
                if body[field].as_str().is_none_or(str::is_empty) {
                    p.push(format!("{field} is required"));
                }
            }
            if !body["webhook_event"].is_object() {
                p.push("webhook_event must be the event object".into());
            }
        }
        (method, _) => p.push(format!("no such PayPal endpoint: {method} {}", r.path)),
    }
}

fn paypal_post(r: &Recorded, request_id: bool, p: &mut Vec<String>) {
    if r.header("content-type") != Some("application/json") {
        p.push(format!(
            "PayPal takes JSON bodies, got Content-Type {:?}",
            r.header("content-type")
        ));
    }
    if !r.body.is_empty() && serde_json::from_slice::<Value>(&r.body).is_err() {
        p.push("the body is not JSON".into());
    }
    if request_id {
        match r.header("paypal-request-id") {
            Some(k) if !k.is_empty() && k.len() <= 108 => {}
            other => p.push(format!("PayPal-Request-Id (1..108 chars) expected, got {other:?}")),
        }
    }
}

/// `{"currency_code": "EUR", "value": "12.34"}`; no decimals for HUF, JPY and TWD.
fn amount(amount: &Value, p: &mut Vec<String>) {
    let code = amount["currency_code"].as_str().unwrap_or("");
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        p.push(format!("currency_code {code:?} is not an ISO code"));
    }
    let value = amount["value"].as_str().unwrap_or("");
    let decimals = if ["HUF", "JPY", "TWD"].contains(&code) { 0 } else { 2 };
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() == decimals
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (decimals > 0 || !value.contains('.'))
        && value.len() <= 32;
    if !ok {
        p.push(format!(
            "value {value:?} is not an amount with {decimals} decimals for {code}"
        ));
    }
}
