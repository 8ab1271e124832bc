//! The livre de recettes as the law wants it: one line per receipt on the day
//! the money was received, goods apart from services, cash apart from other
//! methods, refunds as negative lines citing the credit note; never edited
//! (the database refuses it) and chained by hash so an edit made behind the
//! application's back is found; quarterly and yearly totals.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use chrono::NaiveDate;
use comptoir::billing::catalog::Nature;
use comptoir::billing::documents::{revenue_totals, Period};
use comptoir::billing::invoices::{self, Invoice, InvoiceStatus};
use comptoir::billing::orders::Order;
use comptoir::billing::payments::{Payment, PaymentMethod};
use comptoir::billing::refunds;
use comptoir::billing::render::revenue_line;
use comptoir::billing::revenue_book::{self, BookLine};
use comptoir::money::{Currency, Money};
use comptoir::store::Store;
use rust_decimal::Decimal;

on_both_backends!(
    a_mixed_invoice_is_booked_per_nature_and_cash_is_kept_apart,
    the_book_lists_by_date_received_then_order_of_entry,
    the_book_is_append_only_and_tamper_evident,
    quarterly_and_yearly_totals_split_goods_services_and_cash,
);

// ---------------------------------------------------------------- fixtures

const MUG: &str = "MUG";
const COACH: &str = "COACH";

/// A goods product at 12,50 € and a services product at 80,00 €.
async fn catalogue(store: &Store) {
    products(
        store,
        &[
            (MUG, "Mug émaillé", Nature::Goods, 1_250),
            (COACH, "Séance de coaching", Nature::Services, 8_000),
        ],
    )
    .await;
}

async fn pay_invoice(
    store: &Store,
    inv: &Invoice,
    amount: i64,
    provider: &str,
    method: PaymentMethod,
    on: NaiveDate,
) -> Payment {
    let key = format!("inv-{}-{amount}-{on}", inv.id);
    pay(store, invoice_payment(inv, provider, method, eur(amount), &key), on).await
}

async fn pay_order(store: &Store, o: &Order, provider: &str, method: PaymentMethod, on: NaiveDate) -> Payment {
    pay(
        store,
        order_payment(o, provider, method, &format!("order-{}", o.id)),
        on,
    )
    .await
}

async fn all_lines(store: &Store) -> Vec<BookLine> {
    revenue_book::list(store, date(2000, 1, 1), date(2100, 12, 31))
        .await
        .expect("book")
}

/// (date, nature, amount, method) of each line, as listed.
fn summary(lines: &[BookLine]) -> Vec<(NaiveDate, Nature, i64, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l.line.received_on,
                l.line.nature,
                l.line.amount.minor,
                l.line.method.clone(),
            )
        })
        .collect()
}

// ------------------------------------------------------------------- tests

async fn a_mixed_invoice_is_booked_per_nature_and_cash_is_kept_apart(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;

    // Goods 3 × 12,34 = 37,02 €, services 62,99 €: paid at once, each nature gets its own total.
    let exact = draft(
        &db.store,
        customer.id,
        vec![
            line("Bocal de miel", Nature::Goods, Decimal::from(3), eur(1_234)),
            line("Installation", Nature::Services, Decimal::ONE, eur(6_299)),
        ],
    )
    .await;
    let exact = issue(&db.store, exact.id, date(2026, 3, 1)).await;
    assert_eq!(exact.total, eur(10_001));
    let p = pay_invoice(
        &db.store,
        &exact,
        10_001,
        "simulated",
        PaymentMethod::Card,
        date(2026, 3, 2),
    )
    .await;
    let lines = all_lines(&db.store).await;
    assert_eq!(
        summary(&lines),
        [
            (date(2026, 3, 2), Nature::Goods, 3_702, "card".to_string()),
            (date(2026, 3, 2), Nature::Services, 6_299, "card".to_string()),
        ]
    );
    for l in &lines {
        assert_eq!(l.line.payment_id, Some(p.id));
        assert_eq!(l.line.refund_id, None);
        assert_eq!(l.line.credit_note_reference, None);
        assert_eq!(l.line.invoice_reference, "F2026-0001");
        assert_eq!(l.line.client_name, "Jean Martin");
        assert_eq!(l.line.customer_id, customer.id);
        assert!(!l.is_cash());
    }

    // Goods 10,00 €, services 20,00 €, paid 10,00 € by card then 20,00 € in cash:
    // each payment is split one third / two thirds, exactly, to the cent.
    let mixed = draft(
        &db.store,
        customer.id,
        vec![
            line("Panier garni", Nature::Goods, Decimal::from(2), eur(500)),
            line("Atelier cuisine", Nature::Services, Decimal::ONE, eur(2_000)),
        ],
    )
    .await;
    let mixed = issue(&db.store, mixed.id, date(2026, 3, 3)).await;
    assert_eq!(mixed.reference.as_deref(), Some("F2026-0002"));
    let card = pay_invoice(
        &db.store,
        &mixed,
        1_000,
        "simulated",
        PaymentMethod::Card,
        date(2026, 3, 5),
    )
    .await;
    assert_eq!(
        invoices::get(&db.store, mixed.id).await.unwrap().status,
        InvoiceStatus::Issued
    );
    let cash = pay_invoice(
        &db.store,
        &mixed,
        2_000,
        "manual",
        PaymentMethod::Cash,
        date(2026, 3, 6),
    )
    .await;
    assert_eq!(
        invoices::get(&db.store, mixed.id).await.unwrap().status,
        InvoiceStatus::Paid
    );

    let lines = all_lines(&db.store).await;
    let of = |pid: i64| -> Vec<(Nature, i64, String, bool)> {
        lines
            .iter()
            .filter(|l| l.line.payment_id == Some(pid))
            .map(|l| (l.line.nature, l.line.amount.minor, l.line.method.clone(), l.is_cash()))
            .collect()
    };
    // 10,00 × 1/3 = 3,333… and 10,00 × 2/3 = 6,666…: the spare cent goes to the larger remainder.
    assert_eq!(
        of(card.id),
        [
            (Nature::Goods, 333, "card".into(), false),
            (Nature::Services, 667, "card".into(), false)
        ]
    );
    // 20,00 × 1/3 = 6,666… and 20,00 × 2/3 = 13,333….
    assert_eq!(
        of(cash.id),
        [
            (Nature::Goods, 667, "cash".into(), true),
            (Nature::Services, 1_333, "cash".into(), true)
        ]
    );
    for (pid, amount) in [(card.id, 1_000), (cash.id, 2_000)] {
        assert_eq!(
            of(pid).iter().map(|l| l.1).sum::<i64>(),
            amount,
            "lines of payment {pid} sum to it"
        );
    }
    // Over the whole invoice, each nature received exactly its total.
    let nature_sum = |n: Nature| -> i64 {
        lines
            .iter()
            .filter(|l| l.line.invoice_reference == "F2026-0002" && l.line.nature == n)
            .map(|l| l.line.amount.minor)
            .sum()
    };
    assert_eq!(
        (nature_sum(Nature::Goods), nature_sum(Nature::Services)),
        (1_000, 2_000)
    );
    assert!(lines
        .iter()
        .filter(|l| l.line.invoice_reference == "F2026-0002")
        .all(|l| l.line.received_on >= date(2026, 3, 5)));

    // As printed: the cash line says "Espèces" and is counted apart.
    let printed = revenue_line(lines.iter().find(|l| l.line.payment_id == Some(cash.id)).unwrap());
    assert!(printed.is_cash);
    assert_eq!(printed.method, "Espèces");
    assert_eq!(printed.reference, "F2026-0002");
    assert_eq!(
        comptoir::billing::book_check::verify(&db.store).await.unwrap().findings,
        vec![]
    );
}

async fn the_book_lists_by_date_received_then_order_of_entry(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let mut invoices = Vec::new();
    for minor in [1_000, 2_000, 3_000, 4_000, 5_000] {
        let d = simple_draft(&db.store, customer.id, minor).await;
        invoices.push(issue(&db.store, d.id, date(2026, 3, 1)).await);
    }
    // Entered in this order, but the money of the third arrived first, and two share a day.
    let received = [
        date(2026, 3, 20),
        date(2026, 3, 10),
        date(2026, 3, 5),
        date(2026, 3, 10),
        date(2026, 4, 1),
    ];
    let mut paid = Vec::new();
    for (inv, on) in invoices.iter().zip(received) {
        paid.push(
            pay_invoice(&db.store, inv, inv.total.minor, "manual", PaymentMethod::Transfer, on)
                .await
                .id,
        );
    }

    let lines = revenue_book::list(&db.store, date(2026, 3, 1), date(2026, 3, 31))
        .await
        .unwrap();
    let got: Vec<(i64, NaiveDate, i64, Option<i64>)> = lines
        .iter()
        .map(|l| (l.seq, l.line.received_on, l.line.amount.minor, l.line.payment_id))
        .collect();
    assert_eq!(
        got,
        [
            (3, date(2026, 3, 5), 3_000, Some(paid[2])),
            (2, date(2026, 3, 10), 2_000, Some(paid[1])),
            (4, date(2026, 3, 10), 4_000, Some(paid[3])),
            (1, date(2026, 3, 20), 1_000, Some(paid[0])),
        ],
        "by date received, then by order of entry; April is outside"
    );
    // Both bounds are inclusive.
    let bounded = revenue_book::list(&db.store, date(2026, 3, 10), date(2026, 3, 20))
        .await
        .unwrap();
    assert_eq!(bounded.iter().map(|l| l.seq).collect::<Vec<_>>(), [2, 4, 1]);
    assert!(revenue_book::list(&db.store, date(2026, 3, 11), date(2026, 3, 19))
        .await
        .unwrap()
        .is_empty());
    // A refund recorded later but dated before a receipt lands in date order too.
    let mut tx = db.store.begin().await.unwrap();
    refunds::refund_now(
        &mut tx,
        paid[4],
        eur(500),
        "Erreur de facturation",
        "r1",
        date(2026, 3, 15),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let lines = revenue_book::list(&db.store, date(2026, 3, 1), date(2026, 3, 31))
        .await
        .unwrap();
    assert_eq!(
        lines.iter().map(|l| (l.seq, l.line.amount.minor)).collect::<Vec<_>>(),
        [(3, 3_000), (2, 2_000), (4, 4_000), (6, -500), (1, 1_000)]
    );
    assert_eq!(lines[3].line.credit_note_reference.as_deref(), Some("AV2026-0001"));
    assert_eq!(lines[3].line.invoice_reference, "F2026-0005");
    // The chain follows the order of entry, not the order of dates.
    assert_eq!(
        comptoir::billing::book_check::verify(&db.store).await.unwrap().findings,
        vec![]
    );
}

async fn the_book_is_append_only_and_tamper_evident(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let mixed = draft(
        &db.store,
        customer.id,
        vec![
            line("Panier garni", Nature::Goods, Decimal::ONE, eur(4_000)),
            line("Livraison et montage", Nature::Services, Decimal::ONE, eur(6_000)),
        ],
    )
    .await;
    let mixed = issue(&db.store, mixed.id, date(2026, 2, 1)).await;
    pay_invoice(
        &db.store,
        &mixed,
        10_000,
        "simulated",
        PaymentMethod::Card,
        date(2026, 2, 2),
    )
    .await; // lines 1, 2
    for (i, minor) in [2_500, 3_500, 4_500].into_iter().enumerate() {
        let inv = issued(&db.store, customer.id, minor, date(2026, 2, 3)).await;
        pay_invoice(
            &db.store,
            &inv,
            minor,
            "manual",
            PaymentMethod::Cash,
            date(2026, 2, 4 + i as u32),
        )
        .await; // 3, 4, 5
    }
    let intact = comptoir::billing::book_check::verify(&db.store).await.unwrap();
    assert_eq!(intact.lines_checked, 5);
    assert_eq!(intact.findings, vec![]);
    let original = all_lines(&db.store).await;
    assert_eq!(original.len(), 5);
    assert_eq!(original[0].prev_hash, revenue_book::GENESIS);
    for pair in original.windows(2) {
        assert_eq!(
            pair[1].prev_hash, pair[0].hash,
            "line {} is chained to line {}",
            pair[1].seq, pair[0].seq
        );
    }

    // The database itself refuses edits and deletions, from any connection.
    let refusals = [
        "UPDATE revenue_book SET amount_minor = 1",
        "UPDATE revenue_book SET amount_minor = 1 WHERE seq = 3",
        "DELETE FROM revenue_book",
        "DELETE FROM revenue_book WHERE seq = 5",
    ];
    for sql in refusals {
        let err = raw_execute(&db, sql).await.expect_err(sql);
        assert!(
            err.contains("livre de recettes entries are never changed or deleted"),
            "{sql}: {err}"
        );
    }
    if backend == Backend::Postgres {
        let err = raw_execute(&db, "TRUNCATE revenue_book").await.expect_err("truncate");
        assert!(err.contains("never changed or deleted"), "{err}");
    }
    // Nor may the ledger be rewritten.
    let err = raw_execute(&db, "UPDATE ledger_entries SET amount_minor = 0")
        .await
        .expect_err("ledger update");
    assert!(err.contains("ledger entries are never changed"), "{err}");
    assert_eq!(all_lines(&db.store).await, original);
    assert_eq!(
        comptoir::billing::book_check::verify(&db.store).await.unwrap().findings,
        vec![]
    );

    // Behind the application's back: lift the guard, then change line 3's amount.
    let lift = match backend {
        Backend::Sqlite => "DROP TRIGGER revenue_book_no_update",
        Backend::Postgres => "ALTER TABLE revenue_book DISABLE TRIGGER revenue_book_no_update",
    };
    raw_execute(&db, lift).await.expect("lift the guard");
    assert_eq!(
        raw_execute(&db, "UPDATE revenue_book SET amount_minor = 1 WHERE seq = 3").await,
        Ok(1)
    );
    let found = comptoir::billing::book_check::verify(&db.store).await.unwrap();
    assert_eq!(found.findings[0].line, Some(3), "{:?}", found.findings);
    assert!(found.findings[0].message.contains("modifiée"), "{:?}", found.findings);

    // A forger who also recomputes line 3's hash breaks line 4's link instead,
    // and line 3's signature no longer matches.
    let tampered = all_lines(&db.store).await.into_iter().find(|l| l.seq == 3).unwrap();
    assert_eq!(tampered.line.amount, eur(1));
    let forged = revenue_book::line_hash(3, &tampered.line, &tampered.prev_hash);
    let sql = format!("UPDATE revenue_book SET hash = '{forged}' WHERE seq = 3");
    assert_eq!(raw_execute(&db, &sql).await, Ok(1));
    let found = comptoir::billing::book_check::verify(&db.store).await.unwrap();
    let said: Vec<(Option<i64>, &str)> = found.findings.iter().map(|f| (f.line, f.message.as_str())).collect();
    assert!(
        said.iter().any(|(l, m)| *l == Some(3) && m.contains("signature")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|(l, m)| *l == Some(4) && m.contains("chaîn")),
        "{said:?}"
    );

    // A line removed from the middle is named as missing.
    if backend == Backend::Sqlite {
        raw_execute(&db, "DROP TRIGGER revenue_book_no_delete")
            .await
            .expect("lift the delete guard");
    }
    assert_eq!(raw_execute(&db, "DELETE FROM revenue_book WHERE seq = 2").await, Ok(1));
    let found = comptoir::billing::book_check::verify(&db.store).await.unwrap();
    assert!(
        found
            .findings
            .iter()
            .any(|f| f.line == Some(2) && f.message.contains("manque")),
        "{:?}",
        found.findings
    );
}

async fn quarterly_and_yearly_totals_split_goods_services_and_cash(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    catalogue(&db.store).await;
    let jean = person(&db.store).await;
    let acme = business(&db.store).await;

    // The year before: outside 2026's totals.
    let o = order(&db.store, jean.id, &[(COACH, 1)]).await.expect("valid order");
    pay_order(&db.store, &o, "simulated", PaymentMethod::Card, date(2025, 12, 31)).await;
    // Q1: a mixed order by card (25,00 goods + 80,00 services), 300,00 of services in cash,
    // 50,00 of goods by transfer on the quarter's last day.
    let a = order(&db.store, jean.id, &[(MUG, 2), (COACH, 1)])
        .await
        .expect("valid order");
    let pa = pay_order(&db.store, &a, "simulated", PaymentMethod::Card, date(2026, 1, 15)).await;
    let b = issued(&db.store, acme.id, 30_000, date(2026, 2, 1)).await;
    pay_invoice(&db.store, &b, 30_000, "manual", PaymentMethod::Cash, date(2026, 2, 20)).await;
    let c = order(&db.store, acme.id, &[(MUG, 4)]).await.expect("valid order");
    pay_order(&db.store, &c, "manual", PaymentMethod::Transfer, date(2026, 3, 31)).await;
    // Q2: 80,00 of services by card on the quarter's first day, 30,00 refunded on the
    // mixed order (split 7,14 goods / 22,86 services like its credit note), 12,50 of goods in cash.
    let d = order(&db.store, jean.id, &[(COACH, 1)]).await.expect("valid order");
    pay_order(&db.store, &d, "simulated", PaymentMethod::Card, date(2026, 4, 1)).await;
    let mut tx = db.store.begin().await.unwrap();
    refunds::refund_now(&mut tx, pa.id, eur(3_000), "Mugs cassés", "refund-a", date(2026, 5, 10))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let f = order(&db.store, acme.id, &[(MUG, 1)]).await.expect("valid order");
    pay_order(&db.store, &f, "manual", PaymentMethod::Cash, date(2026, 6, 30)).await;

    let lines = revenue_book::list(&db.store, date(2026, 1, 1), date(2026, 12, 31))
        .await
        .unwrap();
    let refund_lines: Vec<(Nature, i64)> = lines
        .iter()
        .filter(|l| l.line.refund_id.is_some())
        .map(|l| (l.line.nature, l.line.amount.minor))
        .collect();
    assert_eq!(refund_lines, [(Nature::Goods, -714), (Nature::Services, -2_286)]);
    assert_eq!(lines.len(), 8);

    let printed: Vec<_> = lines.iter().map(revenue_line).collect();
    let totals = revenue_totals(&printed);
    let periods: Vec<Period> = totals.periods.iter().map(|p| p.period).collect();
    assert_eq!(
        periods,
        [
            Period::Quarter { year: 2026, quarter: 1 },
            Period::Quarter { year: 2026, quarter: 2 },
            Period::Year(2026)
        ]
    );
    let eur_of = |p: Period| *totals.get(p, Currency::EUR).expect("period totals");
    // (receipts, goods, services, cash, other methods, total) in cents.
    let figures = |p: Period| {
        let t = eur_of(p);
        (
            t.receipts,
            t.goods.minor,
            t.services.minor,
            t.cash.minor,
            t.other_methods.minor,
            t.total.minor,
        )
    };
    assert_eq!(
        figures(Period::Quarter { year: 2026, quarter: 1 }),
        (4, 7_500, 38_000, 30_000, 15_500, 45_500)
    );
    assert_eq!(
        figures(Period::Quarter { year: 2026, quarter: 2 }),
        (4, 536, 5_714, 1_250, 5_000, 6_250)
    );
    assert_eq!(figures(Period::Year(2026)), (8, 8_036, 43_714, 31_250, 20_500, 51_750));

    // The same figures straight from the book's lines, without the totals function.
    let sum = |keep: &dyn Fn(&BookLine) -> bool| -> i64 {
        lines.iter().filter(|l| keep(l)).map(|l| l.line.amount.minor).sum()
    };
    let q1 = |l: &BookLine| l.line.received_on <= date(2026, 3, 31);
    assert_eq!(sum(&|l| q1(l) && l.line.nature == Nature::Goods), 7_500);
    assert_eq!(sum(&|l| !q1(l) && l.line.nature == Nature::Services), 5_714);
    assert_eq!(sum(&|l| l.is_cash()), 31_250);
    assert_eq!(sum(&|l| !l.is_cash()), 20_500);
    assert_eq!(sum(&|_| true), 51_750);

    // The whole book also holds 2025, in its own year.
    let everything: Vec<_> = all_lines(&db.store).await.iter().map(revenue_line).collect();
    let all_totals = revenue_totals(&everything);
    let y2025 = all_totals.get(Period::Year(2025), Currency::EUR).expect("2025");
    assert_eq!(
        (y2025.receipts, y2025.services, y2025.total),
        (1, Money::new(8_000, Currency::EUR), eur(8_000))
    );
    assert_eq!(
        all_totals.get(Period::Year(2026), Currency::EUR).map(|t| t.total),
        Some(eur(51_750))
    );
    // Numbering follows the years: the 2025 invoice is F2025-0001, 2026 starts again at 1.
    assert_eq!(lines[0].line.invoice_reference, "F2026-0001");
    assert_eq!(everything[0].reference, "F2025-0001");

    // The same quarter and year totals, read back from the exported files: the
    // totals CSV and the PDF.
    let export = comptoir::billing::render::export_book(
        &db.store,
        comptoir::billing::render::BookPeriod::parse("2026").unwrap(),
    )
    .await
    .expect("export");
    let csv = String::from_utf8(export.totals_csv).unwrap();
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        rows,
        [
            "Période;Marchandises;Services;dont espèces;Autres modes;Total;Devise",
            "T1 2026;75,00;380,00;300,00;155,00;455,00;EUR",
            "T2 2026;5,36;57,14;12,50;50,00;62,50;EUR",
            "Année 2026;80,36;437,14;312,50;205,00;517,50;EUR",
        ]
    );
    let pdf: Vec<String> = crate::support::pdf::pdf_text(&export.pdf)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for row in [
        "T1 2026 75,00 € 380,00 € 300,00 € 155,00 € 455,00 €",
        "T2 2026 5,36 € 57,14 € 12,50 € 50,00 € 62,50 €",
        "Année 2026 80,36 € 437,14 € 312,50 € 205,00 € 517,50 €",
    ] {
        assert!(pdf.iter().any(|l| l == row), "{row:?} in {pdf:#?}");
    }
}
