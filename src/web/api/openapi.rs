//! API: openapi (to be built; see issue 5).

use crate::web::Routes;

pub(super) fn routes() -> Routes {
    Routes::new()
}
