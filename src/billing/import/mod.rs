//! CSV imports: customers, and payments received outside the providers (a
//! bank export). An import is registered with the file's SHA-256, then run:
//!
//! 1. the file is read once to check its hash and detect its encoding, then
//!    its separator and header line are sniffed;
//! 2. pass one validates every row, streaming, and collects one error per bad
//!    row with its line in the file; if any row is bad nothing is applied and
//!    the import is `failed` with that report;
//! 3. pass two applies the rows in chunks, one transaction each. Every row is
//!    guarded by an `import_keys` entry written in the row's transaction, so a
//!    file imported twice, or an import re-run after a crash, adds nothing twice.
//!
//! Rows that need no action (already imported, a debit on a bank statement, a
//! credit that pays no invoice) are skipped with a reason, not errors.

mod bank;
mod camt;
mod chunk;
mod customers;
pub(crate) mod decode;
mod payments;
mod rows;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BillingError;
use crate::billing::sql::imports as sql;
use crate::input::{self, Lines};
use crate::store::{Store, StoreError, Tx};
use chunk::Ctx;
use decode::{Layout, Scan};
use rows::Rows;

/// Rows applied per transaction.
pub const CHUNK_ROWS: usize = 1000;
/// Rows listed per kind of note in a report (counts stay exact).
pub const MAX_LISTED: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Customers,
    Payments,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Payments => "payments",
        }
    }

    pub fn parse(s: &str) -> Option<ImportKind> {
        match s {
            "customers" => Some(ImportKind::Customers),
            // A bank statement, CSV or camt.053, told apart by its content.
            "payments" | "bank" => Some(ImportKind::Payments),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Pending => "pending",
            ImportStatus::Running => "running",
            ImportStatus::Completed => "completed",
            ImportStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ImportStatus> {
        [
            ImportStatus::Pending,
            ImportStatus::Running,
            ImportStatus::Completed,
            ImportStatus::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A row of the file (its first physical line; the header is on line 1) and what was said about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowNote {
    pub line: u64,
    pub message: String,
}

/// An import as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Import {
    pub id: i64,
    pub kind: ImportKind,
    pub filename: String,
    pub sha256: String,
    pub status: ImportStatus,
    pub total_rows: i64,
    pub imported_rows: i64,
    pub skipped_rows: i64,
    /// Bad rows (at most [`MAX_LISTED`]).
    pub errors: Vec<RowNote>,
    /// Skipped rows and why (at most [`MAX_LISTED`]).
    pub skips: Vec<RowNote>,
    /// Why the import failed as a whole, if it did.
    pub failure: Option<String>,
    pub job_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One entry of the `errors` JSON column: a row's error, a skipped row, or
/// (without a line) the reason the whole import failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredNote {
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl Import {
    pub(crate) fn with_notes(mut self, notes: Vec<StoredNote>) -> Import {
        for n in notes {
            match (n.line, n.error, n.skipped) {
                (Some(line), Some(message), _) => self.errors.push(RowNote { line, message }),
                (Some(line), None, Some(message)) => self.skips.push(RowNote { line, message }),
                (None, Some(message), _) | (None, None, Some(message)) => self.failure = Some(message),
                (_, None, None) => {}
            }
        }
        self
    }

    /// The report of a finished import, as stored.
    pub fn report(&self) -> ImportReport {
        ImportReport {
            import_id: self.id,
            status: self.status,
            total: self.total_rows as u64,
            imported: self.imported_rows as u64,
            skipped: self.skipped_rows as u64,
            bad_rows: self.errors.len() as u64,
            skips: self.skips.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub import_id: i64,
    /// `Completed`, or `Failed` when rows were bad (then nothing was applied).
    pub status: ImportStatus,
    /// Data rows in the file (blank rows aside).
    pub total: u64,
    pub imported: u64,
    pub skipped: u64,
    pub bad_rows: u64,
    /// The first [`MAX_LISTED`] skipped rows, with their reasons.
    pub skips: Vec<RowNote>,
    /// The first [`MAX_LISTED`] bad rows, with what is wrong.
    pub errors: Vec<RowNote>,
}

/// Rows applied so far, reported after each committed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    pub done: u64,
    pub total: u64,
}

/// Why an import failed as a whole; `Display` says it in French (it is
/// stored as the import's failure), [`ImportError::text`] in the reader's language.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}", self.text())]
    NotFound(i64),
    #[error("{}", self.text())]
    Invalid {
        field: &'static str,
        message: crate::i18n::Text,
    },
    #[error("lecture impossible de {path} : {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", self.text())]
    EmptyFile,
    #[error("{}", self.text())]
    NoRows,
    #[error("{}", self.text())]
    NotText(crate::i18n::Text),
    #[error("{}", self.text())]
    MissingColumn { column: String, line: u64, found: String },
    #[error("{}", self.text())]
    ChecksumMismatch { expected: String, actual: String },
    #[error("{}", self.text())]
    Contention,
    #[error("{}", self.text())]
    FileDiscarded(i64),
    #[error(transparent)]
    Statement(#[from] crate::billing::bank::camt::CamtError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// What a person is told, in their language.
    pub fn text(&self) -> crate::i18n::Text {
        use crate::i18n::Text;
        use crate::text;
        match self {
            ImportError::NotFound(id) => text!("import n° {id} introuvable", id = id),
            ImportError::Invalid { field, message } => text!("{field} : {message}")
                .with("field", crate::billing::error::field_label(field))
                .with("message", message.clone()),
            ImportError::Io { .. } => Text::verbatim(self.to_string()),
            ImportError::EmptyFile => text!("le fichier est vide"),
            ImportError::NoRows => text!("le fichier a une ligne d'en-tête mais aucune ligne de données"),
            ImportError::NotText(why) => text!("ce n'est pas un fichier CSV : {why}").with("why", why.clone()),
            ImportError::MissingColumn { column, line, found } => text!(
                "colonne {column} manquante : l'en-tête (ligne {line}) a {found}",
                column = column,
                line = line,
                found = found
            ),
            ImportError::ChecksumMismatch { expected, actual } => text!(
                "ce n'est pas le fichier enregistré (SHA-256 {actual}, enregistré {expected})",
                actual = actual,
                expected = expected
            ),
            ImportError::Contention => {
                text!("d'autres imports écrivaient les mêmes lignes en même temps ; relancez-le")
            }
            ImportError::FileDiscarded(id) => text!(
                "le fichier de l'import n° {id} a été supprimé à son échec ; envoyez le fichier à nouveau",
                id = id
            ),
            ImportError::Statement(e) => Text::verbatim(e.to_string()),
            ImportError::Store(e) => Text::verbatim(e.to_string()),
        }
    }

    /// Whether running the import again later may succeed as is.
    pub fn is_transient(&self) -> bool {
        match self {
            ImportError::Store(e) => e.is_transient(),
            ImportError::Contention => true,
            _ => false,
        }
    }
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file, read in chunks.
pub fn file_sha256(path: &Path) -> Result<String, ImportError> {
    Ok(decode::scan(path)?.sha256)
}

/// The name of an uploaded file as kept: directories dropped, one line of at
/// most 255 characters ([`crate::input`]: a right-to-left override in a name
/// makes `gpj.exe` read `exe.jpg`).
pub fn file_name(filename: &str) -> Result<String, ImportError> {
    let name = filename.rsplit(['/', '\\']).next().unwrap_or("");
    match input::single_line(name, 255) {
        Ok(name) if !name.is_empty() => Ok(name),
        Ok(_) => Err(ImportError::Invalid {
            field: "filename",
            message: crate::text!(
                "« {name} » n'est pas un nom de fichier",
                name = filename.chars().take(80).collect::<String>()
            ),
        }),
        Err(e) => Err(ImportError::Invalid {
            field: "filename",
            message: crate::text!(
                "« {name} » n'est pas un nom de fichier : {why}",
                name = filename.chars().take(80).collect::<String>().escape_debug()
            )
            .with("why", e.text()),
        }),
    }
}

/// Records an import of `kind` of the file `filename` (the name the user gave;
/// directories are dropped) whose content has the SHA-256 `bytes_sha256`.
pub async fn register(
    tx: &mut Tx,
    kind: ImportKind,
    filename: &str,
    bytes_sha256: &str,
) -> Result<Import, ImportError> {
    let name = file_name(filename)?;
    let sha = bytes_sha256.trim().to_ascii_lowercase();
    if sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ImportError::Invalid {
            field: "sha256",
            message: crate::text!(
                "« {text} » n'est pas un SHA-256 en hexadécimal",
                text = bytes_sha256.chars().take(80).collect::<String>()
            ),
        });
    }
    Ok(sql::insert(tx, kind, &name, &sha).await?)
}

/// Links an import to the job that runs it.
pub async fn attach_job(tx: &mut Tx, import_id: i64, job_id: i64) -> Result<(), ImportError> {
    Ok(sql::set_job(tx, import_id, job_id).await?)
}

pub async fn get(store: &Store, id: i64) -> Result<Import, ImportError> {
    sql::get(store, id).await?.ok_or(ImportError::NotFound(id))
}

/// Imports, newest first, below id `before` if given; without their rows'
/// notes (`errors`, `skips` and `failure` are empty: [`get`] has them).
pub async fn list(store: &Store, before: Option<i64>, limit: i64) -> Result<Vec<Import>, ImportError> {
    Ok(sql::list(store, before, limit).await?)
}

/// Runs import `import_id` on the file at `path` (the file registered).
/// Returns the report when the file was read to a verdict: `Completed`, or
/// `Failed` with its bad rows (nothing applied). A file that cannot be
/// imported at all (empty, a missing column, not the registered file…) is an
/// error, also stored on the import. Running a completed import again
/// returns its report; running a failed or interrupted one starts it again,
/// and rows already applied by it are counted, not applied twice.
pub async fn run<P>(store: &Store, import_id: i64, path: &Path, mut progress: P) -> Result<ImportReport, ImportError>
where
    P: FnMut(ImportProgress) + Send,
{
    let import = get(store, import_id).await?;
    if import.status == ImportStatus::Completed {
        return Ok(import.report());
    }
    if import.status == ImportStatus::Failed && !path.exists() {
        // Run again after its file was deleted: its report stays as it was.
        return Err(ImportError::FileDiscarded(import_id));
    }
    sql::start(store, import_id).await?;
    let mut ctx = Ctx::new(store, import_id, &mut progress);
    match execute(&mut ctx, &import, path).await {
        Ok(()) => {
            let status = if ctx.tally.bad_rows == 0 {
                ImportStatus::Completed
            } else {
                ImportStatus::Failed
            };
            sql::finish(store, import_id, status, &ctx.tally.counts(), &ctx.tally.notes()).await?;
            tracing::info!(
                import_id,
                status = status.as_str(),
                total = ctx.tally.total,
                imported = ctx.tally.imported,
                skipped = ctx.tally.skipped,
                bad_rows = ctx.tally.bad_rows,
                "import finished"
            );
            Ok(ctx.tally.report(import_id, status))
        }
        Err(e) => {
            let note = StoredNote {
                line: None,
                error: Some(e.to_string()),
                skipped: None,
            };
            if let Err(store_error) =
                sql::finish(store, import_id, ImportStatus::Failed, &ctx.tally.counts(), &[note]).await
            {
                tracing::warn!(import_id, error = %store_error, "could not record the import's failure");
            }
            tracing::warn!(import_id, error = %e, "import failed");
            Err(e)
        }
    }
}

/// Deletes `path`, the kept file of import `import_id` that failed for good,
/// unless another import that did not fail has the same content (a file is
/// kept by content; an import that succeeded keeps its file). `true` when the
/// file was deleted.
pub async fn discard_file(store: &Store, import_id: i64, path: &Path) -> Result<bool, ImportError> {
    let import = get(store, import_id).await?;
    if import.status != ImportStatus::Failed {
        return Ok(false);
    }
    let mut tx = store.begin().await?;
    if sql::file_held_by_others(&mut tx, import_id, &import.sha256).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    let deleted = match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(ImportError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    tx.commit().await?;
    if deleted {
        tracing::info!(import_id, path = %path.display(), "file of a failed import deleted");
    }
    Ok(deleted)
}

async fn execute(ctx: &mut Ctx<'_>, import: &Import, path: &Path) -> Result<(), ImportError> {
    let Scan { encoding, sha256 } = decode::scan(path)?;
    if sha256 != import.sha256 {
        return Err(ImportError::ChecksumMismatch {
            expected: import.sha256.clone(),
            actual: sha256,
        });
    }
    if import.kind == ImportKind::Payments && is_camt(path)? {
        tracing::info!(import_id = ctx.import_id, kind = "camt.053", "import started");
        return bank::import(ctx, camt::CamtStatement::opener(path.to_path_buf())).await;
    }
    let layout = decode::sniff(path, encoding, |fields| match import.kind {
        ImportKind::Customers => customers::recognizes(fields),
        ImportKind::Payments => payments::recognizes(fields),
    })?;
    let open = || -> Result<(Rows, Header), ImportError> {
        let (rows, names) = Rows::open(path, encoding, layout)?;
        Ok((rows, Header::new(names, layout)))
    };
    let separator = char::from(layout.separator).escape_default().to_string();
    tracing::info!(
        import_id = ctx.import_id,
        kind = import.kind.as_str(),
        encoding = encoding.name(),
        separator,
        header_line = layout.header_line,
        "import started"
    );
    match import.kind {
        ImportKind::Customers => customers::import(ctx, open).await,
        ImportKind::Payments => payments::import(ctx, open).await,
    }
}

/// Whether the file at `path` is a camt.053 statement (by its first bytes, not its name).
fn is_camt(path: &Path) -> Result<bool, ImportError> {
    use std::io::Read;
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .map_err(io)?
        .take(4096)
        .read_to_end(&mut head)
        .map_err(io)?;
    Ok(crate::billing::bank::camt::looks_like_camt(&head))
}

/// The header's columns, matched by name whatever the case, accents and punctuation.
pub(crate) struct Header {
    pub names: Vec<String>,
    keys: Vec<String>,
    line: u64,
}

impl Header {
    fn new(names: Vec<String>, layout: Layout) -> Header {
        let keys = names.iter().map(|n| decode::header_key(n)).collect();
        Header {
            names,
            keys,
            line: layout.header_line,
        }
    }

    /// The first column named like one of `aliases` (space-separated, in order of preference).
    pub fn find(&self, aliases: &str) -> Option<usize> {
        aliases
            .split_whitespace()
            .find_map(|a| self.keys.iter().position(|k| k == a))
    }

    pub fn require(&self, aliases: &str, column: &str) -> Result<usize, ImportError> {
        self.find(aliases).ok_or_else(|| self.missing(column))
    }

    pub fn missing(&self, column: &str) -> ImportError {
        let found: Vec<String> = self
            .names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| format!("{n:?}"))
            .collect();
        ImportError::MissingColumn {
            column: column.to_string(),
            line: self.line,
            found: if found.is_empty() {
                "aucun nom de colonne".into()
            } else {
                found.join(", ")
            },
        }
    }

    /// A row that does not fit the header: more filled fields than columns, or
    /// a quoted field running over many lines (an unclosed quote).
    pub fn misfit(&self, record: &csv::StringRecord) -> Option<String> {
        if let Some(extra) = record.iter().skip(self.names.len()).position(|f| !f.trim().is_empty()) {
            return Some(format!(
                "la ligne a une valeur au champ {} mais l'en-tête a {} colonnes (un séparateur dans une valeur sans guillemets ?)",
                self.names.len() + extra + 1,
                self.names.len()
            ));
        }
        record
            .iter()
            .map(|f| f.matches('\n').count())
            .max()
            .filter(|n| *n > 20)
            .map(|n| {
                format!(
                    "un champ entre guillemets court sur {} lignes : manque-t-il le guillemet fermant ?",
                    n + 1
                )
            })
    }

    pub fn name(&self, index: usize) -> &str {
        &self.names[index]
    }
}

/// A trimmed field (empty when the row is short).
pub(crate) fn field(record: &csv::StringRecord, index: Option<usize>) -> &str {
    index.and_then(|i| record.get(i)).unwrap_or("").trim()
}

/// The cells of `record` in `columns` held to the input policy: a cell with a
/// control character, a bidirectional override or (in a one-line column) a
/// line break makes the row bad, named by its column, before anything reads it.
pub(crate) fn check_cells(
    h: &Header,
    record: &csv::StringRecord,
    columns: &[(Option<usize>, Lines)],
) -> Result<(), String> {
    for (index, lines) in columns {
        let Some(i) = *index else { continue };
        if let Err(e) = input::check(field(record, Some(i)), *lines) {
            return Err(format!("{} : {e}", h.name(i)));
        }
    }
    Ok(())
}

/// The message of a validation error, without its field name.
pub(crate) fn reason(e: BillingError) -> String {
    match e {
        BillingError::Invalid { message, .. } => message.to_string(),
        other => other.to_string(),
    }
}
