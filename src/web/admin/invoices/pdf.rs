//! The PDF of an issued invoice or credit note (Factur-X: its CII XML inside),
//! shown in the browser ("Voir le PDF") or downloaded as `<reference>.pdf`
//! ("Télécharger"), and its CII XML alone (`<reference>.xml`, "XML Factur-X").
//! A draft has neither: it is not a document yet (its preview, marked
//! "Brouillon" and unnumbered, is `/admin/invoices/{id}/preview`).

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::{Admin, AdminError, Path};
use crate::audit::{self, Record};
use crate::billing::{invoices, render};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/invoices/{id}/pdf", Access::Operator, view)
        .get("/admin/invoices/{id}/download", Access::Operator, download)
        .get("/admin/invoices/{id}/xml", Access::Operator, xml)
}

/// What a download is: its format, its media type, how the browser shows it.
#[derive(Clone, Copy)]
enum Download {
    Pdf(&'static str),
    Xml,
}

async fn send(admin: Admin, id: i64, what: Download) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let invoice = invoices::get(store, id).await?;
    let Some(reference) = invoice.reference.clone() else {
        return Err(AdminError::Conflict(crate::text!(
            "le brouillon n° {id} n'a ni PDF ni XML : émettez-le d'abord",
            id = id
        )));
    };
    let (bytes, action, media, disposition, name) = match what {
        Download::Pdf(disposition) => (
            render::invoice_pdf(store, id).await?,
            "invoice.pdf",
            "application/pdf",
            disposition,
            render::file_name(&reference, "pdf"),
        ),
        Download::Xml => (
            render::invoice_xml(store, id).await?,
            "invoice.xml",
            "application/xml",
            "attachment",
            render::file_name(&reference, "xml"),
        ),
    };
    audit::record(
        store,
        &admin.actor,
        Record::new(action, format!("invoice:{id}"))
            .details(json!({ "reference": reference, "disposition": disposition })),
    )
    .await?;
    Ok((
        [
            (CONTENT_TYPE, media.to_string()),
            (CONTENT_DISPOSITION, format!("{disposition}; filename=\"{name}\"")),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

async fn view(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    send(admin, id, Download::Pdf("inline")).await
}

async fn download(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    send(admin, id, Download::Pdf("attachment")).await
}

async fn xml(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    send(admin, id, Download::Xml).await
}
