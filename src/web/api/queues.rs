//! The job queues through the API: `GET /api/queues` (each queue the store
//! or the worker knows: paused or not, jobs waiting and running),
//! `POST /api/queues/{name}/pause` and `POST /api/queues/{name}/resume`.
//!
//! A paused queue keeps accepting jobs; no worker on the database starts one
//! until it is resumed. Both are idempotent: pausing a paused queue answers
//! 200 with `changed: false` and records nothing; a change is audited
//! (`queue.pause`, `queue.resume`) in its own transaction.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::idempotency::{answer, Answer, Idempotency, Keep};
use super::{Api, ApiError, Json, Path};
use crate::audit::{self, Record};
use crate::store::queues::{self, QueueInfo, QueueName};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/api/queues", Access::ApiKey, list)
        .post("/api/queues/{name}/pause", Access::ApiKey, pause)
        .post("/api/queues/{name}/resume", Access::ApiKey, resume)
}

/// A queue as the API shows it.
#[derive(Debug, Serialize)]
struct QueueView {
    name: String,
    paused: bool,
    paused_at: Option<DateTime<Utc>>,
    paused_by: Option<String>,
    /// Jobs available, scheduled or retryable.
    waiting: i64,
    /// Jobs claimed or running.
    running: i64,
}

impl From<QueueInfo> for QueueView {
    fn from(q: QueueInfo) -> Self {
        QueueView {
            name: q.name,
            paused: q.paused,
            paused_at: q.paused_at,
            paused_by: q.paused_by,
            waiting: q.waiting,
            running: q.running,
        }
    }
}

#[derive(Debug, Serialize)]
struct QueueList {
    queues: Vec<QueueView>,
}

/// What a pause or a resume did.
#[derive(Debug, Serialize)]
struct QueueChange {
    queue: QueueView,
    /// `false` when the queue already was as asked (nothing recorded).
    changed: bool,
}

async fn list(api: Api) -> Result<Json<QueueList>, ApiError> {
    let known = crate::app::registry().queues();
    let queues = queues::with_known(api.state.store.list_queues().await?, known)
        .into_iter()
        .map(QueueView::from)
        .collect();
    Ok(Json(QueueList { queues }))
}

fn queue_name(name: &str) -> Result<QueueName, ApiError> {
    QueueName::parse(name).map_err(|_| {
        ApiError::field(
            "name",
            crate::text!(
                "un nom de file de 1 à {max} caractères, pas seulement des blancs, sans caractère de contrôle",
                max = QueueName::MAX
            ),
        )
    })
}

async fn pause(api: Api, idem: Idempotency, Path(name): Path<String>) -> Result<Response, ApiError> {
    let queue = queue_name(&name)?;
    let caller = api.clone();
    idem.run(&api, &Value::Null, move |keep: Keep| change(caller, queue, true, keep))
        .await
}

async fn resume(api: Api, idem: Idempotency, Path(name): Path<String>) -> Result<Response, ApiError> {
    let queue = queue_name(&name)?;
    let caller = api.clone();
    idem.run(&api, &Value::Null, move |keep: Keep| change(caller, queue, false, keep))
        .await
}

async fn change(api: Api, queue: QueueName, pause: bool, keep: Keep) -> Result<Answer, ApiError> {
    let mut tx = api.state.store.begin().await?;
    let changed = if pause {
        tx.pause_queue(&queue, &api.actor.name).await?
    } else {
        tx.resume_queue(&queue).await?
    };
    if changed {
        let code = if pause { "queue.pause" } else { "queue.resume" };
        audit::record_in(&mut tx, &api.actor, Record::new(code, format!("queue:{queue}"))).await?;
    }
    let info = tx.queue_info(&queue).await?;
    let answered = answer(
        StatusCode::OK,
        &QueueChange {
            queue: info.into(),
            changed,
        },
    )?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}
