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

/// Why a sign-in or an operator's change failed; `Display` says it in
/// French, [`AuthError::text`] in the reader's language.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown e-mail, wrong password, disabled operator: one answer for all.
    #[error("{}", self.text())]
    BadCredentials,
    /// Too many failed sign-ins; try again after this many seconds.
    #[error("{}", self.text())]
    Throttled { retry_after_secs: u64 },
    #[error("{}", self.text())]
    Invalid {
        field: &'static str,
        message: crate::i18n::Text,
    },
    #[error("{}", self.text())]
    Exists(String),
    #[error("{}", self.text())]
    SetupLinkInvalid,
    #[error("{}", self.text())]
    SigninLinkInvalid,
    #[error("{}", self.text())]
    BadApiKey,
    #[error("{}", self.text())]
    NotFound,
    #[error("échec du hachage du mot de passe : {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mise en file impossible : {0}")]
    Queue(#[from] crate::jobs::Error),
}

impl AuthError {
    /// What a person is told, in their language.
    pub fn text(&self) -> crate::i18n::Text {
        use crate::i18n::Text;
        use crate::text;
        match self {
            AuthError::BadCredentials => text!("e-mail ou mot de passe erroné"),
            AuthError::Throttled { retry_after_secs } => text!(
                "trop de connexions manquées ; réessayez dans {secs} s",
                secs = retry_after_secs
            ),
            AuthError::Invalid { field, message } => text!("{field} : {message}")
                .with("field", crate::billing::error::field_label(field))
                .with("message", message.clone()),
            AuthError::Exists(email) => text!("un opérateur a déjà l'e-mail {email}", email = email),
            AuthError::SetupLinkInvalid => text!("ce lien d'installation est inconnu, déjà utilisé ou expiré"),
            AuthError::SigninLinkInvalid => text!("ce lien de connexion est inconnu, déjà utilisé ou expiré"),
            AuthError::BadApiKey => text!("la clé d'API manque, est inconnue ou révoquée"),
            AuthError::NotFound => text!("introuvable"),
            AuthError::Hash(_) | AuthError::Store(_) | AuthError::Queue(_) => Text::verbatim(self.to_string()),
        }
    }
}

pub(crate) fn invalid(field: &'static str, message: crate::i18n::Text) -> AuthError {
    AuthError::Invalid { field, message }
}
