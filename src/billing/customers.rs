//! Customers: people, or businesses identified by their SIREN.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::address::{PostalAddress, ADDRESS};
use super::error::{invalid, BillingError};
use super::validate;
use crate::billing::sql::customers as sql;
use crate::store::{Store, StoreError, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerKind {
    Person,
    Business,
}

impl CustomerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerKind::Person => "person",
            CustomerKind::Business => "business",
        }
    }

    pub fn parse(s: &str) -> Result<CustomerKind, BillingError> {
        match s {
            "person" => Ok(CustomerKind::Person),
            "business" => Ok(CustomerKind::Business),
            other => Err(invalid("kind", format!("{other:?} is not person or business"))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewCustomer {
    pub kind: CustomerKind,
    pub name: String,
    pub email: Option<String>,
    pub address: PostalAddress,
    /// Required for a business.
    pub siren: Option<String>,
    /// Where the customer receives e-invoices (EN 16931 BT-49); a business
    /// giving none gets its SIREN (scheme "0225").
    #[serde(default)]
    pub electronic_address: Option<String>,
    /// "0225" (SIREN), "EM" (e-mail), another ISO 6523 ICD; default "EM"
    /// for an e-mail address, else "0225".
    #[serde(default)]
    pub electronic_address_scheme: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    pub id: i64,
    pub kind: CustomerKind,
    pub name: String,
    pub email: Option<String>,
    /// Customers created before addresses had parts may lack postcode, city
    /// or country ([`PostalAddress::is_complete`]) until corrected.
    pub address: PostalAddress,
    pub siren: Option<String>,
    pub electronic_address: Option<String>,
    pub electronic_address_scheme: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl NewCustomer {
    fn validated(self) -> Result<NewCustomer, BillingError> {
        let siren = match (
            self.kind,
            self.siren.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        ) {
            (CustomerKind::Business, None) => {
                return Err(invalid(
                    "siren",
                    "le SIREN est obligatoire pour un client professionnel / is required for a business customer",
                ))
            }
            (_, Some(s)) => Some(validate::siren(s)?),
            (CustomerKind::Person, None) => None,
        };
        let name = validate::text("name", &self.name, 200)?;
        let email = validate::email(self.email.as_deref())?;
        let address = self.address.validated(&ADDRESS)?;
        // A business is reachable at its SIREN on the e-invoicing network
        // unless it says otherwise; a person has an electronic address only
        // when given.
        let default_siren = match self.kind {
            CustomerKind::Business => siren.as_deref(),
            CustomerKind::Person => None,
        };
        let electronic = validate::electronic_address(
            self.electronic_address.as_deref(),
            self.electronic_address_scheme.as_deref(),
            default_siren,
        )?;
        if let (CustomerKind::Business, Some(siren), Some((address, scheme))) = (self.kind, &siren, &electronic) {
            validate::directory_address(address, scheme, siren)?;
        }
        let (electronic_address, electronic_address_scheme) = match electronic {
            Some((a, s)) => (Some(a), Some(s)),
            None => (None, None),
        };
        Ok(NewCustomer {
            kind: self.kind,
            name,
            email,
            address,
            siren,
            electronic_address,
            electronic_address_scheme,
        })
    }
}

pub async fn create(tx: &mut Tx, new: NewCustomer) -> Result<Customer, BillingError> {
    let new = new.validated()?;
    Ok(sql::insert(tx, &new).await?)
}

/// Corrects a customer's details (checked as at creation). Documents already
/// issued keep the details frozen in them; the next ones use the new ones.
pub async fn update(tx: &mut Tx, id: i64, changes: NewCustomer) -> Result<Customer, BillingError> {
    let changes = changes.validated()?;
    sql::update(tx, id, &changes).await.map_err(|e| not_found(e, id))
}

pub async fn get(store: &Store, id: i64) -> Result<Customer, BillingError> {
    sql::get(store, id).await.map_err(|e| not_found(e, id))
}

pub async fn get_in(tx: &mut Tx, id: i64) -> Result<Customer, BillingError> {
    sql::get_in(tx, id).await.map_err(|e| not_found(e, id))
}

/// Newest first; `before` is the last id of the previous page.
pub async fn list(store: &Store, limit: i64, before: Option<i64>) -> Result<Vec<Customer>, BillingError> {
    Ok(sql::list(store, limit.clamp(1, 1000), before).await?)
}

/// Customers whose name or e-mail contains `text` (ASCII letters match in
/// any case, other characters exactly), newest first; blank `text` lists all.
pub async fn search(store: &Store, text: &str, limit: i64, before: Option<i64>) -> Result<Vec<Customer>, BillingError> {
    let text = text.trim();
    if text.is_empty() {
        return list(store, limit, before).await;
    }
    Ok(sql::search(store, text, limit.clamp(1, 1000), before).await?)
}

/// The names of customers `ids` (unknown ids are left out).
pub async fn names(store: &Store, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>, BillingError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(sql::names(store, &ids).await?)
}

fn not_found(e: StoreError, id: i64) -> BillingError {
    match e {
        StoreError::NotFound => BillingError::NotFound(format!("customer {id}")),
        other => other.into(),
    }
}
