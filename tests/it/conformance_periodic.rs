//! Conformance of periodic jobs in a time zone, on both backends: a daily
//! 02:30 job in Europe/Paris through the weeks of the 2026 clock changes
//! runs once each day, and each missed-slot policy (run once late, skip).
//!
//! The enqueuer is driven by `enqueue_periodic` at instants stepped through
//! weeks already past, as a worker's maintenance would see them on the
//! database clock; the jobs' due times are their slots, so a real drain
//! (its own maintenance off) runs them all.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use comptoir::jobs::{enqueue_periodic, JobRow, JobState, Missed, Noop, Registry, Schedule, WorkerConfig};
use comptoir::store::Store;

use crate::on_all_backends;
use crate::support::worker::{all_jobs, config, drain, Ctx};
use crate::support::{Backend, TestDb};

on_all_backends!(
    a_daily_0230_runs_once_each_day_of_the_clock_change_weeks,
    run_once_late_runs_one_job_for_the_days_missed,
    skip_drops_the_slots_no_worker_saw_in_time,
    maintenance_enqueues_the_next_paris_slot,
);

const GRACE: Duration = Duration::from_secs(300);

/// A wall-clock time in Paris (`2026-03-29 01:45`), as an instant (the
/// first of a repeated time).
fn paris(local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|e| panic!("{local}: {e}"));
    Paris
        .from_local_datetime(&naive)
        .earliest()
        .unwrap_or_else(|| panic!("{local} does not exist in Paris"))
        .with_timezone(&Utc)
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn daily(missed: Missed) -> Schedule {
    Schedule::cron("30 2 * * *").zone(Paris).missed(missed)
}

fn registry(schedules: &[(&str, Schedule)]) -> Registry<Ctx> {
    schedules
        .iter()
        .try_fold(Registry::<Ctx>::new().register::<Noop>(), |r, (name, s)| {
            r.periodic(name, s.clone(), &Noop::default())
        })
        .expect("schedules")
}

/// A drain that runs what the passes enqueued, and enqueues nothing itself.
fn without_maintenance() -> WorkerConfig {
    WorkerConfig {
        maintenance: false,
        ..config(4)
    }
}

/// One pass of each store's enqueuer at each instant.
async fn passes(stores: &[&Store], registry: &Registry<Ctx>, instants: &[DateTime<Utc>]) {
    for now in instants {
        for store in stores {
            enqueue_periodic(store, registry, *now)
                .await
                .unwrap_or_else(|e| panic!("pass at {now}: {e}"));
        }
    }
}

/// The jobs of schedule `name`, by the Paris date of their slot; each must
/// have the key of its slot.
fn per_day(jobs: &[JobRow], name: &str) -> BTreeMap<NaiveDate, Vec<JobRow>> {
    let prefix = format!("periodic:{name}:");
    let mut days: BTreeMap<NaiveDate, Vec<JobRow>> = BTreeMap::new();
    for job in jobs {
        let Some(key) = job.unique_key.as_deref().filter(|k| k.starts_with(&prefix)) else {
            continue;
        };
        assert_eq!(
            key,
            format!(
                "{prefix}{}",
                job.run_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            "{job:?}"
        );
        days.entry(job.run_at.with_timezone(&Paris).date_naive())
            .or_default()
            .push(job.clone());
    }
    days
}

/// Asserts one completed job, run once, per day, at `expected` (UTC).
fn assert_once_a_day(days: &BTreeMap<NaiveDate, Vec<JobRow>>, expected: &[&str], what: &str) {
    let slots: Vec<String> = days
        .values()
        .map(|jobs| {
            assert_eq!(jobs.len(), 1, "{what}: more than one job a day: {jobs:?}");
            let job = &jobs[0];
            assert_eq!((job.state, job.attempt), (JobState::Completed, 1), "{what}: {job:?}");
            job.run_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .collect();
    assert_eq!(slots, expected, "{what}");
}

/// Every 15 minutes from `from` to `to` (Paris wall-clock, both included),
/// plus `extra` instants, in order.
fn steps(from: &str, to: &str, extra: &[&str]) -> Vec<DateTime<Utc>> {
    let (mut t, end) = (paris(from), paris(to));
    let mut all = Vec::new();
    while t <= end {
        all.push(t);
        t += TimeDelta::minutes(15);
    }
    all.extend(extra.iter().map(|s| utc(s)));
    all.sort();
    all.dedup();
    all
}

/// A daily 02:30 in Paris, through the week of each clock change of 2026,
/// seen by two workers at every quarter hour and at the seconds around each
/// change: one run a day, the skipped 02:30 of 29 March at 03:00 CEST, the
/// doubled 02:30 of 25 October at its first occurrence.
async fn a_daily_0230_runs_once_each_day_of_the_clock_change_weeks(backend: Backend) {
    let db = TestDb::new(backend).await;
    let other = db.other_store().await;
    let ctx = Ctx::default();
    let schedules = [
        ("late", daily(Missed::RunOnceLate)),
        ("skip", daily(Missed::Skip { grace: GRACE })),
    ];
    let registry = registry(&schedules);

    // Spring: Wednesday 25 to Tuesday 31 March; 29 March, 02:00 CET becomes 03:00 CEST (01:00 UTC).
    let spring = steps(
        "2026-03-25 00:00",
        "2026-03-31 23:45",
        &[
            "2026-03-29T00:29:59Z",
            "2026-03-29T00:30:00Z",
            "2026-03-29T00:59:59Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:00:01Z",
        ],
    );
    // Autumn: Wednesday 21 to Tuesday 27 October; 25 October, 03:00 CEST becomes 02:00 CET
    // (01:00 UTC): 02:30 is 00:30 UTC, then 01:30 UTC.
    let autumn = steps(
        "2026-10-21 00:00",
        "2026-10-27 23:45",
        &[
            "2026-10-25T00:29:59Z",
            "2026-10-25T00:30:00Z",
            "2026-10-25T00:30:01Z",
            "2026-10-25T00:59:59Z",
            "2026-10-25T01:00:00Z",
            "2026-10-25T01:29:59Z",
            "2026-10-25T01:30:00Z",
            "2026-10-25T01:30:01Z",
        ],
    );
    passes(&[&db.store, &other], &registry, &spring).await;
    passes(&[&db.store, &other], &registry, &autumn).await;
    // The same instants again, in reverse (a worker whose pass comes late): nothing new.
    let before = all_jobs(&db.store).await.len();
    let mut again: Vec<_> = spring.iter().chain(&autumn).copied().collect();
    again.reverse();
    passes(&[&other], &registry, &again).await;
    assert_eq!(
        all_jobs(&db.store).await.len(),
        before,
        "a late pass enqueued a slot again"
    );

    let report = drain(&db.store, registry, &ctx, without_maintenance()).await;
    let jobs = all_jobs(&db.store).await;
    assert_eq!(report.completed, jobs.len() as u64, "{report:?} {jobs:?}");
    assert!(report.all_succeeded(), "{report:?}");

    let week = [
        "2026-03-25T01:30:00Z",
        "2026-03-26T01:30:00Z",
        "2026-03-27T01:30:00Z",
        "2026-03-28T01:30:00Z",
        "2026-03-29T01:00:00Z", // 03:00 CEST: 02:30 was skipped by the clocks
        "2026-03-30T00:30:00Z",
        "2026-03-31T00:30:00Z",
        "2026-10-21T00:30:00Z",
        "2026-10-22T00:30:00Z",
        "2026-10-23T00:30:00Z",
        "2026-10-24T00:30:00Z",
        "2026-10-25T00:30:00Z", // 02:30 CEST, the first of the two
        "2026-10-26T01:30:00Z",
        "2026-10-27T01:30:00Z",
    ];
    assert_once_a_day(&per_day(&jobs, "skip"), &week, "skip");
    // Run once late also has, enqueued ahead by the last pass of each week, the next day's slot.
    let mut late = week.to_vec();
    late.insert(7, "2026-04-01T00:30:00Z");
    late.push("2026-10-28T01:30:00Z");
    assert_once_a_day(&per_day(&jobs, "late"), &late, "late");
}

/// Workers pass on Monday night, then none until Thursday morning: the
/// slot enqueued ahead on Monday (Tuesday's) runs once for Tuesday,
/// Wednesday and Thursday; nothing else is made up.
async fn run_once_late_runs_one_job_for_the_days_missed(backend: Backend) {
    let db = TestDb::new(backend).await;
    let ctx = Ctx::default();
    let registry = registry(&[("late", daily(Missed::RunOnceLate))]);
    // Before the first pass, no slot is run (Sunday's 02:30 is not made up).
    let instants = [
        paris("2026-03-02 01:00"),
        paris("2026-03-02 02:31"),
        // Down until Thursday 10:00.
        paris("2026-03-05 10:00"),
        paris("2026-03-06 02:31"),
    ];
    passes(&[&db.store], &registry, &instants).await;
    let report = drain(&db.store, registry, &ctx, without_maintenance()).await;
    assert!(report.completed == 4 && report.all_succeeded(), "{report:?}");

    let days = per_day(&all_jobs(&db.store).await, "late");
    assert_once_a_day(
        &days,
        &[
            "2026-03-02T01:30:00Z", // Monday
            "2026-03-03T01:30:00Z", // Tuesday's job, late: Tuesday to Thursday
            "2026-03-06T01:30:00Z", // Friday, enqueued ahead on Thursday
            "2026-03-07T01:30:00Z", // Saturday, enqueued ahead on Friday
        ],
        "late",
    );
}

/// A slot runs only if a pass sees it within the grace (5 minutes, both
/// ends included); the days no worker saw in time are not run, nor is the
/// doubled 02:30 seen only the second time.
async fn skip_drops_the_slots_no_worker_saw_in_time(backend: Backend) {
    let db = TestDb::new(backend).await;
    let ctx = Ctx::default();
    let registry = registry(&[("skip", daily(Missed::Skip { grace: GRACE }))]);
    let instants = [
        paris("2026-03-02 01:00"),    // Monday, before the slot: nothing
        paris("2026-03-02 02:31"),    // Monday's slot, a minute late: run
        paris("2026-03-05 10:00"),    // back on Thursday: Tuesday to Thursday are missed
        paris("2026-03-06 02:30"),    // Friday, on time: run
        paris("2026-03-06 02:31"),    // and not twice
        paris("2026-03-07 02:35:01"), // Saturday, 5 min 1 s late: missed
        paris("2026-03-08 02:35:00"), // Sunday, 5 min late: run
        // 29 March: the skipped 02:30 is 03:00 CEST (01:00 UTC); seen 3 minutes after: run.
        utc("2026-03-29T01:03:00Z"),
        // 25 October: seen only at the second 02:30 (CET), an hour after the slot (the
        // first, CEST): missed, not run as if it were on time.
        utc("2026-10-25T01:30:00Z"),
        utc("2026-10-25T01:32:00Z"),
    ];
    passes(&[&db.store], &registry, &instants).await;
    let report = drain(&db.store, registry, &ctx, without_maintenance()).await;
    assert!(report.completed == 4 && report.all_succeeded(), "{report:?}");

    let days = per_day(&all_jobs(&db.store).await, "skip");
    assert_once_a_day(
        &days,
        &[
            "2026-03-02T01:30:00Z",
            "2026-03-06T01:30:00Z",
            "2026-03-08T01:30:00Z",
            "2026-03-29T01:00:00Z",
        ],
        "skip",
    );
}

/// A drain's own pass reads the database clock: the next 02:30 in Paris is
/// enqueued ahead, once, whatever the number of drains.
async fn maintenance_enqueues_the_next_paris_slot(backend: Backend) {
    let db = TestDb::new(backend).await;
    let ctx = Ctx::default();
    let schedules = [("late", daily(Missed::RunOnceLate))];
    let now = db.store.now().await.unwrap();
    for _ in 0..2 {
        drain(&db.store, registry(&schedules), &ctx, config(2)).await;
    }
    let jobs = all_jobs(&db.store).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Scheduled, "{job:?}");
    // 02:30 in Paris (03:00 on the day the clocks skip it).
    let local = job.run_at.with_timezone(&Paris).format("%H:%M:%S").to_string();
    assert!(local == "02:30:00" || local == "03:00:00", "{local}: {job:?}");
    assert!(
        job.run_at > now && job.run_at <= now + TimeDelta::days(1),
        "{job:?} after {now}"
    );
}
