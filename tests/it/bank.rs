//! Bank statements: camt.053 files in the shapes French banks export (a
//! single statement, two statements, a batch booking, a structured creditor
//! reference, a reversal), each validated against the official ISO 20022
//! XSD, imported on both backends; what matches one invoice exactly is paid
//! on the booking date (and enters the livre de recettes on it), the rest
//! waits for the operator, who confirms, splits, sets aside or ignores; a
//! statement imported twice adds nothing.

use chrono::NaiveDate;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::camt::{self, document, rf_reference, tx, Entry, Statement, Version};
use crate::support::worker::{app_context, drain_app_ok, output_text, worker_cli};
use crate::support::{Backend, TestDb};
use comptoir::audit::{self, Actor, AuditFilter};
use comptoir::billing::bank::{self, Allocation, EntryKind, EntryStatus};
use comptoir::billing::import::{self, ImportKind, ImportReport, ImportStatus};
use comptoir::billing::invoices::{self, Invoice, InvoiceStatus};
use comptoir::billing::revenue_book;
use comptoir::billing::BillingError;

on_both_backends!(
    camt_statements_pay_the_invoices_they_name_on_the_booking_date_once,
    the_operator_confirms_splits_sets_aside_and_ignores_each_audited,
    the_worker_command_imports_a_camt_statement,
    a_csv_label_naming_the_customer_pays_the_one_invoice_owing_that_amount,
);

const IBAN: &str = "FR7630006000011234567890189";

/// Writes `xml`, checks it against the XSD of `version`, and imports it.
async fn import_camt(db: &TestDb, version: Version, name: &str, xml: &str) -> ImportReport {
    let path = db.dir.path().join(name);
    std::fs::write(&path, xml).expect("write the statement");
    camt::assert_valid(version, &path);
    let mut tx = db.store.begin().await.expect("begin");
    let sha = import::sha256_hex(xml.as_bytes());
    let registered = import::register(&mut tx, ImportKind::Payments, name, &sha)
        .await
        .expect("register");
    tx.commit().await.expect("commit");
    import::run(&db.store, registered.id, &path, |_| {})
        .await
        .expect("the statement is imported")
}

fn entry(reference: &str, booking: NaiveDate, credit: bool, txs: Vec<camt::Tx>) -> Entry {
    Entry {
        reference: reference.into(),
        booking,
        value: booking,
        credit,
        reversal: false,
        amount_minor: None,
        txs,
        additional: None,
    }
}

fn statement(id: &str, from: NaiveDate, to: NaiveDate, entries: Vec<Entry>) -> Statement {
    Statement {
        id: id.into(),
        iban: IBAN.into(),
        from,
        to,
        entries,
    }
}

/// `F2026-0003` as customers write it: `FACT 2026 0003`, `f2026-3`, `F-2026-0003`.
fn spelled(reference: &str, how: usize) -> String {
    let (series, number) = reference.rsplit_once('-').unwrap();
    let (prefix, year) = series.split_at(series.len() - 4);
    let n: u32 = number.parse().unwrap();
    match how {
        0 => format!("FACT {year} {number}"),
        1 => format!("{}{year}-{n}", prefix.to_lowercase()),
        _ => format!("{prefix}-{year}-{number}"),
    }
}

fn reference(i: &Invoice) -> String {
    i.reference.clone().expect("issued")
}

async fn book_lines(db: &TestDb) -> Vec<(NaiveDate, i64, String, String)> {
    revenue_book::list(&db.store, date(2026, 1, 1), date(2026, 12, 31))
        .await
        .unwrap()
        .iter()
        .map(|l| {
            (
                l.line.received_on,
                l.line.amount.minor,
                l.line.method.as_str().to_string(),
                l.line.invoice_reference.clone(),
            )
        })
        .collect()
}

async fn camt_statements_pay_the_invoices_they_name_on_the_booking_date_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let atelier = business(&db.store).await; // « Atelier Dupré SARL »
    let elodie = create_customer(&db.store, person_input("Élodie Château-Brûlé")).await;
    let jean = person(&db.store).await; // « Jean Martin »
    let on = date(2026, 1, 15);
    let a = issued(&db.store, atelier.id, 123_456, on).await;
    let b = issued(&db.store, elodie.id, 34_999, on).await;
    let c = issued(&db.store, jean.id, 50_000, on).await;
    let d = issued(&db.store, jean.id, 8_000, on).await;

    // A single statement (.02): a transfer naming A as « FACT 2026 0001 », and a debit.
    let feb = document(
        Version::V02,
        &[statement(
            "2026-02",
            date(2026, 2, 1),
            date(2026, 2, 28),
            vec![
                entry(
                    "BQ260205001",
                    date(2026, 2, 5),
                    true,
                    vec![tx(
                        123_456,
                        "ATELIER DUPRE SARL",
                        &format!("VIR SEPA {}", spelled(&reference(&a), 0)),
                    )],
                ),
                entry(
                    "BQ260207001",
                    date(2026, 2, 7),
                    false,
                    vec![tx(4_500, "OVH SAS", "PRLV OVH")],
                ),
            ],
        )],
    );
    let report = import_camt(&db, Version::V02, "releve-fevrier.xml", &feb).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!(
        (report.total, report.imported, report.skipped),
        (2, 1, 1),
        "{:?}",
        report.skips
    );
    assert_eq!(report.skips[0].message, "débit de 45,00\u{a0}€ : pas un encaissement");

    // Two statements (.08): a structured ISO 11649 reference for B; a batch
    // booking of three transfers (C as « f2026-3 », D as « F-2026-0004 »,
    // and one that pays nothing); a reversal of D's transfer.
    let mut structured = tx(34_999, "CHATEAU-BRULE ELODIE", "");
    structured.creditor_ref = Some(rf_reference(&reference(&b).replace('-', "")));
    let mut reversal = entry(
        "BQ260320001",
        date(2026, 3, 20),
        false,
        vec![tx(
            8_000,
            "MARTIN JEAN",
            &format!("RETOUR {}", spelled(&reference(&d), 2)),
        )],
    );
    reversal.reversal = true;
    let march = document(
        Version::V08,
        &[
            statement(
                "2026-03-A",
                date(2026, 3, 1),
                date(2026, 3, 15),
                vec![entry("BQ260303001", date(2026, 3, 3), true, vec![structured])],
            ),
            statement(
                "2026-03-B",
                date(2026, 3, 16),
                date(2026, 3, 31),
                vec![
                    entry(
                        "BQ260317001",
                        date(2026, 3, 17),
                        true,
                        vec![
                            tx(
                                50_000,
                                "M JEAN MARTIN",
                                &format!("REGLEMENT {}", spelled(&reference(&c), 1)),
                            ),
                            tx(8_000, "JEAN MARTIN", &spelled(&reference(&d), 2)),
                            tx(6_000, "GARAGE LEROY", "REMBOURSEMENT TROP PERCU"),
                        ],
                    ),
                    reversal,
                ],
            ),
        ],
    );
    let report = import_camt(&db, Version::V08, "releve-mars.xml", &march).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!(
        (report.total, report.imported, report.skipped),
        (5, 3, 2),
        "{:?}",
        report.skips
    );

    for invoice in [&a, &b, &c, &d] {
        let now = invoices::get(&db.store, invoice.id).await.unwrap();
        assert_eq!(now.status, InvoiceStatus::Paid, "{:?}", now.reference);
    }
    let transfer = "transfer".to_string();
    assert_eq!(
        book_lines(&db).await,
        vec![
            (date(2026, 2, 5), 123_456, transfer.clone(), reference(&a)),
            (date(2026, 3, 3), 34_999, transfer.clone(), reference(&b)),
            (date(2026, 3, 17), 50_000, transfer.clone(), reference(&c)),
            (date(2026, 3, 17), 8_000, transfer.clone(), reference(&d)),
        ]
    );
    let waiting = bank::list(&db.store, Some(EntryStatus::Waiting), 10).await.unwrap();
    let mut seen: Vec<(EntryKind, i64)> = waiting.iter().map(|e| (e.kind, e.amount.minor)).collect();
    seen.sort_by_key(|(_, m)| *m);
    assert_eq!(seen, vec![(EntryKind::Credit, 6_000), (EntryKind::Reversal, 8_000)]);
    let reversed = waiting.iter().find(|e| e.kind == EntryKind::Reversal).unwrap();
    assert!(
        reversed
            .waiting_reason
            .as_deref()
            .unwrap()
            .starts_with("contre-passation"),
        "{reversed:?}"
    );
    let matched = bank::list(&db.store, Some(EntryStatus::Matched), 10).await.unwrap();
    assert_eq!(matched.len(), 4);
    assert!(matched.iter().all(|e| e.account.as_deref() == Some(IBAN)));

    // The same statements again: nothing new.
    let before = billing_counts(&db).await;
    let entries = count(&db, "bank_entries").await;
    for (version, name, xml) in [
        (Version::V02, "releve-fevrier (1).xml", &feb),
        (Version::V08, "releve-mars (1).xml", &march),
    ] {
        let again = import_camt(&db, version, name, xml).await;
        assert_eq!((again.imported, again.bad_rows), (0, 0), "{again:?}");
        assert!(
            again
                .skips
                .iter()
                .all(|s| s.message.starts_with("déjà importée") || s.message.starts_with("débit")),
            "{:?}",
            again.skips
        );
    }
    assert_eq!(billing_counts(&db).await, before);
    assert_eq!(count(&db, "bank_entries").await, entries);
}

async fn the_operator_confirms_splits_sets_aside_and_ignores_each_audited(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    // With an address for the receipts the payments' jobs e-mail.
    let mut input = business_input();
    input.email = Some("compta@atelier-dupre.example".into());
    let atelier = create_customer(&db.store, input).await;
    let jean = person(&db.store).await;
    let on = date(2026, 1, 15);
    let x = issued(&db.store, jean.id, 30_000, on).await;
    let y = issued(&db.store, jean.id, 20_000, on).await;
    let z = issued(&db.store, atelier.id, 10_000, on).await;
    let xml = document(
        Version::V02,
        &[statement(
            "2026-04",
            date(2026, 4, 1),
            date(2026, 4, 30),
            vec![
                entry(
                    "BQ1",
                    date(2026, 4, 2),
                    true,
                    vec![tx(
                        50_000,
                        "JEAN MARTIN",
                        &format!("FACTURES {} ET {}", reference(&x), reference(&y)),
                    )],
                ),
                entry(
                    "BQ2",
                    date(2026, 4, 3),
                    true,
                    vec![tx(12_000, "ATELIER DUPRE", &reference(&z))],
                ),
                entry(
                    "BQ3",
                    date(2026, 4, 4),
                    true,
                    vec![tx(100_000, "MARTIN PAUL", "PRET FAMILIAL")],
                ),
                entry(
                    "BQ4",
                    date(2026, 4, 5),
                    true,
                    vec![tx(512, "BANQUE", "INTERETS CREDITEURS")],
                ),
            ],
        )],
    );
    let report = import_camt(&db, Version::V02, "releve-avril.xml", &xml).await;
    assert_eq!((report.imported, report.skipped), (0, 4), "{:?}", report.skips);
    let waiting = bank::list(&db.store, Some(EntryStatus::Waiting), 10).await.unwrap();
    let by_amount = |minor: i64| waiting.iter().find(|e| e.amount.minor == minor).unwrap().clone();
    let (both, over, loan, interest) = (by_amount(50_000), by_amount(12_000), by_amount(100_000), by_amount(512));
    assert!(
        both.waiting_reason.as_deref().unwrap().contains("à répartir"),
        "{both:?}"
    );
    assert!(
        over.waiting_reason.as_deref().unwrap().starts_with("trop-perçu"),
        "{over:?}"
    );

    // The candidates the page shows, ranked: the overpaid invoice first.
    let open = bank::open_invoices(&db.store).await.unwrap();
    assert_eq!(bank::candidates(&over, &open)[0].invoice.id, z.id);
    let named: Vec<i64> = bank::candidates(&both, &open)
        .iter()
        .filter(|c| c.named)
        .map(|c| c.invoice.id)
        .collect();
    assert_eq!(named, vec![x.id, y.id]);

    let operator = Actor {
        operator_id: None,
        name: "marie@example.fr".into(),
        ip: "127.0.0.1".into(),
    };
    // A split beyond the credit is refused in French, and changes nothing.
    let mut tx = db.store.begin().await.unwrap();
    let too_much = [
        Allocation {
            invoice_id: x.id,
            amount: eur(30_000),
        },
        Allocation {
            invoice_id: y.id,
            amount: eur(25_000),
        },
    ];
    match bank::confirm(&mut tx, &operator, both.id, &too_much).await {
        Err(BillingError::Invalid { message, .. }) => {
            assert_eq!(
                message.to_string(),
                "la répartition (550,00\u{a0}€) dépasse le virement (500,00\u{a0}€)"
            )
        }
        other => panic!("{other:?}"),
    }
    tx.rollback().await.unwrap();

    // Split across X and Y; the overpayment pays Z and keeps 20 € to pay back.
    let mut tx = db.store.begin().await.unwrap();
    let split = [
        Allocation {
            invoice_id: x.id,
            amount: eur(30_000),
        },
        Allocation {
            invoice_id: y.id,
            amount: eur(20_000),
        },
    ];
    let done = bank::confirm(&mut tx, &operator, both.id, &split).await.unwrap();
    assert_eq!((done.status, done.excess.minor), (EntryStatus::Confirmed, 0));
    let done = bank::confirm(
        &mut tx,
        &operator,
        over.id,
        &[Allocation {
            invoice_id: z.id,
            amount: eur(10_000),
        }],
    )
    .await
    .unwrap();
    assert_eq!((done.status, done.excess.minor), (EntryStatus::Confirmed, 2_000));
    bank::set_aside(&mut tx, &operator, loan.id, EntryStatus::NotSale, "prêt de Paul")
        .await
        .unwrap();
    bank::set_aside(&mut tx, &operator, interest.id, EntryStatus::Ignored, "")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A decision is made once.
    let mut tx = db.store.begin().await.unwrap();
    match bank::set_aside(&mut tx, &operator, loan.id, EntryStatus::Ignored, "").await {
        Err(BillingError::Conflict(m)) => assert_eq!(m.to_string(), "cette écriture est déjà traitée (hors ventes)"),
        other => panic!("{other:?}"),
    }
    tx.rollback().await.unwrap();

    // The payments are completed by their charge jobs, received on the booking dates.
    let ctx = app_context(&db, |_| None);
    drain_app_ok(&db.store, &ctx).await;
    for invoice in [&x, &y, &z] {
        assert_eq!(
            invoices::get(&db.store, invoice.id).await.unwrap().status,
            InvoiceStatus::Paid
        );
    }
    let transfer = "transfer".to_string();
    let mut lines = book_lines(&db).await;
    lines.sort();
    let mut expected = vec![
        (date(2026, 4, 2), 30_000, transfer.clone(), reference(&x)),
        (date(2026, 4, 2), 20_000, transfer.clone(), reference(&y)),
        (date(2026, 4, 3), 10_000, transfer.clone(), reference(&z)),
    ];
    expected.sort();
    assert_eq!(lines, expected);
    assert_eq!(bank::payments_of(&db.store, both.id).await.unwrap().len(), 2);

    let actions: Vec<String> = audit::list(
        &db.store,
        &AuditFilter {
            action: Some("bank.".into()),
            limit: 10,
            ..AuditFilter::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| format!("{} {} {}", e.action, e.target, e.actor))
    .collect();
    let mut actions = actions;
    actions.sort();
    assert_eq!(
        actions,
        vec![
            format!("bank.confirm bank_entry:{} marie@example.fr", over.id),
            format!("bank.ignore bank_entry:{} marie@example.fr", interest.id),
            format!("bank.not_sale bank_entry:{} marie@example.fr", loan.id),
            format!("bank.split bank_entry:{} marie@example.fr", both.id),
        ]
    );
    assert_eq!(bank::waiting_count(&db.store).await.unwrap(), 0);
}

async fn the_worker_command_imports_a_camt_statement(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let jean = person(&db.store).await;
    let a = issued(&db.store, jean.id, 42_000, date(2026, 1, 15)).await;
    let xml = document(
        Version::V08,
        &[statement(
            "2026-05",
            date(2026, 5, 1),
            date(2026, 5, 31),
            vec![entry(
                "BQ5",
                date(2026, 5, 6),
                true,
                vec![tx(42_000, "JEAN MARTIN", &spelled(&reference(&a), 1))],
            )],
        )],
    );
    // No extension, and a CSV-looking name: the content decides.
    let path = db.dir.path().join("export-banque.csv");
    std::fs::write(&path, &xml).unwrap();
    let out = worker_cli(&db, &["billing", "import", "bank", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", output_text(&out));
    let id: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the import's id");
    let out = worker_cli(&db, &["drain"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let done = import::get(&db.store, id).await.unwrap();
    assert_eq!(
        (done.status, done.imported_rows),
        (ImportStatus::Completed, 1),
        "{done:?}"
    );
    assert_eq!(
        invoices::get(&db.store, a.id).await.unwrap().status,
        InvoiceStatus::Paid
    );
    assert_eq!(book_lines(&db).await[0].0, date(2026, 5, 6));
}

/// A bank's CSV has no payer column: its label names the payer. A credit
/// with no invoice number whose label names the customer of the one invoice
/// owing exactly its amount pays it; the same for a customer with two such
/// invoices waits; an exact amount of another customer's invoice waits.
async fn a_csv_label_naming_the_customer_pays_the_one_invoice_owing_that_amount(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let atelier = business(&db.store).await; // « Atelier Dupré SARL »
    let jean = person(&db.store).await; // « Jean Martin »
    let on = date(2026, 1, 15);
    let a = issued(&db.store, atelier.id, 123_456, on).await;
    let j1 = issued(&db.store, jean.id, 10_000, on).await;
    let j2 = issued(&db.store, jean.id, 10_000, on).await;
    let text = "Date;Libellé;Montant\n\
                03/02/2026;VIR SEPA ATELIER DUPRE PRESTATION JANVIER;1 234,56\n\
                04/02/2026;VIR SEPA M JEAN MARTIN;100,00\n\
                05/02/2026;VIR SEPA GARAGE LEROY;1 234,56\n";
    let path = db.dir.path().join("releve.csv");
    std::fs::write(&path, text).unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let registered = import::register(
        &mut tx,
        ImportKind::Payments,
        "releve.csv",
        &import::sha256_hex(text.as_bytes()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let report = import::run(&db.store, registered.id, &path, |_| {}).await.unwrap();
    assert_eq!((report.imported, report.skipped), (1, 2), "{:?}", report.skips);
    assert_eq!(
        invoices::get(&db.store, a.id).await.unwrap().status,
        InvoiceStatus::Paid
    );
    let skips: Vec<(u64, String)> = report.skips.iter().map(|n| (n.line, n.message.clone())).collect();
    assert_eq!(
        skips,
        vec![
            (
                3,
                format!(
                    "en attente de rapprochement : plusieurs factures du même client dues pour 100,00\u{a0}€ ({}, {}) : laquelle ?",
                    reference(&j1),
                    reference(&j2)
                )
            ),
            (
                4,
                "en attente de rapprochement : aucune facture due ne correspond (ni numéro, ni montant, ni nom)".into()
            ),
        ]
    );
}
