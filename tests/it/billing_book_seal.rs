//! The livre de recettes holds up to an inspection: closures per day, month
//! and year, sealed with a key kept outside the database; `verify-book`
//! names each alteration made behind the application's back (triggers
//! dropped, chain recomputed), and no export is made of an altered book; a
//! good export carries the closure it stops at, its signature and the
//! public key.

use std::process::Output;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::pdf::pdf_text;
use crate::support::{Backend, TestDb};
use chrono::{Datelike, Days, NaiveDate};
use comptoir::billing::closures::{self, ClosureKind};
use comptoir::billing::payments::PaymentMethod;
use comptoir::billing::render::{self, BookExport, BookPeriod};
use comptoir::billing::revenue_book::{self, BookLine};
use comptoir::billing::seal::{BookKey, PublicKey};
use comptoir::billing::{book_check, BillingError};
use sha2::Digest;

on_both_backends!(
    closing_seals_each_day_with_receipts_each_month_and_year_once,
    a_receipt_dated_in_a_closed_period_is_refused_by_the_book_itself,
    a_changed_amount_with_the_chain_recomputed_is_named,
    a_deleted_last_line_is_named,
    a_deleted_last_line_is_named_before_any_closure,
    a_deleted_middle_line_is_named,
    an_inserted_line_is_named,
    an_altered_closure_is_named,
    a_good_export_carries_the_closure_its_signature_and_the_key,
    lines_written_before_the_seal_are_sealed_by_the_first_closure,
    a_process_without_the_books_key_refuses_to_start,
);

// ---------------------------------------------------------------- fixtures

use crate::support::worker::{output_text as text, worker_cli as worker};

fn days_before(today: NaiveDate, n: u64) -> NaiveDate {
    today.checked_sub_days(Days::new(n)).expect("a date")
}

/// Four receipts: 30, 20 and 10 days ago (the last in cash), and today.
/// Returns today.
async fn book_of_four(db: &TestDb) -> NaiveDate {
    save_settings(&db.store).await;
    let customer = business(&db.store).await;
    let today = db.today().await;
    let issued_on = days_before(today, 40);
    let receipts = [
        (30, 12_000, PaymentMethod::Transfer),
        (20, 8_050, PaymentMethod::Card),
        (10, 4_000, PaymentMethod::Cash),
        (0, 1_990, PaymentMethod::Transfer),
    ];
    for (i, (ago, minor, method)) in receipts.into_iter().enumerate() {
        let invoice = issued(&db.store, customer.id, minor, issued_on).await;
        let key = format!("seal-{i}");
        pay(
            &db.store,
            invoice_payment(&invoice, "manual", method, eur(minor), &key),
            days_before(today, ago),
        )
        .await;
    }
    today
}

/// The four receipts, closed.
async fn closed_book(db: &TestDb) -> NaiveDate {
    let today = book_of_four(db).await;
    let made = closures::close_due(&db.store).await.expect("close");
    assert!(!made.is_empty());
    assert!(book_check::verify(&db.store).await.unwrap().is_intact());
    today
}

async fn lines(db: &TestDb) -> Vec<BookLine> {
    revenue_book::list(&db.store, date(2000, 1, 1), date(2100, 12, 31))
        .await
        .expect("book")
}

/// Lifts the guards on the book and its closures, as someone with the database would.
async fn lift_guards(db: &TestDb) {
    let statements: &[&str] = match db.backend {
        Backend::Postgres => &[
            "ALTER TABLE revenue_book DISABLE TRIGGER USER",
            "ALTER TABLE book_closures DISABLE TRIGGER USER",
        ],
        Backend::Sqlite => &[
            "DROP TRIGGER revenue_book_no_update",
            "DROP TRIGGER revenue_book_no_delete",
            "DROP TRIGGER book_closures_no_update",
            "DROP TRIGGER book_closures_no_delete",
        ],
    };
    for sql in statements {
        raw_execute(db, sql).await.expect(sql);
    }
}

async fn sql(db: &TestDb, statement: &str) {
    raw_execute(db, statement).await.expect(statement);
}

/// `verify-book` exits 1 and says `expected`; the export is refused, by the
/// command line and by the application, with the reason.
async fn named_and_export_refused(db: &TestDb, expected: &str) {
    let found = book_check::verify(&db.store).await.unwrap();
    assert!(
        found.findings.iter().any(|f| f.message.contains(expected)),
        "expected {expected:?} in {:#?}",
        found.findings
    );
    let out = worker(db, &["billing", "verify-book"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("ALTÉRÉ"), "{}", text(&out));
    assert!(text(&out).contains(expected), "{}", text(&out));

    let year = db.today().await.year().to_string();
    let dir = db.dir.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let out = worker(db, &["billing", "export-book", &year, "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("export refusé : livre de recettes altéré"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no file written");

    match render::export_book(&db.store, BookPeriod::parse(&year).unwrap()).await {
        Err(BillingError::BookAltered(why)) => assert!(why.contains("altéré"), "{why}"),
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("an altered book was exported"),
    }
}

// ---------------------------------------------------------------- closing

async fn closing_seals_each_day_with_receipts_each_month_and_year_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let today = book_of_four(&db).await;
    let made = closures::close_due(&db.store).await.expect("close");

    // A closure per day with receipts before today (not today's), per month
    // ended since the first receipt, and a year only once one has ended.
    let days: Vec<NaiveDate> = made
        .iter()
        .filter(|c| c.kind == ClosureKind::Day)
        .map(|c| c.period_start)
        .collect();
    assert_eq!(
        days,
        vec![days_before(today, 30), days_before(today, 20), days_before(today, 10)]
    );
    let first = days_before(today, 30);
    let mut months = Vec::new();
    let mut m = first.with_day(1).unwrap();
    while m.checked_add_months(chrono::Months::new(1)).unwrap() <= today {
        months.push(m);
        m = m.checked_add_months(chrono::Months::new(1)).unwrap();
    }
    let closed_months: Vec<NaiveDate> = made
        .iter()
        .filter(|c| c.kind == ClosureKind::Month)
        .map(|c| c.period_start)
        .collect();
    assert_eq!(closed_months, months);
    let years = made.iter().filter(|c| c.kind == ClosureKind::Year).count();
    assert_eq!(years as i32, today.year() - first.year());
    // Numbered, chained, in the order of their periods' ends.
    for (i, c) in made.iter().enumerate() {
        assert_eq!(c.number, i as i64 + 1);
        if i > 0 {
            assert_eq!(c.prev_hash, made[i - 1].hash);
            assert!(c.period_end >= made[i - 1].period_end);
        }
        assert!(PublicKey::from_hex(&c.public_key)
            .unwrap()
            .verifies(c.hash.as_bytes(), &c.signature));
    }

    // The day of the cash receipt: one line, 40,00 of services, all cash; the
    // grand totals run through that day (120 + 80,50 + 40).
    let cash_day = made
        .iter()
        .find(|c| c.kind == ClosureKind::Day && c.period_start == days_before(today, 10))
        .unwrap();
    assert_eq!(cash_day.line_count, 1);
    let totals = cash_day.totals().unwrap();
    assert_eq!(totals.len(), 1);
    let t = &totals[0];
    assert_eq!(
        (t.currency.as_str(), t.goods, t.services, t.cash, t.other, t.total),
        ("EUR", 0, 4_000, 4_000, 0, 4_000)
    );
    assert_eq!((t.grand_total, t.grand_total_abs), (24_050, 24_050));
    // Every closure seals the book as it stood: its last line, today's included.
    assert!(made.iter().all(|c| c.book_seq == 4));

    // Once per slot: a second run, the command and the job add nothing.
    assert!(closures::close_due(&db.store).await.unwrap().is_empty());
    let out = worker(&db, &["billing", "close-book"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("rien à clôturer"), "{}", text(&out));
    assert_eq!(closures::all(&db.store).await.unwrap().len(), made.len());

    let out = worker(&db, &["billing", "verify-book"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("intact : 4 ligne(s)"), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("dernière clôture : n° {}", made.len())),
        "{}",
        text(&out)
    );
}

async fn a_receipt_dated_in_a_closed_period_is_refused_by_the_book_itself(backend: Backend) {
    let db = TestDb::new(backend).await;
    let today = closed_book(&db).await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 5_000, days_before(today, 40)).await;
    let mut tx = db.store.begin().await.unwrap();
    let p = comptoir::billing::payments::initiate(
        &mut tx,
        invoice_payment(&invoice, "manual", PaymentMethod::Cheque, eur(5_000), "late"),
    )
    .await
    .unwrap();
    let late = comptoir::billing::payments::Completion {
        received_on: days_before(today, 15),
        fee: eur(0),
        provider_reference: None,
    };
    let e = comptoir::billing::payments::complete(&mut tx, p.id, late)
        .await
        .expect_err("a receipt in a closed period");
    assert!(e.to_string().contains("période close"), "{e}");
    drop(tx);
    assert_eq!(lines(&db).await.len(), 4);
}

// ---------------------------------------------------------------- tampering

async fn a_changed_amount_with_the_chain_recomputed_is_named(backend: Backend) {
    let db = TestDb::new(backend).await;
    closed_book(&db).await;
    lift_guards(&db).await;
    // Line 2 loses 50,00; every hash after it is recomputed, as a 20-line
    // script would, without the key.
    sql(
        &db,
        "UPDATE revenue_book SET amount_minor = amount_minor - 5000 WHERE seq = 2",
    )
    .await;
    let mut previous = lines(&db).await[0].hash.clone();
    let mut all = lines(&db).await;
    all.sort_by_key(|l| l.seq);
    for l in all.iter().skip(1) {
        let hash = revenue_book::line_hash(l.seq, &l.line, &previous);
        sql(
            &db,
            &format!(
                "UPDATE revenue_book SET prev_hash = '{previous}', hash = '{hash}' WHERE seq = {}",
                l.seq
            ),
        )
        .await;
        previous = hash;
    }
    let found = book_check::verify(&db.store).await.unwrap();
    // The chain itself is consistent again: only the key tells.
    assert!(
        !found.findings.iter().any(|f| f.message.contains("chaîne rompue")),
        "{:#?}",
        found.findings
    );
    assert_eq!(found.findings[0].line, Some(2), "{:#?}", found.findings);
    named_and_export_refused(&db, "la signature de la ligne n° 2 ne correspond pas").await;
    named_and_export_refused(&db, "chaîne recalculée").await;
}

async fn a_deleted_last_line_is_named(backend: Backend) {
    let db = TestDb::new(backend).await;
    closed_book(&db).await;
    lift_guards(&db).await;
    // Today's line, the last: the closures made this morning sealed it. The
    // forger also puts the book's counter back.
    sql(&db, "DELETE FROM revenue_book WHERE seq = 4").await;
    sql(
        &db,
        "UPDATE document_series SET last_number = 3 WHERE series = '__livre_de_recettes'",
    )
    .await;
    named_and_export_refused(&db, "la ligne n° 4 manque en fin de livre : la clôture n° 1").await;
}

async fn a_deleted_last_line_is_named_before_any_closure(backend: Backend) {
    let db = TestDb::new(backend).await;
    book_of_four(&db).await;
    lift_guards(&db).await;
    // No closure yet: the last line goes, the counter is put back. The book's
    // signed head still says line 4; an older head cannot be signed again.
    sql(&db, "DELETE FROM revenue_book WHERE seq = 4").await;
    sql(
        &db,
        "UPDATE document_series SET last_number = 3 WHERE series = '__livre_de_recettes'",
    )
    .await;
    named_and_export_refused(
        &db,
        "la ligne n° 4 manque en fin de livre (la tête signée du livre s'arrête à la ligne n° 4)",
    )
    .await;
    // Pointing the head at line 3 with line 3's own signature does not pass either.
    let three = lines(&db).await.into_iter().find(|l| l.seq == 3).unwrap();
    sql(
        &db,
        &format!(
            "UPDATE book_head SET seq = 3, hash = '{}', signature = '{}'",
            three.hash,
            three.signature.unwrap()
        ),
    )
    .await;
    named_and_export_refused(&db, "la tête du livre ne porte pas la signature de la clé du livre").await;
    // Nor does deleting the head.
    sql(&db, "DELETE FROM book_head").await;
    named_and_export_refused(&db, "la tête signée du livre manque").await;
}

async fn a_deleted_middle_line_is_named(backend: Backend) {
    let db = TestDb::new(backend).await;
    closed_book(&db).await;
    lift_guards(&db).await;
    sql(&db, "DELETE FROM revenue_book WHERE seq = 2").await;
    named_and_export_refused(&db, "la ligne n° 2 manque (supprimée)").await;
}

async fn an_inserted_line_is_named(backend: Backend) {
    let db = TestDb::new(backend).await;
    let today = closed_book(&db).await;
    lift_guards(&db).await;
    // A fifth line, chained as the application would, numbered by the
    // counter, but signed with a key of the forger's: and dated in a closed day.
    let all = lines(&db).await;
    let last = all.iter().max_by_key(|l| l.seq).unwrap();
    let mut line = last.line.clone();
    line.received_on = days_before(today, 10);
    line.amount = eur(99_900);
    line.payment_id = None;
    let hash = revenue_book::line_hash(5, &line, &last.hash);
    let signature = BookKey::generate().unwrap().sign(hash.as_bytes());
    sql(
        &db,
        &format!(
            "INSERT INTO revenue_book (seq, received_on, customer_id, client_name, nature, amount_minor, currency, method,
                 invoice_reference, credit_note_reference, payment_id, refund_id, prev_hash, hash, signature, created_at)
             VALUES (5, '{}', {}, '{}', 'services', 99900, 'EUR', '{}', '{}', NULL, NULL, NULL, '{}', '{hash}', '{signature}', '{}')",
            line.received_on,
            line.customer_id,
            line.client_name.replace('\'', "''"),
            line.method,
            line.invoice_reference,
            last.hash,
            chrono::Utc::now().to_rfc3339(),
        ),
    )
    .await;
    sql(
        &db,
        "UPDATE document_series SET last_number = 5 WHERE series = '__livre_de_recettes'",
    )
    .await;
    named_and_export_refused(&db, "la signature de la ligne n° 5 ne correspond pas").await;
    named_and_export_refused(&db, "a été entrée après la clôture").await;
}

async fn an_altered_closure_is_named(backend: Backend) {
    let db = TestDb::new(backend).await;
    closed_book(&db).await;
    lift_guards(&db).await;
    // The first day's closure says 100,00 less; its hash is recomputed, but it
    // cannot be signed again without the key.
    let first = closures::all(&db.store).await.unwrap().remove(0);
    let altered = first.totals_json.replace("\"total\":12000", "\"total\":2000");
    assert_ne!(altered, first.totals_json);
    let body = closures::ClosureBody {
        kind: first.kind,
        period_start: first.period_start,
        period_end: first.period_end,
        book_seq: first.book_seq,
        book_hash: first.book_hash.clone(),
        line_count: first.line_count,
        totals_json: altered.clone(),
    };
    let hash = closures::closure_hash(1, &body, &first.prev_hash, &first.public_key);
    sql(
        &db,
        &format!("UPDATE book_closures SET totals = '{altered}', hash = '{hash}' WHERE number = 1"),
    )
    .await;
    named_and_export_refused(&db, "la signature de la clôture n° 1 ne correspond pas").await;
    named_and_export_refused(&db, "ne correspondent plus à sa clôture n° 1").await;
    named_and_export_refused(&db, "la clôture n° 2 n'est plus chaînée").await;
}

// ---------------------------------------------------------------- exports

async fn a_good_export_carries_the_closure_its_signature_and_the_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    let today = closed_book(&db).await;
    let year = today.year().to_string();
    let dir = db.dir.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let out = worker(&db, &["billing", "export-book", &year, "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let names = BookExport::file_names(BookPeriod::parse(&year).unwrap());
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let last = closures::latest(&db.store).await.unwrap().unwrap();
    let key = crate::support::book_key_path();
    let key = BookKey::load_or_create(std::path::Path::new("/nonexistent"), Some(key))
        .unwrap()
        .0;
    let public = key.public().hex();

    // The seal: the closure it stops at, its signature, the public key, and
    // the SHA-256 of each file signed with the book's key.
    let seal = String::from_utf8(read(&names[3])).unwrap();
    assert!(seal.contains(&format!("Clôture;{}\r\n", last.number)), "{seal}");
    assert!(
        seal.contains(&format!("Signature de la clôture;{}\r\n", last.signature)),
        "{seal}"
    );
    assert!(seal.contains(&format!("Clé publique;{public}\r\n")), "{seal}");
    let mut files = Vec::new();
    for name in &names[..3] {
        let sha = comptoir::billing::seal::hex(&sha2::Sha256::digest(read(name)));
        assert!(seal.contains(&format!("SHA-256 {name};{sha}\r\n")), "{name} in {seal}");
        files.push((name.clone(), sha));
    }
    let signature = seal
        .lines()
        .find_map(|l| l.strip_prefix("Signature des fichiers (Ed25519);"))
        .expect("the files' signature");
    let message = comptoir::billing::documents::files_message(&files);
    assert!(key.public().verifies(message.as_bytes(), signature));

    // The PDF prints the same seal.
    let pdf = pdf_text(&read(&names[2]))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(pdf.contains("Scellement"), "{pdf}");
    assert!(
        pdf.contains(&format!("Arrêté à la clôture n° {}", last.number)),
        "{pdf}"
    );
    assert!(pdf.contains(&last.signature), "{pdf}");
    assert!(pdf.contains(&public), "{pdf}");

    // An inspector checks the book with the printed key alone; another key fails.
    let out = worker(&db, &["billing", "verify-book", "--public-key", &public]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let other = BookKey::generate().unwrap().public().hex();
    let out = worker(&db, &["billing", "verify-book", "--public-key", &other]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("ne correspond pas à la clé du livre"),
        "{}",
        text(&out)
    );
}

async fn lines_written_before_the_seal_are_sealed_by_the_first_closure(backend: Backend) {
    let db = TestDb::new(backend).await;
    let today = book_of_four(&db).await;
    // As a book written before migration 0009 reads: no line signed.
    lift_guards(&db).await;
    sql(&db, "UPDATE revenue_book SET signature = NULL").await;
    let v = book_check::verify(&db.store).await.unwrap();
    assert!(v.is_intact(), "{:#?}", v.findings);
    // The first closure seals them: a later edit is named through it.
    closures::close_due(&db.store).await.unwrap();
    assert!(book_check::verify(&db.store).await.unwrap().is_intact());
    // A line written since is signed; one stripped of its signature is named.
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 700, days_before(today, 5)).await;
    pay(
        &db.store,
        invoice_payment(&invoice, "manual", PaymentMethod::Cash, eur(700), "after-seal"),
        today,
    )
    .await;
    let fifth = lines(&db).await.into_iter().find(|l| l.seq == 5).unwrap();
    assert!(fifth.signature.is_some());
    assert!(book_check::verify(&db.store).await.unwrap().is_intact());
    sql(&db, "UPDATE revenue_book SET signature = NULL WHERE seq = 5").await;
    named_and_export_refused(&db, "la ligne n° 5 n'est pas signée").await;
    // An old, unsigned line changed: its hash names it.
    sql(&db, "UPDATE revenue_book SET amount_minor = 1 WHERE seq = 1").await;
    named_and_export_refused(&db, "ne correspond plus à son empreinte").await;
}

/// `comptoir-worker ARGS` with `data_dir` and no `COMPTOIR_BOOK_KEY`: the key
/// is the data directory's.
fn worker_in(db: &TestDb, data_dir: &std::path::Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_comptoir-worker"))
        .env_remove(comptoir::billing::seal::KEY_ENV)
        .env("COMPTOIR_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .arg("--database-url")
        .arg(&db.url)
        .args(args)
        .output()
        .expect("run comptoir-worker")
}

async fn a_process_without_the_books_key_refuses_to_start(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    // The first process makes the book's key in its data directory and records it.
    let first = db.dir.path().join("first");
    let out = worker_in(&db, &first, &["billing", "verify-book"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(first.join(comptoir::billing::seal::KEY_FILE).exists());
    // A second machine without the file: refused, and no key of its own is made.
    let second = db.dir.path().join("second");
    let out = worker_in(&db, &second, &["billing", "close-book"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("la clé du livre de recettes manque"),
        "{}",
        text(&out)
    );
    assert!(!second.join(comptoir::billing::seal::KEY_FILE).exists());
    // One with a key of its own: refused, naming both keys.
    std::fs::create_dir_all(&second).unwrap();
    std::fs::write(
        second.join(comptoir::billing::seal::KEY_FILE),
        BookKey::generate().unwrap().to_pem(),
    )
    .unwrap();
    let out = worker_in(&db, &second, &["billing", "close-book"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("n'est pas celle qui signe ce livre"),
        "{}",
        text(&out)
    );
    // With the book's key copied over, it runs.
    std::fs::copy(
        first.join(comptoir::billing::seal::KEY_FILE),
        second.join(comptoir::billing::seal::KEY_FILE),
    )
    .unwrap();
    let out = worker_in(&db, &second, &["billing", "close-book"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
