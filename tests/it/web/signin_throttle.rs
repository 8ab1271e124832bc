//! Sign-in throttling under simultaneous attempts, and device cookies: the
//! operator's trusted browser gets in while the attacker stays locked out.

use std::sync::Arc;

use comptoir::audit::{self, AuditFilter};
use comptoir::auth;

use crate::on_both_backends;
use crate::support::billing::raw_i64;
use crate::support::web::{Client, TestApp, EMAIL, PASSWORD};
use crate::support::Backend;

/// Clients that each loaded the sign-in form (so each holds its own
/// double-submit token), ready to post.
async fn ready_clients(app: &TestApp, n: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let mut client = app.client();
        assert_eq!(client.get("/admin/login").await.status, 200);
        clients.push(client);
    }
    clients
}

/// Every client posts the sign-in form at the same moment (released
/// together by a barrier, each on its own task and connection); the answers'
/// statuses and `Retry-After` headers.
async fn all_at_once(clients: Vec<Client>, email: impl Fn(usize) -> String, password: &str) -> Vec<(u16, Option<u64>)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(clients.len()));
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            let barrier = barrier.clone();
            let email = email(i);
            let password = password.to_string();
            tokio::spawn(async move {
                barrier.wait().await;
                let answer = client
                    .post_form("/admin/login", &[("email", &email), ("password", &password)])
                    .await;
                let retry = answer.header("retry-after").map(|v| v.parse::<u64>().expect("seconds"));
                (answer.status, retry)
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

fn count(answers: &[(u16, Option<u64>)], status: u16) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

async fn simultaneous_wrong_passwords_reach_the_check_five_times_at_most(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    let clients = ready_clients(&app, 40).await;
    let answers = all_at_once(clients, |_| EMAIL.to_string(), "wrong password!").await;
    // Every attempt let through is recorded before its password is checked,
    // and nothing else records one: the rows are the password checks.
    let checked = raw_i64(
        &app.db,
        &format!("SELECT COUNT(*) FROM signin_attempts WHERE email = '{EMAIL}'"),
    )
    .await;
    assert_eq!(checked, auth::MAX_FAILURES_PER_EMAIL, "{answers:?}");
    assert_eq!(count(&answers, 401), 5, "wrong password, checked: {answers:?}");
    assert_eq!(count(&answers, 429), 35, "refused before any check: {answers:?}");
    for (status, retry) in &answers {
        if *status == 429 {
            let retry = retry.expect("429 carries Retry-After");
            assert!(retry > 0 && retry <= auth::THROTTLE_WINDOW.as_secs(), "{retry}");
        }
    }
    // Locked: the right password waits too.
    let mut late = app.client();
    late.get("/admin/login").await;
    let answer = late
        .post_form("/admin/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
}

async fn simultaneous_attempts_from_one_address_reach_the_check_twenty_times_at_most(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let clients = ready_clients(&app, 30).await;
    // Thirty different e-mails, none over its own limit: the address's is what refuses.
    let answers = all_at_once(clients, |i| format!("nobody{i}@example.fr"), "wrong password!").await;
    let checked = raw_i64(&app.db, "SELECT COUNT(*) FROM signin_attempts WHERE ip = '127.0.0.1'").await;
    assert_eq!(checked, auth::MAX_FAILURES_PER_IP, "{answers:?}");
    assert_eq!(count(&answers, 401), 20, "{answers:?}");
    assert_eq!(count(&answers, 429), 10, "{answers:?}");
}

/// Five wrong passwords from a browser with no device cookie: the e-mail is
/// locked for such browsers. Returns the attacker's client.
pub(crate) async fn lock_out(app: &TestApp) -> Client {
    let mut attacker = app.client();
    attacker.get("/admin/login").await;
    for _ in 0..auth::MAX_FAILURES_PER_EMAIL {
        let answer = attacker
            .post_form("/admin/login", &[("email", EMAIL), ("password", "guess guess guess")])
            .await;
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    assert_locked_out(&mut attacker).await;
    attacker
}

/// Even the right password is refused (429) from this client.
pub(crate) async fn assert_locked_out(client: &mut Client) {
    client.get("/admin/login").await;
    let answer = client
        .post_form("/admin/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(answer.header("retry-after").is_some());
    assert!(client.cookie("comptoir_session").is_none());
}

async fn a_trusted_browser_gets_in_while_the_attacker_stays_locked_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The operator signed in from this browser once: it keeps a device cookie.
    let mut first = app.client();
    drop(app.signed_in().await);
    first.get("/admin/login").await;
    let answer = first
        .post_form("/admin/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let set = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("comptoir_device="))
        .expect("a device cookie after a successful sign-in");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    assert!(
        set.contains(&format!("Max-Age={}", auth::DEVICE_LIFETIME.as_secs())),
        "{set}"
    );
    let device = first.cookie("comptoir_device").unwrap();

    let mut attacker = lock_out(&app).await;

    // Later, the session gone, the same browser signs in with its password.
    let mut browser = app.client();
    browser.set_cookie("comptoir_device", &device);
    browser.sign_in(EMAIL, PASSWORD).await;
    assert!(browser.cookie("comptoir_session").is_some());
    // ... which does not unlock the attacker, even with the right password.
    assert_locked_out(&mut attacker).await;

    // A forged device cookie is no device.
    let mut forged = app.client();
    forged.set_cookie("comptoir_device", &"ab".repeat(32));
    assert_locked_out(&mut forged).await;
    // Nor is another operator's device cookie.
    let paul = auth::NewOperator {
        email: "paul@example.fr".into(),
        name: "Paul".into(),
        password: PASSWORD.into(),
    };
    auth::create_operator(&app.db.store, &paul).await.unwrap();
    let mut pauls = app.client();
    pauls.sign_in("paul@example.fr", PASSWORD).await;
    let mut borrowed = app.client();
    borrowed.set_cookie("comptoir_device", &pauls.cookie("comptoir_device").unwrap());
    assert_locked_out(&mut borrowed).await;

    // A device is throttled on its own: five failures lock that browser only.
    let mut thief = app.client();
    thief.set_cookie("comptoir_device", &device);
    thief.get("/admin/login").await;
    for _ in 0..auth::MAX_FAILURES_PER_DEVICE {
        let answer = thief
            .post_form("/admin/login", &[("email", EMAIL), ("password", "guess guess guess")])
            .await;
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    assert_locked_out(&mut thief).await;
    let by_lane = raw_i64(
        &app.db,
        &format!("SELECT COUNT(*) FROM signin_attempts WHERE email = '{EMAIL}' AND lane LIKE 'device:%'"),
    )
    .await;
    assert_eq!(by_lane, auth::MAX_FAILURES_PER_DEVICE);

    let entries = audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("session.sign_in".into()),
            actor: Some(EMAIL.into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let via: Vec<&str> = entries.iter().map(|e| e.details["via"].as_str().unwrap()).collect();
    assert_eq!(via, ["device", "password", "password"], "newest first");
}

async fn a_success_clears_only_its_own_lane(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    drop(app.signed_in().await);
    // Four failures from a stranger, then the operator signs in from a new
    // browser (no device cookie) with the right password: as before, the
    // e-mail's failures are cleared...
    let mut stranger = app.client();
    stranger.get("/admin/login").await;
    for _ in 0..4 {
        let answer = stranger
            .post_form("/admin/login", &[("email", EMAIL), ("password", "guess guess guess")])
            .await;
        assert_eq!(answer.status, 401);
    }
    let mut operator = app.client();
    operator.sign_in(EMAIL, PASSWORD).await;
    let left = raw_i64(
        &app.db,
        &format!("SELECT COUNT(*) FROM signin_attempts WHERE email = '{EMAIL}'"),
    )
    .await;
    assert_eq!(left, 0, "a password success clears that e-mail's password lane");
    // ... but not the failures of other e-mails from the same address, which
    // still count for the address.
    for i in 0..3 {
        let answer = stranger
            .post_form(
                "/admin/login",
                &[
                    ("email", &format!("nobody{i}@example.fr")),
                    ("password", "guess guess guess"),
                ],
            )
            .await;
        assert_eq!(answer.status, 401);
    }
    operator.get("/admin/login").await;
    operator.sign_in(EMAIL, PASSWORD).await;
    let by_ip = raw_i64(&app.db, "SELECT COUNT(*) FROM signin_attempts WHERE ip = '127.0.0.1'").await;
    assert_eq!(by_ip, 3, "nobody's success lowers an address's count");
}

on_both_backends!(
    simultaneous_wrong_passwords_reach_the_check_five_times_at_most,
    simultaneous_attempts_from_one_address_reach_the_check_twenty_times_at_most,
    a_trusted_browser_gets_in_while_the_attacker_stays_locked_out,
    a_success_clears_only_its_own_lane,
);
