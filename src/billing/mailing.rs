//! What each customer receives by e-mail when it is made: the invoice, the
//! receipt of a payment, the credit note. Chosen per customer (all three
//! until the operator says otherwise) and read where the e-mail jobs are
//! enqueued, so that no e-mail goes out that the customer did not want;
//! the operator can still send a document on purpose ("Renvoyer").

use serde::{Deserialize, Serialize};

use super::error::BillingError;
use crate::billing::sql::mailing as sql;
use crate::store::{Store, Tx};

/// The three choices; every one is on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChoices {
    pub invoices: bool,
    pub receipts: bool,
    pub credit_notes: bool,
}

impl Default for EmailChoices {
    fn default() -> Self {
        EmailChoices {
            invoices: true,
            receipts: true,
            credit_notes: true,
        }
    }
}

/// What e-mail a document or a payment would make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mail {
    Invoice,
    Receipt,
    CreditNote,
}

impl EmailChoices {
    pub fn wants(&self, mail: Mail) -> bool {
        match mail {
            Mail::Invoice => self.invoices,
            Mail::Receipt => self.receipts,
            Mail::CreditNote => self.credit_notes,
        }
    }
}

pub async fn get(store: &Store, customer_id: i64) -> Result<EmailChoices, BillingError> {
    Ok(sql::get(store, customer_id).await?.unwrap_or_default())
}

pub async fn get_in(tx: &mut Tx, customer_id: i64) -> Result<EmailChoices, BillingError> {
    Ok(sql::get_in(tx, customer_id).await?.unwrap_or_default())
}

/// Remembers `choices` for customer `customer_id` (who must exist).
pub async fn set(tx: &mut Tx, customer_id: i64, choices: EmailChoices) -> Result<(), BillingError> {
    super::customers::get_in(tx, customer_id).await?;
    sql::upsert(tx, customer_id, &choices).await?;
    Ok(())
}

/// Whether `mail` goes to customer `customer_id` when it is made.
pub async fn wanted(tx: &mut Tx, customer_id: i64, mail: Mail) -> Result<bool, BillingError> {
    Ok(get_in(tx, customer_id).await?.wants(mail))
}
