//! Creating and correcting customers.

use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::customers::{self, Customer, NewCustomer};
use crate::billing::mailing::{self, EmailChoices};
use crate::billing::BillingError;
use crate::store::Tx;

pub async fn create(tx: &mut Tx, by: &Actor, new: NewCustomer) -> Result<Customer, BillingError> {
    let customer = customers::create(tx, new).await?;
    let entry = Record::new("customer.create", format!("customer:{}", customer.id))
        .details(json!({ "name": customer.name, "kind": customer.kind.as_str() }));
    audit::record_in(tx, by, entry).await?;
    Ok(customer)
}

/// Corrects a customer; the audit entry keeps the details before and after
/// (issued documents keep the ones frozen in them).
pub async fn update(tx: &mut Tx, by: &Actor, id: i64, changes: NewCustomer) -> Result<Customer, BillingError> {
    let before = customers::get_in(tx, id).await?;
    let after = customers::update(tx, id, changes).await?;
    let entry = Record::new("customer.update", format!("customer:{id}")).details(json!({
        "before": details(&before),
        "after": details(&after),
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(after)
}

/// Remembers what customer `id` receives by e-mail; the entry keeps the
/// choices before and after.
pub async fn set_email_choices(tx: &mut Tx, by: &Actor, id: i64, choices: EmailChoices) -> Result<(), BillingError> {
    let before = mailing::get_in(tx, id).await?;
    mailing::set(tx, id, choices).await?;
    let entry = Record::new("customer.mailing", format!("customer:{id}"))
        .details(json!({ "before": before, "after": choices }));
    audit::record_in(tx, by, entry).await?;
    Ok(())
}

fn details(c: &Customer) -> serde_json::Value {
    json!({
        "kind": c.kind.as_str(), "name": c.name, "email": c.email, "address": c.address, "siren": c.siren,
        "electronic_address": c.electronic_address, "electronic_address_scheme": c.electronic_address_scheme,
    })
}
