//! `GET /api/urssaf?period=2026-Q3`: the URSSAF declaration of a period
//! (`billing::urssaf`), the last ended one at the configured frequency when
//! no period is given. A period that has not begun, or is no quarter or
//! month, answers 422 naming `period`.

use serde::{Deserialize, Serialize};

use super::money::ApiMoney;
use super::{Api, ApiError, Json, Query};
use crate::billing::urssaf::{self, Declaration, DeclarationPeriod};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().get("/api/urssaf", Access::ApiKey, show)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    #[serde(default)]
    period: Option<String>,
}

#[derive(Debug, Serialize)]
struct CategoryView {
    category: &'static str,
    label: &'static str,
    received: ApiMoney,
    declared_euros: i64,
    rate: String,
    contributions: ApiMoney,
}

#[derive(Debug, Serialize)]
struct DeclarationView {
    period: String,
    label: String,
    frequency: &'static str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    deadline: chrono::NaiveDate,
    status: &'static str,
    status_label: &'static str,
    services_category: &'static str,
    rates_year: i32,
    categories: Vec<CategoryView>,
    total_declared_euros: i64,
    total_contributions: ApiMoney,
    warnings: Vec<String>,
}

impl From<Declaration> for DeclarationView {
    fn from(d: Declaration) -> Self {
        DeclarationView {
            period: d.period,
            label: d.label,
            frequency: d.frequency.as_str(),
            from: d.from,
            to: d.to,
            deadline: d.deadline,
            status: d.status.as_str(),
            status_label: d.status.label_fr(),
            services_category: d.services_category.as_str(),
            rates_year: d.rates_year,
            categories: d
                .lines
                .into_iter()
                .map(|l| CategoryView {
                    category: l.category.as_str(),
                    label: l.label,
                    received: l.received.into(),
                    declared_euros: l.declared_euros,
                    rate: l.rate.normalize().to_string(),
                    contributions: l.contributions.into(),
                })
                .collect(),
            total_declared_euros: d.total_declared_euros,
            total_contributions: d.total_contributions.into(),
            warnings: d.warnings,
        }
    }
}

async fn show(api: Api, Query(q): Query<PeriodQuery>) -> Result<Json<DeclarationView>, ApiError> {
    let store = &api.state.store;
    let today = crate::billing::dates::today(store).await?;
    let (services, frequency) = urssaf::configured(store).await?;
    let period = match q.period.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => DeclarationPeriod::parse(p)?,
        None => DeclarationPeriod::last_ended(frequency, today),
    };
    let declaration = urssaf::declaration(store, period, services, today).await?;
    Ok(Json(declaration.into()))
}
