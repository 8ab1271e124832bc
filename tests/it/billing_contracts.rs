//! Deferred-payment contracts: each acceptance rule of an operation, the
//! status transitions, and the ceiling held under concurrent purchases and
//! after the monthly run.

use std::sync::Arc;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use chrono::NaiveDate;
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts::{self, ContractStatus, NewOperation, OperationKind};
use comptoir::billing::invoices;
use comptoir::billing::monthly::{self, ContractOutcome, Period};
use comptoir::billing::{BillingError, Refusal};
use comptoir::money::Money;
use comptoir::store::Store;
use rust_decimal::Decimal;

on_both_backends!(
    inactive_contracts_refuse_operations,
    status_transitions_follow_the_lifecycle,
    revoked_or_lapsed_mandates_refuse_operations,
    ceiling_refund_and_currency_rules,
    concurrent_purchases_cannot_both_slip_under_the_ceiling,
    issued_unpaid_invoices_count_against_the_ceiling,
);

const TODAY: (i32, u32, u32) = (2026, 11, 15);

fn today() -> NaiveDate {
    date(TODAY.0, TODAY.1, TODAY.2)
}

/// Posts `new` and commits the transaction even when it is refused, so that a
/// refusal that wrote anything would show; returns the refusal.
async fn refused(db: &TestDb, contract_id: i64, new: NewOperation, on: NaiveDate) -> Refusal {
    let before = billing_counts(db).await;
    let mut tx = db.store.begin().await.unwrap();
    let err = contracts::post_operation(&mut tx, contract_id, new, on)
        .await
        .expect_err("refused");
    tx.commit().await.unwrap();
    assert_eq!(billing_counts(db).await, before, "a refusal changes nothing");
    match err {
        BillingError::Refused(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn buy(minor: i64) -> NewOperation {
    operation(OperationKind::Purchase, minor, today())
}

fn give_back(minor: i64) -> NewOperation {
    operation(OperationKind::Refund, minor, today())
}

async fn setup(db: &TestDb) -> i64 {
    save_settings(&db.store).await;
    business(&db.store).await.id
}

async fn transition(store: &Store, id: i64, to: ContractStatus) -> Result<ContractStatus, BillingError> {
    let mut tx = store.begin().await.unwrap();
    let c = match to {
        ContractStatus::Suspended => contracts::suspend(&mut tx, id).await,
        ContractStatus::Active => contracts::resume(&mut tx, id).await,
        ContractStatus::Cancelled => contracts::cancel(&mut tx, id).await,
    }?;
    tx.commit().await.unwrap();
    Ok(c.status)
}

async fn inactive_contracts_refuse_operations(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customer = setup(&db).await;
    let c = contract(&db.store, customer, 100_000, date(2026, 9, 1)).await;
    purchase(&db.store, c.id, 10_000, today())
        .await
        .expect("an active contract accepts a purchase");

    transition(&db.store, c.id, ContractStatus::Suspended).await.unwrap();
    let r = refused(&db, c.id, buy(1_000), today()).await;
    assert_eq!(
        r,
        Refusal::ContractNotActive {
            contract: c.id,
            status: "suspended".into()
        }
    );
    let r = refused(&db, c.id, give_back(1_000), today()).await;
    assert_eq!(r.code(), "contract_not_active");

    transition(&db.store, c.id, ContractStatus::Cancelled).await.unwrap();
    let r = refused(&db, c.id, buy(1_000), today()).await;
    assert_eq!(
        r,
        Refusal::ContractNotActive {
            contract: c.id,
            status: "cancelled".into()
        }
    );
    assert!(r.to_string().contains("résilié"), "{r}");
    assert!(r.text().in_lang(comptoir::i18n::Lang::En).contains("cancelled"), "{r}");
    assert_eq!(contracts::list_operations(&db.store, c.id).await.unwrap().len(), 1);
}

async fn status_transitions_follow_the_lifecycle(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customer = setup(&db).await;
    let c = contract(&db.store, customer, 100_000, date(2026, 9, 1)).await;
    assert_eq!(c.status, ContractStatus::Active);

    let err = transition(&db.store, c.id, ContractStatus::Active).await.unwrap_err();
    assert!(
        matches!(err, BillingError::Conflict(ref m) if m.to_string().contains("actif")),
        "resume of an active contract: {err:?}"
    );
    assert_eq!(
        transition(&db.store, c.id, ContractStatus::Suspended).await.unwrap(),
        ContractStatus::Suspended
    );
    assert!(matches!(
        transition(&db.store, c.id, ContractStatus::Suspended).await,
        Err(BillingError::Conflict(_))
    ));
    assert_eq!(
        transition(&db.store, c.id, ContractStatus::Active).await.unwrap(),
        ContractStatus::Active
    );
    purchase(&db.store, c.id, 5_000, today())
        .await
        .expect("a resumed contract accepts purchases again");
    assert_eq!(
        transition(&db.store, c.id, ContractStatus::Cancelled).await.unwrap(),
        ContractStatus::Cancelled
    );
    assert_eq!(
        contracts::get(&db.store, c.id).await.unwrap().status,
        ContractStatus::Cancelled
    );
    for to in [
        ContractStatus::Active,
        ContractStatus::Suspended,
        ContractStatus::Cancelled,
    ] {
        let err = transition(&db.store, c.id, to).await.unwrap_err();
        assert!(
            matches!(err, BillingError::Conflict(_)),
            "cancelled is final ({to:?}): {err:?}"
        );
    }
    assert_eq!(
        contracts::get(&db.store, c.id).await.unwrap().status,
        ContractStatus::Cancelled
    );
    assert!(matches!(
        transition(&db.store, 424_242, ContractStatus::Suspended).await,
        Err(BillingError::NotFound(_))
    ));
}

async fn revoked_or_lapsed_mandates_refuse_operations(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customer = setup(&db).await;

    // Revoked: refused from the revocation date on, not before.
    let c = contract(&db.store, customer, 100_000, date(2026, 9, 1)).await;
    let mut tx = db.store.begin().await.unwrap();
    contracts::revoke_mandate(&mut tx, c.id, date(2026, 12, 1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    purchase(&db.store, c.id, 1_000, today())
        .await
        .expect("a revocation dated later is not yet effective");
    let r = refused(&db, c.id, buy(1_000), date(2026, 12, 1)).await;
    assert_eq!(
        r,
        Refusal::MandateRevoked {
            reference: c.mandate.reference.clone(),
            on: date(2026, 12, 1)
        }
    );

    // Signed 37 months ago and never used: lapsed.
    let old = contract(&db.store, customer, 100_000, date(2023, 10, 15)).await;
    let r = refused(&db, old.id, buy(1_000), today()).await;
    assert_eq!(
        r,
        Refusal::MandateLapsed {
            reference: old.mandate.reference.clone(),
            since: date(2023, 10, 15)
        }
    );
    assert!(r.to_string().contains("36 mois"), "{r}");
    assert!(r.text().in_lang(comptoir::i18n::Lang::En).contains("36 months"), "{r}");
    // 36 months to the day is lapsed too; one day less is not.
    let edge = contract(&db.store, customer, 100_000, date(2023, 11, 15)).await;
    assert_eq!(
        refused(&db, edge.id, buy(1_000), today()).await.code(),
        "mandate_lapsed"
    );
    let young = contract(&db.store, customer, 100_000, date(2023, 11, 16)).await;
    purchase(&db.store, young.id, 1_000, today())
        .await
        .expect("35 months and 30 days: still valid");

    // The same old mandate, debited 2 months ago: alive.
    let mut tx = db.store.begin().await.unwrap();
    contracts::record_debit(&mut tx, old.id, date(2026, 9, 15))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let op = purchase(&db.store, old.id, 1_000, today())
        .await
        .expect("a recently used mandate is valid");
    assert_eq!(op.amount, eur(1_000));
    assert_eq!(
        contracts::get(&db.store, old.id).await.unwrap().mandate.last_debit_on,
        Some(date(2026, 9, 15))
    );
}

async fn ceiling_refund_and_currency_rules(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customer = setup(&db).await;
    let c = contract(&db.store, customer, 100_000, date(2026, 9, 1)).await;

    let r = refused(&db, c.id, buy(100_001), today()).await;
    assert!(matches!(r, Refusal::CeilingExceeded { .. }), "{r:?}");
    assert!(
        r.to_string().contains("1\u{a0}000,00"),
        "the message names the ceiling: {r}"
    );
    purchase(&db.store, c.id, 60_000, today()).await.unwrap();
    purchase(&db.store, c.id, 40_000, today())
        .await
        .expect("reaching the ceiling exactly is allowed");
    let r = refused(&db, c.id, buy(1), today()).await;
    assert_eq!(
        r,
        Refusal::CeilingExceeded {
            outstanding: eur(100_000).format_fr(),
            amount: eur(1).format_fr(),
            ceiling: eur(100_000).format_fr(),
        }
    );

    // Refunds: never more than what is open on the contract.
    let r = refused(&db, c.id, give_back(100_001), today()).await;
    assert_eq!(
        r,
        Refusal::RefundAboveOpen {
            amount: eur(100_001).format_fr(),
            open: eur(100_000).format_fr()
        }
    );
    refund(&db.store, c.id, 30_000, today())
        .await
        .expect("a refund within what is open");
    // The refund made room under the ceiling.
    purchase(&db.store, c.id, 30_000, today())
        .await
        .expect("room made by the refund");
    assert_eq!(refused(&db, c.id, buy(1), today()).await.code(), "ceiling_exceeded");

    // A line in another currency than the contract's.
    let usd = currency("USD");
    let mut new = buy(1_000);
    new.lines.push(op_line(
        "Frais de port",
        Nature::Goods,
        Decimal::ONE,
        Money::new(500, usd),
    ));
    let r = refused(&db, c.id, new, today()).await;
    assert_eq!(
        r,
        Refusal::CurrencyMismatch {
            got: "USD".into(),
            expected: "EUR".into()
        }
    );

    let ops = contracts::list_operations(&db.store, c.id).await.unwrap();
    let kinds: Vec<_> = ops.iter().map(|o| (o.kind, o.amount.minor)).collect();
    assert_eq!(
        kinds,
        [
            (OperationKind::Purchase, 60_000),
            (OperationKind::Purchase, 40_000),
            (OperationKind::Refund, 30_000),
            (OperationKind::Purchase, 30_000),
        ]
    );
}

async fn concurrent_purchases_cannot_both_slip_under_the_ceiling(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customer = setup(&db).await;
    let stores = [db.store.clone(), db.other_store().await];
    // Several rounds, each on a fresh contract, to give the race every chance.
    for round in 0..8 {
        let c = contract(&db.store, customer, 10_000, date(2026, 9, 1)).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = stores
            .iter()
            .cloned()
            .map(|store| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let mut tx = store.begin().await?;
                    let op = contracts::post_operation(
                        &mut tx,
                        c.id,
                        operation(OperationKind::Purchase, 6_000, today()),
                        today(),
                    )
                    .await?;
                    tx.commit().await?;
                    Ok::<_, BillingError>(op)
                })
            })
            .collect();
        let mut accepted = 0;
        let mut refusals = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(BillingError::Refused(r)) => refusals.push(r),
                Err(other) => panic!("round {round}: unexpected error {other:?}"),
            }
        }
        assert_eq!(accepted, 1, "round {round}: exactly one 60 € purchase fits under 100 €");
        assert_eq!(refusals.len(), 1);
        assert!(
            matches!(refusals[0], Refusal::CeilingExceeded { .. }),
            "{:?}",
            refusals[0]
        );
        let ops = contracts::list_operations(&db.store, c.id).await.unwrap();
        assert_eq!(ops.len(), 1, "round {round}");
        assert_eq!(ops[0].amount, eur(6_000));
    }
}

async fn issued_unpaid_invoices_count_against_the_ceiling(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customer = setup(&db).await;
    let c = contract(&db.store, customer, 10_000, date(2026, 9, 1)).await;
    purchase(&db.store, c.id, 6_000, date(2026, 11, 10)).await.unwrap();

    let outcomes = monthly::run(&db.store, Period::parse("2026-11").unwrap(), date(2026, 12, 1))
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    let ContractOutcome::Invoiced {
        invoice_id,
        ref reference,
    } = outcomes[0].1
    else {
        panic!("expected an invoice: {outcomes:?}");
    };
    assert_eq!(reference, "F2026-0001");
    let invoice = invoices::get(&db.store, invoice_id).await.unwrap();
    assert_eq!(invoice.total, eur(6_000));
    assert_eq!(invoice.contract_id, Some(c.id));

    // Nothing is open on the contract any more, but the invoice is unpaid.
    let on = date(2026, 12, 2);
    let r = refused(&db, c.id, operation(OperationKind::Purchase, 5_000, on), on).await;
    assert_eq!(
        r,
        Refusal::CeilingExceeded {
            outstanding: eur(6_000).format_fr(),
            amount: eur(5_000).format_fr(),
            ceiling: eur(10_000).format_fr(),
        }
    );
    purchase(&db.store, c.id, 4_000, on)
        .await
        .expect("60 € unpaid + 40 € = the ceiling");
    assert_eq!(
        refused(&db, c.id, operation(OperationKind::Purchase, 1, on), on)
            .await
            .code(),
        "ceiling_exceeded"
    );

    // A credit note on the invoice lowers what is owed, and so makes room.
    credit(&db.store, invoice_id, Some(eur(1_500)), on).await.unwrap();
    purchase(&db.store, c.id, 1_500, on)
        .await
        .expect("room made by the credit note");
    assert_eq!(
        refused(&db, c.id, operation(OperationKind::Purchase, 1, on), on)
            .await
            .code(),
        "ceiling_exceeded"
    );

    // So does a payment.
    let mut tx = db.store.begin().await.unwrap();
    invoices::apply_payment(&mut tx, invoice_id, eur(4_500)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        invoices::get(&db.store, invoice_id).await.unwrap().status,
        invoices::InvoiceStatus::Paid
    );
    purchase(&db.store, c.id, 4_500, on)
        .await
        .expect("the paid invoice no longer counts");
    assert_eq!(
        refused(&db, c.id, operation(OperationKind::Purchase, 1, on), on)
            .await
            .code(),
        "ceiling_exceeded"
    );
}
