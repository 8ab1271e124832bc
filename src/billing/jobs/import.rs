//! Running a CSV import as a job: its progress is the job's progress, a file
//! with bad rows is refused whole (the report lists each by line), a file
//! that can be retried (database busy) is retried. The kept file of an import
//! that failed for good is deleted (its report stays); the file of an import
//! that succeeded is kept.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::billing::import::{self, Import, ImportError, ImportKind, ImportProgress, ImportStatus};
use crate::context::AppContext;
use crate::jobs::{enqueue, EnqueueOptions, Job, JobContext, JobError, JobKind, JobResult, KindOptions, Outcome};
use crate::store::{Store, Tx};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportCsv {
    pub import_id: i64,
    /// The stored copy of the uploaded file.
    pub path: PathBuf,
}

impl JobKind for ImportCsv {
    const KIND: &'static str = "billing.import_csv";
    fn options() -> KindOptions {
        KindOptions {
            queue: "imports".into(),
            max_attempts: 5,
            timeout: std::time::Duration::from_secs(6 * 3600),
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for ImportCsv {
    async fn perform(mut self, ctx: JobContext<AppContext>) -> JobResult {
        self.path = self.located(&ctx.app.config.data_dir);
        // The import reports progress synchronously; a task writes it to the job row.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ImportProgress>();
        let writer = {
            let store = ctx.store().clone();
            let (id, attempt) = (ctx.job.id, ctx.job.attempt);
            tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    let value = serde_json::json!({ "done": p.done, "total": p.total });
                    let _ = store.set_job_progress(id, attempt, &value).await;
                }
            })
        };
        let result = import::run(ctx.store(), self.import_id, &self.path, move |p| {
            let _ = tx.send(p);
        })
        .await;
        let _ = writer.await;
        let last_attempt = ctx.job.attempt >= ctx.job.max_attempts;
        match result {
            Ok(report) if report.status == ImportStatus::Completed => Ok(Outcome::Done),
            Ok(report) => {
                self.discard_file(ctx.store()).await;
                Ok(Outcome::Cancel(format!(
                    "file refused, nothing imported: {} bad row(s) (see import {})",
                    report.bad_rows, report.import_id
                )))
            }
            Err(e) if e.is_transient() => {
                if last_attempt {
                    self.discard_file(ctx.store()).await;
                }
                Err(JobError::msg(e))
            }
            Err(e) => {
                self.discard_file(ctx.store()).await;
                Ok(Outcome::Discard(e.to_string()))
            }
        }
    }
}

impl ImportCsv {
    /// The kept file: where it was stored, or, in a data directory restored
    /// from a backup elsewhere (the job's path names the old one), the file
    /// of the same name under this data directory's `imports/`.
    fn located(&self, data_dir: &Path) -> PathBuf {
        if self.path.exists() {
            return self.path.clone();
        }
        match self.path.file_name() {
            Some(name) if data_dir.join("imports").join(name).exists() => data_dir.join("imports").join(name),
            _ => self.path.clone(),
        }
    }

    /// The import failed for good: its file goes, unless another import needs it.
    async fn discard_file(&self, store: &Store) {
        if let Err(e) = import::discard_file(store, self.import_id, &self.path).await {
            tracing::warn!(import_id = self.import_id, error = %e, "could not delete the file of a failed import");
        }
    }
}

/// A file being received into `<data dir>/imports/` (an upload, a statement
/// sent to the API), removed when dropped unless [`TempFile::persist`]ed:
/// a refused or failed upload leaves nothing behind.
pub struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    /// A new, empty temporary file in `dir` (created if need be), and its handle.
    pub fn create(dir: &Path) -> std::io::Result<(TempFile, std::fs::File)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            ".upload-{}-{:016x}.part",
            std::process::id(),
            fastrand::u64(..)
        ));
        let file = std::fs::File::create_new(&path)?;
        Ok((TempFile { path, kept: false }, file))
    }

    /// Moves the file to `to` (same file system: an atomic rename).
    pub fn persist(mut self, to: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "could not remove an upload's temporary file");
            }
        }
    }
}

/// Where the copy of an imported file whose content has SHA-256 `sha256` is kept.
pub fn stored_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join("imports").join(format!("{sha256}.csv"))
}

/// Keeps a copy of `file` under `<data dir>/imports/`, registers the import and
/// enqueues its job in one transaction. Importing the same bytes again is
/// harmless: rows already imported are skipped.
pub async fn start(store: &Store, data_dir: &Path, kind: ImportKind, file: &Path) -> Result<Import, ImportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ImportError::Io { path, source }
    };
    let bytes = std::fs::read(file).map_err(io(file))?;
    let sha = import::sha256_hex(&bytes);
    let stored = stored_path(data_dir, &sha);
    let filename = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import.csv".into());
    // Registered first, the copy written inside the same transaction: a
    // refused file leaves nothing, and a failed import's clean-up (which
    // locks out registrations) never deletes the copy of this one.
    let mut tx = store.begin().await?;
    let registered = register_stored(&mut tx, kind, &filename, &sha, stored.clone()).await?;
    if let Some(dir) = stored.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(&stored, &bytes).map_err(io(&stored))?;
    tx.commit().await?;
    Ok(registered)
}

/// Registers an import of the file kept at `stored` (see [`stored_path`])
/// and enqueues its job, in the caller's transaction (with the caller's
/// audit entry, say). `filename` is the name the user gave.
pub async fn register_stored(
    tx: &mut Tx,
    kind: ImportKind,
    filename: &str,
    sha256: &str,
    stored: PathBuf,
) -> Result<Import, ImportError> {
    let mut registered = import::register(tx, kind, filename, sha256).await?;
    let job = enqueue(
        tx,
        &ImportCsv {
            import_id: registered.id,
            path: stored,
        },
        EnqueueOptions::new(),
    )
    .await
    .map_err(|e| ImportError::Store(crate::store::StoreError::Database(e.to_string())))?;
    import::attach_job(tx, registered.id, job.id()).await?;
    registered.job_id = Some(job.id());
    Ok(registered)
}
