//! The operator's choice of language (French or English), from the switch
//! in every page's header.

use axum::response::Response;
use serde::Deserialize;

use super::{Admin, AdminError, Form};
use crate::audit::{self, Record};
use crate::i18n::Lang;
use crate::text;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().post("/admin/language", Access::Operator, choose)
}

#[derive(Deserialize)]
struct Choice {
    language: String,
    #[serde(default)]
    back: Option<String>,
}

async fn choose(admin: Admin, Form(form): Form<Choice>) -> Result<Response, AdminError> {
    let lang = Lang::parse(&form.language)
        .ok_or_else(|| AdminError::Invalid(text!("Langue inconnue : {code}", code = form.language.trim())))?;
    auth_set(&admin, lang).await?;
    let back = match form.back.as_deref() {
        Some(b) if super::is_admin_path(b) => b,
        _ => "/admin",
    };
    // The message is said in the language just chosen.
    let said = text!("L'administration vous parle désormais en français.").in_lang(lang);
    Ok(crate::web::admin::redirect_with_flash(&admin.state, back, &said))
}

async fn auth_set(admin: &Admin, lang: Lang) -> Result<(), AdminError> {
    crate::auth::set_language(&admin.state.store, admin.session.operator.id, lang).await?;
    audit::record(
        &admin.state.store,
        &admin.actor,
        Record::new("operator.language", format!("operator:{}", admin.session.operator.id))
            .details(serde_json::json!({ "language": lang.code() })),
    )
    .await?;
    Ok(())
}
