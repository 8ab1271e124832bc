//! Customers: people, or businesses identified by their SIREN.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::address::{PostalAddress, ADDRESS};
use super::error::{invalid, BillingError};
use super::validate;
use crate::billing::sql::customers as sql;
use crate::store::{Store, StoreError, Tx};
use crate::text;

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
            other => Err(invalid(
                "kind",
                text!(
                    "« {value} » : particulier (person) ou professionnel (business)",
                    value = other
                ),
            )),
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
                    text!("le SIREN est obligatoire pour un client professionnel"),
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

/// What a customer is searched by: name and e-mail with accents folded out
/// and in lower case ("Élodie Château-Brûlé" → "elodie chateau-brule"), so
/// "élodie", "ELODIE" and "brule" find her on both backends. Written by hand
/// over unicode-normalization's decomposition: the folding of œ, æ and ß is
/// French usage, not Unicode's.
pub fn search_key(name: &str, email: Option<&str>) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut text = name.to_string();
    if let Some(email) = email {
        // A line break: a search (one line) never matches across the two.
        text.push('\n');
        text.push_str(email);
    }
    let mut key = String::with_capacity(text.len());
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'œ' | 'Œ' => key.push_str("oe"),
            'æ' | 'Æ' => key.push_str("ae"),
            'ß' => key.push_str("ss"),
            '’' | 'ʼ' => key.push('\''),
            c => key.extend(c.to_lowercase()),
        }
    }
    key
}

/// Keys the customers written before migration 0014 (at start-up, in
/// batches); returns how many were keyed.
pub async fn fill_search_keys(store: &Store) -> Result<usize, BillingError> {
    let mut done = 0;
    loop {
        let batch = sql::unkeyed(store, 500).await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let mut tx = store.begin().await?;
        for (id, name, email) in &batch {
            sql::set_search_key(&mut tx, *id, &search_key(name, email.as_deref())).await?;
        }
        tx.commit().await?;
        done += batch.len();
    }
}

/// Customers whose name or e-mail contains `text`, accents and case aside,
/// newest first; blank `text` lists all.
pub async fn search(store: &Store, text: &str, limit: i64, before: Option<i64>) -> Result<Vec<Customer>, BillingError> {
    let text = text.trim();
    if text.is_empty() {
        return list(store, limit, before).await;
    }
    Ok(sql::search(store, text, limit.clamp(1, 1000), before).await?)
}

/// The columns the admin's customer list sorts by: a closed list, each
/// with its own SQL (nothing of the query string reaches the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    Name,
    Created,
    /// Individuals first, then businesses; by name within each.
    Kind,
}

impl CustomerSort {
    pub const ALL: [CustomerSort; 3] = [CustomerSort::Name, CustomerSort::Created, CustomerSort::Kind];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerSort::Name => "name",
            CustomerSort::Created => "created",
            CustomerSort::Kind => "kind",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerSort> {
        CustomerSort::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Customers whose name or e-mail contains `text` (every customer when it
/// is blank), in `sort`'s order, skipping the first `offset`: the same
/// order on both backends (names compared accents and case aside).
pub async fn search_sorted(
    store: &Store,
    text: &str,
    sort: CustomerSort,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<Customer>, BillingError> {
    Ok(sql::search_sorted(
        store,
        text.trim(),
        sort,
        descending,
        limit.clamp(1, 1000),
        offset.max(0),
    )
    .await?)
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

#[cfg(test)]
mod search_tests {
    use super::search_key;

    #[test]
    fn accents_case_and_ligatures_fold() {
        assert_eq!(search_key("Élodie Château-Brûlé", None), "elodie chateau-brule");
        assert_eq!(
            search_key("ŒUVRES d’Æsop", Some("Cœur@Example.FR")),
            "oeuvres d'aesop\ncoeur@example.fr"
        );
        assert_eq!(search_key("Straße", None), "strasse");
        assert!(search_key("Élodie Château-Brûlé", None).contains(&search_key("BRULE", None)));
        assert!(search_key("Élodie Château-Brûlé", None).contains(&search_key("élodie", None)));
    }
}
