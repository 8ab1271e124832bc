//! The whole flow, on both backends, with the product's worker and jobs:
//! order → payment charged through the provider → invoice issued and e-mailed
//! → livre de recettes line → refund through the provider → credit note
//! e-mailed → negative line → livre de recettes export.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::worker::{app_context, drain_app, drain_app_ok};
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::invoices;
use comptoir::billing::jobs::{book, payments as payment_jobs};
use comptoir::billing::orders::{self, OrderStatus};
use comptoir::billing::payments::{self, PaymentMethod, PaymentStatus};
use comptoir::billing::revenue_book;
use comptoir::jobs::{enqueue, EnqueueOptions};
use comptoir::providers::{ChargeRequest, Providers, ProvidersConfig};

/// A customer orders 2 mugs (goods) and a workshop (services): 2 × 19,90 + 45,00 = 84,80 €.
async fn order_and_payment(db: &TestDb) -> (i64, i64) {
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    products(
        &db.store,
        &[
            ("MUG", "Mug émaillé", Nature::Goods, 1_990),
            ("ATELIER", "Atelier", Nature::Services, 4_500),
        ],
    )
    .await;
    let mut tx = db.store.begin().await.unwrap();
    let order = orders::create(&mut tx, order_input(customer.id, &[("MUG", 2), ("ATELIER", 1)]))
        .await
        .unwrap();
    assert_eq!(order.total, eur(8_480));
    let payment = payments::initiate(
        &mut tx,
        order_payment(
            &order,
            "simulated",
            PaymentMethod::Card,
            &format!("checkout-{}", order.id),
        ),
    )
    .await
    .unwrap();
    // The charge job is enqueued with the payment: both commit or neither.
    enqueue(
        &mut tx,
        &payment_jobs::ChargePayment {
            payment_id: payment.id,
            payment_method: None,
            return_url: None,
        },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (order.id, payment.id)
}

fn eml_files(db: &TestDb) -> Vec<String> {
    let dir = db.dir.path().join("mail");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

async fn order_to_refund_to_book(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = app_context(&db, |_| None);
    let (order_id, payment_id) = order_and_payment(&db).await;

    // Charge, then the invoice e-mail and the receipt it enqueued.
    let report = drain_app_ok(&db.store, &app).await;
    assert_eq!(report.completed, 3, "{report:?}");
    let payment = payments::get(&db.store, payment_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Completed);
    assert!(
        payment
            .provider_reference
            .as_deref()
            .is_some_and(|r| r.starts_with("sim_")),
        "{payment:?}"
    );
    // 1.4 % + 0,25 € kept by the provider.
    assert_eq!(payment.fee, eur(144));
    assert_eq!(
        orders::get(&db.store, order_id).await.unwrap().status,
        OrderStatus::Paid
    );
    let invoice = invoices::get(&db.store, payment.invoice_id.unwrap()).await.unwrap();
    assert_eq!(
        invoice.reference.as_deref(),
        Some("F2026-0001")
            .filter(|_| invoice.issue_date.unwrap().format("%Y").to_string() == "2026")
            .or(invoice.reference.as_deref())
    );
    assert_eq!(invoice.paid, eur(8_480));
    assert!(invoice.sent_at.is_some(), "invoice e-mailed");
    let mails = eml_files(&db);
    assert_eq!(mails.len(), 2, "invoice and receipt");
    let reference = invoice.reference.clone().unwrap();
    assert!(
        mails.iter().any(|m| m.contains(&format!("{reference}.pdf"))),
        "invoice PDF attached"
    );

    let today = db.store.now().await.unwrap().date_naive();
    let lines = revenue_book::list(&db.store, today, today).await.unwrap();
    let amounts: Vec<(Nature, i64)> = lines.iter().map(|l| (l.line.nature, l.line.amount.minor)).collect();
    assert_eq!(amounts, vec![(Nature::Goods, 3_980), (Nature::Services, 4_500)]);

    // Refund the workshop: reserved and enqueued together, then paid back by the provider.
    let mut tx = db.store.begin().await.unwrap();
    payment_jobs::request_refund(
        &mut tx,
        payment_id,
        eur(4_500),
        Some(Nature::Services),
        "Atelier annulé",
        "refund-atelier",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let report = drain_app_ok(&db.store, &app).await;
    assert_eq!(report.completed, 2, "refund, credit note e-mail: {report:?}");
    let payment = payments::get(&db.store, payment_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::PartiallyRefunded);
    let lines = revenue_book::list(&db.store, today, today).await.unwrap();
    let negative: i64 = lines
        .iter()
        .filter(|l| l.line.amount.minor < 0)
        .map(|l| l.line.amount.minor)
        .sum();
    assert_eq!(negative, -4_500);
    let credit = lines
        .iter()
        .find_map(|l| l.line.credit_note_reference.clone())
        .expect("cites the credit note");
    assert!(credit.starts_with("AV"));
    let mails = eml_files(&db);
    assert_eq!(mails.len(), 3);
    assert!(
        mails.iter().any(|m| m.contains(&format!("{credit}.pdf"))),
        "credit note e-mailed with its PDF"
    );

    // Nothing of the workshop is left to refund; a refund above what remains is refused too,
    // both before anything is enqueued or asked of the provider.
    let mut tx = db.store.begin().await.unwrap();
    let err = payment_jobs::request_refund(
        &mut tx,
        payment_id,
        eur(100),
        Some(Nature::Services),
        "encore",
        "refund-3",
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("dépasse ce qui reste à créditer en services"),
        "{err}"
    );
    drop(tx);
    // A refund above what remains is refused before anything is enqueued.
    let mut tx = db.store.begin().await.unwrap();
    assert!(
        payment_jobs::request_refund(&mut tx, payment_id, eur(4_000), None, "trop", "refund-2")
            .await
            .is_err()
    );
    drop(tx);

    // The livre de recettes of the year, generated by its job.
    let mut tx = db.store.begin().await.unwrap();
    let year = today.format("%Y").to_string();
    book::request(&mut tx, &year).await.unwrap();
    tx.commit().await.unwrap();
    drain_app_ok(&db.store, &app).await;
    let csv = book::latest(&db.store, &year, "csv").await.unwrap().expect("generated");
    let text = String::from_utf8(csv.content).unwrap();
    assert!(
        text.contains(&reference) && text.contains(&credit) && text.contains("-45,00"),
        "{text}"
    );
    assert!(comptoir::billing::book_check::verify(&db.store)
        .await
        .unwrap()
        .is_intact());
}

/// A charge whose first attempt reached the provider but died before
/// recording: the retry hands the provider the same key and the customer is
/// charged once.
async fn a_charge_rescued_after_the_provider_call_charges_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = app_context(&db, |_| None);
    let (_, payment_id) = order_and_payment(&db).await;
    let payment = payments::get(&db.store, payment_id).await.unwrap();
    let key = format!("{}:charge", payment.idempotency_key);
    // The attempt that died: it called the provider, then its process was killed.
    let first = app
        .providers
        .get("simulated")
        .unwrap()
        .create_payment(&ChargeRequest::new(payment.amount, key.clone(), "x"))
        .await
        .unwrap();
    drain_app_ok(&db.store, &app).await;
    assert_eq!(
        app.providers.simulated().attempts(&key),
        2,
        "the provider saw the same key twice"
    );
    let payment = payments::get(&db.store, payment_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Completed);
    assert_eq!(
        payment.provider_reference.as_deref(),
        first.reference(),
        "one charge: the first one"
    );
    let today = db.store.now().await.unwrap().date_naive();
    let booked: i64 = revenue_book::list(&db.store, today, today)
        .await
        .unwrap()
        .iter()
        .map(|l| l.line.amount.minor)
        .sum();
    assert_eq!(booked, 8_480, "booked once");
}

on_both_backends!(
    order_to_refund_to_book,
    a_charge_rescued_after_the_provider_call_charges_once
);

/// The provider refuses the refund: no credit note, no negative line, and the
/// amount is refundable again.
async fn a_refused_refund_leaves_nothing_behind(backend: Backend) {
    use axum::routing::post;
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 3_000, date(2026, 11, 3)).await;
    let mut tx = db.store.begin().await.unwrap();
    let payment = payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "stripe", PaymentMethod::Card, eur(3_000), "paid-by-card"),
    )
    .await
    .unwrap();
    let completion = payments::Completion {
        received_on: date(2026, 11, 3),
        fee: eur(0),
        provider_reference: Some("pi_3Refused".into()),
    };
    payments::complete(&mut tx, payment.id, completion).await.unwrap();
    payment_jobs::request_refund(
        &mut tx,
        payment.id,
        eur(1_000),
        None,
        "Geste commercial",
        "refund-refused",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Stripe answers the documented 400 for a charge it will not refund.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stripe = axum::Router::new().route(
        "/v1/refunds",
        post(|| async {
            (
                axum::http::StatusCode::BAD_REQUEST,
                r#"{"error":{"type":"invalid_request_error","code":"charge_disputed","message":"Charge pi_3Refused has been disputed."}}"#,
            )
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, stripe).await });
    let mut app = app_context(&db, |_| None);
    let lookup = |name: &str| match name {
        "COMPTOIR_STRIPE_SECRET_KEY" => Some("sk_test_comptoir".to_string()),
        "COMPTOIR_STRIPE_API_BASE" => Some(base.clone()),
        _ => None,
    };
    app.providers = Providers::new(ProvidersConfig::from_lookup(lookup).unwrap()).unwrap();
    let report = drain_app(&db.store, &app).await;
    assert_eq!(report.discarded, 1, "{report:?}");

    let refunds = comptoir::billing::refunds::for_payment(&db.store, payment.id)
        .await
        .unwrap();
    assert_eq!(refunds[0].status, comptoir::billing::refunds::RefundStatus::Failed);
    assert!(refunds[0].credit_note_id.is_none());
    let after = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(
        (after.status, after.refunded),
        (PaymentStatus::Completed, eur(0)),
        "reservation released"
    );
    let notes = invoices::list(
        &db.store,
        &invoices::InvoiceFilter {
            kind: Some(invoices::InvoiceKind::CreditNote),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(notes.is_empty(), "no credit note");
    let lines = revenue_book::list(&db.store, date(2026, 1, 1), date(2026, 12, 31))
        .await
        .unwrap();
    assert!(lines.iter().all(|l| l.line.amount.minor > 0), "no negative line");
    server.abort();
}

mod refused {
    use super::*;
    on_both_backends!(a_refused_refund_leaves_nothing_behind);
}

/// PayPal: the payer must approve; the payment waits with its approval URL
/// and the order expires if nobody approves in time.
async fn an_order_awaiting_approval_expires_in_time(backend: Backend) {
    use axum::routing::post;
    let db = TestDb::new(backend).await;
    let (order_id, payment_id) = order_and_payment(&db).await;
    // The payment was recorded for the simulated provider; this customer pays with PayPal instead.
    sqlx_exec(
        &db,
        &format!("UPDATE payments SET provider = 'paypal', method = 'paypal' WHERE id = {payment_id}"),
    )
    .await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let paypal = axum::Router::new()
        .route("/v1/oauth2/token", post(|| async { crate::fixture!("paypal_token") }))
        .route(
            "/v2/checkout/orders",
            post(|| async { (axum::http::StatusCode::CREATED, crate::fixture!("paypal_order_created")) }),
        );
    let server = tokio::spawn(async move { axum::serve(listener, paypal).await });
    let mut app = app_context(&db, |_| None);
    let lookup = |name: &str| match name {
        "COMPTOIR_PAYPAL_CLIENT_ID" => Some("client".to_string()),
        "COMPTOIR_PAYPAL_CLIENT_SECRET" => Some("secret".to_string()),
        "COMPTOIR_PAYPAL_API_BASE" => Some(base.clone()),
        _ => None,
    };
    app.providers = Providers::new(ProvidersConfig::from_lookup(lookup).unwrap()).unwrap();
    drain_app_ok(&db.store, &app).await;

    let waiting = payments::get(&db.store, payment_id).await.unwrap();
    assert_eq!(waiting.status, PaymentStatus::Pending);
    assert!(
        waiting
            .approval_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        "{waiting:?}"
    );
    let expiry = db
        .store
        .list_jobs(&comptoir::jobs::JobFilter {
            kind: Some("billing.expire_order".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(expiry.len(), 1);
    let window = expiry[0].run_at - expiry[0].created_at;
    assert!((179..=180).contains(&window.num_minutes()), "{window}");

    // Nobody approved: when it runs, the order expires and the payment fails.
    db.store.retry_job(expiry[0].id).await.unwrap();
    drain_app_ok(&db.store, &app).await;
    assert_eq!(
        orders::get(&db.store, order_id).await.unwrap().status,
        OrderStatus::Expired
    );
    assert_eq!(
        payments::get(&db.store, payment_id).await.unwrap().status,
        PaymentStatus::Failed
    );
    server.abort();
}

async fn sqlx_exec(db: &TestDb, sql: &str) {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }
    }
}

mod approval {
    use super::*;
    on_both_backends!(an_order_awaiting_approval_expires_in_time);
}
