//! PayPal over its documented REST API: an OAuth2 client-credentials token (cached), Orders v2
//! (create, capture, show), Payments v2 (refund a capture), webhook signature verification.
//! JSON bodies; `PayPal-Request-Id` makes every POST that moves money idempotent.

mod answers;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use self::answers::{order_outcome, parse, paypal_amount, ApiError, Refund};
use super::config::ConfigError;
use super::http;
use super::webhook::{self, PaypalTransmission, WebhookError, WebhookEvent};
use super::{ChargeOutcome, ChargeRequest, ProviderError, RefundOutcome, RefundStatus};
use crate::money::Money;

pub const DEFAULT_PAYPAL_API_BASE: &str = "https://api-m.sandbox.paypal.com";
/// `PayPal-Request-Id` is at most 108 characters.
const MAX_REQUEST_ID: usize = 108;
/// `custom_id`, `invoice_id` and `description` are at most 127 characters.
const MAX_TEXT: usize = 127;

#[derive(Clone)]
pub struct PaypalConfig {
    pub api_base: String,
    pub client_id: String,
    pub client_secret: String,
    pub webhook_id: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for PaypalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaypalConfig")
            .field("api_base", &self.api_base)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .field("webhook_id", &self.webhook_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

#[derive(Clone)]
pub struct PaypalClient {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: String,
    webhook_id: Option<String>,
    /// One token for many calls; the lock also makes concurrent callers wait for one fetch.
    token: Arc<Mutex<Option<Token>>>,
}

impl fmt::Debug for PaypalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaypalClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl PaypalClient {
    pub fn new(config: PaypalConfig) -> Result<Self, ConfigError> {
        Ok(PaypalClient {
            http: http::client(config.timeout)?,
            base: http::trim_base(&config.api_base),
            client_id: config.client_id.trim().to_string(),
            client_secret: config.client_secret.trim().to_string(),
            webhook_id: config.webhook_id.filter(|s| !s.trim().is_empty()),
            token: Arc::new(Mutex::new(None)),
        })
    }

    /// `POST /v2/checkout/orders` (intent CAPTURE): the payer approves at the returned link,
    /// then [`PaypalClient::capture`] takes the money.
    pub async fn create_payment(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        http::check_key("paypal", &req.idempotency_key, MAX_REQUEST_ID)?;
        let mut unit = json!({
            "amount": paypal_amount(req.amount)?,
            "custom_id": http::truncate(
                &req.payment_id.map(|id| format!("comptoir-payment-{id}")).unwrap_or_else(|| req.idempotency_key.clone()),
                MAX_TEXT,
            ),
        });
        if !req.description.trim().is_empty() {
            unit["description"] = json!(http::truncate(&req.description, MAX_TEXT));
        }
        if let Some(invoice) = &req.invoice_reference {
            unit["invoice_id"] = json!(http::truncate(invoice, MAX_TEXT));
        }
        let mut body = json!({ "intent": "CAPTURE", "purchase_units": [unit] });
        if let Some(return_url) = &req.return_url {
            body["payment_source"] = json!({ "paypal": { "experience_context": {
                "return_url": return_url,
                "cancel_url": req.cancel_url.as_deref().unwrap_or(return_url),
                "user_action": "PAY_NOW",
                "shipping_preference": "NO_SHIPPING",
            }}});
        }
        let what = "creating the order";
        match self
            .call(
                Method::POST,
                "/v2/checkout/orders",
                Some(body),
                Some(&req.idempotency_key),
                what,
            )
            .await?
        {
            Ok(order) => order_outcome(parse(order, what)?),
            Err(e) => Err(e.into_error(what)),
        }
    }

    /// `POST /v2/checkout/orders/{id}/capture`: the capture id, and PayPal's fee.
    pub async fn capture(&self, order_id: &str, idempotency_key: &str) -> Result<ChargeOutcome, ProviderError> {
        http::check_key("paypal", idempotency_key, MAX_REQUEST_ID)?;
        let id = http::path_segment("paypal", "order id", order_id)?;
        let what = "capturing the order";
        let path = format!("/v2/checkout/orders/{id}/capture");
        match self
            .call(Method::POST, &path, Some(json!({})), Some(idempotency_key), what)
            .await?
        {
            Ok(order) => order_outcome(parse(order, what)?),
            Err(e) => match e.issue.as_deref() {
                Some("INSTRUMENT_DECLINED") | Some("TRANSACTION_REFUSED") => Ok(ChargeOutcome::Declined {
                    reason: e
                        .description
                        .or(e.message)
                        .unwrap_or_else(|| "refused by PayPal".into()),
                    code: e.issue,
                }),
                // Captured by an earlier attempt whose answer was lost: read the order.
                Some("ORDER_ALREADY_CAPTURED") => self.status(id).await,
                _ => Err(e.into_error(what)),
            },
        }
    }

    /// `POST /v2/payments/captures/{capture_id}/refund`.
    pub async fn refund(
        &self,
        capture_id: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<RefundOutcome, ProviderError> {
        http::check_key("paypal", idempotency_key, MAX_REQUEST_ID)?;
        let id = http::path_segment("paypal", "capture id", capture_id)?;
        let what = "refunding the capture";
        let body = json!({ "amount": paypal_amount(amount)? });
        let path = format!("/v2/payments/captures/{id}/refund");
        let refund: Refund = match self
            .call(Method::POST, &path, Some(body), Some(idempotency_key), what)
            .await?
        {
            Ok(value) => parse(value, what)?,
            Err(e) => return Err(e.into_error(what)),
        };
        let status = match refund.status.as_str() {
            "COMPLETED" => RefundStatus::Succeeded,
            "FAILED" | "CANCELLED" => RefundStatus::Failed {
                reason: refund
                    .status_details
                    .and_then(|d| d.reason)
                    .unwrap_or_else(|| refund.status.to_lowercase()),
            },
            _ => RefundStatus::Pending,
        };
        Ok(RefundOutcome {
            reference: refund.id,
            status,
        })
    }

    /// `GET /v2/checkout/orders/{id}`.
    pub async fn status(&self, order_id: &str) -> Result<ChargeOutcome, ProviderError> {
        let id = http::path_segment("paypal", "order id", order_id)?;
        let what = "reading the order";
        match self
            .call(Method::GET, &format!("/v2/checkout/orders/{id}"), None, None, what)
            .await?
        {
            Ok(order) => order_outcome(parse(order, what)?),
            Err(e) => Err(e.into_error(what)),
        }
    }

    /// Asks PayPal (`POST /v1/notifications/verify-webhook-signature`) whether a delivery is
    /// genuine. The event is sent back byte for byte as received.
    pub async fn verify_webhook(
        &self,
        transmission: &PaypalTransmission,
        payload: &[u8],
    ) -> Result<WebhookEvent, WebhookError> {
        let webhook_id = self
            .webhook_id
            .as_deref()
            .ok_or(WebhookError::NotConfigured("COMPTOIR_PAYPAL_WEBHOOK_ID"))?;
        let event: Value = serde_json::from_slice(payload).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
        if !event.is_object() {
            return Err(WebhookError::BadPayload("the event is not a JSON object".into()));
        }
        let raw = std::str::from_utf8(payload).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
        let fields = json!({
            "auth_algo": transmission.auth_algo,
            "cert_url": transmission.cert_url,
            "transmission_id": transmission.transmission_id,
            "transmission_sig": transmission.transmission_sig,
            "transmission_time": transmission.transmission_time,
            "webhook_id": webhook_id,
        })
        .to_string();
        // Re-serializing the event could reorder its keys; splice the received bytes instead.
        let body = format!("{},\"webhook_event\":{}}}", &fields[..fields.len() - 1], raw.trim());
        let what = "verifying the webhook signature";
        let answer = self
            .send(
                Method::POST,
                "/v1/notifications/verify-webhook-signature",
                Some(body),
                None,
                what,
            )
            .await
            .map_err(WebhookError::Provider)?;
        let verdict = answer.map_err(|e| WebhookError::Provider(e.into_error(what)))?;
        match verdict.get("verification_status").and_then(Value::as_str) {
            Some("SUCCESS") => webhook::paypal_event(event),
            _ => Err(WebhookError::BadSignature),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        request_id: Option<&str>,
        what: &str,
    ) -> Result<Result<Value, ApiError>, ProviderError> {
        self.send(method, path, body.map(|b| b.to_string()), request_id, what)
            .await
    }

    /// Sends with a bearer token; a 401 drops the token and tries once more with a new one.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        request_id: Option<&str>,
        what: &str,
    ) -> Result<Result<Value, ApiError>, ProviderError> {
        let mut retried_auth = false;
        loop {
            let token = self.token().await?;
            let mut builder = self
                .http
                .request(method.clone(), format!("{}{}", self.base, path))
                .bearer_auth(&token)
                .header(ACCEPT, "application/json")
                .header("Prefer", "return=representation");
            if let Some(id) = request_id {
                builder = builder.header("PayPal-Request-Id", id);
            }
            if let Some(body) = &body {
                builder = builder.header(CONTENT_TYPE, "application/json").body(body.clone());
            }
            let response = builder
                .send()
                .await
                .map_err(|e| http::transport_error("paypal", what, e))?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| http::transport_error("paypal", what, e))?;
            if status == StatusCode::UNAUTHORIZED && !retried_auth {
                tracing::debug!("paypal refused the access token; fetching a new one");
                self.forget_token(&token).await;
                retried_auth = true;
                continue;
            }
            if status.is_success() {
                if bytes.is_empty() {
                    return Ok(Ok(Value::Null));
                }
                return serde_json::from_slice(&bytes)
                    .map(Ok)
                    .map_err(|e| ProviderError::Permanent(format!("paypal: unexpected answer {what}: {e}")));
            }
            return Ok(Err(ApiError::read(status, &headers, &bytes)));
        }
    }

    async fn token(&self) -> Result<String, ProviderError> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    async fn forget_token(&self, used: &str) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.value == used) {
            *slot = None;
        }
    }

    /// `POST /v1/oauth2/token` with Basic auth and `grant_type=client_credentials`.
    async fn fetch_token(&self) -> Result<Token, ProviderError> {
        let what = "getting an access token";
        let response = self
            .http
            .post(format!("{}/v1/oauth2/token", self.base))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .header(ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| http::transport_error("paypal", what, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| http::transport_error("paypal", what, e))?;
        if !status.is_success() {
            let mut error = ApiError::read(status, &headers, &bytes).into_error(what);
            if let ProviderError::Permanent(text) = &mut error {
                text.push_str(" — check COMPTOIR_PAYPAL_CLIENT_ID and COMPTOIR_PAYPAL_CLIENT_SECRET");
            }
            return Err(error);
        }
        #[derive(Deserialize)]
        struct Answer {
            access_token: String,
            expires_in: u64,
        }
        let answer: Answer = serde_json::from_slice(&bytes)
            .map_err(|e| ProviderError::Permanent(format!("paypal: unexpected answer {what}: {e}")))?;
        // Renewed a little before PayPal expires it.
        let margin = (answer.expires_in / 10).min(60);
        tracing::debug!(expires_in = answer.expires_in, "paypal access token obtained");
        Ok(Token {
            value: answer.access_token,
            renew_at: Instant::now() + Duration::from_secs(answer.expires_in - margin),
        })
    }
}
