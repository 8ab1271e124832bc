//! CSV imports of customers and of bank statements, as French spreadsheets and
//! banks export them: Windows-1252 or UTF-8 (with a BOM), `;` or `,`, French
//! amounts and dates. Bad rows are reported with their line in the file and
//! nothing is applied; a file imported twice adds nothing the second time.

use std::path::PathBuf;
use std::time::Instant;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use comptoir::billing::import::{self, ImportError, ImportKind, ImportProgress, ImportReport, ImportStatus, RowNote};
use comptoir::billing::invoices::{self, InvoiceStatus};
use comptoir::billing::payments::{self, PaymentFilter, PaymentMethod, PaymentStatus};
use comptoir::billing::revenue_book;
use comptoir::billing::validate;

on_both_backends!(
    a_hundred_thousand_customers_import_once_with_progress,
    bad_rows_are_reported_with_their_line_and_nothing_is_applied,
    a_bank_export_pays_the_invoices_it_names_and_skips_the_rest,
    a_row_it_cannot_apply_waits_and_an_unreadable_row_refuses_the_file,
    utf8_with_bom_commas_and_iso_dates,
    unusable_files_get_a_clear_error,
    an_interrupted_import_resumes_without_duplicates,
);

// ---------------------------------------------------------------- helpers

fn cp1252(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable, "{text:?} fits Windows-1252");
    bytes.into_owned()
}

/// A valid SIREN built from `n` (8 digits and a Luhn key).
fn siren(n: u32) -> String {
    let base = format!("{:08}", 10_000_000 + n);
    (0..10)
        .map(|d| format!("{base}{d}"))
        .find(|s| validate::siren(s).is_ok())
        .expect("one key digit fits")
}

struct Run {
    id: i64,
    result: Result<ImportReport, ImportError>,
    progress: Vec<ImportProgress>,
}

async fn run_file(db: &TestDb, kind: ImportKind, name: &str, bytes: &[u8]) -> Run {
    let path: PathBuf = db.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write the file");
    run_path(db, kind, &path, &import::sha256_hex(bytes)).await
}

async fn run_path(db: &TestDb, kind: ImportKind, path: &std::path::Path, sha: &str) -> Run {
    let mut tx = db.store.begin().await.expect("begin");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let registered = import::register(&mut tx, kind, &name, sha).await.expect("register");
    tx.commit().await.expect("commit");
    assert_eq!(registered.status, ImportStatus::Pending);
    let mut progress = Vec::new();
    let result = import::run(&db.store, registered.id, path, |p| progress.push(p)).await;
    Run {
        id: registered.id,
        result,
        progress,
    }
}

fn note(line: u64, message: &str) -> RowNote {
    RowNote {
        line,
        message: message.to_string(),
    }
}

/// Two issued invoices (1 234,56 € to a business, 349,99 € to a person), issued on 15/01/2026.
async fn two_issued_invoices(db: &TestDb) -> (invoices::Invoice, invoices::Invoice) {
    save_settings(&db.store).await;
    let company = business(&db.store).await;
    let someone = person(&db.store).await;
    let a = simple_draft(&db.store, company.id, 123_456).await;
    let b = simple_draft(&db.store, someone.id, 34_999).await;
    let a = issue(&db.store, a.id, date(2026, 1, 15)).await;
    let b = issue(&db.store, b.id, date(2026, 1, 15)).await;
    (a, b)
}

// ---------------------------------------------------------------- tests

async fn a_hundred_thousand_customers_import_once_with_progress(backend: Backend) {
    let db = TestDb::new(backend).await;
    const ROWS: u32 = 100_000;
    let mut text = String::from("Type;Nom;E-mail;Adresse;SIREN\r\n");
    for i in 0..ROWS {
        let row = match i % 3 {
            0 => format!(
                "entreprise;Société d'Études n°{i};;\"{i} avenue de l'Opéra; bâtiment B, 75002 Paris\";{}\r\n",
                siren(i)
            ),
            1 => format!(
                "particulier;Hélène Lefèvre {i};helene.lefevre{i}@exemple.fr;{i} rue de l'Église, 69001 Lyon;\r\n"
            ),
            _ => format!("Particulier;François Núñez {i};;{i} chemin des Écoliers, 13001 Marseille;\r\n"),
        };
        text.push_str(&row);
    }
    let bytes = cp1252(&text);

    let started = Instant::now();
    let first = run_file(&db, ImportKind::Customers, "clients.csv", &bytes).await;
    let first_took = started.elapsed();
    let report = first.result.expect("the import runs");
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors.first());
    assert_eq!(
        (report.total, report.imported, report.skipped, report.bad_rows),
        (100_000, 100_000, 0, 0)
    );
    assert_eq!(count(&db, "customers").await, 100_000);
    assert_eq!(
        raw_i64(&db, "SELECT COUNT(*) FROM customers WHERE kind = 'business'").await,
        33_334
    );
    assert_eq!(
        raw_i64(
            &db,
            "SELECT COUNT(*) FROM customers WHERE name = 'Hélène Lefèvre 1' AND email = 'helene.lefevre1@exemple.fr'
               AND address = '1 rue de l''Église' AND postcode = '69001' AND city = 'Lyon' AND country = 'FR'"
        )
        .await,
        1
    );
    assert_eq!(
        raw_i64(
            &db,
            "SELECT COUNT(*) FROM customers WHERE name = 'Société d''Études n°3' AND kind = 'business'
               AND address = '3 avenue de l''Opéra; bâtiment B' AND postcode = '75002' AND city = 'Paris'"
        )
        .await,
        1
    );
    assert_eq!(count(&db, "import_keys").await, 100_000);

    // Progress after each chunk: many calls, increasing, ending at the total.
    assert!(first.progress.len() >= 50, "{} progress calls", first.progress.len());
    assert!(first.progress.iter().all(|p| p.total == 100_000));
    assert!(first.progress.windows(2).all(|w| w[0].done < w[1].done));
    assert_eq!(first.progress.last().map(|p| p.done), Some(100_000));
    let stored = import::get(&db.store, first.id).await.expect("stored");
    assert_eq!(stored.status, ImportStatus::Completed);
    assert_eq!(
        (stored.total_rows, stored.imported_rows, stored.skipped_rows),
        (100_000, 100_000, 0)
    );
    assert!(stored.finished_at.is_some());

    // The same file again: nothing added, every row skipped as already imported.
    let started = Instant::now();
    let again = run_file(&db, ImportKind::Customers, "clients (2).csv", &bytes).await;
    let again_took = started.elapsed();
    let report = again.result.expect("the import runs");
    assert_eq!(report.status, ImportStatus::Completed);
    assert_eq!((report.total, report.imported, report.skipped), (100_000, 0, 100_000));
    assert_eq!(report.skips.len(), import::MAX_LISTED);
    let expected = format!("déjà importée (import n° {})", first.id);
    assert!(
        report.skips.iter().all(|s| s.message == expected),
        "{:?}",
        report.skips.first()
    );
    assert_eq!(report.skips[0].line, 2);
    assert_eq!(count(&db, "customers").await, 100_000);
    assert_eq!(again.progress.last().map(|p| p.done), Some(100_000));
    eprintln!("{backend:?}: 100,000 customers imported in {first_took:.1?}, re-imported in {again_took:.1?}");
}

async fn bad_rows_are_reported_with_their_line_and_nothing_is_applied(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (a, _) = two_issued_invoices(&db).await;
    let customers_before = count(&db, "customers").await;

    // Customers, CRLF: a quoted address spans lines 3-5, the bad SIREN is on line 6.
    let text = "Type;Nom;E-mail;Adresse;SIREN\r\n\
                entreprise;Atelier Dupré;;5 avenue de l'Été, 69003 Lyon;552100554\r\n\
                particulier;Jean Martin;jean@exemple.fr;\"3 place du Marché\r\nBâtiment B\r\n69002 Lyon\";\r\n\
                entreprise;Mauvais SIREN SARL;;1 rue du Bac, 75007 Paris;552 100 555\r\n\
                particulier;Zoé Roux;zoe@exemple.fr;2 rue du Four, 75006 Paris;\r\n";
    let run = run_file(&db, ImportKind::Customers, "clients.csv", text.as_bytes()).await;
    let report = run.result.expect("the file is read");
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(
        report.errors,
        vec![note(6, "SIREN : « 552100555 » : clé de contrôle fausse (Luhn)")]
    );
    assert_eq!((report.total, report.imported, report.bad_rows), (4, 0, 1));
    assert!(run.progress.is_empty());
    assert_eq!(count(&db, "customers").await, customers_before);
    assert_eq!(count(&db, "import_keys").await, 0);
    let stored = import::get(&db.store, run.id).await.expect("stored");
    assert_eq!(stored.status, ImportStatus::Failed);
    assert_eq!(stored.errors, report.errors);
    assert_eq!(
        stored.failure.as_deref(),
        Some("1 ligne en erreur : rien n'a été importé")
    );

    // A bank statement in Windows-1252: a bad amount on line 3, a bad date on line 4.
    let reference = a.reference.clone().unwrap();
    let text = format!(
        "Date;Libellé;Montant\r\n\
         15/02/2026;VIR ATELIER DUPRE {reference};100,00\r\n\
         16/02/2026;VIR ATELIER DUPRE {reference};12,3,4\r\n\
         31/02/2026;VIR ATELIER DUPRE {reference};10,00\r\n"
    );
    let run = run_file(&db, ImportKind::Payments, "releve.csv", &cp1252(&text)).await;
    let report = run.result.expect("the file is read");
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(
        report.errors,
        vec![
            note(3, "Montant : « 12,3,4 » n'est pas un montant"),
            note(4, "Date : « 31/02/2026 » n'est pas une date valide"),
        ]
    );
    assert_eq!(count(&db, "payments").await, 0);
    assert_eq!(count(&db, "revenue_book").await, 0);
    let a = invoices::get(&db.store, a.id).await.unwrap();
    assert_eq!((a.status, a.paid), (InvoiceStatus::Issued, eur(0)));
    assert_eq!(
        import::get(&db.store, run.id).await.unwrap().failure.as_deref(),
        Some("2 lignes en erreur : rien n'a été importé")
    );
}

async fn a_bank_export_pays_the_invoices_it_names_and_skips_the_rest(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (a, b) = two_issued_invoices(&db).await;
    let (ra, rb) = (a.reference.clone().unwrap(), b.reference.clone().unwrap());
    // A bank's preamble above the header; debit and credit columns; no-break spaces.
    let text = format!(
        "Compte courant n° 00012345678;;;;\r\n\
         Période du 01/02/2026 au 28/02/2026;;;;\r\n\
         \r\n\
         Date opération;Libellé;Débit;Crédit;Référence\r\n\
         03/02/2026;PRLV SEPA URSSAF COTISATIONS;1 234,56;;\r\n\
         05/02/2026;VIR SEPA ATELIER DUPRE;;1\u{a0}234,56;{ra}\r\n\
         06/02/2026;VIR INST SOCIETE INCONNUE;;50,00;\r\n\
         10/02/2026;REMISE CHEQUE 1234567 {rb};;349,99 €;\r\n"
    );
    let bytes = cp1252(&text);
    let run = run_file(&db, ImportKind::Payments, "releve-fevrier.csv", &bytes).await;
    let report = run.result.expect("the import runs");
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!((report.total, report.imported, report.skipped), (4, 2, 2));
    assert_eq!(
        report.skips,
        vec![
            note(5, "débit de 1\u{a0}234,56\u{a0}€ : pas un encaissement"),
            note(7, NOTHING_MATCHES),
        ]
    );
    // The credit that pays nothing waits for the operator.
    assert_eq!(count(&db, "bank_entries").await, 3);
    assert_eq!(
        raw_i64(&db, "SELECT COUNT(*) FROM bank_entries WHERE status = 'waiting'").await,
        1
    );
    assert_eq!(run.progress, vec![ImportProgress { done: 4, total: 4 }]);

    let mut paid = payments::list(
        &db.store,
        &PaymentFilter {
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    paid.sort_by_key(|p| p.received_on);
    assert_eq!(paid.len(), 2);
    assert!(paid
        .iter()
        .all(|p| p.status == PaymentStatus::Completed && p.provider == "manual"));
    assert_eq!(
        paid.iter()
            .map(|p| (p.invoice_id, p.amount, p.method, p.received_on))
            .collect::<Vec<_>>(),
        vec![
            (
                Some(a.id),
                eur(123_456),
                PaymentMethod::Transfer,
                Some(date(2026, 2, 5))
            ),
            (Some(b.id), eur(34_999), PaymentMethod::Cheque, Some(date(2026, 2, 10))),
        ]
    );
    assert_eq!(paid[0].provider_reference.as_deref(), Some(ra.as_str()));
    for id in [a.id, b.id] {
        assert_eq!(invoices::get(&db.store, id).await.unwrap().status, InvoiceStatus::Paid);
    }
    let book = revenue_book::list(&db.store, date(2026, 1, 1), date(2026, 12, 31))
        .await
        .unwrap();
    assert_eq!(
        book.iter()
            .map(|l| (
                l.line.received_on,
                l.line.amount,
                l.line.method.as_str(),
                l.line.invoice_reference.as_str()
            ))
            .collect::<Vec<_>>(),
        vec![
            (date(2026, 2, 5), eur(123_456), "transfer", ra.as_str()),
            (date(2026, 2, 10), eur(34_999), "cheque", rb.as_str()),
        ]
    );

    // The same statement again (or one overlapping it): nothing is paid twice.
    let again = run_file(&db, ImportKind::Payments, "releve-fevrier (1).csv", &bytes).await;
    let report = again.result.expect("the import runs");
    assert_eq!((report.imported, report.skipped, report.bad_rows), (0, 4, 0));
    let already = format!("déjà importée (import n° {})", run.id);
    assert_eq!(
        report
            .skips
            .iter()
            .map(|s| (s.line, s.message.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (5, "débit de 1\u{a0}234,56\u{a0}€ : pas un encaissement"),
            (6, already.as_str()),
            (7, already.as_str()),
            (8, already.as_str()),
        ]
    );
    assert_eq!(count(&db, "payments").await, 2);
    assert_eq!(count(&db, "bank_entries").await, 3);
    assert_eq!(count(&db, "revenue_book").await, 2);
}

const NOTHING_MATCHES: &str =
    "en attente de rapprochement : aucune facture due ne correspond (ni numéro, ni montant, ni nom)";

/// A row that cannot be read refuses the file, named by its line; rows that
/// can be read but not applied (here two partial payments) wait for the
/// operator instead of refusing the rest.
async fn a_row_it_cannot_apply_waits_and_an_unreadable_row_refuses_the_file(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (a, b) = two_issued_invoices(&db).await;
    let (ra, rb) = (a.reference.clone().unwrap(), b.reference.clone().unwrap());
    let rows = format!(
        "Date;Libellé;Montant;Mode\n\
         01/03/2026;Paiement {rb} acompte;200,00;virement\n\
         02/03/2026;Paiement {rb} solde;200,00;chèque\n\
         03/03/2026;Facture {ra};1 234,56;virement\n"
    );
    let unreadable = format!("{rows}04/03/2026;Paiement {rb};12,50;bitcoin\n31/02/2026;Paiement {rb};12,50;\n");
    let run = run_file(&db, ImportKind::Payments, "paiements.csv", unreadable.as_bytes()).await;
    let report = run.result.expect("the file is read");
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(
        report.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![5, 6],
        "{:?}",
        report.errors
    );
    assert!(report.errors[0]
        .message
        .contains("« bitcoin » n'est pas un moyen de paiement"));
    assert_eq!((count(&db, "payments").await, count(&db, "bank_entries").await), (0, 0));

    let run = run_file(&db, ImportKind::Payments, "paiements-corrige.csv", rows.as_bytes()).await;
    let report = run.result.expect("the file is read");
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!((report.total, report.imported, report.skipped), (3, 1, 2));
    let partial =
        format!("en attente de rapprochement : paiement partiel de {rb} : 200,00\u{a0}€ reçus, 349,99\u{a0}€ dus");
    assert_eq!(report.skips, vec![note(2, &partial), note(3, &partial)]);
    assert_eq!(
        invoices::get(&db.store, a.id).await.unwrap().status,
        InvoiceStatus::Paid
    );
    assert_eq!(
        invoices::get(&db.store, b.id).await.unwrap().status,
        InvoiceStatus::Issued
    );
    assert_eq!(
        raw_i64(&db, "SELECT COUNT(*) FROM bank_entries WHERE status = 'waiting'").await,
        2
    );
}

async fn utf8_with_bom_commas_and_iso_dates(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (a, b) = two_issued_invoices(&db).await;
    let (ra, rb) = (a.reference.clone().unwrap(), b.reference.clone().unwrap());
    let text = format!(
        "\u{feff}date,label,amount,method,reference\n\
         2026-03-02,Client payment,\"1,234.56\",card,{}\n\
         2026-03-03,\"Cash deposit, {rb}\",349.99,Espèces,\n",
        ra.to_lowercase()
    );
    let run = run_file(&db, ImportKind::Payments, "payments.csv", text.as_bytes()).await;
    let report = run.result.expect("the import runs");
    assert_eq!(
        (report.status, report.imported, report.skipped),
        (ImportStatus::Completed, 2, 0)
    );
    let book = revenue_book::list(&db.store, date(2026, 3, 1), date(2026, 3, 31))
        .await
        .unwrap();
    assert_eq!(
        book.iter()
            .map(|l| (l.line.received_on, l.line.method.as_str(), l.line.amount))
            .collect::<Vec<_>>(),
        vec![
            (date(2026, 3, 2), "card", eur(123_456)),
            (date(2026, 3, 3), "cash", eur(34_999)),
        ]
    );

    // Customers in English, one already known by its SIREN.
    let new_siren = siren(4242);
    let text = format!(
        "\u{feff}kind,name,email,address,siren\r\n\
         business,\"Dupré, Fils & Cie\",contact@dupre.fr,\"5 avenue de l'Été, 69003 Lyon\",{new_siren}\r\n\
         business,Atelier Dupré SARL,,\"5 avenue de l'Été, 69003 Lyon\",552 100 554\r\n\
         person,Zoé Roux,,\"2 rue du Four\n75006 Paris\",\r\n"
    );
    let run = run_file(&db, ImportKind::Customers, "customers.csv", text.as_bytes()).await;
    let report = run.result.expect("the import runs");
    assert_eq!((report.status, report.imported), (ImportStatus::Completed, 2));
    let existing = raw_i64(&db, "SELECT MIN(id) FROM customers WHERE siren = '552100554'").await;
    assert_eq!(
        report.skips,
        vec![note(3, &format!("un client a déjà le SIREN 552100554 (n° {existing})"))]
    );
    assert_eq!(
        raw_i64(
            &db,
            &format!("SELECT COUNT(*) FROM customers WHERE name = 'Dupré, Fils & Cie' AND siren = '{new_siren}'")
        )
        .await,
        1
    );
    assert_eq!(
        raw_i64(
            &db,
            "SELECT COUNT(*) FROM customers WHERE name = 'Zoé Roux' AND address = '2 rue du Four'
               AND postcode = '75006' AND city = 'Paris'"
        )
        .await,
        1
    );

    // Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
    let text = "Prénom\tNom\tAdresse\tCode postal\tVille\r\nAnaïs\tLœvenbruck\t8 quai de Saône\t69002\tLyon\r\n";
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let run = run_file(&db, ImportKind::Customers, "clients.txt", &bytes).await;
    assert_eq!(run.result.expect("the import runs").imported, 1);
    assert_eq!(
        raw_i64(
            &db,
            "SELECT COUNT(*) FROM customers WHERE name = 'Anaïs Lœvenbruck' AND kind = 'person'
               AND address = '8 quai de Saône' AND postcode = '69002' AND city = 'Lyon' AND country = 'FR'"
        )
        .await,
        1
    );
}

async fn unusable_files_get_a_clear_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let customers = ImportKind::Customers;

    let run = run_file(&db, customers, "vide.csv", b"").await;
    assert!(matches!(run.result, Err(ImportError::EmptyFile)), "{:?}", run.result);
    let stored = import::get(&db.store, run.id).await.unwrap();
    assert_eq!(stored.status, ImportStatus::Failed);
    assert_eq!(stored.failure.as_deref(), Some("le fichier est vide"));

    let run = run_file(&db, customers, "blanc.csv", "\u{feff}\r\n  \r\n;;;\r\n".as_bytes()).await;
    assert!(matches!(run.result, Err(ImportError::EmptyFile)), "{:?}", run.result);

    let run = run_file(
        &db,
        customers,
        "entete.csv",
        &cp1252("Type;Nom;E-mail;Adresse;SIREN\r\n;;;;\r\n"),
    )
    .await;
    assert!(matches!(run.result, Err(ImportError::NoRows)), "{:?}", run.result);
    assert_eq!(
        run.result.unwrap_err().to_string(),
        "le fichier a une ligne d'en-tête mais aucune ligne de données"
    );

    let run = run_file(
        &db,
        customers,
        "sans-adresse.csv",
        &cp1252("Type;Nom;E-mail;SIREN\r\nparticulier;Zoé;;\r\n"),
    )
    .await;
    let message = run.result.unwrap_err().to_string();
    assert_eq!(
        message,
        "colonne \"adresse\" / \"address\" manquante : l'en-tête (ligne 1) a \"Type\", \"Nom\", \"E-mail\", \"SIREN\""
    );
    assert_eq!(import::get(&db.store, run.id).await.unwrap().failure, Some(message));

    let run = run_file(
        &db,
        ImportKind::Payments,
        "releve.csv",
        b"Date;Libell\xe9\r\n01/02/2026;VIR\r\n",
    )
    .await;
    let message = run.result.unwrap_err().to_string();
    assert!(message.starts_with("colonne \"montant\" / \"amount\""), "{message}");

    let run = run_file(
        &db,
        customers,
        "classeur.csv",
        b"PK\x03\x04\x14\x00\x06\x00rest of a zip",
    )
    .await;
    assert!(matches!(run.result, Err(ImportError::NotText(_))), "{:?}", run.result);

    // Garbage never panics; it is refused with a reason.
    let mut rng = fastrand::Rng::with_seed(7);
    for (i, kind) in [customers, ImportKind::Payments, customers].into_iter().enumerate() {
        let garbage: Vec<u8> = (0..8192).map(|_| rng.u8(1..=255)).collect();
        let run = run_file(&db, kind, &format!("garbage-{i}.csv"), &garbage).await;
        assert!(run.result.is_err(), "{:?}", run.result);
        assert_eq!(
            import::get(&db.store, run.id).await.unwrap().status,
            ImportStatus::Failed
        );
    }

    // A file other than the one registered is refused.
    let path = db.dir.path().join("autre.csv");
    std::fs::write(&path, "Nom;Adresse\nZoé;2 rue du Four\n").unwrap();
    let run = run_path(&db, customers, &path, &import::sha256_hex(b"something else")).await;
    assert!(
        matches!(run.result, Err(ImportError::ChecksumMismatch { .. })),
        "{:?}",
        run.result
    );
    assert_eq!(count(&db, "customers").await, 0);

    // Registration checks what it is given.
    let mut tx = db.store.begin().await.unwrap();
    assert!(import::register(&mut tx, customers, "  ", &import::sha256_hex(b"x"))
        .await
        .is_err());
    assert!(import::register(&mut tx, customers, "a.csv", "not a hash")
        .await
        .is_err());
    let ok = import::register(
        &mut tx,
        customers,
        "C:\\Users\\marie\\clients.csv",
        &import::sha256_hex(b"x"),
    )
    .await
    .unwrap();
    assert_eq!(ok.filename, "clients.csv");
}

async fn an_interrupted_import_resumes_without_duplicates(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut text = String::from("Nom;Adresse;E-mail\n");
    for i in 0..2_500 {
        text.push_str(&format!("Client {i};{i} rue Haute, 75001 Paris;client{i}@exemple.fr\n"));
    }
    // The same customer twice in the file: imported once.
    text.push_str("Client 7;7 rue Haute, 75001 Paris;CLIENT7@exemple.fr\n");
    let path = db.dir.path().join("clients.csv");
    std::fs::write(&path, &text).unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let registered = import::register(
        &mut tx,
        ImportKind::Customers,
        "clients.csv",
        &import::sha256_hex(text.as_bytes()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // The worker dies after the first chunk is committed (the future runs on another task, so it is `Send`).
    let (store, id, file) = (db.store.clone(), registered.id, path.clone());
    let crashed =
        tokio::spawn(
            async move { import::run(&store, id, &file, |p| assert!(p.done < 1_000, "the worker dies")).await },
        )
        .await;
    assert!(crashed.unwrap_err().is_panic());
    assert_eq!(count(&db, "customers").await, 1_000);
    let stored = import::get(&db.store, id).await.unwrap();
    assert_eq!((stored.status, stored.imported_rows), (ImportStatus::Running, 1_000));

    // Run again: the first chunk counts as imported by this import, nothing is created twice.
    let mut progress = Vec::new();
    let report = import::run(&db.store, id, &path, |p| progress.push(p)).await.unwrap();
    assert_eq!(report.status, ImportStatus::Completed);
    assert_eq!((report.total, report.imported, report.skipped), (2_501, 2_500, 1));
    assert_eq!(report.skips, vec![note(2_502, "identique à la ligne 9")]);
    assert_eq!(
        progress.iter().map(|p| p.done).collect::<Vec<_>>(),
        vec![1_000, 2_000, 2_501]
    );
    assert_eq!(count(&db, "customers").await, 2_500);
    assert_eq!(count(&db, "import_keys").await, 2_500);

    // A completed import run again (a retried job) only returns its report.
    let again = import::run(&db.store, id, &path, |_| panic!("nothing to do"))
        .await
        .unwrap();
    assert_eq!((again.total, again.imported, again.skipped), (2_501, 2_500, 1));
    assert_eq!(count(&db, "customers").await, 2_500);
}
