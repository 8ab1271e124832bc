//! `/admin/imports`: CSV imports of customers and bank statements. The list
//! and the upload form; an upload is streamed to the data directory, then
//! registered and its job enqueued (`billing::jobs::import`), audited
//! (`import.upload`). An import's page shows its progress live (from
//! `/admin/imports/{id}/status.json`), then its report: counts, bad rows and
//! skipped rows by line.

mod upload;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{empty_as_none, next_before, Admin, AdminError, Path, Query, PAGE_SIZE};
use crate::audit::{self, Record};
use crate::billing::import::{self, Import, ImportStatus, RowNote, MAX_LISTED};
use crate::billing::jobs::import as import_job;
use crate::i18n::Lang;
use crate::text;
use crate::web::{Access, Routes};
use upload::{UploadError, UPLOAD_LIMIT};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/imports/list.html"),
    crate::template!("admin/imports/show.html"),
];

/// Bad or skipped rows shown per page of a report.
const NOTES_PER_PAGE: usize = 100;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/imports", Access::Operator, list)
        .add(
            Method::POST,
            "/admin/imports",
            Access::Operator,
            on(MethodFilter::POST, upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .get("/admin/imports/{id}", Access::Operator, show)
        .get("/admin/imports/{id}/status.json", Access::Operator, status)
}

fn status_label(status: ImportStatus, lang: Lang) -> String {
    match status {
        ImportStatus::Pending => text!("en attente"),
        ImportStatus::Running => text!("en cours"),
        ImportStatus::Completed => text!("terminé"),
        ImportStatus::Failed => text!("échec"),
    }
    .in_lang(lang)
}

fn is_finished(status: ImportStatus) -> bool {
    matches!(status, ImportStatus::Completed | ImportStatus::Failed)
}

/// An import as a list or page shows it.
#[derive(Serialize)]
struct ImportView<'a> {
    #[serde(flatten)]
    import: &'a Import,
    status_label: String,
    finished: bool,
    /// The kept file's size, in words; none once it is removed.
    size: Option<String>,
}

impl<'a> ImportView<'a> {
    fn of(import: &'a Import, data_dir: &std::path::Path, lang: Lang) -> ImportView<'a> {
        let kept = import_job::stored_path(data_dir, &import.sha256);
        ImportView {
            import,
            status_label: status_label(import.status, lang),
            finished: is_finished(import.status),
            size: std::fs::metadata(kept)
                .ok()
                .map(|m| super::archives::file_size(i64::try_from(m.len()).unwrap_or(i64::MAX), lang)),
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    list_page(&admin, StatusCode::OK, q.before, None, None).await
}

/// The list with the upload form; `error` and `kind` when a refused upload is shown again.
async fn list_page(
    admin: &Admin,
    status: StatusCode,
    before: Option<i64>,
    error: Option<String>,
    kind: Option<&str>,
) -> Result<Response, AdminError> {
    let imports = import::list(&admin.state.store, before, PAGE_SIZE).await?;
    let data_dir = &admin.state.app.config.data_dir;
    let views: Vec<ImportView> = imports
        .iter()
        .map(|i| ImportView::of(i, data_dir, admin.lang()))
        .collect();
    admin.render_status(
        status,
        "admin/imports/list.html",
        "imports",
        context! {
            imports => views,
            next_before => next_before(&imports, PAGE_SIZE, |i| i.id),
            error => error,
            kind => kind.unwrap_or("customers"),
            limit => upload::limit_text().in_lang(admin.lang()),
        },
    )
}

async fn upload(admin: Admin, multipart: Result<Multipart, MultipartRejection>) -> Result<Response, AdminError> {
    let data_dir = admin.state.app.config.data_dir.clone();
    let received = match multipart {
        Ok(m) => upload::receive(m, &data_dir.join("imports")).await,
        Err(_) => Err(UploadError::NotMultipart),
    };
    let received = match received {
        Ok(r) => r,
        Err(e) => return refuse(&admin, e, None).await,
    };
    let stored = import_job::stored_path(&data_dir, &received.sha256);
    let kind = received.kind;
    // Registered first, the file kept inside the same transaction: a refusal
    // leaves nothing in the data directory (the temporary file is removed
    // when dropped), and a failed import's clean-up, which locks out
    // registrations, cannot delete the copy this import needs.
    let mut tx = admin.state.store.begin().await?;
    let registered =
        match import_job::register_stored(&mut tx, kind, &received.filename, &received.sha256, stored.clone()).await {
            Ok(r) => r,
            Err(e @ import::ImportError::Invalid { .. }) => {
                tx.rollback().await?;
                let message = text!("Fichier refusé : {why}")
                    .with("why", upload::admin_text(e))
                    .in_lang(admin.lang());
                return list_page(
                    &admin,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                    Some(message),
                    Some(kind.as_str()),
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        };
    if let Err(e) = received.file.persist(&stored).map_err(upload::io) {
        tx.rollback().await?;
        return refuse(&admin, e, Some(kind.as_str())).await;
    }
    audit::record_in(
        &mut tx,
        &admin.actor,
        Record::new("import.upload", format!("import:{}", registered.id)).details(json!({
            "kind": kind.as_str(),
            "filename": registered.filename,
            "sha256": registered.sha256,
            "bytes": received.size,
            "job_id": registered.job_id,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/imports/{}", registered.id),
        text!(
            "Import n° {id} enregistré : il s'exécute en arrière-plan.",
            id = registered.id
        ),
    ))
}

async fn refuse(admin: &Admin, e: UploadError, kind: Option<&str>) -> Result<Response, AdminError> {
    if let UploadError::Io(detail) = &e {
        tracing::error!(%detail, "an upload could not be stored");
    }
    let status = e.status();
    list_page(admin, status, None, Some(e.text().in_lang(admin.lang())), kind).await
}

#[derive(Deserialize)]
struct ShowQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    errors_from: Option<usize>,
    #[serde(default, deserialize_with = "empty_as_none")]
    skips_from: Option<usize>,
}

/// The import's live progress, polled by its page.
async fn status(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let import = import::get(&admin.state.store, id).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(progress(&import, admin.lang())),
    )
        .into_response())
}

async fn show(admin: Admin, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> Result<Response, AdminError> {
    let import = import::get(&admin.state.store, id).await?;
    let errors = NotesPage::of(&import.errors, q.errors_from);
    let skips = NotesPage::of(&import.skips, q.skips_from);
    let lang = admin.lang();
    admin.render(
        "admin/imports/show.html",
        "imports",
        context! {
            import => ImportView::of(&import, &admin.state.app.config.data_dir, lang),
            progress => progress(&import, lang),
            errors => errors,
            skips => skips,
            max_listed => MAX_LISTED,
        },
    )
}

/// What the page's progress bar polls: `rows_done` of `total` rows,
/// `percent` (null while unknown) and `done` once the import is finished.
fn progress(import: &Import, lang: Lang) -> serde_json::Value {
    let rows_done = (import.imported_rows + import.skipped_rows).max(0);
    let total = import.total_rows.max(0);
    let percent = match import.status {
        ImportStatus::Completed => Some(100),
        _ if total > 0 => Some((rows_done * 100 / total).min(100)),
        _ => None,
    };
    json!({
        "status": import.status.as_str(),
        "label": status_label(import.status, lang),
        "rows_done": rows_done,
        "total": total,
        "percent": percent,
        "done": is_finished(import.status),
    })
}

/// A page of a report's notes (bad or skipped rows), by position.
#[derive(Serialize)]
struct NotesPage<'a> {
    rows: &'a [RowNote],
    /// Position of the first row shown (from 0).
    from: usize,
    /// Where the next page starts, if there is one.
    next: Option<usize>,
    listed: usize,
}

impl<'a> NotesPage<'a> {
    fn of(notes: &'a [RowNote], from: Option<usize>) -> NotesPage<'a> {
        let from = from.unwrap_or(0).min(notes.len());
        let to = (from + NOTES_PER_PAGE).min(notes.len());
        NotesPage {
            rows: &notes[from..to],
            from,
            next: (to < notes.len()).then_some(to),
            listed: notes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(status: ImportStatus, total: i64, imported: i64, skipped: i64) -> Import {
        Import {
            id: 1,
            kind: import::ImportKind::Customers,
            filename: "clients.csv".into(),
            sha256: "0".repeat(64),
            status,
            total_rows: total,
            imported_rows: imported,
            skipped_rows: skipped,
            errors: Vec::new(),
            skips: Vec::new(),
            failure: None,
            job_id: None,
            created_at: chrono::Utc::now(),
            finished_at: None,
        }
    }

    #[test]
    fn progress_counts_rows_applied_or_skipped() {
        let p = progress(&import(ImportStatus::Running, 5000, 900, 100), Lang::Fr);
        assert_eq!(
            (&p["rows_done"], &p["total"], &p["percent"], &p["done"]),
            (&json!(1000), &json!(5000), &json!(20), &json!(false))
        );
        // Still validating: the total is not known yet.
        assert!(progress(&import(ImportStatus::Running, 0, 0, 0), Lang::Fr)["percent"].is_null());
        let p = progress(&import(ImportStatus::Completed, 0, 0, 0), Lang::En);
        assert_eq!((&p["percent"], &p["done"]), (&json!(100), &json!(true)));
        assert_eq!(
            progress(&import(ImportStatus::Failed, 10, 0, 0), Lang::Fr)["done"],
            json!(true)
        );
        assert_eq!(p["label"], json!("completed"));
    }

    #[test]
    fn notes_are_paged() {
        let notes: Vec<RowNote> = (2..260)
            .map(|line| RowNote {
                line,
                message: "bad".into(),
            })
            .collect();
        let first = NotesPage::of(&notes, None);
        assert_eq!((first.rows.len(), first.rows[0].line, first.next), (100, 2, Some(100)));
        let last = NotesPage::of(&notes, Some(200));
        assert_eq!((last.rows.len(), last.next, last.listed), (58, None, 258));
        assert!(NotesPage::of(&notes, Some(9999)).rows.is_empty());
    }
}
