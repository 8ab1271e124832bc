//! `comptoir-web admin …` run as a real process on the test's database:
//! `reset-password` (still the way to set a password from the server) and
//! `api-key create` (so that scripts start with no browser).

use comptoir::auth;

use crate::on_both_backends;
use crate::support::web::{stderr, stdout, Client, TestApp, EMAIL};
use crate::support::Backend;

async fn the_command_line_still_resets_a_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut session = app.signed_in().await;
    let out = app
        .web_cli(
            &["admin", "reset-password", "--email", EMAIL],
            Some("another long password"),
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("sessions are ended"), "{}", stdout(&out));
    assert_eq!(session.get("/admin").await.status, 303, "signed out");
    let mut browser = app.client();
    browser.sign_in(EMAIL, "another long password").await;
    let reset = app.audited("operator.reset_password").await;
    assert_eq!((reset.len(), reset[0].actor.as_str()), (1, "cli"));
    let out = app
        .web_cli(
            &["admin", "reset-password", "--email", "nobody@example.fr"],
            Some("another long password"),
        )
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no operator with the e-mail nobody@example.fr"),
        "{}",
        stderr(&out)
    );
}

async fn the_command_line_creates_an_api_key_for_scripts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let out = app
        .web_cli(
            &[
                "admin",
                "api-key",
                "create",
                "--email",
                EMAIL,
                "--name",
                "nightly export",
            ],
            None,
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let key = stdout(&out);
    assert!(key.starts_with("ck_") && !key.contains('\n'), "{key}");
    let mut api = Client::new(&app.base).with_bearer(&key);
    let prices = api.get("/api/prices").await;
    assert_eq!(prices.status, 200, "{}", prices.body);
    let mut anonymous = Client::new(&app.base);
    assert_eq!(anonymous.get("/api/prices").await.status, 401);

    let created = app.audited("api_key.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].actor, "cli");
    assert_eq!(created[0].details["name"], "nightly export");
    assert!(key.contains(created[0].details["prefix"].as_str().unwrap()));

    for (args, says) in [
        (
            vec!["--email", "nobody@example.fr", "--name", "x"],
            "no operator with the e-mail",
        ),
        (vec!["--email", EMAIL, "--name", "  "], "name"),
    ] {
        let mut all = vec!["admin", "api-key", "create"];
        all.extend(args);
        let out = app.web_cli(&all, None).await;
        assert_eq!(out.status.code(), Some(1), "{all:?}");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    assert_eq!(auth::list_keys(&app.db.store).await.unwrap().len(), 1);
}

on_both_backends!(
    the_command_line_still_resets_a_password,
    the_command_line_creates_an_api_key_for_scripts,
);
