//! Documents through the real domain: an issued invoice, its payment, a
//! refund's credit note and the livre de recettes export, read back with
//! `pdftotext`; and the `billing verify-book` command on a tampered book.

use crate::on_both_backends;
use crate::support::billing::{business, date, eur, invoice_payment, save_settings};
use crate::support::pdf::pdf_text;
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::invoices::{self, NewInvoice, NewLine};
use comptoir::billing::payments::{self, Completion, PaymentMethod};
use comptoir::billing::refunds;
use comptoir::billing::render::{self, BookPeriod};
use comptoir::money::Currency;
use rust_decimal::Decimal;

fn assert_has(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "missing {n:?} in:\n{text}");
    }
}

/// Issues F2026-0001 (goods 2 × 450,00 € + services 334,56 € = 1 234,56 €) to a business, pays it by transfer.
async fn issued_and_paid(db: &TestDb) -> (i64, i64) {
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let mut tx = db.store.begin().await.unwrap();
    let draft = invoices::create_draft(
        &mut tx,
        NewInvoice::of_lines(
            customer.id,
            Currency::EUR,
            vec![
                NewLine {
                    description: "Théière en fonte émaillée".into(),
                    nature: Nature::Goods,
                    quantity: Decimal::from(2),
                    unit: None,
                    unit_price: eur(45_000),
                },
                NewLine {
                    description: "Atelier de dégustation".into(),
                    nature: Nature::Services,
                    quantity: Decimal::ONE,
                    unit: None,
                    unit_price: eur(33_456),
                },
            ],
        ),
    )
    .await
    .unwrap();
    let invoice = invoices::issue(&mut tx, draft.id, date(2026, 11, 20)).await.unwrap();
    let payment = payments::initiate(
        &mut tx,
        invoice_payment(
            &invoice,
            "manual",
            PaymentMethod::Transfer,
            eur(123_456),
            "virement-2026-11-25",
        ),
    )
    .await
    .unwrap();
    payments::complete(
        &mut tx,
        payment.id,
        Completion {
            received_on: date(2026, 11, 25),
            fee: eur(0),
            provider_reference: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (invoice.id, payment.id)
}

async fn invoice_credit_note_and_book_read_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (invoice_id, payment_id) = issued_and_paid(&db).await;

    let pdf = render::invoice_pdf(&db.store, invoice_id).await.unwrap();
    let verdict = crate::support::pdf::facturx_check(&pdf, "invoice.pdf", true);
    assert!(verdict.pass, "facturx-check says:\n{}", verdict.output);
    let text = pdf_text(&pdf);
    assert_has(
        &text,
        &[
            "Marie Dupont EI",
            "732829320",
            "12 rue des Lilas",
            "Atelier Dupré SARL",
            "552100554",
            "5 avenue de l'Été",
            "F2026-0001",
            "20/11/2026",
            "20/12/2026",
            "Théière en fonte émaillée",
            "900,00 €",
            "334,56 €",
            "1 234,56 €",
            "TVA non applicable, art. 293 B du CGI",
            "Pénalités de retard : 10,00 % l'an",
            "40 €",
            "75011 Paris",
            "69003 Lyon",
            "Pas d'escompte pour paiement anticipé",
            "Date de la vente ou de la prestation : 20/11/2026",
            "Catégorie de l'opération : Opération mixte",
        ],
    );

    let mut tx = db.store.begin().await.unwrap();
    let refund = refunds::refund_now(
        &mut tx,
        payment_id,
        eur(33_456),
        "Atelier annulé",
        "refund-1",
        date(2026, 12, 2),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let note_id = refund.credit_note_id.expect("credit note");
    let text = pdf_text(&render::invoice_pdf(&db.store, note_id).await.unwrap());
    assert_has(
        &text,
        &[
            "AV2026-0001",
            "F2026-0001",
            "20/11/2026",
            "334,56 €",
            "Marie Dupont EI",
            "552100554",
            // Made by the refund of a transfer: it says when and how the money went back.
            "Avoir remboursé le 02/12/2026, par virement",
        ],
    );
    for absent in [
        "À déduire de votre prochaine facture",
        "Date d'échéance",
        "Conditions de paiement",
        "Pénalités de retard",
        "Indemnité forfaitaire",
    ] {
        assert!(!text.contains(absent), "{absent:?} printed on a credit note:\n{text}");
    }
    let verdict = crate::support::pdf::facturx_check(
        &render::invoice_pdf(&db.store, note_id).await.unwrap(),
        "credit-note.pdf",
        true,
    );
    assert!(verdict.pass, "facturx-check says:\n{}", verdict.output);

    let export = render::export_book(&db.store, BookPeriod::parse("2026").unwrap())
        .await
        .unwrap();
    // Goods and services apart, on the receipt and on the refund: a partial
    // credit note is split over the invoice's natures in proportion, exactly
    // (33 456 × 90 000 / 123 456 = 24 389.58 → 24 390 by largest remainder; services 9 066).
    assert_eq!(export.lines, 4);
    let csv = String::from_utf8(export.csv[3..].to_vec()).unwrap();
    assert!(
        csv.contains("25/11/2026;Atelier Dupré SARL;Vente de marchandises;900,00;EUR;Virement;F2026-0001\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("25/11/2026;Atelier Dupré SARL;Prestation de services;334,56;EUR;Virement;F2026-0001\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("02/12/2026;Atelier Dupré SARL;Vente de marchandises;-243,90;EUR;Virement;AV2026-0001"),
        "{csv}"
    );
    assert!(
        csv.contains("02/12/2026;Atelier Dupré SARL;Prestation de services;-90,66;EUR;Virement;AV2026-0001"),
        "{csv}"
    );
    let text = pdf_text(&export.pdf);
    assert_has(
        &text,
        &[
            "Livre des recettes",
            "Année 2026",
            "page 1 / 1",
            "AV2026-0001",
            "-243,90 €",
            "-90,66 €",
            "900,00 €",
        ],
    );
}

use crate::support::worker::worker_cli as worker;

async fn verify_book_command_names_the_altered_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    issued_and_paid(&db).await;
    let ok = worker(&db, &["billing", "verify-book"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact : 2 ligne(s)"));

    // Behind the application's back: lift the guard, change line 2's amount.
    let tamper = match backend {
        Backend::Postgres => {
            "ALTER TABLE revenue_book DISABLE TRIGGER revenue_book_no_update;
             UPDATE revenue_book SET amount_minor = amount_minor - 100 WHERE seq = 2;"
        }
        Backend::Sqlite => {
            "DROP TRIGGER revenue_book_no_update;
             UPDATE revenue_book SET amount_minor = amount_minor - 100 WHERE seq = 2;"
        }
    };
    match backend {
        Backend::Postgres => {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(tamper).execute(&mut c).await.unwrap();
        }
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(tamper).execute(&mut c).await.unwrap();
        }
    }
    let bad = worker(&db, &["billing", "verify-book"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("la ligne n° 2 ne correspond plus à son empreinte"),
        "{stderr}"
    );
}

/// `billing invoice-pdf` and `billing invoice-xml` write the Factur-X PDF and its XML.
async fn invoice_commands_write_the_factur_x_pdf_and_its_xml(backend: Backend) {
    let db = TestDb::new(backend).await;
    issued_and_paid(&db).await;
    for (command, file) in [("invoice-pdf", "F2026-0001.pdf"), ("invoice-xml", "F2026-0001.xml")] {
        let path = db.dir.path().join(file);
        let out = worker(
            &db,
            &["billing", command, "F2026-0001", "--out", path.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&path).expect("written");
        let verdict = crate::support::pdf::facturx_check(&bytes, file, true);
        assert!(verdict.pass, "{file}: {}", verdict.output);
    }
    let unknown = worker(&db, &["billing", "invoice-xml", "F2026-0999"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
}

on_both_backends!(
    invoice_credit_note_and_book_read_back,
    verify_book_command_names_the_altered_line,
    invoice_commands_write_the_factur_x_pdf_and_its_xml
);
