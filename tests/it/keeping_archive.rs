//! The yearly archive (issue 17): `comptoir-worker archive YEAR` packs a
//! closed year (its invoices and credit notes, the livre de recettes, the
//! closures, the audit log, a signed manifest) into one zip; `archive verify`
//! checks it alone and names each file that was altered; the LISEZMOI's
//! recipe checks it without Comptoir (sha256sum, openssl), run here as
//! printed; the job makes each closed year's archive once.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Datelike, NaiveDate};

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::pdf::pdf_text;
use crate::support::web::TestApp;
use crate::support::worker::{output_text as text, worker_cli as worker};
use crate::support::{Backend, TestDb};
use comptoir::billing::closures::{self, ClosureKind};
use comptoir::billing::payments::PaymentMethod;
use comptoir::billing::seal::BookKey;
use comptoir::keeping::archive;

on_both_backends!(
    an_archive_holds_the_year_and_proves_itself,
    archive_verify_names_each_altered_file,
    a_year_not_closed_is_refused_and_each_closed_year_is_archived_once,
    the_admin_makes_lists_and_downloads_the_archives,
);

/// Last year: two invoices paid (one by card in March, one by transfer in
/// June), a credit note on the second, an audit entry; this year one more
/// invoice. The book is closed (last year's closure made). Returns last year
/// and the references (invoices, credit note, this year's invoice).
async fn a_closed_year(db: &TestDb) -> (i32, Vec<String>, String, String) {
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let today = db.today().await;
    let year = today.year() - 1;
    let on = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap();
    let first = issued(&db.store, customer.id, 12_000, on(3, 2)).await;
    pay(
        &db.store,
        invoice_payment(&first, "manual", PaymentMethod::Card, eur(12_000), "arch-1"),
        on(3, 10),
    )
    .await;
    let second = issued(&db.store, customer.id, 8_050, on(6, 1)).await;
    pay(
        &db.store,
        invoice_payment(&second, "manual", PaymentMethod::Transfer, eur(8_050), "arch-2"),
        on(6, 15),
    )
    .await;
    let note = credit(&db.store, second.id, Some(eur(1_050)), on(7, 1))
        .await
        .expect("credit note");
    let current = issued(&db.store, customer.id, 500, today).await;
    let at = match db.backend {
        Backend::Sqlite => format!("'{year}-06-01T09:30:00+00:00'"),
        Backend::Postgres => format!("TIMESTAMPTZ '{year}-06-01 09:30:00+00'"),
    };
    raw_execute(
        db,
        &format!(
            "INSERT INTO audit_log (at, actor, action, target, details, ip)
             VALUES ({at}, 'marie@example.fr', 'invoice.issue', '=HYPERLINK(\"http://x\")', '{{\"invoice\":{}}}', '192.0.2.7')",
            first.id
        ),
    )
    .await
    .expect("audit entry");
    let made = closures::close_due(&db.store).await.expect("close");
    assert!(made
        .iter()
        .any(|c| c.kind == ClosureKind::Year && c.period_start.year() == year));
    (
        year,
        vec![first.reference.unwrap(), second.reference.unwrap()],
        note.reference.unwrap(),
        current.reference.unwrap(),
    )
}

fn archive_dir(db: &TestDb) -> PathBuf {
    db.dir.path().join("cli-data").join("backups").join("archives")
}

/// The members of the zip at `path`, each with its bytes.
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

fn member<'a>(all: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} not in the archive"))
        .1
}

/// A copy of the archive at `path` as `dest`, with `change` applied to its members.
fn rewritten(path: &Path, dest: &Path, change: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    let mut out = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    for (name, bytes) in members(path) {
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&change(&name, bytes)).unwrap();
    }
    out.finish().unwrap();
}

fn verify(db: &TestDb, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["archive", "verify", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    worker(db, &args)
}

async fn an_archive_holds_the_year_and_proves_itself(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (year, invoices, note, current) = a_closed_year(&db).await;

    let out = worker(&db, &["archive", &year.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let path = archive_dir(&db).join(format!("comptoir-archive-{year}.zip"));
    assert!(text(&out).contains(&path.display().to_string()), "{}", text(&out));

    let all = members(&path);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for reference in &invoices {
        assert!(
            names.contains(&format!("factures/{reference}.pdf").as_str()),
            "{names:?}"
        );
        assert!(
            names.contains(&format!("factures/{reference}.xml").as_str()),
            "{names:?}"
        );
    }
    assert!(names.contains(&format!("avoirs/{note}.pdf").as_str()), "{names:?}");
    assert!(names.contains(&format!("avoirs/{note}.xml").as_str()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains(&current)),
        "this year's invoice is not in last year's archive: {names:?}"
    );
    for suffix in [".csv", "-totaux.csv", ".pdf", "-scellement.csv"] {
        let name = format!("livre-de-recettes/livre-de-recettes-{year}{suffix}");
        assert!(names.contains(&name.as_str()), "{name} in {names:?}");
    }
    for name in [
        "clotures.csv",
        "clotures.json",
        "journal-audit.csv",
        "cle-publique.pem",
        "LISEZMOI.txt",
        "SHA256SUMS",
        "manifest.json",
        "manifest.sig",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }

    // What a reader opens: the invoice PDF names its number; the book's CSV
    // has the year's three receipts (120, 80,50 and the -10,50 refund is not a
    // receipt: the credit note was not refunded, so two lines); the closures
    // name the year; the audit log has the year's entry (a formula in it made inert).
    let pdf = pdf_text(member(&all, &format!("factures/{}.pdf", invoices[0])));
    assert!(pdf.contains(&invoices[0]), "{pdf}");
    let book =
        String::from_utf8(member(&all, &format!("livre-de-recettes/livre-de-recettes-{year}.csv")).to_vec()).unwrap();
    assert!(book.contains("120,00") && book.contains("80,50"), "{book}");
    let closures_csv = String::from_utf8(member(&all, "clotures.csv").to_vec()).unwrap();
    assert!(closures_csv.contains(&format!("année {year}")), "{closures_csv}");
    assert!(closures_csv.contains("200,50"), "the year's total: {closures_csv}");
    let audit = String::from_utf8(member(&all, "journal-audit.csv").to_vec()).unwrap();
    assert!(
        audit.contains("01/06/") && audit.contains("invoice.issue") && audit.contains("192.0.2.7"),
        "{audit}"
    );
    assert!(
        audit.contains(";\"'=HYPERLINK(\"\"http://x\"\")\";"),
        "a formula is made inert: {audit}"
    );
    let readme = String::from_utf8(member(&all, "LISEZMOI.txt").to_vec()).unwrap();
    assert!(
        readme.contains(&format!("Archive {year}"))
            && readme.contains("2 factures émises en")
            && readme.contains("1 avoir émis en"),
        "{readme}"
    );

    // `archive verify`, with the data directory's key (the tests' key).
    let out = verify(&db, &path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("archive {year} intacte")),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("clé de signature attendue"), "{}", text(&out));
    let out = verify(&db, &path, &["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["year"], serde_json::json!(year));

    // Without Comptoir: unzip, then the LISEZMOI's commands as printed.
    let unzipped = db.dir.path().join("unzipped");
    std::fs::create_dir_all(&unzipped).unwrap();
    let out = Command::new("unzip")
        .arg("-q")
        .arg(&path)
        .current_dir(&unzipped)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let recipe: Vec<String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("Sans Comptoir"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(recipe.len(), 5, "{recipe:?}");
    let out = Command::new("sh")
        .arg("-ec")
        .arg(recipe.join("\n"))
        .current_dir(&unzipped)
        .output()
        .unwrap();
    assert!(out.status.success(), "{recipe:?}: {}", text(&out));
    let said = text(&out);
    assert!(said.contains("Signature Verified Successfully"), "{said}");
    assert!(!said.contains("FAILED"), "{said}");
    // The manifest's own line for SHA256SUMS is the file's SHA-256.
    let sums_sha = said.split_whitespace().find(|w| w.len() == 64).unwrap();
    assert_eq!(said.matches(sums_sha).count(), 2, "{said}");
    // And the same recipe on a changed manifest fails.
    let manifest = std::fs::read_to_string(unzipped.join("manifest.json")).unwrap();
    std::fs::write(
        unzipped.join("manifest.json"),
        manifest.replacen("\"size\": ", "\"size\": 1", 1),
    )
    .unwrap();
    let out = Command::new("sh")
        .arg("-ec")
        .arg(recipe.join("\n"))
        .current_dir(&unzipped)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
}

async fn archive_verify_names_each_altered_file(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (year, invoices, _, _) = a_closed_year(&db).await;
    let path = archive::make(&db.store, year, &archive_dir(&db))
        .await
        .expect("archive")
        .path;
    let dir = db.dir.path();

    // One invoice's PDF changed (one byte), manifest kept.
    let pdf = format!("factures/{}.pdf", invoices[1]);
    let altered = dir.join("altered.zip");
    rewritten(&path, &altered, |name, mut bytes| {
        if name == pdf {
            let i = bytes.len() / 2;
            bytes[i] ^= 1;
        }
        bytes
    });
    let out = verify(&db, &altered, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("NON INTÈGRE : 1 anomalie(s)"), "{said}");
    assert!(said.contains(&format!("{pdf} : contenu modifié")), "{said}");

    // The book's lines changed: the manifest and the book's own seal name them.
    let lines = format!("livre-de-recettes/livre-de-recettes-{year}.csv");
    let book = dir.join("book.zip");
    rewritten(&path, &book, |name, bytes| {
        if name == lines {
            String::from_utf8(bytes)
                .unwrap()
                .replace("120,00", "12,00")
                .into_bytes()
        } else {
            bytes
        }
    });
    let check = archive::verify(&book, None).unwrap();
    let named: Vec<&str> = check.findings.iter().filter_map(|f| f.path.as_deref()).collect();
    assert_eq!(named, vec![lines.as_str(), lines.as_str()], "{:?}", check.findings);

    // A file added, a file removed.
    let added = dir.join("added.zip");
    let mut out = zip::ZipWriter::new(std::fs::File::create(&added).unwrap());
    for (name, bytes) in members(&path) {
        if name == "journal-audit.csv" {
            continue;
        }
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.start_file("factures/F-fausse.pdf", zip::write::SimpleFileOptions::default())
        .unwrap();
    out.write_all(b"%PDF-1.7").unwrap();
    out.finish().unwrap();
    let check = archive::verify(&added, None).unwrap();
    let said: Vec<String> = check.findings.iter().map(|f| f.to_string()).collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said.iter().any(|f| f.starts_with("journal-audit.csv : absent")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|f| f.starts_with("factures/F-fausse.pdf : ajouté")),
        "{said:?}"
    );

    // The PDF changed and the manifest's line for it rewritten to match:
    // the signature no longer holds.
    let forged = dir.join("forged.zip");
    let all = members(&path);
    let old_sha = {
        use sha2::Digest;
        comptoir::billing::seal::hex(&sha2::Sha256::digest(member(&all, &pdf)))
    };
    let mut changed = member(&all, &pdf).to_vec();
    changed.extend_from_slice(b"\n%%");
    let new_sha = {
        use sha2::Digest;
        comptoir::billing::seal::hex(&sha2::Sha256::digest(&changed))
    };
    rewritten(&path, &forged, |name, bytes| {
        if name == pdf {
            changed.clone()
        } else if name == "manifest.json" {
            let text = String::from_utf8(bytes).unwrap();
            let old_size = format!("\"size\": {},", member(&all, &pdf).len());
            let new_size = format!("\"size\": {},", changed.len());
            text.replace(&old_sha, &new_sha)
                .replace(&old_size, &new_size)
                .into_bytes()
        } else {
            bytes
        }
    });
    let out = verify(&db, &forged, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("manifest.json : la signature du manifeste ne correspond pas"),
        "{}",
        text(&out)
    );

    // A closure's count changed in clotures.json: the manifest names the
    // file, and the closure's own hash names the closure.
    let closures = dir.join("closures.zip");
    rewritten(&path, &closures, |name, bytes| {
        if name == "clotures.json" {
            String::from_utf8(bytes)
                .unwrap()
                .replacen("\"line_count\": 1,", "\"line_count\": 2,", 1)
                .into_bytes()
        } else {
            bytes
        }
    });
    let said: Vec<String> = archive::verify(&closures, None)
        .unwrap()
        .findings
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(said[0].starts_with("clotures.json : contenu modifié"), "{said:?}");
    assert!(
        said[1].starts_with("clotures.json : la clôture n° 1 (journée du") && said[1].ends_with("a été modifiée"),
        "{said:?}"
    );

    // Another key expected than the one that signed: named.
    let other = BookKey::generate().unwrap();
    let out = verify(&db, &path, &["--public-key", &other.public().hex()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("pas par celle attendue"), "{}", text(&out));

    // Not pinned (no key given, none in the data directory): intact, and it says whose key.
    let out = Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
        .env_remove(comptoir::billing::seal::KEY_ENV)
        .env("COMPTOIR_DATA_DIR", dir.join("elsewhere"))
        .env("RUST_LOG", "warn")
        .args(["archive", "verify"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("celle que l'archive nomme"), "{}", text(&out));
    // A backup is not an archive; a file that is not a zip is unreadable.
    let junk = dir.join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let out = verify(&db, &junk, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("archive illisible"), "{}", text(&out));
}

async fn a_year_not_closed_is_refused_and_each_closed_year_is_archived_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (year, _, _, _) = a_closed_year(&db).await;
    let dir = archive_dir(&db);

    let this_year = (year + 1).to_string();
    let out = worker(&db, &["archive", &this_year]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("l'année {this_year} n'est pas clôturée")),
        "{}",
        text(&out)
    );
    assert!(!dir.join(format!("comptoir-archive-{this_year}.zip")).exists());
    let out = worker(&db, &["archive"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // The job's work: last year once; again only when its file is gone.
    let made = archive::make_due(&db.store, &dir).await.expect("due");
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].path, dir.join(format!("comptoir-archive-{year}.zip")));
    assert!(archive::make_due(&db.store, &dir).await.unwrap().is_empty());
    let listed = archive::list(&db.store).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].0.year, listed[0].1), (year, true));
    assert_eq!(listed[0].0.sha256, made[0].sha256);
    std::fs::remove_file(&made[0].path).unwrap();
    assert!(!archive::list(&db.store).await.unwrap()[0].1);
    let again = archive::make_due(&db.store, &dir).await.unwrap();
    assert_eq!(again.len(), 1);
    assert!(archive::verify(&again[0].path, None).unwrap().is_intact());

    // Written by the command into a relative directory: recorded where the
    // web process (another working directory) finds it.
    let out = Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
        .current_dir(db.dir.path())
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .env("COMPTOIR_DATA_DIR", db.dir.path().join("cli-data"))
        .env("RUST_LOG", "warn")
        .args([
            "--database-url",
            &db.url,
            "archive",
            &year.to_string(),
            "--to",
            "copies",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (record, present) = archive::list(&db.store).await.unwrap().remove(0);
    assert!(present, "{record:?}");
    assert_eq!(
        Path::new(&record.directory),
        db.dir.path().join("copies").canonicalize().unwrap()
    );
    std::fs::remove_dir_all(db.dir.path().join("copies")).unwrap();

    // Two writers of the same year at once (the job and the command): both
    // succeed, the file is whole, and no partial file is left.
    let (a, b) = tokio::join!(
        archive::make(&db.store, year, &dir),
        archive::make(&db.store, year, &dir)
    );
    let (a, b) = (a.expect("first writer"), b.expect("second writer"));
    assert_eq!(a.path, b.path);
    assert!(archive::verify(&a.path, None).unwrap().is_intact());
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec![format!("comptoir-archive-{year}.zip")],
        "no partial file left"
    );
}

async fn the_admin_makes_lists_and_downloads_the_archives(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (year, _, _, _) = a_closed_year(&app.db).await;
    let mut client = app.signed_in().await;

    let page = client.get("/admin/archives").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("id=\"archives-due\""), "{html}");
    assert!(
        html.contains(&format!("L'année {year} est clôturée et n'a pas encore d'archive")),
        "{html}"
    );
    assert!(html.contains("Pas encore d'archive"), "{html}");
    match backend {
        Backend::Sqlite => assert!(html.contains("Aucune sauvegarde encore"), "{html}"),
        Backend::Postgres => assert!(html.contains("id=\"backups-postgres\""), "{html}"),
    }

    // The periodic job waiting for tonight does not hide the button.
    comptoir::jobs::enqueue_now(
        &app.db.store,
        &comptoir::keeping::jobs::ArchiveYears::default(),
        comptoir::jobs::EnqueueOptions::new().run_in(std::time::Duration::from_secs(12 * 3600)),
    )
    .await
    .unwrap();
    let html = client.get("/admin/archives").await.text();
    assert!(html.contains("id=\"make-archives\""), "{html}");

    // "Créer les archives dues": one job, audited; asked twice, still one.
    let made = client.post_form("/admin/archives/make", &[]).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let html = client.get("/admin/archives").await.text();
    assert!(html.contains("Préparation des archives dues demandée"), "{html}");
    assert!(html.contains("Préparation en cours"), "{html}");
    assert!(!html.contains("id=\"make-archives\""), "{html}");
    client.post_form("/admin/archives/make", &[]).await;
    let html = client.get("/admin/archives").await.text();
    assert!(html.contains("déjà en préparation"), "{html}");
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM comptoir_jobs WHERE kind = 'keeping.archive_years'"
        )
        .await,
        2,
        "tonight's and the one asked for"
    );
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'archive.request'"
        )
        .await,
        1
    );

    // The worker makes it; the page lists it, and it downloads as written.
    crate::support::worker::drain_app_ok(&app.db.store, &app.ctx).await;
    let html = client.get("/admin/archives").await.text();
    assert!(!html.contains("id=\"archives-due\""), "{html}");
    let link = format!("/admin/archives/{year}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    let (status, headers, bytes) = client.download(&link).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"comptoir-archive-{year}.zip\"").as_str()
    );
    let on_disk = app.ctx.config.archive_dir().join(archive::file_name(year));
    assert_eq!(bytes, std::fs::read(&on_disk).unwrap());
    assert!(archive::verify(&on_disk, None).unwrap().is_intact());
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'archive.download'"
        )
        .await,
        1
    );
    // A year without an archive, or one whose file is gone: not found, not a 500.
    assert_eq!(client.download(&format!("/admin/archives/{}", year - 5)).await.0, 404);
    std::fs::remove_file(&on_disk).unwrap();
    assert_eq!(client.download(&link).await.0, 404);
    let html = client.get("/admin/archives").await.text();
    assert!(html.contains("fichier absent de"), "{html}");
    assert!(html.contains("id=\"archives-due\""), "{html}");
}

/// `bench-keeping` runs end to end on a small year: its figures printed, the
/// archive it made intact, its scratch directory gone (no time is asserted).
#[test]
fn the_keeping_bench_prints_its_figures_and_cleans_up() {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
        .env_remove(comptoir::billing::seal::KEY_ENV)
        .env("RUST_LOG", "warn")
        .args(["bench-keeping", "--invoices", "4", "--work-dir"])
        .arg(work.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = text(&out);
    let result = said
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        result.contains("invoices=4 ") && result.contains("archive_files=18 ") && result.ends_with("intact=true"),
        "{result}"
    );
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "scratch left behind"
    );
}
