//! Staff roles and what each may do. One table ([`Action::allowed`]) decides every
//! permission, for the admin API and the console alike.
//!
//! | role | may |
//! | --- | --- |
//! | tracer | issue authorization codes, read and reject uploaded check-ins, propose a trace (review approval or tracing sheet) |
//! | publisher | everything a tracer reads and proposes except issuing codes; confirm traces (queue notices), publish, withdraw, read the audit log |
//! | administrator | manage staff, see the authority's keys, read the audit log |
//! | ward officer | venue registrations in its own district ([`StaffMember::registry_scope`]); publishers and administrators in every district |
//!
//! Every role may read venue statistics. A person may hold several roles.

use axum::http::StatusCode;
use serde::Serialize;

use crate::error::ApiError;

/// A staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Issues codes and reviews uploads.
    Tracer,
    /// Approves traces, publishes and withdraws.
    Publisher,
    /// Manages staff and keys.
    Administrator,
    /// Registers venues in one district.
    WardOfficer,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 4] = [
        Role::Tracer,
        Role::Publisher,
        Role::Administrator,
        Role::WardOfficer,
    ];

    /// The stored and typed name (`tracer`, `publisher`, `administrator`, `ward-officer`).
    pub fn slug(self) -> &'static str {
        match self {
            Role::Tracer => "tracer",
            Role::Publisher => "publisher",
            Role::Administrator => "administrator",
            Role::WardOfficer => "ward-officer",
        }
    }

    /// Parses a slug (also `ward_officer`).
    pub fn from_slug(s: &str) -> Option<Role> {
        match s.trim() {
            "tracer" => Some(Role::Tracer),
            "publisher" => Some(Role::Publisher),
            "administrator" | "admin" => Some(Role::Administrator),
            "ward-officer" | "ward_officer" => Some(Role::WardOfficer),
            _ => None,
        }
    }

    /// Vietnamese / English label.
    pub fn label(self) -> &'static str {
        match self {
            Role::Tracer => "Truy vết viên / Tracer",
            Role::Publisher => "Người công bố / Publisher",
            Role::Administrator => "Quản trị / Administrator",
            Role::WardOfficer => "Cán bộ phường / Ward officer",
        }
    }

    /// Parses a comma-separated list of slugs (at least one, no unknown).
    pub fn parse_list(s: &str) -> Result<Vec<Role>, String> {
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let r = Role::from_slug(part).ok_or_else(|| {
                format!(
                    "unknown role {:?}: use tracer, publisher, administrator or ward-officer",
                    part.trim()
                )
            })?;
            if !out.contains(&r) {
                out.push(r);
            }
        }
        if out.is_empty() {
            return Err(
                "at least one role is needed: tracer, publisher, administrator, ward-officer"
                    .into(),
            );
        }
        out.sort();
        Ok(out)
    }
}

/// Something a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Issue an authorization code for a confirmed case.
    IssueCode,
    /// Read the review queue.
    ReadReviews,
    /// Reject (discard) an uploaded check-in.
    RejectReview,
    /// Propose a trace: approve a review or trace from a sheet, subject to confirmation.
    ProposeTrace,
    /// Confirm a trace so that its notices are queued for publication.
    ConfirmTrace,
    /// Publish a bulletin now.
    Publish,
    /// Withdraw a notice.
    Withdraw,
    /// Read notices and bulletin history.
    ReadPublications,
    /// Read the audit log.
    ReadAudit,
    /// Read venue statistics.
    ReadStats,
    /// Add, disable staff, change roles, reset passwords.
    ManageStaff,
    /// See and manage the authority's keys.
    ManageKeys,
    /// Register, approve or revoke venues (a ward officer: in their district only).
    ManageVenueRegistrations,
}

impl Action {
    /// The roles allowed to do this.
    pub fn allowed(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::IssueCode => &[Tracer],
            Action::ReadReviews | Action::RejectReview | Action::ProposeTrace => {
                &[Tracer, Publisher]
            }
            Action::ConfirmTrace | Action::Publish | Action::Withdraw => &[Publisher],
            Action::ReadPublications => &[Tracer, Publisher, Administrator],
            Action::ReadAudit => &[Publisher, Administrator],
            Action::ReadStats => &[Tracer, Publisher, Administrator, WardOfficer],
            Action::ManageStaff | Action::ManageKeys => &[Administrator],
            Action::ManageVenueRegistrations => &[WardOfficer, Publisher, Administrator],
        }
    }
}

/// An authenticated, enabled staff member with their roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Roles held (sorted, at least one for a usable account).
    pub roles: Vec<Role>,
    /// The district of a ward officer.
    pub district: Option<String>,
}

impl StaffMember {
    /// Whether this person may do `action`.
    pub fn can(&self, action: Action) -> bool {
        action.allowed().iter().any(|r| self.roles.contains(r))
    }

    /// `Ok` if allowed, else 403 `forbidden` naming the roles that may.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if self.can(action) {
            return Ok(());
        }
        let roles: Vec<&str> = action.allowed().iter().map(|r| r.slug()).collect();
        Err(forbidden(format!(
            "this needs the role {} (you have: {})",
            roles.join(" or "),
            self.role_slugs()
        )))
    }

    /// Where this person may manage venue registrations: `Ok(None)` every district
    /// (a publisher or an administrator), `Ok(Some(d))` district `d` only (a ward
    /// officer), else 403.
    pub fn registry_scope(&self) -> Result<Option<&str>, ApiError> {
        self.require(Action::ManageVenueRegistrations)?;
        if self.roles.contains(&Role::Administrator) || self.roles.contains(&Role::Publisher) {
            return Ok(None);
        }
        match self.district.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Ok(Some(d)),
            _ => Err(forbidden("a ward officer needs a district")),
        }
    }

    /// `tracer,publisher`.
    pub fn role_slugs(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.slug())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// 403 `forbidden`.
pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(roles: &[Role], district: Option<&str>) -> StaffMember {
        StaffMember {
            id: 1,
            name: "a".into(),
            roles: roles.to_vec(),
            district: district.map(str::to_owned),
        }
    }

    #[test]
    fn each_role_gets_exactly_its_actions() {
        let tracer = member(&[Role::Tracer], None);
        assert!(tracer.can(Action::IssueCode) && tracer.can(Action::ProposeTrace));
        for a in [
            Action::ConfirmTrace,
            Action::Publish,
            Action::Withdraw,
            Action::ManageStaff,
            Action::ReadAudit,
        ] {
            assert!(!tracer.can(a), "{a:?}");
        }
        let publisher = member(&[Role::Publisher], None);
        assert!(publisher.can(Action::Publish) && publisher.can(Action::Withdraw));
        assert!(!publisher.can(Action::IssueCode) && !publisher.can(Action::ManageStaff));
        let admin = member(&[Role::Administrator], None);
        assert!(admin.can(Action::ManageStaff) && !admin.can(Action::Publish));
        let err = admin.require(Action::Publish).unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn ward_officers_act_only_in_their_district() {
        let w = member(&[Role::WardOfficer], Some("Hoàn Kiếm"));
        assert_eq!(w.registry_scope().unwrap(), Some("Hoàn Kiếm"));
        let no_district = member(&[Role::WardOfficer], None);
        assert!(no_district.registry_scope().is_err());
        assert_eq!(
            member(&[Role::Administrator], None)
                .registry_scope()
                .unwrap(),
            None
        );
        assert_eq!(
            member(&[Role::Publisher], None).registry_scope().unwrap(),
            None
        );
        let err = member(&[Role::Tracer], None).registry_scope().unwrap_err();
        assert_eq!(err.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn role_lists_parse_strictly() {
        assert_eq!(
            Role::parse_list("publisher, tracer,tracer").unwrap(),
            vec![Role::Tracer, Role::Publisher]
        );
        assert!(Role::parse_list("").is_err());
        assert!(Role::parse_list("tracer,root").is_err());
    }
}
