//! Customers and the seller's settings through the API, on both backends:
//! customers created, read, searched and paged, corrected (audited with the
//! details before and after); settings read (404 until set), set and
//! refused field by field with nothing stored. Every answer is checked
//! against the OpenAPI document.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{count, BUSINESS_SIREN, IBAN, SELLER_SIREN};
use crate::support::web::{Answer, TestApp};
use crate::support::Backend;
use crate::web::api_client::ApiClient;

fn business_customer() -> Value {
    json!({
        "kind": "business",
        "name": "Atelier Dupré SARL",
        "address": { "lines": ["5 avenue de l'Été", "Bâtiment B"], "postcode": "69003", "city": "Lyon", "country": "fr" },
        "email": "compta@atelier-dupre.fr",
        "siren": BUSINESS_SIREN,
    })
}

pub fn seller() -> Value {
    json!({
        "seller_name": "Marie Dupont EI",
        "siren": SELLER_SIREN,
        "address": { "lines": ["12 rue des Lilas"], "postcode": "75011", "city": "Paris", "country": "FR" },
        "email": "marie@example.fr",
        "iban": IBAN,
        "bic": "BNPAFRPPXXX",
        "activity": "mixed",
        "vat_regime": "franchise",
        "payment_terms_days": 30,
        "late_penalty_rate": 15,
        "invoice_prefix": "F",
        "credit_note_prefix": "AV",
        "currency": "EUR",
    })
}

/// `PUT path` with the key, checked against the document.
async fn put(app: &TestApp, api: &ApiClient, key: &str, path: &str, body: &Value) -> Answer {
    let request = reqwest::Client::new()
        .put(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    let answer = crate::support::web::Client::new(&app.base)
        .with_bearer(key)
        .send(request)
        .await;
    api.check("PUT", path, &answer);
    answer
}

async fn customers_are_created_read_searched_and_corrected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    let created = api.post_keyed("/api/customers", &business_customer(), "c-1").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let customer = created.json();
    let id = customer["id"].as_i64().unwrap();
    assert_eq!(customer["kind"], "business");
    assert_eq!(customer["siren"], BUSINESS_SIREN);
    assert_eq!(customer["address"]["country"], "FR", "the country code in upper case");
    assert_eq!(customer["address"]["lines"], json!(["5 avenue de l'Été", "Bâtiment B"]));
    assert_eq!(
        customer["electronic_address"], BUSINESS_SIREN,
        "a business's SIREN by default"
    );
    assert_eq!(customer["electronic_address_scheme"], "0225");
    let again = api.post_keyed("/api/customers", &business_customer(), "c-1").await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&app.db, "customers").await, 1);

    for name in ["Jean Martin", "Jeanne Petit", "Paul Durand"] {
        let person = json!({ "kind": "person", "name": name,
            "address": { "lines": ["1 rue Haute"], "postcode": "69001", "city": "Lyon", "country": "FR" } });
        assert_eq!(api.post("/api/customers", &person).await.status, 201);
    }
    let read = api.get(&format!("/api/customers/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), customer);
    let names = |list: &Value| -> Vec<String> {
        list["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let found = api.get("/api/customers?q=jean").await.json();
    assert_eq!(names(&found), ["Jeanne Petit", "Jean Martin"]);
    let first = api.get("/api/customers?limit=2").await.json();
    assert_eq!(names(&first), ["Paul Durand", "Jeanne Petit"]);
    let before = first["next_before"].as_i64().expect("a next page");
    let second = api.get(&format!("/api/customers?limit=2&before={before}")).await.json();
    assert_eq!(names(&second), ["Jean Martin", "Atelier Dupré SARL"]);

    let mut corrected = business_customer();
    corrected["name"] = json!("Atelier Dupré & Fils SARL");
    let answer = put(&app, &api, &key, &format!("/api/customers/{id}"), &corrected).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["name"], "Atelier Dupré & Fils SARL");
    let audit = app.audited("customer.update").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].details["before"]["name"], "Atelier Dupré SARL");

    // A business without its SIREN or postcode, a bad country, a bad
    // e-mail: refused naming the field, nothing changed.
    let mut no_siren = business_customer();
    no_siren["siren"] = Value::Null;
    let mut no_postcode = business_customer();
    no_postcode["address"]["postcode"] = json!("");
    let mut short_postcode = business_customer();
    short_postcode["address"]["postcode"] = json!("6900");
    let mut no_city = business_customer();
    no_city["address"]["city"] = json!(" ");
    let mut country = business_customer();
    country["address"]["country"] = json!("XX");
    let mut text_address = business_customer();
    text_address["address"] = json!("5 avenue de l'Été\n69003 Lyon");
    let mut bad_email = business_customer();
    bad_email["email"] = json!("pas un e-mail");
    let mut scheme = business_customer();
    scheme["electronic_address"] = json!("compta@atelier-dupre.fr");
    scheme["electronic_address_scheme"] = json!("XYZ");
    let mut unknown = business_customer();
    unknown["vat_number"] = json!("FR00");
    for (body, field) in [
        (no_siren, "siren"),
        (no_postcode, "address.postcode"),
        (short_postcode, "address.postcode"),
        (no_city, "address.city"),
        (country, "address.country"),
        (text_address, "address"),
        (bad_email, "email"),
        (scheme, "electronic_address_scheme"),
        (unknown, "vat_number"),
    ] {
        let answer = api.post("/api/customers", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.json()["error"]["fields"][0]["field"], field, "{}", answer.body);
        let answer = put(&app, &api, &key, &format!("/api/customers/{id}"), &body).await;
        assert_eq!(answer.status, 422, "{}", answer.body);
    }
    assert_eq!(count(&app.db, "customers").await, 4);
    let read = api.get(&format!("/api/customers/{id}")).await.json();
    assert_eq!(read["name"], "Atelier Dupré & Fils SARL");
    assert_eq!(
        put(&app, &api, &key, "/api/customers/999", &business_customer())
            .await
            .status,
        404
    );
    assert_eq!(api.get("/api/customers/999").await.status, 404);
    assert_eq!(api.get("/api/customers?limit=500").await.status, 422);
}

async fn the_seller_is_set_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    let unset = api.get("/api/settings").await;
    assert_eq!(unset.status, 404, "{}", unset.body);

    let mut no_ei = seller();
    no_ei["seller_name"] = json!("Marie Dupont");
    let mut siren = seller();
    siren["siren"] = json!("123456789");
    let mut terms = seller();
    terms["payment_terms_days"] = json!(90);
    let mut currency = seller();
    currency["currency"] = json!("EURO");
    let mut activity = seller();
    activity["activity"] = json!("other");
    let mut vat = seller();
    vat["vat_mention"] = json!("TVA 20 % incluse");
    let mut regime = seller();
    regime["vat_regime"] = json!("normal");
    let mut zero = seller();
    zero["late_penalty_rate"] = json!(0);
    let mut low = seller();
    low["late_penalty_rate"] = json!("5.5");
    let mut text_rate = seller();
    text_rate["late_penalty_rate"] = json!("trois fois le taux d'intérêt légal");
    let mut postcode = seller();
    postcode["address"]["postcode"] = json!("7501");
    let mut iban = seller();
    iban["iban"] = json!("FR7630006000011234567890188");
    let mut bic = seller();
    bic["bic"] = json!("BNP");
    for (body, field) in [
        (no_ei, "seller_name"),
        (siren, "siren"),
        (terms, "payment_terms_days"),
        (currency, "currency"),
        (activity, "activity"),
        (vat, "vat_mention"),
        (regime, "vat_regime"),
        (zero, "late_penalty_rate"),
        (low, "late_penalty_rate"),
        (text_rate, "late_penalty_rate"),
        (postcode, "address.postcode"),
        (iban, "iban"),
        (bic, "bic"),
    ] {
        let answer = put(&app, &api, &key, "/api/settings", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.json()["error"]["fields"][0]["field"], field, "{}", answer.body);
    }
    assert_eq!(count(&app.db, "billing_settings").await, 0);

    let saved = put(&app, &api, &key, "/api/settings", &seller()).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let shown = saved.json();
    assert_eq!(shown["seller_name"], "Marie Dupont EI");
    assert_eq!(shown["vat_mention"], "TVA non applicable, art. 293 B du CGI");
    assert_eq!(shown["late_penalty_rate"], "15");
    assert_eq!(shown["discount_terms"], Value::Null);
    assert_eq!(shown["electronic_address"], SELLER_SIREN, "the SIREN by default");
    assert_eq!(shown["electronic_address_scheme"], "0225");
    let read = api.get("/api/settings").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), shown);
    // What GET answers may be sent back as is.
    let again = put(&app, &api, &key, "/api/settings", &shown).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), shown);
    assert_eq!(app.audited("settings.update").await.len(), 2);
}

/// What a customer receives by e-mail, read and set through the API; an
/// invoice issued through the API then follows the choice.
async fn email_choices_are_read_and_set_and_followed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    assert_eq!(put(&app, &api, &key, "/api/settings", &seller()).await.status, 200);
    let created = api.post("/api/customers", &business_customer()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_i64().unwrap();
    let path = format!("/api/customers/{id}/email-choices");
    let all = json!({ "invoices": true, "receipts": true, "credit_notes": true });
    assert_eq!(api.get(&path).await.json(), all, "all three by default");

    let none = json!({ "invoices": false, "receipts": false, "credit_notes": false });
    let set = put(&app, &api, &key, &path, &none).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(api.get(&path).await.json(), none);
    assert_eq!(app.audited("customer.mailing").await.len(), 1);
    // Refused: one left out, an unknown one, an unknown customer; nothing changes.
    for (body, status) in [
        (json!({ "invoices": true, "receipts": true }), 422),
        (
            json!({ "invoices": true, "receipts": true, "credit_notes": true, "sms": true }),
            422,
        ),
    ] {
        let refused = put(&app, &api, &key, &path, &body).await;
        assert!(
            refused.status == status || refused.status == 400,
            "{body}: {}",
            refused.status
        );
    }
    assert_eq!(api.get(&path).await.json(), none);
    assert_eq!(
        put(&app, &api, &key, "/api/customers/999999/email-choices", &all)
            .await
            .status,
        404
    );
    assert_eq!(api.get("/api/customers/999999/email-choices").await.status, 404);

    let draft = api
        .post(
            "/api/invoices",
            &json!({ "customer_id": id, "lines": [
                { "description": "Audit", "nature": "services", "quantity": "1.5", "unit": "day",
                  "unit_price": { "minor": 40_000, "currency": "EUR" } }
            ] }),
        )
        .await;
    assert_eq!(draft.status, 201, "{}", draft.body);
    let draft = draft.json();
    assert_eq!(draft["lines"][0]["unit"], "day");
    let invoice_id = draft["id"].as_i64().unwrap();
    let issued = api.post_empty(&format!("/api/invoices/{invoice_id}/issue")).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert!(
        app.jobs_of("billing.send_invoice_email").await.is_empty(),
        "not e-mailed"
    );
}

on_both_backends!(
    email_choices_are_read_and_set_and_followed,
    customers_are_created_read_searched_and_corrected,
    the_seller_is_set_through_the_api,
);
