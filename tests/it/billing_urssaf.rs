//! URSSAF declarations on a known data set: goods and services across two
//! quarters of 2026, a refund, a receipt of the year before and one of the
//! next quarter; the figures equal a hand computation written here, through
//! the domain and the command line. The reminder e-mail goes to a real SMTP
//! server, once per period.

use std::time::Duration;

use chrono::NaiveDate;
use comptoir::billing::catalog::Nature;
use comptoir::billing::invoices::Invoice;
use comptoir::billing::payments::{Payment, PaymentMethod};
use comptoir::billing::refunds;
use comptoir::billing::settings::{self, DeclarationFrequency, ServicesCategory};
use comptoir::billing::urssaf::{self, Category, Declaration, DeclarationPeriod, DeclarationStatus};
use comptoir::jobs::{enqueue, EnqueueOptions, JobState};
use comptoir::mail::{MailConfig, Mailer};
use comptoir::store::Store;
use rust_decimal::Decimal;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::smtp::SmtpServer;
use crate::support::worker::{all_jobs, app_context, drain_app};
use crate::support::{Backend, TestDb};

on_both_backends!(
    two_quarters_of_goods_and_services_with_a_refund_equal_the_hand_computation,
    the_command_line_prints_the_same_figures,
    the_reminder_is_emailed_once_per_period,
);

/// Settings with services declared as BNC, quarterly.
pub async fn bnc_settings(store: &Store) {
    let mut s = valid_settings();
    s.services_category = ServicesCategory::Bnc;
    s.declaration_frequency = DeclarationFrequency::Quarterly;
    let mut tx = store.begin().await.unwrap();
    settings::save(&mut tx, s).await.expect("valid settings");
    tx.commit().await.unwrap();
}

async fn invoice(store: &Store, customer_id: i64, lines: &[(Nature, i64, i64)], on: NaiveDate) -> Invoice {
    let lines = lines
        .iter()
        .map(|(nature, quantity, unit)| {
            let what = if *nature == Nature::Goods {
                "Bocal de miel"
            } else {
                "Séance de conseil"
            };
            line(what, *nature, Decimal::from(*quantity), eur(*unit))
        })
        .collect();
    let d = draft(store, customer_id, lines).await;
    issue(store, d.id, on).await
}

async fn paid(store: &Store, inv: &Invoice, method: PaymentMethod, on: NaiveDate) -> Payment {
    let key = format!("urssaf-{}-{on}", inv.id);
    pay(store, invoice_payment(inv, "manual", method, inv.total, &key), on).await
}

/// The data set (every amount in cents):
///
/// | received   | what                                   | goods   | services |
/// |------------|----------------------------------------|---------|----------|
/// | 2025-12-31 | services (the year before)             |         |   5 000  |
/// | 2026-02-10 | goods 3 × 12,34 + services 62,99, card |  3 702  |   6 299  |
/// | 2026-03-31 | services 1 200,50, transfer            |         | 120 050  |
/// | 2026-04-01 | goods 250,50, cash                     | 25 050  |          |
/// | 2026-05-15 | services 800,00, transfer              |         |  80 000  |
/// | 2026-06-20 | refund of 200,50 of the 1 200,50       |         | −20 050  |
/// | 2026-07-01 | goods 10,00 (the next quarter)         |  1 000  |          |
pub async fn two_quarters(store: &Store) {
    bnc_settings(store).await;
    let c = person(store).await;
    let s = Nature::Services;
    let g = Nature::Goods;
    let before = invoice(store, c.id, &[(s, 1, 5_000)], date(2025, 12, 1)).await;
    paid(store, &before, PaymentMethod::Transfer, date(2025, 12, 31)).await;
    let a = invoice(store, c.id, &[(g, 3, 1_234), (s, 1, 6_299)], date(2026, 2, 1)).await;
    paid(store, &a, PaymentMethod::Card, date(2026, 2, 10)).await;
    let b = invoice(store, c.id, &[(s, 1, 120_050)], date(2026, 3, 2)).await;
    let pb = paid(store, &b, PaymentMethod::Transfer, date(2026, 3, 31)).await;
    let cc = invoice(store, c.id, &[(g, 1, 25_050)], date(2026, 4, 1)).await;
    paid(store, &cc, PaymentMethod::Cash, date(2026, 4, 1)).await;
    let d = invoice(store, c.id, &[(s, 1, 80_000)], date(2026, 5, 2)).await;
    paid(store, &d, PaymentMethod::Transfer, date(2026, 5, 15)).await;
    let mut tx = store.begin().await.unwrap();
    refunds::refund_now(
        &mut tx,
        pb.id,
        eur(20_050),
        "Séance annulée",
        "urssaf-refund",
        date(2026, 6, 20),
    )
    .await
    .expect("refund");
    tx.commit().await.unwrap();
    let e = invoice(store, c.id, &[(g, 1, 1_000)], date(2026, 7, 1)).await;
    paid(store, &e, PaymentMethod::Card, date(2026, 7, 1)).await;
}

/// A declaration's line: (category, received cents, declared euros, contributions cents).
pub type Line = (Category, i64, i64, i64);
/// The two lines of a period, its declared euros and its contributions in cents.
pub type Expected = ([Line; 2], i64, i64);

/// Each line of `d`, then the totals.
pub fn figures(d: &Declaration) -> (Vec<Line>, i64, i64) {
    let lines = d
        .lines
        .iter()
        .map(|l| (l.category, l.received.minor, l.declared_euros, l.contributions.minor))
        .collect();
    (lines, d.total_declared_euros, d.total_contributions.minor)
}

/// The hand computation of Q1 2026 (BNC rate 2026: 25,6 %; goods: 12,3 %):
/// goods 37,02 € → 37 €, × 12,3 % = 4,551 → 4,55 €;
/// services 62,99 + 1 200,50 = 1 263,49 € → 1 263 €, × 25,6 % = 323,328 → 323,33 €;
/// total 1 300 €, contributions 327,88 €.
pub const Q1: Expected = (
    [
        (Category::SalesGoods, 3_702, 37, 455),
        (Category::ServicesBnc, 126_349, 1_263, 32_333),
    ],
    1_300,
    32_788,
);

/// Q2 2026: goods 250,50 € → 251 € (50 cents up), × 12,3 % = 30,873 → 30,87 €;
/// services 800,00 − 200,50 = 599,50 € → 600 €, × 25,6 % = 153,60 €;
/// total 851 €, contributions 184,47 €.
pub const Q2: Expected = (
    [
        (Category::SalesGoods, 25_050, 251, 3_087),
        (Category::ServicesBnc, 59_950, 600, 15_360),
    ],
    851,
    18_447,
);

async fn two_quarters_of_goods_and_services_with_a_refund_equal_the_hand_computation(backend: Backend) {
    let db = TestDb::new(backend).await;
    two_quarters(&db.store).await;
    let today = date(2026, 12, 7);
    let q = |s: &str| DeclarationPeriod::parse(s).unwrap();
    let bnc = ServicesCategory::Bnc;

    let q1 = urssaf::declaration(&db.store, q("2026-Q1"), bnc, today).await.unwrap();
    assert_eq!(figures(&q1), (Q1.0.to_vec(), Q1.1, Q1.2));
    assert_eq!(
        (q1.from, q1.to, q1.deadline),
        (date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 30))
    );
    assert_eq!(q1.status, DeclarationStatus::Overdue);
    assert_eq!((q1.rates_year, q1.warnings.len()), (2026, 0));

    let q2 = urssaf::declaration(&db.store, q("2026-Q2"), bnc, today).await.unwrap();
    assert_eq!(figures(&q2), (Q2.0.to_vec(), Q2.1, Q2.2));
    assert_eq!(q2.deadline, date(2026, 7, 31));
    // On 15 July, Q2 is to declare and Q3 in progress.
    let on_july_15 = urssaf::declaration(&db.store, q("2026-Q2"), bnc, date(2026, 7, 15))
        .await
        .unwrap();
    assert_eq!(on_july_15.status, DeclarationStatus::ToDeclare);
    let q3 = urssaf::declaration(&db.store, q("2026-Q3"), bnc, date(2026, 7, 15))
        .await
        .unwrap();
    assert_eq!(q3.status, DeclarationStatus::InProgress);
    // Q3 holds the 10,00 € of goods of 1 July: 10 € × 12,3 % = 1,23 €.
    assert_eq!(figures(&q3).1, 10);
    assert_eq!(figures(&q3).2, 123);

    // The year before, at 2025's BNC rate (24,6 %): 50 € → 12,30 €.
    let q4_2025 = urssaf::declaration(&db.store, q("2025-Q4"), bnc, today).await.unwrap();
    assert_eq!(q4_2025.rates_year, 2025);
    assert_eq!(
        figures(&q4_2025),
        (
            vec![
                (Category::SalesGoods, 0, 0, 0),
                (Category::ServicesBnc, 5_000, 50, 1_230)
            ],
            50,
            1_230
        )
    );

    // Monthly: March alone, 1 200,50 € of services → 1 201 €, × 25,6 % = 307,456 → 307,46 €.
    let march = urssaf::declaration(&db.store, q("2026-03"), bnc, today).await.unwrap();
    assert_eq!(
        figures(&march),
        (
            vec![
                (Category::SalesGoods, 0, 0, 0),
                (Category::ServicesBnc, 120_050, 1_201, 30_746)
            ],
            1_201,
            30_746
        )
    );
    assert_eq!(march.deadline, date(2026, 4, 30));

    // Services as BIC (21,2 %): Q2 600 € → 127,20 €.
    let bic = urssaf::declaration(&db.store, q("2026-Q2"), ServicesCategory::Bic, today)
        .await
        .unwrap();
    assert_eq!(bic.lines[1].category, Category::ServicesBic);
    assert_eq!(
        (bic.lines[1].declared_euros, bic.lines[1].contributions.minor),
        (600, 12_720)
    );

    // The year at the configured frequency (quarterly), periods begun by 15 July 2026.
    let year: Vec<String> = urssaf::year(&db.store, 2026, date(2026, 7, 15))
        .await
        .unwrap()
        .iter()
        .map(|d| format!("{} {}", d.period, d.status.as_str()))
        .collect();
    assert_eq!(year, ["2026-Q1 overdue", "2026-Q2 to_declare", "2026-Q3 in_progress"]);

    // A period that has not begun is refused, naming the field.
    let err = urssaf::declaration(&db.store, q("2027-Q1"), bnc, today)
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("Période :"), "{err}");
}

async fn the_command_line_prints_the_same_figures(backend: Backend) {
    let db = TestDb::new(backend).await;
    two_quarters(&db.store).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("COMPTOIR_DATA_DIR", db.dir.path().join("cli"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("run comptoir-worker");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, json, err) = run(&["billing", "urssaf", "2026-Q2", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let lines: Vec<(String, i64, i64, i64)> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["category"].as_str().unwrap().to_string(),
                l["received"]["minor"].as_i64().unwrap(),
                l["declared_euros"].as_i64().unwrap(),
                l["contributions"]["minor"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64, i64, i64)> =
        Q2.0.iter()
            .map(|(c, r, d, k)| (c.as_str().to_string(), *r, *d, *k))
            .collect();
    assert_eq!(lines, expected);
    assert_eq!(
        (
            v["total_declared_euros"].as_i64(),
            v["total_contributions"]["minor"].as_i64()
        ),
        (Some(Q2.1), Some(Q2.2))
    );
    assert_eq!(v["deadline"], "2026-07-31");

    // In French, for people: Q1's figures and its deadline.
    let (code, text, err) = run(&["billing", "urssaf", "2026-Q1"]);
    assert_eq!(code, Some(0), "{err}");
    let text = text.replace('\u{a0}', " ");
    for needle in [
        "Déclaration URSSAF — 1er trimestre 2026",
        "Échéance : 30/04/2026",
        "Prestations de services BNC",
        "1 263,00 €",
        "323,33 €",
        "cotisations estimées : 327,88 €",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // A bad period: refused, exit 1, naming it.
    let (code, _, err) = run(&["billing", "urssaf", "2026-Q5"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("2026-Q5"), "{err}");
}

fn smtp_mailer(dir: &std::path::Path, port: u16) -> Mailer {
    let port = port.to_string();
    let config = MailConfig::from_vars(dir, |name| match name {
        "COMPTOIR_SMTP_HOST" => Some("127.0.0.1".to_string()),
        "COMPTOIR_SMTP_PORT" => Some(port.clone()),
        "COMPTOIR_SMTP_TLS" => Some("none".to_string()),
        _ => None,
    })
    .expect("valid mail settings")
    .with_timeout(Duration::from_secs(10));
    Mailer::new(config).expect("mailer")
}

async fn the_reminder_is_emailed_once_per_period(backend: Backend) {
    use comptoir::billing::jobs::urssaf::{schedule, SendUrssafReminder};
    let db = TestDb::new(backend).await;
    bnc_settings(&db.store).await;
    let c = person(&db.store).await;
    // Q4 2026 (deadline 31 January 2027): 1 000,00 € of services and 99,49 € of goods.
    let i = invoice(
        &db.store,
        c.id,
        &[(Nature::Services, 1, 100_000), (Nature::Goods, 1, 9_949)],
        date(2026, 10, 2),
    )
    .await;
    paid(&db.store, &i, PaymentMethod::Transfer, date(2026, 10, 5)).await;

    let server = SmtpServer::start().await;
    let mut ctx = app_context(&db, |_| None);
    ctx.mailer = smtp_mailer(db.dir.path(), server.port);

    // Eight days before the deadline: not yet.
    assert_eq!(schedule(&db.store, date(2027, 1, 23)).await.unwrap(), None);
    // Seven days before: one job.
    let job = schedule(&db.store, date(2027, 1, 24))
        .await
        .unwrap()
        .expect("a reminder job");
    // The next morning, the job still there: not twice.
    assert_eq!(schedule(&db.store, date(2027, 1, 25)).await.unwrap(), None);
    drain_app(&db.store, &ctx).await;
    let row = all_jobs(&db.store).await.into_iter().find(|j| j.id == job).unwrap();
    assert_eq!(row.state, JobState::Completed, "{:?}", row.errors);

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.header("To").as_deref(), Some("marie@example.fr"));
    let subject = m.decoded_header("Subject").unwrap();
    assert_eq!(
        subject,
        "Déclaration URSSAF du 4e trimestre 2026 : échéance le 31/01/2027"
    );
    let text = m
        .leaves()
        .iter()
        .find(|p| p.media_type() == "text/plain")
        .expect("a text part")
        .text()
        .replace('\u{a0}', " ");
    // Goods 99,49 € → 99 €, × 12,3 % = 12,177 → 12,18 €; services 1 000 € × 25,6 % = 256,00 €.
    for needle in [
        "au plus tard le 31/01/2027 (dans 7 jours)",
        "Ventes de marchandises (BIC) : 99,00 €",
        "cotisations estimées 12,18 €",
        "Prestations de services BNC : 1 000,00 €",
        "cotisations estimées 256,00 €",
        "Cotisations estimées : 268,18 €.",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }

    // Once sent, the next mornings enqueue nothing…
    assert_eq!(schedule(&db.store, date(2027, 1, 26)).await.unwrap(), None);
    // …and a job enqueued again (its key freed, say, by pruning) sends nothing again.
    let mut tx = db.store.begin().await.unwrap();
    let again = SendUrssafReminder {
        period: "2026-Q4".into(),
        as_of: date(2027, 1, 27),
    };
    enqueue(&mut tx, &again, EnqueueOptions::new()).await.unwrap();
    tx.commit().await.unwrap();
    drain_app(&db.store, &ctx).await;
    assert_eq!(server.messages().len(), 1, "the reminder of a period goes once");
    let jobs = all_jobs(&db.store).await;
    assert!(
        jobs.iter()
            .filter(|j| j.kind == "billing.send_urssaf_reminder")
            .all(|j| j.state == JobState::Completed),
        "{jobs:?}"
    );
}
