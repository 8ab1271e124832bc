//! `/admin/jobs/{id}`: a job's page, its live state as JSON
//! (`/admin/jobs/{id}/status.json`, polled by `admin.js`), and one action at a time.

use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::actions::{self, Outcome, Request};
use super::{progress, view};
use crate::web::admin::{Admin, AdminError, Form, Path};

/// The job's live state, polled by its page.
#[tracing::instrument(skip_all)]
pub(super) async fn status(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let job = admin.state.store.get_job(id).await?;
    let (percent, text) = progress(&job);
    Ok(Json(json!({
        "id": job.id,
        "state": job.state,
        "state_label": super::state_label(&job),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "progress_percent": percent,
        "progress_text": text,
        "errors": job.errors.len(),
        "done": job.state.is_final(),
    }))
    .into_response())
}

#[tracing::instrument(skip_all)]
pub(super) async fn page(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let job = admin.state.store.get_job(id).await?;
    let (percent, text) = progress(&job);
    admin.render(
        "admin/jobs/show.html",
        "jobs",
        context! {
            job => view(&job),
            progress_percent => percent,
            progress_text => text,
            has_progress => job.progress.is_some(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    run_at: Option<String>,
}

/// One action on one job, then back to its page with what happened.
#[tracing::instrument(skip_all)]
pub(super) async fn act(
    admin: Admin,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AdminError> {
    if actions::Action::parse(&action).is_none() {
        return Err(AdminError::NotFound);
    }
    let req = Request::parse(&action, form.reason.as_deref(), form.run_at.as_deref())?;
    let location = format!("/admin/jobs/{id}");
    let flash = match actions::apply(&admin, id, &req).await? {
        Outcome::Done(job) => actions::done_sentence(req.action, &job),
        Outcome::Refused(why) => format!("Refusé : {why}"),
    };
    Ok(admin.redirect(&location, &flash))
}
