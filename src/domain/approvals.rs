//! The `approval_workflow` object (SPEC §4), read from ours or the old service's array shape,
//! and the approval rules: distinct admins, the creator rule, the required count.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// One admin's approval of a payout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub admin_id: i32,
    pub email: Option<String>,
    pub role: Option<String>,
    pub at: Option<String>,
    pub comment: Option<String>,
    /// The destination this approval vouches for (SPEC §12): an HMAC over the method, the
    /// destination and the net amount. Approvals the old service recorded have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Who rejected a payout, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    pub admin_id: i32,
    pub email: Option<String>,
    pub at: String,
    pub reason: String,
}

/// The `approval_workflow` of a payout: how many distinct admins must approve, who did, and a rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalWorkflow {
    pub required_approvals: u32,
    pub approvals: Vec<Approval>,
    pub rejection: Option<Rejection>,
    /// The old service's array, kept verbatim when a legacy row is first rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub legacy: Option<Value>,
}

impl ApprovalWorkflow {
    /// No approvals yet; never fewer than two required.
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
                            fingerprint: None,
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

    /// Distinct approvals so far.
    pub fn current(&self) -> u32 {
        self.approvals.len() as u32
    }

    /// Enough distinct admins approved.
    pub fn fully_approved(&self) -> bool {
        self.current() >= self.required_approvals
    }
}

/// The admin asking to approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub admin_id: i32,
    /// The admin's own member account (`users.id`).
    pub user_id: uuid::Uuid,
    pub email: String,
    pub role: Option<String>,
}

/// What the rules need to know about the payout being approved.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalPolicy<'a> {
    /// The `admin.id` that created the payout.
    pub created_by: Option<i32>,
    /// The creator's email (lowercase), to recognise the creator behind a second admin row.
    pub creator_email: Option<&'a str>,
    /// The member being paid.
    pub payee: uuid::Uuid,
    /// ALLOW_CREATOR_APPROVAL.
    pub allow_creator_approval: bool,
    /// Who last set the bank details (`admin:<id>` or `user:<uuid>`): they may not approve them.
    pub destination_maker: Option<&'a str>,
}

/// Whose payout an approver may not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfApproval {
    /// The admin who created it (by id, or by email behind another admin row).
    Creator,
    /// The member it pays.
    Payee,
    /// The admin who last set its bank details (maker ≠ checker for the destination too).
    DestinationMaker,
}

/// Why an admin may not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalRefusal {
    /// This person (by admin id, or by email behind another admin row) already approved.
    AlreadyApproved,
    SelfApproval(SelfApproval),
}

impl ApprovalRefusal {
    /// The sentence the caller reads.
    pub fn message(self) -> &'static str {
        match self {
            ApprovalRefusal::AlreadyApproved => "You have already approved this payout; another admin must approve it",
            ApprovalRefusal::SelfApproval(SelfApproval::Creator) => "The admin who created a payout cannot approve it; another admin must",
            ApprovalRefusal::SelfApproval(SelfApproval::Payee) => "You cannot approve a payout that pays you; another admin must",
            ApprovalRefusal::SelfApproval(SelfApproval::DestinationMaker) => {
                "You set this payout's bank details, so you cannot approve them; another admin must"
            }
        }
    }
}

/// Adds the approval under SPEC §4's rules — distinct people (one person may hide behind two
/// admin rows whose emails differ only in case), never the member being paid, never the creator
/// unless allowed — and returns whether the payout is now fully approved.
pub fn approve(
    workflow: &mut ApprovalWorkflow,
    approver: &Approver,
    at: String,
    comment: Option<String>,
    fingerprint: Option<String>,
    policy: ApprovalPolicy<'_>,
) -> Result<bool, ApprovalRefusal> {
    let me = approver.email.to_lowercase();
    let same_person = |a: &Approval| a.admin_id == approver.admin_id || a.email.as_deref().map(str::to_lowercase).as_deref() == Some(me.as_str());
    if workflow.approvals.iter().any(same_person) {
        return Err(ApprovalRefusal::AlreadyApproved);
    }
    if approver.user_id == policy.payee {
        return Err(ApprovalRefusal::SelfApproval(SelfApproval::Payee));
    }
    let is_creator = policy.created_by == Some(approver.admin_id) || policy.creator_email == Some(me.as_str());
    if is_creator && !policy.allow_creator_approval {
        return Err(ApprovalRefusal::SelfApproval(SelfApproval::Creator));
    }
    if policy.destination_maker == Some(format!("admin:{}", approver.admin_id).as_str()) {
        return Err(ApprovalRefusal::SelfApproval(SelfApproval::DestinationMaker));
    }
    workflow.approvals.push(Approval {
        admin_id: approver.admin_id,
        email: Some(approver.email.clone()),
        role: approver.role.clone(),
        at: Some(at),
        comment,
        fingerprint,
    });
    Ok(workflow.fully_approved())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn a(id: i32) -> Approver {
        Approver { admin_id: id, user_id: uuid::Uuid::from_u128(1000 + id as u128), email: format!("admin{id}@tenure.test"), role: None }
    }

    fn policy(creator: i32, allow: bool) -> ApprovalPolicy<'static> {
        ApprovalPolicy { created_by: Some(creator), creator_email: None, payee: uuid::Uuid::from_u128(1), allow_creator_approval: allow, destination_maker: None }
    }

    fn approve_as(w: &mut ApprovalWorkflow, who: Approver, created_by: Option<i32>, allow: bool) -> Result<bool, ApprovalRefusal> {
        approve(w, &who, "2026-01-01T00:00:00.000Z".into(), None, None, policy(created_by.unwrap_or(-1), allow))
    }

    #[test]
    fn distinct_admins_the_creator_rule_and_the_count() {
        let mut w = ApprovalWorkflow::new(2);
        assert_eq!(approve_as(&mut w, a(7), Some(7), false), Err(ApprovalRefusal::SelfApproval(SelfApproval::Creator)));
        assert_eq!(approve_as(&mut w, a(1), Some(7), false), Ok(false));
        assert_eq!(approve_as(&mut w, a(1), Some(7), false), Err(ApprovalRefusal::AlreadyApproved));
        assert_eq!(approve_as(&mut w, a(2), Some(7), false), Ok(true));
        let mut w = ApprovalWorkflow::new(2);
        assert_eq!(approve_as(&mut w, a(7), Some(7), true), Ok(false), "ALLOW_CREATOR_APPROVAL=true");
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

    #[test]
    fn the_same_person_behind_two_admin_rows_and_the_payee_are_refused() {
        let mut w = ApprovalWorkflow::new(2);
        let first = Approver { admin_id: 1, user_id: uuid::Uuid::from_u128(11), email: "Ann@Tenure.test".into(), role: None };
        assert_eq!(approve(&mut w, &first, "t".into(), None, None, policy(9, false)), Ok(false));
        let alias = Approver { admin_id: 2, user_id: uuid::Uuid::from_u128(12), email: "ann@tenure.test".into(), role: None };
        assert_eq!(approve(&mut w, &alias, "t".into(), None, None, policy(9, false)), Err(ApprovalRefusal::AlreadyApproved));
        let payee = Approver { admin_id: 3, user_id: uuid::Uuid::from_u128(1), email: "payee@tenure.test".into(), role: None };
        assert_eq!(approve(&mut w, &payee, "t".into(), None, None, policy(9, true)), Err(ApprovalRefusal::SelfApproval(SelfApproval::Payee)));
        let creator_alias = Approver { admin_id: 4, user_id: uuid::Uuid::from_u128(14), email: "Boss@tenure.test".into(), role: None };
        let by_email = ApprovalPolicy { creator_email: Some("boss@tenure.test"), ..policy(9, false) };
        assert_eq!(approve(&mut w, &creator_alias, "t".into(), None, None, by_email), Err(ApprovalRefusal::SelfApproval(SelfApproval::Creator)));
        let maker = ApprovalPolicy { destination_maker: Some("admin:5"), ..policy(9, false) };
        let setter = Approver { admin_id: 5, user_id: uuid::Uuid::from_u128(15), email: "setter@tenure.test".into(), role: None };
        assert_eq!(approve(&mut w, &setter, "t".into(), None, None, maker), Err(ApprovalRefusal::SelfApproval(SelfApproval::DestinationMaker)));
        assert_eq!(w.current(), 1, "refusals change nothing");
    }

    proptest! {
        #[test]
        fn approvals_are_always_distinct_and_never_the_creator(ids in proptest::collection::vec(1i32..6, 0..30), creator in 1i32..6) {
            let mut w = ApprovalWorkflow::new(2);
            for id in ids {
                let _ = approve_as(&mut w, a(id), Some(creator), false);
            }
            let mut seen: Vec<i32> = w.approvals.iter().map(|a| a.admin_id).collect();
            prop_assert!(!seen.contains(&creator));
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), w.approvals.len());
        }
    }
}
