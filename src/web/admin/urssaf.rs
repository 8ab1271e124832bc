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
use crate::billing::settings::ServicesCategory;
use crate::billing::urssaf::alerts::{Alert, Level, YearAlerts};
use crate::billing::urssaf::period::{DeclarationFrequency, DeclarationStatus};
use crate::billing::urssaf::{self, alerts, Category, Declaration};
use crate::billing::{revenue_book, settings};
use crate::i18n::{Lang, Text};
use crate::money::{Currency, Money};
use crate::text;
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
    label: String,
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
    status_label: String,
    cells: Vec<Cell>,
    total_declared: Money,
    total_contributions: Money,
    rates_year: i32,
    warnings: Vec<String>,
}

fn category_label(c: Category) -> Text {
    match c {
        Category::SalesGoods => text!("Ventes de marchandises (BIC)"),
        Category::ServicesBic => text!("Prestations de services BIC"),
        Category::ServicesBnc => text!("Prestations de services BNC"),
    }
}

fn status_label(s: DeclarationStatus) -> Text {
    match s {
        DeclarationStatus::InProgress => text!("en cours"),
        DeclarationStatus::ToDeclare => text!("à déclarer"),
        DeclarationStatus::Overdue => text!("échéance passée"),
    }
}

/// « 1er trimestre 2026 », « 3e trimestre 2026 », « Novembre 2026 », from the period's key.
fn period_label(key: &str, fallback: &str, lang: Lang) -> String {
    let Some((year, rest)) = key.split_once('-') else {
        return fallback.to_string();
    };
    match (rest.strip_prefix('Q').map(str::parse::<u32>), rest.parse::<u32>()) {
        (Some(Ok(1)), _) => text!("1er trimestre {year}", year = year).in_lang(lang),
        (Some(Ok(q)), _) => text!("{quarter}e trimestre {year}", quarter = q, year = year).in_lang(lang),
        (None, Ok(m)) if (1..=12).contains(&m) => text!("{month} {year}", year = year)
            .with("month", super::book::month_name(m))
            .in_lang(lang),
        _ => fallback.to_string(),
    }
}

/// An alert in the operator's language: in French, the domain's own words;
/// in English, the same facts from the alert's figures.
fn alert_message(a: &Alert, year: i32, lang: Lang) -> String {
    if lang == Lang::Fr {
        return a.message.clone();
    }
    let euros = |n: i64| Money::new(n * 100, Currency::EUR).format_fr().replace(",00", "");
    let next = year + 1;
    let vat = a.key.starts_with("vat_");
    let what = if a.key.ends_with("_services") {
        text!("prestations de services")
    } else {
        text!("chiffre d'affaires global")
    };
    let head = if vat {
        text!(
            "Franchise de TVA ({what}) : {turnover} encaissés en {year}, {percent} % du seuil de {threshold}.",
            turnover = a.turnover.format_fr(),
            year = year,
            percent = a.percent,
            threshold = euros(a.threshold)
        )
    } else {
        text!(
            "Plafond du régime micro-entreprise ({what}) : {turnover} encaissés en {year}, {percent} % du plafond de {threshold}.",
            turnover = a.turnover.format_fr(),
            year = year,
            percent = a.percent,
            threshold = euros(a.threshold)
        )
    }
    .with("what", what);
    let tail = match (vat, a.level) {
        (true, Level::AboveTolerance) => text!(
            "Le seuil majoré est dépassé : vous n'avez plus droit à la franchise, la TVA est due sur vos ventes et prestations depuis le jour du dépassement. Facturez-la dès maintenant et demandez votre numéro de TVA intracommunautaire au service des impôts des entreprises."
        ),
        (true, Level::Reached) => text!(
            "Seuil atteint ou dépassé : la TVA sera due à partir du 1er janvier {next}, ou dès le jour où le seuil majoré serait dépassé.",
            next = next
        ),
        (true, Level::Warning) => text!(
            "Au-delà du seuil, la TVA sera due à partir du 1er janvier {next} ; au-delà du seuil majoré, dès le jour du dépassement.",
            next = next
        ),
        (false, Level::Warning) => {
            text!("Le régime prend fin si le plafond est dépassé deux années civiles de suite.")
        }
        (false, _) => text!(
            "Plafond atteint : si le chiffre d'affaires de {next} le dépasse aussi, vous quitterez le régime micro-entreprise au 1er janvier {after} (deux années de suite au-dessus du plafond).",
            next = next,
            after = next + 1
        ),
    };
    format!("{} {}", head.in_lang(lang), tail.in_lang(lang))
}

/// The year's alerts as the page shows them.
#[derive(Serialize)]
struct AlertView {
    key: &'static str,
    level: &'static str,
    percent: i64,
    message: String,
}

/// What `admin/urssaf/alerts.html` reads (`alerts`), the messages in `lang`:
/// for any page that includes it.
pub(super) fn alerts_context(year_alerts: &YearAlerts, lang: Lang) -> minijinja::Value {
    let views: Vec<AlertView> = year_alerts
        .alerts
        .iter()
        .map(|a| AlertView {
            key: a.key,
            level: a.level.as_str(),
            percent: a.percent,
            message: alert_message(a, year_alerts.year, lang),
        })
        .collect();
    context! {
        year => year_alerts.year,
        alerts => views,
        warnings => &year_alerts.warnings,
    }
}

fn row(d: Declaration, lang: Lang) -> Row {
    let euros = |n: i64| Money::new(n * 100, Currency::EUR);
    Row {
        cells: d
            .lines
            .iter()
            .map(|l| Cell {
                category: l.category.as_str(),
                label: category_label(l.category).in_lang(lang),
                received: l.received,
                declared: euros(l.declared_euros),
                declared_euros: l.declared_euros,
                rate: l.rate.normalize().to_string().replace('.', ","),
                contributions: l.contributions,
            })
            .collect(),
        label: period_label(&d.period, &d.label, lang),
        period: d.period,
        deadline: d.deadline.format("%d/%m/%Y").to_string(),
        status: d.status.as_str(),
        status_label: status_label(d.status).in_lang(lang),
        total_declared: euros(d.total_declared_euros),
        total_contributions: d.total_contributions,
        rates_year: d.rates_year,
        warnings: d.warnings,
    }
}

#[tracing::instrument(skip_all)]
async fn page(admin: Admin, Query(q): Query<YearQuery>) -> Result<Response, AdminError> {
    let lang = admin.lang();
    let store = &admin.state.store;
    let today = crate::billing::dates::today(store).await?;
    let first_year = revenue_book::first_date(store)
        .await?
        .map_or(today.year(), |d| d.year())
        .min(today.year());
    let years: Vec<i32> = (first_year..=today.year()).rev().collect();
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => y.parse::<i32>().ok().filter(|y| years.contains(y)).ok_or_else(|| {
            AdminError::Invalid(text!(
                "Année : « {year} » n'est pas une année du livre de recettes",
                year = y
            ))
        })?,
        None => today.year(),
    };
    let (services, frequency) = urssaf::configured(store).await?;
    let set_up = !matches!(
        settings::load(store).await,
        Err(crate::billing::BillingError::NoSettings)
    );
    let rows: Vec<Row> = urssaf::year(store, year, today)
        .await?
        .into_iter()
        .map(|d| row(d, lang))
        .collect();
    let year_alerts: YearAlerts = alerts::year_to_date(store, today).await?;
    admin.render(
        "admin/urssaf/page.html",
        "urssaf",
        context! {
            year => year,
            years => years,
            rows => rows,
            frequency => match frequency {
                DeclarationFrequency::Monthly => text!("mensuelle"),
                DeclarationFrequency::Quarterly => text!("trimestrielle"),
            }
            .in_lang(lang),
            services => match services {
                ServicesCategory::Bic => "BIC",
                ServicesCategory::Bnc => "BNC",
            },
            set_up => set_up,
            alerts => alerts_context(&year_alerts, lang),
        },
    )
}
