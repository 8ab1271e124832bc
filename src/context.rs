//! What every job and handler of the product is handed: the configuration,
//! the mailer and the payment providers. Below the domains that use it (the
//! billing jobs, the web), above the pieces it holds.

use std::sync::Arc;

use crate::config::Config;
use crate::mail::{MailConfig, MailError, Mailer};
use crate::providers::{ConfigError, Providers};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("payment providers: {0}")]
    Providers(#[from] ConfigError),
}

/// Handed to every job of the product.
#[derive(Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub mailer: Mailer,
    pub providers: Providers,
}

impl AppContext {
    /// Builds the context from the configuration and the environment
    /// (SMTP settings, without which e-mails are written as files in the data
    /// directory; provider credentials, without which only `manual` and
    /// `simulated` payments exist).
    pub fn from_config(config: Arc<Config>) -> Result<AppContext, AppError> {
        let mailer = Mailer::new(MailConfig::from_env(&config.data_dir)?)?;
        let providers = Providers::from_env()?;
        Ok(AppContext {
            config,
            mailer,
            providers,
        })
    }
}
