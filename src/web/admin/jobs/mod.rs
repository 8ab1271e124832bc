//! Admin pages: the jobs list (filters, sortable columns, keyset pagination,
//! bulk actions, the [`queues`] with their pause button) and a job's page
//! (every field, args with secrets masked, errors, progress, its
//! [`timeline`], actions), in the operator's language:
//! states and the product's kinds in words, codes only where they are the
//! program's names. Which action each state allows is in [`actions`].

mod actions;
mod list;
mod queues;
mod show;
mod timeline;

use serde_json::{json, Value};

use crate::i18n::{Lang, Text};
use crate::jobs::mask;
use crate::store::types::{JobRow, JobState};
use crate::text;
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
        // `pause` or `resume` the queue named by the form's `queue`.
        .post("/admin/jobs/queues/{action}", Access::Operator, queues::act)
        .get("/admin/jobs/{id}", Access::Operator, show::page)
        .get("/admin/jobs/{id}/status.json", Access::Operator, show::status)
        // `retry`, `cancel`, `discard`, `run_at` or `delete`.
        .post("/admin/jobs/{id}/{action}", Access::Operator, show::act)
}

/// Errors longer than this are cut in the list.
const SHORT_ERROR: usize = 90;

/// A job as pages show it, in `lang`: args, progress, unique key and errors
/// masked, the last error shortened, its state and kind in words, and the
/// actions its state allows.
fn view(job: &JobRow, lang: Lang) -> Value {
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
        "kind_label": kind_label(&job.kind).map(|t| t.in_lang(lang)),
        "queue": job.queue,
        "priority": job.priority,
        "state": job.state,
        "state_label": state_label(job).in_lang(lang),
        "object": business_object(&job.args, lang),
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

/// A job's state in words; a running job its worker has claimed but not
/// started yet (it waits for a free slot) says so.
pub(super) fn state_label(job: &JobRow) -> Text {
    match (job.state, job.started_at) {
        (JobState::Running, None) => text!("réservée, pas encore commencée"),
        (state, _) => state.words(),
    }
}

/// What a kind of the product does, in words; none for a kind it does not
/// know (a test's, a retired one's): its code name is shown alone.
pub(super) fn kind_label(kind: &str) -> Option<Text> {
    Some(match kind {
        "auth.send_signin_link" => text!("Envoi d'un lien de connexion"),
        "billing.capture_payment" => text!("Capture d'un paiement"),
        "billing.charge_payment" => text!("Encaissement d'un paiement"),
        "billing.charge_sepa" => text!("Prélèvement SEPA"),
        "billing.close_book" => text!("Clôture du livre de recettes"),
        "billing.dunning" => text!("Relance des factures impayées"),
        "billing.expire_order" => text!("Expiration d'une commande"),
        "billing.generate_revenue_book" => text!("Édition du livre de recettes"),
        "billing.import_csv" => text!("Import d'un fichier CSV"),
        "billing.invoice_contract" => text!("Facturation d'un contrat"),
        "billing.monthly_run" => text!("Facturation mensuelle"),
        "billing.monthly_summary" => text!("Bilan de la facturation mensuelle"),
        "billing.reconcile_payments" => text!("Rapprochement des paiements"),
        "billing.refund_payment" => text!("Remboursement d'un paiement"),
        "billing.send_invoice_email" => text!("Envoi d'une facture par e-mail"),
        "billing.send_receipt" => text!("Envoi d'un reçu"),
        "billing.send_reminder" => text!("Envoi d'une relance"),
        "billing.send_urssaf_reminder" => text!("Rappel d'une déclaration URSSAF"),
        "billing.sync_payment" => text!("Mise à jour d'un paiement auprès du prestataire"),
        "billing.urssaf_reminders" => text!("Rappels des déclarations URSSAF"),
        "keeping.archive_years" => text!("Archivage des années closes"),
        "keeping.backup" => text!("Sauvegarde"),
        "noop" => text!("Tâche d'essai (ne fait rien)"),
        _ => return None,
    })
}

/// What a job is about, from its arguments: the invoice, payment, contract,
/// order or import it names, with the page that shows it.
fn business_object(args: &Value, lang: Lang) -> Value {
    const OBJECTS: [(&str, &str); 5] = [
        ("invoice_id", "/admin/invoices/"),
        ("payment_id", "/admin/payments/"),
        ("contract_id", "/admin/contracts/"),
        ("order_id", "/admin/orders/"),
        ("import_id", "/admin/imports/"),
    ];
    OBJECTS
        .iter()
        .find_map(|(key, href)| {
            args.get(key).and_then(Value::as_i64).map(|id| {
                let label = match *key {
                    "invoice_id" => text!("facture n° {id}", id = id),
                    "payment_id" => text!("paiement n° {id}", id = id),
                    "contract_id" => text!("contrat n° {id}", id = id),
                    "order_id" => text!("commande n° {id}", id = id),
                    _ => text!("import n° {id}", id = id),
                };
                json!({ "key": key, "id": id, "label": label.in_lang(lang), "href": format!("{href}{id}") })
            })
        })
        .unwrap_or(Value::Null)
}

/// A number as French writes it (`12,5`), in every language.
fn number(x: f64) -> String {
    format!("{x}").replace('.', ",")
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
                format!("{} / {} ({} %)", number(done), number(total), number(percent)),
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
