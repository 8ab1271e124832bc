//! Sign-in throttling, kept in the database so that it holds across web
//! processes and restarts.
//!
//! An attempt is counted BEFORE its password is checked: one transaction
//! locks the e-mail and the address (PostgreSQL advisory locks; SQLite's
//! `BEGIN IMMEDIATE`), counts the window and records the attempt, or refuses
//! it. Of any number of simultaneous attempts for one e-mail, at most 5 reach
//! the password check within 15 minutes; of those from one address, 20.
//!
//! Attempts go to lanes, so that the lock an attacker triggers is not the
//! operator's: a browser holding a valid device cookie of the e-mail (given
//! at its last successful sign-in) is counted on its own, not by the
//! e-mail-wide and address counters. A success clears only the attempts of
//! its own lane for its own e-mail: the operator signing in from a trusted
//! browser does not unlock the attacker's lane, and nobody's success lowers
//! the count of an address.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::sql;
use super::AuthError;
use crate::store::{Store, Tx};

pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 20;
pub const MAX_FAILURES_PER_DEVICE: i64 = 5;
/// "Mot de passe oublié ?" requests per e-mail (each sends a link).
pub const MAX_LINK_REQUESTS_PER_EMAIL: i64 = 3;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The counter an attempt goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A sign-in without a valid device cookie: 5 per e-mail, 20 per address.
    Password,
    /// A sign-in from a browser with a valid device cookie of the e-mail
    /// (the device's id): 5 per device, and no other counter.
    Device(i64),
    /// A request for an e-mailed sign-in link: 3 per e-mail, 20 per address.
    Link,
}

impl Lane {
    /// How the lane is stored (`signin_attempts.lane`).
    pub fn key(self) -> String {
        match self {
            Lane::Password => "password".into(),
            Lane::Device(id) => format!("device:{id}"),
            Lane::Link => "link".into(),
        }
    }

    /// (per e-mail, per address).
    fn limits(self) -> (i64, Option<i64>) {
        match self {
            Lane::Password => (MAX_FAILURES_PER_EMAIL, Some(MAX_FAILURES_PER_IP)),
            Lane::Device(_) => (MAX_FAILURES_PER_DEVICE, None),
            Lane::Link => (MAX_LINK_REQUESTS_PER_EMAIL, Some(MAX_FAILURES_PER_IP)),
        }
    }
}

/// An attempt let through and recorded: until [`Admitted::succeeded`], its
/// row counts as a failure.
#[derive(Debug)]
pub struct Admitted {
    email: String,
    lane: Lane,
}

impl Admitted {
    /// Clears the attempts of this lane for this e-mail (this one included).
    pub async fn succeeded(self, store: &Store) -> Result<(), AuthError> {
        sql::signin::clear_attempts(store, &self.email, &self.lane.key()).await?;
        Ok(())
    }
}

fn window() -> chrono::Duration {
    chrono::Duration::from_std(THROTTLE_WINDOW).unwrap_or_else(|_| chrono::Duration::minutes(15))
}

/// Counts the attempt, or refuses it when its lane is full; `email` is
/// already normalised.
#[tracing::instrument(skip(store))]
pub async fn admit(store: &Store, email: &str, ip: &str, lane: Lane) -> Result<Admitted, AuthError> {
    let mut tx = store.begin().await?;
    let admitted = admit_in(&mut tx, email, ip, lane).await?;
    tx.commit().await?;
    Ok(admitted)
}

/// [`admit`] inside the caller's transaction, which must commit for the
/// attempt to count (and holds the lock until it ends).
pub(crate) async fn admit_in(tx: &mut Tx, email: &str, ip: &str, lane: Lane) -> Result<Admitted, AuthError> {
    let (per_email, per_ip) = lane.limits();
    let key = lane.key();
    sql::signin::lock_attempts(tx, email, per_ip.map(|_| ip)).await?;
    let now = Utc::now();
    let w = sql::signin::attempts_window(tx, email, ip, &key, now - window()).await?;
    let mut free_at: Option<DateTime<Utc>> = None;
    let mut full = |count: i64, limit: i64, oldest: Option<DateTime<Utc>>| {
        if count >= limit {
            let at = oldest.unwrap_or(now) + window();
            free_at = Some(free_at.map_or(at, |f| f.max(at)));
        }
    };
    full(w.by_email, per_email, w.oldest_by_email);
    if let Some(limit) = per_ip {
        full(w.by_ip, limit, w.oldest_by_ip);
    }
    if let Some(free_at) = free_at {
        let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
        tracing::warn!(email, ip, lane = %key, by_email = w.by_email, by_ip = w.by_ip, "sign-in throttled");
        return Err(AuthError::Throttled { retry_after_secs });
    }
    sql::signin::insert_attempt(tx, email, ip, &key, now).await?;
    Ok(Admitted {
        email: email.to_string(),
        lane,
    })
}

#[cfg(test)]
mod tests {
    use super::Lane;

    #[test]
    fn lanes_are_stored_apart() {
        assert_eq!(Lane::Password.key(), "password");
        assert_eq!(Lane::Device(7).key(), "device:7");
        assert_eq!(Lane::Link.key(), "link");
        assert_eq!(
            Lane::Device(7).limits(),
            (5, None),
            "a device is not counted by address"
        );
    }
}
