//! Invoices and credit notes through the API, on both backends: a draft
//! from the catalogue and described lines, issued, read and listed, its PDF
//! downloaded and read back, a transfer recorded that settles it and enters
//! the livre de recettes, credit notes by credit and by refund; bad drafts,
//! payments and credit notes refused field by field with nothing stored.
//! Every JSON answer is checked against the OpenAPI document, and every file
//! answer against the media type the document gives.

use chrono::Datelike;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{business, count, save_settings};
use crate::support::pdf::pdf_text;
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;
use crate::web::openapi_schema::Doc;

/// A file answer: status, content type, bytes (JSON errors are checked by
/// [`ApiClient`] on the same path).
pub struct File {
    pub status: u16,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// `GET path` with the key; a 200 must carry the media type the document gives.
pub async fn download(app: &TestApp, key: &str, path: &str) -> File {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response.bytes().await.expect("body").to_vec();
    if status == 200 {
        let doc = Doc::load();
        let template = doc.template_of(path).expect("a documented path");
        let response = doc.response("GET", &template, 200).expect("200 documented");
        assert!(
            response["content"].get(&content_type).is_some(),
            "GET {path}: {content_type} is not what the document says: {}",
            response["content"]
        );
    }
    File {
        status,
        content_type,
        bytes,
    }
}

pub async fn products(api: &mut ApiClient) {
    for body in [
        json!({ "sku": "COURS-1H", "name": "Cours particulier (1 h)", "nature": "services",
                "unit_price": { "minor": 4_500, "currency": "EUR" } }),
        json!({ "sku": "LIVRE", "name": "Livre d'exercices", "nature": "goods",
                "unit_price": { "minor": 1_990, "currency": "EUR" } }),
    ] {
        let created = api.post("/api/products", &body).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
}

fn mixed_draft(customer_id: i64) -> Value {
    json!({
        "customer_id": customer_id,
        "lines": [
            { "sku": "COURS-1H", "quantity": 2 },
            { "description": "Frais de déplacement", "nature": "services", "quantity": "1.5",
              "unit_price": { "minor": 1_000, "currency": "EUR", "amount": "10.00" } },
            { "sku": "LIVRE", "quantity": 1 },
        ],
        "payment_terms_days": 15,
        "service_period_start": "2026-11-02",
        "service_period_end": "2026-11-27",
        "purchase_order": "BC-2026-118",
        "delivery_address": { "lines": ["Atelier Dupré, entrepôt 3", "12 rue du Port"], "postcode": "13002",
                              "city": "Marseille", "country": "FR" },
    })
}

async fn an_invoice_lives_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = business(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    products(&mut api).await;
    let today = app.db.today().await;

    let created = api
        .post_keyed("/api/invoices", &mixed_draft(customer.id), "draft-1")
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let draft = created.json();
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["reference"], Value::Null);
    assert_eq!(draft["lines"][0]["description"], "Cours particulier (1 h)");
    assert_eq!(draft["lines"][0]["nature"], "services");
    assert_eq!(draft["lines"][1]["quantity"], "1.5");
    assert_eq!(draft["lines"][2]["nature"], "goods");
    // 2 × 45,00 + 1,5 × 10,00 + 19,90
    assert_eq!(draft["total"]["minor"], 12_490);
    assert_eq!(draft["payment_terms_days"], 15);
    assert_eq!(draft["service_date"], Value::Null);
    assert_eq!(draft["service_period_start"], "2026-11-02");
    assert_eq!(draft["service_period_end"], "2026-11-27");
    assert_eq!(draft["purchase_order"], "BC-2026-118");
    assert_eq!(draft["delivery_address"]["city"], "Marseille");
    let replayed = api
        .post_keyed("/api/invoices", &mixed_draft(customer.id), "draft-1")
        .await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&app.db, "invoices").await, 1);

    assert_eq!(
        download(&app, &key, &format!("/api/invoices/{id}/pdf")).await.status,
        409
    );
    assert_eq!(api.get(&format!("/api/invoices/{id}/pdf")).await.status, 409);
    assert_eq!(api.get(&format!("/api/invoices/{id}/xml")).await.status, 409);

    let issued = api.post_empty(&format!("/api/invoices/{id}/issue")).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let issued = issued.json();
    let reference = format!("F{}-0001", today.year());
    assert_eq!(issued["reference"], reference.as_str());
    assert_eq!(issued["status"], "issued");
    assert_eq!(issued["issue_date"], today.to_string());
    assert_eq!(issued["due_date"], (today + chrono::Days::new(15)).to_string());
    assert_eq!(issued["balance_due"]["minor"], 12_490);
    let twice = api.post_empty(&format!("/api/invoices/{id}/issue")).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(app.audited("invoice.issue").await.len(), 1);

    let read = api.get(&format!("/api/invoices/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["reference"], reference.as_str());
    let listed = api
        .get(&format!("/api/invoices?customer_id={}&status=issued", customer.id))
        .await
        .json();
    assert_eq!(listed["invoices"].as_array().unwrap().len(), 1);
    assert_eq!(listed["next_before"], Value::Null);
    let none = api.get("/api/invoices?status=paid").await.json();
    assert!(none["invoices"].as_array().unwrap().is_empty());

    let pdf = download(&app, &key, &format!("/api/invoices/{id}/pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.content_type, "application/pdf");
    let text = pdf_text(&pdf.bytes);
    assert!(text.contains(&reference), "{text}");
    assert!(text.contains("Atelier Dupré SARL"), "{text}");
    assert!(text.contains("Frais de déplacement"), "{text}");

    // A transfer pays it all: recorded, completed at once, in the livre de recettes.
    let paid = api
        .post_keyed(
            &format!("/api/invoices/{id}/payments"),
            &json!({ "amount": { "minor": 12_490, "currency": "EUR" }, "method": "transfer",
                     "received_on": today.to_string() }),
            "pay-1",
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let paid = paid.json();
    assert_eq!(paid["payment"]["status"], "completed");
    assert_eq!(paid["payment"]["method"], "transfer");
    assert_eq!(paid["payment"]["provider"], "manual");
    assert_eq!(paid["payment"]["received_on"], today.to_string());
    assert_eq!(paid["invoice"]["status"], "paid");
    assert_eq!(paid["invoice"]["balance_due"]["minor"], 0);
    assert_eq!(count(&app.db, "revenue_book").await, 2, "one line per nature");
    assert_eq!(app.audited("payment.record").await.len(), 1);
    let replayed = api
        .post_keyed(
            &format!("/api/invoices/{id}/payments"),
            &json!({ "amount": { "minor": 12_490, "currency": "EUR" }, "method": "transfer",
                     "received_on": today.to_string() }),
            "pay-1",
        )
        .await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&app.db, "payments").await, 1);

    // A partial credit note, deducted: issued at once, in its own series.
    let credited = api
        .post(
            &format!("/api/invoices/{id}/credit-notes"),
            &json!({ "amount": { "minor": 4_500, "currency": "EUR" }, "reason": "Cours annulé",
                     "nature": "services", "settlement": "credit" }),
        )
        .await;
    assert_eq!(credited.status, 201, "{}", credited.body);
    let note = credited.json();
    let note_id = note["id"].as_i64().unwrap();
    assert_eq!(note["kind"], "credit_note");
    assert_eq!(note["reference"], format!("AV{}-0001", today.year()).as_str());
    assert_eq!(note["credited_invoice_id"], id);
    assert_eq!(note["reason"], "Cours annulé");
    assert_eq!(note["due_date"], Value::Null, "a credit note is not to be paid");
    assert_eq!(note["total"]["minor"], 4_500);
    let read = api.get(&format!("/api/credit-notes/{note_id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), note);
    assert_eq!(
        api.get(&format!("/api/invoices/{id}")).await.json()["credit_note_ids"],
        json!([note_id])
    );
    assert_eq!(api.get(&format!("/api/credit-notes/{id}")).await.status, 404);
    assert_eq!(api.get(&format!("/api/invoices/{note_id}")).await.status, 404);
    let pdf = download(&app, &key, &format!("/api/credit-notes/{note_id}/pdf")).await;
    assert_eq!(pdf.status, 200);
    let text = pdf_text(&pdf.bytes);
    assert!(text.contains(&format!("AV{}-0001", today.year())), "{text}");
    assert!(text.contains(&reference), "the credited invoice is cited: {text}");
    assert_eq!(app.audited("credit_note.issue").await.len(), 1);

    // The rest refunded on the transfer: reserved, then paid back by its job,
    // which issues the credit note.
    let refund = api
        .post(
            &format!("/api/invoices/{id}/credit-notes"),
            &json!({ "amount": { "minor": 1_990, "currency": "EUR" }, "reason": "Livre retourné",
                     "nature": "goods", "settlement": "refund" }),
        )
        .await;
    assert_eq!(refund.status, 202, "{}", refund.body);
    let refund = refund.json();
    assert_eq!(refund["refund"]["status"], "pending");
    assert_eq!(refund["refund"]["payment_id"], paid["payment"]["id"]);
    assert_eq!(app.audited("refund.request").await.len(), 1);
    app.drain().await;
    let notes = api.get(&format!("/api/invoices/{id}")).await.json()["credit_note_ids"].clone();
    assert_eq!(notes.as_array().unwrap().len(), 2, "{notes}");
    let refunded = api.get(&format!("/api/credit-notes/{}", notes[1])).await.json();
    assert_eq!(refunded["total"]["minor"], 1_990);
    assert_eq!(refunded["lines"][0]["nature"], "goods");
    assert_eq!(count(&app.db, "revenue_book").await, 3, "the refund's negative line");
}

async fn bad_drafts_payments_and_credits_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let customer = business(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    products(&mut api).await;
    assert_eq!(api.post_empty("/api/products/LIVRE/retire").await.status, 200);

    let line = |l: Value| json!({ "customer_id": customer.id, "lines": [l] });
    let detail = |name: &str, value: Value| {
        let mut body = json!({ "customer_id": customer.id, "lines": [{ "sku": "COURS-1H", "quantity": 1 }] });
        body[name] = value;
        body
    };
    for (body, field) in [
        (
            json!({ "customer_id": 999, "lines": [{ "sku": "COURS-1H", "quantity": 1 }] }),
            "customer_id",
        ),
        (json!({ "customer_id": customer.id, "lines": [] }), "lines"),
        (line(json!({ "sku": "LIVRE", "quantity": 1 })), "lines[0].sku"),
        (line(json!({ "sku": "NOPE", "quantity": 1 })), "lines[0].sku"),
        (line(json!({ "sku": "COURS-1H", "quantity": 0 })), "lines[0].quantity"),
        (
            line(json!({ "sku": "COURS-1H", "quantity": "deux" })),
            "lines[0].quantity",
        ),
        (
            line(json!({ "sku": "COURS-1H", "description": "x", "quantity": 1 })),
            "lines[0].sku",
        ),
        (
            line(json!({ "nature": "goods", "quantity": 1, "unit_price": { "minor": 1, "currency": "EUR" } })),
            "lines[0].description",
        ),
        (
            line(json!({ "description": "x", "quantity": 1, "unit_price": { "minor": 1, "currency": "EUR" } })),
            "lines[0].nature",
        ),
        (
            line(json!({ "description": "x", "nature": "goods", "quantity": 1 })),
            "lines[0].unit_price",
        ),
        (
            line(
                json!({ "description": "x", "nature": "goods", "quantity": 1, "unit_price": { "minor": -5, "currency": "EUR" } }),
            ),
            "lines[0].unit_price.minor",
        ),
        (
            line(json!({ "description": "x", "nature": "gift", "quantity": 1 })),
            "lines[0].nature",
        ),
        (
            json!({ "customer_id": customer.id, "lines": [{ "sku": "COURS-1H", "quantity": 1 }], "payment_terms_days": 61 }),
            "payment_terms_days",
        ),
        (
            json!({ "customer_id": customer.id, "lines": [
            { "sku": "COURS-1H", "quantity": 1 },
            { "description": "x", "nature": "goods", "quantity": 1, "unit_price": { "minor": 100, "currency": "USD" } } ] }),
            "lines",
        ),
        (
            detail("service_period_start", json!("2026-11-02")),
            "service_period_end",
        ),
        (detail("service_date", json!("2026-13-01")), "service_date"),
        (detail("service_date", json!("1999-01-01")), "service_date"),
        (detail("purchase_order", json!("BC\n118")), "purchase_order"),
        (
            detail(
                "delivery_address",
                json!({ "lines": ["1 quai"], "postcode": "1300", "city": "Marseille", "country": "FR" }),
            ),
            "delivery_address.postcode",
        ),
        (
            detail(
                "delivery_address",
                json!({ "lines": [], "postcode": "13002", "city": "Marseille", "country": "FR" }),
            ),
            "delivery_address.lines",
        ),
    ] {
        let answer = api.post("/api/invoices", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(
            answer.json()["error"]["fields"][0]["field"],
            field,
            "{body}: {}",
            answer.body
        );
    }
    assert_eq!(count(&app.db, "invoices").await, 0);
    assert!(app.audited("invoice.create").await.is_empty());

    // No seller yet: a draft is fine, issuing it is not.
    let draft = api
        .post("/api/invoices", &line(json!({ "sku": "COURS-1H", "quantity": 1 })))
        .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let id = draft.json()["id"].as_i64().unwrap();
    let payment = json!({ "amount": { "minor": 4_500, "currency": "EUR" }, "method": "transfer" });
    assert_eq!(
        api.post(&format!("/api/invoices/{id}/payments"), &payment).await.status,
        409,
        "a draft takes no payment"
    );
    let credit = json!({ "reason": "Erreur", "settlement": "credit" });
    assert_eq!(
        api.post(&format!("/api/invoices/{id}/credit-notes"), &credit)
            .await
            .status,
        409,
        "a draft is not credited"
    );
    let unset = api.post_empty(&format!("/api/invoices/{id}/issue")).await;
    assert_eq!(unset.status, 409, "{}", unset.body);
    assert!(unset.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/api/settings"));
    save_settings(&app.db.store).await;
    assert_eq!(api.post_empty(&format!("/api/invoices/{id}/issue")).await.status, 200);

    let pay = |amount: Value, method: &str| json!({ "amount": amount, "method": method });
    let tomorrow = app.db.today().await + chrono::Days::new(1);
    for (body, field) in [
        (
            pay(json!({ "minor": 4_501, "currency": "EUR" }), "transfer"),
            "amount.minor",
        ),
        (
            pay(json!({ "minor": 0, "currency": "EUR" }), "transfer"),
            "amount.minor",
        ),
        (
            pay(json!({ "minor": 100, "currency": "USD" }), "transfer"),
            "amount.currency",
        ),
        (pay(json!({ "minor": 100, "currency": "EUR" }), "card"), "method"),
        (
            json!({ "amount": { "minor": 100, "currency": "EUR" }, "method": "cash", "received_on": tomorrow.to_string() }),
            "received_on",
        ),
    ] {
        let answer = api.post(&format!("/api/invoices/{id}/payments"), &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.json()["error"]["fields"][0]["field"], field, "{}", answer.body);
    }
    assert_eq!(count(&app.db, "payments").await, 0);

    let credit = |extra: Value| {
        let mut body = json!({ "reason": "Erreur", "settlement": "credit" });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for (body, field) in [
        (
            credit(json!({ "amount": { "minor": 4_501, "currency": "EUR" } })),
            "amount",
        ),
        (
            credit(json!({ "amount": { "minor": 0, "currency": "EUR" } })),
            "amount.minor",
        ),
        (credit(json!({ "reason": " " })), "reason"),
        (
            credit(json!({ "nature": "goods", "amount": { "minor": 100, "currency": "EUR" } })),
            "amount",
        ),
        (credit(json!({ "settlement": "cash" })), "settlement"),
        (credit(json!({ "payment_id": 1 })), "payment_id"),
        (credit(json!({ "settlement": "refund" })), "payment_id"),
    ] {
        let answer = api.post(&format!("/api/invoices/{id}/credit-notes"), &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(
            answer.json()["error"]["fields"][0]["field"],
            field,
            "{body}: {}",
            answer.body
        );
    }
    assert_eq!(count(&app.db, "invoices").await, 1, "no credit note");
    assert_eq!(count(&app.db, "refunds").await, 0);

    assert_eq!(api.get("/api/invoices/999").await.status, 404);
    assert_eq!(api.get("/api/invoices/999/pdf").await.status, 404);
    assert_eq!(api.get("/api/credit-notes/999").await.status, 404);
    assert_eq!(api.get("/api/invoices?limit=0").await.status, 422);
    assert_eq!(api.get("/api/invoices?status=late").await.status, 422);

    // The full credit of an unpaid invoice cancels it.
    let full = api
        .post(
            &format!("/api/invoices/{id}/credit-notes"),
            &json!({ "reason": "Erreur de client", "settlement": "credit" }),
        )
        .await;
    assert_eq!(full.status, 201, "{}", full.body);
    assert_eq!(full.json()["total"]["minor"], 4_500);
    assert_eq!(
        api.get(&format!("/api/invoices/{id}")).await.json()["status"],
        "cancelled"
    );
}

/// The CII XML alone, for an invoice and its credit note: what their PDFs embed, and valid
/// Factur-X EN 16931 with the French rules.
async fn the_xml_of_an_issued_invoice_is_its_cii(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = business(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    products(&mut api).await;
    let id = api.post("/api/invoices", &mixed_draft(customer.id)).await.json()["id"]
        .as_i64()
        .unwrap();
    let issued = api.post_empty(&format!("/api/invoices/{id}/issue")).await.json();
    let xml = download(&app, &key, &format!("/api/invoices/{id}/xml")).await;
    assert_eq!(xml.status, 200, "{}", String::from_utf8_lossy(&xml.bytes));
    assert_eq!(xml.content_type, "application/xml");
    let text = String::from_utf8(xml.bytes).expect("UTF-8 XML");
    assert!(text.contains("CrossIndustryInvoice"), "{text}");
    assert!(text.contains("urn:cen.eu:en16931:2017"), "{text}");
    assert!(text.contains(">380<"), "type 380: {text}");
    assert!(text.contains(issued["reference"].as_str().unwrap()), "{text}");
    let verdict = crate::support::pdf::facturx_check(text.as_bytes(), "invoice.xml", true);
    assert!(verdict.pass, "{}", verdict.output);
    let note = api
        .post(
            &format!("/api/invoices/{id}/credit-notes"),
            &json!({ "reason": "Erreur", "settlement": "credit" }),
        )
        .await
        .json();
    let xml = download(&app, &key, &format!("/api/credit-notes/{}/xml", note["id"])).await;
    assert_eq!(xml.status, 200);
    let text = String::from_utf8(xml.bytes).expect("UTF-8 XML");
    assert!(text.contains(">381<"), "type 381: {text}");
    let verdict = crate::support::pdf::facturx_check(text.as_bytes(), "credit-note.xml", true);
    assert!(verdict.pass, "{}", verdict.output);
}

/// A draft rewritten through the API, as the admin's edit form does it (the
/// same domain function, the same audit entry); refused field by field with
/// nothing changed; frozen once issued.
async fn a_draft_is_rewritten_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = business(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let line = |description: &str, minor: i64, quantity: &str, unit: &str| {
        json!({ "description": description, "nature": "services", "quantity": quantity, "unit": unit,
                "unit_price": { "minor": minor, "currency": "EUR" } })
    };
    let created = api
        .post(
            "/api/invoices",
            &json!({ "customer_id": customer.id, "lines": [line("Audit", 40_000, "1", "day")] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_i64().unwrap();
    let path = format!("/api/invoices/{id}");

    let rewritten = json!({ "customer_id": customer.id, "payment_terms_days": 15, "purchase_order": "BC-7",
        "lines": [line("Audit", 40_000, "1.5", "day"), line("Compte rendu", 9_000, "2", "hour")] });
    let answer = api.put(&path, &rewritten).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let draft = answer.json();
    assert_eq!(draft["lines"].as_array().unwrap().len(), 2);
    assert_eq!(draft["lines"][1]["unit"], "hour");
    assert_eq!(draft["total"]["minor"], 60_000 + 18_000);
    assert_eq!(draft["purchase_order"], "BC-7");
    assert_eq!(app.audited("invoice.edit").await.len(), 1);

    // Refused by field, nothing changed.
    let before = api.get(&path).await.json();
    for bad in [
        json!({ "customer_id": 999_999, "lines": [line("X", 100, "1", "day")] }),
        json!({ "customer_id": customer.id, "lines": [] }),
        json!({ "customer_id": customer.id, "lines": [line("X", 100, "1", "fortnight")] }),
    ] {
        let refused = api.put(&path, &bad).await;
        assert!(matches!(refused.status, 400 | 422), "{bad}: {}", refused.status);
    }
    assert_eq!(api.get(&path).await.json(), before);
    assert_eq!(api.put("/api/invoices/999999", &rewritten).await.status, 404);

    // Issued, it is frozen.
    assert_eq!(api.post_empty(&format!("{path}/issue")).await.status, 200);
    let frozen = api.put(&path, &rewritten).await;
    assert_eq!(frozen.status, 409, "{}", frozen.body);
}

on_both_backends!(
    a_draft_is_rewritten_through_the_api,
    an_invoice_lives_through_the_api,
    bad_drafts_payments_and_credits_are_refused,
    the_xml_of_an_issued_invoice_is_its_cii,
);
