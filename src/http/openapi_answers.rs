//! What every answer really looks like, added to the generated document: success bodies inside
//! the `{data, timestamp, message?}` envelope, and every error status an operation can give
//! (authentication, roles, rate limits, bad paths, queries and bodies, a database away) with the
//! error envelope (SPEC §10). The handlers declare only what is particular to them.

use serde_json::{json, Map, Value};

/// Rewrites the generated document in place.
pub fn complete(doc: &mut Value) {
    doc["components"]["schemas"]["ErrorEnvelope"] = error_envelope();
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            complete_operation(path, method, op);
        }
    }
}

fn complete_operation(path: &str, method: &str, op: &mut Value) {
    let authenticated = op.get("security").is_some();
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let takes = |place: &str| params.iter().any(|p| p["in"] == place);
    let mut standard: Vec<(&str, &str)> = Vec::new();
    if authenticated {
        standard.push(("401", "UNAUTHORIZED or INVALID_SESSION: no valid session"));
        standard.push(("403", "FORBIDDEN (the role does not allow it) or CSRF_REJECTED"));
        standard.push(("429", "RATE_LIMITED, with Retry-After"));
    }
    if takes("path") {
        standard.push(("400", "VALIDATION_ERROR: a malformed id"));
        standard.push(("404", "Not found (also what is not the caller's)"));
    }
    if takes("query") {
        standard.push(("400", "VALIDATION_ERROR: every bad query parameter"));
    }
    if method == "post" {
        standard.push(("400", "VALIDATION_ERROR: every bad field, or a body that is not a JSON object"));
        standard.push(("413", "PAYLOAD_TOO_LARGE"));
        standard.push(("415", "UNSUPPORTED_MEDIA_TYPE: a body that is not JSON"));
        // Any change may collide with a concurrent one, and any may carry an Idempotency-Key.
        standard.push(("409", "CONFLICT (a concurrent change; retry) or IDEMPOTENCY_KEY_IN_PROGRESS"));
        standard.push(("422", "IDEMPOTENCY_KEY_REUSED: the key was used with a different request"));
    }
    if path.starts_with("/api/") {
        standard.push(("503", "SERVICE_UNAVAILABLE: the database is unreachable"));
    }
    let responses = op["responses"].as_object_mut().map(std::mem::take).unwrap_or_default();
    let mut completed = Map::new();
    for (code, mut response) in responses {
        if code.starts_with('2') {
            if let Some(schema) = response.pointer_mut("/content/application~1json/schema") {
                *schema = success_envelope(schema.take());
            }
        } else if path == "/api/health" && code == "503" {
            // The health report is still the answer, with the status saying what is down.
            let report = op_success_schema(&completed).unwrap_or(json!({}));
            response["content"] = json!({ "application/json": { "schema": report } });
        } else if response.get("content").is_none() {
            response["content"] = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } });
        }
        completed.insert(code, response);
    }
    for (code, description) in standard {
        completed.entry(code.to_string()).or_insert_with(|| {
            json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } } })
        });
    }
    op["responses"] = Value::Object(completed);
}

/// The enveloped 200 schema already completed, for answers that reuse it.
fn op_success_schema(completed: &Map<String, Value>) -> Option<Value> {
    completed.get("200")?.pointer("/content/application~1json/schema").cloned()
}

fn success_envelope(data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["data", "timestamp"],
        "properties": {
            "data": data,
            "timestamp": { "type": "string", "format": "date-time" },
            "message": { "type": "string" }
        }
    })
}

fn error_envelope() -> Value {
    json!({
        "type": "object",
        "description": "Every error answer (SPEC §10).",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "timestamp", "requestId"],
                "properties": {
                    "code": { "$ref": "#/components/schemas/ErrorCode" },
                    "message": { "type": "string" },
                    "timestamp": { "type": "string", "format": "date-time" },
                    "requestId": { "type": "string" },
                    "details": { "description": "For VALIDATION_ERROR the list of {path, message}; other codes may add an object." }
                }
            }
        }
    })
}
