//! URSSAF declarations of a micro-entrepreneur: for each period (a month or
//! a quarter, a setting) the turnover to declare per category, the estimated
//! contributions, the deadline and where the period stands; the reminder
//! e-mail before a deadline; the alerts when the year's turnover nears the
//! VAT franchise thresholds and the regime's ceilings.
//!
//! A micro-entrepreneur declares what they *received* in the period: the
//! livre de recettes (refunds, negative, included), on the date the money
//! came in. Goods go to "Ventes de marchandises (BIC)"; services to
//! "Prestations de services BIC" or "BNC", as the seller's services category
//! says. Amounts in another currency than the euro are not added (URSSAF is
//! declared in euros): they are named in a warning.
//!
//! Rates, thresholds and ceilings are data with their year
//! ([`figures`], `src/billing/urssaf/micro-entreprise.json`), never code.

pub mod alerts;
pub mod figures;
pub mod period;
pub mod reminder;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub use period::{DeclarationFrequency, DeclarationPeriod, DeclarationStatus};

use super::catalog::Nature;
use super::error::{invalid, BillingError};
use super::{dates, revenue_book, settings};
use crate::money::{Currency, Money};
use crate::store::Store;
use crate::text;

/// Where the seller's services are declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServicesCategory {
    /// Commercial or artisanal services (bénéfices industriels et commerciaux).
    #[default]
    Bic,
    /// Liberal professions (bénéfices non commerciaux).
    Bnc,
}

impl ServicesCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ServicesCategory::Bic => "bic",
            ServicesCategory::Bnc => "bnc",
        }
    }

    pub fn parse(s: &str) -> Result<ServicesCategory, BillingError> {
        match s.trim() {
            "bic" => Ok(ServicesCategory::Bic),
            "bnc" => Ok(ServicesCategory::Bnc),
            other => Err(invalid(
                "services_category",
                text!(
                    "« {value} » : bic (prestations commerciales ou artisanales) ou bnc (professions libérales)",
                    value = other
                ),
            )),
        }
    }
}

/// A line of the URSSAF form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    SalesGoods,
    ServicesBic,
    ServicesBnc,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::SalesGoods => "sales_goods",
            Category::ServicesBic => "services_bic",
            Category::ServicesBnc => "services_bnc",
        }
    }

    /// As the URSSAF form names it.
    pub fn label_fr(self) -> &'static str {
        match self {
            Category::SalesGoods => "Ventes de marchandises (BIC)",
            Category::ServicesBic => "Prestations de services BIC",
            Category::ServicesBnc => "Prestations de services BNC",
        }
    }

    fn rate(self, rates: &figures::Rates) -> Decimal {
        match self {
            Category::SalesGoods => rates.sales_goods,
            Category::ServicesBic => rates.services_bic,
            Category::ServicesBnc => rates.services_bnc,
        }
    }

    fn of_services(category: ServicesCategory) -> Category {
        match category {
            ServicesCategory::Bic => Category::ServicesBic,
            ServicesCategory::Bnc => Category::ServicesBnc,
        }
    }
}

/// One category of a declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryLine {
    pub category: Category,
    pub label: &'static str,
    /// What the livre de recettes holds for it in the period, in euros (cents).
    pub received: Money,
    /// The turnover to declare, whole euros ([`declared_euros`]).
    pub declared_euros: i64,
    /// Percent.
    pub rate: Decimal,
    /// `declared_euros × rate`, to the cent.
    pub contributions: Money,
}

/// What to declare for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Declaration {
    pub period: String,
    pub label: String,
    pub frequency: DeclarationFrequency,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub deadline: NaiveDate,
    pub status: DeclarationStatus,
    pub services_category: ServicesCategory,
    /// The year whose rates were applied.
    pub rates_year: i32,
    pub lines: Vec<CategoryLine>,
    pub total_declared_euros: i64,
    pub total_contributions: Money,
    /// Figures of another year, amounts in another currency, a negative period.
    pub warnings: Vec<String>,
}

/// The turnover to declare from `cents` received: URSSAF asks for whole
/// euros, and, as for every French tax return (CGI art. 1724), an amount is
/// rounded to the nearest euro, 50 cents counting as one (1 234,50 € → 1 235).
/// A negative period (refunds above receipts) declares 0: the form takes no
/// negative amount ([`compute`] warns).
pub fn declared_euros(cents: i64) -> i64 {
    if cents <= 0 {
        0
    } else {
        (cents + 50).div_euclid(100)
    }
}

/// `euros × rate %`, to the cent (half a cent up).
pub fn contributions(euros: i64, rate: Decimal) -> Money {
    let amount = (Decimal::from(euros) * rate / Decimal::from(100))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let cents = (amount * Decimal::from(100)).trunc().to_i64().unwrap_or(i64::MAX);
    Money::new(cents, Currency::EUR)
}

/// The declaration of `period` from the book's totals of that period per
/// nature and currency (`totals`), on `today`.
pub fn compute(
    period: DeclarationPeriod,
    totals: &[(Nature, Money)],
    services: ServicesCategory,
    today: NaiveDate,
) -> Result<Declaration, BillingError> {
    let used = figures::for_year(period.year())?;
    let mut warnings: Vec<String> = used.warning.into_iter().collect();
    let (mut goods, mut services_cents) = (0i64, 0i64);
    for (nature, amount) in totals {
        if amount.currency != Currency::EUR {
            if amount.minor != 0 {
                warnings.push(format!(
                    "{} de recettes en {} ({}) ne sont pas comptés : la déclaration se fait en euros, convertissez-les au cours du jour de l'encaissement / not counted: not in euros",
                    amount.format_fr(),
                    amount.currency.code(),
                    match nature {
                        Nature::Goods => "ventes",
                        Nature::Services => "prestations",
                    }
                ));
            }
            continue;
        }
        match nature {
            Nature::Goods => goods += amount.minor,
            Nature::Services => services_cents += amount.minor,
        }
    }
    let rates = used.figures.contribution_rates;
    let lines: Vec<CategoryLine> = [
        (Category::SalesGoods, goods),
        (Category::of_services(services), services_cents),
    ]
    .into_iter()
    .map(|(category, cents)| {
        if cents < 0 {
            warnings.push(format!(
                "{} : les remboursements de la période dépassent ses recettes ({}) ; la déclaration n'accepte pas de montant négatif, 0 € est à déclarer / refunds above receipts: declare 0",
                category.label_fr(),
                Money::new(cents, Currency::EUR).format_fr()
            ));
        }
        let declared = declared_euros(cents);
        let rate = category.rate(&rates);
        CategoryLine {
            category,
            label: category.label_fr(),
            received: Money::new(cents, Currency::EUR),
            declared_euros: declared,
            rate,
            contributions: contributions(declared, rate),
        }
    })
    .collect();
    let total_contributions = Money::new(lines.iter().map(|l| l.contributions.minor).sum(), Currency::EUR);
    Ok(Declaration {
        period: period.key(),
        label: period.label(),
        frequency: period.frequency(),
        from: period.first_day(),
        to: period.last_day(),
        deadline: period.deadline(),
        status: period.status(today),
        services_category: services,
        rates_year: used.figures.year,
        total_declared_euros: lines.iter().map(|l| l.declared_euros).sum(),
        lines,
        total_contributions,
        warnings,
    })
}

/// The URSSAF settings (the defaults until the seller is set up).
pub async fn configured(store: &Store) -> Result<(ServicesCategory, DeclarationFrequency), BillingError> {
    match settings::load(store).await {
        Ok(s) => Ok((s.services_category, s.declaration_frequency)),
        Err(BillingError::NoSettings) => Ok(Default::default()),
        Err(e) => Err(e),
    }
}

/// The declaration of `period` from the livre de recettes, on `today`; a
/// period that has not begun is refused.
#[tracing::instrument(skip(store))]
pub async fn declaration(
    store: &Store,
    period: DeclarationPeriod,
    services: ServicesCategory,
    today: NaiveDate,
) -> Result<Declaration, BillingError> {
    dates::period(period.first_day(), today)?;
    let end = period.last_day().succ_opt().unwrap_or(period.last_day());
    let totals = revenue_book::totals_between(store, period.first_day(), end).await?;
    compute(period, &totals, services, today)
}

/// The next declaration to make on `today`, at the configured frequency:
/// the period just ended while its deadline has not passed, else the
/// current one (to declare when it ends). Its figures are those of the book
/// so far.
pub async fn next_due(store: &Store, today: NaiveDate) -> Result<Declaration, BillingError> {
    let (services, frequency) = configured(store).await?;
    let ended = DeclarationPeriod::last_ended(frequency, today);
    let period = if today <= ended.deadline() {
        ended
    } else {
        DeclarationPeriod::containing(frequency, today)
    };
    declaration(store, period, services, today).await
}

/// The periods of `year` at the configured frequency that have begun on
/// `today`, each with its declaration.
pub async fn year(store: &Store, year: i32, today: NaiveDate) -> Result<Vec<Declaration>, BillingError> {
    let (services, frequency) = configured(store).await?;
    let mut out = Vec::new();
    for period in DeclarationPeriod::of_year(frequency, year) {
        if period.first_day() <= today {
            out.push(declaration(store, period, services, today).await?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn turnover_is_rounded_to_the_nearest_euro_half_up() {
        assert_eq!(
            [0, 1, 49, 50, 149, 150, 123_449, 123_450, -5_000].map(declared_euros),
            [0, 0, 0, 1, 1, 2, 1_234, 1_235, 0]
        );
    }

    #[test]
    fn contributions_are_to_the_cent() {
        let r = |s: &str| s.parse::<Decimal>().unwrap();
        // 1 235 × 12,3 % = 151,905 → 151,91.
        assert_eq!(contributions(1_235, r("12.3")).minor, 15_191);
        // 1 000 × 25,6 % = 256,00.
        assert_eq!(contributions(1_000, r("25.6")).minor, 25_600);
        assert_eq!(contributions(0, r("21.2")).minor, 0);
    }

    #[test]
    fn a_declaration_from_totals() {
        let eur = |c| Money::new(c, Currency::EUR);
        let usd = Money::new(1_000, "USD".parse().unwrap());
        let totals = [
            (Nature::Goods, eur(123_450)),
            (Nature::Services, eur(80_049)),
            (Nature::Services, usd),
        ];
        let q = DeclarationPeriod::parse("2026-Q2").unwrap();
        let decl = compute(q, &totals, ServicesCategory::Bnc, d(2026, 7, 2)).unwrap();
        assert_eq!(decl.status, DeclarationStatus::ToDeclare);
        assert_eq!(decl.deadline, d(2026, 7, 31));
        let got: Vec<(Category, i64, i64)> = decl
            .lines
            .iter()
            .map(|l| (l.category, l.declared_euros, l.contributions.minor))
            .collect();
        // 1 235 × 12,3 % = 151,905 → 151,91 ; 800 × 25,6 % = 204,80.
        assert_eq!(
            got,
            [
                (Category::SalesGoods, 1_235, 15_191),
                (Category::ServicesBnc, 800, 20_480)
            ]
        );
        assert_eq!(
            (decl.total_declared_euros, decl.total_contributions.minor),
            (2_035, 35_671)
        );
        assert_eq!(decl.warnings.len(), 1, "{:?}", decl.warnings);
        assert!(decl.warnings[0].contains("USD"), "{:?}", decl.warnings);
    }
}
