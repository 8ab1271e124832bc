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
