//! What a hardening probe found: a PostgreSQL restart just after
//! `POST /api/orders` committed its order, payment and charge job made the
//! API answer 503, forget the request's Idempotency-Key, and the client's
//! retry (same key, same body, as a checkout does) made a second order and a
//! second charge. Reproduced here on a PostgreSQL cluster of the test's own,
//! crashed from inside the Stripe stand-in at the moment the provider is
//! called (after the commit, before the answer): the retry must answer the
//! committed order, and the provider must see one key and make one charge.

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::support::billing::count;
use crate::support::cluster::PgCluster;
use crate::support::providers_replay::{Api as Provider, Replay, Reply};
use crate::support::web::TestApp;
use crate::support::worker::app_context;
use crate::support::TestDb;
use crate::web::api_client::ApiClient;
use crate::web::api_orders::{catalogue, order};

const SECRET_KEY: &str = "sk_test_51HcomptoirReplayKey0000";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checkout_retried_after_a_database_crash_is_charged_once() {
    let cluster = Arc::new(PgCluster::start());
    let crashed = Arc::new(Mutex::new(false));
    let replay = {
        let cluster = cluster.clone();
        let crashed = crashed.clone();
        Replay::start(Provider::Stripe, move |_, _| {
            let mut crashed = crashed.lock().unwrap();
            if !*crashed {
                // The order, its payment and its job are committed; the
                // answer is not written yet.
                cluster.crash();
                *crashed = true;
            }
            Reply::json(200, crate::fixture!("stripe_payment_intent_succeeded"))
        })
        .await
    };
    let db = TestDb::on_postgres(&cluster.url()).await;
    let base = replay.base.clone();
    let ctx = app_context(&db, move |name| match name {
        "COMPTOIR_STRIPE_SECRET_KEY" => Some(SECRET_KEY.into()),
        "COMPTOIR_STRIPE_API_BASE" => Some(base.clone()),
        "COMPTOIR_PROVIDER_TIMEOUT" => Some("5s".into()),
        _ => None,
    });
    let app = TestApp::serve(db, ctx).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let mut body = order("stripe");
    body["payment_method"] = json!("pm_card_visa");

    let first = api.post_keyed("/api/orders", &body, "checkout-restart").await;
    assert!(*crashed.lock().unwrap(), "the provider was never called");
    assert_eq!(first.status, 503, "{}", first.body);

    cluster.up();
    cluster.ready().await;
    // The checkout retries with the same key and body.
    let mut retried = api.post_keyed("/api/orders", &body, "checkout-restart").await;
    for _ in 0..20 {
        if retried.status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        retried = api.post_keyed("/api/orders", &body, "checkout-restart").await;
    }
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(retried.json()["payment"]["status"], "initiated");
    assert_eq!(count(&app.db, "orders").await, 1);
    assert_eq!(count(&app.db, "payments").await, 1);

    // The charge job (the safety net enqueued with the order) asks the
    // provider again with the same key: the same PaymentIntent, recorded once.
    let charges = app.jobs_of("billing.charge_payment").await;
    assert_eq!(charges.len(), 1);
    app.db.store.retry_job(charges[0].id).await.unwrap();
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    let order_id = retried.json()["order"]["id"].as_i64().unwrap();
    let now = api.get(&format!("/api/orders/{order_id}")).await;
    assert_eq!(now.json()["status"], "paid", "{}", now.body);
    assert_eq!(count(&app.db, "invoices").await, 1);

    let keys: std::collections::BTreeSet<String> = replay
        .requests_to(axum::http::Method::POST, "/v1/payment_intents")
        .iter()
        .filter_map(|r| r.header("Idempotency-Key").map(str::to_string))
        .collect();
    assert_eq!(keys.len(), 1, "one provider key for one checkout: {keys:?}");
    replay.assert_followed_the_api();
}
