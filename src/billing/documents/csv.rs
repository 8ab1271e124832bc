//! The livre des recettes as CSV, the way French spreadsheets open it: UTF-8 with a BOM, `;`
//! between fields, CRLF line ends, dates `DD/MM/YYYY`, amounts `-12,50` (no thousands grouping).

use super::totals::RevenueTotals;
use super::wording::t;
use super::{date_fr, BookSeal, RevenueLine};

const BOM: &[u8] = b"\xEF\xBB\xBF";
const SEPARATOR: char = ';';
const LINE_END: &str = "\r\n";

/// `Date;Client;Nature;Montant;Devise;Mode de règlement;Référence`, then one row per line.
pub fn revenue_book_csv(lines: &[RevenueLine]) -> Vec<u8> {
    let header = [
        t("book.col.date"),
        t("book.col.client"),
        t("book.col.nature"),
        t("book.col.amount"),
        t("book.col.currency"),
        t("book.col.method"),
        t("book.col.reference"),
    ];
    let mut out = String::with_capacity(64 * (lines.len() + 1));
    write_record(&mut out, &header);
    for line in lines {
        let date = date_fr(line.date);
        let amount = line.amount.format_number_fr(false);
        let client = inert(&line.client);
        let method = inert(&line.method);
        let reference = inert(&line.reference);
        let record = [
            date.as_str(),
            client.as_ref(),
            line.nature.label(),
            amount.as_str(),
            line.amount.currency.code(),
            method.as_ref(),
            reference.as_ref(),
        ];
        write_record(&mut out, &record);
    }
    with_bom(out)
}

/// The totals of `totals` (each quarter, then the year, per currency):
/// `Période;Marchandises;Services;dont espèces;Autres modes;Total;Devise`.
pub fn revenue_totals_csv(totals: &RevenueTotals) -> Vec<u8> {
    let header = [
        t("book.totals.period"),
        t("book.totals.goods"),
        t("book.totals.services"),
        t("book.totals.cash"),
        t("book.totals.other"),
        t("book.totals.total"),
        t("book.col.currency"),
    ];
    let mut out = String::new();
    write_record(&mut out, &header);
    for p in &totals.periods {
        let cells = [
            p.period.label(),
            p.goods.format_number_fr(false),
            p.services.format_number_fr(false),
            p.cash.format_number_fr(false),
            p.other_methods.format_number_fr(false),
            p.total.format_number_fr(false),
            p.total.currency.code().to_string(),
        ];
        let record: Vec<&str> = cells.iter().map(String::as_str).collect();
        write_record(&mut out, &record);
    }
    with_bom(out)
}

/// The seal of an export: `Rubrique;Valeur`, the seal's sentences, then the
/// SHA-256 of each file of the export and the book key's signature of that list.
pub fn book_seal_csv(seal: &BookSeal, files: &[(String, String)], files_signature: &str) -> Vec<u8> {
    let mut out = String::new();
    write_record(&mut out, &[t("seal.field"), t("seal.value")]);
    write_record(&mut out, &["Clé publique", &seal.public_key]);
    if let Some(c) = &seal.closure {
        write_record(&mut out, &["Clôture", &c.number.to_string()]);
        write_record(&mut out, &["Signature de la clôture", &c.signature]);
    }
    for sentence in seal.sentences() {
        write_record(&mut out, &["Scellement", &sentence]);
    }
    for (name, sha) in files {
        write_record(&mut out, &[&format!("SHA-256 {name}"), sha]);
    }
    write_record(&mut out, &["Signature des fichiers (Ed25519)", files_signature]);
    with_bom(out)
}

/// The message the files' signature covers: `name:sha256` per file, one per line.
pub fn files_message(files: &[(String, String)]) -> String {
    files.iter().map(|(name, sha)| format!("{name}:{sha}\n")).collect()
}

/// A cell of [`table_csv`]: text (made inert if a spreadsheet would run it)
/// or a figure written as is (`-12,50` stays a number).
pub enum Cell {
    Text(String),
    Figure(String),
}

/// A table the way the book's CSV is written: a header, then one row per record.
pub fn table_csv(header: &[&str], rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut out = String::new();
    write_record(&mut out, header);
    for row in rows {
        let cells: Vec<std::borrow::Cow<'_, str>> = row
            .iter()
            .map(|cell| match cell {
                Cell::Text(text) => inert(text),
                Cell::Figure(figure) => std::borrow::Cow::Borrowed(figure.as_str()),
            })
            .collect();
        let record: Vec<&str> = cells.iter().map(|c| c.as_ref()).collect();
        write_record(&mut out, &record);
    }
    with_bom(out)
}

fn with_bom(out: String) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(BOM.len() + out.len());
    bytes.extend_from_slice(BOM);
    bytes.extend_from_slice(out.as_bytes());
    bytes
}

fn write_record(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        write_field(out, field);
    }
    out.push_str(LINE_END);
}

/// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
/// tab, CR at the start) gets a leading apostrophe, which spreadsheets show as
/// plain text. The database keeps the name as recorded; only the export is made inert.
fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Quotes a field holding `;`, `"`, CR or LF, doubling its quotes (RFC 4180).
fn write_field(out: &mut String, field: &str) {
    if field.contains([SEPARATOR, '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str) -> String {
        let mut out = String::new();
        write_field(&mut out, text);
        out
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("Dupont"), "Dupont");
        assert_eq!(field("A;B"), "\"A;B\"");
        assert_eq!(field("Le \"Bon\" Coin"), "\"Le \"\"Bon\"\" Coin\"");
        assert_eq!(field("deux\r\nlignes"), "\"deux\r\nlignes\"");
    }

    #[test]
    fn formulas_are_made_inert() {
        assert_eq!(inert("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(inert("+33 1 23"), "'+33 1 23");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Dupont"), "Dupont");
    }

    #[test]
    fn empty_book_is_bom_and_header() {
        let bytes = revenue_book_csv(&[]);
        let expected = "\u{feff}Date;Client;Nature;Montant;Devise;Mode de règlement;Référence\r\n";
        assert_eq!(bytes, expected.as_bytes());
    }
}
