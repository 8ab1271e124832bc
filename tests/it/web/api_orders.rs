//! The API's prices, orders and payments, on both backends, over HTTP with a
//! real API key: orders priced by the server and charged at once through the
//! simulated provider (the provider replays are in `api_providers`);
//! Idempotency-Key; validation errors. Every answer is checked against the
//! OpenAPI document by `ApiClient`.

use comptoir::billing::catalog::{self, Nature};
use comptoir::jobs::JobState;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{count, products, raw_execute, retire, save_settings};
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;

/// The catalogue: a mug (goods) and a workshop (services) for sale, a retired
/// item, and one priced to be declined by the simulated provider (cents 13).
pub(crate) async fn catalogue(app: &TestApp) {
    save_settings(&app.db.store).await;
    products(
        &app.db.store,
        &[
            ("MUG", "Mug émaillé", Nature::Goods, 1_990),
            ("ATELIER", "Atelier céramique", Nature::Services, 4_500),
            ("OLD", "Ancien modèle", Nature::Goods, 900),
            ("DECLINE", "Carte refusée", Nature::Goods, 1_013),
        ],
    )
    .await;
    retire(&app.db.store, "OLD").await;
}

pub(crate) fn person() -> Value {
    json!({ "kind": "person", "name": "Jean Martin", "address": "3 place du Marché, 69002 Lyon", "email": "jean@example.fr" })
}

pub(crate) fn order(provider: &str) -> Value {
    json!({
        "customer": person(),
        "items": [{ "sku": "MUG", "quantity": 2 }, { "sku": "ATELIER", "quantity": 1 }],
        "provider": provider,
    })
}

pub(crate) fn prefix_of(key: &str) -> String {
    key.split('_').nth(1).unwrap().to_string()
}

async fn prices_are_the_active_catalogue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let answer = api.get("/api/prices").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let prices = answer.json()["prices"].clone();
    let skus: Vec<&str> = prices
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["ATELIER", "DECLINE", "MUG"], "active only, by SKU");
    assert_eq!(
        prices[2],
        json!({ "sku": "MUG", "name": "Mug émaillé", "nature": "goods",
                "unit_price": { "minor": 1990, "currency": "EUR", "amount": "19.90" } })
    );

    // Without a key, with a wrong one, with a revoked one: 401, in the documented shape.
    for bad in ["", "ck_00000000_nope", "Basic abc"] {
        let mut other = ApiClient::new(&app, bad);
        assert_eq!(other.get("/api/prices").await.status, 401, "{bad:?}");
    }
    let keys = comptoir::auth::list_keys(&app.db.store).await.unwrap();
    comptoir::auth::revoke_key(&app.db.store, keys[0].id).await.unwrap();
    let refused = api.get("/api/prices").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"]["code"], "unauthorized");
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
}

async fn an_order_is_priced_by_the_server_and_paid_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    // A client's idea of the total is not even accepted.
    let mut with_total = order("simulated");
    with_total["total"] = json!({ "minor": 1, "currency": "EUR" });
    let refused = api.post("/api/orders", &with_total).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("unknown field `total`"), "{}", refused.body);

    let answer = api.post("/api/orders", &order("simulated")).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let body = answer.json();
    let (order, payment) = (&body["order"], &body["payment"]);
    // 2 × 19,90 + 45,00 = 84,80 €
    assert_eq!(
        order["total"],
        json!({ "minor": 8480, "currency": "EUR", "amount": "84.80" })
    );
    assert_eq!(order["lines"][0]["total"]["minor"], 3980);
    assert_eq!(order["status"], "paid");
    assert!(order["invoice_id"].is_i64(), "invoiced once paid: {order}");
    assert_eq!(payment["status"], "completed");
    assert_eq!(payment["provider"], "simulated");
    assert_eq!(payment["fee"]["minor"], 144, "1.4 % + 0,25 €");
    assert!(payment["provider_reference"].as_str().unwrap().starts_with("sim_"));
    assert_eq!(order["payments"][0]["id"], payment["id"]);

    // Reading them back.
    let order_id = order["id"].as_i64().unwrap();
    let payment_id = payment["id"].as_i64().unwrap();
    let read = api.get(&format!("/api/orders/{order_id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["payments"][0]["status"], "completed");
    let polled = api.get(&format!("/api/payments/{payment_id}")).await;
    assert_eq!(polled.status, 200);
    assert_eq!(polled.json()["status"], "completed");

    // One customer, one order, one payment; the order's creation is audited by the key.
    assert_eq!(count(&app.db, "customers").await, 1);
    assert_eq!(count(&app.db, "orders").await, 1);
    assert_eq!(count(&app.db, "payments").await, 1);
    let entries = app.audited("order.create").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, format!("api:{}", prefix_of(&key)));
    assert_eq!(entries[0].ip, "127.0.0.1");
    assert_eq!(entries[0].target, format!("order:{order_id}"));
    assert_eq!(entries[0].details["payment_id"], payment_id);
    assert_eq!(entries[0].details["customer_created"], true);

    // The safety-net charge job was enqueued with the order, for later; when it
    // runs it finds the payment completed and asks the provider nothing.
    let charges = app.jobs_of("billing.charge_payment").await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].state, JobState::Scheduled);
    assert_eq!(charges[0].args["payment_id"], payment_id);
    let payment_row = comptoir::billing::payments::get(&app.db.store, payment_id)
        .await
        .unwrap();
    let provider_key = format!("{}:charge", payment_row.idempotency_key);
    assert_eq!(app.ctx.providers.simulated().attempts(&provider_key), 1);
    app.db.store.retry_job(charges[0].id).await.unwrap();
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(
        app.db.store.get_job(charges[0].id).await.unwrap().state,
        JobState::Completed
    );
    assert_eq!(
        app.ctx.providers.simulated().attempts(&provider_key),
        1,
        "not charged twice"
    );
    let after = api.get(&format!("/api/payments/{payment_id}")).await.json();
    assert_eq!(after, polled.json(), "the job changed nothing");

    // An order for an existing customer.
    let customer_id = order["customer_id"].as_i64().unwrap();
    let again = api
        .post(
            "/api/orders",
            &json!({ "customer_id": customer_id, "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated" }),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["order"]["customer_id"], customer_id);
    assert_eq!(count(&app.db, "customers").await, 1);
}

async fn a_declined_card_fails_the_payment_and_leaves_the_order_open(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let mut body = order("simulated");
    body["items"] = json!([{ "sku": "DECLINE", "quantity": 1 }]);
    let answer = api.post("/api/orders", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["payment"]["status"], "failed");
    assert!(
        body["payment"]["failure_reason"]
            .as_str()
            .unwrap()
            .contains("card_declined"),
        "{body}"
    );
    assert_eq!(body["order"]["status"], "pending");
    assert_eq!(body["order"]["invoice_id"], Value::Null);
}

async fn idempotency_keys_replay_refuse_and_wait(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let first = api.post_keyed("/api/orders", &order("simulated"), "checkout-1").await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    // The same request again: the first answer, replayed; nothing new.
    let replayed = api.post_keyed("/api/orders", &order("simulated"), "checkout-1").await;
    assert_eq!(replayed.status, 201);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.json(), first.json());
    assert_eq!(count(&app.db, "orders").await, 1);
    assert_eq!(app.audited("order.create").await.len(), 1);
    // Even once the mug is no longer sold: a replay answers what the first request did.
    let mut tx = app.db.store.begin().await.unwrap();
    catalog::set_active(&mut tx, "MUG", false).await.unwrap();
    tx.commit().await.unwrap();
    let later = api.post_keyed("/api/orders", &order("simulated"), "checkout-1").await;
    assert_eq!(later.status, 201, "{}", later.body);
    assert_eq!(later.json(), first.json());
    let mut tx = app.db.store.begin().await.unwrap();
    catalog::set_active(&mut tx, "MUG", true).await.unwrap();
    tx.commit().await.unwrap();

    // Another request with the same key: refused, nothing new.
    let mut other = order("simulated");
    other["items"][0]["quantity"] = json!(3);
    let mismatch = api.post_keyed("/api/orders", &other, "checkout-1").await;
    assert_eq!(mismatch.status, 422);
    assert_eq!(mismatch.json()["error"]["code"], "idempotency_mismatch");
    assert_eq!(count(&app.db, "orders").await, 1);

    // While the first request with a key is still being answered (it holds
    // the key until its work commits): 409, with when to try again.
    raw_execute(
        &app.db,
        "INSERT INTO api_requests (api_key_id, idempotency_key, request_hash, created_at, locked_until)
         SELECT api_key_id, 'checkout-3', request_hash, created_at, '2999-01-01T00:00:00+00:00'
         FROM api_requests WHERE idempotency_key = 'checkout-1'",
    )
    .await
    .unwrap();
    let busy = api.post_keyed("/api/orders", &order("simulated"), "checkout-3").await;
    assert_eq!(busy.status, 409);
    assert_eq!(busy.json()["error"]["code"], "request_in_progress");
    let wait: u64 = busy.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(count(&app.db, "orders").await, 1);
    // A first request that died before committing anything frees its key
    // once its hold passes: the retry runs the work.
    raw_execute(
        &app.db,
        "UPDATE api_requests SET locked_until = '2000-01-01T00:00:00+00:00' WHERE idempotency_key = 'checkout-3'",
    )
    .await
    .unwrap();
    let taken_over = api.post_keyed("/api/orders", &order("simulated"), "checkout-3").await;
    assert_eq!(taken_over.status, 201, "{}", taken_over.body);
    assert_eq!(taken_over.header("idempotent-replayed"), None);
    assert_eq!(count(&app.db, "orders").await, 2);

    // Even if a key's record were lost (the bug a database restart once
    // caused), a retry cannot make a second payment: the payment's provider
    // key derives from the request's key, and it is unique.
    raw_execute(&app.db, "DELETE FROM api_requests WHERE idempotency_key = 'checkout-1'")
        .await
        .unwrap();
    let lost = api.post_keyed("/api/orders", &order("simulated"), "checkout-1").await;
    assert_eq!(lost.status, 409, "{}", lost.body);
    assert_eq!(count(&app.db, "orders").await, 2);
    assert_eq!(count(&app.db, "payments").await, 2);

    // A request that failed is not kept: corrected, it runs under the same key.
    let mut business = order("simulated");
    business["customer"] =
        json!({ "kind": "business", "name": "Atelier Dupré SARL", "address": "Lyon", "siren": "123" });
    let bad = api.post_keyed("/api/orders", &business, "checkout-2").await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["error"]["fields"][0]["field"], "customer.siren");
    business["customer"]["siren"] = json!("552100554");
    let no_postcode = api.post_keyed("/api/orders", &business, "checkout-2").await;
    assert_eq!(no_postcode.status, 422, "{}", no_postcode.body);
    assert_eq!(
        no_postcode.json()["error"]["fields"][0]["field"],
        "customer.address.postcode",
        "a business without postcode is refused by the field"
    );
    business["customer"]["address"] =
        json!({ "lines": ["5 avenue de l'Été"], "postcode": "69003", "city": "Lyon", "country": "FR" });
    let good = api.post_keyed("/api/orders", &business, "checkout-2").await;
    assert_eq!(good.status, 201, "{}", good.body);
    assert_eq!(count(&app.db, "orders").await, 3);

    // A key that is no key.
    let long = "k".repeat(256);
    let refused = api.post_keyed("/api/orders", &order("simulated"), &long).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["error"]["fields"][0]["field"], "Idempotency-Key");
    // Keys belong to their API key: another key's "checkout-1" is a new request.
    let other_key = app.api_key().await;
    let mut second = ApiClient::new(&app, &other_key);
    let fresh = second
        .post_keyed("/api/orders", &order("simulated"), "checkout-1")
        .await;
    assert_eq!(fresh.status, 201);
    assert_eq!(fresh.header("idempotent-replayed"), None);
}

async fn bad_orders_are_refused_field_by_field_and_create_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let answer = api
        .post(
            "/api/orders",
            &json!({
                "customer": person(),
                "items": [{ "sku": "MUG", "quantity": 0 }, { "sku": "NOPE", "quantity": 1 }, { "sku": "OLD", "quantity": 1 }],
                "provider": "bitcoin",
            }),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let error = &answer.json()["error"];
    assert_eq!(error["code"], "invalid");
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["items[0].quantity", "items[1].sku", "items[2].sku", "provider"]
    );

    for (body, field) in [
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": -1 }], "provider": "simulated" }),
            "items[0].quantity",
        ),
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": 1 }] }),
            "",
        ),
        (
            json!({ "customer": person(), "customer_id": 1, "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated" }),
            "customer_id",
        ),
        (
            json!({ "customer_id": 999, "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated" }),
            "customer_id",
        ),
        (
            json!({ "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated" }),
            "customer",
        ),
        (
            json!({ "customer": person(), "items": [], "provider": "simulated" }),
            "items",
        ),
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "stripe", "payment_method": "pm_x" }),
            "provider",
        ),
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "manual" }),
            "provider",
        ),
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "paypal" }),
            "provider",
        ),
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated", "return_url": "javascript:alert(1)" }),
            "return_url",
        ),
        (
            json!({ "customer": person(), "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated", "payment_method": "pm_x" }),
            "payment_method",
        ),
        (
            json!({ "customer": { "kind": "robot", "name": "R2", "address": "x" }, "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated" }),
            "customer.kind",
        ),
        (
            json!({ "customer": { "kind": "person", "name": " ", "address": "x" }, "items": [{ "sku": "MUG", "quantity": 1 }], "provider": "simulated" }),
            "customer.name",
        ),
    ] {
        let answer = api.post("/api/orders", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        let first = &answer.json()["error"]["fields"][0];
        assert_eq!(first["field"], field, "{body}: {}", answer.body);
        assert!(first["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Not JSON at all: 400.
    assert_eq!(
        api.post_raw("/api/orders", "application/json", "{\"items\": [")
            .await
            .status,
        400
    );
    assert_eq!(api.post_raw("/api/orders", "text/plain", "hello").await.status, 400);

    // Nothing was created by any of it.
    for table in ["customers", "orders", "payments", "api_requests", "audit_log"] {
        assert_eq!(count(&app.db, table).await, 0, "{table}");
    }
    assert!(app.jobs_of("billing.charge_payment").await.is_empty());

    // Unknown ids, unknown routes and other methods answer JSON errors.
    assert_eq!(api.get("/api/orders/999").await.status, 404);
    assert_eq!(api.get("/api/orders/abc").await.status, 404);
    assert_eq!(api.get("/api/payments/999").await.status, 404);
    assert_eq!(api.post_empty("/api/orders/999/capture").await.status, 404);
    assert_eq!(api.get("/api/nothing/here").await.status, 404);
    let wrong_method = api.get("/api/orders").await;
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
    assert_eq!(wrong_method.json()["error"]["code"], "method_not_allowed");
}

async fn orders_wait_for_the_billing_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    catalogue(&app).await;
    raw_execute(&app.db, "DELETE FROM billing_settings").await.unwrap();
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let answer = api.post("/api/orders", &order("simulated")).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(!answer.body.contains("settings"), "no internals: {}", answer.body);
    assert_eq!(count(&app.db, "orders").await, 0);
}

on_both_backends!(
    prices_are_the_active_catalogue,
    an_order_is_priced_by_the_server_and_paid_at_once,
    a_declined_card_fails_the_payment_and_leaves_the_order_open,
    idempotency_keys_replay_refuse_and_wait,
    bad_orders_are_refused_field_by_field_and_create_nothing,
    orders_wait_for_the_billing_settings,
);
