//! E-mail: templates, transports and the record of every message.
//!
//! [`Mailer::send`] records the message in the `emails` table before handing
//! it to the transport (status `sending`, with its Message-ID) and marks it
//! `sent` or `failed` after. The idempotency key comes from the job, so a
//! retried or rescued job finds its e-mail `sent` and does not send it again;
//! a message found `sending` (the process died between the transport's
//! answer and the record) is sent again with the same Message-ID, which mail
//! clients use to drop the duplicate. Errors say whether a retry may help
//! ([`MailError::is_transient`]).
//!
//! Without an SMTP host, messages are written as `.eml` files under
//! `<data dir>/mail/` ([`MailConfig::from_env`]): nothing is sent by accident.

mod config;
mod error;
mod mailer;
mod sql;
pub mod templates;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use config::{MailConfig, SmtpConfig, SmtpTls, TransportConfig};
pub use error::MailError;
pub use mailer::Mailer;

use crate::store::Store;

/// A message to send once per idempotency key.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    /// Stays the same across retries of the job that sends it.
    pub idempotency_key: String,
    /// What the message is about: `invoice`, `credit_note`, `receipt`, `reminder_1`…
    pub kind: String,
    /// `client@example.fr` or `Jean Martin <client@example.fr>`.
    pub to: String,
    /// The sender the caller proposes (the seller, for billing's e-mails);
    /// `COMPTOIR_MAIL_FROM` wins when it is set. The mailer knows no domain:
    /// it is handed its sender.
    pub from: Option<Sender>,
    pub subject: String,
    pub text: String,
    /// The HTML alternative of `text`, if any.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    pub invoice_id: Option<i64>,
    pub payment_id: Option<i64>,
}

/// Who an e-mail is from: a name shown to the recipient, and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    /// E.g. `application/pdf`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    Sending,
    Sent,
    Failed,
}

impl EmailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Sending => "sending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<EmailStatus> {
        [EmailStatus::Sending, EmailStatus::Sent, EmailStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A row of the `emails` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailRecord {
    pub id: i64,
    pub idempotency_key: String,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    /// With its angle brackets: `<…@example.fr>`.
    pub message_id: String,
    /// `smtp://host:port` or `file://dir`.
    pub transport: String,
    pub status: EmailStatus,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub invoice_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// An e-mail handed to the transport.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentEmail {
    pub id: i64,
    pub idempotency_key: String,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub transport: String,
    pub sent_at: DateTime<Utc>,
    /// It had been sent before under this key; nothing was sent this time.
    pub already_sent: bool,
}

impl SentEmail {
    fn of(record: EmailRecord, sent_at: DateTime<Utc>, already_sent: bool) -> SentEmail {
        SentEmail {
            id: record.id,
            idempotency_key: record.idempotency_key,
            kind: record.kind,
            to: record.to_address,
            subject: record.subject,
            message_id: record.message_id,
            transport: record.transport,
            sent_at,
            already_sent,
        }
    }
}

/// The e-mail recorded under `key`, if any.
pub async fn find(store: &Store, key: &str) -> Result<Option<EmailRecord>, MailError> {
    Ok(sql::by_key(store, key).await?)
}

/// The e-mails about an invoice (sent, failed or in flight), oldest first.
pub async fn for_invoice(store: &Store, invoice_id: i64) -> Result<Vec<EmailRecord>, MailError> {
    Ok(sql::for_invoice(store, invoice_id).await?)
}

/// The e-mails about a payment, oldest first.
pub async fn for_payment(store: &Store, payment_id: i64) -> Result<Vec<EmailRecord>, MailError> {
    Ok(sql::for_payment(store, payment_id).await?)
}

/// The latest e-mails, newest first, `limit` at most, before id `before_id`.
pub async fn recent(store: &Store, limit: i64, before_id: Option<i64>) -> Result<Vec<EmailRecord>, MailError> {
    Ok(sql::recent(store, limit, before_id).await?)
}
