//! Device cookies (OWASP's "slow down online guessing attacks with device
//! cookies"): a browser where the operator signed in successfully keeps a
//! cookie for that e-mail, and its sign-ins are throttled per device, not by
//! the e-mail-wide lock that anyone knowing the e-mail can trigger.
//!
//! The cookie is a random 256-bit token and only its SHA-256 is stored, bound
//! to the operator (as sessions are): it cannot be forged, needs no signing
//! key shared by the web processes, and a device unused for 180 days is
//! forgotten.

use std::time::Duration;

use chrono::Utc;

use super::sql;
use super::{random_token, sha256_hex, AuthError};
use crate::store::Store;

pub const DEVICE_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);

fn lifetime() -> chrono::Duration {
    chrono::Duration::from_std(DEVICE_LIFETIME).unwrap_or_else(|_| chrono::Duration::days(180))
}

/// The id of the device of `token`, if it is a live device of the operator
/// with this (normalised) e-mail.
pub(crate) async fn device_for(store: &Store, token: &str, email: &str) -> Result<Option<i64>, AuthError> {
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let since = Utc::now() - lifetime();
    Ok(sql::signin::device_of(store, &sha256_hex(token), email, since).await?)
}

/// A new device of the operator: the token goes in the cookie and nowhere else.
pub(crate) async fn new_device(store: &Store, operator_id: i64) -> Result<String, AuthError> {
    let token = random_token(32);
    let now = Utc::now();
    let id = sql::signin::insert_device(store, operator_id, &sha256_hex(&token), now, now - lifetime()).await?;
    tracing::info!(operator = operator_id, device = id, "device cookie given");
    Ok(token)
}

/// After a success from a known device: keeps it alive.
pub(crate) async fn device_used(store: &Store, id: i64) -> Result<(), AuthError> {
    Ok(sql::signin::touch_device(store, id, Utc::now()).await?)
}
