//! A fresh, migrated database for each test, on either backend, and the
//! test's own directory: both removed when the test ends, pass or fail. A
//! failing test run with `COMPTOIR_TEST_KEEP=1` keeps them and says where.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use comptoir::store::{Store, StoreOptions};
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The server tests make their PostgreSQL databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("COMPTOIR_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// True while a failing test unwinds with `COMPTOIR_TEST_KEEP=1`: what it
/// made is then kept for a look, instead of removed.
pub fn keep_failed() -> bool {
    std::thread::panicking() && std::env::var("COMPTOIR_TEST_KEEP").is_ok_and(|v| v == "1")
}

/// A temporary directory, removed on drop unless [`keep_failed`].
pub struct TestDir(tempfile::TempDir);

impl TestDir {
    pub fn new() -> TestDir {
        TestDir::with_prefix("comptoir-t-")
    }

    pub fn with_prefix(prefix: &str) -> TestDir {
        TestDir(tempfile::Builder::new().prefix(prefix).tempdir().expect("temp dir"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if keep_failed() {
            self.0.disable_cleanup(true);
            eprintln!("COMPTOIR_TEST_KEEP: kept the directory {}", self.path().display());
        }
    }
}

/// A database of its own for one test: on PostgreSQL `comptoir_t_*` (dropped
/// when the test ends), on SQLite a file in `dir`.
///
/// In a test run [through PgBouncer](super::pgbouncer::through), `store`
/// (and `other_store`, and the processes given [`TestDb::app_url`] and
/// [`TestDb::app_env`]) reach it through PgBouncer in transaction mode,
/// migrating straight to PostgreSQL; `url` stays PostgreSQL itself, for the
/// test's own SQL.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub store: Store,
    pub dir: TestDir,
    /// The database through PgBouncer, when the test runs there.
    pub pooled_url: Option<String>,
    /// Last, so that it is dropped after everything else.
    _postgres: Option<PgDatabase>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

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
        let dir = TestDir::new();
        let mut postgres = None;
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}/comptoir.db", dir.path().display()),
            Backend::Postgres => {
                let database = PgDatabase::create(admin).await;
                let url = database.url();
                postgres = Some(database);
                url
            }
        };
        let pooled_url = match &postgres {
            Some(database) if super::pgbouncer::active() && admin == postgres_admin_url() => {
                Some(super::pgbouncer::running().url(&database.name))
            }
            _ => None,
        };
        let store = connect(
            pooled_url.as_deref().unwrap_or(&url),
            &options(&url, pooled_url.as_deref()),
        )
        .await;
        if let Some(database) = postgres.as_mut() {
            database.store = Some(store.clone());
        }
        TestDb {
            backend,
            url,
            store,
            dir,
            pooled_url,
            _postgres: postgres,
        }
    }

    /// The URL the application uses: PgBouncer's when the test runs there.
    pub fn app_url(&self) -> &str {
        self.pooled_url.as_deref().unwrap_or(&self.url)
    }

    /// The environment a `comptoir-*` process needs beside [`TestDb::app_url`]:
    /// behind PgBouncer, the pooler setting and the direct URL to migrate on.
    pub fn app_env(&self) -> Vec<(&'static str, String)> {
        match &self.pooled_url {
            Some(_) => vec![
                (comptoir::store::POOLER_ENV, "transaction".to_string()),
                (comptoir::store::DIRECT_URL_ENV, self.url.clone()),
            ],
            None => Vec::new(),
        }
    }

    /// What `store` was connected with.
    pub fn store_options(&self) -> StoreOptions {
        options(&self.url, self.pooled_url.as_deref())
    }

    /// Today by the database clock (which decides what "today" is for the application).
    pub async fn today(&self) -> chrono::NaiveDate {
        self.store.now().await.expect("the database clock").date_naive()
    }

    /// Another handle on the same database, as another process would have.
    pub async fn other_store(&self) -> Store {
        connect(self.app_url(), &self.store_options()).await
    }
}

/// A PostgreSQL database made for a test, dropped (`WITH (FORCE)`, after its
/// pool is closed) when this guard is, unless [`keep_failed`].
struct PgDatabase {
    admin: String,
    name: String,
    store: Option<Store>,
}

impl PgDatabase {
    async fn create(admin: &str) -> PgDatabase {
        let name = format!(
            "comptoir_t_{}_{}_{:04x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            fastrand::u16(..)
        );
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .expect("PostgreSQL reachable (start it, or set COMPTOIR_TEST_POSTGRES)");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        PgDatabase {
            admin: admin.to_string(),
            name,
            store: None,
        }
    }

    fn url(&self) -> String {
        let base = self.admin.rsplit_once('/').map_or(self.admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if keep_failed() {
            eprintln!("COMPTOIR_TEST_KEEP: kept the database {}", self.url());
            return;
        }
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // The pool is closed first where the test's runtime can still drive
        // its connections (see `run_aside`).
        let store = self.store.take().filter(|_| on_multi_thread_runtime());
        let dropped = run_aside(drop_database(admin, name.clone(), store));
        match dropped {
            Ok(()) => {}
            Err(e) if std::thread::panicking() => eprintln!("could not drop the test database {name}: {e}"),
            Err(e) => panic!("could not drop the test database {name}: {e}"),
        }
    }
}

/// Closes the pool of `store` (in-flight queries finish first; a connection
/// held for good, as by a worker still running, is cut by FORCE), then drops
/// the database.
async fn drop_database(admin: String, name: String, store: Option<Store>) -> Result<(), sqlx::Error> {
    if let Some(store) = store {
        let _ = tokio::time::timeout(Duration::from_secs(5), store.close()).await;
    }
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::Executor::execute(&mut conn, statement.as_str()).await?;
    conn.close().await
}

fn on_multi_thread_runtime() -> bool {
    tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// Runs `work` to completion from synchronous code (a `Drop`) inside or
/// outside a runtime: on a multi-thread runtime in place (its other workers
/// keep driving the test's connections), else on a thread of its own with
/// its own runtime.
fn run_aside<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    if on_multi_thread_runtime() {
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| handle.block_on(work))
    } else {
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(work)
        })
        .join()
        .expect("the clean-up thread")
    }
}

async fn database_exists(admin: &str, name: &str) -> bool {
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&mut conn)
        .await
        .expect("pg_database");
    count > 0
}

/// Makes a database on each backend (with a second handle and a query in
/// flight on PostgreSQL), drops it, and checks that nothing is left.
async fn check_nothing_is_left() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend).await;
        let other = db.other_store().await;
        other.ping().await.expect("the second handle works");
        let dir = db.dir.path().to_path_buf();
        let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
        assert!(dir.exists());
        if backend == Backend::Postgres {
            assert!(database_exists(&postgres_admin_url(), &name).await, "{name} made");
        }
        drop(db);
        assert!(!dir.exists(), "{} removed", dir.display());
        if backend == Backend::Postgres {
            assert!(!database_exists(&postgres_admin_url(), &name).await, "{name} dropped");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_left_after_a_test_on_a_multi_thread_runtime() {
    check_nothing_is_left().await;
}

#[tokio::test]
async fn nothing_is_left_after_a_test_on_a_current_thread_runtime() {
    check_nothing_is_left().await;
}

/// The key that signs the livre de recettes in every test, and in every
/// process a test starts (`COMPTOIR_BOOK_KEY`): one per test run, so that
/// lines written in the test and by its processes verify alike.
pub fn book_key_path() -> &'static Path {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("comptoir-test-book-key-{}", std::process::id()));
        comptoir::billing::seal::BookKey::load_or_create(&dir, None).expect("the tests' book key");
        dir.join(comptoir::billing::seal::KEY_FILE)
    })
}

/// Through PgBouncer in transaction mode when `pooled` is given (migrating on
/// `direct`), else straight (ignoring the environment's pooler setting).
fn options(direct: &str, pooled: Option<&str>) -> StoreOptions {
    match pooled {
        Some(_) => StoreOptions::transaction_pooler(Some(direct.to_string())),
        None => StoreOptions::default(),
    }
}

async fn connect(url: &str, options: &StoreOptions) -> Store {
    with_book_key(Store::connect_with(url, options).await.expect("connect"))
}

/// `store` signing with the tests' book key.
fn with_book_key(store: Store) -> Store {
    let (key, _) = comptoir::billing::seal::BookKey::load_or_create(Path::new("/nonexistent"), Some(book_key_path()))
        .expect("the tests' book key");
    comptoir::billing::seal::attach(&store, key)
}
