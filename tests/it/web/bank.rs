//! The bank reconciliation page over HTTP, on both backends: a camt.053
//! statement uploaded through the admin's imports form, the waiting credits
//! listed with their reasons and candidates, and every bad decision answered
//! by a message in French on the page (never a 500, nothing changed), then a
//! good one recorded and audited.

use comptoir::billing::bank::{self, EntryStatus};

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::camt::{document, tx, Entry, Statement, Version};
use crate::support::web::TestApp;
use crate::support::Backend;

on_both_backends!(
    bad_decisions_are_refused_in_french_and_a_good_one_is_recorded,
    the_bank_page_reads_in_english
);

async fn bad_decisions_are_refused_in_french_and_a_good_one_is_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let jean = person(store).await;
    let a = issued(store, jean.id, 40_000, date(2026, 1, 15)).await;
    let b = issued(store, jean.id, 10_000, date(2026, 1, 15)).await;
    let (ra, rb) = (a.reference.clone().unwrap(), b.reference.clone().unwrap());
    let booking = date(2026, 2, 10);
    let xml = document(
        Version::V08,
        &[Statement {
            id: "S1".into(),
            iban: "FR7630006000011234567890189".into(),
            from: booking,
            to: booking,
            entries: vec![Entry {
                reference: "BQ-1".into(),
                booking,
                value: booking,
                credit: true,
                reversal: false,
                amount_minor: None,
                txs: vec![tx(15_000, "MARTIN JEAN", &format!("ACOMPTE {ra}"))],
                additional: None,
            }],
        }],
    );
    let mut client = app.signed_in().await;
    let uploaded = client
        .post_file(
            "/admin/imports",
            &[("kind", "bank")],
            "file",
            "releve.xml",
            xml.as_bytes(),
        )
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.body);
    assert!(app.drain().await.all_succeeded());

    let page = client.get("/admin/bank").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("À rapprocher (1)"), "{}", page.body);
    assert!(
        page.body.contains(&format!(
            "paiement partiel de {ra} : 150,00\u{a0}€ reçus, 400,00\u{a0}€ dus"
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("data-invoice=\"{ra}\"")));
    let entry = bank::list(store, Some(EntryStatus::Waiting), 10).await.unwrap()[0].clone();
    let id = entry.id;

    // (the action, its form's fields, the message shown)
    type Refusal<'a> = (String, Vec<(&'a str, String)>, String);
    let refusals: Vec<Refusal> = vec![
        (
            format!("/admin/bank/{id}/confirm"),
            vec![("invoice_id", "abc".into())],
            "Refusé : choisissez une facture".into(),
        ),
        (
            format!("/admin/bank/{id}/confirm"),
            vec![("invoice_id", "999999".into())],
            "Refusé : cette facture n'est plus due".into(),
        ),
        (
            format!("/admin/bank/{id}/split"),
            vec![("invoice_1", ra.clone()), ("amount_1", "12,3x".into())],
            "Refusé : ligne 1 : montant « 12,3x » illisible".into(),
        ),
        (
            format!("/admin/bank/{id}/split"),
            vec![("invoice_1", "F1999-0001".into()), ("amount_1", "10".into())],
            "Refusé : ligne 1 : « F1999-0001 » n'est pas une facture due".into(),
        ),
        (
            format!("/admin/bank/{id}/split"),
            vec![
                ("invoice_1", ra.clone()),
                ("amount_1", "100,00".into()),
                ("invoice_2", rb.clone()),
                ("amount_2", "100,00".into()),
            ],
            "Refusé : la répartition (200,00\u{a0}€) dépasse le virement (150,00\u{a0}€)".into(),
        ),
        (
            format!("/admin/bank/{id}/split"),
            vec![],
            "Refusé : choisissez au moins une facture".into(),
        ),
        (
            format!("/admin/bank/{id}/set-aside"),
            vec![("status", "matched".into())],
            "Refusé : choisissez « hors ventes » ou « ignorer »".into(),
        ),
    ];
    for (path, fields, message) in refusals {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = client.post_form(&path, &fields).await;
        assert_eq!(answer.status, 303, "{path}: {}", answer.body);
        let page = client.follow(answer).await;
        assert_eq!(page.status, 200);
        let text = page.body.replace("&#39;", "'").replace("&#x27;", "'");
        assert!(text.contains(&message), "{path} {fields:?}: expected {message:?}");
    }
    assert_eq!(bank::get(store, id).await.unwrap().status, EntryStatus::Waiting);
    assert_eq!(count(&app.db, "payments").await, 0);
    assert_eq!(
        client
            .post_form("/admin/bank/999999/confirm", &[("invoice_id", "1")])
            .await
            .status,
        404
    );

    // Split: 100 € to A, 50 € to B (which then owes 50 €).
    let answer = client
        .post_form(
            &format!("/admin/bank/{id}/split"),
            &[
                ("invoice_1", &ra),
                ("amount_1", "100"),
                ("invoice_2", &rb.to_lowercase()),
                ("amount_2", "50,00"),
            ],
        )
        .await;
    let page = client.follow(answer).await;
    assert!(
        page.body.contains(&format!("réparti entre {ra}, {rb}")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Rien à rapprocher"), "{}", page.body);
    assert!(app.drain().await.all_succeeded());
    let paid: Vec<i64> = bank::payments_of(store, id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.amount.minor)
        .collect();
    assert_eq!(paid, vec![10_000, 5_000]);
    let audited = app.audited("bank.split").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].target, format!("bank_entry:{id}"));
    // Deciding again is refused, in French.
    let again = client
        .post_form(&format!("/admin/bank/{id}/set-aside"), &[("status", "ignored")])
        .await;
    let page = client.follow(again).await;
    assert!(
        page.body
            .replace("&#39;", "'")
            .contains("Refusé : cette écriture est déjà traitée"),
        "{}",
        page.body
    );
}

/// An operator who reads English gets the bank page in English: the
/// credit waiting, its clues and its decisions, and the flash of a decision.
async fn the_bank_page_reads_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let jean = person(store).await;
    let a = issued(store, jean.id, 40_000, date(2026, 1, 15)).await;
    let ra = a.reference.clone().unwrap();
    let booking = date(2026, 2, 10);
    let xml = document(
        Version::V08,
        &[Statement {
            id: "S1".into(),
            iban: "FR7630006000011234567890189".into(),
            from: booking,
            to: booking,
            entries: vec![Entry {
                reference: "BQ-1".into(),
                booking,
                value: booking,
                credit: true,
                reversal: false,
                amount_minor: None,
                txs: vec![tx(15_000, "MARTIN JEAN", &format!("ACOMPTE {ra}"))],
                additional: None,
            }],
        }],
    );
    let mut client = app.signed_in_english().await;
    let answer = client
        .post_file(
            "/admin/imports",
            &[("kind", "payments")],
            "file",
            "releve.xml",
            xml.as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert!(app.drain().await.all_succeeded());
    let page = client.get("/admin/bank").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text();
    for shown in [
        "Bank matching",
        "To match (1)",
        "number quoted",
        "part payment",
        "Confirm 150,00\u{a0}€",
        "Not a sale",
        "Ignore",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    for french in [
        "Rapprochement bancaire",
        "À rapprocher",
        "numéro cité",
        "Hors ventes",
        "Ignorer",
    ] {
        assert!(!text.contains(french), "{french} in the English page");
    }
    let id = bank::list(store, Some(EntryStatus::Waiting), 10).await.unwrap()[0].id;
    let answer = client
        .post_form(&format!("/admin/bank/{id}/set-aside"), &[("status", "ignored")])
        .await;
    let page = client.follow(answer).await;
    assert!(page.text().contains("filed: ignored"), "{}", page.body);
    assert!(page.text().contains("Nothing to match"), "{}", page.body);
}
