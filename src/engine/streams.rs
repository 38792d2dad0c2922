//! Random streams. Every number a future uses is a pure function of
//! (seed, what it is for, future index), so results do not depend on the
//! thread count or on the order futures are simulated in.
//!
//! - Prior draws: prior `j` has its own SplitMix64 stream keyed by
//!   (seed, the prior's TOML path); future `i` takes output number `i` of it
//!   (SplitMix64 can jump to any position, Steele et al. 2014). Keying by path
//!   means adding a prior elsewhere in the file leaves the other draws alone.
//! - Latin hypercube: prior `j` permutes the `N` strata with a keyed
//!   Feistel network over a grid just larger than `N`, cycle-walking into
//!   `[0, N)` (Black & Rogaway 2002), so no permutation is stored.
//! - Shocks: future `i` seeds one Xoshiro256++ from a key of (seed, i).

// `apply_lanes` indexes fixed-size arrays with one index.
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
    /// Bootstrap replicates of the sensitivity indices.
    pub const BOOTSTRAP: u64 = 4;
    /// Sobol designs.
    pub const DESIGN: u64 = 5;
}

/// The key of future `i`'s shock generator (the engine's `shocks` module).
#[inline]
pub fn shock_key(seed: u64, i: u64) -> u64 {
    key(&[seed, tag::SHOCK, i])
}

/// Rounds of the Feistel network (three of each half).
const ROUNDS: usize = 6;

/// A keyed pseudo-random permutation of `[0, n)` (`n >= 1`): a Feistel
/// network over pairs `(hi, lo)` in `[0, a) x [0, b)`, read as the number
/// `hi b + lo`, with `a = ceil(sqrt(n))` and `b = ceil(n / a)` (a
/// "mixed-radix" network, Black & Rogaway 2002). Each of the six rounds
/// adds to one half, modulo its radix, a keyed hash of the other half
/// (invertible, so a bijection). The hash xors the half with one key,
/// multiplies by a second (odd) key, mixes the high bits down and
/// multiplies again (one multiplication left visible structure against
/// the future index for some keys: see the tests), and scales the 32 bits
/// to the radix (multiply, keep the high word). All of it is 32-bit integer
/// arithmetic, so a batch of futures runs it eight to a vector instruction.
///
/// The pairs cover `a b` numbers, fewer than `n + a`: the few images at or
/// past `n` walk on through the network until they land in `[0, n)`
/// (cycle walking). At 20,000 futures 22 of 20,022 do; a power-of-two
/// domain made 39% walk.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u32,
    a: u32,
    b: u32,
    keys: [(u32, u32); ROUNDS],
}

/// `x + y` modulo `r`, for `x, y < r`.
#[inline(always)]
fn add_mod(x: u32, y: u32, r: u32) -> u32 {
    let s = x + y;
    if s >= r {
        s - r
    } else {
        s
    }
}

/// The round function: a keyed hash of `v` in `[0, r)`.
#[inline(always)]
fn round_hash(v: u32, (k, m): (u32, u32), r: u32) -> u32 {
    let h = (v ^ k).wrapping_mul(m);
    let h = (h ^ (h >> 16)).wrapping_mul(0x846c_a68b);
    ((u64::from(h) * u64::from(r)) >> 32) as u32
}

impl Permutation {
    /// A permutation of `[0, n)` chosen by `k`, for `1 <= n <= 2^31` (the
    /// grid's numbers stay below `2^32`; runs have at most 1e8 futures).
    pub fn new(n: u32, k: u64) -> Permutation {
        assert!(n <= 1 << 31, "a permutation of at most 2^31 numbers");
        let n = n.max(1);
        let wide = u64::from(n);
        // The smallest a with a^2 >= n (the float root is off by at most one).
        let mut a = (wide as f64).sqrt().ceil() as u64;
        while a > 1 && (a - 1) * (a - 1) >= wide {
            a -= 1;
        }
        while a * a < wide {
            a += 1;
        }
        let b = wide.div_ceil(a);
        let mut keys = [(0u32, 0u32); ROUNDS];
        for (r, key_r) in keys.iter_mut().enumerate() {
            let r = r as u64;
            *key_r = (
                (key(&[k, 2 * r + 1]) >> 32) as u32,
                (key(&[k, 2 * r + 2]) >> 32) as u32 | 1,
            );
        }
        Permutation {
            n,
            a: a as u32,
            b: b as u32,
            keys,
        }
    }

    /// The pair `(hi, lo)` of `i < a b`.
    #[inline(always)]
    pub fn split(&self, i: u32) -> (u32, u32) {
        (i / self.b, i % self.b)
    }

    /// One pass through the network, from a pair to a number in `[0, a b)`.
    #[inline(always)]
    fn pass(&self, mut hi: u32, mut lo: u32) -> u32 {
        for pair in self.keys.chunks_exact(2) {
            hi = add_mod(hi, round_hash(lo, pair[0], self.a), self.a);
            lo = add_mod(lo, round_hash(hi, pair[1], self.b), self.b);
        }
        hi * self.b + lo
    }

    /// Walks an image at or past `n` on until it lands in `[0, n)`.
    #[cold]
    #[inline(never)]
    fn walk(&self, mut x: u32) -> u32 {
        while x >= self.n {
            let (hi, lo) = self.split(x);
            x = self.pass(hi, lo);
        }
        x
    }

    /// The image of `i < n`.
    pub fn apply(&self, i: u32) -> u32 {
        let (hi, lo) = self.split(i);
        let x = self.pass(hi, lo);
        if x >= self.n {
            self.walk(x)
        } else {
            x
        }
    }

    /// The images of `L` numbers below `n`, given as their pairs
    /// ([`Permutation::split`]; the same for every permutation of `[0, n)`).
    /// The network runs round by round over all of them (vector
    /// instructions); the rare images that must walk on do so one by one.
    #[inline(always)]
    pub fn apply_lanes<const L: usize>(&self, hi: &[u32; L], lo: &[u32; L]) -> [u32; L] {
        // The rounds of `pass`, spelled out round by round over all lanes:
        // written as `pass` per lane, the compiler kept each lane's chain
        // scalar (150M instead of 117M simulation instructions on the bar
        // model at 20,000 futures). `lanes_match_one_at_a_time` ties the two.
        let (mut h, mut l) = (*hi, *lo);
        for pair in self.keys.chunks_exact(2) {
            for j in 0..L {
                h[j] = add_mod(h[j], round_hash(l[j], pair[0], self.a), self.a);
            }
            for j in 0..L {
                l[j] = add_mod(l[j], round_hash(h[j], pair[1], self.b), self.b);
            }
        }
        let mut x: [u32; L] = std::array::from_fn(|j| h[j] * self.b + l[j]);
        if x.iter().fold(0, |m, &x| m.max(x)) >= self.n {
            for x in x.iter_mut() {
                if *x >= self.n {
                    *x = self.walk(*x);
                }
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lanes version gives `apply`'s images, for sizes whose grid
    /// overshoots `n` by much (walks) or not at all.
    #[test]
    fn lanes_match_one_at_a_time() {
        for n in [20_000u32, 4097, 4096, 3, 1] {
            for k in 0..5 {
                let p = Permutation::new(n, k);
                for start in (0..n).step_by(8) {
                    let i: [u32; 8] = std::array::from_fn(|l| (start + l as u32).min(n - 1));
                    let (hi, lo): (Vec<u32>, Vec<u32>) = i.iter().map(|&i| p.split(i)).unzip();
                    let got = p.apply_lanes(&hi.try_into().unwrap(), &lo.try_into().unwrap());
                    assert_eq!(got, i.map(|i| p.apply(i)), "n={n} key {k} from {start}");
                }
            }
        }
    }

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u32, 2, 3, 4, 5, 7, 64, 1000, 4097, 65_537, 1_000_003] {
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
        let n = 20_000u32;
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

    /// Pairs of strata fill the unit square evenly: counts in a 32 x 32
    /// grid pass a chi-square test of independence, for two priors and for
    /// a prior against the future index, at two sizes and eight key pairs.
    /// The margins are fixed by construction, so 31 x 31 = 961 degrees of
    /// freedom; each of the 32 tests at the 0.001 / 32 level (Bonferroni),
    /// critical value about 1147. (A round hash of one multiplication
    /// failed this, at 2,838, for one key against the index.)
    #[test]
    fn strata_pairs_fill_the_square() {
        use statrs::distribution::{ChiSquared, ContinuousCDF};
        let critical = ChiSquared::new(961.0)
            .unwrap()
            .inverse_cdf(1.0 - 0.001 / 32.0);
        let g = 32u64;
        for n in [20_000u32, 250_000] {
            let cell = |x: u32| (u64::from(x) * g / u64::from(n)) as usize;
            for k in 1000..1008u64 {
                let (a, b) = (Permutation::new(n, k), Permutation::new(n, k + 1000));
                for pair in [0, 1] {
                    let mut counts = vec![0f64; (g * g) as usize];
                    for i in 0..n {
                        let y = if pair == 0 { b.apply(i) } else { i };
                        counts[cell(a.apply(i)) * g as usize + cell(y)] += 1.0;
                    }
                    let e = f64::from(n) / (g * g) as f64;
                    let chi2: f64 = counts.iter().map(|c| (c - e) * (c - e) / e).sum();
                    assert!(
                        chi2 < critical,
                        "n={n} key {k} pair {pair}: chi-square {chi2} >= {critical}"
                    );
                }
            }
        }
    }

    #[test]
    fn open01_never_hits_the_ends() {
        assert!(open01(0) > 0.0);
        assert!(open01(u64::MAX) < 1.0);
    }
}
