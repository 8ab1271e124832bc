//! Sensitive values in job args and errors, masked before they reach a page:
//! `••••` and the last four characters. A value is sensitive when its key
//! names a secret (IBAN, BIC, token, secret, password, card, authorization,
//! API key, payment method; any case, anywhere in the key), or when it looks
//! like an IBAN or a provider's secret (`pm_…`, `sk_…`, `tok_…`), wherever
//! it appears in a string.

use serde_json::Value;

const SENSITIVE_KEYS: [&str; 9] = [
    "iban",
    "bic",
    "token",
    "secret",
    "password",
    "card",
    "authorization",
    "api_key",
    "payment_method",
];

/// Prefixes of provider and Comptoir secrets (payment methods, secret and
/// restricted keys, card tokens, webhook secrets, API keys).
const SECRET_PREFIXES: [&str; 6] = ["pm_", "sk_", "tok_", "rk_", "whsec_", "ck_"];

const DOTS: &str = "••••";

/// A copy of `value` with every sensitive value masked, at any depth.
pub fn mask_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive_key(k) { mask_all(v) } else { mask_json(v) };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::String(s) => Value::String(mask_text(s)),
        other => other.clone(),
    }
}

/// Under a sensitive key, every scalar is masked (numbers too: a card number
/// may be stored as one); `null` and booleans say nothing and stay.
fn mask_all(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), mask_all(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(mask_all).collect()),
        Value::String(s) => Value::String(masked(s)),
        Value::Number(n) => Value::String(masked(&n.to_string())),
        other => other.clone(),
    }
}

fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('-', "_");
    SENSITIVE_KEYS.iter().any(|k| key.contains(k))
}

/// `••••` and the last four characters; short values show nothing.
fn masked(secret: &str) -> String {
    let compact: Vec<char> = secret.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() <= 8 {
        return DOTS.to_string();
    }
    let tail: String = compact[compact.len() - 4..].iter().collect();
    format!("{DOTS}{tail}")
}

/// Free text (an error message, a string arg) with IBAN-like spans and
/// secret-looking words masked.
pub fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let at_boundary = prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_'));
        if at_boundary {
            if let Some(len) = iban_len(rest).or_else(|| secret_len(rest)) {
                out.push_str(&masked(&rest[..len]));
                prev = rest[..len].chars().last();
                rest = &rest[len..];
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The byte length of an IBAN-looking span at the start of `text`: two
/// capital letters, two digits, then capitals and digits, in groups separated
/// by single spaces, 15 to 34 of them in all, ending at a word boundary. The
/// longest such span wins.
fn iban_len(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let upper_or_digit = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let head_ok = b.len() >= 4
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit();
    if !head_ok {
        return None;
    }
    let (mut i, mut count, mut best) = (0, 0, None);
    loop {
        while i < b.len() && upper_or_digit(b[i]) && count < 34 {
            count += 1;
            i += 1;
        }
        let boundary = text[i..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if !boundary {
            return best;
        }
        if (15..=34).contains(&count) {
            best = Some(i);
        }
        if b.get(i) == Some(&b' ') && b.get(i + 1).is_some_and(|c| upper_or_digit(*c)) {
            i += 1;
        } else {
            return best;
        }
    }
}

/// The byte length of a secret-looking word (`sk_live_…`) at the start of `text`.
fn secret_len(text: &str) -> Option<usize> {
    let prefix = SECRET_PREFIXES.iter().find(|p| text.starts_with(*p))?;
    let len = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i);
    (len >= prefix.len() + 4).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_keys_at_any_depth() {
        let args = json!({
            "invoice_id": 12,
            "IBAN": "FR76 3000 6000 0112 3456 7890 189",
            "mandate": { "Bic": "AGRIFRPP882", "payments": [{ "card_number": 4242424242424242u64 }] },
            "x-Authorization": "Bearer ck_abcd_0123456789",
            "stripe_token": "short",
            "password": null,
        });
        assert_eq!(
            mask_json(&args),
            json!({
                "invoice_id": 12,
                "IBAN": "••••0189",
                "mandate": { "Bic": "••••P882", "payments": [{ "card_number": "••••4242" }] },
                "x-Authorization": "••••6789",
                "stripe_token": "••••",
                "password": null,
            })
        );
    }

    #[test]
    fn values_that_look_secret_are_masked_anywhere() {
        let args = json!({
            "note": "virement depuis FR7630006000011234567890189, merci",
            "method": "pm_1NqXyz2eZvKYlo2C",
            "list": ["sk_live_51Habcdef", "tok_visa_4242x", "ok"],
        });
        assert_eq!(
            mask_json(&args),
            json!({
                "note": "virement depuis ••••0189, merci",
                "method": "••••lo2C",
                "list": ["••••cdef", "••••242x", "ok"],
            })
        );
    }

    #[test]
    fn free_text_keeps_what_is_not_secret() {
        assert_eq!(
            mask_text("provider said: card declined for pm_card_visa_1234 (IBAN FR76 3000 6000 0112 3456 7890 189)"),
            "provider said: card declined for ••••1234 (IBAN ••••0189)"
        );
        // Invoice numbers, short codes and ordinary words stay.
        assert_eq!(
            mask_text("fourni FR7630006000011234567890189 et tok_visa_abcdef99"),
            "fourni ••••0189 et ••••ef99"
        );
        for plain in [
            "F2026-0001",
            "AB12 is fine",
            "desk_lamp",
            "risk_score 3",
            "FR76 3000",
            "fr7630006000011234567890189",
        ] {
            assert_eq!(mask_text(plain), plain);
        }
        assert_eq!(mask_text("é FR7630006000011234567890189 é"), "é ••••0189 é");
        // Part of a longer word: not an IBAN on its own.
        assert_eq!(
            mask_text("XFR7630006000011234567890189"),
            "XFR7630006000011234567890189"
        );
    }
}
