//! The authority's keys, for administrators: what phones and venues pin, and how
//! to rotate (rotation is done on the server's command line, where the key files
//! are).

use axum::extract::State;
use axum::response::Response;

use crate::console::ConsoleState;
use crate::console::auth::{Console, ConsoleError};
use crate::console::html::{self, esc};
use crate::db::now;
use crate::roles::Action;
use crate::staff;

/// `GET /console/keys`.
pub async fn page(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ManageKeys)?;
    let who = c.member().name.clone();
    s.app
        .write(move |tx, _| Ok(staff::record(tx, now(), &who, "keys.read", None)?))
        .await?;
    let d = &s.app.authority.descriptor;
    let mut signing = String::new();
    for k in &d.signing_keys {
        signing.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            k.key_id,
            data_encoding::HEXLOWER.encode(k.key.as_bytes()),
            if k.key_id == d.current_signing_key { "đang dùng / current" } else { "" }
        ));
    }
    let body = format!(
        "<div class=\"card\"><p>{name} · <code>{id:08x}</code> · {url}</p>\
<p>Dấu vân tay / Fingerprint: <code id=\"fingerprint\">{fp}</code></p></div>\
<h2>Khóa ký bản tin / Bulletin signing keys</h2><div class=\"scroll\"><table><tr><th>Id</th><th>Khóa công khai / Public key</th><th></th></tr>{signing}</table></div>\
<p class=\"muted\">Xoay khóa trên máy chủ / Rotate on the server: <code>quet-server keys announce</code>, \
sau đó / then <code>quet-server keys activate --key-id N</code> và khởi động lại / and restart.</p>",
        name = esc(&d.name),
        id = d.id.0,
        url = esc(&d.base_url),
        fp = esc(&d.fingerprint()),
    );
    Ok(html::page(&c.viewer, "/console/keys", "Khóa / Keys", &body))
}
