//! `GET /metrics` in the Prometheus text format (0.0.4), for an operator's
//! session or an API key (a scraper sends `Authorization: Bearer ck_…`), and
//! the middleware that counts HTTP requests.
//!
//! The jobs by queue and state and the oldest waiting job are read from the
//! database at each scrape, so they cover every process; the counters and
//! histograms come from this process's registry ([`crate::metrics`]).

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Access, AppState, Routes};
use crate::metrics;
use crate::store::types::JobState;
use crate::store::{Store, StoreError};

pub(super) fn routes() -> Routes {
    Routes::new().get("/metrics", Access::OperatorOrApiKey, scrape)
}

#[tracing::instrument(skip_all)]
async fn scrape(State(state): State<AppState>) -> Response {
    let mut scraped = Registry::default();
    let up = match database_families(&state.store, &mut scraped).await {
        Ok(()) => 1,
        Err(e) => {
            // The process's own metrics are still worth a scrape.
            tracing::warn!(error = %e, "metrics: database unreadable");
            0
        }
    };
    let database_up = Gauge::<i64>::default();
    database_up.set(up);
    scraped.register(
        "comptoir_database_up",
        "1 if the database answered this scrape (the comptoir_jobs families are missing otherwise)",
        database_up,
    );
    (
        [(CONTENT_TYPE, metrics::CONTENT_TYPE), (CACHE_CONTROL, "no-store")],
        metrics::render(&scraped, metrics::global()),
    )
        .into_response()
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueState {
    queue: String,
    state: &'static str,
}

/// Families read from the database: they describe every process. Registered
/// only once every read succeeded.
async fn database_families(store: &Store, registry: &mut Registry) -> Result<(), StoreError> {
    let counts = store.count_jobs().await?;
    let oldest = store.oldest_waiting_job().await?;
    let now = store.now().await?;
    let mut queues: Vec<&str> = counts.iter().map(|c| c.queue.as_str()).collect();
    queues.sort_unstable();
    queues.dedup();
    let jobs = Family::<QueueState, Gauge>::default();
    for queue in queues {
        // Every state of a known queue, zeros included, so series do not vanish.
        for state in JobState::ALL {
            let n = counts
                .iter()
                .find(|c| c.queue == queue && c.state == state)
                .map_or(0, |c| c.count);
            jobs.get_or_create(&QueueState {
                queue: queue.to_string(),
                state: state.as_str(),
            })
            .set(n);
        }
    }
    registry.register(
        "comptoir_jobs",
        "Jobs in the database by queue and state (all processes)",
        jobs,
    );
    let waited = Gauge::<f64, AtomicU64>::default();
    waited.set(oldest.map_or(0.0, |job| {
        ((now - job.run_at).num_milliseconds().max(0) as f64) / 1000.0
    }));
    registry.register(
        "comptoir_jobs_oldest_waiting_seconds",
        "How long the oldest due job (available, scheduled or retryable, not running) has waited; 0 when none (database clock)",
        waited,
    );
    Ok(())
}

/// Counts every request by method, matched route (`MatchedPath`, never the
/// raw path: one series per route, not per id) or `unmatched`, and status.
pub(super) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics::global().http_request(
        method.as_str(),
        route.as_ref().map_or("unmatched", |r| r.as_str()),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
