//! The regime's figures per year — contribution rates, VAT franchise
//! thresholds and micro-entreprise ceilings — kept as data in
//! `src/billing/urssaf/micro-entreprise.json`, compiled in. A year without figures is
//! computed with the latest earlier year's (or, before the first year, the
//! first year's), and says so.

use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::billing::error::BillingError;

const DATA: &str = include_str!("micro-entreprise.json");

#[derive(Debug, Deserialize)]
struct File {
    #[allow(dead_code)]
    about: String,
    years: Vec<YearFigures>,
}

/// Contribution rates, percent of the turnover declared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    pub sales_goods: Decimal,
    pub services_bic: Decimal,
    pub services_bnc: Decimal,
}

/// A VAT franchise threshold and its tolerance, whole euros a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Franchise {
    pub threshold: i64,
    pub tolerance: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatFranchise {
    /// Sales of goods (and the whole turnover of a mixed activity).
    pub sales: Franchise,
    /// Services alone.
    pub services: Franchise,
}

/// The micro-entreprise ceilings, whole euros a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceilings {
    pub sales: i64,
    pub services: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearFigures {
    pub year: i32,
    pub contribution_rates: Rates,
    pub vat_franchise: VatFranchise,
    pub micro_ceilings: Ceilings,
}

/// The figures used for a year, and a warning when they are another year's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiguresFor {
    pub asked: i32,
    pub figures: YearFigures,
    pub warning: Option<String>,
}

fn parsed() -> &'static Result<Vec<YearFigures>, String> {
    static FIGURES: OnceLock<Result<Vec<YearFigures>, String>> = OnceLock::new();
    FIGURES.get_or_init(|| {
        let mut file: File = serde_json::from_str(DATA).map_err(|e| e.to_string())?;
        file.years.sort_by_key(|y| y.year);
        if file.years.is_empty() {
            return Err("no year".into());
        }
        Ok(file.years)
    })
}

/// Every year of the data file, oldest first.
pub fn all() -> Result<&'static [YearFigures], BillingError> {
    parsed()
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| BillingError::Document(format!("src/billing/urssaf/micro-entreprise.json: {e}")))
}

/// The figures for `year`: its own, else the latest earlier year's, else the
/// first year's, with a warning saying which.
pub fn for_year(year: i32) -> Result<FiguresFor, BillingError> {
    let years = all()?;
    if let Some(own) = years.iter().find(|y| y.year == year) {
        return Ok(FiguresFor {
            asked: year,
            figures: *own,
            warning: None,
        });
    }
    let used = years
        .iter()
        .rev()
        .find(|y| y.year < year)
        .or_else(|| years.first())
        .ok_or_else(|| BillingError::Document("src/billing/urssaf/micro-entreprise.json: no year".into()))?;
    Ok(FiguresFor {
        asked: year,
        figures: *used,
        warning: Some(format!(
            "Les taux et seuils de {year} ne sont pas connus de Comptoir : ceux de {} sont utilisés, à vérifier sur autoentrepreneur.urssaf.fr (mettre à jour src/billing/urssaf/micro-entreprise.json) / {year}'s figures are unknown, {}'s are used",
            used.year, used.year
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_year_has_every_figure() {
        let years = all().expect("the data file parses, every field present");
        assert!(years.len() >= 2);
        for y in years {
            let r = y.contribution_rates;
            for rate in [r.sales_goods, r.services_bic, r.services_bnc] {
                assert!(rate > Decimal::ZERO && rate < Decimal::from(100), "{}: {rate}", y.year);
            }
            let f = y.vat_franchise;
            for t in [f.sales, f.services] {
                assert!(t.threshold > 0 && t.tolerance > t.threshold, "{}: {t:?}", y.year);
            }
            let c = y.micro_ceilings;
            assert!(
                c.sales > f.sales.tolerance && c.services > f.services.tolerance,
                "{}",
                y.year
            );
            assert!(c.services < c.sales, "{}", y.year);
        }
        let mut list: Vec<i32> = years.iter().map(|y| y.year).collect();
        list.dedup();
        assert_eq!(list.len(), years.len(), "a year listed twice");
    }

    #[test]
    fn the_published_figures_of_2025_and_2026() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let y2026 = for_year(2026).unwrap();
        assert_eq!(y2026.warning, None);
        let r = y2026.figures.contribution_rates;
        assert_eq!(
            (r.sales_goods, r.services_bic, r.services_bnc),
            (d("12.3"), d("21.2"), d("25.6"))
        );
        assert_eq!(
            y2026.figures.micro_ceilings,
            Ceilings {
                sales: 203_100,
                services: 83_600
            }
        );
        let y2025 = for_year(2025).unwrap().figures;
        assert_eq!(y2025.contribution_rates.services_bnc, d("24.6"));
        assert_eq!(
            y2025.micro_ceilings,
            Ceilings {
                sales: 188_700,
                services: 77_700
            }
        );
        for f in [y2025.vat_franchise, y2026.figures.vat_franchise] {
            assert_eq!((f.sales.threshold, f.sales.tolerance), (85_000, 93_500));
            assert_eq!((f.services.threshold, f.services.tolerance), (37_500, 41_250));
        }
    }

    #[test]
    fn a_year_without_figures_uses_the_latest_earlier_year_and_says_so() {
        let latest = all().unwrap().last().unwrap().year;
        let later = for_year(latest + 3).unwrap();
        assert_eq!(later.figures.year, latest);
        let warning = later.warning.expect("a warning");
        assert!(
            warning.contains(&format!("ceux de {latest} sont utilisés")),
            "{warning}"
        );
        let first = all().unwrap()[0].year;
        let before = for_year(first - 5).unwrap();
        assert_eq!(before.figures.year, first);
        assert!(before.warning.is_some());
    }
}
