//! The seller's settings.

use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::settings::{self, Settings};
use crate::billing::BillingError;
use crate::store::Tx;

/// Saves the seller's identity and series (checked as `settings::save` does).
pub async fn save(tx: &mut Tx, by: &Actor, new: Settings) -> Result<Settings, BillingError> {
    let saved = settings::save(tx, new).await?;
    let entry = Record::new("settings.update", "settings").details(json!({
        "seller_name": saved.seller_name, "siren": saved.siren,
        "invoice_prefix": saved.invoice_prefix, "credit_note_prefix": saved.credit_note_prefix,
        "address": saved.address, "electronic_address": saved.electronic_address,
        "electronic_address_scheme": saved.electronic_address_scheme, "iban": saved.iban, "bic": saved.bic,
        "vat_regime": saved.vat_regime, "late_penalty_rate": saved.late_penalty_rate,
        "discount_terms": saved.discount_terms, "payment_terms_days": saved.payment_terms_days,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(saved)
}
