//! Admin pages: api_keys (to be built; see issue 5).

use crate::web::Routes;

pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) fn routes() -> Routes {
    Routes::new()
}
