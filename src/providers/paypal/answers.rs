//! What PayPal answers: its documented error body, orders with their captures, refunds, and
//! amounts as `{"currency_code", "value"}` strings.

use std::str::FromStr;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::http;
use super::super::{ChargeOutcome, ProviderError};
use crate::money::{Currency, Money};

pub(super) fn parse<T: for<'de> Deserialize<'de>>(value: Value, what: &str) -> Result<T, ProviderError> {
    serde_json::from_value(value)
        .map_err(|e| ProviderError::Permanent(format!("paypal: unexpected answer {what}: {e}")))
}

/// PayPal's documented error: `{name, message, debug_id, details: [{issue, description}]}`,
/// or OAuth's `{error, error_description}`.
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) name: Option<String>,
    pub(super) message: Option<String>,
    pub(super) issue: Option<String>,
    pub(super) description: Option<String>,
    pub(super) debug_id: Option<String>,
}

impl ApiError {
    pub(super) fn read(status: StatusCode, headers: &HeaderMap, bytes: &[u8]) -> ApiError {
        let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let detail = body.pointer("/details/0");
        ApiError {
            status,
            name: text(body.get("name")).or_else(|| text(body.get("error"))),
            message: text(body.get("message")).or_else(|| text(body.get("error_description"))),
            issue: text(detail.and_then(|d| d.get("issue"))),
            description: text(detail.and_then(|d| d.get("description"))),
            debug_id: text(body.get("debug_id")).or_else(|| {
                headers
                    .get("Paypal-Debug-Id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            }),
        }
    }

    pub(super) fn into_error(self, what: &str) -> ProviderError {
        let mut text = format!("paypal: {what} failed with HTTP {}", self.status.as_u16());
        for part in [&self.name, &self.issue].into_iter().flatten() {
            text.push_str(&format!(" {part}"));
        }
        if let Some(message) = self.description.as_ref().or(self.message.as_ref()) {
            text.push_str(&format!(": {message}"));
        }
        if let Some(id) = &self.debug_id {
            text.push_str(&format!(" [debug_id {id}]"));
        }
        if http::retryable(self.status) {
            ProviderError::Transient(text)
        } else {
            ProviderError::Permanent(text)
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Order {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) links: Vec<Link>,
    #[serde(default)]
    pub(super) purchase_units: Vec<PurchaseUnit>,
}

#[derive(Deserialize)]
pub(super) struct Link {
    pub(super) href: String,
    pub(super) rel: String,
}

#[derive(Deserialize)]
pub(super) struct PurchaseUnit {
    pub(super) payments: Option<Payments>,
}

#[derive(Deserialize)]
pub(super) struct Payments {
    #[serde(default)]
    pub(super) captures: Vec<Capture>,
}

#[derive(Deserialize)]
pub(super) struct Capture {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) status_details: Option<StatusDetails>,
    pub(super) seller_receivable_breakdown: Option<Breakdown>,
}

#[derive(Deserialize)]
pub(super) struct StatusDetails {
    pub(super) reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Breakdown {
    pub(super) paypal_fee: Option<Amount>,
}

#[derive(Deserialize)]
pub(super) struct Amount {
    pub(super) currency_code: String,
    pub(super) value: String,
}

#[derive(Deserialize)]
pub(super) struct Refund {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) status_details: Option<StatusDetails>,
}

pub(super) fn order_outcome(order: Order) -> Result<ChargeOutcome, ProviderError> {
    let reference = order.id;
    Ok(match order.status.as_str() {
        "COMPLETED" => {
            let capture = order
                .purchase_units
                .into_iter()
                .filter_map(|u| u.payments)
                .flat_map(|p| p.captures)
                .next();
            match capture {
                Some(c) => match c.status.as_str() {
                    "COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED" => ChargeOutcome::Succeeded {
                        fee: c
                            .seller_receivable_breakdown
                            .and_then(|b| b.paypal_fee)
                            .map(|fee| from_paypal_amount(&fee))
                            .transpose()?,
                        reference: c.id,
                    },
                    "DECLINED" | "FAILED" => ChargeOutcome::Declined {
                        reason: format!("paypal {} the capture", c.status.to_lowercase()),
                        code: c.status_details.and_then(|d| d.reason),
                    },
                    // PENDING: PayPal settles it later (PAYMENT.CAPTURE.COMPLETED).
                    _ => ChargeOutcome::Pending { reference },
                },
                None => ChargeOutcome::Pending { reference },
            }
        }
        "APPROVED" => ChargeOutcome::Authorized { reference },
        "CREATED" | "PAYER_ACTION_REQUIRED" => {
            match order
                .links
                .into_iter()
                .find(|l| l.rel == "approve" || l.rel == "payer-action")
            {
                Some(link) => ChargeOutcome::RequiresApproval {
                    reference,
                    approval_url: link.href,
                },
                None => ChargeOutcome::Pending { reference },
            }
        }
        "VOIDED" => ChargeOutcome::Declined {
            reason: "the order was voided".into(),
            code: Some("VOIDED".into()),
        },
        // SAVED, and any later state.
        _ => ChargeOutcome::Pending { reference },
    })
}

/// PayPal takes no decimals in these, whatever ISO 4217 says.
pub(super) fn paypal_exponent(currency: Currency) -> u32 {
    match currency.code() {
        "HUF" | "JPY" | "TWD" => 0,
        _ => currency.exponent(),
    }
}

/// `{"currency_code": "EUR", "value": "12.34"}`.
pub(super) fn paypal_amount(money: Money) -> Result<Value, ProviderError> {
    let (ours, theirs) = (money.currency.exponent(), paypal_exponent(money.currency));
    let factor = 10i64.pow(ours.saturating_sub(theirs));
    if money.minor % factor != 0 {
        return Err(ProviderError::Permanent(format!(
            "paypal cannot charge {money}: {} takes no decimals at PayPal",
            money.currency
        )));
    }
    let value = Decimal::new(money.minor / factor, theirs);
    Ok(json!({ "currency_code": money.currency.code(), "value": value.to_string() }))
}

pub(super) fn from_paypal_amount(amount: &Amount) -> Result<Money, ProviderError> {
    let bad = || {
        ProviderError::Permanent(format!(
            "paypal answered an odd amount {} {}",
            amount.value, amount.currency_code
        ))
    };
    let currency = Currency::from_str(&amount.currency_code).map_err(|_| bad())?;
    let value = Decimal::from_str(&amount.value).map_err(|_| bad())?;
    Money::from_decimal(value, currency).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, code.parse().unwrap())
    }

    #[test]
    fn values_follow_paypal_decimals() {
        let value = |m| paypal_amount(m).unwrap()["value"].as_str().unwrap().to_string();
        assert_eq!(value(money(1234, "EUR")), "12.34");
        assert_eq!(value(money(5, "EUR")), "0.05");
        assert_eq!(value(money(1500, "JPY")), "1500");
        assert_eq!(value(money(150_000, "HUF")), "1500");
        assert!(paypal_amount(money(150_050, "HUF")).is_err());
        let fee = Amount {
            currency_code: "HUF".into(),
            value: "45".into(),
        };
        assert_eq!(from_paypal_amount(&fee).unwrap(), money(4_500, "HUF"));
    }
}
