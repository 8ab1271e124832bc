//! SEPA direct debit of a contract's invoice, after the pre-notification
//! delay (the customer is told the amount and date beforehand: 14 days by
//! default in the SEPA rulebook, shorter when the contract says so).

use serde::{Deserialize, Serialize};

use super::payments::ChargePayment;
use crate::billing::contracts;
use crate::billing::invoices::{self, InvoiceStatus};
use crate::billing::payments::{self, NewPayment, PaymentMethod};
use crate::billing::BillingError;
use crate::context::AppContext;
use crate::jobs::{enqueue, EnqueueOptions, Job, JobContext, JobKind, JobResult, KindOptions, Outcome};

/// Days between the invoice (which is the pre-notification) and the debit.
pub fn prenotification_days() -> u64 {
    std::env::var("COMPTOIR_SEPA_PRENOTIFICATION_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14)
}

/// The provider that collects SEPA debits (`stripe`, or `simulated` offline).
pub fn sepa_provider() -> String {
    std::env::var("COMPTOIR_SEPA_PROVIDER").unwrap_or_else(|_| "simulated".to_string())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChargeSepa {
    pub invoice_id: i64,
}

impl JobKind for ChargeSepa {
    const KIND: &'static str = "billing.charge_sepa";
    fn options() -> KindOptions {
        KindOptions {
            queue: "payments".into(),
            max_attempts: 10,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for ChargeSepa {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let result = async {
            let store = ctx.store();
            let today = store.now().await?.date_naive();
            let mut tx = store.begin().await?;
            let invoice = invoices::lock(&mut tx, self.invoice_id).await?;
            if invoice.status != InvoiceStatus::Issued || invoice.balance_due().minor == 0 {
                return Ok(Outcome::Cancel(format!(
                    "invoice {} is {}: nothing to debit",
                    self.invoice_id,
                    invoice.status.as_str()
                )));
            }
            let contract_id = invoice.contract_id.ok_or_else(|| {
                BillingError::Conflict(crate::text!(
                    "la facture #{invoice} n'a pas de contrat à prélever",
                    invoice = self.invoice_id
                ))
            })?;
            let contract = contracts::lock(&mut tx, contract_id).await?;
            if let Err(refusal) = contract.mandate.check(today) {
                return Ok(Outcome::Discard(format!("no debit: {refusal}")));
            }
            // Recorded first, under a key that stays the same across retries.
            let payment = payments::initiate(
                &mut tx,
                NewPayment {
                    customer_id: invoice.customer_id,
                    invoice_id: Some(invoice.id),
                    order_id: None,
                    provider: sepa_provider(),
                    method: PaymentMethod::SepaDebit,
                    amount: invoice.balance_due(),
                    idempotency_key: format!("sepa-invoice-{}", invoice.id),
                },
            )
            .await?;
            contracts::record_debit(&mut tx, contract_id, today).await?;
            enqueue(
                &mut tx,
                &ChargePayment {
                    payment_id: payment.id,
                    payment_method: None,
                    return_url: None,
                },
                EnqueueOptions::new().unique_key(format!("charge:{}", payment.id)),
            )
            .await?;
            tx.commit().await?;
            Ok(Outcome::Done)
        }
        .await;
        match result {
            Ok(outcome) => Ok(outcome),
            Err(e) => super::settle(Err(e)),
        }
    }
}
