//! Reading the diagnosis server's JSON answers (`spec/api.md`): success bodies of a
//! documented shape, and errors mapped to [`ClientError`] kinds.

use serde::Deserialize;

use crate::error::{ClientError, Result};
use crate::transport::Response;

#[derive(Deserialize)]
struct ErrorJson {
    #[serde(default)]
    error: String,
    #[serde(default)]
    message: String,
}

/// Parses a JSON answer the server sent with a success status; a body that is not
/// the documented shape is a server error of kind `kind`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(resp: &Response, kind: &str) -> Result<T> {
    serde_json::from_slice(&resp.body).map_err(|e| ClientError::Server {
        status: resp.status,
        kind: kind.into(),
        message: e.to_string(),
    })
}

/// Maps an unexpected HTTP answer to the client error spec/api.md implies.
pub(crate) fn server_error(resp: &Response) -> ClientError {
    let parsed: Option<ErrorJson> = serde_json::from_slice(&resp.body).ok();
    let (kind, message) = parsed.map_or_else(
        || {
            (
                String::new(),
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect(),
            )
        },
        |e| (e.error, e.message),
    );
    match (resp.status, kind.as_str()) {
        (401, _) | (_, "auth_code_invalid") => ClientError::AuthCodeInvalid,
        (429, _) => ClientError::RateLimited {
            retry_after: resp.retry_after,
        },
        (503, _) => ClientError::Busy,
        _ => ClientError::Server {
            status: resp.status,
            kind,
            message,
        },
    }
}
