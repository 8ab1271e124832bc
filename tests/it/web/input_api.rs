//! The input policy through the JSON API, on both backends: NUL, CR, LF, ESC
//! and U+202E in every text field of an order (its inline customer), a
//! contract and an operation answer 422 naming the field's JSON path, store
//! nothing, never 500; a multi-line address keeps its line breaks as LF;
//! e-mail addresses are parsed; dates out of bounds are refused by field.

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{count, person, row_counts, IBAN};
use crate::support::input::CONTROL_TEXTS;
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;
use crate::web::api_orders::{catalogue, order};

on_both_backends!(
    control_characters_in_any_api_field_are_refused_by_path,
    an_inline_address_keeps_its_line_breaks,
    api_e_mail_addresses_are_parsed,
    api_dates_out_of_bounds_are_refused_by_field,
    api_messages_are_english_unless_the_caller_prefers_french,
);

/// Tables an API call could write to.
const TABLES: [&str; 7] = [
    "customers",
    "orders",
    "payments",
    "contracts",
    "contract_operations",
    "comptoir_jobs",
    "api_requests",
];

/// `body` with the string at `path` (`a.b[0].c`) replaced by `value`.
fn with(body: &Value, path: &str, value: &str) -> Value {
    let mut body = body.clone();
    let mut at = &mut body;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, i)) => (name, Some(i.trim_end_matches(']').parse::<usize>().unwrap())),
            None => (part, None),
        };
        at = &mut at[name];
        if let Some(i) = index {
            at = &mut at[i];
        }
    }
    *at = json!(value);
    body
}

fn subscription(customer_id: i64, signed_on: NaiveDate) -> Value {
    json!({
        "customer_id": customer_id,
        "ceiling": { "minor": 50_000, "currency": "EUR" },
        "mandate": { "reference": "RUM-IN-1", "signed_on": signed_on.to_string(), "iban": IBAN },
    })
}

fn purchase(on: Option<NaiveDate>) -> Value {
    let mut body = json!({
        "kind": "purchase",
        "lines": [{ "description": "Séance", "nature": "services", "quantity": "1",
                    "unit_price": { "minor": 1_000, "currency": "EUR" } }],
    });
    if let Some(on) = on {
        body["occurred_on"] = json!(on.to_string());
    }
    body
}

/// Posts `body` with `value` at `field` and checks the 422 names `field`.
async fn refused(api: &mut ApiClient, app: &TestApp, route: &str, body: &Value, field: &str, name: &str, value: &str) {
    let before = row_counts(&app.db, &TABLES).await;
    let answer = api.post(route, &with(body, field, value)).await;
    assert_eq!(answer.status, 422, "{route} {field} with {name}: {}", answer.body);
    let error = &answer.json()["error"];
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["field"].as_str()).collect())
        .unwrap_or_default();
    assert!(fields.contains(&field), "{route} {field} with {name}: {}", answer.body);
    assert_eq!(
        row_counts(&app.db, &TABLES).await,
        before,
        "{route} {field} with {name}: nothing stored"
    );
}

async fn control_characters_in_any_api_field_are_refused_by_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let customer = person(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let signed = app.db.today().await - Days::new(10);
    let created = api.post("/api/contracts", &subscription(customer.id, signed)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let operations = format!("/api/contracts/{}/operations", created.json()["id"]);

    let mut orders = order("simulated");
    orders["customer"]["address"] =
        json!({ "lines": ["3 place du Marché"], "postcode": "69002", "city": "Lyon", "country": "FR" });
    let mut stripe = order("stripe");
    stripe["payment_method"] = json!("pm_card_visa");
    let mut paypal = order("paypal");
    paypal["return_url"] = json!("https://shop.example.fr/merci");
    let contract = subscription(customer.id, signed);
    let operation = purchase(None);
    for (name, bad, _) in CONTROL_TEXTS {
        let cases: Vec<(&str, &Value, &str, String)> = vec![
            ("/api/orders", &orders, "customer.name", bad.to_string()),
            ("/api/orders", &orders, "customer.kind", format!("person{bad}")),
            (
                "/api/orders",
                &orders,
                "customer.email",
                format!("jean{bad}@example.fr"),
            ),
            ("/api/orders", &orders, "customer.siren", format!("552 100{bad}554")),
            ("/api/orders", &orders, "customer.address.city", format!("Lyon{bad}")),
            (
                "/api/orders",
                &orders,
                "customer.address.postcode",
                format!("69{bad}002"),
            ),
            ("/api/orders", &orders, "customer.address.country", format!("F{bad}")),
            ("/api/orders", &orders, "items[0].sku", format!("MUG{bad}")),
            ("/api/orders", &orders, "provider", format!("simulated{bad}")),
            ("/api/orders", &stripe, "payment_method", format!("pm_card{bad}visa")),
            (
                "/api/orders",
                &paypal,
                "return_url",
                format!("https://shop.example.fr/{bad}"),
            ),
            ("/api/contracts", &contract, "mandate.reference", format!("RUM{bad}2")),
            (
                "/api/contracts",
                &contract,
                "mandate.iban",
                format!("FR76 3000 6000{bad}0112 3456 7890 189"),
            ),
            (
                "/api/contracts",
                &contract,
                "mandate.signed_on",
                format!("{signed}{bad}"),
            ),
            ("/api/contracts", &contract, "ceiling.currency", format!("EUR{bad}")),
            (&operations, &operation, "lines[0].description", bad.to_string()),
            (&operations, &operation, "lines[0].nature", format!("services{bad}")),
            (&operations, &operation, "lines[0].quantity", format!("1{bad}")),
            (
                &operations,
                &operation,
                "lines[0].unit_price.currency",
                format!("EUR{bad}"),
            ),
            (&operations, &operation, "kind", format!("purchase{bad}")),
        ];
        for (route, body, field, value) in cases {
            refused(&mut api, &app, route, body, field, name, &value).await;
        }
    }
    // The edge names a NUL even where no field would read it, keys included.
    let mut extra = orders.clone();
    extra["customer"]["note\u{0}"] = json!("x");
    let answer = api.post("/api/orders", &extra).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(answer.json()["error"]["fields"][0]["field"], "customer.note\\0");
    // And the message names the character.
    let answer = api
        .post("/api/orders", &with(&orders, "customer.name", "a\u{1b}b"))
        .await;
    assert_eq!(
        answer.json()["error"]["fields"][0]["message"],
        "control character U+001B refused"
    );
    assert_eq!(count(&app.db, "customers").await, 1, "only the fixture's");
}

async fn an_inline_address_keeps_its_line_breaks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let body = with(
        &order("simulated"),
        "customer.address",
        "Bâtiment B\r\n3 place du Marché\r\n69002 Lyon",
    );
    let answer = api.post("/api/orders", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let customers = comptoir::billing::customers::list(&app.db.store, 10, None)
        .await
        .unwrap();
    assert_eq!(customers[0].address.lines, vec!["Bâtiment B", "3 place du Marché"]);
    assert_eq!(
        (
            customers[0].address.postcode.as_str(),
            customers[0].address.city.as_str()
        ),
        ("69002", "Lyon")
    );
    assert_eq!(customers[0].address.country, "FR");
}

async fn api_e_mail_addresses_are_parsed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let orders = order("simulated");
    for bad in ["a@b.fr>", "a(c)@b.fr", "\"a b\"@c.fr", "Jean <jean@example.fr>"] {
        refused(&mut api, &app, "/api/orders", &orders, "customer.email", bad, bad).await;
    }
    let answer = api
        .post(
            "/api/orders",
            &with(&orders, "customer.email", "Jean.Martin+shop@Example.FR"),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

async fn api_dates_out_of_bounds_are_refused_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let customer = person(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let today = app.db.today().await;
    let contract = subscription(customer.id, today);
    for signed in ["1999-12-31", "9999-12-31", &(today + Days::new(1)).to_string()] {
        refused(
            &mut api,
            &app,
            "/api/contracts",
            &contract,
            "mandate.signed_on",
            signed,
            signed,
        )
        .await;
    }
    let created = api.post("/api/contracts", &contract).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let operations = format!("/api/contracts/{}/operations", created.json()["id"]);
    for on in ["1999-12-31", "9999-12-31", &(today + Days::new(400)).to_string()] {
        let answer = api.post(&operations, &with(&purchase(None), "occurred_on", on)).await;
        assert_eq!(answer.status, 422, "{on}: {}", answer.body);
        assert_eq!(
            answer.json()["error"]["fields"][0]["field"],
            "occurred_on",
            "{}",
            answer.body
        );
    }
    let ahead = api.post(&operations, &purchase(Some(today + Days::new(30)))).await;
    assert_eq!(ahead.status, 201, "within a year: {}", ahead.body);
    assert_eq!(count(&app.db, "contract_operations").await, 1);
}

/// Developers read the API's messages: English by default, French when the
/// request's `Accept-Language` prefers it; the code and the names in
/// `fields` are the API's contract and do not change.
async fn api_messages_are_english_unless_the_caller_prefers_french(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let customers_before = count(&app.db, "customers").await;
    let mut no_postcode = order("simulated");
    no_postcode["customer"]["address"] =
        json!({ "lines": ["3 place du Marché"], "postcode": "", "city": "Lyon", "country": "FR" });
    let siren = |s: &str| {
        let mut o = order("simulated");
        o["customer"]["kind"] = json!("business");
        o["customer"]["siren"] = json!(s);
        o
    };
    let refusal = |answer: &crate::support::web::Answer| {
        let error = answer.json()["error"].clone();
        (
            error["code"].as_str().unwrap_or_default().to_string(),
            error["message"].as_str().unwrap_or_default().to_string(),
            error["fields"][0]["field"].as_str().unwrap_or_default().to_string(),
            error["fields"][0]["message"].as_str().unwrap_or_default().to_string(),
        )
    };

    for accept in [None, Some("en-GB,en;q=0.9"), Some("de-DE"), Some("fr;q=0.1, en")] {
        let mut api = match accept {
            Some(a) => ApiClient::new(&app, &key).with_language(a),
            None => ApiClient::new(&app, &key),
        };
        let answer = api.post("/api/orders", &no_postcode).await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        assert_eq!(
            refusal(&answer),
            (
                "invalid".into(),
                "invalid request".into(),
                "customer.address.postcode".into(),
                "the postcode is required".into()
            ),
            "Accept-Language {accept:?}"
        );
        let answer = api.post("/api/orders", &siren("552100555")).await;
        assert_eq!(
            refusal(&answer),
            (
                "invalid".into(),
                "invalid request".into(),
                "customer.siren".into(),
                "\"552100555\" has a wrong control key (Luhn)".into()
            ),
            "Accept-Language {accept:?}"
        );
    }

    let mut api = ApiClient::new(&app, &key).with_language("fr-FR,fr;q=0.9,en;q=0.8");
    let answer = api.post("/api/orders", &no_postcode).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(
        refusal(&answer),
        (
            "invalid".into(),
            "requête invalide".into(),
            "customer.address.postcode".into(),
            "le code postal est obligatoire".into()
        )
    );
    let answer = api.post("/api/orders", &siren("552100555")).await;
    assert_eq!(
        refusal(&answer),
        (
            "invalid".into(),
            "requête invalide".into(),
            "customer.siren".into(),
            "« 552100555 » : clé de contrôle fausse (Luhn)".into()
        )
    );
    // The edge's refusals and a 400 too.
    let answer = api
        .post("/api/orders", &with(&order("simulated"), "customer.name", "a\u{1b}b"))
        .await;
    assert_eq!(
        answer.json()["error"]["fields"][0]["message"],
        "caractère de contrôle U+001B refusé"
    );
    let answer = api.post_raw("/api/orders", "text/plain", "{}").await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"]["code"], "bad_request");
    assert_eq!(
        answer.json()["error"]["message"],
        "Content-Type: application/json attendu"
    );
    let answer = ApiClient::new(&app, &key)
        .post_raw("/api/orders", "text/plain", "{}")
        .await;
    assert_eq!(
        answer.json()["error"]["message"],
        "expected Content-Type: application/json"
    );
    assert_eq!(count(&app.db, "customers").await, customers_before, "nothing stored");
}
