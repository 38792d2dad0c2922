//! Deal impact (MODEL.md section 6): the mean and the 5/50/95% quantiles
//! of paired differences `outcome - baseline`, future by future, pooled
//! over the scenario pairs with their weights, without sorting them.

// Loops run over lanes with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::column::{
    from_ordered_bits, mixture_quantile, mixture_stats, ordered_bits, sum_f64, Column,
};
use crate::isa::Isa;

/// Levels of the impact quantiles (p05, p50, p95).
const IMPACT_LEVELS: [f64; 3] = [0.05, 0.5, 0.95];

/// Bins of the histogram that locates an impact quantile.
const PAIRED_BINS: usize = 2048;

/// Reusable buffers of [`paired_stats`], one set per thread.
#[derive(Default)]
pub(super) struct PairedScratch {
    diffs: Vec<f32>,
    bins: Vec<u16>,
    counts: Vec<u32>,
    /// Four histograms counted in turn (see [`paired_stats`]).
    quarters: Vec<u32>,
    found: Vec<(u32, u32, u32)>,
}

/// Mean and [`IMPACT_LEVELS`] quantiles of paired differences `x - y`
/// (in `f32`, as stored), pooled over pairs with weights `w`: the same
/// statistics as [`mixture_stats`] on the sorted difference columns
/// (type 7 for one pair; the weighted inverse CDF for several), without
/// sorting them. The differences are binned on [`PAIRED_BINS`] equal bins
/// between their minimum and maximum, with a count per pair and bin; the
/// cumulative weight `sum_p w_p count_p / N` at each bin's upper edge
/// locates the bin holding each quantile, and only that bin's values are
/// sorted and walked. Binning is monotone in the value, so this is exact.
///
/// Its passes over the differences are vector code, compiled twice: for
/// AVX2 where the processor has it, and portably. The same IEEE operations
/// in the same order (no fused multiply-add), so the same results.
pub(super) fn paired_stats(
    pairs: &[(&[f32], &[f32], f64)],
    sc: &mut PairedScratch,
) -> (f64, [f64; 3]) {
    match Isa::detect() {
        // SAFETY: `Isa::detect` chooses AVX2 only on a processor with it.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { paired_stats_avx2(pairs, sc) },
        Isa::Portable => paired_stats_body(pairs, sc),
    }
}

/// [`paired_stats`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn paired_stats_avx2(pairs: &[(&[f32], &[f32], f64)], sc: &mut PairedScratch) -> (f64, [f64; 3]) {
    paired_stats_body(pairs, sc)
}

/// [`paired_stats`]' body, inlined into each compiled copy.
#[inline(always)]
fn paired_stats_body(pairs: &[(&[f32], &[f32], f64)], sc: &mut PairedScratch) -> (f64, [f64; 3]) {
    let n = pairs.first().map_or(0, |p| p.0.len());
    if pairs.len() == 1 || n == 0 {
        let cols = difference_columns(pairs);
        let parts: Vec<(&Column, f64)> = cols.iter().zip(pairs).map(|(c, p)| (c, p.2)).collect();
        let st = mixture_stats(&parts);
        return (st.mean, [st.q[0], st.q[2], st.q[4]]);
    }
    let np = pairs.len();
    sc.diffs.clear();
    let (mut lo8, mut hi8) = ([f32::INFINITY; 8], [f32::NEG_INFINITY; 8]);
    let mut mean = -0.0;
    for &(x, y, w) in pairs {
        let start = sc.diffs.len();
        sc.diffs.extend(x.iter().zip(y).map(|(a, b)| a - b));
        let d = &sc.diffs[start..];
        // Minimum and maximum, 8 lanes at a time.
        let chunks = d.chunks_exact(8);
        for (l, &v) in chunks.remainder().iter().enumerate() {
            lo8[l] = if v < lo8[l] { v } else { lo8[l] };
            hi8[l] = if v > hi8[l] { v } else { hi8[l] };
        }
        for c in chunks {
            min_max_8(c, &mut lo8, &mut hi8);
        }
        // As Column::from_slice and mixture_stats compute it.
        mean += w * (sum_f64(d, |v| v) / n as f64);
    }
    let lo = lo8
        .iter()
        .fold(f32::INFINITY, |a, &b| if b < a { b } else { a });
    let hi = hi8
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    if mean.is_nan() {
        // A NaN difference (which the mean carries): NaN sorts last in the
        // total order; leave that to the sort.
        return paired_stats_sorted(pairs, mean);
    }
    if lo >= hi {
        // Every difference is the same (0 before a deal's effects start).
        return (mean, [lo as f64; 3]);
    }
    // Bin of a value: monotone in the value (a subtraction and a
    // multiplication, each rounding monotonically; any monotone binning
    // gives the same result). In `f32`, 8 values per AVX2 instruction,
    // where the width of the range and the scale are finite `f32`s; in
    // `f64` otherwise.
    sc.bins.clear();
    let (width, last) = (hi - lo, (PAIRED_BINS - 1) as f32);
    let scale = PAIRED_BINS as f32 / width;
    if width.is_finite() && scale.is_finite() {
        sc.bins.extend(sc.diffs.iter().map(|&v| {
            // SAFETY: `v` is finite (no NaN, and `lo <= v <= hi`, both
            // finite), so `(v - lo) * scale` is finite, at least 0 and at
            // most about `PAIRED_BINS`, and after `min` an `i32` in
            // [0, PAIRED_BINS): in range for the unchecked conversion
            // (which, unlike `as`, compiles to vector code).
            let b: i32 = unsafe { ((v - lo) * scale).min(last).to_int_unchecked() };
            b as u16
        }));
    } else {
        // (No NaN here, and the product is at least 0: clamping above
        // first lets the conversion compile to vector code.)
        let (lo64, scale) = (lo as f64, PAIRED_BINS as f64 / (hi as f64 - lo as f64));
        sc.bins.extend(
            sc.diffs
                .iter()
                .map(|&v| ((v as f64 - lo64) * scale).min(last as f64) as i32 as u16),
        );
    }
    sc.counts.clear();
    sc.counts.resize(np * PAIRED_BINS, 0);
    // Counted into four histograms in turn, then added: consecutive values
    // in one bin (a deal that leaves many futures alone) would otherwise
    // make each increment wait for the previous one.
    sc.quarters.clear();
    sc.quarters.resize(4 * PAIRED_BINS, 0);
    for (p, bins) in sc.bins.chunks_exact(n).enumerate() {
        let (h0, rest) = sc.quarters.split_at_mut(PAIRED_BINS);
        let (h1, rest) = rest.split_at_mut(PAIRED_BINS);
        let (h2, h3) = rest.split_at_mut(PAIRED_BINS);
        let quads = bins.chunks_exact(4);
        for &b in quads.remainder() {
            h0[b as usize] += 1;
        }
        for q in quads {
            h0[q[0] as usize] += 1;
            h1[q[1] as usize] += 1;
            h2[q[2] as usize] += 1;
            h3[q[3] as usize] += 1;
        }
        let counts = &mut sc.counts[p * PAIRED_BINS..(p + 1) * PAIRED_BINS];
        for b in 0..PAIRED_BINS {
            counts[b] = h0[b] + h1[b] + h2[b] + h3[b];
            (h0[b], h1[b], h2[b], h3[b]) = (0, 0, 0, 0);
        }
    }
    // Cumulative counts per pair below the current bin, and the mixture
    // CDF at a set of per-pair counts.
    let cdf = |cum: &[u32]| -> f64 {
        pairs
            .iter()
            .zip(cum)
            .map(|(p, &c)| p.2 * c as f64 / n as f64)
            .sum()
    };
    // The bin holding each quantile (cumulative weight at its upper edge
    // first reaching the level), with each pair's count below it.
    let mut target_bin = [0usize; 3];
    let mut below = vec![vec![0u32; np]; 3];
    let mut cum = vec![0u32; np];
    let mut next = 0;
    for b in 0..PAIRED_BINS {
        for (p, c) in cum.iter_mut().enumerate() {
            *c += sc.counts[p * PAIRED_BINS + b];
        }
        let top = cdf(&cum);
        while next < 3 && top >= IMPACT_LEVELS[next] - 1e-12 {
            target_bin[next] = b;
            for (p, x) in below[next].iter_mut().enumerate() {
                *x = cum[p] - sc.counts[p * PAIRED_BINS + b];
            }
            next += 1;
        }
        if next == 3 {
            break;
        }
    }
    if next < 3 {
        // Rounding kept the total below a level: fall back.
        return paired_stats_sorted(pairs, mean);
    }
    // One pass collects the values of those (at most 3) bins: 16 bins at a
    // time are compared with the targets (vector code), and only a group
    // holding one is looked at value by value.
    sc.found.clear();
    let [t0, t1, t2] = target_bin.map(|b| b as u16);
    let is_target = |x: u16| (x == t0) | (x == t1) | (x == t2);
    for (p, (d, bins)) in sc
        .diffs
        .chunks_exact(n)
        .zip(sc.bins.chunks_exact(n))
        .enumerate()
    {
        for (dc, bc) in d.chunks(16).zip(bins.chunks(16)) {
            if !bc.iter().fold(false, |a, &x| a | is_target(x)) {
                continue;
            }
            for (&v, &x) in dc.iter().zip(bc) {
                if is_target(x) {
                    sc.found.push((x as u32, ordered_bits(v), p as u32));
                }
            }
        }
    }
    sc.found.sort_unstable();
    let mut q = [f64::NAN; 3];
    for (level, slot) in q.iter_mut().enumerate() {
        let b = target_bin[level] as u32;
        let start = sc.found.partition_point(|e| e.0 < b);
        let end = sc.found.partition_point(|e| e.0 <= b);
        let found = &sc.found[start..end];
        let mut c = below[level].clone();
        let target = IMPACT_LEVELS[level] - 1e-12;
        let mut i = 0;
        while i < found.len() {
            let v = found[i].1;
            while i < found.len() && found[i].1 == v {
                c[found[i].2 as usize] += 1;
                i += 1;
            }
            if cdf(&c) >= target {
                *slot = from_ordered_bits(v) as f64;
                break;
            }
        }
        if slot.is_nan() {
            return paired_stats_sorted(pairs, mean);
        }
    }
    (mean, q)
}

/// Lane by lane, `lo = if c < lo { c } else { lo }` and
/// `hi = if c > hi { c } else { hi }` for 8 values `c`. On x86-64 these
/// are exactly the `minps`/`maxps` instructions (a NaN or a tie keeps the
/// second operand), written out because the compiler turned the plain
/// loop into shuffles and mask conversions on every step.
#[inline(always)]
fn min_max_8(c: &[f32], lo: &mut [f32; 8], hi: &mut [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_ps, _mm_max_ps, _mm_min_ps, _mm_storeu_ps};
        assert!(c.len() >= 8);
        for h in [0, 4] {
            // SAFETY: SSE is part of x86-64; every pointer is to 4 `f32`s
            // inside `c` (checked above), `lo` or `hi`, unaligned loads
            // and stores.
            unsafe {
                let v = _mm_loadu_ps(c.as_ptr().add(h));
                let l = _mm_min_ps(v, _mm_loadu_ps(lo.as_ptr().add(h)));
                let u = _mm_max_ps(v, _mm_loadu_ps(hi.as_ptr().add(h)));
                _mm_storeu_ps(lo.as_mut_ptr().add(h), l);
                _mm_storeu_ps(hi.as_mut_ptr().add(h), u);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    for l in 0..8 {
        lo[l] = if c[l] < lo[l] { c[l] } else { lo[l] };
        hi[l] = if c[l] > hi[l] { c[l] } else { hi[l] };
    }
}

/// The sorted column of `x - y` (in `f32`) of every pair.
fn difference_columns(pairs: &[(&[f32], &[f32], f64)]) -> Vec<Column<'static>> {
    pairs
        .iter()
        .map(|&(x, y, _)| {
            Column::from_slice(&x.iter().zip(y).map(|(a, b)| a - b).collect::<Vec<f32>>())
        })
        .collect()
}

/// [`paired_stats`] by sorting every difference column.
fn paired_stats_sorted(pairs: &[(&[f32], &[f32], f64)], mean: f64) -> (f64, [f64; 3]) {
    let cols = difference_columns(pairs);
    let parts: Vec<(&Column, f64)> = cols.iter().zip(pairs).map(|(c, p)| (c, p.2)).collect();
    let q = IMPACT_LEVELS.map(|level| mixture_quantile(&parts, level));
    (mean, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binned impact quantiles equal the sort-based ones, on
    /// differences with ties, a heavy zero and a long tail.
    #[test]
    fn paired_stats_match_sorting() {
        let mut rng = crate::test_util::Lcg(7);
        let mut next = || rng.next_f32();
        let cols: Vec<(Vec<f32>, Vec<f32>)> = (0..5)
            .map(|p| {
                let a: Vec<f32> = (0..3000).map(|_| next()).collect();
                let b: Vec<f32> = a
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| match (i + p) % 4 {
                        0 => v,
                        1 => v - next().powi(6),
                        _ => (v * 64.0).round() / 64.0,
                    })
                    .collect();
                (a, b)
            })
            .collect();
        let w = [0.1, 0.3, 0.2, 0.25, 0.15];
        // As drawn (binned in `f32`); spread so far that the differences'
        // range overflows `f32`, or shrunk so far that the bin scale does
        // (both binned in `f64`).
        for (factor, spread) in [(1.0f32, false), (1.5e38, true), (1e-38, false)] {
            let scaled: Vec<(Vec<f32>, Vec<f32>)> = cols
                .iter()
                .enumerate()
                .map(|(p, (a, b))| {
                    if spread {
                        // Differences (a + b) x factor, of sign +, -, +...
                        let sign = if p % 2 == 0 { factor } else { -factor };
                        (
                            a.iter().map(|x| x * sign).collect(),
                            b.iter().map(|x| -x * sign).collect(),
                        )
                    } else {
                        (
                            a.iter().map(|x| x * factor).collect(),
                            b.iter().map(|x| x * factor).collect(),
                        )
                    }
                })
                .collect();
            let diffs = scaled
                .iter()
                .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - y));
            let (lo, hi) = diffs.fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), d| {
                (l.min(d), h.max(d))
            });
            let f32_bins = (hi - lo).is_finite() && (PAIRED_BINS as f32 / (hi - lo)).is_finite();
            assert_eq!(f32_bins, factor == 1.0, "factor {factor}");
            let pairs: Vec<(&[f32], &[f32], f64)> = scaled
                .iter()
                .zip(w)
                .map(|((a, b), w)| (a.as_slice(), b.as_slice(), w))
                .collect();
            let (mean, q) = paired_stats(&pairs, &mut PairedScratch::default());
            // The portable copy agrees with the one this processor ran.
            assert_eq!(
                paired_stats_body(&pairs, &mut PairedScratch::default()),
                (mean, q)
            );
            let (mean2, q2) = paired_stats_sorted(&pairs, mean);
            assert_eq!(mean, mean2, "factor {factor}");
            assert_eq!(q, q2, "factor {factor}");
            let sorted: Vec<Column> = pairs
                .iter()
                .map(|&(a, b, _)| Column::new(a.iter().zip(b).map(|(x, y)| x - y).collect()))
                .collect();
            let parts: Vec<(&Column, f64)> = sorted.iter().zip(w).collect();
            assert_eq!(mean, mixture_stats(&parts).mean);
        }
    }
}
