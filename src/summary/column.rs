//! Sorted columns of `f32` values and their statistics: type-7 quantiles
//! of one column, weighted inverse-CDF quantiles of a mixture of columns.
//!
//! Quantiles. For one scenario (equal weights) they are type 7 of Hyndman &
//! Fan (1996), numpy's default: linear interpolation between order
//! statistics at `h = (n - 1) q`. For a mixture of scenarios with weights
//! `w_s` (each scenario's `N` futures carry `w_s / N` each) the quantile is
//! the inverse of the weighted empirical CDF, `inf { x : F_w(x) >= q }`,
//! found by a bracketed search over the `f32` values of the merged sample.

use super::{Stats, QUANTILES};
use std::borrow::Cow;

/// One sorted column of values with its moments. The sorted values are
/// owned, or borrowed from memory a thread reuses (see [`summarise`]).
#[derive(Debug, Clone)]
pub struct Column<'a> {
    /// Values in ascending order.
    pub sorted: Cow<'a, [f32]>,
    /// The order keys of every [`INDEX_STEP`]-th sorted value: a search
    /// index small enough to stay in cache, so that counting the values
    /// up to `x` costs a few cache misses rather than one per halving.
    index: Vec<u32>,
    /// Mean.
    pub mean: f64,
    /// Population variance.
    pub var: f64,
}

impl Column<'static> {
    /// Sorts the values and computes their moments (two-pass variance).
    pub fn new(values: Vec<f32>) -> Column<'static> {
        Column::from_slice(&values)
    }

    /// [`Column::new`] on a borrowed slice: the sorted copy is the only
    /// allocation.
    pub fn from_slice(values: &[f32]) -> Column<'static> {
        let mut sorted = vec![0.0; values.len()];
        let (index, mean, var) = {
            let c = Column::sorted_into(values, &mut sorted, &mut SortScratch::default());
            (c.index, c.mean, c.var)
        };
        Column {
            sorted: Cow::Owned(sorted),
            index,
            mean,
            var,
        }
    }
}

impl<'a> Column<'a> {
    /// [`Column::new`] with the sorted values written to `dst` (as long as
    /// `values`), which the column then borrows.
    pub fn sorted_into(
        values: &[f32],
        dst: &'a mut [f32],
        scratch: &mut SortScratch,
    ) -> Column<'a> {
        let n = values.len().max(1) as f64;
        let mean = sum_f64(values, |x| x) / n;
        let var = sum_f64(values, |x| (x - mean) * (x - mean)) / n;
        sort_f32_into(values, dst, scratch);
        let sorted: &'a [f32] = dst;
        Column {
            index: sorted
                .iter()
                .step_by(INDEX_STEP)
                .map(|&v| ordered_bits(v))
                .collect(),
            sorted: Cow::Borrowed(sorted),
            mean,
            var,
        }
    }

    /// Type-7 quantile.
    pub fn quantile(&self, q: f64) -> f64 {
        let v = &self.sorted;
        if v.is_empty() {
            return f64::NAN;
        }
        let h = (v.len() - 1) as f64 * q;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        let frac = h - lo as f64;
        v[lo] as f64 + frac * (v[hi] as f64 - v[lo] as f64)
    }

    /// Number of values `<= x`.
    pub(super) fn count_le(&self, x: f32) -> usize {
        self.count_le_bits(ordered_bits(x))
    }

    /// Number of values whose order key is `<= key`.
    fn count_le_bits(&self, key: u32) -> usize {
        // Blocks whose first value is <= key; the last of them holds the
        // boundary.
        let blocks = self.index.partition_point(|&k| k <= key);
        if blocks == 0 {
            return 0;
        }
        let start = (blocks - 1) * INDEX_STEP;
        let block = &self.sorted[start..(start + INDEX_STEP).min(self.sorted.len())];
        start + block.partition_point(|&v| ordered_bits(v) <= key)
    }

    /// Number of values whose order key is `< key`.
    fn count_lt_bits(&self, key: u32) -> usize {
        if key == 0 {
            0
        } else {
            self.count_le_bits(key - 1)
        }
    }
}

/// Values per block of a [`Column`]'s search index (64 bytes of keys).
const INDEX_STEP: usize = 16;

/// `sum f(x)` over `f32` values, in `f64` with four interleaved partial
/// sums (a fixed order, so deterministic; independent chains, so fast).
#[inline(always)]
pub fn sum_f64(values: &[f32], f: impl Fn(f64) -> f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = values.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            acc[l] += f(c[l] as f64);
        }
    }
    let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &v in rest {
        total += f(v as f64);
    }
    total
}

/// `values` in the float total order (as `total_cmp`), written to `dst`
/// (as long as `values`): an LSD radix sort on the order-preserving bit
/// patterns, three passes of 11, 11 and 10 bits (the three histograms,
/// 24 KB, stay in the first-level cache, and are counted in one pass); a
/// pass whose digit is the same for every value is skipped. Fewer than
/// 1,024 values are sorted by comparison.
/// The keys' buffers come from `scratch`.
pub fn sort_f32_into(values: &[f32], dst: &mut [f32], scratch: &mut SortScratch) {
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    const MASK: u32 = (1 << BITS) - 1;
    let SortScratch { keys, buf } = scratch;
    keys.clear();
    keys.extend(values.iter().map(|&v| ordered_bits(v)));
    let n = keys.len();
    if n < 1024 {
        keys.sort_unstable();
    } else {
        let mut counts = vec![[0u32; BUCKETS]; 3];
        for &k in keys.iter() {
            counts[0][(k & MASK) as usize] += 1;
            counts[1][((k >> BITS) & MASK) as usize] += 1;
            counts[2][(k >> (2 * BITS)) as usize] += 1;
        }
        // Every entry is written by a pass before it is read.
        buf.resize(n, 0);
        for (d, counts) in counts.iter_mut().enumerate() {
            if counts.iter().any(|&c| c as usize == n) {
                continue;
            }
            let mut total = 0;
            for c in counts.iter_mut() {
                let m = *c;
                *c = total;
                total += m;
            }
            let shift = BITS * d as u32;
            for &k in keys.iter() {
                let digit = ((k >> shift) & MASK) as usize;
                let at = counts[digit] as usize;
                // SAFETY: `counts[digit]` starts at the number of keys with
                // a smaller digit and is incremented once per key with this
                // digit, so it stays below the number of keys with a digit
                // <= this one, which is at most `n = buf.len()`.
                unsafe { *buf.get_unchecked_mut(at) = k };
                counts[digit] += 1;
            }
            std::mem::swap(keys, buf);
        }
    }
    for (d, &k) in dst.iter_mut().zip(keys.iter()) {
        *d = from_ordered_bits(k);
    }
}

/// The key buffers of [`sort_f32_into`], reused from column to column (a
/// thread's columns all have the same length, so after the first one
/// nothing is allocated or zeroed).
#[derive(Default)]
pub struct SortScratch {
    keys: Vec<u32>,
    buf: Vec<u32>,
}

/// Maps an `f32` to a `u32` whose order is the float's total order.
pub(crate) fn ordered_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

pub(crate) fn from_ordered_bits(u: u32) -> f32 {
    if u & 0x8000_0000 != 0 {
        f32::from_bits(u & 0x7FFF_FFFF)
    } else {
        f32::from_bits(!u)
    }
}

/// `inf { x : F_w(x) >= q }` over a weighted mixture of sorted columns.
///
/// A bracket search over the `f32` bit patterns (whose order is the
/// values' order): each probe is where the CDF's chord across the bracket
/// meets the target (bisection when that stalls), and every column keeps
/// the range of ranks the answer's count can still take, so each probe's
/// binary searches run only inside those ranges. Once at most [`FEW`]
/// values remain inside the bracket, they are sorted and walked in order.
pub(super) fn mixture_quantile(parts: &[(&Column, f64)], q: f64) -> f64 {
    /// Values left in the bracket when the walk takes over.
    const FEW: usize = 64;
    let (mut lo, mut hi) = (u32::MAX, 0u32);
    for (c, _) in parts {
        if let (Some(&a), Some(&b)) = (c.sorted.first(), c.sorted.last()) {
            lo = lo.min(ordered_bits(a));
            hi = hi.max(ordered_bits(b));
        }
    }
    if lo > hi {
        return f64::NAN;
    }
    // Tolerance on the cumulative weight, so that q = k/N hits sample k.
    let target = q - 1e-12;
    // A first bracket from each column's own quantile: below the smallest
    // column's value of rank floor(qN) - 1 every column's CDF is under
    // q - 1/N, so F < target; at the largest column's value of rank
    // ceil(qN) every column's CDF is at least q, so F >= target.
    let (mut first, mut last) = (u32::MAX, 0u32);
    for (c, _) in parts {
        let n = c.sorted.len();
        if n == 0 {
            continue;
        }
        let qn = q * n as f64;
        let r = (qn.floor() as usize).saturating_sub(1).min(n - 1);
        let rr = (qn.ceil() as usize).min(n - 1);
        first = first.min(ordered_bits(c.sorted[r]));
        last = last.max(ordered_bits(c.sorted[rr]));
    }
    if q > 1e-9 && q < 1.0 && first <= last {
        lo = lo.max(first);
        hi = hi.min(last);
    }
    // Invariants: F(hi) >= target; F(x) < target for x < lo; column s has
    // exactly a[s] values below lo and b[s] values up to hi.
    let mut a: Vec<usize> = parts.iter().map(|(c, _)| c.count_lt_bits(lo)).collect();
    let mut b: Vec<usize> = parts.iter().map(|(c, _)| c.count_le_bits(hi)).collect();
    let mut counts = vec![0usize; parts.len()];
    let cdf = |counts: &[usize]| -> f64 {
        parts
            .iter()
            .zip(counts)
            .map(|((c, w), &k)| w * k as f64 / c.sorted.len() as f64)
            .sum()
    };
    let mut open = a.iter().zip(&b).map(|(x, y)| y - x).sum::<usize>();
    let mut interpolate = true;
    while lo < hi && open > FEW {
        // The next probe: where the CDF's chord crosses the target (the
        // values are smooth in most runs, so this closes in a few steps),
        // or the middle of the bit range when the last chord step did not
        // halve the bracket.
        let mut mid = lo + (hi - lo) / 2;
        if interpolate {
            let (f_lo, f_hi) = (cdf(&a), cdf(&b));
            let (x_lo, x_hi) = (from_ordered_bits(lo) as f64, from_ordered_bits(hi) as f64);
            let x = x_lo + (target - f_lo) / (f_hi - f_lo) * (x_hi - x_lo);
            if x.is_finite() {
                mid = ordered_bits(x as f32).clamp(lo, hi - 1);
            }
        }
        for (s, (c, _)) in parts.iter().enumerate() {
            counts[s] = if a[s] == b[s] {
                a[s]
            } else {
                c.count_le_bits(mid)
            };
        }
        if cdf(&counts) >= target {
            hi = mid;
            b.copy_from_slice(&counts);
        } else {
            lo = mid + 1;
            a.copy_from_slice(&counts);
        }
        let left = a.iter().zip(&b).map(|(x, y)| y - x).sum::<usize>();
        interpolate = left <= open / 2;
        open = left;
    }
    if lo == hi {
        // One value left (however many times it occurs): F jumps there.
        return from_ordered_bits(lo) as f64;
    }
    // Walk the values left in [lo, hi], in order, from F just below lo.
    let mut f: f64 = parts
        .iter()
        .zip(&a)
        .map(|((c, w), &n)| w * n as f64 / c.sorted.len() as f64)
        .sum();
    let mut left: Vec<(u32, f64)> = parts
        .iter()
        .enumerate()
        .flat_map(|(s, (c, w))| {
            let step = w / c.sorted.len() as f64;
            c.sorted[a[s]..b[s]]
                .iter()
                .map(move |&v| (ordered_bits(v), step))
        })
        .collect();
    left.sort_unstable_by_key(|x| x.0);
    let mut i = 0;
    while i < left.len() {
        let v = left[i].0;
        while i < left.len() && left[i].0 == v {
            f += left[i].1;
            i += 1;
        }
        if f >= target {
            return from_ordered_bits(v) as f64;
        }
    }
    from_ordered_bits(hi) as f64
}

/// Statistics of a view: type-7 quantiles for one column, weighted
/// inverse-CDF quantiles for a mixture.
pub fn mixture_stats(parts: &[(&Column, f64)]) -> Stats {
    mixture_stats_of(parts, parts.len() > 1)
}

/// [`mixture_stats`], saying whether the view is a mixture: a mixture of
/// several scenarios whose columns are identical (and so merged into one
/// part) still takes the weighted inverse-CDF quantile.
pub fn mixture_stats_of(parts: &[(&Column, f64)], mixture: bool) -> Stats {
    let mean: f64 = parts.iter().map(|(c, w)| w * c.mean).sum();
    let var: f64 = parts
        .iter()
        .map(|(c, w)| w * (c.var + (c.mean - mean).powi(2)))
        .sum();
    let mut q = [0.0; 5];
    for (slot, &level) in q.iter_mut().zip(QUANTILES.iter()) {
        *slot = if !mixture {
            parts[0].0.quantile(level)
        } else {
            mixture_quantile(parts, level)
        };
    }
    Stats {
        mean,
        sd: var.max(0.0).sqrt(),
        q,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_matches_numpy() {
        // numpy.quantile([1, 2, 3, 4], 0.25) == 1.75
        let c = Column::new(vec![4.0, 1.0, 3.0, 2.0]);
        assert!((c.quantile(0.25) - 1.75).abs() < 1e-12);
        assert!((c.quantile(0.5) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn mixture_quantile_is_the_weighted_inverse_cdf() {
        let a = Column::new(vec![1.0, 2.0]);
        let b = Column::new(vec![10.0, 20.0]);
        // Weights 0.75 / 0.25: F(1) = .375, F(2) = .75, F(10) = .875, F(20) = 1.
        let parts = [(&a, 0.75), (&b, 0.25)];
        assert_eq!(mixture_quantile(&parts, 0.3), 1.0);
        assert_eq!(mixture_quantile(&parts, 0.5), 2.0);
        assert_eq!(mixture_quantile(&parts, 0.75), 2.0);
        assert_eq!(mixture_quantile(&parts, 0.8), 10.0);
        assert_eq!(mixture_quantile(&parts, 0.95), 20.0);
        let st = mixture_stats(&parts);
        assert!((st.mean - (0.75 * 1.5 + 0.25 * 15.0)).abs() < 1e-12);
    }

    /// Wide ranges with signed zeros and extremes (every pass runs), a
    /// narrow range (the top digit is constant: that pass is skipped), and
    /// a short column (sorted by comparison), with a fresh scratch and with
    /// one reused from column to column.
    #[test]
    fn radix_sort_matches_total_cmp_sort() {
        let mut rng = crate::test_util::Lcg(12345);
        // One scratch for every column, as a thread reuses it: lengths
        // shrink and grow, and passes leave its two buffers swapped.
        let mut scratch = SortScratch::default();
        for (n, scale, offset) in [
            (5000, 1e3f32, -0.5f32),
            (5000, 0.5, 2.0),
            (700, 1e3, -0.5),
            (6000, 1e3, -0.5),
        ] {
            let v: Vec<f32> = (0..n)
                .map(|i| {
                    let f = (rng.next_f32() + offset) * scale;
                    match (i % 97, offset < 0.0) {
                        (0, true) => -0.0,
                        (1, true) => 0.0,
                        (2, true) => f32::MAX,
                        _ => f,
                    }
                })
                .collect();
            let mut want = v.clone();
            want.sort_unstable_by(|a, b| a.total_cmp(b));
            let mut got = vec![0.0; v.len()];
            sort_f32_into(&v, &mut got, &mut SortScratch::default());
            let mut reused = vec![0.0; v.len()];
            sort_f32_into(&v, &mut reused, &mut scratch);
            for got in [&got, &reused] {
                assert!(
                    got.iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "n {n}, scale {scale}"
                );
            }
        }
    }

    #[test]
    fn ordered_bits_round_trip_and_keep_order() {
        let xs = [-3.5f32, -0.0, 0.0, 1e-30, 2.0, f32::MAX];
        for w in xs.windows(2) {
            assert!(ordered_bits(w[0]) <= ordered_bits(w[1]));
        }
        for x in xs {
            assert_eq!(from_ordered_bits(ordered_bits(x)).to_bits(), x.to_bits());
        }
    }
}
