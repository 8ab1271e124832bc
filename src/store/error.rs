use thiserror::Error;

/// Neutral storage errors: what callers can act on, whatever the backend.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state rule refused the change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is too busy; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The configuration cannot work (bad URL, unusable data directory).
    #[error("configuration: {0}")]
    Config(String),
    /// A row could not be read back into its Rust shape.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration {version} failed: {message}")]
    Migration { version: i64, message: String },
    /// An applied migration's file no longer matches what was applied (its
    /// checksum differs): nothing is migrated until it is restored.
    #[error(
        "migration {version} was applied to this database and has been changed since: \
         restore its file as it was and put the change in a new migration"
    )]
    MigrationChanged { version: i64 },
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(err.to_string()),
            sqlx::Error::Database(db) => {
                // SQLite reports a trigger's RAISE(ABORT) as SQLITE_CONSTRAINT_TRIGGER (1811);
                // PostgreSQL's guard functions raise check_violation.
                if db.is_unique_violation()
                    || db.is_check_violation()
                    || db.is_foreign_key_violation()
                    || db.code().as_deref() == Some("1811")
                {
                    StoreError::Conflict(db.message().to_string())
                } else if is_busy(db.code().as_deref()) {
                    StoreError::Unavailable(db.message().to_string())
                } else {
                    StoreError::Database(db.message().to_string())
                }
            }
            _ => StoreError::Database(err.to_string()),
        }
    }
}

/// SQLite BUSY/LOCKED and PostgreSQL connection/lock/serialization classes.
fn is_busy(code: Option<&str>) -> bool {
    match code {
        Some("5") | Some("6") | Some("517") | Some("261") => true,
        Some(c) => c.starts_with("08") || c == "40001" || c == "40P01" || c == "55P03" || c == "57P01",
        None => false,
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}
