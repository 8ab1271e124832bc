//! The ways back in for an operator locked out by someone else's failed
//! sign-ins, none of which unlocks that someone:
//!
//! - `/admin/login/link/{token}`: a one-time sign-in link, printed by
//!   `comptoir-web admin signin-link` or e-mailed. Opening it shows a button
//!   (a mail scanner that fetches links burns nothing); posting it signs in,
//!   with a new password if one is given.
//! - `/admin/login/forgot`: "Mot de passe oublié ?" e-mails such a link when
//!   SMTP is configured, with the same answer whether the e-mail is an
//!   operator's or not; without SMTP, the page says how to get a link from
//!   the server.
//!
//! Both forms are posted before any session: their CSRF token is the sign-in
//! form's double submit.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::signin::{audit_sign_in, browser_lang, double_submit_ok, double_submit_page, refusal, signed_in_response};
use super::{AdminError, Form};
use crate::audit::{self, Actor, Record};
use crate::auth::{self, AuthError, LinkUse};
use crate::i18n::{Lang, Text};
use crate::text;
use crate::web::guard::ClientIp;
use crate::web::{cookies, Access, AppState, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/signin_link.html"),
    crate::template!("admin/forgot.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/login/link/{token}", Access::Public, link_form)
        .post("/admin/login/link/{token}", Access::Public, link_submit)
        .get("/admin/login/forgot", Access::Public, forgot_form)
        .post("/admin/login/forgot", Access::Public, forgot_submit)
}

fn expired() -> Text {
    text!("Le formulaire a expiré, réessayez.")
}

fn link_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    token: &str,
    valid: bool,
    error: Option<String>,
) -> Result<Response, AdminError> {
    double_submit_page(
        state,
        status,
        "admin/signin_link.html",
        lang,
        minijinja::context! { token => token, valid => valid, error => error,
        min_password => auth::MIN_PASSWORD_CHARS },
    )
}

async fn link_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AdminError> {
    let valid = auth::signin_link_valid(&state.store, &token).await?;
    let status = if valid { StatusCode::OK } else { StatusCode::NOT_FOUND };
    link_page(&state, status, browser_lang(&headers), &token, valid, None)
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

/// The token is the credential (it proves access to the server or to the
/// mailbox); it is burnt by the sign-in, which no throttle counts or clears.
async fn link_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LinkForm>,
) -> Result<Response, AdminError> {
    let lang = browser_lang(&headers);
    if !double_submit_ok(&headers, &f.csrf) {
        // A dead link says so, whatever the form carried.
        return match auth::signin_link_valid(&state.store, &token).await? {
            true => link_page(
                &state,
                StatusCode::FORBIDDEN,
                lang,
                &token,
                true,
                Some(expired().in_lang(lang)),
            ),
            false => link_page(&state, StatusCode::NOT_FOUND, lang, &token, false, None),
        };
    }
    if f.password != f.password_again {
        let error = text!("Les deux mots de passe diffèrent.").in_lang(lang);
        return link_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &token,
            true,
            Some(error),
        );
    }
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("");
    let device = cookies::get(&headers, cookies::DEVICE);
    let link = LinkUse {
        token: &token,
        ip: &ip,
        user_agent,
        device: device.as_deref(),
        new_password: Some(f.password.as_str()).filter(|p| !p.is_empty()),
    };
    let done = match auth::sign_in_with_link(&state.store, &link).await {
        Ok(done) => done,
        Err(AuthError::SigninLinkInvalid) => {
            return link_page(&state, StatusCode::NOT_FOUND, lang, &token, false, None)
        }
        Err(e @ AuthError::Invalid { .. }) => {
            return link_page(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &token,
                true,
                Some(refusal(e, lang)),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let operator = &done.signed_in.session.operator;
    if done.password_changed {
        let actor = Actor {
            operator_id: Some(operator.id),
            name: operator.email.clone(),
            ip: ip.clone(),
        };
        audit::record(
            &state.store,
            &actor,
            Record::new("operator.reset_password", format!("operator:{}", operator.id))
                .details(serde_json::json!({ "via": "signin link" })),
        )
        .await?;
    }
    let details = serde_json::json!({ "via": "link", "link": done.link_via.as_str() });
    audit_sign_in(&state, &done.signed_in, ip, details).await?;
    Ok(signed_in_response(&state, &done.signed_in, "/admin"))
}

/// Whether "Mot de passe oublié ?" can e-mail a link: SMTP is configured and
/// the admin's address is known (the public URL, or the address listened on).
fn mail_base(state: &AppState) -> Option<String> {
    state.web.link_base().filter(|_| state.app.mailer.sends_email())
}

fn forgot_page(
    state: &AppState,
    status: StatusCode,
    lang: Lang,
    email: &str,
    sent: bool,
    error: Option<String>,
) -> Result<Response, AdminError> {
    double_submit_page(
        state,
        status,
        "admin/forgot.html",
        lang,
        minijinja::context! { enabled => mail_base(state).is_some(), email => email, sent => sent, error => error,
        minutes => auth::SIGNIN_LINK_LIFETIME.as_secs() / 60 },
    )
}

async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AdminError> {
    forgot_page(&state, StatusCode::OK, browser_lang(&headers), "", false, None)
}

#[derive(Deserialize)]
struct Forgot {
    #[serde(default)]
    email: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn forgot_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<Forgot>,
) -> Result<Response, AdminError> {
    let lang = browser_lang(&headers);
    let Some(base) = mail_base(&state) else {
        return forgot_page(&state, StatusCode::NOT_FOUND, lang, &f.email, false, None);
    };
    if !double_submit_ok(&headers, &f.csrf) {
        return forgot_page(
            &state,
            StatusCode::FORBIDDEN,
            lang,
            &f.email,
            false,
            Some(expired().in_lang(lang)),
        );
    }
    // The link comes from the seller, like the business's other e-mails.
    let from = crate::billing::emails::sender(&state.store).await?;
    match auth::request_signin_link(&state.store, &f.email, &ip, &base, from).await {
        // The same answer for every well-formed e-mail, an operator's or not.
        Ok(()) => forgot_page(&state, StatusCode::OK, lang, "", true, None),
        Err(e @ AuthError::Invalid { .. }) => forgot_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            &f.email,
            false,
            Some(refusal(e, lang)),
        ),
        Err(AuthError::Throttled { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            let error = text!("Trop de demandes : réessayez dans {minutes} min.", minutes = minutes).in_lang(lang);
            let mut response = forgot_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                lang,
                &f.email,
                false,
                Some(error),
            )?;
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert("retry-after", v);
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
