//! Sessions of the admin. The cookie carries a random 256-bit token; the
//! database keeps its SHA-256, the operator, a CSRF token, and the times that
//! end it (12 hours idle, 7 days at most).

use std::time::Duration;

use chrono::Utc;

use super::password::burn_verification;
use super::{random_token, sha256_hex, verify_password, AuthError, Operator, Throttle};
use crate::store::access::{self, NewSession};
use crate::store::Store;

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
}

/// Checks the throttle and the password, then opens a session.
#[tracing::instrument(skip(store, password, user_agent))]
pub async fn sign_in(
    store: &Store,
    email: &str,
    password: &str,
    ip: &str,
    user_agent: &str,
) -> Result<SignedIn, AuthError> {
    let email = email.trim().to_lowercase();
    let throttle = Throttle { email: &email, ip };
    throttle.check(store).await?;
    let found = access::credentials(store, &email).await?;
    let password = password.to_string();
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
        throttle.failed(store).await?;
        tracing::info!(email, ip, "sign-in refused");
        return Err(AuthError::BadCredentials);
    };
    throttle.succeeded(store).await?;
    let token = random_token(32);
    let token_hash = sha256_hex(&token);
    let csrf_token = random_token(32);
    let user_agent: String = user_agent.chars().take(300).collect();
    access::insert_session(
        store,
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
    tracing::info!(operator = operator.id, ip, "signed in");
    Ok(SignedIn {
        token,
        session: Session {
            operator,
            csrf_token,
            token_hash,
        },
    })
}

/// The live session of a cookie's token, if any.
pub async fn find_session(store: &Store, token: &str) -> Result<Option<Session>, AuthError> {
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token_hash = sha256_hex(token);
    let Some((operator, csrf_token, last_seen, expires_at)) = access::session(store, &token_hash).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let idle = chrono::Duration::from_std(SESSION_IDLE).unwrap_or_default();
    if expires_at <= now || last_seen + idle <= now || operator.disabled_at.is_some() {
        access::delete_session(store, &token_hash).await?;
        return Ok(None);
    }
    if now - last_seen > TOUCH_EVERY {
        access::touch_session(store, &token_hash, now).await?;
    }
    Ok(Some(Session {
        operator,
        csrf_token,
        token_hash,
    }))
}

pub async fn end_session(store: &Store, session: &Session) -> Result<(), AuthError> {
    Ok(access::delete_session(store, &session.token_hash).await?)
}
