//! URSSAF over HTTP, on both backends: the JSON endpoint (every answer
//! checked against the OpenAPI document) and the admin page give the
//! figures of the known data set of `billing_urssaf`; the two URSSAF
//! settings are set from the admin and the API; the dashboard shows the
//! threshold alerts at 80 % and 100 %.

use chrono::Datelike;
use comptoir::billing::catalog::Nature;
use comptoir::billing::payments::PaymentMethod;
use comptoir::billing::settings::{self, DeclarationFrequency, ServicesCategory};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::billing_urssaf::{two_quarters, Q1, Q2};
use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::web::{Answer, TestApp};
use crate::support::Backend;
use crate::web::api_client::ApiClient;

on_both_backends!(
    the_api_gives_a_periods_declaration,
    the_admin_page_lists_the_periods_of_the_year,
    the_urssaf_settings_are_set_from_the_admin_and_the_api,
    the_dashboard_warns_at_80_and_100_percent_of_a_threshold,
);

async fn the_api_gives_a_periods_declaration(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    two_quarters(&app.db.store).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    for (period, (lines, declared, contributions)) in [("2026-Q1", Q1), ("2026-Q2", Q2)] {
        let answer = api.get(&format!("/api/urssaf?period={period}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let v = answer.json();
        assert_eq!(v["period"], period);
        assert_eq!(v["services_category"], "bnc");
        let got: Vec<(String, i64, i64, i64)> = v["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["category"].as_str().unwrap().to_string(),
                    c["received"]["minor"].as_i64().unwrap(),
                    c["declared_euros"].as_i64().unwrap(),
                    c["contributions"]["minor"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: Vec<(String, i64, i64, i64)> = lines
            .iter()
            .map(|(c, r, d, k)| (c.as_str().to_string(), *r, *d, *k))
            .collect();
        assert_eq!(got, expected, "{period}");
        assert_eq!(v["total_declared_euros"].as_i64(), Some(declared));
        assert_eq!(v["total_contributions"]["minor"].as_i64(), Some(contributions));
    }
    let q1 = api.get("/api/urssaf?period=2026-Q1").await.json();
    assert_eq!(
        (q1["deadline"].as_str(), q1["rates_year"].as_i64()),
        (Some("2026-04-30"), Some(2026))
    );
    assert_eq!(q1["categories"][1]["rate"], "25.6");
    assert_eq!(q1["total_contributions"]["amount"], "327.88");

    // No period: the last ended one at the configured frequency (quarterly).
    let today = app.db.today().await;
    let last = api.get("/api/urssaf").await;
    assert_eq!(last.status, 200, "{}", last.body);
    let expected = comptoir::billing::urssaf::DeclarationPeriod::last_ended(DeclarationFrequency::Quarterly, today);
    assert_eq!(last.json()["period"], expected.key());

    // A month works too; a bad or future period is a 422 naming `period`.
    let march = api.get("/api/urssaf?period=2026-03").await;
    assert_eq!(march.json()["total_declared_euros"], 1_201);
    for bad in ["2026-Q5", "soon", &format!("{}-Q1", today.year() + 2)] {
        let refused = api.get(&format!("/api/urssaf?period={bad}")).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
        assert_eq!(refused.json()["error"]["fields"][0]["field"], "period", "{bad}");
    }
}

async fn the_admin_page_lists_the_periods_of_the_year(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    two_quarters(&app.db.store).await;
    let mut client = app.signed_in().await;
    let page = client.get("/admin/urssaf?year=2026").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text().contains("href=\"/admin/urssaf\""), "the menu names it");
    for (period, (lines, declared, contributions)) in [("2026-Q1", Q1), ("2026-Q2", Q2)] {
        for (category, _, euros, cents) in lines {
            let row = format!(
                "data-period=\"{period}\" data-category=\"{}\" data-declared=\"{euros}\" data-contributions=\"{cents}\"",
                category.as_str()
            );
            assert!(page.body.contains(&row), "{row} missing");
        }
        let total = format!(
            "data-period-total=\"{period}\" data-declared=\"{declared}\" data-contributions=\"{contributions}\""
        );
        assert!(page.body.contains(&total), "{total} missing");
    }
    let text = page.text().replace('\u{a0}', " ");
    for shown in [
        "1er trimestre 2026",
        "30/04/2026",
        "Prestations de services BNC",
        "25,6 %",
        "323,33 €",
        "327,88 €",
        "échéance passée",
    ] {
        assert!(text.contains(shown), "{shown} missing");
    }
    // 2025 has its own periods, at 2025's rates.
    let y2025 = client.get("/admin/urssaf?year=2025").await.text();
    assert!(y2025.contains(
        "data-period=\"2025-Q4\" data-category=\"services_bnc\" data-declared=\"50\" data-contributions=\"1230\""
    ));
    assert!(y2025.contains("24,6 %"));
    // A year outside the book is refused, not a 500.
    let refused = client.get("/admin/urssaf?year=1990").await;
    assert!(refused.status >= 400 && refused.status < 500, "{}", refused.status);
}

fn form(frequency: &'static str, category: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("seller_name", "Marie Dupont EI"),
        ("siren", "732829320"),
        ("address_lines", "12 rue des Lilas"),
        ("postcode", "75011"),
        ("city", "Paris"),
        ("country", "FR"),
        ("email", "marie@example.fr"),
        ("electronic_address", ""),
        ("electronic_address_scheme", "0225"),
        ("iban", ""),
        ("bic", ""),
        ("activity", "mixed"),
        ("vat_regime", "franchise"),
        ("payment_terms_days", "30"),
        ("late_penalty_rate", "15"),
        ("discount_terms", ""),
        ("invoice_prefix", "F"),
        ("credit_note_prefix", "AV"),
        ("currency", "EUR"),
        ("declaration_frequency", frequency),
        ("services_category", category),
    ]
}

async fn put(app: &TestApp, api: &ApiClient, key: &str, body: &Value) -> Answer {
    let request = reqwest::Client::new()
        .put(app.url("/api/settings"))
        .header("content-type", "application/json")
        .body(body.to_string());
    let answer = crate::support::web::Client::new(&app.base)
        .with_bearer(key)
        .send(request)
        .await;
    api.check("PUT", "/api/settings", &answer);
    answer
}

async fn the_urssaf_settings_are_set_from_the_admin_and_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let page = client.get("/admin/settings").await;
    assert!(page.body.contains("name=\"declaration_frequency\"") && page.body.contains("name=\"services_category\""));

    let saved = client.post_form("/admin/settings", &form("monthly", "bnc")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let s = settings::load(&app.db.store).await.unwrap();
    assert_eq!(
        (s.declaration_frequency, s.services_category),
        (DeclarationFrequency::Monthly, ServicesCategory::Bnc)
    );
    let page = client.get("/admin/settings").await;
    assert!(
        page.body.contains("<option value=\"monthly\" selected>"),
        "the page shows what is saved"
    );
    let refused = client.post_form("/admin/settings", &form("weekly", "bnc")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.text().contains("declaration_frequency"), "{}", refused.body);

    // The API shows them; a PUT that leaves them out keeps them; another value is saved.
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let shown = api.get("/api/settings").await.json();
    assert_eq!(
        (
            shown["declaration_frequency"].as_str(),
            shown["services_category"].as_str()
        ),
        (Some("monthly"), Some("bnc"))
    );
    let mut body = crate::web::api_customers::seller();
    let kept = put(&app, &api, &key, &body).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json()["declaration_frequency"], "monthly");
    body["declaration_frequency"] = json!("quarterly");
    body["services_category"] = json!("bic");
    let changed = put(&app, &api, &key, &body).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let s = settings::load(&app.db.store).await.unwrap();
    assert_eq!(
        (s.declaration_frequency, s.services_category),
        (DeclarationFrequency::Quarterly, ServicesCategory::Bic)
    );
    body["services_category"] = json!("both");
    let refused = put(&app, &api, &key, &body).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
}

/// The threshold alerts shown on the dashboard (those with a `data-alert`;
/// not the backup's): (key, level, percent).
fn alerts(html: &str) -> Vec<(String, String, String)> {
    html.split("<p class=\"alert ")
        .skip(1)
        .filter(|p| p.split('>').next().is_some_and(|tag| tag.contains("data-alert=")))
        .map(|p| {
            let attr = |name: &str| {
                let at = p.find(&format!("{name}=\"")).map(|i| i + name.len() + 2).unwrap_or(0);
                p[at..].split('"').next().unwrap_or("").to_string()
            };
            (attr("data-alert"), attr("data-level"), attr("data-percent"))
        })
        .collect()
}

async fn the_dashboard_warns_at_80_and_100_percent_of_a_threshold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let c = person(&app.db.store).await;
    let today = app.db.today().await;
    let mut client = app.signed_in().await;
    assert_eq!(alerts(&client.get("/admin").await.body), []);

    // 30 000,00 € of services received this year: 80 % of the 37 500 € franchise.
    let pay_services = |cents: i64, key: &'static str| {
        let store = app.db.store.clone();
        async move {
            let d = draft(
                &store,
                c.id,
                vec![line("Mission de conseil", Nature::Services, Decimal::ONE, eur(cents))],
            )
            .await;
            let inv = issue(&store, d.id, today).await;
            pay(
                &store,
                invoice_payment(&inv, "manual", PaymentMethod::Transfer, inv.total, key),
                today,
            )
            .await;
        }
    };
    pay_services(3_000_000, "urssaf-80").await;
    let page = client.get("/admin").await;
    assert_eq!(
        alerts(&page.body),
        [("vat_services".into(), "warning".into(), "80".into())]
    );
    let text = page.text().replace('\u{a0}', " ");
    assert!(
        text.contains("Franchise de TVA (prestations de services) : 30 000,00 € encaissés"),
        "{text}"
    );
    assert!(text.contains(&format!("la TVA sera due à partir du 1er janvier {}", today.year() + 1)));

    // 7 500,00 € more: 37 500 €, 100 % of the threshold.
    pay_services(750_000, "urssaf-100").await;
    let page = client.get("/admin").await;
    assert_eq!(
        alerts(&page.body),
        [("vat_services".into(), "reached".into(), "100".into())]
    );
    assert!(page.text().contains("Seuil atteint"));
    // The URSSAF page shows the same alerts.
    let urssaf = client.get("/admin/urssaf").await;
    assert_eq!(
        alerts(&urssaf.body),
        [("vat_services".into(), "reached".into(), "100".into())]
    );
}
