//! Money as integer minor units plus an ISO 4217 currency. `rust_decimal`
//! does conversions and formatting; sums stay exact integers.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Active ISO 4217 codes. Minor-unit exponents are 2 unless listed below.
const CODES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN \
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD \
HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD \
MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON \
RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX \
USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG";
const ZERO_DECIMALS: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";
const THREE_DECIMALS: &str = "BHD IQD JOD KWD LYD OMR TND";

/// Why an amount or a currency was refused; `Display` says it in French,
/// [`MoneyError::text`] in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{}", self.text())]
    UnknownCurrency(String),
    #[error("{}", self.text())]
    CurrencyMismatch(Currency, Currency),
    #[error("{}", self.text())]
    TooPrecise {
        amount: Decimal,
        currency: Currency,
        exponent: u32,
    },
    #[error("{}", self.text())]
    Overflow,
    #[error("{}", self.text())]
    NotANumber(String),
}

impl MoneyError {
    pub fn text(&self) -> crate::i18n::Text {
        use crate::text;
        match self {
            MoneyError::UnknownCurrency(code) => text!(
                "devise inconnue « {code} » (un code ISO 4217 comme EUR est attendu)",
                code = code.chars().take(20).collect::<String>()
            ),
            MoneyError::CurrencyMismatch(a, b) => text!("impossible de mêler {a} et {b}", a = a, b = b),
            MoneyError::TooPrecise {
                amount,
                currency,
                exponent,
            } => text!(
                "{amount} a plus de décimales que {currency} n'en permet ({exponent})",
                amount = amount.to_string().replace('.', ","),
                currency = currency,
                exponent = exponent
            ),
            MoneyError::Overflow => text!("montant hors limites"),
            MoneyError::NotANumber(t) => text!(
                "« {text} » n'est pas un montant",
                text = t.chars().take(40).collect::<String>()
            ),
        }
    }
}

/// An ISO 4217 currency code, validated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("validated ASCII")
    }

    /// Digits after the decimal point (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        let code = self.code();
        if ZERO_DECIMALS.split(' ').any(|c| c == code) {
            0
        } else if THREE_DECIMALS.split(' ').any(|c| c == code) {
            3
        } else {
            2
        }
    }

    fn symbol(&self) -> &str {
        match self.code() {
            "EUR" => "€",
            "GBP" => "£",
            "USD" => "$ US",
            "CHF" => "CHF",
            other => other,
        }
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        if upper.len() == 3 && CODES.split(' ').any(|c| c == upper) {
            let b = upper.as_bytes();
            Ok(Currency([b[0], b[1], b[2]]))
        } else {
            Err(MoneyError::UnknownCurrency(s.to_string()))
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount in minor units (cents) of a currency. May be negative (refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// From a decimal amount in major units; refuses sub-minor precision.
    pub fn from_decimal(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let exponent = currency.exponent();
        let scaled = amount
            .checked_mul(Decimal::from(10i64.pow(exponent)))
            .ok_or(MoneyError::Overflow)?;
        if scaled.fract() != Decimal::ZERO {
            return Err(MoneyError::TooPrecise {
                amount,
                currency,
                exponent,
            });
        }
        let minor = i64::try_from(scaled.trunc()).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// Parses `12.34` or the French `12,34` / `1 234,56`.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '€'))
            .map(|c| if c == ',' { '.' } else { c })
            .collect();
        let amount = Decimal::from_str(&cleaned).map_err(|_| MoneyError::NotANumber(text.to_string()))?;
        Money::from_decimal(amount, currency)
    }

    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?,
            self.currency,
        ))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(Money::new(
            self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?,
            self.currency,
        ))
    }

    /// `self × quantity`, rounded half away from zero to the minor unit.
    pub fn times(self, quantity: Decimal) -> Result<Money, MoneyError> {
        let total = self
            .to_decimal()
            .checked_mul(quantity)
            .ok_or(MoneyError::Overflow)?
            .round_dp_with_strategy(
                self.currency.exponent(),
                rust_decimal::RoundingStrategy::MidpointAwayFromZero,
            );
        Money::from_decimal(total, self.currency)
    }

    pub fn negate(self) -> Money {
        Money::new(-self.minor, self.currency)
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    /// French display: `1 234,56 €` (no-break spaces), `-12,00 €`.
    pub fn format_fr(&self) -> String {
        format!("{}\u{a0}{}", self.format_number_fr(true), self.currency.symbol())
    }

    /// The number alone, French style; with `group`, thousands are separated by no-break spaces.
    pub fn format_number_fr(&self, group: bool) -> String {
        let exponent = self.currency.exponent() as usize;
        let abs = self.minor.unsigned_abs().to_string();
        let padded = format!("{abs:0>width$}", width = exponent + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - exponent);
        let mut grouped = String::new();
        for (i, ch) in int_part.chars().enumerate() {
            if group && i > 0 && (int_part.len() - i) % 3 == 0 {
                grouped.push('\u{a0}');
            }
            grouped.push(ch);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        if exponent == 0 {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped},{frac_part}")
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    #[test]
    fn currencies_are_validated() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert_eq!("JPY".parse::<Currency>().unwrap().exponent(), 0);
        assert_eq!("KWD".parse::<Currency>().unwrap().exponent(), 3);
        assert!(matches!("EUX".parse::<Currency>(), Err(MoneyError::UnknownCurrency(_))));
        assert!("EURO".parse::<Currency>().is_err());
    }

    #[test]
    fn parses_french_and_dot_amounts() {
        assert_eq!(Money::parse("1 234,56", Currency::EUR).unwrap(), eur(123_456));
        assert_eq!(Money::parse("12.5", Currency::EUR).unwrap(), eur(1_250));
        assert_eq!(Money::parse("-3,00 €", Currency::EUR).unwrap(), eur(-300));
        assert!(matches!(
            Money::parse("1,234", Currency::EUR),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            Money::parse("abc", Currency::EUR),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn formats_french() {
        assert_eq!(eur(123_456).format_fr(), "1\u{a0}234,56\u{a0}€");
        assert_eq!(eur(-5).format_fr(), "-0,05\u{a0}€");
        assert_eq!(eur(100_000_000).format_number_fr(false), "1000000,00");
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(Money::new(1500, jpy).format_number_fr(true), "1\u{a0}500");
    }

    #[test]
    fn arithmetic_is_exact_and_checked() {
        assert_eq!(eur(10).checked_add(eur(-3)).unwrap(), eur(7));
        let usd: Currency = "USD".parse().unwrap();
        assert!(eur(1).checked_add(Money::new(1, usd)).is_err());
        assert_eq!(eur(333).times(Decimal::new(3, 0)).unwrap(), eur(999));
        // 0.125 € × 1 → rounds half away from zero.
        assert_eq!(eur(1999).times(Decimal::new(5, 1)).unwrap(), eur(1000));
    }
}
