//! Migration 0008 on a database made by the code before it: addresses get
//! their parts (best effort), the legal terms become structured, and issued
//! invoices are not touched: their snapshot, as that code wrote it, still
//! reads back and renders the texts it printed.

use comptoir::billing::catalog::Nature;
use comptoir::billing::invoices::{self, DraftDetails, LatePenaltyRate, NewInvoice};
use comptoir::billing::settings::{self, VatRegime};
use comptoir::billing::BillingError;
use comptoir::billing::{customers, render, terms};
use rust_decimal::Decimal;

use crate::conformance::migrate_the_old_way;
use crate::on_both_backends;
use crate::support::billing::{
    address, business, credit, date, eur, invoice_input, issue, line, raw_execute, raw_i64, save_settings,
    simple_draft, BUSINESS_SIREN, SELLER_SIREN,
};
use crate::support::{Backend, TestDb};

on_both_backends!(
    billing_configure_takes_the_structured_terms,
    data_of_0007_migrates_and_issued_invoices_stay_as_issued,
    drafts_keep_their_details_until_issue_and_credit_notes_inherit_them,
);

/// A snapshot exactly as the code before 0008 wrote it (`Settings` and
/// `SnapshotCustomer` of then, serialised by serde_json).
const OLD_SNAPSHOT: &str = r#"{"seller":{"seller_name":"Marie Dupont EI","siren":"732829320","address":"12 rue des Lilas\n75011 Paris","email":"marie@example.fr","activity":"mixed","vat_mention":"TVA non applicable, art. 293 B du CGI","payment_terms_days":30,"late_penalty_rate":"trois fois le taux d'intérêt légal","invoice_prefix":"F","credit_note_prefix":"AV","currency":"EUR"},"customer":{"id":1,"business":true,"name":"Atelier Dupré SARL","address":"Atelier Dupré\n5 avenue de l'Été\n69003 Lyon","siren":"552100554","email":null}}"#;

fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn data_of_0007_migrates_and_issued_invoices_stay_as_issued(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    migrate_the_old_way(&db, 7).await;
    let nl = |s: &str| match backend {
        Backend::Postgres => format!("E{}", sql_text(s).replace('\n', "\\n")),
        Backend::Sqlite => sql_text(s),
    };
    let now = "'2026-11-02T10:00:00Z'";
    // Ids from 1 in order on an empty database (customers 1 to 3, invoice 1).
    for sql in [
        format!(
            "INSERT INTO billing_settings (id, seller_name, siren, address, email, activity, vat_mention,
                 payment_terms_days, late_penalty_rate, invoice_prefix, credit_note_prefix, currency, updated_at)
             VALUES (1, 'Marie Dupont EI', '{SELLER_SIREN}', {}, 'marie@example.fr', 'mixed',
                 'TVA non applicable, art. 293 B du CGI', 30, {}, 'F', 'AV', 'EUR', {now})",
            nl("12 rue des Lilas\n75011 Paris"),
            sql_text("trois fois le taux d'intérêt légal")
        ),
        format!(
            "INSERT INTO customers (kind, name, email, address, siren, created_at)
             VALUES ('business', 'Atelier Dupré SARL', NULL, {}, '{BUSINESS_SIREN}', {now})",
            nl("Atelier Dupré\n5 avenue de l'Été\n69003 Lyon")
        ),
        format!(
            "INSERT INTO customers (kind, name, email, address, siren, created_at)
             VALUES ('person', 'Jean Martin', NULL, {}, NULL, {now})",
            sql_text("3 place du Marché, Bâtiment B, 69002 Lyon")
        ),
        format!(
            "INSERT INTO customers (kind, name, email, address, siren, created_at)
             VALUES ('person', 'Zoé Roux', NULL, {}, NULL, {now})",
            nl("Quelque part\nsans code postal")
        ),
        format!(
            "INSERT INTO invoices (kind, status, customer_id, currency, total_minor, created_at)
             VALUES ('invoice', 'draft', 1, 'EUR', 12000, {now})"
        ),
        "INSERT INTO invoice_lines (invoice_id, position, description, nature, quantity, unit_price_minor, total_minor)
         VALUES (1, 1, 'Atelier céramique', 'services', '1', 12000, 12000)"
            .to_string(),
        format!(
            "UPDATE invoices SET status = 'issued', series = 'F2026', number = 1, reference = 'F2026-0001',
                 issue_date = '2026-11-02', due_date = '2026-12-02', snapshot = {} WHERE id = 1",
            sql_text(OLD_SNAPSHOT)
        ),
        "INSERT INTO document_series (series, last_number) VALUES ('F2026', 1)".to_string(),
    ] {
        raw_execute(&db, &sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    assert_eq!(
        db.store.migrate().await.unwrap(),
        (8..=crate::conformance::latest_migration()).collect::<Vec<_>>()
    );

    // The seller: parts from the last line, the SIREN as electronic address,
    // the franchise; the old penalty text ("three times the legal rate")
    // reads as the legal minimum until the settings are saved again.
    let s = settings::load(&db.store).await.unwrap();
    assert_eq!(s.address, address(&["12 rue des Lilas"], "75011", "Paris"));
    assert_eq!(
        (s.electronic_address.as_str(), s.electronic_address_scheme.as_str()),
        (SELLER_SIREN, "0225")
    );
    assert_eq!(s.vat_regime, VatRegime::Franchise);
    assert_eq!(s.late_penalty_rate, terms::minimum_late_penalty_rate(db.today().await));
    assert_eq!(
        (s.iban.clone(), s.bic.clone(), s.discount_terms.clone()),
        (None, None, None)
    );

    // Customers: a last line "69003 Lyon" or a last part ", 69002 Lyon"
    // gives postcode and city; otherwise the lines stay, to be completed.
    let business = customers::get(&db.store, 1).await.unwrap();
    assert_eq!(
        business.address,
        address(&["Atelier Dupré", "5 avenue de l'Été"], "69003", "Lyon")
    );
    assert_eq!(
        (
            business.electronic_address.as_deref(),
            business.electronic_address_scheme.as_deref()
        ),
        (Some(BUSINESS_SIREN), Some("0225"))
    );
    let jean = customers::get(&db.store, 2).await.unwrap();
    assert_eq!(
        jean.address,
        address(&["3 place du Marché, Bâtiment B"], "69002", "Lyon")
    );
    assert_eq!(jean.electronic_address, None);
    let zoe = customers::get(&db.store, 3).await.unwrap();
    assert_eq!(zoe.address.lines, vec!["Quelque part", "sans code postal"]);
    assert!(!zoe.address.is_complete());
    // No document goes out to an address without postcode, city or country:
    // refused by the field, no number taken; completed, it issues.
    let zoe_draft = simple_draft(&db.store, 3, 5_000).await;
    let mut tx = db.store.begin().await.unwrap();
    let err = invoices::issue(&mut tx, zoe_draft.id, db.today().await)
        .await
        .unwrap_err();
    tx.rollback().await.unwrap();
    assert!(
        matches!(
            err,
            BillingError::Invalid {
                field: "customer.address",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("incomplète"), "{err}");
    let mut tx = db.store.begin().await.unwrap();
    customers::update(
        &mut tx,
        3,
        customers::NewCustomer {
            kind: zoe.kind,
            name: zoe.name.clone(),
            email: None,
            address: address(&["Quelque part"], "75011", "Paris"),
            siren: None,
            electronic_address: None,
            electronic_address_scheme: None,
        },
    )
    .await
    .unwrap();
    let issued = invoices::issue(&mut tx, zoe_draft.id, db.today().await).await.unwrap();
    tx.commit().await.unwrap();
    assert!(issued.reference.is_some());

    // The issued invoice: its snapshot byte for byte, read back with the
    // old texts, no new data invented for it.
    let same = match backend {
        Backend::Postgres => format!("snapshot = {}::jsonb", sql_text(OLD_SNAPSHOT)),
        Backend::Sqlite => format!("snapshot = {}", sql_text(OLD_SNAPSHOT)),
    };
    assert_eq!(
        raw_i64(&db, &format!("SELECT COUNT(*) FROM invoices WHERE id = 1 AND {same}")).await,
        1
    );
    let invoice = invoices::get(&db.store, 1).await.unwrap();
    assert_eq!(invoice.service_date, None);
    assert_eq!(invoice.purchase_order, None);
    let snapshot = invoice.snapshot.clone().expect("issued");
    assert_eq!(snapshot.seller.address.lines, vec!["12 rue des Lilas", "75011 Paris"]);
    assert_eq!(snapshot.seller.address.postcode, "");
    assert_eq!(snapshot.seller.vat_regime, None);
    assert_eq!(snapshot.seller.vat_mention, "TVA non applicable, art. 293 B du CGI");
    assert_eq!(
        snapshot.seller.late_penalty_rate,
        LatePenaltyRate::Text("trois fois le taux d'intérêt légal".into())
    );
    assert_eq!(snapshot.seller.discount_terms, None);
    assert_eq!(
        snapshot.customer.address.lines,
        vec!["Atelier Dupré", "5 avenue de l'Été", "69003 Lyon"]
    );
    // And it prints what it printed: its own texts, none of the mentions added since, and
    // no CII XML (a plain PDF, not Factur-X).
    let pdf = render::invoice_pdf(&db.store, 1).await.expect("legacy PDF");
    let text = crate::support::pdf::pdf_text_flowing(&pdf);
    for printed in [
        "Pénalités de retard : trois fois le taux d'intérêt légal",
        "75011 Paris",
        "69003 Lyon",
        "TVA non applicable, art. 293 B du CGI",
    ] {
        assert!(text.contains(printed), "{printed} in {text}");
    }
    for added in ["Pas d'escompte", "Catégorie", "Date de la"] {
        assert!(!text.contains(added), "{added} in {text}");
    }
    assert!(
        !pdf.windows(12).any(|w| w == b"factur-x.xml"),
        "a legacy PDF embeds no XML"
    );
    let err = render::invoice_xml(&db.store, 1).await.unwrap_err();
    assert!(err.to_string().contains("avant Factur-X"), "{err}");
    // Still immutable, the new columns included.
    let err = raw_execute(&db, "UPDATE invoices SET purchase_order = 'BC-1' WHERE id = 1")
        .await
        .unwrap_err();
    assert!(err.contains("immutable"), "{err}");
}

async fn drafts_keep_their_details_until_issue_and_credit_notes_inherit_them(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let delivery = address(&["Entrepôt B", "Quai 3"], "69007", "Lyon");
    let mut tx = db.store.begin().await.unwrap();
    let draft = invoices::create_draft(
        &mut tx,
        NewInvoice {
            service_period_start: Some(date(2026, 11, 1)),
            service_period_end: Some(date(2026, 11, 30)),
            purchase_order: Some(" BC-2026-117 ".into()),
            delivery_address: Some(delivery.clone()),
            ..invoice_input(
                customer.id,
                vec![line("Théières", Nature::Goods, Decimal::from(2), eur(4_500))],
            )
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(draft.purchase_order.as_deref(), Some("BC-2026-117"));
    assert_eq!(draft.delivery_address.as_ref(), Some(&delivery));

    // Editable while draft, checked as at creation.
    let mut tx = db.store.begin().await.unwrap();
    let err = invoices::set_details(
        &mut tx,
        draft.id,
        DraftDetails {
            service_date: Some(date(2026, 11, 3)),
            service_period_start: Some(date(2026, 11, 1)),
            ..DraftDetails::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            BillingError::Invalid {
                field: "service_date",
                ..
            }
        ),
        "{err:?}"
    );
    let edited = invoices::set_details(
        &mut tx,
        draft.id,
        DraftDetails {
            service_date: Some(date(2026, 11, 3)),
            purchase_order: Some("BC-118".into()),
            delivery_address: Some(delivery.clone()),
            ..DraftDetails::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (
            edited.service_date,
            edited.service_period_start,
            edited.purchase_order.as_deref()
        ),
        (Some(date(2026, 11, 3)), None, Some("BC-118"))
    );

    let issued = issue(&db.store, draft.id, date(2026, 12, 1)).await;
    assert_eq!(
        issued.service_date,
        Some(date(2026, 11, 3)),
        "the given date, not the issue date"
    );
    // Frozen once issued.
    let mut tx = db.store.begin().await.unwrap();
    let err = invoices::set_details(&mut tx, issued.id, DraftDetails::default())
        .await
        .unwrap_err();
    assert!(matches!(err, BillingError::Conflict(_)), "{err:?}");
    tx.rollback().await.unwrap();

    // The credit note refers to the same sale.
    let note = credit(&db.store, issued.id, Some(eur(1_000)), date(2026, 12, 2))
        .await
        .unwrap();
    assert_eq!(note.service_date, Some(date(2026, 11, 3)));
    assert_eq!(note.purchase_order.as_deref(), Some("BC-118"));
    assert_eq!(note.delivery_address, Some(delivery));

    // A draft with neither date nor period is dated by its issue; its
    // snapshot carries the structured terms.
    let plain = simple_draft(&db.store, customer.id, 2_000).await;
    let plain = issue(&db.store, plain.id, date(2026, 12, 3)).await;
    assert_eq!(plain.service_date, Some(date(2026, 12, 3)));
    let seller = plain.snapshot.unwrap().seller;
    assert_eq!(seller.vat_regime, Some(VatRegime::Franchise));
    assert_eq!(seller.late_penalty_rate.to_string(), "10 % par an");
    assert_eq!(seller.electronic_address.as_deref(), Some(SELLER_SIREN));
    assert_eq!(seller.address, address(&["12 rue des Lilas"], "75011", "Paris"));
    assert_eq!(
        seller.discount_terms.as_deref(),
        Some("Pas d'escompte pour paiement anticipé")
    );
}

use crate::support::worker::worker_cli as worker;

/// `billing configure`: the address by parts (or one text whose last line
/// is "75011 Paris", as the README wrote it), IBAN, BIC, the penalty rate
/// as a number held to its minimum, the VAT regime.
async fn billing_configure_takes_the_structured_terms(backend: Backend) {
    let db = TestDb::new(backend).await;
    let base = [
        "billing",
        "configure",
        "--seller-name",
        "Marie Dupont EI",
        "--siren",
        SELLER_SIREN,
        "--email",
        "marie@example.fr",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        worker(&db, &args)
    };
    for (extra, said) in [
        (
            vec![
                "--address",
                "12 rue des Lilas",
                "--postcode",
                "75011",
                "--city",
                "Paris",
                "--late-penalty-rate",
                "0",
            ],
            "late_penalty_rate",
        ),
        (
            vec![
                "--address",
                "12 rue des Lilas",
                "--postcode",
                "75011",
                "--city",
                "Paris",
                "--vat-regime",
                "normal",
            ],
            "vat_regime",
        ),
        (
            vec![
                "--address",
                "12 rue des Lilas",
                "--postcode",
                "75011",
                "--city",
                "Paris",
                "--bic",
                "BNPA",
            ],
            "bic",
        ),
        (vec!["--address", "12 rue des Lilas"], "address.postcode"),
    ] {
        let out = run(&extra);
        assert_ne!(out.status.code(), Some(0), "{extra:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The command line says the field in words, as the admin does.
        let label = comptoir::billing::error::field_label(said).to_string();
        assert!(stderr.contains(&format!("{label} : ")), "{extra:?}: {stderr}");
        assert!(settings::load(&db.store).await.is_err(), "{extra:?}: nothing saved");
    }
    let out = run(&[
        "--address",
        "Bâtiment B\\n12 rue des Lilas",
        "--postcode",
        "75011",
        "--city",
        "Paris",
        "--iban",
        "FR76 3000 6000 0112 3456 7890 189",
        "--bic",
        "bnpafrpp",
        "--late-penalty-rate",
        "10,5",
        "--discount-terms",
        "Escompte de 1 % pour paiement sous 8 jours",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s = settings::load(&db.store).await.unwrap();
    assert_eq!(
        s.address,
        address(&["Bâtiment B", "12 rue des Lilas"], "75011", "Paris")
    );
    assert_eq!(s.iban.as_deref(), Some("FR7630006000011234567890189"));
    assert_eq!(s.bic.as_deref(), Some("BNPAFRPP"));
    assert_eq!(s.late_penalty_rate, Decimal::new(105, 1));
    assert_eq!(s.discount_text(), "Escompte de 1 % pour paiement sous 8 jours");
    let shown = worker(&db, &["billing", "settings"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    for text in [
        "75011 Paris",
        "10,5 % par an",
        "TVA non applicable, art. 293 B du CGI",
        "0225",
    ] {
        assert!(shown.contains(text), "{text} in {shown}");
    }
    // One text, as the README wrote it: its last line gives postcode and city.
    let out = run(&["--address", "12 rue des Lilas\\n75011 Paris"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s = settings::load(&db.store).await.unwrap();
    assert_eq!(s.address, address(&["12 rue des Lilas"], "75011", "Paris"));
    assert_eq!(s.late_penalty_rate, settings::DEFAULT_LATE_PENALTY_RATE);
}
