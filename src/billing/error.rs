use thiserror::Error;

use crate::money::MoneyError;
use crate::store::StoreError;

/// Why a contract operation was refused: the rule that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("contract {contract} is {status}, not active")]
    ContractNotActive { contract: i64, status: String },
    #[error("the SEPA mandate {reference} was revoked on {on}")]
    MandateRevoked { reference: String, on: chrono::NaiveDate },
    #[error("the SEPA mandate {reference} lapsed: unused since {since} (36 months)")]
    MandateLapsed {
        reference: String,
        since: chrono::NaiveDate,
    },
    #[error("ceiling exceeded: outstanding {outstanding} + {amount} > ceiling {ceiling}")]
    CeilingExceeded {
        outstanding: String,
        amount: String,
        ceiling: String,
    },
    #[error("refund of {amount} exceeds the {open} open on the contract")]
    RefundAboveOpen { amount: String, open: String },
    #[error("currency {got} differs from the contract's {expected}")]
    CurrencyMismatch { got: String, expected: String },
}

impl Refusal {
    /// A stable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::ContractNotActive { .. } => "contract_not_active",
            Refusal::MandateRevoked { .. } => "mandate_revoked",
            Refusal::MandateLapsed { .. } => "mandate_lapsed",
            Refusal::CeilingExceeded { .. } => "ceiling_exceeded",
            Refusal::RefundAboveOpen { .. } => "refund_above_open",
            Refusal::CurrencyMismatch { .. } => "currency_mismatch",
        }
    }
}

#[derive(Debug, Error)]
pub enum BillingError {
    /// Input that can never be accepted as given.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. issuing an issued invoice).
    #[error("{0}")]
    Conflict(String),
    #[error("billing settings are not configured (seller identity, SIREN, series)")]
    NoSettings,
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Store(StoreError),
    #[error("document: {0}")]
    Document(String),
    /// A follow-up job could not be enqueued (an unknown kind, args that do
    /// not encode); the database's own errors are `Store`.
    #[error(transparent)]
    Queue(crate::jobs::Error),
    /// The book's signing key is missing, unreadable or not the book's.
    #[error(transparent)]
    Seal(#[from] super::seal::SealError),
    /// The livre de recettes failed verification: nothing is exported from it.
    #[error("{0}")]
    BookAltered(String),
    /// The record of the e-mails could not be read or written.
    #[error(transparent)]
    Mail(crate::mail::MailError),
}

impl From<crate::jobs::Error> for BillingError {
    fn from(e: crate::jobs::Error) -> Self {
        match e {
            crate::jobs::Error::Store(e) => e.into(),
            other => BillingError::Queue(other),
        }
    }
}

impl From<crate::mail::MailError> for BillingError {
    fn from(e: crate::mail::MailError) -> Self {
        match e {
            crate::mail::MailError::Store(e) => e.into(),
            other => BillingError::Mail(other),
        }
    }
}

impl From<StoreError> for BillingError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => BillingError::Conflict(message),
            other => BillingError::Store(other),
        }
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> BillingError {
    BillingError::Invalid {
        field,
        message: message.into(),
    }
}

/// A refusal of the `index`th line of a document or operation (0-based),
/// said the way the other line errors say it: "line 2: …".
pub(crate) fn at_line(e: BillingError, index: usize) -> BillingError {
    match e {
        BillingError::Invalid { field, message } => BillingError::Invalid {
            field,
            message: format!("line {}: {message}", index + 1),
        },
        other => other,
    }
}
