//! `comptoir-worker backup`: one zip file with a consistent snapshot of the
//! SQLite database (`VACUUM INTO`, while the product runs), the book's
//! signing key and the imported files still referenced, listed with their
//! SHA-256 in its manifest. On PostgreSQL it refuses and gives the
//! `pg_dump` recipe ([`postgres_recipe`]).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::bundle::{BundleWriter, Written};
use super::{sql, KeepingError};
use crate::billing::seal;
use crate::config::Config;
use crate::store::{redact_url, Store};

pub use super::sql::BackupRecord;

/// The manifest's `format`.
pub const FORMAT: &str = "comptoir-backup/1";
/// The database's member in a backup.
pub const DATABASE_MEMBER: &str = "comptoir.db";
/// The key's member in a backup (whatever its file was called).
pub const KEY_MEMBER: &str = seal::KEY_FILE;
/// Where imported files sit in a backup (and in the data directory).
pub const IMPORTS_DIR: &str = "imports";
/// The dashboard and `/readyz` warn when the last backup is older than this.
pub const STALE_AFTER_HOURS: i64 = 48;

/// How a backup was asked for (recorded in `backups.origin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Command,
    Job,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Command => "command",
            Origin::Job => "job",
        }
    }
}

/// `comptoir-backup-20261207T065300Z.zip`.
pub fn file_name(at: DateTime<Utc>) -> String {
    format!("comptoir-backup-{}.zip", at.format("%Y%m%dT%H%M%SZ"))
}

/// The time a backup's file name carries, if it is a backup's name.
pub fn time_of(file_name: &str) -> Option<DateTime<Utc>> {
    let stamp = file_name.strip_prefix("comptoir-backup-")?.get(..16)?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// What `backup` says on PostgreSQL: the database is copied with PostgreSQL's
/// own tools, and the key file beside it.
pub fn postgres_recipe(config: &Config) -> String {
    let url = redact_url(&config.database_url());
    let key = seal::key_path(&config.data_dir);
    format!(
        "PostgreSQL se sauvegarde avec ses propres outils, sans arrêter Comptoir :\n\
         \n  pg_dump --format=custom --file=comptoir-$(date +%F).dump \"$DATABASE_URL\"\n\
         \n  cp {key} comptoir-$(date +%F).key   # la clé qui signe le livre de recettes\n\
         \nRestauration, dans une base vide :\n\
         \n  createdb comptoir_restaure\n  pg_restore --no-owner --dbname=postgres://…/comptoir_restaure comptoir-AAAA-MM-JJ.dump\n\
         \npuis placez la clé dans le répertoire de données ({data}) ou nommez-la dans COMPTOIR_BOOK_KEY,\n\
         et vérifiez : comptoir-worker billing verify-book\n\
         \n(base actuelle : {url})",
        key = key.display(),
        data = config.data_dir.display(),
    )
}

/// Takes a backup into `dir` and records it; on PostgreSQL, refuses with the recipe.
#[tracing::instrument(skip(store, config), fields(dir = %dir.display()))]
pub async fn take(store: &Store, config: &Config, dir: &Path, origin: Origin) -> Result<Written, KeepingError> {
    if store.sqlite_path().is_none() {
        return Err(KeepingError::Refused(postgres_recipe(config)));
    }
    std::fs::create_dir_all(dir).map_err(KeepingError::io(dir))?;
    let now = store.now().await?;
    let dest = free_name(dir, now);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let snapshot = dir.join(format!(".{name}.db"));
    remove_if_exists(&snapshot)?;
    let taken = store.snapshot_into(&snapshot).await;
    let result = async {
        taken?;
        let status = store.migration_status().await?;
        let schema = status.applied.last().copied();
        let key = seal::key_path(&config.data_dir);
        let key = key.exists().then_some(key);
        let imports: Vec<(String, PathBuf)> = sql::import_digests(store)
            .await?
            .into_iter()
            .map(|sha| {
                (
                    sha.clone(),
                    crate::billing::jobs::import::stored_path(&config.data_dir, &sha),
                )
            })
            .filter(|(_, path)| path.exists())
            .collect();
        let key_fingerprint = match &key {
            Some(path) => Some(seal::read(path)?.public().fingerprint()),
            None => None,
        };
        if key.is_none() {
            tracing::warn!("no livre de recettes key file to back up");
        }
        let details = serde_json::json!({
            "database": "sqlite",
            "schema_version": schema,
            "comptoir_version": env!("CARGO_PKG_VERSION"),
            "key_fingerprint": key_fingerprint,
            "imports": imports.len(),
        });
        let snapshot = snapshot.clone();
        tokio::task::spawn_blocking(move || {
            let mut bundle = BundleWriter::create(&dest)?;
            bundle.add_file(DATABASE_MEMBER, &snapshot)?;
            if let Some(key) = &key {
                bundle.add_file(KEY_MEMBER, key)?;
            }
            for (sha, path) in &imports {
                bundle.add_file(&format!("{IMPORTS_DIR}/{sha}.csv"), path)?;
            }
            bundle.finish(FORMAT, now, details, None)
        })
        .await
        .map_err(|e| KeepingError::Refused(format!("la sauvegarde s'est interrompue : {e}")))?
        .map(|written| (written, status.is_current()))
    }
    .await;
    remove_if_exists(&snapshot)?;
    let (written, current) = result?;
    if !current {
        // A database of an earlier version (a backup before an upgrade) has no
        // `backups` table yet: the file is the record.
        tracing::info!(file = %written.path.display(), "backup of a database not migrated yet: not recorded in it");
        return Ok(written);
    }
    sql::record_backup(
        store,
        &name,
        &super::bundle::absolute_dir(dir),
        i64::try_from(written.size).unwrap_or(i64::MAX),
        &written.sha256,
        origin.as_str(),
    )
    .await?;
    tracing::info!(file = %written.path.display(), size = written.size, files = written.files, "backup written");
    Ok(written)
}

/// The last backup recorded, if any.
pub async fn last(store: &Store) -> Result<Option<BackupRecord>, KeepingError> {
    Ok(sql::recent_backups(store, 1).await?.into_iter().next())
}

/// The backups recorded, newest first.
pub async fn recent(store: &Store, limit: i64) -> Result<Vec<BackupRecord>, KeepingError> {
    Ok(sql::recent_backups(store, limit).await?)
}

/// How the backups stand, for the dashboard and `/readyz`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Freshness {
    /// PostgreSQL: backed up outside Comptoir (`pg_dump`).
    External,
    /// No backup was ever recorded.
    Never,
    /// The last one is recent.
    Ok { last: DateTime<Utc> },
    /// The last one is older than [`STALE_AFTER_HOURS`].
    Stale { last: DateTime<Utc> },
}

impl Freshness {
    pub fn is_warning(&self) -> bool {
        matches!(self, Freshness::Never | Freshness::Stale { .. })
    }
}

/// Whether the backups are recent, as of the database's clock.
pub async fn freshness(store: &Store) -> Result<Freshness, KeepingError> {
    if store.sqlite_path().is_none() {
        return Ok(Freshness::External);
    }
    let now = store.now().await?;
    Ok(match last(store).await? {
        None => Freshness::Never,
        Some(b) if now - b.created_at > chrono::Duration::hours(STALE_AFTER_HOURS) => {
            Freshness::Stale { last: b.created_at }
        }
        Some(b) => Freshness::Ok { last: b.created_at },
    })
}

/// `dir/comptoir-backup-<time>.zip`, or `…-2.zip`… when a backup of the same second exists.
fn free_name(dir: &Path, at: DateTime<Utc>) -> PathBuf {
    let base = file_name(at);
    let mut path = dir.join(&base);
    let mut n = 2;
    while path.exists() {
        path = dir.join(base.replace(".zip", &format!("-{n}.zip")));
        n += 1;
    }
    path
}

fn remove_if_exists(path: &Path) -> Result<(), KeepingError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KeepingError::io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_name_carries_its_time() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T06:53:00Z").unwrap().to_utc();
        assert_eq!(file_name(at), "comptoir-backup-20261207T065300Z.zip");
        assert_eq!(time_of("comptoir-backup-20261207T065300Z.zip"), Some(at));
        assert_eq!(time_of("comptoir-backup-20261207T065300Z-2.zip"), Some(at));
        assert_eq!(time_of("comptoir-archive-2026.zip"), None);
        assert_eq!(time_of("notes.txt"), None);
    }
}
