//! The system random-number generator used for every secret the server makes.

/// `rand_core::UnwrapErr(getrandom::SysRng)`: the operating system's CSPRNG, which
/// the protocol crate's `seal`/`build`/`generate` functions take as a `CryptoRng`.
pub type SystemRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// A handle on the system RNG.
pub fn system_rng() -> SystemRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// `n` random bytes from the system RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand_core::Rng;
    let mut b = [0u8; N];
    system_rng().fill_bytes(&mut b);
    b
}
