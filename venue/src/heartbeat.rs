//! Opt-in usage statistics without tracking people.
//!
//! While the display runs with `--heartbeat --district NAME`, it posts once per UTC
//! day to `POST {server}/v1/heartbeats` (spec/api.md):
//!
//! ```json
//! {"day": 20717, "pseudonym": "<32 hex>", "category": "restaurant", "district": "Hoàn Kiếm"}
//! ```
//!
//! The pseudonym is `VenueMasterKey::heartbeat_pseudonym(day)`: it changes every day
//! and cannot be linked across days without the master key, so the server can count
//! active venues per day × category × district and learns nothing else (no name, no
//! address, no key, nothing about visitors). Failures are reported and retried
//! later; they never stop the display.

use quet_protocol::category::Category;
use quet_protocol::time::Day;
use quet_protocol::venue_keys::VenueMasterKey;

use crate::error::{Result, VenueError};

/// Longest district name in bytes (spec/api.md).
pub const MAX_DISTRICT_LEN: usize = 64;

/// Checks a district name.
pub fn check_district(district: &str) -> Result<String> {
    let d = district.trim();
    if d.is_empty() || d.len() > MAX_DISTRICT_LEN || d.chars().any(char::is_control) {
        return Err(VenueError::InvalidInput(format!(
            "quận/huyện / district {district:?} (1..={MAX_DISTRICT_LEN} bytes)"
        )));
    }
    Ok(d.to_owned())
}

/// The JSON body of one heartbeat.
pub fn heartbeat_body(
    master: &VenueMasterKey,
    day: Day,
    category: Category,
    district: &str,
) -> serde_json::Value {
    serde_json::json!({
        "day": day.0,
        "pseudonym": data_encoding::HEXLOWER.encode(&master.heartbeat_pseudonym(day)),
        "category": category.slug(),
        "district": district,
    })
}

/// Sends today's heartbeat; Ok if the server answered 2xx.
pub fn send_heartbeat(
    server_url: &str,
    master: &VenueMasterKey,
    day: Day,
    category: Category,
    district: &str,
) -> Result<()> {
    let base = crate::venue::validate_base_url(server_url)?;
    let url = format!("{base}/v1/heartbeats");
    let status = crate::http::post_json(&url, &heartbeat_body(master, day, category, district))?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(VenueError::Network(format!("{url}: HTTP {status}")))
    }
}
