//! The seller's identity as printed on documents, and the document series.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::address::{PostalAddress, ADDRESS};
use super::error::{invalid, BillingError};
use super::{terms, validate};
use crate::money::Currency;
use crate::store::{Store, Tx};
use crate::text;

/// What the seller sells; decides the nature of receipts in the livre de recettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    Goods,
    Services,
    Mixed,
}

impl Activity {
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Goods => "goods",
            Activity::Services => "services",
            Activity::Mixed => "mixed",
        }
    }

    pub fn parse(s: &str) -> Result<Activity, BillingError> {
        match s {
            "goods" => Ok(Activity::Goods),
            "services" => Ok(Activity::Services),
            "mixed" => Ok(Activity::Mixed),
            other => Err(invalid(
                "activity",
                text!("« {value} » : biens (goods), services ou mixte (mixed)", value = other),
            )),
        }
    }
}

pub use super::terms::{VatRegime, FRANCHISE_MENTION, NO_DISCOUNT};
pub use super::urssaf::{DeclarationFrequency, ServicesCategory};

/// What `billing configure` and the admin's settings page offer by default.
pub const DEFAULT_PAYMENT_TERMS_DAYS: i32 = 30;
/// The late-penalty rate offered by default, percent a year (above three
/// times the legal interest rate of every semester since 2024).
pub const DEFAULT_LATE_PENALTY_RATE: Decimal = Decimal::from_parts(15, 0, 0, false, 0);
pub const DEFAULT_INVOICE_PREFIX: &str = "F";
pub const DEFAULT_CREDIT_NOTE_PREFIX: &str = "AV";
/// The scheme of an electronic address that is a SIREN, as the French
/// e-invoicing directory (annuaire) uses it (ISO 6523 ICD 0225).
pub const SIREN_SCHEME: &str = "0225";
/// The scheme of an electronic address that is an e-mail address (EAS list).
pub const EMAIL_SCHEME: &str = "EM";

fn siren_scheme() -> String {
    SIREN_SCHEME.into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Printed as is; a micro-entrepreneur's name must carry "EI".
    pub seller_name: String,
    pub siren: String,
    pub address: PostalAddress,
    pub email: Option<String>,
    /// The seller's address on the e-invoicing network (EN 16931 BT-34);
    /// blank: the SIREN (scheme 0225).
    #[serde(default)]
    pub electronic_address: String,
    /// Its scheme (BT-34-1): "0225" (SIREN…), "EM" (e-mail)…
    #[serde(default = "siren_scheme")]
    pub electronic_address_scheme: String,
    /// The account transfers are paid to (printed, and BG-17 of the XML).
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub bic: Option<String>,
    pub activity: Activity,
    /// Decides the VAT mention ([`Settings::vat_mention`]).
    #[serde(default)]
    pub vat_regime: VatRegime,
    pub payment_terms_days: i32,
    /// Percent a year, e.g. 10 for 10 %; at least three times the legal
    /// interest rate of the semester ([`terms::minimum_late_penalty_rate`]).
    pub late_penalty_rate: Decimal,
    /// The discount for early payment; none prints [`NO_DISCOUNT`].
    #[serde(default)]
    pub discount_terms: Option<String>,
    pub invoice_prefix: String,
    pub credit_note_prefix: String,
    pub currency: Currency,
    /// Where services are declared to URSSAF: BIC or BNC.
    #[serde(default)]
    pub services_category: ServicesCategory,
    /// Whether turnover is declared to URSSAF every month or every quarter.
    #[serde(default)]
    pub declaration_frequency: DeclarationFrequency,
}

impl Settings {
    /// Checks and normalises every field; the penalty rate is held to the
    /// legal minimum of `today`'s semester.
    pub fn validated(mut self, today: NaiveDate) -> Result<Settings, BillingError> {
        self.seller_name = validate::text("seller_name", &self.seller_name, 200)?;
        let words: Vec<&str> = self
            .seller_name
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if !words.contains(&"EI") {
            return Err(invalid(
                "seller_name",
                text!("le nom d'un entrepreneur individuel porte « EI » (ex. « Marie Dupont EI »)"),
            ));
        }
        self.siren = validate::siren(&self.siren)?;
        self.address = self.address.validated(&ADDRESS)?;
        self.email = validate::email(self.email.as_deref())?;
        let (address, scheme) = validate::electronic_address(
            Some(&self.electronic_address),
            Some(&self.electronic_address_scheme),
            Some(&self.siren),
        )?
        .ok_or_else(|| invalid("electronic_address", text!("est obligatoire")))?;
        validate::directory_address(&address, &scheme, &self.siren)?;
        self.electronic_address = address;
        self.electronic_address_scheme = scheme;
        self.iban = validate::optional(self.iban.as_deref(), validate::iban)?;
        self.bic = validate::optional(self.bic.as_deref(), validate::bic)?;
        if !(0..=60).contains(&self.payment_terms_days) {
            return Err(invalid(
                "payment_terms_days",
                text!("de 0 à 60 jours (Code de commerce L441-10)"),
            ));
        }
        self.late_penalty_rate = terms::late_penalty_rate(self.late_penalty_rate, today)?;
        self.discount_terms = match self.discount_terms.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => Some(validate::text("discount_terms", t, 300)?),
        };
        for (field, prefix) in [
            ("invoice_prefix", &mut self.invoice_prefix),
            ("credit_note_prefix", &mut self.credit_note_prefix),
        ] {
            *prefix = validate::text(field, prefix, 10)?;
            if !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(invalid(field, text!("lettres et chiffres seulement")));
            }
        }
        if self.invoice_prefix == self.credit_note_prefix {
            return Err(invalid("credit_note_prefix", text!("les avoirs ont leur propre série")));
        }
        Ok(self)
    }

    /// The VAT mention every document prints, decided by the regime.
    pub fn vat_mention(&self) -> &'static str {
        self.vat_regime.vat_mention()
    }

    /// The discount terms as printed: the seller's, or "Pas d'escompte…".
    pub fn discount_text(&self) -> &str {
        self.discount_terms.as_deref().unwrap_or(NO_DISCOUNT)
    }

    /// The series an invoice issued on `date` numbers in, e.g. `F2026`.
    pub fn invoice_series(&self, date: NaiveDate) -> String {
        format!("{}{}", self.invoice_prefix, date.year())
    }

    pub fn credit_note_series(&self, date: NaiveDate) -> String {
        format!("{}{}", self.credit_note_prefix, date.year())
    }
}

/// The printed number of document `number` in `series`: `F2026-0042`.
pub fn reference(series: &str, number: i64) -> String {
    format!("{series}-{number:04}")
}

/// Saves the settings, checked. Once a document is numbered, the series
/// prefixes and the currency are fixed (a new prefix would start a second
/// numbering): changing one is refused, naming it.
pub async fn save(tx: &mut Tx, settings: Settings) -> Result<Settings, BillingError> {
    let settings = settings.validated(super::dates::today_in(tx).await?)?;
    if crate::billing::sql::settings::any_numbered_in(tx).await? {
        let current = load_in(tx).await?;
        for (field, before, after) in [
            (
                "invoice_prefix",
                current.invoice_prefix.as_str(),
                settings.invoice_prefix.as_str(),
            ),
            (
                "credit_note_prefix",
                current.credit_note_prefix.as_str(),
                settings.credit_note_prefix.as_str(),
            ),
            ("currency", current.currency.code(), settings.currency.code()),
        ] {
            if before != after {
                return Err(invalid(
                    field,
                    text!("des documents sont déjà numérotés dans cette série : elle ne change plus"),
                ));
            }
        }
    }
    crate::billing::sql::settings::save(tx, &settings).await?;
    Ok(settings)
}

pub async fn load(store: &Store) -> Result<Settings, BillingError> {
    crate::billing::sql::settings::load(store)
        .await?
        .ok_or(BillingError::NoSettings)
}

pub async fn load_in(tx: &mut Tx) -> Result<Settings, BillingError> {
    crate::billing::sql::settings::load_in(tx)
        .await?
        .ok_or(BillingError::NoSettings)
}

/// Whether a document has been numbered: the series prefixes and the
/// currency are then fixed (a new prefix would start a second numbering).
pub async fn series_in_use(store: &Store) -> Result<bool, BillingError> {
    Ok(crate::billing::sql::settings::any_numbered(store).await?)
}
