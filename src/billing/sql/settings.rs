use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;

use crate::billing::address::PostalAddress;
use crate::billing::settings::{Activity, DeclarationFrequency, ServicesCategory, Settings, VatRegime};
use crate::billing::terms;
use crate::money::Currency;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const SELECT: &str = "SELECT seller_name, siren, address, postcode, city, country, email, electronic_address,
    electronic_address_scheme, iban, bic, activity, vat_regime, payment_terms_days, late_penalty_rate,
    late_penalty_percent, discount_terms, invoice_prefix, credit_note_prefix, currency, services_category,
    declaration_frequency
    FROM billing_settings WHERE id = 1";

/// The rate of settings saved before it was a number (migration 0008 keeps
/// the old text in `late_penalty_rate`): the text when it is one ("10 %",
/// "10,5"), else the legal minimum of today, which is what the default text
/// ("trois fois le taux d'intérêt légal") said. Saving the settings again
/// stores a number.
fn legacy_rate(text: &str) -> Decimal {
    let t = text.trim().trim_end_matches('%').trim().replace(',', ".");
    match Decimal::from_str(&t) {
        Ok(rate) if rate > Decimal::ZERO => rate,
        _ => terms::minimum_late_penalty_rate(Utc::now().date_naive()),
    }
}

fn decode(r: &AnyRow) -> Result<Settings, StoreError> {
    let activity: String = r.get("activity")?;
    let currency: String = r.get("currency")?;
    let regime: String = r.get("vat_regime")?;
    let percent: Option<String> = r.get("late_penalty_percent")?;
    let late_penalty_rate = match percent {
        Some(p) => Decimal::from_str(&p).map_err(|_| StoreError::Corrupt(format!("late_penalty_percent {p:?}")))?,
        None => legacy_rate(&r.get::<String>("late_penalty_rate")?),
    };
    let siren: String = r.get("siren")?;
    let electronic_address: Option<String> = r.get("electronic_address")?;
    Ok(Settings {
        seller_name: r.get("seller_name")?,
        address: PostalAddress::from_columns(
            &r.get::<String>("address")?,
            r.get("postcode")?,
            r.get("city")?,
            r.get("country")?,
        ),
        email: r.get("email")?,
        electronic_address: electronic_address.unwrap_or_else(|| siren.clone()),
        electronic_address_scheme: r.get("electronic_address_scheme")?,
        siren,
        iban: r.get("iban")?,
        bic: r.get("bic")?,
        activity: Activity::parse(&activity).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        vat_regime: VatRegime::parse(&regime).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        payment_terms_days: r.get("payment_terms_days")?,
        late_penalty_rate,
        discount_terms: r.get("discount_terms")?,
        invoice_prefix: r.get("invoice_prefix")?,
        credit_note_prefix: r.get("credit_note_prefix")?,
        currency: currency
            .parse::<Currency>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        services_category: ServicesCategory::parse(&r.get::<String>("services_category")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        declaration_frequency: DeclarationFrequency::parse(&r.get::<String>("declaration_frequency")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

pub(crate) async fn save(tx: &mut Tx, s: &Settings) -> Result<(), StoreError> {
    // `vat_mention` and `late_penalty_rate` keep the printed texts, derived,
    // for whoever reads the table; the numbers and the regime are the truth.
    sql!(
        execute,
        tx,
        "INSERT INTO billing_settings (id, seller_name, siren, address, postcode, city, country, email,
             electronic_address, electronic_address_scheme, iban, bic, activity, vat_regime, vat_mention,
             payment_terms_days, late_penalty_rate, late_penalty_percent, discount_terms, invoice_prefix,
             credit_note_prefix, currency, updated_at, services_category, declaration_frequency)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
             $21, $22, $23, $24)
         ON CONFLICT (id) DO UPDATE SET seller_name = excluded.seller_name, siren = excluded.siren,
             address = excluded.address, postcode = excluded.postcode, city = excluded.city,
             country = excluded.country, email = excluded.email,
             electronic_address = excluded.electronic_address,
             electronic_address_scheme = excluded.electronic_address_scheme, iban = excluded.iban,
             bic = excluded.bic, activity = excluded.activity, vat_regime = excluded.vat_regime,
             vat_mention = excluded.vat_mention, payment_terms_days = excluded.payment_terms_days,
             late_penalty_rate = excluded.late_penalty_rate,
             late_penalty_percent = excluded.late_penalty_percent, discount_terms = excluded.discount_terms,
             invoice_prefix = excluded.invoice_prefix, credit_note_prefix = excluded.credit_note_prefix,
             currency = excluded.currency, updated_at = excluded.updated_at,
             services_category = excluded.services_category,
             declaration_frequency = excluded.declaration_frequency",
        &s.seller_name,
        &s.siren,
        s.address.lines_text(),
        &s.address.postcode,
        &s.address.city,
        &s.address.country,
        s.email.as_deref(),
        &s.electronic_address,
        &s.electronic_address_scheme,
        s.iban.as_deref(),
        s.bic.as_deref(),
        s.activity.as_str(),
        s.vat_regime.as_str(),
        s.vat_mention(),
        s.payment_terms_days,
        format!("{} %", terms::percent(s.late_penalty_rate)),
        s.late_penalty_rate.to_string(),
        s.discount_terms.as_deref(),
        &s.invoice_prefix,
        &s.credit_note_prefix,
        s.currency.code(),
        Utc::now(),
        s.services_category.as_str(),
        s.declaration_frequency.as_str()
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
    create_series(tx, series).await?;
    let row = sql!(
        fetch_one,
        tx,
        "UPDATE document_series SET last_number = last_number + 1 WHERE series = $1 RETURNING last_number",
        series
    )?;
    row.get("last_number")
}

/// The counter row of `series`, at 0 if it is new.
async fn create_series(tx: &mut Tx, series: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO document_series (series, last_number) VALUES ($1, 0) ON CONFLICT (series) DO NOTHING",
        series
    )?;
    Ok(())
}

/// Takes `series`'s counter row for the rest of the transaction without
/// numbering anything: whoever numbers in that series waits.
pub(crate) async fn lock_series(tx: &mut Tx, series: &str) -> Result<(), StoreError> {
    create_series(tx, series).await?;
    sql!(
        execute,
        tx,
        "UPDATE document_series SET last_number = last_number WHERE series = $1",
        series
    )?;
    Ok(())
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
