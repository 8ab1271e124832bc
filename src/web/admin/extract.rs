//! `Form` and `Query` for admin pages: a malformed form or query string
//! answers with a readable page (422 / 400) naming the field, not axum's
//! plain-text rejection.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AdminError;

/// A URL-encoded form (its `_csrf` field was checked by the guard and is
/// ignored here unless the form type names it).
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|_| {
            AdminError::Invalid("formulaire illisible ou trop grand / unreadable or too large form".into())
        })?;
        decode(&bytes).map(Form)
    }
}

/// The query string, decoded.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        decode(parts.uri.query().unwrap_or("").as_bytes()).map(Query)
    }
}

/// Path parameters; one that does not parse (`/admin/jobs/abc`) is a 404 page.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| AdminError::NotFound)
    }
}

/// URL-encoded text into `T`, naming the field that does not fit.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        if field.is_empty() || field == "." {
            AdminError::Invalid(format!("formulaire invalide / invalid form: {inner}"))
        } else {
            AdminError::Invalid(format!("{field} : {inner}"))
        }
    })
}

/// For optional form fields: an empty (or blank) value is `None`, anything
/// else must parse. `#[serde(default, deserialize_with = "empty_as_none")]`.
pub fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Filter {
        #[serde(default, deserialize_with = "empty_as_none")]
        before: Option<i64>,
        #[serde(default)]
        state: Option<String>,
    }

    #[test]
    fn empty_fields_are_none_and_bad_ones_are_named() {
        let f: Filter = decode(b"before=&state=running").unwrap();
        assert_eq!(
            f,
            Filter {
                before: None,
                state: Some("running".into())
            }
        );
        let f: Filter = decode(b"before=42").unwrap();
        assert_eq!(f.before, Some(42));
        match decode::<Filter>(b"before=abc") {
            Err(AdminError::Invalid(m)) => assert!(m.starts_with("before"), "{m}"),
            _ => panic!("expected a refusal naming the field"),
        }
    }
}
