//! `comptoir-worker backup`, `restore` and `archive`: keeping the books.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::exit;
use crate::config::Config;
use crate::keeping;

/// `archive YEAR [--to DIR]`, or `archive verify FILE`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ArchiveArgs {
    #[command(subcommand)]
    pub command: Option<ArchiveCommand>,
    /// The year to archive (it must be closed: its year closure exists).
    pub year: Option<i32>,
    /// Where to write it (default: `archives/` in the backup directory).
    #[arg(long)]
    pub to: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Check an archive alone, without the database: every file against the
    /// signed manifest. Exit 1 if anything is wrong, naming each file.
    Verify {
        file: PathBuf,
        /// The book's public key (hex) the manifest must be signed with
        /// (default: the data directory's key file if there is one, else the
        /// key the manifest names).
        #[arg(long)]
        public_key: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `comptoir-worker archive …`.
pub async fn archive(config: &Config, args: ArchiveArgs) -> anyhow::Result<u8> {
    let _ = (config, args);
    Ok(exit::USAGE)
}

/// `comptoir-worker backup [--to DIR]`: exit 0 with the file written, 1
/// when refused (PostgreSQL: the recipe is printed).
pub async fn backup(config: &Config, to: Option<PathBuf>) -> anyhow::Result<u8> {
    let url = config.database_url();
    if crate::store::sqlite_file(&url).is_none() {
        eprintln!("{}", keeping::backup::postgres_recipe(config));
        return Ok(exit::JOBS_FAILED);
    }
    // Not migrated: a backup is what one takes before an upgrade.
    let store = crate::store::Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", crate::store::redact_url(&url)))?;
    let dir = to.unwrap_or_else(|| config.backup_dir());
    let result = keeping::backup::take(&store, config, &dir, keeping::backup::Origin::Command).await;
    store.close().await;
    match result {
        Ok(written) => {
            println!(
                "sauvegarde écrite : {} ({} fichiers, {} octets, SHA-256 {})",
                written.path.display(),
                written.files,
                written.size,
                written.sha256
            );
            println!("elle contient la clé du livre de recettes : gardez-la hors de portée (un autre disque, chiffré)");
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("sauvegarde impossible : {e}");
            Ok(exit::JOBS_FAILED)
        }
    }
}

/// `comptoir-worker restore FILE`: exit 0 when restored with an intact
/// book, 1 when refused or when the restored book fails verification.
pub async fn restore(config: &Config, file: &std::path::Path, despite_findings: bool) -> anyhow::Result<u8> {
    let restored = match keeping::restore::restore(config, file, despite_findings).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("restauration refusée : {e}");
            return Ok(exit::JOBS_FAILED);
        }
    };
    let c = restored.contents;
    println!(
        "sauvegarde du {} : {} facture(s), {} avoir(s), {} paiement(s), {} ligne(s) du livre de recettes, {} fichier(s) importé(s)",
        restored.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
        c.invoices,
        c.credit_notes,
        c.payments,
        c.book_lines,
        restored.imports
    );
    let intact = match &restored.verification {
        Some(v) if v.is_intact() => {
            println!("{} (clé {})", v.summary(), v.fingerprint);
            true
        }
        Some(v) => {
            eprintln!("{}", v.summary());
            for f in &v.findings {
                eprintln!("  - {}", f.message);
            }
            false
        }
        None => {
            eprintln!(
                "la sauvegarde ne contient pas la clé du livre de recettes : le livre n'a pas pu être vérifié ; \
                 placez la clé dans {} avant de démarrer Comptoir",
                config.data_dir.join(crate::billing::seal::KEY_FILE).display()
            );
            false
        }
    };
    if !restored.placed {
        eprintln!(
            "rien n'a été restauré : le livre de recettes de la sauvegarde ne passe pas la vérification \
             (--despite-findings pour restaurer malgré tout)"
        );
        return Ok(exit::JOBS_FAILED);
    }
    println!("base restaurée : {}", restored.database.display());
    if let Some(key) = &restored.key {
        println!("clé restaurée : {}", key.display());
        if std::env::var_os(crate::billing::seal::KEY_ENV).is_some_and(|v| !v.is_empty()) {
            eprintln!(
                "attention : {} nomme une autre clé ; retirez-la ou faites-la pointer vers {} avant de démarrer",
                crate::billing::seal::KEY_ENV,
                key.display()
            );
        }
    }
    Ok(if intact { exit::OK } else { exit::JOBS_FAILED })
}
