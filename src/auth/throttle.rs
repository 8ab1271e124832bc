//! Sign-in throttling, kept in the database so that it holds across web
//! processes and restarts: after 5 failures for one e-mail, or 20 from one
//! address, within 15 minutes, sign-ins are refused until the window frees.

use std::time::Duration;

use chrono::Utc;

use super::AuthError;
use crate::store::{access, Store};

pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 20;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The throttle of one sign-in attempt.
pub struct Throttle<'a> {
    pub email: &'a str,
    pub ip: &'a str,
}

impl Throttle<'_> {
    /// Refuses when too many failures are recent.
    pub async fn check(&self, store: &Store) -> Result<(), AuthError> {
        let window = chrono::Duration::from_std(THROTTLE_WINDOW).unwrap_or_else(|_| chrono::Duration::minutes(15));
        let now = Utc::now();
        let (by_email, by_ip, oldest) = access::signin_failures(store, self.email, self.ip, now - window).await?;
        if by_email < MAX_FAILURES_PER_EMAIL && by_ip < MAX_FAILURES_PER_IP {
            return Ok(());
        }
        let free_at = oldest.unwrap_or(now) + window;
        let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
        tracing::warn!(email = self.email, ip = self.ip, by_email, by_ip, "sign-in throttled");
        Err(AuthError::Throttled { retry_after_secs })
    }

    pub async fn failed(&self, store: &Store) -> Result<(), AuthError> {
        Ok(access::record_signin_failure(store, self.email, self.ip).await?)
    }

    pub async fn succeeded(&self, store: &Store) -> Result<(), AuthError> {
        Ok(access::clear_signin_failures(store, self.email).await?)
    }
}
