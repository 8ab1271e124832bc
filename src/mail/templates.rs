//! E-mail bodies and subjects from `templates/email/`, compiled into the
//! binary. Each message `name` has three templates: `name.subject.txt`,
//! `name.txt` and `name.html` (auto-escaped). A variable missing from the
//! context is an error, not an empty string.

use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::MailError;

const SOURCES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/email/layout.html")),
    ("signature.txt", include_str!("../../templates/email/signature.txt")),
    (
        "invoice.subject.txt",
        include_str!("../../templates/email/invoice.subject.txt"),
    ),
    ("invoice.txt", include_str!("../../templates/email/invoice.txt")),
    ("invoice.html", include_str!("../../templates/email/invoice.html")),
    (
        "credit_note.subject.txt",
        include_str!("../../templates/email/credit_note.subject.txt"),
    ),
    ("credit_note.txt", include_str!("../../templates/email/credit_note.txt")),
    (
        "credit_note.html",
        include_str!("../../templates/email/credit_note.html"),
    ),
    (
        "receipt.subject.txt",
        include_str!("../../templates/email/receipt.subject.txt"),
    ),
    ("receipt.txt", include_str!("../../templates/email/receipt.txt")),
    ("receipt.html", include_str!("../../templates/email/receipt.html")),
    (
        "reminder.subject.txt",
        include_str!("../../templates/email/reminder.subject.txt"),
    ),
    ("reminder.txt", include_str!("../../templates/email/reminder.txt")),
    ("reminder.html", include_str!("../../templates/email/reminder.html")),
    (
        "signin_link.subject.txt",
        include_str!("../../templates/email/signin_link.subject.txt"),
    ),
    ("signin_link.txt", include_str!("../../templates/email/signin_link.txt")),
    (
        "signin_link.html",
        include_str!("../../templates/email/signin_link.html"),
    ),
    (
        "monthly_summary.subject.txt",
        include_str!("../../templates/email/monthly_summary.subject.txt"),
    ),
    (
        "monthly_summary.txt",
        include_str!("../../templates/email/monthly_summary.txt"),
    ),
    (
        "monthly_summary.html",
        include_str!("../../templates/email/monthly_summary.html"),
    ),
    (
        "urssaf_reminder.subject.txt",
        include_str!("../../templates/email/urssaf_reminder.subject.txt"),
    ),
    (
        "urssaf_reminder.txt",
        include_str!("../../templates/email/urssaf_reminder.txt"),
    ),
    (
        "urssaf_reminder.html",
        include_str!("../../templates/email/urssaf_reminder.html"),
    ),
];

/// A message rendered from its templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// On one line.
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn environment() -> Result<&'static Environment<'static>, MailError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        for (name, source) in SOURCES {
            env.add_template(name, source).map_err(|e| describe(&e))?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(|e| MailError::Message(format!("e-mail templates: {e}")))
}

/// Renders the subject, text and HTML of message `name` (`invoice`,
/// `credit_note`, `receipt`, `reminder`, `signin_link`) with `context`.
pub fn render(name: &str, context: impl Serialize) -> Result<Rendered, MailError> {
    let env = environment()?;
    let context = minijinja::Value::from_serialize(&context);
    let one = |suffix: &str| -> Result<String, MailError> {
        let template_name = format!("{name}.{suffix}");
        env.get_template(&template_name)
            .and_then(|t| t.render(&context))
            .map_err(|e| MailError::Message(format!("template {template_name}: {}", describe(&e))))
    };
    Ok(Rendered {
        subject: one("subject.txt")?.split_whitespace().collect::<Vec<_>>().join(" "),
        text: one("txt")?,
        html: one("html")?,
    })
}

/// A minijinja error with its causes, on one line.
fn describe(err: &minijinja::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_compile() {
        super::environment().expect("e-mail templates parse");
    }

    #[test]
    fn unknown_messages_and_missing_variables_are_errors() {
        assert!(super::render("postcard", serde_json::json!({})).is_err());
        let err = super::render("receipt", serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("receipt"), "{err}");
    }
}
