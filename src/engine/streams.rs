//! Random streams. Every number a future uses is a pure function of
//! (seed, what it is for, future index), so results do not depend on the
//! thread count or on the order futures are simulated in.
//!
//! - Prior draws: prior `j` has its own SplitMix64 stream keyed by
//!   (seed, the prior's TOML path); future `i` takes output number `i` of it
//!   (SplitMix64 can jump to any position, Steele et al. 2014). Keying by path
//!   means adding a prior elsewhere in the file leaves the other draws alone.
//! - Latin hypercube: prior `j` permutes the `N` strata with a keyed Feistel
//!   network over the next power of four, cycle-walking into `[0, N)`
//!   (Black & Rogaway 2002), so no permutation is stored.
//! - Shocks: future `i` seeds one `Xoshiro256PlusPlus` from (seed, i).

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combines parts into one key (never `seed + index`).
pub fn key(parts: &[u64]) -> u64 {
    let mut h = 0x5EED_5EED_0000_0001_u64;
    for &p in parts {
        h = mix64(h ^ mix64(p.wrapping_add(GOLDEN)));
    }
    h
}

/// 64-bit FNV-1a of a string, to key a stream by a name.
pub fn hash_str(s: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Output number `i` of the SplitMix64 stream seeded with `stream`.
#[inline]
pub fn splitmix_at(stream: u64, i: u64) -> u64 {
    mix64(stream.wrapping_add(GOLDEN.wrapping_mul(i.wrapping_add(1))))
}

/// The largest `f64` below 1.
pub const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;

/// A uniform number in the open interval (0, 1) from 64 random bits: the
/// midpoint of one of 2^52 equal cells, so neither end is ever hit.
#[inline]
pub fn open01(bits: u64) -> f64 {
    ((bits >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
}

/// Domain tags keep streams for different purposes apart.
pub mod tag {
    /// Prior draws.
    pub const PRIOR: u64 = 1;
    /// Latin hypercube permutations.
    pub const LHS: u64 = 2;
    /// Yearly shocks.
    pub const SHOCK: u64 = 3;
}

/// The shock generator of future `i`.
pub fn shock_rng(seed: u64, i: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(key(&[seed, tag::SHOCK, i]))
}

/// A keyed pseudo-random permutation of `[0, n)`.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    mask: u64,
    keys: [u64; 4],
}

impl Permutation {
    /// A permutation of `[0, n)` chosen by `k`.
    pub fn new(n: u64, k: u64) -> Permutation {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        Permutation {
            n,
            half_bits,
            mask: (1u64 << half_bits) - 1,
            keys: [key(&[k, 1]), key(&[k, 2]), key(&[k, 3]), key(&[k, 4])],
        }
    }

    fn round_trip(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half_bits, x & self.mask);
        for k in self.keys {
            let t = l ^ (mix64(r ^ k) & self.mask);
            l = r;
            r = t;
        }
        (l << self.half_bits) | r
    }

    /// The image of `i < n`.
    #[inline]
    pub fn apply(&self, i: u64) -> u64 {
        let mut x = i;
        loop {
            x = self.round_trip(x);
            if x < self.n {
                return x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 7, 64, 1000, 4097] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = p.apply(i) as usize;
                assert!(!seen[j], "n={n}: {j} hit twice");
                seen[j] = true;
            }
        }
    }

    #[test]
    fn open01_never_hits_the_ends() {
        assert!(open01(0) > 0.0);
        assert!(open01(u64::MAX) < 1.0);
    }
}
