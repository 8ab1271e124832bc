//! Provider webhooks over HTTP: a missing, stale or forged signature is
//! refused and changes nothing; a valid one is recorded once and enqueues a
//! job that asks the provider.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use comptoir::billing::payments::{self, PaymentMethod};
use comptoir::jobs::JobFilter;
use comptoir::providers::{Providers, ProvidersConfig};
use comptoir::web::{app, AppState, WebConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_test_comptoir";

fn sign(payload: &str, timestamp: i64, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

async fn counts(db: &TestDb) -> (usize, usize) {
    let jobs = db
        .store
        .list_jobs(&JobFilter {
            kind: Some("billing.sync_payment".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let events: i64 = match db.backend {
        Backend::Postgres => {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM provider_events")
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM provider_events")
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
    };
    (jobs, events as usize)
}

async fn signatures_are_checked_and_events_recorded_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 5_000, date(2026, 11, 2)).await;
    let mut tx = db.store.begin().await.unwrap();
    let payment = payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "stripe", PaymentMethod::Card, eur(5_000), "checkout-1"),
    )
    .await
    .unwrap();
    payments::mark_pending(&mut tx, payment.id, "pi_3Comptoir")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let lookup = |name: &str| match name {
        "COMPTOIR_STRIPE_SECRET_KEY" => Some("sk_test_comptoir".to_string()),
        "COMPTOIR_STRIPE_WEBHOOK_SECRET" => Some(SECRET.to_string()),
        "COMPTOIR_STRIPE_API_BASE" => Some("http://127.0.0.1:9".to_string()),
        _ => None,
    };
    let providers = Providers::new(ProvidersConfig::from_lookup(lookup).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut ctx = crate::support::worker::app_context(&db, |_| None);
    ctx.providers = providers;
    let state = AppState::new(db.store.clone(), ctx, WebConfig::default()).unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let client = reqwest::Client::new();
    let url = format!("{base}/webhooks/stripe");
    let payload = r#"{"id":"evt_1Comptoir","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3Comptoir","object":"payment_intent","amount":5000,"currency":"eur","status":"succeeded"}}}"#;
    let now = chrono::Utc::now().timestamp();
    let post = |signature: Option<String>| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(payload);
        if let Some(s) = signature {
            request = request.header("Stripe-Signature", s);
        }
        request.send()
    };

    for (what, signature) in [
        ("missing", None),
        ("stale", Some(sign(payload, now - 3_600, SECRET))),
        ("forged", Some(sign(payload, now, "whsec_someone_else"))),
        ("garbage", Some("t=abc,v1=nothex".to_string())),
    ] {
        let answer = post(signature).await.unwrap();
        assert_eq!(answer.status(), 400, "{what}");
        let body = answer.text().await.unwrap();
        assert!(
            body.contains("invalid webhook signature") && !body.contains("hmac"),
            "{what}: {body}"
        );
        assert_eq!(counts(&db).await, (0, 0), "{what} changed something");
    }
    // A tampered body under a signature made for the original is refused too.
    let tampered = client
        .post(&url)
        .header("Stripe-Signature", sign(payload, now, SECRET))
        .body(payload.replace("5000", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 400);
    assert_eq!(counts(&db).await, (0, 0));

    let ok = post(Some(sign(payload, now, SECRET))).await.unwrap();
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    assert_eq!(counts(&db).await, (1, 1));
    // Providers deliver at least once: the same event again changes nothing.
    let again = post(Some(sign(payload, now, SECRET))).await.unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains(r#""duplicate":true"#));
    assert_eq!(counts(&db).await, (1, 1));
    let job = &db
        .store
        .list_jobs(&JobFilter {
            kind: Some("billing.sync_payment".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0];
    assert_eq!(job.args["payment_id"], payment.id);

    // PayPal without credentials: not there.
    assert_eq!(
        client
            .post(format!("{base}/webhooks/paypal"))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    server.abort();
}

on_both_backends!(signatures_are_checked_and_events_recorded_once);
