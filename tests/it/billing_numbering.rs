//! Invoice numbering (unique, continuous, per series, taken in the issuing
//! transaction) and the immutability of issued invoices, enforced by the
//! database itself.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::invoices::{self, InvoiceKind, InvoiceStatus};
use comptoir::billing::BillingError;
use rust_decimal::Decimal;

on_both_backends!(
    a_later_number_never_carries_an_earlier_date,
    concurrent_issuers_take_numbers_one_to_fifty_without_gap,
    rolled_back_issuance_gives_its_number_back,
    each_year_and_each_kind_has_its_own_series,
    database_refuses_edits_of_an_issued_invoice,
    issuing_twice_conflicts_and_only_drafts_are_deleted,
);

const N: usize = 50;

async fn concurrent_issuers_take_numbers_one_to_fifty_without_gap(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let mut ids = Vec::new();
    for i in 0..N {
        ids.push(simple_draft(&db.store, customer.id, 1_000 + i as i64).await.id);
    }
    // Two handles, as two processes would have: on SQLite they contend for the
    // file's write lock, on PostgreSQL for the series' counter row.
    let stores = [db.store.clone(), db.other_store().await];
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let on = date(2026, 3, 14);
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().copied().enumerate() {
        let store = stores[i % stores.len()].clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = store.begin().await?;
            let invoice = invoices::issue(&mut tx, id, on).await?;
            tx.commit().await?;
            Ok::<_, BillingError>(invoice)
        }));
    }
    let mut numbers = Vec::new();
    let mut references = BTreeSet::new();
    for task in tasks {
        let invoice = task.await.expect("task").expect("every concurrent issuance succeeds");
        assert_eq!(invoice.status, InvoiceStatus::Issued);
        assert_eq!(invoice.series.as_deref(), Some("F2026"));
        let number = invoice.number.expect("number");
        assert_eq!(invoice.reference, Some(format!("F2026-{number:04}")));
        numbers.push(number);
        references.insert(invoice.reference.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=N as i64).collect::<Vec<_>>(), "no gap, no duplicate");
    let expected: BTreeSet<String> = (1..=N).map(|n| format!("F2026-{n:04}")).collect();
    assert_eq!(references, expected);

    // What the database kept agrees with what the issuers were told.
    let filter = invoices::InvoiceFilter {
        limit: 1000,
        ..Default::default()
    };
    let stored = invoices::list(&db.store, &filter).await.unwrap();
    assert_eq!(stored.len(), N);
    let mut stored_numbers: Vec<i64> = stored.iter().map(|i| i.number.expect("issued")).collect();
    stored_numbers.sort_unstable();
    assert_eq!(stored_numbers, (1..=N as i64).collect::<Vec<_>>());
    assert_eq!(
        raw_i64(&db, "SELECT last_number FROM document_series WHERE series = 'F2026'").await,
        N as i64
    );
}

async fn rolled_back_issuance_gives_its_number_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let a = simple_draft(&db.store, customer.id, 10_000).await;
    let b = simple_draft(&db.store, customer.id, 20_000).await;
    let on = date(2026, 5, 2);

    // Explicit rollback.
    let mut tx = db.store.begin().await.unwrap();
    let taken = invoices::issue(&mut tx, a.id, on).await.unwrap();
    assert_eq!(taken.reference.as_deref(), Some("F2026-0001"));
    tx.rollback().await.unwrap();
    let a_after = invoices::get(&db.store, a.id).await.unwrap();
    assert_eq!(a_after.status, InvoiceStatus::Draft);
    assert_eq!(a_after.number, None);
    assert_eq!(a_after.reference, None);

    // A transaction dropped without commit (e.g. an error later in the request) too.
    {
        let mut tx = db.store.begin().await.unwrap();
        let taken = invoices::issue(&mut tx, a.id, on).await.unwrap();
        assert_eq!(taken.number, Some(1));
    }
    assert_eq!(
        count(&db, "ledger_entries").await,
        0,
        "a rolled-back issuance posts nothing"
    );

    let first = issue(&db.store, b.id, on).await;
    assert_eq!(first.number, Some(1), "the rolled-back number is given back");
    assert_eq!(first.reference.as_deref(), Some("F2026-0001"));
    let second = issue(&db.store, a.id, on).await;
    assert_eq!(second.reference.as_deref(), Some("F2026-0002"));
}

async fn each_year_and_each_kind_has_its_own_series(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let mut issued = Vec::new();
    for (minor, on) in [
        (5_000, date(2026, 12, 30)),
        (6_000, date(2026, 12, 31)),
        (7_000, date(2027, 1, 2)),
    ] {
        let d = simple_draft(&db.store, customer.id, minor).await;
        issued.push(issue(&db.store, d.id, on).await);
    }
    let refs: Vec<_> = issued.iter().map(|i| i.reference.clone().unwrap()).collect();
    assert_eq!(refs, ["F2026-0001", "F2026-0002", "F2027-0001"]);
    assert_eq!(issued[2].series.as_deref(), Some("F2027"));
    assert_eq!(issued[2].number, Some(1), "a new year starts a new series at 1");
    // Due date: issue date + 30 days of payment terms.
    assert_eq!(issued[2].due_date, Some(date(2027, 2, 1)));

    let n1 = credit(&db.store, issued[0].id, Some(eur(1_000)), date(2027, 1, 3))
        .await
        .unwrap();
    let n2 = credit(&db.store, issued[1].id, Some(eur(1_000)), date(2027, 1, 4))
        .await
        .unwrap();
    assert_eq!(n1.kind, InvoiceKind::CreditNote);
    assert_eq!(
        n1.reference.as_deref(),
        Some("AV2027-0001"),
        "credit notes number in their own series"
    );
    assert_eq!(n2.reference.as_deref(), Some("AV2027-0002"));
    // The invoice series is not disturbed by credit notes.
    let d = simple_draft(&db.store, customer.id, 8_000).await;
    assert_eq!(
        issue(&db.store, d.id, date(2027, 1, 5)).await.reference.as_deref(),
        Some("F2027-0002")
    );
    let series: Vec<(String, i64)> = {
        let mut out = Vec::new();
        for s in ["F2026", "F2027", "AV2027"] {
            out.push((
                s.to_string(),
                raw_i64(
                    &db,
                    &format!("SELECT last_number FROM document_series WHERE series = '{s}'"),
                )
                .await,
            ));
        }
        out
    };
    assert_eq!(series, [("F2026".into(), 2), ("F2027".into(), 2), ("AV2027".into(), 2)]);
}

/// Every statement must be refused by the database itself, whoever runs it.
async fn assert_refused(db: &TestDb, sql: &str, needle: &str) {
    match raw_execute(db, sql).await {
        Ok(n) => panic!("{:?}: the database accepted {sql:?} ({n} rows)", db.backend),
        Err(message) => assert!(
            message.contains(needle),
            "{sql:?} refused with {message:?}, expected {needle:?}"
        ),
    }
}

async fn database_refuses_edits_of_an_issued_invoice(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let d = draft(
        &db.store,
        customer.id,
        vec![
            line("Panier de légumes", Nature::Goods, Decimal::new(2, 0), eur(1_250)),
            line("Livraison", Nature::Services, Decimal::ONE, eur(500)),
        ],
    )
    .await;
    let issued = issue(&db.store, d.id, date(2026, 6, 1)).await;
    assert_eq!(issued.total, eur(3_000));
    let other_draft = simple_draft(&db.store, customer.id, 4_200).await;
    let id = issued.id;

    for sql in [
        format!("UPDATE invoices SET total_minor = 1 WHERE id = {id}"),
        "UPDATE invoices SET total_minor = 1".to_string(),
        format!("UPDATE invoices SET reference = 'F2026-9999' WHERE id = {id}"),
        format!("UPDATE invoices SET issue_date = '2026-01-01' WHERE id = {id}"),
        format!("UPDATE invoices SET customer_id = customer_id + 0, status = 'draft', series = NULL, number = NULL, reference = NULL WHERE id = {id}"),
        // The data of 0008: the service date set at issue, and the rest.
        format!("UPDATE invoices SET service_date = '2026-05-01' WHERE id = {id}"),
        format!("UPDATE invoices SET service_date = NULL WHERE id = {id}"),
        format!("UPDATE invoices SET service_period_start = '2026-05-01', service_period_end = '2026-05-31' WHERE id = {id}"),
        format!("UPDATE invoices SET purchase_order = 'BC-1' WHERE id = {id}"),
        format!("UPDATE invoices SET delivery_address = '{{\"lines\":[\"x\"],\"postcode\":\"75001\",\"city\":\"Paris\",\"country\":\"FR\"}}' WHERE id = {id}"),
    ] {
        assert_refused(&db, &sql, "immutable").await;
    }
    assert_eq!(
        issued.service_date,
        Some(date(2026, 6, 1)),
        "a draft without a service date is dated by its issue"
    );
    for sql in [
        format!("DELETE FROM invoices WHERE id = {id}"),
        "DELETE FROM invoices".to_string(),
    ] {
        assert_refused(&db, &sql, "cannot be deleted").await;
    }
    for sql in [
        format!("UPDATE invoice_lines SET total_minor = 1 WHERE invoice_id = {id}"),
        format!("UPDATE invoice_lines SET description = 'autre chose' WHERE invoice_id = {id} AND position = 1"),
        format!(
            "INSERT INTO invoice_lines (invoice_id, position, description, nature, quantity, unit_price_minor, total_minor)
             VALUES ({id}, 3, 'Ajout', 'goods', '1', 100, 100)"
        ),
        format!("DELETE FROM invoice_lines WHERE invoice_id = {id}"),
    ] {
        assert_refused(&db, &sql, "immutable").await;
    }
    assert_refused(&db, "UPDATE ledger_entries SET amount_minor = 0", "never changed").await;
    assert_refused(&db, "DELETE FROM ledger_entries", "never changed").await;

    let after = invoices::get(&db.store, id).await.unwrap();
    assert_eq!(after, issued, "the issued invoice is exactly as issued");
    assert_eq!(
        invoices::get(&db.store, other_draft.id).await.unwrap(),
        other_draft,
        "the draft was not touched either"
    );

    // The guards aim at issued invoices only: a draft's lines can be edited,
    // and what legitimately moves on an issued invoice (sent_at) still moves.
    let n = raw_execute(
        &db,
        &format!(
            "UPDATE invoice_lines SET description = 'Audit' WHERE invoice_id = {}",
            other_draft.id
        ),
    )
    .await
    .expect("a draft's lines may change");
    assert_eq!(n, 1);
    let n = raw_execute(
        &db,
        &format!(
            "UPDATE invoices SET purchase_order = 'BC-7', service_date = '2026-05-01' WHERE id = {}",
            other_draft.id
        ),
    )
    .await
    .expect("a draft's details may change");
    assert_eq!(n, 1);
    let mut tx = db.store.begin().await.unwrap();
    invoices::mark_sent(&mut tx, id, chrono::Utc::now())
        .await
        .expect("sending is recorded on an issued invoice");
    tx.commit().await.unwrap();
    assert!(invoices::get(&db.store, id).await.unwrap().sent_at.is_some());
}

async fn issuing_twice_conflicts_and_only_drafts_are_deleted(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let d = simple_draft(&db.store, customer.id, 9_900).await;
    let issued = issue(&db.store, d.id, date(2026, 7, 1)).await;

    let mut tx = db.store.begin().await.unwrap();
    let err = invoices::issue(&mut tx, d.id, date(2026, 7, 2)).await.unwrap_err();
    assert!(
        matches!(err, BillingError::Conflict(ref m) if m.to_string().contains("F2026-0001")),
        "{err:?}"
    );
    let err = invoices::delete_draft(&mut tx, d.id).await.unwrap_err();
    assert!(matches!(err, BillingError::Conflict(_)), "{err:?}");
    tx.commit().await.unwrap();
    assert_eq!(invoices::get(&db.store, d.id).await.unwrap(), issued);
    assert_eq!(
        raw_i64(&db, "SELECT last_number FROM document_series WHERE series = 'F2026'").await,
        1
    );

    let other = simple_draft(&db.store, customer.id, 1_500).await;
    let mut tx = db.store.begin().await.unwrap();
    invoices::delete_draft(&mut tx, other.id)
        .await
        .expect("a draft can be deleted");
    tx.commit().await.unwrap();
    assert!(matches!(
        invoices::get(&db.store, other.id).await,
        Err(BillingError::NotFound(_))
    ));
    assert_eq!(
        raw_i64(
            &db,
            &format!("SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = {}", other.id)
        )
        .await,
        0
    );

    let mut tx = db.store.begin().await.unwrap();
    let err = invoices::delete_draft(&mut tx, other.id).await.unwrap_err();
    assert!(matches!(err, BillingError::NotFound(_)), "{err:?}");
    let err = invoices::issue(&mut tx, 987_654, date(2026, 7, 2)).await.unwrap_err();
    assert!(matches!(err, BillingError::NotFound(_)), "{err:?}");
}

async fn a_later_number_never_carries_an_earlier_date(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let first = simple_draft(&db.store, customer.id, 1_000).await;
    let late = simple_draft(&db.store, customer.id, 2_000).await;
    assert_eq!(
        issue(&db.store, first.id, date(2026, 3, 10)).await.reference.as_deref(),
        Some("F2026-0001")
    );

    let mut tx = db.store.begin().await.unwrap();
    let err = invoices::issue(&mut tx, late.id, date(2026, 3, 9)).await.unwrap_err();
    assert!(
        matches!(&err, BillingError::Conflict(m) if m.to_string().contains("10/03/2026")),
        "{err:?}"
    );
    drop(tx);

    // Refused, and no number burned: the same day (or later) takes 0002.
    let issued = issue(&db.store, late.id, date(2026, 3, 10)).await;
    assert_eq!(issued.reference.as_deref(), Some("F2026-0002"));
}
