//! The logged-in person's own account: change the console password (every session
//! ends, including this one).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html;
use crate::console::{ConsoleState, session};
use crate::db::now;
use crate::error::ApiError;
use crate::{password, staff};

fn render(c: &Console, top: &str) -> Response {
    let inner = "<label for=\"current\">Mật khẩu hiện tại / Current password</label>\
<input type=\"password\" id=\"current\" name=\"current\" autocomplete=\"current-password\" required>\
<label for=\"new\">Mật khẩu mới (ít nhất 12 ký tự) / New password (at least 12 characters)</label>\
<input type=\"password\" id=\"new\" name=\"new\" autocomplete=\"new-password\" required minlength=\"12\">\
<label for=\"again\">Nhập lại / Repeat</label><input type=\"password\" id=\"again\" name=\"again\" autocomplete=\"new-password\" required>";
    html::page(
        &c.viewer,
        "/console/account",
        "Tài khoản / Account",
        &format!(
            "{top}<p>{} · {}</p><div class=\"card\">{}</div>",
            html::esc(&c.member().name),
            html::esc(&c.member().role_slugs()),
            html::form(&c.viewer, "/console/account/password", inner, "Đổi mật khẩu / Change password", "")
        ),
    )
}

/// `GET /console/account`.
pub async fn page(c: Console) -> Response {
    render(&c, "")
}

/// The change form.
#[derive(Deserialize)]
pub struct ChangeForm {
    current: String,
    new: String,
    again: String,
}

/// `POST /console/account/password`.
pub async fn change_password(
    State(s): State<ConsoleState>,
    c: Console,
    ConsoleForm(f): ConsoleForm<ChangeForm>,
) -> Result<Response, ConsoleError> {
    let current = Zeroizing::new(f.current);
    let new = Zeroizing::new(f.new);
    let again = Zeroizing::new(f.again);
    if *new != *again {
        return Ok((
            StatusCode::BAD_REQUEST,
            render(&c, &html::message("error", "Hai mật khẩu mới không khớp.", "The two new passwords differ.")),
        )
            .into_response());
    }
    if let Err(m) = password::check_policy(&new) {
        return Ok((StatusCode::BAD_REQUEST, render(&c, &format!("<div class=\"error\">{}</div>", html::esc(&m)))).into_response());
    }
    let name = c.member().name.clone();
    let n = name.clone();
    let stored = s.app.read(move |conn, _| Ok(staff::login_record(conn, &n)?)).await?;
    let phc = stored.map(|(_, h)| h);
    let ok = tokio::task::spawn_blocking(move || password::verify(&current, phc.as_deref()))
        .await
        .map_err(|e| ApiError::internal("password check", e))?;
    if !ok {
        return Ok((
            StatusCode::UNAUTHORIZED,
            render(&c, &html::message("error", "Mật khẩu hiện tại không đúng.", "The current password is wrong.")),
        )
            .into_response());
    }
    s.app
        .write(move |tx, _| {
            staff::set_password(tx, &name, Some(new), &name, now()).map_err(|e| ConsoleError::from(e).0)
        })
        .await?;
    let mut r = html::bare_page(
        "Đã đổi mật khẩu / Password changed",
        "<p>Mật khẩu đã đổi; mọi phiên làm việc đã kết thúc. Hãy đăng nhập lại.</p>\
<p class=\"en\">Password changed; every session has ended. Please log in again.</p>\
<p><a href=\"/console/login\">Đăng nhập / Log in</a></p>",
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(s.console.secure, session::SESSION_COOKIE, "", 0),
    );
    Ok(r)
}
