//! Receipt dates through the admin's payment form and the API: refused in a
//! closed period, before the invoice and in the future, by their field; a
//! week back refused until the operator confirms it (the form's checkbox,
//! the API's `confirm_received_on`), then recorded and marked
//! `payment.backdated` in the audit log, which the admin's journal shows.

use chrono::{Days, NaiveDate};
use comptoir::billing::invoices::Invoice;
use comptoir::billing::payments;
use serde_json::json;

use crate::on_both_backends;
use crate::support::billing::{close_book_through, count, issued, person, save_settings};
use crate::support::web::{Answer, Client, TestApp};
use crate::support::Backend;
use crate::web::api_client::ApiClient;
use crate::web::billing_html::{decode, id_in, input_value, text_by_id};

on_both_backends!(
    the_admin_form_refuses_bad_receipt_dates_and_confirms_a_week_back,
    the_api_refuses_bad_receipt_dates_and_confirms_a_week_back,
);

fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// An invoice of 100,00 € issued 30 days ago, and the book closed through 20 days ago.
async fn invoice_and_closed_period(app: &TestApp) -> (Invoice, NaiveDate, NaiveDate) {
    save_settings(&app.db.store).await;
    let today = app.db.today().await;
    let customer = person(&app.db.store).await;
    let invoice = issued(&app.db.store, customer.id, 10_000, today - Days::new(30)).await;
    let closed = today - Days::new(20);
    close_book_through(&app.db, closed).await;
    (invoice, today, closed)
}

/// Posts the invoice page's payment form with `extra` fields; the answer.
async fn post_payment(client: &mut Client, invoice_id: i64, on: &str, extra: &[(&str, &str)]) -> Answer {
    let page = client.get(&format!("/admin/invoices/{invoice_id}")).await;
    let key = input_value(&page.body, "key").expect("the form's key");
    let mut fields = vec![
        ("amount", "10,00"),
        ("method", "transfer"),
        ("received_on", on),
        ("key", key.as_str()),
    ];
    fields.extend_from_slice(extra);
    client
        .post_form(&format!("/admin/invoices/{invoice_id}/payments"), &fields)
        .await
}

/// The message by field `name` in the payment form, as shown.
fn field_error(html: &str, label_id: &str) -> String {
    text_by_id(html, label_id).unwrap_or_else(|| panic!("no #{label_id} in {html}"))
}

async fn the_admin_form_refuses_bad_receipt_dates_and_confirms_a_week_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (invoice, today, closed) = invoice_and_closed_period(&app).await;
    let mut client = app.signed_in().await;

    // In the closed period (even the invoice's own issue date), in the future.
    for on in [closed, invoice.issue_date.unwrap(), today + Days::new(1)] {
        let answer = post_payment(&mut client, invoice.id, &fr(on), &[]).await;
        assert_eq!(answer.status, 422, "{on}: {}", answer.body);
        let form = text_by_id(&answer.body, "payment-form").unwrap();
        assert!(form.contains(&format!("le {}", fr(on))), "{on}: {form}");
        if on > today {
            assert!(form.contains("est dans le futur"), "{form}");
        } else {
            assert!(form.contains(&fr(closed)) && form.contains("période close"), "{form}");
        }
        assert!(
            !answer.body.contains("name=\"confirm_received_on\""),
            "nothing to confirm about a date no one may give"
        );
        assert_eq!(
            input_value(&answer.body, "received_on").map(|v| decode(&v)),
            Some(fr(on)),
            "the date as typed"
        );
    }
    assert_eq!(count(&app.db, "payments").await, 0);

    // A week back: the form comes back with the checkbox, unticked, by its message.
    let week = today - Days::new(7);
    let answer = post_payment(&mut client, invoice.id, &fr(week), &[]).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let label = field_error(&answer.body, "confirm-received-on");
    assert!(
        label.starts_with(&format!("Je confirme la date de réception du {}", fr(week))),
        "{label}"
    );
    assert!(
        label.contains(&format!("le {} est 7 jours avant aujourd'hui", fr(week)))
            && label.contains(&format!("datée du {} au plus tôt", fr(today - Days::new(6)))),
        "{label}"
    );
    assert_eq!(
        input_value(&answer.body, "confirm_received_on").as_deref(),
        Some(week.format("%Y-%m-%d").to_string().as_str()),
        "the checkbox confirms that date"
    );
    assert!(!answer.body.contains(" checked>"), "not ticked for the operator");
    assert_eq!(
        input_value(&answer.body, "amount").as_deref(),
        Some("10,00"),
        "typed values kept"
    );
    assert_eq!(count(&app.db, "payments").await, 0);

    // Ticked, but another error: the form comes back with the box still ticked.
    let iso = week.format("%Y-%m-%d").to_string();
    let page = client.get(&format!("/admin/invoices/{}", invoice.id)).await;
    let key = input_value(&page.body, "key").unwrap();
    let again = client
        .post_form(
            &format!("/admin/invoices/{}/payments", invoice.id),
            &[
                ("amount", "abc"),
                ("method", "transfer"),
                ("received_on", &fr(week)),
                ("confirm_received_on", &iso),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!(again.status, 422);
    let checkbox = &again.body[again.body.find("name=\"confirm_received_on\"").unwrap()..];
    assert!(
        checkbox[..checkbox.find('>').unwrap()].contains("checked"),
        "kept ticked"
    );
    assert!(!field_error(&again.body, "confirm-received-on").contains("confirmez"));

    // A box ticked for another date confirms nothing.
    let other = post_payment(
        &mut client,
        invoice.id,
        &fr(week - Days::new(1)),
        &[("confirm_received_on", &iso)],
    )
    .await;
    assert_eq!(other.status, 422);
    assert!(field_error(&other.body, "confirm-received-on").contains("confirmez la date"));

    // Ticked: recorded, and marked in the audit log.
    let answer = post_payment(&mut client, invoice.id, &fr(week), &[("confirm_received_on", &iso)]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let payment_id = id_in(answer.location());
    let payment = payments::get(&app.db.store, payment_id).await.unwrap();
    assert_eq!(payment.received_on, Some(week));
    let marks = app.audited("payment.backdated").await;
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].target, format!("payment:{payment_id}"));
    assert_eq!(marks[0].details["days_back"], 7);
    assert_eq!(marks[0].details["received_on"], week.to_string());
    assert_eq!(marks[0].details["confirmed_by"], marks[0].actor.as_str());
    let note = format!(
        "Reçu le {}, enregistré le {} : 7 jours avant, confirmé par {}",
        fr(week),
        fr(today),
        marks[0].actor
    );
    let journal = client.get("/admin/audit?action=payment.backdated").await;
    assert_eq!(journal.status, 200);
    assert!(
        text_by_id(&journal.body, "audit").unwrap().contains(&note),
        "the journal says it readably: {}",
        journal.body
    );

    // Six days back needs no box and marks nothing.
    let answer = post_payment(&mut client, invoice.id, &fr(today - Days::new(6)), &[]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(app.audited("payment.backdated").await.len(), 1);

    // The job completes the confirmed payment on its date.
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    let payment = payments::get(&app.db.store, payment_id).await.unwrap();
    assert_eq!(
        (payment.status.as_str(), payment.received_on),
        ("completed", Some(week))
    );
}

async fn the_api_refuses_bad_receipt_dates_and_confirms_a_week_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (invoice, today, closed) = invoice_and_closed_period(&app).await;
    let key = app.api_key().await;
    // The API speaks English by default; this client reads its refusals in French.
    let mut api = ApiClient::new(&app, &key).with_language("fr");
    let path = format!("/api/invoices/{}/payments", invoice.id);
    let body = |on: NaiveDate, confirm: Option<bool>| {
        let mut b = json!({ "amount": { "minor": 1_000, "currency": "EUR" }, "method": "transfer",
                            "received_on": on.to_string() });
        if let Some(c) = confirm {
            b["confirm_received_on"] = json!(c);
        }
        b
    };

    for (on, says) in [
        (closed, "période close"),
        (invoice.issue_date.unwrap(), "période close"),
        (today + Days::new(1), "est dans le futur"),
    ] {
        let answer = api.post(&path, &body(on, Some(true))).await;
        assert_eq!(answer.status, 422, "{on}: {}", answer.body);
        let field = &answer.json()["error"]["fields"][0];
        assert_eq!(field["field"], "received_on", "{}", answer.body);
        let message = field["message"].as_str().unwrap();
        assert!(message.contains(&fr(on)) && message.contains(says), "{message}");
    }
    assert_eq!(count(&app.db, "payments").await, 0);

    // A week back: refused until confirmed, and the refusal says how.
    let week = today - Days::new(7);
    for confirm in [None, Some(false)] {
        let answer = api.post(&path, &body(week, confirm)).await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        let field = &answer.json()["error"]["fields"][0];
        assert_eq!(field["field"], "confirm_received_on");
        let message = field["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("le {} est 7 jours avant aujourd'hui", fr(week)))
                && message.ends_with("envoyez \"confirm_received_on\": true"),
            "{message}"
        );
    }
    assert_eq!(count(&app.db, "payments").await, 0);
    let answer = api.post(&path, &body(week, Some(true))).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let paid = answer.json();
    assert_eq!(paid["payment"]["received_on"], week.to_string());
    assert_eq!(paid["payment"]["status"], "completed");
    let payment_id = paid["payment"]["id"].as_i64().unwrap();
    let marks = app.audited("payment.backdated").await;
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].target, format!("payment:{payment_id}"));
    assert!(marks[0].actor.starts_with("api:"), "{}", marks[0].actor);
    assert_eq!(marks[0].details["confirmed_by"], marks[0].actor.as_str());
    assert_eq!(marks[0].details["days_back"], 7);

    // Today, the default: nothing to confirm, nothing marked.
    let answer = api
        .post(
            &path,
            &json!({ "amount": { "minor": 1_000, "currency": "EUR" }, "method": "cash" }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(app.audited("payment.backdated").await.len(), 1);
}
