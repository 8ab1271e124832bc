//! `/admin/imports`: a CSV uploaded through the form is kept in the data
//! directory, registered, run as a job and reported; bad rows are named by
//! line and nothing is applied; unusable uploads are refused and leave
//! nothing behind.

use comptoir::audit::{self, AuditFilter};
use comptoir::billing::import::{self, sha256_hex, ImportError, ImportStatus};

use crate::on_both_backends;
use crate::support::billing::count;
use crate::support::web::{Client, TestApp, EMAIL};
use crate::support::Backend;

on_both_backends!(
    a_good_csv_is_uploaded_run_and_reported,
    the_imports_read_in_english_with_sizes_in_their_units,
    a_csv_with_two_bad_rows_names_both_and_imports_nothing,
    files_that_are_no_usable_csv_fail_in_words,
    unusable_uploads_are_refused_and_register_nothing,
    an_oversized_upload_is_refused_and_leaves_no_file,
    an_upload_refused_for_its_name_leaves_no_file,
    the_file_of_a_failed_import_is_deleted_and_a_used_one_kept,
);

const CUSTOMERS: &str = "Type;Nom;E-mail;Adresse;SIREN\r\n\
    particulier;Hélène Dupré;helene@example.fr;3 rue de l'Église, 69002 Lyon;\r\n\
    entreprise;Café Zoé SARL;;5 quai Saône, 69005 Lyon;552100554\r\n\
    particulier;Jean Martin;jean@example.fr;1 place du Marché, 75004 Paris;\r\n";

/// Uploads `bytes` through the form; returns the new import's id.
async fn upload(client: &mut Client, kind: &str, name: &str, bytes: &[u8]) -> i64 {
    let answer = client
        .post_file("/admin/imports", &[("kind", kind)], "file", name, bytes)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let location = answer.location().expect("redirect").to_string();
    location
        .strip_prefix("/admin/imports/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirect to the import's page, not {location}"))
}

/// The files in `<data dir>/imports` (the kept copies and any leftover).
pub(super) fn kept_files(app: &TestApp) -> Vec<String> {
    match std::fs::read_dir(app.ctx.config.data_dir.join("imports")) {
        Ok(dir) => {
            let mut names: Vec<String> = dir
                .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    }
}

async fn a_good_csv_is_uploaded_run_and_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let form = client.get("/admin/imports").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("id=\"import-form\""), "{}", form.body);
    assert!(
        form.body.contains("enctype=\"multipart/form-data\"")
            && form.body.contains(&format!(
                "action=\"/admin/imports?_csrf={}\"",
                client.csrf.clone().unwrap()
            )),
        "the token rides in the action's query: {}",
        form.body
    );

    let id = upload(&mut client, "customers", "clients.csv", CUSTOMERS.as_bytes()).await;
    // Kept under its SHA-256, nothing else left in the directory.
    let sha = sha256_hex(CUSTOMERS.as_bytes());
    assert_eq!(kept_files(&app), [format!("{sha}.csv")]);
    let kept = std::fs::read(app.ctx.config.data_dir.join("imports").join(format!("{sha}.csv"))).unwrap();
    assert_eq!(kept, CUSTOMERS.as_bytes());

    let page = client.get(&format!("/admin/imports/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.text().contains("en attente"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("data-poll=\"/admin/imports/{id}/status.json\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains("<progress id=\"import-progress\""), "{}", page.body);
    let live = client.get(&format!("/admin/imports/{id}/status.json")).await;
    assert_eq!(live.status, 200, "{}", live.body);
    let live = live.json();
    assert_eq!(
        (live["status"].as_str(), live["done"].as_bool()),
        (Some("pending"), Some(false))
    );
    assert!(live["percent"].is_null(), "{live}");
    assert_eq!(count(&app.db, "customers").await, 0);

    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(count(&app.db, "customers").await, 3);

    let live = client.get(&format!("/admin/imports/{id}/status.json")).await.json();
    assert_eq!(
        live,
        serde_json::json!({
            "status": "completed", "label": "terminé",
            "rows_done": 3, "total": 3, "percent": 100, "done": true
        })
    );
    let page = client.get(&format!("/admin/imports/{id}")).await;
    let text = page.text();
    assert!(text.contains("terminé"), "{text}");
    assert!(!page.body.contains("data-poll"), "finished: no more polling");
    assert!(page.body.contains("value=\"100\""), "{}", page.body);
    for (card, n) in [
        ("count-total", 3),
        ("count-imported", 3),
        ("count-skipped", 0),
        ("count-bad", 0),
    ] {
        assert!(
            page.body.contains(&format!("id=\"{card}\">{n}<")),
            "{card} = {n}: {}",
            page.body
        );
    }
    assert!(!page.body.contains("id=\"import-errors\""));

    // The list shows it with its counts.
    let list = client.get("/admin/imports").await;
    assert!(list.text().contains("clients.csv") && list.text().contains("terminé"));

    let entries = audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("import.upload".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!((e.actor.as_str(), e.target.clone()), (EMAIL, format!("import:{id}")));
    assert_eq!(e.details["kind"], "customers");
    assert_eq!(e.details["filename"], "clients.csv");
    assert_eq!(e.details["sha256"], sha.as_str());
    assert_eq!(e.details["bytes"], CUSTOMERS.len());
}

async fn a_csv_with_two_bad_rows_names_both_and_imports_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let text = "Type;Nom;E-mail;Adresse;SIREN\r\n\
        particulier;Jean Martin;jean@example.fr;3 place du Marché, 69002 Lyon;\r\n\
        entreprise;Mauvais SIREN SARL;;1 rue du Bac, 75007 Paris;552 100 555\r\n\
        particulier;Zoé Roux;zoe@example.fr;2 rue du Four, 75006 Paris;\r\n\
        inconnu;Quelqu'un;;4 rue Neuve, 75001 Paris;\r\n";
    let id = upload(&mut client, "customers", "clients.csv", text.as_bytes()).await;
    app.drain().await;

    assert_eq!(count(&app.db, "customers").await, 0, "nothing applied");
    assert_eq!(count(&app.db, "import_keys").await, 0);
    let live = client.get(&format!("/admin/imports/{id}/status.json")).await.json();
    assert_eq!(
        (live["status"].as_str(), live["done"].as_bool()),
        (Some("failed"), Some(true))
    );

    let page = client.get(&format!("/admin/imports/{id}")).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("échec"), "{text}");
    assert!(text.contains("2 lignes en erreur : rien n'a été importé"), "{text}");
    assert!(page.body.contains("id=\"import-errors\""), "{}", page.body);
    assert!(page.body.contains("id=\"count-imported\">0<") && page.body.contains("id=\"count-bad\">2<"));
    let errors = &text[text.find("id=\"import-errors\"").unwrap()..];
    assert!(
        errors.contains("<td class=\"n\">3</td><td>SIREN : « 552100555 » : clé de contrôle fausse (Luhn)</td>"),
        "{errors}"
    );
    assert!(
        errors.contains(
            "<td class=\"n\">5</td><td>Type : « inconnu » n'est ni particulier (person) ni entreprise (business)</td>"
        ),
        "{errors}"
    );
}

async fn files_that_are_no_usable_csv_fail_in_words(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    // A spreadsheet saved as .xlsx (a ZIP), a CSV without the address column.
    let zip = upload(
        &mut client,
        "customers",
        "clients.xlsx",
        b"PK\x03\x04\x14\x00\x06\x00garbage\x00\x01",
    )
    .await;
    let no_address = upload(
        &mut client,
        "customers",
        "sans-adresse.csv",
        "Type;Nom;E-mail;SIREN\r\nparticulier;Zoé;;\r\n".as_bytes(),
    )
    .await;
    let blank = upload(&mut client, "payments", "vide.csv", b"\r\n  \r\n").await;
    app.drain().await;
    for (id, words) in [
        (
            zip,
            "ce n'est pas un fichier CSV : c'est un fichier ZIP (un tableur .xlsx ou .ods ?) : enregistrez-le en CSV",
        ),
        (
            no_address,
            "colonne \"adresse\" / \"address\" manquante : l'en-tête (ligne 1) a \"Type\", \"Nom\", \"E-mail\", \"SIREN\"",
        ),
        (blank, "le fichier est vide"),
    ] {
        let page = client.get(&format!("/admin/imports/{id}")).await;
        assert_eq!(page.status, 200);
        let text = page.text();
        assert!(text.contains("échec"), "{text}");
        assert!(
            text.contains(&format!("Échec de l'import : {words}")),
            "import {id} should say {words:?}: {text}"
        );
        let live = client.get(&format!("/admin/imports/{id}/status.json")).await.json();
        assert_eq!(live["done"], true);
    }
    assert_eq!(count(&app.db, "customers").await, 0);
}

async fn unusable_uploads_are_refused_and_register_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let csv = CUSTOMERS.as_bytes();

    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a [u8], &'a str);
    let cases: [Case; 4] = [
        (&[], "clients.csv", csv, "Choisissez le type d'import"),
        (
            &[("kind", "invoices")],
            "clients.csv",
            csv,
            "Type d'import inconnu : « invoices »",
        ),
        (
            &[("kind", "customers")],
            "vide.csv",
            b"",
            "Le fichier « vide.csv » est vide.",
        ),
        (&[("kind", "customers")], "", csv, "Choisissez un fichier CSV"),
    ];
    for (fields, name, bytes, message) in cases {
        let answer = client.post_file("/admin/imports", fields, "file", name, bytes).await;
        assert_eq!(answer.status, 422, "{message}: {}", answer.body);
        assert!(answer.text().contains(message), "{message}: {}", answer.text());
        assert!(answer.body.contains("id=\"import-form\""), "the form again");
    }

    // Not a multipart form at all.
    let answer = client.post_form("/admin/imports", &[("kind", "customers")]).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(answer.text().contains("multipart/form-data"), "{}", answer.body);

    // Without the CSRF token in the query: refused before the body is read.
    let token = client.csrf.take();
    let answer = client
        .post_file("/admin/imports", &[("kind", "customers")], "file", "clients.csv", csv)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    client.csrf = token;

    assert_eq!(count(&app.db, "imports").await, 0);
    assert_eq!(count(&app.db, "comptoir_jobs").await, 0);
    assert!(kept_files(&app).is_empty(), "{:?}", kept_files(&app));
    let audited = audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("import.".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(audited.is_empty(), "{audited:?}");
}

async fn an_oversized_upload_is_refused_and_leaves_no_file(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let row = "particulier;Jean Martin;jean@example.fr;1 place du Marché, 75004 Paris;\r\n";
    let csv_of = |bytes: usize| {
        let mut text = String::from("Type;Nom;E-mail;Adresse;SIREN\r\n");
        while text.len() < bytes {
            text.push_str(row);
        }
        text
    };
    // Well above axum's default 2 MB body limit, well below the route's 64 MiB.
    let large = csv_of(8 * 1024 * 1024);
    upload(&mut client, "customers", "grand.csv", large.as_bytes()).await;
    let kept = kept_files(&app);
    assert_eq!(kept, [format!("{}.csv", sha256_hex(large.as_bytes()))]);

    // 1 KiB over 64 MiB.
    let huge = csv_of(64 * 1024 * 1024 + 1024);
    let answer = client
        .post_file(
            "/admin/imports",
            &[("kind", "customers")],
            "file",
            "enorme.csv",
            huge.as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert!(
        answer.text().contains("Fichier trop volumineux : 64 Mo au plus"),
        "{}",
        answer.body
    );
    assert_eq!(count(&app.db, "imports").await, 1, "only the large one");
    assert_eq!(count(&app.db, "comptoir_jobs").await, 1);
    assert_eq!(kept_files(&app), kept, "the partial file is removed");
}

async fn an_upload_refused_for_its_name_leaves_no_file(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let long = format!("{}.csv", "a".repeat(300));
    for (name, words) in [
        ("dossier/", "« dossier/ » n'est pas un nom de fichier"),
        ("facture\u{202E}vsc.exe", "U+202E"),
        (long.as_str(), "255"),
    ] {
        let answer = client
            .post_file(
                "/admin/imports",
                &[("kind", "customers")],
                "file",
                name,
                CUSTOMERS.as_bytes(),
            )
            .await;
        assert_eq!(answer.status, 422, "{name:?}: {}", answer.body);
        let text = answer.text();
        assert!(text.contains("Nom du fichier"), "{name:?}: {text}");
        assert!(text.contains(words), "{name:?}: {text}");
        assert!(answer.body.contains("id=\"import-form\""), "the form again");
        assert!(kept_files(&app).is_empty(), "{name:?} left {:?}", kept_files(&app));
    }
    // A kind with a control character after the file: refused, nothing left.
    let answer = client
        .post_file(
            "/admin/imports",
            &[("kind", "customers\u{1b}")],
            "file",
            "clients.csv",
            CUSTOMERS.as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(kept_files(&app).is_empty(), "{:?}", kept_files(&app));
    assert_eq!(count(&app.db, "imports").await, 0);
    assert_eq!(count(&app.db, "comptoir_jobs").await, 0);
}

async fn the_file_of_a_failed_import_is_deleted_and_a_used_one_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let bad = "Type;Nom;E-mail;Adresse;SIREN\r\nparticulier;Zoé\u{1b}Roux;;2 rue du Four;\r\n";
    let failed = upload(&mut client, "customers", "mauvais.csv", bad.as_bytes()).await;
    let zip = upload(&mut client, "customers", "clients.xlsx", b"PK\x03\x04\x14\x00garbage").await;
    assert_eq!(kept_files(&app).len(), 2, "kept until they run");
    app.drain().await;
    for id in [failed, zip] {
        let stored = import::get(&app.db.store, id).await.unwrap();
        assert_eq!(stored.status, ImportStatus::Failed);
    }
    assert!(kept_files(&app).is_empty(), "failed for good: {:?}", kept_files(&app));
    // Its report stays, and running it again says the file is gone without wiping it.
    let report = import::get(&app.db.store, failed).await.unwrap();
    assert_eq!(report.errors.len(), 1, "{report:?}");
    assert!(report.errors[0].message.contains("U+001B"), "{report:?}");
    let path = app
        .ctx
        .config
        .data_dir
        .join("imports")
        .join(format!("{}.csv", sha256_hex(bad.as_bytes())));
    let again = import::run(&app.db.store, failed, &path, |_| {}).await;
    assert!(
        matches!(again, Err(ImportError::FileDiscarded(id)) if id == failed),
        "{again:?}"
    );
    assert_eq!(import::get(&app.db.store, failed).await.unwrap().errors, report.errors);

    // A file that succeeded is kept, even when the same content later fails
    // as another kind of import: the import that succeeded references it.
    let good = upload(&mut client, "customers", "clients.csv", CUSTOMERS.as_bytes()).await;
    app.drain().await;
    assert_eq!(
        import::get(&app.db.store, good).await.unwrap().status,
        ImportStatus::Completed
    );
    let wrong_kind = upload(&mut client, "payments", "clients.csv", CUSTOMERS.as_bytes()).await;
    app.drain().await;
    assert_eq!(
        import::get(&app.db.store, wrong_kind).await.unwrap().status,
        ImportStatus::Failed
    );
    assert_eq!(kept_files(&app), [format!("{}.csv", sha256_hex(CUSTOMERS.as_bytes()))]);
}

/// An operator who reads English gets the imports in English, sizes in
/// their units ("B", "KB"), the SHA-256 shortened with its full value at hand.
async fn the_imports_read_in_english_with_sizes_in_their_units(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut french = app.signed_in().await;
    let id = upload(&mut french, "customers", "clients.csv", CUSTOMERS.as_bytes()).await;
    let size = CUSTOMERS.len();
    let sha = sha256_hex(CUSTOMERS.as_bytes());
    let list = french.get("/admin/imports").await.text();
    assert!(list.contains(&format!("{size}\u{a0}o<")), "{list}");
    assert!(list.contains("64 Mo au plus"), "{list}");
    let page = french.get(&format!("/admin/imports/{id}")).await.text();
    assert!(
        page.contains(&format!("{}…", &sha[..12])) && page.contains(&format!(">{sha}<")),
        "{page}"
    );

    let mut client = app.signed_in_english().await;
    let list = client.get("/admin/imports").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let text = list.text();
    for shown in [
        "Import a file",
        "Recent imports",
        "64 MB at most",
        &format!("{size}\u{a0}B<"),
        "pending",
        "customers",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    for french in ["Importer un fichier", "Imports récents", "en attente", "Mo au plus"] {
        assert!(!text.contains(french), "{french} in the English page");
    }
    assert!(app.drain().await.all_succeeded());
    let page = client.get(&format!("/admin/imports/{id}")).await.text();
    for shown in [
        "Report",
        "completed",
        "Import completed: 3 rows imported.",
        "imported",
        "skipped",
    ] {
        assert!(page.contains(shown), "{shown} missing: {page}");
    }
    assert!(!page.contains("terminé") && !page.contains("Rapport"), "{page}");
}
