//! `Json`, `Query` and `Path` for the API: a body, query string or path that
//! does not fit answers 422 (400 for what is not JSON at all) with the field
//! at fault, never axum's plain-text rejection. Every string of a body or
//! query string (keys too) is held to the input policy's edge rule first
//! ([`crate::input::check_edge`]): NUL or another control character than TAB,
//! CR and LF is a 422 naming its JSON path, whatever the route.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ApiError, FieldError};
use crate::i18n::Text;
use crate::input;
use crate::text;

/// A JSON body in, or a JSON answer out.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::BadRequest(text!("Content-Type: application/json attendu")));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::BadRequest(text!("le corps de la requête est illisible (trop grand ?)")))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                ApiError::BadRequest(
                    text!("le corps n'est pas du JSON valide : {detail}").with("detail", Text::verbatim(e.to_string())),
                )
            } else {
                // Nesting too deep, a number out of range…
                ApiError::Validation(vec![FieldError {
                    field: String::new(),
                    message: Text::verbatim(without_position(&e.to_string())),
                }])
            }
        })?;
        let mut refused = Vec::new();
        edge_refusals(&value, &mut String::new(), &mut refused);
        if !refused.is_empty() {
            return Err(ApiError::Validation(refused));
        }
        from_value(value).map(Json)
    }
}

/// Every string of `value` (object keys too) that the edge refuses, each named
/// by its path the way serde_path_to_error writes it (`customer.name`,
/// `items[0].sku`).
fn edge_refusals(value: &serde_json::Value, path: &mut String, out: &mut Vec<FieldError>) {
    use serde_json::Value;
    let refuse = |out: &mut Vec<FieldError>, at: &str, e: input::TextError| {
        out.push(FieldError {
            field: at.to_string(),
            message: e.text(),
        })
    };
    match value {
        Value::String(s) => {
            if let Err(e) = input::check_edge(s) {
                refuse(out, path, e);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                edge_refusals(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                match input::check_edge(key) {
                    Ok(()) => path.push_str(key),
                    Err(e) => {
                        path.push_str(&key.escape_debug().to_string());
                        refuse(out, path, e);
                    }
                }
                edge_refusals(item, path, out);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON value already read (the body, kept whole for the idempotency
/// fingerprint) into `T`, naming the field that does not fit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        ApiError::Validation(vec![FieldError {
            field: if field == "." { String::new() } else { field },
            message: Text::verbatim(without_position(&e.into_inner().to_string())),
        }])
    })
}

/// serde_json appends " at line 1 column 42": useless to an API caller.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The query string, decoded.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let mut refused = Vec::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if let Err(e) = input::check_edge(&key).and_then(|()| input::check_edge(&value)) {
                refused.push(FieldError {
                    field: key.escape_debug().to_string(),
                    message: e.text(),
                });
            }
        }
        if !refused.is_empty() {
            return Err(ApiError::Validation(refused));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let field = e.path().to_string();
            ApiError::Validation(vec![FieldError {
                field: if field == "." { String::new() } else { field },
                message: Text::verbatim(e.into_inner().to_string()),
            }])
        })
    }
}

/// Path parameters; one that does not parse (`/api/orders/abc`) is a 404.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| ApiError::NotFound("resource".into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_are_dropped() {
        assert_eq!(
            super::without_position("missing field `items` at line 1 column 2"),
            "missing field `items`"
        );
        assert_eq!(super::without_position("invalid type"), "invalid type");
    }

    #[test]
    fn refused_strings_are_named_by_their_path() {
        let body = serde_json::json!({
            "customer": { "name": "Zoé\u{0}", "address": "1 rue\r\n75001 Paris" },
            "items": [{ "sku": "ok" }, { "sku": "\u{1b}[2J" }],
            "k\u{7}": 1,
            "note": "tab\tis for the field to decide"
        });
        let mut out = Vec::new();
        super::edge_refusals(&body, &mut String::new(), &mut out);
        let fields: Vec<&str> = out.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["customer.name", "items[1].sku", "k\\u{7}"]);
        assert_eq!(
            out[0].message.in_lang(crate::i18n::Lang::En),
            "control character U+0000 refused"
        );
    }
}
