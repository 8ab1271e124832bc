//! The payment provider adapters against local servers that replay the providers' documented
//! HTTP APIs: every request is checked against the documented rules and recorded.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::providers_replay::{Api, Recorded, Replay, Reply};
use comptoir::money::{Currency, Money};
use comptoir::providers::{
    verify_stripe_webhook, CaptureMethod, ChargeOutcome, ChargeRequest, PaypalClient, PaypalConfig, PaypalTransmission,
    Provider, ProviderError, Providers, ProvidersConfig, RefundOutcome, RefundStatus, StripeClient, StripeConfig,
    WebhookError, STRIPE_WEBHOOK_TOLERANCE,
};

const SECRET_KEY: &str = "sk_test_51HcomptoirReplayKey0000";
const CLIENT_ID: &str = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer-comptoir";
const CLIENT_SECRET: &str = "ELYS9Ioi0JkcRF2ZaDhMzEl_-comptoir-secret";
const INTENT: &str = "pi_3MtwBwLkdIwHu7ix28a3tqPa";
const ORDER: &str = "5O190127TN364715T";
const CAPTURE: &str = "3C679366HH908993F";

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

fn only(mut requests: Vec<Recorded>) -> Recorded {
    assert_eq!(requests.len(), 1, "expected one request, got {requests:#?}");
    requests.remove(0)
}

// ---------------------------------------------------------------- Stripe

fn stripe_with(replay: &Replay, timeout: Duration) -> Provider {
    Provider::Stripe(
        StripeClient::new(StripeConfig {
            api_base: replay.base.clone(),
            secret_key: SECRET_KEY.into(),
            webhook_secret: None,
            timeout,
        })
        .unwrap(),
    )
}

fn stripe(replay: &Replay) -> Provider {
    stripe_with(replay, Duration::from_secs(5))
}

fn card_charge(minor: i64, key: &str) -> ChargeRequest {
    let mut req = ChargeRequest::new(eur(minor), key, "Facture F2024-0001");
    req.payment_method = Some("pm_card_visa".into());
    req.invoice_reference = Some("F2024-0001".into());
    req.payment_id = Some(42);
    req
}

#[tokio::test]
async fn stripe_payment_succeeds_and_reads_the_fee() {
    let replay = Replay::start(Api::Stripe, |_, _| {
        Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded")).header("Request-Id", "req_1")
    })
    .await;
    let outcome = stripe(&replay)
        .create_payment(&card_charge(2000, "comptoir-job-1"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ChargeOutcome::Succeeded {
            reference: INTENT.into(),
            fee: Some(eur(55)),
        }
    );
    replay.assert_followed_the_api();
    let request = only(replay.requests_to(Method::POST, "/v1/payment_intents"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(request.header("idempotency-key"), Some("comptoir-job-1"));
    let form: HashMap<String, String> = request.form().into_iter().collect();
    for (field, value) in [
        ("amount", "2000"),
        ("currency", "eur"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
        ("capture_method", "automatic"),
        ("description", "Facture F2024-0001"),
        ("metadata[invoice]", "F2024-0001"),
        ("metadata[comptoir_payment_id]", "42"),
        ("metadata[idempotency_key]", "comptoir-job-1"),
        ("expand[]", "latest_charge.balance_transaction"),
    ] {
        assert_eq!(form.get(field).map(String::as_str), Some(value), "form field {field}");
    }
}

#[tokio::test]
async fn stripe_declined_card_is_an_outcome_not_an_error() {
    let replay = Replay::start(Api::Stripe, |_, _| {
        Reply::json(402, crate::fixture!("stripe_card_declined"))
    })
    .await;
    let outcome = stripe(&replay)
        .create_payment(&card_charge(2000, "comptoir-job-2"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ChargeOutcome::Declined {
            reason: "Your card has insufficient funds.".into(),
            code: Some("insufficient_funds".into()),
        }
    );
    replay.assert_followed_the_api();
}

#[tokio::test]
async fn stripe_server_error_is_transient_and_the_retry_reuses_the_key() {
    let replay = Replay::start(Api::Stripe, |_, earlier| match earlier {
        0 => Reply::json(500, crate::fixture!("stripe_api_error")),
        _ => Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded")),
    })
    .await;
    let provider = stripe(&replay);
    let charge = card_charge(2000, "comptoir-job-3");
    let first = provider.create_payment(&charge).await;
    assert!(
        matches!(&first, Err(ProviderError::Transient(m)) if m.contains("500")),
        "{first:?}"
    );
    let second = provider.create_payment(&charge).await.unwrap();
    assert!(matches!(second, ChargeOutcome::Succeeded { .. }), "{second:?}");
    replay.assert_followed_the_api();
    let requests = replay.requests_to(Method::POST, "/v1/payment_intents");
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.header("idempotency-key"), Some("comptoir-job-3"));
    }
    assert_eq!(requests[0].body, requests[1].body, "a retry sends the same parameters");
}

#[tokio::test]
async fn stripe_timeout_is_transient() {
    let replay = Replay::start(Api::Stripe, |_, _| {
        Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded")).after(Duration::from_secs(5))
    })
    .await;
    let started = std::time::Instant::now();
    let result = stripe_with(&replay, Duration::from_millis(300))
        .create_payment(&card_charge(2000, "comptoir-job-4"))
        .await;
    assert!(
        matches!(&result, Err(ProviderError::Transient(m)) if m.contains("timed out")),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the client gave up at its timeout"
    );
    assert_eq!(replay.requests().len(), 1);
}

#[tokio::test]
async fn stripe_refused_requests_are_permanent_but_rate_limits_are_not() {
    let replay = Replay::start(Api::Stripe, |_, earlier| match earlier {
        0 => Reply::json(429, r#"{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}"#),
        1 => Reply::json(409, r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}"#)
            .header("Stripe-Should-Retry", "false"),
        _ => Reply::json(400, r#"{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount","message":"Invalid integer: 12.5"}}"#)
            .header("Request-Id", "req_9"),
    })
    .await;
    let provider = stripe(&replay);
    let charge = card_charge(2000, "comptoir-job-5");
    let rate_limited = provider.create_payment(&charge).await;
    assert!(
        matches!(rate_limited, Err(ProviderError::Transient(_))),
        "{rate_limited:?}"
    );
    let reused = provider.create_payment(&charge).await;
    assert!(
        matches!(&reused, Err(ProviderError::Permanent(m)) if m.contains("idempotency_error")),
        "{reused:?}"
    );
    let invalid = provider.create_payment(&charge).await;
    assert!(
        matches!(&invalid, Err(ProviderError::Permanent(m)) if m.contains("parameter amount") && m.contains("req_9")),
        "{invalid:?}"
    );
}

#[tokio::test]
async fn stripe_manual_capture_then_status() {
    let replay = Replay::start(Api::Stripe, |r, _| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/v1/payment_intents") => Reply::json(200, crate::fixture!("stripe_payment_intent_requires_capture")),
        _ => Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded")),
    })
    .await;
    let provider = stripe(&replay);
    let mut charge = card_charge(2000, "comptoir-job-6");
    charge.capture = CaptureMethod::Manual;
    let authorized = provider.create_payment(&charge).await.unwrap();
    assert_eq!(
        authorized,
        ChargeOutcome::Authorized {
            reference: INTENT.into()
        }
    );
    let captured = provider.capture(INTENT, "comptoir-job-6-capture").await.unwrap();
    assert_eq!(
        captured,
        ChargeOutcome::Succeeded {
            reference: INTENT.into(),
            fee: Some(eur(55)),
        }
    );
    let status = provider.status(INTENT).await.unwrap();
    assert_eq!(status, captured);
    replay.assert_followed_the_api();

    let create = only(replay.requests_to(Method::POST, "/v1/payment_intents"));
    assert_eq!(create.field("capture_method").as_deref(), Some("manual"));
    let capture = only(replay.requests_to(Method::POST, &format!("/v1/payment_intents/{INTENT}/capture")));
    assert_eq!(capture.header("idempotency-key"), Some("comptoir-job-6-capture"));
    let read = only(replay.requests_to(Method::GET, &format!("/v1/payment_intents/{INTENT}")));
    assert!(read.query.contains("expand"), "{}", read.query);
    assert_eq!(read.header("idempotency-key"), None);
}

/// A charge whose answer was lost is found again by its idempotency key
/// (Stripe's search over the metadata every PaymentIntent of ours carries);
/// no match means Stripe took nothing under that key.
#[tokio::test]
async fn stripe_finds_a_charge_by_its_idempotency_key() {
    let replay = Replay::start(Api::Stripe, |r, _| {
        let query = crate::support::providers_replay::decode_form(&r.query);
        let asked = query.iter().find(|(k, _)| k == "query").map(|(_, v)| v.clone());
        if asked.as_deref() == Some("metadata['idempotency_key']:'pay-7:charge'") {
            Reply::json(200, crate::fixture!("stripe_payment_intent_search"))
        } else {
            Reply::json(200, crate::fixture!("stripe_payment_intent_search_empty"))
        }
    })
    .await;
    let provider = stripe(&replay);
    let found = provider.find_charge("pay-7:charge").await.unwrap();
    assert_eq!(
        found,
        Some(ChargeOutcome::Succeeded {
            reference: INTENT.into(),
            fee: Some(eur(55)),
        })
    );
    assert_eq!(provider.find_charge("pay-8:charge").await.unwrap(), None);
    let searches = replay.requests_to(Method::GET, "/v1/payment_intents/search");
    assert_eq!(searches.len(), 2);
    assert!(
        searches[0]
            .query
            .contains("expand%5B%5D=data.latest_charge.balance_transaction"),
        "{}",
        searches[0].query
    );
    replay.assert_followed_the_api();
    // A key that cannot be quoted in a search is refused before any call.
    assert!(provider.find_charge("it's").await.is_err());
    assert_eq!(replay.requests().len(), 2);
}

#[tokio::test]
async fn stripe_refund() {
    let replay = Replay::start(Api::Stripe, |_, _| Reply::json(200, crate::fixture!("stripe_refund"))).await;
    let refund = stripe(&replay)
        .refund(INTENT, eur(1000), "comptoir-job-7")
        .await
        .unwrap();
    assert_eq!(
        refund,
        RefundOutcome {
            reference: "re_3MtwBwLkdIwHu7ix0g9ccTEE".into(),
            status: RefundStatus::Succeeded,
        }
    );
    replay.assert_followed_the_api();
    let request = only(replay.requests_to(Method::POST, "/v1/refunds"));
    assert_eq!(request.field("payment_intent").as_deref(), Some(INTENT));
    assert_eq!(request.field("amount").as_deref(), Some("1000"));
    assert_eq!(request.header("idempotency-key"), Some("comptoir-job-7"));
}

// ---------------------------------------------------------------- Stripe webhooks

const WEBHOOK_SECRET: &str = "whsec_comptoirReplaySecret";

fn stripe_signature(secret: &str, timestamp: i64, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn stripe_webhook_signatures() {
    let payload = crate::fixture!("stripe_event_payment_intent_succeeded");
    let now = Utc::now();
    let t = now.timestamp();
    let verify = |header: Option<&str>, body: &str| {
        verify_stripe_webhook(WEBHOOK_SECRET, header, body.as_bytes(), now, STRIPE_WEBHOOK_TOLERANCE)
    };

    let good = stripe_signature(WEBHOOK_SECRET, t, payload);
    let event = verify(Some(&format!("t={t},v1={good}")), payload).unwrap();
    assert_eq!(event.id, "evt_3MtwBwLkdIwHu7ix0EZ3Kpvn");
    assert_eq!(event.kind, "payment_intent.succeeded");
    assert_eq!(event.reference.as_deref(), Some(INTENT));

    // While a secret is rolled, Stripe sends one v1 per secret; any may match. v0 is ignored.
    let other = stripe_signature("whsec_previous", t, payload);
    let rolled = format!("t={t},v1={other},v1={good},v0={other}");
    assert!(verify(Some(&rolled), payload).is_ok());

    assert_eq!(
        verify(None, payload),
        Err(WebhookError::MissingHeader("Stripe-Signature"))
    );
    assert!(matches!(
        verify(Some("garbage"), payload),
        Err(WebhookError::MalformedHeader(_))
    ));
    assert!(matches!(
        verify(Some(&format!("t={t}")), payload),
        Err(WebhookError::MalformedHeader(_))
    ));

    let forged = stripe_signature("whsec_attacker", t, payload);
    assert_eq!(
        verify(Some(&format!("t={t},v1={forged}")), payload),
        Err(WebhookError::BadSignature)
    );
    let tampered = payload.replace("2000", "1");
    assert_eq!(
        verify(Some(&format!("t={t},v1={good}")), &tampered),
        Err(WebhookError::BadSignature)
    );

    let old = t - 301;
    let stale = stripe_signature(WEBHOOK_SECRET, old, payload);
    assert!(matches!(
        verify(Some(&format!("t={old},v1={stale}")), payload),
        Err(WebhookError::Stale { age_seconds: 301, .. })
    ));
}

#[test]
fn stripe_client_checks_webhooks_with_its_configured_secret() {
    let config = StripeConfig {
        api_base: "http://127.0.0.1:9".into(),
        secret_key: SECRET_KEY.into(),
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        timeout: Duration::from_secs(1),
    };
    let payload = crate::fixture!("stripe_event_payment_intent_succeeded");
    let t = Utc::now().timestamp();
    let mut headers = HeaderMap::new();
    let value = format!("t={t},v1={}", stripe_signature(WEBHOOK_SECRET, t, payload));
    headers.insert("stripe-signature", HeaderValue::from_str(&value).unwrap());
    let client = StripeClient::new(config.clone()).unwrap();
    assert!(client.verify_webhook(&headers, payload.as_bytes()).is_ok());
    assert_eq!(
        client.verify_webhook(&HeaderMap::new(), payload.as_bytes()),
        Err(WebhookError::MissingHeader("Stripe-Signature"))
    );
    let unconfigured = StripeClient::new(StripeConfig {
        webhook_secret: None,
        ..config
    })
    .unwrap();
    assert!(matches!(
        unconfigured.verify_webhook(&headers, payload.as_bytes()),
        Err(WebhookError::NotConfigured(_))
    ));
}

// ---------------------------------------------------------------- PayPal

fn paypal_api() -> Api {
    Api::Paypal {
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    }
}

fn token_reply(earlier: usize, expires_in: u64) -> Reply {
    let mut token: Value = serde_json::from_str(crate::fixture!("paypal_token")).unwrap();
    token["access_token"] = json!(format!("A21AAF-replay-token-{}", earlier + 1));
    token["expires_in"] = json!(expires_in);
    Reply::json(200, token.to_string())
}

/// A PayPal replay whose token endpoint issues `A21AAF-replay-token-1`, `-2`, …
async fn paypal_replay(expires_in: u64, script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Replay {
    Replay::start(paypal_api(), move |r, earlier| {
        if r.path == "/v1/oauth2/token" {
            token_reply(earlier, expires_in)
        } else {
            script(r, earlier)
        }
    })
    .await
}

fn paypal_client(replay: &Replay) -> PaypalClient {
    PaypalClient::new(PaypalConfig {
        api_base: replay.base.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        webhook_id: Some("8PT597110X687430LKGECATA".into()),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn paypal(replay: &Replay) -> Provider {
    Provider::Paypal(paypal_client(replay))
}

fn bearer(r: &Recorded) -> &str {
    r.header("authorization").unwrap_or("")
}

#[tokio::test]
async fn paypal_token_is_fetched_once_and_renewed_after_expiry() {
    let replay = paypal_replay(1, |_, _| Reply::json(200, crate::fixture!("paypal_order_captured"))).await;
    let provider = paypal(&replay);
    for _ in 0..3 {
        provider.status(ORDER).await.unwrap();
    }
    assert_eq!(
        replay.requests_to(Method::POST, "/v1/oauth2/token").len(),
        1,
        "one token for many calls"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    provider.status(ORDER).await.unwrap();
    replay.assert_followed_the_api();
    assert_eq!(
        replay.requests_to(Method::POST, "/v1/oauth2/token").len(),
        2,
        "renewed once expired"
    );
    let reads = replay.requests_to(Method::GET, &format!("/v2/checkout/orders/{ORDER}"));
    let tokens: Vec<&str> = reads.iter().map(bearer).collect();
    assert_eq!(
        tokens,
        [
            "Bearer A21AAF-replay-token-1",
            "Bearer A21AAF-replay-token-1",
            "Bearer A21AAF-replay-token-1",
            "Bearer A21AAF-replay-token-2"
        ]
    );
}

#[tokio::test]
async fn paypal_token_is_renewed_after_a_401() {
    let replay = paypal_replay(32_400, |r, _| {
        if bearer(r) == "Bearer A21AAF-replay-token-1" {
            Reply::json(401, crate::fixture!("paypal_invalid_token"))
        } else {
            Reply::json(200, crate::fixture!("paypal_order_captured"))
        }
    })
    .await;
    let outcome = paypal(&replay).status(ORDER).await.unwrap();
    assert!(matches!(outcome, ChargeOutcome::Succeeded { .. }), "{outcome:?}");
    replay.assert_followed_the_api();
    assert_eq!(replay.requests_to(Method::POST, "/v1/oauth2/token").len(), 2);
    assert_eq!(
        replay
            .requests_to(Method::GET, &format!("/v2/checkout/orders/{ORDER}"))
            .len(),
        2
    );
}

#[tokio::test]
async fn paypal_refused_credentials_are_permanent() {
    let replay = Replay::start(paypal_api(), |_, _| {
        Reply::json(
            401,
            r#"{"error":"invalid_client","error_description":"Client Authentication failed"}"#,
        )
    })
    .await;
    let result = paypal(&replay).status(ORDER).await;
    assert!(
        matches!(&result, Err(ProviderError::Permanent(m)) if m.contains("invalid_client") && m.contains("COMPTOIR_PAYPAL_CLIENT_ID")),
        "{result:?}"
    );
}

#[tokio::test]
async fn paypal_create_order_returns_the_approval_link() {
    let replay = paypal_replay(32_400, |r, _| {
        if r.json().get("payment_source").is_some() {
            Reply::json(200, crate::fixture!("paypal_order_payer_action_required"))
        } else {
            Reply::json(201, crate::fixture!("paypal_order_created"))
        }
    })
    .await;
    let provider = paypal(&replay);
    let mut req = ChargeRequest::new(eur(1234), "comptoir-job-8", "Facture F2024-0002");
    req.payment_id = Some(7);
    req.invoice_reference = Some("F2024-0002".into());
    req.return_url = Some("https://comptoir.example/paiement/retour".into());
    req.cancel_url = Some("https://comptoir.example/paiement/annule".into());
    let outcome = provider.create_payment(&req).await.unwrap();
    assert_eq!(
        outcome,
        ChargeOutcome::RequiresApproval {
            reference: ORDER.into(),
            approval_url: format!("https://www.sandbox.paypal.com/checkoutnow?token={ORDER}"),
        }
    );
    // Without a return URL PayPal answers CREATED with a `rel: "approve"` link.
    req.return_url = None;
    req.idempotency_key = "comptoir-job-9".into();
    let legacy = provider.create_payment(&req).await.unwrap();
    assert!(matches!(legacy, ChargeOutcome::RequiresApproval { ref approval_url, .. } if approval_url.contains(ORDER)));
    replay.assert_followed_the_api();

    let requests = replay.requests_to(Method::POST, "/v2/checkout/orders");
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.header("paypal-request-id"), Some("comptoir-job-8"));
    assert_eq!(first.header("prefer"), Some("return=representation"));
    assert_eq!(bearer(first), "Bearer A21AAF-replay-token-1");
    let body = first.json();
    assert_eq!(body["intent"], "CAPTURE");
    let unit = &body["purchase_units"][0];
    assert_eq!(unit["amount"], json!({"currency_code": "EUR", "value": "12.34"}));
    assert_eq!(unit["custom_id"], "comptoir-payment-7");
    assert_eq!(unit["invoice_id"], "F2024-0002");
    assert_eq!(unit["description"], "Facture F2024-0002");
    let context = &body["payment_source"]["paypal"]["experience_context"];
    assert_eq!(context["return_url"], "https://comptoir.example/paiement/retour");
    assert_eq!(context["cancel_url"], "https://comptoir.example/paiement/annule");
    assert_eq!(requests[1].header("paypal-request-id"), Some("comptoir-job-9"));
    assert_eq!(replay.requests_to(Method::POST, "/v1/oauth2/token").len(), 1);
}

#[tokio::test]
async fn paypal_capture_reads_the_fee() {
    let replay = paypal_replay(32_400, |_, _| {
        Reply::json(201, crate::fixture!("paypal_order_captured"))
    })
    .await;
    let outcome = paypal(&replay).capture(ORDER, "comptoir-job-10").await.unwrap();
    assert_eq!(
        outcome,
        ChargeOutcome::Succeeded {
            reference: CAPTURE.into(),
            fee: Some(eur(374)),
        }
    );
    replay.assert_followed_the_api();
    let request = only(replay.requests_to(Method::POST, &format!("/v2/checkout/orders/{ORDER}/capture")));
    assert_eq!(request.header("paypal-request-id"), Some("comptoir-job-10"));
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn paypal_refund() {
    let replay = paypal_replay(32_400, |_, _| Reply::json(201, crate::fixture!("paypal_refund"))).await;
    let refund = paypal(&replay)
        .refund(CAPTURE, eur(1000), "comptoir-job-11")
        .await
        .unwrap();
    assert_eq!(
        refund,
        RefundOutcome {
            reference: "1JU08902781691411".into(),
            status: RefundStatus::Succeeded,
        }
    );
    replay.assert_followed_the_api();
    let request = only(replay.requests_to(Method::POST, &format!("/v2/payments/captures/{CAPTURE}/refund")));
    assert_eq!(
        request.json(),
        json!({"amount": {"currency_code": "EUR", "value": "10.00"}})
    );
    assert_eq!(request.header("paypal-request-id"), Some("comptoir-job-11"));
}

#[tokio::test]
async fn paypal_unprocessable_entity_is_permanent() {
    let replay = paypal_replay(32_400, |_, _| {
        Reply::json(422, crate::fixture!("paypal_order_not_approved"))
    })
    .await;
    let result = paypal(&replay).capture(ORDER, "comptoir-job-12").await;
    assert!(
        matches!(&result, Err(ProviderError::Permanent(m)) if m.contains("422") && m.contains("ORDER_NOT_APPROVED") && m.contains("f0cd04d7a9b2e")),
        "{result:?}"
    );
    replay.assert_followed_the_api();
}

#[tokio::test]
async fn paypal_declined_instrument_is_an_outcome_and_outages_are_transient() {
    let replay = paypal_replay(32_400, |_, earlier| match earlier {
        0 => Reply::json(
            503,
            r#"{"name":"SERVICE_UNAVAILABLE","message":"Service Unavailable.","debug_id":"a1b2"}"#,
        ),
        _ => Reply::json(422, crate::fixture!("paypal_instrument_declined")),
    })
    .await;
    let provider = paypal(&replay);
    let outage = provider.capture(ORDER, "comptoir-job-13").await;
    assert!(matches!(outage, Err(ProviderError::Transient(_))), "{outage:?}");
    let declined = provider.capture(ORDER, "comptoir-job-13").await.unwrap();
    assert!(
        matches!(&declined, ChargeOutcome::Declined { code: Some(c), .. } if c == "INSTRUMENT_DECLINED"),
        "{declined:?}"
    );
    replay.assert_followed_the_api();
}

// ---------------------------------------------------------------- PayPal webhooks

fn transmission_headers(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("paypal-transmission-id", "69cd13f0-d67a-11e5-baa3-778b53f4ae55"),
        ("paypal-transmission-time", "2024-05-02T09:43:06Z"),
        ("paypal-transmission-sig", signature),
        (
            "paypal-cert-url",
            "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
        ),
        ("paypal-auth-algo", "SHA256withRSA"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

#[tokio::test]
async fn paypal_webhook_verification() {
    let replay = paypal_replay(32_400, |r, _| {
        let body = r.json();
        let genuine = body["transmission_sig"] == "genuine-signature"
            && body["webhook_id"] == "8PT597110X687430LKGECATA"
            && body["transmission_id"] == "69cd13f0-d67a-11e5-baa3-778b53f4ae55";
        if genuine {
            Reply::json(200, crate::fixture!("paypal_verify_success"))
        } else {
            Reply::json(200, crate::fixture!("paypal_verify_failure"))
        }
    })
    .await;
    let client = paypal_client(&replay);
    let payload = crate::fixture!("paypal_webhook_capture_completed");

    let genuine = PaypalTransmission::from_headers(&transmission_headers("genuine-signature")).unwrap();
    let event = client.verify_webhook(&genuine, payload.as_bytes()).await.unwrap();
    assert_eq!(event.id, "WH-58D329510W468432D-8HN650336L201105X");
    assert_eq!(event.kind, "PAYMENT.CAPTURE.COMPLETED");
    assert_eq!(event.reference.as_deref(), Some(ORDER));
    assert_eq!(event.capture_id.as_deref(), Some(CAPTURE));

    let forged = PaypalTransmission::from_headers(&transmission_headers("forged-signature")).unwrap();
    assert_eq!(
        client.verify_webhook(&forged, payload.as_bytes()).await,
        Err(WebhookError::BadSignature)
    );
    replay.assert_followed_the_api();

    let verifications = replay.requests_to(Method::POST, "/v1/notifications/verify-webhook-signature");
    assert_eq!(verifications.len(), 2);
    let sent = String::from_utf8(verifications[0].body.to_vec()).unwrap();
    assert!(sent.contains(payload.trim()), "the event goes back byte for byte");
    assert_eq!(verifications[0].json()["auth_algo"], "SHA256withRSA");

    let mut missing = transmission_headers("genuine-signature");
    missing.remove("paypal-transmission-sig");
    assert_eq!(
        PaypalTransmission::from_headers(&missing),
        Err(WebhookError::MissingHeader("PAYPAL-TRANSMISSION-SIG"))
    );
}

// ---------------------------------------------------------------- Simulated, manual, registry

fn registry(vars: &[(&str, &str)]) -> Result<Providers, String> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = ProvidersConfig::from_lookup(|name| vars.get(name).cloned()).map_err(|e| e.to_string())?;
    Providers::new(config).map_err(|e| e.to_string())
}

#[tokio::test]
async fn simulated_declines_amounts_ending_in_13() {
    let simulated = registry(&[]).unwrap().get("simulated").unwrap();
    let declined = simulated
        .create_payment(&ChargeRequest::new(eur(1013), "sim-1", "demo"))
        .await
        .unwrap();
    assert!(matches!(declined, ChargeOutcome::Declined { .. }), "{declined:?}");
    let paid = simulated
        .create_payment(&ChargeRequest::new(eur(1000), "sim-2", "demo"))
        .await
        .unwrap();
    let ChargeOutcome::Succeeded { reference, fee } = paid else {
        panic!("{paid:?}")
    };
    assert_eq!(fee, Some(eur(39)), "1.4 % + 0.25 €");
    let refund = simulated.refund(&reference, eur(400), "sim-2-refund").await.unwrap();
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert!(simulated.refund(&reference, eur(1001), "sim-2-refund-2").await.is_err());
}

#[tokio::test]
async fn simulated_fails_twice_then_succeeds_per_key() {
    let providers = registry(&[]).unwrap();
    let simulated = providers.get("simulated").unwrap();
    let charge = ChargeRequest::new(eur(4266), "sim-3", "demo");
    for attempt in 1..=2 {
        let result = simulated.create_payment(&charge).await;
        assert!(
            matches!(result, Err(ProviderError::Transient(_))),
            "attempt {attempt}: {result:?}"
        );
    }
    let third = simulated.create_payment(&charge).await.unwrap();
    assert!(matches!(third, ChargeOutcome::Succeeded { .. }), "{third:?}");
    assert_eq!(providers.simulated().attempts("sim-3"), 3);
    assert_eq!(
        simulated.create_payment(&charge).await.unwrap(),
        third,
        "the same key replays"
    );
    let other_key = simulated
        .create_payment(&ChargeRequest::new(eur(4266), "sim-4", "demo"))
        .await;
    assert!(matches!(other_key, Err(ProviderError::Transient(_))));
}

#[tokio::test]
async fn manual_payments_succeed_without_going_out() {
    let manual = registry(&[]).unwrap().get("manual").unwrap();
    let outcome = manual
        .create_payment(&ChargeRequest::new(eur(5000), "cheque-1", "Chèque n° 1234"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, ChargeOutcome::Succeeded { fee: None, .. }),
        "{outcome:?}"
    );
}

#[test]
fn registry_is_built_from_configuration() {
    let providers = registry(&[]).unwrap();
    assert_eq!(providers.available(), ["manual", "simulated"]);
    let missing = providers.get("stripe").unwrap_err();
    assert!(missing.to_string().contains("COMPTOIR_STRIPE_SECRET_KEY"), "{missing}");
    assert!(matches!(
        providers.get("paypal"),
        Err(ProviderError::NotConfigured { .. })
    ));
    assert!(matches!(providers.get("bitcoin"), Err(ProviderError::Permanent(_))));

    let providers = registry(&[
        ("COMPTOIR_STRIPE_SECRET_KEY", SECRET_KEY),
        ("COMPTOIR_PAYPAL_CLIENT_ID", CLIENT_ID),
        ("COMPTOIR_PAYPAL_CLIENT_SECRET", CLIENT_SECRET),
        ("COMPTOIR_PROVIDER_TIMEOUT", "5s"),
    ])
    .unwrap();
    assert_eq!(providers.available(), ["stripe", "paypal", "manual", "simulated"]);
    assert_eq!(providers.get("paypal").unwrap().name(), "paypal");

    let half = registry(&[("COMPTOIR_PAYPAL_CLIENT_ID", CLIENT_ID)]).unwrap_err();
    assert!(half.contains("COMPTOIR_PAYPAL_CLIENT_SECRET"), "{half}");
    let publishable = registry(&[("COMPTOIR_STRIPE_SECRET_KEY", "pk_test_123")]).unwrap_err();
    assert!(publishable.contains("sk_"), "{publishable}");
    let cents = registry(&[("COMPTOIR_SIMULATED_DECLINE_CENTS", "13,142")]).unwrap_err();
    assert!(cents.contains("142"), "{cents}");
    let timeout = registry(&[("COMPTOIR_PROVIDER_TIMEOUT", "soon")]).unwrap_err();
    assert!(timeout.contains("COMPTOIR_PROVIDER_TIMEOUT"), "{timeout}");

    let custom =
        ProvidersConfig::from_lookup(|name| (name == "COMPTOIR_SIMULATED_DECLINE_CENTS").then(|| "13, 42".to_string()))
            .unwrap();
    assert_eq!(custom.simulated.decline_cents, [13, 42]);
    assert_eq!(custom.simulated.fail_cents, [66]);
}

#[tokio::test]
async fn replay_server_refuses_requests_that_break_the_documented_api() {
    let replay = Replay::start(Api::Stripe, |_, _| {
        Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded"))
    })
    .await;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/payment_intents", replay.base))
        .bearer_auth("pk_test_publishable")
        .json(&json!({"amount": 12.5, "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let report = replay.violations().join("\n");
    for rule in ["sk_test_", "form-encoded", "Idempotency-Key", "confirm=true"] {
        assert!(report.contains(rule), "{rule} not reported in {report}");
    }
}
