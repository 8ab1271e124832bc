//! `GET /metrics` in the Prometheus text format (0.0.4), for an operator's
//! session or an API key (a scraper sends `Authorization: Bearer ck_…`), and
//! the middleware that counts HTTP requests.
//!
//! The jobs by queue and state and the oldest waiting job are read from the
//! database at each scrape, so they cover every process; the counters and
//! histograms come from this process's registry ([`crate::metrics`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Access, AppState, Routes};
use crate::metrics::{self, Exposition};
use crate::store::types::JobState;
use crate::store::{Store, StoreError};

pub(super) fn routes() -> Routes {
    Routes::new().get("/metrics", Access::OperatorOrApiKey, scrape)
}

#[tracing::instrument(skip_all)]
async fn scrape(State(state): State<AppState>) -> Response {
    let mut out = Exposition::new();
    let up = match database_families(&state.store, &mut out).await {
        Ok(()) => 1.0,
        Err(e) => {
            // The process's own metrics are still worth a scrape.
            tracing::warn!(error = %e, "metrics: database unreadable");
            0.0
        }
    };
    out.family(
        "comptoir_database_up",
        "gauge",
        "1 if the database answered this scrape (the comptoir_jobs families are missing otherwise).",
    );
    out.sample("comptoir_database_up", &[], up);
    metrics::global().render(&mut out);
    (
        [(CONTENT_TYPE, metrics::CONTENT_TYPE), (CACHE_CONTROL, "no-store")],
        out.finish(),
    )
        .into_response()
}

/// Families read from the database: they describe every process.
async fn database_families(store: &Store, out: &mut Exposition) -> Result<(), StoreError> {
    let counts = store.count_jobs().await?;
    let oldest = store.oldest_waiting_job().await?;
    let now = store.now().await?;
    let mut queues: Vec<&str> = counts.iter().map(|c| c.queue.as_str()).collect();
    queues.sort_unstable();
    queues.dedup();
    out.family(
        "comptoir_jobs",
        "gauge",
        "Jobs in the database by queue and state (all processes).",
    );
    for queue in queues {
        // Every state of a known queue, zeros included, so series do not vanish.
        for state in JobState::ALL {
            let n = counts
                .iter()
                .find(|c| c.queue == queue && c.state == state)
                .map_or(0, |c| c.count);
            out.sample(
                "comptoir_jobs",
                &[("queue", queue), ("state", state.as_str())],
                n as f64,
            );
        }
    }
    out.family(
        "comptoir_jobs_oldest_waiting_seconds",
        "gauge",
        "How long the oldest due job (available, scheduled or retryable, not running) has waited; 0 when none (database clock).",
    );
    let waited = oldest.map_or(0.0, |job| {
        ((now - job.run_at).num_milliseconds().max(0) as f64) / 1000.0
    });
    out.sample("comptoir_jobs_oldest_waiting_seconds", &[], waited);
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
