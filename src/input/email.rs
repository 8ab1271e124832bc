//! E-mail addresses, parsed by the mailer's own parser (lettre's `Address`,
//! RFC 5321 with internationalised domains), then held to what a person's
//! mailbox looks like: no quoted local part, a host name with a dot, not an
//! IP address.

use std::net::IpAddr;

use lettre::Address;

use super::{check, Lines};

/// The longest address SMTP carries (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;

/// Why an address was refused (the text given is kept to say it back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an e-mail address ({why})")]
pub struct EmailError {
    pub text: String,
    pub why: String,
}

/// `text` trimmed, if it is an address a message can be sent to.
pub fn email(text: &str) -> Result<String, EmailError> {
    let text = text.trim();
    let refuse = |why: String| EmailError {
        text: text.chars().take(80).collect(),
        why,
    };
    check(text, Lines::One).map_err(|e| refuse(e.to_string()))?;
    if text.chars().count() > EMAIL_MAX {
        return Err(refuse(format!("longer than {EMAIL_MAX} characters")));
    }
    let address: Address = text
        .parse()
        .map_err(|e: lettre::address::AddressError| refuse(e.to_string().to_lowercase()))?;
    if address.user().contains('"') {
        return Err(refuse("quoted local parts are not accepted".into()));
    }
    let domain = address.domain();
    if domain.starts_with('[') || domain.parse::<IpAddr>().is_ok() {
        return Err(refuse("the domain must be a host name, not an IP address".into()));
    }
    let tld = domain.rsplit('.').next().unwrap_or("");
    if !domain.contains('.') || tld.is_empty() || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(refuse("the domain needs a dot, as in example.fr".into()));
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
            "\"a@b\" is not an e-mail address (the domain needs a dot, as in example.fr)"
        );
        assert!(email("\"a b\"@c.fr").unwrap_err().why.contains("quoted"));
    }
}
