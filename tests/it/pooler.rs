//! What only a store behind PgBouncer in transaction mode does: no session
//! state (no LISTEN, the drain lock a leased row), prepared statements that
//! never meet another client's, and the tests' PgBouncer really sharing its
//! server connections. The conformance suite and the worker processes run
//! through it too (`<area>::pgbouncer::…`).

use std::time::Duration;

use comptoir::store::{Pooler, Store, StoreOptions};
use sqlx::Connection;

use crate::support::pgbouncer::{self, through};
use crate::support::{eventually, Backend, TestDb};

const LIVENESS: Duration = Duration::from_secs(30);

async fn direct(db: &TestDb) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&db.url).await.expect("connect")
}

async fn drain_row(db: &TestDb) -> Option<(String, bool)> {
    sqlx::query_as("SELECT holder, expires_at > now() FROM comptoir_locks WHERE name = 'drain'")
        .fetch_optional(&mut direct(db).await)
        .await
        .expect("comptoir_locks")
}

async fn lease_end(db: &TestDb) -> chrono::DateTime<chrono::Utc> {
    sqlx::query_scalar("SELECT expires_at FROM comptoir_locks WHERE name = 'drain'")
        .fetch_one(&mut direct(db).await)
        .await
        .expect("expires_at")
}

/// The control: two plain sqlx clients through the tests' PgBouncer collide
/// on their first prepared statement's name, as the store's own would
/// without its discipline. (If PgBouncer stopped sharing server connections,
/// the `pgbouncer` tests would prove nothing: this fails first.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_clients_collide_through_the_tests_pgbouncer() {
    through(async {
        let db = TestDb::new(Backend::Postgres).await;
        let url = db.pooled_url.clone().expect("through PgBouncer");
        // sqlx's defaults, but for the startup parameter PgBouncer 1.18 refuses.
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("URL")
            .extra_float_digits(None);
        let mut a = sqlx::PgConnection::connect_with(&options).await.expect("connect a");
        let mut b = sqlx::PgConnection::connect_with(&options).await.expect("connect b");
        let one: i32 = sqlx::query_scalar("SELECT $1::int")
            .bind(1)
            .fetch_one(&mut a)
            .await
            .expect("a's first statement");
        assert_eq!(one, 1);
        // PgBouncer lends b the server connection a just left (LIFO), where
        // a's `sqlx_s_1` still is.
        let refused = sqlx::query_scalar::<_, i32>("SELECT $1::int + 1")
            .bind(1)
            .fetch_one(&mut b)
            .await
            .expect_err("b's first statement should meet a's on the shared server connection");
        assert!(refused.to_string().contains("already exists"), "{refused}");
    })
    .await
}

/// Two stores through PgBouncer, each with more connections than PgBouncer
/// has server connections, read and write at once without ever meeting the
/// other's prepared statements.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_share_server_connections_without_meeting() {
    through(async {
        let db = TestDb::new(Backend::Postgres).await;
        let other = db.other_store().await;
        let mut tasks = tokio::task::JoinSet::new();
        for (n, store) in [db.store.clone(), other]
            .into_iter()
            .cycle()
            .take(4 * pgbouncer::POOL_SIZE)
            .enumerate()
        {
            tasks.spawn(async move {
                for i in 0..25 {
                    let mut tx = store.begin().await?;
                    comptoir::jobs::enqueue(
                        &mut tx,
                        &comptoir::jobs::Noop::default(),
                        comptoir::jobs::EnqueueOptions::default(),
                    )
                    .await
                    .map_err(|e| comptoir::store::StoreError::Database(format!("task {n}, {i}: {e}")))?;
                    tx.commit().await?;
                    store.now().await?;
                    store
                        .list_jobs(&comptoir::jobs::JobFilter {
                            limit: 10,
                            ..Default::default()
                        })
                        .await?;
                }
                Ok::<(), comptoir::store::StoreError>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task").expect("no statement met another client's");
        }
        let jobs = db
            .store
            .list_jobs(&comptoir::jobs::JobFilter {
                limit: 1_000,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(jobs.len(), 4 * pgbouncer::POOL_SIZE * 25);
    })
    .await
}

/// Behind PgBouncer the store keeps no session: no LISTEN (idle workers poll
/// every 500ms), and the drain lock is a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_session_state_behind_pgbouncer() {
    through(async {
        let db = TestDb::new(Backend::Postgres).await;
        assert_eq!(db.store.pooler(), Pooler::Transaction);
        assert!(db.store.spawn_listener().await.expect("listener").is_none());
        assert_eq!(db.store.default_poll_interval(), Duration::from_millis(500));
        let guard = db.store.try_exclusive("drain").await.expect("lock").expect("free");
        let (holder, live) = drain_row(&db).await.expect("the lock is a row");
        assert!(
            holder.contains(&format!(":{}:", std::process::id())) && live,
            "{holder}"
        );
        guard.release().await.expect("release");
        assert_eq!(drain_row(&db).await, None);

        // Straight to PostgreSQL, the same database has a listener and no row.
        let straight = Store::connect_with(&db.url, &StoreOptions::default())
            .await
            .expect("connect");
        assert_eq!(straight.pooler(), Pooler::None);
        let listener = straight.spawn_listener().await.expect("listener").expect("LISTEN");
        listener.abort();
        let guard = straight.try_exclusive("drain").await.expect("lock").expect("free");
        assert_eq!(drain_row(&db).await, None);
        drop(guard);
        straight.close().await;
    })
    .await
}

/// The leased row: refused while a holder's lease runs (even a holder long
/// gone), taken over once it has run out, renewed while held, deleted on
/// release or drop, and a release never deletes another holder's row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_drain_lock_is_a_lease() {
    through(async {
        let db = TestDb::new(Backend::Postgres).await;
        let other = db.other_store().await;
        let mut conn = direct(&db).await;
        sqlx::raw_sql(
            "INSERT INTO comptoir_locks (name, holder, expires_at) VALUES ('drain', 'gone:1:0', now() + interval '1 hour')",
        )
        .execute(&mut conn)
        .await
        .expect("a dead holder's row");
        assert!(db.store.try_exclusive("drain").await.expect("try").is_none(), "taken under a running lease");

        sqlx::raw_sql("UPDATE comptoir_locks SET expires_at = now() - interval '1 second'")
            .execute(&mut conn)
            .await
            .expect("the lease runs out");
        let first = db.store.try_exclusive("drain").await.expect("try").expect("taken over");
        let (holder, _) = drain_row(&db).await.expect("row");
        assert!(holder.contains(&format!(":{}:", std::process::id())), "{holder}");
        assert!(other.try_exclusive("drain").await.expect("try").is_none(), "two holders");

        // Renewed while held.
        let before = lease_end(&db).await;
        let renewed = eventually(LIVENESS, || async { lease_end(&db).await > before }).await;
        assert!(renewed, "never renewed past {before}");

        // Another holder's release leaves the row alone.
        sqlx::raw_sql("UPDATE comptoir_locks SET holder = 'someone:2:0'")
            .execute(&mut conn)
            .await
            .expect("someone else's now");
        first.release().await.expect("release");
        assert_eq!(drain_row(&db).await.map(|r| r.0), Some("someone:2:0".to_string()));
        sqlx::raw_sql("DELETE FROM comptoir_locks").execute(&mut conn).await.expect("gone");

        let second = other.try_exclusive("drain").await.expect("try").expect("free");
        drop(second);
        let released = eventually(LIVENESS, || async { drain_row(&db).await.is_none() }).await;
        assert!(released, "a dropped guard's row is deleted");
        assert!(db.store.try_exclusive("drain").await.expect("try").is_some());
    })
    .await
}

/// Behind PgBouncer without a direct URL, a store runs on a migrated
/// database but refuses to migrate one that is not, saying how.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_need_the_direct_url() {
    through(async {
        let migrated = TestDb::new(Backend::Postgres).await;
        let url = migrated.pooled_url.clone().expect("through PgBouncer");
        let store = Store::connect_with(&url, &StoreOptions::transaction_pooler(None))
            .await
            .expect("connect");
        assert_eq!(store.migrate().await.expect("nothing to do"), Vec::<i64>::new());
        store.close().await;

        let empty = TestDb::unmigrated(Backend::Postgres).await;
        let url = empty.pooled_url.clone().expect("through PgBouncer");
        let store = Store::connect_with(&url, &StoreOptions::transaction_pooler(None))
            .await
            .expect("connect");
        let refused = store
            .migrate()
            .await
            .expect_err("migrated through PgBouncer")
            .to_string();
        assert!(
            refused.contains("are pending") && refused.contains(comptoir::store::DIRECT_URL_ENV),
            "{refused}"
        );
        store.close().await;
        assert!(!empty.store.migrate().await.expect("on the direct URL").is_empty());
    })
    .await
}
