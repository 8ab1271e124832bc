//! How a [`Store`](super::Store) reaches PostgreSQL: straight, or through a
//! pooler in transaction mode (PgBouncer's `pool_mode = transaction`).
//!
//! Read from the environment by [`Store::connect`](super::Store::connect), as
//! `COMPTOIR_PG_POOL_SIZE` is, so that every binary and command honours them;
//! SQLite ignores them.

use std::str::FromStr;

use super::StoreError;

/// `none` (default), `session` or `transaction`.
pub const POOLER_ENV: &str = "COMPTOIR_PG_POOLER";
/// PostgreSQL itself, bypassing the pooler: where migrations run.
pub const DIRECT_URL_ENV: &str = "COMPTOIR_DIRECT_DATABASE_URL";

/// What stands between the store and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// PostgreSQL itself, or a pooler in session mode (a server connection
    /// per client connection, which behaves the same).
    #[default]
    None,
    /// A pooler in transaction mode: a server connection is lent for one
    /// transaction, so the store keeps no session state (no `LISTEN`, no
    /// session advisory lock, no prepared statement kept between
    /// transactions), and idle workers poll.
    Transaction,
}

impl FromStr for Pooler {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Pooler, StoreError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "session" => Ok(Pooler::None),
            "transaction" => Ok(Pooler::Transaction),
            _ => Err(StoreError::Config(format!(
                "{POOLER_ENV}={value:?}: expected none, session or transaction"
            ))),
        }
    }
}

/// The connection settings beside the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    pub pooler: Pooler,
    /// PostgreSQL itself (not the pooler), where migrations run behind a
    /// pooler in transaction mode: they hold a session lock, which such a
    /// pooler cannot keep. Without it, a store behind such a pooler refuses
    /// to migrate (and says how to), but runs on a migrated database.
    pub direct_url: Option<String>,
}

impl StoreOptions {
    /// Behind a pooler in transaction mode, migrating through `direct_url`.
    pub fn transaction_pooler(direct_url: Option<String>) -> StoreOptions {
        StoreOptions {
            pooler: Pooler::Transaction,
            direct_url,
        }
    }

    /// [`POOLER_ENV`] and [`DIRECT_URL_ENV`]; a bad value is an error.
    pub fn from_env() -> Result<StoreOptions, StoreError> {
        let pooler = match std::env::var(POOLER_ENV) {
            Ok(v) => v.parse()?,
            Err(std::env::VarError::NotPresent) => Pooler::None,
            Err(e) => return Err(StoreError::Config(format!("{POOLER_ENV}: {e}"))),
        };
        let direct_url = std::env::var(DIRECT_URL_ENV)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if let Some(url) = &direct_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(StoreError::Config(format!(
                    "{DIRECT_URL_ENV} {:?}: expected postgres://… (PostgreSQL itself, not the pooler)",
                    super::redact_url(url)
                )));
            }
        }
        Ok(StoreOptions { pooler, direct_url })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooler_values() {
        assert_eq!("transaction".parse::<Pooler>().unwrap(), Pooler::Transaction);
        assert_eq!(" Transaction ".parse::<Pooler>().unwrap(), Pooler::Transaction);
        assert_eq!("session".parse::<Pooler>().unwrap(), Pooler::None);
        assert_eq!("none".parse::<Pooler>().unwrap(), Pooler::None);
        assert_eq!("".parse::<Pooler>().unwrap(), Pooler::None);
        let refused = "statement".parse::<Pooler>().unwrap_err().to_string();
        assert!(
            refused.contains("COMPTOIR_PG_POOLER") && refused.contains("transaction"),
            "{refused}"
        );
    }
}
