//! A closed year in one file an accountant or an inspector can take away and
//! check without Comptoir: every invoice and credit note of the year (its
//! Factur-X PDF and CII XML), the livre de recettes (lines, totals, PDF and
//! seal, as the book's export makes them), the year's closures, the audit log
//! of the year, and a manifest of every file's SHA-256 signed with the book's
//! key ([`super::bundle`]).
//!
//! [`verify`] needs only the file (and, to pin it, the book's public key):
//! every member against the signed manifest, then what the members prove of
//! themselves — each closure re-hashed, chained and its signature checked,
//! and the book export's seal (the SHA-256 of its files, signed) against the
//! files beside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use sha2::{Digest, Sha256};

use super::bundle::{Bundle, BundleWriter, Finding, Written};
use super::{sql, KeepingError};
use crate::audit::{self, AuditEntry, AuditFilter};
use crate::billing::book_check::closure_seal_problem;
use crate::billing::closures::{self, Closure, ClosureKind};
use crate::billing::documents::{files_message, table_csv, Cell};
use crate::billing::render::{self, BookExport, BookPeriod};
use crate::billing::seal::{self, hex, PublicKey};
use crate::billing::settings;
use crate::money::{Currency, Money};
use crate::store::Store;

/// The manifest's `format`.
pub const FORMAT: &str = "comptoir-archive/1";

const INVOICES_DIR: &str = "factures";
const CREDIT_NOTES_DIR: &str = "avoirs";
const BOOK_DIR: &str = "livre-de-recettes";
const CLOSURES_CSV: &str = "clotures.csv";
/// The closures exactly as hashed and signed, for [`verify`] to check again.
const CLOSURES_JSON: &str = "clotures.json";
const AUDIT_CSV: &str = "journal-audit.csv";
const PUBLIC_KEY: &str = "cle-publique.pem";
const README: &str = "LISEZMOI.txt";
/// `sha256sum -c SHA256SUMS` checks the unzipped files without Comptoir.
const SUMS: &str = "SHA256SUMS";
/// The label of the export seal's signature row (see `book_seal_csv`).
const SEAL_SIGNATURE_ROW: &str = "Signature des fichiers (Ed25519)";
const SEAL_SHA_PREFIX: &str = "SHA-256 ";

/// `comptoir-archive-2026.zip`.
pub fn file_name(year: i32) -> String {
    format!("comptoir-archive-{year}.zip")
}

fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), KeepingError> {
    BookPeriod::Year(year)
        .bounds()
        .ok_or_else(|| KeepingError::Refused(format!("{year} n'est pas une année")))
}

/// The year closure of `year` among `closures`.
fn year_closure(closures: &[Closure], year: i32) -> Option<&Closure> {
    closures
        .iter()
        .find(|c| c.kind == ClosureKind::Year && c.period_start.year() == year)
}

/// Makes the archive of `year` in `dir` (replacing an earlier file of that
/// year), and records it. Refuses a year that is not closed yet (its year
/// closure does not exist), or a book that fails verification.
#[tracing::instrument(skip(store, dir), fields(dir = %dir.display()))]
pub async fn make(store: &Store, year: i32, dir: &Path) -> Result<Written, KeepingError> {
    let (from, to) = year_bounds(year)?;
    let all_closures = closures::all(store).await?;
    let Some(closure) = year_closure(&all_closures, year).cloned() else {
        return Err(KeepingError::Refused(format!(
            "l'année {year} n'est pas clôturée : sa clôture annuelle n'existe pas (elle est faite dans la nuit \
             qui suit le 31 décembre, une fois le livre de recettes commencé) ; rien n'a été archivé"
        )));
    };
    let key = seal::key_of(store)?;
    let public = key.public();
    // Verifies the whole book first, and refuses an altered one.
    let book = render::export_book(store, BookPeriod::Year(year)).await?;
    let seller = settings::load(store).await?;
    let documents = sql::issued_between(store, from, to).await?;

    let dest = dir.join(file_name(year));
    let mut w = BundleWriter::create(&dest)?;
    let (mut invoices, mut credit_notes) = (0, 0);
    for d in &documents {
        let (pdf, xml) = render::invoice_files(store, d.id).await?;
        let folder = if d.credit_note {
            credit_notes += 1;
            CREDIT_NOTES_DIR
        } else {
            invoices += 1;
            INVOICES_DIR
        };
        w.add(&format!("{folder}/{}", render::file_name(&d.reference, "pdf")), &pdf)?;
        if let Some(xml) = xml {
            w.add(&format!("{folder}/{}", render::file_name(&d.reference, "xml")), &xml)?;
        }
    }
    let names = BookExport::file_names(BookPeriod::Year(year));
    for (name, bytes) in names
        .iter()
        .zip([&book.csv, &book.totals_csv, &book.pdf, &book.seal_csv])
    {
        w.add(&format!("{BOOK_DIR}/{name}"), bytes)?;
    }
    let of_year: Vec<Closure> = all_closures
        .iter()
        .filter(|c| c.period_start.year() == year)
        .cloned()
        .collect();
    w.add(CLOSURES_CSV, &closures_csv(&of_year))?;
    let closures_json = serde_json::to_vec_pretty(&of_year).map_err(|e| KeepingError::Manifest {
        path: dest.clone(),
        message: e.to_string(),
    })?;
    w.add(CLOSURES_JSON, &closures_json)?;
    let entries = audit_of_year(store, year).await?;
    w.add(AUDIT_CSV, &audit_csv(&entries))?;
    w.add(PUBLIC_KEY, public.to_pem().as_bytes())?;
    let created_at = store.now().await?;
    let readme = format!(
        include_str!("archive-lisezmoi.txt"),
        year = year,
        seller = seller.seller_name,
        siren = seller.siren,
        created = created_at.format("%d/%m/%Y à %H:%M UTC"),
        invoices = counted(invoices, "aucune facture émise", "facture émise", "factures émises"),
        credit_notes = counted(credit_notes, "aucun avoir émis", "avoir émis", "avoirs émis"),
        book_lines = counted(book.lines, "aucune ligne", "ligne", "lignes"),
        closures = counted(of_year.len(), "aucune clôture", "clôture", "clôtures"),
        closure = closure.number,
        audit = counted(entries.len(), "aucune action faite", "action faite", "actions faites"),
        fingerprint = public.fingerprint(),
        public_key = public.hex(),
        file = file_name(year),
    );
    w.add(README, readme.replace('\n', "\r\n").as_bytes())?;
    let sums: String = w
        .entries()
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.path))
        .collect();
    w.add(SUMS, sums.as_bytes())?;
    let details = serde_json::json!({
        "year": year,
        "seller": seller.seller_name,
        "siren": seller.siren,
        "invoices": invoices,
        "credit_notes": credit_notes,
        "book_lines": book.lines,
        "year_closure": closure.number,
        "audit_entries": entries.len(),
        "key_fingerprint": public.fingerprint(),
    });
    let written = w.finish(FORMAT, created_at, details, Some(&key))?;
    sql::record_archive(
        store,
        year,
        &file_name(year),
        &super::bundle::absolute_dir(dir),
        written.size as i64,
        &written.sha256,
        written.files as i32,
    )
    .await?;
    tracing::info!(year, file = %written.path.display(), files = written.files, size = written.size, "yearly archive written");
    Ok(written)
}

/// « 1 facture émise », « 2 factures émises », « aucune facture émise » (`none`).
fn counted(n: usize, none: &str, one: &str, many: &str) -> String {
    match n {
        0 => none.to_string(),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// Every audit entry of `year` (UTC), oldest first.
async fn audit_of_year(store: &Store, year: i32) -> Result<Vec<AuditEntry>, KeepingError> {
    let midnight = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    };
    let mut filter = AuditFilter {
        since: midnight(year),
        until: midnight(year + 1),
        limit: 500,
        ..AuditFilter::default()
    };
    let mut entries = Vec::new();
    loop {
        let page = audit::list(store, &filter).await?;
        let full = page.len() as i64 == filter.limit;
        filter.before_id = page.last().map(|e| e.id);
        entries.extend(page);
        if !full {
            break;
        }
    }
    entries.reverse();
    Ok(entries)
}

fn audit_csv(entries: &[AuditEntry]) -> Vec<u8> {
    let header = ["N°", "Date (UTC)", "Qui", "Depuis", "Action", "Cible", "Détails"];
    let rows: Vec<Vec<Cell>> = entries
        .iter()
        .map(|e| {
            vec![
                Cell::Figure(e.id.to_string()),
                Cell::Text(e.at.format("%d/%m/%Y %H:%M:%S").to_string()),
                Cell::Text(e.actor.clone()),
                Cell::Text(e.ip.clone()),
                Cell::Text(e.action.clone()),
                Cell::Text(e.target.clone()),
                Cell::Text(e.details.to_string()),
            ]
        })
        .collect();
    table_csv(&header, &rows)
}

/// One row per closure and currency, with its totals, hashes and signature.
fn closures_csv(closures: &[Closure]) -> Vec<u8> {
    let header = [
        "N°",
        "Période",
        "Du",
        "Au",
        "Lignes de la période",
        "Devise",
        "Marchandises",
        "Services",
        "dont espèces",
        "Autres modes",
        "Total de la période",
        "Total cumulé",
        "Total cumulé en valeur absolue",
        "Dernière ligne scellée",
        "Empreinte de cette ligne",
        "Empreinte précédente",
        "Empreinte",
        "Signature (Ed25519)",
        "Clôturée le (UTC)",
    ];
    let mut rows = Vec::new();
    for c in closures {
        let totals = c.totals().unwrap_or_default();
        let amounts: Vec<Option<Vec<Cell>>> = if totals.is_empty() {
            vec![None]
        } else {
            totals
                .iter()
                .map(|t| {
                    let amount = |minor: i64| match t.currency.parse::<Currency>() {
                        Ok(currency) => Cell::Figure(Money::new(minor, currency).format_number_fr(false)),
                        Err(_) => Cell::Figure(minor.to_string()),
                    };
                    Some(vec![
                        Cell::Text(t.currency.clone()),
                        amount(t.goods),
                        amount(t.services),
                        amount(t.cash),
                        amount(t.other),
                        amount(t.total),
                        amount(t.grand_total),
                        amount(t.grand_total_abs),
                    ])
                })
                .collect()
        };
        for amount in amounts {
            let mut row = vec![
                Cell::Figure(c.number.to_string()),
                Cell::Text(c.label()),
                Cell::Text(c.period_start.format("%d/%m/%Y").to_string()),
                Cell::Text(c.period_end.format("%d/%m/%Y").to_string()),
                Cell::Figure(c.line_count.to_string()),
            ];
            row.extend(amount.unwrap_or_else(|| (0..8).map(|_| Cell::Text(String::new())).collect()));
            row.extend([
                Cell::Figure(c.book_seq.to_string()),
                Cell::Text(c.book_hash.clone()),
                Cell::Text(c.prev_hash.clone()),
                Cell::Text(c.hash.clone()),
                Cell::Text(c.signature.clone()),
                Cell::Text(c.closed_at.format("%d/%m/%Y %H:%M:%S").to_string()),
            ]);
            rows.push(row);
        }
    }
    table_csv(&header, &rows)
}

/// Makes the archive of every ended year whose year closure exists and that
/// has no archive recorded yet (or whose file is gone); returns those made.
pub async fn make_due(store: &Store, dir: &Path) -> Result<Vec<Written>, KeepingError> {
    let closed: BTreeSet<i32> = closures::all(store)
        .await?
        .iter()
        .filter(|c| c.kind == ClosureKind::Year)
        .map(|c| c.period_start.year())
        .collect();
    let archived = sql::latest_archives(store).await?;
    let mut made = Vec::new();
    for year in closed {
        let present = archived
            .iter()
            .any(|a| a.year == year && Path::new(&a.directory).join(&a.file_name).is_file());
        if !present {
            made.push(make(store, year, dir).await?);
        }
    }
    Ok(made)
}

/// The latest archive of each year, newest year first, and whether its file
/// is still where it was written.
pub async fn list(store: &Store) -> Result<Vec<(sql::ArchiveRecord, bool)>, KeepingError> {
    Ok(sql::latest_archives(store)
        .await?
        .into_iter()
        .map(|a| {
            let present = Path::new(&a.directory).join(&a.file_name).is_file();
            (a, present)
        })
        .collect())
}

/// The file of the latest archive of `year`, if it is still there.
pub async fn path_of(store: &Store, year: i32) -> Result<Option<PathBuf>, KeepingError> {
    Ok(list(store)
        .await?
        .into_iter()
        .find(|(a, present)| a.year == year && *present)
        .map(|(a, _)| Path::new(&a.directory).join(&a.file_name)))
}

pub use super::sql::ArchiveRecord;

/// What checking an archive found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArchiveCheck {
    pub path: PathBuf,
    pub year: Option<i32>,
    pub files: usize,
    /// The fingerprint of the key that signed the manifest.
    pub key_fingerprint: Option<String>,
    /// Whether that key was the one expected (given, or the data
    /// directory's), rather than only the one the manifest names.
    pub key_pinned: bool,
    pub findings: Vec<Finding>,
}

impl ArchiveCheck {
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks the archive at `path` alone, without the database: every file
/// against the manifest, the manifest's signature, and what the files can
/// prove of themselves. With `expected`, the manifest must be that key's.
pub fn verify(path: &Path, expected: Option<&PublicKey>) -> Result<ArchiveCheck, KeepingError> {
    let mut bundle = Bundle::open(path)?;
    let year = bundle
        .manifest
        .details
        .get("year")
        .and_then(|y| y.as_i64())
        .and_then(|y| i32::try_from(y).ok());
    let named = bundle
        .manifest
        .public_key
        .as_deref()
        .and_then(|k| PublicKey::from_hex(k).ok());
    let mut check = ArchiveCheck {
        path: path.to_path_buf(),
        year,
        files: bundle.manifest.files.len(),
        key_fingerprint: named.map(|k| k.fingerprint()),
        key_pinned: expected.is_some(),
        findings: Vec::new(),
    };
    if bundle.manifest.format != FORMAT {
        check.findings.push(Finding {
            path: None,
            message: format!(
                "ce n'est pas une archive annuelle de Comptoir (format « {} », attendu « {FORMAT} »)",
                bundle.manifest.format
            ),
        });
        return Ok(check);
    }
    check.findings = bundle.check(expected, true);
    // What the members prove of themselves, with the key expected, or else
    // the one the manifest names.
    if let Some(key) = expected.copied().or(named) {
        check.findings.extend(check_closures(&mut bundle, year, &key)?);
        check.findings.extend(check_book_seal(&mut bundle, year, &key)?);
    }
    Ok(check)
}

fn at(path: &str, message: String) -> Finding {
    Finding {
        path: Some(path.to_string()),
        message,
    }
}

/// Each closure of `clotures.json` re-hashed, chained to the one before it
/// and its signature checked; the year closure must be among them.
fn check_closures(bundle: &mut Bundle, year: Option<i32>, key: &PublicKey) -> Result<Vec<Finding>, KeepingError> {
    let Some(bytes) = bundle.read(CLOSURES_JSON)? else {
        return Ok(vec![at(CLOSURES_JSON, "absent de l'archive".into())]);
    };
    let closures: Vec<Closure> = match serde_json::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => return Ok(vec![at(CLOSURES_JSON, format!("illisible ({e})"))]),
    };
    let mut findings = Vec::new();
    let mut previous: Option<&Closure> = None;
    for c in &closures {
        let n = c.number;
        if let Some(problem) = closure_seal_problem(c, key) {
            findings.push(at(CLOSURES_JSON, problem));
        }
        if let Some(p) = previous {
            if n != p.number + 1 {
                findings.push(at(
                    CLOSURES_JSON,
                    format!("après la clôture n° {}, la n° {n} : il en manque", p.number),
                ));
            } else if c.prev_hash != p.hash {
                findings.push(at(
                    CLOSURES_JSON,
                    format!("la clôture n° {n} n'est plus chaînée à la précédente"),
                ));
            }
        }
        previous = Some(c);
    }
    if let Some(year) = year {
        if year_closure(&closures, year).is_none() {
            findings.push(at(CLOSURES_JSON, format!("la clôture annuelle de {year} n'y est pas")));
        }
    }
    Ok(findings)
}

/// The book export's seal: the SHA-256 it gives of each file of the export
/// matches the file beside it, and the key's signature of that list holds.
fn check_book_seal(bundle: &mut Bundle, year: Option<i32>, key: &PublicKey) -> Result<Vec<Finding>, KeepingError> {
    let Some(year) = year else {
        return Ok(vec![Finding {
            path: None,
            message: "le manifeste ne dit pas de quelle année est l'archive".into(),
        }]);
    };
    let seal_name = format!("{BOOK_DIR}/{}", BookExport::file_names(BookPeriod::Year(year))[3]);
    let Some(bytes) = bundle.read(&seal_name)? else {
        return Ok(vec![at(&seal_name, "absent de l'archive".into())]);
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(true)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut files: Vec<(String, String)> = Vec::new();
    let mut signature = None;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => return Ok(vec![at(&seal_name, format!("illisible ({e})"))]),
        };
        let (field, value) = (record.get(0).unwrap_or(""), record.get(1).unwrap_or(""));
        if let Some(name) = field.strip_prefix(SEAL_SHA_PREFIX) {
            files.push((name.to_string(), value.to_string()));
        } else if field == SEAL_SIGNATURE_ROW {
            signature = Some(value.to_string());
        }
    }
    let mut findings = Vec::new();
    match signature {
        Some(s) if key.verifies(files_message(&files).as_bytes(), &s) => {}
        _ => findings.push(at(
            &seal_name,
            "la signature des fichiers du livre ne correspond pas à la clé : scellement modifié".into(),
        )),
    }
    if files.len() != 3 {
        findings.push(at(
            &seal_name,
            format!("il scelle {} fichier(s) au lieu de 3", files.len()),
        ));
    }
    for (name, sha) in &files {
        let member = format!("{BOOK_DIR}/{name}");
        match bundle.read(&member)? {
            None => findings.push(at(
                &member,
                "absent de l'archive alors que le scellement le nomme".into(),
            )),
            Some(bytes) if hex(&Sha256::digest(&bytes)) != *sha => findings.push(at(
                &member,
                "contenu modifié : son SHA-256 n'est plus celui que le scellement du livre a signé".into(),
            )),
            Some(_) => {}
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_csv_is_one_row_per_currency() {
        let closure = Closure {
            number: 3,
            kind: ClosureKind::Year,
            period_start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            book_seq: 9,
            book_hash: "ab".into(),
            line_count: 9,
            totals_json: r#"[{"currency":"EUR","goods":1250,"services":-300,"cash":0,"other":950,"total":950,"grand_total":950,"grand_total_abs":1550}]"#.into(),
            prev_hash: "00".into(),
            hash: "cd".into(),
            signature: "ef".into(),
            public_key: "12".into(),
            closed_at: chrono::Utc::now(),
        };
        let text = String::from_utf8(closures_csv(&[closure])).unwrap();
        let rows: Vec<&str> = text.trim_end().split("\r\n").collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert!(
            rows[1].starts_with(
                "3;année 2026;01/01/2026;31/12/2026;9;EUR;12,50;-3,00;0,00;9,50;9,50;9,50;15,50;9;ab;00;cd;ef;"
            ),
            "{}",
            rows[1]
        );
    }
}
