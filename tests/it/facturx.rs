//! Invoices and credit notes as Factur-X: every PDF produced here is checked by the vendored
//! validator (`scripts/facturx-check`: Factur-X XSD, EN 16931 Schematron, French CTC rules with
//! `--fr-ctc`, PDF/A-3 markers, embedded fonts) and read back with pdftotext for the mentions.

use chrono::NaiveDate;
use comptoir::billing::documents::{
    invoice_cii_xml, invoice_pdf, BankAccount, CreditSettlement, Credited, DocKind, DocLine, DocumentError,
    ElectronicAddress, InvoiceDoc, Nature, Party, PostalAddress, ServiceDate, VatRegime,
};
use comptoir::money::{Currency, Money};
use rust_decimal::Decimal;

use crate::support::pdf::{facturx_check, pdf_text};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

/// The PDF's text with runs of spaces collapsed (the layout mode pads columns).
fn text_of(pdf: &[u8]) -> String {
    pdf_text(pdf)
        .lines()
        .map(|line| line.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

fn assert_lacks(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(!text.contains(needle), "{needle:?} should not be printed:\n{text}");
    }
}

/// The validator must say PASS; its whole output is in the failure message otherwise.
/// With `FACTURX_KEEP_DIR` set, each checked PDF is also kept there, to look at.
fn assert_valid(pdf: &[u8], fr_ctc: bool) {
    if let Some(dir) = std::env::var_os("FACTURX_KEEP_DIR") {
        let name = format!(
            "{}.pdf",
            std::thread::current().name().unwrap_or("pdf").replace("::", "-")
        );
        std::fs::write(std::path::Path::new(&dir).join(name), pdf).expect("keep the PDF");
    }
    let verdict = facturx_check(pdf, "invoice.pdf", fr_ctc);
    assert!(
        verdict.pass,
        "facturx-check (fr_ctc: {fr_ctc}) says:\n{}",
        verdict.output
    );
}

fn address(lines: &[&str], postcode: &str, city: &str) -> PostalAddress {
    PostalAddress {
        lines: lines.iter().map(|l| l.to_string()).collect(),
        postcode: postcode.to_string(),
        city: city.to_string(),
        country: "FR".to_string(),
    }
}

fn seller() -> Party {
    Party {
        name: "Jeanne Martin EI".to_string(),
        address: address(&["12 rue des Lilas", "Bâtiment B"], "75011", "Paris"),
        siren: Some("732 829 320".to_string()),
        email: Some("jeanne@example.fr".to_string()),
        electronic_address: Some(ElectronicAddress {
            scheme: "0225".to_string(),
            value: "732829320".to_string(),
        }),
        vat_number: None,
    }
}

fn business_customer() -> Party {
    Party {
        name: "Atelier Dupré & Fils SARL".to_string(),
        address: address(&["5 avenue de l'Été"], "69003", "Lyon"),
        siren: Some("552 100 554".to_string()),
        email: None,
        electronic_address: Some(ElectronicAddress {
            scheme: "0225".to_string(),
            value: "552100554_FACTURES".to_string(),
        }),
        vat_number: None,
    }
}

fn consumer() -> Party {
    Party {
        name: "Léa Béranger".to_string(),
        address: address(&["3 place du Marché"], "13001", "Marseille"),
        siren: None,
        email: Some("lea@example.fr".to_string()),
        electronic_address: None,
        vat_number: None,
    }
}

fn line(description: &str, nature: Nature, quantity: Decimal, unit: i64) -> DocLine {
    let unit_price = eur(unit);
    DocLine {
        description: description.to_string(),
        nature,
        quantity,
        unit: None,
        unit_price,
        total: unit_price.times(quantity).expect("line total"),
    }
}

fn total(lines: &[DocLine]) -> Money {
    eur(lines.iter().map(|l| l.total.minor).sum())
}

/// A business invoice with a goods line and a services line: 1 234,56 €.
fn mixed_invoice() -> InvoiceDoc {
    let lines = vec![
        line("Théière en fonte émaillée", Nature::Goods, Decimal::from(2), 45_000),
        line(
            "Atelier de dégustation <thé & café>",
            Nature::Services,
            Decimal::new(15, 1),
            22_304,
        ),
    ];
    InvoiceDoc {
        kind: DocKind::Invoice,
        number: "F2026-0042".to_string(),
        issue_date: date(2026, 11, 22),
        due_date: Some(date(2026, 12, 22)),
        seller: seller(),
        customer: business_customer(),
        customer_is_business: true,
        total: total(&lines),
        lines,
        service_date: ServiceDate::Day(date(2026, 11, 20)),
        purchase_order: Some("BC-2026/117".to_string()),
        delivery_address: Some(address(&["Entrepôt Nord", "ZI des Mûriers"], "69120", "Vaulx-en-Velin")),
        vat_regime: VatRegime::Franchise,
        late_penalty_rate: Decimal::new(1000, 2),
        discount_terms: None,
        payment_terms: "Paiement à 30 jours à compter de la date d'émission".to_string(),
        bank_account: Some(BankAccount {
            iban: "FR76 3000 6000 0112 3456 7890 189".to_string(),
            bic: Some("AGRIFRPP".to_string()),
        }),
        credited: None,
        paid_on: None,
        legacy: None,
    }
}

fn credit_note(settlement: CreditSettlement, lines: Vec<DocLine>) -> InvoiceDoc {
    InvoiceDoc {
        kind: DocKind::CreditNote,
        number: "AV2026-0003".to_string(),
        issue_date: date(2026, 12, 2),
        due_date: None,
        total: total(&lines),
        lines,
        credited: Some(Credited {
            number: "F2026-0042".to_string(),
            issue_date: date(2026, 11, 22),
            settlement,
        }),
        purchase_order: None,
        delivery_address: None,
        ..mixed_invoice()
    }
}

#[test]
fn a_mixed_business_invoice_is_valid_factur_x_and_prints_every_mention() {
    let pdf = invoice_pdf(&mixed_invoice()).expect("invoice PDF");
    assert_valid(&pdf, true);
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Jeanne Martin EI",
            "12 rue des Lilas",
            "75011 Paris",
            "SIREN : 732 829 320",
            "Atelier Dupré & Fils SARL",
            "5 avenue de l'Été",
            "69003 Lyon",
            "SIREN : 552 100 554",
            "Facture n° F2026-0042",
            "Date d'émission : 22/11/2026",
            "Date d'échéance : 22/12/2026",
            "Date de la vente ou de la prestation : 20/11/2026",
            "Bon de commande n° BC-2026/117",
            "Catégorie de l'opération : Opération mixte",
            "Adresse de livraison",
            "Entrepôt Nord",
            "69120 Vaulx-en-Velin",
            "Théière en fonte émaillée Bien 2 450,00 € 900,00 €",
            "Atelier de dégustation <thé & café> Service 1,5 223,04 € 334,56 €",
            "Total à payer : 1 234,56 €",
            "TVA non applicable, art. 293 B du CGI",
            "Conditions de paiement : Paiement à 30 jours à compter de la date d'émission",
            "IBAN FR76 3000 6000 0112 3456 7890 189 – BIC AGRIFRPP",
            "Pas d'escompte pour paiement anticipé",
            "Pénalités de retard : 10,00 % l'an",
            "Indemnité forfaitaire pour frais de recouvrement : 40 €",
            "page 1 / 1",
        ],
    );
    assert_eq!(text.matches('\x0c').count(), 1, "one page:\n{text}");
    eprintln!("a one-page Factur-X invoice: {} bytes", pdf.len());
    assert!(
        pdf.len() < 100 * 1024,
        "a one-page invoice weighs {} bytes (fonts not subset?)",
        pdf.len()
    );
}

#[test]
fn goods_only_and_services_only_invoices_are_valid_with_their_category() {
    let mut goods = mixed_invoice();
    goods.lines = vec![line("Câble réseau blindé, 5 m", Nature::Goods, Decimal::from(3), 1_152)];
    goods.total = total(&goods.lines);
    goods.delivery_address = None;
    goods.purchase_order = None;
    goods.bank_account = None;
    goods.discount_terms = Some("2 % pour paiement sous 8 jours".to_string());
    goods.paid_on = Some(date(2026, 11, 25));
    let pdf = invoice_pdf(&goods).expect("goods invoice PDF");
    assert_valid(&pdf, true);
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Catégorie de l'opération : Livraison de biens",
            "Escompte pour paiement anticipé : 2 % pour paiement sous 8 jours",
            "Facture acquittée le 25/11/2026",
        ],
    );
    let xml = String::from_utf8(invoice_cii_xml(&goods).expect("CII")).expect("UTF-8");
    assert_has(
        &xml,
        &[
            "<ram:ID>B1</ram:ID>",
            "<ram:TotalPrepaidAmount>34.56</ram:TotalPrepaidAmount>",
            "<ram:DuePayableAmount>0.00</ram:DuePayableAmount>",
        ],
    );
    assert_lacks(
        &text,
        &["Adresse de livraison", "Bon de commande", "IBAN", "Pas d'escompte"],
    );

    let mut services = mixed_invoice();
    services.lines = vec![line("Maintenance mensuelle", Nature::Services, Decimal::ONE, 30_000)];
    services.total = total(&services.lines);
    services.service_date = ServiceDate::Period {
        start: date(2026, 11, 1),
        end: date(2026, 11, 30),
    };
    services.late_penalty_rate = Decimal::new(1215, 2);
    let pdf = invoice_pdf(&services).expect("services invoice PDF");
    assert_valid(&pdf, true);
    let xml = String::from_utf8(invoice_cii_xml(&services).expect("CII")).expect("UTF-8");
    assert_has(
        &xml,
        &[
            "<ram:ID>S1</ram:ID>",
            "<ram:BillingSpecifiedPeriod>",
            "<udt:DateTimeString format=\"102\">20261130</udt:DateTimeString>",
        ],
    );
    assert_lacks(&xml, &["ActualDeliverySupplyChainEvent"]);
    assert_has(
        &text_of(&pdf),
        &[
            "Catégorie de l'opération : Prestation de services",
            "Période de la prestation : du 01/11/2026 au 30/11/2026",
            "Pénalités de retard : 12,15 % l'an",
        ],
    );
}

#[test]
fn a_several_page_invoice_is_valid_factur_x() {
    let mut doc = mixed_invoice();
    doc.lines = (1..=90)
        .map(|i| {
            let nature = if i % 3 == 0 { Nature::Goods } else { Nature::Services };
            line(
                &format!("Séance n° {i} de maintenance"),
                nature,
                Decimal::ONE,
                1_000 + i,
            )
        })
        .collect();
    doc.total = total(&doc.lines);
    let pdf = invoice_pdf(&doc).expect("long invoice PDF");
    assert_valid(&pdf, true);
    let text = text_of(&pdf);
    let pages = text.matches('\x0c').count();
    assert!(pages > 1, "90 lines on {pages} page(s)");
    assert_has(
        &text,
        &[
            "Séance n° 90 de maintenance",
            &format!("page {pages} / {pages}"),
            "Indemnité forfaitaire pour frais de recouvrement : 40 €",
        ],
    );
}

/// What no credit note prints: it is not to be paid.
const NOT_ON_A_CREDIT_NOTE: [&str; 6] = [
    "Date d'échéance",
    "Conditions de paiement",
    "Pénalités de retard",
    "Indemnité forfaitaire",
    "Total à payer",
    "IBAN",
];

#[test]
fn a_partial_credit_note_to_deduct_is_valid_and_reads_as_a_credit_note() {
    let doc = credit_note(
        CreditSettlement::Credit,
        vec![line(
            "Atelier de dégustation annulé",
            Nature::Services,
            Decimal::ONE,
            33_456,
        )],
    );
    let pdf = invoice_pdf(&doc).expect("credit note PDF");
    assert_valid(&pdf, true);
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Facture d'avoir n° AV2026-0003",
            "Avoir portant sur la facture n° F2026-0042 du 22/11/2026",
            "Date d'émission : 02/12/2026",
            "Total de l'avoir : 334,56 €",
            "TVA non applicable, art. 293 B du CGI",
            "À déduire de votre prochaine facture",
            "SIREN : 552 100 554",
        ],
    );
    assert_lacks(&text, &NOT_ON_A_CREDIT_NOTE);
}

#[test]
fn a_full_refunded_credit_note_is_valid_and_says_when_and_how_it_was_refunded() {
    let invoice = mixed_invoice();
    let doc = credit_note(
        CreditSettlement::Refunded {
            on: date(2027, 3, 12),
            method: "virement".to_string(),
        },
        invoice.lines.clone(),
    );
    assert_eq!(doc.total, invoice.total);
    let pdf = invoice_pdf(&doc).expect("credit note PDF");
    assert_valid(&pdf, true);
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Total de l'avoir : 1 234,56 €",
            "Avoir remboursé le 12/03/2027, par virement",
            "Avoir portant sur la facture n° F2026-0042 du 22/11/2026",
            "Catégorie de l'opération : Opération mixte",
        ],
    );
    assert_lacks(&text, &NOT_ON_A_CREDIT_NOTE);
    assert_lacks(&text, &["À déduire"]);

    let xml = String::from_utf8(invoice_cii_xml(&doc).expect("CII")).expect("UTF-8");
    assert_has(
        &xml,
        &[
            "<ram:TypeCode>381</ram:TypeCode>",
            "<ram:IssuerAssignedID>F2026-0042</ram:IssuerAssignedID>",
            "<qdt:DateTimeString format=\"102\">20261122</qdt:DateTimeString>",
            "<ram:GrandTotalAmount>1234.56</ram:GrandTotalAmount>",
        ],
    );
    assert_lacks(&xml, &["DueDateDateTime", "-1234.56"]);
}

#[test]
fn a_consumer_invoice_is_valid_factur_x_without_the_b2b_mentions() {
    let mut doc = mixed_invoice();
    doc.customer = consumer();
    doc.customer_is_business = false;
    doc.delivery_address = None;
    doc.purchase_order = None;
    doc.paid_on = Some(date(2026, 11, 22));
    let pdf = invoice_pdf(&doc).expect("consumer invoice PDF");
    assert_valid(&pdf, false);
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Léa Béranger",
            "13001 Marseille",
            "Facture acquittée le 22/11/2026",
            "Pas d'escompte pour paiement anticipé",
            "TVA non applicable, art. 293 B du CGI",
        ],
    );
    assert_lacks(&text, &["Pénalités de retard", "Indemnité forfaitaire", "40 €"]);

    let refund = InvoiceDoc {
        customer: consumer(),
        customer_is_business: false,
        ..credit_note(
            CreditSettlement::Refunded {
                on: date(2026, 12, 3),
                method: "carte bancaire".to_string(),
            },
            vec![line("Théière en fonte émaillée", Nature::Goods, Decimal::ONE, 45_000)],
        )
    };
    let pdf = invoice_pdf(&refund).expect("consumer credit note PDF");
    assert_valid(&pdf, false);
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Avoir remboursé le 03/12/2026, par carte bancaire",
            "Total de l'avoir : 450,00 €",
        ],
    );
    assert_lacks(&text, &NOT_ON_A_CREDIT_NOTE);
}

#[test]
fn the_cii_xml_alone_is_valid_and_carries_the_french_notes() {
    let bytes = invoice_cii_xml(&mixed_invoice()).expect("CII");
    let verdict = facturx_check(&bytes, "factur-x.xml", true);
    assert!(verdict.pass, "facturx-check says:\n{}", verdict.output);
    let xml = String::from_utf8(bytes).expect("UTF-8");
    assert_has(
        &xml,
        &[
            "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>",
            "<ram:ID>M1</ram:ID>",
            "<ram:TypeCode>380</ram:TypeCode>",
            "<ram:SubjectCode>PMD</ram:SubjectCode>",
            "<ram:SubjectCode>PMT</ram:SubjectCode>",
            "<ram:SubjectCode>AAB</ram:SubjectCode>",
            "<ram:ID schemeID=\"0002\">732829320</ram:ID>",
            "<ram:ID schemeID=\"0002\">552100554</ram:ID>",
            "<ram:URIID schemeID=\"0225\">732829320</ram:URIID>",
            "<ram:URIID schemeID=\"0225\">552100554_FACTURES</ram:URIID>",
            "<ram:CategoryCode>E</ram:CategoryCode>",
            "<ram:ExemptionReasonCode>VATEX-FR-FRANCHISE</ram:ExemptionReasonCode>",
            "<ram:IBANID>FR7630006000011234567890189</ram:IBANID>",
            "<ram:IssuerAssignedID>BC-2026/117</ram:IssuerAssignedID>",
            "<ram:CityName>Vaulx-en-Velin</ram:CityName>",
            "<udt:DateTimeString format=\"102\">20261222</udt:DateTimeString>",
            "Atelier de dégustation &lt;thé &amp; café&gt;",
        ],
    );
}

#[test]
fn the_validator_fails_a_pdf_without_factur_x() {
    // The livre de recettes is a plain PDF: the check must say FAIL, or it proves nothing.
    let book = comptoir::billing::documents::revenue_book_pdf(&comptoir::billing::documents::RevenueBookDoc {
        seller: seller(),
        title_period: "Année 2026".to_string(),
        lines: Vec::new(),
        seal: None,
    })
    .expect("book PDF");
    let verdict = facturx_check(&book, "book.pdf", true);
    assert!(!verdict.pass, "a PDF without XML passed:\n{}", verdict.output);
    assert!(verdict.output.contains("PDF-EMBED"), "{}", verdict.output);
}

#[test]
fn documents_the_law_forbids_are_refused() {
    let mut due_credit = credit_note(CreditSettlement::Credit, mixed_invoice().lines);
    due_credit.due_date = Some(date(2026, 12, 30));
    assert!(matches!(
        invoice_pdf(&due_credit),
        Err(DocumentError::Invalid { field: "due_date", .. })
    ));

    let mut no_postcode = mixed_invoice();
    no_postcode.customer.address.postcode = String::new();
    assert!(matches!(
        invoice_pdf(&no_postcode),
        Err(DocumentError::MissingMention(_))
    ));

    let mut bad_siren = mixed_invoice();
    bad_siren.customer.siren = Some("55210055".to_string());
    assert!(matches!(
        invoice_cii_xml(&bad_siren),
        Err(DocumentError::Invalid {
            field: "customer.siren",
            ..
        })
    ));

    let mut email_address = mixed_invoice();
    email_address.customer.electronic_address = Some(ElectronicAddress {
        scheme: "EM".to_string(),
        value: "factures@dupre.example".to_string(),
    });
    assert!(matches!(
        invoice_pdf(&email_address),
        Err(DocumentError::Invalid {
            field: "customer.electronic_address",
            ..
        })
    ));

    let mut wrong_total = mixed_invoice();
    wrong_total.total = eur(1);
    assert!(matches!(
        invoice_cii_xml(&wrong_total),
        Err(DocumentError::Invalid { field: "total", .. })
    ));

    let mut undated_invoice = mixed_invoice();
    undated_invoice.due_date = None;
    assert!(matches!(
        invoice_pdf(&undated_invoice),
        Err(DocumentError::MissingMention(_))
    ));
}

/// The monthly run nets a refund on a contract as a credit line (a negative unit price).
/// EN 16931 wants a line's net price positive (BR-27), so the XML carries it as a negative
/// quantity at a positive price, and the invoice stays valid.
#[test]
fn a_credit_line_is_written_as_a_negative_quantity_and_stays_valid() {
    let mut doc = mixed_invoice();
    doc.lines.push(line(
        "Remboursement : atelier annulé",
        Nature::Services,
        Decimal::ONE,
        -5_000,
    ));
    doc.total = total(&doc.lines);
    let xml = String::from_utf8(invoice_cii_xml(&doc).expect("XML")).unwrap();
    assert!(xml.contains(">-1</ram:BilledQuantity>"), "{xml}");
    assert!(xml.contains("<ram:ChargeAmount>50.00</ram:ChargeAmount>"), "{xml}");
    assert!(
        xml.contains("<ram:LineTotalAmount>-50.00</ram:LineTotalAmount>"),
        "{xml}"
    );
    let pdf = invoice_pdf(&doc).expect("PDF");
    assert_valid(&pdf, true);
    assert_has(&text_of(&pdf), &["-50,00 €", "1 184,56 €"]);
}
