//! The seller's identity from the admin; series fixed once used.

use comptoir::audit::{self, AuditFilter};
use comptoir::billing::settings;

use crate::on_both_backends;
use crate::support::billing::{issue, person, simple_draft};
use crate::support::web::TestApp;
use crate::support::Backend;

fn form<'a>(seller: &'a str, prefix: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("seller_name", seller),
        ("siren", "732829320"),
        ("address", "12 rue des Lilas\r\n75011 Paris"),
        ("email", "marie@example.fr"),
        ("activity", "services"),
        ("vat_mention", settings::FRANCHISE_MENTION),
        ("payment_terms_days", "30"),
        ("late_penalty_rate", "trois fois le taux d'intérêt légal"),
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
    assert_eq!(s.address, "12 rue des Lilas\n75011 Paris");
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

on_both_backends!(settings_are_set_from_the_admin_and_series_stay_fixed);
