//! The invoice and credit-note (facture d'avoir) PDF, A4 portrait, with every mandatory mention
//! of a micro-entrepreneur's invoice.

use rust_decimal::Decimal;

use super::pdf::{Align, Column, Orientation, Style, Writer};
use super::wording::{fill, t};
use super::{
    address_lines, date_fr, identity, percent_fr, CreditSettlement, DocKind, DocumentError, InvoiceDoc,
    OperationCategory, Party, PostalAddress, ServiceDate,
};

const LABEL: Style = Style::bold(8.0);
const NAME: Style = Style::bold(11.0);
const BODY: Style = Style::regular(9.5);
const TITLE: Style = Style::bold(16.0);
const TOTAL: Style = Style::bold(12.0);
const CELL: Style = Style::regular(9.0);

/// Renders `doc` as a Factur-X PDF (PDF/A-3 with its CII XML embedded); refuses it when a
/// mandatory mention is missing.
pub fn invoice_pdf(doc: &InvoiceDoc) -> Result<Vec<u8>, DocumentError> {
    let xml = match doc.legacy {
        None => {
            check_mentions(doc)?;
            Some(super::cii::invoice_cii_xml(doc)?)
        }
        Some(_) => {
            check_legacy_mentions(doc)?;
            None
        }
    };
    let title = title(doc);
    let mut writer = Writer::new(&title, Orientation::Portrait)?;
    writer.set_running_head(Some(fill("document.continued", &[("title", &title)])));
    parties(&mut writer, doc);
    heading(&mut writer, doc, &title);
    lines(&mut writer, doc);
    closing(&mut writer, doc);
    let pdf = writer.finish_document(&identity(&doc.seller))?;
    match xml {
        Some(xml) => super::facturx::attach(
            pdf,
            &super::facturx::Attachment {
                xml: &xml,
                title: &title,
                author: &doc.seller.name,
                date: doc.issue_date,
            },
        ),
        None => pdf.save(),
    }
}

/// The preview of a draft, laid out as its invoice will be but marked "Brouillon", with no number
/// and no Factur-X XML: it is not an invoice and must not be taken for one. `doc.number` is not
/// printed.
pub fn draft_pdf(doc: &InvoiceDoc) -> Result<Vec<u8>, DocumentError> {
    let title = t("draft.title").to_string();
    let mut writer = Writer::new(&title, Orientation::Portrait)?;
    writer.set_running_head(Some(fill("document.continued", &[("title", &title)])));
    parties(&mut writer, doc);
    heading(&mut writer, doc, &title);
    writer.paragraph(Style::bold(9.5), t("draft.warning"));
    writer.gap(8.0);
    lines(&mut writer, doc);
    closing(&mut writer, doc);
    writer.finish_document(&identity(&doc.seller))?.save()
}

/// A document issued before migration 0008 was checked by the rules of its day: what it
/// printed is reprinted, not judged again.
fn check_legacy_mentions(doc: &InvoiceDoc) -> Result<(), DocumentError> {
    if doc.number.trim().is_empty() {
        return Err(DocumentError::MissingMention("document number"));
    }
    if doc.kind == DocKind::CreditNote && doc.credited.is_none() {
        return Err(DocumentError::MissingMention(
            "number and date of the invoice a credit note corrects",
        ));
    }
    Ok(())
}

fn title(doc: &InvoiceDoc) -> String {
    match doc.kind {
        DocKind::Invoice => fill("invoice.title", &[("number", &doc.number)]),
        DocKind::CreditNote => fill("credit_note.title", &[("number", &doc.number)]),
    }
}

/// Refuses a document missing a mention this layer can check (see the module docs).
pub(crate) fn check_mentions(doc: &InvoiceDoc) -> Result<(), DocumentError> {
    let missing = |text: &Option<String>| text.as_deref().is_none_or(|s| s.trim().is_empty());
    if doc.number.trim().is_empty() {
        return Err(DocumentError::MissingMention("document number"));
    }
    if !names_individual_entrepreneur(&doc.seller.name) {
        return Err(DocumentError::MissingMention("\"EI\" in the seller's name"));
    }
    if missing(&doc.seller.siren) {
        return Err(DocumentError::MissingMention("seller's SIREN"));
    }
    check_siren("seller.siren", doc.seller.siren.as_deref())?;
    if !postal(&doc.seller.address) {
        return Err(DocumentError::MissingMention("seller's address (postcode and city)"));
    }
    if doc.customer.name.trim().is_empty() {
        return Err(DocumentError::MissingMention("customer's name"));
    }
    if doc.customer.address.city.trim().is_empty() {
        return Err(DocumentError::MissingMention("customer's address"));
    }
    if doc.customer_is_business {
        if missing(&doc.customer.siren) {
            return Err(DocumentError::MissingMention("business customer's SIREN"));
        }
        check_siren("customer.siren", doc.customer.siren.as_deref())?;
        if !postal(&doc.customer.address) {
            return Err(DocumentError::MissingMention("business customer's postcode"));
        }
    }
    check_electronic_address("seller.electronic_address", &doc.seller)?;
    if doc.customer_is_business {
        check_electronic_address("customer.electronic_address", &doc.customer)?;
    }
    for (field, address) in [
        ("seller.address.country", Some(&doc.seller.address)),
        ("customer.address.country", Some(&doc.customer.address)),
        ("delivery_address.country", doc.delivery_address.as_ref()),
    ] {
        if let Some(address) = address {
            let country = address.country.trim();
            if !(country.is_empty() || (country.len() == 2 && country.chars().all(|c| c.is_ascii_alphabetic()))) {
                return Err(DocumentError::Invalid {
                    field,
                    message: format!("{country:?} n'est pas un code pays ISO 3166 (ex. FR)"),
                });
            }
        }
    }
    if doc.lines.is_empty() {
        return Err(DocumentError::MissingMention("at least one line"));
    }
    if let ServiceDate::Period { start, end } = doc.service_date {
        if end < start {
            return Err(DocumentError::Invalid {
                field: "service_date",
                message: "la période de la prestation finit avant de commencer".to_string(),
            });
        }
    }
    if doc.late_penalty_rate.is_sign_negative() {
        return Err(DocumentError::Invalid {
            field: "late_penalty_rate",
            message: "le taux des pénalités de retard ne peut pas être négatif".to_string(),
        });
    }
    match doc.kind {
        DocKind::Invoice => {
            if doc.due_date.is_none() {
                return Err(DocumentError::MissingMention("due date of an invoice"));
            }
            if doc.credited.is_some() {
                return Err(DocumentError::Invalid {
                    field: "credited",
                    message: "une facture ne corrige pas une autre facture : émettre un avoir".to_string(),
                });
            }
        }
        DocKind::CreditNote => {
            if doc.credited.is_none() {
                return Err(DocumentError::MissingMention(
                    "number and date of the invoice a credit note corrects",
                ));
            }
            if doc.due_date.is_some() {
                return Err(DocumentError::Invalid {
                    field: "due_date",
                    message: "un avoir n'a pas de date d'échéance".to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The French rules (BR-FR-21) route B2B e-invoices by the directory's addresses: scheme 0225,
/// a value that starts with the company's SIREN (alone, or followed by a suffix).
fn check_electronic_address(field: &'static str, party: &Party) -> Result<(), DocumentError> {
    let (Some(address), Some(siren)) = (&party.electronic_address, party.siren.as_deref()) else {
        return Ok(());
    };
    let siren = super::cii::digits_only(siren);
    if address.scheme.trim() == "0225" && address.value.trim().starts_with(&siren) {
        return Ok(());
    }
    Err(DocumentError::Invalid {
        field,
        message: format!(
            "l'adresse électronique d'une entreprise est celle de l'annuaire : schéma 0225, commençant par son SIREN {siren}"
        ),
    })
}

/// A postcode and a city.
fn postal(address: &PostalAddress) -> bool {
    !address.postcode.trim().is_empty() && !address.city.trim().is_empty()
}

/// 9 digits once spaces are removed.
fn check_siren(field: &'static str, siren: Option<&str>) -> Result<(), DocumentError> {
    match siren.map(super::cii::digits_only) {
        Some(digits) if digits.len() == 9 => Ok(()),
        Some(_) => Err(DocumentError::Invalid {
            field,
            message: "un SIREN compte 9 chiffres".to_string(),
        }),
        None => Ok(()),
    }
}

/// "Jeanne Martin EI", "EI Jeanne Martin" or "Jeanne Martin, entrepreneur individuel".
fn names_individual_entrepreneur(name: &str) -> bool {
    name.split(|c: char| !c.is_alphanumeric()).any(|word| word == "EI")
        || name.to_lowercase().contains("entrepreneur individuel")
}

/// Seller on the left, customer (and the delivery address) on the right.
fn parties(writer: &mut Writer, doc: &InvoiceDoc) {
    let half = writer.content_width() / 2.0;
    let top = writer.y();
    party(
        writer,
        writer.left(),
        half - 12.0,
        t("document.seller"),
        &doc.seller,
        true,
    );
    let after_seller = writer.y();
    writer.set_y(top);
    let show_siren = doc.customer_is_business;
    let x = writer.left() + half;
    party(writer, x, half, t("document.customer"), &doc.customer, show_siren);
    if let Some(delivery) = &doc.delivery_address {
        writer.gap(6.0);
        writer.block(x, half, Align::Left, LABEL, t("document.delivery_address"));
        writer.gap(2.0);
        for line in address_lines(delivery) {
            writer.block(x, half, Align::Left, BODY, &line);
        }
    }
    let bottom = writer.y().min(after_seller);
    writer.set_y(bottom);
    writer.gap(14.0);
}

fn party(writer: &mut Writer, x: f32, width: f32, label: &str, party: &Party, show_siren: bool) {
    writer.block(x, width, Align::Left, LABEL, label);
    writer.gap(2.0);
    writer.block(x, width, Align::Left, NAME, &party.name);
    for line in address_lines(&party.address) {
        writer.block(x, width, Align::Left, BODY, &line);
    }
    if let (true, Some(siren)) = (show_siren, &party.siren) {
        writer.block(x, width, Align::Left, BODY, &fill("common.siren", &[("siren", siren)]));
    }
    if let Some(email) = &party.email {
        writer.block(x, width, Align::Left, BODY, &fill("common.email", &[("email", email)]));
    }
    if let Some(address) = party.electronic_address.as_ref().filter(|a| a.scheme != "EM") {
        let shown = format!("{} ({})", address.value, address.scheme);
        writer.block(
            x,
            width,
            Align::Left,
            BODY,
            &fill("common.electronic_address", &[("address", &shown)]),
        );
    }
}

/// Title, dates, references, category; for a credit note the invoice it corrects.
fn heading(writer: &mut Writer, doc: &InvoiceDoc, title: &str) {
    writer.paragraph(TITLE, title);
    writer.gap(4.0);
    writer.paragraph(
        BODY,
        &fill("document.issue_date", &[("date", &date_fr(doc.issue_date))]),
    );
    if let (DocKind::Invoice, Some(due)) = (doc.kind, doc.due_date) {
        writer.paragraph(BODY, &fill("document.due_date", &[("date", &date_fr(due))]));
    }
    if doc.legacy.is_none() {
        service_and_category(writer, doc);
    } else if let Some(order) = doc.purchase_order.as_deref().filter(|o| !o.trim().is_empty()) {
        writer.paragraph(BODY, &fill("document.purchase_order", &[("number", order)]));
    }
    if let (DocKind::CreditNote, Some(credited)) = (doc.kind, &doc.credited) {
        writer.gap(4.0);
        writer.paragraph(
            Style::bold(9.5),
            &fill(
                "credit_note.cites",
                &[("number", &credited.number), ("date", &date_fr(credited.issue_date))],
            ),
        );
    }
    writer.gap(12.0);
}

/// The date of the sale or service, the purchase order and the category of the operation.
fn service_and_category(writer: &mut Writer, doc: &InvoiceDoc) {
    let service = match doc.service_date {
        ServiceDate::Day(day) => fill("document.service_date", &[("date", &date_fr(day))]),
        ServiceDate::Period { start, end } => fill(
            "document.service_period",
            &[("start", &date_fr(start)), ("end", &date_fr(end))],
        ),
    };
    writer.paragraph(BODY, &service);
    if let Some(order) = doc.purchase_order.as_deref().filter(|o| !o.trim().is_empty()) {
        writer.paragraph(BODY, &fill("document.purchase_order", &[("number", order)]));
    }
    writer.paragraph(
        BODY,
        &fill(
            "document.category",
            &[("category", OperationCategory::of(&doc.lines).label())],
        ),
    );
}

fn lines(writer: &mut Writer, doc: &InvoiceDoc) {
    let column = |key: &'static str, weight: f32, align: Align| Column {
        title: t(key).to_string(),
        weight,
        align,
        wrap: align == Align::Left,
    };
    writer.begin_table(vec![
        column("document.col.description", 42.0, Align::Left),
        column("document.col.nature", 11.0, Align::Left),
        column("document.col.quantity", 13.0, Align::Right),
        column("document.col.unit_price", 17.0, Align::Right),
        column("document.col.total", 17.0, Align::Right),
    ]);
    for line in &doc.lines {
        let cells = [
            line.description.clone(),
            line.nature.short_label().to_string(),
            match line.unit {
                Some(unit) => format!("{} {}", quantity_fr(line.quantity), unit.printed),
                None => quantity_fr(line.quantity),
            },
            line.unit_price.format_fr(),
            line.total.format_fr(),
        ];
        writer.row(&cells, CELL);
        writer.gap(3.0);
    }
    writer.end_table();
}

/// Total, VAT mention, then for an invoice its payment state, terms, transfer details and the
/// B2B late-payment mentions; for a credit note what became of its amount.
fn closing(writer: &mut Writer, doc: &InvoiceDoc) {
    let amount = doc.total.format_fr();
    let total = match doc.kind {
        DocKind::Invoice => fill("invoice.total", &[("amount", &amount)]),
        DocKind::CreditNote => fill("credit_note.total", &[("amount", &amount)]),
    };
    writer.ensure(TOTAL.leading() + 9.0 * BODY.leading());
    let (right, width) = (writer.right() - 3.0, writer.content_width());
    writer.block(right, width, Align::Right, TOTAL, &total);
    writer.gap(10.0);
    let vat_mention = match &doc.legacy {
        Some(legacy) => legacy.vat_mention.as_str(),
        None => doc.vat_regime.mention(),
    };
    writer.paragraph(BODY, vat_mention);
    match (&doc.kind, &doc.credited) {
        (DocKind::CreditNote, Some(credited)) => {
            let state = match &credited.settlement {
                CreditSettlement::Refunded { on, method } => {
                    fill("credit_note.refunded", &[("date", &date_fr(*on)), ("method", method)])
                }
                CreditSettlement::Credit => t("credit_note.credit").to_string(),
            };
            writer.paragraph(Style::bold(9.5), &state);
        }
        _ => invoice_terms(writer, doc),
    }
}

fn invoice_terms(writer: &mut Writer, doc: &InvoiceDoc) {
    if let Some(paid_on) = doc.paid_on {
        writer.paragraph(BODY, &fill("invoice.paid_on", &[("date", &date_fr(paid_on))]));
    }
    writer.gap(6.0);
    writer.paragraph(BODY, &fill("document.payment_terms", &[("terms", &doc.payment_terms)]));
    if let Some(account) = &doc.bank_account {
        let iban = iban_fr(&account.iban);
        let text = match account.bic.as_deref().filter(|b| !b.trim().is_empty()) {
            Some(bic) => fill("document.transfer_bic", &[("iban", &iban), ("bic", bic.trim())]),
            None => fill("document.transfer", &[("iban", &iban)]),
        };
        writer.paragraph(BODY, &text);
    }
    if doc.legacy.is_none() {
        let discount = match doc.discount_terms.as_deref().filter(|d| !d.trim().is_empty()) {
            Some(terms) => fill("document.discount", &[("terms", terms.trim())]),
            None => t("document.no_discount").to_string(),
        };
        writer.paragraph(BODY, &discount);
    }
    if doc.customer_is_business {
        let penalty = match &doc.legacy {
            Some(legacy) => fill("document.late_penalty_text", &[("rate", &legacy.late_penalty_rate)]),
            None => fill("document.late_penalty", &[("rate", &percent_fr(doc.late_penalty_rate))]),
        };
        writer.paragraph(BODY, &penalty);
        writer.paragraph(BODY, t("document.recovery_indemnity"));
    }
}

/// `FR76 3000 6000 0112 3456 7890 189`: groups of four, as printed on a RIB.
pub(crate) fn iban_fr(iban: &str) -> String {
    let compact: Vec<char> = iban.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .chunks(4)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2`, `1,5`, `0,25`: French decimal comma, no trailing zeros.
fn quantity_fr(quantity: Decimal) -> String {
    quantity.normalize().to_string().replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_french() {
        assert_eq!(quantity_fr(Decimal::new(150, 2)), "1,5");
        assert_eq!(quantity_fr(Decimal::new(2000, 3)), "2");
        assert_eq!(quantity_fr(Decimal::new(-25, 2)), "-0,25");
    }

    #[test]
    fn ibans_are_grouped_by_four() {
        assert_eq!(
            iban_fr("FR7630006000011234567890189"),
            "FR76 3000 6000 0112 3456 7890 189"
        );
        assert_eq!(iban_fr("FR76 3000 6000"), "FR76 3000 6000");
    }

    #[test]
    fn the_seller_must_name_an_individual_entrepreneur() {
        assert!(names_individual_entrepreneur("Jeanne Martin EI"));
        assert!(names_individual_entrepreneur("EI Jeanne Martin"));
        assert!(names_individual_entrepreneur("Jeanne Martin (EI)"));
        assert!(names_individual_entrepreneur("Jeanne Martin, Entrepreneur individuel"));
        assert!(!names_individual_entrepreneur("Jeanne Martin"));
        assert!(!names_individual_entrepreneur("Eiffel Conseil"));
    }
}
