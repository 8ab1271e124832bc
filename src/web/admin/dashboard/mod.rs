//! `/admin`: the business at a glance, then the queue's health. First what
//! customers owe (unpaid and overdue invoices, the overdue ones listed with
//! their days late), this month's and this quarter's receipts, the next
//! URSSAF declaration, and until the first invoice a checklist (seller's
//! identity, first customer, first invoice). Then the jobs: ready, later,
//! running, failures of the last 24 hours, the oldest ready job, workers
//! alive, jobs per queue and state, attempts per hour (a chart) and the
//! latest failures. `/admin/dashboard.json` refreshes the counts live.

mod chart;

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Datelike, DurationRound, Months, NaiveDate, TimeDelta, Utc};
use minijinja::context;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Admin, AdminError};
use crate::billing::catalog::Nature;
use crate::i18n::{Lang, Text};
use crate::money::{Currency, Money};
use crate::store::types::{JobRow, JobState, QueueCount, WorkerInfo};
use crate::store::{Store, StoreError};
use crate::text;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/dashboard.html")];

/// A worker is alive if its heartbeat (every 10 s by default) is this recent.
const ALIVE_WITHIN: TimeDelta = TimeDelta::seconds(60);
/// Hours in the chart.
const CHART_HOURS: usize = 24;
/// Failures listed.
const FAILURES_SHOWN: i64 = 10;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin", Access::Operator, page)
        .get("/admin/dashboard.json", Access::Operator, live)
}

/// The numbers of the cards (and of the live JSON).
#[derive(Debug, Serialize)]
struct Counts {
    /// Due now: what the workers take next.
    ready: i64,
    /// Scheduled for later, or waiting for their next attempt.
    later: i64,
    running: i64,
    failed_24h: i64,
    workers_alive: usize,
    oldest_waiting: Option<Oldest>,
    /// `queue` → `state` → jobs.
    queues: BTreeMap<String, BTreeMap<&'static str, i64>>,
}

#[derive(Debug, Serialize)]
struct Oldest {
    id: i64,
    kind: String,
    queue: String,
    age: String,
}

async fn counts(store: &Store, now: DateTime<Utc>, workers: &[WorkerInfo], lang: Lang) -> Result<Counts, StoreError> {
    let by_state = store.count_jobs().await?;
    let sum = |states: &[JobState]| -> i64 {
        by_state
            .iter()
            .filter(|c| states.contains(&c.state))
            .map(|c| c.count)
            .sum()
    };
    let oldest = store.oldest_waiting_job().await?.map(|j| Oldest {
        id: j.id,
        age: age(now - j.run_at, lang),
        kind: j.kind,
        queue: j.queue,
    });
    Ok(Counts {
        ready: sum(&[JobState::Available]),
        later: sum(&[JobState::Scheduled, JobState::Retryable]),
        running: sum(&[JobState::Running]),
        failed_24h: store.failed_attempts_since(now - TimeDelta::hours(24)).await?,
        workers_alive: workers.iter().filter(|w| now - w.last_seen_at <= ALIVE_WITHIN).count(),
        oldest_waiting: oldest,
        queues: by_queue(&by_state),
    })
}

fn by_queue(counts: &[QueueCount]) -> BTreeMap<String, BTreeMap<&'static str, i64>> {
    let mut out: BTreeMap<String, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for c in counts {
        *out.entry(c.queue.clone())
            .or_default()
            .entry(c.state.as_str())
            .or_default() += c.count;
    }
    out
}

/// "42 s", "3 min", "2 h 05", "3 j 4 h" ("3 d 4 h" in English).
fn age(d: TimeDelta, lang: Lang) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02}", s / 3600, s % 3600 / 60),
        _ => text!("{days} j {hours} h", days = s / 86_400, hours = s % 86_400 / 3600).in_lang(lang),
    }
}

/// A month's name (1–12).
fn month_name(month: u32) -> Text {
    match month {
        1 => text!("janvier"),
        2 => text!("février"),
        3 => text!("mars"),
        4 => text!("avril"),
        5 => text!("mai"),
        6 => text!("juin"),
        7 => text!("juillet"),
        8 => text!("août"),
        9 => text!("septembre"),
        10 => text!("octobre"),
        11 => text!("novembre"),
        _ => text!("décembre"),
    }
}

/// "décembre 2026".
fn month_label(day: NaiveDate) -> Text {
    text!("{month} {year}", year = day.year()).with("month", month_name(day.month()))
}

/// "1er trimestre 2026", "3e trimestre 2026".
fn quarter_label(day: NaiveDate) -> Text {
    match (day.month() - 1) / 3 {
        0 => text!("1er trimestre {year}", year = day.year()),
        q => text!("{n}e trimestre {year}", n = q + 1, year = day.year()),
    }
}

/// This month's receipts (livre de recettes, by date received, database
/// clock's UTC date), goods and services apart, per currency.
#[derive(Debug, Serialize)]
struct Receipts {
    currency: String,
    goods: Money,
    services: Money,
    total: Money,
}

async fn receipts(store: &Store, today: NaiveDate) -> Result<(Text, Vec<Receipts>), AdminError> {
    let first = today.with_day(1).unwrap_or(today);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(today);
    let lines = crate::billing::revenue_book::totals_between(store, first, next).await?;
    let mut out: Vec<Receipts> = Vec::new();
    for (nature, amount) in lines {
        let code = amount.currency.code().to_string();
        let entry = match out.iter().position(|r| r.currency == code) {
            Some(i) => &mut out[i],
            None => {
                let zero = Money::new(0, amount.currency);
                out.push(Receipts {
                    currency: code,
                    goods: zero,
                    services: zero,
                    total: zero,
                });
                out.last_mut().ok_or_else(|| AdminError::Internal("receipts".into()))?
            }
        };
        let add = |m: Money| Money::new(m.minor + amount.minor, m.currency);
        match nature {
            Nature::Goods => entry.goods = add(entry.goods),
            Nature::Services => entry.services = add(entry.services),
        }
        entry.total = add(entry.total);
    }
    if out.is_empty() {
        let zero = Money::new(0, Currency::EUR);
        out.push(Receipts {
            currency: "EUR".into(),
            goods: zero,
            services: zero,
            total: zero,
        });
    }
    Ok((month_label(first), out))
}

/// The first steps, until each is done: the seller's identity (no invoice
/// can be issued without it), a customer, an invoice issued.
#[derive(Debug, Serialize)]
struct FirstRun {
    settings: bool,
    customer: bool,
    invoice: bool,
}

async fn first_run(store: &Store) -> Result<FirstRun, AdminError> {
    let settings = match crate::billing::settings::load(store).await {
        Ok(_) => true,
        Err(crate::billing::BillingError::NoSettings) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(FirstRun {
        settings,
        customer: !crate::billing::customers::list(store, 1, None).await?.is_empty(),
        invoice: crate::billing::invoices::any_issued(store).await?,
    })
}

/// An overdue invoice as the dashboard lists it.
#[derive(Debug, Serialize)]
struct Late {
    id: i64,
    reference: Option<String>,
    customer: Option<String>,
    due_date: Option<NaiveDate>,
    days_late: i64,
    due: Money,
}

/// Overdue invoices shown on the dashboard (the rest are a click away).
const LATE_SHOWN: usize = 10;

async fn overdue(store: &Store, today: NaiveDate) -> Result<Vec<Late>, AdminError> {
    let invoices = crate::billing::invoices::overdue(store, today).await?;
    Ok(invoices
        .iter()
        .take(LATE_SHOWN)
        .map(|i| Late {
            id: i.id,
            reference: i.reference.clone(),
            customer: i.snapshot.as_ref().map(|s| s.customer.name.clone()),
            due_date: i.due_date,
            days_late: i.due_date.map_or(0, |d| (today - d).num_days()),
            due: i.balance_due(),
        })
        .collect())
}

/// Receipts between the first day of the quarter holding `today` and today.
async fn quarter_receipts(store: &Store, today: NaiveDate) -> Result<(Text, Vec<Money>), AdminError> {
    let quarter = (today.month() - 1) / 3;
    let first = NaiveDate::from_ymd_opt(today.year(), quarter * 3 + 1, 1).unwrap_or(today);
    let next = first.checked_add_months(Months::new(3)).unwrap_or(today);
    let mut totals: Vec<Money> = Vec::new();
    for (_, amount) in crate::billing::revenue_book::totals_between(store, first, next).await? {
        match totals.iter_mut().find(|t| t.currency == amount.currency) {
            Some(t) => t.minor += amount.minor,
            None => totals.push(amount),
        }
    }
    if totals.is_empty() {
        totals.push(Money::zero(Currency::EUR));
    }
    Ok((quarter_label(today), totals))
}

/// The next URSSAF declaration, or why it cannot be told (figures of a year
/// the program does not know yet, say): the dashboard shows it rather than fail.
async fn next_declaration(store: &Store, today: NaiveDate, lang: Lang) -> Value {
    use crate::billing::urssaf::DeclarationFrequency;
    match crate::billing::urssaf::next_due(store, today).await {
        Ok(d) => json!({
            "label": match d.frequency {
                DeclarationFrequency::Monthly => month_label(d.from),
                DeclarationFrequency::Quarterly => quarter_label(d.from),
            }
            .in_lang(lang),
            "period": d.period,
            "deadline": d.deadline,
            "days_left": (d.deadline - today).num_days(),
            "declared_euros": d.total_declared_euros,
            "contributions": d.total_contributions,
            "in_progress": today <= d.to,
            "error": null,
        }),
        Err(e) => json!({ "error": e.text().unwrap_or_else(|| Text::verbatim(e.to_string())).in_lang(lang) }),
    }
}

#[tracing::instrument(skip_all)]
async fn page(admin: Admin) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let lang = admin.lang();
    let now = store.now().await?;
    let workers = store.list_workers().await?;
    let counts = counts(store, now, &workers, lang).await?;
    let first_hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now) - TimeDelta::hours(CHART_HOURS as i64 - 1);
    let chart = chart::build(
        first_hour,
        CHART_HOURS,
        &store.attempts_per_hour(first_hour).await?,
        lang,
    );
    let failures: Vec<Value> = store
        .recent_failures(FAILURES_SHOWN)
        .await?
        .iter()
        .map(|j| failure(j, lang))
        .collect();
    let (month, receipts) = receipts(store, now.date_naive()).await?;
    let urssaf_alerts = crate::billing::urssaf::alerts::year_to_date(store, now.date_naive()).await?;
    let backup = backup_card(store, now, lang).await?;
    let bank_waiting = crate::billing::bank::waiting_count(store).await?;
    let today = now.date_naive();
    let first_run = first_run(store).await?;
    let receivables = crate::billing::invoices::receivables(store, today).await?;
    let late = overdue(store, today).await?;
    let (quarter, quarter_receipts) = quarter_receipts(store, today).await?;
    let declaration = next_declaration(store, today, lang).await;
    let workers: Vec<Value> = workers
        .iter()
        .map(|w| json!({ "worker": w, "alive": now - w.last_seen_at <= ALIVE_WITHIN }))
        .collect();
    // Paused queues, with or without jobs: their jobs wait, none starts.
    let paused_queues: Vec<String> = store
        .list_queues()
        .await?
        .into_iter()
        .filter(|q| q.paused)
        .map(|q| q.name)
        .collect();
    let queues: Vec<Value> = counts
        .queues
        .iter()
        .map(|(queue, by_state)| {
            let encoded: String = form_urlencoded::byte_serialize(queue.as_bytes()).collect();
            let paused = paused_queues.contains(queue);
            json!({ "name": queue, "encoded": encoded, "counts": by_state, "paused": paused })
        })
        .collect();
    admin.render(
        "admin/dashboard.html",
        "dashboard",
        context! {
            backend => store.backend().name(),
            now => now,
            queues => queues,
            paused_queues => paused_queues,
            counts => counts,
            states => JobState::ALL.iter().map(|s| (s.as_str(), s.words().in_lang(lang))).collect::<Vec<_>>(),
            workers => workers,
            chart => chart,
            failures => failures,
            month => month.in_lang(lang),
            receipts => receipts,
            alerts => urssaf_alerts,
            backup => backup,
            bank_waiting => bank_waiting,
            first_run => first_run,
            receivables => receivables,
            late => late,
            quarter => quarter.in_lang(lang),
            quarter_receipts => quarter_receipts,
            declaration => declaration,
        },
    )
}

/// The backup card: when the last backup was taken, and a warning after
/// two days without one (SQLite); on PostgreSQL, where backups are `pg_dump`'s.
async fn backup_card(store: &crate::store::Store, now: DateTime<Utc>, lang: Lang) -> Result<Value, AdminError> {
    use crate::keeping::backup::{self, Freshness, STALE_AFTER_HOURS};
    let freshness = backup::freshness(store).await?;
    let (last, message) = match &freshness {
        Freshness::External => (None, text!("PostgreSQL : sauvegardé par pg_dump (voir le README)")),
        Freshness::Never => (
            None,
            text!(
                "Aucune sauvegarde encore : la première est faite cette nuit à {time} par le worker, ou tout de suite avec « comptoir-worker backup »",
                time = crate::local_time::utc_time_of_day(2, 30)
            ),
        ),
        Freshness::Ok { last } => (Some(*last), text!("il y a {age}", age = age(now - *last, lang))),
        Freshness::Stale { last } => (
            Some(*last),
            text!(
                "Dernière sauvegarde il y a {age} (plus de {hours} h) : le worker tourne-t-il ? Lancez « comptoir-worker backup »",
                age = age(now - *last, lang),
                hours = STALE_AFTER_HOURS
            ),
        ),
    };
    let message = message.in_lang(lang);
    Ok(json!({
        "status": match freshness { Freshness::External => "external", Freshness::Never => "never", Freshness::Ok { .. } => "ok", Freshness::Stale { .. } => "stale" },
        "warning": freshness.is_warning(),
        "last": last,
        "message": message,
    }))
}

/// A failed job, its last error masked and shortened.
fn failure(job: &JobRow, lang: Lang) -> Value {
    let error = job
        .errors
        .last()
        .map(|e| super::jobs::short_error(&e.error))
        .unwrap_or_default();
    json!({
        "id": job.id,
        "kind": job.kind,
        "queue": job.queue,
        "state": job.state,
        "state_word": job.state.words().in_lang(lang),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "at": job.errors.last().map(|e| e.at),
        "error": error,
    })
}

/// The counts as flat keys for `data-field`: `waiting`, `q.default.available`…
#[tracing::instrument(skip_all)]
async fn live(admin: Admin) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let now = store.now().await?;
    let workers = store.list_workers().await?;
    let c = counts(store, now, &workers, admin.lang()).await?;
    let mut out = Map::new();
    out.insert("ready".into(), c.ready.into());
    out.insert("later".into(), c.later.into());
    out.insert("running".into(), c.running.into());
    out.insert("failed_24h".into(), c.failed_24h.into());
    out.insert("workers_alive".into(), c.workers_alive.into());
    out.insert(
        "oldest_waiting".into(),
        c.oldest_waiting
            .as_ref()
            .map_or_else(|| "—".to_string(), |o| format!("#{} · {}", o.id, o.age))
            .into(),
    );
    for (queue, states) in &c.queues {
        for state in JobState::ALL {
            let n = states.get(state.as_str()).copied().unwrap_or(0);
            out.insert(format!("q.{queue}.{}", state.as_str()), n.into());
        }
    }
    out.insert("now".into(), json!(now));
    out.insert("done".into(), false.into());
    Ok(Json(Value::Object(out)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let s = TimeDelta::seconds;
        let fr = |d| age(d, Lang::Fr);
        assert_eq!(fr(s(-3)), "0 s");
        assert_eq!(fr(s(42)), "42 s");
        assert_eq!(fr(s(185)), "3 min");
        assert_eq!(fr(s(7_500)), "2 h 05");
        assert_eq!(fr(s(3 * 86_400 + 4 * 3600 + 59)), "3 j 4 h");
        assert_eq!(age(s(3 * 86_400 + 4 * 3600 + 59), Lang::En), "3 d 4 h");
    }

    #[test]
    fn months_and_quarters() {
        let day = NaiveDate::from_ymd_opt(2026, 8, 14).unwrap();
        assert_eq!(month_label(day).in_lang(Lang::Fr), "août 2026");
        assert_eq!(month_label(day).in_lang(Lang::En), "August 2026");
        assert_eq!(quarter_label(day).in_lang(Lang::Fr), "3e trimestre 2026");
        assert_eq!(quarter_label(day).in_lang(Lang::En), "Q3 2026");
        let january = NaiveDate::from_ymd_opt(2027, 1, 2).unwrap();
        assert_eq!(quarter_label(january).in_lang(Lang::Fr), "1er trimestre 2027");
        assert_eq!(quarter_label(january).in_lang(Lang::En), "Q1 2027");
    }
}
