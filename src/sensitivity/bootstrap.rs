//! The bootstrap of the given-data `S1`: per bin, every replicate's
//! Poisson count and normal sums ([`Bootstrap`]), and the deals' draws
//! ([`DealDraws`]); the intervals from the replicates.

use super::estimate::BinSums;
use super::REPLICATES;
use crate::isa::Isa;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// The moments of one output in one bin: count, sums of `a`, `a^2`, `c`,
/// `a c`, `c^2` (`c = a^2` for one scenario).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Moments {
    n: f64,
    a: f64,
    aa: f64,
    c: f64,
    ac: f64,
    cc: f64,
}

impl Moments {
    /// A bin of one scenario's output from its count and sums of `a` and
    /// `a^2` (`c = a^2`). The bootstrap's covariance of `a` and `a^2`
    /// within the bin is taken as if `a` were normal there (`Cov(a, a^2) =
    /// 2 mu s^2`, `Var(a^2) = 2 s^4 + 4 mu^2 s^2`): the third and fourth
    /// moments would double the rows every future adds into its bins.
    pub(super) fn of_one_scenario(n: f64, a: f64, aa: f64) -> Moments {
        let (mu, c) = (a / n.max(1.0), aa / n.max(1.0));
        let var = (c - mu * mu).max(0.0);
        Moments {
            n,
            a,
            aa,
            c: aa,
            ac: n * (2.0 * mu * var + mu * c),
            cc: n * (2.0 * var * var + 4.0 * mu * mu * var + c * c),
        }
    }

    /// A bin of `all` from its count and sums of `a`, `a^2`, `c`, `a c`
    /// and `c^2`.
    pub(super) fn of_mixture(n: f64, v: &[f32]) -> Moments {
        Moments {
            n,
            a: v[0] as f64,
            aa: v[1] as f64,
            c: v[2] as f64,
            ac: v[3] as f64,
            cc: v[4] as f64,
        }
    }

    pub(super) fn sums(&self) -> BinSums {
        BinSums {
            n: self.n,
            a: self.a,
            aa: self.aa,
            c: self.c,
        }
    }
}

/// One bin's bootstrap draws, one per replicate: the number of resampled
/// futures `k` (Poisson with the bin's size, from rand_distr), `sqrt(k)
/// z0` and `sqrt(k) z1` (`z` two standard normals) and `1 / max(k, 1)`;
/// in `f32`, so that a vector instruction takes twice the replicates (the
/// intervals are read to two decimals; the sums over at most 100 bins of
/// centred values lose nothing of that in `f32`).
struct BinDraws {
    k: [f32; REPLICATES],
    u0: [f32; REPLICATES],
    u1: [f32; REPLICATES],
    inv: [f32; REPLICATES],
}

/// The bootstrap draws of one binning: per bin, every replicate's
/// (fixed-size arrays, so each bin's replicates are one vector loop), and
/// per replicate the total `k`.
pub(super) struct Bootstrap {
    bins: Vec<BinDraws>,
    total: [f64; REPLICATES],
}

impl Bootstrap {
    pub(super) fn new(size: &[f64], seed: u64) -> Bootstrap {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut total = [0.0; REPLICATES];
        let bins = size
            .iter()
            .map(|&s| {
                let poisson = Poisson::new(s.max(1.0)).ok();
                let mut d = BinDraws {
                    k: [0.0; REPLICATES],
                    u0: [0.0; REPLICATES],
                    u1: [0.0; REPLICATES],
                    inv: [0.0; REPLICATES],
                };
                for (r, total) in total.iter_mut().enumerate() {
                    let k: f64 = match (&poisson, s > 0.0) {
                        (Some(p), true) => p.sample(&mut rng),
                        _ => 0.0,
                    };
                    let z0: f64 = StandardNormal.sample(&mut rng);
                    let z1: f64 = StandardNormal.sample(&mut rng);
                    d.k[r] = k as f32;
                    d.u0[r] = (k.sqrt() * z0) as f32;
                    d.u1[r] = (k.sqrt() * z1) as f32;
                    d.inv[r] = (1.0 / k.max(1.0)) as f32;
                    *total += k;
                }
                d
            })
            .collect();
        Bootstrap { bins, total }
    }

    /// The 90% interval of `S1` ([`interval_of`]). In each
    /// replicate a bin's sums of `a` and `c` over its resampled futures are
    /// their normal approximation, `K mu + sqrt(K) L z` (`mu` and `L L'`
    /// the mean and covariance of `(a, c)` in the bin); the bins' noise
    /// correction (their pooled within variance) is the sample's.
    pub(super) fn interval(&self, bins: &[Moments], estimate: f64) -> (f64, f64) {
        let mut reps = match Isa::detect() {
            // SAFETY: `Isa::detect` chooses AVX2 only on a processor with it.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { replicates_avx2(self, bins) },
            Isa::Portable => replicates_body(self, bins),
        };
        interval_of(&mut reps, estimate)
    }
}

/// [`replicates_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn replicates_avx2(boot: &Bootstrap, bins: &[Moments]) -> [f64; REPLICATES] {
    replicates_body(boot, bins)
}

/// `S1` in each bootstrap replicate: one pass over the bins, each bin's
/// replicates in a vector loop, accumulating per replicate the futures,
/// the sums of `a` and `c`, and `sum_b a_b^2 / K_b` (the between-bin sum of
/// squares is that less `(sum a)^2 / N`).
#[inline(always)]
fn replicates_body(boot: &Bootstrap, bins: &[Moments]) -> [f64; REPLICATES] {
    const R: usize = REPLICATES;
    let (mut sa, mut sq, mut sc) = ([0f32; R], [0f32; R], [0f32; R]);
    let (mut ssw, mut occupied, mut n) = (0.0, 0.0, 0.0);
    for (d, m) in boot.bins.iter().zip(bins) {
        if m.n <= 0.0 {
            continue;
        }
        occupied += 1.0;
        n += m.n;
        ssw += (m.aa - m.a * m.a / m.n).max(0.0);
        let (mu_a, mu_c) = (m.a / m.n, m.c / m.n);
        let vaa = (m.aa / m.n - mu_a * mu_a).max(0.0);
        let vac = m.ac / m.n - mu_a * mu_c;
        let vcc = (m.cc / m.n - mu_c * mu_c).max(0.0);
        // L L' = [[vaa, vac], [vac, vcc]].
        let l0 = vaa.sqrt();
        let l2 = if l0 > 0.0 { vac / l0 } else { 0.0 };
        let l3 = (vcc - l2 * l2).max(0.0).sqrt();
        let [mu_a, mu_c, l0, l2, l3] = [mu_a, mu_c, l0, l2, l3].map(|x| x as f32);
        for r in 0..R {
            let a = d.k[r] * mu_a + l0 * d.u0[r];
            sa[r] += a;
            sq[r] += a * a * d.inv[r];
            sc[r] += d.k[r] * mu_c + l2 * d.u0[r] + l3 * d.u1[r];
        }
    }
    let msw = ssw / (n - occupied).max(1.0);
    std::array::from_fn(|r| {
        let total = boot.total[r];
        let t = total.max(1.0);
        let (sa, sq, sc) = (sa[r] as f64, sq[r] as f64, sc[r] as f64);
        let mean = sa / t;
        let var = sc / t - mean * mean;
        if var.is_nan() || var <= 0.0 || occupied < 2.0 {
            return 0.0;
        }
        let msb = (sq - sa * mean) / (occupied - 1.0);
        (msb - msw) / (total / occupied) / var
    })
}

/// The 90% interval of an estimate from its bootstrap replicates: their
/// 5% and 95% quantiles, shifted by the bootstrap's estimate of the bias
/// (the replicates' mean less the estimate). The shift matters for `S1`:
/// a replicate's bins are centred on the sample's bin means, noise
/// included, so the replicates centre on the uncorrected between-bin
/// variance, not on the corrected estimate.
pub(super) fn interval_of(reps: &mut [f64], estimate: f64) -> (f64, f64) {
    let bias = reps.iter().sum::<f64>() / reps.len().max(1) as f64 - estimate;
    let (lo, hi) = quantiles_5_95(reps);
    (lo - bias, hi - bias)
}

/// The 5% and 95% quantiles (type 7) of `x`, reordering it: two selections
/// instead of a sort.
fn quantiles_5_95(x: &mut [f64]) -> (f64, f64) {
    let n = x.len();
    if n < 2 {
        let v = x.first().copied().unwrap_or(0.0);
        return (v, v);
    }
    let at = |x: &mut [f64], q: f64| -> f64 {
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as usize;
        let (_, &mut a, rest) = x.select_nth_unstable_by(lo, |a, b| a.total_cmp(b));
        let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
        if lo + 1 < n {
            a + (h - lo as f64) * (b - a)
        } else {
            a
        }
    };
    (at(x, 0.05), at(x, 0.95))
}

/// The bootstrap draws of a deal: per replicate, the number of resampled
/// futures and `dims` standard normals.
pub(super) struct DealDraws {
    pub(super) counts: Vec<f64>,
    pub(super) normals: Vec<Vec<f64>>,
}

impl DealDraws {
    pub(super) fn new(rng: &mut Xoshiro256PlusPlus, n: usize, dims: usize) -> DealDraws {
        let poisson = Poisson::new(n as f64).ok();
        let counts = (0..REPLICATES)
            .map(|_| poisson.as_ref().map_or(n as f64, |p| p.sample(&mut *rng)))
            .collect();
        let normals = (0..REPLICATES)
            .map(|_| {
                (0..dims)
                    .map(|_| StandardNormal.sample(&mut *rng))
                    .collect()
            })
            .collect();
        DealDraws { counts, normals }
    }
}
