//! The monthly run: one invoice per contract and period, refunds netted as
//! negative lines, operations linked to their invoice, idempotent when run
//! again or twice at once.

use std::collections::BTreeMap;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts::{self, NewOperation, OperationKind};
use comptoir::billing::invoices::{self, Invoice, InvoiceFilter, InvoiceKind, InvoiceStatus};
use comptoir::billing::monthly::{self, ContractOutcome, Period};
use comptoir::store::Store;
use rust_decimal::Decimal;

on_both_backends!(
    run_invoices_each_contract_once_and_nets_refunds,
    concurrent_runs_invoice_each_contract_once,
);

async fn all_invoices(store: &Store) -> Vec<Invoice> {
    let filter = InvoiceFilter {
        kind: Some(InvoiceKind::Invoice),
        limit: 1000,
        ..Default::default()
    };
    let mut list = invoices::list(store, &filter).await.unwrap();
    list.reverse();
    list
}

fn invoiced_id(outcome: &ContractOutcome) -> i64 {
    match outcome {
        ContractOutcome::Invoiced { invoice_id, .. } => *invoice_id,
        other => panic!("expected Invoiced, got {other:?}"),
    }
}

async fn run_invoices_each_contract_once_and_nets_refunds(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let jean = person(&db.store).await;
    let atelier = business(&db.store).await;
    let signed = date(2026, 9, 1);
    let a = contract(&db.store, jean.id, 100_000, signed).await;
    let b = contract(&db.store, atelier.id, 100_000, signed).await;
    let c = contract(&db.store, atelier.id, 100_000, signed).await;
    let d = contract(&db.store, jean.id, 100_000, signed).await;

    // A: two purchases, goods and services.
    let a_goods = NewOperation {
        kind: OperationKind::Purchase,
        lines: vec![op_line("Café en grains", Nature::Goods, Decimal::new(2, 0), eur(2_000))],
        occurred_on: date(2026, 11, 3),
    };
    post(&db.store, a.id, a_goods, date(2026, 11, 3)).await.unwrap();
    purchase(&db.store, a.id, 2_550, date(2026, 11, 20)).await.unwrap();
    // B: a purchase and a refund, netted.
    purchase(&db.store, b.id, 10_000, date(2026, 11, 5)).await.unwrap();
    refund(&db.store, b.id, 3_000, date(2026, 11, 25)).await.unwrap();
    // C: one purchase in November, one in December (not this period's).
    purchase(&db.store, c.id, 1_234, date(2026, 11, 30)).await.unwrap();
    let c_december = purchase(&db.store, c.id, 1_000, date(2026, 12, 1)).await.unwrap();
    // D: a December purchase refunded in part in November: November's
    // operations are a refund only.
    purchase(&db.store, d.id, 8_000, date(2026, 12, 2)).await.unwrap();
    refund(&db.store, d.id, 6_000, date(2026, 11, 20)).await.unwrap();

    let november = Period::parse("2026-11").unwrap();
    let issue_on = date(2026, 12, 1);
    let first: BTreeMap<i64, ContractOutcome> = monthly::run(&db.store, november, issue_on)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(first.keys().copied().collect::<Vec<_>>(), [a.id, b.id, c.id, d.id]);
    assert_eq!(first[&d.id], ContractOutcome::NetNotPositive);
    let ids: BTreeMap<i64, i64> = [a.id, b.id, c.id]
        .iter()
        .map(|k| (*k, invoiced_id(&first[k])))
        .collect();
    let refs: Vec<_> = [a.id, b.id, c.id]
        .iter()
        .map(|k| match &first[k] {
            ContractOutcome::Invoiced { reference, .. } => reference.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(refs, ["F2026-0001", "F2026-0002", "F2026-0003"]);

    let inv_a = invoices::get(&db.store, ids[&a.id]).await.unwrap();
    let inv_b = invoices::get(&db.store, ids[&b.id]).await.unwrap();
    let inv_c = invoices::get(&db.store, ids[&c.id]).await.unwrap();
    for (inv, contract_id, customer_id) in [
        (&inv_a, a.id, jean.id),
        (&inv_b, b.id, atelier.id),
        (&inv_c, c.id, atelier.id),
    ] {
        assert_eq!(inv.status, InvoiceStatus::Issued);
        assert_eq!(inv.contract_id, Some(contract_id));
        assert_eq!(inv.customer_id, customer_id);
        assert_eq!(inv.period.as_deref(), Some("2026-11"));
        assert_eq!(inv.issue_date, Some(issue_on));
        assert_eq!(inv.lines.iter().map(|l| l.total.minor).sum::<i64>(), inv.total.minor);
    }
    assert_eq!(inv_a.total, eur(6_550));
    assert_eq!(
        inv_a.totals_by_nature(),
        [(Nature::Goods, eur(4_000)), (Nature::Services, eur(2_550))]
    );
    assert_eq!(inv_b.total, eur(7_000), "purchases − refunds");
    assert_eq!(inv_b.lines.len(), 2);
    assert_eq!(inv_b.lines[1].total, eur(-3_000), "the refund is a negative line");
    assert!(
        inv_b.lines[1].description.contains("Remboursement"),
        "{:?}",
        inv_b.lines[1]
    );
    assert!(
        inv_b.lines[1].description.contains("25/11/2026"),
        "{:?}",
        inv_b.lines[1]
    );
    assert_eq!(inv_c.total, eur(1_234), "December's purchase is not November's");

    // Operations are linked to their invoice; the others stay open.
    for (contract_id, expected) in [(a.id, vec![Some(ids[&a.id]); 2]), (b.id, vec![Some(ids[&b.id]); 2])] {
        let linked: Vec<_> = contracts::list_operations(&db.store, contract_id)
            .await
            .unwrap()
            .iter()
            .map(|o| o.invoice_id)
            .collect();
        assert_eq!(linked, expected);
    }
    let c_ops = contracts::list_operations(&db.store, c.id).await.unwrap();
    assert_eq!(
        c_ops.iter().map(|o| (o.id, o.invoice_id)).collect::<Vec<_>>(),
        [(c_ops[0].id, Some(ids[&c.id])), (c_december.id, None)]
    );
    assert!(
        contracts::list_operations(&db.store, d.id)
            .await
            .unwrap()
            .iter()
            .all(|o| o.invoice_id.is_none()),
        "NetNotPositive leaves D open"
    );

    // Second run: nothing more.
    let before = billing_counts(&db).await;
    let second = monthly::run(&db.store, november, issue_on).await.unwrap();
    assert!(
        second
            .iter()
            .all(|(_, o)| !matches!(o, ContractOutcome::Invoiced { .. })),
        "{second:?}"
    );
    assert_eq!(billing_counts(&db).await, before, "a second run changes nothing");
    for k in [a.id, b.id, c.id] {
        let again = monthly::invoice_contract(&db.store, k, november, issue_on)
            .await
            .unwrap();
        assert_eq!(again, ContractOutcome::AlreadyInvoiced { invoice_id: ids[&k] });
    }
    // A late November operation, posted after the run: the period stays invoiced once.
    let late = purchase(&db.store, a.id, 500, date(2026, 11, 28)).await.unwrap();
    let third: BTreeMap<i64, ContractOutcome> = monthly::run(&db.store, november, issue_on)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        third[&a.id],
        ContractOutcome::AlreadyInvoiced { invoice_id: ids[&a.id] }
    );
    assert_eq!(all_invoices(&db.store).await.len(), 3);

    // December picks up what was left: A's late purchase, C's December purchase,
    // and D's refund netted against its December purchase.
    let december = monthly::run(&db.store, Period::parse("2026-12").unwrap(), date(2027, 1, 2))
        .await
        .unwrap();
    let december: BTreeMap<i64, ContractOutcome> = december.into_iter().collect();
    assert_eq!(december.keys().copied().collect::<Vec<_>>(), [a.id, c.id, d.id]);
    let totals: Vec<i64> = {
        let mut out = Vec::new();
        for k in [a.id, c.id, d.id] {
            out.push(
                invoices::get(&db.store, invoiced_id(&december[&k]))
                    .await
                    .unwrap()
                    .total
                    .minor,
            );
        }
        out
    };
    assert_eq!(totals, [500, 1_000, 2_000]);
    let inv_a_dec = invoices::get(&db.store, invoiced_id(&december[&a.id])).await.unwrap();
    assert_eq!(inv_a_dec.reference.as_deref(), Some("F2027-0001"));
    assert_eq!(inv_a_dec.period.as_deref(), Some("2026-12"));
    let late_after = contracts::list_operations(&db.store, a.id).await.unwrap();
    assert_eq!(
        late_after.iter().find(|o| o.id == late.id).unwrap().invoice_id,
        Some(inv_a_dec.id)
    );
    assert_eq!(
        raw_i64(&db, "SELECT COUNT(*) FROM contract_operations WHERE invoice_id IS NULL").await,
        0
    );
}

async fn concurrent_runs_invoice_each_contract_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let jean = person(&db.store).await;
    let atelier = business(&db.store).await;
    let signed = date(2026, 1, 5);
    let mut ids = Vec::new();
    for customer in [jean.id, atelier.id, atelier.id] {
        ids.push(contract(&db.store, customer, 500_000, signed).await.id);
    }
    let other = db.other_store().await;
    // Three periods, three contracts each, two runs at once every time.
    for (round, month) in [9u32, 10, 11].into_iter().enumerate() {
        for (i, id) in ids.iter().enumerate() {
            purchase(&db.store, *id, 1_000 * (i as i64 + 1), date(2026, month, 10))
                .await
                .unwrap();
            refund(&db.store, *id, 100, date(2026, month, 12)).await.unwrap();
        }
        let period = Period::parse(&format!("2026-{month:02}")).unwrap();
        let issue_on = date(2026, month + 1, 1);
        let (left, right) = tokio::join!(
            monthly::run(&db.store, period, issue_on),
            monthly::run(&other, period, issue_on)
        );
        let outcomes: Vec<(i64, ContractOutcome)> = left
            .expect("first run")
            .into_iter()
            .chain(right.expect("second run"))
            .collect();
        let mut invoiced: BTreeMap<i64, i64> = BTreeMap::new();
        for (contract_id, outcome) in &outcomes {
            if let ContractOutcome::Invoiced { invoice_id, .. } = outcome {
                assert!(
                    invoiced.insert(*contract_id, *invoice_id).is_none(),
                    "contract {contract_id} invoiced twice: {outcomes:?}"
                );
            }
        }
        assert_eq!(
            invoiced.keys().copied().collect::<Vec<_>>(),
            ids,
            "round {round}: {outcomes:?}"
        );
        for (contract_id, outcome) in &outcomes {
            match outcome {
                ContractOutcome::Invoiced { .. } => {}
                ContractOutcome::AlreadyInvoiced { invoice_id } => assert_eq!(*invoice_id, invoiced[contract_id]),
                other => panic!("round {round}: contract {contract_id}: {other:?}"),
            }
        }
        let all = all_invoices(&db.store).await;
        assert_eq!(all.len(), 3 * (round + 1));
        for (i, id) in ids.iter().enumerate() {
            let mine: Vec<_> = all
                .iter()
                .filter(|inv| inv.contract_id == Some(*id) && inv.period.as_deref() == Some(&period.key()))
                .collect();
            assert_eq!(mine.len(), 1, "one invoice for contract {id} and {}", period.key());
            assert_eq!(mine[0].total, eur(1_000 * (i as i64 + 1) - 100));
        }
        let mut numbers: Vec<i64> = all.iter().map(|i| i.number.unwrap()).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=all.len() as i64).collect::<Vec<_>>(), "no gap");
    }
    assert_eq!(count(&db, "contract_operations").await, 18);
    assert_eq!(
        raw_i64(&db, "SELECT COUNT(*) FROM contract_operations WHERE invoice_id IS NULL").await,
        0
    );
}

#[test]
fn periods_are_parsed_strictly() {
    assert_eq!(Period::parse("2026-11").unwrap().key(), "2026-11");
    assert_eq!(Period::parse("2026-02").unwrap().last_day(), Some(date(2026, 2, 28)));
    assert_eq!(Period::parse("2026-01").unwrap().previous().key(), "2025-12");
    for bad in ["2026-13", "2026-00", "2026", "novembre", "2026-11-01", ""] {
        let err = Period::parse(bad).expect_err(bad);
        assert!(err.to_string().starts_with("Période :"), "{bad:?}: {err}");
    }
}
