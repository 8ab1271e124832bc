//! The input policy in CSV imports, on both backends: a cell with NUL (from a
//! UTF-16 file), ESC, U+202E, or a line break in a one-line column is a bad
//! row named by its line and column, like the other bad rows, and nothing is
//! applied (never a raw database error); multi-line cells (addresses, bank
//! labels) keep working; a bank row dated out of bounds is a bad row.

use std::path::PathBuf;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::{Backend, TestDb};
use chrono::Days;
use comptoir::billing::import::{self, ImportKind, ImportReport, ImportStatus, RowNote};

on_both_backends!(
    customer_addresses_import_by_parts_with_a_country,
    customer_cells_with_control_characters_are_bad_rows,
    bank_cells_with_control_characters_are_bad_rows,
    bank_rows_dated_out_of_bounds_are_bad_rows,
);

/// `text` as UTF-16 LE with its BOM: how NUL characters reach a cell
/// (a NUL byte in a UTF-8 or Windows-1252 file makes it binary).
fn utf16(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

async fn run(db: &TestDb, kind: ImportKind, name: &str, bytes: &[u8]) -> ImportReport {
    let path: PathBuf = db.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let registered = import::register(&mut tx, kind, name, &import::sha256_hex(bytes))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    import::run(&db.store, registered.id, &path, |_| {})
        .await
        .expect("the file is read")
}

fn note(line: u64, message: &str) -> RowNote {
    RowNote {
        line,
        message: message.to_string(),
    }
}

/// Postcode, city and country columns give the parts (country FR when
/// blank); a bad country or a missing postcode is a bad row named by its
/// column; a file of old with one address column still imports when its
/// last line reads "69002 Lyon".
async fn customer_addresses_import_by_parts_with_a_country(backend: Backend) {
    let db = TestDb::new(backend).await;
    let text = "Nom;Adresse;Code postal;Ville;Pays\r\n\
        Anne Belge;Rue Neuve 1;1000;Bruxelles;BE\r\n\
        Zoé Roux;2 rue du Four;75006;Paris;\r\n\
        Paul Nulle;1 rue X;75001;Paris;XX\r\n\
        Léa Sanscode;1 rue Y;;Paris;FR\r\n";
    let report = run(&db, ImportKind::Customers, "pays.csv", &utf16(text)).await;
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert_eq!(report.errors[0].line, 4);
    assert!(
        report.errors[0]
            .message
            .starts_with("Pays : « XX » n'est pas un code pays ISO 3166"),
        "{:?}",
        report.errors[0]
    );
    assert_eq!(report.errors[1].line, 5);
    assert!(
        report.errors[1]
            .message
            .starts_with("Code postal : le code postal est obligatoire"),
        "{:?}",
        report.errors[1]
    );
    assert_eq!(count(&db, "customers").await, 0, "nothing applied");

    let good = "Nom;Adresse;Code postal;Ville;Pays\r\n\
        Anne Belge;Rue Neuve 1;1000;Bruxelles;be\r\n\
        Zoé Roux;2 rue du Four;75006;Paris;\r\n";
    let report = run(&db, ImportKind::Customers, "bons-pays.csv", &utf16(good)).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    let old = "Nom;Adresse\r\nJean Martin;\"Bâtiment B\r\n3 place du Marché\r\n69002 Lyon\"\r\n";
    let report = run(&db, ImportKind::Customers, "ancien.csv", &utf16(old)).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    let customers = comptoir::billing::customers::list(&db.store, 10, None).await.unwrap();
    let by_name = |name: &str| customers.iter().find(|c| c.name == name).unwrap().address.clone();
    assert_eq!(
        by_name("Anne Belge"),
        comptoir::billing::address::PostalAddress {
            lines: vec!["Rue Neuve 1".into()],
            postcode: "1000".into(),
            city: "Bruxelles".into(),
            country: "BE".into(),
        }
    );
    assert_eq!(by_name("Zoé Roux"), address(&["2 rue du Four"], "75006", "Paris"));
    assert_eq!(
        by_name("Jean Martin"),
        address(&["Bâtiment B", "3 place du Marché"], "69002", "Lyon")
    );
}

async fn customer_cells_with_control_characters_are_bad_rows(backend: Backend) {
    let db = TestDb::new(backend).await;
    let text = "Type;Nom;E-mail;Adresse;Code postal;Ville;SIREN\r\n\
        particulier;Jean Martin;jean@exemple.fr;\"3 place du Marché\r\nBâtiment B\";69002;Lyon;\r\n\
        particulier;Zoé\u{0}Roux;;2 rue du Four;75006;Paris;\r\n\
        particulier;Léa Petit;;1 rue\u{1b}[2J Haute;75001;Paris;\r\n\
        particulier;\"Paul\r\nDurand\";;4 rue Neuve;75001;Paris;\r\n\
        particulier;Max Moreau;max\u{202E}@exemple.fr;5 rue Basse;75001;Paris;\r\n\
        particulier;Ana Lopez;;6 rue Longue;75001;Pa\u{202E}ris;\r\n\
        particulier;Noé Blanc;;7 rue Courte;75001;Paris;552\t100554\r\n";
    let report = run(&db, ImportKind::Customers, "clients.csv", &utf16(text)).await;
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(
        report.errors,
        vec![
            note(4, "Nom : caractère de contrôle U+0000 refusé"),
            note(5, "Adresse : caractère de contrôle U+001B refusé"),
            note(6, "Nom : retour à la ligne refusé : une seule ligne"),
            note(8, "E-mail : caractère de sens d'écriture U+202E refusé"),
            note(9, "Ville : caractère de sens d'écriture U+202E refusé"),
            note(10, "SIREN : caractère de contrôle U+0009 refusé"),
        ]
    );
    assert_eq!(count(&db, "customers").await, 0, "nothing applied");
    assert_eq!(count(&db, "import_keys").await, 0);

    // The good rows alone (a quoted address over two lines): imported, one
    // address line per line of the cell.
    let good = "Type;Nom;E-mail;Adresse;Code postal;Ville;SIREN\r\n\
        particulier;Jean Martin;jean@exemple.fr;\"3 place du Marché\r\nBâtiment B\";69002;Lyon;\r\n";
    let report = run(&db, ImportKind::Customers, "bons.csv", &utf16(good)).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    let customers = comptoir::billing::customers::list(&db.store, 10, None).await.unwrap();
    assert_eq!(customers[0].address.lines, vec!["3 place du Marché", "Bâtiment B"]);
    assert_eq!(
        (
            customers[0].address.postcode.as_str(),
            customers[0].address.city.as_str(),
            customers[0].address.country.as_str()
        ),
        ("69002", "Lyon", "FR")
    );
}

async fn bank_cells_with_control_characters_are_bad_rows(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = simple_draft(&db.store, customer.id, 10_000).await;
    let invoice = issue(&db.store, invoice.id, date(2026, 1, 15)).await;
    let reference = invoice.reference.clone().unwrap();
    let text = format!(
        "Date;Libellé;Référence;Montant\r\n\
         16/01/2026;\"VIR SEPA\r\nM DUPONT\";{reference};10,00\r\n\
         17/01/2026;VIR\u{1b}[31m DUPONT;{reference};10,00\r\n\
         18/01/2026;VIR DUPONT;{reference}\u{202E};10,00\r\n\
         19/01\u{0}/2026;VIR DUPONT;{reference};10,00\r\n\
         20/01/2026;VIR DUPONT;{reference};\"10,\r\n00\"\r\n"
    );
    let report = run(&db, ImportKind::Payments, "releve.csv", &utf16(&text)).await;
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(
        report.errors,
        vec![
            note(4, "Libellé : caractère de contrôle U+001B refusé"),
            note(5, "Référence : caractère de sens d'écriture U+202E refusé"),
            note(6, "Date : caractère de contrôle U+0000 refusé"),
            note(7, "Montant : retour à la ligne refusé : une seule ligne"),
        ]
    );
    assert_eq!(count(&db, "payments").await, 0, "nothing applied");
    assert_eq!(count(&db, "revenue_book").await, 0);
}

async fn bank_rows_dated_out_of_bounds_are_bad_rows(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = simple_draft(&db.store, customer.id, 10_000).await;
    let invoice = issue(&db.store, invoice.id, date(2026, 1, 15)).await;
    let reference = invoice.reference.clone().unwrap();
    let today = db.store.now().await.unwrap().date_naive();
    let tomorrow = (today + Days::new(1)).format("%d/%m/%Y").to_string();
    let text = format!(
        "Date;Libellé;Montant\r\n\
         01/01/1900;VIR DUPONT {reference};10,00\r\n\
         {tomorrow};VIR DUPONT {reference};10,00\r\n\
         14/01/2026;VIR DUPONT {reference};10,00\r\n\
         15/01/2026;VIR DUPONT {reference};10,00\r\n\
         02/01/1999;CB BOULANGERIE;-3,50\r\n"
    );
    let report = run(&db, ImportKind::Payments, "releve.csv", text.as_bytes()).await;
    assert_eq!(report.status, ImportStatus::Failed);
    assert_eq!(
        report.errors,
        vec![
            note(2, "Date : le 01/01/1900 est antérieur au 01/01/2000 : une faute de frappe ?"),
            note(
                3,
                &format!(
                    "Date : le {tomorrow} est dans le futur (aujourd'hui : {}) : une recette est datée du jour où l'argent est reçu",
                    today.format("%d/%m/%Y")
                )
            ),
            note(6, "Date : le 02/01/1999 est antérieur au 01/01/2000 : une faute de frappe ?"),
        ]
    );
    assert_eq!(count(&db, "payments").await, 0);

    // A transfer before the invoice was issued can be read: it waits for
    // the operator; the issue date itself is fine.
    let text = format!(
        "Date;Libellé;Montant\r\n14/01/2026;VIR DUPONT {reference};100,00\r\n15/01/2026;VIR DUPONT {reference};100,00\r\n"
    );
    let report = run(&db, ImportKind::Payments, "releve-ok.csv", text.as_bytes()).await;
    assert_eq!(report.status, ImportStatus::Completed, "{:?}", report.errors);
    assert_eq!(report.skips.len(), 1, "{:?}", report.skips);
    assert_eq!(
        (report.skips[0].line, report.skips[0].message.as_str()),
        (
            2,
            format!("en attente de rapprochement : le virement est antérieur à l'émission de {reference} : à vérifier")
                .as_str()
        )
    );
    assert_eq!(count(&db, "payments").await, 1);
}
