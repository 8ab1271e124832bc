use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::*;

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The string literal opening `text` (after optional spaces), unescaped, and
/// what follows it; none if `text` does not open with `"`.
fn literal(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\n' => {
                    // A Rust line continuation: the next line's indentation is dropped.
                    let rest = &body[i + 2..];
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in 0..skip {
                        chars.next();
                    }
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Every message a source uses: `_("…")`, `_n("…", "…", n)` in templates,
/// `text!("…")` in Rust. A call whose message is not a literal is a fault
/// (the catalogue could not be checked).
fn messages_in(path: &Path, source: &str, out: &mut BTreeSet<String>, faults: &mut Vec<String>) {
    let rust = path.extension().is_some_and(|e| e == "rs");
    let openers: &[&str] = if rust { &["text!("] } else { &["_(", "_n("] };
    for opener in openers {
        let mut rest = source;
        while let Some(at) = rest.find(opener) {
            let before = rest[..at].chars().last();
            rest = &rest[at + opener.len()..];
            // `foo_(` or `is_n(` are other names.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let Some((first, after)) = literal(rest) else {
                if rust && rest.trim_start().starts_with('$') {
                    continue; // the macro's own definition
                }
                faults.push(format!("{}: {opener} without a \"literal\"", path.display()));
                continue;
            };
            out.insert(first);
            if *opener == "_n(" {
                match after.trim_start().strip_prefix(',').and_then(literal) {
                    Some((second, _)) => {
                        out.insert(second);
                    }
                    None => faults.push(format!("{}: _n( without its plural literal", path.display())),
                }
            }
        }
    }
}

fn used_messages() -> (BTreeSet<String>, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(&root.join("templates"), "html", &mut files);
    files_under(&root.join("templates"), "txt", &mut files);
    files_under(&root.join("src"), "rs", &mut files);
    let mut used = BTreeSet::new();
    let mut faults = Vec::new();
    for path in files {
        if path.ends_with("i18n/tests.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("readable source");
        // Comments show examples, not messages.
        let source: String = source
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        messages_in(&path, &source, &mut used, &mut faults);
    }
    (used, faults)
}

fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.insert(after[..close].to_string());
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

#[test]
fn the_catalogue_reads() {
    let catalogue = read_catalogue(ENGLISH).expect("every file is a JSON object of strings, no message twice");
    assert_eq!(english().len(), catalogue.len());
}

#[test]
fn every_message_used_has_its_english_and_every_english_is_used() {
    let (used, faults) = used_messages();
    assert!(
        faults.is_empty(),
        "messages the test cannot read:\n{}",
        faults.join("\n")
    );
    let catalogue = read_catalogue(ENGLISH).expect("catalogue");
    let missing: Vec<&String> = used.iter().filter(|m| !catalogue.contains_key(*m)).collect();
    assert!(
        missing.is_empty(),
        "{} message(s) without English in locales/en/*.json:\n{}",
        missing.len(),
        missing
            .iter()
            .map(|m| format!("  {m:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let unused: Vec<&String> = catalogue.keys().filter(|k| !used.contains(*k)).collect();
    assert!(
        unused.is_empty(),
        "{} English entr(y/ies) no source uses any more:\n{}",
        unused.len(),
        unused.iter().map(|m| format!("  {m:?}")).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn both_languages_name_the_same_arguments() {
    let catalogue = read_catalogue(ENGLISH).expect("catalogue");
    let mut wrong = Vec::new();
    for (french, english) in &catalogue {
        if placeholders(french) != placeholders(english) {
            wrong.push(format!("  {french:?} -> {english:?}"));
        }
        if english.trim().is_empty() {
            wrong.push(format!("  {french:?} has an empty English"));
        }
    }
    assert!(wrong.is_empty(), "arguments differ:\n{}", wrong.join("\n"));
}

#[test]
fn the_scanner_reads_calls_and_refuses_what_it_cannot_check() {
    let mut used = BTreeSet::new();
    let mut faults = Vec::new();
    messages_in(
        Path::new("t.html"),
        r#"{{ _("Tâches") }} {{ _n("{n} tâche", "{n} tâches", 3) }} {{ foo_("x") }} {{ _(name) }}"#,
        &mut used,
        &mut faults,
    );
    assert_eq!(
        used,
        ["Tâches", "{n} tâche", "{n} tâches"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    assert_eq!(faults.len(), 1, "{faults:?}");
    let mut used = BTreeSet::new();
    messages_in(
        Path::new("t.rs"),
        "let t = text!(\"Facture {number} \\\n      émise\", number = 3);",
        &mut used,
        &mut faults,
    );
    assert_eq!(used, ["Facture {number} émise".to_string()].into_iter().collect());
}

#[test]
fn arguments_and_plurals() {
    assert_eq!(fill("Facture {number} émise", &[("number", "F1")]), "Facture F1 émise");
    assert_eq!(fill("{a} et {b} {c}", &[("a", "1"), ("b", "2")]), "1 et 2 {c}");
    assert_eq!(fill("sans { fin", &[("a", "1")]), "sans { fin");
    assert_eq!(tr_plural(Lang::Fr, "{n} tâche", "{n} tâches", 0, &[]), "0 tâche");
    assert_eq!(tr_plural(Lang::Fr, "{n} tâche", "{n} tâches", 2, &[]), "2 tâches");
    let text = crate::text!("Facture {number} émise", number = "F2026-0001");
    assert_eq!(text.to_string(), "Facture F2026-0001 émise");
    assert_eq!(Text::verbatim("card_declined").in_lang(Lang::En), "card_declined");
}

#[test]
fn the_catalogue_refuses_one_message_translated_two_ways() {
    let err = read_catalogue(&[("a", r#"{"Oui": "Yes"}"#), ("b", r#"{"Oui": "Yeah"}"#)]).unwrap_err();
    assert!(err.contains("Oui"), "{err}");
    assert!(read_catalogue(&[("a", r#"{"Oui": "Yes"}"#), ("b", r#"{"Oui": "Yes"}"#)]).is_ok());
    assert!(read_catalogue(&[("a", r#"{"Oui": 1}"#)]).is_err());
}

#[test]
fn accept_language() {
    assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,fr;q=0.8"), Some(Lang::En));
    assert_eq!(Lang::from_accept_language("de, fr;q=0.5, en;q=0.4"), Some(Lang::Fr));
    assert_eq!(Lang::from_accept_language("fr;q=0, en;q=0.1"), Some(Lang::En));
    assert_eq!(Lang::from_accept_language("de"), None);
    let by_lang: HashMap<Lang, &str> = Lang::ALL.iter().map(|l| (*l, l.code())).collect();
    assert_eq!(by_lang[&Lang::En], "en");
}
