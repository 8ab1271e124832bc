//! One PgBouncer (Debian's `pgbouncer`) per test process, in transaction mode,
//! in front of the tests' PostgreSQL: the `pgbouncer` tests of
//! [`on_all_backends!`](crate::on_all_backends) run there. Its pools are
//! small (4 server connections per database), so that the clients of one
//! test really share server connections. A watchdog stops it and removes its
//! directory when the test process has gone.

use std::future::Future;
use std::io::Read;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::db::postgres_admin_url;

/// Where the program is (Debian's package).
const PROGRAM: &str = "/usr/sbin/pgbouncer";
/// Server connections per database (and user): fewer than a store's pool.
pub const POOL_SIZE: usize = 4;

pub struct PgBouncer {
    pub port: u16,
    /// The watchdog shell; it ends after this process.
    _watchdog: std::process::Child,
}

tokio::task_local! {
    static THROUGH: ();
}

/// Runs `test` with its [`TestDb`](super::TestDb)s on PostgreSQL reached
/// through PgBouncer (the tests' own SQL still goes straight to PostgreSQL).
pub async fn through<F: Future>(test: F) -> F::Output {
    running();
    THROUGH.scope((), test).await
}

/// Whether the current test runs through PgBouncer.
pub fn active() -> bool {
    THROUGH.try_with(|_| ()).is_ok()
}

/// The process's PgBouncer, started on first use.
pub fn running() -> &'static PgBouncer {
    static BOUNCER: OnceLock<PgBouncer> = OnceLock::new();
    BOUNCER.get_or_init(PgBouncer::start)
}

impl PgBouncer {
    /// `database` on the tests' PostgreSQL, through PgBouncer.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{}@127.0.0.1:{}/{database}", upstream().user, self.port)
    }

    fn start() -> PgBouncer {
        assert!(
            std::path::Path::new(PROGRAM).exists(),
            "{PROGRAM} missing: the PgBouncer tests need Debian's pgbouncer (apt-get install pgbouncer)"
        );
        let dir = tempfile::Builder::new()
            .prefix("comptoir-pgbouncer-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let up = upstream();
        let port = free_port();
        let config = dir.join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n\
                 * = host={host} port={up_port} user={user}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = any\n\
                 pool_mode = transaction\n\
                 default_pool_size = {POOL_SIZE}\n\
                 max_client_conn = 5000\n\
                 server_login_retry = 1\n\
                 query_wait_timeout = 60\n\
                 log_connections = 0\n\
                 log_disconnections = 0\n",
                host = up.host,
                up_port = up.port,
                user = up.user,
            ),
        )
        .expect("write pgbouncer.ini");
        // PgBouncer refuses to run as root: it then switches to `postgres`.
        let as_user = if is_root() { "-u postgres" } else { "" };
        // The watchdog: PgBouncer lives as long as this process.
        let script = format!(
            "{PROGRAM} {as_user} '{config}' & b=$!; \
             while [ -d /proc/{me} ] && kill -0 $b 2>/dev/null; do sleep 1; done; \
             kill $b 2>/dev/null; wait $b; rm -rf '{dir}'",
            config = config.display(),
            me = std::process::id(),
            dir = dir.display(),
        );
        let log = std::fs::File::create(dir.join("pgbouncer.log")).expect("log file");
        let watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let mut said = String::new();
                std::fs::File::open(dir.join("pgbouncer.log"))
                    .and_then(|mut f| f.read_to_string(&mut said))
                    .ok();
                panic!("pgbouncer did not listen on port {port}: {said}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        PgBouncer {
            port,
            _watchdog: watchdog,
        }
    }
}

/// The tests' PostgreSQL server, as PgBouncer reaches it.
struct Upstream {
    host: String,
    port: u16,
    user: String,
}

fn upstream() -> Upstream {
    let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_admin_url()).expect("COMPTOIR_TEST_POSTGRES");
    Upstream {
        host: options.get_host().to_string(),
        port: options.get_port(),
        user: options.get_username().to_string(),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}
