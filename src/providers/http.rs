//! What the HTTP adapters share: the client, transport errors, safe path segments.

use std::time::Duration;

use reqwest::StatusCode;

use super::config::ConfigError;
use super::ProviderError;

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("comptoir/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError(format!("cannot build the HTTP client: {e}")))
}

/// A request that got no HTTP answer. Nothing tells whether the provider acted on it, so it
/// is retried with the same idempotency key.
pub(crate) fn transport_error(provider: &str, what: &str, err: reqwest::Error) -> ProviderError {
    if err.is_builder() {
        return ProviderError::Permanent(format!("{provider}: cannot build the request to {what}: {err}"));
    }
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    ProviderError::Transient(format!("{provider}: {what} {kind}: {err}"))
}

/// 5xx, 429 and 408 are worth retrying; the rest of 4xx is not.
pub(crate) fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT
}

/// Provider ids go into URL paths: only letters, digits, `_` and `-`.
pub(crate) fn path_segment<'a>(provider: &str, what: &str, id: &'a str) -> Result<&'a str, ProviderError> {
    let ok =
        !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(ProviderError::Permanent(format!(
            "{provider}: {id:?} is not a valid {what}"
        )))
    }
}

pub(crate) fn check_key(provider: &str, key: &str, max: usize) -> Result<(), ProviderError> {
    if key.trim().is_empty() || key.len() > max || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ProviderError::Permanent(format!(
            "{provider}: the idempotency key must be 1 to {max} visible ASCII characters, not {key:?}"
        )));
    }
    Ok(())
}

pub(crate) fn trim_base(base: &str) -> String {
    base.trim().trim_end_matches('/').to_string()
}

/// Cuts `text` to at most `max` characters (providers refuse longer fields).
pub(crate) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
