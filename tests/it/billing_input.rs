//! The input policy held by the domain, whatever surface calls it (command
//! line, admin, API, CSV import): every text field refuses NUL, control
//! characters, bidirectional overrides and (when it is one line) line breaks,
//! by its field, storing nothing; addresses keep their line breaks as LF;
//! e-mail addresses are parsed; user-given dates stay within their bounds.

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::input::CONTROL_TEXTS;
use crate::support::{Backend, TestDb};
use chrono::Days;
use comptoir::billing::address::PostalAddress;
use comptoir::billing::catalog::{self, Nature, NewProduct};
use comptoir::billing::contracts::{self, OperationKind};
use comptoir::billing::credit_notes::{self, CreditRequest};
use comptoir::billing::customers;
use comptoir::billing::monthly::{self, Period};
use comptoir::billing::payments::{self, Completion, PaymentMethod};
use comptoir::billing::render::{self, BookPeriod};
use comptoir::billing::settings::{self, Settings};
use comptoir::billing::{invoices, refunds, BillingError};
use comptoir::store::Tx;
use rust_decimal::Decimal;

on_both_backends!(
    every_text_field_refuses_control_characters,
    addresses_keep_their_line_breaks_as_lf,
    email_addresses_are_parsed,
    dates_stay_within_their_bounds,
    received_dates_are_bounded_by_today_and_the_invoice,
);

/// The refused texts, and whether a multi-line field accepts them: those of
/// every input test, and TAB.
const BAD: [(&str, &str, bool); 6] = {
    let [nul, cr, lf, esc, rlo] = CONTROL_TEXTS;
    [nul, cr, lf, esc, rlo, ("TAB", "Zoé\tRoux", false)]
};

const TABLES: [&str; 13] = [
    "billing_settings",
    "customers",
    "products",
    "contracts",
    "contract_operations",
    "invoices",
    "invoice_lines",
    "payments",
    "refunds",
    "revenue_book",
    "ledger_entries",
    "document_series",
    "comptoir_jobs",
];

type Boxed<'t> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), BillingError>> + Send + 't>>;

/// Runs `attempt` in a transaction committed even though it fails, and checks
/// that it was refused by `field` and that no table changed.
async fn refused<F>(db: &TestDb, what: &str, field: &str, attempt: F)
where
    F: for<'t> FnOnce(&'t mut Tx) -> Boxed<'t>,
{
    let before = row_counts(db, &TABLES).await;
    let mut tx = db.store.begin().await.unwrap();
    let err = attempt(&mut tx).await.expect_err(what);
    tx.commit().await.unwrap();
    match &err {
        BillingError::Invalid { field: f, .. } => assert_eq!(*f, field, "{what}: {err}"),
        other => panic!("{what}: expected Invalid {{ field: {field:?} }}, got {other:?}"),
    }
    assert_eq!(row_counts(db, &TABLES).await, before, "{what}: nothing stored");
}

async fn every_text_field_refuses_control_characters(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let contract = contract(&db.store, customer.id, 100_000, date(2026, 9, 1)).await;
    let invoice = simple_draft(&db.store, customer.id, 10_000).await;
    let invoice = issue(&db.store, invoice.id, date(2026, 10, 1)).await;
    let paid = pay_in_full(
        &db.store,
        &invoice,
        date(2026, 10, 2),
        "manual",
        PaymentMethod::Transfer,
        "k-paid",
    )
    .await;

    for (name, bad, _) in BAD {
        let bad = bad.to_string();
        // Customers: every text is one line, an address's parts too.
        let with = |f: fn(&mut customers::NewCustomer, String), v: String| {
            let mut c = business_input();
            f(&mut c, v);
            c
        };
        for (field, c) in [
            ("name", with(|c, v| c.name = v, bad.clone())),
            ("email", with(|c, v| c.email = Some(v), format!("a{bad}@b.fr"))),
            ("siren", with(|c, v| c.siren = Some(v), format!("552 100{bad}554"))),
        ] {
            let what = format!("customer {field} with {name}");
            refused(&db, &what, field, move |tx| {
                Box::pin(async move { customers::create(tx, c).await.map(drop) })
            })
            .await;
        }
        // Every part of an address is one line: a line break is refused too.
        for (field, c) in [
            ("address.lines", with(|c, v| c.address.lines = vec![v], bad.clone())),
            (
                "address.postcode",
                with(|c, v| c.address.postcode = v, format!("69{bad}003")),
            ),
            ("address.city", with(|c, v| c.address.city = v, format!("Lyon{bad}"))),
            ("address.country", with(|c, v| c.address.country = v, format!("F{bad}"))),
            (
                "electronic_address",
                with(|c, v| c.electronic_address = Some(v), format!("552100{bad}554")),
            ),
        ] {
            let what = format!("customer {field} with {name}");
            let update = c.clone();
            refused(&db, &what, field, move |tx| {
                Box::pin(async move { customers::create(tx, c).await.map(drop) })
            })
            .await;
            let id = customer.id;
            refused(&db, &format!("customer update: {what}"), field, move |tx| {
                Box::pin(async move { customers::update(tx, id, update).await.map(drop) })
            })
            .await;
        }

        // The seller's settings.
        let set = |f: fn(&mut Settings, String), v: String| {
            let mut s = valid_settings();
            f(&mut s, v);
            s
        };
        let cases = vec![
            (
                "seller_name",
                set(|s, v| s.seller_name = format!("Marie {v} EI"), bad.clone()),
            ),
            ("discount_terms", set(|s, v| s.discount_terms = Some(v), bad.clone())),
            ("invoice_prefix", set(|s, v| s.invoice_prefix = v, format!("F{bad}"))),
            ("email", set(|s, v| s.email = Some(v), format!("m{bad}@x.fr"))),
            ("siren", set(|s, v| s.siren = v, format!("732829{bad}320"))),
            ("address.lines", set(|s, v| s.address.lines = vec![v], bad.clone())),
            ("address.city", set(|s, v| s.address.city = v, format!("Paris{bad}"))),
            ("bic", set(|s, v| s.bic = Some(v), format!("BNPA{bad}FRPP"))),
            ("iban", set(|s, v| s.iban = Some(v), format!("FR76{bad}3000"))),
            (
                "electronic_address",
                set(|s, v| s.electronic_address = v, format!("732829{bad}320")),
            ),
        ];
        for (field, s) in cases {
            refused(&db, &format!("settings {field} with {name}"), field, move |tx| {
                Box::pin(async move { settings::save(tx, s).await.map(drop) })
            })
            .await;
        }

        // The catalogue.
        for (field, sku, product) in [
            ("sku", format!("MUG{bad}"), "Mug".to_string()),
            ("name", "MUG".into(), bad.clone()),
        ] {
            let new = NewProduct {
                sku,
                name: product,
                nature: Nature::Goods,
                unit_price: eur(1_990),
                unit: None,
            };
            refused(&db, &format!("product {field} with {name}"), field, move |tx| {
                Box::pin(async move { catalog::create(tx, new).await.map(drop) })
            })
            .await;
        }

        // Contracts and their operations.
        for (field, reference, iban) in [
            ("mandate_reference", format!("RUM{bad}1"), IBAN.to_string()),
            (
                "iban",
                "RUM-X".to_string(),
                format!("FR76 3000 6000 0112{bad}3456 7890 189"),
            ),
        ] {
            let mut new = contract_input(customer.id, 100_000, date(2026, 9, 1));
            new.mandate_reference = reference;
            new.iban = iban;
            refused(&db, &format!("contract {field} with {name}"), field, move |tx| {
                Box::pin(async move { contracts::subscribe(tx, new).await.map(drop) })
            })
            .await;
        }
        let mut op = operation(OperationKind::Purchase, 1_000, date(2026, 10, 5));
        op.lines[0].description = bad.clone();
        let id = contract.id;
        refused(
            &db,
            &format!("operation line with {name}"),
            "lines.description",
            move |tx| Box::pin(async move { contracts::post_operation(tx, id, op, date(2026, 10, 5)).await.map(drop) }),
        )
        .await;

        // Invoices, credit notes, payments and refunds.
        let draft = invoice_input(customer.id, vec![line(&bad, Nature::Services, Decimal::ONE, eur(100))]);
        refused(
            &db,
            &format!("invoice line with {name}"),
            "lines.description",
            move |tx| Box::pin(async move { invoices::create_draft(tx, draft).await.map(drop) }),
        )
        .await;
        let (invoice_id, reason) = (invoice.id, bad.clone());
        refused(&db, &format!("credit reason with {name}"), "reason", move |tx| {
            Box::pin(async move {
                let request = CreditRequest {
                    amount: None,
                    reason,
                    issue_date: date(2026, 10, 3),
                    nature: None,
                };
                credit_notes::issue(tx, invoice_id, request).await.map(drop)
            })
        })
        .await;
        let (payment_id, reason) = (paid.id, bad.clone());
        refused(&db, &format!("refund reason with {name}"), "reason", move |tx| {
            Box::pin(async move {
                refunds::begin(tx, payment_id, eur(100), &reason, "k-refund")
                    .await
                    .map(drop)
            })
        })
        .await;
        let key = bad.clone();
        let (customer_id, invoice_id) = (customer.id, invoice.id);
        refused(&db, &format!("payment key with {name}"), "idempotency_key", move |tx| {
            Box::pin(async move {
                let new = new_payment(
                    customer_id,
                    Some(invoice_id),
                    None,
                    "manual",
                    PaymentMethod::Cash,
                    eur(100),
                    &key,
                );
                payments::initiate(tx, new).await.map(drop)
            })
        })
        .await;
    }
    // The error names the character, so the operator knows what to remove.
    let mut tx = db.store.begin().await.unwrap();
    let err = customers::create(&mut tx, {
        let mut c = business_input();
        c.name = "Zoé \u{202E}xuoR".into();
        c
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "Nom : caractère de sens d'écriture U+202E refusé");
}

async fn addresses_keep_their_line_breaks_as_lf(backend: Backend) {
    // Addresses have parts since 0008: each line trimmed, blank lines
    // dropped, the country upper case; read back as saved.
    let db = TestDb::new(backend).await;
    let mut s = valid_settings();
    s.address = PostalAddress {
        lines: vec![" Bâtiment B ".into(), "".into(), "12 rue des Lilas".into()],
        postcode: " 75011 ".into(),
        city: " Paris".into(),
        country: "fr".into(),
    };
    let mut tx = db.store.begin().await.unwrap();
    settings::save(&mut tx, s).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        settings::load(&db.store).await.unwrap().address,
        address(&["Bâtiment B", "12 rue des Lilas"], "75011", "Paris")
    );

    let mut c = person_input("Zoé Roux");
    c.address = PostalAddress {
        lines: vec!["  Bâtiment B".into(), "3 place du Marché ".into()],
        postcode: "69002".into(),
        city: "Lyon".into(),
        country: "FR".into(),
    };
    let created = create_customer(&db.store, c).await;
    let stored = customers::get(&db.store, created.id).await.unwrap();
    assert_eq!(
        stored.address,
        address(&["Bâtiment B", "3 place du Marché"], "69002", "Lyon")
    );

    // The same rule when corrected; a foreign address keeps its own postcode.
    let mut c = person_input("Zoé Roux");
    c.address = PostalAddress {
        lines: vec!["Rue Neuve 1".into()],
        postcode: "1000".into(),
        city: "Bruxelles".into(),
        country: "be".into(),
    };
    let mut tx = db.store.begin().await.unwrap();
    customers::update(&mut tx, created.id, c).await.unwrap();
    tx.commit().await.unwrap();
    let corrected = customers::get(&db.store, created.id).await.unwrap().address;
    assert_eq!(
        (corrected.postcode.as_str(), corrected.country.as_str()),
        ("1000", "BE")
    );
}

async fn email_addresses_are_parsed(backend: Backend) {
    let db = TestDb::new(backend).await;
    for bad in [
        "a@b.fr>",
        "a(c)@b.fr",
        "\"a b\"@c.fr",
        "Zoé <zoe@b.fr>",
        "a@b",
        "a@[10.0.0.1]",
        "a@@b.fr",
    ] {
        let mut c = person_input("Zoé Roux");
        c.email = Some(bad.into());
        let what = format!("e-mail {bad:?}");
        refused(&db, &what, "email", move |tx| {
            Box::pin(async move { customers::create(tx, c).await.map(drop) })
        })
        .await;
    }
    for ok in [
        "a@b.fr",
        "Zoe.Roux+factures@Example.FR",
        "jean-françois@exemple.fr",
        " o'brien@example.ie ",
    ] {
        let mut c = person_input("Zoé Roux");
        c.email = Some(ok.into());
        let created = create_customer(&db.store, c).await;
        assert_eq!(created.email.as_deref(), Some(ok.trim()), "{ok:?} accepted as given");
    }
}

async fn dates_stay_within_their_bounds(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let today = db.today().await;
    let customer = person(&db.store).await;

    // A mandate is signed in the past, not before 2000.
    for signed in [date(1999, 12, 31), date(9999, 12, 31), today + Days::new(1)] {
        let new = contract_input(customer.id, 100_000, signed);
        refused(
            &db,
            &format!("mandate signed on {signed}"),
            "mandate_signed_on",
            move |tx| Box::pin(async move { contracts::subscribe(tx, new).await.map(drop) }),
        )
        .await;
    }
    contract(&db.store, customer.id, 100_000, date(2000, 1, 1)).await;
    let c = contract(&db.store, customer.id, 100_000, today).await.id;

    // An operation at most a year ahead, not before 2000.
    for on in [date(1999, 12, 31), date(9999, 12, 31), today + Days::new(400)] {
        let op = operation(OperationKind::Purchase, 1_000, on);
        refused(&db, &format!("operation on {on}"), "occurred_on", move |tx| {
            Box::pin(async move { contracts::post_operation(tx, c, op, today).await.map(drop) })
        })
        .await;
    }
    purchase(&db.store, c, 1_000, today).await.expect("today is fine");
    post(
        &db.store,
        c,
        operation(OperationKind::Purchase, 1_000, today + Days::new(300)),
        today,
    )
    .await
    .expect("ahead, within a year");

    // A revocation not before the signature, at most a year ahead.
    for on in [today - Days::new(1), today + Days::new(400)] {
        refused(&db, &format!("revoked on {on}"), "revoked_on", move |tx| {
            Box::pin(async move { contracts::revoke_mandate(tx, c, on).await })
        })
        .await;
    }

    // Invoices are dated from 2000 to a month ahead; a credit note not before its invoice.
    let d = simple_draft(&db.store, customer.id, 5_000).await;
    for on in [date(1999, 12, 31), today + Days::new(40), date(9999, 12, 31)] {
        let id = d.id;
        refused(&db, &format!("invoice dated {on}"), "issue_date", move |tx| {
            Box::pin(async move { invoices::issue(tx, id, on).await.map(drop) })
        })
        .await;
    }
    let issued = issue(&db.store, d.id, date(2026, 3, 10)).await;
    let id = issued.id;
    refused(&db, "credit note before its invoice", "issue_date", move |tx| {
        Box::pin(async move {
            let request = CreditRequest {
                amount: None,
                reason: "Erreur".into(),
                issue_date: date(2026, 3, 9),
                nature: None,
            };
            credit_notes::issue(tx, id, request).await.map(drop)
        })
    })
    .await;
    credit(&db.store, id, Some(eur(1_000)), date(2026, 3, 10))
        .await
        .expect("the same day is fine");

    // Periods must have begun: a monthly run or a book of the future is refused.
    let next = today + Days::new(40);
    let future = Period::parse(&format!("{}", next.format("%Y-%m"))).unwrap();
    match monthly::run(&db.store, future, today).await {
        Err(BillingError::Invalid { field: "period", .. }) => {}
        other => panic!("a monthly run of {future:?}: {other:?}"),
    }
    let year = BookPeriod::parse(&format!("{}", next.format("%Y-%m"))).unwrap();
    assert!(matches!(
        render::export_book(&db.store, year).await,
        Err(BillingError::Invalid { field: "period", .. })
    ));
    assert!(matches!(
        monthly::run(&db.store, Period::parse("1999-12").unwrap(), today).await,
        Err(BillingError::Invalid { field: "period", .. })
    ));
    assert_eq!(count(&db, "invoices").await, 2, "the invoice and its credit note only");
}

async fn received_dates_are_bounded_by_today_and_the_invoice(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let today = db.today().await;
    let customer = person(&db.store).await;
    let d = simple_draft(&db.store, customer.id, 5_000).await;
    let invoice = issue(&db.store, d.id, date(2026, 3, 10)).await;
    let mut tx = db.store.begin().await.unwrap();
    let p = payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "manual", PaymentMethod::Cheque, eur(5_000), "k-cheque"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    for on in [
        date(1900, 1, 1),
        date(2026, 3, 9),
        today + Days::new(1),
        date(9999, 12, 31),
    ] {
        let id = p.id;
        refused(&db, &format!("declared received on {on}"), "received_on", move |tx| {
            // Confirmed: a confirmation lifts none of these bounds.
            Box::pin(async move { payments::declare_received_on(tx, id, on, true).await.map(drop) })
        })
        .await;
        // Completing a manual payment on such a date is refused the same way.
        let id = p.id;
        refused(&db, &format!("completed on {on}"), "received_on", move |tx| {
            Box::pin(async move {
                let done = Completion {
                    received_on: on,
                    fee: eur(0),
                    provider_reference: None,
                };
                payments::complete(tx, id, done).await.map(drop)
            })
        })
        .await;
    }
    let mut tx = db.store.begin().await.unwrap();
    payments::declare_received_on(&mut tx, p.id, date(2026, 3, 10), true)
        .await
        .expect("the issue date is fine");
    tx.commit().await.unwrap();
    assert_eq!(
        payments::get(&db.store, p.id).await.unwrap().received_on,
        Some(date(2026, 3, 10))
    );
}
