//! Bank statements through the API, on both backends: a camt.053 posted to
//! `POST /api/bank/statements` is kept in the data directory, imported by its
//! job and reported by `GET /api/imports/{id}`; the credit naming an invoice
//! pays it, the other waits for the operator; the same file sent again
//! imports nothing; an `Idempotency-Key` replays the first answer; empty,
//! oversized, badly named or unauthenticated uploads are refused and register
//! nothing. Every answer is checked against the OpenAPI document.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::{count, date, issued, person, save_settings, IBAN};
use crate::support::camt::{document, tx, Entry, Statement, Version};
use crate::support::web::{Answer, TestApp};
use crate::support::worker::drain_app_ok;
use crate::support::Backend;
use crate::web::api_client::ApiClient;
use crate::web::imports::kept_files;
use comptoir::billing::import::sha256_hex;
use comptoir::billing::invoices::{self, InvoiceStatus};

on_both_backends!(
    a_statement_sent_to_the_api_pays_its_invoice_and_is_reported_once,
    bad_statement_uploads_are_refused_and_register_nothing,
);

const STATEMENTS: &str = "/api/bank/statements";

/// The API client of the `api_*` tests (every answer checked against the
/// OpenAPI document), sending statements and reading reports.
struct Api(ApiClient);

impl Api {
    /// Without a key, the requests carry an empty one (refused).
    fn new(app: &TestApp, key: Option<&str>) -> Api {
        Api(ApiClient::new(app, key.unwrap_or("")))
    }

    /// `POST /api/bank/statements{query}` with `bytes` as the body.
    async fn post(&mut self, query: &str, content_type: &str, bytes: Vec<u8>, key: Option<&str>) -> Answer {
        self.0
            .post_bytes(&format!("{STATEMENTS}{query}"), content_type, bytes, key)
            .await
    }

    async fn report(&mut self, id: i64) -> Answer {
        self.0.get(&format!("/api/imports/{id}")).await
    }
}

/// A 202's import id, after checking the rest of the answer.
fn accepted(answer: &Answer) -> i64 {
    assert_eq!(answer.status, 202, "{}", answer.body);
    let body = answer.json();
    let id = body["import_id"].as_i64().expect("import_id");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["report_url"], format!("/api/imports/{id}"));
    assert!(body["job_id"].as_i64().is_some(), "{body}");
    id
}

fn entry(reference: &str, booking: chrono::NaiveDate, txs: Vec<crate::support::camt::Tx>) -> Entry {
    Entry {
        reference: reference.into(),
        booking,
        value: booking,
        credit: true,
        reversal: false,
        amount_minor: None,
        txs,
        additional: None,
    }
}

async fn a_statement_sent_to_the_api_pays_its_invoice_and_is_reported_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let jean = person(store).await;
    let invoice = issued(store, jean.id, 12_345, date(2026, 1, 15)).await;
    let reference = invoice.reference.clone().expect("issued");
    // « F2026-0001 » as a customer writes it: « FACT 2026 0001 ».
    let (series, number) = reference.rsplit_once('-').expect("a reference");
    let spelled = format!("FACT {} {number}", &series[series.len() - 4..]);
    let xml = document(
        Version::V02,
        &[Statement {
            id: "2026-02".into(),
            iban: IBAN.into(),
            from: date(2026, 2, 1),
            to: date(2026, 2, 28),
            entries: vec![
                entry(
                    "BQ260205001",
                    date(2026, 2, 5),
                    vec![tx(12_345, "MARTIN JEAN", &format!("VIR SEPA {spelled}"))],
                ),
                entry(
                    "BQ260209001",
                    date(2026, 2, 9),
                    vec![tx(6_000, "GARAGE LEROY", "REMBOURSEMENT TROP PERCU")],
                ),
            ],
        }],
    )
    .into_bytes();
    let key = app.api_key().await;
    let mut api = Api::new(&app, Some(&key));

    let sent = api
        .post("?filename=releve.xml", "application/xml", xml.clone(), None)
        .await;
    let first = accepted(&sent);
    let sha = sha256_hex(&xml);
    assert_eq!(kept_files(&app), [format!("{sha}.csv")], "kept by content, no leftover");
    let kept = std::fs::read(app.ctx.config.data_dir.join("imports").join(format!("{sha}.csv"))).unwrap();
    assert_eq!(kept, xml);
    let audited = app.audited("import.upload").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].target, format!("import:{first}"));

    let pending = api.report(first).await.json();
    assert_eq!(pending["status"], "pending", "{pending}");
    assert_eq!(pending["finished_at"], Value::Null);

    drain_app_ok(store, &app.ctx).await;
    let answer = api.report(first).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let report = answer.json();
    assert_eq!(report["status"], "completed", "{report:#}");
    assert_eq!(report["kind"], "payments");
    assert_eq!(report["filename"], "releve.xml");
    assert_eq!(
        (
            &report["total"],
            &report["imported"],
            &report["skipped"],
            &report["bad_rows"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(0)),
        "{report:#}"
    );
    assert_eq!(report["failure"], Value::Null);
    assert!(report["finished_at"].is_string(), "{report:#}");
    let waiting = report["skips"][0]["message"].as_str().unwrap();
    assert!(waiting.starts_with("en attente de rapprochement : "), "{report:#}");
    let paid = invoices::get(store, invoice.id).await.unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid, "{paid:?}");

    // The same bytes again, without a name nor an XML content type: nothing twice.
    let again = accepted(&api.post("", "application/octet-stream", xml.clone(), None).await);
    assert_ne!(again, first);
    drain_app_ok(store, &app.ctx).await;
    let report = api.report(again).await.json();
    assert_eq!(report["status"], "completed", "{report:#}");
    assert_eq!(report["filename"], "releve-bancaire");
    assert_eq!(
        (&report["imported"], &report["skipped"]),
        (&json!(0), &json!(2)),
        "{report:#}"
    );
    let skips: Vec<&str> = report["skips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["message"].as_str().unwrap())
        .collect();
    let already = format!("déjà importée (import n° {first})");
    assert_eq!(skips, [already.as_str(), already.as_str()], "{report:#}");
    assert_eq!(kept_files(&app), [format!("{sha}.csv")]);

    // An Idempotency-Key: the retry gets the first answer, nothing new is registered.
    let keyed = api
        .post("?filename=releve.xml", "text/csv", xml.clone(), Some("stmt-1"))
        .await;
    let third = accepted(&keyed);
    let replayed = api
        .post("?filename=releve.xml", "text/csv", xml.clone(), Some("stmt-1"))
        .await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(accepted(&replayed), third);
    assert_eq!(count(&app.db, "imports").await, 3);
    drain_app_ok(store, &app.ctx).await;
    assert_eq!(
        invoices::get(store, invoice.id).await.unwrap().status,
        InvoiceStatus::Paid
    );
}

async fn bad_statement_uploads_are_refused_and_register_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = Api::new(&app, Some(&key));
    let statement = b"Date;Libell\xc3\xa9;Montant\r\n05/02/2026;VIR SEPA FACT 2026 0001;123,45\r\n".to_vec();

    let empty = api
        .post("?filename=releve.xml", "application/xml", Vec::new(), None)
        .await;
    assert_eq!(empty.status, 422, "{}", empty.body);
    let error = &empty.json()["error"];
    assert_eq!(error["code"], "invalid");
    assert_eq!(error["fields"][0]["field"], "body", "{error}");

    let named = api
        .post("?filename=dossier%2F", "text/csv", statement.clone(), None)
        .await;
    assert_eq!(named.status, 422, "{}", named.body);
    assert_eq!(
        named.json()["error"]["fields"][0]["field"],
        "filename",
        "{}",
        named.body
    );

    // 1 KiB over the 20 MiB limit.
    let huge = vec![b'x'; 20 * 1024 * 1024 + 1024];
    let too_large = api.post("", "application/octet-stream", huge, None).await;
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(too_large.json()["error"]["code"], "payload_too_large");

    let mut anonymous = Api::new(&app, None);
    let refused = anonymous.post("", "text/csv", statement.clone(), None).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let refused = anonymous.report(1).await;
    assert_eq!(refused.status, 401, "{}", refused.body);

    let unknown = api.report(999_999).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.json()["error"]["code"], "not_found");

    assert_eq!(count(&app.db, "imports").await, 0);
    assert_eq!(count(&app.db, "comptoir_jobs").await, 0);
    assert!(app.audited("import.upload").await.is_empty());
    assert_eq!(kept_files(&app), Vec::<String>::new());
}
