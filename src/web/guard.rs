//! The guards layered on routes by [`super::routes`]: an operator's session
//! (and the CSRF token of every state-changing request), an API key, or
//! either. What a guard admits is handed to the handler as a request
//! extension: [`Caller`].

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::json;

use super::cookies;
use super::AppState;
use crate::audit::Actor;
use crate::auth::{self, ApiKey, AuthError, Session};

/// The name of the form field (or `X-CSRF-Token` header, or query parameter
/// for multipart uploads) that carries the session's CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// Forms larger than this are refused before their CSRF token is read.
const FORM_LIMIT: usize = 1024 * 1024;

/// Who is calling, as admitted by a guard.
#[derive(Debug, Clone)]
pub enum Caller {
    Operator { session: Session, actor: Actor },
    ApiKey { key: ApiKey, actor: Actor },
}

impl Caller {
    pub fn actor(&self) -> &Actor {
        match self {
            Caller::Operator { actor, .. } | Caller::ApiKey { actor, .. } => actor,
        }
    }
}

/// The caller's address: the peer, or the last `X-Forwarded-For` hop when
/// the web process is told it sits behind a proxy (`COMPTOIR_TRUST_PROXY`).
pub fn client_ip(state: &AppState, request: &Request) -> String {
    address(state, request.headers(), request.extensions())
}

fn address(state: &AppState, headers: &HeaderMap, extensions: &axum::http::Extensions) -> String {
    if state.web.trust_proxy {
        if let Some(hop) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            return hop.chars().take(64).collect();
        }
    }
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The caller's address, as an extractor (see [`client_ip`]).
pub struct ClientIp(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(address(state, &parts.headers, &parts.extensions)))
    }
}

async fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, AuthError> {
    match cookies::get(headers, cookies::SESSION) {
        Some(token) => auth::find_session(&state.store, &token).await,
        None => Ok(None),
    }
}

async fn api_key_of(state: &AppState, headers: &HeaderMap) -> Result<Option<(ApiKey, auth::Operator)>, AuthError> {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) else {
        return Ok(None);
    };
    match auth::authenticate_key(&state.store, token).await {
        Ok(found) => Ok(Some(found)),
        Err(AuthError::BadApiKey) => Ok(None),
        Err(e) => Err(e),
    }
}

fn unavailable(e: AuthError) -> Response {
    tracing::warn!(error = %e, "authentication could not be checked");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "error": { "code": "unavailable", "message": "service unavailable, try again later" } })),
    )
        .into_response()
}

fn api_unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [("www-authenticate", "Bearer")],
        Json(json!({ "error": { "code": "unauthorized", "message": "a valid API key is required (Authorization: Bearer ck_…)" } })),
    )
        .into_response()
}

/// Not signed in: pages go to the sign-in form (and come back after), other
/// requests get 401.
fn to_sign_in(method: &Method, request: &Request) -> Response {
    if method == Method::GET || method == Method::HEAD {
        let next = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/admin");
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        let location = format!("/admin/login?{query}");
        return Redirect::to(&location).into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        "Session expirée : reconnectez-vous. / Session expired: sign in again.",
    )
        .into_response()
}

fn forbidden(why: &'static str) -> Response {
    tracing::warn!(why, "request refused by the CSRF guard");
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(format!(
            "<!doctype html><meta charset=utf-8><title>403</title><h1>Requête refusée / Request refused</h1><p>{why}</p>\
             <p><a href=\"/admin\">Retour / Back</a></p>"
        )),
    )
        .into_response()
}

fn operator_actor(session: &Session, ip: String) -> Actor {
    Actor {
        operator_id: Some(session.operator.id),
        name: session.operator.email.clone(),
        ip,
    }
}

/// A signed-in operator; on anything but GET/HEAD, the session's CSRF token
/// too, from the `_csrf` form field (URL-encoded forms), the `X-CSRF-Token`
/// header, or the `_csrf` query parameter (multipart uploads). A request
/// whose `Origin` is another site is refused as well.
pub async fn operator(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let session = match session_of(&state, request.headers()).await {
        Ok(Some(s)) => s,
        Ok(None) => return to_sign_in(request.method(), &request),
        Err(e) => return unavailable(e),
    };
    let ip = client_ip(&state, &request);
    let request = if request.method() == Method::GET || request.method() == Method::HEAD {
        request
    } else {
        match check_csrf(&session, request).await {
            Ok(request) => request,
            Err(response) => return response,
        }
    };
    let actor = operator_actor(&session, ip);
    let lang = session.operator.language;
    let mut request = request;
    request.extensions_mut().insert(Caller::Operator { session, actor });
    crate::web::admin::localize(next.run(request).await, lang)
}

async fn check_csrf(session: &Session, request: Request) -> Result<Request, Response> {
    if let Some(origin) = request.headers().get(ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = request.headers().get(HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
        if origin != "null" && origin_host != host {
            return Err(forbidden("cross-site request / requête d'un autre site"));
        }
    }
    let expected = session.csrf_token.as_str();
    let header = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(given) = header {
        return if crate::auth::constant_time_eq(&given, expected) {
            Ok(request)
        } else {
            Err(forbidden("jeton CSRF invalide / invalid CSRF token"))
        };
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let given = request.uri().query().and_then(|q| form_field(q.as_bytes(), CSRF_FIELD));
        return match given {
            Some(given) if crate::auth::constant_time_eq(&given, expected) => Ok(request),
            _ => Err(forbidden(
                "jeton CSRF manquant ou invalide / missing or invalid CSRF token",
            )),
        };
    }
    if content_type.starts_with("application/x-www-form-urlencoded") || content_type.is_empty() {
        let (parts, body) = request.into_parts();
        let bytes = match to_bytes(body, FORM_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return Err((StatusCode::PAYLOAD_TOO_LARGE, "formulaire trop grand / form too large").into_response())
            }
        };
        return match form_field(&bytes, CSRF_FIELD) {
            Some(given) if crate::auth::constant_time_eq(&given, expected) => {
                Ok(Request::from_parts(parts, Body::from(bytes)))
            }
            _ => Err(forbidden(
                "jeton CSRF manquant ou invalide / missing or invalid CSRF token",
            )),
        };
    }
    Err(forbidden("jeton CSRF manquant / missing CSRF token"))
}

/// The first value of `name` in URL-encoded `bytes`.
fn form_field(bytes: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Hands the handler the key and its actor (`api:<prefix>`, for the audit log).
fn admit_key(state: &AppState, request: &mut Request, key: ApiKey, operator: &auth::Operator) {
    let actor = Actor {
        operator_id: Some(operator.id),
        name: format!("api:{}", key.prefix),
        ip: client_ip(state, request),
    };
    request.extensions_mut().insert(Caller::ApiKey { key, actor });
}

/// A live API key.
pub async fn api_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match api_key_of(&state, request.headers()).await {
        Ok(Some((key, operator))) => {
            admit_key(&state, &mut request, key, &operator);
            next.run(request).await
        }
        Ok(None) => api_unauthorized(),
        Err(e) => unavailable(e),
    }
}

/// A session (read-only use: no CSRF, GET only) or an API key.
pub async fn operator_or_api_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match api_key_of(&state, request.headers()).await {
        Ok(Some((key, operator))) => {
            admit_key(&state, &mut request, key, &operator);
            return next.run(request).await;
        }
        Ok(None) => {}
        Err(e) => return unavailable(e),
    }
    match session_of(&state, request.headers()).await {
        Ok(Some(session)) if request.method() == Method::GET => {
            let actor = operator_actor(&session, client_ip(&state, &request));
            request.extensions_mut().insert(Caller::Operator { session, actor });
            next.run(request).await
        }
        Ok(_) => api_unauthorized(),
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::form_field;

    #[test]
    fn reads_a_form_field() {
        assert_eq!(form_field(b"a=1&_csrf=abc%20d&b=2", "_csrf").as_deref(), Some("abc d"));
        assert_eq!(form_field(b"a=1", "_csrf"), None);
        assert_eq!(form_field(b"", "_csrf"), None);
    }
}
