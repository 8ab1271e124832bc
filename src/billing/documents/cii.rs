//! The invoice or credit note as UN/CEFACT Cross Industry Invoice (CII D16B) XML, Factur-X
//! profile EN 16931 (`urn:cen.eu:en16931:2017`), with the French CTC (flux 2) rules: SIREN as
//! legal registration (scheme 0002), electronic addresses (BT-34/BT-49), billing mode (BT-23:
//! B1 goods, S1 services, M1 mixed) and the notes with subject codes that French invoices must
//! carry (PMD late-payment penalties, PMT recovery indemnity, AAB discount, BAR B2B/B2C).
//!
//! The VAT franchise (art. 293 B du CGI) is category E, rate 0, exemption reason
//! "TVA non applicable, art. 293 B du CGI" with code VATEX-FR-FRANCHISE.
//!
//! Amounts of a credit note (type 381) are positive: the type says it is a credit. A credit
//! note has no due date; its settlement (refunded, or to deduct) is its payment terms (BT-20).

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use rust_decimal::Decimal;

use super::invoice::check_mentions;
use super::wording::{fill, t};
use super::{
    date_fr, percent_fr, BankAccount, CreditSettlement, DocKind, DocumentError, InvoiceDoc, Nature, OperationCategory,
    Party, PostalAddress, ServiceDate, VatRegime,
};
use crate::money::Money;

const RSM: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const RAM: &str = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const QDT: &str = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100";
const UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";
/// The Factur-X EN 16931 (ex-COMFORT) profile.
pub(crate) const GUIDELINE: &str = "urn:cen.eu:en16931:2017";

/// The CII XML of `doc` (UTF-8), as embedded in its Factur-X PDF as `factur-x.xml`.
pub fn invoice_cii_xml(doc: &InvoiceDoc) -> Result<Vec<u8>, DocumentError> {
    check_mentions(doc)?;
    let sum = line_total(doc)?;
    if sum != doc.total {
        return Err(DocumentError::Invalid {
            field: "total",
            message: format!(
                "le total {} n'est pas la somme des lignes {}",
                doc.total.format_fr(),
                sum.format_fr()
            ),
        });
    }
    let mut x = Xml::new();
    x.declaration();
    x.open_with(
        "rsm:CrossIndustryInvoice",
        &[
            ("xmlns:rsm", RSM),
            ("xmlns:qdt", QDT),
            ("xmlns:ram", RAM),
            ("xmlns:udt", UDT),
        ],
    );
    context(&mut x, doc);
    header(&mut x, doc);
    x.open("rsm:SupplyChainTradeTransaction");
    for (index, line) in doc.lines.iter().enumerate() {
        // A credit line (a refund netted by the monthly run) has a negative unit price; the
        // net price may not be negative (BR-27): a negative quantity at a positive price.
        let (price, billed) = match line.unit_price.minor < 0 {
            true => (
                Money::new(-line.unit_price.minor, line.unit_price.currency),
                -line.quantity,
            ),
            false => (line.unit_price, line.quantity),
        };
        x.open("ram:IncludedSupplyChainTradeLineItem");
        x.open("ram:AssociatedDocumentLineDocument");
        x.leaf("ram:LineID", &(index + 1).to_string());
        x.close("ram:AssociatedDocumentLineDocument");
        x.open("ram:SpecifiedTradeProduct");
        x.leaf("ram:Name", &one_line(&line.description));
        x.close("ram:SpecifiedTradeProduct");
        x.open("ram:SpecifiedLineTradeAgreement");
        x.open("ram:NetPriceProductTradePrice");
        x.leaf("ram:ChargeAmount", &amount(price));
        x.close("ram:NetPriceProductTradePrice");
        x.close("ram:SpecifiedLineTradeAgreement");
        x.open("ram:SpecifiedLineTradeDelivery");
        x.leaf_with(
            "ram:BilledQuantity",
            &[("unitCode", line.unit.map_or(unit_code(line.nature), |u| u.code))],
            &quantity(billed)?,
        );
        x.close("ram:SpecifiedLineTradeDelivery");
        x.open("ram:SpecifiedLineTradeSettlement");
        x.open("ram:ApplicableTradeTax");
        x.leaf("ram:TypeCode", "VAT");
        x.leaf("ram:CategoryCode", vat_category(doc.vat_regime));
        x.leaf("ram:RateApplicablePercent", "0");
        x.close("ram:ApplicableTradeTax");
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.leaf("ram:LineTotalAmount", &amount(line.total));
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation");
        x.close("ram:SpecifiedLineTradeSettlement");
        x.close("ram:IncludedSupplyChainTradeLineItem");
    }
    agreement(&mut x, doc);
    delivery(&mut x, doc);
    settlement(&mut x, doc);
    x.close("rsm:SupplyChainTradeTransaction");
    x.close("rsm:CrossIndustryInvoice");
    x.finish()
}

/// BT-23 (billing mode, French CTC) and BT-24 (the profile).
fn context(x: &mut Xml, doc: &InvoiceDoc) {
    let mode = match OperationCategory::of(&doc.lines) {
        OperationCategory::Goods => "B1",
        OperationCategory::Services => "S1",
        OperationCategory::Mixed => "M1",
    };
    x.open("rsm:ExchangedDocumentContext");
    x.open("ram:BusinessProcessSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", mode);
    x.close("ram:BusinessProcessSpecifiedDocumentContextParameter");
    x.open("ram:GuidelineSpecifiedDocumentContextParameter");
    x.leaf("ram:ID", GUIDELINE);
    x.close("ram:GuidelineSpecifiedDocumentContextParameter");
    x.close("rsm:ExchangedDocumentContext");
}

/// BT-1, BT-3, BT-2 and the notes (BG-1).
fn header(x: &mut Xml, doc: &InvoiceDoc) {
    x.open("rsm:ExchangedDocument");
    x.leaf("ram:ID", doc.number.trim());
    x.leaf(
        "ram:TypeCode",
        match doc.kind {
            DocKind::Invoice => "380",
            DocKind::CreditNote => "381",
        },
    );
    x.open("ram:IssueDateTime");
    x.leaf_with("udt:DateTimeString", &[("format", "102")], &ymd(doc.issue_date));
    x.close("ram:IssueDateTime");
    for (subject, content) in notes(doc) {
        x.open("ram:IncludedNote");
        x.leaf("ram:Content", &content);
        x.leaf("ram:SubjectCode", subject);
        x.close("ram:IncludedNote");
    }
    x.close("rsm:ExchangedDocument");
}

/// The legal mentions as notes with their UNTDID 4451 subject codes. A credit note prints no
/// late-payment mention (nothing is due from the customer), but the French rules want the
/// PMD/PMT notes on every B2B document: they say so.
fn notes(doc: &InvoiceDoc) -> Vec<(&'static str, String)> {
    let mut notes = Vec::new();
    let discount = match doc.discount_terms.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(terms) => fill("document.discount", &[("terms", terms.trim())]),
        None => t("document.no_discount").to_string(),
    };
    if doc.customer_is_business {
        match doc.kind {
            DocKind::Invoice => {
                notes.push((
                    "PMD",
                    fill("document.late_penalty", &[("rate", &percent_fr(doc.late_penalty_rate))]),
                ));
                notes.push(("PMT", t("document.recovery_indemnity").to_string()));
            }
            DocKind::CreditNote => {
                notes.push(("PMD", t("credit_note.no_penalty").to_string()));
                notes.push(("PMT", t("credit_note.no_penalty").to_string()));
            }
        }
    }
    notes.push(("AAB", discount));
    notes.push(("BAR", if doc.customer_is_business { "B2B" } else { "B2C" }.to_string()));
    notes
}

/// Seller (BG-4), buyer (BG-7) and the purchase order (BT-13).
fn agreement(x: &mut Xml, doc: &InvoiceDoc) {
    x.open("ram:ApplicableHeaderTradeAgreement");
    party(x, "ram:SellerTradeParty", &doc.seller, true);
    party(x, "ram:BuyerTradeParty", &doc.customer, doc.customer_is_business);
    if let Some(order) = doc.purchase_order.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        x.open("ram:BuyerOrderReferencedDocument");
        x.leaf("ram:IssuerAssignedID", order);
        x.close("ram:BuyerOrderReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeAgreement");
}

fn party(x: &mut Xml, element: &'static str, party: &Party, business: bool) {
    let siren = party
        .siren
        .as_deref()
        .map(digits_only)
        .filter(|s| business && s.len() == 9);
    x.open(element);
    x.leaf("ram:Name", &one_line(&party.name));
    if let Some(siren) = &siren {
        x.open("ram:SpecifiedLegalOrganization");
        x.leaf_with("ram:ID", &[("schemeID", "0002")], siren);
        x.close("ram:SpecifiedLegalOrganization");
    }
    postal_address(x, &party.address);
    let electronic = match (&party.electronic_address, &siren, &party.email) {
        (Some(address), _, _) => Some((address.scheme.trim().to_string(), address.value.trim().to_string())),
        (None, Some(siren), _) => Some(("0225".to_string(), siren.clone())),
        (None, None, Some(email)) if !email.trim().is_empty() => Some(("EM".to_string(), email.trim().to_string())),
        _ => None,
    };
    if let Some((scheme, value)) = electronic {
        x.open("ram:URIUniversalCommunication");
        x.leaf_with("ram:URIID", &[("schemeID", &scheme)], &value);
        x.close("ram:URIUniversalCommunication");
    }
    let vat = party.vat_number.as_deref().map(compact).filter(|v| !v.is_empty());
    let is_seller = element == "ram:SellerTradeParty";
    match (vat, is_seller, &siren) {
        (Some(vat), _, _) => tax_registration(x, "VA", &vat),
        // BR-E-02: an exempt invoice names the seller's VAT number or its tax registration.
        (None, true, Some(siren)) => tax_registration(x, "FC", siren),
        _ => {}
    }
    x.close(element);
}

fn tax_registration(x: &mut Xml, scheme: &str, id: &str) {
    x.open("ram:SpecifiedTaxRegistration");
    x.leaf_with("ram:ID", &[("schemeID", scheme)], id);
    x.close("ram:SpecifiedTaxRegistration");
}

fn postal_address(x: &mut Xml, address: &PostalAddress) {
    let lines: Vec<String> = address
        .lines
        .iter()
        .map(|l| one_line(l))
        .filter(|l| !l.is_empty())
        .collect();
    x.open("ram:PostalTradeAddress");
    if !address.postcode.trim().is_empty() {
        x.leaf("ram:PostcodeCode", address.postcode.trim());
    }
    // Three lines at most: the third holds whatever follows.
    for (index, element) in ["ram:LineOne", "ram:LineTwo", "ram:LineThree"].iter().enumerate() {
        let text = if index == 2 {
            lines.get(2..).map(|rest| rest.join(", ")).unwrap_or_default()
        } else {
            lines.get(index).cloned().unwrap_or_default()
        };
        if !text.is_empty() {
            x.leaf(element, &text);
        }
    }
    if !address.city.trim().is_empty() {
        x.leaf("ram:CityName", address.city.trim());
    }
    x.leaf("ram:CountryID", &country(address));
    x.close("ram:PostalTradeAddress");
}

/// The delivery address (BG-13/BG-15) when given, and the delivery date (BT-72) of a sale or a
/// one-day service.
fn delivery(x: &mut Xml, doc: &InvoiceDoc) {
    x.open("ram:ApplicableHeaderTradeDelivery");
    if let Some(address) = &doc.delivery_address {
        x.open("ram:ShipToTradeParty");
        x.leaf("ram:Name", &one_line(&doc.customer.name));
        postal_address(x, address);
        x.close("ram:ShipToTradeParty");
    }
    if let ServiceDate::Day(day) = doc.service_date {
        x.open("ram:ActualDeliverySupplyChainEvent");
        x.open("ram:OccurrenceDateTime");
        x.leaf_with("udt:DateTimeString", &[("format", "102")], &ymd(day));
        x.close("ram:OccurrenceDateTime");
        x.close("ram:ActualDeliverySupplyChainEvent");
    }
    x.close("ram:ApplicableHeaderTradeDelivery");
}

/// Currency, payment means, VAT breakdown, service period, terms, totals, preceding invoice.
fn settlement(x: &mut Xml, doc: &InvoiceDoc) {
    let total = doc.total;
    let zero = Money::zero(total.currency);
    let currency = total.currency.code();
    x.open("ram:ApplicableHeaderTradeSettlement");
    x.leaf("ram:InvoiceCurrencyCode", currency);
    if let (DocKind::Invoice, Some(account)) = (doc.kind, &doc.bank_account) {
        payment_means(x, account);
    }
    x.open("ram:ApplicableTradeTax");
    x.leaf("ram:CalculatedAmount", &amount(zero));
    x.leaf("ram:TypeCode", "VAT");
    x.leaf("ram:ExemptionReason", doc.vat_regime.mention());
    x.leaf("ram:BasisAmount", &amount(total));
    x.leaf("ram:CategoryCode", vat_category(doc.vat_regime));
    x.leaf("ram:ExemptionReasonCode", vat_exemption_code(doc.vat_regime));
    x.leaf("ram:RateApplicablePercent", "0");
    x.close("ram:ApplicableTradeTax");
    if let ServiceDate::Period { start, end } = doc.service_date {
        x.open("ram:BillingSpecifiedPeriod");
        x.open("ram:StartDateTime");
        x.leaf_with("udt:DateTimeString", &[("format", "102")], &ymd(start));
        x.close("ram:StartDateTime");
        x.open("ram:EndDateTime");
        x.leaf_with("udt:DateTimeString", &[("format", "102")], &ymd(end));
        x.close("ram:EndDateTime");
        x.close("ram:BillingSpecifiedPeriod");
    }
    let (terms, due, prepaid) = match (&doc.kind, &doc.credited) {
        (DocKind::CreditNote, Some(credited)) => match &credited.settlement {
            CreditSettlement::Refunded { on, method } => (
                fill("credit_note.refunded", &[("date", &date_fr(*on)), ("method", method)]),
                None,
                total,
            ),
            CreditSettlement::Credit => (t("credit_note.credit").to_string(), None, zero),
        },
        _ => {
            let mut terms = fill("document.payment_terms", &[("terms", &doc.payment_terms)]);
            if let Some(paid_on) = doc.paid_on {
                terms = format!("{terms}. {}", fill("invoice.paid_on", &[("date", &date_fr(paid_on))]));
            }
            let prepaid = if doc.paid_on.is_some() { total } else { zero };
            (terms, doc.due_date, prepaid)
        }
    };
    x.open("ram:SpecifiedTradePaymentTerms");
    x.leaf("ram:Description", &terms);
    if let Some(due) = due {
        x.open("ram:DueDateDateTime");
        x.leaf_with("udt:DateTimeString", &[("format", "102")], &ymd(due));
        x.close("ram:DueDateDateTime");
    }
    x.close("ram:SpecifiedTradePaymentTerms");
    let due_payable = Money::new(total.minor - prepaid.minor, total.currency);
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    x.leaf("ram:LineTotalAmount", &amount(total));
    x.leaf("ram:TaxBasisTotalAmount", &amount(total));
    x.leaf_with("ram:TaxTotalAmount", &[("currencyID", currency)], &amount(zero));
    x.leaf("ram:GrandTotalAmount", &amount(total));
    if prepaid.minor != 0 {
        x.leaf("ram:TotalPrepaidAmount", &amount(prepaid));
    }
    x.leaf("ram:DuePayableAmount", &amount(due_payable));
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation");
    if let (DocKind::CreditNote, Some(credited)) = (doc.kind, &doc.credited) {
        x.open("ram:InvoiceReferencedDocument");
        x.leaf("ram:IssuerAssignedID", credited.number.trim());
        x.open("ram:FormattedIssueDateTime");
        x.leaf_with("qdt:DateTimeString", &[("format", "102")], &ymd(credited.issue_date));
        x.close("ram:FormattedIssueDateTime");
        x.close("ram:InvoiceReferencedDocument");
    }
    x.close("ram:ApplicableHeaderTradeSettlement");
}

/// SEPA credit transfer (code 58) to the seller's account.
fn payment_means(x: &mut Xml, account: &BankAccount) {
    x.open("ram:SpecifiedTradeSettlementPaymentMeans");
    x.leaf("ram:TypeCode", "58");
    x.open("ram:PayeePartyCreditorFinancialAccount");
    x.leaf("ram:IBANID", &compact(&account.iban));
    x.close("ram:PayeePartyCreditorFinancialAccount");
    if let Some(bic) = account.bic.as_deref().map(compact).filter(|b| !b.is_empty()) {
        x.open("ram:PayeeSpecifiedCreditorFinancialInstitution");
        x.leaf("ram:BICID", &bic);
        x.close("ram:PayeeSpecifiedCreditorFinancialInstitution");
    }
    x.close("ram:SpecifiedTradeSettlementPaymentMeans");
}

fn vat_category(regime: VatRegime) -> &'static str {
    match regime {
        VatRegime::Franchise => "E",
    }
}

fn vat_exemption_code(regime: VatRegime) -> &'static str {
    match regime {
        VatRegime::Franchise => "VATEX-FR-FRANCHISE",
    }
}

/// A line without a unit, UN/ECE rec. 20: H87 (piece) for goods, C62 (one, a unit of service)
/// for services.
fn unit_code(nature: Nature) -> &'static str {
    match nature {
        Nature::Goods => "H87",
        Nature::Services => "C62",
    }
}

fn line_total(doc: &InvoiceDoc) -> Result<Money, DocumentError> {
    let mut sum = Money::zero(doc.total.currency);
    for line in &doc.lines {
        sum = sum.checked_add(line.total).map_err(|e| DocumentError::Invalid {
            field: "lines",
            message: e.to_string(),
        })?;
    }
    Ok(sum)
}

/// `900.00`: the decimal point, the currency's minor digits.
fn amount(money: Money) -> String {
    money.to_decimal().to_string()
}

/// At most four decimals (BR-FR-DEC-02).
fn quantity(quantity: Decimal) -> Result<String, DocumentError> {
    let normal = quantity.normalize();
    if normal.scale() > 4 {
        return Err(DocumentError::Invalid {
            field: "lines.quantity",
            message: "une quantité a au plus 4 décimales".to_string(),
        });
    }
    Ok(normal.to_string())
}

/// `20261122` (format 102).
fn ymd(date: chrono::NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

fn country(address: &PostalAddress) -> String {
    let code = address.country.trim().to_uppercase();
    if code.is_empty() {
        "FR".to_string()
    } else {
        code
    }
}

/// "123 456 789" -> "123456789".
pub(crate) fn digits_only(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// Line breaks of a multi-line description become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A thin layer over quick-xml's writer: elements by name, text escaped by quick-xml; the first
/// write error is kept and returned by `finish`.
struct Xml {
    writer: quick_xml::Writer<Vec<u8>>,
    error: Option<std::io::Error>,
}

impl Xml {
    fn new() -> Xml {
        Xml {
            writer: quick_xml::Writer::new_with_indent(Vec::new(), b' ', 1),
            error: None,
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if self.error.is_none() {
            if let Err(e) = self.writer.write_event(event) {
                self.error = Some(e);
            }
        }
    }

    fn declaration(&mut self) {
        self.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    }

    fn open(&mut self, name: &str) {
        self.event(Event::Start(BytesStart::new(name)));
    }

    fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let start = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.event(Event::Start(start));
    }

    fn close(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }

    fn leaf_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.open_with(name, attributes);
        self.event(Event::Text(BytesText::new(text)));
        self.close(name);
    }

    fn finish(self) -> Result<Vec<u8>, DocumentError> {
        match self.error {
            Some(e) => Err(DocumentError::XmlWrite(e.to_string())),
            None => Ok(self.writer.into_inner()),
        }
    }
}
