//! Backups and restores (issue 17), as the operator runs them: `comptoir-worker
//! backup` taken while the product works (a worker process draining jobs, the
//! API issuing invoices and recording payments, an open write transaction),
//! restored by `comptoir-worker restore` into a fresh directory, which must
//! hold every fact committed before the backup began and nothing that was not
//! committed when it ended, with a livre de recettes that passes
//! `billing verify-book`. On PostgreSQL, the commands refuse and give the
//! `pg_dump` recipe, which is run here as printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use super::api_client::ApiClient;
use crate::support::billing::{business, raw_execute, save_settings};
use crate::support::web::Client;
use crate::support::web::TestApp;
use crate::support::worker::output_text as text;
use crate::support::{book_key_path, Backend, TestDb};
use comptoir::billing::seal::KEY_ENV;
use comptoir::jobs::{enqueue_now, EnqueueOptions, Noop};

const WORKER: &str = env!("CARGO_BIN_EXE_comptoir-worker");

/// `comptoir-worker ARGS` on the data directory `data` (its SQLite database
/// unless `database_url`), with the tests' book key when `tests_key` (a
/// restored directory uses the key restored into it).
fn worker(data: &Path, database_url: Option<&str>, tests_key: bool, args: &[&str]) -> Command {
    let mut command = Command::new(WORKER);
    command
        .env("COMPTOIR_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("COMPTOIR_BACKUP_DIR")
        .env_remove(KEY_ENV)
        .stdin(Stdio::null());
    if tests_key {
        command.env(KEY_ENV, book_key_path());
    }
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.args(args);
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run comptoir-worker"))
        .await
        .expect("comptoir-worker task")
}

/// What a restore must keep: the issued invoices (reference → total), the
/// completed payments (id → amount) and the book's lines (number → hash).
#[derive(Debug, Default, Clone, PartialEq)]
struct Facts {
    invoices: BTreeMap<String, i64>,
    payments: BTreeMap<i64, i64>,
    book: BTreeMap<i64, String>,
}

impl Facts {
    async fn of_sqlite(url: &str) -> Facts {
        let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
        let invoices = sqlx::query_as::<_, (String, i64)>(
            "SELECT reference, total_minor FROM invoices WHERE reference IS NOT NULL",
        )
        .fetch_all(&mut c)
        .await
        .expect("invoices");
        let payments =
            sqlx::query_as::<_, (i64, i64)>("SELECT id, amount_minor FROM payments WHERE status = 'completed'")
                .fetch_all(&mut c)
                .await
                .expect("payments");
        let book = sqlx::query_as::<_, (i64, String)>("SELECT seq, hash FROM revenue_book")
            .fetch_all(&mut c)
            .await
            .expect("book");
        Facts {
            invoices: invoices.into_iter().collect(),
            payments: payments.into_iter().collect(),
            book: book.into_iter().collect(),
        }
    }

    /// Whether every fact of `other` is in `self`, the same.
    fn includes(&self, other: &Facts) -> bool {
        fn all<K: Ord, V: PartialEq>(a: &BTreeMap<K, V>, b: &BTreeMap<K, V>) -> bool {
            b.iter().all(|(k, v)| a.get(k) == Some(v))
        }
        all(&self.invoices, &other.invoices) && all(&self.payments, &other.payments) && all(&self.book, &other.book)
    }
}

/// The seller's settings, and one invoice of 200,00 € issued and paid
/// today (a line in the book), its payment's key `key`.
async fn one_invoice_paid(db: &TestDb, key: &str) {
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let today = db.today().await;
    let invoice = crate::support::billing::issued(&db.store, customer.id, 20_000, today).await;
    crate::support::billing::pay_in_full(
        &db.store,
        &invoice,
        today,
        "manual",
        comptoir::billing::payments::PaymentMethod::Transfer,
        key,
    )
    .await;
}

/// `comptoir-worker backup --to BACKUPS` of the data directory `data` on
/// `database_url`, with the tests' book key.
async fn backup_to(data: &Path, database_url: &str, backups: &Path) -> Output {
    run(worker(
        data,
        Some(database_url),
        true,
        &["backup", "--to", backups.to_str().unwrap()],
    ))
    .await
}

/// `comptoir-worker restore FILE` into `<dir>/restored`, a fresh data
/// directory: that directory and what the command printed.
async fn restore_fresh(dir: &Path, file: &Path) -> (PathBuf, Output) {
    let fresh = dir.join("restored");
    let out = run(worker(&fresh, None, false, &["restore", file.to_str().unwrap()])).await;
    (fresh, out)
}

/// The only backup file in `dir`.
fn the_backup_in(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("backup directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Issues invoices and records their payments through the API until told
/// to stop; returns how many were paid.
async fn sell_until(app: &TestApp, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    let key = app.api_key().await;
    let customer = business(&app.db.store).await;
    let mut api = ApiClient::new(app, &key);
    tokio::spawn(async move {
        let mut paid = 0;
        while !stop.load(Ordering::SeqCst) {
            let n = paid as i64 + 1;
            let draft = api
                .post(
                    "/api/invoices",
                    &json!({ "customer_id": customer.id, "lines": [
                        { "description": format!("Séance {n}"), "nature": "services", "quantity": 1,
                          "unit_price": { "minor": 5_000 + n, "currency": "EUR" } }] }),
                )
                .await;
            assert_eq!(draft.status, 201, "{}", draft.body);
            let id = draft.json()["id"].as_i64().expect("id");
            let issued = api.post_empty(&format!("/api/invoices/{id}/issue")).await;
            assert_eq!(issued.status, 200, "{}", issued.body);
            let payment = api
                .post(
                    &format!("/api/invoices/{id}/payments"),
                    &json!({ "amount": { "minor": 5_000 + n, "currency": "EUR" }, "method": "transfer" }),
                )
                .await;
            assert!(matches!(payment.status, 201 | 202), "{}", payment.body);
            paid += 1;
        }
        paid
    })
}

#[tokio::test]
async fn a_backup_of_the_running_product_restores_every_committed_fact() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    save_settings(&app.db.store).await;
    let data = app.db.dir.path().join("data");
    let backups = app.db.dir.path().join("backups");
    let url = app.db.url.clone();

    // An imported file the backup must carry (kept under <data>/imports/).
    let csv = app.db.dir.path().join("clients.csv");
    std::fs::write(
        &csv,
        "kind,name,email,address,siren\r\nperson,Zoé Roux,zoe@example.fr,\"2 rue du Four\n75006 Paris\",\r\n",
    )
    .unwrap();
    let out = run(worker(
        &data,
        Some(&url),
        true,
        &["billing", "import", "customers", csv.to_str().unwrap()],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = run(worker(&data, Some(&url), true, &["drain"])).await;
    assert!(out.status.success(), "{}", text(&out));

    // A worker process draining jobs all along: 400 short jobs, and what the sales enqueue.
    for _ in 0..400 {
        enqueue_now(
            &app.db.store,
            &Noop {
                sleep_ms: Some(5),
                ..Noop::default()
            },
            EnqueueOptions::new(),
        )
        .await
        .unwrap();
    }
    let mut running = tokio::process::Command::from(worker(&data, Some(&url), true, &["run", "--concurrency", "4"]));
    let mut running = running
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn comptoir-worker run");

    // The API sells all along; the backup is taken once a few sales are in.
    let stop = Arc::new(AtomicBool::new(false));
    let selling = sell_until(&app, stop.clone()).await;
    let mut before = Facts::default();
    for _ in 0..300 {
        before = Facts::of_sqlite(&url).await;
        if before.book.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(before.book.len() >= 5, "the sales did not start: {before:?}");
    let out = backup_to(&data, &url, &backups).await;
    let after = Facts::of_sqlite(&url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let sold = selling.await.expect("the sales");
    let _ = running.start_kill();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("sauvegarde écrite"), "{}", text(&out));
    assert!(
        after.invoices.len() > before.invoices.len() || sold > before.invoices.len(),
        "the load went on"
    );
    let file = the_backup_in(&backups);

    // Restored into a fresh directory, with the key from the backup only.
    let (fresh, out) = restore_fresh(app.db.dir.path(), &file).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("livre de recettes intact"), "{}", text(&out));
    let restored = Facts::of_sqlite(&format!("sqlite://{}/comptoir.db", fresh.display())).await;
    assert!(
        restored.includes(&before),
        "a fact committed before the backup is missing:\nbefore {before:?}\nrestored {restored:?}"
    );
    assert!(
        after.includes(&restored),
        "the restore holds what was never committed:\nafter {after:?}\nrestored {restored:?}"
    );
    assert!(fresh.join(comptoir::billing::seal::KEY_FILE).exists());
    let imported: Vec<_> = std::fs::read_dir(fresh.join("imports"))
        .expect("imports restored")
        .collect();
    assert_eq!(imported.len(), 1, "{imported:?}");
    let zoe: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE name = 'Zoé Roux'")
        .fetch_one(
            &mut sqlx::SqliteConnection::connect(&format!("sqlite://{}/comptoir.db", fresh.display()))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(zoe, 1, "the import ran before the backup");

    // The restored product checks its own book with its own key, and serves.
    let out = run(worker(&fresh, None, false, &["billing", "verify-book"])).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = run(worker(&fresh, None, false, &["drain", "--max-time", "20s"])).await;
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        text(&out)
    );

    // A second restore over it is refused, and leaves it as it was.
    let out = run(worker(&fresh, None, false, &["restore", file.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("n'est pas vide"), "{}", text(&out));
    let again = Facts::of_sqlite(&format!("sqlite://{}/comptoir.db", fresh.display())).await;
    assert!(again.includes(&restored));
}

#[tokio::test]
async fn a_backup_taken_during_an_open_write_transaction_holds_only_what_was_committed() {
    let db = TestDb::new(Backend::Sqlite).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let committed = crate::support::billing::issued(&db.store, customer.id, 12_345, db.today().await).await;
    let data = db.dir.path().join("data");
    let backups = db.dir.path().join("backups");

    // A writer in another connection holds SQLite's write lock, its invoice not committed.
    let mut writer = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut writer).await.unwrap();
    sqlx::query("UPDATE customers SET name = 'Nom jamais validé' WHERE id = $1")
        .bind(customer.id)
        .execute(&mut writer)
        .await
        .unwrap();

    // The backup's snapshot does not wait for it: its file appears while the transaction is open.
    let mut backup = tokio::process::Command::from(worker(
        &data,
        Some(&db.url),
        true,
        &["backup", "--to", backups.to_str().unwrap()],
    ));
    let backup = backup
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut appeared = false;
    for _ in 0..200 {
        let zip = std::fs::read_dir(&backups)
            .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "zip")))
            .unwrap_or(false);
        if zip {
            appeared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(appeared, "the backup waited for the open transaction");
    sqlx::query("COMMIT").execute(&mut writer).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), backup.wait_with_output())
        .await
        .expect("backup finishes")
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    let (fresh, out) = restore_fresh(db.dir.path(), &the_backup_in(&backups)).await;
    assert!(out.status.success(), "{}", text(&out));
    let restored = format!("sqlite://{}/comptoir.db", fresh.display());
    let mut c = sqlx::SqliteConnection::connect(&restored).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
        .bind(customer.id)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(name, customer.name, "the uncommitted change is not in the backup");
    let reference: String = sqlx::query_scalar("SELECT reference FROM invoices WHERE id = $1")
        .bind(committed.id)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(Some(reference), committed.reference);
}

#[tokio::test]
async fn a_damaged_backup_is_refused_naming_the_file_and_restores_nothing() {
    let db = TestDb::new(Backend::Sqlite).await;
    save_settings(&db.store).await;
    let data = db.dir.path().join("data");
    let backups = db.dir.path().join("backups");
    let out = backup_to(&data, &db.url, &backups).await;
    assert!(out.status.success(), "{}", text(&out));
    let file = the_backup_in(&backups);

    // The same zip with the database's bytes changed and the manifest kept.
    let damaged = db.dir.path().join("damaged.zip");
    {
        let mut source = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
        let mut out = zip::ZipWriter::new(std::fs::File::create(&damaged).unwrap());
        for i in 0..source.len() {
            let mut member = source.by_index(i).unwrap();
            let name = member.name().unwrap().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut member, &mut bytes).unwrap();
            if name == "comptoir.db" {
                let at = bytes.len() / 2;
                bytes[at] ^= 0xff;
            }
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut out, &bytes).unwrap();
        }
        out.finish().unwrap();
    }
    let (fresh, out) = restore_fresh(db.dir.path(), &damaged).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("comptoir.db : contenu modifié"), "{}", text(&out));
    assert!(!fresh.join("comptoir.db").exists());
    assert!(!fresh.join(comptoir::billing::seal::KEY_FILE).exists());

    // Not a backup at all.
    std::fs::write(db.dir.path().join("notes.zip"), b"not a zip").unwrap();
    let out = run(worker(
        &fresh,
        None,
        false,
        &["restore", db.dir.path().join("notes.zip").to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("fichier zip illisible"), "{}", text(&out));
}

#[tokio::test]
async fn on_postgres_backup_and_restore_refuse_with_the_recipe() {
    let db = TestDb::new(Backend::Postgres).await;
    let data = db.dir.path().join("data");
    for args in [&["backup"][..], &["restore", "x.zip"][..]] {
        let out = run(worker(&data, Some(&db.url), true, args)).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("pg_dump --format=custom"), "{}", text(&out));
    }
    assert!(!data.join("backups").exists());
}

/// The README's recipe, run as printed: `pg_dump` while a transaction is
/// open, `pg_restore` into an empty database, then `billing verify-book`.
#[tokio::test]
async fn the_postgres_recipe_restores_a_verified_book() {
    let db = TestDb::new(Backend::Postgres).await;
    one_invoice_paid(&db, "recipe-pay").await;
    let mut open = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut open).await.unwrap();
    sqlx::query("UPDATE customers SET name = 'Nom jamais validé'")
        .execute(&mut open)
        .await
        .unwrap();

    let dump = db.dir.path().join("comptoir.dump");
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&db.url)
        .output()
        .expect("pg_dump (postgresql-client)");
    assert!(out.status.success(), "{}", text(&out));
    sqlx::query("ROLLBACK").execute(&mut open).await.unwrap();

    let target = TestDb::unmigrated(Backend::Postgres).await;
    let out = Command::new("pg_restore")
        .args(["--no-owner", "--dbname"])
        .arg(&target.url)
        .arg(&dump)
        .output()
        .expect("pg_restore");
    assert!(out.status.success(), "{}", text(&out));
    let data = db.dir.path().join("data");
    let out = run(worker(&data, Some(&target.url), true, &["billing", "verify-book"])).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("intact"), "{}", text(&out));
    let name = crate::support::billing::raw_i64(
        &target,
        "SELECT COUNT(*) FROM customers WHERE name = 'Nom jamais validé'",
    )
    .await;
    assert_eq!(name, 0);
    assert!(crate::support::billing::count(&target, "revenue_book").await >= 1);
}

async fn readyz_backup(client: &mut Client) -> serde_json::Value {
    client.get("/readyz").await.json()["details"]["backup"].clone()
}

/// `/readyz` and the dashboard say when the last backup was taken, and warn
/// when there is none or it is older than two days; on PostgreSQL, that it
/// is pg_dump's.
#[tokio::test]
async fn readyz_and_the_dashboard_show_the_last_backup() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let never = readyz_backup(&mut client).await;
    assert_eq!(never["status"], "never", "{never}");
    assert!(never["warning"].is_string(), "{never}");
    let page = client.get("/admin").await.text();
    assert!(page.contains("id=\"backup-alert\""), "{page}");
    assert!(page.contains("Aucune sauvegarde encore"), "{page}");

    let config = comptoir::config::Config {
        database_url: Some(app.db.url.clone()),
        data_dir: app.db.dir.path().join("data"),
        backup_dir: Some(app.db.dir.path().join("backups")),
    };
    comptoir::keeping::backup::take(
        &app.db.store,
        &config,
        &config.backup_dir(),
        comptoir::keeping::backup::Origin::Command,
    )
    .await
    .expect("backup");
    let ok = readyz_backup(&mut client).await;
    assert_eq!(ok["status"], "ok", "{ok}");
    assert!(ok.get("warning").is_none(), "{ok}");
    let page = client.get("/admin").await.text();
    assert!(!page.contains("id=\"backup-alert\""), "{page}");
    assert!(page.contains("data-backup=\"ok\""), "{page}");

    raw_execute(&app.db, "UPDATE backups SET created_at = '2020-01-01T02:30:00+00:00'")
        .await
        .unwrap();
    let stale = readyz_backup(&mut client).await;
    assert_eq!(stale["status"], "stale", "{stale}");
    assert!(stale["warning"].as_str().unwrap().contains("48 h"), "{stale}");
    let page = client.get("/admin").await.text();
    assert!(page.contains("id=\"backup-alert\""), "{page}");
    assert!(page.contains("plus de 48 h"), "{page}");

    let pg = TestApp::spawn(Backend::Postgres).await;
    save_settings(&pg.db.store).await;
    let external = pg.client().get("/readyz").await.json()["details"]["backup"].clone();
    assert_eq!(external["status"], "external", "{external}");
    let page = pg.signed_in().await.get("/admin").await.text();
    assert!(page.contains("pg_dump"), "{page}");
    assert!(!page.contains("id=\"backup-alert\""), "{page}");
}

/// The nightly job: a backup in the backup directory, recorded, then the
/// retention (7 days, 4 weeks, 12 months) over the older ones, leaving any
/// other file alone. On PostgreSQL it has nothing to do and says so.
#[tokio::test]
async fn the_nightly_job_backs_up_and_keeps_days_weeks_and_months() {
    let db = TestDb::new(Backend::Sqlite).await;
    save_settings(&db.store).await;
    let ctx = crate::support::worker::app_context(&db, |_| None);
    let dir = ctx.config.backup_dir();
    std::fs::create_dir_all(&dir).unwrap();
    // Sixty nights of 2025's autumn, and a file of the operator's.
    let start = chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    for n in 0..60 {
        let night = (start + chrono::Days::new(n)).and_hms_opt(2, 30, 0).unwrap().and_utc();
        std::fs::write(dir.join(comptoir::keeping::backup::file_name(night)), b"old").unwrap();
    }
    std::fs::write(dir.join("lisez-moi.txt"), b"mes notes").unwrap();

    enqueue_now(
        &db.store,
        &comptoir::keeping::jobs::Backup::default(),
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    let report = crate::support::worker::drain_app(&db.store, &ctx).await;
    assert_eq!(report.completed, 1, "{report:?}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let today = db.today().await.format("%Y%m%d").to_string();
    assert!(
        names.iter().any(|n| n.starts_with(&format!("comptoir-backup-{today}"))),
        "{names:?}"
    );
    assert!(names.contains(&"lisez-moi.txt".to_string()), "{names:?}");
    // Kept of the old ones: the 6 newest nights (the 7th day is today's), the newest of the
    // ISO week before (week 42: Sunday 19 October), the last of September (October's is the 30th).
    let old: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_prefix("comptoir-backup-2025"))
        .map(|n| &n[..4])
        .collect();
    assert_eq!(
        old,
        ["0930", "1019", "1025", "1026", "1027", "1028", "1029", "1030"],
        "{names:?}"
    );
    let recorded = comptoir::keeping::backup::last(&db.store)
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(recorded.origin, "job");

    let pg = TestDb::new(Backend::Postgres).await;
    let ctx = crate::support::worker::app_context(&pg, |_| None);
    enqueue_now(
        &pg.store,
        &comptoir::keeping::jobs::Backup::default(),
        EnqueueOptions::new(),
    )
    .await
    .unwrap();
    let report = crate::support::worker::drain_app(&pg.store, &ctx).await;
    assert_eq!(report.completed, 1, "{report:?}");
    assert!(!ctx.config.backup_dir().exists());
}

/// A backup whose livre de recettes was altered is not restored: the
/// findings are named and nothing is put in place, unless the operator
/// insists (`--despite-findings`: restored, still exit 1).
#[tokio::test]
async fn a_backup_of_an_altered_book_is_restored_only_on_request() {
    let db = TestDb::new(Backend::Sqlite).await;
    one_invoice_paid(&db, "altered-pay").await;
    raw_execute(&db, "DROP TRIGGER revenue_book_no_update").await.unwrap();
    raw_execute(&db, "UPDATE revenue_book SET amount_minor = 100")
        .await
        .unwrap();
    let data = db.dir.path().join("data");
    let backups = db.dir.path().join("backups");
    let out = backup_to(&data, &db.url, &backups).await;
    assert!(out.status.success(), "{}", text(&out));
    let file = the_backup_in(&backups);

    let (fresh, out) = restore_fresh(db.dir.path(), &file).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("livre de recettes altéré"), "{}", text(&out));
    assert!(text(&out).contains("rien n'a été restauré"), "{}", text(&out));
    assert!(!fresh.join("comptoir.db").exists());
    assert!(!fresh.join(comptoir::billing::seal::KEY_FILE).exists());

    let out = run(worker(
        &fresh,
        None,
        false,
        &["restore", "--despite-findings", file.to_str().unwrap()],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("base restaurée"), "{}", text(&out));
    assert!(fresh.join("comptoir.db").exists());
    let out = run(worker(&fresh, None, false, &["billing", "verify-book"])).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// An import still waiting for its job when the backup was taken runs in the
/// restored directory from the restored copy of its file (its job names the
/// old directory's, which is gone).
#[tokio::test]
async fn a_pending_import_runs_after_a_restore_elsewhere() {
    let db = TestDb::new(Backend::Sqlite).await;
    save_settings(&db.store).await;
    let data = db.dir.path().join("data");
    let backups = db.dir.path().join("backups");
    let csv = db.dir.path().join("clients.csv");
    std::fs::write(
        &csv,
        "kind,name,email,address,siren\r\nperson,Zoé Roux,zoe@example.fr,\"2 rue du Four\n75006 Paris\",\r\n",
    )
    .unwrap();
    let out = run(worker(
        &data,
        Some(&db.url),
        true,
        &["billing", "import", "customers", csv.to_str().unwrap()],
    ))
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = backup_to(&data, &db.url, &backups).await;
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_dir_all(data.join("imports")).unwrap();

    let (fresh, out) = restore_fresh(db.dir.path(), &the_backup_in(&backups)).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 fichier(s) importé(s)"), "{}", text(&out));
    let out = run(worker(&fresh, None, false, &["drain"])).await;
    assert!(out.status.success(), "{}", text(&out));
    let restored = format!("sqlite://{}/comptoir.db", fresh.display());
    let zoe: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE name = 'Zoé Roux'")
        .fetch_one(&mut sqlx::SqliteConnection::connect(&restored).await.unwrap())
        .await
        .unwrap();
    assert_eq!(zoe, 1);
}

/// The archives page speaks the operator's language: French by default,
/// English for an operator who reads English.
#[tokio::test]
async fn the_archives_page_reads_in_french_or_in_english() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut french = app.signed_in().await;
    let page = french.get("/admin/archives").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text().contains("Sauvegardes et archives"), "{}", page.body);
    let mut english = app.signed_in_english().await;
    let page = english.get("/admin/archives").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text();
    for shown in [
        "Backups and archives",
        "Yearly archives",
        "No archive yet",
        "No backup yet.",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    for french in ["Sauvegardes", "Archives annuelles", "Aucune sauvegarde"] {
        assert!(!text.contains(french), "{french} in the English page");
    }
}
