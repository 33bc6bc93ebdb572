//! Outbreak-day benchmark (placeholder).
fn main() {}
