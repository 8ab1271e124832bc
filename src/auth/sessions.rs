//! Sessions of the admin. The cookie carries a random 256-bit token; the
//! database keeps its SHA-256, the operator, a CSRF token, and the times that
//! end it (12 hours idle, 7 days at most).

use std::time::Duration;

use chrono::Utc;

use super::password::burn_verification;
use super::sql;
use super::sql::sessions::NewSession;
use super::throttle::{self, Lane};
use super::{devices, random_token, sha256_hex, verify_password, AuthError, Operator};
use crate::store::{Store, Tx};

pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// `last_seen_at` is written at most this often.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub operator: Operator,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    pub(crate) token_hash: String,
}

/// A new session: `token` goes in the cookie and nowhere else.
#[derive(Debug)]
pub struct SignedIn {
    pub token: String,
    pub session: Session,
    /// A device cookie for the browser, which had no valid one for this
    /// operator (see `auth::devices`).
    pub new_device: Option<String>,
    /// How the operator got in: `password`, `device` (the password, from a
    /// browser with a device cookie) or `link` (a one-time sign-in link).
    pub via: &'static str,
}

/// What a sign-in form presents.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// The device cookie the browser holds, if any.
    pub device: Option<&'a str>,
}

/// Counts the attempt (refusing it when its lane is full), then checks the
/// password, then opens a session. A failed attempt stays counted.
#[tracing::instrument(skip_all, fields(email = attempt.email, ip = attempt.ip))]
pub async fn sign_in(store: &Store, attempt: &Attempt<'_>) -> Result<SignedIn, AuthError> {
    let email = attempt.email.trim().to_lowercase();
    let device = match attempt.device {
        Some(token) => devices::device_for(store, token, &email).await?,
        None => None,
    };
    let admitted = throttle::admit(store, &email, attempt.ip, device.map_or(Lane::Password, Lane::Device)).await?;
    let found = sql::operators::credentials(store, &email).await?;
    let password = attempt.password.to_string();
    let verified = tokio::task::spawn_blocking(move || match found {
        Some((operator, hash)) if operator.disabled_at.is_none() => {
            verify_password(&password, &hash).then_some(operator)
        }
        _ => {
            burn_verification(&password);
            None
        }
    })
    .await
    .map_err(|e| AuthError::Hash(e.to_string()))?;
    let Some(operator) = verified else {
        tracing::info!(email, device = device.is_some(), "sign-in refused");
        return Err(AuthError::BadCredentials);
    };
    admitted.succeeded(store).await?;
    let new_device = match device {
        Some(id) => {
            devices::device_used(store, id).await?;
            None
        }
        None => Some(devices::new_device(store, operator.id).await?),
    };
    let mut tx = store.begin().await?;
    let (token, session) = open_session(&mut tx, operator, attempt.ip, attempt.user_agent).await?;
    tx.commit().await?;
    tracing::info!(operator = session.operator.id, device = device.is_some(), "signed in");
    Ok(SignedIn {
        token,
        session,
        new_device,
        via: if device.is_some() { "device" } else { "password" },
    })
}

/// A new session of `operator` inside `tx`: (the cookie's token, the session).
pub(crate) async fn open_session(
    tx: &mut Tx,
    operator: Operator,
    ip: &str,
    user_agent: &str,
) -> Result<(String, Session), AuthError> {
    let token = random_token(32);
    let token_hash = sha256_hex(&token);
    let csrf_token = random_token(32);
    let user_agent: String = user_agent.chars().take(300).collect();
    sql::sessions::insert_session(
        tx,
        &NewSession {
            token_hash: &token_hash,
            operator_id: operator.id,
            csrf_token: &csrf_token,
            ip,
            user_agent: &user_agent,
            expires_at: Utc::now() + chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default(),
        },
    )
    .await?;
    Ok((
        token,
        Session {
            operator,
            csrf_token,
            token_hash,
        },
    ))
}

/// The live session of a cookie's token, if any.
pub async fn find_session(store: &Store, token: &str) -> Result<Option<Session>, AuthError> {
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token_hash = sha256_hex(token);
    let Some((operator, csrf_token, last_seen, expires_at)) = sql::sessions::session(store, &token_hash).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let idle = chrono::Duration::from_std(SESSION_IDLE).unwrap_or_default();
    if expires_at <= now || last_seen + idle <= now || operator.disabled_at.is_some() {
        sql::sessions::delete_session(store, &token_hash).await?;
        return Ok(None);
    }
    if now - last_seen > TOUCH_EVERY {
        sql::sessions::touch_session(store, &token_hash, now).await?;
    }
    Ok(Some(Session {
        operator,
        csrf_token,
        token_hash,
    }))
}

pub async fn end_session(store: &Store, session: &Session) -> Result<(), AuthError> {
    Ok(sql::sessions::delete_session(store, &session.token_hash).await?)
}
