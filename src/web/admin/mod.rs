//! The operator's admin: server-rendered pages under `/admin`, French first
//! with English beside. Every page works without JavaScript; `admin.js` only
//! adds live updates (progress bars, the dashboard's counts).
//!
//! What a page handler uses: the [`Admin`] extractor (the signed-in operator,
//! its CSRF token, the flash message, the audit actor), [`Admin::render`],
//! [`Admin::redirect`] (303 with a flash message), the [`Form`] and [`Query`]
//! extractors (their rejections become readable pages), and [`AdminError`].

mod api_keys;
mod archives;
mod audit;
mod bank;
mod billing_input;
mod book;
mod catalog;
mod contracts;
mod customers;
mod dashboard;
mod error;
mod extract;
mod imports;
mod invoices;
mod jobs;
mod language;
mod orders;
mod payments;
mod settings;
mod signin;
mod signin_link;
mod urssaf;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Value;
use serde::Serialize;

pub(crate) use error::localize;
pub use error::AdminError;
pub use extract::{empty_as_none, filter_text, Form, Path, Query};

use super::cookies;
use super::guard::{Caller, CSRF_FIELD};
use super::{AppState, Routes};
use crate::audit::Actor;
use crate::auth::Session;

/// How many rows a list page shows.
pub const PAGE_SIZE: i64 = 50;

pub(super) fn routes() -> Routes {
    Routes::new()
        .merge(signin::routes())
        .merge(signin_link::routes())
        .merge(dashboard::routes())
        .merge(jobs::routes())
        .merge(language::routes())
        .merge(customers::routes())
        .merge(contracts::routes())
        .merge(orders::routes())
        .merge(catalog::routes())
        .merge(invoices::routes())
        .merge(payments::routes())
        .merge(imports::routes())
        .merge(bank::routes())
        .merge(book::routes())
        .merge(audit::routes())
        .merge(archives::routes())
        .merge(api_keys::routes())
        .merge(settings::routes())
        .merge(urssaf::routes())
}

pub(super) fn templates() -> impl Iterator<Item = (&'static str, &'static str)> {
    [
        crate::template!("admin/layout.html"),
        crate::template!("admin/macros.html"),
    ]
    .into_iter()
    .chain(signin::TEMPLATES.iter().copied())
    .chain(signin_link::TEMPLATES.iter().copied())
    .chain(dashboard::TEMPLATES.iter().copied())
    .chain(jobs::TEMPLATES.iter().copied())
    .chain(customers::TEMPLATES.iter().copied())
    .chain(contracts::TEMPLATES.iter().copied())
    .chain(orders::TEMPLATES.iter().copied())
    .chain(catalog::TEMPLATES.iter().copied())
    .chain(invoices::TEMPLATES.iter().copied())
    .chain(payments::TEMPLATES.iter().copied())
    .chain(imports::TEMPLATES.iter().copied())
    .chain(bank::TEMPLATES.iter().copied())
    .chain(book::TEMPLATES.iter().copied())
    .chain(audit::TEMPLATES.iter().copied())
    .chain(archives::TEMPLATES.iter().copied())
    .chain(api_keys::TEMPLATES.iter().copied())
    .chain(settings::TEMPLATES.iter().copied())
    .chain(urssaf::TEMPLATES.iter().copied())
}

/// The signed-in operator of an admin request (the guard put it there).
pub struct Admin {
    pub state: AppState,
    pub session: Session,
    pub actor: Actor,
    /// The message left by the previous action, shown once.
    pub flash: Option<String>,
    /// The page asked for (path and query), where the language switch comes back to.
    pub here: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Operator { session, actor }) => Ok(Admin {
                state: state.clone(),
                session: session.clone(),
                actor: actor.clone(),
                flash: cookies::get(&parts.headers, cookies::FLASH).filter(|f| !f.is_empty()),
                here: match parts.method {
                    axum::http::Method::GET => parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                    // After a form, the switch comes back to the page, not to the action.
                    _ => parts.uri.path().to_string(),
                },
            }),
            // Only reachable if a route's access were wrong: refuse rather than guess.
            _ => Err(AdminError::Forbidden),
        }
    }
}

/// What an action says on the next page: a [`Text`](crate::i18n::Text),
/// said in the operator's language.
pub trait Flash {
    fn said(self, lang: crate::i18n::Lang) -> String;
}

impl Flash for crate::i18n::Text {
    fn said(self, lang: crate::i18n::Lang) -> String {
        self.in_lang(lang)
    }
}

impl Admin {
    /// The operator's language.
    pub fn lang(&self) -> crate::i18n::Lang {
        self.session.operator.language
    }

    /// `french` said in the operator's language.
    pub fn tr(&self, text: crate::i18n::Text) -> String {
        text.in_lang(self.lang())
    }

    /// Renders `template` inside the layout. Besides `ctx`, the template sees
    /// `operator`, `csrf` (for `<input type="hidden" name="_csrf">`),
    /// `csrf_field` (the field's name), `flash` and `section` (for the nav).
    pub fn render(&self, template: &str, section: &str, ctx: impl Serialize) -> Result<Response, AdminError> {
        self.render_status(StatusCode::OK, template, section, ctx)
    }

    /// The same, with another status (422 for a form shown again with its errors).
    pub fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        section: &str,
        ctx: impl Serialize,
    ) -> Result<Response, AdminError> {
        let common = minijinja::context! {
            operator => &self.session.operator,
            csrf => &self.session.csrf_token,
            csrf_field => CSRF_FIELD,
            flash => &self.flash,
            section => section,
            time_zone => crate::local_time::zone_name(),
            lang => self.lang().code(),
            here => &self.here,
            languages => crate::i18n::Lang::ALL.iter().map(|l| (l.code(), l.name())).collect::<Vec<_>>(),
        };
        let html = self
            .state
            .templates
            .get_template(template)?
            .render(minijinja::context! { ..Value::from_serialize(&ctx), ..common })?;
        let mut response = (status, Html(html)).into_response();
        if self.flash.is_some() {
            let clear = cookies::clear(cookies::FLASH, self.state.web.secure_cookies());
            cookies::add(&mut response, &clear);
        }
        Ok(response)
    }

    /// 303 to `location`, with a message shown on the next page.
    pub fn redirect(&self, location: &str, flash: impl Flash) -> Response {
        redirect_with_flash(&self.state, location, &flash.said(self.lang()))
    }
}

/// Whether `target`, taken from a form, is a path of the admin that a
/// redirect may go to: no other host, and one line (a line break in a
/// `Location` header is refused by the HTTP stack: a 500).
pub(crate) fn is_admin_path(target: &str) -> bool {
    target.starts_with("/admin")
        && !target.contains('\\')
        && crate::input::check(target, crate::input::Lines::One).is_ok()
}

/// 303 to `location` with a flash message.
pub fn redirect_with_flash(state: &AppState, location: &str, flash: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    let cookie = cookies::set(cookies::FLASH, flash, Some(60), state.web.secure_cookies());
    cookies::add(&mut response, &cookie);
    response
}

/// A list's optional filter from its query string: blank is no filter,
/// anything else must parse, or the page says which field is wrong.
pub fn filter<T, E>(
    field: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, AdminError> {
    match text.trim() {
        "" => Ok(None),
        t => parse(t).map(Some).map_err(|_| {
            let value = t.to_string();
            AdminError::Invalid(match field {
                "status" => crate::text!("Filtre « état » : « {value} » n'est pas un état connu", value = value),
                "kind" => crate::text!("Filtre « type » : « {value} » n'est pas un type connu", value = value),
                "provider" => crate::text!(
                    "Filtre « prestataire » : « {value} » n'est pas un prestataire connu",
                    value = value
                ),
                _ => crate::text!("Filtre « {field} » : « {value} » inconnu", field = field, value = value),
            })
        }),
    }
}

/// The query string that keeps a list's filters on its next pages.
pub fn filter_params(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Keyset pagination: the `before` of the next page, when this one is full.
pub fn next_before<T>(rows: &[T], limit: i64, id: impl Fn(&T) -> i64) -> Option<i64> {
    if rows.len() as i64 >= limit {
        rows.last().map(id)
    } else {
        None
    }
}
