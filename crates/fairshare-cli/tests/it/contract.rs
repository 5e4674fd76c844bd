//! The API keeps its contract: every operation in `/api/v1/openapi.json`, called on a
//! served demo programme with ordinary and edge-case parameters, answers only a
//! status it documents, never a server error, and a JSON body that matches the
//! documented schema (the error schema for errors).

use serde_json::Value;

use crate::serve::http_get;
use crate::site::{TODAY, start};
use crate::{fairshare, stderr};

/// Values tried for a parameter, by what it is.
fn cases(name: &str, schema: &Value, slug: &str) -> Vec<String> {
    let long = "a".repeat(400);
    let mut values: Vec<String> = match (name, schema["type"].as_str()) {
        ("month", _) => vec![
            "2026-10", "2026-09", "1999-01", "0000-00", "9999-12", "2026-13", "abcd-ef",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        ("iso_a3", _) => ["USA", "ind", "DEU", "XYZ", "NPL", "12", "AAAA"]
            .map(String::from)
            .to_vec(),
        ("slug", _) => vec![slug.to_string(), "no-such-org".into(), "%2E%2E".into()],
        ("from" | "to" | "release", _) => vec![
            "2026-10-01",
            "2026-11-21",
            "2021-01-01",
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "yesterday",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        (_, Some("integer")) => [
            "1",
            "2",
            "0",
            "-1",
            "100",
            "3660",
            "3661",
            "99999999999999999999",
            "1.5",
            "x",
        ]
        .map(String::from)
        .to_vec(),
        _ => vec!["x".into()],
    };
    values.extend(["".to_string(), "%00".into(), "%F0%9F%92%A9".into(), long]);
    values
}

/// Resolves `{"$ref": "#/components/schemas/X"}`.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or("");
            &root["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn is_date(text: &str) -> bool {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .is_ok()
}

/// Where `value` breaks `schema` (the subset of JSON Schema the document uses).
fn violations(schema: &Value, value: &Value, root: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(schema, root);
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| fits(t)) {
        out.push(format!("{at}: {value} is not {types:?}"));
        return;
    }
    if let (Some(format), Some(text)) = (schema["format"].as_str(), value.as_str()) {
        let ok = match format {
            "date" => is_date(text),
            "date-time" => {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .is_ok()
            }
            _ => true,
        };
        if !ok {
            out.push(format!("{at}: `{text}` is not a {format}"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or("");
            if !object.contains_key(name) {
                out.push(format!("{at}: `{name}` is missing"));
            }
        }
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in properties {
                if let Some(inner) = object.get(name) {
                    violations(property, inner, root, &format!("{at}.{name}"), out);
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            violations(items, item, root, &format!("{at}[{i}]"), out);
        }
    }
}

#[test]
fn every_documented_operation_answers_as_documented_whatever_its_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("contract.db").display());
    let demo = fairshare(dir.path(), Some(&db), &["demo", "--seed", "3"], &[TODAY]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let server = start(dir.path(), &db, TODAY.1);
    let body = |response: &str| {
        response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    };
    let document: Value =
        serde_json::from_str(&body(&http_get(&server.address, "/api/v1/openapi.json"))).unwrap();
    let partners: Value =
        serde_json::from_str(&body(&http_get(&server.address, "/api/v1/partners"))).unwrap();
    let slug = partners["items"][0]["org"]
        .as_str()
        .unwrap_or("acme")
        .to_string();

    let mut calls = 0;
    let mut problems = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        let operation = &operations["get"];
        let parameters: Vec<&Value> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        // Each parameter varied alone (others at their first value or left out), then
        // an unknown parameter.
        let mut requests = vec![(path.clone(), Vec::<String>::new())];
        for varied in &parameters {
            let name = varied["name"].as_str().unwrap();
            for value in cases(name, &varied["schema"], &slug) {
                let mut uri = path.clone();
                let mut query = Vec::new();
                for p in &parameters {
                    let pname = p["name"].as_str().unwrap();
                    let chosen = if pname == name {
                        Some(value.clone())
                    } else if p["in"] == "path" {
                        cases(pname, &p["schema"], &slug).into_iter().next()
                    } else {
                        None
                    };
                    match (p["in"].as_str(), chosen) {
                        (Some("path"), Some(v)) => uri = uri.replace(&format!("{{{pname}}}"), &v),
                        (Some("query"), Some(v)) => query.push(format!("{pname}={v}")),
                        _ => {}
                    }
                }
                requests.push((uri, query));
            }
        }
        requests.push((
            parameters.iter().fold(path.clone(), |uri, p| {
                let pname = p["name"].as_str().unwrap();
                match cases(pname, &p["schema"], &slug).into_iter().next() {
                    Some(v) if p["in"] == "path" => uri.replace(&format!("{{{pname}}}"), &v),
                    _ => uri,
                }
            }),
            vec!["unknown_parameter=1".into()],
        ));
        for (uri, query) in requests {
            if uri.contains('{') {
                continue;
            }
            let target = if query.is_empty() {
                uri.clone()
            } else {
                format!("{uri}?{}", query.join("&"))
            };
            let response = http_get(&server.address, &target);
            calls += 1;
            let status: String = response.split_whitespace().nth(1).unwrap_or("").to_string();
            let Some(documented) = operation["responses"].get(&status) else {
                problems.push(format!("{target}: status {status} is not documented"));
                continue;
            };
            let text = body(&response);
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                problems.push(format!(
                    "{target}: {status} without a JSON body: {text:.200}"
                ));
                continue;
            };
            let schema = &documented["content"]["application/json"]["schema"];
            if !schema.is_null() {
                let mut found = Vec::new();
                violations(schema, &value, &document, "body", &mut found);
                problems.extend(
                    found
                        .into_iter()
                        .map(|p| format!("{target} ({status}): {p}")),
                );
            }
        }
    }
    assert!(calls > 150, "only {calls} calls");
    assert!(
        problems.is_empty(),
        "{} of {calls} calls broke the contract:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
