//! `comptoir-worker restore FILE`: a backup into an empty data directory,
//! checked before it says done. The files are first checked against the
//! backup's manifest, then extracted into a staging directory beside their
//! place; the database is checked by SQLite (`PRAGMA integrity_check`),
//! brought to this version's schema, and its livre de recettes verified with
//! the restored key (what `billing verify-book` does). Only then are the
//! files moved into place: a refused restore leaves the directory as it was.

use std::path::{Path, PathBuf};

use super::backup::{self, DATABASE_MEMBER, IMPORTS_DIR, KEY_MEMBER};
use super::bundle::Bundle;
use super::sql::{self, Contents};
use super::KeepingError;
use crate::billing::book_check::{self, Verification};
use crate::billing::seal;
use crate::config::Config;
use crate::store::Store;

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub database: PathBuf,
    /// Where the key went (none when the backup had no key).
    pub key: Option<PathBuf>,
    pub imports: usize,
    pub taken_at: chrono::DateTime<chrono::Utc>,
    pub contents: Contents,
    /// The restored book's verification (with the restored key).
    pub verification: Option<Verification>,
    /// Whether the files were put in place (not when the book failed
    /// verification and the operator did not insist).
    pub placed: bool,
}

/// The recipe `restore` gives on PostgreSQL.
pub fn postgres_recipe(config: &Config) -> String {
    format!(
        "la restauration d'une base PostgreSQL se fait avec pg_restore, dans une base vide :\n\n{}",
        backup::postgres_recipe(config)
    )
}

/// Restores the backup `file` into the configured (empty) data directory.
#[tracing::instrument(skip(config), fields(file = %file.display()))]
pub async fn restore(config: &Config, file: &Path, despite_findings: bool) -> Result<Restored, KeepingError> {
    let url = config.database_url();
    let Some(database) = crate::store::sqlite_file(&url) else {
        return Err(KeepingError::Refused(postgres_recipe(config)));
    };
    let key_dest = config.data_dir.join(seal::KEY_FILE);
    let imports_dest = config.data_dir.join(IMPORTS_DIR);
    refuse_live(&database, &key_dest, &imports_dest)?;

    let mut bundle = Bundle::open(file)?;
    if bundle.manifest.format != backup::FORMAT {
        return Err(KeepingError::Refused(format!(
            "{} n'est pas une sauvegarde de Comptoir (format {:?}){}",
            file.display(),
            bundle.manifest.format,
            if bundle.manifest.format == super::archive::FORMAT {
                " : c'est une archive annuelle, qui se lit et se vérifie sans être restaurée (archive verify)"
            } else {
                ""
            }
        )));
    }
    let findings = bundle.check(None, false);
    if !findings.is_empty() {
        let list: Vec<String> = findings.iter().map(|f| format!("  - {f}")).collect();
        return Err(KeepingError::Refused(format!(
            "sauvegarde abîmée, rien n'a été restauré :\n{}",
            list.join("\n")
        )));
    }

    let parent = database
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(KeepingError::io(&parent))?;
    std::fs::create_dir_all(&config.data_dir).map_err(KeepingError::io(&config.data_dir))?;
    let staging = parent.join(format!(".comptoir-restore-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(KeepingError::io(&staging))?;
    }
    let outcome = stage_and_check(&mut bundle, &staging).await;
    let result = match outcome {
        Ok(staged) => {
            let intact = staged.verification.as_ref().is_none_or(Verification::is_intact);
            let placed = intact || despite_findings;
            if placed {
                place(&staged, &database, &key_dest, &imports_dest)?;
            }
            Ok(Restored {
                database: database.clone(),
                key: staged.key.as_ref().map(|_| key_dest.clone()),
                imports: staged.imports.len(),
                taken_at: bundle.manifest.created_at,
                contents: staged.contents,
                verification: staged.verification,
                placed,
            })
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// A data directory with a database, a key or imported files is live (or
/// was): restoring over it would lose what it holds.
fn refuse_live(database: &Path, key: &Path, imports: &Path) -> Result<(), KeepingError> {
    let mut wal = database.as_os_str().to_owned();
    wal.push("-wal");
    let present: Vec<String> = [database.to_path_buf(), PathBuf::from(wal), key.to_path_buf()]
        .into_iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .chain(
            std::fs::read_dir(imports)
                .ok()
                .and_then(|mut d| d.next())
                .map(|_| imports.display().to_string()),
        )
        .collect();
    if present.is_empty() {
        return Ok(());
    }
    Err(KeepingError::Refused(format!(
        "le répertoire de données n'est pas vide, rien n'a été restauré (une restauration n'écrase jamais des données) : {}\n\
         Restaurez dans un répertoire neuf (COMPTOIR_DATA_DIR=… ou --data-dir …), puis démarrez Comptoir sur ce répertoire.",
        present.join(", ")
    )))
}

struct Staged {
    database: PathBuf,
    key: Option<PathBuf>,
    imports: Vec<(PathBuf, String)>,
    contents: Contents,
    verification: Option<Verification>,
}

async fn stage_and_check(bundle: &mut Bundle, staging: &Path) -> Result<Staged, KeepingError> {
    std::fs::create_dir_all(staging).map_err(KeepingError::io(staging))?;
    let names: Vec<String> = bundle.manifest.files.iter().map(|f| f.path.clone()).collect();
    if !names.iter().any(|n| n == DATABASE_MEMBER) {
        return Err(KeepingError::Refused(format!(
            "{} ne contient pas de base de données ({DATABASE_MEMBER})",
            bundle.path().display()
        )));
    }
    let database = staging.join(DATABASE_MEMBER);
    bundle.extract(DATABASE_MEMBER, &database)?;
    let key = if names.iter().any(|n| n == KEY_MEMBER) {
        let path = staging.join(KEY_MEMBER);
        bundle.extract(KEY_MEMBER, &path)?;
        Some(path)
    } else {
        None
    };
    let mut imports = Vec::new();
    for name in names.iter().filter(|n| n.starts_with(&format!("{IMPORTS_DIR}/"))) {
        let file = name.trim_start_matches(&format!("{IMPORTS_DIR}/")).to_string();
        let path = staging.join(IMPORTS_DIR).join(&file);
        bundle.extract(name, &path)?;
        imports.push((path, file));
    }

    let url = format!("sqlite://{}", database.display());
    let store = Store::connect(&url).await?;
    let checked = async {
        let problems = store.integrity_problems().await?;
        if !problems.is_empty() {
            return Err(KeepingError::Refused(format!(
                "la base de la sauvegarde est abîmée (PRAGMA integrity_check) : {}",
                problems.join(" ; ")
            )));
        }
        store.migrate().await?;
        let contents = sql::contents(&store).await?;
        let verification = match &key {
            Some(path) => {
                let key = seal::read(path)?;
                Some(book_check::verify_with(&store, key.public()).await?)
            }
            None => None,
        };
        Ok((contents, verification))
    }
    .await;
    // Closing the last connection folds the WAL into the file: one file to move.
    store.close().await;
    let (contents, verification) = checked?;
    Ok(Staged {
        database,
        key,
        imports,
        contents,
        verification,
    })
}

fn place(staged: &Staged, database: &Path, key: &Path, imports: &Path) -> Result<(), KeepingError> {
    move_file(&staged.database, database)?;
    if let Some(staged_key) = &staged.key {
        move_file(staged_key, key)?;
    }
    for (path, name) in &staged.imports {
        move_file(path, &imports.join(name))?;
    }
    Ok(())
}

/// Renames `from` to `to`, or copies it across file systems.
fn move_file(from: &Path, to: &Path) -> Result<(), KeepingError> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(KeepingError::io(dir))?;
    }
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map_err(KeepingError::io(to))?;
    std::fs::remove_file(from).map_err(KeepingError::io(from))
}
