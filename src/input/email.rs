//! E-mail addresses, parsed by the mailer's own parser (lettre's `Address`,
//! RFC 5321 with internationalised domains), then held to what a person's
//! mailbox looks like: no quoted local part, a host name with a dot, not an
//! IP address.

use std::net::IpAddr;

use lettre::Address;

use super::{check, Lines};
use crate::i18n::Text;
use crate::text;

/// The longest address SMTP carries (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;

/// Why an address was refused (the text given is kept to say it back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text())]
pub struct EmailError {
    pub text: String,
    pub why: Text,
}

impl EmailError {
    /// In the reader's language.
    pub fn text(&self) -> Text {
        text!("« {text} » n'est pas une adresse e-mail ({why})", text = self.text).with("why", self.why.clone())
    }
}

/// `text` trimmed, if it is an address a message can be sent to.
pub fn email(text: &str) -> Result<String, EmailError> {
    let text = text.trim();
    let refuse = |why: Text| EmailError {
        text: text.chars().take(80).collect(),
        why,
    };
    check(text, Lines::One).map_err(|e| refuse(e.text()))?;
    if text.chars().count() > EMAIL_MAX {
        return Err(refuse(text!("plus de {max} caractères", max = EMAIL_MAX)));
    }
    let address: Address = text
        .parse()
        .map_err(|e: lettre::address::AddressError| refuse(Text::verbatim(e.to_string().to_lowercase())))?;
    if address.user().contains('"') {
        return Err(refuse(text!("les guillemets ne sont pas acceptés avant le @")));
    }
    let domain = address.domain();
    if domain.starts_with('[') || domain.parse::<IpAddr>().is_ok() {
        return Err(refuse(text!("le domaine doit être un nom d'hôte, pas une adresse IP")));
    }
    let tld = domain.rsplit('.').next().unwrap_or("");
    if !domain.contains('.') || tld.is_empty() || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(refuse(text!(
            "le domaine doit contenir un point, comme dans exemple.fr"
        )));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_addresses_are_accepted_as_given() {
        for ok in [
            "a@b.fr",
            "marie.dupont@example.fr",
            "Marie.Dupont+factures@Example.FR",
            "o'brien@example.ie",
            "jean-françois@exemple.fr",
            "contact@café-zoé.fr",
            "x_y.z@sub.domain.example.com",
        ] {
            assert_eq!(email(ok).as_deref(), Ok(ok), "{ok}");
        }
        assert_eq!(email("  a@b.fr \t").as_deref(), Ok("a@b.fr"));
    }

    #[test]
    fn oddities_are_refused() {
        for bad in [
            "a@b.fr>",
            "<a@b.fr>",
            "a(c)@b.fr",
            "a@b.fr (Marie)",
            "\"a b\"@c.fr",
            "\"a\"@c.fr",
            "Marie <a@b.fr>",
            "a@b",
            "a@b.",
            "a@.fr",
            "a@b..fr",
            "a..b@c.fr",
            ".a@c.fr",
            "a@@b.fr",
            "a@b@c.fr",
            "a b@c.fr",
            "a@b c.fr",
            "a@[192.168.0.1]",
            "a@192.168.0.1",
            "a@b.123",
            "@b.fr",
            "a@",
            "a,b@c.fr",
            "a;b@c.fr",
            "a\0@b.fr",
            "a@b.fr\r\nBcc: x@y.fr",
            "a\u{202E}@b.fr",
            "",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.fr", "a".repeat(250));
        assert!(email(&long).is_err());
    }

    #[test]
    fn the_refusal_says_why() {
        let e = email("a@b").unwrap_err();
        assert_eq!(
            e.to_string(),
            "« a@b » n'est pas une adresse e-mail (le domaine doit contenir un point, comme dans exemple.fr)"
        );
        assert_eq!(
            e.text().in_lang(crate::i18n::Lang::En),
            "\"a@b\" is not an e-mail address (the domain needs a dot, as in example.fr)"
        );
        assert!(email("\"a b\"@c.fr")
            .unwrap_err()
            .why
            .to_string()
            .contains("guillemets"));
    }
}
