//! The double-entry ledger after a long random (but seeded, so reproducible)
//! sequence of drafts, issuances, credit notes, payments and refunds in three
//! currencies for three customers: every currency sums to zero, each
//! customer's receivable is exactly what their invoices say is owed, each
//! invoice agrees with a model kept by the test, and numbering has no gap.

use std::collections::BTreeMap;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use chrono::Days;
use comptoir::billing::catalog::Nature;
use comptoir::billing::credit_notes::{self, CreditRequest};
use comptoir::billing::invoices::{self, InvoiceFilter, InvoiceKind, InvoiceStatus, NewLine};
use comptoir::billing::ledger::{self, accounts};
use comptoir::billing::payments::{self, Completion, PaymentMethod};
use comptoir::billing::refunds;
use comptoir::money::{Currency, Money};
use comptoir::store::Store;
use rust_decimal::Decimal;

on_both_backends!(
    ledger_balances_after_random_sequence_seed_7,
    ledger_balances_after_random_sequence_seed_2026,
    ledger_balances_after_random_sequence_seed_424242
);

async fn ledger_balances_after_random_sequence_seed_7(backend: Backend) {
    random_sequence(backend, 7).await
}

async fn ledger_balances_after_random_sequence_seed_2026(backend: Backend) {
    random_sequence(backend, 2026).await
}

async fn ledger_balances_after_random_sequence_seed_424242(backend: Backend) {
    random_sequence(backend, 424_242).await
}

const STEPS: usize = 200;

/// What the test believes about one invoice (kind `invoice`).
#[derive(Debug, Clone, Default)]
struct Model {
    customer: i64,
    currency: Option<Currency>,
    total: i64,
    issued: bool,
    paid: i64,
    credited: i64,
    /// Refunds completed on the invoice's payments (each also credited it).
    refunded: i64,
}

impl Model {
    fn creditable(&self) -> i64 {
        self.total - self.credited
    }
    fn due(&self) -> i64 {
        self.total - self.paid - self.credited
    }
    fn status(&self) -> InvoiceStatus {
        if !self.issued {
            InvoiceStatus::Draft
        } else if self.paid == 0 && self.credited >= self.total {
            InvoiceStatus::Cancelled
        } else if self.paid + self.credited >= self.total {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::Issued
        }
    }
}

struct PaymentModel {
    invoice: i64,
    amount: i64,
    refunded: i64,
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[rng.usize(..items.len())])
    }
}

async fn random_sequence(backend: Backend, seed: u64) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customers = [
        person(&db.store).await.id,
        business(&db.store).await.id,
        create_customer(&db.store, person_input("Lucie Bernard")).await.id,
    ];
    let currencies = [Currency::EUR, currency("USD"), currency("JPY")];
    let quantities = [
        Decimal::ONE,
        Decimal::new(2, 0),
        Decimal::new(3, 0),
        Decimal::new(5, 1),
        Decimal::new(125, 2),
    ];
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut model: BTreeMap<i64, Model> = BTreeMap::new();
    let mut pays: BTreeMap<i64, PaymentModel> = BTreeMap::new();
    // Up to STEPS days later stays in the past: documents and receipts are
    // never dated ahead of the real today (billing::dates).
    let mut today = date(2026, 1, 5);
    let mut counts = BTreeMap::<&str, usize>::new();

    for step in 0..STEPS {
        let ctx = format!("seed {seed}, step {step}");
        if rng.bool() {
            today = today.checked_add_days(Days::new(1)).unwrap();
        }
        let drafts: Vec<i64> = model.iter().filter(|(_, m)| !m.issued).map(|(id, _)| *id).collect();
        let creditable: Vec<i64> = model
            .iter()
            .filter(|(_, m)| m.issued && m.creditable() > 0 && m.status() != InvoiceStatus::Cancelled)
            .map(|(id, _)| *id)
            .collect();
        let payable: Vec<i64> = model
            .iter()
            .filter(|(_, m)| m.issued && m.due() > 0)
            .map(|(id, _)| *id)
            .collect();
        let refundable: Vec<i64> = pays
            .iter()
            .filter(|(_, p)| p.amount > p.refunded && model[&p.invoice].creditable() > 0)
            .map(|(id, _)| *id)
            .collect();
        let roll = rng.u32(0..100);
        let action = match roll {
            0..=29 => "draft",
            30..=54 if !drafts.is_empty() => "issue",
            55..=61 if !drafts.is_empty() => "delete",
            62..=74 if !creditable.is_empty() => "partial_credit",
            75..=79 if !creditable.is_empty() => "full_credit",
            80..=92 if !payable.is_empty() => "payment",
            93..=99 if !refundable.is_empty() => "refund",
            _ => "draft",
        };
        *counts.entry(action).or_default() += 1;
        let mut tx = db.store.begin().await.unwrap();
        match action {
            "draft" => {
                let customer = customers[rng.usize(..3)];
                let cur = currencies[[0, 0, 0, 0, 0, 0, 0, 1, 1, 2][rng.usize(..10)]];
                let lines: Vec<NewLine> = (0..rng.usize(1..=3))
                    .map(|i| {
                        let nature = if rng.bool() { Nature::Goods } else { Nature::Services };
                        let q = quantities[rng.usize(..quantities.len())];
                        line(
                            &format!("Article {step}.{i}"),
                            nature,
                            q,
                            Money::new(rng.i64(1..=50_000), cur),
                        )
                    })
                    .collect();
                let inv = invoices::create_draft(&mut tx, invoice_input(customer, lines))
                    .await
                    .expect(&ctx);
                model.insert(
                    inv.id,
                    Model {
                        customer,
                        currency: Some(cur),
                        total: inv.total.minor,
                        ..Default::default()
                    },
                );
            }
            "issue" => {
                let id = pick(&mut rng, &drafts).unwrap();
                let inv = invoices::issue(&mut tx, id, today).await.expect(&ctx);
                assert_eq!(inv.total.minor, model[&id].total, "{ctx}");
                model.get_mut(&id).unwrap().issued = true;
            }
            "delete" => {
                let id = pick(&mut rng, &drafts).unwrap();
                invoices::delete_draft(&mut tx, id).await.expect(&ctx);
                model.remove(&id);
            }
            "partial_credit" | "full_credit" => {
                let id = pick(&mut rng, &creditable).unwrap();
                let m = &model[&id];
                let amount =
                    (action == "partial_credit").then(|| Money::new(rng.i64(1..=m.creditable()), m.currency.unwrap()));
                let request = CreditRequest {
                    nature: None,
                    amount,
                    reason: format!("Avoir {step}"),
                    issue_date: today,
                };
                let note = credit_notes::issue(&mut tx, id, request).await.expect(&ctx);
                assert_eq!(
                    note.lines.iter().map(|l| l.total.minor).sum::<i64>(),
                    note.total.minor,
                    "{ctx}"
                );
                let m = model.get_mut(&id).unwrap();
                assert_eq!(note.total.minor, amount.map_or(m.creditable(), |a| a.minor), "{ctx}");
                m.credited += note.total.minor;
            }
            "payment" => {
                let id = pick(&mut rng, &payable).unwrap();
                let m = &model[&id];
                let amount = rng.i64(1..=m.due());
                let (provider, method) = match rng.u32(0..3) {
                    0 => ("manual", PaymentMethod::Cash),
                    1 => ("manual", PaymentMethod::Transfer),
                    _ => ("stripe", PaymentMethod::Card),
                };
                let cur = m.currency.unwrap();
                let p = payments::initiate(
                    &mut tx,
                    new_payment(
                        m.customer,
                        Some(id),
                        None,
                        provider,
                        method,
                        Money::new(amount, cur),
                        &format!("seed-{seed}-step-{step}"),
                    ),
                )
                .await
                .expect(&ctx);
                let fee = if provider == "stripe" {
                    (amount * 14 / 1000 + 25).min(amount)
                } else {
                    0
                };
                let done = Completion {
                    received_on: today,
                    fee: Money::new(fee, cur),
                    provider_reference: None,
                };
                payments::complete(&mut tx, p.id, done).await.expect(&ctx);
                model.get_mut(&id).unwrap().paid += amount;
                pays.insert(
                    p.id,
                    PaymentModel {
                        invoice: id,
                        amount,
                        refunded: 0,
                    },
                );
            }
            "refund" => {
                let pid = pick(&mut rng, &refundable).unwrap();
                let p = &pays[&pid];
                let limit = (p.amount - p.refunded).min(model[&p.invoice].creditable());
                let amount = rng.i64(1..=limit);
                let cur = model[&p.invoice].currency.unwrap();
                let key = format!("seed-{seed}-refund-{step}");
                refunds::refund_now(&mut tx, pid, Money::new(amount, cur), "Retour", &key, today)
                    .await
                    .expect(&ctx);
                let invoice = p.invoice;
                pays.get_mut(&pid).unwrap().refunded += amount;
                let m = model.get_mut(&invoice).unwrap();
                m.credited += amount;
                m.refunded += amount;
            }
            other => unreachable!("{other}"),
        }
        tx.commit().await.expect(&ctx);
        if step % 50 == 49 {
            check(&db.store, &model, &format!("{ctx} (checkpoint)")).await;
        }
    }
    check(&db.store, &model, &format!("seed {seed}, end")).await;
    // The sequence did exercise every kind of step.
    for action in ["draft", "issue", "partial_credit", "full_credit", "payment", "refund"] {
        assert!(
            counts.get(action).copied().unwrap_or(0) > 0,
            "seed {seed}: no {action} in {counts:?}"
        );
    }
    let book = comptoir::billing::book_check::verify(&db.store).await.unwrap();
    assert_eq!(book.findings, vec![], "seed {seed}");
    assert!(book.lines_checked > 0);
}

async fn check(store: &Store, model: &BTreeMap<i64, Model>, ctx: &str) {
    // 1. Every currency sums to zero over all accounts.
    let balances = ledger::balances(store).await.unwrap();
    let mut per_currency: BTreeMap<String, i64> = BTreeMap::new();
    for b in &balances {
        *per_currency.entry(b.currency.clone()).or_default() += b.balance_minor;
    }
    for (cur, sum) in &per_currency {
        assert_eq!(*sum, 0, "{ctx}: the ledger does not balance in {cur}: {balances:?}");
    }

    // 2. Each customer's receivable, per currency, is what their invoices say is owed.
    let mut owed: BTreeMap<(String, String), i64> = BTreeMap::new();
    for m in model.values().filter(|m| m.issued) {
        let key = (accounts::receivable(m.customer), m.currency.unwrap().to_string());
        *owed.entry(key).or_default() += m.total - m.paid - m.credited + m.refunded;
    }
    let receivables: BTreeMap<(String, String), i64> = balances
        .iter()
        .filter(|b| b.account.starts_with("receivable:"))
        .map(|b| ((b.account.clone(), b.currency.clone()), b.balance_minor))
        .filter(|(k, v)| *v != 0 || owed.contains_key(k))
        .collect();
    let owed: BTreeMap<_, _> = owed
        .into_iter()
        .filter(|(k, v)| *v != 0 || receivables.contains_key(k))
        .collect();
    assert_eq!(receivables, owed, "{ctx}: receivables");
    for ((account, cur), expected) in &owed {
        assert_eq!(
            ledger::balance(store, account, cur).await.unwrap(),
            *expected,
            "{ctx}: {account} {cur}"
        );
    }

    // 3. Each invoice as stored agrees with the model; credit notes cite existing invoices.
    let all = invoices::list(
        store,
        &InvoiceFilter {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut credited_by_notes: BTreeMap<i64, i64> = BTreeMap::new();
    let mut series: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for inv in &all {
        if let (Some(s), Some(n)) = (&inv.series, inv.number) {
            series.entry(s.clone()).or_default().push(n);
        }
        match inv.kind {
            InvoiceKind::CreditNote => {
                let original = inv.credited_invoice_id.expect("a credit note cites its invoice");
                *credited_by_notes.entry(original).or_default() += inv.total.minor;
                assert!(
                    inv.reference.as_deref().is_some_and(|r| r.starts_with("AV")),
                    "{ctx}: {inv:?}"
                );
            }
            InvoiceKind::Invoice => {
                let m = model
                    .get(&inv.id)
                    .unwrap_or_else(|| panic!("{ctx}: invoice {} unknown to the model", inv.id));
                assert_eq!(
                    (inv.total.minor, inv.paid.minor, inv.credited.minor, inv.status),
                    (m.total, m.paid, m.credited, m.status()),
                    "{ctx}: invoice {} {:?}",
                    inv.id,
                    inv.reference
                );
                assert_eq!(
                    inv.lines.iter().map(|l| l.total.minor).sum::<i64>(),
                    inv.total.minor,
                    "{ctx}"
                );
            }
        }
    }
    assert_eq!(
        all.iter().filter(|i| i.kind == InvoiceKind::Invoice).count(),
        model.len(),
        "{ctx}"
    );
    for (id, m) in model {
        assert_eq!(
            credited_by_notes.get(id).copied().unwrap_or(0),
            m.credited,
            "{ctx}: credit notes of invoice {id}"
        );
    }

    // 4. Numbers are continuous in every series.
    for (s, mut numbers) in series {
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=numbers.len() as i64).collect::<Vec<_>>(),
            "{ctx}: series {s}"
        );
    }
}
