//! `GET /api/openapi.json`: the API's OpenAPI 3.1 document, written by hand
//! in `openapi.json` next to this file and compiled in. Tests keep it true:
//! its operations are exactly the `/api` routes of the table, and every
//! answer the API tests receive validates against the schema it gives.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::web::{Access, Routes};

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub(super) fn routes() -> Routes {
    Routes::new().get("/api/openapi.json", Access::Public, serve)
}

async fn serve() -> Response {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_openapi_3_1_json() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
