//! The seller's identity from the admin; series fixed once used.

use comptoir::audit::{self, AuditFilter};
use comptoir::billing::settings;
use rust_decimal::Decimal;

use crate::on_both_backends;
use crate::support::billing::{issue, person, simple_draft};
use crate::support::web::TestApp;
use crate::support::Backend;

fn form<'a>(seller: &'a str, prefix: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("seller_name", seller),
        ("siren", "732829320"),
        ("address_lines", "Bâtiment B\r\n12 rue des Lilas"),
        ("postcode", "75011"),
        ("city", "Paris"),
        ("country", "FR"),
        ("email", "marie@example.fr"),
        ("electronic_address", ""),
        ("electronic_address_scheme", "0225"),
        ("iban", "FR76 3000 6000 0112 3456 7890 189"),
        ("bic", "BNPAFRPP"),
        ("activity", "services"),
        ("vat_regime", "franchise"),
        ("payment_terms_days", "30"),
        ("late_penalty_rate", "10,5"),
        ("discount_terms", ""),
        ("invoice_prefix", prefix),
        ("credit_note_prefix", "AV"),
        ("currency", "EUR"),
    ]
}

async fn settings_are_set_from_the_admin_and_series_stay_fixed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let page = client.get("/admin/settings").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(settings::FRANCHISE_MENTION), "defaults offered");

    // Without "EI" the law is not met: refused, nothing saved.
    let refused = client.post_form("/admin/settings", &form("Marie Dupont", "F")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("seller_name"), "{}", refused.body);
    assert!(settings::load(&app.db.store).await.is_err());

    let saved = client.post_form("/admin/settings", &form("Marie Dupont EI", "F")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let s = settings::load(&app.db.store).await.unwrap();
    assert_eq!(s.seller_name, "Marie Dupont EI");
    assert_eq!(s.address.lines, vec!["Bâtiment B", "12 rue des Lilas"]);
    assert_eq!(
        (s.address.postcode.as_str(), s.address.city.as_str()),
        ("75011", "Paris")
    );
    assert_eq!(s.late_penalty_rate, Decimal::new(105, 1));
    assert_eq!(s.iban.as_deref(), Some("FR7630006000011234567890189"));
    assert_eq!(s.electronic_address, "732829320", "the SIREN by default");
    // The page shows what is saved.
    let page = client.get("/admin/settings").await;
    for shown in ["Bâtiment B", "75011", "10,5", "FR7630006000011234567890189", "BNPAFRPP"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let entries = audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("settings.update".into()),
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);

    // Once an invoice is numbered, the prefix cannot move; the rest can.
    let customer = person(&app.db.store).await;
    let draft = simple_draft(&app.db.store, customer.id, 1_000).await;
    issue(&app.db.store, draft.id, chrono::Utc::now().date_naive()).await;
    let moved = client.post_form("/admin/settings", &form("Marie Dupont EI", "G")).await;
    assert_eq!(moved.status, 422);
    assert!(moved.body.contains("invoice_prefix"), "{}", moved.body);
    assert_eq!(settings::load(&app.db.store).await.unwrap().invoice_prefix, "F");
    let renamed = client.post_form("/admin/settings", &form("Marie Martin EI", "F")).await;
    assert_eq!(renamed.status, 303);
    assert_eq!(
        settings::load(&app.db.store).await.unwrap().seller_name,
        "Marie Martin EI"
    );
}

/// The legal terms refused with a French message next to their field, the
/// typed values shown again, nothing saved.
async fn refused_terms_are_said_in_french_by_their_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let cases: &[(&str, &str, &str, &str)] = &[
        ("late_penalty_rate", "0", "late_penalty_rate", "sous le minimum légal"),
        (
            "late_penalty_rate",
            "7,5",
            "late_penalty_rate",
            "trois fois le taux d&#x27;intérêt légal",
        ),
        (
            "late_penalty_rate",
            "trois fois",
            "late_penalty_rate",
            "un pourcentage annuel",
        ),
        ("vat_regime", "normal", "vat_regime", "seule la franchise en base"),
        ("country", "XX", "address.country", "n&#x27;est pas un code pays"),
        (
            "postcode",
            "7501",
            "address.postcode",
            "un code postal français a 5 chiffres",
        ),
        ("city", "", "address.city", "la ville est obligatoire"),
        ("iban", "FR76 3000 6000 0112 3456 7890 188", "iban", "clé de contrôle"),
        ("bic", "BNPAFR", "bic", "n&#x27;est pas un BIC"),
    ];
    for (name, value, _field, french) in cases {
        let mut f = form("Marie Dupont EI", "F");
        for entry in f.iter_mut() {
            if entry.0 == *name {
                entry.1 = value;
            }
        }
        let refused = client.post_form("/admin/settings", &f).await;
        assert_eq!(refused.status, 422, "{name}={value}: {}", refused.body);
        // The message by its field: the first one after the field's input.
        let input = refused
            .body
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("{name}: no input"));
        let at = input
            + refused.body[input..]
                .find("<span class=\"field-error\" role=\"alert\">")
                .unwrap_or_else(|| panic!("{name}={value}: no field error in {}", refused.body));
        assert!(
            refused.body[at..].contains(french),
            "{name}={value}: {french:?} not in {}",
            &refused.body[at..]
        );
        assert!(refused.body.contains("Bâtiment B"), "typed values kept");
        assert!(
            settings::load(&app.db.store).await.is_err(),
            "{name}={value}: nothing saved"
        );
    }
}

on_both_backends!(
    settings_are_set_from_the_admin_and_series_stay_fixed,
    the_settings_read_in_english,
    refused_terms_are_said_in_french_by_their_field,
);

/// An operator who reads English gets the settings in English, and a
/// refused value said in English by its field.
async fn the_settings_read_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in_english().await;
    let page = client.get("/admin/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let text = page.text();
    for shown in [
        "Settings",
        "Trade name with “EI”",
        "VAT regime",
        "Postcode",
        "Quarterly",
        "Save",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    for french in [
        "Enregistrer",
        "Nom commercial",
        "Régime de TVA",
        "Code postal",
        "Trimestrielle",
    ] {
        assert!(!text.contains(french), "{french} in the English page");
    }
    let refused = client
        .post_form(
            "/admin/settings",
            &[
                ("seller_name", "Marie Dupont EI"),
                ("siren", "732829320"),
                ("address_lines", "12 rue des Lilas"),
                ("postcode", "75011"),
                ("city", "Paris"),
                ("country", "FR"),
                ("activity", "services"),
                ("vat_regime", "franchise"),
                ("payment_terms_days", "thirty"),
                ("late_penalty_rate", "12"),
                ("invoice_prefix", "F"),
                ("credit_note_prefix", "A"),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.text().contains("a number of days"), "{}", refused.body);
    assert!(!refused.text().contains("un nombre de jours"), "{}", refused.body);
    let saved = client
        .post_form(
            "/admin/settings",
            &[
                ("seller_name", "Marie Dupont EI"),
                ("siren", "732829320"),
                ("address_lines", "12 rue des Lilas"),
                ("postcode", "75011"),
                ("city", "Paris"),
                ("country", "FR"),
                ("activity", "services"),
                ("vat_regime", "franchise"),
                ("payment_terms_days", "30"),
                ("late_penalty_rate", "12"),
                ("invoice_prefix", "F"),
                ("credit_note_prefix", "A"),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = client.follow(saved).await;
    assert!(page.text().contains("Settings saved"), "{}", page.body);
}
