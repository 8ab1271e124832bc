//! The seller's settings through the API: `GET /api/settings` (404 until
//! they are set) and `PUT /api/settings` (the whole settings, checked as the
//! admin's page checks them; saved by `billing::actions::settings::save`
//! with its audit entry). Nothing is issued before they are set.

use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::from_value;
use super::{Api, ApiError, Json};
use crate::billing::actions::settings as actions;
use crate::billing::settings::{self, Activity, Settings};
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

/// The settings as the API shows them (and takes them back).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsView {
    /// A micro-entrepreneur's name carries "EI".
    seller_name: String,
    siren: String,
    address: String,
    #[serde(default)]
    email: Option<String>,
    activity: Activity,
    vat_mention: String,
    payment_terms_days: i32,
    late_penalty_rate: String,
    invoice_prefix: String,
    credit_note_prefix: String,
    /// ISO 4217 code.
    currency: String,
}

impl From<Settings> for SettingsView {
    fn from(s: Settings) -> Self {
        SettingsView {
            seller_name: s.seller_name,
            siren: s.siren,
            address: s.address,
            email: s.email,
            activity: s.activity,
            vat_mention: s.vat_mention,
            payment_terms_days: s.payment_terms_days,
            late_penalty_rate: s.late_penalty_rate,
            invoice_prefix: s.invoice_prefix,
            credit_note_prefix: s.credit_note_prefix,
            currency: s.currency.code().to_string(),
        }
    }
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
    let v: SettingsView = from_value(body)?;
    let currency: Currency = v
        .currency
        .parse()
        .map_err(|e: crate::money::MoneyError| ApiError::field("currency", e.to_string()))?;
    let new = Settings {
        seller_name: v.seller_name,
        siren: v.siren,
        address: v.address,
        email: v.email,
        activity: v.activity,
        vat_mention: v.vat_mention,
        payment_terms_days: v.payment_terms_days,
        late_penalty_rate: v.late_penalty_rate,
        invoice_prefix: v.invoice_prefix,
        credit_note_prefix: v.credit_note_prefix,
        currency,
    };
    let mut tx = api.state.store.begin().await?;
    let saved = actions::save(&mut tx, &api.actor, new).await?;
    tx.commit().await?;
    Ok(Json(saved.into()))
}
