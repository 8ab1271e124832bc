//! The admin's API keys page, on both backends: a key created with a name,
//! its secret shown once on the answering page (never stored, never in a
//! cookie), usable at once; listed by prefix; revoked after a confirmation,
//! after which it opens nothing. Both actions audited.

use comptoir::audit::{self, AuditFilter};
use comptoir::auth;

use crate::on_both_backends;
use crate::support::billing::{count, raw_i64};
use crate::support::web::{Client, TestApp};
use crate::support::Backend;

/// The text of the element with `id`, up to its closing tag.
fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = at + html[at..].find('>')? + 1;
    let end = start + html[start..].find('<')?;
    Some(html[start..end].trim().to_string())
}

async fn keys_are_created_shown_once_and_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.signed_in().await;
    let page = admin.get("/admin/api-keys").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"api-key-form\""));
    assert!(!page.body.contains("api-key-secret"));

    let created = admin
        .post_form("/admin/api-keys", &[("name", "Boutique en ligne")])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let secret = element_text(&created.body, "api-key-secret").expect("the secret is shown");
    assert!(secret.starts_with("ck_") && secret.len() > 40, "{secret}");
    for cookie in created.headers.get_all("set-cookie") {
        assert!(!cookie.to_str().unwrap().contains(&secret), "not through a cookie");
    }
    let key = auth::list_keys(&app.db.store).await.unwrap().remove(0);
    assert_eq!(key.name, "Boutique en ligne");
    assert!(secret.starts_with(&format!("ck_{}_", key.prefix)));
    // Only its hash is kept.
    let kept = raw_i64(
        &app.db,
        &format!(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{}'",
            auth::sha256_hex(&secret)
        ),
    )
    .await;
    assert_eq!(kept, 1);
    let plain = raw_i64(
        &app.db,
        &format!("SELECT COUNT(*) FROM api_keys WHERE key_hash = '{secret}' OR name = '{secret}'"),
    )
    .await;
    assert_eq!(plain, 0);

    // It opens the API at once; the list shows it by prefix, used, and never the secret again.
    let mut api = Client::new(&app.base).with_bearer(&secret);
    assert_eq!(api.get("/api/prices").await.status, 200);
    let list = admin.get("/admin/api-keys").await;
    assert!(!list.body.contains(&secret), "shown once only");
    assert!(list.body.contains(&format!("ck_{}_…", key.prefix)));
    assert!(list.body.contains("Boutique en ligne"));
    assert!(!list.body.contains("jamais"), "last use is shown");

    // Revoking asks first (a page), then a POST does it.
    let confirm = admin.get(&format!("/admin/api-keys/{}/revoke", key.id)).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("id=\"revoke-api-key\""));
    assert!(
        auth::list_keys(&app.db.store).await.unwrap()[0].revoked_at.is_none(),
        "a GET revokes nothing"
    );
    let revoked = admin
        .post_form(&format!("/admin/api-keys/{}/revoke", key.id), &[])
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let after = admin.follow(revoked).await;
    assert!(after.body.contains("révoquée"), "{}", after.body);
    assert!(auth::list_keys(&app.db.store).await.unwrap()[0].revoked_at.is_some());
    let refused = api.get("/api/prices").await;
    assert_eq!(refused.status, 401);
    let again = admin
        .post_form(&format!("/admin/api-keys/{}/revoke", key.id), &[])
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(admin.get("/admin/api-keys/999/revoke").await.status, 404);

    let entries = audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("api_key.".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["api_key.revoke", "api_key.create"]);
    assert!(entries
        .iter()
        .all(|e| e.actor == "marie@example.fr" && e.target == format!("api_key:{}", key.id)));
    assert!(!entries.iter().any(|e| e.details.to_string().contains(&secret)));
}

async fn a_key_needs_a_name_and_a_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.signed_in().await;
    let blank = admin.post_form("/admin/api-keys", &[("name", "   ")]).await;
    assert_eq!(blank.status, 422, "{}", blank.body);
    assert!(blank.body.contains("1 à 100 caractères"), "{}", blank.body);
    assert!(!blank.body.contains("api-key-secret"));
    let forged = admin
        .post_form_raw("/admin/api-keys", &[("name".into(), "Pirate".into())])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(count(&app.db, "api_keys").await, 0);
    assert_eq!(count(&app.db, "audit_log").await, 1, "the sign-in only");
}

on_both_backends!(
    keys_are_created_shown_once_and_revoked,
    the_keys_read_in_english,
    a_key_needs_a_name_and_a_csrf_token
);

/// An operator who reads English gets the API keys in English.
async fn the_keys_read_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in_english().await;
    let created = client.post_form("/admin/api-keys", &[("name", "Shop")]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let text = created.text();
    for shown in [
        "API keys",
        "Key Shop created. Copy it now",
        "New key",
        "never",
        "Revoke",
    ] {
        assert!(text.contains(shown), "{shown} missing: {text}");
    }
    for french in ["Nouvelle clé", "jamais", "Révoquer", "/ never"] {
        assert!(!text.contains(french), "{french} in the English page");
    }
}
