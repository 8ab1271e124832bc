//! `/admin/archives`: the yearly archives (one per closed year, made by the
//! `keeping.archive_years` job; downloadable, audited `archive.download`),
//! the closed years still waiting for theirs ("Créer les archives dues"
//! asks the job now, audited `archive.request`), and the latest backups
//! (listed, not downloadable: a backup holds the book's signing key).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use minijinja::context;
use serde::Serialize;
use serde_json::json;

use super::{Admin, AdminError, Form, Path};
use crate::audit::{self, Record};
use crate::billing::closures::{self, ClosureKind};
use crate::jobs::{EnqueueOptions, Inserted, JobFilter, JobKind, JobState};
use crate::keeping::archive;
use crate::keeping::backup;
use crate::keeping::jobs::ArchiveYears;
use crate::store::Backend;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/archives.html")];

/// Backups listed.
const BACKUPS_LISTED: i64 = 10;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/archives", Access::Operator, page)
        .post("/admin/archives/make", Access::Operator, make)
        .get("/admin/archives/{year}", Access::Operator, download)
}

/// « 1,4 Mo », « 812 ko », « 96 o ».
fn size_fr(bytes: i64) -> String {
    const KO: f64 = 1000.0;
    let b = bytes as f64;
    let (value, unit) = if b >= KO * KO * KO {
        (b / (KO * KO * KO), "Go")
    } else if b >= KO * KO {
        (b / (KO * KO), "Mo")
    } else if b >= KO {
        (b / KO, "ko")
    } else {
        return format!("{bytes} o");
    };
    let text = if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    format!("{}\u{a0}{unit}", text.replace('.', ","))
}

#[derive(Serialize)]
struct ArchiveView {
    year: i32,
    file_name: String,
    path: String,
    size: String,
    sha256: String,
    files: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    present: bool,
}

#[derive(Serialize)]
struct BackupView {
    file_name: String,
    path: String,
    size: String,
    origin: &'static str,
    created_at: chrono::DateTime<chrono::Utc>,
    present: bool,
}

/// A job archiving the years, running or due now (not the periodic one
/// waiting for tonight: that one is always there).
async fn pending_job(admin: &Admin) -> Result<Option<i64>, AdminError> {
    let store = &admin.state.store;
    let now = store.now().await?;
    let jobs = store
        .list_jobs(&JobFilter {
            kind: Some(ArchiveYears::KIND.to_string()),
            limit: 20,
            ..JobFilter::default()
        })
        .await?;
    Ok(jobs
        .iter()
        .find(|j| match j.state {
            JobState::Available | JobState::Running | JobState::Retryable => true,
            JobState::Scheduled => j.run_at <= now,
            JobState::Completed | JobState::Cancelled | JobState::Discarded => false,
        })
        .map(|j| j.id))
}

async fn page(admin: Admin) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let config = &admin.state.app.config;
    let archives = archive::list(store).await?;
    let closed: std::collections::BTreeSet<i32> = closures::all(store)
        .await?
        .iter()
        .filter(|c| c.kind == ClosureKind::Year)
        .map(|c| c.period_start.year())
        .collect();
    let due: Vec<i32> = closed
        .iter()
        .rev()
        .copied()
        .filter(|y| !archives.iter().any(|(a, present)| a.year == *y && *present))
        .collect();
    let archive_views: Vec<ArchiveView> = archives
        .into_iter()
        .map(|(a, present)| ArchiveView {
            year: a.year,
            path: std::path::Path::new(&a.directory)
                .join(&a.file_name)
                .display()
                .to_string(),
            file_name: a.file_name,
            size: size_fr(a.size_bytes),
            sha256: a.sha256,
            files: a.files,
            created_at: a.created_at,
            present,
        })
        .collect();
    let backups: Vec<BackupView> = backup::recent(store, BACKUPS_LISTED)
        .await?
        .into_iter()
        .map(|b| {
            let path = std::path::Path::new(&b.directory).join(&b.file_name);
            BackupView {
                present: path.is_file(),
                path: path.display().to_string(),
                file_name: b.file_name,
                size: size_fr(b.size_bytes),
                origin: if b.origin == "job" { "automatique" } else { "à la main" },
                created_at: b.created_at,
            }
        })
        .collect();
    admin.render(
        "admin/archives.html",
        "archives",
        context! {
            archives => archive_views,
            due => due,
            pending_job => pending_job(&admin).await?,
            archive_time => crate::local_time::utc_time_of_day(3, 0),
            backups => backups,
            postgres => store.backend() == Backend::Postgres,
            backup_dir => config.backup_dir().display().to_string(),
            archive_dir => config.archive_dir().display().to_string(),
        },
    )
}

#[derive(serde::Deserialize)]
struct MakeForm {}

/// Asks the job to make the archives due now, rather than tonight.
async fn make(admin: Admin, Form(_): Form<MakeForm>) -> Result<Response, AdminError> {
    let back = "/admin/archives";
    if let Some(id) = pending_job(&admin).await? {
        return Ok(admin.redirect(
            back,
            &format!("Les archives dues sont déjà en préparation (tâche n° {id})"),
        ));
    }
    let store = &admin.state.store;
    let mut tx = store.begin().await?;
    let id = match crate::jobs::enqueue(&mut tx, &ArchiveYears {}, EnqueueOptions::new()).await? {
        Inserted::New(id) | Inserted::Duplicate(id) => id,
    };
    audit::record_in(
        &mut tx,
        &admin.actor,
        Record::new("archive.request", format!("job:{id}")).details(json!({ "job_id": id })),
    )
    .await?;
    tx.commit().await?;
    Ok(admin.redirect(
        back,
        &format!("Préparation des archives dues demandée (tâche n° {id}) : rechargez la page dans un instant"),
    ))
}

async fn download(admin: Admin, Path(year): Path<i32>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let Some(path) = archive::path_of(store, year).await? else {
        return Err(AdminError::NotFound);
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "archive unreadable");
        AdminError::Conflict(crate::i18n::Text::verbatim(format!(
            "L'archive {year} ne peut pas être lue ({}) : {e}",
            path.display()
        )))
    })?;
    audit::record(
        store,
        &admin.actor,
        Record::new("archive.download", format!("archive:{year}")).details(json!({
            "year": year,
            "file": path.display().to_string(),
            "size": bytes.len(),
        })),
    )
    .await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", archive::file_name(year))) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_in_french() {
        assert_eq!(super::size_fr(96), "96 o");
        assert_eq!(super::size_fr(812_400), "812\u{a0}ko");
        assert_eq!(super::size_fr(1_436_000), "1,4\u{a0}Mo");
        assert_eq!(super::size_fr(12_000), "12,0\u{a0}ko");
    }
}
