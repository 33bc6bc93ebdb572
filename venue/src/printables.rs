//! The printable documents of a venue, built from the protocol crate's objects:
//! the private tracing sheet, the weekly poster of seven daily codes and the paper
//! log template. Each is an HTML page with inline SVG QR codes, ready to print.

use quet_protocol::code::CheckInCode;
use quet_protocol::time::{Day, UnixTime};
use zeroize::Zeroizing;

use crate::error::{Result, VenueError};
use crate::venue::Venue;
use crate::{pages, qr};

/// Number of daily codes on a poster.
pub const POSTER_DAYS: u32 = 7;

/// The tracing sheet: the master key as a QR code (its sheet text) and as words
/// with a checksum, with bilingual instructions. This is the one place the key is
/// exported; the caller writes it only where the user asked.
pub fn tracing_sheet_html(venue: &Venue, now: UnixTime) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(venue.master().to_sheet_text());
    let svg = Zeroizing::new(qr::svg_of(text.as_bytes())?);
    Ok(Zeroizing::new(pages::tracing_sheet(
        venue.info(),
        &venue.descriptor().name,
        &venue.descriptor().fingerprint(),
        &text,
        &svg,
        now,
        venue.utc_offset_minutes(),
    )))
}

/// A screen code for `now` and its URL (what the display shows in that slot,
/// modulo the slot alignment the display applies).
pub fn screen_code(venue: &Venue, now: UnixTime) -> Result<(CheckInCode, String)> {
    let code = venue.issuer()?.screen_code(&mut crate::system_rng(), now)?;
    let url = code.to_url(venue.code_base_url());
    Ok((code, url))
}

/// The poster codes of `POSTER_DAYS` days from `first`: `(day, code, URL)`.
pub fn poster_codes(venue: &Venue, first: Day) -> Result<Vec<(Day, CheckInCode, String)>> {
    let mut issuer = venue.issuer()?;
    let mut rng = crate::system_rng();
    let mut out = Vec::new();
    for i in 0..POSTER_DAYS {
        let day = Day(first
            .0
            .checked_add(i)
            .ok_or_else(|| VenueError::InvalidInput("date out of range".into()))?);
        let code = issuer.poster_code(&mut rng, day)?;
        let url = code.to_url(venue.code_base_url());
        out.push((day, code, url));
    }
    Ok(out)
}

/// The weekly poster page for the seven days from `first`.
pub fn poster_html(venue: &Venue, first: Day) -> Result<String> {
    let days = poster_codes(venue, first)?
        .into_iter()
        .map(|(day, _, url)| {
            Ok(pages::PosterDay {
                day,
                svg: qr::svg_of(url.as_bytes())?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(pages::poster(
        venue.info(),
        &days,
        venue.utc_offset_minutes(),
    ))
}

/// Rows of the paper log template (one A4 page).
pub const PAPER_LOG_ROWS: usize = 18;

/// The paper log template ([`PAPER_LOG_ROWS`] rows).
pub fn paper_log_html(venue: &Venue) -> String {
    pages::paper_log(venue.info(), PAPER_LOG_ROWS)
}
