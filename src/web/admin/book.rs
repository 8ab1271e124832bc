//! `/admin/book`: the livre de recettes. Choose a year, a quarter or a month;
//! see its lines and totals; "Générer" asks for its CSV and PDF (a job, one
//! per period and state of the book: `billing::jobs::book::request`), audited
//! (`book.generate`); while it runs the page says so and reloads when done;
//! the generated files are downloaded from `/admin/book/documents/{id}`
//! (audited, `book.download`).

mod view;

pub(super) use view::{month_name, period_label};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Admin, AdminError, Form, Path, Query};
use crate::audit::{self, Record};
use crate::billing::actions::book as actions;
use crate::billing::closures::{Closure, ClosureKind};
use crate::billing::jobs::book::{self, GenerateRevenueBook};
use crate::billing::render::BookPeriod;
use crate::billing::{book_check, revenue_book, settings};
use crate::i18n::{Lang, Text};
use crate::jobs::{Inserted, JobKind};
use crate::store::types::{JobFilter, JobRow, JobState};
use crate::text;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/book/page.html")];

/// Generated files listed per period.
const DOCUMENTS_LISTED: i64 = 20;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/book", Access::Operator, page)
        .post("/admin/book/generate", Access::Operator, generate)
        .get("/admin/book/status.json", Access::Operator, status)
        .get("/admin/book/documents/{id}", Access::Operator, download)
}

#[derive(Deserialize)]
struct PeriodQuery {
    #[serde(default)]
    period: Option<String>,
}

/// The period asked for (one that has begun), or the current quarter.
async fn chosen(admin: &Admin, period: Option<&str>) -> Result<(BookPeriod, chrono::NaiveDate), AdminError> {
    let today = admin.state.store.now().await?.date_naive();
    let period = match period.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => BookPeriod::parse(p)?,
        None => view::current_quarter(today),
    };
    if let Some((first_day, _)) = period.bounds() {
        crate::billing::dates::period(first_day, today)?;
    }
    Ok((period, today))
}

/// The period's generation jobs still alive, and the newest one.
struct Generation {
    pending: Option<JobRow>,
    latest: Option<JobRow>,
}

async fn generation(admin: &Admin, period: BookPeriod) -> Result<Generation, AdminError> {
    // The jobs' unique keys are `revenue-book:<period>:<last line of the book>`.
    let jobs = admin
        .state
        .store
        .list_jobs(&JobFilter {
            kind: Some(GenerateRevenueBook::KIND.to_string()),
            text: Some(format!("revenue-book:{}:", period.key())),
            limit: 20,
            ..JobFilter::default()
        })
        .await?;
    Ok(Generation {
        pending: jobs.iter().find(|j| !j.state.is_final()).cloned(),
        latest: jobs.into_iter().next(),
    })
}

/// What `#book-status` says, and whether generation is over.
#[derive(Serialize)]
struct Status {
    state: &'static str,
    label: String,
    /// The last attempt's error of a job that failed or is failing.
    error: Option<String>,
    done: bool,
}

fn status_of(g: &Generation, lang: Lang) -> Status {
    let last_error = |j: &JobRow| j.errors.last().map(|e| e.error.clone());
    if let Some(job) = &g.pending {
        let state = crate::audit::words::job_state(job.state.as_str())
            .map_or_else(|| job.state.as_str().to_string(), |t| t.in_lang(lang));
        return Status {
            state: job.state.as_str(),
            label: text!("Génération en cours… (tâche {id}, {state})", id = job.id, state = state).in_lang(lang),
            error: if job.state == JobState::Retryable {
                last_error(job)
            } else {
                None
            },
            done: false,
        };
    }
    match &g.latest {
        Some(job) if matches!(job.state, JobState::Discarded | JobState::Cancelled) => Status {
            state: job.state.as_str(),
            label: text!("La dernière génération a échoué (tâche {id})", id = job.id).in_lang(lang),
            error: last_error(job),
            done: true,
        },
        Some(job) => Status {
            state: job.state.as_str(),
            label: text!("Générée").in_lang(lang),
            error: None,
            done: true,
        },
        None => Status {
            state: "none",
            label: text!("Aucune génération en cours").in_lang(lang),
            error: None,
            done: true,
        },
    }
}

async fn page(admin: Admin, Query(q): Query<PeriodQuery>) -> Result<Response, AdminError> {
    let (period, today) = chosen(&admin, q.period.as_deref()).await?;
    let store = &admin.state.store;
    let (from, to) = period
        .bounds()
        .ok_or_else(|| AdminError::Invalid(text!("Période : hors limites")))?;
    let lang = admin.lang();
    let book_lines = revenue_book::list(store, from, to).await?;
    let (lines, totals) = view::lines_and_totals(period, &book_lines, lang);
    let first_year = revenue_book::first_date(store)
        .await?
        .map(|d| chrono::Datelike::year(&d));
    let documents = book::generated(store, &period.key(), DOCUMENTS_LISTED).await?;
    let newest = |kind: &str, format: &str| documents.iter().find(|d| d.kind == kind && d.format == format);
    let verification = book_check::verify(store).await?;
    let generation = generation(&admin, period).await?;
    admin.render(
        "admin/book/page.html",
        "book",
        context! {
            period => period.key(),
            period_label => period_label(period, lang),
            years => view::period_options(first_year, chrono::Datelike::year(&today), period, lang),
            lines => lines,
            line_count => book_lines.len(),
            lines_shown => view::LINES_SHOWN,
            totals => totals,
            documents => &documents,
            sizes => documents.iter().map(|d| super::archives::file_size(d.size, lang)).collect::<Vec<_>>(),
            newest_csv => newest(book::DOCUMENT_KIND, "csv"),
            newest_pdf => newest(book::DOCUMENT_KIND, "pdf"),
            newest_totals => newest(book::TOTALS_KIND, "csv"),
            newest_seal => newest(book::SEAL_KIND, "csv"),
            verification => &verification,
            verification_summary => summary(&verification).in_lang(lang),
            last_closure_label => verification.last_closure.as_ref().map(|c| closure_label(c, lang)),
            status => status_of(&generation, lang),
        },
    )
}

#[derive(Deserialize)]
struct GenerateForm {
    period: String,
}

async fn generate(admin: Admin, Form(form): Form<GenerateForm>) -> Result<Response, AdminError> {
    if form.period.trim().is_empty() {
        return Err(AdminError::Invalid(text!("Période : choisissez une période")));
    }
    let (period, _) = chosen(&admin, Some(&form.period)).await?;
    let store = &admin.state.store;
    // Without the seller's identity the job could only wait: say so now.
    settings::load(store).await?;
    // An altered book is never exported: refuse here rather than in the job.
    let verification = book_check::verify(store).await?;
    if !verification.is_intact() {
        return Err(AdminError::Conflict(
            text!("Export refusé : {summary} — détail : comptoir-worker billing verify-book")
                .with("summary", summary(&verification)),
        ));
    }
    let back = format!("/admin/book?period={}", period.key());
    let mut tx = store.begin().await?;
    let job_id = match actions::generate(&mut tx, &admin.actor, &period.key()).await? {
        Inserted::New(id) => id,
        Inserted::Duplicate(id) => {
            tx.rollback().await?;
            let job = store.get_job(id).await?;
            let label = period_label(period, admin.lang());
            let message = if job.state.is_final() {
                text!(
                    "Livre déjà généré tel qu'il est : {period} (tâche {id}) ; téléchargez-le ci-dessous",
                    period = label,
                    id = id
                )
            } else {
                text!(
                    "Une génération du livre de {period} est déjà en cours (tâche {id})",
                    period = label,
                    id = id
                )
            };
            return Ok(admin.redirect(&back, message));
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &back,
        text!(
            "Génération du livre demandée : {period} (tâche {id})",
            period = period_label(period, admin.lang()),
            id = job_id
        ),
    ))
}

async fn status(admin: Admin, Query(q): Query<PeriodQuery>) -> Result<Response, AdminError> {
    let (period, _) = chosen(&admin, q.period.as_deref()).await?;
    let status = status_of(&generation(&admin, period).await?, admin.lang());
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(status)).into_response())
}

async fn download(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let document = book::document(&admin.state.store, id).await?;
    if !book::KINDS.contains(&document.kind.as_str()) {
        return Err(AdminError::NotFound);
    }
    let content_type = match document.format.as_str() {
        "csv" => "text/csv; charset=utf-8",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    };
    audit::record(
        &admin.state.store,
        &admin.actor,
        Record::new("book.download", format!("document:{id}")).details(json!({
            "period": document.period_key,
            "format": document.format,
            "filename": document.filename,
            "sha256": document.sha256,
        })),
    )
    .await?;
    let disposition = format!("attachment; filename=\"{}\"", safe_filename(&document.filename));
    let mut response = (StatusCode::OK, document.content).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The book's check in one sentence: intact, or altered with how many anomalies.
fn summary(v: &book_check::Verification) -> Text {
    let n = v.findings.len();
    match n {
        0 => text!("livre de recettes intact"),
        1 => text!("livre de recettes altéré : 1 anomalie"),
        n => text!("livre de recettes altéré : {n} anomalies", n = n),
    }
}

/// « journée du 06/12/2026 », « Novembre 2026 », « année 2026 ».
fn closure_label(c: &Closure, lang: Lang) -> String {
    use chrono::Datelike;
    match c.kind {
        ClosureKind::Day => text!("journée du {date}", date = c.period_start.format("%d/%m/%Y")).in_lang(lang),
        ClosureKind::Month => text!("{month} {year}", year = c.period_start.year())
            .with("month", month_name(c.period_start.month()))
            .in_lang(lang),
        ClosureKind::Year => text!("année {year}", year = c.period_start.year()).in_lang(lang),
    }
}

/// A file name fit for a header: letters, digits, `.`, `-` and `_`.
fn safe_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.trim_matches(['.', '_']).is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_fit_a_header() {
        assert_eq!(
            super::safe_filename("livre-de-recettes-2026-Q4.csv"),
            "livre-de-recettes-2026-Q4.csv"
        );
        assert_eq!(super::safe_filename("a\"b\r\n.pdf"), "a_b__.pdf");
        assert_eq!(super::safe_filename(".."), "document");
    }
}
