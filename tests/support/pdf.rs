//! PDFs read back as a reader sees them, with pdftotext (poppler-utils).

use std::process::Command;

/// The text of a PDF laid out as on the page (`pdftotext -layout`), its
/// no-break spaces made plain.
pub fn pdf_text(bytes: &[u8]) -> String {
    read(bytes, true)
}

/// The text of a PDF in reading order (`pdftotext` without `-layout`), its
/// no-break spaces made plain.
pub fn pdf_text_flowing(bytes: &[u8]) -> String {
    read(bytes, false)
}

fn read(bytes: &[u8], layout: bool) -> String {
    assert!(
        bytes.starts_with(b"%PDF"),
        "not a PDF: {:?}",
        &bytes[..bytes.len().min(16)]
    );
    let scratch = tempfile::tempdir().expect("temp dir");
    let path = scratch.path().join("read-back.pdf");
    std::fs::write(&path, bytes).expect("write the PDF");
    let mut command = Command::new("pdftotext");
    if layout {
        command.arg("-layout");
    }
    let out = command
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext installed (apt-get install poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("pdftotext prints UTF-8")
        .replace(['\u{a0}', '\u{202f}'], " ")
}

/// The verdict of `scripts/facturx-check` (the Factur-X validator vendored from the shared
/// tools: XSD, EN 16931 Schematron, with `fr_ctc` the French CTC rules, PDF/A markers, fonts).
pub struct FacturxVerdict {
    pub pass: bool,
    /// What it printed: the failed rules one a line, then PASS or FAIL.
    pub output: String,
}

/// Runs the vendored validator on `file` (a PDF or a bare CII XML). Its Python environment is
/// `$FACTURX_CHECK_VENV` when set, else the pre-warmed `~/.cache/facturx-check` when there,
/// else one made under the target directory on first use (PyPI needed once). Panics when the
/// validator cannot run at all: a check that cannot run must fail the test, not skip it.
pub fn facturx_check(bytes: &[u8], file_name: &str, fr_ctc: bool) -> FacturxVerdict {
    let scratch = tempfile::tempdir().expect("temp dir");
    let path = scratch.path().join(file_name);
    std::fs::write(&path, bytes).expect("write the file to check");
    let venv = facturx_venv();
    let mut command = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/facturx-check"));
    command.arg(&path).env("FACTURX_CHECK_VENV", &venv);
    if fr_ctc {
        command.arg("--fr-ctc");
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/facturx-check: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let last = stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        last.starts_with("PASS ") || last.starts_with("FAIL "),
        "scripts/facturx-check did not run (python3-venv, PyPI?): status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status.code()
    );
    FacturxVerdict {
        pass: out.status.success() && last.starts_with("PASS "),
        output: format!("{stdout}{stderr}"),
    }
}

/// The validator's Python environment; made once per test run (concurrent first runs would race).
fn facturx_venv() -> std::path::PathBuf {
    use std::sync::OnceLock;
    static VENV: OnceLock<std::path::PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        if let Some(dir) = std::env::var_os("FACTURX_CHECK_VENV") {
            return dir.into();
        }
        if let Some(home) = std::env::var_os("HOME") {
            let cached = std::path::Path::new(&home).join(".cache/facturx-check");
            if cached.join("bin/python").exists() {
                return cached;
            }
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        let venv = target.join("facturx-check-venv");
        // `--help` makes the environment (the script installs it before running) and exits.
        let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/facturx-check"))
            .arg("--help")
            .env("FACTURX_CHECK_VENV", &venv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/facturx-check: {e}"));
        assert!(
            out.status.success(),
            "scripts/facturx-check cannot make its Python environment in {}: {}",
            venv.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        venv
    })
    .clone()
}
