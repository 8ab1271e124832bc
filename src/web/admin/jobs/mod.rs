//! Admin pages: the jobs list (filters, keyset pagination, bulk actions) and
//! a job's page (every field, args with secrets masked, errors, progress,
//! actions). Which action each state allows is in [`actions`].

mod actions;
mod list;
mod show;

use serde_json::{json, Value};

use crate::jobs::mask;

use crate::store::types::{JobRow, JobState};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/jobs/confirm.html"),
    crate::template!("admin/jobs/list.html"),
    crate::template!("admin/jobs/show.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/jobs", Access::Operator, list::page)
        .post("/admin/jobs/bulk", Access::Operator, list::bulk)
        .get("/admin/jobs/live.json", Access::Operator, list::live)
        .get("/admin/jobs/{id}", Access::Operator, show::page)
        .get("/admin/jobs/{id}/status.json", Access::Operator, show::status)
        // `retry`, `cancel`, `discard` or `run_at`.
        .post("/admin/jobs/{id}/{action}", Access::Operator, show::act)
}

/// Errors longer than this are cut in the list.
const SHORT_ERROR: usize = 90;

/// A job as pages show it: args, progress, unique key and errors masked, the
/// last error shortened, and the actions its state allows.
fn view(job: &JobRow) -> Value {
    let errors: Vec<Value> = job
        .errors
        .iter()
        .map(|e| json!({ "attempt": e.attempt, "at": e.at, "error": mask::mask_text(&e.error) }))
        .collect();
    let last_error = job.errors.last().map(|e| short_error(&e.error));
    let allowed: Vec<&str> = actions::Action::ALL
        .into_iter()
        .filter(|a| a.allows(job.state))
        .map(|a| a.name())
        .collect();
    json!({
        "id": job.id,
        "kind": job.kind,
        "queue": job.queue,
        "priority": job.priority,
        "state": job.state,
        "state_label": state_label(job),
        "object": business_object(&job.args),
        "final": job.state.is_final(),
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "run_at": job.run_at,
        "locked_by": job.locked_by,
        "locked_at": job.locked_at,
        "lease_expires_at": job.lease_expires_at,
        "unique_key": job.unique_key.as_deref().map(mask::mask_text),
        "args": mask::mask_json(&job.args),
        "progress": job.progress.as_ref().map(mask::mask_json),
        "errors": errors,
        "last_error": last_error,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "actions": allowed,
    })
}

/// A state in French; a running job its worker has claimed but not started
/// yet (it waits for a free slot) says so.
pub(super) fn state_label(job: &JobRow) -> &'static str {
    match (job.state, job.started_at) {
        (JobState::Running, None) => "réservée, pas encore commencée",
        (state, _) => state_fr(state),
    }
}

pub(super) fn state_fr(state: JobState) -> &'static str {
    match state {
        JobState::Available => "prête",
        JobState::Scheduled => "programmée",
        JobState::Running => "en cours",
        JobState::Retryable => "à retenter",
        JobState::Completed => "terminée",
        JobState::Cancelled => "annulée",
        JobState::Discarded => "écartée",
    }
}

/// What a job is about, from its arguments: the invoice, payment, contract,
/// order or import it names, with the page that shows it.
fn business_object(args: &Value) -> Value {
    const OBJECTS: [(&str, &str, &str); 5] = [
        ("invoice_id", "facture n°", "/admin/invoices/"),
        ("payment_id", "paiement n°", "/admin/payments/"),
        ("contract_id", "contrat n°", "/admin/contracts/"),
        ("order_id", "commande n°", "/admin/orders/"),
        ("import_id", "import n°", "/admin/imports/"),
    ];
    OBJECTS
        .iter()
        .find_map(|(key, label, href)| {
            args.get(key).and_then(Value::as_i64).map(
                |id| json!({ "key": key, "id": id, "label": format!("{label} {id}"), "href": format!("{href}{id}") }),
            )
        })
        .unwrap_or(Value::Null)
}

/// `{"done": 40, "total": 200}` → (20.0, "40 / 200"); other shapes as compact JSON.
fn progress(job: &JobRow) -> (Option<f64>, String) {
    let Some(p) = &job.progress else {
        return (None, String::new());
    };
    let done = p.get("done").and_then(Value::as_f64);
    let total = p.get("total").and_then(Value::as_f64);
    match (done, total) {
        (Some(done), Some(total)) if total > 0.0 => {
            let percent = (done / total * 1000.0).round() / 10.0;
            (
                Some(percent.clamp(0.0, 100.0)),
                format!("{done} / {total} ({percent} %)"),
            )
        }
        _ => (None, mask::mask_json(p).to_string()),
    }
}

/// An error as lists show it: masked and shortened.
pub(super) fn short_error(error: &str) -> String {
    shorten(&mask::mask_text(error), SHORT_ERROR)
}

/// At most `max` characters, `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
