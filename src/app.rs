//! What the product's worker runs: its context and its registry of kinds.

use std::sync::Arc;

use crate::config::Config;
use crate::jobs::{Noop, Registry};

/// Handed to every job of the product.
#[derive(Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
}

/// Every kind the product's workers run.
pub fn registry() -> Registry<AppContext> {
    Registry::new().register::<Noop>()
}
