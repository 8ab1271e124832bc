//! The catalogue through the API, on both backends: products created
//! (audited, replayed under the same Idempotency-Key), listed for sale and
//! retired, retired (once), and bad products refused field by field with
//! nothing stored. Every answer is checked against the OpenAPI document.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::count;
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;

fn product(sku: &str, nature: &str, minor: i64) -> Value {
    json!({
        "sku": sku,
        "name": format!("Produit {sku}"),
        "nature": nature,
        "unit_price": { "minor": minor, "currency": "EUR" },
    })
}

fn skus(list: &Value) -> Vec<String> {
    list["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_string())
        .collect()
}

async fn products_are_created_listed_and_retired(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    let created = api
        .post_keyed("/api/products", &product("COURS-1H", "services", 4_500), "p-1")
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let view = created.json();
    assert_eq!(view["sku"], "COURS-1H");
    assert_eq!(view["nature"], "services");
    assert_eq!(view["unit_price"]["amount"], "45.00");
    assert_eq!(view["active"], true);
    let again = api
        .post_keyed("/api/products", &product("COURS-1H", "services", 4_500), "p-1")
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count(&app.db, "products").await, 1);
    let taken = api.post("/api/products", &product("COURS-1H", "goods", 100)).await;
    assert_eq!(taken.status, 409, "the SKU is taken: {}", taken.body);

    assert_eq!(
        api.post("/api/products", &product("LIVRE", "goods", 1_990))
            .await
            .status,
        201
    );
    let all = api.get("/api/products").await;
    assert_eq!(all.status, 200);
    assert_eq!(skus(&all.json()), ["COURS-1H", "LIVRE"]);

    let retired = api.post_empty("/api/products/LIVRE/retire").await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    assert_eq!(retired.json()["active"], false);
    let twice = api.post_empty("/api/products/LIVRE/retire").await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(api.post_empty("/api/products/NOPE/retire").await.status, 404);

    assert_eq!(skus(&api.get("/api/products").await.json()), ["COURS-1H", "LIVRE"]);
    assert_eq!(skus(&api.get("/api/products?active=false").await.json()), ["LIVRE"]);
    assert_eq!(skus(&api.get("/api/products?active=true").await.json()), ["COURS-1H"]);
    let prices = api.get("/api/prices").await.json();
    assert_eq!(
        prices["prices"].as_array().unwrap().len(),
        1,
        "a retired product is not for sale"
    );

    let created: Vec<String> = app
        .audited("product.create")
        .await
        .into_iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(created, ["product:LIVRE", "product:COURS-1H"]);
    let retired = app.audited("product.retire").await;
    assert_eq!(retired.len(), 1);
    assert_eq!(retired[0].target, "product:LIVRE");
}

async fn bad_products_are_refused_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    let mut negative = product("OK", "goods", 100);
    negative["unit_price"]["minor"] = json!(-1);
    let mut currency = product("OK", "goods", 100);
    currency["unit_price"]["currency"] = json!("EURO");
    let mut amount = product("OK", "goods", 100);
    amount["unit_price"]["amount"] = json!("2.00");
    let mut nature = product("OK", "goods", 100);
    nature["nature"] = json!("gift");
    let mut extra = product("OK", "goods", 100);
    extra["vat"] = json!(20);
    for (body, field) in [
        (product("pas de blancs", "goods", 100), "sku"),
        (product("", "goods", 100), "sku"),
        (
            json!({ "sku": "OK", "name": " ", "nature": "goods", "unit_price": { "minor": 1, "currency": "EUR" } }),
            "name",
        ),
        (negative, "unit_price.minor"),
        (currency, "unit_price.currency"),
        (amount, "unit_price.amount"),
        (nature, "nature"),
        (extra, "vat"),
    ] {
        let answer = api.post("/api/products", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.json()["error"]["fields"][0]["field"], field, "{}", answer.body);
    }
    assert_eq!(count(&app.db, "products").await, 0);
    assert!(app.audited("product.create").await.is_empty());
    let unknown = api.get("/api/products?active=maybe").await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
}

on_both_backends!(
    products_are_created_listed_and_retired,
    bad_products_are_refused_field_by_field,
);
