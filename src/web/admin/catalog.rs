//! `/admin/catalog`: the catalogue — what can be sold and at what price.
//! Lists every product (for sale and retired), creates one (référence,
//! libellé, nature, unité, prix unitaire typed in euros with a comma),
//! edits one (all but its référence) and retires one (it stays listed:
//! invoices and orders name it). A refused field shows the form again (422)
//! with its French message beside it and nothing is stored; every action is
//! audited (`billing::actions::catalog`). The invoice form picks its lines
//! from the products for sale.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::billing_input::{self, seller_currency, FieldErrors};
use super::{Admin, AdminError, Form, Path};
use crate::billing::actions::catalog as actions;
use crate::billing::catalog::{self, Nature, NewProduct, Product, Unit};
use crate::billing::BillingError;
use crate::i18n::Text;
use crate::money::Currency;
use crate::text;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/catalog/list.html")];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/catalog", Access::Operator, list)
        .post("/admin/catalog", Access::Operator, create)
        .get("/admin/catalog/{sku}/edit", Access::Operator, edit_form)
        .post("/admin/catalog/{sku}/edit", Access::Operator, save)
        .post("/admin/catalog/{sku}/retire", Access::Operator, retire)
}

/// The creation form as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct ProductForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    nature: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    unit_price: String,
}

impl ProductForm {
    fn of(p: &Product) -> ProductForm {
        ProductForm {
            sku: p.sku.clone(),
            name: p.name.clone(),
            nature: p.nature.as_str().to_string(),
            unit: p.unit.map(Unit::as_str).unwrap_or_default().to_string(),
            unit_price: p.unit_price.format_number_fr(false),
        }
    }
}

async fn page(
    admin: &Admin,
    status: StatusCode,
    form: &ProductForm,
    errors: &FieldErrors,
    error: Option<Text>,
) -> Result<Response, AdminError> {
    page_editing(admin, status, None, form, errors, error).await
}

/// The catalogue with its form: a new product, or product `editing`.
async fn page_editing(
    admin: &Admin,
    status: StatusCode,
    editing: Option<&str>,
    form: &ProductForm,
    errors: &FieldErrors,
    error: Option<Text>,
) -> Result<Response, AdminError> {
    let products = catalog::list_all(&admin.state.store).await?;
    let units: Vec<&str> = Unit::ALL.iter().map(|u| u.as_str()).collect();
    admin.render_status(
        status,
        "admin/catalog/list.html",
        "catalog",
        context! {
            products => products,
            form => form,
            errors => errors.said(admin.lang()),
            error => error.map(|e| admin.tr(e)),
            editing => editing,
            units => units,
            currency => seller_currency(&admin.state.store).await?.code(),
        },
    )
}

async fn list(admin: Admin) -> Result<Response, AdminError> {
    let form = ProductForm {
        nature: "services".into(),
        ..ProductForm::default()
    };
    page(&admin, StatusCode::OK, &form, &FieldErrors::new(), None).await
}

/// The product the form describes, or its fields' errors.
fn check(form: &ProductForm, currency: Currency, errors: &mut FieldErrors) -> Option<NewProduct> {
    let sku = form.sku.trim();
    if sku.is_empty() {
        errors.add("sku", text!("La référence est obligatoire."));
    } else if sku.chars().count() > 64 {
        errors.add("sku", text!("{max} caractères au plus.", max = 64));
    } else if !sku
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        errors.add(
            "sku",
            text!("Lettres sans accent, chiffres, « - », « _ » et « . » seulement (ex. COURS-1H)."),
        );
    }
    let name = form.name.trim();
    if name.is_empty() {
        errors.add("name", text!("Le libellé est obligatoire."));
    } else if name.chars().count() > 200 {
        errors.add("name", text!("{max} caractères au plus.", max = 200));
    }
    let nature = match form.nature.trim() {
        "goods" => Some(Nature::Goods),
        "services" => Some(Nature::Services),
        _ => {
            errors.add(
                "nature",
                text!("Choisissez « Vente de marchandises » ou « Prestation de services »."),
            );
            None
        }
    };
    let unit = match form.unit.trim() {
        "" => Some(None),
        u => match Unit::parse(u) {
            Ok(u) => Some(Some(u)),
            Err(_) => {
                errors.add("unit", text!("Choisissez une unité de la liste."));
                None
            }
        },
    };
    let unit_price = billing_input::amount(errors, "unit_price", &form.unit_price, currency);
    match (nature, unit, unit_price, errors.is_empty()) {
        (Some(nature), Some(unit), Some(unit_price), true) => Some(NewProduct {
            sku: sku.to_string(),
            name: name.to_string(),
            nature,
            unit_price,
            unit,
        }),
        _ => None,
    }
}

async fn create(admin: Admin, Form(form): Form<ProductForm>) -> Result<Response, AdminError> {
    let currency = seller_currency(&admin.state.store).await?;
    let mut errors = FieldErrors::new();
    let Some(new) = check(&form, currency, &mut errors) else {
        return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    };
    let mut tx = admin.state.store.begin().await?;
    let product = match actions::create(&mut tx, &admin.actor, new).await {
        Ok(p) => p,
        Err(e) => {
            tx.rollback().await?;
            let mut errors = FieldErrors::new();
            let message = match e {
                BillingError::Conflict(_) => {
                    errors.add("sku", text!("Cette référence existe déjà dans le catalogue."));
                    None
                }
                BillingError::Invalid { field, message } => {
                    let field = if ["sku", "name", "unit_price"].contains(&field) {
                        field
                    } else {
                        "sku"
                    };
                    errors.add(field, text!("Valeur refusée : {why}").with("why", message));
                    None
                }
                other => return Err(other.into()),
            };
            return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, message).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        "/admin/catalog",
        text!(
            "Produit {sku} « {name} » ajouté au catalogue ({price}).",
            sku = product.sku,
            name = product.name,
            price = product.unit_price.format_fr()
        ),
    ))
}

async fn edit_form(admin: Admin, Path(sku): Path<String>) -> Result<Response, AdminError> {
    let mut tx = admin.state.store.begin().await?;
    let product = match catalog::by_sku(&mut tx, &sku).await {
        Ok(p) => p,
        Err(BillingError::NotFound(_)) => return Err(AdminError::NotFound),
        Err(e) => return Err(e.into()),
    };
    tx.rollback().await?;
    let form = ProductForm::of(&product);
    page_editing(&admin, StatusCode::OK, Some(&sku), &form, &FieldErrors::new(), None).await
}

async fn save(
    admin: Admin,
    Path(sku): Path<String>,
    Form(mut form): Form<ProductForm>,
) -> Result<Response, AdminError> {
    // The référence is the product's name in orders and contracts: it does not change.
    form.sku = sku.clone();
    let currency = seller_currency(&admin.state.store).await?;
    let mut errors = FieldErrors::new();
    let (shown, typed, editing) = (&admin, &form, sku.as_str());
    let refused = move |errors: FieldErrors| async move {
        page_editing(
            shown,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(editing),
            typed,
            &errors,
            None,
        )
        .await
    };
    let Some(changes) = check(&form, currency, &mut errors) else {
        return refused(errors).await;
    };
    let mut tx = admin.state.store.begin().await?;
    let product = match actions::update(&mut tx, &admin.actor, changes).await {
        Ok(p) => p,
        Err(BillingError::NotFound(_)) => return Err(AdminError::NotFound),
        Err(BillingError::Invalid { field, message }) => {
            tx.rollback().await?;
            let field = if field == "unit_price" { field } else { "name" };
            errors.add(field, text!("Valeur refusée : {why}").with("why", message));
            return refused(errors).await;
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(admin.redirect(
        "/admin/catalog",
        text!(
            "Produit {sku} « {name} » modifié ({price}). Les factures déjà émises gardent ce qu'elles ont imprimé.",
            sku = product.sku,
            name = product.name,
            price = product.unit_price.format_fr()
        ),
    ))
}

async fn retire(admin: Admin, Path(sku): Path<String>) -> Result<Response, AdminError> {
    let mut tx = admin.state.store.begin().await?;
    let product = match actions::retire(&mut tx, &admin.actor, &sku).await {
        Ok(p) => p,
        Err(BillingError::NotFound(_)) => return Err(AdminError::NotFound),
        Err(BillingError::Conflict(m)) => return Err(AdminError::Conflict(m)),
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(admin.redirect(
        "/admin/catalog",
        text!(
            "Produit {sku} « {name} » retiré de la vente : il reste sur les documents qui le citent.",
            sku = product.sku,
            name = product.name
        ),
    ))
}
