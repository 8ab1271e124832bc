//! Every route of the table without credentials: only the public ones
//! answer. The table is the app's own (`comptoir::web::routes()`), so a
//! route added later is enumerated here too; making one public means adding
//! it to the list below, on purpose.

use comptoir::web::{routes, Access};

use crate::on_both_backends;
use crate::support::web::{Client, TestApp};
use crate::support::Backend;

/// The routes that answer without credentials, and why.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/"),                          // redirects to the admin
    ("GET", "/healthz"),                   // liveness probe
    ("GET", "/readyz"),                    // readiness probe
    ("GET", "/assets/admin.css"),          // static
    ("GET", "/assets/admin.js"),           // static
    ("GET", "/admin/login"),               // the sign-in form
    ("POST", "/admin/login"),              // signing in (double-submit CSRF)
    ("GET", "/admin/login/forgot"),        // "Mot de passe oublié ?": asks for a link
    ("POST", "/admin/login/forgot"),       // the same answer for any e-mail (double-submit CSRF)
    ("GET", "/admin/login/link/{token}"),  // a one-time sign-in link: the token is the credential
    ("POST", "/admin/login/link/{token}"), // burns it (double-submit CSRF)
    ("GET", "/setup/{token}"),             // the first operator's one-time link
    ("POST", "/setup/{token}"),            // the token is the credential
    ("POST", "/webhooks/stripe"),          // signature checked by the handler
    ("POST", "/webhooks/paypal"),          // verified with PayPal's API
    ("GET", "/api/openapi.json"),          // the API's description
];

/// A concrete path for a route pattern: every `{param}` becomes `1`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('1');
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn public_routes_are_exactly_the_listed_ones() {
    let table = routes().table();
    let public: Vec<(String, &str)> = table
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    for (method, path) in &public {
        assert!(
            PUBLIC.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is public but not in the test's list of public routes"
        );
    }
    // Every admin page is behind a session, every API route behind a key.
    for r in &table {
        if r.path.starts_with("/admin") && !r.path.starts_with("/admin/login") {
            assert_eq!(r.access, Access::Operator, "{} {}", r.method, r.path);
        }
        if r.path.starts_with("/api/") && r.path != "/api/openapi.json" {
            assert_eq!(r.access, Access::ApiKey, "{} {}", r.method, r.path);
        }
    }
}

async fn refused_without_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A live API key of someone, and a session of someone, exist: the point is
    // that a request without them, or with the wrong kind, is refused.
    let _key = app.api_key().await;
    let table = routes().table();
    assert!(table.len() > 10, "the table lists the app's routes");
    let mut checked = 0;
    for route in table.iter().filter(|r| r.access != Access::Public) {
        let path = concrete(route.path);
        let mut anonymous = Client::new(&app.base);
        let mut wrong_key = Client::new(&app.base).with_bearer("ck_00000000_notakey");
        for (who, client) in [("anonymous", &mut anonymous), ("bad key", &mut wrong_key)] {
            let answer = match route.method.as_str() {
                "GET" => client.get(&path).await,
                "PUT" => {
                    let request = reqwest::Client::new()
                        .put(client.url(&path))
                        .header("content-type", "application/json")
                        .body("{}");
                    client.send(request).await
                }
                _ => client.post_form_raw(&path, &[("a".into(), "1".into())]).await,
            };
            let refused = match route.access {
                Access::Operator if route.method == "GET" => {
                    answer.status == 303 && answer.location().is_some_and(|l| l.starts_with("/admin/login?next="))
                }
                Access::Operator => answer.status == 401,
                Access::ApiKey | Access::OperatorOrApiKey => {
                    answer.status == 401 && answer.json()["error"]["code"] == "unauthorized"
                }
                Access::Public => unreachable!(),
            };
            assert!(
                refused,
                "{} {} ({who}) was not refused: {} {}",
                route.method, route.path, answer.status, answer.body
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no guarded route");
}

async fn a_session_is_not_an_api_key_and_a_key_is_not_a_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut operator = app.signed_in().await;
    let key = app.api_key().await;
    for route in routes().table().iter().filter(|r| r.method == "GET") {
        let path = concrete(route.path);
        match route.access {
            Access::ApiKey => {
                let answer = operator.get(&path).await;
                assert_eq!(answer.status, 401, "GET {} with a session: {}", route.path, answer.body);
            }
            Access::Operator => {
                let mut api = Client::new(&app.base).with_bearer(&key);
                let answer = api.get(&path).await;
                assert_eq!(
                    answer.status, 303,
                    "GET {} with an API key: {}",
                    route.path, answer.body
                );
            }
            _ => {}
        }
    }
}

on_both_backends!(
    refused_without_credentials,
    a_session_is_not_an_api_key_and_a_key_is_not_a_session
);
