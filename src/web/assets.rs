//! The admin's stylesheet and script, compiled in and served with a hash in
//! their ETag so that browsers revalidate cheaply.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Access, Routes};

const CSS: &str = include_str!("../../assets/admin.css");
const JS: &str = include_str!("../../assets/admin.js");

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/assets/admin.css", Access::Public, |h: HeaderMap| async move {
            asset(&h, CSS, "text/css; charset=utf-8")
        })
        .get("/assets/admin.js", Access::Public, |h: HeaderMap| async move {
            asset(&h, JS, "text/javascript; charset=utf-8")
        })
}

fn asset(headers: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let etag = format!("\"{}\"", &crate::auth::sha256_hex(body)[..16]);
    let cache = [(CACHE_CONTROL, "no-cache".to_string()), (ETAG, etag.clone())];
    if headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(CONTENT_TYPE, content_type)], body).into_response()
}
