//! `comptoir-worker backup`, `restore` and `archive`: keeping the books.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::exit;
use crate::billing::seal::{self, PublicKey};
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
    match (args.command, args.year) {
        (Some(ArchiveCommand::Verify { file, public_key, json }), _) => {
            verify_archive(config, &file, public_key.as_deref(), json)
        }
        (None, Some(year)) => make_archive(config, year, args.to).await,
        (None, None) => {
            eprintln!("archive : donnez l'année à archiver (archive 2026) ou « archive verify FICHIER »");
            Ok(exit::USAGE)
        }
    }
}

async fn make_archive(config: &Config, year: i32, to: Option<PathBuf>) -> anyhow::Result<u8> {
    let store = super::worker::open(config).await?;
    let store = super::with_book_key(store, config).await?;
    let dir = to.unwrap_or_else(|| config.archive_dir());
    let result = keeping::archive::make(&store, year, &dir).await;
    store.close().await;
    match result {
        Ok(written) => {
            println!(
                "archive {year} écrite : {} ({} fichiers, {} octets, SHA-256 {})",
                written.path.display(),
                written.files,
                written.size,
                written.sha256
            );
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("archive {year} refusée : {e}");
            Ok(exit::JOBS_FAILED)
        }
    }
}

/// The key an archive must be signed with: the one given (hex, or a PEM
/// file, public or the private key file), else the data directory's.
fn expected_key(config: &Config, given: Option<&str>) -> anyhow::Result<Option<PublicKey>> {
    let Some(given) = given else {
        let path = seal::key_path(&config.data_dir);
        return Ok(match path.is_file() {
            true => Some(
                seal::read(&path)
                    .with_context(|| format!("clé du livre {}", path.display()))?
                    .public(),
            ),
            false => None,
        });
    };
    if let Ok(key) = PublicKey::from_hex(given) {
        return Ok(Some(key));
    }
    let path = std::path::Path::new(given);
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--public-key {given} : ni une clé en hexadécimal, ni un fichier lisible"))?;
    match PublicKey::from_pem(&text) {
        Ok(key) => Ok(Some(key)),
        Err(_) => Ok(Some(
            seal::read(path)
                .with_context(|| format!("--public-key {given} : ni une clé publique PEM, ni la clé du livre"))?
                .public(),
        )),
    }
}

/// `archive verify FILE`: exit 0 when the archive is intact, 1 when
/// anything is wrong (each finding names its file), 3 when unreadable.
fn verify_archive(config: &Config, file: &std::path::Path, public_key: Option<&str>, json: bool) -> anyhow::Result<u8> {
    let expected = match expected_key(config, public_key) {
        Ok(key) => key,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(exit::USAGE);
        }
    };
    let check = match keeping::archive::verify(file, expected.as_ref()) {
        Ok(check) => check,
        Err(e) => {
            eprintln!("archive illisible : {e}");
            return Ok(exit::UNAVAILABLE);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else {
        let year = check.year.map(|y| format!(" {y}")).unwrap_or_default();
        if check.is_intact() {
            println!(
                "archive{year} intacte : {} fichiers, chacun conforme au manifeste signé ; clôtures et scellement du livre vérifiés",
                check.files
            );
        } else {
            println!(
                "archive{year} NON INTÈGRE : {} anomalie(s) sur {} fichiers",
                check.findings.len(),
                check.files
            );
            for f in &check.findings {
                println!("  - {f}");
            }
        }
        let fingerprint = check.key_fingerprint.as_deref().unwrap_or("inconnue");
        if check.key_pinned {
            println!("clé de signature attendue : {fingerprint}");
        } else {
            println!(
                "clé de signature : {fingerprint}, celle que l'archive nomme ; comparez cette empreinte à celle \
                 des exports de votre livre, ou donnez la clé avec --public-key"
            );
        }
    }
    Ok(if check.is_intact() { exit::OK } else { exit::JOBS_FAILED })
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

/// `comptoir-worker bench-keeping [--invoices N]`: prints each figure, then
/// a `RESULT` line; exit 1 if the archive it made does not verify.
pub async fn bench(invoices: usize, work_dir: Option<PathBuf>) -> anyhow::Result<u8> {
    let dir = work_dir.unwrap_or_else(keeping::bench::default_work_dir);
    let result = keeping::bench::run(&dir, invoices).await.context("bench-keeping")?;
    println!("{}", result.result_line());
    Ok(if result.intact { exit::OK } else { exit::JOBS_FAILED })
}
