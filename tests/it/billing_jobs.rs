//! The billing job kinds run by a real worker with the product's registry.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::worker::{app_context, drain_app, drain_app_ok};
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts::{self, NewOperation, OperationKind};
use comptoir::billing::invoices::{self, InvoiceFilter};
use comptoir::billing::jobs::{book, monthly_run, orders as order_jobs};
use comptoir::billing::orders::{self, NewOrder, OrderItem, OrderStatus};
use comptoir::jobs::{enqueue_now, EnqueueOptions, Inserted};
use rust_decimal::Decimal;

async fn purchase(db: &TestDb, contract_id: i64, minor: i64) {
    let mut tx = db.store.begin().await.unwrap();
    contracts::post_operation(
        &mut tx,
        contract_id,
        NewOperation {
            kind: OperationKind::Purchase,
            lines: vec![op_line("Abonnement", Nature::Services, Decimal::ONE, eur(minor))],
            occurred_on: date(2026, 10, 15),
        },
        date(2026, 10, 15),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn monthly_run_fans_out_one_invoice_per_contract(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let a = person(&db.store).await;
    // Both have an e-mail address: the monthly run also e-mails each invoice.
    let b = create_customer(&db.store, person_input("Léa Roux")).await;
    let ca = contract(&db.store, a.id, 100_000, date(2026, 1, 10)).await;
    let cb = contract(&db.store, b.id, 100_000, date(2026, 1, 10)).await;
    purchase(&db, ca.id, 1_500).await;
    purchase(&db, cb.id, 2_500).await;
    purchase(&db, cb.id, 500).await;

    let run = monthly_run::MonthlyRun {
        period: Some("2026-10".into()),
    };
    enqueue_now(&db.store, &run, EnqueueOptions::new()).await.unwrap();
    let report = drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!(
        report.completed, 6,
        "the run, one job per contract, one e-mail per invoice, the operator's summary: {report:?}"
    );
    let all = invoices::list(
        &db.store,
        &InvoiceFilter {
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut totals: Vec<(Option<i64>, i64)> = all.iter().map(|i| (i.contract_id, i.total.minor)).collect();
    totals.sort();
    assert_eq!(totals, vec![(Some(ca.id), 1_500), (Some(cb.id), 3_000)]);
    assert!(all
        .iter()
        .all(|i| i.period.as_deref() == Some("2026-10") && i.reference.is_some()));

    // A second run for the same month finds nothing more to do.
    enqueue_now(&db.store, &run, EnqueueOptions::new()).await.unwrap();
    drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!(
        invoices::list(
            &db.store,
            &InvoiceFilter {
                limit: 100,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .len(),
        2
    );
}

async fn revenue_book_is_generated_and_kept_for_download(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let mut tx = db.store.begin().await.unwrap();
    let first = book::request(&mut tx, "2026-Q4").await.unwrap();
    let again = book::request(&mut tx, "2026-q4").await;
    tx.commit().await.unwrap();
    assert!(matches!(first, Inserted::New(_)));
    // Same period the same day: the same job (the period is normalised first).
    assert!(
        matches!(again, Ok(Inserted::Duplicate(id)) if id == first.id()) || again.is_err(),
        "{again:?}"
    );
    drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    let csv = book::latest(&db.store, "2026-Q4", "csv")
        .await
        .unwrap()
        .expect("csv kept");
    let pdf = book::latest(&db.store, "2026-Q4", "pdf")
        .await
        .unwrap()
        .expect("pdf kept");
    assert!(csv.content.starts_with(b"\xEF\xBB\xBFDate;Client;"));
    assert!(pdf.content.starts_with(b"%PDF"));
    assert_eq!(pdf.filename, "livre-de-recettes-2026-Q4.pdf");
    assert_eq!(csv.sha256.len(), 64);

    // Asked again with the book unchanged: the same job. Once a receipt is
    // written, the book has changed and may be generated anew.
    let customer = person(&db.store).await;
    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(
        book::request(&mut tx, "2026-Q4").await.unwrap(),
        Inserted::Duplicate(first.id())
    );
    comptoir::billing::revenue_book::append(
        &mut tx,
        comptoir::billing::revenue_book::NewBookLine {
            received_on: date(2026, 11, 23),
            customer_id: customer.id,
            client_name: customer.name.clone(),
            nature: comptoir::billing::catalog::Nature::Services,
            amount: eur(5_000),
            method: "transfer".into(),
            invoice_reference: "F2026-0001".into(),
            credit_note_reference: None,
            payment_id: None,
            refund_id: None,
        },
    )
    .await
    .unwrap();
    assert!(matches!(book::request(&mut tx, "2026-Q4").await.unwrap(), Inserted::New(id) if id != first.id()));
    tx.commit().await.unwrap();

    // A period that does not exist is refused before anything is queued.
    let mut tx = db.store.begin().await.unwrap();
    assert!(book::request(&mut tx, "2026-Q7").await.is_err());
}

async fn unpaid_order_expires_and_paid_order_stays(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let c = person(&db.store).await;
    let mut tx = db.store.begin().await.unwrap();
    comptoir::billing::catalog::create(
        &mut tx,
        comptoir::billing::catalog::NewProduct {
            sku: "MUG".into(),
            name: "Mug".into(),
            nature: Nature::Goods,
            unit_price: eur(1_200),
            unit: None,
        },
    )
    .await
    .unwrap();
    let order = orders::create(
        &mut tx,
        NewOrder {
            customer_id: c.id,
            items: vec![OrderItem {
                sku: "MUG".into(),
                quantity: 2,
            }],
        },
    )
    .await
    .unwrap();
    // The payer was sent to approve the payment and never came back.
    let waiting = comptoir::billing::payments::initiate(
        &mut tx,
        order_payment(
            &order,
            "paypal",
            comptoir::billing::payments::PaymentMethod::Paypal,
            "checkout-expired",
        ),
    )
    .await
    .unwrap();
    comptoir::billing::payments::await_approval(
        &mut tx,
        waiting.id,
        "5O190127TN364715T",
        "https://paypal.test/approve",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    enqueue_now(
        &db.store,
        &order_jobs::ExpireOrder { order_id: order.id },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    // A job for an order that does not exist is discarded with a readable error, not retried.
    let missing = enqueue_now(
        &db.store,
        &order_jobs::ExpireOrder { order_id: 999_999 },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    let report = drain_app(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!((report.completed, report.discarded), (1, 1), "{report:?}");
    assert_eq!(
        orders::get(&db.store, order.id).await.unwrap().status,
        OrderStatus::Expired
    );
    let waiting = comptoir::billing::payments::get(&db.store, waiting.id).await.unwrap();
    assert_eq!(waiting.status, comptoir::billing::payments::PaymentStatus::Failed);
    let job = db.store.get_job(missing.id()).await.unwrap();
    assert!(
        job.errors[0].error.contains("order 999999 introuvable"),
        "{:?}",
        job.errors
    );
}

on_both_backends!(
    monthly_run_fans_out_one_invoice_per_contract,
    revenue_book_is_generated_and_kept_for_download,
    unpaid_order_expires_and_paid_order_stays,
);

async fn issue_for(db: &TestDb, customer_id: i64, on: chrono::NaiveDate) -> comptoir::billing::invoices::Invoice {
    let draft = simple_draft(&db.store, customer_id, 4_200).await;
    issue(&db.store, draft.id, on).await
}

async fn invoice_email_and_dunning_run_as_jobs(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let today = chrono::Utc::now().date_naive();
    // Issued 40 days ago, due 30 days later: 10 days late, reminder level 1.
    let late = issue_for(&db, customer.id, today - chrono::Days::new(40)).await;
    let fresh = issue_for(&db, customer.id, today).await;

    enqueue_now(
        &db.store,
        &comptoir::billing::jobs::emails::SendInvoiceEmail { invoice_id: fresh.id },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    enqueue_now(
        &db.store,
        &comptoir::billing::jobs::dunning::Dunning::default(),
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    let report = drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!(report.completed, 3, "invoice e-mail, dunning, one reminder: {report:?}");

    let sent = comptoir::mail::for_invoice(&db.store, fresh.id).await.unwrap();
    assert_eq!(sent.len(), 1);
    assert!(invoices::get(&db.store, fresh.id).await.unwrap().sent_at.is_some());
    let reminders = comptoir::mail::for_invoice(&db.store, late.id).await.unwrap();
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0].kind, "reminder_1");
    let files = std::fs::read_dir(db.dir.path().join("mail")).unwrap().count();
    assert_eq!(files, 2, "two .eml files written by the default transport");

    // The next day's dunning sends nothing new for the same level.
    enqueue_now(
        &db.store,
        &comptoir::billing::jobs::dunning::Dunning::default(),
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!(comptoir::mail::for_invoice(&db.store, late.id).await.unwrap().len(), 1);

    // Paid meanwhile: a pending reminder is cancelled, not sent.
    let mut tx = db.store.begin().await.unwrap();
    comptoir::billing::invoices::apply_payment(&mut tx, late.id, eur(4_200))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let job = enqueue_now(
        &db.store,
        &comptoir::billing::jobs::emails::SendReminder {
            invoice_id: late.id,
            level: 2,
        },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    let report = drain_app(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!(report.cancelled, 1, "{report:?}");
    assert_eq!(
        db.store.get_job(job.id()).await.unwrap().state,
        comptoir::jobs::JobState::Cancelled
    );
    assert_eq!(comptoir::mail::for_invoice(&db.store, late.id).await.unwrap().len(), 1);
}

mod mail_jobs {
    use super::*;
    on_both_backends!(invoice_email_and_dunning_run_as_jobs);
}

async fn csv_import_runs_as_a_job_with_progress(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    // Windows-1252, ';', as a French spreadsheet saves it.
    let (text, _, _) = encoding_rs::WINDOWS_1252.encode(
        "Type;Nom;E-mail;Adresse;SIREN\r\nparticulier;Hélène Dupré;helene@example.fr;3 rue de l'Église, 69002 Lyon;\r\nentreprise;Café Zoé SARL;;5 quai Saône, 69005 Lyon;552100554\r\n",
    );
    let file = db.dir.path().join("clients.csv");
    std::fs::write(&file, &text).unwrap();
    let import = comptoir::billing::jobs::import::start(
        &db.store,
        db.dir.path(),
        comptoir::billing::import::ImportKind::Customers,
        &file,
    )
    .await
    .unwrap();
    drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    let done = comptoir::billing::import::get(&db.store, import.id).await.unwrap();
    assert_eq!((done.imported_rows, done.skipped_rows), (2, 0), "{done:?}");
    let names: Vec<String> = comptoir::billing::customers::list(&db.store, 10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(
        names.contains(&"Hélène Dupré".to_string()) && names.contains(&"Café Zoé SARL".to_string()),
        "{names:?}"
    );
    let job = db.store.get_job(done.job_id.expect("job attached")).await.unwrap();
    assert_eq!(job.progress, Some(serde_json::json!({ "done": 2, "total": 2 })));

    // A file with a bad row is refused whole: the job ends cancelled, the report names the line.
    let bad = db.dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "Type;Nom;E-mail;Adresse;SIREN\nentreprise;X SA;;1 rue A;123456789\n",
    )
    .unwrap();
    let refused = comptoir::billing::jobs::import::start(
        &db.store,
        db.dir.path(),
        comptoir::billing::import::ImportKind::Customers,
        &bad,
    )
    .await
    .unwrap();
    let report = drain_app(&db.store, &app_context(&db, |_| None)).await;
    assert_eq!(report.cancelled, 1, "{report:?}");
    let refused = comptoir::billing::import::get(&db.store, refused.id).await.unwrap();
    assert_eq!(refused.errors.len(), 1);
    assert_eq!(refused.errors[0].line, 2, "{:?}", refused.errors);
    assert_eq!(
        comptoir::billing::customers::list(&db.store, 10, None)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn contract_invoice_is_emailed_then_debited_after_prenotification(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let c = contract(&db.store, customer.id, 100_000, date(2026, 1, 10)).await;
    purchase(&db, c.id, 3_000).await;
    enqueue_now(
        &db.store,
        &monthly_run::MonthlyRun {
            period: Some("2026-10".into()),
        },
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    let invoice = invoices::list(
        &db.store,
        &InvoiceFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .remove(0);
    assert!(
        invoice.sent_at.is_some(),
        "the invoice (the SEPA pre-notification) is e-mailed at once"
    );
    let sepa = db
        .store
        .list_jobs(&comptoir::jobs::JobFilter {
            kind: Some("billing.charge_sepa".into()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sepa.len(), 1);
    assert_eq!(sepa[0].state, comptoir::jobs::JobState::Scheduled);
    let wait = sepa[0].run_at - sepa[0].created_at;
    assert!(
        (13..=14).contains(&wait.num_days()),
        "debit after the pre-notification delay: {wait}"
    );

    // The operator runs it now: the debit goes through the (simulated) provider.
    db.store.retry_job(sepa[0].id).await.unwrap();
    drain_app_ok(&db.store, &app_context(&db, |_| None)).await;
    let paid = invoices::get(&db.store, invoice.id).await.unwrap();
    assert_eq!(paid.status, comptoir::billing::invoices::InvoiceStatus::Paid);
    let contract = contracts::get(&db.store, c.id).await.unwrap();
    assert_eq!(
        contract.mandate.last_debit_on,
        Some(db.store.now().await.unwrap().date_naive()),
        "the mandate was used"
    );
    let payment = comptoir::billing::payments::list(&db.store, &Default::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(payment.method, comptoir::billing::payments::PaymentMethod::SepaDebit);
}

mod more_jobs {
    use super::*;
    on_both_backends!(
        csv_import_runs_as_a_job_with_progress,
        contract_invoice_is_emailed_then_debited_after_prenotification
    );
}
