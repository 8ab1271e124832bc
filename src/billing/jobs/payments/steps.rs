//! The provider calls of a payment, shared by the payment jobs and the API:
//! each in three phases — the payment was recorded by the caller; the provider
//! is called with an idempotency key derived from the payment's, the same on
//! every call; its answer is recorded with what follows from it.

use super::{record, record_as, AskedBy};
use crate::billing::payments::{self, PaymentStatus};
use crate::billing::{invoices, BillingError};
use crate::providers::{ChargeOutcome, ChargeRequest, ProviderError, Providers};
use crate::store::Store;

/// What one provider call about a payment came to (see [`charge`] and [`capture`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The payment was not in the state the call acts on: the provider was not asked.
    NotDue,
    /// The provider answered and its answer is recorded (the payment may now be
    /// completed, failed, pending or awaiting the payer's approval).
    Recorded,
    /// The provider accepted but has not settled yet: ask again later.
    Waiting,
    /// The provider refused the request for good, for this reason.
    Refused(String),
}

/// Why a provider call about a payment has no answer recorded; the payment is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The provider could not be reached or is not configured.
    #[error(transparent)]
    Provider(ProviderError),
    /// The payment could not be read, or the answer not recorded.
    #[error(transparent)]
    Billing(#[from] BillingError),
}

/// What a charge needs besides the payment: what the checkout page collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeOptions {
    /// Stripe: the PaymentMethod (`pm_…`).
    pub payment_method: Option<String>,
    /// PayPal: where the payer returns after approving.
    pub return_url: Option<String>,
}

/// Charges an initiated payment through its provider, in three phases: the
/// payment was recorded by the caller; the provider is called with the
/// payment's idempotency key (`<key>:charge`, the same on every call); its
/// answer is recorded with what follows. A payment no longer initiated is left
/// alone ([`Step::NotDue`]). A provider that refuses the request for good
/// fails the payment with its reason. Shared by [`ChargePayment`](super::ChargePayment) and the API.
#[tracing::instrument(skip(store, providers, options))]
pub async fn charge(
    store: &Store,
    providers: &Providers,
    payment_id: i64,
    options: &ChargeOptions,
) -> Result<Step, StepError> {
    let payment = payments::get(store, payment_id).await?;
    if payment.status != PaymentStatus::Initiated {
        return Ok(Step::NotDue);
    }
    let provider = providers.get(&payment.provider).map_err(StepError::Provider)?;
    let description = match payment.invoice_id {
        Some(id) => invoices::get(store, id).await.ok().and_then(|i| i.reference),
        None => None,
    };
    let mut request = ChargeRequest::new(
        payment.amount,
        format!("{}:charge", payment.idempotency_key),
        description.clone().map_or_else(
            || format!("Commande {}", payment.order_id.unwrap_or_default()),
            |r| format!("Facture {r}"),
        ),
    );
    request.payment_id = Some(payment.id);
    request.invoice_reference = description;
    request.payment_method = options.payment_method.clone();
    request.return_url = options.return_url.clone();
    payments::mark_provider_called(store, payment.id).await?;
    match provider.create_payment(&request).await {
        Ok(outcome) => {
            record(store, payment.id, outcome).await?;
            Ok(Step::Recorded)
        }
        Err(e) if !e.is_transient() => {
            // Refused for good (bad parameters, credentials): the payment fails with the reason.
            let mut tx = store.begin().await.map_err(BillingError::from)?;
            payments::fail(&mut tx, payment.id, &e.to_string()).await?;
            tx.commit().await.map_err(BillingError::from)?;
            Ok(Step::Refused(e.to_string()))
        }
        Err(e) => Err(StepError::Provider(e)),
    }
}

/// Captures a pending payment (authorized, or approved by the payer) with the
/// key `<key>:capture`, and records the answer. A payment not pending is left
/// alone; a refusal (not approved yet, say) leaves it pending. Shared by
/// [`CapturePayment`](super::CapturePayment) and the API, whose audit entry
/// (`asked_by`) is written with the recorded answer.
#[tracing::instrument(skip(store, providers, asked_by))]
pub async fn capture(
    store: &Store,
    providers: &Providers,
    payment_id: i64,
    asked_by: Option<&AskedBy<'_>>,
) -> Result<Step, StepError> {
    let payment = payments::get(store, payment_id).await?;
    if payment.status != PaymentStatus::Pending {
        return Ok(Step::NotDue);
    }
    let Some(reference) = payment.provider_reference.clone() else {
        return Ok(Step::Refused(format!(
            "payment {} has no provider reference to capture",
            payment.id
        )));
    };
    let provider = providers.get(&payment.provider).map_err(StepError::Provider)?;
    match provider
        .capture(&reference, &format!("{}:capture", payment.idempotency_key))
        .await
    {
        Ok(ChargeOutcome::Pending { .. }) => Ok(Step::Waiting),
        Ok(outcome) => {
            record_as(store, payment.id, outcome, asked_by).await?;
            Ok(Step::Recorded)
        }
        Err(e) if !e.is_transient() => Ok(Step::Refused(e.to_string())),
        Err(e) => Err(StepError::Provider(e)),
    }
}
