//! Staff management (administrators): add, change roles, reset a password,
//! disable and enable. New secrets are shown once.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use zeroize::Zeroizing;

use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, esc, url_part};
use crate::db::now;
use crate::roles::{Action, Role};
use crate::staff::{self, NewStaff};

use super::{Empty, local};

fn role_boxes(checked: &[Role]) -> String {
    Role::ALL
        .iter()
        .map(|r| {
            format!(
                "<label><input type=\"checkbox\" name=\"role\" value=\"{}\"{}> {}</label>",
                r.slug(),
                if checked.contains(r) { " checked" } else { "" },
                esc(r.label())
            )
        })
        .collect()
}

/// `GET /console/staff`.
pub async fn list(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ManageStaff)?;
    render(&s, &c, "").await
}

async fn render(s: &ConsoleState, c: &Console, top: &str) -> Result<Response, ConsoleError> {
    let rows = s.app.read(|conn, _| Ok(staff::list(conn)?)).await?;
    let mut cards = String::new();
    for r in &rows {
        let path = format!("/console/staff/{}", url_part(&r.name));
        let roles_form = html::form(
            &c.viewer,
            &format!("{path}/roles"),
            &format!(
                "{}<label>Quận / District <input type=\"text\" name=\"district\" value=\"{}\"></label>",
                role_boxes(&r.roles),
                esc(r.district.as_deref().unwrap_or(""))
            ),
            "Lưu vai trò / Save roles",
            "secondary",
        );
        let toggle = if r.disabled {
            html::button_form(&c.viewer, &format!("{path}/enable"), "Mở lại / Enable", "")
        } else {
            html::button_form(&c.viewer, &format!("{path}/disable"), "Khóa / Disable", "danger")
        };
        cards.push_str(&format!(
            "<div class=\"card staff-row\" data-name=\"{name}\"><b>{name}</b> · {state} · {sessions} phiên / sessions · {created}\
<details><summary>Vai trò / Roles: {roles}</summary>{roles_form}</details>{reset} {toggle}</div>",
            name = esc(&r.name),
            state = if r.disabled { "đã khóa / disabled" } else { "hoạt động / active" },
            sessions = r.sessions,
            created = esc(&local(s, r.created_at)),
            roles = esc(&r.roles.iter().map(|r| r.slug()).collect::<Vec<_>>().join(", ")),
            reset = html::button_form(&c.viewer, &format!("{path}/password"), "Đặt lại mật khẩu / Reset password", "secondary"),
        ));
    }
    let add = html::form(
        &c.viewer,
        "/console/staff",
        &format!(
            "<label for=\"new-name\">Tên đăng nhập / Name</label><input type=\"text\" id=\"new-name\" name=\"name\" required maxlength=\"64\">\
<fieldset><legend>Vai trò / Roles</legend>{}</fieldset>\
<label>Quận (cán bộ phường) / District (ward officers) <input type=\"text\" name=\"district\"></label>",
            role_boxes(&[])
        ),
        "Thêm nhân viên / Add staff member",
        "",
    );
    let body = format!(
        "{top}<div class=\"card\"><h2>Thêm / Add</h2>{add}</div><h2>Nhân viên / Staff ({n})</h2>{cards}",
        n = rows.len()
    );
    Ok(html::page(&c.viewer, "/console/staff", "Nhân viên / Staff", &body))
}

fn parse(pairs: &[(String, String)]) -> (Vec<Role>, Option<String>, String) {
    let roles: Vec<Role> = pairs
        .iter()
        .filter(|(k, _)| k == "role")
        .filter_map(|(_, v)| Role::from_slug(v))
        .collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let district = Some(field("district")).filter(|d| !d.is_empty());
    let mut roles = roles;
    roles.sort();
    roles.dedup();
    (roles, district, field("name"))
}

fn shown_once(what_vi: &str, what_en: &str, name: &str, secret: &str, id: &str) -> String {
    format!(
        "<div class=\"success\" role=\"status\">{} <b>{}</b>:<p class=\"secret\" id=\"{id}\">{}</p>\
Chỉ hiện một lần: hãy trao trực tiếp cho người đó.<br><span class=\"en\">{} Shown only once: hand it over in person.</span></div>",
        esc(what_vi),
        esc(name),
        esc(secret),
        esc(what_en)
    )
}

/// `POST /console/staff`: adds a staff member.
pub async fn add(
    State(s): State<ConsoleState>,
    c: Console,
    ConsoleForm(pairs): ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageStaff)?;
    let (roles, district, name) = parse(&pairs);
    let by = c.member().name.clone();
    let new = NewStaff {
        name: name.clone(),
        roles,
        district,
        password: None,
    };
    let creds = s
        .app
        .write(move |tx, _| staff::add(tx, &new, &by, now()).map_err(|e| crate::console::auth::ConsoleError::from(e).0))
        .await?;
    let top = format!(
        "{}{}",
        shown_once("Mật khẩu ban đầu của", "Initial console password.", &name, &creds.password, "new-password"),
        shown_once("Mã API (tự động hóa) của", "API token (automation).", &name, &creds.token, "new-token")
    );
    render(&s, &c, &top).await
}

/// `POST /console/staff/{name}/roles`.
pub async fn roles(
    State(s): State<ConsoleState>,
    c: Console,
    Path(name): Path<String>,
    ConsoleForm(pairs): ConsoleForm<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageStaff)?;
    let (roles, district, _) = parse(&pairs);
    if name == c.member().name && !roles.contains(&Role::Administrator) {
        return Err(ConsoleError(crate::error::ApiError::conflict(
            "Bạn không thể tự bỏ quyền quản trị / You cannot remove your own administrator role",
        )));
    }
    let by = c.member().name.clone();
    s.app
        .write(move |tx, _| {
            staff::set_roles(tx, &name, &roles, district, &by, now())
                .map_err(|e| ConsoleError::from(e).0)
        })
        .await?;
    Ok(Redirect::to("/console/staff").into_response())
}

/// `POST /console/staff/{name}/password`: a new generated password, shown once;
/// that person's sessions end.
pub async fn reset_password(
    State(s): State<ConsoleState>,
    c: Console,
    Path(name): Path<String>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageStaff)?;
    let by = c.member().name.clone();
    let n = name.clone();
    let pw: Zeroizing<String> = s
        .app
        .write(move |tx, _| staff::set_password(tx, &n, None, &by, now()).map_err(|e| ConsoleError::from(e).0))
        .await?;
    let top = shown_once("Mật khẩu mới của", "New console password.", &name, &pw, "new-password");
    render(&s, &c, &top).await
}

/// `POST /console/staff/{name}/disable`.
pub async fn disable(
    State(s): State<ConsoleState>,
    c: Console,
    Path(name): Path<String>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageStaff)?;
    if name == c.member().name {
        return Err(ConsoleError(crate::error::ApiError::conflict(
            "Bạn không thể tự khóa tài khoản của mình / You cannot disable yourself",
        )));
    }
    let by = c.member().name.clone();
    s.app
        .write(move |tx, _| staff::disable(tx, &name, &by, now()).map_err(|e| ConsoleError::from(e).0))
        .await?;
    Ok(Redirect::to("/console/staff").into_response())
}

/// `POST /console/staff/{name}/enable`.
pub async fn enable(
    State(s): State<ConsoleState>,
    c: Console,
    Path(name): Path<String>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ManageStaff)?;
    let by = c.member().name.clone();
    s.app
        .write(move |tx, _| staff::enable(tx, &name, &by, now()).map_err(|e| ConsoleError::from(e).0))
        .await?;
    Ok(Redirect::to("/console/staff").into_response())
}
