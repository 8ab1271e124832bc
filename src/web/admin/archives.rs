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
use crate::i18n::Lang;
use crate::jobs::{EnqueueOptions, Inserted, JobFilter, JobKind, JobState};
use crate::keeping::archive;
use crate::keeping::backup;
use crate::keeping::jobs::ArchiveYears;
use crate::store::Backend;
use crate::text;
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

/// A file's size in the reader's units (of 1 024), the number written the
/// French way: « 1,4 Mo », « 793 Ko », « 96 o » (in English « 1,4 MB »,
/// « 793 KB », « 96 B »).
pub(crate) fn file_size(bytes: i64, lang: Lang) -> String {
    const KO: f64 = 1024.0;
    let b = bytes as f64;
    let (value, unit) = if b >= KO * KO * KO {
        (b / (KO * KO * KO), text!("Go"))
    } else if b >= KO * KO {
        (b / (KO * KO), text!("Mo"))
    } else if b >= KO {
        (b / KO, text!("Ko"))
    } else {
        return format!("{bytes}\u{a0}{}", text!("o").in_lang(lang));
    };
    let number = if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}").trim_end_matches(".0").to_string()
    };
    format!("{}\u{a0}{}", number.replace('.', ","), unit.in_lang(lang))
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
    origin: String,
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
    let lang = admin.lang();
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
            size: file_size(a.size_bytes, lang),
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
                size: file_size(b.size_bytes, lang),
                origin: if b.origin == "job" {
                    text!("automatique")
                } else {
                    text!("à la main")
                }
                .in_lang(lang),
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
            text!("Les archives dues sont déjà en préparation (tâche {id})", id = id),
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
        text!(
            "Préparation des archives dues demandée (tâche {id}) : rechargez la page dans un instant",
            id = id
        ),
    ))
}

async fn download(admin: Admin, Path(year): Path<i32>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let Some(path) = archive::path_of(store, year).await? else {
        return Err(AdminError::NotFound);
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "archive unreadable");
        AdminError::Conflict(text!(
            "L'archive {year} ne peut pas être lue ({path}) : {error}",
            year = year,
            path = path.display(),
            error = e.kind()
        ))
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
    fn sizes_read_in_french_units_or_english_ones() {
        use super::{file_size, Lang};
        assert_eq!(file_size(96, Lang::Fr), "96\u{a0}o");
        assert_eq!(file_size(812_400, Lang::Fr), "793\u{a0}Ko");
        assert_eq!(file_size(1_436_000, Lang::Fr), "1,4\u{a0}Mo");
        assert_eq!(file_size(12_288, Lang::Fr), "12\u{a0}Ko");
        assert_eq!(file_size(64 * 1024 * 1024, Lang::Fr), "64\u{a0}Mo");
        assert_eq!(file_size(1_436_000, Lang::En), "1,4\u{a0}MB");
        assert_eq!(file_size(96, Lang::En), "96\u{a0}B");
    }
}
