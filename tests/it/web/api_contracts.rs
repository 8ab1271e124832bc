//! Contracts through the API, on both backends: subscribe, read the balance
//! and the mandate's validity, post operations accepted or refused with the
//! rule (and nothing recorded), suspend / resume / cancel, every change
//! audited. Every answer is checked against the OpenAPI document.

use chrono::{Months, NaiveDate};
use comptoir::audit::{self, AuditFilter};
use comptoir::billing::contracts;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{count, person, save_settings, IBAN};
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;

fn subscription(customer_id: i64, reference: &str, signed_on: NaiveDate) -> Value {
    json!({
        "customer_id": customer_id,
        "ceiling": { "minor": 50_000, "currency": "EUR" },
        "mandate": { "reference": reference, "signed_on": signed_on.to_string(), "iban": IBAN },
    })
}

fn purchase(minor: i64) -> Value {
    json!({
        "kind": "purchase",
        "lines": [{ "description": "Séance de coaching", "nature": "services", "quantity": 2,
                    "unit_price": { "minor": minor / 2, "currency": "EUR", "amount": format!("{}.{:02}", minor / 200, (minor / 2) % 100) } }],
    })
}

async fn actions(app: &TestApp) -> Vec<String> {
    audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("contract.".into()),
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .into_iter()
    .rev()
    .map(|e| e.action)
    .collect()
}

async fn a_contract_lives_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let signed = app.db.today().await - chrono::Days::new(30);

    let created = api
        .post("/api/contracts", &subscription(customer.id, "RUM-API-1", signed))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let contract = created.json();
    let id = contract["id"].as_i64().unwrap();
    assert_eq!(contract["status"], "active");
    assert_eq!(contract["ceiling"]["amount"], "500.00");
    assert_eq!(contract["balance"]["outstanding"]["minor"], 0);
    assert_eq!(contract["balance"]["available"]["minor"], 50_000);
    assert_eq!(contract["mandate"]["valid"], true);
    assert_eq!(contract["mandate"]["invalid"], Value::Null);
    assert_eq!(
        contract["mandate"]["iban"], "FR76…0189",
        "the IBAN is not sent back whole"
    );
    assert!(!created.body.contains(IBAN));

    // A purchase within the ceiling: accepted, with the new balance.
    let ops = format!("/api/contracts/{id}/operations");
    let accepted = api.post(&ops, &purchase(30_000)).await;
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    let accepted = accepted.json();
    assert_eq!(accepted["operation"]["amount"]["minor"], 30_000);
    assert_eq!(accepted["operation"]["lines"][0]["quantity"], "2");
    assert_eq!(accepted["operation"]["occurred_on"], app.db.today().await.to_string());
    assert_eq!(accepted["contract"]["balance"]["outstanding"]["minor"], 30_000);
    assert_eq!(accepted["contract"]["balance"]["available"]["minor"], 20_000);

    // One that would pass the ceiling: refused with the rule, nothing recorded.
    let refused = api.post(&ops, &purchase(25_000)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "ceiling_exceeded");
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("500,00"));
    assert_eq!(count(&app.db, "contract_operations").await, 1);

    let read = api.get(&format!("/api/contracts/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["balance"]["open_operations"]["minor"], 30_000);

    // Suspended: operations are refused; a second suspension conflicts.
    let suspended = api.post_empty(&format!("/api/contracts/{id}/suspend")).await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.json()["status"], "suspended");
    let not_active = api.post(&ops, &purchase(1_000)).await;
    assert_eq!(not_active.status, 422);
    assert_eq!(not_active.json()["error"]["code"], "contract_not_active");
    let twice = api.post_empty(&format!("/api/contracts/{id}/suspend")).await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.json()["error"]["code"], "conflict");

    let resumed = api.post_empty(&format!("/api/contracts/{id}/resume")).await;
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.json()["status"], "active");
    let cancelled = api.post_empty(&format!("/api/contracts/{id}/cancel")).await;
    assert_eq!(cancelled.status, 200);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(api.post_empty(&format!("/api/contracts/{id}/resume")).await.status, 409);
    assert_eq!(count(&app.db, "contract_operations").await, 1);

    assert_eq!(
        actions(&app).await,
        [
            "contract.subscribe",
            "contract.operation",
            "contract.suspend",
            "contract.resume",
            "contract.cancel"
        ]
    );

    // An idempotent transition replays its answer, even though the contract moved on.
    let body = subscription(customer.id, "RUM-API-2", signed);
    let other = api.post("/api/contracts", &body).await.json()["id"].as_i64().unwrap();
    let path = format!("/api/contracts/{other}/suspend");
    let first = api.post_with(&path, None, Some("suspend-1")).await;
    let again = api.post_with(&path, None, Some("suspend-1")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
}

async fn a_revoked_or_lapsed_mandate_refuses_operations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let today = app.db.today().await;

    let revoked = api
        .post(
            "/api/contracts",
            &subscription(customer.id, "RUM-REV", today - chrono::Days::new(10)),
        )
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    let mut tx = app.db.store.begin().await.unwrap();
    contracts::revoke_mandate(&mut tx, revoked, today).await.unwrap();
    tx.commit().await.unwrap();
    let read = api.get(&format!("/api/contracts/{revoked}")).await.json();
    assert_eq!(read["mandate"]["valid"], false);
    assert_eq!(read["mandate"]["invalid"]["code"], "mandate_revoked");
    assert_eq!(read["mandate"]["revoked_on"], today.to_string());
    let refused = api
        .post(&format!("/api/contracts/{revoked}/operations"), &purchase(1_000))
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["error"]["code"], "mandate_revoked");

    let old = today.checked_sub_months(Months::new(37)).unwrap();
    let lapsed = api
        .post("/api/contracts", &subscription(customer.id, "RUM-OLD", old))
        .await;
    assert_eq!(lapsed.status, 201);
    let lapsed = lapsed.json();
    assert_eq!(lapsed["mandate"]["invalid"]["code"], "mandate_lapsed");
    let refused = api
        .post(&format!("/api/contracts/{}/operations", lapsed["id"]), &purchase(1_000))
        .await;
    assert_eq!(refused.json()["error"]["code"], "mandate_lapsed");
    assert_eq!(count(&app.db, "contract_operations").await, 0);
}

async fn bad_contracts_and_operations_are_refused_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let signed = app.db.today().await - chrono::Days::new(5);

    let mut bad_iban = subscription(customer.id, "RUM-X", signed);
    bad_iban["mandate"]["iban"] = json!("FR7630006000011234567890188");
    let mut bad_money = subscription(customer.id, "RUM-X", signed);
    bad_money["ceiling"] = json!({ "minor": 0, "currency": "EURO" });
    let mut zero = subscription(customer.id, "RUM-X", signed);
    zero["ceiling"]["minor"] = json!(0);
    let mut amount = subscription(customer.id, "RUM-X", signed);
    amount["ceiling"]["amount"] = json!("5.00");
    let mut bad_date = subscription(customer.id, "RUM-X", signed);
    bad_date["mandate"]["signed_on"] = json!("31/12/2025");
    for (body, field) in [
        (bad_iban, "mandate.iban"),
        (bad_money, "ceiling.currency"),
        (zero, "ceiling.minor"),
        (amount, "ceiling.amount"),
        (bad_date, "mandate.signed_on"),
        (subscription(999, "RUM-X", signed), "customer_id"),
    ] {
        let answer = api.post("/api/contracts", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.json()["error"]["fields"][0]["field"], field, "{}", answer.body);
    }
    assert_eq!(count(&app.db, "contracts").await, 0);

    let ok = api
        .post("/api/contracts", &subscription(customer.id, "RUM-X", signed))
        .await;
    assert_eq!(ok.status, 201);
    let duplicate = api
        .post("/api/contracts", &subscription(customer.id, "RUM-X", signed))
        .await;
    assert_eq!(
        duplicate.status, 409,
        "the mandate reference is taken: {}",
        duplicate.body
    );
    let id = ok.json()["id"].as_i64().unwrap();

    let answer = api
        .post(
            &format!("/api/contracts/{id}/operations"),
            &json!({ "kind": "purchase", "lines": [
                { "description": "Ok", "nature": "goods", "quantity": "1.5", "unit_price": { "minor": 100, "currency": "EUR" } },
                { "description": " ", "nature": "goods", "quantity": "deux", "unit_price": { "minor": -1, "currency": "EUR" } },
            ] }),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let fields: Vec<String> = answer.json()["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        fields,
        ["lines[1].description", "lines[1].quantity", "lines[1].unit_price.minor"]
    );
    let usd = api
        .post(
            &format!("/api/contracts/{id}/operations"),
            &json!({ "kind": "purchase", "lines": [
                { "description": "Ok", "nature": "goods", "quantity": 1, "unit_price": { "minor": 100, "currency": "USD" } } ] }),
        )
        .await;
    assert_eq!(usd.status, 422);
    assert_eq!(usd.json()["error"]["code"], "currency_mismatch");
    let kind = api
        .post(
            &format!("/api/contracts/{id}/operations"),
            &json!({ "kind": "gift", "lines": [] }),
        )
        .await;
    assert_eq!(kind.json()["error"]["fields"][0]["field"], "kind");
    assert_eq!(count(&app.db, "contract_operations").await, 0);

    assert_eq!(api.get("/api/contracts/999").await.status, 404);
    assert_eq!(api.post_empty("/api/contracts/999/cancel").await.status, 404);
    assert_eq!(
        api.post("/api/contracts/999/operations", &purchase(100)).await.status,
        404
    );
    assert_eq!(actions(&app).await, ["contract.subscribe"]);
}

on_both_backends!(
    a_contract_lives_through_the_api,
    a_revoked_or_lapsed_mandate_refuses_operations,
    bad_contracts_and_operations_are_refused_field_by_field,
);
