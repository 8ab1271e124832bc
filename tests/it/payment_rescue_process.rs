//! A real worker process killed mid-flight — after its call reached the
//! provider, before it recorded the answer — and the job rescued by another
//! worker: the provider sees the same idempotency key twice and the customer
//! is charged once. The provider is a local server replaying Stripe's
//! documented PaymentIntents answer.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{eventually, Backend, TestDb};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use comptoir::billing::jobs::payments::ChargePayment;
use comptoir::billing::payments::{self, PaymentMethod, PaymentStatus};
use comptoir::billing::revenue_book;
use comptoir::jobs::{enqueue, EnqueueOptions};

const SUCCEEDED: &str = crate::fixture!("stripe_payment_intent_succeeded");

/// Idempotency keys of the PaymentIntent creations received, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

async fn create_intent(State(seen): State<Seen>, headers: HeaderMap) -> (StatusCode, String) {
    let key = headers
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let first = {
        let mut keys = seen.0.lock().unwrap();
        keys.push(key);
        keys.len() == 1
    };
    if first {
        // The charge is made, but the answer never reaches the worker: it is killed meanwhile.
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    (StatusCode::OK, SUCCEEDED.to_string())
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(db: &TestDb, stripe: &str) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
            .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
            .args(["--database-url", &db.url, "--data-dir"])
            .arg(db.dir.path())
            .args(["run", "--lease", "2s", "--queues", "payments,mail,default"])
            .env("COMPTOIR_STRIPE_API_BASE", stripe)
            .env("COMPTOIR_STRIPE_SECRET_KEY", "sk_test_comptoir")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start comptoir-worker"),
    )
}

async fn killed_after_the_provider_call_charges_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 2_000, date(2026, 11, 2)).await;
    let mut tx = db.store.begin().await.unwrap();
    let payment = payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "stripe", PaymentMethod::Card, eur(2_000), "checkout-rescue"),
    )
    .await
    .unwrap();
    let job = enqueue(
        &mut tx,
        &ChargePayment {
            payment_id: payment.id,
            payment_method: Some("pm_card_visa".into()),
            return_url: None,
        },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let seen = Seen::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/payment_intents", post(create_intent))
        .with_state(seen.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut a = worker(&db, &stripe);
    assert!(
        eventually(Duration::from_secs(30), || async { seen.0.lock().unwrap().len() == 1 }).await,
        "the charge reached the provider"
    );
    // Killed with the provider's answer in flight.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    assert_eq!(
        payments::get(&db.store, payment.id).await.unwrap().status,
        PaymentStatus::Initiated
    );

    let _b = worker(&db, &stripe);
    let completed = eventually(Duration::from_secs(45), || async {
        payments::get(&db.store, payment.id).await.unwrap().status == PaymentStatus::Completed
    })
    .await;
    assert!(completed, "rescued and completed");
    let keys = seen.0.lock().unwrap().clone();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0], keys[1], "the same idempotency key both times");
    assert_eq!(keys[0], "checkout-rescue:charge");

    let row = db.store.get_job(job.id()).await.unwrap();
    assert_eq!(row.attempt, 2);
    assert!(row.errors[0].error.contains("lease expired"), "{:?}", row.errors);
    let paid = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(paid.provider_reference.as_deref(), Some("pi_3MtwBwLkdIwHu7ix28a3tqPa"));
    let booked: i64 = revenue_book::list(&db.store, date(2000, 1, 1), date(2100, 1, 1))
        .await
        .unwrap()
        .iter()
        .map(|l| l.line.amount.minor)
        .sum();
    assert_eq!(booked, 2_000, "received and booked once");
    server.abort();
}

on_both_backends!(killed_after_the_provider_call_charges_once);
