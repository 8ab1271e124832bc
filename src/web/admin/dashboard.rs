//! `/admin`: the queue at a glance (jobs per queue and state, workers,
//! latest jobs).

use std::collections::BTreeMap;

use axum::response::Response;
use minijinja::context;

use super::{Admin, AdminError};
use crate::store::types::{JobFilter, JobState};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/dashboard.html")];

pub(super) fn routes() -> Routes {
    Routes::new().get("/admin", Access::Operator, page)
}

async fn page(admin: Admin) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let counts = store.count_jobs().await?;
    let workers = store.list_workers().await?;
    let latest = store
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
    admin.render(
        "admin/dashboard.html",
        "dashboard",
        context! {
            backend => store.backend().name(),
            states => states,
            queues => by_queue,
            workers => workers,
            latest => latest,
        },
    )
}
