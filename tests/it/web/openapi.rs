//! The OpenAPI document is kept true: its operations are exactly the `/api`
//! routes of the app's table, every `$ref` resolves, every object schema is
//! strict, and (through `api_client`) every answer the API tests receive
//! validates against the schema the document gives for that operation and
//! status (`openapi_schema`, with the `jsonschema` crate).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::openapi_schema::Doc;
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
    // Every schema of the document uses only the keywords it may use.
    let mut unknown = Vec::new();
    for name in doc.root["components"]["schemas"].as_object().unwrap().keys() {
        unknown.extend(doc.unknown_keywords(&json!({ "$ref": format!("#/components/schemas/{name}") })));
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
            // A document's file (its PDF or XML) is the one answer that is not JSON.
            let file = match path.rsplit('/').next() {
                Some("pdf") if status == "200" => Some("application/pdf"),
                Some("xml") if status == "200" => Some("application/xml"),
                _ => None,
            };
            let media = file.unwrap_or("application/json");
            let schema = &response["content"][media]["schema"];
            assert!(schema.is_object(), "{method} {path} {status} has no {media} schema");
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
