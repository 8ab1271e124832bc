//! What Stripe answers: its documented error body, PaymentIntents (with the expanded balance
//! transaction carrying the fee), refunds, and amounts in Stripe's smallest units.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::super::http;
use super::super::{ChargeOutcome, ProviderError};
use crate::money::{Currency, Money};

pub(super) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("Request-Id")
        .and_then(|v| v.to_str().ok())
        .map(|id| format!(" [request {id}]"))
        .unwrap_or_default()
}

/// Stripe's documented error, with what the HTTP answer said about retrying.
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    pub(super) kind: String,
    pub(super) code: Option<String>,
    pub(super) decline_code: Option<String>,
    pub(super) message: Option<String>,
    pub(super) param: Option<String>,
    pub(super) should_retry: Option<bool>,
    pub(super) request_id: String,
}

impl ApiError {
    pub(super) fn into_error(self, what: &str) -> ProviderError {
        let mut text = format!("stripe: {what} failed with HTTP {}", self.status.as_u16());
        for part in [Some(&self.kind).filter(|k| !k.is_empty()), self.code.as_ref()]
            .into_iter()
            .flatten()
        {
            text.push_str(&format!(" {part}"));
        }
        if let Some(message) = &self.message {
            text.push_str(&format!(": {message}"));
        }
        if let Some(param) = &self.param {
            text.push_str(&format!(" (parameter {param})"));
        }
        text.push_str(&self.request_id);
        if self.status == StatusCode::UNAUTHORIZED {
            text.push_str(" — check COMPTOIR_STRIPE_SECRET_KEY");
        }
        // A 409 is another request holding the same key, unless the key was reused.
        let conflict = self.status == StatusCode::CONFLICT && self.kind != "idempotency_error";
        let transient = self
            .should_retry
            .unwrap_or_else(|| http::retryable(self.status) || conflict);
        if transient {
            ProviderError::Transient(text)
        } else {
            ProviderError::Permanent(text)
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ErrorEnvelope {
    pub(super) error: ErrorBody,
}

#[derive(Deserialize, Default)]
pub(super) struct ErrorBody {
    #[serde(rename = "type")]
    pub(super) kind: Option<String>,
    pub(super) code: Option<String>,
    pub(super) decline_code: Option<String>,
    pub(super) message: Option<String>,
    pub(super) param: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PaymentIntent {
    pub(super) id: String,
    pub(super) status: String,
    /// An id, or the Charge object when expanded.
    pub(super) latest_charge: Option<Value>,
    pub(super) next_action: Option<Value>,
    pub(super) last_payment_error: Option<ErrorBody>,
    pub(super) cancellation_reason: Option<String>,
}

impl PaymentIntent {
    pub(super) fn outcome(self) -> Result<ChargeOutcome, ProviderError> {
        let reference = self.id.clone();
        Ok(match self.status.as_str() {
            "succeeded" => ChargeOutcome::Succeeded {
                fee: self.fee()?,
                reference,
            },
            "requires_capture" => ChargeOutcome::Authorized { reference },
            "requires_action" => {
                let url = self
                    .next_action
                    .as_ref()
                    .and_then(|a| a.pointer("/redirect_to_url/url"))
                    .and_then(Value::as_str);
                match url {
                    Some(url) => ChargeOutcome::RequiresApproval {
                        reference,
                        approval_url: url.to_string(),
                    },
                    // Authentication in the payer's browser (Stripe.js); the webhook tells.
                    None => ChargeOutcome::Pending { reference },
                }
            }
            "requires_payment_method" => {
                let error = self.last_payment_error.unwrap_or_default();
                ChargeOutcome::Declined {
                    reason: error.message.unwrap_or_else(|| "the payment method was refused".into()),
                    code: error.decline_code.or(error.code),
                }
            }
            "canceled" => ChargeOutcome::Declined {
                reason: format!(
                    "the payment was canceled ({})",
                    self.cancellation_reason.as_deref().unwrap_or("no reason given")
                ),
                code: self.cancellation_reason,
            },
            // processing, requires_confirmation, and any later state.
            _ => ChargeOutcome::Pending { reference },
        })
    }

    /// The fee of the expanded balance transaction, in its (settlement) currency.
    fn fee(&self) -> Result<Option<Money>, ProviderError> {
        let Some(txn) = self.latest_charge.as_ref().and_then(|c| c.get("balance_transaction")) else {
            return Ok(None);
        };
        match (
            txn.get("fee").and_then(Value::as_i64),
            txn.get("currency").and_then(Value::as_str),
        ) {
            (Some(fee), Some(currency)) => from_stripe_amount(fee, currency).map(Some),
            _ => Ok(None),
        }
    }
}

/// A page of `GET /v1/payment_intents/search`.
#[derive(Deserialize)]
pub(super) struct SearchResult {
    pub(super) data: Vec<PaymentIntent>,
}

#[derive(Deserialize)]
pub(super) struct Refund {
    pub(super) id: String,
    pub(super) status: Option<String>,
    pub(super) failure_reason: Option<String>,
}

/// Decimals of `currency` in Stripe's API where they differ from ISO 4217.
pub(super) fn stripe_exponent(currency: Currency) -> u32 {
    match currency.code() {
        // Stays two-decimal in the API, in multiples of 100.
        "ISK" => 2,
        // Zero-decimal for Stripe.
        "MGA" => 0,
        _ => currency.exponent(),
    }
}

pub(super) fn rescale(minor: i64, from: u32, to: u32) -> Option<i64> {
    if to >= from {
        minor.checked_mul(10i64.checked_pow(to - from)?)
    } else {
        let factor = 10i64.checked_pow(from - to)?;
        (minor % factor == 0).then_some(minor / factor)
    }
}

/// Integer amount in the currency's smallest unit as Stripe counts it.
pub(super) fn to_stripe_amount(money: Money) -> Result<i64, ProviderError> {
    let amount = rescale(money.minor, money.currency.exponent(), stripe_exponent(money.currency))
        .ok_or_else(|| ProviderError::Permanent(format!("stripe cannot charge {money}: not a whole unit")))?;
    let whole_units = match money.currency.code() {
        "ISK" => amount % 100 == 0,
        // Three-decimal currencies: the last digit must be 0.
        _ if money.currency.exponent() == 3 => amount % 10 == 0,
        _ => true,
    };
    if !whole_units {
        return Err(ProviderError::Permanent(format!(
            "stripe cannot charge {money}: round it to what {} allows",
            money.currency
        )));
    }
    Ok(amount)
}

pub(super) fn from_stripe_amount(amount: i64, currency: &str) -> Result<Money, ProviderError> {
    let currency: Currency = currency
        .parse()
        .map_err(|e| ProviderError::Permanent(format!("stripe answered an amount in {e}")))?;
    rescale(amount, stripe_exponent(currency), currency.exponent())
        .map(|minor| Money::new(minor, currency))
        .ok_or_else(|| ProviderError::Permanent(format!("stripe answered {amount} {currency}, not a whole unit")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, code.parse().unwrap())
    }

    #[test]
    fn amounts_follow_stripe_decimals() {
        assert_eq!(to_stripe_amount(money(1234, "EUR")).unwrap(), 1234);
        assert_eq!(to_stripe_amount(money(1500, "JPY")).unwrap(), 1500);
        assert_eq!(to_stripe_amount(money(500, "ISK")).unwrap(), 50_000);
        assert_eq!(to_stripe_amount(money(12_300, "MGA")).unwrap(), 123);
        assert!(to_stripe_amount(money(12_345, "MGA")).is_err());
        assert_eq!(to_stripe_amount(money(5_120, "KWD")).unwrap(), 5_120);
        assert!(to_stripe_amount(money(5_124, "KWD")).is_err());
        assert_eq!(from_stripe_amount(50_000, "isk").unwrap(), money(500, "ISK"));
        assert_eq!(from_stripe_amount(55, "eur").unwrap(), money(55, "EUR"));
    }
}
