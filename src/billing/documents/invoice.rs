//! The invoice and credit-note (facture d'avoir) PDF, A4 portrait, with every mandatory mention
//! of a micro-entrepreneur's invoice.

use rust_decimal::Decimal;

use super::pdf::{Align, Column, Orientation, Style, Writer};
use super::wording::{fill, t};
use super::{date_fr, identity, DocKind, DocumentError, InvoiceDoc, Party};

const LABEL: Style = Style::bold(8.0);
const NAME: Style = Style::bold(11.0);
const BODY: Style = Style::regular(9.5);
const TITLE: Style = Style::bold(16.0);
const TOTAL: Style = Style::bold(12.0);
const CELL: Style = Style::regular(9.0);

/// Renders `doc`; refuses it when a mandatory mention is missing.
pub fn invoice_pdf(doc: &InvoiceDoc) -> Result<Vec<u8>, DocumentError> {
    check_mentions(doc)?;
    let title = match doc.kind {
        DocKind::Invoice => fill("invoice.title", &[("number", &doc.number)]),
        DocKind::CreditNote => fill("credit_note.title", &[("number", &doc.number)]),
    };
    let mut writer = Writer::new(&title, Orientation::Portrait)?;
    writer.set_running_head(Some(fill("document.continued", &[("title", &title)])));
    parties(&mut writer, doc);
    heading(&mut writer, doc, &title);
    lines(&mut writer, doc);
    closing(&mut writer, doc);
    writer.finish(&identity(&doc.seller))
}

/// Refuses a document missing a mention this layer can check (see the module docs).
fn check_mentions(doc: &InvoiceDoc) -> Result<(), DocumentError> {
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
    if doc.seller.address_lines.is_empty() {
        return Err(DocumentError::MissingMention("seller's address"));
    }
    if doc.customer.name.trim().is_empty() || doc.customer.address_lines.is_empty() {
        return Err(DocumentError::MissingMention("customer's name and address"));
    }
    if doc.customer_is_business && missing(&doc.customer.siren) {
        return Err(DocumentError::MissingMention("business customer's SIREN"));
    }
    if doc.kind == DocKind::CreditNote && doc.credited.is_none() {
        return Err(DocumentError::MissingMention(
            "number and date of the invoice a credit note corrects",
        ));
    }
    Ok(())
}

/// "Jeanne Martin EI", "EI Jeanne Martin" or "Jeanne Martin, entrepreneur individuel".
fn names_individual_entrepreneur(name: &str) -> bool {
    name.split(|c: char| !c.is_alphanumeric()).any(|word| word == "EI")
        || name.to_lowercase().contains("entrepreneur individuel")
}

/// Seller on the left, customer on the right.
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
    party(
        writer,
        writer.left() + half,
        half,
        t("document.customer"),
        &doc.customer,
        show_siren,
    );
    let bottom = writer.y().min(after_seller);
    writer.set_y(bottom);
    writer.gap(14.0);
}

fn party(writer: &mut Writer, x: f32, width: f32, label: &str, party: &Party, show_siren: bool) {
    writer.block(x, width, Align::Left, LABEL, label);
    writer.gap(2.0);
    writer.block(x, width, Align::Left, NAME, &party.name);
    for line in &party.address_lines {
        writer.block(x, width, Align::Left, BODY, line);
    }
    if let (true, Some(siren)) = (show_siren, &party.siren) {
        writer.block(x, width, Align::Left, BODY, &fill("common.siren", &[("siren", siren)]));
    }
    if let Some(email) = &party.email {
        writer.block(x, width, Align::Left, BODY, &fill("common.email", &[("email", email)]));
    }
}

/// Title, dates, and for a credit note the invoice it corrects.
fn heading(writer: &mut Writer, doc: &InvoiceDoc, title: &str) {
    writer.paragraph(TITLE, title);
    writer.gap(4.0);
    writer.paragraph(
        BODY,
        &fill("document.issue_date", &[("date", &date_fr(doc.issue_date))]),
    );
    writer.paragraph(BODY, &fill("document.due_date", &[("date", &date_fr(doc.due_date))]));
    if let (DocKind::CreditNote, Some((number, date))) = (doc.kind, &doc.credited) {
        writer.gap(4.0);
        writer.paragraph(
            Style::bold(9.5),
            &fill("credit_note.cites", &[("number", number), ("date", &date_fr(*date))]),
        );
    }
    writer.gap(12.0);
}

fn lines(writer: &mut Writer, doc: &InvoiceDoc) {
    let column = |key: &'static str, weight: f32, align: Align| Column {
        title: t(key).to_string(),
        weight,
        align,
        wrap: align == Align::Left,
    };
    writer.begin_table(vec![
        column("document.col.description", 52.0, Align::Left),
        column("document.col.quantity", 12.0, Align::Right),
        column("document.col.unit_price", 18.0, Align::Right),
        column("document.col.total", 18.0, Align::Right),
    ]);
    for line in &doc.lines {
        let cells = [
            line.description.clone(),
            quantity_fr(line.quantity),
            line.unit_price.format_fr(),
            line.total.format_fr(),
        ];
        writer.row(&cells, CELL);
        writer.gap(3.0);
    }
    writer.end_table();
}

/// Total, VAT mention, payment state and terms, and the B2B late-payment mentions.
fn closing(writer: &mut Writer, doc: &InvoiceDoc) {
    let amount = doc.total.format_fr();
    let total = match doc.kind {
        DocKind::Invoice => fill("invoice.total", &[("amount", &amount)]),
        DocKind::CreditNote => fill("credit_note.total", &[("amount", &amount)]),
    };
    writer.ensure(TOTAL.leading() + 6.0 * BODY.leading());
    let (right, width) = (writer.right() - 3.0, writer.content_width());
    writer.block(right, width, Align::Right, TOTAL, &total);
    writer.gap(10.0);
    writer.paragraph(BODY, &doc.vat_mention);
    if let Some(paid_on) = doc.paid_on {
        let key = match doc.kind {
            DocKind::Invoice => "invoice.paid_on",
            DocKind::CreditNote => "credit_note.paid_on",
        };
        writer.paragraph(BODY, &fill(key, &[("date", &date_fr(paid_on))]));
    }
    writer.gap(6.0);
    writer.paragraph(BODY, &fill("document.payment_terms", &[("terms", &doc.payment_terms)]));
    if doc.customer_is_business {
        writer.paragraph(
            BODY,
            &fill("document.late_penalty", &[("rate", &doc.late_penalty_rate)]),
        );
        writer.paragraph(BODY, t("document.recovery_indemnity"));
    }
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
    fn the_seller_must_name_an_individual_entrepreneur() {
        assert!(names_individual_entrepreneur("Jeanne Martin EI"));
        assert!(names_individual_entrepreneur("EI Jeanne Martin"));
        assert!(names_individual_entrepreneur("Jeanne Martin (EI)"));
        assert!(names_individual_entrepreneur("Jeanne Martin, Entrepreneur individuel"));
        assert!(!names_individual_entrepreneur("Jeanne Martin"));
        assert!(!names_individual_entrepreneur("Eiffel Conseil"));
    }
}
