//! The audit log in words: what each action is called, the human names of
//! the fields its details keep, and the words for their coded values. The
//! entries keep their codes (`invoice.issue`, `amount_minor`, `not_sale`):
//! they are the log's stable record, and the raw details stay reachable on
//! the page; people read these words.

use crate::i18n::Text;
use crate::text;

/// Every action recorded anywhere (`Record::new(…)`), grouped by what they
/// act on, in the order the log's filter offers them.
pub const ACTIONS: &[&str] = &[
    "invoice.create",
    "invoice.edit",
    "invoice.issue",
    "invoice.resend",
    "invoice.delete",
    "invoice.pdf",
    "invoice.xml",
    "credit_note.issue",
    "payment.record",
    "payment.backdated",
    "refund.request",
    "customer.create",
    "customer.update",
    "customer.mailing",
    "contract.subscribe",
    "contract.suspend",
    "contract.resume",
    "contract.cancel",
    "contract.revoke_mandate",
    "contract.operation",
    "product.create",
    "product.update",
    "product.retire",
    "order.create",
    "order.capture",
    "bank.confirm",
    "bank.split",
    "bank.not_sale",
    "bank.ignore",
    "import.upload",
    "book.generate",
    "book.download",
    "archive.request",
    "archive.download",
    "settings.update",
    "job.retry",
    "job.cancel",
    "job.discard",
    "job.reschedule",
    "job.enqueue",
    "queue.pause",
    "queue.resume",
    "session.sign_in",
    "session.sign_out",
    "operator.create",
    "operator.reset_password",
    "operator.signin_link",
    "operator.language",
    "api_key.create",
    "api_key.revoke",
];

/// What an action is called ("Facture émise"); none for a code unknown here.
pub fn action(code: &str) -> Option<Text> {
    Some(match code {
        "invoice.create" => text!("Brouillon de facture créé"),
        "invoice.edit" => text!("Brouillon de facture modifié"),
        "invoice.issue" => text!("Facture émise"),
        "invoice.resend" => text!("Facture renvoyée par e-mail"),
        "invoice.delete" => text!("Brouillon de facture supprimé"),
        "invoice.pdf" => text!("PDF de la facture ouvert"),
        "invoice.xml" => text!("XML de la facture téléchargé"),
        "credit_note.issue" => text!("Avoir émis"),
        "payment.record" => text!("Paiement enregistré"),
        "payment.backdated" => text!("Paiement reçu à une date passée"),
        "refund.request" => text!("Remboursement demandé"),
        "customer.create" => text!("Client créé"),
        "customer.update" => text!("Client modifié"),
        "customer.mailing" => text!("Envois par e-mail du client changés"),
        "contract.subscribe" => text!("Contrat souscrit"),
        "contract.suspend" => text!("Contrat suspendu"),
        "contract.resume" => text!("Contrat repris"),
        "contract.cancel" => text!("Contrat résilié"),
        "contract.revoke_mandate" => text!("Mandat révoqué"),
        "contract.operation" => text!("Opération sur un contrat"),
        "product.create" => text!("Produit créé"),
        "product.update" => text!("Produit modifié"),
        "product.retire" => text!("Produit retiré de la vente"),
        "order.create" => text!("Commande passée"),
        "order.capture" => text!("Encaissement d'une commande demandé"),
        "bank.confirm" => text!("Virement rapproché"),
        "bank.split" => text!("Virement réparti entre plusieurs factures"),
        "bank.not_sale" => text!("Crédit classé hors ventes"),
        "bank.ignore" => text!("Crédit ignoré"),
        "import.upload" => text!("Fichier importé"),
        "book.generate" => text!("Génération du livre de recettes demandée"),
        "book.download" => text!("Fichier du livre de recettes téléchargé"),
        "archive.request" => text!("Archives annuelles demandées"),
        "archive.download" => text!("Archive annuelle téléchargée"),
        "settings.update" => text!("Réglages modifiés"),
        "job.retry" => text!("Tâche relancée"),
        "job.cancel" => text!("Tâche annulée"),
        "job.discard" => text!("Tâche écartée"),
        "job.reschedule" => text!("Tâche replanifiée"),
        "job.enqueue" => text!("Tâche ajoutée par l'API"),
        "queue.pause" => text!("File de tâches mise en pause"),
        "queue.resume" => text!("File de tâches reprise"),
        "session.sign_in" => text!("Connecté"),
        "session.sign_out" => text!("Déconnecté"),
        "operator.create" => text!("Opérateur créé"),
        "operator.reset_password" => text!("Mot de passe changé"),
        "operator.signin_link" => text!("Lien de connexion créé"),
        "operator.language" => text!("Langue de l'administration changée"),
        "api_key.create" => text!("Clé API créée"),
        "api_key.revoke" => text!("Clé API révoquée"),
        _ => return None,
    })
}

/// The group of actions a prefix (`invoice.`) filters, by what they act on.
pub fn group(prefix: &str) -> Option<Text> {
    Some(match prefix {
        "invoice." => text!("Factures"),
        "credit_note." => text!("Avoirs"),
        "payment." => text!("Paiements"),
        "refund." => text!("Remboursements"),
        "customer." => text!("Clients"),
        "contract." => text!("Contrats"),
        "product." => text!("Produits"),
        "order." => text!("Commandes"),
        "bank." => text!("Banque"),
        "import." => text!("Imports"),
        "book." => text!("Livre de recettes"),
        "archive." => text!("Archives"),
        "settings." => text!("Réglages"),
        "job." => text!("Tâches"),
        "queue." => text!("Files de tâches"),
        "session." => text!("Sessions"),
        "operator." => text!("Opérateurs"),
        "api_key." => text!("Clés API"),
        _ => return None,
    })
}

/// The human name of a field of an entry's details; none for a field the
/// page leaves to the raw details.
pub fn field(key: &str) -> Option<Text> {
    Some(match key {
        "amount_minor" | "amount" => text!("Montant"),
        "total_minor" | "total" => text!("Total"),
        "ceiling_minor" => text!("Plafond"),
        "excess_minor" => text!("Trop-perçu à rembourser"),
        "unit_price_minor" => text!("Prix unitaire"),
        "reference" => text!("Numéro"),
        "invoice_id" => text!("Facture"),
        "credited_invoice_id" | "credited_reference" => text!("Facture créditée"),
        "customer_id" => text!("Client"),
        "customer_created" => text!("Nouveau client"),
        "payment_id" => text!("Paiement"),
        "refund_id" => text!("Remboursement"),
        "operation_id" => text!("Opération"),
        "job_id" | "job" => text!("Tâche"),
        "charge_job_id" => text!("Tâche d'encaissement"),
        "email_job_id" => text!("Tâche d'envoi par e-mail"),
        "lines" => text!("Lignes"),
        "payment_terms_days" => text!("Délai de paiement"),
        "service_date" => text!("Date de la prestation"),
        "service_period_start" => text!("Début de la prestation"),
        "service_period_end" => text!("Fin de la prestation"),
        "purchase_order" => text!("Bon de commande"),
        "delivery_address" => text!("Adresse de livraison"),
        "address" => text!("Adresse"),
        "issue_date" => text!("Date d'émission"),
        "received_on" => text!("Reçu le"),
        "recorded_on" => text!("Enregistré le"),
        "days_back" => text!("Jours d'écart"),
        "confirmed_by" => text!("Confirmé par"),
        "method" => text!("Moyen de paiement"),
        "reason" => text!("Motif"),
        "nature" => text!("Nature"),
        "kind" => text!("Type"),
        "name" => text!("Nom"),
        "email" => text!("E-mail"),
        "siren" => text!("SIREN"),
        "electronic_address" => text!("Adresse électronique"),
        "electronic_address_scheme" => text!("Schéma de l'adresse électronique"),
        "sku" => text!("Référence du produit"),
        "unit" => text!("Unité"),
        "seller_name" => text!("Nom commercial"),
        "invoice_prefix" => text!("Préfixe des factures"),
        "credit_note_prefix" => text!("Préfixe des avoirs"),
        "iban" => text!("IBAN"),
        "bic" => text!("BIC"),
        "vat_regime" => text!("Régime de TVA"),
        "late_penalty_rate" => text!("Taux des pénalités de retard"),
        "discount_terms" => text!("Escompte"),
        "status" => text!("État"),
        "outcome" => text!("Résultat"),
        "provider" => text!("Prestataire"),
        "mandate_reference" => text!("Référence du mandat"),
        "revoked_on" => text!("Révoqué le"),
        "period" => text!("Période"),
        "format" => text!("Format"),
        "filename" | "file" => text!("Fichier"),
        "sha256" => text!("Empreinte SHA-256"),
        "bytes" | "size" => text!("Taille"),
        "year" => text!("Année"),
        "prefix" => text!("Clé"),
        "language" => text!("Langue"),
        "via" => text!("Par"),
        "link" => text!("Lien obtenu par"),
        "expires_at" => text!("Expire le"),
        "disposition" => text!("Affichage"),
        "booking_date" => text!("Comptabilisé le"),
        "payments" => text!("Paiements"),
        "payer" => text!("Payeur"),
        "note" => text!("Note"),
        "run_at" => text!("Prévue le"),
        "invoices" => text!("Factures par e-mail"),
        "receipts" => text!("Reçus par e-mail"),
        "credit_notes" => text!("Avoirs par e-mail"),
        _ => return None,
    })
}

/// The words for a coded value of field `key`; none when the value is
/// shown as it is (a name, a number) or unknown here.
pub fn value(key: &str, code: &str) -> Option<Text> {
    Some(match (key, code) {
        ("method", "card") => text!("Carte bancaire"),
        ("method", "paypal") => text!("PayPal"),
        ("method", "sepa_debit") => text!("Prélèvement SEPA"),
        ("method", "transfer") => text!("Virement"),
        ("method", "cheque") => text!("Chèque"),
        ("method", "cash") => text!("Espèces"),
        ("nature", "goods") => text!("Marchandises"),
        ("nature", "services") => text!("Services"),
        ("kind", "person") => text!("Particulier"),
        ("kind", "business") => text!("Professionnel"),
        ("kind", "customers") => text!("Clients"),
        ("kind", "payments") => text!("Relevé bancaire"),
        ("kind", "purchase") => text!("Achat"),
        ("kind", "refund") => text!("Remboursement"),
        ("status", "active") => text!("actif"),
        ("status", "suspended") => text!("suspendu"),
        ("status", "cancelled") => text!("résilié"),
        ("status", "initiated") | ("status", "pending") => text!("en attente"),
        ("status", "completed") => text!("encaissé"),
        ("status", "failed") => text!("échoué"),
        ("status", "refunded") => text!("remboursé"),
        ("status", "partially_refunded") => text!("remboursé en partie"),
        ("outcome", "not_due") => text!("rien à encaisser pour l'instant"),
        ("outcome", "retrying") => text!("nouvel essai prévu"),
        ("outcome", "recorded") => text!("réponse enregistrée"),
        ("via", "password") => text!("mot de passe"),
        ("via", "device") => text!("mot de passe, navigateur connu"),
        ("via", "link") => text!("lien de connexion"),
        ("via", "email") | ("link", "email") => text!("e-mail"),
        ("via", "cli") | ("link", "cli") => text!("ligne de commande"),
        ("via", "setup link") => text!("lien de premier compte"),
        ("via", "signin link") => text!("lien de connexion"),
        ("disposition", "inline") => text!("ouvert dans le navigateur"),
        ("disposition", "attachment") => text!("téléchargé"),
        ("vat_regime", "franchise") => text!("Franchise en base"),
        ("unit", "hour") => text!("heure"),
        ("unit", "day") => text!("jour"),
        ("unit", "month") => text!("mois"),
        ("unit", "piece") => text!("pièce"),
        ("unit", "lump_sum") => text!("forfait"),
        ("unit", "kilogram") => text!("kilogramme"),
        ("unit", "kilometre") => text!("kilomètre"),
        ("unit", "square_metre") => text!("mètre carré"),
        _ => return None,
    })
}

/// A job's state in words, for a job action's before and after.
pub fn job_state(code: &str) -> Option<Text> {
    crate::jobs::JobState::parse(code).map(crate::jobs::JobState::words)
}

/// Yes or no.
pub fn yes_no(yes: bool) -> Text {
    if yes {
        text!("oui")
    } else {
        text!("non")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn every_action_has_its_words_and_its_group() {
        for code in ACTIONS {
            assert!(action(code).is_some(), "{code}");
            let prefix = &code[..=code.find('.').unwrap()];
            assert!(group(prefix).is_some(), "{prefix}");
        }
        assert_eq!(action("invoice.issue").unwrap().in_lang(Lang::Fr), "Facture émise");
        assert!(action("nothing.known").is_none());
    }
}
