//! `/admin/urssaf`: the URSSAF declarations of a year, one row per period
//! at the configured frequency (month or quarter) that has begun: turnover
//! to declare per category, rates, estimated contributions, deadline and
//! status; and the year's alerts on the VAT franchise and the regime's
//! ceilings. Figures from `billing::urssaf`.

use axum::response::Response;
use chrono::Datelike;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Query};
use crate::billing::urssaf::{self, alerts, Declaration};
use crate::billing::{revenue_book, settings};
use crate::money::{Currency, Money};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/urssaf/page.html"),
    crate::template!("admin/urssaf/alerts.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new().get("/admin/urssaf", Access::Operator, page)
}

#[derive(Deserialize)]
struct YearQuery {
    #[serde(default)]
    year: Option<String>,
}

#[derive(Serialize)]
struct Cell {
    category: &'static str,
    label: &'static str,
    received: Money,
    declared: Money,
    declared_euros: i64,
    rate: String,
    contributions: Money,
}

#[derive(Serialize)]
struct Row {
    period: String,
    label: String,
    deadline: String,
    status: &'static str,
    status_label: &'static str,
    cells: Vec<Cell>,
    total_declared: Money,
    total_contributions: Money,
    rates_year: i32,
    warnings: Vec<String>,
}

fn row(d: Declaration) -> Row {
    let euros = |n: i64| Money::new(n * 100, Currency::EUR);
    Row {
        cells: d
            .lines
            .iter()
            .map(|l| Cell {
                category: l.category.as_str(),
                label: l.label,
                received: l.received,
                declared: euros(l.declared_euros),
                declared_euros: l.declared_euros,
                rate: l.rate.normalize().to_string().replace('.', ","),
                contributions: l.contributions,
            })
            .collect(),
        period: d.period,
        label: d.label,
        deadline: d.deadline.format("%d/%m/%Y").to_string(),
        status: d.status.as_str(),
        status_label: d.status.label_fr(),
        total_declared: euros(d.total_declared_euros),
        total_contributions: d.total_contributions,
        rates_year: d.rates_year,
        warnings: d.warnings,
    }
}

#[tracing::instrument(skip_all)]
async fn page(admin: Admin, Query(q): Query<YearQuery>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let today = crate::billing::dates::today(store).await?;
    let first_year = revenue_book::first_date(store)
        .await?
        .map_or(today.year(), |d| d.year())
        .min(today.year());
    let years: Vec<i32> = (first_year..=today.year()).rev().collect();
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => y.parse::<i32>().ok().filter(|y| years.contains(y)).ok_or_else(|| {
            AdminError::Invalid(crate::i18n::Text::verbatim(format!(
                "year : {y:?} n'est pas une année du livre / not a year of the book"
            )))
        })?,
        None => today.year(),
    };
    let (services, frequency) = urssaf::configured(store).await?;
    let set_up = !matches!(
        settings::load(store).await,
        Err(crate::billing::BillingError::NoSettings)
    );
    let rows: Vec<Row> = urssaf::year(store, year, today).await?.into_iter().map(row).collect();
    let year_alerts = alerts::year_to_date(store, today).await?;
    admin.render(
        "admin/urssaf/page.html",
        "urssaf",
        context! {
            year => year,
            years => years,
            rows => rows,
            frequency => frequency.label_fr(),
            services => services.as_str().to_uppercase(),
            set_up => set_up,
            alerts => year_alerts,
        },
    )
}
