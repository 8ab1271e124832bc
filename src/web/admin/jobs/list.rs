//! `/admin/jobs`: the counts per state, the list with its filters and pages,
//! kept up to date by `live.json` (the page works without it: reload), and
//! the bulk form, which asks for a confirmation naming how many jobs of which
//! kinds it will act on.

use std::sync::OnceLock;

use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::actions::{self, Outcome, Request};
use super::{state_fr, state_label, view};
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

/// The page's rows, as its filters select them.
async fn rows(admin: &Admin, f: &Filters) -> Result<Vec<crate::store::types::JobRow>, AdminError> {
    Ok(admin
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
        .await?)
}

/// Jobs per state, every queue together, in the order of `JobState::ALL`.
async fn counts(admin: &Admin) -> Result<Vec<(JobState, i64)>, AdminError> {
    let by_queue = admin.state.store.count_jobs().await?;
    Ok(JobState::ALL
        .iter()
        .map(|s| (*s, by_queue.iter().filter(|c| c.state == *s).map(|c| c.count).sum()))
        .collect())
}

/// The rows as pages show them, an invoice named by its number.
async fn views(admin: &Admin, rows: &[crate::store::types::JobRow]) -> Result<Vec<serde_json::Value>, AdminError> {
    let mut jobs: Vec<_> = rows.iter().map(view).collect();
    let invoice_ids: Vec<i64> = jobs
        .iter()
        .filter(|j| j["object"]["key"] == "invoice_id")
        .filter_map(|j| j["object"]["id"].as_i64())
        .collect();
    let references = crate::billing::invoices::references(&admin.state.store, &invoice_ids).await?;
    for j in jobs.iter_mut().filter(|j| j["object"]["key"] == "invoice_id") {
        if let Some(reference) = j["object"]["id"].as_i64().and_then(|id| references.get(&id)) {
            j["object"]["label"] = format!("facture {reference}").into();
        }
    }
    Ok(jobs)
}

/// What the page's script refreshes every two seconds: the counts per state
/// (`count.available`…) and each listed job's state (`job.12.state`).
#[tracing::instrument(skip_all)]
pub(super) async fn live(admin: Admin, Query(f): Query<Filters>) -> Result<Response, AdminError> {
    let mut out = serde_json::Map::new();
    for (state, n) in counts(&admin).await? {
        out.insert(format!("count.{}", state.as_str()), n.into());
    }
    for job in rows(&admin, &f).await? {
        out.insert(format!("job.{}.state", job.id), state_label(&job).into());
        out.insert(
            format!("job.{}.attempt", job.id),
            format!("{}/{}", job.attempt, job.max_attempts).into(),
        );
    }
    out.insert("done".into(), false.into());
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        serde_json::Value::Object(out),
    )))
}

#[tracing::instrument(skip_all)]
pub(super) async fn page(admin: Admin, Query(f): Query<Filters>) -> Result<Response, AdminError> {
    let rows = rows(&admin, &f).await?;
    let next = next_before(&rows, PAGE_SIZE, |j| j.id);
    let jobs = views(&admin, &rows).await?;
    let counts: Vec<serde_json::Value> = counts(&admin)
        .await?
        .into_iter()
        .map(|(s, n)| serde_json::json!({ "state": s.as_str(), "label": state_fr(s), "count": n }))
        .collect();
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
            counts => counts,
            live => format!("/admin/jobs/live.json?{}{}", params, f.before.map(|b| format!("&before={b}")).unwrap_or_default()),
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
            AdminError::Invalid(crate::i18n::Text::verbatim(format!(
                "ids : « {} » n'est pas un numéro de tâche / not a job id",
                shown(value)
            )))
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
        return Err(AdminError::Invalid(crate::i18n::Text::verbatim(format!(
            "ids : {BULK_LIMIT} tâches au plus à la fois / at most {BULK_LIMIT} jobs at once"
        ))));
    }
    if field("confirmed") != Some("yes") {
        return confirmation(&admin, &fields, &ids, req.action, &back).await;
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

/// "Relancer maintenant 12 tâches ?", with how many of each kind and in
/// which state, and the form again with `confirmed=yes`.
async fn confirmation(
    admin: &Admin,
    fields: &[(String, String)],
    ids: &[i64],
    action: actions::Action,
    back: &str,
) -> Result<Response, AdminError> {
    let mut kinds: std::collections::BTreeMap<String, (i64, std::collections::BTreeMap<&'static str, i64>)> =
        std::collections::BTreeMap::new();
    let mut missing = 0;
    let mut refused = 0;
    for id in ids {
        match admin.state.store.get_job(*id).await {
            Ok(job) => {
                if !action.allows(job.state) {
                    refused += 1;
                }
                let entry = kinds.entry(job.kind.clone()).or_default();
                entry.0 += 1;
                *entry.1.entry(state_fr(job.state)).or_default() += 1;
            }
            Err(crate::store::StoreError::NotFound) => missing += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let kinds: Vec<serde_json::Value> = kinds
        .into_iter()
        .map(|(kind, (n, states))| serde_json::json!({ "kind": kind, "count": n, "states": states }))
        .collect();
    // `back` as checked, not as posted: it is also the page's "Annuler" link.
    let hidden: Vec<&(String, String)> = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "confirmed" | "back") && k != crate::web::guard::CSRF_FIELD)
        .collect();
    admin.render(
        "admin/jobs/confirm.html",
        "jobs",
        context! {
            action => action.infinitive(),
            count => ids.len(),
            kinds => kinds,
            missing => missing,
            refused => refused,
            hidden => hidden,
            back => back,
        },
    )
}

fn shown(value: &str) -> String {
    value.chars().take(30).collect()
}
