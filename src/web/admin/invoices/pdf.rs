//! The PDF of an issued invoice or credit note, shown in the browser
//! ("Voir le PDF") or downloaded as `<reference>.pdf` ("Télécharger").
//! A draft has no PDF: it is not a document yet.

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
}

/// `F2026-0001.pdf`; anything but letters, digits and `-_.` becomes `_`.
fn filename(reference: &str) -> String {
    let safe: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.pdf")
}

async fn pdf(admin: Admin, id: i64, disposition: &'static str) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let invoice = invoices::get(store, id).await?;
    let Some(reference) = invoice.reference.clone() else {
        return Err(AdminError::Conflict(format!(
            "le brouillon n° {id} n'a pas de PDF : émettez-le d'abord / a draft has no PDF"
        )));
    };
    let bytes = render::invoice_pdf(store, id).await?;
    audit::record(
        store,
        &admin.actor,
        Record::new("invoice.pdf", format!("invoice:{id}"))
            .details(json!({ "reference": reference, "disposition": disposition })),
    )
    .await?;
    let name = filename(&reference);
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_string()),
            (CONTENT_DISPOSITION, format!("{disposition}; filename=\"{name}\"")),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

async fn view(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    pdf(admin, id, "inline").await
}

async fn download(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    pdf(admin, id, "attachment").await
}

#[cfg(test)]
mod tests {
    #[test]
    fn filenames_are_plain() {
        assert_eq!(super::filename("F2026-0001"), "F2026-0001.pdf");
        assert_eq!(super::filename("A/B\"C"), "A_B_C.pdf");
    }
}
