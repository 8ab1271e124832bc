//! Stripe over its documented HTTP API: form-encoded requests, `Authorization: Bearer sk_…`,
//! `Idempotency-Key` on every POST, errors as `{"error": {"type", "code", "decline_code", …}}`.

mod answers;

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use self::answers::{request_id, to_stripe_amount, ApiError, ErrorEnvelope, PaymentIntent, Refund, SearchResult};
use super::config::ConfigError;
use super::http;
use super::webhook::{self, WebhookError, WebhookEvent};
use super::{CaptureMethod, ChargeOutcome, ChargeRequest, ProviderError, RefundOutcome, RefundStatus};
use crate::money::Money;

pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";
/// The API version the response shapes below were written against (`Stripe-Version`).
pub const STRIPE_API_VERSION: &str = "2024-06-20";
/// Stripe accepts idempotency keys of up to 255 characters.
const MAX_KEY: usize = 255;
/// Asks for the charge's balance transaction, which carries Stripe's fee.
const EXPAND_FEE: &str = "latest_charge.balance_transaction";

#[derive(Clone)]
pub struct StripeConfig {
    pub api_base: String,
    pub secret_key: String,
    pub webhook_secret: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("api_base", &self.api_base)
            .field("secret_key", &redact(&self.secret_key))
            .field("webhook_secret", &self.webhook_secret.as_deref().map(redact))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `sk_test_…` → `sk_test_…` with the secret part hidden.
fn redact(secret: &str) -> String {
    let visible = secret.rfind('_').map(|i| i + 1).unwrap_or(0).min(8);
    format!("{}…", secret.chars().take(visible).collect::<String>())
}

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    secret_key: String,
    webhook_secret: Option<String>,
}

impl fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl StripeClient {
    pub fn new(config: StripeConfig) -> Result<Self, ConfigError> {
        let key = config.secret_key.trim();
        if !(key.starts_with("sk_") || key.starts_with("rk_")) {
            return Err(ConfigError(format!(
                "the Stripe secret key must start with sk_ (or rk_ for a restricted key), not {}",
                redact(key)
            )));
        }
        Ok(StripeClient {
            http: http::client(config.timeout)?,
            base: http::trim_base(&config.api_base),
            secret_key: key.to_string(),
            webhook_secret: config.webhook_secret.filter(|s| !s.trim().is_empty()),
        })
    }

    /// `POST /v1/payment_intents` with `confirm=true`.
    pub async fn create_payment(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        http::check_key("stripe", &req.idempotency_key, MAX_KEY)?;
        let payment_method = req
            .payment_method
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| {
                ProviderError::Permanent("stripe: a charge needs a payment method (pm_…) to confirm with".into())
            })?;
        let mut form: Vec<(String, String)> = vec![
            ("amount".into(), to_stripe_amount(req.amount)?.to_string()),
            ("currency".into(), req.amount.currency.code().to_ascii_lowercase()),
            ("payment_method".into(), payment_method.to_string()),
            ("confirm".into(), "true".into()),
            (
                "capture_method".into(),
                match req.capture {
                    CaptureMethod::Automatic => "automatic",
                    CaptureMethod::Manual => "manual",
                }
                .into(),
            ),
            ("description".into(), req.description.clone()),
        ];
        if let Some(customer) = &req.customer {
            form.push(("customer".into(), customer.clone()));
        }
        if req.off_session {
            form.push(("off_session".into(), "true".into()));
        }
        match &req.return_url {
            Some(url) => form.push(("return_url".into(), url.clone())),
            None => {
                // Confirming server-side without a return URL: no redirect-based methods.
                form.push(("automatic_payment_methods[enabled]".into(), "true".into()));
                form.push(("automatic_payment_methods[allow_redirects]".into(), "never".into()));
            }
        }
        let mut metadata = req.metadata.clone();
        if let Some(id) = req.payment_id {
            metadata.insert("comptoir_payment_id".into(), id.to_string());
        }
        if let Some(invoice) = &req.invoice_reference {
            metadata.insert("invoice".into(), invoice.clone());
        }
        metadata.insert("idempotency_key".into(), req.idempotency_key.clone());
        for (k, v) in metadata {
            form.push((format!("metadata[{k}]"), v));
        }
        form.push(("expand[]".into(), EXPAND_FEE.into()));
        let builder = self.post("/v1/payment_intents", &req.idempotency_key).form(&form);
        self.intent_call(builder, "creating the payment").await
    }

    /// `POST /v1/payment_intents/{id}/capture`.
    pub async fn capture(&self, intent_id: &str, idempotency_key: &str) -> Result<ChargeOutcome, ProviderError> {
        http::check_key("stripe", idempotency_key, MAX_KEY)?;
        let id = http::path_segment("stripe", "PaymentIntent id", intent_id)?;
        let builder = self
            .post(&format!("/v1/payment_intents/{id}/capture"), idempotency_key)
            .form(&[("expand[]", EXPAND_FEE)]);
        self.intent_call(builder, "capturing the payment").await
    }

    /// `POST /v1/refunds` with `payment_intent` and `amount`.
    pub async fn refund(
        &self,
        intent_id: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<RefundOutcome, ProviderError> {
        http::check_key("stripe", idempotency_key, MAX_KEY)?;
        let id = http::path_segment("stripe", "PaymentIntent id", intent_id)?;
        let form = [
            ("payment_intent", id.to_string()),
            ("amount", to_stripe_amount(amount)?.to_string()),
            ("metadata[idempotency_key]", idempotency_key.to_string()),
        ];
        let builder = self.post("/v1/refunds", idempotency_key).form(&form);
        let refund: Refund = match self.call(builder, "refunding").await? {
            Ok(refund) => refund,
            Err(e) => return Err(e.into_error("refunding")),
        };
        let status = match refund.status.as_deref() {
            Some("succeeded") => RefundStatus::Succeeded,
            Some("failed") | Some("canceled") => RefundStatus::Failed {
                reason: refund.failure_reason.unwrap_or_else(|| "refused by Stripe".into()),
            },
            // pending, requires_action: settled later (charge.refund.updated webhook).
            _ => RefundStatus::Pending,
        };
        Ok(RefundOutcome {
            reference: refund.id,
            status,
        })
    }

    /// `GET /v1/payment_intents/{id}`.
    pub async fn status(&self, intent_id: &str) -> Result<ChargeOutcome, ProviderError> {
        let id = http::path_segment("stripe", "PaymentIntent id", intent_id)?;
        let builder = self
            .request(reqwest::Method::GET, &format!("/v1/payment_intents/{id}"))
            .query(&[("expand[]", EXPAND_FEE)]);
        self.intent_call(builder, "reading the payment").await
    }

    /// `GET /v1/payment_intents/search` by the `idempotency_key` metadata every
    /// PaymentIntent of ours carries: the charge made with that key, if any
    /// (for a charge whose answer was lost before we learned its id). Stripe's
    /// search index lags up to a minute behind a charge: ask well after it.
    pub async fn find_charge(&self, idempotency_key: &str) -> Result<Option<ChargeOutcome>, ProviderError> {
        http::check_key("stripe", idempotency_key, MAX_KEY)?;
        if idempotency_key.contains(['\'', '\\']) {
            return Err(ProviderError::Permanent(format!(
                "stripe: cannot search for the key {idempotency_key:?}"
            )));
        }
        let query = format!("metadata['idempotency_key']:'{idempotency_key}'");
        let builder = self
            .request(reqwest::Method::GET, "/v1/payment_intents/search")
            .query(&[
                ("query", query.as_str()),
                ("expand[]", "data.latest_charge.balance_transaction"),
            ]);
        let found: SearchResult = match self.call(builder, "searching for the payment").await? {
            Ok(found) => found,
            Err(e) => return Err(e.into_error("searching for the payment")),
        };
        // Keys are unique per charge: more than one would be Stripe's doing; take the first.
        found.data.into_iter().next().map(PaymentIntent::outcome).transpose()
    }

    /// Checks the `Stripe-Signature` of a webhook delivery with the configured endpoint secret.
    pub fn verify_webhook(&self, headers: &HeaderMap, payload: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let secret = self
            .webhook_secret
            .as_deref()
            .ok_or(WebhookError::NotConfigured("COMPTOIR_STRIPE_WEBHOOK_SECRET"))?;
        let header = headers
            .get(webhook::STRIPE_SIGNATURE_HEADER)
            .map(|v| {
                v.to_str()
                    .map_err(|_| WebhookError::MalformedHeader("not ASCII".into()))
            })
            .transpose()?;
        webhook::verify_stripe_webhook(
            secret,
            header,
            payload,
            chrono::Utc::now(),
            webhook::STRIPE_WEBHOOK_TOLERANCE,
        )
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.secret_key)
            .header("Stripe-Version", STRIPE_API_VERSION)
    }

    fn post(&self, path: &str, idempotency_key: &str) -> RequestBuilder {
        self.request(reqwest::Method::POST, path)
            .header("Idempotency-Key", idempotency_key)
    }

    /// A call answering a PaymentIntent; a card error is a decline, not an error.
    async fn intent_call(&self, builder: RequestBuilder, what: &str) -> Result<ChargeOutcome, ProviderError> {
        match self.call::<PaymentIntent>(builder, what).await? {
            Ok(intent) => intent.outcome(),
            Err(e) if e.kind == "card_error" || e.status == StatusCode::PAYMENT_REQUIRED => {
                Ok(ChargeOutcome::Declined {
                    reason: e.message.unwrap_or_else(|| "the card was declined".into()),
                    code: e.decline_code.or(e.code),
                })
            }
            Err(e) => Err(e.into_error(what)),
        }
    }

    /// Sends; `Err` when no usable answer came, `Ok(Err)` for Stripe's documented error body.
    async fn call<T: DeserializeOwned>(
        &self,
        builder: RequestBuilder,
        what: &str,
    ) -> Result<Result<T, ApiError>, ProviderError> {
        let response = builder
            .send()
            .await
            .map_err(|e| http::transport_error("stripe", what, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| http::transport_error("stripe", what, e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map(Ok).map_err(|e| {
                ProviderError::Permanent(format!(
                    "stripe: unexpected answer {what} ({e}){}",
                    request_id(&headers)
                ))
            });
        }
        let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&body).ok();
        let error = envelope.map(|e| e.error).unwrap_or_default();
        Ok(Err(ApiError {
            status,
            kind: error.kind.unwrap_or_default(),
            code: error.code,
            decline_code: error.decline_code,
            message: error.message,
            param: error.param,
            should_retry: headers
                .get("Stripe-Should-Retry")
                .and_then(|v| v.to_str().ok())
                .map(|v| v == "true"),
            request_id: request_id(&headers),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_printed() {
        let config = StripeConfig {
            api_base: DEFAULT_STRIPE_API_BASE.into(),
            secret_key: "sk_test_51Hsecretsecret".into(),
            webhook_secret: Some("whsec_abcdef".into()),
            timeout: Duration::from_secs(1),
        };
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("secretsecret") && !printed.contains("abcdef"),
            "{printed}"
        );
        assert!(StripeClient::new(StripeConfig {
            secret_key: "pk_test_123".into(),
            ..config
        })
        .is_err());
    }
}
