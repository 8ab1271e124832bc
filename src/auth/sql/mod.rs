//! The SQL of who may use the admin and the API: operators, sessions, the
//! one-time setup link, API keys, sign-in throttling, device cookies and
//! sign-in links. Written once for both backends (see `store::sql`) unless a
//! function says otherwise.

pub(crate) mod api_keys;
pub(crate) mod operators;
pub(crate) mod sessions;
pub(crate) mod setup;
pub(crate) mod signin;
