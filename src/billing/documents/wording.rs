//! The documents' French wording, read from `templates/documents/fr.txt` (embedded at compile
//! time): `key = value` lines, `#` comments, `{name}` placeholders.
//!
//! A missing key renders as the key itself (as gettext does) instead of failing at run time;
//! the tests below check that every key used by this module's sources exists.

use std::collections::HashMap;
use std::sync::OnceLock;

const SOURCE: &str = include_str!("../../../templates/documents/fr.txt");

type Table = HashMap<&'static str, &'static str>;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse(SOURCE).0)
}

/// The entries, and the 1-based numbers of the lines that are not `key = value`.
fn parse(source: &'static str) -> (Table, Vec<usize>) {
    let mut entries = Table::new();
    let mut malformed = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                entries.insert(key.trim(), value.trim());
            }
            _ => malformed.push(index + 1),
        }
    }
    (entries, malformed)
}

/// The text for `key`, or `key` itself when the wording file lacks it.
pub(crate) fn t(key: &'static str) -> &'static str {
    table().get(key).copied().unwrap_or(key)
}

/// The text for `key` with its `{name}` placeholders replaced; unknown ones stay as they are.
pub(crate) fn fill(key: &'static str, values: &[(&str, &str)]) -> String {
    crate::i18n::fill(t(key), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: [&str; 9] = [
        include_str!("mod.rs"),
        include_str!("cii.rs"),
        include_str!("facturx.rs"),
        include_str!("invoice.rs"),
        include_str!("revenue_book.rs"),
        include_str!("csv.rs"),
        include_str!("pdf.rs"),
        include_str!("fonts.rs"),
        include_str!("totals.rs"),
    ];

    /// Every `t("key")` / `fill("key"` in the sources.
    fn used_keys() -> Vec<&'static str> {
        let mut keys = Vec::new();
        for source in SOURCES {
            for marker in ["t(\"", "fill(\""] {
                for (start, _) in source.match_indices(marker) {
                    let before = source[..start].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let tail = &source[start + marker.len()..];
                    if let Some(end) = tail.find('"') {
                        keys.push(&tail[..end]);
                    }
                }
            }
        }
        keys
    }

    #[test]
    fn the_wording_file_is_well_formed_and_complete() {
        let (entries, malformed) = parse(SOURCE);
        assert!(malformed.is_empty(), "malformed lines in fr.txt: {malformed:?}");
        let keys = used_keys();
        assert!(keys.len() > 20, "the key scan found too little: {keys:?}");
        let missing: Vec<_> = keys.iter().filter(|k| !entries.contains_key(**k)).collect();
        assert!(missing.is_empty(), "keys missing from fr.txt: {missing:?}");
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(fill("book.quarter", &[("quarter", "2"), ("year", "2026")]), "T2 2026");
        // A value that looks like a placeholder is not expanded again.
        assert_eq!(fill("book.year", &[("year", "{year}")]), "Année {year}");
        assert_eq!(fill("book.year", &[]), "Année {year}");
        assert_eq!(t("no.such.key"), "no.such.key");
    }
}
