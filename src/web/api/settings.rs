//! The seller's settings through the API: `GET /api/settings` (404 until
//! they are set) and `PUT /api/settings` (the whole settings, checked as the
//! admin's page checks them; saved by `billing::actions::settings::save`
//! with its audit entry). Nothing is issued before they are set.
//!
//! The legal terms are structured: the VAT mention follows from
//! `vat_regime` (shown, never typed: a PUT may send it back only as it is);
//! the late-penalty rate is a number (percent a year) refused below three
//! times the legal interest rate; no `discount_terms` prints "Pas d'escompte
//! pour paiement anticipé".

use axum::http::Method;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Fields;
use super::extract::from_value;
use super::invoices::decimal;
use super::{Api, ApiError, Json};
use crate::billing::actions::settings as actions;
use crate::billing::address::PostalAddress;
use crate::billing::settings::{self, Activity, DeclarationFrequency, ServicesCategory, Settings, VatRegime};
use crate::billing::BillingError;
use crate::money::Currency;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().get("/api/settings", Access::ApiKey, show).add(
        Method::PUT,
        "/api/settings",
        Access::ApiKey,
        axum::routing::put(save),
    )
}

/// The settings as the API shows them.
#[derive(Debug, Serialize)]
struct SettingsView {
    /// A micro-entrepreneur's name carries "EI".
    seller_name: String,
    siren: String,
    address: PostalAddress,
    email: Option<String>,
    /// The seller's e-invoicing address (EN 16931 BT-34) and its scheme.
    electronic_address: String,
    electronic_address_scheme: String,
    iban: Option<String>,
    bic: Option<String>,
    activity: Activity,
    vat_regime: VatRegime,
    /// Printed on every document; follows from `vat_regime`.
    vat_mention: &'static str,
    payment_terms_days: i32,
    /// Percent a year, as a decimal string.
    late_penalty_rate: String,
    /// None: "Pas d'escompte pour paiement anticipé".
    discount_terms: Option<String>,
    invoice_prefix: String,
    credit_note_prefix: String,
    /// ISO 4217 code.
    currency: String,
    /// URSSAF: services declared as `bic` or `bnc`.
    services_category: ServicesCategory,
    /// URSSAF: turnover declared `monthly` or `quarterly`.
    declaration_frequency: DeclarationFrequency,
}

impl From<Settings> for SettingsView {
    fn from(s: Settings) -> Self {
        SettingsView {
            vat_mention: s.vat_mention(),
            seller_name: s.seller_name,
            siren: s.siren,
            address: s.address,
            email: s.email,
            electronic_address: s.electronic_address,
            electronic_address_scheme: s.electronic_address_scheme,
            iban: s.iban,
            bic: s.bic,
            activity: s.activity,
            vat_regime: s.vat_regime,
            payment_terms_days: s.payment_terms_days,
            late_penalty_rate: s.late_penalty_rate.normalize().to_string(),
            discount_terms: s.discount_terms,
            invoice_prefix: s.invoice_prefix,
            credit_note_prefix: s.credit_note_prefix,
            currency: s.currency.code().to_string(),
            services_category: s.services_category,
            declaration_frequency: s.declaration_frequency,
        }
    }
}

/// The settings in a request: what the view shows, the derived mention optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsIn {
    seller_name: String,
    siren: String,
    address: PostalAddress,
    #[serde(default)]
    email: Option<String>,
    /// Left out: the SIREN (scheme 0225).
    #[serde(default)]
    electronic_address: Option<String>,
    #[serde(default)]
    electronic_address_scheme: Option<String>,
    #[serde(default)]
    iban: Option<String>,
    #[serde(default)]
    bic: Option<String>,
    activity: Activity,
    #[serde(default)]
    vat_regime: VatRegime,
    /// Only as `vat_regime` makes it (a GET's answer sent back).
    #[serde(default)]
    vat_mention: Option<String>,
    payment_terms_days: i32,
    /// Percent a year: `15`, `10.5` or `"10.5"`.
    late_penalty_rate: Value,
    #[serde(default)]
    discount_terms: Option<String>,
    invoice_prefix: String,
    credit_note_prefix: String,
    currency: String,
    /// Left out: as saved (bic before anything is).
    #[serde(default)]
    services_category: Option<ServicesCategory>,
    /// Left out: as saved (quarterly before anything is).
    #[serde(default)]
    declaration_frequency: Option<DeclarationFrequency>,
}

async fn show(api: Api) -> Result<Json<SettingsView>, ApiError> {
    match settings::load(&api.state.store).await {
        Ok(s) => Ok(Json(s.into())),
        Err(BillingError::NoSettings) => Err(ApiError::NotFound(
            "settings (the seller is not set up yet: PUT /api/settings)".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn save(api: Api, Json(body): Json<Value>) -> Result<Json<SettingsView>, ApiError> {
    let v: SettingsIn = from_value(body)?;
    let mut fields = Fields::new();
    let currency: Option<Currency> = match v.currency.parse() {
        Ok(c) => Some(c),
        Err(e) => {
            fields.add("currency", e.text());
            None
        }
    };
    let rate: Option<Decimal> = decimal(&v.late_penalty_rate);
    if rate.is_none() {
        fields.add(
            "late_penalty_rate",
            crate::text!(
                "un pourcentage par an, par exemple 15 ou \"10.5\" (au moins trois fois le taux d'intérêt légal)"
            ),
        );
    }
    let mention = v.vat_regime.vat_mention();
    if v.vat_mention.as_deref().is_some_and(|m| m.trim() != mention) {
        fields.add(
            "vat_mention",
            crate::text!(
                "découle de vat_regime : {regime} imprime « {mention} » et rien d'autre (une TVA imprimée sous la franchise devient due, CGI art. 283-3)",
                regime = v.vat_regime.as_str(),
                mention = mention
            ),
        );
    }
    fields.finish()?;
    let (Some(currency), Some(late_penalty_rate)) = (currency, rate) else {
        return Err(ApiError::Internal("settings checked but incomplete".into()));
    };
    let (services_category, declaration_frequency) = match (v.services_category, v.declaration_frequency) {
        (Some(s), Some(f)) => (s, f),
        (s, f) => {
            let (saved_s, saved_f) = crate::billing::urssaf::configured(&api.state.store).await?;
            (s.unwrap_or(saved_s), f.unwrap_or(saved_f))
        }
    };
    let new = Settings {
        seller_name: v.seller_name,
        siren: v.siren,
        address: v.address,
        email: v.email,
        electronic_address: v.electronic_address.unwrap_or_default(),
        electronic_address_scheme: v.electronic_address_scheme.unwrap_or_default(),
        iban: v.iban,
        bic: v.bic,
        activity: v.activity,
        vat_regime: v.vat_regime,
        payment_terms_days: v.payment_terms_days,
        late_penalty_rate,
        discount_terms: v.discount_terms,
        invoice_prefix: v.invoice_prefix,
        credit_note_prefix: v.credit_note_prefix,
        currency,
        services_category,
        declaration_frequency,
    };
    let mut tx = api.state.store.begin().await?;
    let saved = actions::save(&mut tx, &api.actor, new).await?;
    tx.commit().await?;
    Ok(Json(saved.into()))
}
