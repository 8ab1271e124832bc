//! The dashboard on known data: jobs waiting and running, attempts completed
//! and failed in the last hours (the chart), the oldest waiting job, workers
//! alive, this month's receipts; and its live JSON.

use std::time::Duration;

use chrono::{Datelike, NaiveDate, TimeDelta};
use comptoir::billing::catalog::Nature;
use comptoir::billing::payments::PaymentMethod;
use comptoir::jobs::{enqueue_now, EnqueueOptions, Noop, WorkerConfig};
use comptoir::store::types::WorkerInfo;
use comptoir::store::Store;
use rust_decimal::Decimal;

use super::jobs::unescape;
use crate::on_both_backends;
use crate::support::billing::{
    draft, eur, invoice_payment, issue, line, pay_in_full, person, raw_execute, save_settings,
};
use crate::support::web::TestApp;
use crate::support::worker::drain_noops;
use crate::support::Backend;

/// An invoice of 37,02 € of goods and 62,99 € of services, issued and paid on `on`.
async fn paid_invoice(store: &Store, customer_id: i64, on: NaiveDate, key: &str) {
    let inv = draft(
        store,
        customer_id,
        vec![
            line("Bocal de miel", Nature::Goods, Decimal::from(3), eur(1_234)),
            line("Installation", Nature::Services, Decimal::ONE, eur(6_299)),
        ],
    )
    .await;
    let inv = issue(store, inv.id, on).await;
    pay_in_full(store, &inv, on, "simulated", PaymentMethod::Card, key).await;
}

fn worker(id: &str) -> WorkerInfo {
    let now = chrono::Utc::now();
    WorkerInfo {
        id: id.into(),
        hostname: "test-host".into(),
        pid: 4242,
        queues: "default".into(),
        mode: "run".into(),
        started_at: now,
        last_seen_at: now,
    }
}

async fn the_dashboard_counts_what_happened(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    // 3 jobs complete, 2 fail for good (one error each), in this hour.
    for _ in 0..3 {
        enqueue_now(store, &Noop::default(), EnqueueOptions::new())
            .await
            .unwrap();
    }
    let mut failed = Vec::new();
    for _ in 0..2 {
        let fail = Noop {
            fail: Some("le serveur SMTP a refusé".into()),
            ..Noop::default()
        };
        failed.push(
            enqueue_now(store, &fail, EnqueueOptions::new().max_attempts(1))
                .await
                .unwrap()
                .id(),
        );
    }
    let report = drain_noops(
        store,
        WorkerConfig {
            maintenance: false,
            ..WorkerConfig::default()
        },
    )
    .await;
    assert_eq!((report.completed, report.discarded), (3, 2), "{report:?}");
    // Then: one job due and waiting, one scheduled for later.
    let due = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    enqueue_now(
        store,
        &Noop::default(),
        EnqueueOptions::new().run_in(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    // A live worker and one silent for ten minutes.
    store.register_worker(&worker("alive-1")).await.unwrap();
    store.register_worker(&worker("silent-1")).await.unwrap();
    let ten_minutes_ago = match backend {
        Backend::Postgres => "now() - interval '10 minutes'".to_string(),
        Backend::Sqlite => "CAST(unixepoch('subsec') * 1000 AS INTEGER) - 600000".to_string(),
    };
    let sql = format!("UPDATE comptoir_workers SET last_seen_at = {ten_minutes_ago} WHERE id = 'silent-1'");
    assert_eq!(raw_execute(&app.db, &sql).await, Ok(1));
    // Receipts: one invoice paid this month, one last month (not counted).
    let today = store.now().await.unwrap().date_naive();
    let first = today.with_day(1).unwrap();
    save_settings(store).await;
    let customer = person(store).await;
    paid_invoice(store, customer.id, first - TimeDelta::days(1), "last-month").await;
    paid_invoice(store, customer.id, today, "this-month").await;

    let mut client = app.signed_in().await;
    let page = client.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = unescape(&page.body);
    let card = |id: &str| {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("card {id}"));
        let start = at + html[at..].find('>').unwrap() + 1;
        html[start..start + html[start..].find('<').unwrap()].to_string()
    };
    assert_eq!(card("card-ready"), "1", "due now");
    assert_eq!(card("card-later"), "1", "scheduled for later");
    assert_eq!(card("card-running"), "0");
    assert_eq!(card("card-failed"), "2");
    assert_eq!(card("card-workers"), "1");
    assert!(
        card("card-oldest").starts_with(&format!("#{due} · ")),
        "{}",
        card("card-oldest")
    );
    assert!(html.contains(&format!("href=\"/admin/jobs/{due}\"")));
    // This month: 37,02 € of goods, 62,99 € of services, 100,01 € in all.
    let receipts = &html[html.find("id=\"card-receipts\"").unwrap()..];
    let receipts = &receipts[..receipts.find("<div class=\"card\"").unwrap()];
    for amount in ["100,01\u{a0}€", "37,02\u{a0}€", "62,99\u{a0}€"] {
        assert!(receipts.contains(amount), "{amount} in {receipts}");
    }
    assert!(!receipts.contains("200,02"), "last month is not this month: {receipts}");
    // The chart: 3 completed and 2 failed over the last 24 hours.
    assert!(
        html.contains("24 dernières heures : 3 terminée(s), 2 échec(s)"),
        "{}",
        &html[html.find("attempts-chart").unwrap()..][..400]
    );
    let bars = html.matches("<g data-hour=").count();
    assert_eq!(bars, 24);
    let completed: i64 = html
        .match_indices("data-completed=\"")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            rest[..rest.find('"').unwrap()].parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(completed, 3);
    // Latest failures, with their error; the queue table.
    let failures = &html[html.find("id=\"latest-failures\"").unwrap()..];
    for id in &failed {
        assert!(failures.contains(&format!("href=\"/admin/jobs/{id}\"")), "#{id} listed");
    }
    assert!(failures.contains("le serveur SMTP a refusé"));
    assert!(html.contains("data-field=\"q.default.completed\">3<"));
    assert!(html.contains("data-field=\"q.default.discarded\">2<"));
    assert!(html.contains(">silencieux<") && html.contains(">en vie<"));
    assert!(
        !html.contains("/ silent") && !html.contains("/ alive"),
        "no English twin"
    );

    // The live counts.
    let live = client.get("/admin/dashboard.json").await;
    assert_eq!(live.status, 200);
    let live = live.json();
    assert_eq!((live["ready"].as_i64(), live["later"].as_i64()), (Some(1), Some(1)));
    assert_eq!(live["running"], 0);
    assert_eq!(live["failed_24h"], 2);
    assert_eq!(live["workers_alive"], 1);
    assert_eq!(live["q.default.completed"], 3);
    assert_eq!(live["q.default.scheduled"], 1);
    assert_eq!(live["done"], false);
    assert!(live["oldest_waiting"]
        .as_str()
        .unwrap()
        .starts_with(&format!("#{due} · ")));
}

async fn an_empty_dashboard_still_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let page = client.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = unescape(&page.body);
    assert!(html.contains("0 terminée(s), 0 échec(s)"));
    assert!(html.contains("Aucun échec en cours") && html.contains("Aucun worker"));
    assert!(html.contains("0,00\u{a0}€"), "no receipts yet");
    // A new user is told where to start, in order.
    let first_run = &html[html.find("id=\"first-run\"").expect("the first-run checklist")..];
    let settings = first_run.find("href=\"/admin/settings\"").expect("the settings first");
    let customer = first_run
        .find("href=\"/admin/customers/new\"")
        .expect("then a customer");
    let invoice = first_run.find("href=\"/admin/invoices/new\"").expect("then an invoice");
    assert!(settings < customer && customer < invoice);
    assert_eq!(client.get("/admin/dashboard.json").await.json()["oldest_waiting"], "—");
}

/// The business part: what customers owe and since when, receipts of the
/// month and quarter, the next URSSAF declaration; the checklist gone once
/// its three steps are done.
async fn the_dashboard_says_what_is_owed_and_late(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let customer = person(store).await;
    let today = app.today().await;
    // Terms are 30 days: issued 45 days ago, 15 days late; 31 days ago, 1 day
    // late; today, not due. The first is half paid.
    let on = |days: i64| today - TimeDelta::days(days);
    let late = issued(store, customer.id, 20_000, on(45)).await;
    pay(store, &late, 5_000, on(20), "half").await;
    let just_late = issued(store, customer.id, 3_000, on(31)).await;
    issued(store, customer.id, 1_250, today).await;

    let mut client = app.signed_in().await;
    let page = client.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = unescape(&page.body);
    assert!(
        !html.contains("id=\"first-run\""),
        "settings, a customer, an invoice: all done"
    );
    let card = |id: &str| {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("card {id}"));
        let rest = &html[at..];
        rest[..rest.find("<div class=\"card\"").unwrap_or(rest.len())].to_string()
    };
    let unpaid = card("card-unpaid");
    assert!(
        unpaid.contains("192,50\u{a0}€") && unpaid.contains("3 factures non réglées"),
        "{unpaid}"
    );
    let overdue = card("card-overdue");
    assert!(
        overdue.contains("180,00\u{a0}€") && overdue.contains("2 factures échues"),
        "{overdue}"
    );
    let listed = &html[html.find("id=\"overdue-invoices\"").unwrap()..];
    let first = listed.find(&format!("href=\"/admin/invoices/{}\"", late.id)).unwrap();
    let second = listed
        .find(&format!("href=\"/admin/invoices/{}\"", just_late.id))
        .unwrap();
    assert!(first < second, "the oldest due first");
    assert!(listed.contains("data-days-late=\"15\"") && listed.contains("15 jours"));
    assert!(listed.contains("data-days-late=\"1\"") && listed.contains(">1 jour<"));
    assert!(listed.contains("150,00\u{a0}€"), "what remains owed");
    // 50 € received 20 days ago: this month's, or last month's, and this quarter's either way.
    let quarter = card("card-quarter");
    let quarter_start = NaiveDate::from_ymd_opt(today.year(), (today.month() - 1) / 3 * 3 + 1, 1).unwrap();
    if on(20) >= quarter_start {
        assert!(quarter.contains("50,00\u{a0}€"), "{quarter}");
    }
    let urssaf = card("card-urssaf");
    assert!(
        urssaf.contains("à déclarer") && urssaf.contains("de cotisations"),
        "{urssaf}"
    );
}

/// Issued on `on` for `minor` cents of services.
async fn issued(store: &Store, customer_id: i64, minor: i64, on: NaiveDate) -> comptoir::billing::invoices::Invoice {
    crate::support::billing::issued(store, customer_id, minor, on).await
}

/// `minor` cents received by transfer on `on`.
async fn pay(store: &Store, invoice: &comptoir::billing::invoices::Invoice, minor: i64, on: NaiveDate, key: &str) {
    let payment = invoice_payment(invoice, "manual", PaymentMethod::Transfer, eur(minor), key);
    crate::support::billing::pay(store, payment, on).await;
}

/// An operator who chose English reads the whole dashboard in English:
/// cards, plurals, the overdue list, the queue's health and its chart.
async fn an_english_operator_reads_the_dashboard_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut client = app.signed_in_english().await;
    // Before anything: the checklist, in English.
    let empty = unescape(&client.get("/admin").await.body);
    assert!(empty.contains("Getting started") && empty.contains("Fill in your seller identity"));
    assert!(!empty.contains("Pour commencer") && !empty.contains("Renseignez"));

    save_settings(store).await;
    let customer = person(store).await;
    let today = app.today().await;
    let on = |days: i64| today - TimeDelta::days(days);
    issued(store, customer.id, 20_000, on(45)).await;
    issued(store, customer.id, 3_000, on(31)).await;
    issued(store, customer.id, 1_250, today).await;
    let failing = Noop {
        fail: Some("le serveur SMTP a refusé".into()),
        ..Noop::default()
    };
    enqueue_now(store, &failing, EnqueueOptions::new().max_attempts(1))
        .await
        .unwrap();
    drain_noops(
        store,
        WorkerConfig {
            maintenance: false,
            ..WorkerConfig::default()
        },
    )
    .await;

    let page = client.get("/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = unescape(&page.body);
    assert!(html.contains("<html lang=\"en\">"));
    let months = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = months[today.month0() as usize];
    for words in [
        "Dashboard",
        "Your business",
        "To collect",
        "3 unpaid invoices",
        "2 overdue invoices",
        "Overdue invoices",
        ">15 days<",
        ">1 day<",
        &format!("Received in {month} {}", today.year()),
        &format!("Received in Q{} {}", today.month0() / 3 + 1, today.year()),
        "Next URSSAF return",
        "to declare",
        "Last backup",
        "Job queue health",
        "Ready to run",
        "Attempts per hour, last 24 hours: 0 completed, 1 failed",
        "Jobs by queue and state",
        ">discarded<",
        "Latest failures",
        "No worker",
    ] {
        assert!(html.contains(words), "{words:?} on the English dashboard");
    }
    for french in [
        "Tableau de bord",
        "À encaisser",
        "non réglée",
        "échue",
        "Factures en retard",
        "jours",
        "Encaissé",
        "trimestre",
        "Prochaine déclaration",
        "à déclarer",
        "Santé de la file",
        "terminée",
        "échec(s)",
        "écartée",
        "Derniers échecs",
        "Aucun worker",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English dashboard");
    }
    // The error is the program's own words, shown as they are.
    assert!(html.contains("le serveur SMTP a refusé"));
}

on_both_backends!(
    the_dashboard_counts_what_happened,
    an_empty_dashboard_still_answers,
    the_dashboard_says_what_is_owed_and_late,
    an_english_operator_reads_the_dashboard_in_english
);
