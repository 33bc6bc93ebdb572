//! Bilingual message templates for exposure notices. Staff pick one (and may
//! replace its text); the notice carries both languages.
//!
//! Protocol 1.1 gives notices a template id and optional custom text; the ids
//! here are meant to become those ids (`id`), so the texts are kept in one place.

/// One template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Stable id.
    pub id: &'static str,
    /// Severity slug (`monitor`, `test`, `isolate`).
    pub severity: &'static str,
    /// Vietnamese text.
    pub vi: &'static str,
    /// English text.
    pub en: &'static str,
}

/// Every template, the default first.
pub const TEMPLATES: &[Template] = &[
    Template {
        id: "test",
        severity: "test",
        vi: "Bạn đã có mặt cùng địa điểm và thời gian với một ca bệnh đã được xác nhận. Hãy đi xét nghiệm và theo dõi sức khỏe trong 14 ngày.",
        en: "You were at the same place and time as a confirmed case. Please get tested and watch your health for 14 days.",
    },
    Template {
        id: "monitor",
        severity: "monitor",
        vi: "Bạn có thể đã tiếp xúc với một ca bệnh. Hãy theo dõi sức khỏe, đeo khẩu trang và báo trạm y tế nếu có triệu chứng.",
        en: "You may have been exposed to a confirmed case. Watch your health, wear a mask and tell your health station if you have symptoms.",
    },
    Template {
        id: "isolate",
        severity: "isolate",
        vi: "Bạn đã tiếp xúc gần với một ca bệnh. Hãy tự cách ly tại nhà và gọi ngay cho trạm y tế phường, xã.",
        en: "You were in close contact with a confirmed case. Please isolate at home and call your ward or commune health station now.",
    },
];

/// The template with this id.
pub fn find(id: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.id == id)
}

/// The texts to publish: the template's, each replaced by custom text when given.
pub fn resolve(
    id: &str,
    custom_vi: Option<&str>,
    custom_en: Option<&str>,
) -> Result<(String, String, String), String> {
    let t = find(id).ok_or_else(|| format!("Mẫu không tồn tại / Unknown template {id:?}"))?;
    let pick = |custom: Option<&str>, default: &str| {
        custom
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    Ok((
        t.severity.to_owned(),
        pick(custom_vi, t.vi),
        pick(custom_en, t.en),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_text_replaces_only_what_is_given() {
        let (sev, vi, en) = resolve("isolate", Some("  "), Some("Custom")).unwrap();
        assert_eq!(sev, "isolate");
        assert_eq!(vi, TEMPLATES[2].vi);
        assert_eq!(en, "Custom");
        assert!(resolve("nope", None, None).is_err());
    }
}
