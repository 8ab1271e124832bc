//! Money as the API shows it, everywhere: `{"minor": 1990, "currency": "EUR",
//! "amount": "19.90"}` — integer minor units (what counts), the ISO 4217 code,
//! and the same amount as a decimal string for people reading it. In requests
//! `amount` may be left out; when given it must say the same as `minor`.

use serde::{Deserialize, Serialize};

use super::error::Fields;
use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiMoney {
    pub minor: i64,
    pub currency: String,
    pub amount: String,
}

impl From<Money> for ApiMoney {
    fn from(m: Money) -> Self {
        ApiMoney {
            minor: m.minor,
            currency: m.currency.code().to_string(),
            amount: m.to_decimal().to_string(),
        }
    }
}

/// Money in a request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyIn {
    pub minor: i64,
    pub currency: String,
    #[serde(default)]
    pub amount: Option<String>,
}

impl MoneyIn {
    /// The amount, or the problems of `field` added to `fields`.
    pub fn check(&self, field: &str, fields: &mut Fields) -> Option<Money> {
        let currency: Currency = match self.currency.parse() {
            Ok(c) => c,
            Err(e) => {
                fields.add(format!("{field}.currency"), e.text());
                return None;
            }
        };
        let money = Money::new(self.minor, currency);
        if let Some(amount) = &self.amount {
            if Money::parse(amount, currency).ok() != Some(money) {
                fields.add(
                    format!("{field}.amount"),
                    crate::text!(
                        "« {amount} » diffère de minor {minor} {currency} (omettez amount, ou donnez {decimal})",
                        amount = amount,
                        minor = self.minor,
                        currency = currency,
                        decimal = money.to_decimal()
                    ),
                );
                return None;
            }
        }
        Some(money)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_checks() {
        let shown = ApiMoney::from(Money::new(1990, Currency::EUR));
        assert_eq!(shown.amount, "19.90");
        assert_eq!(ApiMoney::from(Money::new(-5, Currency::EUR)).amount, "-0.05");
        assert_eq!(ApiMoney::from(Money::new(500, "JPY".parse().unwrap())).amount, "500");
        let mut fields = Fields::new();
        let ok = MoneyIn {
            minor: 1990,
            currency: "eur".into(),
            amount: Some("19.90".into()),
        };
        assert_eq!(ok.check("price", &mut fields), Some(Money::new(1990, Currency::EUR)));
        let wrong = MoneyIn {
            amount: Some("19.91".into()),
            ..ok.clone()
        };
        assert_eq!(wrong.check("price", &mut fields), None);
        let bad = MoneyIn {
            currency: "EURO".into(),
            ..ok
        };
        assert_eq!(bad.check("price", &mut fields), None);
        match fields.finish() {
            Err(super::super::ApiError::Validation(f)) => {
                let names: Vec<&str> = f.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(names, ["price.amount", "price.currency"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
