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
    fn equal_weights_give_ess_n() {
        assert_eq!(ess(4.0, 4.0), 4.0);
        assert_eq!(ess(1.0, 1.0), 1.0);
    }
}
