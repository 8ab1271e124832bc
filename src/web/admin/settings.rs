//! `/admin/settings`: the seller's identity printed on every document (the
//! same settings as `comptoir-worker billing configure`). Once a document
//! has been issued, the series prefixes and the currency are fixed: a new
//! prefix would start a second numbering mid-year.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Admin, AdminError, Form};
use crate::billing::actions::settings as actions;
use crate::billing::settings::{self, Activity, Settings, FRANCHISE_MENTION};
use crate::billing::BillingError;
use crate::money::Currency;
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
    address: String,
    #[serde(default)]
    email: String,
    activity: String,
    vat_mention: String,
    payment_terms_days: String,
    late_penalty_rate: String,
    invoice_prefix: String,
    credit_note_prefix: String,
    currency: String,
}

impl SettingsForm {
    fn of(s: &Settings) -> SettingsForm {
        SettingsForm {
            seller_name: s.seller_name.clone(),
            siren: s.siren.clone(),
            address: s.address.replace("\\n", "\n"),
            email: s.email.clone().unwrap_or_default(),
            activity: s.activity.as_str().into(),
            vat_mention: s.vat_mention.clone(),
            payment_terms_days: s.payment_terms_days.to_string(),
            late_penalty_rate: s.late_penalty_rate.clone(),
            invoice_prefix: s.invoice_prefix.clone(),
            credit_note_prefix: s.credit_note_prefix.clone(),
            currency: s.currency.code().into(),
        }
    }

    fn blank() -> SettingsForm {
        SettingsForm {
            seller_name: String::new(),
            siren: String::new(),
            address: String::new(),
            email: String::new(),
            activity: "services".into(),
            vat_mention: FRANCHISE_MENTION.into(),
            payment_terms_days: settings::DEFAULT_PAYMENT_TERMS_DAYS.to_string(),
            late_penalty_rate: settings::DEFAULT_LATE_PENALTY_RATE.into(),
            invoice_prefix: settings::DEFAULT_INVOICE_PREFIX.into(),
            credit_note_prefix: settings::DEFAULT_CREDIT_NOTE_PREFIX.into(),
            currency: "EUR".into(),
        }
    }

    fn settings(&self) -> Result<Settings, BillingError> {
        let invalid = |field: &'static str, message: &str| BillingError::Invalid {
            field,
            message: message.into(),
        };
        Ok(Settings {
            seller_name: self.seller_name.clone(),
            siren: self.siren.clone(),
            address: self.address.replace("\r\n", "\n"),
            email: Some(self.email.trim().to_string()).filter(|e| !e.is_empty()),
            activity: Activity::parse(&self.activity)?,
            vat_mention: self.vat_mention.clone(),
            payment_terms_days: self
                .payment_terms_days
                .trim()
                .parse()
                .map_err(|_| invalid("payment_terms_days", "a number of days"))?,
            late_penalty_rate: self.late_penalty_rate.clone(),
            invoice_prefix: self.invoice_prefix.trim().to_string(),
            credit_note_prefix: self.credit_note_prefix.trim().to_string(),
            currency: self
                .currency
                .parse::<Currency>()
                .map_err(|_| invalid("currency", "an ISO 4217 code such as EUR"))?,
        })
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
    error: Option<(String, String)>,
) -> Result<Response, AdminError> {
    let (error_field, error_message) = error.unzip();
    admin.render_status(
        status,
        "admin/settings.html",
        "settings",
        minijinja::context! { form => form, locked => locked, error_field => error_field, error => error_message },
    )
}

async fn page(admin: Admin) -> Result<Response, AdminError> {
    let form = match settings::load(&admin.state.store).await {
        Ok(s) => SettingsForm::of(&s),
        Err(BillingError::NoSettings) => SettingsForm::blank(),
        Err(e) => return Err(e.into()),
    };
    let locked = series_in_use(&admin).await?;
    render(&admin, StatusCode::OK, &form, locked, None)
}

async fn save(admin: Admin, Form(form): Form<SettingsForm>) -> Result<Response, AdminError> {
    let locked = series_in_use(&admin).await?;
    let refuse = |field: &str, message: String| {
        render(
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            locked,
            Some((field.to_string(), message)),
        )
    };
    let new = match form.settings().and_then(Settings::validated) {
        Ok(s) => s,
        Err(BillingError::Invalid { field, message }) => return refuse(field, message),
        Err(e) => return Err(e.into()),
    };
    let mut tx = admin.state.store.begin().await?;
    match actions::save(&mut tx, &admin.actor, new).await {
        Ok(_) => {}
        Err(BillingError::Invalid { field, message }) => {
            tx.rollback().await?;
            return refuse(field, message);
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(admin.redirect("/admin/settings", "Réglages enregistrés / settings saved"))
}
