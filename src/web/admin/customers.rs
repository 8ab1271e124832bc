//! Customers: the list (searched by name or e-mail), the creation form, and
//! a customer's page with its contracts, orders, invoices and payments, and
//! what they receive by e-mail (invoices, receipts, credit notes).

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::billing_input::{refused, FieldErrors};
use super::payments::sort::order;
use super::{empty_as_none, filter_text, next_before, Admin, AdminError, Form, Path, Query, PAGE_SIZE};
use crate::billing::actions::customers as actions;
use crate::billing::address::PostalAddress;
use crate::billing::contracts::{self, ContractFilter};
use crate::billing::customers::{self, CustomerKind, CustomerSort, NewCustomer};
use crate::billing::invoices::{self, InvoiceFilter};
use crate::billing::mailing::{self, EmailChoices};
use crate::billing::orders::{self, OrderFilter};
use crate::billing::payments::{self, PaymentFilter};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/customers/list.html"),
    crate::template!("admin/customers/new.html"),
    crate::template!("admin/customers/show.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/customers", Access::Operator, list)
        .post("/admin/customers", Access::Operator, create)
        .get("/admin/customers/new", Access::Operator, new_form)
        .get("/admin/customers/{id}", Access::Operator, show)
        .get("/admin/customers/{id}/edit", Access::Operator, edit_form)
        .post("/admin/customers/{id}", Access::Operator, update)
        .post("/admin/customers/{id}/mailing", Access::Operator, set_mailing)
}

/// How many of a customer's invoices, payments… its page shows.
const RECENT: i64 = 20;

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "filter_text")]
    q: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
    /// A column to sort by (`name`, `created`, `kind`), `dir` its direction.
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<i64>,
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let text = q.q.as_deref().unwrap_or("");
    let order = order(&q.sort, &q.dir, q.page, CustomerSort::parse)?;
    let params = serde_urlencoded::to_string([("q", text)]).unwrap_or_default();
    let store = &admin.state.store;
    let (rows, more, next) = match order.column {
        // The list's own order, newest first, paged by `before`.
        None => {
            let rows = customers::search(store, text, PAGE_SIZE, q.before).await?;
            let next = next_before(&rows, PAGE_SIZE, |c| c.id);
            (rows, false, next)
        }
        Some(column) => {
            let mut rows =
                customers::search_sorted(store, text, column, order.descending, PAGE_SIZE + 1, order.offset()).await?;
            let more = rows.len() as i64 > PAGE_SIZE;
            rows.truncate(PAGE_SIZE as usize);
            (rows, more, None)
        }
    };
    admin.render(
        "admin/customers/list.html",
        "customers",
        context! {
            customers => &rows,
            q => text,
            params => params,
            next_before => next,
            sorted => order.column.is_some(),
            sort => order.column.map_or("created", CustomerSort::as_str),
            dir => if order.column.is_some() { order.dir() } else { "desc" },
            page => order.page,
            has_more => more,
        },
    )
}

/// The form as typed, every field text, shown again when refused.
#[derive(Debug, Default, Deserialize, Serialize)]
struct CustomerForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    /// The street lines, one per line (3 at most).
    #[serde(default)]
    address_lines: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    siren: String,
    #[serde(default)]
    electronic_address: String,
    #[serde(default)]
    electronic_address_scheme: String,
}

/// The fields the form shows an error next to (the domain's names).
const FIELDS: &[&str] = &[
    "kind",
    "name",
    "address.lines",
    "address.postcode",
    "address.city",
    "address.country",
    "email",
    "siren",
    "electronic_address",
    "electronic_address_scheme",
];

fn form_page(
    admin: &Admin,
    status: StatusCode,
    form: &CustomerForm,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    edit_page(admin, status, None, form, errors, error)
}

/// The customer form: a new customer, or customer `editing`'s corrections.
fn edit_page(
    admin: &Admin,
    status: StatusCode,
    editing: Option<i64>,
    form: &CustomerForm,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    admin.render_status(
        status,
        "admin/customers/new.html",
        "customers",
        context! { form => form, errors => errors.said(admin.lang()), error => error, editing => editing },
    )
}

impl CustomerForm {
    fn of(c: &customers::Customer) -> CustomerForm {
        CustomerForm {
            kind: c.kind.as_str().into(),
            name: c.name.clone(),
            address_lines: c.address.lines_text(),
            postcode: c.address.postcode.clone(),
            city: c.address.city.clone(),
            country: c.address.country.clone(),
            email: c.email.clone().unwrap_or_default(),
            siren: c.siren.clone().unwrap_or_default(),
            electronic_address: c.electronic_address.clone().unwrap_or_default(),
            electronic_address_scheme: c.electronic_address_scheme.clone().unwrap_or_default(),
        }
    }

    /// The customer the form describes, or the field errors.
    fn customer(&self, errors: &mut FieldErrors) -> Option<NewCustomer> {
        let Ok(kind) = CustomerKind::parse(self.kind.trim()) else {
            errors.add("kind", crate::text!("particulier ou professionnel"));
            return None;
        };
        Some(NewCustomer {
            kind,
            name: self.name.clone(),
            email: Some(self.email.clone()),
            address: PostalAddress {
                lines: self.address_lines.lines().map(String::from).collect(),
                postcode: self.postcode.clone(),
                city: self.city.clone(),
                country: self.country.clone(),
            },
            siren: Some(self.siren.clone()),
            electronic_address: Some(self.electronic_address.clone()),
            electronic_address_scheme: Some(self.electronic_address_scheme.clone()),
        })
    }
}

async fn edit_form(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let customer = customers::get(&admin.state.store, id).await?;
    edit_page(
        &admin,
        StatusCode::OK,
        Some(id),
        &CustomerForm::of(&customer),
        &FieldErrors::new(),
        None,
    )
}

#[tracing::instrument(skip_all, fields(customer = id))]
async fn update(admin: Admin, Path(id): Path<i64>, Form(form): Form<CustomerForm>) -> Result<Response, AdminError> {
    customers::get(&admin.state.store, id).await?;
    let mut errors = FieldErrors::new();
    let Some(changes) = form.customer(&mut errors) else {
        return edit_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, Some(id), &form, &errors, None);
    };
    let mut tx = admin.state.store.begin().await?;
    if let Err(e) = actions::update(&mut tx, &admin.actor, id, changes).await {
        tx.rollback().await?;
        let message = admin.tr(refused(e, FIELDS, &mut errors)?);
        return edit_page(
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(id),
            &form,
            &errors,
            Some(message),
        );
    }
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/customers/{id}"),
        crate::text!("Client modifié : les prochains documents portent ces coordonnées"),
    ))
}

async fn new_form(admin: Admin) -> Result<Response, AdminError> {
    let form = CustomerForm {
        kind: "person".into(),
        country: "FR".into(),
        ..CustomerForm::default()
    };
    form_page(&admin, StatusCode::OK, &form, &FieldErrors::new(), None)
}

#[tracing::instrument(skip_all)]
async fn create(admin: Admin, Form(form): Form<CustomerForm>) -> Result<Response, AdminError> {
    let mut errors = FieldErrors::new();
    let Some(new) = form.customer(&mut errors) else {
        return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None);
    };
    let mut tx = admin.state.store.begin().await?;
    let customer = match actions::create(&mut tx, &admin.actor, new).await {
        Ok(c) => c,
        Err(e) => {
            tx.rollback().await?;
            let message = admin.tr(refused(e, FIELDS, &mut errors)?);
            return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, Some(message));
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/customers/{}", customer.id),
        crate::text!("Client « {name} » créé", name = customer.name),
    ))
}

async fn show(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let customer = customers::get(store, id).await?;
    let contracts = contracts::list(
        store,
        &ContractFilter {
            customer_id: Some(id),
            limit: RECENT,
            ..ContractFilter::default()
        },
    )
    .await?;
    let invoices = invoices::list(
        store,
        &InvoiceFilter {
            customer_id: Some(id),
            limit: RECENT,
            ..InvoiceFilter::default()
        },
    )
    .await?;
    let payments = payments::list(
        store,
        &PaymentFilter {
            customer_id: Some(id),
            limit: RECENT,
            ..PaymentFilter::default()
        },
    )
    .await?;
    let orders = orders::list(
        store,
        &OrderFilter {
            customer_id: Some(id),
            limit: RECENT,
            ..OrderFilter::default()
        },
    )
    .await?;
    let mailing = mailing::get(store, id).await?;
    admin.render(
        "admin/customers/show.html",
        "customers",
        context! {
            customer => &customer,
            mailing => mailing,
            contracts => &contracts,
            invoices => &invoices,
            payments => &payments,
            orders => &orders,
            recent => RECENT,
        },
    )
}

/// The three checkboxes of "Envois par e-mail"; an unticked box is absent.
#[derive(Deserialize)]
struct MailingForm {
    #[serde(default)]
    invoices: Option<String>,
    #[serde(default)]
    receipts: Option<String>,
    #[serde(default)]
    credit_notes: Option<String>,
}

#[tracing::instrument(skip_all, fields(customer = id))]
async fn set_mailing(admin: Admin, Path(id): Path<i64>, Form(form): Form<MailingForm>) -> Result<Response, AdminError> {
    let choices = EmailChoices {
        invoices: form.invoices.is_some(),
        receipts: form.receipts.is_some(),
        credit_notes: form.credit_notes.is_some(),
    };
    let mut tx = admin.state.store.begin().await?;
    actions::set_email_choices(&mut tx, &admin.actor, id, choices).await?;
    tx.commit().await?;
    let said = |on: bool, sent: crate::i18n::Text, not_sent: crate::i18n::Text| if on { sent } else { not_sent };
    Ok(admin.redirect(
        &format!("/admin/customers/{id}"),
        crate::text!("Envois par e-mail enregistrés : {invoices}, {receipts}, {credit_notes}.")
            .with(
                "invoices",
                said(
                    choices.invoices,
                    crate::text!("factures envoyées"),
                    crate::text!("factures non envoyées"),
                ),
            )
            .with(
                "receipts",
                said(
                    choices.receipts,
                    crate::text!("reçus envoyés"),
                    crate::text!("reçus non envoyés"),
                ),
            )
            .with(
                "credit_notes",
                said(
                    choices.credit_notes,
                    crate::text!("avoirs envoyés"),
                    crate::text!("avoirs non envoyés"),
                ),
            ),
    ))
}
