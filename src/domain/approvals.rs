//! The `approval_workflow` object (SPEC §4), read from ours or the old service's array shape,
//! and the approval rules: distinct admins, the creator rule, the required count.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub admin_id: i32,
    pub email: Option<String>,
    pub role: Option<String>,
    pub at: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    pub admin_id: i32,
    pub email: Option<String>,
    pub at: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalWorkflow {
    pub required_approvals: u32,
    pub approvals: Vec<Approval>,
    pub rejection: Option<Rejection>,
    /// The old service's array, kept verbatim when a legacy row is first rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub legacy: Option<Value>,
}

impl ApprovalWorkflow {
    pub fn new(required: u32) -> Self {
        ApprovalWorkflow { required_approvals: required.max(2), approvals: Vec::new(), rejection: None, legacy: None }
    }

    /// Reads our object shape or the old `[{step, status, requiredApprovals, currentApprovals,
    /// approvers: [...], createdAt}]`; anything unreadable becomes an empty workflow.
    pub fn read(value: &Value, configured_required: u32) -> Self {
        let required_floor = configured_required.max(2);
        match value {
            Value::Object(o) => {
                let mut w: ApprovalWorkflow = serde_json::from_value(value.clone()).unwrap_or_else(|_| {
                    // Not quite our shape: keep what can be read, and the original verbatim.
                    let required = o.get("requiredApprovals").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()));
                    let approvals = o
                        .get("approvals")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(|x| serde_json::from_value::<Approval>(x.clone()).ok()).collect())
                        .unwrap_or_default();
                    ApprovalWorkflow {
                        required_approvals: required.map(|n| n as u32).unwrap_or(required_floor),
                        approvals,
                        rejection: o.get("rejection").and_then(|r| serde_json::from_value(r.clone()).ok()),
                        legacy: Some(value.clone()),
                    }
                });
                w.required_approvals = w.required_approvals.max(required_floor);
                w
            }
            Value::Array(steps) => {
                let mut w = ApprovalWorkflow::new(required_floor);
                for step in steps {
                    if let Some(n) = step.get("requiredApprovals").and_then(Value::as_u64) {
                        w.required_approvals = w.required_approvals.max(n as u32);
                    }
                    for approver in step.get("approvers").and_then(Value::as_array).into_iter().flatten() {
                        let Some(admin_id) = approver.get("adminId").and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok())) else {
                            continue;
                        };
                        if w.approvals.iter().any(|a| a.admin_id == admin_id as i32) {
                            continue;
                        }
                        let text = |k: &str| approver.get(k).and_then(Value::as_str).map(String::from);
                        w.approvals.push(Approval {
                            admin_id: admin_id as i32,
                            email: text("email"),
                            role: text("role"),
                            at: text("approvedAt").or_else(|| text("at")),
                            comment: text("comment"),
                        });
                    }
                }
                if !steps.is_empty() {
                    w.legacy = Some(value.clone());
                }
                w
            }
            _ => ApprovalWorkflow::new(required_floor),
        }
    }

    pub fn current(&self) -> u32 {
        self.approvals.len() as u32
    }

    pub fn fully_approved(&self) -> bool {
        self.current() >= self.required_approvals
    }
}

/// Why an admin may not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalRefusal {
    AlreadyApproved,
    SelfApproval,
}

/// Adds `approval` under SPEC §4's rules; returns whether the payout is now fully approved.
pub fn approve(
    workflow: &mut ApprovalWorkflow,
    approval: Approval,
    created_by: Option<i32>,
    allow_creator_approval: bool,
) -> Result<bool, ApprovalRefusal> {
    if workflow.approvals.iter().any(|a| a.admin_id == approval.admin_id) {
        return Err(ApprovalRefusal::AlreadyApproved);
    }
    if !allow_creator_approval && created_by == Some(approval.admin_id) {
        return Err(ApprovalRefusal::SelfApproval);
    }
    workflow.approvals.push(approval);
    Ok(workflow.fully_approved())
}

pub fn now_iso() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn a(id: i32) -> Approval {
        Approval { admin_id: id, email: None, role: None, at: None, comment: None }
    }

    #[test]
    fn distinct_admins_the_creator_rule_and_the_count() {
        let mut w = ApprovalWorkflow::new(2);
        assert_eq!(approve(&mut w, a(7), Some(7), false), Err(ApprovalRefusal::SelfApproval));
        assert_eq!(approve(&mut w, a(1), Some(7), false), Ok(false));
        assert_eq!(approve(&mut w, a(1), Some(7), false), Err(ApprovalRefusal::AlreadyApproved));
        assert_eq!(approve(&mut w, a(2), Some(7), false), Ok(true));
        let mut w = ApprovalWorkflow::new(2);
        assert_eq!(approve(&mut w, a(7), Some(7), true), Ok(false), "ALLOW_CREATOR_APPROVAL=true");
    }

    #[test]
    fn never_fewer_than_two_required() {
        assert_eq!(ApprovalWorkflow::new(1).required_approvals, 2);
        let w = ApprovalWorkflow::read(&json!({"requiredApprovals": 1, "approvals": [], "rejection": null}), 2);
        assert_eq!(w.required_approvals, 2);
        let w = ApprovalWorkflow::read(&json!({"requiredApprovals": 2, "approvals": [], "rejection": null}), 3);
        assert_eq!(w.required_approvals, 3, "a stricter configuration applies to open payouts too");
    }

    #[test]
    fn the_old_array_shape_is_read() {
        let legacy = json!([{ "step": "admin_approval", "status": "pending", "requiredApprovals": 2, "currentApprovals": 1,
                              "approvers": [{ "adminId": 3, "email": "old@tenure.test", "approvedAt": "2025-01-02T10:00:00Z" },
                                            { "adminId": "3", "email": "dup@tenure.test" }],
                              "createdAt": "2025-01-01T09:00:00Z" }]);
        let w = ApprovalWorkflow::read(&legacy, 2);
        assert_eq!(w.current(), 1, "the same admin counts once");
        assert_eq!(w.approvals[0].admin_id, 3);
        assert_eq!(w.approvals[0].at.as_deref(), Some("2025-01-02T10:00:00Z"));
        assert_eq!(w.legacy, Some(legacy));
        assert_eq!(ApprovalWorkflow::read(&json!([]), 2), ApprovalWorkflow::new(2));
        let odd = json!({"requiredApprovals": "3", "approvals": [{"adminId": 4, "email": null, "role": null, "at": null, "comment": null}, {"bogus": 1}], "rejection": null});
        let w = ApprovalWorkflow::read(&odd, 2);
        assert_eq!((w.required_approvals, w.current()), (3, 1), "what can be read is kept");
        assert_eq!(w.legacy, Some(odd), "and the original verbatim");
        assert_eq!(ApprovalWorkflow::read(&json!(null), 2), ApprovalWorkflow::new(2));
    }

    proptest! {
        #[test]
        fn approvals_are_always_distinct_and_never_the_creator(ids in proptest::collection::vec(1i32..6, 0..30), creator in 1i32..6) {
            let mut w = ApprovalWorkflow::new(2);
            for id in ids {
                let _ = approve(&mut w, a(id), Some(creator), false);
            }
            let mut seen: Vec<i32> = w.approvals.iter().map(|a| a.admin_id).collect();
            prop_assert!(!seen.contains(&creator));
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), w.approvals.len());
        }
    }
}
