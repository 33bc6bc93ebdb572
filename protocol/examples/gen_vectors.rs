//! Writes the protocol's test vectors to `spec/vectors/` (one text file per object;
//! format in `spec/vectors/README.md`). `tests/vectors.rs` regenerates them in memory
//! and fails on any byte of difference, so run this after a deliberate change:
//!
//! ```text
//! cargo run -p quet-protocol --example gen_vectors
//! ```

#[path = "../tests/vector_gen/mod.rs"]
mod vector_gen;

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors");
    std::fs::create_dir_all(&dir)?;
    let vectors = vector_gen::generate();
    for v in &vectors {
        std::fs::write(dir.join(&v.file), v.render())?;
    }
    println!("wrote {} vectors to {}", vectors.len(), dir.display());
    Ok(())
}
