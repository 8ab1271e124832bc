//! Cookies, read and written by hand (four of them; no jar needed).
//! Every cookie is HttpOnly, SameSite=Lax, Path=/, and Secure when the
//! public URL is https.

use axum::http::header::COOKIE;
use axum::http::HeaderMap;

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
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| url_decode(v.trim_matches('"')))
}

/// A `Set-Cookie` value; `max_age` in seconds (`None`: a browser-session cookie).
pub fn set(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    let mut cookie = format!("{name}={}; Path=/; HttpOnly; SameSite=Lax", url_encode(value));
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
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

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
            HeaderValue::from_static("a=1; comptoir_flash=Facture%20%C3%A9mise; b=2"),
        );
        assert_eq!(get(&headers, FLASH).as_deref(), Some("Facture émise"));
        assert_eq!(get(&headers, "b").as_deref(), Some("2"));
        assert_eq!(get(&headers, "c"), None);
        assert_eq!(url_decode(&url_encode("é/é?x=1&y")), "é/é?x=1&y");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%4"), "%4");
        assert_eq!(url_decode("%é"), "%é");
    }

    #[test]
    fn attributes() {
        assert_eq!(
            set(SESSION, "abc", None, true),
            "comptoir_session=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            clear(FLASH, false),
            "comptoir_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
