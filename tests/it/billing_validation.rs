//! Bad input is refused with an error that names the field, and changes
//! nothing: every refused call below is followed by a commit, and the billing
//! tables are compared row for row.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts;
use comptoir::billing::customers::{self, CustomerKind};
use comptoir::billing::invoices::{self, NewInvoice};
use comptoir::billing::settings::{self, Settings};
use comptoir::billing::BillingError;
use comptoir::money::{Currency, Money, MoneyError};
use comptoir::store::Tx;
use rust_decimal::Decimal;

on_both_backends!(
    settings_are_validated,
    customers_are_validated,
    contracts_are_validated,
    invoice_drafts_are_validated,
    unknown_currencies_are_refused,
);

/// Asserts `err` is `Invalid` on `field`, with the field named in its message.
fn assert_invalid(err: &BillingError, field: &str) {
    match err {
        BillingError::Invalid { field: f, message } => {
            assert_eq!(*f, field, "wrong field for {message:?}");
            assert!(!message.to_string().is_empty());
            let label = comptoir::billing::error::field_label(field).to_string();
            assert!(err.to_string().starts_with(&format!("{label} : ")), "{err}");
        }
        other => panic!("expected Invalid {{ field: {field:?} }}, got {other:?}"),
    }
}

/// Runs `attempt` in a transaction that is committed even though it fails,
/// and checks that no billing table changed.
async fn refused<F>(db: &TestDb, field: &str, attempt: F)
where
    F: for<'t> FnOnce(
        &'t mut Tx,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BillingError>> + Send + 't>>,
{
    let before = billing_counts(db).await;
    let mut tx = db.store.begin().await.unwrap();
    let err = attempt(&mut tx).await.expect_err(&format!("{field} should be refused"));
    tx.commit().await.unwrap();
    assert_invalid(&err, field);
    assert_eq!(
        billing_counts(db).await,
        before,
        "refused input ({field}) changed nothing"
    );
}

fn with(f: impl FnOnce(&mut Settings)) -> Settings {
    let mut s = valid_settings();
    f(&mut s);
    s
}

async fn settings_are_validated(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Nothing saved yet: issuing needs settings.
    assert!(matches!(settings::load(&db.store).await, Err(BillingError::NoSettings)));
    let saved = save_settings(&db.store).await;
    assert_eq!(saved.siren, SELLER_SIREN);

    let cases: Vec<(Settings, &str)> = vec![
        (with(|s| s.siren = "732829321".into()), "siren"),
        (with(|s| s.siren = "73282932".into()), "siren"),
        (with(|s| s.siren = "ABCDEFGHI".into()), "siren"),
        (with(|s| s.seller_name = "Marie Dupont".into()), "seller_name"),
        (
            with(|s| s.seller_name = "Marie Dupont Eirl Conseil".into()),
            "seller_name",
        ),
        (with(|s| s.seller_name = "   ".into()), "seller_name"),
        (with(|s| s.address.lines = vec![]), "address.lines"),
        (with(|s| s.address.postcode = "".into()), "address.postcode"),
        (with(|s| s.address.postcode = "7501".into()), "address.postcode"),
        (with(|s| s.address.city = " ".into()), "address.city"),
        (with(|s| s.address.country = "XX".into()), "address.country"),
        (with(|s| s.email = Some("marie@".into())), "email"),
        (with(|s| s.iban = Some("FR7630006000011234567890188".into())), "iban"),
        (with(|s| s.bic = Some("BNPAFRP".into())), "bic"),
        (with(|s| s.bic = Some("BNPAXXPP".into())), "bic"),
        (
            with(|s| s.electronic_address = "732829321".into()),
            "electronic_address",
        ),
        (
            with(|s| s.electronic_address_scheme = "XYZ".into()),
            "electronic_address_scheme",
        ),
        // The seller's is its directory address: not an e-mail, not another SIREN.
        (
            with(|s| {
                s.electronic_address = "marie@example.fr".into();
                s.electronic_address_scheme = "EM".into();
            }),
            "electronic_address",
        ),
        (
            with(|s| s.electronic_address = "552100554".into()),
            "electronic_address",
        ),
        (with(|s| s.payment_terms_days = 61), "payment_terms_days"),
        (with(|s| s.payment_terms_days = -1), "payment_terms_days"),
        (with(|s| s.late_penalty_rate = Decimal::ZERO), "late_penalty_rate"),
        // Below three times the legal interest rate (2,62 % since 2026: 7,86 %).
        (
            with(|s| s.late_penalty_rate = Decimal::new(785, 2)),
            "late_penalty_rate",
        ),
        (with(|s| s.discount_terms = Some("a\u{1b}b".into())), "discount_terms"),
        (with(|s| s.invoice_prefix = "F-".into()), "invoice_prefix"),
        (with(|s| s.credit_note_prefix = "F".into()), "credit_note_prefix"),
    ];
    for (bad, field) in cases {
        refused(&db, field, move |tx| {
            Box::pin(async move { settings::save(tx, bad).await.map(|_| ()) })
        })
        .await;
    }
    let err = with(|s| s.seller_name = "Marie Dupont".into())
        .validated(date(2026, 12, 1))
        .unwrap_err();
    assert!(
        err.to_string().contains("EI"),
        "the message says what is missing: {err}"
    );
    assert_eq!(
        settings::load(&db.store).await.unwrap(),
        saved,
        "the saved settings are untouched"
    );

    // A VAT regime other than the franchise cannot be given (the API reads
    // it as JSON and names the field).
    let mut json = serde_json::to_value(valid_settings()).unwrap();
    json["vat_regime"] = "normal".into();
    let err = serde_path_to_error::deserialize::<_, Settings>(json).unwrap_err();
    assert_eq!(err.path().to_string(), "vat_regime");
    assert!(matches!(
        settings::VatRegime::parse("réel normal"),
        Err(BillingError::Invalid {
            field: "vat_regime",
            ..
        })
    ));
    let err = with(|s| s.late_penalty_rate = Decimal::ZERO)
        .validated(date(2026, 12, 1))
        .unwrap_err();
    assert!(err.to_string().contains("7,86"), "the message says the minimum: {err}");

    // Spaces in a SIREN are accepted and normalised; the electronic address
    // defaults to the SIREN, the VAT mention follows the regime, the
    // discount terms default to none.
    let mut tx = db.store.begin().await.unwrap();
    let s = settings::save(&mut tx, with(|s| s.siren = "732 829 320".into()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(s.siren, SELLER_SIREN);
    assert_eq!(
        (s.electronic_address.as_str(), s.electronic_address_scheme.as_str()),
        (SELLER_SIREN, "0225")
    );
    assert_eq!(s.vat_mention(), "TVA non applicable, art. 293 B du CGI");
    assert_eq!(s.discount_text(), "Pas d'escompte pour paiement anticipé");
    let loaded = settings::load(&db.store).await.unwrap();
    assert_eq!(loaded, s, "read back as saved");
    assert_eq!(loaded.late_penalty_rate, Decimal::from(10));
    assert_eq!(loaded.bic.as_deref(), Some(BIC));
}

async fn customers_are_validated(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let cases = vec![
        (
            {
                let mut c = business_input();
                c.siren = Some("552100555".into());
                c
            },
            "siren",
        ),
        (
            {
                let mut c = business_input();
                c.siren = None;
                c
            },
            "siren",
        ),
        (
            {
                let mut c = business_input();
                c.siren = Some("  ".into());
                c
            },
            "siren",
        ),
        (
            {
                let mut c = person_input("Jean");
                c.siren = Some("123".into());
                c
            },
            "siren",
        ),
        (person_input("  "), "name"),
        (
            {
                let mut c = person_input("Jean");
                c.address.lines = vec![];
                c
            },
            "address.lines",
        ),
        (
            {
                let mut c = business_input();
                c.address.postcode = String::new();
                c
            },
            "address.postcode",
        ),
        (
            {
                let mut c = person_input("Jean");
                c.address.city = " ".into();
                c
            },
            "address.city",
        ),
        (
            {
                let mut c = business_input();
                c.address.country = "France".into();
                c
            },
            "address.country",
        ),
        (
            {
                let mut c = business_input();
                c.electronic_address = Some("pas une adresse".into());
                c.electronic_address_scheme = Some("EM".into());
                c
            },
            "electronic_address",
        ),
        (
            {
                let mut c = person_input("Jean");
                c.email = Some("jean at example.fr".into());
                c
            },
            "email",
        ),
    ];
    for (bad, field) in cases {
        refused(&db, field, move |tx| {
            Box::pin(async move { customers::create(tx, bad).await.map(|_| ()) })
        })
        .await;
    }
    let err = {
        let mut tx = db.store.begin().await.unwrap();
        let mut c = business_input();
        c.siren = None;
        customers::create(&mut tx, c).await.unwrap_err()
    };
    assert!(err.to_string().contains("professionnel"), "{err}");
    let ok = business(&db.store).await;
    assert_eq!(
        (ok.kind, ok.siren.as_deref()),
        (CustomerKind::Business, Some(BUSINESS_SIREN))
    );
    // A business is reachable at its SIREN unless it gives an address; a
    // person has none unless given.
    assert_eq!(
        (
            ok.electronic_address.as_deref(),
            ok.electronic_address_scheme.as_deref()
        ),
        (Some(BUSINESS_SIREN), Some("0225"))
    );
    assert_eq!(ok.address, address(&["5 avenue de l'Été"], "69003", "Lyon"));
    let jean = person(&db.store).await;
    assert_eq!(jean.electronic_address, None);
    // A business's is its directory address (0225 + its SIREN, a suffix allowed): an e-mail or
    // another company's SIREN would make invoices the platform refuses (BR-FR-21).
    for (address, scheme) in [
        ("factures@dupre.fr", None),
        ("732829320", Some("0225")),
        ("552100554", Some("0009")),
    ] {
        let mut bad = business_input();
        bad.electronic_address = Some(address.into());
        bad.electronic_address_scheme = scheme.map(String::from);
        let mut tx = db.store.begin().await.unwrap();
        let err = customers::create(&mut tx, bad).await.unwrap_err();
        assert!(
            matches!(&err, BillingError::Invalid { field, .. } if *field == "electronic_address")
                && err.to_string().contains("annuaire"),
            "{address}: {err}"
        );
    }
    let mut suffixed = business_input();
    suffixed.electronic_address = Some(format!("{BUSINESS_SIREN}_FACTURES"));
    let suffixed = create_customer(&db.store, suffixed).await;
    assert_eq!(
        suffixed.electronic_address_scheme.as_deref(),
        Some("0225"),
        "{suffixed:?}"
    );
    // A person may give an e-mail.
    let mut given = person_input("Léa");
    given.electronic_address = Some("lea@example.fr".into());
    let given = create_customer(&db.store, given).await;
    assert_eq!(
        (
            given.electronic_address.as_deref(),
            given.electronic_address_scheme.as_deref()
        ),
        (Some("lea@example.fr"), Some("EM"))
    );
    assert!(matches!(
        customers::get(&db.store, 987_654).await,
        Err(BillingError::NotFound(_))
    ));
}

async fn contracts_are_validated(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await.id;
    let signed = date(2026, 10, 1);
    let cases = vec![
        (
            {
                let mut c = contract_input(customer, 100_000, signed);
                c.iban = "FR7630006000011234567890188".into();
                c
            },
            "iban",
        ),
        (
            {
                let mut c = contract_input(customer, 100_000, signed);
                c.iban = "FR76300060000112345678901".into();
                c
            },
            "iban",
        ),
        (
            {
                let mut c = contract_input(customer, 100_000, signed);
                c.iban = "pas un IBAN".into();
                c
            },
            "iban",
        ),
        (contract_input(customer, 0, signed), "ceiling"),
        (contract_input(customer, -100, signed), "ceiling"),
        (
            {
                let mut c = contract_input(customer, 100_000, signed);
                c.mandate_reference = " ".into();
                c
            },
            "mandate_reference",
        ),
    ];
    for (bad, field) in cases {
        refused(&db, field, move |tx| {
            Box::pin(async move { contracts::subscribe(tx, bad).await.map(|_| ()) })
        })
        .await;
    }
    let err = {
        let mut tx = db.store.begin().await.unwrap();
        contracts::subscribe(&mut tx, contract_input(987_654, 100_000, signed))
            .await
            .unwrap_err()
    };
    assert!(matches!(err, BillingError::NotFound(_)), "{err:?}");
    // Spaces and lower case in an IBAN are normalised.
    let mut tx = db.store.begin().await.unwrap();
    let mut input = contract_input(customer, 100_000, signed);
    input.iban = "fr76 3000 6000 0112 3456 7890 189".into();
    let c = contracts::subscribe(&mut tx, input).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(c.mandate.iban, IBAN);
    // Operations on it: quantities must be positive.
    for q in [Decimal::ZERO, Decimal::new(-1, 0)] {
        let mut new = operation(contracts::OperationKind::Purchase, 1_000, signed);
        new.lines[0].quantity = q;
        refused(&db, "lines.quantity", move |tx| {
            Box::pin(async move { contracts::post_operation(tx, c.id, new, signed).await.map(|_| ()) })
        })
        .await;
    }
    let mut empty = operation(contracts::OperationKind::Purchase, 1_000, signed);
    empty.lines.clear();
    refused(&db, "lines", move |tx| {
        Box::pin(async move { contracts::post_operation(tx, c.id, empty, signed).await.map(|_| ()) })
    })
    .await;
}

fn new_invoice(customer_id: i64, lines: Vec<invoices::NewLine>) -> NewInvoice {
    NewInvoice {
        currency: Currency::EUR,
        ..invoice_input(customer_id, lines)
    }
}

async fn invoice_drafts_are_validated(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await.id;
    let ok = |q: Decimal| line("Séance", Nature::Services, q, eur(5_000));
    let usd = currency("USD");
    let cases = vec![
        (new_invoice(customer, vec![ok(Decimal::ZERO)]), "lines.quantity"),
        // Five decimals: no e-invoice may carry them (BR-FR-DEC-02); four are fine (below).
        (
            new_invoice(customer, vec![ok(Decimal::new(123_456, 5))]),
            "lines.quantity",
        ),
        (
            new_invoice(customer, vec![ok(Decimal::ONE), ok(Decimal::new(-2, 0))]),
            "lines.quantity",
        ),
        (new_invoice(customer, vec![]), "lines"),
        (
            new_invoice(customer, vec![line("  ", Nature::Goods, Decimal::ONE, eur(100))]),
            "lines.description",
        ),
        (
            new_invoice(
                customer,
                vec![
                    ok(Decimal::ONE),
                    line("Port", Nature::Goods, Decimal::ONE, Money::new(900, usd)),
                ],
            ),
            "lines.unit_price",
        ),
        (
            new_invoice(
                customer,
                vec![line("Remise", Nature::Services, Decimal::ONE, eur(-100))],
            ),
            "lines",
        ),
        (
            NewInvoice {
                service_date: Some(date(2026, 11, 3)),
                service_period_start: Some(date(2026, 11, 1)),
                service_period_end: Some(date(2026, 11, 30)),
                ..new_invoice(customer, vec![ok(Decimal::ONE)])
            },
            "service_date",
        ),
        (
            NewInvoice {
                service_period_start: Some(date(2026, 11, 1)),
                ..new_invoice(customer, vec![ok(Decimal::ONE)])
            },
            "service_period_end",
        ),
        (
            NewInvoice {
                service_period_start: Some(date(2026, 11, 30)),
                service_period_end: Some(date(2026, 11, 1)),
                ..new_invoice(customer, vec![ok(Decimal::ONE)])
            },
            "service_period_end",
        ),
        (
            NewInvoice {
                service_date: Some(date(1999, 12, 31)),
                ..new_invoice(customer, vec![ok(Decimal::ONE)])
            },
            "service_date",
        ),
        (
            NewInvoice {
                purchase_order: Some("BC\n42".into()),
                ..new_invoice(customer, vec![ok(Decimal::ONE)])
            },
            "purchase_order",
        ),
        (
            NewInvoice {
                delivery_address: Some(address(&["Quai 3"], "6900", "Lyon")),
                ..new_invoice(customer, vec![ok(Decimal::ONE)])
            },
            "delivery_address.postcode",
        ),
    ];
    for (bad, field) in cases {
        refused(&db, field, move |tx| {
            Box::pin(async move { invoices::create_draft(tx, bad).await.map(|_| ()) })
        })
        .await;
    }
    let mut tx = db.store.begin().await.unwrap();
    invoices::create_draft(&mut tx, new_invoice(customer, vec![ok(Decimal::new(12_345, 4))]))
        .await
        .expect("four decimals are fine");
    tx.rollback().await.unwrap();
    let err = {
        let mut tx = db.store.begin().await.unwrap();
        invoices::create_draft(
            &mut tx,
            new_invoice(
                customer,
                vec![
                    ok(Decimal::ONE),
                    line("Port", Nature::Goods, Decimal::ONE, Money::new(900, usd)),
                ],
            ),
        )
        .await
        .unwrap_err()
    };
    assert!(
        err.to_string().contains("EUR"),
        "the message names the expected currency: {err}"
    );
    let err = {
        let mut tx = db.store.begin().await.unwrap();
        invoices::create_draft(&mut tx, new_invoice(987_654, vec![ok(Decimal::ONE)]))
            .await
            .unwrap_err()
    };
    assert!(matches!(err, BillingError::NotFound(_)), "{err:?}");

    // Issuing without settings is refused clearly, and takes no number.
    let bare = TestDb::new(backend).await;
    let someone = person(&bare.store).await.id;
    let d = simple_draft(&bare.store, someone, 1_000).await;
    let mut tx = bare.store.begin().await.unwrap();
    let err = invoices::issue(&mut tx, d.id, date(2026, 1, 5)).await.unwrap_err();
    assert!(matches!(err, BillingError::NoSettings), "{err:?}");
    tx.commit().await.unwrap();
    assert_eq!(count(&bare, "document_series").await, 0);
}

async fn unknown_currencies_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await.id;

    let err = "XYZ".parse::<Currency>().unwrap_err();
    assert_eq!(err, MoneyError::UnknownCurrency("XYZ".into()));
    assert!(
        err.to_string().contains("XYZ") && err.to_string().contains("ISO 4217"),
        "{err}"
    );
    for bad in ["", "EU", "EURO", "€", "eur "] {
        let parsed = bad.parse::<Currency>();
        if bad == "eur " {
            assert_eq!(parsed.unwrap(), Currency::EUR, "trimmed and upper-cased");
        } else {
            assert!(matches!(parsed, Err(MoneyError::UnknownCurrency(_))), "{bad:?}");
        }
    }

    let json = serde_json::json!({
        "customer_id": customer,
        "currency": "XYZ",
        "lines": [{
            "description": "Séance",
            "nature": "services",
            "quantity": "1",
            "unit_price": { "minor": 5000, "currency": "EUR" }
        }]
    });
    let err = serde_json::from_value::<NewInvoice>(json.clone()).unwrap_err();
    assert!(err.to_string().contains("devise inconnue « XYZ »"), "{err}");
    let mut fixed = json.clone();
    fixed["currency"] = "EUR".into();
    let parsed: NewInvoice = serde_json::from_value(fixed).expect("the same input in EUR parses");
    assert_eq!(parsed.currency, Currency::EUR);
    // A line in an unknown currency is refused the same way.
    let mut bad_line = json;
    bad_line["currency"] = "EUR".into();
    bad_line["lines"][0]["unit_price"]["currency"] = "ABC".into();
    let err = serde_json::from_value::<NewInvoice>(bad_line).unwrap_err();
    assert!(err.to_string().contains("ABC"), "{err}");
    assert_eq!(count(&db, "invoices").await, 0);
}
