//! The queues block of `/admin/jobs`: each queue the store or the worker
//! knows, running or paused (since when, by whom), how many of its jobs wait
//! and run, and one button: pause it or resume it
//! (`POST /admin/jobs/queues/pause` or `…/resume`, field `queue`). A paused
//! queue keeps accepting jobs; no worker starts one until it is resumed.
//! Both are audited (`queue.pause`, `queue.resume`, target `queue:NAME`),
//! in the same transaction as the change.

use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::{self, Record};
use crate::i18n::{Lang, Text};
use crate::store::queues::{self, QueueInfo, QueueName};
use crate::text;
use crate::web::admin::{Admin, AdminError, Form, Path};

/// Every queue as the block shows it, by name.
pub(super) async fn all(admin: &Admin) -> Result<Vec<QueueInfo>, AdminError> {
    let known = crate::app::registry().queues();
    Ok(queues::with_known(admin.state.store.list_queues().await?, known))
}

/// The block's rows, in `lang`.
pub(super) fn rows(queues: &[QueueInfo], lang: Lang) -> Vec<Value> {
    queues
        .iter()
        .map(|q| {
            let encoded: String = form_urlencoded::byte_serialize(q.name.as_bytes()).collect();
            let (action, button) = if q.paused {
                ("resume", text!("Reprendre"))
            } else {
                ("pause", text!("Mettre en pause"))
            };
            json!({
                "name": q.name,
                "paused": q.paused,
                "state_label": state_words(q).in_lang(lang),
                "waiting": q.waiting,
                "running": q.running,
                "href": format!("/admin/jobs?queue={encoded}"),
                "action": action,
                "button": button.in_lang(lang),
            })
        })
        .collect()
}

/// "en pause depuis le 01/12/2026 09:30:00 (par a@b.fr)", or "active".
fn state_words(q: &QueueInfo) -> Text {
    match (q.paused, q.paused_at) {
        (false, _) => text!("active"),
        (true, Some(at)) => text!(
            "en pause depuis le {at} (par {by})",
            at = crate::local_time::format_fr(at),
            by = q.paused_by.as_deref().unwrap_or("?")
        ),
        (true, None) => text!("en pause"),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct QueueForm {
    #[serde(default)]
    queue: String,
}

/// Pauses or resumes the posted queue, then back to the jobs page saying
/// what it means.
#[tracing::instrument(skip_all)]
pub(super) async fn act(
    admin: Admin,
    Path(action): Path<String>,
    Form(form): Form<QueueForm>,
) -> Result<Response, AdminError> {
    let pause = match action.as_str() {
        "pause" => true,
        "resume" => false,
        _ => return Err(AdminError::NotFound),
    };
    let queue = QueueName::parse(&form.queue).map_err(|_| {
        AdminError::Invalid(text!(
            "File : un nom de 1 à {max} caractères, pas seulement des blancs, sans caractère de contrôle",
            max = QueueName::MAX
        ))
    })?;
    let mut tx = admin.state.store.begin().await?;
    let changed = if pause {
        tx.pause_queue(&queue, &admin.actor.name).await?
    } else {
        tx.resume_queue(&queue).await?
    };
    if changed {
        let code = if pause { "queue.pause" } else { "queue.resume" };
        audit::record_in(&mut tx, &admin.actor, Record::new(code, format!("queue:{queue}"))).await?;
    }
    tx.commit().await?;
    let name = queue.as_str();
    let said = match (pause, changed) {
        (true, true) => text!(
            "File « {queue} » en pause : les tâches y attendent, aucune ne démarre",
            queue = name
        ),
        (true, false) => text!("File « {queue} » déjà en pause", queue = name),
        (false, true) => text!(
            "File « {queue} » reprise : ses tâches démarrent de nouveau",
            queue = name
        ),
        (false, false) => text!("File « {queue} » n'était pas en pause", queue = name),
    };
    Ok(admin.redirect("/admin/jobs", said))
}
