//! Totals of the livre des recettes: per quarter and per year, each currency apart, goods apart
//! from services and cash apart from the other payment methods. Sums are exact integers in
//! minor units.

use std::collections::BTreeMap;

use chrono::Datelike;

use super::wording::fill;
use super::{Nature, RevenueLine};
use crate::money::{Currency, Money};

/// A calendar quarter (1 to 4) or a calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Quarter { year: i32, quarter: u32 },
    Year(i32),
}

impl Period {
    /// "T1 2026" or "Année 2026".
    pub fn label(self) -> String {
        match self {
            Period::Quarter { year, quarter } => fill(
                "book.quarter",
                &[("quarter", &quarter.to_string()), ("year", &year.to_string())],
            ),
            Period::Year(year) => fill("book.year", &[("year", &year.to_string())]),
        }
    }

    /// Chronological order, a year after its quarters.
    fn sort_key(self) -> (i32, u32) {
        match self {
            Period::Quarter { year, quarter } => (year, quarter),
            Period::Year(year) => (year, 5),
        }
    }
}

/// The receipts of one period in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodTotals {
    pub period: Period,
    pub currency: Currency,
    pub receipts: usize,
    /// Ventes de marchandises.
    pub goods: Money,
    /// Prestations de services.
    pub services: Money,
    /// Received in cash ("dont espèces").
    pub cash: Money,
    /// Received by any other method.
    pub other_methods: Money,
    /// `goods + services`, also `cash + other_methods`.
    pub total: Money,
}

impl PeriodTotals {
    fn empty(period: Period, currency: Currency) -> PeriodTotals {
        let zero = Money::zero(currency);
        PeriodTotals {
            period,
            currency,
            receipts: 0,
            goods: zero,
            services: zero,
            cash: zero,
            other_methods: zero,
            total: zero,
        }
    }

    /// Adds one receipt. The sums saturate rather than wrap: i64 cents reach 92 million
    /// billion euros, far beyond any micro-enterprise.
    fn add(&mut self, line: &RevenueLine) {
        let amount = line.amount.minor;
        let bump = |sum: &mut Money| sum.minor = sum.minor.saturating_add(amount);
        self.receipts += 1;
        bump(&mut self.total);
        match line.nature {
            Nature::Goods => bump(&mut self.goods),
            Nature::Services => bump(&mut self.services),
        }
        if line.is_cash {
            bump(&mut self.cash);
        } else {
            bump(&mut self.other_methods);
        }
    }
}

/// All totals of a book: for each year in order, its quarters that have receipts, then the year;
/// within a period, one entry per currency in code order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevenueTotals {
    pub periods: Vec<PeriodTotals>,
}

impl RevenueTotals {
    pub fn get(&self, period: Period, currency: Currency) -> Option<&PeriodTotals> {
        self.periods
            .iter()
            .find(|p| p.period == period && p.currency == currency)
    }
}

pub fn revenue_totals(lines: &[RevenueLine]) -> RevenueTotals {
    let mut sums: BTreeMap<((i32, u32), Currency), PeriodTotals> = BTreeMap::new();
    for line in lines {
        let year = line.date.year();
        let quarter = line.date.month0() / 3 + 1;
        let currency = line.amount.currency;
        for period in [Period::Quarter { year, quarter }, Period::Year(year)] {
            sums.entry((period.sort_key(), currency))
                .or_insert_with(|| PeriodTotals::empty(period, currency))
                .add(line);
        }
    }
    RevenueTotals {
        periods: sums.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn line(date: (i32, u32, u32), nature: Nature, minor: i64, currency: &str, cash: bool) -> RevenueLine {
        RevenueLine {
            date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).expect("valid test date"),
            client: "Client".to_string(),
            nature,
            amount: Money::new(minor, currency.parse().expect("valid test currency")),
            method: if cash { "Espèces" } else { "Virement" }.to_string(),
            is_cash: cash,
            reference: "F-1".to_string(),
        }
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn quarters_and_year_split_goods_services_cash_and_other() {
        let lines = [
            line((2026, 1, 10), Nature::Goods, 10_000, "EUR", true),
            line((2026, 2, 15), Nature::Services, 25_050, "EUR", false),
            line((2026, 3, 31), Nature::Goods, 1_999, "EUR", false),
            line((2026, 4, 1), Nature::Goods, 100_000, "EUR", false),
            line((2026, 5, 20), Nature::Services, 30_000, "EUR", false),
            line((2026, 6, 2), Nature::Goods, -1_999, "EUR", false),
        ];
        let totals = revenue_totals(&lines);
        let periods: Vec<Period> = totals.periods.iter().map(|p| p.period).collect();
        assert_eq!(
            periods,
            [
                Period::Quarter { year: 2026, quarter: 1 },
                Period::Quarter { year: 2026, quarter: 2 },
                Period::Year(2026)
            ]
        );
        let q1 = totals
            .get(Period::Quarter { year: 2026, quarter: 1 }, Currency::EUR)
            .expect("Q1");
        assert_eq!((q1.receipts, q1.goods, q1.services), (3, eur(11_999), eur(25_050)));
        assert_eq!(
            (q1.cash, q1.other_methods, q1.total),
            (eur(10_000), eur(27_049), eur(37_049))
        );
        let q2 = totals
            .get(Period::Quarter { year: 2026, quarter: 2 }, Currency::EUR)
            .expect("Q2");
        assert_eq!(
            (q2.goods, q2.services, q2.cash, q2.total),
            (eur(98_001), eur(30_000), eur(0), eur(128_001))
        );
        let year = totals.get(Period::Year(2026), Currency::EUR).expect("year");
        assert_eq!(
            (year.receipts, year.goods, year.services),
            (6, eur(110_000), eur(55_050))
        );
        assert_eq!(
            (year.cash, year.other_methods, year.total),
            (eur(10_000), eur(155_050), eur(165_050))
        );
    }

    #[test]
    fn currencies_and_years_are_kept_apart() {
        let lines = [
            line((2025, 12, 31), Nature::Services, 500, "EUR", false),
            line((2026, 1, 1), Nature::Services, 700, "EUR", false),
            line((2026, 1, 2), Nature::Goods, 1_500, "JPY", true),
        ];
        let totals = revenue_totals(&lines);
        let keys: Vec<(String, &str)> = totals
            .periods
            .iter()
            .map(|p| (p.period.label(), p.currency.code()))
            .collect();
        let expected = [
            ("T4 2025", "EUR"),
            ("Année 2025", "EUR"),
            ("T1 2026", "EUR"),
            ("T1 2026", "JPY"),
            ("Année 2026", "EUR"),
            ("Année 2026", "JPY"),
        ];
        assert_eq!(keys, expected.map(|(p, c)| (p.to_string(), c)));
        let jpy: Currency = "JPY".parse().expect("JPY");
        let yen = totals.get(Period::Year(2026), jpy).expect("yen year");
        assert_eq!(
            (yen.goods.minor, yen.cash.minor, yen.total.minor),
            (1_500, 1_500, 1_500)
        );
        assert_eq!(
            totals.get(Period::Year(2026), Currency::EUR).map(|p| p.total),
            Some(eur(700))
        );
    }

    #[test]
    fn no_lines_no_totals() {
        assert!(revenue_totals(&[]).periods.is_empty());
    }
}
