//! One-time sign-in links: the way back in for an operator locked out by
//! someone else's failed sign-ins, without unlocking that someone.
//!
//! A link is printed by `comptoir-web admin signin-link --email E` (whoever
//! runs it has the server) or e-mailed from "Mot de passe oublié ?" (whoever
//! opens it has the mailbox). It is valid 30 minutes, once; only its token's
//! SHA-256 is stored. Using it opens a session and gives the browser a device
//! cookie, without counting against or clearing any throttle: the attacker's
//! lane stays locked. The link's page may also set a new password.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::operators::normalized_email;
use super::sessions::open_session;
use super::sql;
use super::{devices, hash_password, invalid, random_token, sha256_hex, AuthError, Operator, SignedIn};
use crate::store::Store;

pub const SIGNIN_LINK_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// How a link reached the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkVia {
    /// Printed by `comptoir-web admin signin-link`.
    Cli,
    /// E-mailed from "Mot de passe oublié ?".
    Email,
}

impl LinkVia {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkVia::Cli => "cli",
            LinkVia::Email => "email",
        }
    }

    fn parse(text: &str) -> LinkVia {
        if text == "email" {
            LinkVia::Email
        } else {
            LinkVia::Cli
        }
    }
}

/// A link just made: `token` is in the URL and nowhere else.
#[derive(Debug)]
pub struct SigninLink {
    pub token: String,
    pub operator: Operator,
    pub expires_at: DateTime<Utc>,
}

impl SigninLink {
    /// The link's URL under `base` (`https://admin.example.fr`).
    pub fn url(&self, base: &str) -> String {
        format!("{}{}", base.trim_end_matches('/'), signin_link_path(&self.token))
    }
}

/// Where a link's page is served.
pub fn signin_link_path(token: &str) -> String {
    format!("/admin/login/link/{token}")
}

/// A new link for the operator with this e-mail (`NotFound` if none; a
/// disabled operator gets none).
#[tracing::instrument(skip(store))]
pub async fn create_signin_link(store: &Store, email: &str, via: LinkVia) -> Result<SigninLink, AuthError> {
    let email = normalized_email(email)?;
    let (operator, _) = sql::operators::credentials(store, &email)
        .await?
        .ok_or(AuthError::NotFound)?;
    if operator.disabled_at.is_some() {
        return Err(invalid("email", crate::text!("cet opérateur est désactivé")));
    }
    let token = random_token(32);
    let now = Utc::now();
    let expires_at = now + chrono::Duration::from_std(SIGNIN_LINK_LIFETIME).unwrap_or_default();
    sql::signin::insert_link(store, &sha256_hex(&token), operator.id, via.as_str(), now, expires_at).await?;
    tracing::info!(operator = operator.id, via = via.as_str(), "sign-in link made");
    Ok(SigninLink {
        token,
        operator,
        expires_at,
    })
}

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit())
}

/// Whether the link is unused and unexpired (its page says so before use).
pub async fn signin_link_valid(store: &Store, token: &str) -> Result<bool, AuthError> {
    Ok(well_formed(token) && sql::signin::link_valid(store, &sha256_hex(token), Utc::now()).await?)
}

/// What the link's page sends.
#[derive(Debug, Clone, Copy)]
pub struct LinkUse<'a> {
    pub token: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// The device cookie the browser holds, if any.
    pub device: Option<&'a str>,
    /// A new password to set at the same time, if the operator gave one.
    pub new_password: Option<&'a str>,
}

/// A sign-in by link.
#[derive(Debug)]
pub struct LinkSignedIn {
    pub signed_in: SignedIn,
    pub link_via: LinkVia,
    /// A new password was set (and the operator's other sessions ended).
    pub password_changed: bool,
}

/// Burns the link and opens a session in one transaction (of two uses of
/// one link, one wins); with a new password, sets it and ends the
/// operator's other sessions in the same transaction. A password that
/// cannot be accepted refuses before the link is burnt.
#[tracing::instrument(skip_all, fields(ip = link.ip))]
pub async fn sign_in_with_link(store: &Store, link: &LinkUse<'_>) -> Result<LinkSignedIn, AuthError> {
    if !well_formed(link.token) {
        return Err(AuthError::SigninLinkInvalid);
    }
    let hash = match link.new_password {
        Some(password) => {
            let password = password.to_string();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&password))
                    .await
                    .map_err(|e| AuthError::Hash(e.to_string()))??,
            )
        }
        None => None,
    };
    let mut tx = store.begin().await?;
    let (operator_id, via) = sql::signin::use_link(&mut tx, &sha256_hex(link.token), Utc::now())
        .await?
        .ok_or(AuthError::SigninLinkInvalid)?;
    let operator = match sql::operators::operator_in(&mut tx, operator_id).await? {
        Some(op) if op.disabled_at.is_none() => op,
        _ => return Err(AuthError::SigninLinkInvalid),
    };
    if let Some(hash) = &hash {
        sql::operators::set_password(&mut tx, operator.id, hash).await?;
        sql::sessions::delete_sessions_of(&mut tx, operator.id).await?;
    }
    let (token, session) = open_session(&mut tx, operator, link.ip, link.user_agent).await?;
    tx.commit().await?;
    let known = match link.device {
        Some(device) => devices::device_for(store, device, &session.operator.email).await?,
        None => None,
    };
    let new_device = match known {
        Some(id) => {
            devices::device_used(store, id).await?;
            None
        }
        None => Some(devices::new_device(store, session.operator.id).await?),
    };
    tracing::info!(
        operator = session.operator.id,
        via = via.as_str(),
        "signed in with a link"
    );
    Ok(LinkSignedIn {
        signed_in: SignedIn {
            token,
            session,
            new_device,
            via: "link",
        },
        link_via: LinkVia::parse(&via),
        password_changed: hash.is_some(),
    })
}
