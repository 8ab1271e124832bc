//! Generating the livre de recettes of a period as CSV and PDF, kept in the
//! database for download (the book must be kept ten years).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::settle;
use crate::billing::render::{export_book, BookExport, BookPeriod};
use crate::billing::sql::documents::{self, StoredDocument};
use crate::billing::BillingError;
use crate::context::AppContext;
use crate::jobs::{EnqueueOptions, Inserted, Job, JobContext, JobKind, JobResult, KindOptions};
use crate::store::{Store, Tx};

pub const DOCUMENT_KIND: &str = "livre_de_recettes";
/// The quarterly and yearly totals (CSV) of an export.
pub const TOTALS_KIND: &str = "livre_de_recettes_totaux";
/// The seal (CSV) of an export.
pub const SEAL_KIND: &str = "livre_de_recettes_scellement";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenerateRevenueBook {
    /// `2026`, `2026-Q1` or `2026-11`.
    pub period: String,
}

impl JobKind for GenerateRevenueBook {
    const KIND: &'static str = "billing.generate_revenue_book";
    fn options() -> KindOptions {
        KindOptions {
            queue: "documents".into(),
            max_attempts: 5,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for GenerateRevenueBook {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        settle(generate(ctx.store(), &self.period, Some(ctx.job.id)).await.map(|_| ()))
    }
}

/// Exports the period (after verifying the book: an altered book is
/// refused) and stores its four files; returns the ids of the lines' CSV and the PDF.
pub async fn generate(store: &Store, period: &str, job_id: Option<i64>) -> Result<(i64, i64), BillingError> {
    let period = BookPeriod::parse(period)?;
    let export = export_book(store, period).await?;
    let [csv_name, totals_name, pdf_name, seal_name] = BookExport::file_names(period);
    let key = period.key();
    let mut tx = store.begin().await?;
    let csv = save(&mut tx, DOCUMENT_KIND, &key, "csv", &csv_name, &export.csv, job_id).await?;
    let pdf = save(&mut tx, DOCUMENT_KIND, &key, "pdf", &pdf_name, &export.pdf, job_id).await?;
    save(
        &mut tx,
        TOTALS_KIND,
        &key,
        "csv",
        &totals_name,
        &export.totals_csv,
        job_id,
    )
    .await?;
    save(&mut tx, SEAL_KIND, &key, "csv", &seal_name, &export.seal_csv, job_id).await?;
    tx.commit().await?;
    tracing::info!(period = %period.key(), lines = export.lines, "livre de recettes generated");
    Ok((csv, pdf))
}

async fn save(
    tx: &mut Tx,
    kind: &str,
    key: &str,
    format: &str,
    filename: &str,
    bytes: &[u8],
    job_id: Option<i64>,
) -> Result<i64, BillingError> {
    let sha: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    Ok(documents::insert(tx, kind, key, format, filename, bytes, &sha, job_id).await?)
}

/// Asks for a generation of the book as it stands: one per period and state
/// of the book (its last line), so a second request returns the first job
/// until a new receipt or refund is written.
pub async fn request(tx: &mut Tx, period: &str) -> Result<Inserted, BillingError> {
    let period = BookPeriod::parse(period)?;
    let head = crate::billing::revenue_book::last_seq(tx).await?;
    crate::jobs::enqueue(
        tx,
        &GenerateRevenueBook { period: period.key() },
        EnqueueOptions::new().unique_key(format!("revenue-book:{}:{head}", period.key())),
    )
    .await
    .map_err(BillingError::from)
}

/// Closes the livre de recettes (days with receipts before today, months and
/// years ended), daily: a periodic job, once per slot.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloseBook {}

impl JobKind for CloseBook {
    const KIND: &'static str = "billing.close_book";
    fn options() -> KindOptions {
        KindOptions {
            queue: "documents".into(),
            max_attempts: 10,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for CloseBook {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        settle(crate::billing::closures::close_due(ctx.store()).await.map(drop))
    }
}

/// The newest generated file of a period (`csv` or `pdf`).
pub async fn latest(store: &Store, period: &str, format: &str) -> Result<Option<StoredDocument>, BillingError> {
    let period = BookPeriod::parse(period)?;
    Ok(documents::latest(store, DOCUMENT_KIND, &period.key(), format).await?)
}

/// The files generated for a period (lines, totals, PDF, seal), newest first, without their bytes.
pub async fn generated(store: &Store, period: &str, limit: i64) -> Result<Vec<StoredDocument>, BillingError> {
    let period = BookPeriod::parse(period)?;
    let mut all = Vec::new();
    for kind in KINDS {
        all.extend(documents::list(store, kind, &period.key(), limit).await?);
    }
    all.sort_by_key(|d| std::cmp::Reverse(d.id));
    all.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(all)
}

/// The kinds of the files an export stores.
pub const KINDS: [&str; 3] = [DOCUMENT_KIND, TOTALS_KIND, SEAL_KIND];

/// One stored document, for download.
pub async fn document(store: &Store, id: i64) -> Result<StoredDocument, BillingError> {
    documents::get(store, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("document {id}")))
}
