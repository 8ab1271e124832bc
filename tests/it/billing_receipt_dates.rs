//! The date of a receipt, on every path that sets one: never in a closed
//! period of the livre de recettes, before the invoice or in the future; a
//! week or more back only on the operator's word (or the bank statement's),
//! and then marked `payment.backdated` in the audit trail.

use chrono::{Days, NaiveDate};
use comptoir::audit::{self, Actor, AuditEntry, AuditFilter};
use comptoir::billing::actions::payments::{record_manual, ManualPayment, Recorded};
use comptoir::billing::import::{self, ImportKind, ImportStatus};
use comptoir::billing::invoices::Invoice;
use comptoir::billing::payments::{self, Completion, PaymentMethod, PaymentStatus};
use comptoir::billing::revenue_book;
use comptoir::billing::BillingError;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};

on_both_backends!(
    receipts_are_refused_in_a_closed_period_before_the_invoice_and_in_the_future,
    a_week_back_needs_the_operators_word_and_is_marked,
    a_bank_statement_vouches_for_old_dates_but_not_for_a_closed_period,
);

fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn manual(invoice: &Invoice, on: NaiveDate, confirmed: bool, key: &str) -> ManualPayment {
    ManualPayment {
        invoice_id: invoice.id,
        amount: eur(1_000),
        method: PaymentMethod::Transfer,
        received_on: on,
        confirmed,
        key: key.into(),
    }
}

/// Records `p` as the operator "marie@example.fr" would, committed when accepted.
async fn record(db: &TestDb, p: ManualPayment) -> Result<Recorded, BillingError> {
    let by = Actor {
        operator_id: None,
        name: "marie@example.fr".into(),
        ip: "127.0.0.1".into(),
    };
    let mut tx = db.store.begin().await.unwrap();
    match record_manual(&mut tx, &by, p).await {
        Ok(r) => {
            tx.commit().await.unwrap();
            Ok(r)
        }
        Err(e) => {
            tx.rollback().await.unwrap();
            Err(e)
        }
    }
}

/// The refusal's field and message.
fn refusal(r: Result<Recorded, BillingError>) -> (&'static str, String) {
    match r {
        Err(BillingError::Invalid { field, message }) => (field, message.to_string()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn backdated_entries(db: &TestDb) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        action: Some("payment.backdated".into()),
        limit: 100,
        ..AuditFilter::default()
    };
    audit::list(&db.store, &filter).await.unwrap()
}

async fn receipts_are_refused_in_a_closed_period_before_the_invoice_and_in_the_future(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let today = db.today().await;
    let customer = person(&db.store).await;
    let old = issued(&db.store, customer.id, 50_000, today - Days::new(20)).await;

    // Declared before the period closed, completed after: the job is refused too.
    let Recorded::New { payment: waiting, .. } = record(&db, manual(&old, today - Days::new(9), true, "k-waiting"))
        .await
        .expect("a confirmed date 9 days back")
    else {
        panic!("a new payment");
    };
    let closed = today - Days::new(9);
    close_book_through(&db, closed).await;

    for (on, confirmed) in [
        (closed, false),
        (closed, true),
        (today - Days::new(15), true),
        (old.issue_date.unwrap(), true),
    ] {
        let (field, message) = refusal(record(&db, manual(&old, on, confirmed, "k-closed")).await);
        assert_eq!(field, "received_on", "{on}: {message}");
        assert!(
            message.contains(&fr(on)) && message.contains(&fr(closed)) && message.contains("période close"),
            "{on}: {message}"
        );
    }
    let mut tx = db.store.begin().await.unwrap();
    let done = Completion {
        received_on: today - Days::new(9),
        fee: eur(0),
        provider_reference: None,
    };
    match payments::complete(&mut tx, waiting.id, done).await {
        Err(BillingError::Invalid {
            field: "received_on",
            message,
        }) => {
            assert!(message.to_string().contains(&fr(closed)), "{message}")
        }
        other => panic!("completing in the closed period: {other:?}"),
    }
    tx.rollback().await.unwrap();
    assert_eq!(
        payments::get(&db.store, waiting.id).await.unwrap().status,
        PaymentStatus::Initiated
    );

    // An invoice issued after the closure: not paid before its issue date.
    let recent = issued(&db.store, customer.id, 50_000, today - Days::new(3)).await;
    let (field, message) = refusal(record(&db, manual(&recent, today - Days::new(4), true, "k-early")).await);
    assert_eq!(field, "received_on");
    assert_eq!(
        message,
        format!(
            "le {} est antérieur à l'émission de la facture (le {}) : une facture n'est pas payée avant d'être émise",
            fr(today - Days::new(4)),
            fr(today - Days::new(3))
        )
    );
    // Nor in the future.
    let tomorrow = today + Days::new(1);
    let (field, message) = refusal(record(&db, manual(&recent, tomorrow, true, "k-future")).await);
    assert_eq!(field, "received_on");
    assert!(
        message.starts_with(&format!(
            "le {} est dans le futur (aujourd'hui : {})",
            fr(tomorrow),
            fr(today)
        )),
        "{message}"
    );
    assert_eq!(
        count(&db, "payments").await,
        1,
        "only the payment declared before the closure"
    );

    // The day after the closed period, and the issue date itself, are fine.
    record(&db, manual(&old, closed + Days::new(1), true, "k-after"))
        .await
        .expect("the day after the closed period");
    record(&db, manual(&recent, today - Days::new(3), false, "k-issue-day"))
        .await
        .expect("the issue date");
    assert_eq!(count(&db, "payments").await, 3);
}

async fn a_week_back_needs_the_operators_word_and_is_marked(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let today = db.today().await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 50_000, today - Days::new(30)).await;

    // Six days back: no word needed, nothing marked.
    record(&db, manual(&invoice, today - Days::new(6), false, "k-six"))
        .await
        .expect("six days back");
    assert!(backdated_entries(&db).await.is_empty());

    // A week back: refused without the operator's word, by the field that gives it.
    let week = today - Days::new(7);
    let (field, message) = refusal(record(&db, manual(&invoice, week, false, "k-week")).await);
    assert_eq!(field, "confirm_received_on");
    assert_eq!(
        message,
        format!(
            "le {} est 7 jours avant aujourd'hui : sans confirmation, une recette est datée du {} au plus tôt ; \
             confirmez la date de réception",
            fr(week),
            fr(today - Days::new(6))
        )
    );
    assert_eq!(count(&db, "payments").await, 1, "nothing recorded");

    // Confirmed: recorded, and marked in the same transaction.
    let Recorded::New { payment, .. } = record(&db, manual(&invoice, week, true, "k-week"))
        .await
        .expect("confirmed")
    else {
        panic!("a new payment");
    };
    let marks = backdated_entries(&db).await;
    assert_eq!(marks.len(), 1);
    let mark = &marks[0];
    assert_eq!(
        (mark.actor.as_str(), mark.target.clone()),
        ("marie@example.fr", format!("payment:{}", payment.id))
    );
    assert_eq!(mark.details["received_on"], week.to_string());
    assert_eq!(mark.details["recorded_on"], today.to_string());
    assert_eq!(mark.details["days_back"], 7);
    assert_eq!(mark.details["confirmed_by"], "marie@example.fr");
    assert_eq!(mark.details["reference"], invoice.reference.clone().unwrap());
    assert_eq!(
        mark.details["note"],
        format!(
            "Reçu le {}, enregistré le {} : 7 jours avant, confirmé par marie@example.fr",
            fr(week),
            fr(today)
        )
    );

    // Its job completes it on the confirmed date without asking again.
    let mut tx = db.store.begin().await.unwrap();
    let done = Completion {
        received_on: week,
        fee: eur(0),
        provider_reference: None,
    };
    payments::complete(&mut tx, payment.id, done).await.expect("completes");
    tx.commit().await.unwrap();
    let book = revenue_book::list(&db.store, week, today).await.unwrap();
    assert_eq!(
        book.iter()
            .map(|l| (l.line.received_on, l.line.payment_id))
            .collect::<Vec<_>>(),
        vec![(week, Some(payment.id))]
    );
}

async fn run_statement(db: &TestDb, name: &str, text: &str) -> (i64, import::ImportReport) {
    let path = db.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let registered = import::register(
        &mut tx,
        ImportKind::Payments,
        name,
        &import::sha256_hex(text.as_bytes()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let report = import::run(&db.store, registered.id, &path, |_| {})
        .await
        .expect("the import runs");
    (registered.id, report)
}

async fn a_bank_statement_vouches_for_old_dates_but_not_for_a_closed_period(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let today = db.today().await;
    let customer = person(&db.store).await;
    let a = issued(&db.store, customer.id, 10_000, today - Days::new(40)).await;
    let b = issued(&db.store, customer.id, 10_000, today - Days::new(40)).await;
    let c = issued(&db.store, customer.id, 10_000, today - Days::new(40)).await;
    let (ra, rb, rc) = (
        a.reference.clone().unwrap(),
        b.reference.clone().unwrap(),
        c.reference.clone().unwrap(),
    );
    let old = today - Days::new(20);
    let recent = today - Days::new(1);

    // Twenty days back: accepted without asking, marked like a confirmed date.
    let first = format!(
        "Date;Libellé;Montant\r\n{};VIR DUPONT {ra};100,00\r\n{};VIR DUPONT {rb};100,00\r\n",
        fr(old),
        fr(recent)
    );
    let (first_id, report) = run_statement(&db, "releve-1.csv", &first).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!(report.imported, 2);
    let marks = backdated_entries(&db).await;
    assert_eq!(marks.len(), 1, "the old row only");
    let paid_a = payments::list(
        &db.store,
        &payments::PaymentFilter {
            invoice_id: Some(a.id),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(marks[0].target, format!("payment:{}", paid_a[0].id));
    assert_eq!(marks[0].actor, format!("import:{first_id}"));
    assert_eq!(marks[0].details["days_back"], 20);
    assert_eq!(marks[0].details["received_on"], old.to_string());
    assert_eq!(
        marks[0].details["confirmed_by"],
        format!("le relevé bancaire (import n° {first_id})")
    );

    // The period closes; the next statement overlaps the last one. A row
    // dated tomorrow cannot be read: the file is refused, nothing applied.
    let closed = today - Days::new(5);
    close_book_through(&db, closed).await;
    let in_closed = today - Days::new(6);
    let tomorrow = today + Days::new(1);
    let second = format!(
        "Date;Libellé;Montant\r\n\
         {};VIR DUPONT {ra};100,00\r\n\
         {};VIR DUPONT {rc};100,00\r\n\
         {};CB BOULANGERIE;-3,50\r\n",
        fr(old),
        fr(in_closed),
        fr(in_closed),
    );
    let with_tomorrow = format!("{second}{};VIR DUPONT {rc};5,00\r\n", fr(tomorrow));
    let (_, report) = run_statement(&db, "releve-2.csv", &with_tomorrow).await;
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].line, 5);
    assert!(
        report.errors[0]
            .message
            .contains(&format!("le {} est dans le futur", fr(tomorrow))),
        "{:?}",
        report.errors[0]
    );
    assert_eq!(count(&db, "payments").await, 2, "nothing applied");

    // Without it: the row imported before is skipped, the debit too, and the
    // receipt that would enter the closed period waits for the operator.
    let (_, report) = run_statement(&db, "releve-3.csv", &second).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!((report.imported, report.skipped), (0, 3), "{:?}", report.skips);
    let waiting = &report.skips[1];
    assert_eq!(waiting.line, 3);
    assert!(
        waiting.message.starts_with(&format!(
            "en attente de rapprochement : paie {rc} mais le {}",
            fr(in_closed)
        )) && waiting.message.contains(&fr(closed))
            && waiting.message.contains("période close"),
        "{waiting:?}"
    );
    assert_eq!(count(&db, "payments").await, 2);
    assert_eq!(backdated_entries(&db).await.len(), 1);
}
