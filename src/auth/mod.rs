//! Who may act: operators of the admin (argon2 passwords, sessions, sign-in
//! throttling, device cookies, one-time sign-in links, the first-start setup
//! link) and API keys for other services. Used by the web layer and by
//! `comptoir-web admin …`.

mod api_keys;
mod devices;
mod operators;
mod password;
mod secret;
mod sessions;
mod setup;
mod signin_links;
mod signin_mail;
mod sql;
mod throttle;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use api_keys::{authenticate_key, create_key, create_key_in, list_keys, revoke_key, revoke_key_in, NewApiKey};
pub use devices::DEVICE_LIFETIME;
pub use operators::{count_operators, create_operator, list_operators, reset_password, set_language, NewOperator};
pub use password::{hash_password, verify_password, MIN_PASSWORD_CHARS};
pub(crate) use secret::constant_time_eq;
pub use secret::{random_token, sha256_hex};
pub use sessions::{end_session, find_session, sign_in, Attempt, Session, SignedIn, SESSION_IDLE, SESSION_LIFETIME};
pub use setup::{create_setup_link, setup_first_operator, setup_token_valid, SETUP_LINK_LIFETIME};
pub use signin_links::{
    create_signin_link, sign_in_with_link, signin_link_path, signin_link_valid, LinkSignedIn, LinkUse, LinkVia,
    SigninLink, SIGNIN_LINK_LIFETIME,
};
pub use signin_mail::{request_signin_link, SendSigninLink};
pub use throttle::{
    admit, Admitted, Lane, MAX_FAILURES_PER_DEVICE, MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_IP,
    MAX_LINK_REQUESTS_PER_EMAIL, THROTTLE_WINDOW,
};

use crate::store::StoreError;

/// An operator of the admin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operator {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The language the admin speaks to them in.
    pub language: crate::i18n::Lang,
}

/// An API key as listed (its secret is shown once, at creation, and never stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub operator_id: i64,
    pub name: String,
    /// `ck_<prefix>_…`: what the admin shows to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown e-mail, wrong password, disabled operator: one answer for all.
    #[error("e-mail or password is wrong")]
    BadCredentials,
    /// Too many failed sign-ins; try again after this many seconds.
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("an operator with the e-mail {0} exists already")]
    Exists(String),
    #[error("this setup link is unknown, used or expired")]
    SetupLinkInvalid,
    #[error("this sign-in link is unknown, used or expired")]
    SigninLinkInvalid,
    #[error("the API key is missing, unknown or revoked")]
    BadApiKey,
    #[error("not found")]
    NotFound,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot enqueue: {0}")]
    Queue(#[from] crate::jobs::Error),
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::Invalid {
        field,
        message: message.into(),
    }
}
