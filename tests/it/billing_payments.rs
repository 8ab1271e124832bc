//! Payments, refunds and the ledger they post to: an order priced by the
//! server and paid through a payment that issues and settles its invoice;
//! refunds that never exceed what was paid (even when two race), each with a
//! credit note and a negative livre de recettes line; a double-entry ledger
//! that always sums to zero and keeps each customer's receivable exact.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use chrono::{Days, NaiveDate};
use comptoir::billing::catalog::{self, Nature, NewProduct};
use comptoir::billing::invoices::{self, Invoice, InvoiceFilter, InvoiceKind, InvoiceStatus};
use comptoir::billing::ledger::{self, accounts};
use comptoir::billing::orders::{self, OrderStatus};
use comptoir::billing::payments::{self, Payment, PaymentFilter, PaymentMethod, PaymentStatus};
use comptoir::billing::refunds::{self, Refund, RefundStatus};
use comptoir::billing::revenue_book::{self, BookLine};
use comptoir::billing::BillingError;
use comptoir::money::{Currency, Money};
use comptoir::store::Store;
use rust_decimal::Decimal;

on_both_backends!(
    order_is_priced_by_the_server_and_its_payment_issues_and_settles_the_invoice,
    partial_then_full_refund_with_credit_notes_and_negative_book_lines,
    concurrent_refunds_never_exceed_the_payment_and_a_failed_refund_releases_its_reservation,
    ledger_sums_to_zero_and_receivables_match_invoices_and_refunds,
    randomized_payments_and_refunds_keep_the_ledger_invariants,
    invalid_payments_and_refunds_are_refused,
    an_order_is_paid_only_by_its_customer_and_its_own_total,
);

// ---------------------------------------------------------------- fixtures

const MUG: &str = "MUG-01";
const AUDIT: &str = "AUDIT";
const OLD: &str = "OLD-POSTER";

/// A goods product (12,50 €), a services product (349,99 €) and an inactive goods product.
async fn catalogue(store: &Store) {
    products(
        store,
        &[
            (MUG, "Mug émaillé", Nature::Goods, 1_250),
            (AUDIT, "Audit de site", Nature::Services, 34_999),
            (OLD, "Affiche ancienne", Nature::Goods, 900),
        ],
    )
    .await;
    retire(store, OLD).await;
}

/// Initiates and completes a payment of `amount` on an invoice.
#[allow(clippy::too_many_arguments)]
async fn pay_invoice(
    store: &Store,
    invoice: &Invoice,
    amount: i64,
    provider: &str,
    method: PaymentMethod,
    on: NaiveDate,
    fee: i64,
    key: &str,
) -> Payment {
    let p = initiate(store, invoice_payment(invoice, provider, method, eur(amount), key))
        .await
        .expect("valid payment");
    complete(store, p.id, on, fee).await.expect("completes")
}

async fn refund_now(
    store: &Store,
    payment_id: i64,
    minor: i64,
    key: &str,
    on: NaiveDate,
) -> Result<Refund, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let r = refunds::refund_now(&mut tx, payment_id, eur(minor), "Retour client", key, on).await?;
    tx.commit().await.expect("commit");
    Ok(r)
}

async fn begin_refund(store: &Store, payment_id: i64, minor: i64, key: &str) -> Result<Refund, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let r = refunds::begin(&mut tx, payment_id, eur(minor), "Retour client", key).await?;
    tx.commit().await.expect("commit");
    Ok(r)
}

async fn complete_refund(store: &Store, refund_id: i64, on: NaiveDate) -> Result<Refund, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let r = refunds::complete(&mut tx, refund_id, on, Some("re_sim")).await?;
    tx.commit().await.expect("commit");
    Ok(r)
}

async fn fail_refund(store: &Store, refund_id: i64) -> Refund {
    let mut tx = store.begin().await.expect("begin");
    let r = refunds::fail(&mut tx, refund_id, "carte expirée").await.expect("fail");
    tx.commit().await.expect("commit");
    r
}

async fn book(store: &Store) -> Vec<BookLine> {
    revenue_book::list(store, date(2000, 1, 1), date(2100, 12, 31))
        .await
        .expect("book")
}

fn balance_of(balances: &[ledger::AccountBalance], account: &str) -> i64 {
    balances
        .iter()
        .filter(|b| b.account == account && b.currency == "EUR")
        .map(|b| b.balance_minor)
        .sum()
}

/// Row counts of everything a payment or a refund may write.
async fn money_counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "orders",
        "payments",
        "refunds",
        "invoices",
        "invoice_lines",
        "revenue_book",
        "ledger_transactions",
        "ledger_entries",
    ] {
        out.push((table, count(db, table).await));
    }
    out
}

/// Sum of all balances is zero in every currency.
fn assert_zero_sum(balances: &[ledger::AccountBalance], context: &str) {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for b in balances {
        *sums.entry(b.currency.as_str()).or_default() += b.balance_minor;
    }
    for (currency, sum) in sums {
        assert_eq!(
            sum, 0,
            "{context}: the ledger does not balance in {currency}: {balances:?}"
        );
    }
}

/// What a customer's receivable must be, from the documents alone:
/// Σ over issued invoices (total − paid − credited) + Σ completed refunds.
///
/// From the postings: an invoice debits the receivable by its total, a credit
/// note credits it by its total (the sum of an invoice's `credited`), a
/// received payment credits it by its amount (the sum of an invoice's
/// `paid`), and a completed refund debits it again.
async fn expected_receivable(store: &Store, customer_id: i64) -> i64 {
    let filter = InvoiceFilter {
        customer_id: Some(customer_id),
        limit: 1000,
        ..Default::default()
    };
    let mut due = 0;
    for i in invoices::list(store, &filter).await.expect("invoices") {
        if i.kind == InvoiceKind::Invoice && i.status != InvoiceStatus::Draft {
            due += i.total.minor - i.paid.minor - i.credited.minor;
        }
    }
    let filter = PaymentFilter {
        customer_id: Some(customer_id),
        limit: 1000,
        ..Default::default()
    };
    let mut refunded = 0;
    for p in payments::list(store, &filter).await.expect("payments") {
        for r in refunds::for_payment(store, p.id).await.expect("refunds") {
            if r.status == RefundStatus::Completed {
                refunded += r.amount.minor;
            }
        }
    }
    due + refunded
}

async fn assert_receivables(store: &Store, customers: &[i64], context: &str) {
    let balances = ledger::balances(store).await.expect("balances");
    assert_zero_sum(&balances, context);
    for &c in customers {
        assert_eq!(
            balance_of(&balances, &accounts::receivable(c)),
            expected_receivable(store, c).await,
            "{context}: receivable of customer {c}"
        );
    }
}

// ------------------------------------------------------------------- tests

async fn order_is_priced_by_the_server_and_its_payment_issues_and_settles_the_invoice(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    catalogue(&db.store).await;
    let customer = person(&db.store).await;

    // Refused orders write nothing.
    let unknown = order(&db.store, customer.id, &[(MUG, 1), ("NO-SUCH-SKU", 1)]).await;
    assert!(
        matches!(unknown, Err(BillingError::NotFound(ref m)) if m.contains("NO-SUCH-SKU")),
        "{unknown:?}"
    );
    let zero = order(&db.store, customer.id, &[(MUG, 0)]).await;
    assert!(
        matches!(
            zero,
            Err(BillingError::Invalid {
                field: "items.quantity",
                ..
            })
        ),
        "{zero:?}"
    );
    let inactive = order(&db.store, customer.id, &[(AUDIT, 1), (OLD, 2)]).await;
    assert!(
        matches!(inactive, Err(BillingError::Invalid { field: "items.sku", ref message }) if message.to_string().contains(OLD)),
        "{inactive:?}"
    );
    let nobody = order(&db.store, 999_999, &[(MUG, 1)]).await;
    assert!(matches!(nobody, Err(BillingError::NotFound(_))), "{nobody:?}");
    assert_eq!(count(&db, "orders").await, 0);

    // 3 × 12,50 + 2 × 349,99 = 37,50 + 699,98 = 737,48 €, computed by the server.
    let o = order(&db.store, customer.id, &[(MUG, 3), (AUDIT, 2)])
        .await
        .expect("valid order");
    assert_eq!(o.total, eur(73_748));
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.invoice_id, None);
    let lines: Vec<(&str, Nature, u32, i64, i64)> = o
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.nature, l.quantity, l.unit_price.minor, l.total.minor))
        .collect();
    assert_eq!(
        lines,
        [
            (MUG, Nature::Goods, 3, 1_250, 3_750),
            (AUDIT, Nature::Services, 2, 34_999, 69_998)
        ]
    );
    assert_eq!(orders::get(&db.store, o.id).await.unwrap(), o);

    // Initiating twice with one key (a retried checkout) records one payment.
    let new = || {
        new_payment(
            customer.id,
            None,
            Some(o.id),
            "simulated",
            PaymentMethod::Card,
            o.total,
            "checkout-42",
        )
    };
    let first = initiate(&db.store, new()).await.expect("initiate");
    let again = initiate(&db.store, new()).await.expect("initiate again");
    assert_eq!(first.id, again.id);
    assert_eq!(again.status, PaymentStatus::Initiated);
    assert_eq!(count(&db, "payments").await, 1);
    assert_eq!(
        count(&db, "invoices").await,
        0,
        "no invoice before the money is received"
    );

    let on = date(2026, 4, 2);
    let paid = complete(&db.store, first.id, on, 125).await.expect("complete");
    assert_eq!(paid.status, PaymentStatus::Completed);
    assert_eq!(paid.received_on, Some(on));
    assert_eq!(paid.fee, eur(125));
    assert_eq!(
        paid.provider_reference.as_deref(),
        Some(format!("sim_{}", first.id).as_str())
    );
    let invoice_id = paid.invoice_id.expect("the payment now cites its invoice");

    let o = orders::get(&db.store, o.id).await.unwrap();
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.invoice_id, Some(invoice_id));
    let invoice = invoices::get(&db.store, invoice_id).await.unwrap();
    assert_eq!(invoice.reference.as_deref(), Some("F2026-0001"));
    assert_eq!(invoice.issue_date, Some(on));
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert_eq!(
        (invoice.total, invoice.paid, invoice.credited),
        (eur(73_748), eur(73_748), eur(0))
    );
    assert_eq!(invoice.order_id, Some(o.id));
    assert_eq!(
        invoice.totals_by_nature(),
        vec![(Nature::Goods, eur(3_750)), (Nature::Services, eur(69_998))]
    );

    let lines = book(&db.store).await;
    let got: Vec<(NaiveDate, Nature, i64, &str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l.line.received_on,
                l.line.nature,
                l.line.amount.minor,
                l.line.method.as_str(),
                l.line.invoice_reference.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (on, Nature::Goods, 3_750, "card", "F2026-0001"),
            (on, Nature::Services, 69_998, "card", "F2026-0001")
        ]
    );

    let balances = ledger::balances(&db.store).await.unwrap();
    assert_zero_sum(&balances, "after the payment");
    assert_eq!(balance_of(&balances, &accounts::receivable(customer.id)), 0);
    assert_eq!(balance_of(&balances, "clearing:simulated"), 73_748 - 125);
    assert_eq!(balance_of(&balances, accounts::PROVIDER_FEES), 125);
    assert_eq!(balance_of(&balances, accounts::REVENUE_GOODS), -3_750);
    assert_eq!(balance_of(&balances, accounts::REVENUE_SERVICES), -69_998);
    // invoice issued, payment received, provider fee.
    assert_eq!(count(&db, "ledger_transactions").await, 3);

    // Completing again (a replayed webhook, even with other figures) changes nothing.
    let before = money_counts(&db).await;
    let replay = complete(&db.store, first.id, date(2026, 4, 9), 300)
        .await
        .expect("idempotent");
    assert_eq!(replay, paid);
    assert_eq!(money_counts(&db).await, before);
    assert_eq!(ledger::balances(&db.store).await.unwrap(), balances);
    assert_eq!(book(&db.store).await, lines);
    assert_eq!(invoices::get(&db.store, invoice_id).await.unwrap(), invoice);
    // The key still answers with the (now completed) payment.
    assert_eq!(initiate(&db.store, new()).await.unwrap(), paid);
}

async fn partial_then_full_refund_with_credit_notes_and_negative_book_lines(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let draft = simple_draft(&db.store, customer.id, 10_000).await;
    let invoice = issue(&db.store, draft.id, date(2026, 5, 1)).await;
    assert_eq!(invoice.reference.as_deref(), Some("F2026-0001"));
    let payment = pay_invoice(
        &db.store,
        &invoice,
        10_000,
        "simulated",
        PaymentMethod::Card,
        date(2026, 5, 2),
        0,
        "pay-1",
    )
    .await;
    assert_eq!(payment.status, PaymentStatus::Completed);

    // Partial refund: a credit note citing the invoice, a negative line citing both.
    let r1 = refund_now(&db.store, payment.id, 3_000, "refund-1", date(2026, 5, 10))
        .await
        .expect("partial refund");
    assert_eq!(r1.status, RefundStatus::Completed);
    assert_eq!(r1.amount, eur(3_000));
    assert_eq!(r1.refunded_on, Some(date(2026, 5, 10)));
    let note = invoices::get(&db.store, r1.credit_note_id.expect("credit note"))
        .await
        .unwrap();
    assert_eq!(note.kind, InvoiceKind::CreditNote);
    assert_eq!(note.reference.as_deref(), Some("AV2026-0001"));
    assert_eq!(note.credited_invoice_id, Some(invoice.id));
    assert_eq!(note.total, eur(3_000));
    assert_eq!(note.issue_date, Some(date(2026, 5, 10)));
    assert!(
        note.lines.iter().all(|l| l.description.contains("F2026-0001")),
        "{:?}",
        note.lines
    );
    let payment = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(payment.refunded, eur(3_000));
    let after_r1 = invoices::get(&db.store, invoice.id).await.unwrap();
    assert_eq!((after_r1.paid, after_r1.credited), (eur(10_000), eur(3_000)));

    let lines = book(&db.store).await;
    assert_eq!(lines.len(), 2);
    let neg = &lines[1].line;
    assert_eq!(neg.amount, eur(-3_000));
    assert_eq!(neg.nature, Nature::Services);
    assert_eq!(neg.received_on, date(2026, 5, 10));
    assert_eq!(neg.credit_note_reference.as_deref(), Some("AV2026-0001"));
    assert_eq!(neg.invoice_reference, "F2026-0001");
    assert_eq!(neg.method, "card");
    assert_eq!((neg.payment_id, neg.refund_id), (Some(payment.id), Some(r1.id)));
    assert_eq!(neg.client_name, "Jean Martin");

    // More than what remains (70,00 €): refused by name, and nothing moves.
    let before = money_counts(&db).await;
    let balances = ledger::balances(&db.store).await.unwrap();
    let too_much = refund_now(&db.store, payment.id, 8_000, "refund-2", date(2026, 5, 11)).await;
    match &too_much {
        Err(BillingError::Invalid {
            field: "amount",
            message,
        }) => {
            let message = message.to_string();
            assert!(message.contains("80,00"), "names the amount asked: {message}");
            assert!(message.contains("70,00"), "names what remains: {message}");
        }
        other => panic!("expected Invalid amount, got {other:?}"),
    }
    assert_eq!(money_counts(&db).await, before);
    assert_eq!(ledger::balances(&db.store).await.unwrap(), balances);
    assert_eq!(payments::get(&db.store, payment.id).await.unwrap().refunded, eur(3_000));
    assert_eq!(
        refunds::for_payment(&db.store, payment.id).await.unwrap(),
        vec![r1.clone()]
    );

    // The rest: refunded in full.
    let r2 = refund_now(&db.store, payment.id, 7_000, "refund-3", date(2026, 5, 12))
        .await
        .expect("the rest");
    let note2 = invoices::get(&db.store, r2.credit_note_id.unwrap()).await.unwrap();
    assert_eq!(note2.reference.as_deref(), Some("AV2026-0002"));
    let payment = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Refunded);
    assert_eq!(payment.refunded, eur(10_000));
    let after_r2 = invoices::get(&db.store, invoice.id).await.unwrap();
    assert_eq!((after_r2.paid, after_r2.credited), (eur(10_000), eur(10_000)));
    let lines = book(&db.store).await;
    assert_eq!(
        lines.iter().map(|l| l.line.amount.minor).collect::<Vec<_>>(),
        [10_000, -3_000, -7_000]
    );
    assert_eq!(lines.iter().map(|l| l.line.amount.minor).sum::<i64>(), 0);
    assert_eq!(lines[2].line.credit_note_reference.as_deref(), Some("AV2026-0002"));

    // Nothing left to refund; refunding again with a used key returns the refund.
    let nothing = refund_now(&db.store, payment.id, 1, "refund-4", date(2026, 5, 13)).await;
    assert!(
        matches!(nothing, Err(BillingError::Invalid { field: "amount", .. })),
        "{nothing:?}"
    );
    let replay = refund_now(&db.store, payment.id, 7_000, "refund-3", date(2026, 5, 13))
        .await
        .expect("same key");
    assert_eq!(replay, r2);
    assert_eq!(count(&db, "revenue_book").await, 3);

    let balances = ledger::balances(&db.store).await.unwrap();
    assert_eq!(balance_of(&balances, "clearing:simulated"), 0);
    assert_eq!(balance_of(&balances, accounts::REVENUE_SERVICES), 0);
    assert_receivables(&db.store, &[customer.id], "after the refunds").await;
}

async fn concurrent_refunds_never_exceed_the_payment_and_a_failed_refund_releases_its_reservation(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let draft = simple_draft(&db.store, customer.id, 10_000).await;
    let invoice = issue(&db.store, draft.id, date(2026, 6, 1)).await;
    let payment = pay_invoice(
        &db.store,
        &invoice,
        10_000,
        "simulated",
        PaymentMethod::Card,
        date(2026, 6, 2),
        0,
        "pay-1",
    )
    .await;

    // Two handles, as two processes would have; each reserves 60 of the 100.
    let stores = [db.store.clone(), db.other_store().await];
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().cloned().enumerate() {
        let barrier = barrier.clone();
        let id = payment.id;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = store.begin().await?;
            let r = refunds::begin(&mut tx, id, eur(6_000), "Retour", &format!("race-{i}")).await?;
            tx.commit().await?;
            Ok::<_, BillingError>(r)
        }));
    }
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            Ok(r) => ok.push(r),
            Err(e) => refused.push(e),
        }
    }
    assert_eq!(ok.len(), 1, "exactly one reservation wins: {ok:?} / {refused:?}");
    assert_eq!(refused.len(), 1);
    assert!(
        matches!(refused[0], BillingError::Invalid { field: "amount", .. }),
        "{:?}",
        refused[0]
    );
    let reserved = ok.pop().unwrap();
    assert_eq!(reserved.status, RefundStatus::Pending);
    assert_eq!(payments::get(&db.store, payment.id).await.unwrap().refunded, eur(6_000));
    assert_eq!(refunds::for_payment(&db.store, payment.id).await.unwrap().len(), 1);

    // While reserved, only 40 remain.
    let over = begin_refund(&db.store, payment.id, 4_001, "over").await;
    assert!(matches!(over, Err(BillingError::Invalid { .. })), "{over:?}");

    // The provider failed: the reservation is released and nothing was written.
    let before = money_counts(&db).await;
    let failed = fail_refund(&db.store, reserved.id).await;
    assert_eq!(failed.status, RefundStatus::Failed);
    assert_eq!(failed.credit_note_id, None);
    let p = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!(p.refunded, eur(0));
    assert_eq!(p.status, PaymentStatus::Completed);
    assert_eq!(money_counts(&db).await, before);
    assert_eq!(count(&db, "invoices").await, 1, "no credit note");
    assert!(
        book(&db.store).await.iter().all(|l| l.line.amount.minor > 0),
        "no negative line"
    );
    // Failing twice is harmless; completing a failed refund conflicts.
    assert_eq!(fail_refund(&db.store, reserved.id).await, failed);
    let late = complete_refund(&db.store, reserved.id, date(2026, 6, 3)).await;
    assert!(matches!(late, Err(BillingError::Conflict(_))), "{late:?}");

    // The full amount is refundable again.
    let full = begin_refund(&db.store, payment.id, 10_000, "full")
        .await
        .expect("full amount again");
    let done = complete_refund(&db.store, full.id, date(2026, 6, 4))
        .await
        .expect("complete");
    assert_eq!(done.status, RefundStatus::Completed);
    let p = payments::get(&db.store, payment.id).await.unwrap();
    assert_eq!((p.refunded, p.status), (eur(10_000), PaymentStatus::Refunded));
    // Completing again changes nothing.
    let before = money_counts(&db).await;
    assert_eq!(
        complete_refund(&db.store, full.id, date(2026, 6, 5)).await.unwrap(),
        done
    );
    assert_eq!(money_counts(&db).await, before);
    let negatives: Vec<i64> = book(&db.store)
        .await
        .iter()
        .map(|l| l.line.amount.minor)
        .filter(|m| *m < 0)
        .collect();
    assert_eq!(negatives, [-10_000]);
    assert_receivables(&db.store, &[customer.id], "after the race").await;
}

async fn ledger_sums_to_zero_and_receivables_match_invoices_and_refunds(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    catalogue(&db.store).await;
    let alice = person(&db.store).await;
    let acme = business(&db.store).await;
    let customers = [alice.id, acme.id];

    // Alice orders and pays by card with a fee, then gets 10,00 € back.
    let o = order(&db.store, alice.id, &[(MUG, 2), (AUDIT, 1)]).await.unwrap(); // 2 500 + 34 999
    let p1 = initiate(
        &db.store,
        new_payment(
            alice.id,
            None,
            Some(o.id),
            "simulated",
            PaymentMethod::Card,
            o.total,
            "a1",
        ),
    )
    .await
    .unwrap();
    complete(&db.store, p1.id, date(2026, 1, 10), 380).await.unwrap();
    refund_now(&db.store, p1.id, 1_000, "a1-r", date(2026, 1, 20))
        .await
        .unwrap();
    assert_receivables(&db.store, &customers, "alice").await;

    // Acme: an invoice of 1 000,00 €, half paid by a provider with fees, a quarter in cash, rest open.
    let inv = issued(&db.store, acme.id, 100_000, date(2026, 2, 1)).await;
    let p2 = pay_invoice(
        &db.store,
        &inv,
        50_000,
        "stripe",
        PaymentMethod::Card,
        date(2026, 2, 3),
        1_475,
        "b1",
    )
    .await;
    let p3 = pay_invoice(
        &db.store,
        &inv,
        25_000,
        "manual",
        PaymentMethod::Cash,
        date(2026, 2, 4),
        0,
        "b2",
    )
    .await;
    assert_eq!(
        invoices::get(&db.store, inv.id).await.unwrap().status,
        InvoiceStatus::Issued
    );
    // A credit note for a commercial gesture, then a partial refund of the cash payment.
    credit(&db.store, inv.id, Some(eur(5_000)), date(2026, 2, 5))
        .await
        .unwrap();
    refund_now(&db.store, p3.id, 2_500, "b2-r", date(2026, 2, 6))
        .await
        .unwrap();
    // A pending refund reserves but posts nothing.
    let pending = begin_refund(&db.store, p2.id, 4_000, "b1-r").await.unwrap();
    assert_receivables(&db.store, &customers, "acme").await;

    let balances = ledger::balances(&db.store).await.unwrap();
    // 1 000 − 500 − 250 paid − (50 + 25) credited + 25 refunded = 200,00 € still owed by Acme.
    assert_eq!(balance_of(&balances, &accounts::receivable(acme.id)), 20_000);
    // Alice: 374,99 invoiced − 374,99 paid − 10 credited + 10 refunded.
    assert_eq!(balance_of(&balances, &accounts::receivable(alice.id)), 0);
    assert_eq!(balance_of(&balances, accounts::PROVIDER_FEES), 380 + 1_475);
    assert_eq!(balance_of(&balances, "clearing:simulated"), 37_499 - 380 - 1_000);
    assert_eq!(balance_of(&balances, "clearing:stripe"), 50_000 - 1_475);
    assert_eq!(balance_of(&balances, accounts::CASH), 25_000 - 2_500);
    assert_eq!(balance_of(&balances, accounts::BANK), 0);
    // Revenue: invoiced − credited (the refunds' credit notes included), by nature.
    // Alice's 10,00 € credit note splits 25,00 / 349,99 exactly: goods 0,6667 € → 0,67 (the
    // larger remainder takes the spare cent), services 9,3333 € → 9,33.
    assert_eq!(balance_of(&balances, accounts::REVENUE_GOODS), -(2_500 - 67));
    assert_eq!(
        balance_of(&balances, accounts::REVENUE_SERVICES),
        -(34_999 - (1_000 - 67) + 100_000 - 5_000 - 2_500)
    );

    // The pending refund completes: posted now, and the receivable follows.
    complete_refund(&db.store, pending.id, date(2026, 2, 10)).await.unwrap();
    assert_receivables(&db.store, &customers, "after the pending refund").await;
    let balances = ledger::balances(&db.store).await.unwrap();
    assert_eq!(balance_of(&balances, &accounts::receivable(acme.id)), 20_000);
    assert_eq!(balance_of(&balances, "clearing:stripe"), 50_000 - 1_475 - 4_000);
    // A fee never shows outside the fee account and the provider's clearing account.
    let fee_postings = raw_i64(
        &db,
        "SELECT COUNT(*) FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
         WHERE t.kind = 'provider_fee' AND e.account NOT IN ('expense:provider-fees', 'clearing:simulated', 'clearing:stripe')",
    )
    .await;
    assert_eq!(fee_postings, 0);
}

// ------------------------------------------------------ randomized sequence

#[derive(Debug, Default)]
struct Model {
    /// Expected balance of each holding / fee account.
    accounts: BTreeMap<String, i64>,
    /// Payments received: (id, amount, reserved or refunded so far).
    received: Vec<(i64, i64, i64)>,
    /// Refunds begun and not yet completed or failed: (refund id, payment id, amount).
    pending_refunds: Vec<(i64, i64, i64)>,
    /// Issued invoices that may still take a payment or a credit note.
    open_invoices: Vec<i64>,
    keys: u64,
}

impl Model {
    fn key(&mut self, what: &str) -> String {
        self.keys += 1;
        format!("{what}-{}", self.keys)
    }
    fn add(&mut self, account: &str, minor: i64) {
        *self.accounts.entry(account.to_string()).or_default() += minor;
    }
    fn received(&mut self, p: &Payment) {
        let holding = payments::holding_account(&p.provider, p.method);
        self.add(&holding, p.amount.minor - p.fee.minor);
        self.add(accounts::PROVIDER_FEES, p.fee.minor);
        self.received.push((p.id, p.amount.minor, 0));
    }
    fn reserve(&mut self, payment_id: i64, minor: i64) {
        self.received
            .iter_mut()
            .find(|r| r.0 == payment_id)
            .expect("known payment")
            .2 += minor;
    }
}

fn random_date(rng: &mut fastrand::Rng) -> NaiveDate {
    date(2026, 1, 1).checked_add_days(Days::new(rng.u64(0..365))).unwrap()
}

async fn refund_holding(store: &Store, payment_id: i64) -> String {
    let p = payments::get(store, payment_id).await.unwrap();
    payments::holding_account(&p.provider, p.method)
}

async fn run_sequence(backend: Backend, seed: u64) -> BTreeMap<&'static str, usize> {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    catalogue(&db.store).await;
    let mut tx = db.store.begin().await.unwrap();
    catalog::create(
        &mut tx,
        NewProduct {
            sku: "ODD".into(),
            name: "Prestation 0,07".into(),
            nature: Nature::Services,
            unit_price: eur(7),
            unit: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let customers = [
        person(&db.store).await.id,
        business(&db.store).await.id,
        create_customer(&db.store, person_input("Chloé Bernard")).await.id,
    ];
    let skus = [MUG, AUDIT, "ODD"];
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut m = Model::default();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();

    for step in 0..100 {
        // Dates move forward: invoice numbers are chronological, so a later
        // number can never carry an earlier date (the random draw is kept so
        // the rest of the seeded sequence is unchanged).
        let _ = random_date(&mut rng);
        let on = date(2026, 1, 1).checked_add_days(Days::new(step as u64 * 3)).unwrap();
        let customer = customers[rng.usize(..customers.len())];
        let roll = rng.u32(0..100);
        let what;
        if roll < 25 {
            what = "order paid by a provider";
            let n = rng.usize(1..=3);
            let items: Vec<(&str, u32)> = (0..n)
                .map(|_| (skus[rng.usize(..skus.len())], rng.u32(1..=4)))
                .collect();
            let o = order(&db.store, customer, &items).await.expect("order");
            let provider = ["simulated", "stripe", "paypal"][rng.usize(..3)];
            let method = if provider == "paypal" {
                PaymentMethod::Paypal
            } else {
                PaymentMethod::Card
            };
            let key = m.key("order");
            let p = initiate(
                &db.store,
                new_payment(customer, None, Some(o.id), provider, method, o.total, &key),
            )
            .await
            .expect("initiate");
            match rng.u32(0..10) {
                0 => {
                    let mut tx = db.store.begin().await.unwrap();
                    payments::fail(&mut tx, p.id, "declined").await.expect("fail");
                    tx.commit().await.unwrap();
                }
                1 => {} // left initiated: posts nothing
                _ => {
                    let fee = rng.i64(0..=o.total.minor.min(1_000));
                    let done = complete(&db.store, p.id, on, fee).await.expect("complete");
                    m.received(&done);
                }
            }
        } else if roll < 40 {
            what = "invoice, maybe paid at once";
            let n = rng.usize(1..=2);
            let lines = (0..n)
                .map(|_| {
                    let nature = if rng.bool() { Nature::Goods } else { Nature::Services };
                    line("Ligne", nature, Decimal::from(rng.u32(1..=3)), eur(rng.i64(1..=60_000)))
                })
                .collect();
            let inv = issue(&db.store, draft(&db.store, customer, lines).await.id, on).await;
            m.open_invoices.push(inv.id);
            if rng.bool() {
                let amount = rng.i64(1..=inv.total.minor);
                let (provider, method, fee) = match rng.u32(0..3) {
                    0 => ("manual", PaymentMethod::Cash, 0),
                    1 => ("manual", PaymentMethod::Transfer, 0),
                    _ => ("simulated", PaymentMethod::Card, rng.i64(0..=amount)),
                };
                let key = m.key("inv");
                let p = pay_invoice(&db.store, &inv, amount, provider, method, on, fee, &key).await;
                m.received(&p);
            }
        } else if roll < 50 && !m.open_invoices.is_empty() {
            what = "payment on an open invoice";
            let id = m.open_invoices[rng.usize(..m.open_invoices.len())];
            let inv = invoices::get(&db.store, id).await.unwrap();
            let due = inv.balance_due().minor;
            if inv.status != InvoiceStatus::Issued || due == 0 {
                m.open_invoices.retain(|i| *i != id);
                continue;
            }
            let amount = rng.i64(1..=due);
            let key = m.key("cash");
            let p = pay_invoice(&db.store, &inv, amount, "manual", PaymentMethod::Cash, on, 0, &key).await;
            m.received(&p);
        } else if roll < 58 && !m.open_invoices.is_empty() {
            what = "credit note on an open invoice";
            let id = m.open_invoices[rng.usize(..m.open_invoices.len())];
            let inv = invoices::get(&db.store, id).await.unwrap();
            let due = inv.balance_due().minor;
            if inv.status != InvoiceStatus::Issued || due == 0 {
                m.open_invoices.retain(|i| *i != id);
                continue;
            }
            credit(&db.store, id, Some(eur(rng.i64(1..=due))), on)
                .await
                .expect("credit note");
        } else if roll < 85 && m.received.iter().any(|r| r.2 < r.1) {
            let open: Vec<(i64, i64, i64)> = m.received.iter().copied().filter(|r| r.2 < r.1).collect();
            let (pid, amount, used) = open[rng.usize(..open.len())];
            let left = amount - used;
            let minor = if rng.u32(0..4) == 0 { left } else { rng.i64(1..=left) };
            let key = m.key("refund");
            let holding = refund_holding(&db.store, pid).await;
            match rng.u32(0..10) {
                0..=4 => {
                    what = "refund at once";
                    refund_now(&db.store, pid, minor, &key, on).await.expect("refund");
                    m.reserve(pid, minor);
                    m.add(&holding, -minor);
                }
                5..=6 => {
                    what = "refund begun then completed";
                    let r = begin_refund(&db.store, pid, minor, &key).await.expect("begin");
                    complete_refund(&db.store, r.id, on).await.expect("complete");
                    m.reserve(pid, minor);
                    m.add(&holding, -minor);
                }
                7 => {
                    what = "refund begun then failed";
                    let r = begin_refund(&db.store, pid, minor, &key).await.expect("begin");
                    fail_refund(&db.store, r.id).await;
                }
                _ => {
                    what = "refund begun, left pending";
                    let r = begin_refund(&db.store, pid, minor, &key).await.expect("begin");
                    m.reserve(pid, minor);
                    m.pending_refunds.push((r.id, pid, minor));
                }
            }
        } else if roll < 93 && !m.pending_refunds.is_empty() {
            let (rid, pid, minor) = m.pending_refunds.remove(rng.usize(..m.pending_refunds.len()));
            if rng.bool() {
                what = "pending refund completed";
                complete_refund(&db.store, rid, on).await.expect("complete");
                let holding = refund_holding(&db.store, pid).await;
                m.add(&holding, -minor);
            } else {
                what = "pending refund failed";
                fail_refund(&db.store, rid).await;
                m.reserve(pid, -minor);
            }
        } else if let Some(&(pid, amount, used)) = m.received.get(rng.usize(..m.received.len().max(1))) {
            what = "refund above what remains";
            let before = money_counts(&db).await;
            let r = refund_now(&db.store, pid, amount - used + 1, &m.key("over"), on).await;
            assert!(
                matches!(r, Err(BillingError::Invalid { .. })),
                "seed {seed} step {step}: {r:?}"
            );
            assert_eq!(
                money_counts(&db).await,
                before,
                "seed {seed} step {step}: a refused refund wrote something"
            );
        } else {
            continue;
        }

        *seen.entry(what).or_default() += 1;
        let context = format!("seed {seed} step {step} ({what})");
        assert_receivables(&db.store, &customers, &context).await;
        let balances = ledger::balances(&db.store).await.unwrap();
        for (account, expected) in &m.accounts {
            assert_eq!(
                balance_of(&balances, account),
                *expected,
                "{context}: account {account}"
            );
        }
        for &(pid, amount, used) in &m.received {
            let p = payments::get(&db.store, pid).await.unwrap();
            assert_eq!(
                (p.amount.minor, p.refunded.minor),
                (amount, used),
                "{context}: payment {pid}"
            );
        }
    }

    // The book agrees with the ledger: what was received less what went back.
    let received: i64 = book(&db.store).await.iter().map(|l| l.line.amount.minor).sum();
    let balances = ledger::balances(&db.store).await.unwrap();
    let held: i64 = balances
        .iter()
        .filter(|b| b.account == accounts::BANK || b.account == accounts::CASH || b.account.starts_with("clearing:"))
        .map(|b| b.balance_minor)
        .sum();
    assert_eq!(
        received - balance_of(&balances, accounts::PROVIDER_FEES),
        held,
        "seed {seed}"
    );
    assert_eq!(
        comptoir::billing::book_check::verify(&db.store).await.unwrap().findings,
        vec![]
    );
    seen
}

async fn randomized_payments_and_refunds_keep_the_ledger_invariants(backend: Backend) {
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for seed in [7, 2026, 90_210] {
        for (what, n) in run_sequence(backend, seed).await {
            *seen.entry(what).or_default() += n;
        }
    }
    // The seeds do exercise every kind of step.
    let kinds = [
        "order paid by a provider",
        "invoice, maybe paid at once",
        "payment on an open invoice",
        "credit note on an open invoice",
        "refund at once",
        "refund begun then completed",
        "refund begun then failed",
        "refund begun, left pending",
        "pending refund completed",
        "pending refund failed",
        "refund above what remains",
    ];
    for kind in kinds {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "no {kind:?} step: {seen:?}");
    }
    assert!(seen.values().sum::<usize>() >= 250, "{seen:?}");
}

// ------------------------------------------------------------ invalid input

async fn invalid_payments_and_refunds_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let inv = issued(&db.store, customer.id, 10_000, date(2026, 3, 1)).await;
    let card = |amount: Money, key: &str| {
        new_payment(
            customer.id,
            Some(inv.id),
            None,
            "simulated",
            PaymentMethod::Card,
            amount,
            key,
        )
    };

    for minor in [0, -500] {
        let r = initiate(&db.store, card(eur(minor), &format!("k{minor}"))).await;
        assert!(
            matches!(r, Err(BillingError::Invalid { field: "amount", .. })),
            "{minor}: {r:?}"
        );
    }
    let nothing = initiate(
        &db.store,
        new_payment(customer.id, None, None, "simulated", PaymentMethod::Card, eur(100), "k"),
    )
    .await;
    assert!(
        matches!(
            nothing,
            Err(BillingError::Invalid {
                field: "invoice_id",
                ..
            })
        ),
        "{nothing:?}"
    );
    let usd: Currency = "USD".parse().unwrap();
    let wrong_currency = initiate(&db.store, card(Money::new(10_000, usd), "k-usd")).await;
    assert!(
        matches!(wrong_currency, Err(BillingError::Invalid { .. })),
        "{wrong_currency:?}"
    );
    assert_eq!(count(&db, "payments").await, 0);

    let p = initiate(&db.store, card(eur(10_000), "same-key")).await.unwrap();
    let reused = initiate(&db.store, card(eur(9_999), "same-key")).await;
    assert!(
        matches!(reused, Err(BillingError::Conflict(ref m)) if m.to_string().contains("same-key")),
        "{reused:?}"
    );
    assert_eq!(count(&db, "payments").await, 1);

    // Refunding money not received yet conflicts.
    let early = refund_now(&db.store, p.id, 1_000, "early", date(2026, 3, 2)).await;
    assert!(matches!(early, Err(BillingError::Conflict(_))), "{early:?}");

    // A fee above the amount is refused and the payment stays as it was.
    let before = money_counts(&db).await;
    let fee = complete(&db.store, p.id, date(2026, 3, 2), 10_001).await;
    assert!(
        matches!(fee, Err(BillingError::Invalid { field: "fee", .. })),
        "{fee:?}"
    );
    let negative_fee = complete(&db.store, p.id, date(2026, 3, 2), -1).await;
    assert!(
        matches!(negative_fee, Err(BillingError::Invalid { field: "fee", .. })),
        "{negative_fee:?}"
    );
    assert_eq!(money_counts(&db).await, before);
    assert_eq!(
        payments::get(&db.store, p.id).await.unwrap().status,
        PaymentStatus::Initiated
    );

    let done = complete(&db.store, p.id, date(2026, 3, 2), 10_000)
        .await
        .expect("a fee equal to the amount is allowed");
    assert_eq!(done.status, PaymentStatus::Completed);

    // A refund in another currency, of nothing, or with a key used for another refund.
    let before = money_counts(&db).await;
    let mut tx = db.store.begin().await.unwrap();
    let other = refunds::begin(&mut tx, p.id, Money::new(1_000, usd), "Retour", "usd").await;
    assert!(
        matches!(other, Err(BillingError::Invalid { field: "amount", ref message }) if message.to_string().contains("EUR")),
        "{other:?}"
    );
    let zero = refunds::begin(&mut tx, p.id, eur(0), "Retour", "zero").await;
    assert!(
        matches!(zero, Err(BillingError::Invalid { field: "amount", .. })),
        "{zero:?}"
    );
    let blank = refunds::begin(&mut tx, p.id, eur(100), "  ", "blank").await;
    assert!(
        matches!(blank, Err(BillingError::Invalid { field: "reason", .. })),
        "{blank:?}"
    );
    drop(tx);
    assert_eq!(money_counts(&db).await, before);
    begin_refund(&db.store, p.id, 1_000, "r-key").await.unwrap();
    let reused = begin_refund(&db.store, p.id, 2_000, "r-key").await;
    assert!(matches!(reused, Err(BillingError::Conflict(_))), "{reused:?}");
    let missing = begin_refund(&db.store, 999_999, 100, "missing").await;
    assert!(matches!(missing, Err(BillingError::NotFound(_))), "{missing:?}");

    // A failed payment cannot complete, and cannot be refunded. (The first
    // invoice is paid in full by now: another payment on it would be refused.)
    let inv2 = issued(&db.store, customer.id, 500, date(2026, 3, 3)).await;
    let p2 = initiate(
        &db.store,
        new_payment(
            customer.id,
            Some(inv2.id),
            None,
            "simulated",
            PaymentMethod::Card,
            eur(500),
            "to-fail",
        ),
    )
    .await
    .unwrap();
    let mut tx = db.store.begin().await.unwrap();
    payments::fail(&mut tx, p2.id, "declined").await.unwrap();
    tx.commit().await.unwrap();
    let late = complete(&db.store, p2.id, date(2026, 3, 3), 0).await;
    assert!(matches!(late, Err(BillingError::Conflict(_))), "{late:?}");
    let refund_failed = refund_now(&db.store, p2.id, 100, "rf", date(2026, 3, 3)).await;
    assert!(
        matches!(refund_failed, Err(BillingError::Conflict(_))),
        "{refund_failed:?}"
    );
}

async fn an_order_is_paid_only_by_its_customer_and_its_own_total(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    catalogue(&db.store).await;
    let buyer = person(&db.store).await;
    let stranger = business(&db.store).await;
    let o = order(&db.store, buyer.id, &[(AUDIT, 1)]).await.unwrap();
    assert_eq!(o.total, eur(34_999));
    let pay = |customer_id: i64, amount: Money, key: &str| {
        new_payment(
            customer_id,
            None,
            Some(o.id),
            "simulated",
            PaymentMethod::Card,
            amount,
            key,
        )
    };

    // The client's idea of the total is never trusted: one cent does not pay the order.
    let cheap = initiate(&db.store, pay(buyer.id, eur(1), "cheap")).await;
    assert!(matches!(cheap, Err(BillingError::Invalid { .. })), "{cheap:?}");
    let usd: Currency = "USD".parse().unwrap();
    let dollars = initiate(&db.store, pay(buyer.id, Money::new(34_999, usd), "usd")).await;
    assert!(matches!(dollars, Err(BillingError::Invalid { .. })), "{dollars:?}");
    // Another customer does not pay (nor get invoiced for) someone else's order.
    let other = initiate(&db.store, pay(stranger.id, eur(34_999), "other")).await;
    assert!(matches!(other, Err(BillingError::Invalid { .. })), "{other:?}");
    let missing = initiate(
        &db.store,
        new_payment(
            buyer.id,
            None,
            Some(999_999),
            "simulated",
            PaymentMethod::Card,
            eur(100),
            "missing",
        ),
    )
    .await;
    assert!(matches!(missing, Err(BillingError::NotFound(_))), "{missing:?}");
    assert_eq!(count(&db, "payments").await, 0);

    let p = initiate(&db.store, pay(buyer.id, o.total, "right")).await.unwrap();
    complete(&db.store, p.id, date(2026, 7, 1), 0).await.unwrap();
    assert_eq!(orders::get(&db.store, o.id).await.unwrap().status, OrderStatus::Paid);
    // A paid order takes no second payment.
    let twice = initiate(&db.store, pay(buyer.id, o.total, "twice")).await;
    assert!(matches!(twice, Err(BillingError::Conflict(_))), "{twice:?}");
    assert_receivables(&db.store, &[buyer.id, stranger.id], "order payments").await;
}

async fn a_payment_above_what_the_invoice_owes_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    // Drafted, issued and paid in one transaction.
    let mut tx = db.store.begin().await.unwrap();
    let session = line("Séance", Nature::Services, Decimal::ONE, eur(10_000));
    let draft = invoices::create_draft(&mut tx, invoice_input(customer.id, vec![session]))
        .await
        .unwrap();
    let invoice = invoices::issue(&mut tx, draft.id, date(2026, 11, 2)).await.unwrap();
    let new = |amount, key: &str| invoice_payment(&invoice, "manual", PaymentMethod::Transfer, eur(amount), key);
    let err = payments::initiate(&mut tx, new(10_001, "over")).await.unwrap_err();
    assert!(err.to_string().contains("reste dû sur F2026-0001 (100,00"), "{err}");
    payments::initiate(&mut tx, new(10_000, "exact")).await.unwrap();
    tx.commit().await.unwrap();
}

mod owed {
    use super::*;
    on_both_backends!(a_payment_above_what_the_invoice_owes_is_refused);
}
