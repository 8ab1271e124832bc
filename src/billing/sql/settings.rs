use chrono::Utc;

use crate::billing::settings::{Activity, Settings};
use crate::money::Currency;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const SELECT: &str = "SELECT seller_name, siren, address, email, activity, vat_mention, payment_terms_days,
    late_penalty_rate, invoice_prefix, credit_note_prefix, currency FROM billing_settings WHERE id = 1";

fn decode(r: &AnyRow) -> Result<Settings, StoreError> {
    let activity: String = r.get("activity")?;
    let currency: String = r.get("currency")?;
    Ok(Settings {
        seller_name: r.get("seller_name")?,
        siren: r.get("siren")?,
        address: r.get("address")?,
        email: r.get("email")?,
        activity: Activity::parse(&activity).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        vat_mention: r.get("vat_mention")?,
        payment_terms_days: r.get("payment_terms_days")?,
        late_penalty_rate: r.get("late_penalty_rate")?,
        invoice_prefix: r.get("invoice_prefix")?,
        credit_note_prefix: r.get("credit_note_prefix")?,
        currency: currency
            .parse::<Currency>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

pub(crate) async fn save(tx: &mut Tx, s: &Settings) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO billing_settings (id, seller_name, siren, address, email, activity, vat_mention,
             payment_terms_days, late_penalty_rate, invoice_prefix, credit_note_prefix, currency, updated_at)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO UPDATE SET seller_name = excluded.seller_name, siren = excluded.siren,
             address = excluded.address, email = excluded.email, activity = excluded.activity,
             vat_mention = excluded.vat_mention, payment_terms_days = excluded.payment_terms_days,
             late_penalty_rate = excluded.late_penalty_rate, invoice_prefix = excluded.invoice_prefix,
             credit_note_prefix = excluded.credit_note_prefix, currency = excluded.currency,
             updated_at = excluded.updated_at",
        &s.seller_name,
        &s.siren,
        &s.address,
        s.email.as_deref(),
        s.activity.as_str(),
        &s.vat_mention,
        s.payment_terms_days,
        &s.late_penalty_rate,
        &s.invoice_prefix,
        &s.credit_note_prefix,
        s.currency.code(),
        Utc::now()
    )?;
    Ok(())
}

pub(crate) async fn load(store: &Store) -> Result<Option<Settings>, StoreError> {
    read!(fetch_optional, store, SELECT)?.as_ref().map(decode).transpose()
}

pub(crate) async fn load_in(tx: &mut Tx) -> Result<Option<Settings>, StoreError> {
    sql!(fetch_optional, tx, SELECT)?.as_ref().map(decode).transpose()
}

/// Takes the next number of `series` inside `tx`. The increment locks the
/// counter row until commit, so concurrent issuers queue and never share or
/// skip a number; a rollback gives the number back.
pub(crate) async fn next_number(tx: &mut Tx, series: &str) -> Result<i64, StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO document_series (series, last_number) VALUES ($1, 0) ON CONFLICT (series) DO NOTHING",
        series
    )?;
    let row = sql!(
        fetch_one,
        tx,
        "UPDATE document_series SET last_number = last_number + 1 WHERE series = $1 RETURNING last_number",
        series
    )?;
    row.get("last_number")
}

/// Whether any document has been numbered (its series then exist for good).
pub(crate) async fn any_numbered_in(tx: &mut Tx) -> Result<bool, StoreError> {
    Ok(sql!(
        fetch_optional,
        tx,
        "SELECT 1 AS one FROM invoices WHERE reference IS NOT NULL LIMIT 1"
    )?
    .is_some())
}

pub(crate) async fn any_numbered(store: &Store) -> Result<bool, StoreError> {
    Ok(read!(
        fetch_optional,
        store,
        "SELECT 1 AS one FROM invoices WHERE reference IS NOT NULL LIMIT 1"
    )?
    .is_some())
}
