//! `/`: the queue at a glance (jobs per queue and state, workers, latest jobs).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use minijinja::context;

use super::{AppState, WebError};
use crate::store::types::{JobFilter, JobState};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(page))
}

async fn page(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let counts = state.store.count_jobs().await?;
    let workers = state.store.list_workers().await?;
    let latest = state
        .store
        .list_jobs(&JobFilter {
            limit: 25,
            ..JobFilter::default()
        })
        .await?;
    let mut by_queue: BTreeMap<String, BTreeMap<&'static str, i64>> = BTreeMap::new();
    for c in &counts {
        *by_queue
            .entry(c.queue.clone())
            .or_default()
            .entry(c.state.as_str())
            .or_default() += c.count;
    }
    let states: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    let latest: Vec<_> = latest
        .iter()
        .map(|j| {
            context! {
                id => j.id, kind => j.kind, queue => j.queue, state => j.state.as_str(),
                attempt => j.attempt, max_attempts => j.max_attempts,
                run_at => j.run_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                error => j.errors.last().map(|e| e.error.clone()),
            }
        })
        .collect();
    let workers: Vec<_> = workers
        .iter()
        .map(|w| context! { id => w.id, mode => w.mode, queues => w.queues, last_seen => w.last_seen_at.format("%H:%M:%S").to_string() })
        .collect();
    let html = state.templates.get_template("status.html")?.render(context! {
        backend => state.store.backend().name(),
        states => states,
        queues => by_queue,
        workers => workers,
        latest => latest,
    })?;
    Ok(Html(html))
}
