//! The ways back in for a locked-out operator (a one-time link printed by
//! the command line, or e-mailed from "Mot de passe oublié ?"), none of which
//! unlocks the attacker.

use comptoir::auth::{self, LinkVia};

use crate::on_both_backends;
use crate::support::billing::{raw_execute, raw_i64};
use crate::support::smtp::SmtpServer;
use crate::support::web::{stderr, stdout, Client, TestApp, EMAIL, PASSWORD};
use crate::support::Backend;
use crate::web::signin_throttle::{assert_locked_out, lock_out};

/// Opens the link's page, then posts it (with `fields`): the answer.
async fn use_link(client: &mut Client, path: &str, fields: &[(&str, &str)]) -> crate::support::web::Answer {
    let page = client.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"use-link\""), "{}", page.body);
    client.post_form(path, fields).await
}

async fn the_command_line_link_lets_the_operator_in_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let mut attacker = lock_out(&app).await;

    let out = app
        .web_cli(&["admin", "signin-link", "--email", "Marie@Example.fr"], None)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let url = stdout(&out);
    let prefix = format!("{}/admin/login/link/", app.base);
    assert!(url.starts_with(&prefix), "{url}");
    let path = url.strip_prefix(&app.base).unwrap().to_string();

    // Opening the link burns nothing (a mail scanner may fetch it): posting its page signs in.
    let mut browser = app.client();
    assert_eq!(browser.get(&path).await.status, 200);
    let answer = use_link(&mut browser, &path, &[]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), Some("/admin"));
    assert_eq!(browser.get("/admin").await.status, 200, "signed in");
    assert!(
        browser.cookie("comptoir_device").is_some(),
        "the browser is now trusted"
    );

    // Used: refused from anywhere, on both methods.
    let mut other = app.client();
    let page = other.get(&path).await;
    assert_eq!(page.status, 404);
    assert!(page.text().contains("inconnu, déjà utilisé ou expiré"), "{}", page.body);
    let again = other.post_form(&path, &[]).await;
    assert_eq!(again.status, 404, "{}", again.body);
    assert!(other.cookie("comptoir_session").is_none());
    // A token that was never given, or is not even a token.
    assert_eq!(
        other.get(&format!("/admin/login/link/{}", "0".repeat(64))).await.status,
        404
    );
    assert_eq!(other.get("/admin/login/link/nope").await.status, 404);

    // The attacker is locked out as before; the trusted browser is not.
    assert_locked_out(&mut attacker).await;
    let mut later = app.client();
    later.set_cookie("comptoir_device", &browser.cookie("comptoir_device").unwrap());
    later.sign_in(EMAIL, PASSWORD).await;

    let made = app.audited("operator.signin_link").await;
    assert_eq!(made.len(), 1);
    assert_eq!((made[0].actor.as_str(), made[0].ip.as_str()), ("cli", "local"));
    assert_eq!(made[0].details["via"], "cli");
    let signed = app.audited("session.sign_in").await;
    assert_eq!(signed[1].details["via"], "link", "{:?}", signed[1]);
    assert_eq!(signed[1].details["link"], "cli");
    assert_eq!(signed[1].actor, EMAIL);

    // An e-mail that is nobody's: refused, exit 1.
    let out = app
        .web_cli(&["admin", "signin-link", "--email", "nobody@example.fr"], None)
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("no operator with the e-mail nobody@example.fr"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

async fn an_expired_link_is_refused_and_a_link_can_set_a_new_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut old_session = app.signed_in().await;
    let _attacker = lock_out(&app).await;

    let link = auth::create_signin_link(&app.db.store, EMAIL, LinkVia::Cli)
        .await
        .unwrap();
    let expires_in = link.expires_at - chrono::Utc::now();
    assert!(expires_in > chrono::Duration::minutes(29) && expires_in <= chrono::Duration::minutes(30));
    raw_execute(
        &app.db,
        "UPDATE signin_links SET expires_at = '2000-01-01T00:00:00+00:00'",
    )
    .await
    .unwrap();
    let path = auth::signin_link_path(&link.token);
    let mut browser = app.client();
    assert_eq!(browser.get(&path).await.status, 404, "expired");
    assert_eq!(browser.post_form(&path, &[]).await.status, 404);
    assert!(browser.cookie("comptoir_session").is_none());

    let link = auth::create_signin_link(&app.db.store, EMAIL, LinkVia::Cli)
        .await
        .unwrap();
    let path = auth::signin_link_path(&link.token);
    // Refusals of the new password do not burn the link.
    let differ = use_link(
        &mut browser,
        &path,
        &[("password", "a new password!"), ("password_again", "another one!!")],
    )
    .await;
    assert_eq!(differ.status, 422, "{}", differ.body);
    let short = use_link(
        &mut browser,
        &path,
        &[("password", "short"), ("password_again", "short")],
    )
    .await;
    assert_eq!(short.status, 422, "{}", short.body);
    // Without its form token, refused too.
    let forged = browser
        .post_form_raw(&path, &[("password".into(), String::new())])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let done = use_link(
        &mut browser,
        &path,
        &[("password", "a new password!"), ("password_again", "a new password!")],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(browser.get("/admin").await.status, 200);
    // The operator's other sessions ended with the old password.
    assert_eq!(old_session.get("/admin").await.status, 303);
    let reset = app.audited("operator.reset_password").await;
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].details["via"], "signin link");

    // The new password works from the now trusted browser; the old one does not.
    let device = browser.cookie("comptoir_device").unwrap();
    let mut trusted = app.client();
    trusted.set_cookie("comptoir_device", &device);
    trusted.get("/admin/login").await;
    let old = trusted
        .post_form("/admin/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(old.status, 401);
    trusted.sign_in(EMAIL, "a new password!").await;
}

/// The app with its e-mail going to a real SMTP server.
/// Asks for a link from the "forgot" page; the answer.
async fn ask_link(client: &mut Client, email: &str) -> crate::support::web::Answer {
    let page = client.get("/admin/login/forgot").await;
    assert_eq!(page.status, 200, "{}", page.body);
    client.post_form("/admin/login/forgot", &[("email", email)]).await
}

const SENT: &str =
    "Si cette adresse est celle d'un opérateur, un lien de connexion (valable 30 min, une fois) vient d'y être envoyé.";

async fn forgot_password_emails_a_link_that_only_the_mailbox_can_use(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(backend, &smtp).await;
    drop(app.signed_in().await);
    let mut attacker = lock_out(&app).await;

    let mut browser = app.client();
    let signin = browser.get("/admin/login").await;
    assert!(signin.body.contains("href=\"/admin/login/forgot\""), "{}", signin.body);
    let known = ask_link(&mut browser, " Marie@Example.fr ").await;
    assert_eq!(known.status, 200, "{}", known.body);
    // The attacker asks too, for the operator and for nobody: the same answer.
    let unknown = ask_link(&mut attacker, "nobody@example.fr").await;
    assert_eq!(unknown.status, 200, "{}", unknown.body);
    for answer in [&known, &unknown] {
        assert!(answer.text().contains(SENT), "{}", answer.body);
        assert!(
            !answer.body.contains("example.fr\""),
            "the e-mail is not echoed: {}",
            answer.body
        );
    }
    let bad = ask_link(&mut attacker, "not an e-mail").await;
    assert_eq!(bad.status, 422, "{}", bad.body);

    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(report.completed, 2, "both requests' jobs ran: {report:?}");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one link, to the operator only");
    let message = &messages[0];
    assert_eq!(message.header("X-RcptTo").as_deref(), Some(EMAIL));
    let text = message
        .leaves()
        .into_iter()
        .find(|p| p.media_type() == "text/plain")
        .expect("a text part")
        .text();
    let prefix = format!("{}/admin/login/link/", app.base);
    let at = text.find(&prefix).unwrap_or_else(|| panic!("no link in {text}"));
    let token: String = text[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{text}");
    assert!(text.contains("127.0.0.1"), "says who asked: {text}");

    let path = auth::signin_link_path(&token);
    let mut mailbox = app.client();
    let answer = use_link(&mut mailbox, &path, &[]).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(mailbox.get("/admin").await.status, 200);
    assert_locked_out(&mut attacker).await;

    let made = app.audited("operator.signin_link").await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].details["via"], "email");
    assert_eq!(made[0].ip, "127.0.0.1");
    let signed = app.audited("session.sign_in").await;
    assert_eq!(signed[0].details["link"], "email");

    // Requests are counted per e-mail: 3 in the window, then 429.
    for _ in 0..2 {
        assert_eq!(ask_link(&mut attacker, EMAIL).await.status, 200);
    }
    let refused = ask_link(&mut attacker, EMAIL).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    let jobs = raw_i64(
        &app.db,
        "SELECT COUNT(*) FROM comptoir_jobs WHERE kind = 'auth.send_signin_link'",
    )
    .await;
    assert_eq!(jobs, 4, "one job per request let through, none for the refused one");
}

async fn without_smtp_the_forgot_page_points_to_the_command_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let mut browser = app.client();
    let page = browser.get("/admin/login/forgot").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("comptoir-web admin signin-link"), "{}", page.body);
    assert!(!page.body.contains("id=\"send-link\""), "{}", page.body);
    let answer = browser.post_form("/admin/login/forgot", &[("email", EMAIL)]).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    let jobs = raw_i64(&app.db, "SELECT COUNT(*) FROM comptoir_jobs").await;
    assert_eq!(jobs, 0);
}

on_both_backends!(
    the_command_line_link_lets_the_operator_in_once,
    an_expired_link_is_refused_and_a_link_can_set_a_new_password,
    forgot_password_emails_a_link_that_only_the_mailbox_can_use,
    without_smtp_the_forgot_page_points_to_the_command_line,
);
