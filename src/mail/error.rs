//! What can go wrong with an e-mail, and whether trying again later may help:
//! a job retries a transient error and discards a permanent one.

use thiserror::Error;

use crate::store::StoreError;

#[derive(Debug, Error)]
pub enum MailError {
    /// The mail settings cannot work (a bad variable, no sender address).
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("invalid e-mail address {address:?}: {reason}")]
    InvalidAddress { address: String, reason: String },
    /// The message could not be put together (a template, an attachment type).
    #[error("cannot build the message: {0}")]
    Message(String),
    /// The idempotency key already names a different e-mail.
    #[error("idempotency key {key:?} was used for another e-mail ({existing})")]
    KeyReused { key: String, existing: String },
    /// Refused or interrupted for now: connection refused or lost, a timeout,
    /// a 4xx reply, a full disk.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Refused for good: a 5xx reply, a server that cannot do what is asked.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MailError {
    /// Whether sending the same e-mail later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Transient(_) => true,
            MailError::Store(e) => e.is_transient(),
            _ => false,
        }
    }

    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}

/// SMTP: 4xx replies, network, timeouts and TLS handshakes are transient;
/// 5xx replies and what the client itself refuses are permanent.
pub(crate) fn from_smtp(err: &lettre::transport::smtp::Error) -> MailError {
    let message = chain(err);
    if err.is_permanent() || err.is_client() {
        MailError::Permanent(message)
    } else {
        MailError::Transient(message)
    }
}

/// The file transport: an I/O error (full disk, permissions) may clear.
pub(crate) fn from_file(err: &lettre::transport::file::Error) -> MailError {
    MailError::Transient(format!("writing the message file: {}", chain(err)))
}

/// An error and its sources on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
