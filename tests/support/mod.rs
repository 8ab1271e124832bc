//! Test support: a fresh, migrated database per test on either backend, and a
//! macro that runs one test body against both.
#![allow(dead_code)]

pub mod billing;
pub mod cluster;
pub mod smtp;
pub mod web;
pub mod webdriver;

use std::sync::atomic::{AtomicU32, Ordering};

use comptoir::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A database of its own for one test. PostgreSQL databases are named
/// `comptoir_t_*` and dropped by `scripts/test` before a run.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub store: Store,
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn postgres_admin_url() -> String {
    std::env::var("COMPTOIR_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let db = TestDb::unmigrated(backend).await;
        db.store.migrate().await.expect("migrate");
        db
    }

    /// An empty database, not migrated: for tests of the migrations.
    pub async fn unmigrated(backend: Backend) -> TestDb {
        TestDb::create(backend, &postgres_admin_url()).await
    }

    /// A database on another PostgreSQL server (e.g. a test's own cluster).
    pub async fn on_postgres(admin: &str) -> TestDb {
        let db = TestDb::create(Backend::Postgres, admin).await;
        db.store.migrate().await.expect("migrate");
        db
    }

    async fn create(backend: Backend, admin: &str) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}/comptoir.db", dir.path().display()),
            Backend::Postgres => {
                let admin = admin.to_string();
                let name = format!(
                    "comptoir_t_{}_{}_{:04x}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    fastrand::u16(..)
                );
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL reachable (start it, or set COMPTOIR_TEST_POSTGRES)");
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin).to_string();
                format!("{base}/{name}")
            }
        };
        let store = Store::connect(&url).await.expect("connect");
        TestDb {
            backend,
            url,
            store,
            dir,
        }
    }

    /// Another handle on the same database, as another process would have.
    pub async fn other_store(&self) -> Store {
        Store::connect(&self.url).await.expect("connect")
    }
}

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
