//! Sending one message: record, hand to the transport, record the outcome.

use std::path::PathBuf;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::Instrument;

use super::config::{parse_mailbox, MailConfig, SmtpConfig, SmtpTls, TransportConfig};
use super::sql::{self, NewEmail};
use super::{error, EmailRecord, EmailStatus, MailError, OutgoingEmail, SentEmail};
use crate::store::Store;

/// Sends e-mails through the configured transport. Cheap to clone (SMTP
/// connections are pooled and shared by the clones).
#[derive(Clone)]
pub struct Mailer {
    from: Option<Mailbox>,
    transport: Transport,
    label: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.as_ref().map(ToString::to_string))
            .field("transport", &self.label)
            .finish()
    }
}

impl Mailer {
    /// Prepares the transport (nothing is connected yet). The directory of the
    /// file transport is created here, so a wrong data directory shows at start.
    pub fn new(config: MailConfig) -> Result<Mailer, MailError> {
        let label = config.transport_label();
        let transport = match config.transport {
            TransportConfig::Smtp(smtp) => Transport::Smtp(smtp_transport(&smtp)?),
            TransportConfig::File(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    MailError::Config(format!("cannot create the mail directory {}: {e}", dir.display()))
                })?;
                Transport::File(AsyncFileTransport::new(&dir), dir)
            }
        };
        Ok(Mailer {
            from: config.from,
            transport,
            label,
        })
    }

    /// `smtp://host:port` or `file://dir`.
    pub fn transport_label(&self) -> &str {
        &self.label
    }

    /// Whether e-mails leave the machine (an SMTP server is configured), as
    /// opposed to being written as files.
    pub fn sends_email(&self) -> bool {
        matches!(self.transport, Transport::Smtp(_))
    }

    /// Sends `email` once per idempotency key: a key already `sent` returns the
    /// recorded e-mail without sending anything.
    #[tracing::instrument(
        name = "mail.send",
        skip_all,
        fields(kind = %email.kind, key = %email.idempotency_key, transport = %self.label, message_id)
    )]
    pub async fn send(&self, store: &Store, email: OutgoingEmail) -> Result<SentEmail, MailError> {
        check(&email)?;
        if let Some(done) = sql::by_key(store, &email.idempotency_key).await? {
            if done.status == EmailStatus::Sent {
                same_email(&done, &email)?;
                return Ok(already_sent(done));
            }
        }
        let from = self.sender(&email)?;
        let subject = one_line(&email.subject);
        let fresh_id = message_id(from.email.domain());

        let mut tx = store.begin().await?;
        let record = sql::claim(
            &mut tx,
            &NewEmail {
                idempotency_key: &email.idempotency_key,
                kind: &email.kind,
                to_address: email.to.trim(),
                subject: &subject,
                message_id: &fresh_id,
                transport: &self.label,
                invoice_id: email.invoice_id,
                payment_id: email.payment_id,
            },
        )
        .await?;
        same_email(&record, &email)?;
        if record.status == EmailStatus::Sent {
            tx.commit().await?;
            return Ok(already_sent(record));
        }
        if record.message_id != fresh_id {
            tracing::info!(
                status = record.status.as_str(),
                "sending again an e-mail not sent before"
            );
            sql::set_sending(&mut tx, record.id, email.to.trim(), &subject, &self.label).await?;
        }
        tx.commit().await?;
        tracing::Span::current().record("message_id", record.message_id.as_str());

        let outcome = match build(&from, &email, &subject, &record.message_id) {
            Ok(message) => self.deliver(message).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                let at = Utc::now();
                mark_sent(store, record.id, at).await?;
                tracing::info!(to = %email.to.trim(), "e-mail sent");
                Ok(SentEmail::of(
                    EmailRecord {
                        to_address: email.to.trim().to_string(),
                        subject,
                        transport: self.label.clone(),
                        ..record
                    },
                    at,
                    false,
                ))
            }
            Err(err) => {
                tracing::warn!(error = %err, transient = err.is_transient(), "e-mail not sent");
                if let Err(e) = record_failure(store, record.id, &err.to_string()).await {
                    tracing::error!(error = %e, "could not record the failure of an e-mail");
                }
                Err(err)
            }
        }
    }

    /// `COMPTOIR_MAIL_FROM`, else the sender the caller proposed.
    fn sender(&self, email: &OutgoingEmail) -> Result<Mailbox, MailError> {
        if let Some(from) = &self.from {
            return Ok(from.clone());
        }
        let proposed = email.from.as_ref().ok_or_else(|| {
            MailError::Config(
                "no sender address: set COMPTOIR_MAIL_FROM or the seller's e-mail in the billing settings".into(),
            )
        })?;
        let address = proposed
            .email
            .trim()
            .parse::<Address>()
            .map_err(|e| MailError::InvalidAddress {
                address: proposed.email.clone(),
                reason: format!("sender: {e}"),
            })?;
        Ok(Mailbox::new(proposed.name.clone(), address))
    }

    async fn deliver(&self, message: Message) -> Result<(), MailError> {
        let span = tracing::info_span!("mail.deliver", transport = %self.label);
        async {
            match &self.transport {
                Transport::Smtp(smtp) => {
                    let response = smtp.send(message).await.map_err(|e| error::from_smtp(&e))?;
                    tracing::debug!(code = %response.code(), reply = %response.message().collect::<Vec<_>>().join(" "), "accepted");
                }
                Transport::File(file, dir) => {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| MailError::Transient(format!("creating {}: {e}", dir.display())))?;
                    let id = file.send(message).await.map_err(|e| error::from_file(&e))?;
                    tracing::info!(file = %dir.join(format!("{id}.eml")).display(), "e-mail written, not sent");
                }
            }
            Ok(())
        }
        .instrument(span)
        .await
    }
}

fn smtp_transport(config: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls_error = |e: lettre::transport::smtp::Error| MailError::Config(format!("TLS for {}: {e}", config.host));
    let builder = match config.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(tls_error)?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls_error)?,
    };
    let mut builder = builder.port(config.port).timeout(Some(config.timeout));
    if let Some((user, password)) = &config.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

fn check(email: &OutgoingEmail) -> Result<(), MailError> {
    let key = email.idempotency_key.trim();
    if key.is_empty() || key.len() > 200 || key != email.idempotency_key {
        return Err(MailError::Message(format!(
            "idempotency key {:?}: 1 to 200 characters, no surrounding spaces",
            email.idempotency_key
        )));
    }
    if email.kind.trim().is_empty() {
        return Err(MailError::Message("an e-mail needs a kind".into()));
    }
    if email.subject.trim().is_empty() {
        return Err(MailError::Message("an e-mail needs a subject".into()));
    }
    Ok(())
}

/// The key must name the same e-mail on every attempt.
fn same_email(record: &EmailRecord, email: &OutgoingEmail) -> Result<(), MailError> {
    if record.kind != email.kind || record.invoice_id != email.invoice_id || record.payment_id != email.payment_id {
        return Err(MailError::KeyReused {
            key: email.idempotency_key.clone(),
            existing: format!(
                "{} #{} to {}, {}",
                record.kind,
                record.id,
                record.to_address,
                record.status.as_str()
            ),
        });
    }
    Ok(())
}

fn already_sent(record: EmailRecord) -> SentEmail {
    tracing::info!(id = record.id, "already sent under this key: not sent again");
    let at = record.sent_at.unwrap_or(record.created_at);
    SentEmail::of(record, at, true)
}

async fn record_failure(store: &Store, id: i64, why: &str) -> Result<(), MailError> {
    let mut tx = store.begin().await?;
    sql::set_failed(&mut tx, id, why).await?;
    tx.commit().await?;
    Ok(())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `<8-4-4-4-12 hex@domain>`: 122 random bits in the shape of a UUID v4.
/// Records that the transport took the message. It was delivered: a retry
/// of the job would send it again, so a database that is away for a moment
/// (a restart) is waited for, up to half a minute, before giving up.
async fn mark_sent(store: &Store, id: i64, at: chrono::DateTime<Utc>) -> Result<(), MailError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        let attempt = async {
            let mut tx = store.begin().await?;
            sql::set_sent(&mut tx, id, at).await?;
            tx.commit().await
        };
        match attempt.await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && tokio::time::Instant::now() + wait < deadline => {
                tracing::warn!(error = %e, "e-mail delivered but not yet recorded as sent; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn message_id(domain: &str) -> String {
    let mut bytes: [u8; 16] = fastrand::u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "<{}-{}-{}-{}-{}@{domain}>",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn build(from: &Mailbox, email: &OutgoingEmail, subject: &str, message_id: &str) -> Result<Message, MailError> {
    let to = parse_mailbox("recipient", &email.to)?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(message_id.to_string()))
        .date_now();
    let text = || SinglePart::plain(email.text.clone());
    let alternative = email
        .html
        .as_ref()
        .map(|html| MultiPart::alternative_plain_html(email.text.clone(), html.clone()));
    let message = if email.attachments.is_empty() {
        match alternative {
            Some(alternative) => builder.multipart(alternative),
            None => builder.singlepart(text()),
        }
    } else {
        let mut mixed = match alternative {
            Some(alternative) => MultiPart::mixed().multipart(alternative),
            None => MultiPart::mixed().singlepart(text()),
        };
        for a in &email.attachments {
            let content_type = ContentType::parse(&a.content_type).map_err(|e| {
                MailError::Message(format!(
                    "attachment {}: content type {:?}: {e}",
                    a.filename, a.content_type
                ))
            })?;
            let part = lettre::message::Attachment::new(a.filename.clone()).body(a.bytes.clone(), content_type);
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    };
    message.map_err(|e| MailError::Message(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_unique_and_carry_the_sender_domain() {
        let a = message_id("example.fr");
        let b = message_id("example.fr");
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with("@example.fr>"), "{a}");
        let uuid = &a[1..a.find('@').unwrap()];
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&uuid[14..15], "4", "version 4");
    }

    #[test]
    fn subjects_fit_on_one_line() {
        assert_eq!(one_line(" Facture\n F2026-0001 \r\n"), "Facture F2026-0001");
    }
}
