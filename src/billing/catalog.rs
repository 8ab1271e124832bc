//! The catalogue: what can be sold and at what price (the price list a
//! checkout page reads). Prices are the server's: a client's total is never trusted.

use serde::{Deserialize, Serialize};

use super::error::{invalid, BillingError};
use super::validate;
use crate::billing::sql::catalog as sql;
use crate::money::Money;
use crate::store::{Store, Tx};
use crate::text;

/// Goods and services are kept apart in the livre de recettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nature {
    Goods,
    Services,
}

impl Nature {
    pub fn as_str(self) -> &'static str {
        match self {
            Nature::Goods => "goods",
            Nature::Services => "services",
        }
    }

    pub fn parse(s: &str) -> Result<Nature, BillingError> {
        match s {
            "goods" => Ok(Nature::Goods),
            "services" => Ok(Nature::Services),
            other => Err(invalid(
                "nature",
                text!("« {value} » n'est ni des biens ni des services", value = other),
            )),
        }
    }
}

/// The unit a quantity is counted in, printed after it ("2 heures") and
/// carried in the Factur-X XML as its UN/ECE recommendation 20 code. A line
/// without one counts pieces (goods) or units of service (services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Hour,
    Day,
    Month,
    Piece,
    LumpSum,
    Kilogram,
    Kilometre,
    SquareMetre,
}

impl Unit {
    pub const ALL: [Unit; 8] = [
        Unit::Hour,
        Unit::Day,
        Unit::Month,
        Unit::Piece,
        Unit::LumpSum,
        Unit::Kilogram,
        Unit::Kilometre,
        Unit::SquareMetre,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::Day => "day",
            Unit::Month => "month",
            Unit::Piece => "piece",
            Unit::LumpSum => "lump_sum",
            Unit::Kilogram => "kilogram",
            Unit::Kilometre => "kilometre",
            Unit::SquareMetre => "square_metre",
        }
    }

    pub fn parse(s: &str) -> Result<Unit, BillingError> {
        Unit::ALL
            .into_iter()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| invalid("unit", text!("unité inconnue « {unit} »", unit = s)))
    }

    /// UN/ECE recommendation 20 (the code list EN 16931 reads for BT-130).
    pub fn code(self) -> &'static str {
        match self {
            Unit::Hour => "HUR",
            Unit::Day => "DAY",
            Unit::Month => "MON",
            Unit::Piece => "H87",
            Unit::LumpSum => "LS",
            Unit::Kilogram => "KGM",
            Unit::Kilometre => "KMT",
            Unit::SquareMetre => "MTK",
        }
    }

    /// The unit's name in a list ("heure").
    pub fn label_fr(self) -> &'static str {
        match self {
            Unit::Hour => "heure",
            Unit::Day => "jour",
            Unit::Month => "mois",
            Unit::Piece => "pièce",
            Unit::LumpSum => "forfait",
            Unit::Kilogram => "kg",
            Unit::Kilometre => "km",
            Unit::SquareMetre => "m²",
        }
    }

    /// The unit after a quantity: "1 heure", "2 heures", "1,5 jour" (the
    /// plural from 2 on, as French writes it).
    pub fn after_quantity_fr(self, quantity: rust_decimal::Decimal) -> &'static str {
        let plural = quantity >= rust_decimal::Decimal::TWO;
        match (self, plural) {
            (Unit::Hour, true) => "heures",
            (Unit::Day, true) => "jours",
            (Unit::Piece, true) => "pièces",
            (Unit::LumpSum, true) => "forfaits",
            (unit, _) => unit.label_fr(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub nature: Nature,
    pub unit_price: Money,
    #[serde(default)]
    pub unit: Option<Unit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub nature: Nature,
    pub unit_price: Money,
    pub unit: Option<Unit>,
    pub active: bool,
}

/// The name and price of a product, checked (its SKU is checked on creation only).
fn checked_terms(new: NewProduct) -> Result<NewProduct, BillingError> {
    if new.unit_price.is_negative() {
        return Err(invalid("unit_price", text!("ne peut pas être négatif")));
    }
    Ok(NewProduct {
        name: validate::text("name", &new.name, 200)?,
        ..new
    })
}

pub async fn create(tx: &mut Tx, new: NewProduct) -> Result<Product, BillingError> {
    let sku = validate::text("sku", &new.sku, 64)?;
    if !sku
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid(
            "sku",
            text!("lettres, chiffres, « - », « _ » et « . » seulement"),
        ));
    }
    let product = checked_terms(NewProduct { sku, ..new })?;
    sql::insert(tx, &product).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => {
            BillingError::Conflict(text!("la référence « {sku} » existe déjà", sku = product.sku))
        }
        other => other.into(),
    })
}

/// Changes the name, nature, price or unit of product `new.sku`. Documents
/// already issued keep what they printed; drafts and contracts read the new
/// price only when their lines are typed again.
pub async fn update(tx: &mut Tx, new: NewProduct) -> Result<Product, BillingError> {
    let product = checked_terms(new)?;
    sql::update(tx, &product)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("product {:?}", product.sku)))
}

/// Active products, by SKU.
pub async fn price_list(store: &Store) -> Result<Vec<Product>, BillingError> {
    Ok(sql::list_active(store).await?)
}

/// Every product, for sale or retired, by SKU.
pub async fn list_all(store: &Store) -> Result<Vec<Product>, BillingError> {
    Ok(sql::list_all(store).await?)
}

pub async fn by_sku(tx: &mut Tx, sku: &str) -> Result<Product, BillingError> {
    sql::by_sku(tx, sku)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("product {sku:?}")))
}

pub async fn set_active(tx: &mut Tx, sku: &str, active: bool) -> Result<(), BillingError> {
    if sql::set_active(tx, sku, active).await? == 0 {
        return Err(BillingError::NotFound(format!("product {sku:?}")));
    }
    Ok(())
}
