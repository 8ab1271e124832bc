//! Credit notes (factures d'avoir): the only correction of an issued invoice.
//! They cite the original number and date, number in their own series, split
//! a partial amount exactly over goods and services, and never credit more
//! than what remains.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts::{NewOperation, OperationKind};
use comptoir::billing::invoices::{self, InvoiceKind, InvoiceStatus};
use comptoir::billing::ledger::{self, accounts};
use comptoir::billing::monthly::{self, ContractOutcome, Period};
use comptoir::billing::BillingError;
use comptoir::money::Money;
use rust_decimal::Decimal;

on_both_backends!(
    full_credit_cancels_an_unpaid_invoice,
    partial_credits_split_exactly_by_nature,
    over_credit_is_refused_and_changes_nothing,
    drafts_and_credit_notes_cannot_be_credited,
    partial_credit_of_a_monthly_invoice_with_a_refund_line,
    crediting_the_rest_returns_each_nature_exactly,
);

async fn full_credit_cancels_an_unpaid_invoice(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let d = draft(
        &db.store,
        customer.id,
        vec![
            line("Tables en chêne", Nature::Goods, Decimal::new(3, 0), eur(45_000)),
            line("Montage", Nature::Services, Decimal::new(15, 1), eur(6_000)),
        ],
    )
    .await;
    let original = issue(&db.store, d.id, date(2026, 4, 7)).await;
    assert_eq!(original.total, eur(144_000));

    let note = credit(&db.store, original.id, None, date(2026, 4, 20)).await.unwrap();
    assert_eq!(note.kind, InvoiceKind::CreditNote);
    assert_eq!(note.status, InvoiceStatus::Issued);
    assert_eq!(note.reference.as_deref(), Some("AV2026-0001"));
    assert_eq!(note.series.as_deref(), Some("AV2026"));
    assert_eq!(note.credited_invoice_id, Some(original.id));
    assert_eq!(note.customer_id, customer.id);
    assert_eq!(note.total, original.total, "a full credit equals the invoice");
    assert_eq!(note.issue_date, Some(date(2026, 4, 20)));
    assert_eq!(note.reason.as_deref(), Some("Geste commercial"));
    assert_eq!(note.lines.len(), original.lines.len());
    for (credited, orig) in note.lines.iter().zip(&original.lines) {
        assert!(
            credited.description.contains("F2026-0001"),
            "cites the number: {:?}",
            credited.description
        );
        assert!(
            credited.description.contains("07/04/2026"),
            "cites the date: {:?}",
            credited.description
        );
        assert_eq!(
            (credited.nature, credited.quantity, credited.unit_price, credited.total),
            (orig.nature, orig.quantity, orig.unit_price, orig.total)
        );
    }
    let snapshot = note
        .snapshot
        .as_ref()
        .expect("a credit note freezes seller and customer");
    assert_eq!(snapshot.customer.siren.as_deref(), Some(BUSINESS_SIREN));

    let after = invoices::get(&db.store, original.id).await.unwrap();
    assert_eq!(after.status, InvoiceStatus::Cancelled);
    assert_eq!(after.credited, original.total);
    assert_eq!(after.balance_due(), eur(0));
    // Apart from status and credited, the original is untouched.
    assert_eq!(after.reference, original.reference);
    assert_eq!(after.lines, original.lines);

    // The ledger reverses the invoice.
    let receivable = ledger::balance(&db.store, &accounts::receivable(customer.id), "EUR")
        .await
        .unwrap();
    assert_eq!(receivable, 0);
    assert_eq!(
        ledger::balance(&db.store, accounts::REVENUE_GOODS, "EUR")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        ledger::balance(&db.store, accounts::REVENUE_SERVICES, "EUR")
            .await
            .unwrap(),
        0
    );

    // A cancelled invoice cannot be credited again.
    let before = billing_counts(&db).await;
    let err = credit(&db.store, original.id, None, date(2026, 4, 21))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BillingError::Conflict(ref m) if m.to_string().contains("annulée")),
        "{err:?}"
    );
    assert_eq!(billing_counts(&db).await, before);
}

async fn partial_credits_split_exactly_by_nature(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    // 100,00 € of goods and 33,33 € of services.
    let d = draft(
        &db.store,
        customer.id,
        vec![
            line("Savons artisanaux", Nature::Goods, Decimal::new(4, 0), eur(2_500)),
            line("Atelier découverte", Nature::Services, Decimal::ONE, eur(3_333)),
        ],
    )
    .await;
    let original = issue(&db.store, d.id, date(2026, 5, 2)).await;
    assert_eq!(original.total, eur(13_333));

    let mut credited = 0;
    for (i, amount) in [5_000i64, 1, 3_332, 5_000].into_iter().enumerate() {
        let note = credit(&db.store, original.id, Some(eur(amount)), date(2026, 5, 10))
            .await
            .unwrap();
        credited += amount;
        assert_eq!(note.reference, Some(format!("AV2026-{:04}", i + 1)));
        assert_eq!(note.total, eur(amount));
        assert_eq!(
            note.lines.iter().map(|l| l.total.minor).sum::<i64>(),
            amount,
            "lines sum exactly to the amount"
        );
        for l in &note.lines {
            assert!(l.total.minor > 0, "{l:?}");
            assert_eq!(l.unit_price.times(l.quantity).unwrap(), l.total);
            assert!(
                l.description.contains("F2026-0001") && l.description.contains("02/05/2026"),
                "{:?}",
                l.description
            );
        }
        // Each nature gets its share, within one cent.
        for l in &note.lines {
            let share = match l.nature {
                Nature::Goods => 10_000,
                Nature::Services => 3_333,
            };
            let exact = amount as f64 * share as f64 / 13_333.0;
            assert!(
                (l.total.minor as f64 - exact).abs() < 1.0,
                "{:?}: {} for {exact}",
                l.nature,
                l.total.minor
            );
        }
        let after = invoices::get(&db.store, original.id).await.unwrap();
        assert_eq!(after.credited, eur(credited));
        let expected = if credited == 13_333 {
            InvoiceStatus::Cancelled
        } else {
            InvoiceStatus::Issued
        };
        assert_eq!(after.status, expected);
    }
    let note = invoices::by_reference(&db.store, "AV2026-0001").await.unwrap();
    let by_nature = note.totals_by_nature();
    assert_eq!(by_nature, [(Nature::Goods, eur(3_750)), (Nature::Services, eur(1_250))]);

    // Everything credited: revenue is back to zero by nature.
    assert_eq!(
        ledger::balance(&db.store, accounts::REVENUE_GOODS, "EUR")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        ledger::balance(&db.store, accounts::REVENUE_SERVICES, "EUR")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        ledger::balance(&db.store, &accounts::receivable(customer.id), "EUR")
            .await
            .unwrap(),
        0
    );
}

async fn over_credit_is_refused_and_changes_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let d = simple_draft(&db.store, customer.id, 10_000).await;
    let original = issue(&db.store, d.id, date(2026, 6, 1)).await;
    credit(&db.store, original.id, Some(eur(4_000)), date(2026, 6, 2))
        .await
        .unwrap();

    let before = billing_counts(&db).await;
    let original_now = invoices::get(&db.store, original.id).await.unwrap();
    for (amount, field) in [
        (Some(eur(6_001)), "amount"),
        (Some(eur(0)), "amount"),
        (Some(eur(-5)), "amount"),
        (Some(Money::new(100, currency("USD"))), "amount"),
    ] {
        let mut tx = db.store.begin().await.unwrap();
        let err = comptoir::billing::credit_notes::issue(
            &mut tx,
            original.id,
            comptoir::billing::credit_notes::CreditRequest {
                nature: None,
                amount,
                reason: "Erreur".into(),
                issue_date: date(2026, 6, 3),
            },
        )
        .await
        .unwrap_err();
        // Even a caller that commits after the error has written nothing.
        tx.commit().await.unwrap();
        match &err {
            BillingError::Invalid { field: f, message } => {
                assert_eq!(*f, field, "{amount:?}: {message}");
                assert!(err.to_string().starts_with("Montant : "), "{err}");
            }
            other => panic!("{amount:?}: expected Invalid, got {other:?}"),
        }
        assert_eq!(billing_counts(&db).await, before, "{amount:?}");
    }
    let err = credit(&db.store, original.id, Some(eur(6_001)), date(2026, 6, 3))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("60,00"),
        "the message says what remains: {err}"
    );
    let mut tx = db.store.begin().await.unwrap();
    let err = comptoir::billing::credit_notes::issue(
        &mut tx,
        original.id,
        comptoir::billing::credit_notes::CreditRequest {
            nature: None,
            amount: None,
            reason: "   ".into(),
            issue_date: date(2026, 6, 3),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BillingError::Invalid { field: "reason", .. }), "{err:?}");
    drop(tx);
    assert_eq!(billing_counts(&db).await, before);
    assert_eq!(invoices::get(&db.store, original.id).await.unwrap(), original_now);

    // The next credit note takes the next number: nothing was burnt.
    let rest = credit(&db.store, original.id, None, date(2026, 6, 4)).await.unwrap();
    assert_eq!(rest.reference.as_deref(), Some("AV2026-0002"));
    assert_eq!(rest.total, eur(6_000));
    assert_eq!(
        invoices::get(&db.store, original.id).await.unwrap().status,
        InvoiceStatus::Cancelled
    );
}

async fn drafts_and_credit_notes_cannot_be_credited(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let d = simple_draft(&db.store, customer.id, 10_000).await;
    let before = billing_counts(&db).await;
    let err = credit(&db.store, d.id, None, date(2026, 6, 3)).await.unwrap_err();
    assert!(
        matches!(err, BillingError::Conflict(ref m) if m.to_string().contains("brouillon")),
        "{err:?}"
    );
    assert_eq!(billing_counts(&db).await, before);

    let original = issue(&db.store, d.id, date(2026, 6, 3)).await;
    let note = credit(&db.store, original.id, Some(eur(1_000)), date(2026, 6, 4))
        .await
        .unwrap();
    let err = credit(&db.store, note.id, None, date(2026, 6, 5)).await.unwrap_err();
    assert!(matches!(err, BillingError::Conflict(_)), "{err:?}");
    let err = credit(&db.store, 999_999, None, date(2026, 6, 5)).await.unwrap_err();
    assert!(matches!(err, BillingError::NotFound(_)), "{err:?}");
}

/// Per-nature revenue: what was invoiced less what was credited, in EUR.
async fn revenue(db: &TestDb) -> (i64, i64) {
    (
        -ledger::balance(&db.store, accounts::REVENUE_GOODS, "EUR")
            .await
            .unwrap(),
        -ledger::balance(&db.store, accounts::REVENUE_SERVICES, "EUR")
            .await
            .unwrap(),
    )
}

async fn partial_credit_of_a_monthly_invoice_with_a_refund_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let c = contract(&db.store, customer.id, 100_000, date(2026, 9, 1)).await;
    let goods = NewOperation {
        kind: OperationKind::Purchase,
        lines: vec![op_line("Fournitures", Nature::Goods, Decimal::ONE, eur(10_000))],
        occurred_on: date(2026, 11, 5),
    };
    post(&db.store, c.id, goods, date(2026, 11, 5)).await.unwrap();
    // A refund of services (e.g. a cancelled session) netted on the same invoice.
    refund(&db.store, c.id, 3_000, date(2026, 11, 6)).await.unwrap();
    let outcomes = monthly::run(&db.store, Period::parse("2026-11").unwrap(), date(2026, 12, 1))
        .await
        .unwrap();
    let ContractOutcome::Invoiced { invoice_id, .. } = outcomes[0].1 else {
        panic!("{outcomes:?}")
    };
    let original = invoices::get(&db.store, invoice_id).await.unwrap();
    assert_eq!(original.total, eur(7_000));
    assert_eq!(
        original.totals_by_nature(),
        [(Nature::Goods, eur(10_000)), (Nature::Services, eur(-3_000))]
    );
    assert_eq!(revenue(&db).await, (10_000, -3_000));

    // Half of it: the note's lines must add up to its total (and post a balanced ledger transaction).
    let half = credit(&db.store, invoice_id, Some(eur(3_500)), date(2026, 12, 5))
        .await
        .expect("a partial credit of a netted invoice");
    assert_eq!(half.total, eur(3_500));
    assert_eq!(
        half.lines.iter().map(|l| l.total.minor).sum::<i64>(),
        3_500,
        "{:?}",
        half.lines
    );
    assert_eq!(
        half.totals_by_nature(),
        [(Nature::Goods, eur(5_000)), (Nature::Services, eur(-1_500))]
    );

    let rest = credit(&db.store, invoice_id, None, date(2026, 12, 6))
        .await
        .expect("the rest");
    assert_eq!(
        rest.lines.iter().map(|l| l.total.minor).sum::<i64>(),
        3_500,
        "{:?}",
        rest.lines
    );
    assert_eq!(
        invoices::get(&db.store, invoice_id).await.unwrap().status,
        InvoiceStatus::Cancelled
    );
    assert_eq!(
        revenue(&db).await,
        (0, 0),
        "a cancelled invoice leaves no revenue in either nature"
    );
}

async fn crediting_the_rest_returns_each_nature_exactly(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let d = draft(
        &db.store,
        customer.id,
        vec![
            line("Bougies", Nature::Goods, Decimal::ONE, eur(1_000)),
            line("Emballage cadeau", Nature::Services, Decimal::ONE, eur(1_000)),
        ],
    )
    .await;
    let original = issue(&db.store, d.id, date(2026, 3, 2)).await;
    // One odd cent first, then everything that remains.
    let cent = credit(&db.store, original.id, Some(eur(1)), date(2026, 3, 3))
        .await
        .unwrap();
    assert_eq!(cent.lines.len(), 1);
    let rest = credit(&db.store, original.id, None, date(2026, 3, 4)).await.unwrap();
    assert_eq!(rest.total, eur(1_999));
    assert_eq!(
        invoices::get(&db.store, original.id).await.unwrap().status,
        InvoiceStatus::Cancelled
    );
    let mut credited_by_nature = std::collections::BTreeMap::new();
    for note in [&cent, &rest] {
        for (nature, m) in note.totals_by_nature() {
            *credited_by_nature.entry(nature).or_insert(0) += m.minor;
        }
    }
    assert_eq!(
        credited_by_nature.into_iter().collect::<Vec<_>>(),
        [(Nature::Goods, 1_000), (Nature::Services, 1_000)],
        "the credit notes of a cancelled invoice credit each nature exactly what it invoiced"
    );
    assert_eq!(revenue(&db).await, (0, 0));
}
