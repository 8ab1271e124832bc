//! `Json`, `Query` and `Path` for the API: a body, query string or path that
//! does not fit answers 422 (400 for what is not JSON at all) with the field
//! at fault, never axum's plain-text rejection.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{ApiError, FieldError};

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
            return Err(ApiError::BadRequest("expected Content-Type: application/json".into()));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::BadRequest("the body could not be read (too large?)".into()))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
            } else {
                ApiError::Validation(vec![FieldError {
                    field: if field == "." { String::new() } else { field },
                    message: without_position(&inner.to_string()),
                }])
            }
        })?;
        de.end()
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        Ok(Json(value))
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
            message: without_position(&e.into_inner().to_string()),
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
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let field = e.path().to_string();
            ApiError::Validation(vec![FieldError {
                field: if field == "." { String::new() } else { field },
                message: e.into_inner().to_string(),
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
}
