//! The house rules that a compiler does not hold, read from the sources:
//!
//! - `src/store/` is the neutral seam (pools, transactions, the `sql!`
//!   macros, migrations, the queue's two drivers): it imports no domain.
//! - SQL is written only in `src/store/` and in each owner's `sql` module
//!   (`billing/sql/`, `auth/sql/`, `audit/sql.rs`, `mail/sql.rs`,
//!   `web/api/idempotency/sql.rs`); domain logic and handlers call functions.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Modules above the seam, which it must never reach for.
const DOMAINS: [&str; 12] = [
    "billing",
    "auth",
    "audit",
    "mail",
    "web",
    "providers",
    "app",
    "context",
    "cli",
    "bench",
    "input",
    "money",
];

#[test]
fn the_store_imports_no_domain() {
    let mut found = Vec::new();
    for file in rust_files(&src().join("store")) {
        let text = std::fs::read_to_string(&file).expect("read");
        for (n, line) in text.lines().enumerate() {
            for domain in DOMAINS {
                if line.contains(&format!("crate::{domain}::")) || line.contains(&format!("crate::{domain};")) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "store/ reaches up into a domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn sql_lives_in_the_store_or_beside_its_owner() {
    let root = src();
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let relative = file.strip_prefix(&root).expect("under src");
        let in_store = relative.starts_with("store");
        let sql_module = relative.file_name().is_some_and(|n| n == "sql.rs")
            || relative.components().any(|c| c.as_os_str() == "sql");
        // The benchmark measures a raw-SQL loop beside the queue, on purpose.
        let bench = relative == Path::new("bench.rs");
        if in_store || sql_module || bench {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for needle in ["sqlx::query", "sql!(", "read!(", "sqlx::raw_sql", "TxInner"] {
            if text.contains(needle) {
                found.push(format!("{} uses {needle}", relative.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside the store and the sql modules:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rules_can_fail() {
    // The needles above do occur where SQL is allowed, so a file that moved
    // out of its sql module would be caught.
    let payments = std::fs::read_to_string(src().join("billing/sql/payments.rs")).expect("read");
    assert!(payments.contains("sql!("));
    let tx = std::fs::read_to_string(src().join("store/tx.rs")).expect("read");
    assert!(
        tx.contains("crate::"),
        "the store names crate paths, so the grep has something to read"
    );
}
