//! Jobs through the API, for another service of the operator's:
//! `POST /api/jobs` enqueues a job of a kind the product's workers run, its
//! args checked against the kind's (the field at fault named), with the
//! defaults and checks of every other enqueue; a job (alive or completed)
//! already holding the unique key is answered instead (`duplicate: true`). `GET
//! /api/job-kinds` lists the kinds and their defaults. Enqueues are audited
//! (`job.enqueue`).

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::Fields;
use super::extract::from_value;
use super::idempotency::{answer, Idempotency, Keep};
use super::{Api, ApiError, FieldError, Json};
use crate::app::AppContext;
use crate::audit::{self, Record};
use crate::i18n::Text;
use crate::jobs::{self, mask, EnqueueOptions, Inserted, JobState, Registry, RunAt};
use crate::store::kinds::{JobSummary, KeySource, KindDefaults, KindLimit};
use crate::text;
use crate::web::{Access, Routes};

/// The kinds the product's workers run (built once).
static REGISTRY: LazyLock<Registry<AppContext>> = LazyLock::new(crate::app::registry);

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/jobs", Access::ApiKey, create)
        .get("/api/job-kinds", Access::ApiKey, kinds)
}

/// A job to enqueue. Left out: the kind's default (run_at: now).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnqueueIn {
    kind: String,
    #[serde(default = "empty_object")]
    args: Value,
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    priority: Option<i16>,
    #[serde(default)]
    run_at: Option<DateTime<Utc>>,
    #[serde(default)]
    unique_key: Option<String>,
    #[serde(default)]
    max_attempts: Option<i32>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// The job enqueued, or the job (alive or completed) that holds the unique
/// key already.
#[derive(Debug, Serialize)]
struct EnqueuedView {
    id: i64,
    duplicate: bool,
    kind: String,
    queue: String,
    priority: i16,
    max_attempts: i32,
    state: JobState,
    run_at: DateTime<Utc>,
    unique_key: Option<String>,
}

impl EnqueuedView {
    fn new(job: JobSummary, duplicate: bool) -> EnqueuedView {
        EnqueuedView {
            id: job.id,
            duplicate,
            kind: job.kind,
            queue: job.queue,
            priority: job.priority,
            max_attempts: job.max_attempts,
            state: job.state,
            run_at: job.run_at,
            unique_key: job.unique_key,
        }
    }
}

/// The checks every enqueue makes (`jobs::enqueue`), said field by field,
/// before the enqueue makes them again.
fn check(request: &EnqueueIn) -> Result<(), ApiError> {
    let mut fields = Fields::new();
    if REGISTRY.options(&request.kind).is_none() {
        let known: Vec<&str> = REGISTRY.kinds().collect();
        fields.add(
            "kind",
            text!(
                "type de tâche inconnu : {kind} (types connus : {known})",
                kind = &request.kind,
                known = known.join(", ")
            ),
        );
    } else if !request.args.is_object() {
        fields.add("args", text!("un objet JSON est attendu"));
    } else if let Ok(Some(e)) = REGISTRY.args_error(&request.kind, &request.args) {
        let field = if e.path.is_empty() {
            "args".to_string()
        } else {
            format!("args.{}", e.path)
        };
        fields.add(field, Text::verbatim(e.message));
    }
    if let Some(queue) = &request.queue {
        if queue.trim().is_empty() || queue.len() > 100 {
            fields.add("queue", text!("un nom de 1 à 100 caractères est attendu"));
        }
    }
    if request.max_attempts.is_some_and(|n| n < 1) {
        fields.add("max_attempts", text!("au moins 1"));
    }
    if request.unique_key.as_deref() == Some("") {
        fields.add(
            "unique_key",
            text!("ne peut pas être vide (omettez-la pour n'en donner aucune)"),
        );
    }
    fields.finish()
}

async fn create(api: Api, idem: Idempotency, Json(body): Json<Value>) -> Result<Response, ApiError> {
    let request: EnqueueIn = from_value(body.clone())?;
    check(&request)?;
    let caller = api.clone();
    idem.run(&api, &body, move |keep: Keep| async move {
        let api = caller;
        let opts = EnqueueOptions {
            queue: request.queue,
            priority: request.priority,
            max_attempts: request.max_attempts,
            run_at: request.run_at.map(RunAt::At),
            unique_key: request.unique_key,
            ..EnqueueOptions::default()
        };
        let masked = mask::mask_json(&request.args);
        let mut tx = api.state.store.begin().await?;
        let inserted = jobs::enqueue_raw(&mut tx, &REGISTRY, &request.kind, request.args, opts)
            .await
            .map_err(refused)?;
        let (id, duplicate) = match inserted {
            Inserted::New(id) => (id, false),
            Inserted::Duplicate(id) => (id, true),
        };
        let job = tx.job_summary(id).await?;
        let details = json!({
            "kind": request.kind,
            "queue": job.queue,
            "duplicate": duplicate,
            "unique_key": job.unique_key,
            "run_at": job.run_at,
            "args": masked,
        });
        audit::record_in(
            &mut tx,
            &api.actor,
            Record::new("job.enqueue", format!("job:{id}")).details(details),
        )
        .await?;
        let answered = answer(StatusCode::CREATED, &EnqueuedView::new(job, duplicate))?;
        keep.answer_in(&mut tx, &answered).await?;
        tx.commit().await?;
        Ok(answered)
    })
    .await
}

/// What the enqueue refused after [`check`] passed (a limit key the args
/// lack), said on the field it is about.
fn refused(e: jobs::Error) -> ApiError {
    let on = |field: &str, message: String| {
        ApiError::Validation(vec![FieldError {
            field: field.to_string(),
            message: Text::verbatim(message),
        }])
    };
    match e {
        jobs::Error::InvalidArgs { message, .. } => on("args", message),
        jobs::Error::InvalidOption(message) => on("", message),
        jobs::Error::UnknownKind(kind) => ApiError::field("kind", text!("type de tâche inconnu : {kind}", kind = kind)),
        other => other.into(),
    }
}

/// A kind and its defaults.
#[derive(Debug, Serialize)]
struct KindView {
    kind: String,
    queue: String,
    priority: i16,
    max_attempts: i32,
    /// At most `limit` jobs of one key run at once.
    concurrency: Option<LimitView>,
    /// At most `limit` starts per `period_ms` under one key.
    rate: Option<LimitView>,
}

/// A limit: its key is `kind:<kind>` without a name, else
/// `<name>:<the args' value at pointer>`.
#[derive(Debug, Serialize)]
struct LimitView {
    name: Option<String>,
    pointer: Option<String>,
    limit: i32,
    /// A rate's window; none for a concurrency limit.
    period_ms: Option<u64>,
}

impl From<KindLimit> for LimitView {
    fn from(l: KindLimit) -> Self {
        let (name, pointer) = match l.key {
            KeySource::Kind => (None, None),
            KeySource::Arg { name, pointer } => (Some(name), Some(pointer)),
        };
        LimitView {
            name,
            pointer,
            limit: l.limit,
            period_ms: l.period.map(|p| u64::try_from(p.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

impl From<KindDefaults> for KindView {
    fn from(k: KindDefaults) -> Self {
        KindView {
            concurrency: k.concurrency.map(LimitView::from),
            rate: k.rate.map(LimitView::from),
            kind: k.kind,
            queue: k.queue,
            priority: k.priority,
            max_attempts: k.max_attempts,
        }
    }
}

#[derive(Debug, Serialize)]
struct KindList {
    kinds: Vec<KindView>,
}

async fn kinds(_api: Api) -> Json<KindList> {
    Json(KindList {
        kinds: REGISTRY.describe().into_iter().map(KindView::from).collect(),
    })
}
