//! Form input shared by the billing pages: amounts typed in euros (`12,50`
//! or `12.50`), dates (`2026-12-01` from a date input, or `01/12/2026`),
//! and the domain's refusals turned into messages next to their fields.
//!
//! Billing forms read every field as text and check it here, so a bad value
//! shows the form again (422) with a message by the field instead of a bare
//! error page.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::AdminError;
use crate::billing::catalog::{Nature, Product, Unit};
use crate::billing::customers::{self, Customer};
use crate::billing::error::Message;
use crate::billing::BillingError;
use crate::i18n::{Lang, Text};
use crate::input;
use crate::money::{Currency, Money, MoneyError};
use crate::store::Store;
use crate::text;

/// Field name → message. A page hands `errors.said(admin.lang())` to its
/// template, which `m.field_error(errors, name)` reads.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(BTreeMap<String, Text>);

impl FieldErrors {
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }

    /// The first message for `field` stays (the most basic refusal comes first).
    pub fn add(&mut self, field: impl Into<String>, message: impl Message) {
        self.0.entry(field.into()).or_insert_with(|| message.into_text());
    }

    /// Field name → message in `lang`, for a template.
    pub fn said(&self, lang: Lang) -> BTreeMap<String, String> {
        self.0.iter().map(|(k, v)| (k.clone(), v.in_lang(lang))).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(test)]
    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
}

/// A required amount in `currency`, strictly positive.
pub fn amount(errors: &mut FieldErrors, field: &str, text: &str, currency: Currency) -> Option<Money> {
    let text = text.trim();
    if text.is_empty() {
        errors.add(field, text!("obligatoire"));
        return None;
    }
    match Money::parse(text, currency) {
        Ok(m) if m.minor > 0 => Some(m),
        Ok(_) => {
            errors.add(field, text!("doit être positif"));
            None
        }
        Err(e) => {
            errors.add(field, money_message(text, &e));
            None
        }
    }
}

fn money_message(typed: &str, e: &MoneyError) -> Text {
    match e {
        MoneyError::TooPrecise { currency, exponent, .. } => text!(
            "« {typed} » : {exponent} décimales au plus en {currency}",
            typed = typed,
            exponent = exponent,
            currency = currency
        ),
        _ => text!("« {typed} » n'est pas un montant (ex. 12,50)", typed = typed),
    }
}

/// A date from a date input (`2026-12-01`) or typed the French way (`01/12/2026`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%d/%m/%Y"))
        .ok()
}

/// A required date.
pub fn date(errors: &mut FieldErrors, field: &str, text: &str) -> Option<NaiveDate> {
    if text.trim().is_empty() {
        errors.add(field, text!("obligatoire"));
        return None;
    }
    let d = parse_date(text);
    if d.is_none() {
        errors.add(field, not_a_date(text));
    }
    d
}

/// "« 31/02 » n'est pas une date (jj/mm/aaaa)".
pub fn not_a_date(typed: &str) -> Text {
    text!("« {typed} » n'est pas une date (jj/mm/aaaa)", typed = typed.trim())
}

/// A date given for `field` checked against its bounds
/// ([`crate::billing::dates`]): the domain's refusal by the field.
pub fn bounded(errors: &mut FieldErrors, field: &str, checked: Result<NaiveDate, BillingError>) -> Option<NaiveDate> {
    match checked {
        Ok(d) => Some(d),
        Err(BillingError::Invalid { message, .. }) => {
            errors.add(field, text!("date hors limites : {why}").with("why", message));
            None
        }
        Err(e) => {
            errors.add(field, e.text().unwrap_or_else(|| Text::verbatim(e.to_string())));
            None
        }
    }
}

/// Today by the database clock (the domain's notion of today).
pub async fn today(store: &Store) -> Result<NaiveDate, AdminError> {
    Ok(store.now().await?.date_naive())
}

/// How a form shows a domain refusal: by its field when it names one the form
/// has (`fields`), and as the form's general message (the field's label, then
/// why). Errors that are not about the input (the database, a missing
/// record) go up as they are.
pub fn refused(e: BillingError, fields: &[&str], errors: &mut FieldErrors) -> Result<Text, AdminError> {
    if let BillingError::Invalid { field, message } = &e {
        if fields.contains(field) {
            errors.add(*field, message.clone());
        }
    }
    match e.text() {
        Some(said) if !matches!(e, BillingError::BookAltered(_)) => Ok(said),
        _ => Err(e.into()),
    }
}

/// One line row of a form (`description_3`, `nature_3`, `quantity_3`,
/// `unit_3`, `unit_price_3`, and `product_3` picked from the catalogue), as
/// typed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LineInput {
    pub n: usize,
    pub product: String,
    pub description: String,
    pub nature: String,
    pub quantity: String,
    pub unit: String,
    pub unit_price: String,
}

impl LineInput {
    fn is_blank(&self) -> bool {
        self.description.trim().is_empty() && self.unit_price.trim().is_empty() && self.quantity.trim().is_empty()
    }
}

/// The most line rows a form reads: far beyond any hand-typed invoice, and a
/// bound on what a posted form can make the server allocate.
pub const MAX_LINE_ROWS: usize = 200;

/// The highest line number a posted form holds (`description_12` → 12).
pub fn numbered_rows(form: &HashMap<String, String>) -> usize {
    form.keys()
        .filter_map(|k| {
            let (name, n) = k.rsplit_once('_')?;
            ["product", "description", "nature", "quantity", "unit", "unit_price"]
                .contains(&name)
                .then(|| n.parse::<usize>().ok())
                .flatten()
        })
        .max()
        .unwrap_or(0)
}

/// The line rows of a form read as a map: at least `rows`, and as many as
/// the form numbered (a row added on the page, with or without script), up
/// to [`MAX_LINE_ROWS`] (a form with more is refused, see `numbered_rows`).
pub fn line_inputs(form: &HashMap<String, String>, rows: usize) -> Vec<LineInput> {
    let numbered = numbered_rows(form);
    let get = |name: &str, n: usize| form.get(&format!("{name}_{n}")).cloned().unwrap_or_default();
    (1..=rows.max(numbered).min(MAX_LINE_ROWS))
        .map(|n| LineInput {
            n,
            product: get("product", n),
            description: get("description", n),
            nature: get("nature", n),
            quantity: get("quantity", n),
            unit: get("unit", n),
            unit_price: get("unit_price", n),
        })
        .collect()
}

/// Rows with a product picked from the catalogue and its fields left blank
/// take them from the product (what the page's script does as the product
/// is picked, for a browser without it). An unknown product is an error by
/// its row.
pub fn apply_products(rows: &mut [LineInput], products: &[Product], errors: &mut FieldErrors) {
    for row in rows.iter_mut().filter(|r| !r.product.trim().is_empty()) {
        let Some(p) = products.iter().find(|p| p.sku == row.product.trim()) else {
            errors.add(
                format!("product_{}", row.n),
                text!("produit inconnu ou retiré de la vente"),
            );
            continue;
        };
        if row.description.trim().is_empty() {
            row.description = p.name.clone();
            row.nature = p.nature.as_str().to_string();
        }
        if row.unit_price.trim().is_empty() {
            row.unit_price = p.unit_price.format_number_fr(false);
        }
        if row.unit.trim().is_empty() {
            row.unit = p.unit.map(Unit::as_str).unwrap_or_default().to_string();
        }
    }
}

/// A line checked: what invoice and operation lines are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    pub description: String,
    pub nature: Nature,
    pub quantity: Decimal,
    pub unit: Option<Unit>,
    pub unit_price: Money,
}

/// Checks the rows that are filled in (blank rows are skipped; a blank
/// quantity is 1, a blank nature services); at least one row is required.
pub fn parse_lines(rows: &[LineInput], currency: Currency, errors: &mut FieldErrors) -> Vec<ParsedLine> {
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| !r.is_blank()) {
        let n = row.n;
        let description = match input::single_line(&row.description, DESCRIPTION_MAX) {
            Ok(d) => {
                if d.is_empty() {
                    errors.add(format!("description_{n}"), text!("obligatoire"));
                }
                d
            }
            Err(e) => {
                errors.add(format!("description_{n}"), e.text());
                String::new()
            }
        };
        let nature = match row.nature.trim() {
            "" | "services" => Some(Nature::Services),
            "goods" => Some(Nature::Goods),
            _ => {
                errors.add(format!("nature_{n}"), text!("marchandises ou services"));
                None
            }
        };
        let quantity = match row.quantity.trim() {
            "" => Some(Decimal::ONE),
            q => match Decimal::from_str(&q.replace(',', ".")) {
                Ok(d) if d > Decimal::ZERO && d.scale() <= 3 => Some(d),
                _ => {
                    errors.add(
                        format!("quantity_{n}"),
                        text!("« {typed} » : une quantité positive, 3 décimales au plus", typed = q),
                    );
                    None
                }
            },
        };
        let unit = match row.unit.trim() {
            "" => Some(None),
            u => match Unit::parse(u) {
                Ok(u) => Some(Some(u)),
                Err(_) => {
                    errors.add(
                        format!("unit_{n}"),
                        text!("unité inconnue : choisissez-en une de la liste"),
                    );
                    None
                }
            },
        };
        let unit_price = amount_allowing_zero(errors, &format!("unit_price_{n}"), &row.unit_price, currency);
        if let (false, Some(nature), Some(quantity), Some(unit), Some(unit_price)) =
            (description.is_empty(), nature, quantity, unit, unit_price)
        {
            out.push(ParsedLine {
                description,
                nature,
                quantity,
                unit,
                unit_price,
            });
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.add("description_1", text!("au moins une ligne"));
    }
    out
}

/// The longest line description (the domain's limit).
const DESCRIPTION_MAX: usize = 300;

/// A required unit price: zero is allowed (a free item), negative is not.
fn amount_allowing_zero(errors: &mut FieldErrors, field: &str, text: &str, currency: Currency) -> Option<Money> {
    let text = text.trim();
    if text.is_empty() {
        errors.add(field, text!("obligatoire"));
        return None;
    }
    match Money::parse(text, currency) {
        Ok(m) if m.minor >= 0 => Some(m),
        Ok(_) => {
            errors.add(field, text!("ne peut pas être négatif"));
            None
        }
        Err(e) => {
            errors.add(field, money_message(text, &e));
            None
        }
    }
}

/// Customers to choose from in a select: the newest ones, and `selected`
/// whatever its age.
pub async fn customer_choices(store: &Store, selected: Option<i64>) -> Result<Vec<Customer>, AdminError> {
    let mut list = customers::list(store, CHOICES, None).await?;
    if let Some(id) = selected {
        if !list.iter().any(|c| c.id == id) {
            match customers::get(store, id).await {
                Ok(c) => list.insert(0, c),
                Err(BillingError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(list)
}

/// The seller's currency: euros until the settings say otherwise.
pub async fn seller_currency(store: &Store) -> Result<Currency, AdminError> {
    match crate::billing::settings::load(store).await {
        Ok(s) => Ok(s.currency),
        Err(BillingError::NoSettings) => Ok(Currency::EUR),
        Err(e) => Err(e.into()),
    }
}

/// How many customers a select offers.
const CHOICES: i64 = 500;

/// A card number, IBAN or other long text shortened for a list.
pub fn masked_iban(iban: &str) -> String {
    let tail: String = iban
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = iban.chars().take(4).collect();
    format!("{head} •••• {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_dates() {
        let mut errors = FieldErrors::new();
        assert_eq!(
            amount(&mut errors, "a", "12,50", Currency::EUR),
            Some(Money::new(1250, Currency::EUR))
        );
        assert_eq!(
            amount(&mut errors, "a", " 1 234.5 ", Currency::EUR),
            Some(Money::new(123_450, Currency::EUR))
        );
        assert!(errors.is_empty());
        assert_eq!(amount(&mut errors, "b", "abc", Currency::EUR), None);
        assert_eq!(amount(&mut errors, "c", "0", Currency::EUR), None);
        assert_eq!(amount(&mut errors, "d", "1,234", Currency::EUR), None);
        assert!(errors.contains("b") && errors.contains("c") && errors.contains("d"));
        assert_eq!(parse_date("2026-12-01"), NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(parse_date("01/12/2026"), NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(parse_date("31/02/2026"), None);
        assert_eq!(masked_iban("FR7630006000011234567890189"), "FR76 •••• 0189");
    }

    #[test]
    fn lines_skip_blank_rows_and_name_bad_fields() {
        let form: HashMap<String, String> = [
            ("description_1", "Conseil"),
            ("quantity_1", "1,5"),
            ("unit_price_1", "100"),
            ("nature_2", "goods"),
            ("description_3", "Mug"),
            ("nature_3", "goods"),
            ("unit_price_3", "abc"),
            ("quantity_4", "-1"),
            ("unit_price_4", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let rows = line_inputs(&form, 5);
        let mut errors = FieldErrors::new();
        let lines = parse_lines(&rows, Currency::EUR, &mut errors);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].quantity, Decimal::new(15, 1));
        assert_eq!(lines[0].unit_price, Money::new(10_000, Currency::EUR));
        assert!(errors.contains("unit_price_3"));
        assert!(errors.contains("description_4") && errors.contains("quantity_4"));
        assert!(!errors.contains("description_2"), "a row with only a nature is blank");

        let form: HashMap<String, String> = [
            ("description_1", "Conseil\r\nBcc: x"),
            ("unit_price_1", "1"),
            ("description_2", "Mug \u{202E}gpj"),
            ("unit_price_2", "1"),
            ("description_3", "  Séance  "),
            ("unit_price_3", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut errors = FieldErrors::new();
        let lines = parse_lines(&line_inputs(&form, 5), Currency::EUR, &mut errors);
        assert!(errors.contains("description_1") && errors.contains("description_2"));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].description, "Séance");

        let mut errors = FieldErrors::new();
        assert!(parse_lines(&line_inputs(&HashMap::new(), 5), Currency::EUR, &mut errors).is_empty());
        assert!(errors.contains("description_1"));
    }
}
