//! Customers from a CSV file: type (particulier / entreprise), nom, e-mail,
//! adresse, code postal, ville, pays, SIREN. A `prénom` column is put before
//! the name; a `complément` column adds an address line; `pays` (an ISO
//! 3166 code) defaults to FR. Files of old with one address column and no
//! postcode or city columns still import when the address's last line reads
//! "75011 Paris". Each row is keyed by its SIREN, else its e-mail, else its
//! name and address.

use std::collections::HashMap;

use super::chunk::{Claim, Ctx, Pending, CHUNK_ATTEMPTS};
use super::decode::{header_key, words};
use super::rows::Rows;
use super::{check_cells, field, reason, sha256_hex, Header, ImportError, CHUNK_ROWS};
use crate::billing::address::{PostalAddress, ADDRESS as ADDRESS_FIELDS};
use crate::billing::customers::{self, CustomerKind, NewCustomer};
use crate::billing::sql::imports as sql;
use crate::billing::validate;
use crate::billing::BillingError;
use crate::input::Lines;

const ENTITY: &str = "customer";

const KIND: &str = "type typedeclient typeclient kind categorie category customertype clienttype";
const NAME: &str = "nom name raisonsociale nomouraisonsociale nomraisonsociale denomination nomduclient nomclient \
client customer customername fullname nomcomplet societe entreprise";
const FIRST_NAME: &str = "prenom firstname givenname";
const EMAIL: &str = "email mail courriel adresseemail adressemail adressecourriel adresseelectronique emailaddress";
const ADDRESS: &str = "adresse address adressepostale adressecomplete postaladdress adresse1 adresseligne1 address1 \
addressline1 rue street";
const COMPLEMENT: &str = "complement complementdadresse complementadresse adresse2 adresseligne2 address2 addressline2";
const POSTCODE: &str = "codepostal cp postalcode postcode zip zipcode";
const CITY: &str = "ville city commune localite town";
const COUNTRY: &str = "pays country codepays countrycode";
const SIREN: &str = "siren numerosiren nsiren siret numerosiret nsiret sirensiret sirenousiret";

const PERSON_WORDS: &str = "particulier,particuliers,person,personne,personne physique,individual,individuel,prive,\
    private,consumer,consommateur,b2c";
const BUSINESS_WORDS: &str = "entreprise,entreprises,business,company,societe,professionnel,pro,personne morale,\
    b2b,association";

/// Whether a line looks like the header of a customers file.
pub(super) fn recognizes(fields: &[String]) -> bool {
    let keys: Vec<String> = fields.iter().map(|f| header_key(f)).collect();
    let has = |aliases: &str| aliases.split_whitespace().any(|a| keys.iter().any(|k| k == a));
    has(NAME) && has(ADDRESS)
}

struct Columns {
    kind: Option<usize>,
    name: usize,
    first_name: Option<usize>,
    email: Option<usize>,
    address: usize,
    complement: Option<usize>,
    postcode: Option<usize>,
    city: Option<usize>,
    country: Option<usize>,
    siren: Option<usize>,
}

/// Whitespace (newlines included) collapsed to single spaces.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Columns {
    fn new(h: &Header) -> Result<Columns, ImportError> {
        Ok(Columns {
            kind: h.find(KIND),
            name: h.require(NAME, "\"nom\" / \"name\"")?,
            first_name: h.find(FIRST_NAME),
            email: h.find(EMAIL),
            address: h.require(ADDRESS, "\"adresse\" / \"address\"")?,
            complement: h.find(COMPLEMENT),
            postcode: h.find(POSTCODE),
            city: h.find(CITY),
            country: h.find(COUNTRY),
            siren: h.find(SIREN),
        })
    }

    fn parse(&self, h: &Header, record: &csv::StringRecord) -> Result<NewCustomer, String> {
        let col = |index: Option<usize>, default: &str, message: String| {
            format!("{} : {message}", index.map(|i| h.name(i)).unwrap_or(default))
        };
        check_cells(
            h,
            record,
            &[
                (self.kind, Lines::One),
                (self.first_name, Lines::One),
                (Some(self.name), Lines::One),
                (self.email, Lines::One),
                (Some(self.address), Lines::Many),
                (self.complement, Lines::Many),
                (self.postcode, Lines::One),
                (self.city, Lines::One),
                (self.country, Lines::One),
                (self.siren, Lines::One),
            ],
        )?;
        let raw_siren = field(record, self.siren);
        let siren = if raw_siren.is_empty() {
            None
        } else {
            let digits: String = raw_siren
                .chars()
                .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
                .collect();
            // A SIRET is the SIREN followed by 5 digits.
            let digits = match digits.get(..9) {
                Some(siren) if digits.len() == 14 && digits.bytes().all(|b| b.is_ascii_digit()) => siren.to_string(),
                _ => digits,
            };
            Some(validate::siren(&digits).map_err(|e| col(self.siren, "SIREN", reason(e)))?)
        };
        let raw_kind = field(record, self.kind);
        let kind = match words(raw_kind).as_str() {
            "" if siren.is_some() => CustomerKind::Business,
            "" => CustomerKind::Person,
            w if PERSON_WORDS.split(',').any(|k| k == w) => CustomerKind::Person,
            w if BUSINESS_WORDS.split(',').any(|k| k == w) => CustomerKind::Business,
            _ => {
                return Err(col(
                    self.kind,
                    "type",
                    format!("« {raw_kind} » n'est ni particulier (person) ni entreprise (business)"),
                ))
            }
        };
        if kind == CustomerKind::Business && siren.is_none() {
            return Err(col(
                self.siren,
                "SIREN",
                "est obligatoire pour un client professionnel".into(),
            ));
        }
        let full_name = collapse(&format!(
            "{} {}",
            field(record, self.first_name),
            field(record, Some(self.name))
        ));
        let name = validate::text("name", &full_name, 200).map_err(|e| col(Some(self.name), "", reason(e)))?;
        let lines: Vec<String> = [Some(self.address), self.complement]
            .into_iter()
            .flat_map(|i| field(record, i).lines())
            .map(collapse)
            .filter(|l| !l.is_empty())
            .collect();
        let (postcode, city) = (field(record, self.postcode), field(record, self.city));
        let country = match field(record, self.country) {
            "" => "FR",
            c => c,
        };
        let address = if self.postcode.is_none() && self.city.is_none() {
            PostalAddress {
                country: country.to_string(),
                ..PostalAddress::from_legacy(&lines.join("\n"))
            }
        } else {
            PostalAddress {
                lines,
                postcode: collapse(postcode),
                city: collapse(city),
                country: country.to_string(),
            }
        };
        let address = address.validated(&ADDRESS_FIELDS).map_err(|e| {
            let column = match &e {
                BillingError::Invalid { field, .. } if *field == ADDRESS_FIELDS.postcode => {
                    self.postcode.or(Some(self.address))
                }
                BillingError::Invalid { field, .. } if *field == ADDRESS_FIELDS.city => {
                    self.city.or(Some(self.address))
                }
                BillingError::Invalid { field, .. } if *field == ADDRESS_FIELDS.country => self.country,
                _ => Some(self.address),
            };
            col(column, "pays", reason(e))
        })?;
        let email =
            validate::email(Some(field(record, self.email))).map_err(|e| col(self.email, "e-mail", reason(e)))?;
        Ok(NewCustomer {
            kind,
            name,
            email,
            address,
            siren,
            electronic_address: None,
            electronic_address_scheme: None,
        })
    }
}

/// The key that recognises a customer from one import to the next.
fn key(c: &NewCustomer) -> String {
    match (&c.siren, &c.email) {
        (Some(siren), _) => format!("customer:siren:{siren}"),
        (None, Some(email)) => format!("customer:email:{}", email.to_lowercase()),
        (None, None) => format!(
            "customer:name:{}",
            sha256_hex(format!("{}\n{}", words(&c.name), words(&c.address.printed_lines().join(", "))).as_bytes())
        ),
    }
}

pub(super) async fn import(
    ctx: &mut Ctx<'_>,
    open: impl Fn() -> Result<(Rows, Header), ImportError>,
) -> Result<(), ImportError> {
    let (mut rows, header) = open()?;
    let columns = Columns::new(&header)?;

    // Pass one: every row is checked; nothing is written.
    while let Some((line, record)) = rows.next()? {
        ctx.tally.total += 1;
        let checked = match header.misfit(record) {
            Some(message) => Err(message),
            None => columns.parse(&header, record).map(drop),
        };
        if let Err(message) = checked {
            ctx.tally.error(line, message);
        }
        if ctx.tally.total.is_multiple_of(CHUNK_ROWS as u64) {
            tokio::task::yield_now().await;
        }
    }
    if ctx.tally.total == 0 {
        return Err(ImportError::NoRows);
    }
    if ctx.tally.bad_rows > 0 {
        return Ok(());
    }

    // Pass two: the rows are applied, a chunk per transaction.
    let (mut rows, _) = open()?;
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    loop {
        let next = rows.next()?;
        let end = next.is_none();
        if let Some((line, record)) = next {
            match columns.parse(&header, record) {
                Ok(item) => chunk.push(Pending {
                    line,
                    key: key(&item),
                    item,
                }),
                Err(message) => {
                    ctx.tally.error(line, message);
                    return Ok(());
                }
            }
        }
        if chunk.len() == CHUNK_ROWS || (end && !chunk.is_empty()) {
            if !apply_chunk(ctx, &chunk).await? {
                return Ok(());
            }
            chunk.clear();
        }
        if end {
            return Ok(());
        }
    }
}

/// Applies one chunk in one transaction; `false` when a row failed (the run stops).
async fn apply_chunk(ctx: &mut Ctx<'_>, chunk: &[Pending<NewCustomer>]) -> Result<bool, ImportError> {
    for _ in 0..CHUNK_ATTEMPTS {
        let mark = ctx.tally.mark();
        let mut tx = ctx.store.begin().await?;
        let claims = ctx.classify(&mut tx, chunk).await?;
        let sirens: Vec<&str> = chunk
            .iter()
            .zip(&claims)
            .filter(|(_, claim)| **claim == Claim::New)
            .filter_map(|(p, _)| p.item.siren.as_deref())
            .collect();
        let existing: HashMap<String, i64> = if sirens.is_empty() {
            HashMap::new()
        } else {
            sql::customers_by_siren(&mut tx, &sirens).await?.into_iter().collect()
        };
        let mut applied = Vec::new();
        for (p, claim) in chunk.iter().zip(claims) {
            if claim != Claim::New {
                ctx.settle(p.line, claim);
                continue;
            }
            if let Some((siren, id)) = p.item.siren.as_ref().and_then(|s| existing.get(s).map(|id| (s, id))) {
                ctx.tally
                    .skip(p.line, format!("un client a déjà le SIREN {siren} (n° {id})"));
                continue;
            }
            match customers::create(&mut tx, p.item.clone()).await {
                Ok(customer) => {
                    applied.push((p.key.clone(), customer.id));
                    ctx.tally.imported += 1;
                }
                Err(e) => {
                    ctx.row_failed(tx, mark, p.line, e).await?;
                    return Ok(false);
                }
            }
        }
        if ctx.commit_chunk(tx, ENTITY, &applied, chunk.len()).await? {
            return Ok(true);
        }
        ctx.tally.rewind(mark);
    }
    Err(ImportError::Contention)
}
