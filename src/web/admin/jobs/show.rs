//! `/admin/jobs/{id}`: a job's page with its timeline, its live state as
//! JSON (`/admin/jobs/{id}/status.json`, polled by `admin.js`), and one
//! action at a time (a delete first asks for a confirmation).

use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::actions::{self, Action, Outcome, Request};
use super::{list, progress, timeline, view};
use crate::audit::{AuditEntry, AuditFilter};
use crate::text;
use crate::web::admin::{Admin, AdminError, Form, Path};

/// The job's live state, polled by its page.
#[tracing::instrument(skip_all)]
pub(super) async fn status(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let job = admin.state.store.get_job(id).await?;
    let (percent, text) = progress(&job);
    Ok(Json(json!({
        "id": job.id,
        "state": job.state,
        "state_label": super::state_label(&job).in_lang(admin.lang()),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "progress_percent": percent,
        "progress_text": text,
        "errors": job.errors.len(),
        "done": job.state.is_final(),
    }))
    .into_response())
}

/// What the audit journal holds about job `id`: the operators' actions on
/// it, and who asked for it when that was recorded.
async fn audited(admin: &Admin, id: i64) -> Result<Vec<AuditEntry>, AdminError> {
    let target = format!("job:{id}");
    let mut entries = crate::audit::list(
        &admin.state.store,
        &AuditFilter {
            target: Some(target.clone()),
            limit: 500,
            ..AuditFilter::default()
        },
    )
    .await?;
    // The filter matches a substring (`job:1` is in `job:12`).
    entries.retain(|e| e.target == target);
    entries.reverse();
    Ok(entries)
}

/// The batch job `id` belongs to, or whose callback it is (see `jobs::batch`).
async fn batch_facts(admin: &Admin, id: i64) -> Result<Option<serde_json::Value>, AdminError> {
    let store = &admin.state.store;
    if let Some(b) = store.batch_with_callback(id).await? {
        return Ok(Some(json!({ "id": b.id, "size": b.size, "callback": true })));
    }
    let Some(batch_id) = store.batch_of_job(id).await? else {
        return Ok(None);
    };
    let b = store.get_batch(batch_id).await?;
    Ok(Some(json!({
        "id": b.id,
        "size": b.size,
        "callback": false,
        "sealed": b.sealed_at.is_some(),
        "closed": b.finished_at.is_some(),
        "callback_job_id": b.callback_job_id,
    })))
}

#[tracing::instrument(skip_all)]
pub(super) async fn page(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let job = admin.state.store.get_job(id).await?;
    let (percent, text) = progress(&job);
    let history = audited(&admin, id).await?;
    let now = admin.state.store.now().await?;
    let lang = admin.lang();
    admin.render(
        "admin/jobs/show.html",
        "jobs",
        context! {
            job => view(&job, lang),
            progress_percent => percent,
            progress_text => text,
            has_progress => job.progress.is_some(),
            timeline => timeline::events(&job, &history, now, lang),
            batch => batch_facts(&admin, id).await?,
        },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    run_at: Option<String>,
    /// `yes` once the operator confirmed a delete.
    #[serde(default)]
    confirmed: Option<String>,
}

/// One action on one job, then back to its page with what happened (to the
/// list after a delete).
#[tracing::instrument(skip_all)]
pub(super) async fn act(
    admin: Admin,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AdminError> {
    if Action::parse(&action).is_none() {
        return Err(AdminError::NotFound);
    }
    let req = Request::parse(&action, form.reason.as_deref(), form.run_at.as_deref())?;
    let location = format!("/admin/jobs/{id}");
    let lang = admin.lang();
    if req.action == Action::Delete {
        let job = admin.state.store.get_job(id).await?;
        if !req.action.allows(job.state) {
            let why = actions::refusal(req.action, id, job.state, lang).in_lang(lang);
            return Ok(admin.redirect(&location, text!("Refusé : {why}", why = why)));
        }
        if form.confirmed.as_deref() != Some("yes") {
            return list::confirmation(
                &admin,
                &list::Confirm {
                    post_to: &format!("{location}/delete"),
                    hidden: &[],
                    ids: &[id],
                    action: req.action,
                    back: &location,
                },
            )
            .await;
        }
    }
    match actions::apply(&admin, id, &req).await {
        Ok(Outcome::Done(job)) if req.action == Action::Delete => {
            Ok(admin.redirect("/admin/jobs", actions::done_sentence(req.action, &job, lang)))
        }
        Ok(Outcome::Done(job)) => Ok(admin.redirect(&location, actions::done_sentence(req.action, &job, lang))),
        Ok(Outcome::Refused(why)) => Ok(admin.redirect(&location, text!("Refusé : {why}", why = why))),
        // Deleted meanwhile (a second click, another operator).
        Err(AdminError::NotFound) if req.action == Action::Delete => {
            let why = text!("#{id} introuvable", id = id).in_lang(lang);
            Ok(admin.redirect("/admin/jobs", text!("Refusé : {why}", why = why)))
        }
        Err(e) => Err(e),
    }
}
