//! Random streams. Every number a future uses is a pure function of
//! (seed, what it is for, future index), so results do not depend on the
//! thread count or on the order futures are simulated in.
//!
//! - Prior draws: prior `j` has its own SplitMix64 stream keyed by
//!   (seed, the prior's TOML path); future `i` takes output number `i` of it
//!   (SplitMix64 can jump to any position, Steele et al. 2014). Keying by path
//!   means adding a prior elsewhere in the file leaves the other draws alone.
//! - Latin hypercube: prior `j` permutes the `N` strata with a keyed Feistel
//!   network over the next power of two, cycle-walking into `[0, N)`
//!   (Black & Rogaway 2002), so no permutation is stored. Fewer than two
//!   rounds of the network per stratum on average.
//! - Shocks: future `i` seeds one Xoshiro256++ from a key of (seed, i).

// `first_pass` and `finish_walks` index fixed-size arrays with one index.
#![allow(clippy::needless_range_loop)]

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

/// The key of future `i`'s shock generator (the engine's `shocks` module).
#[inline]
pub fn shock_key(seed: u64, i: u64) -> u64 {
    key(&[seed, tag::SHOCK, i])
}

/// A keyed pseudo-random permutation of `[0, n)`: an alternating
/// (unbalanced) Feistel network on the `bits` bits of the next power of two,
/// split into a high half of `hi` bits and a low half of `bits - hi` bits.
/// Each of the six rounds replaces one half by itself xor a keyed hash of
/// the other (invertible, so a bijection); the hash xors the other half
/// with one key, multiplies by a second (odd) key and keeps the top bits. Values at or past `n` walk on
/// through the network until they land in `[0, n)` (at most 2 passes on
/// average, since the domain is less than twice `n`).
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
    lo_bits: u32,
    hi_bits: u32,
    keys: [(u64, u64); 6],
}

impl Permutation {
    /// A permutation of `[0, n)` chosen by `k`.
    pub fn new(n: u64, k: u64) -> Permutation {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let hi_bits = bits / 2;
        let mut keys = [(0u64, 0u64); 6];
        for (r, key_r) in keys.iter_mut().enumerate() {
            let r = r as u64;
            *key_r = (key(&[k, 2 * r + 1]), key(&[k, 2 * r + 2]) | 1);
        }
        Permutation {
            n,
            lo_bits: bits - hi_bits,
            hi_bits,
            keys,
        }
    }

    /// One pass through the network.
    #[inline(always)]
    fn round_trip(&self, x: u64) -> u64 {
        let lo_mask = (1u64 << self.lo_bits) - 1;
        let (mut hi, mut lo) = (x >> self.lo_bits, x & lo_mask);
        for pair in self.keys.chunks_exact(2) {
            let ((a0, m0), (a1, m1)) = (pair[0], pair[1]);
            hi ^= (lo ^ a0).wrapping_mul(m0) >> (64 - self.hi_bits);
            lo ^= (hi ^ a1).wrapping_mul(m1) >> (64 - self.lo_bits);
        }
        (hi << self.lo_bits) | lo
    }

    /// The first pass through the network of `L` indices (independent
    /// chains, which the processor overlaps). Values at or past `n` still
    /// have to walk on: [`finish_walks`].
    #[inline(always)]
    pub fn first_pass<const L: usize>(&self, i: &[u64; L]) -> [u64; L] {
        std::array::from_fn(|l| self.round_trip(i[l]))
    }

    /// The image of `i < n`.
    pub fn apply(&self, i: u64) -> u64 {
        let mut x = self.round_trip(i);
        while x >= self.n {
            x = self.round_trip(x);
        }
        x
    }
}

/// Completes [`Permutation::first_pass`] for several permutations at once:
/// `x[j]` holds the first pass of `perms[j]` (or values below its `n`,
/// which are left alone) and ends with the images. `pending` is scratch
/// of at least `x.len() * L` entries.
///
/// The values still outside `[0, n)` are gathered into one list, and each
/// further pass runs through the whole list. Walking value by value, each
/// value's loop ended on a branch the processor cannot predict (whether a
/// value walks, and how far, is random); here the only such branch is the
/// end of each pass (about 14 passes per call for 17 priors of a batch at
/// 20,000 futures, where 39% of first passes land outside). The results
/// are the same.
#[inline(always)]
pub fn finish_walks<const L: usize>(
    perms: &[Permutation],
    x: &mut [[u64; L]],
    pending: &mut [u32],
) {
    // Every (permutation, lane) is written to the list; the count moves
    // past it only if it must walk (no branch).
    let mut m = 0;
    for (j, (p, xs)) in perms.iter().zip(x.iter()).enumerate() {
        for l in 0..L {
            pending[m] = (j * L + l) as u32;
            m += usize::from(xs[l] >= p.n);
        }
    }
    while m > 0 {
        let mut still = 0;
        for t in 0..m {
            let id = pending[t] as usize;
            let (j, l) = (id / L, id % L);
            let y = perms[j].round_trip(x[j][l]);
            x[j][l] = y;
            // `still <= t`: the list is compacted in place.
            pending[still] = id as u32;
            still += usize::from(y >= perms[j].n);
        }
        m = still;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_walks_match_one_at_a_time() {
        // n just past a power of two: most values walk, some far.
        for n in [20_000u64, 4097, 3] {
            let perms: Vec<Permutation> = (0..7).map(|k| Permutation::new(n, k)).collect();
            for start in (0..n).step_by(8) {
                let i: [u64; 8] = std::array::from_fn(|l| (start + l as u64).min(n - 1));
                let mut x: Vec<[u64; 8]> = perms.iter().map(|p| p.first_pass(&i)).collect();
                // A row already inside [0, n) is left alone.
                x[3] = [0; 8];
                let mut pending = vec![0u32; 7 * 8];
                finish_walks(&perms, &mut x, &mut pending);
                for (j, p) in perms.iter().enumerate() {
                    let want = if j == 3 {
                        [0; 8]
                    } else {
                        i.map(|i| p.apply(i))
                    };
                    assert_eq!(x[j], want, "n={n} permutation {j} from {start}");
                }
            }
        }
    }

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 4, 5, 7, 64, 1000, 4097, 65_537] {
            let p = Permutation::new(n, 42);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = p.apply(i) as usize;
                assert!(!seen[j], "n={n}: {j} hit twice");
                seen[j] = true;
            }
        }
    }

    /// Strata of two priors must not move together: their rank correlation
    /// over `n` futures is within 4 standard errors (`4 / sqrt(n)`) of 0.
    #[test]
    fn permutations_of_different_priors_are_uncorrelated() {
        let n = 20_000u64;
        for (k1, k2) in [(1u64, 2u64), (7, 8), (12345, 54321)] {
            let (a, b) = (Permutation::new(n, k1), Permutation::new(n, k2));
            let mean = (n as f64 - 1.0) / 2.0;
            let (mut sab, mut saa) = (0.0, 0.0);
            for i in 0..n {
                let (x, y) = (a.apply(i) as f64 - mean, b.apply(i) as f64 - mean);
                sab += x * y;
                saa += x * x;
            }
            let rho = sab / saa;
            assert!(
                rho.abs() < 4.0 / (n as f64).sqrt(),
                "keys {k1},{k2}: rho {rho}"
            );
            // Nor with the identity (the future index itself).
            let s: f64 = (0..n)
                .map(|i| (i as f64 - mean) * (a.apply(i) as f64 - mean))
                .sum();
            assert!((s / saa).abs() < 4.0 / (n as f64).sqrt());
        }
    }

    /// Pairs of strata fill the unit square evenly: counts in an 8 x 8 grid
    /// pass a chi-square test of independence at the 0.001 level (the
    /// margins are fixed by construction, so 7 x 7 = 49 degrees of freedom,
    /// critical value 85.35), for two priors and for a prior against the
    /// future index.
    #[test]
    fn strata_pairs_fill_the_square() {
        let n = 64_000u64;
        let (a, b) = (Permutation::new(n, 3), Permutation::new(n, 4));
        let cell = |x: u64| (x * 8 / n) as usize;
        for pair in [0, 1] {
            let mut counts = [0f64; 64];
            for i in 0..n {
                let y = if pair == 0 { b.apply(i) } else { i };
                counts[cell(a.apply(i)) * 8 + cell(y)] += 1.0;
            }
            let e = n as f64 / 64.0;
            let chi2: f64 = counts.iter().map(|c| (c - e) * (c - e) / e).sum();
            assert!(chi2 < 85.35, "pair {pair}: chi-square {chi2}");
        }
    }

    #[test]
    fn open01_never_hits_the_ends() {
        assert!(open01(0) > 0.0);
        assert!(open01(u64::MAX) < 1.0);
    }
}
