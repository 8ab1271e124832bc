//! Completes a laid-out PDF into a Factur-X file: PDF/A-3 (level B) with the CII XML embedded
//! as `factur-x.xml`. printpdf lays the pages out; what it cannot declare is added here with
//! lopdf, on the objects printpdf produced:
//!
//! - the embedded file (`/EmbeddedFile`, subtype `text/xml`, its size and date), its file
//!   specification (`/AFRelationship /Data`, `/F` and `/UF`, `/Desc`), named in the catalog's
//!   `/Names /EmbeddedFiles` and `/AF`;
//! - the XMP metadata (uncompressed, as PDF/A wants): PDF/A-3B identification, Dublin Core
//!   title and author, dates, and the Factur-X extension schema with its `fx:` properties
//!   (INVOICE, `factur-x.xml`, version 1.0, level EN 16931);
//! - an sRGB output intent (GTS_PDFA1) with the ICC profile of `assets/icc/sRGB.icc`;
//! - a document information dictionary that agrees with the XMP, and a document ID derived
//!   from the content (the same invoice gives the same ID).

use chrono::NaiveDate;
use lopdf::{Dictionary, Object, Stream, StringFormat};
use sha2::{Digest, Sha256};

use super::pdf::Finished;
use super::DocumentError;

const SRGB_ICC: &[u8] = include_bytes!("../../../assets/icc/sRGB.icc");
const FILE_NAME: &str = "factur-x.xml";
const PRODUCER: &str = "Comptoir";

/// What the Factur-X file declares about itself.
pub(crate) struct Attachment<'a> {
    pub xml: &'a [u8],
    pub title: &'a str,
    pub author: &'a str,
    /// The document's date: creation and modification dates of the file and of the XML.
    pub date: NaiveDate,
}

/// `pdf` with `attachment` embedded, as PDF/A-3B Factur-X bytes.
pub(crate) fn attach(mut pdf: Finished, attachment: &Attachment<'_>) -> Result<Vec<u8>, DocumentError> {
    let failed = |e: lopdf::Error| DocumentError::PdfWrite(e.to_string());
    let doc = &mut pdf.document;
    doc.version = "1.7".to_string();
    let pdf_date = pdf_date(attachment.date);

    let mut params = Dictionary::new();
    params.set(
        "Size",
        Object::Integer(i64::try_from(attachment.xml.len()).unwrap_or(i64::MAX)),
    );
    params.set("ModDate", Object::string_literal(pdf_date.clone()));
    let mut file_dict = Dictionary::new();
    file_dict.set("Type", Object::Name(b"EmbeddedFile".to_vec()));
    file_dict.set("Subtype", Object::Name(b"text/xml".to_vec()));
    file_dict.set("Params", Object::Dictionary(params));
    let file_id = doc.add_object(Stream::new(file_dict, attachment.xml.to_vec()));

    let mut embedded = Dictionary::new();
    embedded.set("F", Object::Reference(file_id));
    embedded.set("UF", Object::Reference(file_id));
    let mut spec = Dictionary::new();
    spec.set("Type", Object::Name(b"Filespec".to_vec()));
    spec.set("F", Object::string_literal(FILE_NAME));
    spec.set("UF", Object::string_literal(FILE_NAME));
    spec.set("Desc", Object::string_literal("Factur-X invoice (CII, EN 16931)"));
    spec.set("AFRelationship", Object::Name(b"Data".to_vec()));
    spec.set("EF", Object::Dictionary(embedded));
    let spec_id = doc.add_object(spec);

    let mut icc_dict = Dictionary::new();
    icc_dict.set("N", Object::Integer(3));
    icc_dict.set("Alternate", Object::Name(b"DeviceRGB".to_vec()));
    let icc_id = doc.add_object(Stream::new(icc_dict, SRGB_ICC.to_vec()));
    let mut intent = Dictionary::new();
    intent.set("Type", Object::Name(b"OutputIntent".to_vec()));
    intent.set("S", Object::Name(b"GTS_PDFA1".to_vec()));
    intent.set("OutputConditionIdentifier", Object::string_literal("sRGB IEC61966-2.1"));
    intent.set("RegistryName", Object::string_literal("http://www.color.org"));
    intent.set("Info", Object::string_literal("sRGB IEC61966-2.1"));
    intent.set("DestOutputProfile", Object::Reference(icc_id));

    let xmp = xmp(attachment);
    let mut xmp_dict = Dictionary::new();
    xmp_dict.set("Type", Object::Name(b"Metadata".to_vec()));
    xmp_dict.set("Subtype", Object::Name(b"XML".to_vec()));
    let xmp_id = doc.add_object(Stream::new(xmp_dict, xmp.into_bytes()).with_compression(false));

    let mut names = Dictionary::new();
    names.set(
        "Names",
        Object::Array(vec![Object::string_literal(FILE_NAME), Object::Reference(spec_id)]),
    );
    let mut name_tree = Dictionary::new();
    name_tree.set("EmbeddedFiles", Object::Dictionary(names));

    let catalog = doc.catalog_mut().map_err(failed)?;
    catalog.set("Names", Object::Dictionary(name_tree));
    catalog.set("AF", Object::Array(vec![Object::Reference(spec_id)]));
    catalog.set("Metadata", Object::Reference(xmp_id));
    catalog.set("OutputIntents", Object::Array(vec![Object::Dictionary(intent)]));
    catalog.set("PageMode", Object::Name(b"UseAttachments".to_vec()));

    let mut info = Dictionary::new();
    info.set("Title", text_string(attachment.title));
    info.set("Author", text_string(attachment.author));
    info.set("Creator", text_string(PRODUCER));
    info.set("Producer", text_string(PRODUCER));
    info.set("CreationDate", Object::string_literal(pdf_date.clone()));
    info.set("ModDate", Object::string_literal(pdf_date));
    let info_id = doc.add_object(info);
    doc.trailer.set("Info", Object::Reference(info_id));

    let digest = Sha256::new()
        .chain_update(attachment.title.as_bytes())
        .chain_update(attachment.xml)
        .finalize();
    let id = Object::String(digest[..16].to_vec(), StringFormat::Hexadecimal);
    doc.trailer.set("ID", Object::Array(vec![id.clone(), id]));
    pdf.save()
}

/// `D:20261122000000+00'00'`.
fn pdf_date(date: NaiveDate) -> String {
    format!("D:{}000000+00'00'", date.format("%Y%m%d"))
}

/// A PDF text string: ASCII as is, anything else as UTF-16BE with its byte-order mark.
fn text_string(text: &str) -> Object {
    if text.is_ascii() {
        return Object::string_literal(text);
    }
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// The XMP packet: PDF/A-3B, Dublin Core, dates, and the Factur-X extension schema.
fn xmp(attachment: &Attachment<'_>) -> String {
    let escape = |text: &str| quick_xml::escape::escape(text).into_owned();
    let date = format!("{}T00:00:00+00:00", attachment.date.format("%Y-%m-%d"));
    let title = escape(attachment.title);
    let author = escape(attachment.author);
    let property = |name: &str, description: &str| {
        format!(
            r#"        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>{name}</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>{description}</pdfaProperty:description>
        </rdf:li>
"#
        )
    };
    let properties = [
        property("DocumentFileName", "The name of the embedded XML document"),
        property(
            "DocumentType",
            "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER",
        ),
        property(
            "Version",
            "The actual version of the standard applying to the embedded XML document",
        ),
        property("ConformanceLevel", "The conformance level of the embedded XML document"),
    ]
    .concat();
    format!(
        r#"<?xpacket begin="{bom}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{producer}</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{producer}</xmp:CreatorTool>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
  </rdf:Description>
  <rdf:Description rdf:about=""
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>fx</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>
{properties}       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
   <fx:DocumentType>INVOICE</fx:DocumentType>
   <fx:DocumentFileName>{file}</fx:DocumentFileName>
   <fx:Version>1.0</fx:Version>
   <fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#,
        bom = '\u{feff}',
        producer = PRODUCER,
        file = FILE_NAME,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_text_strings() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        assert_eq!(pdf_date(day), "D:20261122000000+00'00'");
        assert_eq!(text_string("F-1"), Object::string_literal("F-1"));
        match text_string("n°") {
            Object::String(bytes, StringFormat::Hexadecimal) => {
                assert_eq!(bytes, [0xFE, 0xFF, 0x00, b'n', 0x00, 0xB0]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_xmp_declares_pdfa3_and_factur_x() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        let xmp = xmp(&Attachment {
            xml: b"<x/>",
            title: "Facture n° F<1>",
            author: "Jeanne & Cie EI",
            date: day,
        });
        for needle in [
            "<pdfaid:part>3</pdfaid:part>",
            "<pdfaid:conformance>B</pdfaid:conformance>",
            "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
            "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
            "Facture n° F&lt;1&gt;",
            "Jeanne &amp; Cie EI",
            "2026-11-22T00:00:00+00:00",
        ] {
            assert!(xmp.contains(needle), "{needle} missing in {xmp}");
        }
    }
}
