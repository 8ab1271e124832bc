//! The domain's fields: identifiers checked by their control keys, and text
//! and e-mail addresses held to the input policy ([`crate::input`]).

use super::error::{invalid, BillingError};
use crate::input::{self, Lines};
use crate::text;

/// A SIREN: 9 digits whose Luhn key is valid. Spaces are ignored.
pub fn siren(text: &str) -> Result<String, BillingError> {
    input::check(text.trim(), Lines::One).map_err(|e| invalid("siren", e.text()))?;
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 9 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            "siren",
            text!("« {text} » n'a pas 9 chiffres", text = text.trim()),
        ));
    }
    if !luhn(&digits) {
        return Err(invalid(
            "siren",
            text!("« {text} » : clé de contrôle fausse (Luhn)", text = text.trim()),
        ));
    }
    Ok(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An IBAN checked by ISO 13616 mod-97 (and its length for the common SEPA
/// countries). Returned without spaces, upper case.
pub fn iban(text: &str) -> Result<String, BillingError> {
    input::check(text.trim(), Lines::One).map_err(|e| invalid("iban", e.text()))?;
    let iban: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if iban.len() < 15 || iban.len() > 34 || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            "iban",
            text!("« {text} » n'est pas un IBAN", text = text.trim()),
        ));
    }
    let (country, check) = (&iban[..2], &iban[2..4]);
    if !country.chars().all(|c| c.is_ascii_uppercase()) || !check.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid(
            "iban",
            text!(
                "« {text} » ne commence pas par un code pays et une clé de contrôle",
                text = text.trim()
            ),
        ));
    }
    let expected_len = match country {
        "FR" | "MC" | "IT" | "SM" => Some(27),
        "DE" => Some(22),
        "BE" => Some(16),
        "ES" | "SE" => Some(24),
        "NL" => Some(18),
        "LU" => Some(20),
        "CH" | "LI" => Some(21),
        "PT" => Some(25),
        "GB" | "IE" => Some(22),
        "AT" => Some(20),
        _ => None,
    };
    if let Some(n) = expected_len {
        if iban.len() != n {
            return Err(invalid(
                "iban",
                text!(
                    "un IBAN {country} a {n} caractères, celui-ci {len}",
                    country = country,
                    n = n,
                    len = iban.len()
                ),
            ));
        }
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut remainder: u32 = 0;
    for c in rearranged.chars() {
        let value = c.to_digit(36).expect("alphanumeric checked");
        for digit in value.to_string().bytes() {
            remainder = (remainder * 10 + u32::from(digit - b'0')) % 97;
        }
    }
    if remainder != 1 {
        return Err(invalid(
            "iban",
            text!("« {text} » : clé de contrôle fausse (mod 97)", text = text.trim()),
        ));
    }
    Ok(iban)
}

/// A BIC (ISO 9362): 4 letters (bank), 2 letters (country), 2 letters or
/// digits (location), then optionally 3 (branch): 8 or 11 characters.
/// Returned without spaces, upper case.
pub fn bic(text: &str) -> Result<String, BillingError> {
    input::check(text.trim(), Lines::One).map_err(|e| invalid("bic", e.text()))?;
    let bic: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = bic.as_bytes();
    let shaped = (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(u8::is_ascii_alphanumeric);
    if !shaped {
        return Err(invalid(
            "bic",
            text!(
                "« {text} » n'est pas un BIC (8 ou 11 caractères, ex. BNPAFRPPXXX)",
                text = text.trim()
            ),
        ));
    }
    if !super::address::is_country(&bic[4..6]) {
        return Err(invalid(
            "bic",
            text!(
                "« {text} » : le pays du BIC ({country}) n'existe pas",
                text = text.trim(),
                country = &bic[4..6]
            ),
        ));
    }
    Ok(bic)
}

/// An optional value (blank is none) checked by `check`.
pub fn optional(
    value: Option<&str>,
    check: fn(&str) -> Result<String, BillingError>,
) -> Result<Option<String>, BillingError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => check(v).map(Some),
    }
}

/// The French e-invoicing rules route business-to-business invoices through the directory
/// (annuaire): the seller's and a business customer's electronic address is scheme 0225 and
/// starts with their own SIREN (BR-FR-21 for the customer; the same for the seller). An
/// e-mail or another party's SIREN would make a document the platform refuses.
pub fn directory_address(address: &str, scheme: &str, own_siren: &str) -> Result<(), BillingError> {
    let head = address.split('_').next().unwrap_or_default();
    if scheme == crate::billing::settings::SIREN_SCHEME && head == own_siren {
        return Ok(());
    }
    Err(invalid(
        "electronic_address",
        text!(
            "« {address} » : l'adresse électronique d'une entreprise est celle de l'annuaire, \
             schéma 0225, commençant par son SIREN {siren}",
            address = address,
            siren = own_siren
        ),
    ))
}

/// An electronic address (EN 16931 BT-34 / BT-49) and its scheme. Blank
/// address: the SIREN with scheme "0225" when there is one, else none. The
/// scheme defaults to "EM" for an e-mail address and "0225" otherwise.
/// "0225" addresses start with a valid SIREN (the French directory's
/// `SIREN`, `SIREN_SIRET` or `SIREN_SIRET_CODE` forms); "EM" ones are e-mail
/// addresses; other schemes (a 4-digit ISO 6523 ICD) take an identifier of
/// letters, digits and `-_.:`.
pub fn electronic_address(
    address: Option<&str>,
    scheme: Option<&str>,
    default_siren: Option<&str>,
) -> Result<Option<(String, String)>, BillingError> {
    const FIELD: &str = "electronic_address";
    const SCHEME: &str = "electronic_address_scheme";
    let scheme = scheme
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase);
    if let Some(s) = &scheme {
        let is_icd = s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
        if s != "EM" && !is_icd {
            return Err(invalid(
                SCHEME,
                text!(
                    "« {scheme} » : un code ISO 6523 à 4 chiffres (0225 pour un SIREN) ou EM (e-mail)",
                    scheme = s
                ),
            ));
        }
    }
    let Some(address) = address.map(str::trim).filter(|a| !a.is_empty()) else {
        return match scheme.as_deref() {
            None | Some(crate::billing::settings::SIREN_SCHEME) => {
                Ok(default_siren.map(|s| (s.to_string(), crate::billing::settings::SIREN_SCHEME.to_string())))
            }
            Some(other) => Err(invalid(
                FIELD,
                text!("l'adresse est obligatoire avec le schéma {scheme}", scheme = other),
            )),
        };
    };
    input::check(address, Lines::One).map_err(|e| invalid(FIELD, e.text()))?;
    let scheme = match scheme {
        Some(s) => s,
        None if address.contains('@') => crate::billing::settings::EMAIL_SCHEME.into(),
        None => crate::billing::settings::SIREN_SCHEME.into(),
    };
    if address.chars().count() > 100 {
        return Err(invalid(FIELD, input::TextError::TooLong(100).text()));
    }
    let address = match scheme.as_str() {
        "EM" => input::email(address).map_err(|e| invalid(FIELD, e.text()))?,
        "0225" => {
            let head = address.split('_').next().unwrap_or_default();
            siren(head).map_err(|_| {
                invalid(
                    FIELD,
                    text!(
                        "« {address} » : une adresse 0225 commence par un SIREN valide (SIREN, SIREN_SIRET…)",
                        address = address
                    ),
                )
            })?;
            if !address.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(invalid(
                    FIELD,
                    text!("« {address} » : lettres, chiffres et _ seulement", address = address),
                ));
            }
            address.to_string()
        }
        _ => {
            if !address.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
                return Err(invalid(
                    FIELD,
                    text!("« {address} » : lettres, chiffres et -_.: seulement", address = address),
                ));
            }
            address.to_string()
        }
    };
    Ok(Some((address, scheme)))
}

/// A required text on one line, trimmed, at most `max` characters.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, BillingError> {
    required(field, input::single_line(value, max))
}

/// A required text that may span lines (an address): line breaks stored as
/// LF, trimmed, at most `max` characters.
pub fn lines(field: &'static str, value: &str, max: usize) -> Result<String, BillingError> {
    required(field, input::multi_line(value, max))
}

fn required(field: &'static str, checked: Result<String, input::TextError>) -> Result<String, BillingError> {
    match checked {
        Ok(v) if v.is_empty() => Err(invalid(field, text!("est obligatoire"))),
        Ok(v) => Ok(v),
        Err(e) => Err(invalid(field, e.text())),
    }
}

/// An optional e-mail address (blank is none), parsed as the mailer will.
pub fn email(value: Option<&str>) -> Result<Option<String>, BillingError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match input::email(v) {
        Ok(address) => Ok(Some(address)),
        Err(e) => Err(invalid("email", e.text())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siren_luhn() {
        assert_eq!(siren("732 829 320").unwrap(), "732829320");
        assert_eq!(siren("552100554").unwrap(), "552100554");
        assert!(siren("732829321").is_err());
        assert!(siren("12345678").is_err());
        assert!(siren("abcdefghi").is_err());
    }

    #[test]
    fn iban_mod97() {
        assert_eq!(
            iban("fr76 3000 6000 0112 3456 7890 189").unwrap(),
            "FR7630006000011234567890189"
        );
        assert_eq!(iban("DE89370400440532013000").unwrap(), "DE89370400440532013000");
        assert!(iban("FR7630006000011234567890188").is_err());
        assert!(iban("FR76300060000112345678901").is_err());
        assert!(iban("not an iban").is_err());
        assert!(iban("FR76 3000 6000\n0112 3456 7890 189").is_err(), "one line");
        assert!(siren("732 829\r320").is_err(), "one line");
        assert!(siren("732829320\0").is_err());
    }

    #[test]
    fn texts_follow_the_input_policy() {
        assert_eq!(text("name", "  Zoé  ", 200).unwrap(), "Zoé");
        assert!(matches!(
            text("name", " ", 200),
            Err(BillingError::Invalid { field: "name", .. })
        ));
        for bad in ["a\nb", "a\0b", "a\u{1b}b", "a\u{202E}b"] {
            assert!(
                matches!(text("name", bad, 200), Err(BillingError::Invalid { field: "name", .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            lines("address", "1 rue\r\n75001 Paris", 500).unwrap(),
            "1 rue\n75001 Paris"
        );
        assert!(lines("address", "1 rue\u{1b}", 500).is_err());
        assert!(lines("address", "\r\n", 500).is_err(), "blank is missing");
    }

    #[test]
    fn bics() {
        assert_eq!(bic("bnpa fr pp").unwrap(), "BNPAFRPP");
        assert_eq!(bic("BNPAFRPPXXX").unwrap(), "BNPAFRPPXXX");
        for bad in ["BNPAFRP", "BNPAFRPPXX", "BNP1FRPP", "BNPAXXPP", "BNPAFRPP\u{1b}"] {
            assert!(
                matches!(bic(bad), Err(BillingError::Invalid { field: "bic", .. })),
                "{bad}"
            );
        }
        assert_eq!(optional(Some(" "), bic).unwrap(), None);
    }

    #[test]
    fn electronic_addresses() {
        let ea = |a: Option<&str>, s: Option<&str>, siren: Option<&str>| electronic_address(a, s, siren);
        assert_eq!(
            ea(None, None, Some("732829320")).unwrap(),
            Some(("732829320".into(), "0225".into()))
        );
        assert_eq!(ea(Some(" "), Some(""), None).unwrap(), None);
        assert!(matches!(
            ea(None, Some("EM"), Some("732829320")),
            Err(BillingError::Invalid {
                field: "electronic_address",
                ..
            })
        ));
        assert!(matches!(
            ea(None, Some("XYZ"), Some("732829320")),
            Err(BillingError::Invalid {
                field: "electronic_address_scheme",
                ..
            })
        ));
        assert_eq!(
            ea(Some("factures@client.fr"), None, Some("732829320")).unwrap(),
            Some(("factures@client.fr".into(), "EM".into()))
        );
        assert_eq!(
            ea(Some("732829320_73282932000074"), Some("0225"), None).unwrap(),
            Some(("732829320_73282932000074".into(), "0225".into()))
        );
        assert_eq!(
            ea(Some("4012345000009"), Some("0088"), None).unwrap(),
            Some(("4012345000009".into(), "0088".into()))
        );
        for (a, s, field) in [
            ("732829321", None, "electronic_address"),
            ("not an e-mail", Some("EM"), "electronic_address"),
            ("732829320", Some("XYZ"), "electronic_address_scheme"),
            ("a b", Some("0088"), "electronic_address"),
        ] {
            match ea(Some(a), s, None) {
                Err(BillingError::Invalid { field: f, .. }) => assert_eq!(f, field, "{a}"),
                other => panic!("{a}: {other:?}"),
            }
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(Some(" a@b.fr ")).unwrap().as_deref(), Some("a@b.fr"));
        assert_eq!(email(None).unwrap(), None);
        assert!(email(Some("a@b")).is_err());
        assert!(email(Some("a b@c.fr")).is_err());
        assert!(email(Some("a@b.fr>")).is_err());
        assert!(email(Some("a(c)@b.fr")).is_err());
        match email(Some("\"a b\"@c.fr")) {
            Err(BillingError::Invalid {
                field: "email",
                message,
            }) => {
                assert!(
                    message.to_string().contains("n'est pas une adresse e-mail"),
                    "{message}"
                );
                assert!(
                    message
                        .in_lang(crate::i18n::Lang::En)
                        .contains("is not an e-mail address"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
