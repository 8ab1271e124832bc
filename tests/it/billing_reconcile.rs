//! The reconciliation of payments whose provider answer was lost, on both
//! backends, with the simulated provider: a charge made but never recorded
//! is found by its idempotency key and recorded; one the provider never took
//! fails with the reason; a payment a job will still charge, or one asked
//! too recently, is left alone. A charge job whose last attempt gets no
//! answer is not discarded: it hands the payment to the reconciliation.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::worker::{app_context, drain_app};
use crate::support::{Backend, TestDb};
use comptoir::app::AppContext;
use comptoir::billing::jobs::payments::{ChargePayment, ReconcilePayments};
use comptoir::billing::payments::{self, Payment, PaymentMethod, PaymentStatus};
use comptoir::jobs::{enqueue_now, EnqueueOptions, JobState};
use comptoir::providers::ChargeRequest;

const LONG_AGO: &str = "2020-01-01T00:00:00+00:00";

async fn initiated(db: &TestDb, minor: i64, key: &str) -> Payment {
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, minor, date(2026, 11, 2)).await;
    let mut tx = db.store.begin().await.unwrap();
    let payment = payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "simulated", PaymentMethod::Card, eur(minor), key),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    payment
}

/// As if the payment was created, and its provider last asked, long ago.
async fn quiet_for_long(db: &TestDb, payment_id: i64, called: bool) {
    let called_at = if called { format!("'{LONG_AGO}'") } else { "NULL".into() };
    raw_execute(
        db,
        &format!(
            "UPDATE payments SET created_at = '{LONG_AGO}', provider_called_at = {called_at} WHERE id = {payment_id}"
        ),
    )
    .await
    .unwrap();
}

async fn reconcile(db: &TestDb, ctx: &AppContext) {
    enqueue_now(&db.store, &ReconcilePayments {}, EnqueueOptions::new())
        .await
        .unwrap();
    let report = drain_app(&db.store, ctx).await;
    assert!(report.all_succeeded(), "{report:?}");
}

async fn lost_answers_are_found_by_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let ctx = app_context(&db, |_| None);
    let simulated = ctx.providers.simulated();

    // Charged at the provider, but the answer never came back.
    let charged = initiated(&db, 2_500, "pay-charged").await;
    let mut request = ChargeRequest::new(eur(2_500), "pay-charged:charge", "Facture");
    request.payment_id = Some(charged.id);
    simulated.create_payment(&request).unwrap();
    quiet_for_long(&db, charged.id, true).await;
    // Sent, but the provider never got it.
    let never_reached = initiated(&db, 3_000, "pay-lost").await;
    quiet_for_long(&db, never_reached.id, true).await;
    // A job will still charge it: it decides, not the reconciliation.
    let scheduled = initiated(&db, 3_500, "pay-scheduled").await;
    quiet_for_long(&db, scheduled.id, false).await;
    enqueue_now(
        &db.store,
        &ChargePayment {
            payment_id: scheduled.id,
            payment_method: None,
            return_url: None,
        },
        EnqueueOptions::new()
            .unique_key(format!("charge:{}", scheduled.id))
            .run_in(std::time::Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    // Asked a moment ago: too soon to conclude anything.
    let recent = initiated(&db, 4_000, "pay-recent").await;
    raw_execute(
        &db,
        &format!("UPDATE payments SET created_at = '{LONG_AGO}' WHERE id = {}", recent.id),
    )
    .await
    .unwrap();
    payments::mark_provider_called(&db.store, recent.id).await.unwrap();

    reconcile(&db, &ctx).await;

    let after = payments::get(&db.store, charged.id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Completed, "{after:?}");
    assert!(after.provider_reference.is_some(), "{after:?}");
    assert_eq!(count_book_lines_of(&db, charged.id).await, 1, "booked once");
    let after = payments::get(&db.store, never_reached.id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Failed, "{after:?}");
    let reason = after.failure_reason.unwrap_or_default();
    assert!(reason.contains("never reached"), "{reason}");
    for untouched in [scheduled.id, recent.id] {
        let after = payments::get(&db.store, untouched).await.unwrap();
        assert_eq!(after.status, PaymentStatus::Initiated, "{after:?}");
    }

    // Reconciling again changes nothing (the charged one is recorded once).
    reconcile(&db, &ctx).await;
    assert_eq!(count_book_lines_of(&db, charged.id).await, 1);
    assert_eq!(
        payments::get(&db.store, charged.id).await.unwrap().status,
        PaymentStatus::Completed
    );
}

async fn count_book_lines_of(db: &TestDb, payment_id: i64) -> i64 {
    raw_i64(
        db,
        &format!("SELECT COUNT(*) FROM revenue_book WHERE payment_id = {payment_id}"),
    )
    .await
}

async fn a_charge_with_no_answer_on_its_last_attempt_is_handed_over(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let ctx = app_context(&db, |_| None);
    // Amounts ending in ,66 fail twice at the simulated provider: no answer.
    let payment = initiated(&db, 1_066, "pay-flaky").await;
    let job = enqueue_now(
        &db.store,
        &ChargePayment {
            payment_id: payment.id,
            payment_method: None,
            return_url: None,
        },
        EnqueueOptions::new()
            .unique_key(format!("charge:{}", payment.id))
            .max_attempts(1),
    )
    .await
    .unwrap()
    .id();
    drain_app(&db.store, &ctx).await;
    let job = db.store.get_job(job).await.unwrap();
    assert_eq!(job.state, JobState::Cancelled, "never discarded: {job:?}");
    let said = &job.errors.last().unwrap().error;
    assert!(said.contains("billing.reconcile_payments"), "{said}");
    let after = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Initiated);
    assert!(after.provider_called_at.is_some(), "{after:?}");

    // Later, the reconciliation asks the provider, which has no charge under
    // that key (its two answers were failures): the payment fails, saying so.
    quiet_for_long(&db, payment.id, true).await;
    reconcile(&db, &ctx).await;
    let after = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(after.status, PaymentStatus::Failed, "{after:?}");
}

/// A refund job whose last attempt gets no answer (Stripe unreachable) is
/// not discarded and does not release the refund: it stays reserved until
/// the operator retries the job with the same key.
async fn a_refund_with_no_answer_stays_reserved(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    // Nothing listens on port 9: every call fails to connect (a transient error).
    let ctx = app_context(&db, |name| match name {
        "COMPTOIR_STRIPE_SECRET_KEY" => Some("sk_test_51HcomptoirReplayKey0000".into()),
        "COMPTOIR_STRIPE_API_BASE" => Some("http://127.0.0.1:9".into()),
        "COMPTOIR_PROVIDER_TIMEOUT" => Some("2s".into()),
        _ => None,
    });
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 5_000, date(2026, 11, 2)).await;
    let mut tx = db.store.begin().await.unwrap();
    let payment = payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "stripe", PaymentMethod::Card, eur(5_000), "pay-card"),
    )
    .await
    .unwrap();
    payments::complete(
        &mut tx,
        payment.id,
        payments::Completion {
            received_on: date(2026, 11, 3),
            fee: eur(0),
            provider_reference: Some("pi_3MtwBwLkdIwHu7ix28a3tqPa".into()),
        },
    )
    .await
    .unwrap();
    let refund = comptoir::billing::jobs::payments::request_refund(
        &mut tx,
        payment.id,
        eur(2_000),
        None,
        "geste commercial",
        "refund-1",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    raw_execute(
        &db,
        "UPDATE comptoir_jobs SET max_attempts = 1 WHERE kind = 'billing.refund_payment'",
    )
    .await
    .unwrap();

    drain_app(&db.store, &ctx).await;
    let jobs = db
        .store
        .list_jobs(&comptoir::jobs::JobFilter {
            kind: Some("billing.refund_payment".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Cancelled, "{:?}", jobs[0]);
    assert!(
        jobs[0].errors.last().unwrap().error.contains("stays reserved"),
        "{:?}",
        jobs[0]
    );
    let refunds = comptoir::billing::refunds::for_payment(&db.store, payment.id)
        .await
        .unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].id, refund.id);
    assert_eq!(refunds[0].status, comptoir::billing::refunds::RefundStatus::Pending);
    let after = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(after.refunded, eur(2_000), "still reserved: {after:?}");
}

on_both_backends!(
    lost_answers_are_found_by_key,
    a_charge_with_no_answer_on_its_last_attempt_is_handed_over,
    a_refund_with_no_answer_stays_reserved
);
