//! `/admin/api-keys`: the API keys other services use (`Authorization: Bearer
//! ck_…`). A key is created with a name and its secret shown once, on the page
//! answering the creation (never stored, never in a cookie); keys are listed
//! by their prefix (`ck_<prefix>_…`), and revoked after a confirmation. Both
//! actions are audited in their own transaction.

use std::collections::HashMap;

use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Form, Path};
use crate::audit::{self, Record};
use crate::auth::{self, ApiKey, AuthError};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/api_keys/list.html"),
    crate::template!("admin/api_keys/revoke.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/api-keys", Access::Operator, list)
        .post("/admin/api-keys", Access::Operator, create)
        .get("/admin/api-keys/{id}/revoke", Access::Operator, confirm_revoke)
        .post("/admin/api-keys/{id}/revoke", Access::Operator, revoke)
}

/// A key as listed, with its owner's e-mail.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    key: ApiKey,
    owner: String,
}

async fn rows(admin: &Admin) -> Result<Vec<Row>, AdminError> {
    let store = &admin.state.store;
    let owners: HashMap<i64, String> = auth::list_operators(store)
        .await?
        .into_iter()
        .map(|o| (o.id, o.email))
        .collect();
    Ok(auth::list_keys(store)
        .await?
        .into_iter()
        .map(|key| Row {
            owner: owners.get(&key.operator_id).cloned().unwrap_or_default(),
            key,
        })
        .collect())
}

/// The list and the creation form; `created` is a key just made (its secret shown once).
async fn page(
    admin: &Admin,
    status: StatusCode,
    name: &str,
    errors: HashMap<&'static str, String>,
    created: Option<auth::NewApiKey>,
) -> Result<Response, AdminError> {
    let keys = rows(admin).await?;
    let (new_key, new_secret) = match created {
        Some(c) => (Some(c.key), Some(c.secret)),
        None => (None, None),
    };
    let mut response = admin.render_status(
        status,
        "admin/api_keys/list.html",
        "api_keys",
        context! { keys => keys, name => name, errors => errors, new_key => new_key, new_secret => new_secret },
    )?;
    // The page may carry a secret: never kept by a cache.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn list(admin: Admin) -> Result<Response, AdminError> {
    page(&admin, StatusCode::OK, "", HashMap::new(), None).await
}

#[derive(Deserialize)]
struct NewKey {
    #[serde(default)]
    name: String,
}

async fn create(admin: Admin, Form(form): Form<NewKey>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let mut tx = store.begin().await?;
    let created = match auth::create_key_in(&mut tx, admin.session.operator.id, &form.name).await {
        Ok(created) => created,
        Err(e @ AuthError::Invalid { .. }) => {
            drop(tx);
            // The only field of the form: its message beside it.
            let errors = HashMap::from([("name", AdminError::from(e).message(admin.lang()))]);
            return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form.name, errors, None).await;
        }
        Err(e) => return Err(e.into()),
    };
    audit::record_in(
        &mut tx,
        &admin.actor,
        Record::new("api_key.create", format!("api_key:{}", created.key.id)).details(serde_json::json!({
            "name": created.key.name,
            "prefix": created.key.prefix,
        })),
    )
    .await?;
    tx.commit().await?;
    page(&admin, StatusCode::OK, "", HashMap::new(), Some(created)).await
}

async fn find(admin: &Admin, id: i64) -> Result<ApiKey, AdminError> {
    auth::list_keys(&admin.state.store)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(AdminError::NotFound)
}

async fn confirm_revoke(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let key = find(&admin, id).await?;
    admin.render("admin/api_keys/revoke.html", "api_keys", context! { key => key })
}

async fn revoke(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let key = find(&admin, id).await?;
    if key.revoked_at.is_some() {
        return Err(AdminError::Conflict(crate::text!(
            "La clé ck_{prefix}_… est déjà révoquée.",
            prefix = key.prefix
        )));
    }
    let mut tx = admin.state.store.begin().await?;
    let revoked = auth::revoke_key_in(&mut tx, id).await?;
    audit::record_in(
        &mut tx,
        &admin.actor,
        Record::new("api_key.revoke", format!("api_key:{id}")).details(serde_json::json!({
            "name": revoked.name,
            "prefix": revoked.prefix,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(admin.redirect(
        "/admin/api-keys",
        crate::text!(
            "Clé ck_{prefix}_… révoquée : elle n'ouvre plus l'API.",
            prefix = revoked.prefix
        ),
    ))
}
