//! `comptoir-web` as a real process on both backends: health and readiness,
//! the embedded worker, the first start's setup link, clean 404s, SIGTERM.
//!
//! HTTP is spoken by hand over a `TcpStream` (HTTP/1.1, `Connection: close`)
//! to need no client dependency.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::on_both_backends;
use crate::support::worker::{is_state, settles};
use crate::support::{Backend, TestDb};
use comptoir::jobs::{enqueue_now, EnqueueOptions, JobState, Noop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WEB: &str = env!("CARGO_BIN_EXE_comptoir-web");
const LIVENESS: Duration = Duration::from_secs(30);

on_both_backends!(web_serves_and_runs_jobs);

/// The web process; killed when dropped, its stderr printed if the test fails.
struct Web {
    child: tokio::process::Child,
    pid: u32,
    port: u16,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Web {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(s)) => {
                self.status = Some(s);
                s
            }
            Ok(Err(e)) => panic!("waiting for comptoir-web: {e}"),
            Err(_) => panic!("comptoir-web (pid {}) did not exit within {within:?}", self.pid),
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "===== comptoir-web (pid {}, port {}) exited {:?}\n--- stderr ---\n{}",
                self.pid,
                self.port,
                self.status,
                self.stderr()
            );
        }
    }
}

/// A port free a moment ago (the OS picks it; the listener is dropped).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// Starts `comptoir-web` (with its embedded worker) and waits for `/healthz`;
/// picks another port if the chosen one was taken meanwhile.
async fn start_web(db: &TestDb) -> Web {
    for attempt in 0..3 {
        let port = free_port();
        let stderr = db.dir.path().join(format!("web-{attempt}.stderr"));
        let child = tokio::process::Command::new(WEB)
            .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
            .arg("--database-url")
            .arg(&db.url)
            .arg("--data-dir")
            .arg(db.dir.path().join("data"))
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .current_dir(db.dir.path())
            .env("RUST_LOG", child_log())
            .env_remove("DATABASE_URL")
            .env_remove("COMPTOIR_DATA_DIR")
            .env_remove("COMPTOIR_BIND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn comptoir-web");
        let pid = child.id().expect("pid");
        let mut web = Web {
            child,
            pid,
            port,
            stderr,
            status: None,
        };
        let deadline = Instant::now() + LIVENESS;
        loop {
            if let Ok(Some(status)) = web.child.try_wait() {
                web.status = Some(status);
                if web.stderr().contains("cannot listen") {
                    break; // port taken meanwhile: try another
                }
                panic!("comptoir-web exited at start: {status}");
            }
            if let Ok(resp) = get(port, "/healthz").await {
                assert_eq!(resp.status, 200, "{resp:?}");
                return web;
            }
            assert!(Instant::now() < deadline, "comptoir-web never answered /healthz");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("no free port for comptoir-web after 3 tries");
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// `GET path` over a fresh connection.
async fn get(port: u16, path: &str) -> std::io::Result<Response> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))??;
    let text = String::from_utf8_lossy(&raw);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad response: {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let mut response = Response {
        status,
        headers: headers.to_string(),
        body: body.to_string(),
    };
    if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        response.body = dechunk(body).ok_or_else(bad)?;
    }
    Ok(response)
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}

async fn web_serves_and_runs_jobs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut web = start_web(&db).await;
    let port = web.port;

    let health = get(port, "/healthz").await.expect("GET /healthz");
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.json()["status"], "ok", "{health:?}");
    // Not ready until the seller's identity is set: nothing could be invoiced.
    let ready = get(port, "/readyz").await.expect("GET /readyz");
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(
        ready.json()["checks"]["configuration"],
        "billing settings missing",
        "{ready:?}"
    );
    crate::support::billing::save_settings(&db.store).await;
    let ready = get(port, "/readyz").await.expect("GET /readyz");
    assert_eq!(ready.status, 200, "{ready:?}");
    assert_eq!(ready.json()["status"], "ready", "{ready:?}");

    // The embedded worker runs what the library enqueues.
    let id = enqueue_now(
        &db.store,
        &Noop {
            sleep_ms: Some(1),
            ..Noop::default()
        },
        EnqueueOptions::new(),
    )
    .await
    .expect("enqueue")
    .id();
    let (done, job) = settles(&db.store, id, LIVENESS, is_state(JobState::Completed)).await;
    assert!(done, "the embedded worker did not run the job: {job:?}");
    assert_eq!(job.attempt, 1, "{job:?}");
    let by = job.locked_by.clone().unwrap_or_default();
    assert!(
        by.contains(&format!(":{}:", web.pid)),
        "ran by {by}, not by the web process"
    );

    // The root leads to the admin, which wants a signed-in operator.
    let root = get(port, "/").await.expect("GET /");
    assert_eq!(root.status, 303, "{root:?}");
    assert_eq!(root.header("location"), Some("/admin"));
    let admin = get(port, "/admin").await.expect("GET /admin");
    assert_eq!(admin.status, 303, "{admin:?}");
    assert!(admin.header("location").is_some_and(|l| l.starts_with("/admin/login")));
    // No operator yet: the first start printed a one-time link that opens the setup form.
    let stderr = web.stderr();
    let link = stderr
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.contains("/setup/"))
        .unwrap_or_else(|| panic!("no setup link printed:\n{stderr}"));
    let path = &link[link.find("/setup/").unwrap()..];
    let setup = get(port, path).await.expect("GET setup link");
    assert_eq!(setup.status, 200, "{setup:?}");
    assert!(setup.body.contains("premier compte"), "{}", setup.body);

    for (path, json) in [("/nope", false), ("/api/nope", true)] {
        let missing = get(port, path).await.expect("GET a missing page");
        assert_eq!(missing.status, 404, "{missing:?}");
        let kind = if json { "application/json" } else { "text/html" };
        assert!(
            missing.header("content-type").is_some_and(|t| t.starts_with(kind)),
            "{missing:?}"
        );
        if json {
            assert_eq!(missing.json()["error"]["code"], "not_found", "{missing:?}");
        }
        for internal in ["sqlx", "StoreError", "panicked", ".rs:", "RUST_BACKTRACE", "comptoir::"] {
            assert!(
                !missing.body.contains(internal),
                "404 body leaks {internal:?}: {missing:?}"
            );
        }
    }

    // A migration changed since it ran (its recorded checksum no longer
    // matches the embedded file): not ready, and the answer names it.
    let tamper = match backend {
        Backend::Postgres => "UPDATE _sqlx_migrations SET checksum = decode('00', 'hex') WHERE version = 3",
        Backend::Sqlite => "UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 3",
    };
    assert_eq!(crate::support::billing::raw_execute(&db, tamper).await, Ok(1));
    let ready = get(port, "/readyz").await.expect("GET /readyz");
    assert_eq!(ready.status, 503, "{ready:?}");
    assert_eq!(
        ready.json()["reason"],
        "applied migrations changed since they ran",
        "{ready:?}"
    );
    assert_eq!(
        ready.json()["checks"]["migrations"]["changed"],
        serde_json::json!([3]),
        "{ready:?}"
    );

    let asked = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &web.pid.to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = web.wait_exit(LIVENESS * 2).await;
    assert_eq!(
        status.code(),
        Some(0),
        "comptoir-web on SIGTERM: {status}\n{}",
        web.stderr()
    );
    eprintln!(
        "[{backend:?}] comptoir-web exited 0 in {:?} after SIGTERM",
        asked.elapsed()
    );
}

/// Children log warnings only, unless `COMPTOIR_TEST_CHILD_LOG` says otherwise
/// (e.g. `COMPTOIR_TEST_CHILD_LOG=debug` to read a failing test's stderr).
fn child_log() -> String {
    std::env::var("COMPTOIR_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into())
}
