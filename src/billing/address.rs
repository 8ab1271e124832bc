//! Structured postal addresses (EN 16931 BG-5, BG-8, BG-15): street lines,
//! postcode, city and ISO 3166-1 country, for the seller, the customers and
//! a delivery place.

use serde::{Deserialize, Deserializer, Serialize};

use super::error::{invalid, BillingError};
use crate::input;
use crate::text;

/// At most this many street lines (EN 16931 has three address lines).
pub const MAX_LINES: usize = 3;
const LINE_MAX: usize = 100;
const POSTCODE_MAX: usize = 16;
const CITY_MAX: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// 1 to 3 lines: street and number, building, locality…
    pub lines: Vec<String>,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, upper case (`FR`).
    pub country: String,
}

/// The field names an address's errors carry (`address.postcode`…).
#[derive(Debug, Clone, Copy)]
pub struct AddressFields {
    pub lines: &'static str,
    pub postcode: &'static str,
    pub city: &'static str,
    pub country: &'static str,
}

/// The seller's or a customer's address.
pub const ADDRESS: AddressFields = AddressFields {
    lines: "address.lines",
    postcode: "address.postcode",
    city: "address.city",
    country: "address.country",
};

/// The delivery address of an invoice.
pub const DELIVERY_ADDRESS: AddressFields = AddressFields {
    lines: "delivery_address.lines",
    postcode: "delivery_address.postcode",
    city: "delivery_address.city",
    country: "delivery_address.country",
};

/// A customer's address given inline with an order (API).
pub const CUSTOMER_ADDRESS: AddressFields = AddressFields {
    lines: "customer.address.lines",
    postcode: "customer.address.postcode",
    city: "customer.address.city",
    country: "customer.address.country",
};

impl PostalAddress {
    /// Checks and normalises every part; errors name the part (`address.postcode`).
    pub fn validated(self, f: &AddressFields) -> Result<PostalAddress, BillingError> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for line in &self.lines {
            let line = input::single_line(line, LINE_MAX).map_err(|e| invalid(f.lines, e.text()))?;
            if !line.is_empty() {
                lines.push(line);
            }
        }
        if lines.is_empty() {
            return Err(invalid(f.lines, text!("l'adresse (numéro et rue) est obligatoire")));
        }
        if lines.len() > MAX_LINES {
            return Err(invalid(
                f.lines,
                text!("{max} lignes d'adresse au plus", max = MAX_LINES),
            ));
        }
        let postcode = input::single_line(&self.postcode, POSTCODE_MAX).map_err(|e| invalid(f.postcode, e.text()))?;
        if postcode.is_empty() {
            return Err(invalid(f.postcode, text!("le code postal est obligatoire")));
        }
        let city = input::single_line(&self.city, CITY_MAX).map_err(|e| invalid(f.city, e.text()))?;
        if city.is_empty() {
            return Err(invalid(f.city, text!("la ville est obligatoire")));
        }
        let country = input::single_line(&self.country, 2)
            .map_err(|_| invalid(f.country, country_message(&self.country)))?
            .to_ascii_uppercase();
        if country.is_empty() {
            return Err(invalid(f.country, text!("le pays est obligatoire (code ISO, ex. FR)")));
        }
        if !is_country(&country) {
            return Err(invalid(f.country, country_message(&self.country)));
        }
        if country == "FR" && !(postcode.len() == 5 && postcode.bytes().all(|b| b.is_ascii_digit())) {
            return Err(invalid(
                f.postcode,
                text!(
                    "« {postcode} » : un code postal français a 5 chiffres",
                    postcode = postcode
                ),
            ));
        }
        Ok(PostalAddress {
            lines,
            postcode,
            city,
            country,
        })
    }

    /// An address typed as free text before addresses had parts: its
    /// lines, best effort. When the last line, or the last part of it after
    /// ", ", reads "75011 Paris", it becomes the French postcode and city
    /// (as migration 0008 does in SQL).
    pub fn from_legacy(text: &str) -> PostalAddress {
        let mut lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        let Some(last) = lines.pop() else {
            return PostalAddress::default();
        };
        let (head, tail) = match last.rsplit_once(", ") {
            Some((head, tail)) if french_postcode_city(tail).is_some() => (Some(head.trim().to_string()), tail),
            _ => (None, last.as_str()),
        };
        match french_postcode_city(tail) {
            Some((postcode, city)) => {
                lines.extend(head.filter(|h| !h.is_empty()));
                PostalAddress {
                    lines,
                    postcode,
                    city,
                    country: "FR".into(),
                }
            }
            None => {
                lines.push(last.clone());
                PostalAddress {
                    lines,
                    ..PostalAddress::default()
                }
            }
        }
    }

    /// Whether postcode, city and country are all known (addresses carried
    /// over from free text may lack them).
    pub fn is_complete(&self) -> bool {
        !self.lines.is_empty() && !self.postcode.is_empty() && !self.city.is_empty() && !self.country.is_empty()
    }

    /// The lines as printed on a French document: street lines, "postcode
    /// city", then the country's code when it is not France.
    pub fn printed_lines(&self) -> Vec<String> {
        let mut out = self.lines.clone();
        let town = format!("{} {}", self.postcode, self.city).trim().to_string();
        if !town.is_empty() {
            out.push(town);
        }
        if !self.country.is_empty() && self.country != "FR" {
            out.push(self.country.clone());
        }
        out
    }

    /// The street lines as stored (one text, LF between lines).
    pub fn lines_text(&self) -> String {
        self.lines.join("\n")
    }

    /// From the stored columns.
    pub fn from_columns(lines: &str, postcode: String, city: String, country: String) -> PostalAddress {
        PostalAddress {
            lines: lines
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            postcode,
            city,
            country,
        }
    }
}

fn country_message(given: &str) -> crate::i18n::Text {
    text!(
        "« {given} » n'est pas un code pays ISO 3166 (ex. FR, BE, DE)",
        given = given.trim()
    )
}

/// "75011 Paris" → ("75011", "Paris").
fn french_postcode_city(line: &str) -> Option<(String, String)> {
    let (postcode, city) = line.split_once(' ')?;
    let city = city.trim();
    (postcode.len() == 5 && postcode.bytes().all(|b| b.is_ascii_digit()) && !city.is_empty() && !city.contains(','))
        .then(|| (postcode.to_string(), city.to_string()))
}

/// Reads an address as written today, or as one free-text string as old
/// documents froze it ([`PostalAddress::from_legacy`]).
pub fn address_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<PostalAddress, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Parts(PostalAddress),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => PostalAddress {
            lines: t
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            ..PostalAddress::default()
        },
        Either::Parts(p) => p,
    })
}

/// Reads an address given as its parts, or, from clients written before
/// addresses had parts, as one text read by [`PostalAddress::from_legacy`]
/// (then checked as any other).
pub fn address_or_legacy<'de, D: Deserializer<'de>>(d: D) -> Result<PostalAddress, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Parts(PostalAddress),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => PostalAddress::from_legacy(&t),
        Either::Parts(p) => p,
    })
}

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code.
pub fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes (ISO 3166
/// Maintenance Agency list, as of 2024; no crate of the tree carries it and
/// it changes about once a decade). Sorted, for `binary_search`.
const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> PostalAddress {
        PostalAddress {
            lines: vec![" 12 rue des Lilas ".into(), "".into()],
            postcode: " 75011".into(),
            city: "Paris ".into(),
            country: "fr".into(),
        }
    }

    fn field(r: Result<PostalAddress, BillingError>) -> &'static str {
        match r {
            Err(BillingError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_country_list_is_sorted_and_complete() {
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert!(is_country("FR") && is_country("BE") && !is_country("XX") && !is_country("fr"));
    }

    #[test]
    fn validated_normalises_and_names_the_part() {
        let a = paris().validated(&ADDRESS).unwrap();
        assert_eq!(a.lines, vec!["12 rue des Lilas"]);
        assert_eq!(
            (a.postcode.as_str(), a.city.as_str(), a.country.as_str()),
            ("75011", "Paris", "FR")
        );
        assert_eq!(a.printed_lines(), vec!["12 rue des Lilas", "75011 Paris"]);
        let bad = |f: fn(&mut PostalAddress)| {
            let mut a = paris();
            f(&mut a);
            a
        };
        assert_eq!(
            field(bad(|a| a.postcode = "7501".into()).validated(&ADDRESS)),
            "address.postcode"
        );
        assert_eq!(
            field(bad(|a| a.postcode = "".into()).validated(&ADDRESS)),
            "address.postcode"
        );
        assert_eq!(field(bad(|a| a.city = " ".into()).validated(&ADDRESS)), "address.city");
        assert_eq!(
            field(bad(|a| a.country = "XX".into()).validated(&ADDRESS)),
            "address.country"
        );
        assert_eq!(
            field(bad(|a| a.country = "FRA".into()).validated(&ADDRESS)),
            "address.country"
        );
        assert_eq!(
            field(bad(|a| a.country = "".into()).validated(&ADDRESS)),
            "address.country"
        );
        assert_eq!(field(bad(|a| a.lines = vec![]).validated(&ADDRESS)), "address.lines");
        assert_eq!(
            field(bad(|a| a.lines = vec!["a".into(), "b".into(), "c".into(), "d".into()]).validated(&ADDRESS)),
            "address.lines"
        );
        assert_eq!(
            field(bad(|a| a.lines = vec!["a\u{1b}".into()]).validated(&ADDRESS)),
            "address.lines"
        );
        assert_eq!(
            field(bad(|a| a.lines = vec!["a\nb".into()]).validated(&ADDRESS)),
            "address.lines"
        );
        assert_eq!(
            field(bad(|a| a.city = "Paris\0".into()).validated(&DELIVERY_ADDRESS)),
            "delivery_address.city"
        );
        // A foreign postcode is not held to the French shape.
        let be = bad(|a| {
            a.country = "BE".into();
            a.postcode = "1000".into()
        });
        assert_eq!(be.validated(&ADDRESS).unwrap().printed_lines()[2], "BE");
    }

    #[test]
    fn legacy_text_splits_a_french_last_line() {
        let a = PostalAddress::from_legacy("Bâtiment B\n3 place du Marché\n69002 Lyon\n");
        assert_eq!(a.lines, vec!["Bâtiment B", "3 place du Marché"]);
        assert_eq!(
            (a.postcode.as_str(), a.city.as_str(), a.country.as_str()),
            ("69002", "Lyon", "FR")
        );
        let b = PostalAddress::from_legacy("3 place du Marché, Lyon");
        assert_eq!(b.lines, vec!["3 place du Marché, Lyon"]);
        assert!(!b.is_complete());
        let c = PostalAddress::from_legacy("3 place du Marché, Bâtiment B, 69002 Lyon");
        assert_eq!(c.lines, vec!["3 place du Marché, Bâtiment B"]);
        assert_eq!((c.postcode.as_str(), c.city.as_str()), ("69002", "Lyon"));
        let d = PostalAddress::from_legacy("69002 Lyon");
        assert!(d.lines.is_empty());
        assert_eq!(d.city, "Lyon");
        assert_eq!(PostalAddress::from_legacy(" \n "), PostalAddress::default());
    }

    #[test]
    fn old_documents_read_a_text_address() {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(deserialize_with = "address_or_text")]
            address: PostalAddress,
        }
        let old: Doc = serde_json::from_str(r#"{"address": "1 rue\n75001 Paris"}"#).unwrap();
        assert_eq!(old.address.lines, vec!["1 rue", "75001 Paris"]);
        assert_eq!(old.address.postcode, "");
        let new: Doc = serde_json::from_str(
            r#"{"address": {"lines": ["1 rue"], "postcode": "75001", "city": "Paris", "country": "FR"}}"#,
        )
        .unwrap();
        assert_eq!(new.address.city, "Paris");
    }
}
