//! SPEC §6: values the old Node service encrypted (16-byte IV) decrypt here, and ours decrypt in Node.

use std::process::Command;

use payout_service::crypto::Keyring;
use secrecy::SecretString;
use serde_json::{json, Value};

const KEY: &str = "legacy-node-key-0123456789abcdef";

fn node(script: &str, input: &str) -> String {
    let out = Command::new("node")
        .args(["-e", script, KEY, input])
        .output()
        .expect("node is needed for the crypto interop test: install Node.js");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_value_encrypted_by_nodes_crypto_decrypts() {
    let plaintext = json!({ "accountHolderName": "Old Row", "routingNumber": "011000015", "accountNumber": "123456789", "accountType": "checking" }).to_string();
    // Exactly how the old service wrote bank_details: aes-256-gcm, 16 random IV bytes, hex.
    let encrypted = node(
        "const c=require('crypto');const [k,p]=process.argv.slice(1);const iv=c.randomBytes(16);\
         const x=c.createCipheriv('aes-256-gcm',Buffer.from(k,'utf8'),iv);\
         const e=Buffer.concat([x.update(p,'utf8'),x.final()]);\
         process.stdout.write(JSON.stringify({encrypted:e.toString('hex'),iv:iv.toString('hex'),authTag:x.getAuthTag().toString('hex')}))",
        &plaintext,
    );
    let value: Value = serde_json::from_str(&encrypted).unwrap();
    assert_eq!(value["iv"].as_str().unwrap().len(), 32, "a 16-byte IV, as Node wrote it");
    let ring = Keyring::new(&SecretString::from(KEY.to_string()), &[]);
    let (plain, current) = ring.decrypt(&value).unwrap();
    assert_eq!(String::from_utf8(plain).unwrap(), plaintext);
    assert!(!current, "16-byte IV values are re-encrypted by reencrypt");
}

#[test]
fn a_value_we_encrypt_decrypts_in_node() {
    let ring = Keyring::new(&SecretString::from(KEY.to_string()), &[]);
    let value = ring.encrypt(b"tin:123456789");
    let plain = node(
        "const c=require('crypto');const [k,v]=process.argv.slice(1);const o=JSON.parse(v);\
         const d=c.createDecipheriv('aes-256-gcm',Buffer.from(k,'utf8'),Buffer.from(o.iv,'hex'));\
         d.setAuthTag(Buffer.from(o.authTag,'hex'));\
         process.stdout.write(Buffer.concat([d.update(Buffer.from(o.encrypted,'hex')),d.final()]).toString('utf8'))",
        &value.to_string(),
    );
    assert_eq!(plain, "tin:123456789");
}
