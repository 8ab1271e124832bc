//! Customers and the seller's settings through the API, on both backends:
//! customers created, read, searched and paged, corrected (audited with the
//! details before and after); settings read (404 until set), set and
//! refused field by field with nothing stored. Every answer is checked
//! against the OpenAPI document.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{count, BUSINESS_SIREN, SELLER_SIREN};
use crate::support::web::{Answer, TestApp};
use crate::support::Backend;
use crate::web::api_client::ApiClient;

fn business_customer() -> Value {
    json!({
        "kind": "business",
        "name": "Atelier Dupré SARL",
        "address": "5 avenue de l'Été\n69003 Lyon",
        "email": "compta@atelier-dupre.fr",
        "siren": BUSINESS_SIREN,
    })
}

pub fn seller() -> Value {
    json!({
        "seller_name": "Marie Dupont EI",
        "siren": SELLER_SIREN,
        "address": "12 rue des Lilas\n75011 Paris",
        "email": "marie@example.fr",
        "activity": "mixed",
        "vat_mention": "TVA non applicable, art. 293 B du CGI",
        "payment_terms_days": 30,
        "late_penalty_rate": "trois fois le taux d'intérêt légal",
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
    let again = api.post_keyed("/api/customers", &business_customer(), "c-1").await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&app.db, "customers").await, 1);

    for name in ["Jean Martin", "Jeanne Petit", "Paul Durand"] {
        let person = json!({ "kind": "person", "name": name, "address": "1 rue Haute\n69001 Lyon" });
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

    // A business without its SIREN, a bad e-mail: refused, nothing changed.
    let mut no_siren = business_customer();
    no_siren["siren"] = Value::Null;
    let mut bad_email = business_customer();
    bad_email["email"] = json!("pas un e-mail");
    let mut unknown = business_customer();
    unknown["vat_number"] = json!("FR00");
    for (body, field) in [(no_siren, "siren"), (bad_email, "email"), (unknown, "vat_number")] {
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
    for (body, field) in [
        (no_ei, "seller_name"),
        (siren, "siren"),
        (terms, "payment_terms_days"),
        (currency, "currency"),
        (activity, "activity"),
    ] {
        let answer = put(&app, &api, &key, "/api/settings", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.json()["error"]["fields"][0]["field"], field, "{}", answer.body);
    }
    assert_eq!(count(&app.db, "billing_settings").await, 0);

    let saved = put(&app, &api, &key, "/api/settings", &seller()).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["seller_name"], "Marie Dupont EI");
    let read = api.get("/api/settings").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), saved.json());
    assert_eq!(app.audited("settings.update").await.len(), 1);
}

on_both_backends!(
    customers_are_created_read_searched_and_corrected,
    the_seller_is_set_through_the_api,
);
