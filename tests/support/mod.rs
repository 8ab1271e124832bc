//! Test support: a fresh, migrated database per test on either backend, a
//! macro that runs one test body against both, and the harnesses the areas
//! share (worker, billing fixtures, web app, SMTP, browser, replay servers).

pub mod billing;
pub mod camt;
pub mod cluster;
mod db;
pub mod input;
pub mod pdf;
pub mod pgbouncer;
pub mod providers_replay;
pub mod smtp;
pub mod web;
pub mod webdriver;
pub mod worker;

pub use db::{book_key_path, Backend, TestDb, TestDir};

/// Generates `postgres::name` and `sqlite::name` tests calling `name(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )*
        }
    };
}

/// Generates `pgbouncer::name` tests calling `name(Backend::Postgres)` with
/// the test's databases reached through PgBouncer in transaction mode.
#[macro_export]
macro_rules! through_pgbouncer {
    ($($name:ident),* $(,)?) => {
        mod pgbouncer {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::support::pgbouncer::through(super::$name($crate::support::Backend::Postgres)).await
                }
            )*
        }
    };
}

/// [`on_both_backends!`] and [`through_pgbouncer!`]: `postgres::name`,
/// `sqlite::name` and `pgbouncer::name`.
#[macro_export]
macro_rules! on_all_backends {
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!($($name),*);
        $crate::through_pgbouncer!($($name),*);
    };
}

/// Polls `check` every 50ms until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
