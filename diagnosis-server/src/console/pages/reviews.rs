//! The review queue: what each uploaded check-in claims, the problems found, and
//! the decision (approve with a bilingual message template, or reject).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::api::admin::{do_approve, do_reject};
use crate::console::auth::{Console, ConsoleError, ConsoleForm};
use crate::console::html::{self, esc};
use crate::console::{ConsoleState, templates};
use crate::db::now;
use crate::error::ApiError;
use crate::registry::VenueStanding;
use crate::review::{self, NoticeParams, ReviewItem};
use crate::roles::Action;
use crate::{decisions, staff};

use super::{Empty, local};

/// A problem flagged on an uploaded check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// `bad` (cannot be approved) or `warn` (weigh it).
    pub level: &'static str,
    /// Vietnamese / English text.
    pub text: String,
}

/// The problems of one check-in, from the flags the review row carries
/// (`review::list`), in Vietnamese and English.
pub fn flags(r: &ReviewItem) -> Vec<Flag> {
    let mut out = Vec::new();
    for f in &r.flags {
        out.push(match f.as_str() {
            "unverified" => Flag {
                level: "bad",
                text: format!(
                    "Chưa xác minh / Not verified: {}",
                    r.problem.as_deref().unwrap_or("?")
                ),
            },
            "arrival far from code time" => Flag {
                level: "warn",
                text: format!(
                    "Giờ vào cách giờ của mã {} giây / Arrival {} s from the code's time",
                    r.arrival_offset_secs, r.arrival_offset_secs
                ),
            },
            "unregistered venue" => Flag {
                level: "warn",
                text: format!(
                    "Địa điểm chưa đăng ký / Unregistered venue ({})",
                    r.registration
                ),
            },
            "version 1 code" => Flag {
                level: "warn",
                text: "Mã phiên bản 1 / Version 1 code".into(),
            },
            other => Flag {
                level: "warn",
                text: other.to_owned(),
            },
        });
    }
    if let Some(flag) = standing_flag(r) {
        out.push(flag);
    }
    out
}

/// What the venue registry says of the reported venue's key, when it matters.
fn standing_flag(r: &ReviewItem) -> Option<Flag> {
    Some(match r.venue_standing.as_ref()? {
        VenueStanding::Registered { .. } => return None,
        VenueStanding::Revoked { id } => Flag {
            level: "bad",
            text: format!("Địa điểm đã bị thu hồi (#{id}) / Venue registration revoked (#{id})"),
        },
        VenueStanding::NotCertified { id, why } => Flag {
            level: "warn",
            text: format!("Chưa chứng nhận / Not certified (#{id}: {why})"),
        },
        VenueStanding::Impostor { of } => Flag {
            level: "bad",
            text: format!(
                "Mạo danh? Mã tự tạo mang tên địa điểm đã đăng ký #{of} / \
Impostor? A self-made code with the name of registered venue #{of}"
            ),
        },
        VenueStanding::Unregistered => {
            if r.flags.iter().any(|f| f == "unregistered venue") {
                return None;
            }
            Flag {
                level: "warn",
                text: "Không có trong sổ đăng ký / Not in the venue registry".into(),
            }
        }
    })
}

/// `GET /console/reviews`.
pub async fn list(State(s): State<ConsoleState>, c: Console) -> Result<Response, ConsoleError> {
    c.require(Action::ReadReviews)?;
    let who = c.member().name.clone();
    let (items, awaiting) = s
        .app
        .write(move |tx, _| {
            staff::record(tx, now(), &who, "review.list", None)?;
            Ok((
                review::list(tx)?,
                decisions::reviews_awaiting_confirmation(tx)?,
            ))
        })
        .await?;
    let m = c.member();
    let decides_alone = m.can(Action::ConfirmTrace) && !s.config().four_eyes;
    let approve_label = if decides_alone {
        "Duyệt và xếp hàng công bố / Approve and queue"
    } else {
        "Đề xuất truy vết / Propose trace (needs a publisher)"
    };
    let mut body = format!(
        "<p>{} lượt check-in chờ duyệt. <span class=\"en\">{} uploaded check-ins waiting.</span></p>",
        items.len(),
        items.len()
    );
    for r in &items {
        let fl = flags(r);
        let mut flag_html: String = fl
            .iter()
            .map(|f| format!("<span class=\"flag {}\">{}</span>", f.level, esc(&f.text)))
            .collect();
        if fl.is_empty() {
            flag_html.push_str(
                "<span class=\"flag ok\">Đã xác minh, đã đăng ký / Verified, registered</span>",
            );
        }
        let pending = awaiting.iter().find(|(rid, _, _)| *rid == r.id);
        let mut actions = String::new();
        if let Some((_, pid, by)) = pending {
            actions.push_str(&format!(
                "<p class=\"notice\">Chờ phê duyệt (đề xuất {pid} của {by}) / Awaiting confirmation (proposal {pid} by {by}) — <a href=\"/console/proposals\">xem / see</a></p>",
                by = esc(by)
            ));
        } else if r.verified && m.can(Action::ProposeTrace) {
            let inner = format!(
                "{}<label>Thêm trước/sau (phút) / Buffer before and after (minutes)\
<input type=\"number\" name=\"buffer_minutes\" value=\"30\" min=\"0\" max=\"1440\"></label>",
                templates::choices_html()
            );
            actions.push_str(&html::form(
                &c.viewer,
                &format!("/console/reviews/{}/approve", r.id),
                &inner,
                approve_label,
                "",
            ));
        }
        if pending.is_none() && m.can(Action::RejectReview) {
            actions.push_str(&html::button_form(
                &c.viewer,
                &format!("/console/reviews/{}/reject", r.id),
                "Loại bỏ / Reject",
                "danger",
            ));
        }
        body.push_str(&format!(
            "<div class=\"card review\" id=\"review-{id}\"><h2>#{id} {name}</h2>\
<p>{addr} · {cat}<br>Vào / arrival: <b>{a}</b> · Ra / departure: <b>{d}</b> · Mã / code: {kind}</p>\
<p>{flag_html}</p>{actions}</div>",
            id = r.id,
            name = esc(&r.venue_name),
            addr = esc(&r.venue_address),
            cat = esc(&r.category),
            a = esc(&local(&s, r.arrival)),
            d = esc(&local(&s, r.departure)),
            kind = if r.epoch_kind == "day" {
                "áp phích / poster (day)"
            } else {
                "màn hình / screen (hour)"
            },
        ));
    }
    Ok(html::page(
        &c.viewer,
        "/console/reviews",
        "Duyệt check-in / Review queue",
        &body,
    ))
}

/// The approve form.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    /// The message.
    #[serde(flatten)]
    pub message: templates::MessageFields,
    /// Buffer, minutes.
    pub buffer_minutes: Option<String>,
}

/// Turns the form into notice parameters.
pub fn notice_params(f: &ApproveForm) -> Result<NoticeParams, ApiError> {
    let buffer_minutes = match f.buffer_minutes.as_deref().map(str::trim) {
        None | Some("") => 30,
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_request("buffer_minutes: not a number"))?,
    };
    templates::params(&f.message, buffer_minutes)
}

/// `POST /console/reviews/{id}/approve`.
pub async fn approve(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(f): ConsoleForm<ApproveForm>,
) -> Result<Response, ConsoleError> {
    c.require(Action::ProposeTrace)?;
    let p = notice_params(&f)?;
    let d = do_approve(&s.app, c.member().clone(), id, p).await?;
    Ok(match d.proposal {
        Some(_) => Redirect::to("/console/proposals").into_response(),
        None => Redirect::to("/console/notices").into_response(),
    })
}

/// `POST /console/reviews/{id}/reject`.
pub async fn reject(
    State(s): State<ConsoleState>,
    c: Console,
    Path(id): Path<i64>,
    ConsoleForm(_): ConsoleForm<Empty>,
) -> Result<Response, ConsoleError> {
    c.require(Action::RejectReview)?;
    do_reject(&s.app, c.member().name.clone(), id).await?;
    Ok(Redirect::to("/console/reviews").into_response())
}
