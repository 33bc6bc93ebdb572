//! The message choices staff see: the protocol's bilingual templates
//! (`quet_protocol::notice::template_text`, the same text phones show) plus
//! optional extra text, or no template and custom text only. The texts live in the
//! protocol crate only; this module just turns a form into [`NoticeParams`].

use quet_protocol::notice::{TEMPLATE_ISOLATE, TEMPLATE_MONITOR, TEMPLATE_TEST, template_text};

use crate::error::ApiError;
use crate::review::NoticeParams;

/// One template choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Slug (the API's `template`).
    pub slug: &'static str,
    /// Protocol template id.
    pub id: u16,
    /// The severity that goes with it.
    pub severity: &'static str,
}

/// The templates, the default first.
pub const TEMPLATES: [Template; 3] = [
    Template {
        slug: "test",
        id: TEMPLATE_TEST,
        severity: "test",
    },
    Template {
        slug: "monitor",
        id: TEMPLATE_MONITOR,
        severity: "monitor",
    },
    Template {
        slug: "isolate",
        id: TEMPLATE_ISOLATE,
        severity: "isolate",
    },
];

impl Template {
    /// `(vi, en)`, from the protocol crate.
    pub fn text(&self) -> (&'static str, &'static str) {
        template_text(self.id)
    }
}

/// The form fields that choose a message.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct MessageFields {
    /// A template slug, or `none`.
    pub template: Option<String>,
    /// Severity when `template` is `none`.
    pub severity: Option<String>,
    /// Extra (or, with `none`, the whole) Vietnamese text.
    pub message_vi: Option<String>,
    /// Extra (or whole) English text.
    pub message_en: Option<String>,
}

/// Turns the chosen message and buffer into notice parameters.
pub fn params(f: &MessageFields, buffer_minutes: u64) -> Result<NoticeParams, ApiError> {
    let slug = f.template.as_deref().unwrap_or("test");
    let severity = match TEMPLATES.iter().find(|t| t.slug == slug) {
        Some(t) => t.severity.to_owned(),
        None if slug == "none" => f.severity.clone().unwrap_or_else(|| "test".into()),
        None => {
            return Err(ApiError::bad_request(
                "Mẫu không tồn tại / Unknown template",
            ));
        }
    };
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_owned();
    Ok(NoticeParams {
        severity,
        template: Some(slug.to_owned()),
        message_vi: text(&f.message_vi),
        message_en: text(&f.message_en),
        buffer_minutes,
    })
}

/// The radio buttons and extra-text fields of a message choice (HTML).
pub fn choices_html() -> String {
    use super::html::esc;
    let mut s = String::from(
        "<fieldset class=\"templates\"><legend>Tin nhắn / Message</legend>",
    );
    for (i, t) in TEMPLATES.iter().enumerate() {
        let (vi, en) = t.text();
        s.push_str(&format!(
            "<label><input type=\"radio\" name=\"template\" value=\"{}\"{}> <b>{}</b>: {}<br><span class=\"en\">{}</span></label>",
            t.slug,
            if i == 0 { " checked" } else { "" },
            esc(t.severity),
            esc(vi),
            esc(en)
        ));
    }
    s.push_str(
        "<label><input type=\"radio\" name=\"template\" value=\"none\"> Không dùng mẫu: chỉ nội dung bên dưới \
<span class=\"en\">No template: only the text below</span> \
<select name=\"severity\"><option>monitor</option><option selected>test</option><option>isolate</option></select></label>\
</fieldset><details><summary>Thêm nội dung / Extra text</summary>\
<label>Tiếng Việt<textarea name=\"message_vi\" maxlength=\"1000\"></textarea></label>\
<label>English<textarea name=\"message_en\" maxlength=\"1000\"></textarea></label></details>",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_carry_their_severity_and_none_needs_its_own() {
        let p = params(
            &MessageFields {
                template: Some("isolate".into()),
                message_en: Some("  Call 115 ".into()),
                ..Default::default()
            },
            30,
        )
        .unwrap();
        assert_eq!((p.severity.as_str(), p.template.as_deref()), ("isolate", Some("isolate")));
        assert_eq!((p.message_vi.as_str(), p.message_en.as_str()), ("", "Call 115"));
        let none = params(
            &MessageFields {
                template: Some("none".into()),
                severity: Some("monitor".into()),
                ..Default::default()
            },
            30,
        )
        .unwrap();
        assert_eq!(none.severity, "monitor");
        assert!(params(&MessageFields { template: Some("x".into()), ..Default::default() }, 30).is_err());
        assert!(!TEMPLATES[0].text().0.is_empty());
    }
}
