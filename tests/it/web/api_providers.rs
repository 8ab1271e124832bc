//! API orders paid through local servers replaying Stripe's and PayPal's
//! documented APIs, on both backends: a Stripe charge with the checkout's
//! PaymentMethod; a provider that does not answer (202, the job enqueued with
//! the order retries with the same key); a PayPal order whose answer carries
//! the approval URL, then its capture (refused before approval, replayed under
//! its Idempotency-Key after). Every answer is checked against the OpenAPI
//! document by `ApiClient`.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::providers_replay::{Api as Provider, Recorded, Replay, Reply};
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;
use crate::web::api_orders::{catalogue, order};

const SECRET_KEY: &str = "sk_test_51HcomptoirReplayKey0000";
const CLIENT_ID: &str = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer-comptoir";
const CLIENT_SECRET: &str = "ELYS9Ioi0JkcRF2ZaDhMzEl_-comptoir-secret";
const PAYPAL_ORDER: &str = "5O190127TN364715T";

fn stripe_lookup(base: String) -> impl Fn(&str) -> Option<String> {
    move |name| match name {
        "COMPTOIR_STRIPE_SECRET_KEY" => Some(SECRET_KEY.into()),
        "COMPTOIR_STRIPE_API_BASE" => Some(base.clone()),
        "COMPTOIR_PROVIDER_TIMEOUT" => Some("5s".into()),
        _ => None,
    }
}

async fn a_stripe_order_is_charged_with_the_payment_method(backend: Backend) {
    let replay = Replay::start(Provider::Stripe, |_, _| {
        Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded"))
    })
    .await;
    let app = TestApp::spawn_with(backend, stripe_lookup(replay.base.clone())).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    // Stripe needs the PaymentMethod the checkout page collected.
    let missing = api.post("/api/orders", &order("stripe")).await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["error"]["fields"][0]["field"], "payment_method");
    assert!(replay.requests().is_empty());

    let mut body = order("stripe");
    body["payment_method"] = json!("pm_card_visa");
    let answer = api.post("/api/orders", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let payment = &answer.json()["payment"];
    assert_eq!(payment["status"], "completed");
    assert_eq!(payment["provider_reference"], "pi_3MtwBwLkdIwHu7ix28a3tqPa");
    assert_eq!(payment["method"], "card");
    assert_eq!(payment["fee"]["minor"], 55);
    replay.assert_followed_the_api();
    let calls = replay.requests();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].field("amount").as_deref(), Some("8480"), "the server's total");
    assert_eq!(calls[0].field("payment_method").as_deref(), Some("pm_card_visa"));
    assert!(calls[0].header("idempotency-key").unwrap().ends_with(":charge"));
}

async fn a_provider_that_does_not_answer_leaves_the_order_to_the_job(backend: Backend) {
    // Stripe answers 500 the first time, then succeeds.
    let replay = Replay::start(Provider::Stripe, |_, earlier| match earlier {
        0 => Reply::json(500, crate::fixture!("stripe_api_error")),
        _ => Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded")),
    })
    .await;
    let app = TestApp::spawn_with(backend, stripe_lookup(replay.base.clone())).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let mut body = order("stripe");
    body["payment_method"] = json!("pm_card_visa");
    let answer = api.post("/api/orders", &body).await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["payment"]["status"], "initiated");
    assert_eq!(body["order"]["status"], "pending");
    let payment_id = body["payment"]["id"].as_i64().unwrap();

    // The job that was enqueued with the order charges it, with the same key.
    let charges = app.jobs_of("billing.charge_payment").await;
    assert_eq!(charges.len(), 1);
    app.db.store.retry_job(charges[0].id).await.unwrap();
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    let polled = api.get(&format!("/api/payments/{payment_id}")).await;
    assert_eq!(polled.json()["status"], "completed");
    let calls = replay.requests();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("idempotency-key"), calls[1].header("idempotency-key"));
    replay.assert_followed_the_api();
}

fn paypal_lookup(base: String) -> impl Fn(&str) -> Option<String> {
    move |name| match name {
        "COMPTOIR_PAYPAL_CLIENT_ID" => Some(CLIENT_ID.into()),
        "COMPTOIR_PAYPAL_CLIENT_SECRET" => Some(CLIENT_SECRET.into()),
        "COMPTOIR_PAYPAL_API_BASE" => Some(base.clone()),
        "COMPTOIR_PROVIDER_TIMEOUT" => Some("5s".into()),
        _ => None,
    }
}

/// PayPal: a token, an order that needs the payer's approval, and a capture
/// refused until the payer approved (the first time), then completed.
fn paypal_script(r: &Recorded, earlier: usize) -> Reply {
    match (r.method.as_str(), r.path.as_str()) {
        (_, "/v1/oauth2/token") => Reply::json(200, crate::fixture!("paypal_token")),
        ("POST", "/v2/checkout/orders") => Reply::json(200, crate::fixture!("paypal_order_payer_action_required")),
        ("POST", p) if p.ends_with("/capture") && earlier == 0 => {
            Reply::json(422, crate::fixture!("paypal_order_not_approved"))
        }
        ("POST", p) if p.ends_with("/capture") => Reply::json(201, crate::fixture!("paypal_order_captured")),
        _ => Reply::json(404, "{}"),
    }
}

async fn a_paypal_order_gives_the_approval_url_then_is_captured(backend: Backend) {
    let replay = Replay::start(
        Provider::Paypal {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        },
        paypal_script,
    )
    .await;
    let app = TestApp::spawn_with(backend, paypal_lookup(replay.base.clone())).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let mut body = order("paypal");
    body["return_url"] = json!("https://boutique.example/merci");
    let answer = api.post("/api/orders", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let created = answer.json();
    let payment = &created["payment"];
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["provider_reference"], PAYPAL_ORDER, "the provider's order id");
    assert_eq!(
        payment["approval_url"],
        format!("https://www.sandbox.paypal.com/checkoutnow?token={PAYPAL_ORDER}")
    );
    assert_eq!(payment["method"], "paypal");
    let order_id = created["order"]["id"].as_i64().unwrap();
    let payment_id = payment["id"].as_i64().unwrap();
    let sent = replay.requests_to(axum::http::Method::POST, "/v2/checkout/orders");
    assert_eq!(
        sent[0].json()["payment_source"]["paypal"]["experience_context"]["return_url"],
        "https://boutique.example/merci"
    );
    assert_eq!(sent[0].json()["purchase_units"][0]["amount"]["value"], "84.80");
    assert_eq!(
        app.jobs_of("billing.expire_order").await.len(),
        1,
        "expires unless approved"
    );

    // Before the payer approved: refused, nothing changes.
    let capture = format!("/api/orders/{order_id}/capture");
    let early = api.post_empty(&capture).await;
    assert_eq!(early.status, 422, "{}", early.body);
    assert_eq!(early.json()["error"]["code"], "capture_refused");
    assert_eq!(
        api.get(&format!("/api/payments/{payment_id}")).await.json()["status"],
        "pending"
    );

    // Approved: captured, paid, invoiced.
    let done = api.post_with(&capture, None, Some("capture-1")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let done = done.json();
    assert_eq!(done["payment"]["status"], "completed");
    assert_eq!(done["payment"]["approval_url"], Value::Null);
    assert_eq!(done["payment"]["fee"]["minor"], 374);
    assert_eq!(done["order"]["status"], "paid");
    assert!(done["order"]["invoice_id"].is_i64());
    let captures = replay.requests_to(
        axum::http::Method::POST,
        &format!("/v2/checkout/orders/{PAYPAL_ORDER}/capture"),
    );
    assert_eq!(captures.len(), 2);
    assert!(captures[1].header("paypal-request-id").unwrap().ends_with(":capture"));
    replay.assert_followed_the_api();
    let entries = app.audited("order.capture").await;
    assert_eq!(entries.len(), 1, "the refused capture changed nothing");
    assert_eq!(entries[0].details["status"], "completed");

    // The same capture again under its key: the first answer, though the order moved on.
    let replayed = api.post_with(&capture, None, Some("capture-1")).await;
    assert_eq!(replayed.status, 200);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.json(), done);
    assert_eq!(app.audited("order.capture").await.len(), 1);

    // Nothing left to capture.
    let again = api.post_empty(&capture).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.json()["error"]["message"], format!("order {order_id} is paid"));
    // The same refusal to a caller who reads French.
    let mut french = ApiClient::new(&app, &key).with_language("fr-FR,fr;q=0.9,en;q=0.5");
    let again = french.post_empty(&capture).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.json()["error"]["code"], "conflict");
    assert_eq!(
        again.json()["error"]["message"],
        format!("la commande {order_id} est payée")
    );
}

on_both_backends!(
    a_stripe_order_is_charged_with_the_payment_method,
    a_provider_that_does_not_answer_leaves_the_order_to_the_job,
    a_paypal_order_gives_the_approval_url_then_is_captured,
);
