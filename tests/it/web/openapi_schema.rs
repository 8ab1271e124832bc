//! The OpenAPI document, and answers validated against its schemas with the
//! `jsonschema` crate (JSON Schema 2020-12, as OpenAPI 3.1 says; `format`
//! checked; `$ref`s resolved in the document). A schema may only use the
//! keywords below: JSON Schema ignores a keyword it does not know, so a typo
//! (`require`) would silently weaken a schema. Tested on its own below, on
//! documents that must fail.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// The keywords a schema of the document may use; a schema using another is
/// refused.
pub const KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "oneOf",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "maxLength",
    "format",
    "description",
    "examples",
    "deprecated",
];

/// The API's document.
pub struct Doc {
    pub root: Value,
}

impl Doc {
    pub fn load() -> Doc {
        Doc {
            root: serde_json::from_str(comptoir::web::api::OPENAPI).expect("the document is JSON"),
        }
    }

    /// `(METHOD, path template)` of every operation.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.root["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        out
    }

    /// The template of the documented path `concrete` matches (`{id}` takes one segment).
    pub fn template_of(&self, concrete: &str) -> Option<String> {
        let path = concrete.split('?').next().unwrap_or(concrete);
        let segments: Vec<&str> = path.split('/').collect();
        self.root["paths"].as_object()?.keys().find_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            fits.then(|| template.clone())
        })
    }

    /// Follows a local `$ref` (`#/components/...`).
    pub fn resolve<'a>(&'a self, value: &'a Value) -> Result<&'a Value, String> {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .ok_or_else(|| format!("{reference}: only local references"))?;
                self.root
                    .pointer(pointer)
                    .ok_or_else(|| format!("{reference} does not resolve"))
            }
            None => Ok(value),
        }
    }

    /// The documented response of an operation for a status.
    pub fn response(&self, method: &str, template: &str, status: u16) -> Option<&Value> {
        let op = self.root["paths"].get(template)?.get(method.to_ascii_lowercase())?;
        let response = op["responses"].get(status.to_string())?;
        self.resolve(response).ok()
    }

    /// Validates `value` against `schema` (whose `$ref`s point into the
    /// document); every problem, with where it is.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<Problem> {
        let unknown = self.unknown_keywords(schema);
        if !unknown.is_empty() {
            return unknown;
        }
        // The schema at the root of a copy of the components, so that
        // `#/components/...` resolves as it does in the document.
        let mut rooted = schema.as_object().cloned().unwrap_or_default();
        rooted.insert("components".into(), self.root["components"].clone());
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(rooted));
        match validator {
            Ok(validator) => validator
                .iter_errors(value)
                .map(|e| Problem {
                    at: e.instance_path().to_string(),
                    keyword: e.kind().keyword().to_string(),
                    message: e.to_string(),
                })
                .collect(),
            Err(e) => vec![Problem {
                at: String::new(),
                keyword: "schema".into(),
                message: format!("the schema is unusable: {e}"),
            }],
        }
    }

    /// The keywords of `schema`, of the schemas inside it and of those it
    /// refers to, that are not in [`KEYWORDS`].
    pub fn unknown_keywords(&self, schema: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        self.walk(schema, "#", &mut BTreeSet::new(), &mut out);
        out
    }

    fn walk(&self, schema: &Value, at: &str, seen: &mut BTreeSet<String>, out: &mut Vec<Problem>) {
        let Some(rules) = schema.as_object() else {
            out.push(Problem {
                at: at.into(),
                keyword: String::new(),
                message: format!("not a schema: {schema}"),
            });
            return;
        };
        for (key, sub) in rules {
            if !KEYWORDS.contains(&key.as_str()) {
                out.push(Problem {
                    at: at.into(),
                    keyword: key.clone(),
                    message: "unknown schema keyword".into(),
                });
            }
            match key.as_str() {
                "properties" => {
                    for (name, p) in sub.as_object().into_iter().flatten() {
                        self.walk(p, &format!("{at}/properties/{name}"), seen, out);
                    }
                }
                "items" => self.walk(sub, &format!("{at}/items"), seen, out),
                "oneOf" => {
                    for (i, c) in sub.as_array().into_iter().flatten().enumerate() {
                        self.walk(c, &format!("{at}/oneOf/{i}"), seen, out);
                    }
                }
                "additionalProperties" if sub.is_object() => {
                    self.walk(sub, &format!("{at}/additionalProperties"), seen, out)
                }
                "$ref" => {
                    let reference = sub.as_str().unwrap_or_default();
                    if seen.insert(reference.to_string()) {
                        if let Ok(target) = self.resolve(schema) {
                            self.walk(target, reference, seen, out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A value that breaks its schema (or a schema that breaks the rules above).
#[derive(Debug)]
pub struct Problem {
    /// Where in the value (a JSON pointer), or in the schema for a keyword.
    pub at: String,
    /// The keyword that failed (`type`, `required`, …).
    pub keyword: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.at.is_empty() {
            "(the whole value)"
        } else {
            &self.at
        };
        write!(f, "{at}: {} ({})", self.message, self.keyword)
    }
}

// ------------------------------------------------------------- its tests

fn test_doc() -> Doc {
    Doc {
        root: json!({
            "components": { "schemas": {
                "Money": { "type": "object", "additionalProperties": false,
                           "properties": { "minor": { "type": "integer" }, "currency": { "type": "string", "enum": ["EUR", "USD"] } },
                           "required": ["minor", "currency"] },
                "Rule": { "type": "object", "additionalProperties": false,
                          "properties": { "code": { "type": "string" } }, "required": ["code"] },
                "Thing": { "type": "object", "additionalProperties": false,
                           "properties": {
                               "price": { "$ref": "#/components/schemas/Money" },
                               "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                               "note": { "type": ["string", "null"] },
                               "why": { "oneOf": [{ "$ref": "#/components/schemas/Rule" }, { "type": "null" }] },
                               "count": { "type": "integer", "minimum": 1, "maximum": 3 },
                               "day": { "type": "string", "format": "date" }
                           },
                           "required": ["price", "tags", "note"] }
            }}
        }),
    }
}

fn thing() -> Value {
    json!({ "$ref": "#/components/schemas/Thing" })
}

/// `(where, keyword)` of each problem.
fn failures(doc: &Doc, schema: &Value, value: &Value) -> Vec<(String, String)> {
    doc.validate(schema, value)
        .into_iter()
        .map(|p| (p.at, p.keyword))
        .collect()
}

#[test]
fn the_validator_accepts_what_fits() {
    let doc = test_doc();
    for good in [
        json!({"price": {"minor": 1990, "currency": "EUR"}, "tags": ["a"], "note": null}),
        json!({"price": {"minor": -5, "currency": "USD"}, "tags": ["a", "b"], "note": "x", "why": {"code": "c"}, "count": 3}),
        json!({"price": {"minor": 0, "currency": "EUR"}, "tags": ["a"], "note": "y", "why": null, "day": "2026-11-02"}),
    ] {
        let problems: Vec<String> = doc.validate(&thing(), &good).iter().map(ToString::to_string).collect();
        assert_eq!(problems, Vec::<String>::new(), "{good}");
    }
}

#[test]
fn the_validator_rejects_what_does_not() {
    let doc = test_doc();
    let cases = [
        (json!([]), "", "type"),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"]}),
            "",
            "required",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "extra": 1}),
            "",
            "additionalProperties",
        ),
        (
            json!({"price": {"minor": 1.5, "currency": "EUR"}, "tags": ["a"], "note": null}),
            "/price/minor",
            "type",
        ),
        (
            json!({"price": {"minor": 1, "currency": "GBP"}, "tags": ["a"], "note": null}),
            "/price/currency",
            "enum",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR", "amount": "0.01"}, "tags": ["a"], "note": null}),
            "/price",
            "additionalProperties",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": [1], "note": null}),
            "/tags/0",
            "type",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": [], "note": null}),
            "/tags",
            "minItems",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": 3}),
            "/note",
            "type",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "why": {"code": 1}}),
            "/why",
            "oneOf",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "count": 4}),
            "/count",
            "maximum",
        ),
        (json!({"price": null, "tags": ["a"], "note": null}), "/price", "type"),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "day": "2026-13-01"}),
            "/day",
            "format",
        ),
    ];
    for (bad, at, keyword) in cases {
        let found = failures(&doc, &thing(), &bad);
        assert!(
            found.contains(&(at.to_string(), keyword.to_string())),
            "{bad}: expected {keyword} at {at:?}, got {found:?}"
        );
    }
    // A oneOf that two choices fit is refused too.
    let ambiguous = json!({"oneOf": [{"type": "string"}, {"type": ["string", "null"]}]});
    assert_eq!(
        failures(&doc, &ambiguous, &json!("x")),
        [("".to_string(), "oneOf".to_string())]
    );
    // A reference that leads nowhere, and a keyword the document may not use, are errors.
    let nowhere = doc.validate(&json!({"$ref": "#/components/schemas/Nope"}), &json!(1));
    assert!(nowhere[0].message.contains("Nope"), "{nowhere:?}");
    assert_eq!(
        failures(&doc, &json!({"type": "string", "pattern": "^a"}), &json!("a")),
        [("#".to_string(), "pattern".to_string())]
    );
    let typo = json!({"type": "object", "properties": {"a": {"$ref": "#/components/schemas/Rule"}}, "require": ["a"]});
    assert_eq!(
        failures(&doc, &typo, &json!({})),
        [("#".to_string(), "require".to_string())]
    );
}
