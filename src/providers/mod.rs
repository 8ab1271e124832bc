//! Payment providers: Stripe and PayPal spoken over their documented HTTP APIs, `manual`
//! (transfer, cheque or cash recorded by the operator) and `simulated` (an offline demo).
//!
//! Every call that moves money takes the caller's idempotency key and hands it to the
//! provider (`Idempotency-Key` for Stripe, `PayPal-Request-Id` for PayPal), so a retried or
//! rescued job replays the provider's first answer instead of charging twice. A key names one
//! operation: derive distinct keys for the charge, its capture and each refund (Stripe refuses a
//! key reused with other parameters).

mod config;
mod http;
mod paypal;
mod simulated;
mod stripe;
mod webhook;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::money::Money;

pub use config::{ConfigError, Providers, ProvidersConfig, DEFAULT_TIMEOUT};
pub use paypal::{PaypalClient, PaypalConfig, DEFAULT_PAYPAL_API_BASE};
pub use simulated::{Simulated, SimulatedConfig};
pub use stripe::{StripeClient, StripeConfig, DEFAULT_STRIPE_API_BASE, STRIPE_API_VERSION};
pub use webhook::{
    verify_stripe_webhook, PaypalTransmission, WebhookError, WebhookEvent, STRIPE_SIGNATURE_HEADER,
    STRIPE_WEBHOOK_TOLERANCE,
};

/// Why a provider call did not give an answer. A declined card is not an error: it is
/// [`ChargeOutcome::Declined`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth retrying with the same idempotency key: network failure, timeout, 5xx, 429.
    #[error("{0} (temporary, retry with the same idempotency key)")]
    Transient(String),
    /// Retrying the same request cannot help: refused parameters, bad credentials, 4xx.
    #[error("{0}")]
    Permanent(String),
    /// The provider was asked for but has no credentials in the configuration.
    #[error("payment provider {provider} is not configured (set {missing})")]
    NotConfigured {
        provider: &'static str,
        missing: &'static str,
    },
}

impl ProviderError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Transient(_))
    }
}

/// Automatic: the charge is captured at once. Manual: it is authorized, and captured later
/// with [`Provider::capture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    #[default]
    Automatic,
    Manual,
}

/// What to charge, and how to find it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub amount: Money,
    /// Stays the same across retries and rescues of the job making this charge.
    pub idempotency_key: String,
    /// Shown to the payer (Stripe `description`, PayPal purchase unit description).
    pub description: String,
    /// Our payment id: Stripe `metadata[comptoir_payment_id]`, PayPal `custom_id`.
    pub payment_id: Option<i64>,
    /// The invoice number: Stripe `metadata[invoice]`, PayPal `invoice_id`.
    pub invoice_reference: Option<String>,
    /// Stripe: the PaymentMethod (`pm_…`) to confirm with. Required by Stripe.
    pub payment_method: Option<String>,
    /// Stripe: the Customer (`cus_…`) owning a saved payment method.
    pub customer: Option<String>,
    /// Stripe: the payer is absent (a contract's monthly charge).
    pub off_session: bool,
    pub capture: CaptureMethod,
    /// Where the payer comes back after approving (PayPal) or a redirect (Stripe 3-D Secure).
    /// Without it, Stripe is told not to use redirect-based methods.
    pub return_url: Option<String>,
    /// PayPal: where the payer lands after cancelling.
    pub cancel_url: Option<String>,
    /// More Stripe metadata.
    pub metadata: BTreeMap<String, String>,
}

impl ChargeRequest {
    pub fn new(amount: Money, idempotency_key: impl Into<String>, description: impl Into<String>) -> Self {
        ChargeRequest {
            amount,
            idempotency_key: idempotency_key.into(),
            description: description.into(),
            payment_id: None,
            invoice_reference: None,
            payment_method: None,
            customer: None,
            off_session: false,
            capture: CaptureMethod::Automatic,
            return_url: None,
            cancel_url: None,
            metadata: BTreeMap::new(),
        }
    }
}

/// Where a charge stands after a call.
///
/// `reference` is what the next call takes: for a Stripe charge the PaymentIntent id
/// throughout; for PayPal the order id until it is captured, then the capture id (which
/// refunds take). [`Provider::status`] takes the PaymentIntent or order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChargeOutcome {
    /// The money is taken; `fee` is what the provider keeps, when it says.
    Succeeded { reference: String, fee: Option<Money> },
    /// Authorized (Stripe `requires_capture`) or approved by the payer (PayPal `APPROVED`):
    /// call [`Provider::capture`].
    Authorized { reference: String },
    /// The payer must approve at `approval_url` (PayPal checkout, Stripe redirect).
    RequiresApproval { reference: String, approval_url: String },
    /// Accepted; the result comes later (a webhook, or [`Provider::status`]).
    Pending { reference: String },
    /// Refused by the payer's bank or the provider. Do not retry with the same key.
    Declined { reason: String, code: Option<String> },
}

impl ChargeOutcome {
    pub fn reference(&self) -> Option<&str> {
        match self {
            ChargeOutcome::Succeeded { reference, .. }
            | ChargeOutcome::Authorized { reference }
            | ChargeOutcome::RequiresApproval { reference, .. }
            | ChargeOutcome::Pending { reference } => Some(reference),
            ChargeOutcome::Declined { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RefundStatus {
    Succeeded,
    Pending,
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundOutcome {
    /// The provider's refund id (`re_…`, PayPal refund id).
    pub reference: String,
    pub status: RefundStatus,
}

/// One payment provider; the names match `Payment::provider`.
#[derive(Debug, Clone)]
pub enum Provider {
    Stripe(StripeClient),
    Paypal(PaypalClient),
    /// Transfer, cheque or cash: nothing happens outside, the operator records it.
    Manual,
    Simulated(Simulated),
}

impl Provider {
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Stripe(_) => "stripe",
            Provider::Paypal(_) => "paypal",
            Provider::Manual => "manual",
            Provider::Simulated(_) => "simulated",
        }
    }

    #[tracing::instrument(skip_all, fields(provider = self.name(), key = %req.idempotency_key, amount = %req.amount))]
    pub async fn create_payment(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        let outcome = match self {
            Provider::Stripe(c) => c.create_payment(req).await,
            Provider::Paypal(c) => c.create_payment(req).await,
            Provider::Manual => Ok(ChargeOutcome::Succeeded {
                reference: format!("manual-{}", req.idempotency_key),
                fee: None,
            }),
            Provider::Simulated(s) => s.create_payment(req),
        };
        log_result(&outcome);
        outcome
    }

    #[tracing::instrument(skip_all, fields(provider = self.name(), reference = %reference, key = %idempotency_key))]
    pub async fn capture(&self, reference: &str, idempotency_key: &str) -> Result<ChargeOutcome, ProviderError> {
        let outcome = match self {
            Provider::Stripe(c) => c.capture(reference, idempotency_key).await,
            Provider::Paypal(c) => c.capture(reference, idempotency_key).await,
            Provider::Manual => Ok(ChargeOutcome::Succeeded {
                reference: reference.to_string(),
                fee: None,
            }),
            Provider::Simulated(s) => s.capture(reference),
        };
        log_result(&outcome);
        outcome
    }

    /// Gives back `amount` (positive) of the charge `reference` (Stripe PaymentIntent id,
    /// PayPal capture id).
    #[tracing::instrument(skip_all, fields(provider = self.name(), reference = %reference, key = %idempotency_key, amount = %amount))]
    pub async fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<RefundOutcome, ProviderError> {
        if amount.minor <= 0 {
            return Err(ProviderError::Permanent(format!(
                "a refund must be positive, not {amount}"
            )));
        }
        match self {
            Provider::Stripe(c) => c.refund(reference, amount, idempotency_key).await,
            Provider::Paypal(c) => c.refund(reference, amount, idempotency_key).await,
            Provider::Manual => Ok(RefundOutcome {
                reference: format!("manual-refund-{idempotency_key}"),
                status: RefundStatus::Succeeded,
            }),
            Provider::Simulated(s) => s.refund(reference, amount, idempotency_key),
        }
    }

    /// Asks whether a charge was made with `idempotency_key`, for a charge
    /// whose answer was lost before its reference was recorded: `Some` with
    /// where it stands, `None` when the provider took nothing under that key.
    /// PayPal takes money only when we capture an order the payer approved,
    /// which needs the order's id: an order we never heard of took nothing.
    /// `manual` has nothing outside to ask.
    #[tracing::instrument(skip_all, fields(provider = self.name(), key = %idempotency_key))]
    pub async fn find_charge(&self, idempotency_key: &str) -> Result<Option<ChargeOutcome>, ProviderError> {
        match self {
            Provider::Stripe(c) => c.find_charge(idempotency_key).await,
            Provider::Paypal(_) => Ok(None),
            Provider::Manual => Err(ProviderError::Permanent(
                "manual payments are the operator's own record: nothing outside to ask".into(),
            )),
            Provider::Simulated(s) => Ok(s.find_charge(idempotency_key)),
        }
    }

    /// Asks where a charge stands, for reconciliation (Stripe PaymentIntent id, PayPal order id).
    #[tracing::instrument(skip_all, fields(provider = self.name(), reference = %reference))]
    pub async fn status(&self, reference: &str) -> Result<ChargeOutcome, ProviderError> {
        match self {
            Provider::Stripe(c) => c.status(reference).await,
            Provider::Paypal(c) => c.status(reference).await,
            Provider::Manual => Ok(ChargeOutcome::Succeeded {
                reference: reference.to_string(),
                fee: None,
            }),
            Provider::Simulated(s) => s.status(reference),
        }
    }
}

fn log_result(result: &Result<ChargeOutcome, ProviderError>) {
    match result {
        Ok(ChargeOutcome::Declined { reason, code }) => tracing::info!(reason, code, "payment declined"),
        Ok(outcome) => tracing::debug!(reference = outcome.reference(), "provider answered"),
        Err(e) => tracing::warn!(error = %e, transient = e.is_transient(), "provider call failed"),
    }
}
