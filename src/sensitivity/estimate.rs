//! The estimators behind the sensitivity tables, on plain vectors.
//!
//! - [`binned_s1`]: the first-order index `S1 = Var(E[Y | X]) / Var(Y)`
//!   from one sample ("given data"): the futures sorted by the input and
//!   cut into equal-count bins, the variance of the bins' means corrected
//!   for their noise as in a one-way analysis of variance
//!   (`(MSB - MSW) / m`), over `Var(Y)`.
//! - [`spearman`]: the rank correlation (mid-ranks for ties).
//! - [`saltelli_s1`] and [`jansen_st`]: the first-order (Saltelli et al.
//!   2010) and total-order (Jansen 1999) indices of a Sobol design.
//!
//! Each returns the estimate as computed: a negative index (noise around a
//! true 0) is reported as such, never clipped.

/// Per-bin sums of a sample sorted into bins: count and the sums of `a`,
/// `a^2` and `c` (the values' second moment: `a^2` for one scenario; for a
/// mixture of scenarios the mixture's second moment, which is larger).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BinSums {
    /// Futures.
    pub n: f64,
    /// Sum of `a`.
    pub a: f64,
    /// Sum of `a^2`.
    pub aa: f64,
    /// Sum of `c`.
    pub c: f64,
}

impl BinSums {
    /// Adds one future.
    #[inline]
    pub fn add(&mut self, a: f64, c: f64) {
        self.n += 1.0;
        self.a += a;
        self.aa += a * a;
        self.c += c;
    }
}

/// `S1` from bins: the between-bin variance of the bins' means of `a`,
/// less its noise (`(MSB - MSW) / m`, `m` the mean bin size), over the
/// variance of the values (`E[c] - E[a]^2`). `0` when the values do not
/// vary.
pub fn binned_s1(bins: &[BinSums]) -> f64 {
    let n: f64 = bins.iter().map(|b| b.n).sum();
    let k = bins.iter().filter(|b| b.n > 0.0).count() as f64;
    if n <= k || k < 2.0 {
        return 0.0;
    }
    let mean = bins.iter().map(|b| b.a).sum::<f64>() / n;
    let var = bins.iter().map(|b| b.c).sum::<f64>() / n - mean * mean;
    if var.is_nan() || var <= 0.0 {
        return 0.0;
    }
    let (mut ssb, mut ssw) = (0.0, 0.0);
    for b in bins.iter().filter(|b| b.n > 0.0) {
        let m = b.a / b.n;
        ssb += b.n * (m - mean) * (m - mean);
        ssw += (b.aa - b.a * m).max(0.0);
    }
    let msb = ssb / (k - 1.0);
    let msw = ssw / (n - k);
    (msb - msw) / (n / k) / var
}

/// The mean of `a` in the lowest and the highest tenth of the bins (the
/// futures with the lowest and highest input): a tornado chart's swing.
pub fn swing(bins: &[BinSums]) -> (f64, f64) {
    let tenth = (bins.len() / 10).max(1);
    let mean = |bs: &[BinSums]| {
        let n: f64 = bs.iter().map(|b| b.n).sum();
        bs.iter().map(|b| b.a).sum::<f64>() / n.max(1.0)
    };
    (mean(&bins[..tenth]), mean(&bins[bins.len() - tenth..]))
}

/// Maps an `f32` to a `u32` whose order is the float's total order.
fn ordered_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

/// Indices `0..keys.len()` sorted by key, ties in index order, each packed
/// under its key (`key << 32 | index`): an LSD radix sort on the keys,
/// three passes of 11, 11 and 10 bits, skipping a pass whose digit is the
/// same for every key.
pub(crate) fn sorted_by_key(keys: impl Iterator<Item = u32>) -> Vec<u64> {
    const BITS: u32 = 11;
    const MASK: u64 = (1 << BITS) - 1;
    let mut v: Vec<u64> = keys
        .enumerate()
        .map(|(i, k)| u64::from(k) << 32 | i as u64)
        .collect();
    let mut counts = vec![[0usize; 1 << BITS]; 3];
    for &e in &v {
        for (d, c) in counts.iter_mut().enumerate() {
            c[((e >> (32 + BITS as usize * d)) & MASK) as usize] += 1;
        }
    }
    let mut buf = vec![0u64; v.len()];
    for (d, c) in counts.iter_mut().enumerate() {
        if c.contains(&v.len()) {
            continue;
        }
        let mut total = 0;
        for x in c.iter_mut() {
            let m = *x;
            *x = total;
            total += m;
        }
        let shift = 32 + BITS as usize * d;
        for &e in &v {
            let digit = ((e >> shift) & MASK) as usize;
            buf[c[digit]] = e;
            c[digit] += 1;
        }
        std::mem::swap(&mut v, &mut buf);
    }
    v
}

/// Gives each run of equal values (`same(a, b)` on adjacent sorted
/// indices) the mean of its 1-based ranks.
fn mid_ranks(order: &[u32], same: impl Fn(u32, u32) -> bool) -> Vec<f64> {
    let mut r = vec![0.0; order.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && same(order[i], order[j + 1]) {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            r[o as usize] = mid;
        }
        i = j + 1;
    }
    r
}

/// Mid-ranks of `x` (1-based; tied values share the mean of their ranks).
/// Sorted on the values rounded to `f32` (rounding keeps the order), then
/// each run of equal `f32` keys (rare) by the values themselves.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let sorted = sorted_by_key(x.iter().map(|&v| ordered_bits(v as f32)));
    let mut order: Vec<u32> = sorted.iter().map(|&e| e as u32).collect();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] >> 32 == sorted[i] >> 32 {
            j += 1;
        }
        if j - i > 1 {
            order[i..j].sort_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]).then(a.cmp(&b)));
        }
        i = j;
    }
    mid_ranks(&order, |a, b| {
        x[a as usize].to_bits() == x[b as usize].to_bits()
    })
}

/// Mid-ranks of `f32` values (1-based; ties share the mean of their ranks):
/// the reference [`centred_ranks_f32`] is tested against.
#[cfg(test)]
fn ranks_f32(x: &[f32]) -> Vec<f64> {
    let sorted = sorted_by_key(x.iter().map(|&v| ordered_bits(v)));
    let order: Vec<u32> = sorted.iter().map(|&e| e as u32).collect();
    mid_ranks(&order, |a, b| {
        x[a as usize].to_bits() == x[b as usize].to_bits()
    })
}

/// The mid-ranks of `f32` values less their mean `(n + 1) / 2`, in `f32`,
/// and their sum of squares (in index order): the same numbers as taking
/// the mean off the mid-ranks, as every rank and the mean are multiples of
/// one half, held exactly in `f32` below 2^23 values.
pub fn centred_ranks_f32(x: &[f32]) -> (Vec<f32>, f64) {
    let n = x.len();
    // Equal keys are equal bits: ties are runs of equal keys.
    let sorted = sorted_by_key(x.iter().map(|&v| ordered_bits(v)));
    let mean = (n as f64 + 1.0) / 2.0;
    let mut out = vec![0f32; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && sorted[j + 1] >> 32 == sorted[i] >> 32 {
            j += 1;
        }
        let d = ((i + j) as f64 / 2.0 + 1.0 - mean) as f32;
        for &e in &sorted[i..=j] {
            out[e as u32 as usize] = d;
        }
        i = j + 1;
    }
    let ss = out.iter().map(|&d| d as f64 * d as f64).sum();
    (out, ss)
}

/// Weighted Pearson correlation of `x` and `y` (`0` if either is constant).
pub fn weighted_correlation(x: &[f64], y: &[f64], w: &[f64]) -> f64 {
    let sw: f64 = w.iter().sum();
    let mx = x.iter().zip(w).map(|(a, w)| a * w).sum::<f64>() / sw;
    let my = y.iter().zip(w).map(|(a, w)| a * w).sum::<f64>() / sw;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for ((a, b), w) in x.iter().zip(y).zip(w) {
        sxy += w * (a - mx) * (b - my);
        sxx += w * (a - mx) * (a - mx);
        syy += w * (b - my) * (b - my);
    }
    if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        0.0
    }
}

/// Spearman's rank correlation of `x` and `y`.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let w = vec![1.0; x.len()];
    weighted_correlation(&ranks(x), &ranks(y), &w)
}

/// Saltelli et al. (2010), first order: `mean(f_B (f_ABi - f_A)) / V`,
/// with `V` the variance of `f_A` and `f_B` pooled.
pub fn saltelli_s1(fa: &[f64], fb: &[f64], fab: &[f64]) -> f64 {
    let v = pooled_variance(fa, fb);
    if v.is_nan() || v <= 0.0 {
        return 0.0;
    }
    let n = fa.len() as f64;
    fb.iter()
        .zip(fab)
        .zip(fa)
        .map(|((b, ab), a)| b * (ab - a))
        .sum::<f64>()
        / n
        / v
}

/// Jansen (1999), total order: `mean((f_A - f_ABi)^2) / 2 / V`.
pub fn jansen_st(fa: &[f64], fb: &[f64], fab: &[f64]) -> f64 {
    let v = pooled_variance(fa, fb);
    if v.is_nan() || v <= 0.0 {
        return 0.0;
    }
    let n = fa.len() as f64;
    fa.iter()
        .zip(fab)
        .map(|(a, ab)| (a - ab) * (a - ab))
        .sum::<f64>()
        / n
        / 2.0
        / v
}

/// Population variance of `a` and `b` taken together.
pub fn pooled_variance(a: &[f64], b: &[f64]) -> f64 {
    let n = (a.len() + b.len()) as f64;
    let mean = (a.iter().sum::<f64>() + b.iter().sum::<f64>()) / n;
    a.iter()
        .chain(b)
        .map(|x| (x - mean) * (x - mean))
        .sum::<f64>()
        / n
}

/// The `q` quantile of sorted `x` (type 7), for bootstrap intervals.
pub fn quantile(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let h = (x.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(x.len() - 1);
    x[lo] + (h - lo as f64) * (x[hi] - x[lo])
}

/// The lower-triangular factor `L` of a covariance matrix (`L L' = cov`),
/// row-major `d x d`; a column whose pivot is not positive (a variable
/// that is constant, or a combination of the others) is left at 0.
pub fn cholesky(cov: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for j in 0..d {
        let mut pivot = cov[j * d + j];
        for k in 0..j {
            pivot -= l[j * d + k] * l[j * d + k];
        }
        let scale = cov[j * d + j].abs().max(f64::MIN_POSITIVE);
        if pivot <= 1e-12 * scale {
            continue;
        }
        let root = pivot.sqrt();
        l[j * d + j] = root;
        for i in j + 1..d {
            let mut s = cov[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            l[i * d + j] = s / root;
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};

    /// Ishigami (a = 7, b = 0.1) on [-pi, pi]^3: S1 = 0.3139, 0.4424, 0;
    /// ST = 0.5576, 0.4424, 0.2437.
    fn ishigami(x: &[f64]) -> f64 {
        x[0].sin() + 7.0 * x[1].sin().powi(2) + 0.1 * x[2].powi(4) * x[0].sin()
    }

    const ISHIGAMI_S1: [f64; 3] = [0.3139, 0.4424, 0.0];
    const ISHIGAMI_ST: [f64; 3] = [0.5576, 0.4424, 0.2437];

    /// A Saltelli design of `n` rows: `f(A)`, `f(B)` and `f(AB_i)`.
    fn design(
        f: &dyn Fn(&[f64]) -> f64,
        d: usize,
        n: usize,
        seed: u64,
    ) -> (Vec<f64>, Vec<f64>, Vec<Vec<f64>>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let pi = std::f64::consts::PI;
        let mut draw = || -pi + 2.0 * pi * rng.random::<f64>();
        let a: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| draw()).collect()).collect();
        let b: Vec<Vec<f64>> = (0..n).map(|_| (0..d).map(|_| draw()).collect()).collect();
        let fa = a.iter().map(|x| f(x)).collect();
        let fb = b.iter().map(|x| f(x)).collect();
        let fab = (0..d)
            .map(|i| {
                a.iter()
                    .zip(&b)
                    .map(|(ra, rb)| {
                        let mut x = ra.clone();
                        x[i] = rb[i];
                        f(&x)
                    })
                    .collect()
            })
            .collect();
        (fa, fb, fab)
    }

    /// 2^16 rows: the estimators' standard errors are below 0.01 there
    /// (Saltelli 2010, table 3); 0.02 is two of them and more.
    const SOBOL_TOL: f64 = 0.02;

    #[test]
    fn saltelli_and_jansen_on_ishigami() {
        let (fa, fb, fab) = design(&ishigami, 3, 1 << 16, 11);
        for i in 0..3 {
            let s1 = saltelli_s1(&fa, &fb, &fab[i]);
            let st = jansen_st(&fa, &fb, &fab[i]);
            assert!((s1 - ISHIGAMI_S1[i]).abs() < SOBOL_TOL, "S1[{i}] = {s1}");
            assert!((st - ISHIGAMI_ST[i]).abs() < SOBOL_TOL, "ST[{i}] = {st}");
        }
    }

    /// Y = 1 x1 + 2 x2 + 3 x3, independent uniforms: S1 = ST = c_i^2 / 14.
    #[test]
    fn saltelli_and_jansen_on_a_linear_model() {
        let f = |x: &[f64]| x[0] + 2.0 * x[1] + 3.0 * x[2];
        let (fa, fb, fab) = design(&f, 3, 1 << 16, 12);
        for (i, fab) in fab.iter().enumerate() {
            let want = ((i + 1) * (i + 1)) as f64 / 14.0;
            let s1 = saltelli_s1(&fa, &fb, fab);
            let st = jansen_st(&fa, &fb, fab);
            assert!((s1 - want).abs() < SOBOL_TOL, "S1[{i}] = {s1} vs {want}");
            assert!((st - want).abs() < SOBOL_TOL, "ST[{i}] = {st} vs {want}");
        }
    }

    /// The given-data estimator from one plain sample of 100,000: within
    /// 0.01 of Ishigami's first-order indices (its bias after the noise
    /// correction is far smaller; the sampling error about 0.003).
    #[test]
    fn binned_s1_on_ishigami_and_a_linear_model() {
        let n = 100_000;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let pi = std::f64::consts::PI;
        let x: Vec<[f64; 3]> = (0..n)
            .map(|_| std::array::from_fn(|_| -pi + 2.0 * pi * rng.random::<f64>()))
            .collect();
        for (f, want) in [
            (&ishigami as &dyn Fn(&[f64]) -> f64, ISHIGAMI_S1),
            (
                &|x: &[f64]| x[0] + 2.0 * x[1] + 3.0 * x[2],
                [1.0 / 14.0, 4.0 / 14.0, 9.0 / 14.0],
            ),
        ] {
            let y: Vec<f64> = x.iter().map(|x| f(x)).collect();
            for i in 0..3 {
                let xi: Vec<f64> = x.iter().map(|x| x[i]).collect();
                let s1 = binned_s1(&bin_sums(&xi, &y, 100));
                assert!((s1 - want[i]).abs() < 0.01, "S1[{i}] = {s1} vs {}", want[i]);
            }
        }
    }

    fn bin_sums(x: &[f64], y: &[f64], m: usize) -> Vec<BinSums> {
        let r = ranks(x);
        let mut bins = vec![BinSums::default(); m];
        for (ri, yi) in r.iter().zip(y) {
            let b = (((ri - 1.0) as usize) * m / x.len()).min(m - 1);
            bins[b].add(*yi, yi * yi);
        }
        bins
    }

    #[test]
    fn ranks_share_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        assert_eq!(ranks_f32(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        // Distinct values that round to the same f32 keep their order.
        let a = 1.0 + 1e-12;
        assert_eq!(ranks(&[a, 1.0, -0.0, 0.0, -5.0]), [5.0, 4.0, 2.0, 3.0, 1.0]);
        let s = spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 40.0]);
        assert!((s - 1.0).abs() < 1e-12);
    }

    /// Ranks agree with a comparison sort on random data with ties.
    #[test]
    fn ranks_match_a_comparison_sort() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let x: Vec<f64> = (0..5000)
            .map(|_| (rng.random::<f64>() * 300.0).round() / 7.0 - 20.0)
            .collect();
        let r = ranks(&x);
        for i in 0..x.len() {
            let below = x.iter().filter(|&&v| v < x[i]).count() as f64;
            let equal = x.iter().filter(|&&v| v == x[i]).count() as f64;
            assert_eq!(r[i], below + (equal + 1.0) / 2.0);
        }
        let y: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        assert_eq!(ranks_f32(&y), r);
        // Centred: the ranks less their mean, exactly.
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let (c, ss) = centred_ranks_f32(&y);
        let want: Vec<f32> = r.iter().map(|v| (v - mean) as f32).collect();
        assert_eq!(c, want);
        let want_ss: f64 = r.iter().map(|v| (v - mean) * (v - mean)).sum();
        assert_eq!(ss, want_ss);
    }

    #[test]
    fn cholesky_factors_and_skips_constant_variables() {
        let cov = [4.0, 2.0, 0.0, 2.0, 5.0, 0.0, 0.0, 0.0, 0.0];
        let l = cholesky(&cov, 3);
        for i in 0..3 {
            for j in 0..3 {
                let s: f64 = (0..3).map(|k| l[i * 3 + k] * l[j * 3 + k]).sum();
                assert!((s - cov[i * 3 + j]).abs() < 1e-12, "{i} {j}");
            }
        }
    }
}
