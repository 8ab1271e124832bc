//! The URSSAF alerts in a real headless Chromium, against a real
//! `comptoir-web` process (SQLite, its worker, SMTP on loopback): receipts
//! recorded through the API reach 80 %, then 100 %, of the VAT franchise
//! threshold for services (37 500 € in 2026), and the dashboard says so in
//! French; the URSSAF page, reached from the menu, lists the period.

use serde_json::{json, Value};

use crate::browser::{set_up, start_web, EMAIL, PASSWORD, PATIENCE};
use crate::support::smtp::SmtpServer;
use crate::support::webdriver::{Browser, ChromeDriver};
use crate::support::TestDir;

/// A call of the API with `key`; the answer's status must be `status`.
async fn api(base: &str, key: &str, path: &str, body: Value, status: u16) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("API call");
    let code = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    assert_eq!(code, status, "{path}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

/// Invoices `cents` of services to `customer`, issues it and records its payment today.
async fn services_received(base: &str, key: &str, customer: i64, cents: i64) {
    let draft = api(
        base,
        key,
        "/api/invoices",
        json!({ "customer_id": customer, "lines": [
            { "description": "Mission de conseil", "nature": "services", "quantity": 1,
              "unit_price": { "minor": cents, "currency": "EUR" } } ] }),
        201,
    )
    .await;
    let id = draft["id"].as_i64().expect("invoice id");
    api(base, key, &format!("/api/invoices/{id}/issue"), json!({}), 200).await;
    let today = chrono::Utc::now().date_naive().to_string();
    api(
        base,
        key,
        &format!("/api/invoices/{id}/payments"),
        json!({ "amount": { "minor": cents, "currency": "EUR" }, "method": "transfer", "received_on": today }),
        201,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_vat_franchise_alerts_at_80_and_100_percent() {
    let dir = TestDir::new();
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let smtp = SmtpServer::start().await;
    let key = set_up(dir, &["--services-category", "bnc"]);
    let web = start_web(dir, smtp.port).await;
    let base = web.base.clone();
    let customer = api(
        &base,
        &key,
        "/api/customers",
        json!({ "kind": "person", "name": "Jeanne Client",
                "address": { "lines": ["3 place du Marché"], "postcode": "69002", "city": "Lyon", "country": "FR" } }),
        201,
    )
    .await["id"]
        .as_i64()
        .expect("customer id");

    let driver = ChromeDriver::start(dir).await;
    let b = Browser::new(&driver, dir).await;
    b.goto(&format!("{base}/admin")).await;
    b.fill("#email", EMAIL).await;
    b.fill("#password", PASSWORD).await;
    b.click("#sign-in").await;
    b.wait_text("header .who", "Marie Dupont", PATIENCE).await;
    let alerts = b.find("#urssaf-alerts").await;
    assert_eq!(b.text(&alerts).await.trim(), "", "no alert before any receipt");

    // 30 000,00 € of services received: 80 % of 37 500 €.
    services_received(&base, &key, customer, 3_000_000).await;
    b.goto(&format!("{base}/admin")).await;
    let warning = b
        .wait_text(
            "#urssaf-alerts p[data-alert=vat_services][data-level=warning]",
            "80 % du seuil",
            PATIENCE,
        )
        .await
        .replace('\u{a0}', " ");
    b.shot("urssaf-80").await;
    assert!(
        warning.contains("Franchise de TVA (prestations de services) : 30 000,00 € encaissés"),
        "{warning}"
    );
    assert!(warning.contains("la TVA sera due à partir du 1er janvier"), "{warning}");

    // 7 500,00 € more: 37 500 €, the threshold reached.
    services_received(&base, &key, customer, 750_000).await;
    b.goto(&format!("{base}/admin")).await;
    let reached = b
        .wait_text(
            "#urssaf-alerts p[data-alert=vat_services][data-level=reached]",
            "100 % du seuil",
            PATIENCE,
        )
        .await
        .replace('\u{a0}', " ");
    b.shot("urssaf-100").await;
    assert!(reached.contains("37 500,00 € encaissés"), "{reached}");
    assert!(reached.contains("Seuil atteint"), "{reached}");

    // The menu leads to the declarations: this year's current period holds the 37 500 €, as BNC.
    // URSSAF is under "Plus", in the menu's Comptabilité group.
    b.click("header nav details.more summary").await;
    b.click("header nav a[href='/admin/urssaf']").await;
    let row = b
        .wait_for(
            "#urssaf-periods tr[data-category=services_bnc][data-declared='37500']",
            PATIENCE,
        )
        .await;
    b.shot("urssaf-page").await;
    // 37 500 € × 25,6 % = 9 600,00 €.
    assert!(b.text(&row).await.replace('\u{a0}', " ").contains("9 600,00 €"));
    b.find("#urssaf-alerts p[data-level=reached]").await;
    b.close().await;
    drop(driver);
    drop(web);
}
