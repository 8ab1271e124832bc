//! Sign-in, sessions, CSRF, throttling, sign-out and the setup link.

use comptoir::audit::{self, AuditFilter};
use comptoir::auth;

use crate::on_both_backends;
use crate::support::web::{Client, TestApp, EMAIL, PASSWORD};
use crate::support::Backend;

async fn sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    // The cookie as set by the sign-in answer.
    let mut fresh = Client::new(&app.base);
    fresh.get("/admin/login").await;
    let answer = fresh
        .post_form(
            "/admin/login",
            &[("email", EMAIL), ("password", PASSWORD), ("next", "/admin/jobs")],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        answer.location(),
        Some("/admin/jobs"),
        "back where the operator was going"
    );
    let cookie = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("comptoir_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http on loopback: {cookie}");

    let home = client.get("/admin").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Marie Dupont"), "the operator's name is shown");
    let session_cookie = client.cookie("comptoir_session").expect("signed in");

    let out = client.post_form("/admin/logout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), Some("/admin/login"));
    // The old cookie, replayed, opens nothing.
    let mut replay = Client::new(&app.base);
    replay.set_cookie("comptoir_session", &session_cookie);
    let answer = replay.get("/admin").await;
    assert_eq!(answer.status, 303, "{}", answer.body);

    let entries = audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("session.".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["session.sign_out", "session.sign_in", "session.sign_in"]);
    assert!(entries.iter().all(|e| e.actor == EMAIL && e.ip == "127.0.0.1"));
}

async fn forms_without_their_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let token = client.csrf.clone().expect("pages carry the token");
    // Sign-out without a token, with a wrong one, from another site: refused, still signed in.
    let none = client.post_form_raw("/admin/logout", &[]).await;
    assert_eq!(none.status, 403, "{}", none.body);
    let wrong = client
        .post_form_raw("/admin/logout", &[("_csrf".into(), "0".repeat(64))])
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(client.get("/admin").await.status, 200, "still signed in");
    // A multipart body without the query token is refused too.
    client.csrf = None;
    let upload = client.post_file("/admin/logout", &[], "file", "x.csv", b"a;b\n").await;
    assert_eq!(upload.status, 403);
    client.csrf = Some(token.clone());
    let ok = client.post_form_raw("/admin/logout", &[("_csrf".into(), token)]).await;
    assert_eq!(ok.status, 303);

    // The sign-in form has its own token (double submit): without it, refused.
    let mut anonymous = Client::new(&app.base);
    let answer = anonymous
        .post_form_raw(
            "/admin/login",
            &[("email".into(), EMAIL.into()), ("password".into(), PASSWORD.into())],
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(anonymous.cookie("comptoir_session").is_none());
}

async fn failed_sign_ins_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let mut client = Client::new(&app.base);
    client.get("/admin/login").await;
    for _ in 0..auth::MAX_FAILURES_PER_EMAIL {
        let answer = client
            .post_form("/admin/login", &[("email", EMAIL), ("password", "wrong password!")])
            .await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert!(answer.body.contains("E-mail ou mot de passe incorrect"));
    }
    // Now even the right password waits: the attacker cannot tell.
    let answer = client
        .post_form("/admin/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    let retry: u64 = answer.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= auth::THROTTLE_WINDOW.as_secs());
    assert!(client.cookie("comptoir_session").is_none());
    // Unknown e-mails answer the same as wrong passwords.
    let answer = client
        .post_form(
            "/admin/login",
            &[("email", "nobody@example.fr"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, 401);
}

async fn the_setup_link_creates_the_first_operator_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = auth::create_setup_link(&app.db.store)
        .await
        .unwrap()
        .expect("no operator yet");
    let mut client = Client::new(&app.base);
    assert_eq!(client.get("/setup/not-the-token").await.status, 404);
    let form = client.get(&format!("/setup/{token}")).await;
    assert_eq!(form.status, 200);
    let path = format!("/setup/{token}");
    let mismatch = client
        .post_form_raw(
            &path,
            &[
                ("email".into(), EMAIL.into()),
                ("name".into(), "Marie".into()),
                ("password".into(), PASSWORD.into()),
                ("password_again".into(), "something else".into()),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    let short = client
        .post_form_raw(
            &path,
            &[
                ("email".into(), EMAIL.into()),
                ("name".into(), "Marie".into()),
                ("password".into(), "short".into()),
                ("password_again".into(), "short".into()),
            ],
        )
        .await;
    assert_eq!(short.status, 422, "{}", short.body);
    let fields = [
        ("email".to_string(), EMAIL.to_string()),
        ("name".into(), "Marie Dupont".into()),
        ("password".into(), PASSWORD.into()),
        ("password_again".into(), PASSWORD.into()),
    ];
    let created = client.post_form_raw(&path, &fields).await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(client.get("/admin").await.status, 200, "signed in at once");
    // Used: the link opens nothing any more, and no second link is made.
    let mut other = Client::new(&app.base);
    assert_eq!(other.get(&path).await.status, 404);
    assert_eq!(other.post_form_raw(&path, &fields).await.status, 404);
    assert_eq!(auth::count_operators(&app.db.store).await.unwrap(), 1);
    assert!(auth::create_setup_link(&app.db.store).await.unwrap().is_none());
}

async fn api_keys_are_hashed_and_revocable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    assert!(key.starts_with("ck_"));
    let (found, operator) = auth::authenticate_key(&app.db.store, &key).await.unwrap();
    assert_eq!(operator.email, "api-owner@example.fr");
    // Stored as a digest only.
    let keys = auth::list_keys(&app.db.store).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(key.contains(&keys[0].prefix));
    let mut tampered = key.clone();
    tampered.pop();
    tampered.push(if key.ends_with('0') { '1' } else { '0' });
    assert!(auth::authenticate_key(&app.db.store, &tampered).await.is_err());
    assert!(auth::authenticate_key(&app.db.store, "ck_zz_nope").await.is_err());
    auth::revoke_key(&app.db.store, found.id).await.unwrap();
    assert!(auth::authenticate_key(&app.db.store, &key).await.is_err());
    assert!(matches!(
        auth::revoke_key(&app.db.store, found.id).await,
        Err(auth::AuthError::NotFound)
    ));
}

on_both_backends!(
    sign_in_sets_a_safe_cookie_and_sign_out_ends_the_session,
    the_pages_before_sign_in_follow_the_browsers_language,
    forms_without_their_csrf_token_are_refused,
    failed_sign_ins_are_throttled,
    the_setup_link_creates_the_first_operator_once,
    api_keys_are_hashed_and_revocable,
);

/// The pages shown before sign-in have no operator: they speak the
/// browser's language (`Accept-Language`), French by default.
async fn the_pages_before_sign_in_follow_the_browsers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let get = |path: &str, language: Option<&str>| {
        let mut request = http.get(format!("{}{path}", app.base));
        if let Some(l) = language {
            request = request.header("accept-language", l);
        }
        async move { request.send().await.expect("request").text().await.expect("body") }
    };
    let english = get("/admin/login", Some("en-GB,en;q=0.9,fr;q=0.5")).await;
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    for shown in ["Sign in", "Password", "Forgot your password or locked out?"] {
        assert!(english.contains(shown), "{shown} missing: {english}");
    }
    for french in ["Mot de passe", "Se connecter", "connexion / sign in"] {
        assert!(!english.contains(french), "{french} in the English page");
    }
    let french = get("/admin/login", None).await;
    assert!(
        french.contains("<html lang=\"fr\">") && french.contains("Mot de passe"),
        "{french}"
    );
    assert!(!french.contains("Password") && !french.contains("sign in"), "{french}");
    let preferred = get("/admin/login", Some("de, fr;q=0.8, en;q=0.5")).await;
    assert!(
        preferred.contains("Se connecter"),
        "French is preferred to English here"
    );
    let forgot = get("/admin/login/forgot", Some("en")).await;
    assert!(
        forgot.contains("Forgotten password") && !forgot.contains("Mot de passe oublié"),
        "{forgot}"
    );
    let link = get("/admin/login/link/not-a-token", Some("en")).await;
    assert!(link.contains("This link is unknown, used or expired."), "{link}");
    let setup = get("/setup/not-a-token", Some("en")).await;
    assert!(
        setup.contains("First account") && !setup.contains("Premier compte"),
        "{setup}"
    );

    // A refusal is said in the browser's language too.
    let mut client = Client::new(&app.base);
    client.get("/admin/login").await;
    let mut fields: Vec<(String, String)> = vec![
        ("email".into(), EMAIL.into()),
        ("password".into(), "not the password".into()),
    ];
    fields.push(("_csrf".into(), client.csrf.clone().expect("the form's token")));
    let body = serde_urlencoded::to_string(&fields).unwrap();
    let request = http
        .post(format!("{}/admin/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept-language", "en")
        .body(body);
    let answer = client.send(request).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.body.contains("Wrong e-mail or password."), "{}", answer.body);
}
