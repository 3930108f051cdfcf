//! The tamper-evident `audit_trail` (SPEC §7): each entry's `hash` is SHA-256 over the previous
//! hash and the entry itself (canonical JSON, keys sorted, without `hash`).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// serde_json's map is ordered by key, so `to_string` is canonical for our entries.
fn canonical(v: &Value) -> String {
    v.to_string()
}

/// What the next entry must name as `prevHash`: the last entry's hash, or — after entries the
/// old service wrote without one — the SHA-256 of all of them, which seals every one of them.
pub fn prev_hash(trail: &[Value]) -> Option<String> {
    let last = trail.last()?;
    match last.get("hash").and_then(Value::as_str) {
        Some(h) => Some(h.to_string()),
        None => Some(hex(&Sha256::digest(canonical(&Value::Array(trail.to_vec())).as_bytes()))),
    }
}

/// The head recorded beside the trail: (hash of the last entry, number of entries).
pub fn head(trail: &[Value]) -> (Option<String>, i32) {
    (trail.last().and_then(|e| e.get("hash")).and_then(Value::as_str).map(String::from), trail.len() as i32)
}

/// `verify`, plus the recorded head when there is one: a trail cut short no longer matches it.
pub fn verify_with_head(trail: &Value, head_hash: Option<&str>, count: Option<i32>) -> bool {
    let Some(entries) = trail.as_array() else { return trail.is_null() && count.is_none() };
    if !verify(entries) {
        return false;
    }
    match (head_hash, count) {
        (Some(h), Some(n)) => entries.len() as i32 == n && entries.last().and_then(|e| e.get("hash")).and_then(Value::as_str) == Some(h),
        (None, Some(n)) => entries.len() as i32 == n,
        _ => true,
    }
}

fn entry_hash(prev: Option<&str>, entry_without_hash: &Value) -> String {
    let mut h = Sha256::new();
    h.update(prev.unwrap_or("").as_bytes());
    h.update(canonical(entry_without_hash).as_bytes());
    hex(&h.finalize())
}

/// A new entry chained after `trail`.
pub fn entry(trail: &[Value], action: &str, actor: &str, at: &str, details: Value) -> Value {
    let prev = prev_hash(trail);
    let mut e = Map::new();
    e.insert("action".into(), json!(action));
    e.insert("actor".into(), json!(actor));
    e.insert("at".into(), json!(at));
    e.insert("details".into(), details);
    e.insert("prevHash".into(), json!(prev));
    let mut e = Value::Object(e);
    let hash = entry_hash(prev.as_deref(), &e);
    e["hash"] = json!(hash);
    e
}

/// Whether every hashed entry links to its predecessor and hashes to what it says.
pub fn verify(trail: &[Value]) -> bool {
    for (i, e) in trail.iter().enumerate() {
        let Some(hash) = e.get("hash").and_then(Value::as_str) else {
            // An unhashed entry after hashed ones was inserted by someone else.
            if trail[..i].iter().any(|p| p.get("hash").is_some()) {
                return false;
            }
            continue;
        };
        let expected_prev = prev_hash(&trail[..i]);
        let stated_prev = e.get("prevHash").and_then(Value::as_str).map(String::from);
        if stated_prev != expected_prev {
            return false;
        }
        let mut without = e.clone();
        if let Some(obj) = without.as_object_mut() {
            obj.remove("hash");
        }
        if entry_hash(expected_prev.as_deref(), &without) != hash {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<Value> {
        let mut t: Vec<Value> = vec![json!({"action": "created", "by": "old service"})];
        for i in 0..n {
            let e = entry(&t, "approved", &format!("admin:{i}"), "2026-01-01T00:00:00.000Z", json!({"n": i, "note": "ok"}));
            t.push(e);
        }
        t
    }

    #[test]
    fn a_chain_verifies_and_any_edit_breaks_it() {
        let t = chain(4);
        assert!(verify(&t));
        for i in 0..t.len() {
            let mut edited = t.clone();
            edited[i]["action"] = json!("tampered");
            assert!(!verify(&edited), "edit of entry {i} went unnoticed");
        }
        let mut dropped = t.clone();
        dropped.remove(2);
        assert!(!verify(&dropped), "a removed entry breaks the chain");
        let mut inserted = t.clone();
        inserted.insert(3, json!({"action": "sneaky"}));
        assert!(!verify(&inserted));
    }

    #[test]
    fn every_legacy_entry_is_sealed_and_truncation_shows_against_the_head() {
        let mut t: Vec<Value> = vec![json!({"action": "old-1"}), json!({"action": "old-2"})];
        t.push(entry(&t, "approved", "admin:1", "2026-01-01T00:00:00.000Z", json!({})));
        assert!(verify(&t));
        let mut edited = t.clone();
        edited[0]["action"] = json!("forged");
        assert!(!verify(&edited), "the first legacy entry is sealed too");
        let (h, n) = head(&t);
        let full = Value::Array(t.clone());
        assert!(verify_with_head(&full, h.as_deref(), Some(n)));
        let mut cut = t.clone();
        cut.pop();
        assert!(verify(&cut), "a cut trail is internally consistent...");
        assert!(!verify_with_head(&Value::Array(cut), h.as_deref(), Some(n)), "...but not with its head");
        assert!(!verify_with_head(&json!({"not": "an array"}), None, None));
    }

    #[test]
    fn survives_a_jsonb_round_trip() {
        // Key order and whitespace change in PostgreSQL; the canonical form does not.
        let t = chain(2);
        let reparsed: Vec<Value> = serde_json::from_str(&serde_json::to_string_pretty(&t).unwrap()).unwrap();
        assert!(verify(&reparsed));
    }
}
