//! `/admin/audit`: the audit log, filtered by actor, action (exact or
//! prefix), target and days, paginated by id.

use comptoir::audit::{self, Actor, AuditFilter, Record};
use serde_json::json;

use crate::on_both_backends;
use crate::support::web::{Answer, TestApp};
use crate::support::Backend;

on_both_backends!(
    the_log_is_listed_filtered_and_paginated,
    the_log_is_said_in_words_in_french_and_in_english
);

/// The ids of the entries a page lists, in order.
fn ids(page: &Answer) -> Vec<i64> {
    let body = &page.body;
    let table = &body[body.find("<table id=\"audit\">").expect("the audit table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<td class=\"n\">")
        .skip(1)
        .map(|cell| cell[..cell.find('<').unwrap()].parse().expect("an id"))
        .collect()
}

/// The `href` of the "next page" link, if any.
fn next_link(page: &Answer) -> Option<String> {
    let at = page.body.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    let end = page.body[at..].find('"')?;
    Some(page.body[at..at + end].replace("&#x2f;", "/").replace("&amp;", "&"))
}

async fn the_log_is_listed_filtered_and_paginated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let bob = Actor {
        operator_id: None,
        name: "bob@example.fr".into(),
        ip: "203.0.113.7".into(),
    };
    let key = Actor {
        operator_id: None,
        name: "api:ck_12345678".into(),
        ip: "198.51.100.2".into(),
    };
    // 60 invoice issues by Bob, 25 job retries by an API key (plus the sign-in below).
    for n in 1..=60 {
        audit::record(
            store,
            &bob,
            Record::new("invoice.issue", format!("invoice:{n}")).details(json!({ "amount": n * 100 })),
        )
        .await
        .unwrap();
    }
    for n in 1..=25 {
        audit::record(store, &key, Record::new("job.retry", format!("job:{n}")))
            .await
            .unwrap();
    }
    let mut client = app.signed_in().await;
    let all = audit::list(
        store,
        &AuditFilter {
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 86, "85 entries and the sign-in");
    let newest_first: Vec<i64> = all.iter().map(|e| e.id).collect();

    // Unfiltered: 50 a page, newest first, then the rest.
    let first = client.get("/admin/audit").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(ids(&first), newest_first[..50]);
    let text = first.text();
    assert!(text.contains(">Connecté<") && text.contains("127.0.0.1"), "{text}");
    assert!(
        text.contains("href=\"/admin/audit?action=session.sign_in\""),
        "filters by the action: {text}"
    );
    let next = next_link(&first).expect("a second page");
    assert_eq!(next, format!("/admin/audit?before={}", newest_first[49]));
    let second = client.get(&next).await;
    assert_eq!(ids(&second), newest_first[50..]);
    assert!(next_link(&second).is_none(), "the last page");

    // Columns: when, who, from, action, target, compact details.
    let row = &text[text
        .find(&format!(
            "<td class=\"n\">{}</td>",
            all.iter().find(|e| e.target == "invoice:60").unwrap().id
        ))
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("bob@example.fr") && row.contains("203.0.113.7"), "{row}");
    // In words: the action's name, the object (an invoice since gone: its number), the raw details kept.
    assert!(
        row.contains(">Facture émise<") && row.contains("facture n° 60"),
        "{row}"
    );
    assert!(
        !row.contains(">invoice.issue<") && !row.contains(">invoice:60<"),
        "{row}"
    );
    assert!(row.contains("{\"amount\":6000}") && row.contains("<details"), "{row}");
    let shown = comptoir::local_time::format_fr(all.iter().find(|e| e.target == "invoice:60").unwrap().at);
    assert!(row.contains(&format!("<td>{shown}</td>")), "the time in Paris: {row}");

    // A prefix: the 60 invoice entries, paginated with the filter kept.
    let page = client.get("/admin/audit?action=invoice.").await;
    let mut listed = ids(&page);
    assert_eq!(listed.len(), 50);
    let next = next_link(&page).expect("a second page of invoices");
    assert!(next.starts_with("/admin/audit?action=invoice.&before="), "{next}");
    listed.extend(ids(&client.get(&next).await));
    let expected: Vec<i64> = all
        .iter()
        .filter(|e| e.action == "invoice.issue")
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, expected);

    // Exact action, actor and target substrings, combined.
    assert_eq!(ids(&client.get("/admin/audit?action=job.retry").await).len(), 25);
    assert!(
        ids(&client.get("/admin/audit?action=job").await).is_empty(),
        "no prefix without its dot"
    );
    assert_eq!(ids(&client.get("/admin/audit?actor=api%3Ack_").await).len(), 25);
    assert_eq!(
        ids(&client.get("/admin/audit?actor=BOB&target=invoice%3A5").await).len(),
        11,
        "invoice:5, 50-59"
    );
    let one = client.get("/admin/audit?actor=marie&action=session.sign_in").await;
    assert_eq!(ids(&one), [newest_first[0]]);
    let none = client.get("/admin/audit?actor=nobody").await;
    assert!(ids(&none).is_empty());
    assert!(none.text().contains("Aucune entrée pour ces filtres"));
    assert!(!none.text().contains("for these filters"));

    // Days of Paris, from the entries' own clock.
    let paris = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&comptoir::local_time::zone()).date_naive();
    let day = paris(all[0].at);
    let (before, after) = (day.pred_opt().unwrap(), day.succ_opt().unwrap());
    let that_day: Vec<i64> = all
        .iter()
        .filter(|e| paris(e.at) == day)
        .map(|e| e.id)
        .take(50)
        .collect();
    assert_eq!(
        ids(&client.get(&format!("/admin/audit?from={day}&to={day}")).await),
        that_day
    );
    assert!(ids(&client.get(&format!("/admin/audit?from={after}")).await).is_empty());
    assert!(ids(&client.get(&format!("/admin/audit?to={before}")).await).is_empty());
    let bad = client.get("/admin/audit?from=yesterday").await;
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("from"), "{}", bad.body);
}

/// The log names actions, objects and details in words: an invoice issued
/// and paid shows "Facture émise", its number linked, "12,50 €"; a change
/// of customer shows "ancien → nouveau"; the same page in English for an
/// operator who reads English.
async fn the_log_is_said_in_words_in_french_and_in_english(backend: Backend) {
    use crate::support::billing::{create_customer, issued, person_input, save_settings};
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let customer = create_customer(store, person_input("Élodie Château-Brûlé")).await;
    let on = app.today().await;
    let invoice = issued(store, customer.id, 1250, on).await;
    let reference = invoice.reference.clone().expect("issued");
    let bob = Actor {
        operator_id: None,
        name: "bob@example.fr".into(),
        ip: "203.0.113.7".into(),
    };
    let entries = [
        Record::new("invoice.issue", format!("invoice:{}", invoice.id)).details(json!({
            "reference": reference, "total_minor": 1250, "currency": "EUR", "issue_date": on, "email_job_id": 42,
        })),
        Record::new("payment.record", "payment:999").details(json!({
            "invoice_id": invoice.id, "reference": reference, "amount_minor": 1250, "currency": "EUR",
            "method": "transfer", "received_on": "2026-12-01",
        })),
        Record::new("customer.update", format!("customer:{}", customer.id)).details(json!({
            "before": { "name": "Élodie Château", "email": "client@example.fr" },
            "after": { "name": "Élodie Château-Brûlé", "email": "client@example.fr" },
        })),
        Record::new("job.retry", "job:42").details(json!({ "from": "retryable", "to": "available", "kind": "x" })),
    ];
    for entry in entries {
        audit::record(store, &bob, entry).await.unwrap();
    }

    let mut client = app.signed_in().await;
    let page = client.get("/admin/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text();
    for shown in [
        ">Facture émise<",
        ">Paiement enregistré<",
        ">Client modifié<",
        ">Tâche relancée<",
        &format!("href=\"/admin/invoices/{}\">{reference}</a>", invoice.id),
        &format!("href=\"/admin/customers/{}\">Élodie Château-Brûlé</a>", customer.id),
        "href=\"/admin/jobs/42\">tâche 42</a>",
        "12,50\u{a0}€",
        "Virement",
        "01/12/2026",
        "Élodie Château → Élodie Château-Brûlé",
        "à retenter → prête",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    let table = &text[text.find("<table id=\"audit\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    // Outside the raw details, no codes: no `invoice:5`, no `amount_minor`.
    let outside: String = table
        .split("<details")
        .map(|part| part.split("</details>").last().unwrap_or(""))
        .collect();
    for code in ["invoice:", "amount_minor", "customer:", ">invoice.issue<", "retryable"] {
        assert!(!outside.contains(code), "{code} shown: {outside}");
    }
    assert!(table.contains("amount_minor"), "the raw details are kept: {table}");
    // The filter offers the actions by name, and names the object filtered on.
    let filtered = client
        .get(&format!("/admin/audit?target=customer%3A{}", customer.id))
        .await
        .text();
    assert!(filtered.contains("Objet :"), "{filtered}");
    assert!(
        filtered.contains("<option value=\"invoice.issue\">Facture émise</option>"),
        "{filtered}"
    );

    let mut english = app.signed_in_english().await;
    let page = english.get("/admin/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text();
    for shown in [
        ">Invoice issued<",
        ">Payment recorded<",
        ">Customer changed<",
        ">Job retried<",
        ">Admin language changed<",
        "job 42</a>",
        "12,50\u{a0}€",
        "Bank transfer",
        "Élodie Château → Élodie Château-Brûlé",
        "to retry → ready",
        "Payment method",
        "recorded data",
        "All actions",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    for french in [
        "Facture émise",
        "Montant",
        "tâche 42",
        "Toutes les actions",
        "données enregistrées",
    ] {
        assert!(!text.contains(french), "{french} in the English page");
    }
}
