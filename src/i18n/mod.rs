//! The operator's language: French first, English as a complete second
//! language, chosen per operator (`operators.language`).
//!
//! Comptoir's own small catalogue, in the gettext style: the French text is
//! the message's identity, written where it is used (`{{ _("Tâches") }}` in
//! a template, `text!("Tâches")` in Rust), and `locales/en/*.json` maps it to
//! English. Why by hand rather than fluent: French is the source language of
//! every page and of the law's wording, so keying messages by their French
//! keeps the templates readable and the tests asserting on the words the
//! operator sees; what a catalogue crate would add here (plural rules for two
//! languages, `{name}` arguments) is a few lines below, and the unit tests
//! hold the catalogue complete: every message used has its English, every
//! English entry is used, and both sides name the same arguments.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind, State};
use serde::{Deserialize, Serialize};

/// An operator's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The language's own name, as its speakers write it (for the switch).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
        }
    }

    /// `fr` or `en`; anything else is none (the caller keeps its default).
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first of `fr`/`en` an `Accept-Language` header names, by order of
    /// preference (quality values are honoured); none when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut offers: Vec<(f32, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut bits = part.split(';');
                let tag = bits.next()?.trim();
                let lang = Lang::parse(tag.split('-').next()?)?;
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        offers.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        offers.first().map(|o| o.2)
    }

    /// Whether `n` takes the singular: French says "0 tâche", English "0 jobs".
    fn singular(self, n: i64) -> bool {
        match self {
            Lang::Fr => n == 0 || n == 1 || n == -1,
            Lang::En => n == 1,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The English catalogue's files, compiled in. Each area has its own file so
/// that the catalogue is read, reviewed and grown by area.
const ENGLISH: &[(&str, &str)] = &[
    ("common", include_str!("../../locales/en/common.json")),
    ("dashboard", include_str!("../../locales/en/dashboard.json")),
    ("jobs", include_str!("../../locales/en/jobs.json")),
    ("invoices", include_str!("../../locales/en/invoices.json")),
    ("customers", include_str!("../../locales/en/customers.json")),
    ("payments", include_str!("../../locales/en/payments.json")),
    ("billing", include_str!("../../locales/en/billing.json")),
    ("contracts", include_str!("../../locales/en/contracts.json")),
    ("settings", include_str!("../../locales/en/settings.json")),
    ("keeping", include_str!("../../locales/en/keeping.json")),
    ("auth", include_str!("../../locales/en/auth.json")),
    ("errors", include_str!("../../locales/en/errors.json")),
];

/// The catalogue as read, or why it cannot be: a file that is not a JSON
/// object of strings, or one message translated twice in two ways.
fn read_catalogue(files: &[(&str, &str)]) -> Result<HashMap<String, String>, String> {
    let mut all: HashMap<String, String> = HashMap::new();
    for (name, text) in files {
        let entries: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("locales/en/{name}.json: {e}"))?;
        for (french, english) in entries {
            let english = english
                .as_str()
                .ok_or_else(|| format!("locales/en/{name}.json: {french:?} is not a string"))?
                .to_string();
            if let Some(before) = all.get(&french) {
                if *before != english {
                    return Err(format!(
                        "locales/en/{name}.json: {french:?} is {english:?} here but {before:?} in another file"
                    ));
                }
            }
            all.insert(french, english);
        }
    }
    Ok(all)
}

fn english() -> &'static HashMap<String, String> {
    static CATALOGUE: OnceLock<HashMap<String, String>> = OnceLock::new();
    // The unit tests read the same files and fail on any fault; a build that
    // passed them cannot fail here.
    CATALOGUE.get_or_init(|| read_catalogue(ENGLISH).unwrap_or_default())
}

/// `french` in `lang`. A message missing from the catalogue shows in French
/// rather than not at all (the unit tests keep the catalogue complete).
pub fn tr(lang: Lang, french: &str) -> &str {
    match lang {
        Lang::Fr => french,
        Lang::En => english().get(french).map(String::as_str).unwrap_or(french),
    }
}

/// `french` in `lang` with its `{name}` arguments filled in.
pub fn tr_args(lang: Lang, french: &str, args: &[(&str, String)]) -> String {
    fill(tr(lang, french), args)
}

/// The singular or the plural form for `n`, in `lang`, with `{n}` and the
/// other arguments filled in.
pub fn tr_plural(lang: Lang, one: &str, other: &str, n: i64, args: &[(&str, String)]) -> String {
    let form = if lang.singular(n) { one } else { other };
    let mut all = args.to_vec();
    all.push(("n", n.to_string()));
    fill(tr(lang, form), &all)
}

/// `pattern` with its `{name}` placeholders replaced; unknown ones stay as they are.
pub(crate) fn fill(pattern: &str, args: &[(&str, impl AsRef<str>)]) -> String {
    if args.is_empty() || !pattern.contains('{') {
        return pattern.to_string();
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v.as_ref()),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message to be said in the reader's language: its French text (the
/// catalogue's key) and its arguments. Shown in French by `Display`; the
/// admin says it with [`Text::in_lang`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    kind: TextKind,
    args: Vec<(&'static str, String)>,
    /// Arguments that are messages themselves, said in the same language
    /// ([`Text::with`]).
    nested: Vec<(&'static str, Text)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TextKind {
    Message(&'static str),
    /// Words that are not Comptoir's own (a provider's message, a file's
    /// name): shown as they are in every language.
    Verbatim(String),
}

impl Text {
    /// Prefer the [`text!`](crate::text) macro, which the catalogue's test reads.
    pub fn new(french: &'static str, args: Vec<(&'static str, String)>) -> Text {
        Text {
            kind: TextKind::Message(french),
            args,
            nested: Vec::new(),
        }
    }

    /// Words shown as they are, in every language.
    pub fn verbatim(words: impl Into<String>) -> Text {
        Text {
            kind: TextKind::Verbatim(words.into()),
            args: Vec::new(),
            nested: Vec::new(),
        }
    }

    /// The argument `name` filled with another message, said in the reader's
    /// language too: `text!("ligne {line} : {message}", line = 3).with("message", why)`.
    pub fn with(mut self, name: &'static str, value: Text) -> Text {
        self.nested.push((name, value));
        self
    }

    pub fn in_lang(&self, lang: Lang) -> String {
        match &self.kind {
            TextKind::Message(french) if self.nested.is_empty() => tr_args(lang, french, &self.args),
            TextKind::Message(french) => {
                let mut args = self.args.clone();
                args.extend(self.nested.iter().map(|(name, t)| (*name, t.in_lang(lang))));
                tr_args(lang, french, &args)
            }
            TextKind::Verbatim(words) => words.clone(),
        }
    }

    /// The French text before its arguments are filled in (a message's identity).
    pub fn key(&self) -> &str {
        match &self.kind {
            TextKind::Message(french) => french,
            TextKind::Verbatim(words) => words,
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.in_lang(Lang::Fr))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.to_string()
    }
}

/// `text!("Facture {number} émise", number = n)`: a [`Text`] whose French is
/// a literal the catalogue's test finds, with named arguments.
#[macro_export]
macro_rules! text {
    ($french:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::i18n::Text::new($french, vec![$((stringify!($name), ($value).to_string())),*])
    };
}

/// The language a template is rendered in: its `lang` variable, French when
/// none is set (e-mails to customers, documents).
fn lang_of(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or_default()
}

fn kwargs_of(kwargs: &Kwargs) -> Result<Vec<(&'static str, String)>, Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        // Leaked once per distinct argument name in the templates (a handful).
        args.push((intern(name), value.to_string()));
    }
    Ok(args)
}

fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<std::sync::Mutex<Vec<&'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    let mut names = names.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.iter().find(|n| **n == name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

/// `{{ _("Tâches") }}`, `{{ _("Facture {number}", number=n) }}`.
fn template_tr(state: &State, french: &str, kwargs: Kwargs) -> Result<String, Error> {
    Ok(tr_args(lang_of(state), french, &kwargs_of(&kwargs)?))
}

/// `{{ _n("{n} tâche", "{n} tâches", count) }}`.
fn template_plural(state: &State, one: &str, other: &str, n: Value, kwargs: Kwargs) -> Result<String, Error> {
    let n = i64::try_from(n).map_err(|_| Error::new(ErrorKind::InvalidOperation, "_n: the count is not an integer"))?;
    Ok(tr_plural(lang_of(state), one, other, n, &kwargs_of(&kwargs)?))
}

/// Adds `_` and `_n` to a template environment.
pub fn register(env: &mut minijinja::Environment<'_>) {
    env.add_function("_", template_tr);
    env.add_function("_n", template_plural);
}

#[cfg(test)]
mod tests;
