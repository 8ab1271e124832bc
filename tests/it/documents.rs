//! Billing documents rendered for real and read back: PDFs through `pdftotext -layout`
//! (poppler-utils), the CSV parsed again.

use chrono::NaiveDate;
use comptoir::billing::documents::{
    invoice_pdf, revenue_book_csv, revenue_book_pdf, revenue_totals, CreditSettlement, Credited, DocKind, DocLine,
    DocumentError, InvoiceDoc, Nature, Party, Period, PostalAddress, RevenueBookDoc, RevenueLine, ServiceDate,
    VatRegime,
};
use comptoir::money::{Currency, Money};
use rust_decimal::Decimal;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

/// The text of a PDF, pages separated by form feeds, with runs of spaces
/// collapsed (the layout mode pads columns).
fn pdf_text(pdf: &[u8]) -> String {
    let text = crate::support::pdf::pdf_text(pdf);
    text.lines()
        .map(|line| line.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pages(text: &str) -> Vec<&str> {
    let mut pages: Vec<&str> = text.split('\x0c').collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
}

fn address(street: &str, postcode: &str, city: &str) -> PostalAddress {
    PostalAddress {
        lines: vec![street.to_string()],
        postcode: postcode.to_string(),
        city: city.to_string(),
        country: "FR".to_string(),
    }
}

fn party(name: &str, address: PostalAddress, siren: Option<&str>, email: Option<&str>) -> Party {
    Party {
        name: name.to_string(),
        address,
        siren: siren.map(String::from),
        email: email.map(String::from),
        electronic_address: None,
        vat_number: None,
    }
}

fn seller() -> Party {
    party(
        "Jeanne Martin EI",
        address("12 rue des Lilas", "75011", "Paris"),
        Some("123 456 789"),
        Some("jeanne@example.fr"),
    )
}

fn business_customer() -> Party {
    party(
        "Atelier Dupré SARL",
        address("5 avenue de l'Été", "69003", "Lyon"),
        Some("987 654 321"),
        None,
    )
}

fn doc_line(description: &str, quantity: Decimal, unit: i64) -> DocLine {
    let unit_price = eur(unit);
    let total = unit_price.times(quantity).expect("line total");
    DocLine {
        description: description.to_string(),
        nature: Nature::Services,
        quantity,
        unit: None,
        unit_price,
        total,
    }
}

/// A business invoice of 1 234,56 €: 1,5 × 600,00 € + 3 × 111,52 €.
fn invoice() -> InvoiceDoc {
    InvoiceDoc {
        kind: DocKind::Invoice,
        number: "F-2026-0042".to_string(),
        issue_date: date(2026, 11, 22),
        due_date: Some(date(2026, 12, 22)),
        seller: seller(),
        customer: business_customer(),
        customer_is_business: true,
        lines: vec![
            doc_line("Développement d'une application de caisse", Decimal::new(15, 1), 60_000),
            DocLine {
                nature: Nature::Goods,
                ..doc_line("Câble réseau blindé, 5 m", Decimal::new(3, 0), 11_152)
            },
        ],
        total: eur(123_456),
        service_date: ServiceDate::Day(date(2026, 11, 20)),
        purchase_order: None,
        delivery_address: None,
        vat_regime: VatRegime::Franchise,
        late_penalty_rate: Decimal::new(1000, 2),
        discount_terms: None,
        payment_terms: "virement à 30 jours".to_string(),
        bank_account: None,
        credited: None,
        paid_on: None,
        legacy: None,
    }
}

#[test]
fn a_business_invoice_carries_every_mandatory_mention() {
    let text = pdf_text(&invoice_pdf(&invoice()).expect("invoice PDF"));
    for mention in [
        "Jeanne Martin EI",
        "SIREN : 123 456 789",
        "12 rue des Lilas",
        "75011 Paris",
        "Atelier Dupré SARL",
        "5 avenue de l'Été",
        "69003 Lyon",
        "SIREN : 987 654 321",
        "Facture n° F-2026-0042",
        "Date d'émission : 22/11/2026",
        "Date d'échéance : 22/12/2026",
        "Désignation Nature Quantité Prix unitaire Montant",
        "Développement d'une application de caisse Service 1,5 600,00 € 900,00 €",
        "Câble réseau blindé, 5 m Bien 3 111,52 € 334,56 €",
        "Total à payer : 1 234,56 €",
        "TVA non applicable, art. 293 B du CGI",
        "Conditions de paiement : virement à 30 jours",
        "Pénalités de retard : 10,00 % l'an",
        "Pas d'escompte pour paiement anticipé",
        "Date de la vente ou de la prestation : 20/11/2026",
        "Catégorie de l'opération : Opération mixte",
        "Indemnité forfaitaire pour frais de recouvrement : 40 €",
        "page 1 / 1",
    ] {
        assert_has(&text, mention);
    }
    assert_eq!(pages(&text).len(), 1);
}

#[test]
fn a_consumer_invoice_has_no_b2b_late_payment_mentions() {
    let mut doc = invoice();
    doc.customer = party(
        "Léa Béranger",
        address("3 place du Marché", "13001", "Marseille"),
        None,
        Some("lea@example.fr"),
    );
    doc.customer_is_business = false;
    doc.paid_on = Some(date(2026, 11, 22));
    let text = pdf_text(&invoice_pdf(&doc).expect("invoice PDF"));
    assert_has(&text, "Léa Béranger");
    assert_has(&text, "13001 Marseille");
    assert_has(&text, "Total à payer : 1 234,56 €");
    assert_has(&text, "Facture acquittée le 22/11/2026");
    assert_has(&text, "SIREN : 123 456 789");
    for absent in ["Indemnité forfaitaire", "40 €", "Pénalités de retard", "987 654 321"] {
        assert!(!text.contains(absent), "{absent:?} printed for a consumer:\n{text}");
    }
}

#[test]
fn a_credit_note_cites_the_invoice_it_corrects() {
    let mut doc = invoice();
    doc.kind = DocKind::CreditNote;
    doc.number = "A-2026-0003".to_string();
    doc.issue_date = date(2026, 12, 1);
    doc.due_date = None;
    doc.lines.truncate(1);
    doc.total = eur(90_000);
    doc.credited = Some(Credited {
        number: "F-2026-0042".to_string(),
        issue_date: date(2026, 11, 22),
        settlement: CreditSettlement::Credit,
    });
    let text = pdf_text(&invoice_pdf(&doc).expect("credit note PDF"));
    assert_has(&text, "Facture d'avoir n° A-2026-0003");
    assert_has(&text, "la facture n° F-2026-0042 du 22/11/2026");
    assert_has(&text, "Total de l'avoir : 900,00 €");
    assert_has(&text, "Date d'émission : 01/12/2026");
    assert_has(&text, "À déduire de votre prochaine facture");
    for absent in [
        "Total à payer",
        "Date d'échéance",
        "Conditions de paiement",
        "Pénalités de retard",
    ] {
        assert!(!text.contains(absent), "{absent:?} printed on a credit note:\n{text}");
    }
}

#[test]
fn missing_mandatory_mentions_are_refused() {
    let refused = |doc: InvoiceDoc| matches!(invoice_pdf(&doc), Err(DocumentError::MissingMention(_)));
    let mut no_ei = invoice();
    no_ei.seller.name = "Jeanne Martin".to_string();
    assert!(refused(no_ei));
    let mut no_seller_siren = invoice();
    no_seller_siren.seller.siren = None;
    assert!(refused(no_seller_siren));
    let mut no_customer_siren = invoice();
    no_customer_siren.customer.siren = None;
    assert!(refused(no_customer_siren));
    let mut orphan_credit_note = invoice();
    orphan_credit_note.kind = DocKind::CreditNote;
    orphan_credit_note.due_date = None;
    assert!(refused(orphan_credit_note));
    let mut no_customer_postcode = invoice();
    no_customer_postcode.customer.address.postcode = String::new();
    assert!(refused(no_customer_postcode));
}

#[test]
fn a_long_invoice_paginates_with_its_table_header_on_every_page() {
    let mut doc = invoice();
    doc.lines = (1..=120)
        .map(|i| doc_line(&format!("Séance n° {i} de maintenance"), Decimal::ONE, 1_000))
        .collect();
    doc.total = eur(120_000);
    let text = pdf_text(&invoice_pdf(&doc).expect("long invoice PDF"));
    let pages = pages(&text);
    let count = pages.len();
    assert!(count > 1, "120 lines fit on one page?");
    for (i, page) in pages.iter().enumerate() {
        assert_has(page, "Désignation Nature Quantité Prix unitaire Montant");
        assert_has(page, &format!("page {} / {count}", i + 1));
    }
    assert_has(pages[1], "Facture n° F-2026-0042 (suite)");
    assert_has(pages[count - 1], "Séance n° 120 de maintenance");
    assert_has(pages[count - 1], "Total à payer : 1 200,00 €");
    assert_has(
        pages[count - 1],
        "Indemnité forfaitaire pour frais de recouvrement : 40 €",
    );
}

fn receipt(day: NaiveDate, client: &str, nature: Nature, minor: i64, method: &str, reference: &str) -> RevenueLine {
    RevenueLine {
        date: day,
        client: client.to_string(),
        nature,
        amount: eur(minor),
        method: method.to_string(),
        is_cash: method == "Espèces",
        reference: reference.to_string(),
    }
}

/// 3 goods receipts, 2 services receipts and 1 refund over two quarters; one cash payment.
fn small_book() -> Vec<RevenueLine> {
    vec![
        receipt(
            date(2026, 1, 10),
            "Léa Béranger",
            Nature::Goods,
            10_000,
            "Espèces",
            "F-2026-0001",
        ),
        receipt(
            date(2026, 2, 15),
            "Atelier Dupré SARL",
            Nature::Services,
            25_050,
            "Virement",
            "F-2026-0002",
        ),
        receipt(
            date(2026, 3, 31),
            "Marc Éloi",
            Nature::Goods,
            1_999,
            "Carte",
            "F-2026-0003",
        ),
        receipt(
            date(2026, 4, 1),
            "Café \"Le Zinc\"; Paris",
            Nature::Goods,
            100_000,
            "Chèque",
            "F-2026-0004",
        ),
        receipt(
            date(2026, 5, 20),
            "Atelier Dupré SARL",
            Nature::Services,
            30_000,
            "Prélèvement SEPA",
            "F-2026-0005",
        ),
        receipt(
            date(2026, 6, 2),
            "Marc Éloi",
            Nature::Goods,
            -1_999,
            "Carte",
            "A-2026-0001",
        ),
    ]
}

fn book(lines: Vec<RevenueLine>, period: &str) -> RevenueBookDoc {
    RevenueBookDoc {
        seller: seller(),
        title_period: period.to_string(),
        lines,
        seal: None,
    }
}

#[test]
fn revenue_totals_of_the_small_book_by_hand() {
    let totals = revenue_totals(&small_book());
    let q1 = totals
        .get(Period::Quarter { year: 2026, quarter: 1 }, Currency::EUR)
        .expect("Q1");
    assert_eq!(
        [q1.goods, q1.services, q1.cash, q1.other_methods, q1.total],
        [11_999, 25_050, 10_000, 27_049, 37_049].map(eur)
    );
    let q2 = totals
        .get(Period::Quarter { year: 2026, quarter: 2 }, Currency::EUR)
        .expect("Q2");
    assert_eq!(
        [q2.goods, q2.services, q2.cash, q2.other_methods, q2.total],
        [98_001, 30_000, 0, 128_001, 128_001].map(eur)
    );
    let year = totals.get(Period::Year(2026), Currency::EUR).expect("2026");
    assert_eq!(
        [year.goods, year.services, year.cash, year.other_methods, year.total],
        [110_000, 55_050, 10_000, 155_050, 165_050].map(eur)
    );
    assert_eq!(year.receipts, 6);
}

#[test]
fn the_revenue_book_pdf_lists_receipts_and_ends_with_the_totals() {
    let lines = small_book();
    let text = pdf_text(&revenue_book_pdf(&book(lines.clone(), "S1 2026")).expect("book PDF"));
    for expected in [
        "Livre des recettes",
        "Jeanne Martin EI",
        "SIREN : 123 456 789",
        "Période : S1 2026",
        "Date Client Nature Montant Mode de règlement Référence",
        "10/01/2026 Léa Béranger Vente de marchandises 100,00 € Espèces F-2026-0001",
        "15/02/2026 Atelier Dupré SARL Prestation de services 250,50 € Virement F-2026-0002",
        "01/04/2026 Café \"Le Zinc\"; Paris Vente de marchandises 1 000,00 € Chèque F-2026-0004",
        "02/06/2026 Marc Éloi Vente de marchandises -19,99 € Carte A-2026-0001",
        "Période Marchandises Services dont espèces Autres modes Total",
        "page 1 / 1",
    ] {
        assert_has(&text, expected);
    }
    // The totals, as computed by hand, in the order quarter 1, quarter 2, year.
    let totals_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("T1 2026") || l.starts_with("T2 2026") || l.starts_with("Année 2026"))
        .collect();
    assert_eq!(
        totals_lines,
        [
            "T1 2026 119,99 € 250,50 € 100,00 € 270,49 € 370,49 €",
            "T2 2026 980,01 € 300,00 € 0,00 € 1 280,01 € 1 280,01 €",
            "Année 2026 1 100,00 € 550,50 € 100,00 € 1 550,50 € 1 650,50 €",
        ]
    );
    // And they agree with revenue_totals.
    let year = revenue_totals(&lines)
        .get(Period::Year(2026), Currency::EUR)
        .map(|t| t.total.format_fr());
    assert_eq!(year.map(|s| s.replace('\u{a0}', " ")), Some("1 650,50 €".to_string()));
}

#[test]
fn a_2000_line_revenue_book_paginates_with_header_and_page_numbers() {
    let lines: Vec<RevenueLine> = (0..2000)
        .map(|i| {
            let day = date(2026, 1, 1) + chrono::Days::new(i / 6);
            let nature = if i % 3 == 0 { Nature::Goods } else { Nature::Services };
            let method = ["Espèces", "Carte", "Virement", "Chèque", "PayPal", "Prélèvement SEPA"][(i % 6) as usize];
            let minor = if i % 50 == 49 {
                -2_500
            } else {
                1_000 + (i as i64 % 97) * 13
            };
            receipt(
                day,
                &format!("Client n° {i}"),
                nature,
                minor,
                method,
                &format!("F-2026-{:04}", i + 1),
            )
        })
        .collect();
    let pdf = revenue_book_pdf(&book(lines.clone(), "Année 2026")).expect("book PDF");
    let text = pdf_text(&pdf);
    let pages = pages(&text);
    let count = pages.len();
    assert!(count > 20, "2000 lines on {count} pages");
    // Fonts subset: the whole book weighs less than one page did with the full faces.
    assert!(pdf.len() < 700 * 1024, "{count} pages weigh {} bytes", pdf.len());
    eprintln!("a 2000-line livre des recettes: {count} pages, {} bytes", pdf.len());
    assert_has(pages[0], &format!("page 1 / {count}"));
    assert_has(pages[count - 1], &format!("page {count} / {count}"));
    let is_row = |line: &str| line.len() > 10 && line.as_bytes()[2] == b'/' && line.as_bytes()[5] == b'/';
    for (i, page) in pages.iter().enumerate() {
        assert_has(page, &format!("page {} / {count}", i + 1));
        if page.lines().any(is_row) {
            assert_has(page, "Date Client Nature Montant Mode de règlement Référence");
        }
    }
    let rows = pages.iter().flat_map(|p| p.lines()).filter(|l| is_row(l)).count();
    assert_eq!(rows, 2000);
    assert_has(&text, "Client n° 1999");
    let year = revenue_totals(&lines)
        .get(Period::Year(2026), Currency::EUR)
        .copied()
        .expect("year");
    let last = pages[count - 1];
    let year_line = last
        .lines()
        .find(|l| l.starts_with("Année 2026"))
        .expect("year totals on the last page");
    assert_has(year_line, &year.total.format_fr().replace('\u{a0}', " "));
    assert_has(year_line, &year.cash.format_fr().replace('\u{a0}', " "));
}

/// A small RFC 4180 reader for `;`-separated, CRLF-ended records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ';') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR not followed by LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("bare LF line end"),
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "last record not CRLF-terminated");
    records
}

#[test]
fn the_revenue_book_csv_is_excel_friendly_and_parses_back() {
    let mut lines = small_book();
    lines.push(receipt(
        date(2026, 6, 30),
        "Ligne\r\ndouble",
        Nature::Services,
        1_234_567,
        "PayPal",
        "F-2026-0006",
    ));
    let bytes = revenue_book_csv(&lines);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(text.starts_with("Date;Client;Nature;Montant;Devise;Mode de règlement;Référence\r\n"));
    assert_eq!(
        text.matches("\r\n").count(),
        lines.len() + 2,
        "CRLF ends (one inside a quoted field)"
    );
    assert!(text.contains(
        "\r\n01/04/2026;\"Café \"\"Le Zinc\"\"; Paris\";Vente de marchandises;1000,00;EUR;Chèque;F-2026-0004\r\n"
    ));
    assert!(text.contains("\r\n02/06/2026;Marc Éloi;Vente de marchandises;-19,99;EUR;Carte;A-2026-0001\r\n"));
    assert!(text.contains(";12345,67;EUR;PayPal;"));

    let records = parse_csv(text);
    assert_eq!(records.len(), lines.len() + 1);
    assert_eq!(
        records[0],
        [
            "Date",
            "Client",
            "Nature",
            "Montant",
            "Devise",
            "Mode de règlement",
            "Référence"
        ]
    );
    for (record, line) in records[1..].iter().zip(&lines) {
        assert_eq!(record.len(), 7);
        assert_eq!(NaiveDate::parse_from_str(&record[0], "%d/%m/%Y").ok(), Some(line.date));
        assert_eq!(record[1], line.client);
        assert_eq!(record[2], line.nature.label());
        assert_eq!(Money::parse(&record[3], Currency::EUR).ok(), Some(line.amount));
        assert_eq!(record[4], "EUR");
        assert_eq!(record[5], line.method);
        assert_eq!(record[6], line.reference);
    }
    assert_eq!(records[4][2], "Vente de marchandises");
    assert_eq!(records[5][2], "Prestation de services");
}
