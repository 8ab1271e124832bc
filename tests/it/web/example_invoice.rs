//! `scripts/example-invoice` against a real `comptoir-web` (its own process,
//! embedded worker, SQLite): the operator is created and an API key printed
//! by the command line, then the script — curl and a POSIX shell only — sets
//! the seller, creates a business customer, issues an invoice with a goods
//! and a services line, records a transfer paying it, issues a partial credit
//! note and writes both PDFs. (The Factur-X validation of those files is
//! added with the Factur-X writer.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::pdf::pdf_text;
use crate::support::{Backend, TestDb};

const WEB: &str = env!("CARGO_BIN_EXE_comptoir-web");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/example-invoice");

/// The process, killed when dropped; its stderr printed if the test fails.
struct Web {
    child: std::process::Child,
    stderr: PathBuf,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- comptoir-web stderr ---\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
        }
    }
}

fn command(program: &str, db: &TestDb) -> Command {
    let mut command = Command::new(program);
    command.env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path());
    command
        .env("DATABASE_URL", &db.url)
        .env("COMPTOIR_DATA_DIR", db.dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .env_remove("COMPTOIR_ADMIN_PASSWORD")
        .current_dir(db.dir.path());
    command
}

async fn start(db: &TestDb) -> (Web, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let stderr = db.dir.path().join("web.stderr");
    let child = command(WEB, db)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("spawn comptoir-web");
    let web = Web { child, stderr };
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status().is_success() {
                return (web, base);
            }
        }
        assert!(Instant::now() < deadline, "comptoir-web never answered /healthz");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn run(mut command: Command) -> String {
    let out = command.stdin(Stdio::null()).output().expect("run");
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pdfs_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("OUT_DIR")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_example_script_invoices_credits_and_writes_both_pdfs() {
    let db = TestDb::new(Backend::Sqlite).await;
    let (web, base) = start(&db).await;

    let mut create = command(WEB, &db);
    create
        .args(["admin", "create", "--email", "script@example.fr", "--name", "Script"])
        .env("COMPTOIR_ADMIN_PASSWORD", "correct horse battery staple");
    run(create);
    let mut key = command(WEB, &db);
    key.args([
        "admin",
        "api-key",
        "create",
        "--email",
        "script@example.fr",
        "--name",
        "example",
    ]);
    let key = run(key);
    assert!(key.starts_with("ck_"), "{key}");

    let out = db.dir.path().join("out");
    let mut script = Command::new("sh");
    script.arg(SCRIPT).args([&base, &key]).arg(&out);
    let said = run(script);
    assert!(said.contains("seller set"), "{said}");

    let files = pdfs_in(&out);
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("AV") && names[1].starts_with('F'), "{names:?}");
    for file in &files {
        let bytes = std::fs::read(file).expect("the PDF");
        assert!(bytes.starts_with(b"%PDF-"), "{file:?} is not a PDF");
        let text = pdf_text(&bytes);
        assert!(text.contains("Atelier Dupré SARL"), "{text}");
        let name = file.file_name().unwrap().to_string_lossy();
        let verdict = crate::support::pdf::facturx_check(&bytes, &name, true);
        assert!(verdict.pass, "{name}: {}", verdict.output);
    }
    let invoice = pdf_text(&std::fs::read(&files[1]).unwrap());
    assert!(invoice.contains("Carnet d'exercices"), "{invoice}");
    assert!(invoice.contains("Atelier d'écriture"), "{invoice}");
    let credit_note = pdf_text(&std::fs::read(&files[0]).unwrap());
    assert!(
        credit_note.contains(names[1].trim_end_matches(".pdf")),
        "the credited invoice is cited: {credit_note}"
    );

    // Run again: the seller is kept, a second sale is made.
    let mut again = Command::new("sh");
    again.arg(SCRIPT).args([&base, &key]).arg(&out);
    let said = run(again);
    assert!(!said.contains("seller set"), "{said}");
    assert_eq!(pdfs_in(&out).len(), 4);
    drop(web);
}
