//! `/admin/settings`: the seller's identity printed on every document (the
//! same settings as `comptoir-worker billing configure`). Once a document
//! has been issued, the series prefixes and the currency are fixed: a new
//! prefix would start a second numbering mid-year.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::billing_input::FieldErrors;
use super::{Admin, AdminError, Form};
use crate::billing::actions::settings as actions;
use crate::billing::address::PostalAddress;
use crate::billing::settings::{self, Activity, DeclarationFrequency, ServicesCategory, Settings, VatRegime};
use crate::billing::terms;
use crate::billing::BillingError;
use crate::i18n::{Lang, Text};
use crate::money::Currency;
use crate::text;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/settings.html")];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/settings", Access::Operator, page)
        .post("/admin/settings", Access::Operator, save)
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct SettingsForm {
    seller_name: String,
    siren: String,
    /// The street lines, one per line (3 at most).
    #[serde(default)]
    address_lines: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    electronic_address: String,
    #[serde(default)]
    electronic_address_scheme: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    activity: String,
    #[serde(default)]
    vat_regime: String,
    payment_terms_days: String,
    late_penalty_rate: String,
    #[serde(default)]
    discount_terms: String,
    invoice_prefix: String,
    credit_note_prefix: String,
    currency: String,
    /// URSSAF: `bic` or `bnc`; blank: the default (bic).
    #[serde(default)]
    services_category: String,
    /// URSSAF: `monthly` or `quarterly`; blank: the default (quarterly).
    #[serde(default)]
    declaration_frequency: String,
}

/// The fields the page shows an error next to (the domain's names).
const FIELDS: &[&str] = &[
    "seller_name",
    "siren",
    "address.lines",
    "address.postcode",
    "address.city",
    "address.country",
    "email",
    "electronic_address",
    "electronic_address_scheme",
    "iban",
    "bic",
    "activity",
    "vat_regime",
    "payment_terms_days",
    "late_penalty_rate",
    "discount_terms",
    "invoice_prefix",
    "credit_note_prefix",
    "currency",
    "services_category",
    "declaration_frequency",
];

impl SettingsForm {
    fn of(s: &Settings) -> SettingsForm {
        SettingsForm {
            seller_name: s.seller_name.clone(),
            siren: s.siren.clone(),
            address_lines: s.address.lines_text(),
            postcode: s.address.postcode.clone(),
            city: s.address.city.clone(),
            country: s.address.country.clone(),
            email: s.email.clone().unwrap_or_default(),
            electronic_address: s.electronic_address.clone(),
            electronic_address_scheme: s.electronic_address_scheme.clone(),
            iban: s.iban.clone().unwrap_or_default(),
            bic: s.bic.clone().unwrap_or_default(),
            activity: s.activity.as_str().into(),
            vat_regime: s.vat_regime.as_str().into(),
            payment_terms_days: s.payment_terms_days.to_string(),
            late_penalty_rate: terms::percent(s.late_penalty_rate),
            discount_terms: s.discount_terms.clone().unwrap_or_default(),
            invoice_prefix: s.invoice_prefix.clone(),
            credit_note_prefix: s.credit_note_prefix.clone(),
            currency: s.currency.code().into(),
            services_category: s.services_category.as_str().into(),
            declaration_frequency: s.declaration_frequency.as_str().into(),
        }
    }

    fn blank() -> SettingsForm {
        SettingsForm {
            seller_name: String::new(),
            siren: String::new(),
            address_lines: String::new(),
            postcode: String::new(),
            city: String::new(),
            country: "FR".into(),
            email: String::new(),
            electronic_address: String::new(),
            electronic_address_scheme: settings::SIREN_SCHEME.into(),
            iban: String::new(),
            bic: String::new(),
            activity: "services".into(),
            vat_regime: VatRegime::Franchise.as_str().into(),
            payment_terms_days: settings::DEFAULT_PAYMENT_TERMS_DAYS.to_string(),
            late_penalty_rate: terms::percent(settings::DEFAULT_LATE_PENALTY_RATE),
            discount_terms: String::new(),
            invoice_prefix: settings::DEFAULT_INVOICE_PREFIX.into(),
            credit_note_prefix: settings::DEFAULT_CREDIT_NOTE_PREFIX.into(),
            currency: "EUR".into(),
            services_category: ServicesCategory::default().as_str().into(),
            declaration_frequency: DeclarationFrequency::default().as_str().into(),
        }
    }

    fn settings(&self) -> Result<Settings, BillingError> {
        let invalid = |field: &'static str, message: Text| crate::billing::error::invalid(field, message);
        let rate = self
            .late_penalty_rate
            .trim()
            .trim_end_matches('%')
            .trim()
            .replace(',', ".");
        Ok(Settings {
            seller_name: self.seller_name.clone(),
            siren: self.siren.clone(),
            address: PostalAddress {
                lines: self.address_lines.lines().map(String::from).collect(),
                postcode: self.postcode.clone(),
                city: self.city.clone(),
                country: self.country.clone(),
            },
            email: Some(self.email.trim().to_string()).filter(|e| !e.is_empty()),
            electronic_address: self.electronic_address.clone(),
            electronic_address_scheme: self.electronic_address_scheme.clone(),
            iban: Some(self.iban.clone()),
            bic: Some(self.bic.clone()),
            activity: Activity::parse(&self.activity)?,
            vat_regime: VatRegime::parse(&self.vat_regime)?,
            payment_terms_days: self
                .payment_terms_days
                .trim()
                .parse()
                .map_err(|_| invalid("payment_terms_days", text!("un nombre de jours")))?,
            late_penalty_rate: rate.parse::<Decimal>().map_err(|_| {
                invalid(
                    "late_penalty_rate",
                    text!("un pourcentage annuel, par exemple 15 ou 10,5"),
                )
            })?,
            discount_terms: Some(self.discount_terms.clone()),
            invoice_prefix: self.invoice_prefix.trim().to_string(),
            credit_note_prefix: self.credit_note_prefix.trim().to_string(),
            currency: self
                .currency
                .parse::<Currency>()
                .map_err(|_| invalid("currency", text!("un code ISO 4217, comme EUR")))?,
            services_category: match self.services_category.trim() {
                "" => ServicesCategory::default(),
                s => ServicesCategory::parse(s)?,
            },
            declaration_frequency: match self.declaration_frequency.trim() {
                "" => DeclarationFrequency::default(),
                s => DeclarationFrequency::parse(s)?,
            },
        })
    }
}

/// A refusal of the domain: the message by its field (when the page shows
/// that field) and above the form, in the operator's language; anything
/// else is an error page.
fn refusal(e: BillingError, errors: &mut FieldErrors, lang: Lang) -> Result<String, AdminError> {
    if let BillingError::Invalid { field, message } = &e {
        if FIELDS.contains(field) {
            errors.add(*field, message.clone());
        }
    }
    match e.text() {
        Some(text) => Ok(text.in_lang(lang)),
        None => Err(e.into()),
    }
}

async fn series_in_use(admin: &Admin) -> Result<bool, AdminError> {
    Ok(settings::series_in_use(&admin.state.store).await?)
}

fn render(
    admin: &Admin,
    status: StatusCode,
    form: &SettingsForm,
    locked: bool,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let minimum = terms::percent(terms::minimum_late_penalty_rate(Utc::now().date_naive()));
    admin.render_status(
        status,
        "admin/settings.html",
        "settings",
        minijinja::context! {
            form => form, locked => locked, errors => errors.said(admin.lang()), error => error, minimum_rate => minimum,
        },
    )
}

async fn page(admin: Admin) -> Result<Response, AdminError> {
    let form = match settings::load(&admin.state.store).await {
        Ok(s) => SettingsForm::of(&s),
        Err(BillingError::NoSettings) => SettingsForm::blank(),
        Err(e) => return Err(e.into()),
    };
    let locked = series_in_use(&admin).await?;
    render(&admin, StatusCode::OK, &form, locked, &FieldErrors::new(), None)
}

async fn save(admin: Admin, Form(form): Form<SettingsForm>) -> Result<Response, AdminError> {
    let locked = series_in_use(&admin).await?;
    let mut errors = FieldErrors::new();
    let new = match form.settings() {
        Ok(s) => s,
        Err(e) => {
            let message = refusal(e, &mut errors, admin.lang())?;
            return render(
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                locked,
                &errors,
                Some(message),
            );
        }
    };
    let mut tx = admin.state.store.begin().await?;
    if let Err(e) = actions::save(&mut tx, &admin.actor, new).await {
        tx.rollback().await?;
        let message = refusal(e, &mut errors, admin.lang())?;
        return render(
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            locked,
            &errors,
            Some(message),
        );
    }
    tx.commit().await?;
    Ok(admin.redirect("/admin/settings", text!("Réglages enregistrés")))
}
