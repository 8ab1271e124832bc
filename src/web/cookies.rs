//! The app's cookies, parsed and written by the `cookie` crate (what
//! axum-extra's jar uses; four cookies need no jar). Every cookie is
//! HttpOnly, SameSite=Lax, Path=/, and Secure when the public URL is https;
//! values are percent-encoded.

use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use cookie::time::Duration;
use cookie::{Cookie, SameSite};

/// The session token.
pub const SESSION: &str = "comptoir_session";
/// The sign-in form's CSRF token (double submit, before any session exists).
pub const SIGNIN_CSRF: &str = "comptoir_signin";
/// A one-shot message shown on the next page.
pub const FLASH: &str = "comptoir_flash";
/// The device cookie of a browser where an operator signed in (see
/// `auth::devices`): its sign-ins are throttled on their own.
pub const DEVICE: &str = "comptoir_device";

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse_encoded)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value_trimmed().to_string())
}

/// A `Set-Cookie` value; `max_age` in seconds (`None`: a browser-session cookie).
pub fn set(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut cookie = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(age) = max_age {
        cookie = cookie.max_age(Duration::seconds(i64::try_from(age).unwrap_or(i64::MAX)));
    }
    cookie.build().encoded().to_string()
}

/// Adds a `Set-Cookie` header (made by [`set`] or [`clear`]) to a response.
pub fn add(response: &mut axum::response::Response, cookie: &str) {
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn round_trip_and_lookup() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; comptoir_flash=Facture%20%C3%A9mise; b=\"2\"; broken"),
        );
        assert_eq!(get(&headers, FLASH).as_deref(), Some("Facture émise"));
        assert_eq!(get(&headers, "b").as_deref(), Some("2"));
        assert_eq!(get(&headers, "c"), None);
        let written = set(FLASH, "é/é;x=1 & \"y\"", Some(60), false);
        let (pair, _) = written.split_once(';').unwrap();
        assert!(!pair.contains(' ') && !pair.contains('"'), "{written}");
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(pair).unwrap());
        assert_eq!(get(&headers, FLASH).as_deref(), Some("é/é;x=1 & \"y\""));
    }

    #[test]
    fn attributes() {
        assert_eq!(
            set(SESSION, "abc", None, true),
            "comptoir_session=abc; HttpOnly; SameSite=Lax; Secure; Path=/"
        );
        assert_eq!(
            clear(FLASH, false),
            "comptoir_flash=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }
}
