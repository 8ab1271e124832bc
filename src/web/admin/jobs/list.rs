//! `/admin/jobs`: the list with its filters and pages, and the bulk form.

use std::sync::OnceLock;

use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::actions::{self, Outcome, Request};
use super::view;
use crate::store::types::{JobFilter, JobState};
use crate::web::admin::{empty_as_none, filter_text, next_before, Admin, AdminError, Form, Query, PAGE_SIZE};

/// Most jobs one bulk form may act on.
const BULK_LIMIT: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default, deserialize_with = "empty_as_none")]
    state: Option<JobState>,
    #[serde(default, deserialize_with = "filter_text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    queue: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    text: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
}

impl Filters {
    /// The query string of these filters, without `before`.
    fn params(&self) -> String {
        let state = self.state.map(JobState::as_str);
        let pairs: Vec<(&str, &str)> = [
            ("state", state),
            ("kind", self.kind.as_deref()),
            ("queue", self.queue.as_deref()),
            ("text", self.text.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The kinds and queues the product's worker knows, for the filters' suggestions.
fn known() -> &'static (Vec<&'static str>, Vec<String>) {
    static KNOWN: OnceLock<(Vec<&'static str>, Vec<String>)> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let registry = crate::app::registry();
        (registry.kinds().collect(), registry.queues().into_iter().collect())
    })
}

#[tracing::instrument(skip_all)]
pub(super) async fn page(admin: Admin, Query(f): Query<Filters>) -> Result<Response, AdminError> {
    let rows = admin
        .state
        .store
        .list_jobs(&JobFilter {
            state: f.state,
            kind: f.kind.clone(),
            queue: f.queue.clone(),
            text: f.text.clone(),
            limit: PAGE_SIZE,
            before_id: f.before,
        })
        .await?;
    let next = next_before(&rows, PAGE_SIZE, |j| j.id);
    let jobs: Vec<_> = rows.iter().map(view).collect();
    let params = f.params();
    let mut back = String::from("/admin/jobs");
    if !params.is_empty() || f.before.is_some() {
        back.push('?');
        back.push_str(&params);
        if let Some(before) = f.before {
            back.push_str(&format!("{}before={before}", if params.is_empty() { "" } else { "&" }));
        }
    }
    let (kinds, queues) = known();
    admin.render(
        "admin/jobs/list.html",
        "jobs",
        context! {
            jobs => jobs,
            filters => context! {
                state => f.state.map(JobState::as_str).unwrap_or(""),
                kind => f.kind.as_deref().unwrap_or(""),
                queue => f.queue.as_deref().unwrap_or(""),
                text => f.text.as_deref().unwrap_or(""),
            },
            filtered => f.state.is_some() || f.kind.is_some() || f.queue.is_some() || f.text.is_some(),
            states => JobState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            kinds => kinds,
            queues => queues,
            params => params,
            next_before => next,
            back => back,
        },
    )
}

/// The bulk form: `ids` (repeated), `action`, `reason`, `run_at`, `back`.
#[tracing::instrument(skip_all)]
pub(super) async fn bulk(admin: Admin, Form(fields): Form<Vec<(String, String)>>) -> Result<Response, AdminError> {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let back = field("back")
        .filter(|b| b.starts_with("/admin/jobs") && !b.contains("//") && crate::web::admin::is_admin_path(b))
        .unwrap_or("/admin/jobs")
        .to_string();
    let mut ids = Vec::new();
    for (_, value) in fields.iter().filter(|(k, _)| k == "ids") {
        let id: i64 = value.trim().parse().map_err(|_| {
            AdminError::Invalid(format!(
                "ids : « {} » n'est pas un numéro de tâche / not a job id",
                shown(value)
            ))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let req = Request::parse(field("action").unwrap_or(""), field("reason"), field("run_at"))?;
    if ids.is_empty() {
        return Ok(admin.redirect(&back, "Aucune tâche cochée / no job selected"));
    }
    if ids.len() > BULK_LIMIT {
        return Err(AdminError::Invalid(format!(
            "ids : {BULK_LIMIT} tâches au plus à la fois / at most {BULK_LIMIT} jobs at once"
        )));
    }
    let mut outcomes = Vec::with_capacity(ids.len());
    for id in ids {
        let outcome = match actions::apply(&admin, id, &req).await {
            Ok(o) => o,
            Err(AdminError::NotFound) => Outcome::Refused(format!("#{id} introuvable")),
            Err(e) => {
                tracing::warn!(job.id = id, error = %e, "bulk action failed");
                Outcome::Refused(format!("#{id} : échec, réessayez"))
            }
        };
        outcomes.push(outcome);
    }
    Ok(admin.redirect(&back, &actions::summary(req.action, &outcomes)))
}

fn shown(value: &str) -> String {
    value.chars().take(30).collect()
}
