//! The input policy: what text Comptoir accepts from a person, whichever
//! surface it comes through (command line, admin, API, CSV import).
//!
//! - **Single-line text** (names, references, descriptions, reasons, filters)
//!   refuses every control character (C0 with TAB, CR and LF, DEL, C1), the
//!   bidirectional embeddings, overrides and isolates (U+202A..U+202E,
//!   U+2066..U+2069) and the line and paragraph separators (U+2028, U+2029):
//!   they forge lines in logs and reorder what a document shows.
//! - **Multi-line text** (addresses) allows line breaks, CRLF and a lone CR
//!   stored as LF, and nothing else of the above.
//! - **At the edge** (the web extractors), before any field decides, a string
//!   with NUL or any control character other than TAB, CR and LF is refused,
//!   so that nothing of the kind reaches the database, not even a filter.
//!
//! Both kinds are trimmed and counted in characters. The domain turns a
//! [`TextError`] into its own error naming the field; so does the web edge.

mod email;

pub use email::{email, EmailError};

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// Why a text was refused; `Display` says it in French, [`TextError::text`]
/// in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{}", self.text())]
    LineBreak,
    #[error("{}", self.text())]
    Control(char),
    #[error("{}", self.text())]
    Bidi(char),
    #[error("{}", self.text())]
    Separator(char),
    #[error("{}", self.text())]
    TooLong(usize),
}

impl TextError {
    pub fn text(&self) -> crate::i18n::Text {
        use crate::text;
        match self {
            TextError::LineBreak => text!("retour à la ligne refusé : une seule ligne"),
            TextError::Control(c) => text!("caractère de contrôle {code} refusé", code = code(*c)),
            TextError::Bidi(c) => text!("caractère de sens d'écriture {code} refusé", code = code(*c)),
            TextError::Separator(c) => text!("séparateur {code} refusé", code = code(*c)),
            TextError::TooLong(max) => text!("{max} caractères au plus", max = max),
        }
    }
}

/// `U+001B`.
pub fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// The embedding, override and isolate characters of the bidirectional algorithm.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Refuses the first character of `text` that text of `lines` may not hold
/// (with `Many`, line breaks of any convention: CR, LF, CRLF).
pub fn check(text: &str, lines: Lines) -> Result<(), TextError> {
    for c in text.chars() {
        match c {
            '\r' | '\n' if lines == Lines::Many => {}
            '\r' | '\n' => return Err(TextError::LineBreak),
            c if c.is_control() => return Err(TextError::Control(c)),
            c if is_bidi_control(c) => return Err(TextError::Bidi(c)),
            '\u{2028}' | '\u{2029}' => return Err(TextError::Separator(c)),
            _ => {}
        }
    }
    Ok(())
}

/// `text` trimmed and checked as one line of at most `max` characters (it may be empty).
pub fn single_line(text: &str, max: usize) -> Result<String, TextError> {
    let text = text.trim();
    check(text, Lines::One)?;
    within(text, max)?;
    Ok(text.to_string())
}

/// `text` with its line breaks as LF, trimmed, checked as lines of at most
/// `max` characters in all (it may be empty).
pub fn multi_line(text: &str, max: usize) -> Result<String, TextError> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    check(text, Lines::Many)?;
    within(text, max)?;
    Ok(text.to_string())
}

fn within(text: &str, max: usize) -> Result<(), TextError> {
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    Ok(())
}

/// The web edge's rule, whatever the field: no NUL and no control character
/// other than TAB, CR and LF (the field's own policy decides about those).
pub fn check_edge(text: &str) -> Result<(), TextError> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        Some(c) => Err(TextError::Control(c)),
        None => Ok(()),
    }
}

/// The longest text a list filter takes (a search, a kind, an actor…).
pub const FILTER_MAX: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_refuses_every_control_bidi_and_separator() {
        assert_eq!(single_line("  Marie Dupont  ", 200).unwrap(), "Marie Dupont");
        assert_eq!(
            single_line("Société Générale — Zoé", 200).unwrap(),
            "Société Générale — Zoé"
        );
        assert_eq!(single_line("   ", 200).unwrap(), "");
        for (text, expected) in [
            ("a\0b", TextError::Control('\0')),
            ("a\tb", TextError::Control('\t')),
            ("a\rb", TextError::LineBreak),
            ("a\nb", TextError::LineBreak),
            ("a\r\nb", TextError::LineBreak),
            ("a\u{1b}[31mb", TextError::Control('\u{1b}')),
            ("a\u{7f}b", TextError::Control('\u{7f}')),
            ("a\u{85}b", TextError::Control('\u{85}')),
            ("a\u{9b}b", TextError::Control('\u{9b}')),
            ("a\u{202A}b", TextError::Bidi('\u{202A}')),
            ("gpj.\u{202E}exe", TextError::Bidi('\u{202E}')),
            ("a\u{2066}b", TextError::Bidi('\u{2066}')),
            ("a\u{2069}b", TextError::Bidi('\u{2069}')),
            ("a\u{2028}b", TextError::Separator('\u{2028}')),
            ("a\u{2029}b", TextError::Separator('\u{2029}')),
        ] {
            assert_eq!(single_line(text, 200), Err(expected.clone()), "{text:?}");
        }
        // Marks that only hint at a direction are text, not layout.
        assert!(single_line("שלום\u{200F} ok", 200).is_ok());
    }

    #[test]
    fn multi_line_keeps_line_breaks_as_lf_and_nothing_else() {
        assert_eq!(
            multi_line(" 12 rue des Lilas\r\n75011 Paris\r\n", 500).unwrap(),
            "12 rue des Lilas\n75011 Paris"
        );
        assert_eq!(multi_line("a\rb\nc", 500).unwrap(), "a\nb\nc");
        assert_eq!(multi_line("a\0b", 500), Err(TextError::Control('\0')));
        assert_eq!(multi_line("a\tb", 500), Err(TextError::Control('\t')));
        assert_eq!(multi_line("a\u{1b}b", 500), Err(TextError::Control('\u{1b}')));
        assert_eq!(multi_line("a\u{202E}b", 500), Err(TextError::Bidi('\u{202E}')));
        assert_eq!(multi_line("a\u{2028}b", 500), Err(TextError::Separator('\u{2028}')));
        assert!(check("a\r\nb\rc", Lines::Many).is_ok());
        assert_eq!(check("a\r\nb", Lines::One), Err(TextError::LineBreak));
    }

    #[test]
    fn lengths_count_characters_after_trimming() {
        assert_eq!(single_line(&"é".repeat(5), 5).unwrap(), "ééééé");
        assert_eq!(single_line(&format!("  {}  ", "é".repeat(5)), 5).unwrap(), "ééééé");
        assert_eq!(single_line(&"é".repeat(6), 5), Err(TextError::TooLong(5)));
        // CRLF counts as one character once normalised.
        assert_eq!(multi_line("ab\r\ncd", 5).unwrap(), "ab\ncd");
    }

    #[test]
    fn the_edge_refuses_controls_but_leaves_tab_cr_lf_to_the_field() {
        assert!(check_edge("a\tb\r\nc").is_ok());
        assert!(check_edge("gpj.\u{202E}exe").is_ok(), "the field's policy decides");
        assert_eq!(check_edge("a\0b"), Err(TextError::Control('\0')));
        assert_eq!(check_edge("\u{1b}[2J"), Err(TextError::Control('\u{1b}')));
        assert_eq!(check_edge("a\u{7f}"), Err(TextError::Control('\u{7f}')));
        assert_eq!(check_edge("\u{90}"), Err(TextError::Control('\u{90}')));
    }

    #[test]
    fn messages_name_the_character() {
        assert_eq!(
            TextError::Control('\0').to_string(),
            "caractère de contrôle U+0000 refusé"
        );
        assert_eq!(
            TextError::Bidi('\u{202E}').text().in_lang(crate::i18n::Lang::En),
            "bidirectional formatting character U+202E refused"
        );
        assert!(TextError::LineBreak.to_string().starts_with("retour à la ligne refusé"));
    }
}
