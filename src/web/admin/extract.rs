//! `Form` and `Query` for admin pages: a malformed form or query string
//! answers with a readable page (422 / 400) naming the field, not axum's
//! plain-text rejection. Every name and value is held to the input policy's
//! edge rule first ([`crate::input::check_edge`]): NUL or another control
//! character than TAB, CR and LF is refused (422, the field named) before
//! any handler sees it, filters included.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AdminError;
use crate::i18n::Text;
use crate::input;
use crate::text;

/// A form field as the page names it (a form's names are its own, not the
/// domain's: `kind` here may be a job's kind).
fn label(field: &str) -> Text {
    Text::verbatim(field)
}

/// A URL-encoded form (its `_csrf` field was checked by the guard and is
/// ignored here unless the form type names it).
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AdminError::Invalid(text!("formulaire illisible ou trop grand")))?;
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
    for (name, value) in form_urlencoded::parse(bytes) {
        if let Err(e) = input::check_edge(&name).and_then(|()| input::check_edge(&value)) {
            let name: String = name.chars().take(40).collect::<String>().escape_debug().to_string();
            return Err(AdminError::Invalid(
                text!("{field} : {message}")
                    .with("field", label(&name))
                    .with("message", e.text()),
            ));
        }
    }
    REFUSED.with(|r| r.borrow_mut().take());
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        // Our own refusal when a field of ours made it ([`filter_text`]),
        // else serde's words (its own, in English) say what did not fit.
        let why = REFUSED
            .with(|r| r.borrow_mut().take())
            .map(|e| e.text())
            .unwrap_or_else(|| Text::verbatim(inner.to_string()));
        if field.is_empty() || field == "." {
            AdminError::Invalid(text!("formulaire invalide : {message}").with("message", why))
        } else {
            AdminError::Invalid(
                text!("{field} : {message}")
                    .with("field", label(&field))
                    .with("message", why),
            )
        }
    })
}

thread_local! {
    /// The input policy's refusal of a field being decoded, so that [`decode`]
    /// says it in the reader's language (serde carries only a string). Decoding
    /// is synchronous: set and read on the same thread, within one call.
    static REFUSED: std::cell::RefCell<Option<input::TextError>> = const { std::cell::RefCell::new(None) };
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

/// For filters typed in a list's form (a search, a kind, an actor…): one
/// line of at most [`input::FILTER_MAX`] characters, trimmed; blank is
/// `None`. `#[serde(default, deserialize_with = "filter_text")]`.
pub fn filter_text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match text.as_deref().map(|t| input::single_line(t, input::FILTER_MAX)) {
        None => Ok(None),
        Some(Ok(t)) if t.is_empty() => Ok(None),
        Some(Ok(t)) => Ok(Some(t)),
        Some(Err(e)) => {
            REFUSED.with(|r| *r.borrow_mut() = Some(e.clone()));
            Err(serde::de::Error::custom(e))
        }
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
            Err(AdminError::Invalid(m)) => assert!(m.to_string().starts_with("before"), "{m}"),
            _ => panic!("expected a refusal naming the field"),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct Search {
        #[serde(default, deserialize_with = "filter_text")]
        q: Option<String>,
    }

    #[test]
    fn controls_are_refused_at_the_edge_and_filters_are_one_line() {
        for (query, field) in [
            (&b"state=a%00b"[..], "state"),
            (b"state=%1B%5B2J", "state"),
            (b"st%00ate=x", "st\\0ate"),
        ] {
            match decode::<Filter>(query) {
                Err(AdminError::Invalid(m)) => {
                    assert!(
                        m.to_string().starts_with(&format!("{field} : caractère de contrôle")),
                        "{m}"
                    );
                    assert!(
                        m.in_lang(crate::i18n::Lang::En)
                            .starts_with(&format!("{field}: control character")),
                        "{m:?}"
                    )
                }
                other => panic!("{query:?}: expected a refusal, got {other:?}"),
            }
        }
        assert_eq!(decode::<Search>(b"q=+Zo%C3%A9+").unwrap().q.as_deref(), Some("Zoé"));
        assert_eq!(decode::<Search>(b"q=+").unwrap().q, None);
        for bad in [&b"q=a%0Ab"[..], b"q=a%0Db", b"q=a%E2%80%AEb", b"q=a%09b"] {
            match decode::<Search>(bad) {
                Err(AdminError::Invalid(m)) => assert!(m.to_string().starts_with("q : "), "{m}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let long = format!("q={}", "a".repeat(input::FILTER_MAX + 1));
        assert!(decode::<Search>(long.as_bytes()).is_err());
    }
}
