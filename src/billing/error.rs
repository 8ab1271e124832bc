//! Why a billing operation failed. Every message is an [`i18n::Text`]
//! written in French (its `Display`, for logs and the command line), said in
//! English by the catalogue (`locales/en/billing.json`) to an operator who
//! reads the admin in English and to the API's callers.

use thiserror::Error;

use crate::i18n::Text;
use crate::money::MoneyError;
use crate::store::StoreError;
use crate::text;

/// Why a contract operation was refused: the rule that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("{}", self.text())]
    ContractNotActive { contract: i64, status: String },
    #[error("{}", self.text())]
    MandateRevoked { reference: String, on: chrono::NaiveDate },
    #[error("{}", self.text())]
    MandateLapsed {
        reference: String,
        since: chrono::NaiveDate,
    },
    #[error("{}", self.text())]
    CeilingExceeded {
        outstanding: String,
        amount: String,
        ceiling: String,
    },
    #[error("{}", self.text())]
    RefundAboveOpen { amount: String, open: String },
    #[error("{}", self.text())]
    CurrencyMismatch { got: String, expected: String },
}

/// A contract's state in words (`status` is the stored code).
pub(crate) fn contract_status(status: &str) -> Text {
    match status {
        "active" => text!("actif"),
        "suspended" => text!("suspendu"),
        "cancelled" => text!("résilié"),
        other => Text::verbatim(other),
    }
}

/// An invoice's state in words, as "la facture est {state}" says it.
pub(crate) fn invoice_state(status: &str) -> Text {
    match status {
        "draft" => text!("brouillon"),
        "issued" => text!("émise"),
        "paid" => text!("payée"),
        "cancelled" => text!("annulée"),
        other => Text::verbatim(other),
    }
}

/// A payment's or a refund's state in words ("le paiement est {state}").
pub(crate) fn payment_state(status: &str) -> Text {
    match status {
        "initiated" => text!("initié"),
        "pending" => text!("en attente"),
        "completed" => text!("encaissé"),
        "failed" => text!("échoué"),
        "refunded" => text!("remboursé"),
        "partially_refunded" => text!("partiellement remboursé"),
        other => Text::verbatim(other),
    }
}

/// An order's state in words ("la commande est {state}").
pub(crate) fn order_state(status: &str) -> Text {
    match status {
        "pending" => text!("en attente"),
        "paid" => text!("payée"),
        "cancelled" => text!("annulée"),
        "expired" => text!("expirée"),
        other => Text::verbatim(other),
    }
}

/// Goods or services, as "en {nature}" says them.
pub(crate) fn nature_words(nature: super::catalog::Nature) -> Text {
    match nature {
        super::catalog::Nature::Goods => text!("biens"),
        super::catalog::Nature::Services => text!("services"),
    }
}

fn day(d: &chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

impl Refusal {
    /// A stable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::ContractNotActive { .. } => "contract_not_active",
            Refusal::MandateRevoked { .. } => "mandate_revoked",
            Refusal::MandateLapsed { .. } => "mandate_lapsed",
            Refusal::CeilingExceeded { .. } => "ceiling_exceeded",
            Refusal::RefundAboveOpen { .. } => "refund_above_open",
            Refusal::CurrencyMismatch { .. } => "currency_mismatch",
        }
    }

    /// The rule that failed, in the reader's language.
    pub fn text(&self) -> Text {
        match self {
            Refusal::ContractNotActive { contract, status } => text!(
                "le contrat {contract} est {status}, il n'est pas actif",
                contract = contract
            )
            .with("status", contract_status(status)),
            Refusal::MandateRevoked { reference, on } => {
                text!(
                    "le mandat SEPA {reference} a été révoqué le {on}",
                    reference = reference,
                    on = day(on)
                )
            }
            Refusal::MandateLapsed { reference, since } => text!(
                "le mandat SEPA {reference} est caduc : inutilisé depuis le {since} (36 mois)",
                reference = reference,
                since = day(since)
            ),
            Refusal::CeilingExceeded {
                outstanding,
                amount,
                ceiling,
            } => text!(
                "plafond dépassé : encours {outstanding} + {amount} > plafond {ceiling}",
                outstanding = outstanding,
                amount = amount,
                ceiling = ceiling
            ),
            Refusal::RefundAboveOpen { amount, open } => text!(
                "le remboursement de {amount} dépasse les {open} ouverts sur le contrat",
                amount = amount,
                open = open
            ),
            Refusal::CurrencyMismatch { got, expected } => text!(
                "la devise {got} n'est pas celle du contrat ({expected})",
                got = got,
                expected = expected
            ),
        }
    }
}

#[derive(Debug, Error)]
pub enum BillingError {
    /// Input that can never be accepted as given: `field` is the API's name
    /// of the field (its contract), [`field_label`] the words for people.
    #[error("{} : {message}", field_label(field))]
    Invalid { field: &'static str, message: Text },
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{0} introuvable")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. issuing an issued invoice).
    #[error("{0}")]
    Conflict(Text),
    #[error("les réglages de facturation ne sont pas faits (identité du vendeur, SIREN, séries)")]
    NoSettings,
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Store(StoreError),
    #[error("document : {0}")]
    Document(String),
    /// A follow-up job could not be enqueued (an unknown kind, args that do
    /// not encode); the database's own errors are `Store`.
    #[error(transparent)]
    Queue(crate::jobs::Error),
    /// The book's signing key is missing, unreadable or not the book's.
    #[error(transparent)]
    Seal(#[from] super::seal::SealError),
    /// The livre de recettes failed verification: nothing is exported from it.
    #[error("{0}")]
    BookAltered(String),
    /// The record of the e-mails could not be read or written.
    #[error(transparent)]
    Mail(crate::mail::MailError),
}

impl BillingError {
    /// What a person is told, in their language, for the errors that are
    /// theirs to act on (input, refusals, conflicts); none for internals.
    pub fn text(&self) -> Option<Text> {
        match self {
            BillingError::Invalid { field, message } => Some(
                text!("{field} : {message}")
                    .with("field", field_label(field))
                    .with("message", message.clone()),
            ),
            BillingError::Refused(r) => Some(r.text()),
            BillingError::Money(m) => Some(m.text()),
            BillingError::Conflict(m) => Some(m.clone()),
            BillingError::NoSettings => Some(text!(
                "les réglages de facturation ne sont pas faits (identité du vendeur, SIREN, séries)"
            )),
            BillingError::BookAltered(m) => Some(Text::verbatim(m.clone())),
            _ => None,
        }
    }
}

impl From<crate::jobs::Error> for BillingError {
    fn from(e: crate::jobs::Error) -> Self {
        match e {
            crate::jobs::Error::Store(e) => e.into(),
            other => BillingError::Queue(other),
        }
    }
}

impl From<crate::mail::MailError> for BillingError {
    fn from(e: crate::mail::MailError) -> Self {
        match e {
            crate::mail::MailError::Store(e) => e.into(),
            other => BillingError::Mail(other),
        }
    }
}

impl From<StoreError> for BillingError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(detail) => {
                // The database's words (a row changed meanwhile, a unique
                // key): for the log; the person is told what to do.
                tracing::info!(%detail, "billing conflict");
                BillingError::Conflict(text!(
                    "une autre action a modifié ces données entre-temps : rechargez la page et réessayez"
                ))
            }
            other => BillingError::Store(other),
        }
    }
}

/// The message of a refused field, for [`BillingError::Invalid`]: a
/// `text!(…)` (words not Comptoir's own go through `Text::verbatim`).
pub trait Message {
    fn into_text(self) -> Text;
}

impl Message for Text {
    fn into_text(self) -> Text {
        self
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Message) -> BillingError {
    BillingError::Invalid {
        field,
        message: message.into_text(),
    }
}

/// A refusal of the `index`th line of a document or operation (0-based),
/// said the way the other line errors say it: "ligne 2 : …".
pub(crate) fn at_line(e: BillingError, index: usize) -> BillingError {
    match e {
        BillingError::Invalid { field, message } => BillingError::Invalid {
            field,
            message: text!("ligne {line} : {message}", line = index + 1).with("message", message),
        },
        other => other,
    }
}

/// The words for a field of the domain (`seller_name` is "Nom du vendeur"),
/// for people; the API keeps the field's name. A field without words here
/// is shown by its name.
pub fn field_label(field: &str) -> Text {
    // `customer.address.city` and `address.city` are both "Ville";
    // `lines.quantity` is "Quantité".
    let last = field.rsplit('.').next().unwrap_or(field);
    let label = match field {
        "seller.address" | "customer.address" => Some(text!("Adresse")),
        "seller.siren" => Some(text!("SIREN du vendeur")),
        "customer.siren" => Some(text!("SIREN du client")),
        "items.sku" => Some(text!("Produit")),
        "lines.description" => Some(text!("Désignation")),
        _ => None,
    };
    if let Some(label) = label {
        return label;
    }
    match last {
        "seller_name" => text!("Nom du vendeur"),
        "name" => text!("Nom"),
        "email" => text!("E-mail"),
        "password" => text!("Mot de passe"),
        "siren" => text!("SIREN"),
        "iban" => text!("IBAN"),
        "bic" => text!("BIC"),
        "address" | "lines" if field.contains("address") => text!("Adresse"),
        "postcode" => text!("Code postal"),
        "city" => text!("Ville"),
        "country" => text!("Pays"),
        "lines" => text!("Lignes"),
        "items" => text!("Articles"),
        "description" => text!("Désignation"),
        "quantity" => text!("Quantité"),
        "unit" => text!("Unité"),
        "unit_price" => text!("Prix unitaire"),
        "price" => text!("Prix"),
        "amount" => text!("Montant"),
        "fee" => text!("Frais"),
        "total" => text!("Total"),
        "currency" => text!("Devise"),
        "sku" => text!("Référence produit"),
        "nature" => text!("Nature"),
        "kind" => text!("Type de client"),
        "status" => text!("État"),
        "method" => text!("Moyen de paiement"),
        "provider" => text!("Prestataire de paiement"),
        "period" => text!("Période"),
        "issue_date" => text!("Date d'émission"),
        "due_date" => text!("Date d'échéance"),
        "service_date" => text!("Date de livraison ou d'exécution"),
        "service_period_start" => text!("Début de la période de service"),
        "service_period_end" => text!("Fin de la période de service"),
        "received_on" => text!("Date de réception"),
        "confirm_received_on" => text!("Confirmation de la date de réception"),
        "occurred_on" => text!("Date"),
        "payment_terms_days" => text!("Délai de paiement"),
        "late_penalty_rate" => text!("Taux des pénalités de retard"),
        "discount_terms" => text!("Conditions d'escompte"),
        "electronic_address" => text!("Adresse électronique"),
        "electronic_address_scheme" => text!("Schéma de l'adresse électronique"),
        "vat_regime" => text!("Régime de TVA"),
        "activity" => text!("Activité"),
        "services_category" => text!("Catégorie de services"),
        "declaration_frequency" => text!("Fréquence des déclarations"),
        "invoice_prefix" => text!("Préfixe des factures"),
        "credit_note_prefix" => text!("Préfixe des avoirs"),
        "invoice_id" => text!("Facture"),
        "order_id" => text!("Commande"),
        "customer_id" => text!("Client"),
        "payment_id" => text!("Paiement"),
        "credited" => text!("Facture créditée"),
        "reason" => text!("Motif"),
        "note" => text!("Note"),
        "purchase_order" => text!("Bon de commande"),
        "mandate_reference" => text!("Référence du mandat"),
        "mandate_signed_on" => text!("Date de signature du mandat"),
        "ceiling" => text!("Plafond"),
        "allocations" => text!("Répartition"),
        "ledger" => text!("Grand livre"),
        "idempotency_key" => text!("Clé d'idempotence"),
        "filename" => text!("Nom du fichier"),
        "sha256" => text!("Empreinte SHA-256"),
        _ => Text::verbatim(field),
    }
}
