//! Alerts on the year's turnover (received, year to date, in euros) against
//! the VAT franchise thresholds and the micro-entreprise ceilings of the
//! year: at 80 % a warning, at 100 % an alert saying what follows.
//!
//! - VAT franchise (franchise en base, CGI art. 293 B): the whole turnover
//!   against the sales threshold, services alone against the services one.
//!   Above the threshold but within the tolerance, VAT is due from 1 January
//!   of the next year; above the tolerance, from the day it is exceeded.
//! - Micro-entreprise ceilings: the same two comparisons; the regime ends
//!   when a ceiling is exceeded two calendar years in a row.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::figures::{self, Franchise};
use crate::billing::catalog::Nature;
use crate::billing::error::BillingError;
use crate::billing::revenue_book;
use crate::money::{Currency, Money};
use crate::store::Store;

/// Percent of a threshold from which a warning is shown.
pub const WARNING_PERCENT: i64 = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 80 % reached.
    Warning,
    /// 100 % reached or exceeded.
    Reached,
    /// Above a VAT franchise's tolerance.
    AboveTolerance,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Reached => "reached",
            Level::AboveTolerance => "above_tolerance",
        }
    }
}

/// One alert, in plain French.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `vat_sales`, `vat_services`, `micro_sales`, `micro_services`.
    pub key: &'static str,
    pub level: Level,
    pub turnover: Money,
    /// Whole euros.
    pub threshold: i64,
    /// Percent of the threshold reached, rounded down.
    pub percent: i64,
    pub message: String,
}

/// The year's turnover and its alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearAlerts {
    pub year: i32,
    /// Through this day.
    pub through: NaiveDate,
    /// Goods and services.
    pub total: Money,
    pub services: Money,
    pub alerts: Vec<Alert>,
    /// The figures of another year used, amounts in another currency.
    pub warnings: Vec<String>,
}

fn euros(n: i64) -> String {
    Money::new(n * 100, Currency::EUR).format_fr().replace(",00", "")
}

fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// The first day the running total of `lines` (in date order) goes above `limit_cents`.
fn first_day_above(lines: &[(NaiveDate, i64)], limit_cents: i64) -> Option<NaiveDate> {
    let mut running = 0;
    lines.iter().find_map(|(day, cents)| {
        running += cents;
        (running > limit_cents).then_some(*day)
    })
}

fn franchise_alert(
    key: &'static str,
    what: &str,
    year: i32,
    lines: &[(NaiveDate, i64)],
    franchise: Franchise,
) -> Option<Alert> {
    let cents: i64 = lines.iter().map(|(_, c)| c).sum();
    let turnover = Money::new(cents, Currency::EUR);
    let percent = cents / franchise.threshold.max(1);
    let head = format!(
        "Franchise de TVA ({what}) : {} encaissés en {year}, {percent} % du seuil de {}.",
        turnover.format_fr(),
        euros(franchise.threshold)
    );
    let (level, tail) = if cents > franchise.tolerance * 100 {
        let since = first_day_above(lines, franchise.tolerance * 100)
            .map(fr)
            .unwrap_or_default();
        (
            Level::AboveTolerance,
            format!(
                "Le seuil majoré de {} est dépassé depuis le {since} : vous n'avez plus droit à la franchise, la TVA est due sur vos ventes et prestations à partir de ce jour. Facturez-la dès maintenant et demandez votre numéro de TVA intracommunautaire au service des impôts des entreprises.",
                euros(franchise.tolerance)
            ),
        )
    } else if cents > franchise.threshold * 100 {
        (
            Level::Reached,
            format!(
                "Seuil dépassé : vous perdez la franchise de TVA au 1er janvier {} et facturerez la TVA à partir de cette date. Si le chiffre d'affaires dépasse {} d'ici la fin de l'année, la TVA sera due dès le jour du dépassement.",
                year + 1,
                euros(franchise.tolerance)
            ),
        )
    } else if cents == franchise.threshold * 100 {
        (
            Level::Reached,
            format!(
                "Seuil atteint : un euro de plus et la TVA sera due à partir du 1er janvier {} ; au-delà de {}, dès le jour du dépassement.",
                year + 1,
                euros(franchise.tolerance)
            ),
        )
    } else if cents >= franchise.threshold * WARNING_PERCENT {
        (
            Level::Warning,
            format!(
                "Au-delà du seuil, la TVA sera due à partir du 1er janvier {} ; au-delà de {}, dès le jour du dépassement.",
                year + 1,
                euros(franchise.tolerance)
            ),
        )
    } else {
        return None;
    };
    Some(Alert {
        key,
        level,
        turnover,
        threshold: franchise.threshold,
        percent,
        message: format!("{head} {tail}"),
    })
}

fn ceiling_alert(key: &'static str, what: &str, year: i32, cents: i64, ceiling: i64) -> Option<Alert> {
    let turnover = Money::new(cents, Currency::EUR);
    let percent = cents / ceiling.max(1);
    let head = format!(
        "Plafond du régime micro-entreprise ({what}) : {} encaissés en {year}, {percent} % du plafond de {}.",
        turnover.format_fr(),
        euros(ceiling)
    );
    let (level, tail) = if cents >= ceiling * 100 {
        (
            Level::Reached,
            format!(
                "Plafond {} : si le chiffre d'affaires de {} le dépasse aussi, vous quitterez le régime micro-entreprise au 1er janvier {} (deux années de suite au-dessus du plafond).",
                if cents > ceiling * 100 { "dépassé" } else { "atteint" },
                year + 1,
                year + 2
            ),
        )
    } else if cents >= ceiling * WARNING_PERCENT {
        (
            Level::Warning,
            "Le régime prend fin si le plafond est dépassé deux années civiles de suite.".to_string(),
        )
    } else {
        return None;
    };
    Some(Alert {
        key,
        level,
        turnover,
        threshold: ceiling,
        percent,
        message: format!("{head} {tail}"),
    })
}

/// The alerts of `year` from its book lines `(day, nature, amount)` through `through`.
pub fn assess(year: i32, through: NaiveDate, lines: &[(NaiveDate, Nature, Money)]) -> Result<YearAlerts, BillingError> {
    let used = figures::for_year(year)?;
    let mut warnings: Vec<String> = used.warning.into_iter().collect();
    let mut sorted: Vec<&(NaiveDate, Nature, Money)> = lines.iter().collect();
    sorted.sort_by_key(|(day, _, _)| *day);
    let mut foreign: Vec<String> = Vec::new();
    let mut all: Vec<(NaiveDate, i64)> = Vec::new();
    let mut services: Vec<(NaiveDate, i64)> = Vec::new();
    for (day, nature, amount) in sorted {
        if amount.currency != Currency::EUR {
            if !foreign.contains(&amount.currency.code().to_string()) {
                foreign.push(amount.currency.code().to_string());
            }
            continue;
        }
        all.push((*day, amount.minor));
        if *nature == Nature::Services {
            services.push((*day, amount.minor));
        }
    }
    if !foreign.is_empty() {
        warnings.push(format!(
            "Recettes en {} non comptées ici (seuils en euros) : convertissez-les pour juger des seuils / not counted",
            foreign.join(", ")
        ));
    }
    let f = used.figures;
    let total: i64 = all.iter().map(|(_, c)| c).sum();
    let services_total: i64 = services.iter().map(|(_, c)| c).sum();
    let alerts = [
        franchise_alert(
            "vat_sales",
            "chiffre d'affaires global",
            year,
            &all,
            f.vat_franchise.sales,
        ),
        franchise_alert(
            "vat_services",
            "prestations de services",
            year,
            &services,
            f.vat_franchise.services,
        ),
        ceiling_alert(
            "micro_sales",
            "chiffre d'affaires global",
            year,
            total,
            f.micro_ceilings.sales,
        ),
        ceiling_alert(
            "micro_services",
            "prestations de services",
            year,
            services_total,
            f.micro_ceilings.services,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(YearAlerts {
        year,
        through,
        total: Money::new(total, Currency::EUR),
        services: Money::new(services_total, Currency::EUR),
        alerts,
        warnings,
    })
}

/// The alerts of the year of `today`, from the livre de recettes.
#[tracing::instrument(skip(store))]
pub async fn year_to_date(store: &Store, today: NaiveDate) -> Result<YearAlerts, BillingError> {
    let year = today.year();
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today);
    let lines: Vec<(NaiveDate, Nature, Money)> = revenue_book::list(store, first, today)
        .await?
        .into_iter()
        .map(|l| (l.line.received_on, l.line.nature, l.line.amount))
        .collect();
    assess(year, today, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn eur(cents: i64) -> Money {
        Money::new(cents, Currency::EUR)
    }

    fn levels(a: &YearAlerts) -> Vec<(&'static str, Level, i64)> {
        a.alerts.iter().map(|x| (x.key, x.level, x.percent)).collect()
    }

    #[test]
    fn nothing_below_80_percent() {
        let a = assess(2026, d(12, 7), &[(d(3, 1), Nature::Services, eur(2_999_999))]).unwrap();
        assert_eq!(levels(&a), []);
    }

    #[test]
    fn services_at_80_then_100_percent_then_above_the_tolerance() {
        // 30 000 € of services = 80 % of 37 500 €.
        let mut lines = vec![(d(3, 1), Nature::Services, eur(3_000_000))];
        let a = assess(2026, d(12, 7), &lines).unwrap();
        assert_eq!(levels(&a), [("vat_services", Level::Warning, 80)]);
        assert!(
            a.alerts[0].message.contains("1er janvier 2027"),
            "{}",
            a.alerts[0].message
        );
        // + 7 500 € = 37 500 €: the threshold reached.
        lines.push((d(6, 1), Nature::Services, eur(750_000)));
        let a = assess(2026, d(12, 7), &lines).unwrap();
        assert_eq!(levels(&a), [("vat_services", Level::Reached, 100)]);
        assert!(a.alerts[0].message.contains("Seuil atteint"), "{}", a.alerts[0].message);
        // + 0,01 €: exceeded, VAT from 1 January.
        lines.push((d(7, 1), Nature::Services, eur(1)));
        let a = assess(2026, d(12, 7), &lines).unwrap();
        assert!(a.alerts[0]
            .message
            .contains("vous perdez la franchise de TVA au 1er janvier 2027"));
        // + 3 750 € on 14 November: 41 250,01 € > 41 250 €, VAT due from that day.
        lines.push((d(11, 14), Nature::Services, eur(375_000)));
        let a = assess(2026, d(12, 7), &lines).unwrap();
        assert_eq!(a.alerts[0].level, Level::AboveTolerance);
        assert!(
            a.alerts[0].message.contains("depuis le 14/11/2026"),
            "{}",
            a.alerts[0].message
        );
        // 41 250,01 € is also 80 % of 83 600 €? No: 49 %. Nor 85 000 € (48 %).
        assert_eq!(a.alerts.len(), 1, "{:?}", levels(&a));
    }

    #[test]
    fn goods_count_in_the_total_and_refunds_lower_it() {
        let lines = [
            (d(2, 1), Nature::Goods, eur(6_000_000)),
            (d(3, 1), Nature::Services, eur(1_000_000)),
            (d(4, 1), Nature::Goods, eur(-200_000)),
            (d(4, 2), Nature::Goods, Money::new(9_900_000, "USD".parse().unwrap())),
        ];
        // 68 000 € of 85 000 € = 80 %; services 10 000 € of 37 500 € = 26 %.
        let a = assess(2026, d(12, 7), &lines).unwrap();
        assert_eq!(levels(&a), [("vat_sales", Level::Warning, 80)]);
        assert_eq!((a.total, a.services), (eur(6_800_000), eur(1_000_000)));
        assert!(a.warnings.iter().any(|w| w.contains("USD")), "{:?}", a.warnings);
    }

    #[test]
    fn micro_ceilings() {
        // 70 000 € of services: 82 % of 85 000 €, above 41 250 €, 83 % of 83 600 €.
        let a = assess(2026, d(12, 7), &[(d(5, 1), Nature::Services, eur(7_000_000))]).unwrap();
        assert_eq!(
            levels(&a),
            [
                ("vat_sales", Level::Warning, 82),
                ("vat_services", Level::AboveTolerance, 186),
                ("micro_services", Level::Warning, 83)
            ]
        );
        let over = assess(2026, d(12, 7), &[(d(5, 1), Nature::Services, eur(8_400_000))]).unwrap();
        let micro = over.alerts.iter().find(|x| x.key == "micro_services").unwrap();
        assert_eq!(micro.level, Level::Reached);
        assert!(micro.message.contains("1er janvier 2028"), "{}", micro.message);
    }
}
