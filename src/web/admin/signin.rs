//! Sign-in, sign-out, and the first operator's setup link (the ways back in
//! for a locked-out operator are in `signin_link`).
//!
//! The sign-in form has no session yet, so its CSRF token is a double
//! submit: a random value in a cookie and in the form, which must match.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Admin, AdminError, Form, Query};
use crate::audit::{self, Actor, Record};
use crate::auth::{self, AuthError, NewOperator};
use crate::i18n::{Lang, Text};
use crate::text;
use crate::web::guard::{ClientIp, CSRF_FIELD};
use crate::web::{cookies, Access, AppState, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/signin.html"),
    crate::template!("admin/setup.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/login", Access::Public, form)
        .post("/admin/login", Access::Public, submit)
        .post("/admin/logout", Access::Operator, sign_out)
        .get("/setup/{token}", Access::Public, setup_form)
        .post("/setup/{token}", Access::Public, setup_submit)
}

#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    next: Option<String>,
}

/// Only a path of the admin: never another site (`//evil`, `https://…`).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if super::is_admin_path(n) => n,
        _ => "/admin",
    }
}

/// The language of a page shown before sign-in: the browser's first choice
/// of French or English, French by default.
pub(super) fn browser_lang(headers: &HeaderMap) -> Lang {
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or_default()
}

/// Why a form posted before sign-in was refused, said in `lang`.
pub(super) fn refusal(e: AuthError, lang: Lang) -> String {
    AdminError::from(e).message(lang)
}

fn page(
    state: &AppState,
    status: StatusCode,
    template: &str,
    lang: Lang,
    ctx: minijinja::Value,
) -> Result<Response, AdminError> {
    let ctx = minijinja::context! { lang => lang.code(), ..ctx };
    let html = state.templates.get_template(template)?.render(ctx)?;
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("accept-language"),
    );
    Ok(response)
}

/// Renders a page of a form posted before any session (sign-in, "forgot",
/// sign-in link) with a fresh double-submit token: `csrf` and `csrf_field`
/// are added to `ctx`.
pub(super) fn double_submit_page(
    state: &AppState,
    status: StatusCode,
    template: &str,
    lang: Lang,
    ctx: minijinja::Value,
) -> Result<Response, AdminError> {
    let token = auth::random_token(16);
    let ctx = minijinja::context! { csrf => &token, csrf_field => CSRF_FIELD, ..ctx };
    let mut response = page(state, status, template, lang, ctx)?;
    let cookie = cookies::set(cookies::SIGNIN_CSRF, &token, Some(3600), state.web.secure_cookies());
    cookies::add(&mut response, &cookie);
    Ok(response)
}

/// Whether a form posted before any session carries its double-submit token.
pub(super) fn double_submit_ok(headers: &HeaderMap, given: &str) -> bool {
    let expected = cookies::get(headers, cookies::SIGNIN_CSRF).unwrap_or_default();
    !expected.is_empty() && auth::constant_time_eq(&expected, given)
}

/// Renders the sign-in form with a fresh double-submit token.
fn signin_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    next: &str,
    email: &str,
    error: Option<Text>,
) -> Result<Response, AdminError> {
    double_submit_page(
        state,
        status,
        "admin/signin.html",
        lang,
        minijinja::context! { next => next, email => email, error => error.map(|e| e.in_lang(lang)) },
    )
}

/// The answer to a sign-in: 303 to `next` with the session cookie, the
/// device cookie when the browser gets a new one, and the sign-in form's
/// token cleared.
pub(super) fn signed_in_response(state: &AppState, signed_in: &auth::SignedIn, next: &str) -> Response {
    let secure = state.web.secure_cookies();
    let mut response = Redirect::to(next).into_response();
    let mut set = vec![
        cookies::set(cookies::SESSION, &signed_in.token, None, secure),
        cookies::clear(cookies::SIGNIN_CSRF, secure),
    ];
    if let Some(device) = &signed_in.new_device {
        set.push(cookies::set(
            cookies::DEVICE,
            device,
            Some(auth::DEVICE_LIFETIME.as_secs()),
            secure,
        ));
    }
    for cookie in set {
        cookies::add(&mut response, &cookie);
    }
    response
}

/// The `session.sign_in` entry of the audit log.
pub(super) async fn audit_sign_in(
    state: &AppState,
    signed_in: &auth::SignedIn,
    ip: String,
    details: serde_json::Value,
) -> Result<(), AdminError> {
    let actor = Actor {
        operator_id: Some(signed_in.session.operator.id),
        name: signed_in.session.operator.email.clone(),
        ip,
    };
    audit::record(
        &state.store,
        &actor,
        Record::new("session.sign_in", "session").details(details),
    )
    .await?;
    Ok(())
}

async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Result<Response, AdminError> {
    signin_page(
        &state,
        StatusCode::OK,
        browser_lang(&headers),
        safe_next(q.next.as_deref()),
        "",
        None,
    )
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Result<Response, AdminError> {
    let next = safe_next(f.next.as_deref()).to_string();
    let lang = browser_lang(&headers);
    if !double_submit_ok(&headers, &f.csrf) {
        tracing::warn!(%ip, "sign-in form without its CSRF token");
        return signin_page(
            &state,
            StatusCode::FORBIDDEN,
            lang,
            &next,
            &f.email,
            Some(text!("Le formulaire a expiré, réessayez.")),
        );
    }
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("");
    let device = cookies::get(&headers, cookies::DEVICE);
    let attempt = auth::Attempt {
        email: &f.email,
        password: &f.password,
        ip: &ip,
        user_agent,
        device: device.as_deref(),
    };
    match auth::sign_in(&state.store, &attempt).await {
        Ok(signed_in) => {
            let details = serde_json::json!({ "via": signed_in.via });
            audit_sign_in(&state, &signed_in, ip, details).await?;
            Ok(signed_in_response(&state, &signed_in, &next))
        }
        Err(AuthError::BadCredentials) => signin_page(
            &state,
            StatusCode::UNAUTHORIZED,
            lang,
            &next,
            &f.email,
            Some(text!("E-mail ou mot de passe incorrect.")),
        ),
        Err(AuthError::Throttled { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            let mut response = signin_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                lang,
                &next,
                &f.email,
                Some(
                    text!(
                        "Trop d'essais : réessayez dans {minutes} min, ou utilisez « {forgot} ».",
                        minutes = minutes
                    )
                    .with("forgot", text!("Mot de passe oublié ou compte bloqué ?")),
                ),
            )?;
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert("retry-after", v);
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

async fn sign_out(admin: Admin) -> Result<Response, AdminError> {
    auth::end_session(&admin.state.store, &admin.session).await?;
    audit::record(
        &admin.state.store,
        &admin.actor,
        Record::new("session.sign_out", "session"),
    )
    .await?;
    let mut response = Redirect::to("/admin/login").into_response();
    let cookie = cookies::clear(cookies::SESSION, admin.state.web.secure_cookies());
    cookies::add(&mut response, &cookie);
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
fn setup_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    token: &str,
    valid: bool,
    email: &str,
    name: &str,
    error: Option<String>,
) -> Result<Response, AdminError> {
    page(
        state,
        status,
        "admin/setup.html",
        lang,
        minijinja::context! { token => token, valid => valid, email => email, name => name, error => error,
        min_password => auth::MIN_PASSWORD_CHARS },
    )
}

async fn setup_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AdminError> {
    let valid = auth::setup_token_valid(&state.store, &token).await?;
    let status = if valid { StatusCode::OK } else { StatusCode::NOT_FOUND };
    setup_page(&state, status, browser_lang(&headers), &token, valid, "", "", None)
}

#[derive(Deserialize)]
struct Setup {
    email: String,
    name: String,
    password: String,
    password_again: String,
}

/// The setup token itself is the proof that the request comes from the
/// person who read the server's log; it is single-use.
async fn setup_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<Setup>,
) -> Result<Response, AdminError> {
    let lang = browser_lang(&headers);
    if f.password != f.password_again {
        return setup_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &token,
            true,
            &f.email,
            &f.name,
            Some(text!("Les deux mots de passe diffèrent.").in_lang(lang)),
        );
    }
    let new = NewOperator {
        email: f.email.clone(),
        name: f.name.clone(),
        password: f.password.clone(),
    };
    let operator = match auth::setup_first_operator(&state.store, &token, &new).await {
        Ok(op) => op,
        Err(AuthError::SetupLinkInvalid) => {
            return setup_page(&state, StatusCode::NOT_FOUND, lang, &token, false, "", "", None);
        }
        Err(e @ AuthError::Invalid { .. }) => {
            return setup_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &token,
                true,
                &f.email,
                &f.name,
                Some(refusal(e, lang)),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let actor = Actor {
        operator_id: Some(operator.id),
        name: operator.email.clone(),
        ip: ip.clone(),
    };
    audit::record(
        &state.store,
        &actor,
        Record::new("operator.create", format!("operator:{}", operator.id))
            .details(serde_json::json!({ "via": "setup link" })),
    )
    .await?;
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("");
    let attempt = auth::Attempt {
        email: &f.email,
        password: &f.password,
        ip: &ip,
        user_agent,
        device: None,
    };
    let signed_in = auth::sign_in(&state.store, &attempt).await?;
    Ok(signed_in_response(&state, &signed_in, "/admin"))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_in_the_admin() {
        assert_eq!(
            safe_next(Some("/admin/jobs?state=running")),
            "/admin/jobs?state=running"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/api/orders",
            "/admin\\..",
            "/admin\r\nSet-Cookie: x=1",
            "/admin/jobs\u{202E}",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin", "{bad}");
        }
        assert_eq!(safe_next(None), "/admin");
    }
}
