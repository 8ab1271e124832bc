//! The legal terms a document prints, as structured data: the VAT regime
//! (which decides the VAT mention) and the late-penalty rate (a number held
//! to its legal minimum, C. com. L441-10).

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::error::{invalid, BillingError};
use crate::text;

/// The seller's VAT regime. Only the franchise en base (CGI 293 B) today: a
/// micro-entrepreneur under it must not print any VAT (CGI 283-3 would make
/// the printed VAT due).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VatRegime {
    #[default]
    Franchise,
}

pub const FRANCHISE_MENTION: &str = "TVA non applicable, art. 293 B du CGI";

impl VatRegime {
    pub fn as_str(self) -> &'static str {
        match self {
            VatRegime::Franchise => "franchise",
        }
    }

    pub fn parse(s: &str) -> Result<VatRegime, BillingError> {
        match s.trim() {
            "franchise" => Ok(VatRegime::Franchise),
            other => Err(invalid(
                "vat_regime",
                text!(
                    "« {value} » : seule la franchise en base de TVA (art. 293 B du CGI) est prise en charge",
                    value = other
                ),
            )),
        }
    }

    /// The mention the regime requires on every document.
    pub fn vat_mention(self) -> &'static str {
        match self {
            VatRegime::Franchise => FRANCHISE_MENTION,
        }
    }

    /// The VAT exemption reason code of EN 16931 (BT-121, VATEX list).
    pub fn exemption_code(self) -> &'static str {
        match self {
            VatRegime::Franchise => "VATEX-FR-FRANCHISE",
        }
    }
}

/// The printed line when no discount is granted for early payment.
pub const NO_DISCOUNT: &str = "Pas d'escompte pour paiement anticipé";

/// The "taux de l'intérêt légal" for the claims of professionals ("pour tous
/// les autres cas"), per semester, from its first day, in percent a year.
///
/// Sources: the arrêtés published at the Journal officiel each semester, as
/// reported by legifiscal.fr ("Taux de l'intérêt légal 1er semestre 2026":
/// arrêté du 15 décembre 2025: 2,62 %; second semester 2025: 2,76 %; first
/// semester 2025: 3,71 %; second semester 2024: 4,92 %) and ksca.fr (arrêté
/// ECOT2516925A du 19 juin 2025 for the second semester 2025). The
/// second semester 2026 was not found published when this was written. Add
/// a row each January and July; a date after the last row uses the last rate,
/// a date before the first the first.
const LEGAL_INTEREST_RATES: &[((i32, u32), Decimal)] = &[
    ((2024, 7), Decimal::from_parts(492, 0, 0, false, 2)),
    ((2025, 1), Decimal::from_parts(371, 0, 0, false, 2)),
    ((2025, 7), Decimal::from_parts(276, 0, 0, false, 2)),
    ((2026, 1), Decimal::from_parts(262, 0, 0, false, 2)),
];

/// The legal interest rate for professionals in force on `on` (percent a year).
pub fn legal_interest_rate(on: NaiveDate) -> Decimal {
    let key = (on.year(), on.month());
    let mut rate = LEGAL_INTEREST_RATES[0].1;
    for ((y, m), r) in LEGAL_INTEREST_RATES {
        if (*y, *m) <= key {
            rate = *r;
        }
    }
    rate
}

/// The lowest late-penalty rate a seller may set on `on`: three times the
/// legal interest rate (C. com. L441-10, II).
pub fn minimum_late_penalty_rate(on: NaiveDate) -> Decimal {
    legal_interest_rate(on) * Decimal::from(3)
}

/// A late-penalty rate (percent a year) checked on `on`: at least the legal
/// minimum, at most 100 %, two decimals at most.
pub fn late_penalty_rate(rate: Decimal, on: NaiveDate) -> Result<Decimal, BillingError> {
    let minimum = minimum_late_penalty_rate(on);
    if rate < minimum {
        return Err(invalid(
            "late_penalty_rate",
            text!(
                "{rate} % est sous le minimum légal de {minimum} % (trois fois le taux d'intérêt légal de {legal} %, C. com. L441-10)",
                rate = percent(rate),
                minimum = percent(minimum),
                legal = percent(legal_interest_rate(on))
            ),
        ));
    }
    if rate > Decimal::from(100) {
        return Err(invalid("late_penalty_rate", text!("100 % par an au plus")));
    }
    if rate.normalize().scale() > 2 {
        return Err(invalid("late_penalty_rate", text!("deux décimales au plus")));
    }
    Ok(rate.normalize())
}

/// A rate written the French way: `7,86`, `10`.
pub fn percent(rate: Decimal) -> String {
    rate.normalize().to_string().replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_minimum_follows_the_semester() {
        assert_eq!(legal_interest_rate(d(2025, 6, 30)).to_string(), "3.71");
        assert_eq!(legal_interest_rate(d(2025, 7, 1)).to_string(), "2.76");
        assert_eq!(minimum_late_penalty_rate(d(2026, 3, 1)).to_string(), "7.86");
        // After the table: its last rate.
        assert_eq!(minimum_late_penalty_rate(d(2030, 1, 1)).to_string(), "7.86");
        // Before it: its first.
        assert_eq!(legal_interest_rate(d(2020, 1, 1)).to_string(), "4.92");
    }

    #[test]
    fn rates_below_the_minimum_are_refused() {
        let on = d(2026, 12, 7);
        for bad in ["0", "7.85", "-1", "100.01", "10.001"] {
            let r: Decimal = bad.parse().unwrap();
            assert!(
                matches!(
                    late_penalty_rate(r, on),
                    Err(BillingError::Invalid {
                        field: "late_penalty_rate",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            late_penalty_rate("7.86".parse().unwrap(), on).unwrap().to_string(),
            "7.86"
        );
        assert_eq!(
            late_penalty_rate("10.0".parse().unwrap(), on).unwrap().to_string(),
            "10"
        );
        assert_eq!(percent("10.50".parse().unwrap()), "10,5");
    }

    #[test]
    fn the_regime_decides_the_mention() {
        assert_eq!(
            VatRegime::Franchise.vat_mention(),
            "TVA non applicable, art. 293 B du CGI"
        );
        assert!(VatRegime::parse("franchise").is_ok());
        assert!(matches!(
            VatRegime::parse("normal"),
            Err(BillingError::Invalid {
                field: "vat_regime",
                ..
            })
        ));
        assert_eq!(serde_json::to_string(&VatRegime::Franchise).unwrap(), "\"franchise\"");
        assert!(serde_json::from_str::<VatRegime>("\"normal\"").is_err());
    }
}
