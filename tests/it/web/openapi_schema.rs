//! A small JSON-Schema validator for the OpenAPI document, enough for what
//! the document uses: `type` (one or several, `null` included), `properties`,
//! `required`, `additionalProperties`, `items`, `enum`, `$ref` to the
//! document's components, `oneOf`, and a few bounds. It refuses keywords it
//! does not know, so a schema cannot be weakened by a typo. Tested on its own
//! below, on documents that must fail.

use std::collections::BTreeSet;

use serde_json::{json, Value};

/// The keywords the validator knows; a schema using another is refused, so a
/// typo (`require`) cannot silently weaken a schema.
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
    "minimum",
    "maximum",
    "maxLength",
    "format",
    "description",
    "examples",
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

    /// Validates `value` against `schema`; every problem, with where it is.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        self.check(schema, value, "$", &mut problems);
        problems
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        let Some(rules) = schema.as_object() else {
            out.push(format!("{at}: the schema is not an object: {schema}"));
            return;
        };
        for key in rules.keys() {
            if !KEYWORDS.contains(&key.as_str()) {
                out.push(format!("{at}: unknown schema keyword {key:?}"));
            }
        }
        if rules.contains_key("$ref") {
            match self.resolve(schema) {
                Ok(target) => self.check(target, value, at, out),
                Err(e) => out.push(format!("{at}: {e}")),
            }
            return;
        }
        if let Some(types) = rules.get("type") {
            let allowed: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => {
                    out.push(format!("{at}: bad type keyword {types}"));
                    return;
                }
            };
            if !allowed.iter().any(|t| type_fits(t, value)) {
                out.push(format!(
                    "{at}: {} is not of type {}",
                    short(value),
                    allowed.join(" or ")
                ));
                return;
            }
        }
        if let Some(options) = rules.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                out.push(format!(
                    "{at}: {} is not one of {}",
                    short(value),
                    Value::from(options.clone())
                ));
            }
        }
        if let Some(choices) = rules.get("oneOf").and_then(Value::as_array) {
            let fitting = choices.iter().filter(|c| self.validate(c, value).is_empty()).count();
            if fitting != 1 {
                out.push(format!(
                    "{at}: {} fits {fitting} of the oneOf choices, not exactly one",
                    short(value)
                ));
            }
        }
        match value {
            Value::Object(fields) => {
                let properties = rules.get("properties").and_then(Value::as_object);
                for name in rules.get("required").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(name) = name.as_str() {
                        if !fields.contains_key(name) {
                            out.push(format!("{at}: required property {name:?} is missing"));
                        }
                    }
                }
                for (name, field) in fields {
                    match properties.and_then(|p| p.get(name)) {
                        Some(sub) => self.check(sub, field, &format!("{at}.{name}"), out),
                        None => match rules.get("additionalProperties") {
                            Some(Value::Bool(false)) => {
                                out.push(format!("{at}: property {name:?} is not in the schema"))
                            }
                            Some(extra @ Value::Object(_)) => self.check(extra, field, &format!("{at}.{name}"), out),
                            _ => {}
                        },
                    }
                }
            }
            Value::Array(items) => {
                if let Some(min) = rules.get("minItems").and_then(Value::as_u64) {
                    if (items.len() as u64) < min {
                        out.push(format!("{at}: fewer than {min} items"));
                    }
                }
                if let Some(item) = rules.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(item, v, &format!("{at}[{i}]"), out);
                    }
                }
            }
            Value::Number(n) => {
                let n = n.as_f64().unwrap_or(f64::NAN);
                if rules.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m) {
                    out.push(format!("{at}: {n} is below the minimum"));
                }
                if rules.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
                    out.push(format!("{at}: {n} is above the maximum"));
                }
            }
            Value::String(s)
                if rules
                    .get("maxLength")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| s.chars().count() as u64 > m) =>
            {
                out.push(format!("{at}: longer than maxLength"));
            }
            _ => {}
        }
    }
}

fn type_fits(t: &str, value: &Value) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text
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
                               "count": { "type": "integer", "minimum": 1, "maximum": 3 }
                           },
                           "required": ["price", "tags", "note"] }
            }}
        }),
    }
}

fn thing() -> Value {
    json!({ "$ref": "#/components/schemas/Thing" })
}

#[test]
fn the_validator_accepts_what_fits() {
    let doc = test_doc();
    for good in [
        json!({"price": {"minor": 1990, "currency": "EUR"}, "tags": ["a"], "note": null}),
        json!({"price": {"minor": -5, "currency": "USD"}, "tags": ["a", "b"], "note": "x", "why": {"code": "c"}, "count": 3}),
        json!({"price": {"minor": 0, "currency": "EUR"}, "tags": ["a"], "note": "y", "why": null}),
    ] {
        assert_eq!(doc.validate(&thing(), &good), Vec::<String>::new(), "{good}");
    }
}

#[test]
fn the_validator_rejects_what_does_not() {
    let doc = test_doc();
    let cases = [
        (json!([]), "is not of type object"),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"]}),
            "\"note\" is missing",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "extra": 1}),
            "\"extra\" is not in the schema",
        ),
        (
            json!({"price": {"minor": 1.5, "currency": "EUR"}, "tags": ["a"], "note": null}),
            "$.price.minor: 1.5 is not of type integer",
        ),
        (
            json!({"price": {"minor": 1, "currency": "GBP"}, "tags": ["a"], "note": null}),
            "is not one of",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR", "amount": "0.01"}, "tags": ["a"], "note": null}),
            "\"amount\" is not in the schema",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": [1], "note": null}),
            "$.tags[0]: 1 is not of type string",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": [], "note": null}),
            "fewer than 1 items",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": 3}),
            "is not of type string or null",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "why": {"code": 1}}),
            "fits 0 of the oneOf",
        ),
        (
            json!({"price": {"minor": 1, "currency": "EUR"}, "tags": ["a"], "note": null, "count": 4}),
            "above the maximum",
        ),
        (
            json!({"price": null, "tags": ["a"], "note": null}),
            "$.price: null is not of type object",
        ),
    ];
    for (bad, expected) in cases {
        let problems = doc.validate(&thing(), &bad);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{bad}: expected {expected:?}, got {problems:?}"
        );
    }
    // A oneOf that two choices fit is refused too.
    let ambiguous = json!({"oneOf": [{"type": "string"}, {"type": ["string", "null"]}]});
    assert!(doc.validate(&ambiguous, &json!("x"))[0].contains("fits 2 of the oneOf"));
    // A reference that leads nowhere, and a keyword the validator does not know, are errors.
    assert!(doc.validate(&json!({"$ref": "#/components/schemas/Nope"}), &json!(1))[0].contains("does not resolve"));
    assert!(
        doc.validate(&json!({"type": "string", "pattern": "^a"}), &json!("a"))[0].contains("unknown schema keyword")
    );
}
