//! Weighted samples: a column of values, each with its own weight, sorted
//! once, and the statistics of a view that mixes several such columns
//! with a factor each. Quantiles are the weighted rule of the unconditioned
//! mixtures, `inf { x : F_w(x) >= q }` (see `summary::column`).

use crate::sensitivity::estimate::sorted_by_key;
use crate::summary::column::{from_ordered_bits, ordered_bits};
use crate::summary::{Stats, QUANTILES};

/// Values sorted with their weights: `cum[k]` is the weight of the `k`
/// smallest values.
#[derive(Debug, Clone, Default)]
pub struct WeightedColumn {
    keys: Vec<u32>,
    cum: Vec<f64>,
    /// Total weight.
    pub total: f64,
    /// Weighted mean.
    pub mean: f64,
    /// Weighted population variance.
    pub var: f64,
}

impl WeightedColumn {
    /// Sorts `values` with their `weights` (non-negative, finite).
    pub fn new(values: &[f32], weights: &[f64]) -> WeightedColumn {
        let order = sorted_by_key(values.iter().map(|&v| ordered_bits(v)));
        let mut keys = Vec::with_capacity(values.len());
        let mut cum = Vec::with_capacity(values.len() + 1);
        cum.push(0.0);
        let (mut total, mut sum) = (0.0, 0.0);
        for e in &order {
            let i = *e as u32 as usize;
            keys.push((e >> 32) as u32);
            total += weights[i];
            sum += weights[i] * values[i] as f64;
            cum.push(total);
        }
        let mean = if total > 0.0 { sum / total } else { 0.0 };
        let mut ss = 0.0;
        for (&v, &w) in values.iter().zip(weights) {
            ss += w * (v as f64 - mean).powi(2);
        }
        WeightedColumn {
            keys,
            cum,
            total,
            mean,
            var: if total > 0.0 { ss / total } else { 0.0 },
        }
    }

    /// `n` copies of one value with their weights (no sort).
    pub fn constant(value: f32, weights: &[f64]) -> WeightedColumn {
        let mut cum = Vec::with_capacity(weights.len() + 1);
        cum.push(0.0);
        let mut total = 0.0;
        for w in weights {
            total += w;
            cum.push(total);
        }
        WeightedColumn {
            keys: vec![ordered_bits(value); weights.len()],
            cum,
            total,
            mean: if total > 0.0 { value as f64 } else { 0.0 },
            var: 0.0,
        }
    }

    /// Weight of the values whose order key is `<= key`.
    fn weight_le(&self, key: u32) -> f64 {
        self.cum[self.keys.partition_point(|&k| k <= key)]
    }

    /// Weight of the values `<= x`.
    pub fn weight_le_value(&self, x: f32) -> f64 {
        self.weight_le(ordered_bits(x))
    }
}

/// Statistics of a mixture of weighted columns, column `c` scaled by
/// factor `f` (`parts: (column, f)`): weighted mean, sd and inverse-CDF
/// quantiles. `None` when the parts carry no weight.
pub fn stats(parts: &[(&WeightedColumn, f64)]) -> Option<Stats> {
    let total: f64 = parts.iter().map(|(c, f)| f * c.total).sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mean = parts.iter().map(|(c, f)| f * c.total * c.mean).sum::<f64>() / total;
    let var = parts
        .iter()
        .map(|(c, f)| f * c.total * (c.var + (c.mean - mean).powi(2)))
        .sum::<f64>()
        / total;
    let mut q = [0.0; 5];
    for (slot, &level) in q.iter_mut().zip(QUANTILES.iter()) {
        *slot = quantile(parts, total, level);
    }
    Some(Stats {
        mean,
        sd: var.max(0.0).sqrt(),
        q,
    })
}

/// `inf { x : F(x) >= q }` for the mixture: a binary search over the
/// values' order keys (`F` only steps at values, so the answer is one).
fn quantile(parts: &[(&WeightedColumn, f64)], total: f64, q: f64) -> f64 {
    let target = q * total - 1e-12 * total;
    let cdf = |key: u32| -> f64 { parts.iter().map(|(c, f)| f * c.weight_le(key)).sum() };
    let (mut lo, mut hi) = (u32::MAX, 0u32);
    for (c, f) in parts {
        if *f > 0.0 && c.total > 0.0 {
            if let (Some(&a), Some(&b)) = (c.keys.first(), c.keys.last()) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
    }
    if lo > hi {
        return f64::NAN;
    }
    // Invariant: F(hi) >= target; the answer is in [lo, hi].
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if cdf(mid) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    from_ordered_bits(lo) as f64
}

/// [`stats`] of a pool of weighted samples, part `(values, weights, f)`
/// scaled by `f`, without sorting them: the values are counted into equal
/// bins over their range, and only the bin holding each quantile is sorted
/// (a value in a lower bin is always smaller, so the result is the exact
/// inverse CDF).
pub fn pooled_stats(parts: &[(&[f32], &[f64], f64)]) -> Option<Stats> {
    const BINS: usize = 4096;
    let (mut total, mut sum) = (0.0, 0.0);
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &(v, w, f) in parts {
        for (&x, &e) in v.iter().zip(w) {
            total += f * e;
            sum += f * e * x as f64;
            lo = lo.min(x);
            hi = hi.max(x);
        }
    }
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mean = sum / total;
    let sq = |x: f32, e: f64, f: f64| f * e * (x as f64 - mean).powi(2);
    if lo == hi {
        let ss: f64 = parts
            .iter()
            .flat_map(|&(v, w, f)| v.iter().zip(w).map(move |(&x, &e)| (x, e, f)))
            .fold(0.0, |ss, (x, e, f)| ss + sq(x, e, f));
        return Some(Stats {
            mean,
            sd: (ss / total).max(0.0).sqrt(),
            q: [lo as f64; 5],
        });
    }
    // One pass for the sum of squares, each value's bin and the bins' mass.
    let scale = (BINS - 1) as f64 / (hi as f64 - lo as f64);
    let mut ss = 0.0;
    let mut mass = vec![0.0; BINS];
    let bins: Vec<Vec<u16>> = parts
        .iter()
        .map(|&(v, w, f)| {
            v.iter()
                .zip(w)
                .map(|(&x, &e)| {
                    ss += sq(x, e, f);
                    let b = (((x as f64 - lo as f64) * scale) as usize).min(BINS - 1);
                    mass[b] += f * e;
                    b as u16
                })
                .collect()
        })
        .collect();
    let sd = (ss / total).max(0.0).sqrt();
    // Each level's bin and the weight below it.
    let targets: Vec<(f64, usize, f64)> = QUANTILES
        .iter()
        .map(|&level| {
            let target = level * total - 1e-12 * total;
            let (mut below, mut b) = (0.0, 0);
            while b + 1 < BINS && below + mass[b] < target {
                below += mass[b];
                b += 1;
            }
            (target, b, below)
        })
        .collect();
    // The values of those bins, in one pass.
    let mut wanted = vec![false; BINS];
    for t in &targets {
        wanted[t.1] = true;
    }
    let mut inside: Vec<(u16, u32, f64)> = Vec::new();
    for (&(v, w, f), bs) in parts.iter().zip(&bins) {
        for ((&x, &e), &b) in v.iter().zip(w).zip(bs) {
            if wanted[b as usize] {
                inside.push((b, ordered_bits(x), f * e));
            }
        }
    }
    inside.sort_unstable_by_key(|x| (x.0, x.1));
    let mut q = [hi as f64; 5];
    for (slot, &(target, b, mut below)) in q.iter_mut().zip(&targets) {
        let start = inside.partition_point(|x| (x.0 as usize) < b);
        let mut i = start;
        while i < inside.len() && inside[i].0 as usize == b {
            let key = inside[i].1;
            while i < inside.len() && inside[i].0 as usize == b && inside[i].1 == key {
                below += inside[i].2;
                i += 1;
            }
            if below >= target {
                *slot = from_ordered_bits(key) as f64;
                break;
            }
        }
    }
    Some(Stats { mean, sd, q })
}

/// The same statistics of one plain weighted sample (values need not be
/// sorted).
pub fn sample_stats(values: &[f32], weights: &[f64]) -> Option<Stats> {
    let c = WeightedColumn::new(values, weights);
    stats(&[(&c, 1.0)])
}

/// Effective sample size `(sum w)^2 / sum w^2` of weights given as
/// `(sum w, sum w^2)`.
pub fn ess(sum: f64, sum_sq: f64) -> f64 {
    if sum_sq > 0.0 {
        sum * sum / sum_sq
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantiles_are_the_inverse_cdf() {
        // Weights .1 .2 .3 .4 on 1 2 3 4: F = .1 .3 .6 1.
        let c = WeightedColumn::new(&[3.0, 1.0, 4.0, 2.0], &[0.3, 0.1, 0.4, 0.2]);
        let s = stats(&[(&c, 1.0)]).unwrap();
        assert_eq!(s.q, [1.0, 2.0, 3.0, 4.0, 4.0]);
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.sd - 1.0).abs() < 1e-12);
        // F = .3 reaches the 25% level at 2; exactly .3 at q = .3 too.
        assert_eq!(quantile(&[(&c, 1.0)], 1.0, 0.3), 2.0);
    }

    #[test]
    fn a_mixture_scales_each_column() {
        let a = WeightedColumn::new(&[1.0, 2.0], &[1.0, 1.0]);
        let b = WeightedColumn::new(&[10.0], &[5.0]);
        // Factors .5 and .1: weights 0.5, 0.5, 0.5 -> F = 1/3, 2/3, 1.
        let s = stats(&[(&a, 0.5), (&b, 0.1)]).unwrap();
        assert_eq!(s.q[2], 2.0);
        assert_eq!(s.q[4], 10.0);
        assert!((s.mean - 13.0 / 3.0).abs() < 1e-12);
        assert!(stats(&[(&a, 0.0)]).is_none());
    }

    #[test]
    fn pooled_stats_match_the_sorted_mixture() {
        let mut x = 0.37f64;
        let mut next = || {
            x = (x * 3.9 * (1.0 - x)).clamp(1e-6, 1.0 - 1e-6);
            x
        };
        let a: Vec<f32> = (0..3000)
            .map(|_| (next() * 10.0).round() as f32 / 10.0)
            .collect();
        let b: Vec<f32> = (0..2000).map(|_| next() as f32 - 0.5).collect();
        let wa: Vec<f64> = (0..3000).map(|_| next()).collect();
        let wb: Vec<f64> = (0..2000).map(|_| next()).collect();
        let (ca, cb) = (WeightedColumn::new(&a, &wa), WeightedColumn::new(&b, &wb));
        let want = stats(&[(&ca, 0.3), (&cb, 1.7)]).unwrap();
        let got = pooled_stats(&[(&a, &wa, 0.3), (&b, &wb, 1.7)]).unwrap();
        assert_eq!(got.q, want.q);
        assert!((got.mean - want.mean).abs() < 1e-12 && (got.sd - want.sd).abs() < 1e-12);
    }

    #[test]
    fn equal_weights_give_ess_n() {
        assert_eq!(ess(4.0, 4.0), 4.0);
        assert_eq!(ess(1.0, 1.0), 1.0);
    }
}
