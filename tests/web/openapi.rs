//! The OpenAPI document is kept true: its operations are exactly the `/api`
//! routes of the app's table, every `$ref` resolves, every object schema is
//! strict, and (through `api_client`) every answer the API tests receive
//! validates against the schema the document gives for that operation and
//! status. The JSON-Schema validator is here, small, and tested on its own.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::web::TestApp;
use crate::support::Backend;

/// The keywords the validator knows; a schema using another is refused, so a
/// typo (`require`) cannot silently weaken a schema.
const KEYWORDS: &[&str] = &[
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

/// Every `$ref` anywhere in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// Keywords of `schema` (and the schemas inside it) the validator does not know.
fn schema_keywords(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Some(rules) = schema.as_object() else {
        out.push(format!("{at}: not a schema"));
        return;
    };
    for (key, sub) in rules {
        if !KEYWORDS.contains(&key.as_str()) {
            out.push(format!("{at}: {key}"));
        }
        match key.as_str() {
            "properties" => {
                for (name, p) in sub.as_object().into_iter().flatten() {
                    schema_keywords(p, &format!("{at}.{name}"), out);
                }
            }
            "items" => schema_keywords(sub, &format!("{at}[]"), out),
            "oneOf" => {
                for (i, c) in sub.as_array().into_iter().flatten().enumerate() {
                    schema_keywords(c, &format!("{at}|{i}"), out);
                }
            }
            "additionalProperties" if sub.is_object() => schema_keywords(sub, &format!("{at}.*"), out),
            _ => {}
        }
    }
}

/// Every object schema in `value` that lists properties, with where it is.
fn object_schemas<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") {
                out.push((at.clone(), value));
            }
            for (k, v) in map {
                object_schemas(v, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                object_schemas(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------- the document

#[test]
fn the_documents_operations_are_the_api_routes() {
    let doc = Doc::load();
    let routes: BTreeSet<(String, String)> = comptoir::web::routes()
        .table()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") || r.path == "/api")
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let documented = doc.operations();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "documented operations that are no route: {phantom:?}"
    );
    assert!(routes.len() >= 12, "{routes:?}");
}

#[test]
fn the_document_is_complete_and_strict() {
    let doc = Doc::load();
    assert_eq!(doc.root["openapi"], "3.1.0");
    let mut refs = Vec::new();
    references(&doc.root, &mut refs);
    assert!(refs.len() > 50, "{}", refs.len());
    for r in &refs {
        assert!(doc.resolve(&json!({ "$ref": r })).is_ok(), "{r} does not resolve");
    }
    let scheme = &doc.root["components"]["securitySchemes"]["apiKey"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    // Every schema of the document is one the validator fully understands.
    let mut unknown = Vec::new();
    for (name, schema) in doc.root["components"]["schemas"].as_object().unwrap() {
        schema_keywords(schema, name, &mut unknown);
    }
    assert!(unknown.is_empty(), "{unknown:?}");
    let mut objects = Vec::new();
    object_schemas(&doc.root["components"]["schemas"], "schemas".into(), &mut objects);
    assert!(objects.len() >= 20);
    for (at, schema) in &objects {
        assert_eq!(
            schema.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "{at} is not strict"
        );
        for name in schema["required"].as_array().into_iter().flatten() {
            assert!(
                schema["properties"].get(name.as_str().unwrap()).is_some(),
                "{at} requires {name}"
            );
        }
    }
    let idempotency = &doc.root["components"]["parameters"]["IdempotencyKey"];
    assert_eq!(idempotency["in"], "header");
    assert_eq!(idempotency["name"], "Idempotency-Key");
    for (method, path) in doc.operations() {
        let op = &doc.root["paths"][&path][method.to_ascii_lowercase()];
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let response = doc.resolve(response).unwrap();
            let schema = &response["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{method} {path} {status} has no JSON schema");
        }
        if path != "/api/openapi.json" {
            assert!(responses.contains_key("401"), "{method} {path} documents 401");
            assert!(op.get("security").is_none(), "{method} {path} needs the key");
            if method == "POST" {
                let params = serde_json::to_string(&op["parameters"]).unwrap();
                assert!(
                    params.contains("IdempotencyKey"),
                    "{method} {path} takes Idempotency-Key"
                );
            }
        } else {
            assert_eq!(op["security"], json!([]));
        }
        if let Some(body) = op.get("requestBody") {
            let schema = &body["content"]["application/json"]["schema"];
            assert!(doc.resolve(schema).is_ok(), "{method} {path} request body");
            assert!(
                responses.contains_key("422") && responses.contains_key("400"),
                "{method} {path}"
            );
        }
    }
}

async fn the_served_document_is_the_compiled_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut anonymous = app.client();
    let answer = anonymous.get("/api/openapi.json").await;
    assert_eq!(answer.status, 200, "public, no key needed");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.json(), Doc::load().root);
}

on_both_backends!(the_served_document_is_the_compiled_one);

// ------------------------------------------------------------- the validator

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
