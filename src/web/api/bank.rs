//! Bank statements through the API, imported like the admin's uploads
//! (`billing::jobs::import`):
//!
//! - `POST /api/bank/statements?filename=releve.xml`: the body is the file
//!   itself, a camt.053 statement or a bank's CSV export (told apart by its
//!   content when the job runs, whatever the Content-Type), at most
//!   [`STATEMENT_LIMIT`]. It is kept in the data directory by its SHA-256
//!   (written to a temporary file, then renamed), registered as a payments
//!   import with its job in one transaction, audited (`import.upload`), and
//!   answered 202 with where to read the report. The same bytes sent again
//!   make a new import whose rows are all skipped ("already imported").
//! - `GET /api/imports/{id}`: an import's report (counts, bad rows and
//!   skipped rows by line; bank credits that wait for the operator are
//!   skipped rows "en attente de rapprochement : …").

use std::path::{Path as FsPath, PathBuf};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::idempotency::{answer, Answer, Idempotency, Keep};
use super::{Api, ApiError, Json, Path, Query};
use crate::audit::{self, Record};
use crate::billing::import::{self, ImportError, ImportKind, ImportReport, ImportStatus};
use crate::billing::jobs::import::{self as import_job, TempFile};
use crate::web::{Access, Routes};

/// The largest statement accepted (the route's body limit): a year of a
/// busy account's camt.053 is a few MiB.
pub(crate) const STATEMENT_LIMIT: usize = 20 * 1024 * 1024;
/// The name kept when the caller gives none.
const DEFAULT_FILENAME: &str = "releve-bancaire";

pub(super) fn routes() -> Routes {
    Routes::new()
        .add(
            Method::POST,
            "/api/bank/statements",
            Access::ApiKey,
            on(MethodFilter::POST, upload).layer(DefaultBodyLimit::max(STATEMENT_LIMIT)),
        )
        .get("/api/imports/{id}", Access::ApiKey, show)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Debug, Serialize)]
struct ImportAccepted {
    import_id: i64,
    job_id: i64,
    status: ImportStatus,
    report_url: String,
}

/// An import's report, with what it was and when it ran.
#[derive(Debug, Serialize)]
struct ImportView {
    #[serde(flatten)]
    report: ImportReport,
    kind: ImportKind,
    filename: String,
    job_id: Option<i64>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    /// Why the import failed as a whole (an unreadable file…), if it did.
    failure: Option<String>,
}

/// What the API answers for an import's error.
fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::NotFound(id) => ApiError::NotFound(format!("import {id}")),
        ImportError::Invalid { field, message } => ApiError::field(field, message),
        ImportError::Store(s) => s.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

/// 413 in the API's error shape (axum's own rejection is plain text).
fn too_large() -> Response {
    let body = json!({ "error": {
        "code": "payload_too_large",
        "message": format!("the statement is too large: {} MiB at most", STATEMENT_LIMIT / (1024 * 1024)),
    }});
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

#[tracing::instrument(skip_all, fields(api_key = api.key.id, bytes = tracing::field::Empty))]
async fn upload(
    api: Api,
    idem: Idempotency,
    Query(q): Query<UploadQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let filename = match q.filename.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(given) => import::file_name(given).map_err(import_error)?,
        None => DEFAULT_FILENAME.to_string(),
    };
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            tracing::info!(limit = STATEMENT_LIMIT, "bank statement refused: too large");
            return Ok(too_large());
        }
        Err(e) => {
            tracing::info!(error = %e.body_text(), "bank statement unreadable");
            return Err(ApiError::BadRequest(crate::text!(
                "le corps de la requête est illisible ; envoyez le fichier du relevé comme corps"
            )));
        }
    };
    tracing::Span::current().record("bytes", bytes.len());
    if bytes.is_empty() {
        return Err(ApiError::field(
            "body",
            crate::text!(
                "le fichier du relevé est vide : envoyez un relevé bancaire camt.053 (XML) ou CSV comme corps"
            ),
        ));
    }
    let sha = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || import::sha256_hex(&bytes))
            .await
            .map_err(|e| ApiError::Internal(format!("hashing a statement: {e}")))?
    };
    // The same file under the same name is the same request.
    let fingerprint = json!({ "filename": filename, "sha256": sha });
    let caller = api.clone();
    idem.run(&api, &fingerprint, move |keep: Keep| async move {
        register(caller, filename, sha, bytes, keep).await
    })
    .await
}

async fn register(api: Api, filename: String, sha: String, bytes: Bytes, keep: Keep) -> Result<Answer, ApiError> {
    let data_dir = api.state.app.config.data_dir.clone();
    let stored = import_job::stored_path(&data_dir, &sha);
    let size = bytes.len();
    // Written before the transaction, then registered and moved in place
    // inside it, as the admin's upload does: a refusal leaves nothing (the
    // temporary file is removed when dropped), and a failed import's
    // clean-up, which locks out registrations, cannot delete the copy this
    // import needs.
    let dir = stored
        .parent()
        .map(FsPath::to_path_buf)
        .unwrap_or_else(|| data_dir.join("imports"));
    let temp = write_temp(dir, bytes).await?;
    let mut tx = api.state.store.begin().await?;
    let registered = import_job::register_stored(&mut tx, ImportKind::Payments, &filename, &sha, stored.clone())
        .await
        .map_err(import_error)?;
    let job_id = registered
        .job_id
        .ok_or_else(|| ApiError::Internal(format!("import {} was registered without a job", registered.id)))?;
    temp.persist(&stored)
        .map_err(|e| ApiError::Internal(format!("storing a statement: {e}")))?;
    audit::record_in(
        &mut tx,
        &api.actor,
        Record::new("import.upload", format!("import:{}", registered.id)).details(json!({
            "kind": ImportKind::Payments.as_str(),
            "filename": registered.filename,
            "sha256": registered.sha256,
            "bytes": size,
            "job_id": job_id,
        })),
    )
    .await?;
    let answered = answer(
        StatusCode::ACCEPTED,
        &ImportAccepted {
            import_id: registered.id,
            job_id,
            status: registered.status,
            report_url: format!("/api/imports/{}", registered.id),
        },
    )?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    tracing::info!(
        import_id = registered.id,
        job_id,
        bytes = size,
        "bank statement queued for import"
    );
    Ok(answered)
}

/// Writes `bytes` to a new temporary file in `dir`, synced.
async fn write_temp(dir: PathBuf, bytes: Bytes) -> Result<TempFile, ApiError> {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let (temp, mut file) = TempFile::create(&dir)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        Ok(temp)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("storing a statement: {e}")))?
    .map_err(|e: std::io::Error| ApiError::Internal(format!("storing a statement: {e}")))
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<ImportView>, ApiError> {
    let import = import::get(&api.state.store, id).await.map_err(import_error)?;
    Ok(Json(ImportView {
        report: import.report(),
        kind: import.kind,
        filename: import.filename,
        job_id: import.job_id,
        created_at: import.created_at,
        finished_at: import.finished_at,
        failure: import.failure,
    }))
}
