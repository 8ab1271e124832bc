//! "Mot de passe oublié ?": a sign-in link by e-mail, when SMTP is configured.
//!
//! The request is counted (3 per e-mail, 20 per address, per 15 minutes) and
//! its job enqueued in one transaction, whatever the e-mail: the answer, and
//! the work done before answering, are the same whether an operator has it
//! or not. The job (on the `mail` queue) makes the link and sends it when the
//! e-mail is an operator's, and does nothing otherwise. An attacker asking
//! for links only fills the operator's mailbox with links they alone can
//! open, and the sign-in lock they caused stays as it was.

use serde::{Deserialize, Serialize};

use super::operators::normalized_email;
use super::signin_links::{create_signin_link, LinkVia, SIGNIN_LINK_LIFETIME};
use super::throttle::{admit_in, Lane};
use super::AuthError;
use crate::audit::{self, Actor, Record};
use crate::context::AppContext;
use crate::jobs::{enqueue, EnqueueOptions, Job, JobContext, JobError, JobKind, JobResult, KindOptions, Outcome};
use crate::mail::{self, templates, EmailStatus, OutgoingEmail, Sender};
use crate::store::Store;

/// Counts the request and enqueues the job that e-mails the link;
/// `base_url` is where the admin is reached (never the request's `Host`).
#[tracing::instrument(skip(store, base_url))]
/// `from` is who the e-mail comes from unless `COMPTOIR_MAIL_FROM` is set
/// (the caller knows: the seller, for the product).
pub async fn request_signin_link(
    store: &Store,
    email: &str,
    ip: &str,
    base_url: &str,
    from: Option<Sender>,
) -> Result<(), AuthError> {
    let email = normalized_email(email)?;
    let mut tx = store.begin().await?;
    admit_in(&mut tx, &email, ip, Lane::Link).await?;
    let job = SendSigninLink {
        email,
        ip: ip.to_string(),
        base_url: base_url.trim_end_matches('/').to_string(),
        from: from.map(|s| SenderArgs {
            name: s.name,
            email: s.email,
        }),
    };
    enqueue(&mut tx, &job, EnqueueOptions::new()).await?;
    tx.commit().await?;
    Ok(())
}

/// E-mails a one-time sign-in link to the operator with this e-mail, if any.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendSigninLink {
    /// As typed in the form, normalised; maybe nobody's.
    pub email: String,
    /// Who asked (for the e-mail and the audit log).
    pub ip: String,
    pub base_url: String,
    /// Who the e-mail comes from, unless `COMPTOIR_MAIL_FROM` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SenderArgs>,
}

/// A sender, as a job's args carry it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SenderArgs {
    pub name: Option<String>,
    pub email: String,
}

impl JobKind for SendSigninLink {
    const KIND: &'static str = "auth.send_signin_link";

    fn options() -> KindOptions {
        KindOptions {
            queue: "mail".into(),
            // A link is valid 30 minutes: retrying for hours would be pointless.
            max_attempts: 5,
            timeout: std::time::Duration::from_secs(120),
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for SendSigninLink {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let store = ctx.store();
        let key = ctx.idempotency_key();
        if let Some(done) = mail::find(store, &key).await? {
            if done.status == EmailStatus::Sent {
                return Ok(Outcome::Done);
            }
        }
        let link = match create_signin_link(store, &self.email, LinkVia::Email).await {
            Ok(link) => link,
            Err(AuthError::NotFound | AuthError::Invalid { .. }) => {
                tracing::info!(ip = %self.ip, "sign-in link asked for an e-mail of no active operator: nothing sent");
                return Ok(Outcome::Done);
            }
            Err(e) => return Err(JobError::from(e)),
        };
        let actor = Actor {
            operator_id: None,
            name: "sign-in form".into(),
            ip: self.ip.clone(),
        };
        audit::record(
            store,
            &actor,
            Record::new("operator.signin_link", format!("operator:{}", link.operator.id)).details(
                serde_json::json!({ "via": LinkVia::Email.as_str(), "expires_at": link.expires_at, "job": ctx.job.id }),
            ),
        )
        .await?;
        let rendered = templates::render(
            "signin_link",
            serde_json::json!({
                "name": link.operator.name,
                "email": link.operator.email,
                "ip": self.ip,
                "link": link.url(&self.base_url),
                "minutes": SIGNIN_LINK_LIFETIME.as_secs() / 60,
            }),
        )?;
        let email = OutgoingEmail {
            idempotency_key: key,
            kind: "signin_link".into(),
            to: link.operator.email.clone(),
            from: self.from.clone().map(|s| Sender {
                name: s.name,
                email: s.email,
            }),
            subject: rendered.subject,
            text: rendered.text,
            html: Some(rendered.html),
            attachments: Vec::new(),
            invoice_id: None,
            payment_id: None,
        };
        match ctx.app.mailer.send(store, email).await {
            Ok(_) => Ok(Outcome::Done),
            Err(e) if e.is_transient() => Err(JobError::from(e)),
            Err(e) => Ok(Outcome::Discard(e.to_string())),
        }
    }
}
