//! Bank reconciliation in a real headless Chromium, against a real
//! `comptoir-web` process (SQLite, its worker): three invoices made through
//! the API, a camt.053 statement uploaded from the admin's imports page, then
//! on « Banque » the operator splits a transfer that names two invoices,
//! confirms a partial payment and ignores bank interest; the invoices are
//! paid (or partly) by the jobs that follow.

use serde_json::{json, Value};

use crate::browser::{set_up, start_web, EMAIL, PASSWORD, PATIENCE};
use crate::support::camt::{self, document, tx, Entry, Statement, Version};
use crate::support::smtp::SmtpServer;
use crate::support::webdriver::{Browser, ChromeDriver};
use crate::support::TestDir;

/// A call of the API with `key`; the answer's status must be `status`.
async fn api(base: &str, key: &str, method: reqwest::Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("API call");
    let code = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    assert_eq!(code, status, "{path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

/// An issued invoice of `cents` of services to `customer`: (id, reference).
async fn issued(base: &str, key: &str, customer: i64, cents: i64) -> (i64, String) {
    let draft = api(
        base,
        key,
        reqwest::Method::POST,
        "/api/invoices",
        Some(json!({ "customer_id": customer, "lines": [
            { "description": "Séance photo", "nature": "services", "quantity": 1,
              "unit_price": { "minor": cents, "currency": "EUR" } } ] })),
        201,
    )
    .await;
    let id = draft["id"].as_i64().expect("invoice id");
    let issued = api(
        base,
        key,
        reqwest::Method::POST,
        &format!("/api/invoices/{id}/issue"),
        Some(json!({})),
        200,
    )
    .await;
    (id, issued["reference"].as_str().expect("reference").to_string())
}

async fn customer(base: &str, key: &str, name: &str) -> i64 {
    api(
        base,
        key,
        reqwest::Method::POST,
        "/api/customers",
        Some(json!({ "kind": "person", "name": name,
                "address": { "lines": ["3 place du Marché"], "postcode": "69002", "city": "Lyon", "country": "FR" } })),
        201,
    )
    .await["id"]
        .as_i64()
        .expect("customer id")
}

/// Waits until invoice `id` answers with `status` and `due` cents still owed.
async fn wait_invoice(base: &str, key: &str, id: i64, status: &str, due: i64) {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let invoice = api(
            base,
            key,
            reqwest::Method::GET,
            &format!("/api/invoices/{id}"),
            None,
            200,
        )
        .await;
        if invoice["status"] == status && invoice["balance_due"]["minor"] == due {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "invoice {id}: {invoice}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reconciles_a_camt_statement_in_a_real_browser() {
    let dir = TestDir::new();
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let smtp = SmtpServer::start().await;
    let key = set_up(dir, &[]);
    let web = start_web(dir, smtp.port).await;
    let base = web.base.clone();
    let atelier = customer(&base, &key, "Atelier Lumière").await;
    let jean = customer(&base, &key, "Jean Martin").await;
    let (p1, r1) = issued(&base, &key, atelier, 30_000).await;
    let (p2, r2) = issued(&base, &key, atelier, 20_000).await;
    let (p3, r3) = issued(&base, &key, jean, 40_000).await;

    // Today's statement: one transfer for two invoices, a down payment, bank interest.
    let today = chrono::Local::now().date_naive();
    let entry = |reference: &str, t: camt::Tx| Entry {
        reference: reference.into(),
        booking: today,
        value: today,
        credit: true,
        reversal: false,
        amount_minor: None,
        txs: vec![t],
        additional: None,
    };
    let xml = document(
        Version::V02,
        &[Statement {
            id: "RELEVE-1".into(),
            iban: "FR7630006000011234567890189".into(),
            from: today,
            to: today,
            entries: vec![
                entry("BQ-A", tx(50_000, "ATELIER LUMIERE", &format!("FACTURES {r1} {r2}"))),
                entry(
                    "BQ-B",
                    tx(10_000, "MARTIN JEAN", &format!("ACOMPTE {}", r3.replace('-', " "))),
                ),
                entry("BQ-C", tx(1_234, "LA BANQUE POSTALE", "INTERETS CREDITEURS")),
            ],
        }],
    );
    let file = dir.join("releve.xml");
    std::fs::write(&file, &xml).unwrap();
    camt::assert_valid(Version::V02, &file);

    let driver = ChromeDriver::start(dir).await;
    let b = Browser::new(&driver, dir).await;
    b.goto(&format!("{base}/admin")).await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", PASSWORD).await;
    b.click("#sign-in").await;
    b.wait_text("header .who", "Marie Dupont", PATIENCE).await;

    // Upload the statement from the imports page; its job reads it.
    b.goto(&format!("{base}/admin/imports")).await;
    b.select("#import-form [name=kind]", "payments").await;
    b.fill("#import-form [name=file]", file.to_str().unwrap()).await;
    b.click("#upload-import").await;
    b.wait_text("#import-status", "terminé", PATIENCE).await;

    // The dashboard says three credits wait; the menu leads to them.
    b.goto(&format!("{base}/admin")).await;
    b.wait_text("#card-bank .value", "3", PATIENCE).await;
    b.click("header nav a[href='/admin/bank']").await;
    b.wait_text("#waiting-title", "(3)", PATIENCE).await;
    b.shot("bank").await;
    let split = b.find("section[data-amount='50000']").await;
    assert!(b.text(&split).await.contains("à répartir"), "{}", b.text(&split).await);

    // Confirm the down payment against the invoice it names.
    b.click(&format!(
        "section[data-amount='10000'] tr[data-invoice='{r3}'] button.confirm"
    ))
    .await;
    b.wait_text(".flash", &format!("rapproché à {r3}"), PATIENCE).await;

    // Split the transfer across the two invoices it names (the form is filled from them).
    b.click("section[data-amount='50000'] .split-submit").await;
    b.wait_text(".flash", &format!("réparti entre {r1}, {r2}"), PATIENCE)
        .await;

    // Ignore the bank's interest, with a note.
    b.fill("section[data-amount='1234'] [name=note]", "intérêts du livret")
        .await;
    b.click("section[data-amount='1234'] button.ignore").await;
    b.wait_text(".flash", "classé : ignoré", PATIENCE).await;
    b.find("#nothing-waiting").await;
    let decided = b.find("#decided").await;
    let decided = b.text(&decided).await;
    assert!(
        decided.contains(&r1) && decided.contains(&r2) && decided.contains(&r3),
        "{decided}"
    );
    assert!(decided.contains("intérêts du livret"), "{decided}");
    b.shot("bank-done").await;

    // The payments' jobs complete them: two invoices paid, one partly.
    wait_invoice(&base, &key, p1, "paid", 0).await;
    wait_invoice(&base, &key, p2, "paid", 0).await;
    wait_invoice(&base, &key, p3, "issued", 30_000).await;
    b.close().await;
    drop(driver);
    drop(web);
}
