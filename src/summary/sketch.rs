//! Sketch summaries, for runs too large to hold every path in memory and
//! for runs split into shards: futures are simulated in blocks, each block
//! is folded into fixed-bin sketches and dropped, and sketches of any
//! split of the futures merge into exactly the same state.
//!
//! What is kept, all of it integers (so the state is the same however the
//! futures are split, in whatever order the parts are added):
//!
//! - per scenario, year and series: a histogram of [`Axis::bins`] bins on a
//!   transformed axis fixed by the model alone (square root for shares;
//!   logarithm for the market, over [`crate::model::market_range`]), a
//!   count of values exactly 0, and exact sums of the values and their
//!   squares (fixed point for shares, an exact binary sum for the market).
//!   Scenarios identical through a year share one sketch, and a mixture
//!   view is the weighted sum of its members' sketches, so each value is
//!   folded once.
//! - per deal impact pair (outcome scenario, baseline scenario), year and
//!   series: the same for the paired differences (signed square root and
//!   signed logarithm axes), except where the pair is one path twice (every
//!   difference exactly 0, known from the model and never folded).
//! - per threshold: futures per hit pattern ([`ThresholdCounts`]).
//!
//! Quantiles interpolate linearly inside a bin on the transformed axis, so
//! they are within one bin of the exact sample quantile (for a share near
//! 5% that is 3e-6, near 80% 1.1e-4, 0.01 percentage points); a quantile
//! that falls on the values exactly 0 is 0. Means, sds, threshold
//! probabilities and their errors are exact.

use super::exact::{group_column_into, series_index};
use super::horizon::horizon_block;
use super::thresholds::ThresholdCounts;
use super::views::{identical_through, impact_plans, merged_members, ImpactPlan};
use super::{ImpactRow, Stats, Summary, View, QUANTILES};
use crate::engine::Paths;
use crate::isa::Isa;
use crate::model::{market_range, Model, Series};
use crate::output::codec::{Malformed, Reader, Writer};
use crate::scenario::Scenario;
use rayon::prelude::*;

/// The most futures simulated and folded per block: a sketch's histogram
/// is brought into the cache once per block, so larger blocks fold faster
/// (measured: 32,768 futures of the default model fold in 60% of the time
/// 8,192 take), at the cost of the block's paths in memory.
pub const BLOCK: usize = 32768;
/// The memory a block's paths may take.
const BLOCK_BYTES: usize = 384 << 20;

/// Futures per block for `model`: the largest power of two up to [`BLOCK`]
/// whose paths fit [`BLOCK_BYTES`] (at least 1,024). From the model alone;
/// the state does not depend on it anyway (integer counts and sums).
pub fn block_size(model: &Model, scenarios: usize) -> usize {
    let per_future = scenarios * (model.horizon() + 1) * (model.platforms.len() + 1) * 4;
    let mut block = BLOCK;
    while block > 1024 && block * per_future > BLOCK_BYTES {
        block /= 2;
    }
    block
}
/// Bins of a share's sketch.
pub const SHARE_BINS: usize = 16384;
/// Bins of a share difference's sketch (a deal's impact on a share).
pub const SHARE_DIFF_BINS: usize = 8192;
/// Bins of a market's (or market difference's) sketch.
pub const MARKET_BINS: usize = 65536;
/// Fixed-point scale of the sums of shares (`0 <= x <= 1`): `2^40`, so a
/// block's sums fit an `i64` and a run's an `i128`, each value within
/// `5e-13`.
const SHARE_SCALE: f64 = (1u64 << 40) as f64;
/// The market's fixed-point values are at most `2^50` (its year's bound),
/// so that the sum of their squares over `2^27` futures fits an `i128`.
const MARKET_TOP: f64 = (1u64 << 50) as f64;
/// `1.5 * 2^52`: added to a number below `2^51`, its integer part lands in
/// the low bits of the mantissa (rounded to nearest), so the conversion to
/// an integer is an addition and a subtraction that compile to vector code.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// A sketch's axis: how a value that is not 0 maps to a bin, and back.
/// Every axis is fixed by the model alone (never by the values), so that
/// every shard bins alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    /// Shares in `[0, 1]`: `t = sqrt(x)`, so bins are finer near 0.
    Sqrt,
    /// Share differences in `[-1, 1]`: `t = (1 + sign(x) sqrt(|x|)) / 2`.
    SignedSqrt,
    /// The market, on the bit pattern of its `f32` value (exponent and
    /// mantissa: a piecewise-linear logarithm), from `lo` up: bin
    /// `(bits(x) - bits(lo)) >> shift`.
    LogBits {
        /// Bit pattern of the smallest value told apart.
        lo: u32,
        /// Bits dropped.
        shift: u32,
    },
    /// Market differences: each sign's magnitudes from `c` up on their bit
    /// pattern, in half of the bins.
    SignedLogBits {
        /// Bit pattern of the smallest magnitude told apart.
        c: u32,
        /// Bits dropped.
        shift: u32,
    },
}

/// The fewest bits to drop so that `range` bit patterns fit `bins` bins.
fn shift_for(range: u32, bins: usize) -> u32 {
    let mut shift = 0;
    while (range >> shift) as usize >= bins {
        shift += 1;
    }
    shift
}

impl Axis {
    /// The market's axis over `[lo, hi]`.
    pub fn market(lo: f64, hi: f64) -> Axis {
        let lo = (lo as f32).to_bits();
        let hi = (hi as f32).to_bits();
        Axis::LogBits {
            lo,
            shift: shift_for(hi.saturating_sub(lo), MARKET_BINS),
        }
    }

    /// The market differences' axis for magnitudes in `[c, m]`.
    pub fn market_diff(c: f64, m: f64) -> Axis {
        let c = (c as f32).to_bits();
        let m = (m as f32).to_bits();
        Axis::SignedLogBits {
            c,
            shift: shift_for(m.saturating_sub(c), MARKET_BINS / 2),
        }
    }

    /// Number of bins.
    pub fn bins(self) -> usize {
        match self {
            Axis::Sqrt => SHARE_BINS,
            Axis::SignedSqrt => SHARE_DIFF_BINS,
            Axis::LogBits { .. } | Axis::SignedLogBits { .. } => MARKET_BINS,
        }
    }

    /// Where the values exactly 0 sit among the bins: before bin 0 for a
    /// one-sided axis, between the negative and positive halves otherwise.
    fn zero_position(self) -> usize {
        match self {
            Axis::Sqrt | Axis::LogBits { .. } => 0,
            Axis::SignedSqrt | Axis::SignedLogBits { .. } => self.bins() / 2,
        }
    }

    /// `t` of `x`, in `[0, 1]`: the bin of `x` is `floor(t * bins)`
    /// (clamped to the last), and `t` is linear in the axis's measure
    /// inside a bin.
    fn to_t(self, x: f64) -> f64 {
        let n = self.bins() as f64;
        let t = match self {
            Axis::Sqrt => x.max(0.0).sqrt(),
            Axis::SignedSqrt => 0.5 + 0.5 * x.signum() * x.abs().min(1.0).sqrt(),
            Axis::LogBits { lo, shift } => {
                let bits = (x.max(0.0) as f32).to_bits().saturating_sub(lo);
                bits as f64 / (1u64 << shift) as f64 / n
            }
            Axis::SignedLogBits { c, shift } => {
                let bits = (x.abs() as f32).to_bits().saturating_sub(c);
                let r = (bits as f64 / (1u64 << shift) as f64 / (0.5 * n)).min(1.0);
                0.5 + 0.5 * x.signum() * r
            }
        };
        t.clamp(0.0, 1.0)
    }

    /// The value at `t` (the inverse of [`Axis::to_t`]).
    fn value_at(self, t: f64) -> f64 {
        let n = self.bins() as f64;
        let from_bits = |base: u32, shift: u32, units: f64| {
            let bits = base as f64 + units * (1u64 << shift) as f64;
            f32::from_bits(bits.min(f32::MAX.to_bits() as f64) as u32) as f64
        };
        match self {
            Axis::Sqrt => t * t,
            Axis::SignedSqrt => {
                let u = 2.0 * t - 1.0;
                u.signum() * u * u
            }
            Axis::LogBits { lo, shift } => from_bits(lo, shift, t * n),
            Axis::SignedLogBits { c, shift } => {
                let u = 2.0 * t - 1.0;
                u.signum() * from_bits(c, shift, u.abs() * 0.5 * n)
            }
        }
    }

    /// The bins of the values `x` (or differences `x - y`) into `out`, the
    /// values exactly 0 to the extra bin `bins()`: the axis is matched once,
    /// and each arm's loop compiles to vector code.
    #[inline(always)]
    fn bin_all(self, x: &[f32], y: Option<&[f32]>, out: &mut Vec<u32>) {
        let n = self.bins();
        let zero = n as u32;
        let keep = |v: f32, b: u32| if v == 0.0 { zero } else { b };
        match self {
            Axis::Sqrt => bins_into(x, y, out, |v| {
                keep(v, to_bin(v.max(0.0).sqrt() * n as f32, n))
            }),
            Axis::SignedSqrt => bins_into(x, y, out, |v| {
                let r = v.abs().min(1.0).sqrt();
                let r = if v < 0.0 { -r } else { r };
                keep(v, to_bin((0.5 + 0.5 * r) * n as f32, n))
            }),
            Axis::LogBits { lo, shift } => bins_into(x, y, out, |v| {
                keep(v, ((v.to_bits().saturating_sub(lo)) >> shift).min(zero - 1))
            }),
            Axis::SignedLogBits { c, shift } => {
                let half = zero / 2;
                bins_into(x, y, out, |v| {
                    let m = ((v.abs().to_bits().saturating_sub(c)) >> shift).min(half - 1);
                    keep(v, if v < 0.0 { half - 1 - m } else { half + m })
                })
            }
        }
    }
}

/// `bin` of each value `x` (or difference `x - y`, in `f32` as stored
/// values differ) into `out`.
#[inline(always)]
fn bins_into(x: &[f32], y: Option<&[f32]>, out: &mut Vec<u32>, bin: impl Fn(f32) -> u32) {
    out.clear();
    match y {
        Some(y) => out.extend(x.iter().zip(y).map(|(a, b)| bin(a - b))),
        None => out.extend(x.iter().map(|&a| bin(a))),
    }
}

/// Sums of a level sketch's values and their squares, in fixed point:
/// integers, so the same however the values are split and added.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sums {
    /// A value `x` counts as `round(x * scale)`.
    scale: f64,
    /// The scale of `s2`: `scale` for shares, whose squares are rounded
    /// on their own, `scale^2` for the market's exact squares.
    square_scale: f64,
    s1: i128,
    s2: i128,
}

/// `x * scale` rounded to an integer, for `|x * scale| < 2^51`.
#[inline(always)]
fn fixed(x: f64, scale: f64) -> i64 {
    ((x * scale + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64)
}

/// A histogram of one column of values (or of paired differences), with
/// the values exactly 0 apart, and for levels exact sums.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    axis: Axis,
    /// One count per bin, then the count of values exactly 0.
    bins: Vec<u32>,
    count: u64,
    /// `None` for differences (their mean is a difference of means).
    sums: Option<Sums>,
}

impl Sketch {
    /// An empty sketch on `axis`; `scale`: the fixed-point scale of its
    /// sums, or `None` to keep none.
    pub fn new(axis: Axis, scale: Option<f64>) -> Sketch {
        Sketch {
            axis,
            bins: vec![0; axis.bins() + 1],
            count: 0,
            sums: scale.map(|scale| Sums {
                scale,
                square_scale: if axis == Axis::Sqrt {
                    scale
                } else {
                    scale * scale
                },
                s1: 0,
                s2: 0,
            }),
        }
    }

    fn zeros(&self) -> u64 {
        self.bins[self.axis.bins()] as u64
    }

    /// Folds the values `x`, or the differences `x - y` taken in `f32` (as
    /// stored values differ).
    pub fn add(&mut self, x: &[f32], y: Option<&[f32]>, isa: Isa, scratch: &mut FoldScratch) {
        self.count += x.len() as u64;
        match isa {
            // SAFETY: `Isa::detect` chooses AVX2 only on a processor with it.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { add_avx2(self, x, y, scratch) },
            Isa::Portable => add_body(self, x, y, scratch),
        }
    }

    /// The range of bins holding values that are not 0, or `None`. (Found
    /// a chunk of bins at a time, each chunk tested in vector code.)
    fn occupied(&self) -> Option<(usize, usize)> {
        const STEP: usize = 64;
        let bins = &self.bins[..self.axis.bins()];
        let busy = |c: &[u32]| c.iter().fold(0, |a, &x| a | x) != 0;
        let first_chunk = bins.chunks(STEP).position(busy)?;
        let last_chunk = bins.chunks(STEP).rposition(busy)?;
        let first = first_chunk * STEP + bins[first_chunk * STEP..].iter().position(|&c| c != 0)?;
        let end = ((last_chunk + 1) * STEP).min(bins.len());
        let last = bins[..end].iter().rposition(|&c| c != 0)?;
        Some((first, last))
    }

    /// Adds another sketch of the same cell (another block or shard).
    pub fn merge(&mut self, other: &Sketch) {
        debug_assert_eq!(self.axis, other.axis);
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
        self.count += other.count;
        if let (Some(a), Some(b)) = (&mut self.sums, &other.sums) {
            a.s1 += b.s1;
            a.s2 += b.s2;
        }
    }

    fn encode(&self, w: &mut Writer) {
        w.counts(&self.bins);
        w.u(u128::from(self.count));
        if let Some(s) = &self.sums {
            w.i(s.s1);
            w.i(s.s2);
        }
    }

    fn decode(&mut self, r: &mut Reader<'_>) -> Result<(), Malformed> {
        r.counts_into(&mut self.bins)?;
        self.count = u64::try_from(r.u()?).map_err(|_| Malformed("a count overflows"))?;
        if let Some(s) = &mut self.sums {
            s.s1 = r.i()?;
            s.s2 = r.i()?;
        }
        Ok(())
    }

    /// Mean and population variance (of a level sketch).
    fn moments(&self) -> (f64, f64) {
        let Some(s) = self.sums.filter(|_| self.count > 0) else {
            return (0.0, 0.0);
        };
        let n = self.count as f64;
        let mean = s.s1 as f64 / s.scale / n;
        let square = s.s2 as f64 / s.square_scale / n;
        (mean, (square - mean * mean).max(0.0))
    }
}

/// [`Sketch::add`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn add_avx2(sk: &mut Sketch, x: &[f32], y: Option<&[f32]>, scratch: &mut FoldScratch) {
    add_body(sk, x, y, scratch)
}

/// Working memory of a fold, reused from sketch to sketch.
#[derive(Default)]
pub struct FoldScratch {
    bins: Vec<u32>,
}

/// [`Sketch::add`]'s body, inlined into each compiled copy: the bins of
/// the values (or differences), then their counts and sums, each in a pass
/// of its own (all but the counting compile to vector code).
#[inline(always)]
fn add_body(sk: &mut Sketch, x: &[f32], y: Option<&[f32]>, scratch: &mut FoldScratch) {
    let bins = &mut scratch.bins;
    sk.axis.bin_all(x, y, bins);
    let counts = &mut sk.bins[..];
    debug_assert!(bins.iter().all(|&b| (b as usize) < counts.len()));

    for &b in bins.iter() {
        // SAFETY: `bin_all` gives bins below `axis.bins() + 1`, the length
        // of `counts`. (Unchecked: the bounds check tripled this loop.)
        unsafe { *counts.get_unchecked_mut(b as usize) += 1 };
    }
    // Levels only (differences keep no sums), so the values are `x`.
    let (Some(sums), None) = (&mut sk.sums, y) else {
        return;
    };
    let values = x;
    if sk.axis == Axis::Sqrt {
        // Shares: a block's sums of `round(x 2^40)` and `round(x^2 2^40)`
        // fit an i64 (vector code).
        for chunk in values.chunks(BLOCK) {
            let (mut a, mut b) = (0i64, 0i64);
            for &v in chunk {
                let v = v as f64;
                a += fixed(v, sums.scale);
                b += fixed(v * v, sums.scale);
            }
            sums.s1 += a as i128;
            sums.s2 += b as i128;
        }
    } else {
        // The market: `X = round(x scale)` below 2^50, `X^2` exact.
        for &v in values {
            let q = fixed(v as f64, sums.scale) as i128;
            sums.s1 += q;
            sums.s2 += q * q;
        }
    }
}

/// `t` (already scaled to the bins) as a bin: truncated, at most the last.
#[inline(always)]
fn to_bin(t: f32, bins: usize) -> u32 {
    // (`max` first: it turns a NaN into 0.)
    let t = t.max(0.0).min((bins - 1) as f32);
    // SAFETY: `t` is in [0, bins - 1], in range for the unchecked
    // conversion (which, unlike `as`, compiles to vector code).
    unsafe { t.to_int_unchecked::<u32>() }
}

/// A weighted mixture of sketches on one axis, with its cumulative mass
/// per bin, for quantiles and probabilities in constant time. The values
/// exactly 0 are an atom between the negative and positive bins.
/// A part of a mixture: its weight and the bins it occupies.
#[derive(Debug, Clone, Copy)]
struct Range {
    weight: f64,
    bins: Option<(usize, usize)>,
}

struct Mixture {
    axis: Axis,
    /// The first bin any part occupies.
    first: usize,
    /// `cum[i]`: mass of the bins before `first + i` (the atom left out),
    /// up to one past the last occupied bin.
    cum: Vec<f64>,
    /// Mass of the values exactly 0.
    zero: f64,
}

impl Mixture {
    /// The mixture of `parts` with weights summing to 1; `atom` more mass
    /// exactly at 0 (pairs that are one path twice). Only the bins some
    /// part occupies are visited.
    fn new(axis: Axis, parts: &[(&Sketch, Range)], atom: f64) -> Mixture {
        let n = axis.bins();
        let (first, last) = parts
            .iter()
            .filter_map(|(_, r)| r.bins)
            .fold((n, 0), |(a, b), (f, l)| (a.min(f), b.max(l)));
        let (first, last) = if first <= last { (first, last) } else { (0, 0) };
        let mut zero = atom;
        let mut mass = vec![0.0; last + 1 - first];
        for (s, r) in parts {
            if s.count == 0 {
                continue;
            }
            let scale = r.weight / s.count as f64;
            zero += scale * s.zeros() as f64;
            let Some((f, l)) = r.bins else { continue };
            for (m, &c) in mass[f - first..=l - first].iter_mut().zip(&s.bins[f..=l]) {
                *m += scale * f64::from(c);
            }
        }
        let mut cum = Vec::with_capacity(mass.len() + 1);
        let mut total = 0.0;
        cum.push(0.0);
        for m in &mass {
            total += m;
            cum.push(total);
        }
        Mixture {
            axis,
            first,
            cum,
            zero,
        }
    }

    /// Mass of the bins before bin `b` (the atom left out).
    fn before(&self, b: usize) -> f64 {
        let i = b.saturating_sub(self.first).min(self.cum.len() - 1);
        self.cum[i]
    }

    /// Mass up to the upper edge of bin `b`, the atom included past it.
    fn upper(&self, b: usize) -> f64 {
        let atom = if b >= self.axis.zero_position() {
            self.zero
        } else {
            0.0
        };
        self.before(b + 1) + atom
    }

    /// Quantiles at ascending `levels`: in the bin where the cumulative
    /// mass reaches the level, linearly on the transformed axis; exactly 0
    /// where the level falls on the values exactly 0.
    fn quantiles<const N: usize>(&self, levels: [f64; N]) -> [f64; N] {
        let n = self.axis.bins();
        let below_zero = self.before(self.axis.zero_position());
        let mut out = [self.axis.value_at(1.0); N];
        for (slot, &q) in out.iter_mut().zip(&levels) {
            let target = q - 1e-12;
            if self.zero > 0.0 && target > below_zero && target <= below_zero + self.zero {
                *slot = 0.0;
                continue;
            }
            // The first bin whose upper edge reaches the target.
            let (mut lo, mut hi) = (0, n - 1);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if self.upper(mid) >= target {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            let m = self.before(lo + 1) - self.before(lo);
            let start = self.upper(lo) - m;
            let frac = if m > 0.0 {
                ((target - start) / m).clamp(0.0, 1.0)
            } else {
                0.0
            };
            *slot = self.axis.value_at((lo as f64 + frac) / n as f64);
        }
        out
    }

    /// Mass of the values `<= x`.
    fn cdf(&self, x: f64) -> f64 {
        let n = self.axis.bins();
        if x == 0.0 {
            return self.before(self.axis.zero_position()) + self.zero;
        }
        let t = self.axis.to_t(x) * n as f64;
        let b = (t as usize).min(n - 1);
        let frac = (t - b as f64).clamp(0.0, 1.0);
        let atom = if x > 0.0 { self.zero } else { 0.0 };
        let lo = self.before(b);
        lo + atom + frac * (self.before(b + 1) - lo)
    }
}

/// What a sketch summary needs from the model: its views, the years each
/// scenario shares its paths with another, the impact pairs, the axes.
pub struct SketchPlan {
    /// The views.
    pub views: Vec<View>,
    series: Vec<Series>,
    years: usize,
    reps: Vec<Vec<usize>>,
    impacts: Vec<ImpactPlan>,
    /// Per year index: the market's axis, its differences' and its
    /// fixed-point scale.
    market: Vec<(Axis, Axis, f64)>,
}

impl SketchPlan {
    /// The plan of `model` and its `scenarios`.
    pub fn new(model: &Model, scenarios: &[Scenario]) -> SketchPlan {
        let years = model.horizon() + 1;
        let (lo, hi) = market_range(model);
        SketchPlan {
            views: super::views(model, scenarios),
            series: model.series(),
            years,
            reps: identical_through(model, scenarios, years),
            impacts: impact_plans(model, scenarios),
            market: hi
                .iter()
                .map(|&hi| {
                    (
                        Axis::market(lo, hi),
                        Axis::market_diff(lo, hi),
                        MARKET_TOP / hi,
                    )
                })
                .collect(),
        }
    }

    /// Number of scenarios.
    pub fn scenarios(&self) -> usize {
        self.reps[0].len()
    }

    fn level_axis(&self, k: usize, j: usize) -> Axis {
        if self.series[j] == Series::Market {
            self.market[k].0
        } else {
            Axis::Sqrt
        }
    }

    fn level_scale(&self, k: usize, j: usize) -> f64 {
        if self.series[j] == Series::Market {
            self.market[k].2
        } else {
            SHARE_SCALE
        }
    }

    fn diff_axis(&self, k: usize, j: usize) -> Axis {
        if self.series[j] == Series::Market {
            self.market[k].1
        } else {
            Axis::SignedSqrt
        }
    }

    fn level_index(&self, s: usize, k: usize, j: usize) -> usize {
        (self.reps[k][s] * self.years + k) * self.series.len() + j
    }

    fn diff_index(&self, pair: usize, k: usize, j: usize) -> usize {
        (pair * self.years + k) * self.series.len() + j
    }
}

/// A block's column of every (scenario, year, series): a platform's or the
/// market's is the paths' own, a group's is summed once per block from its
/// members (in `f64`, rounded to `f32` like every stored value), for the
/// scenario that represents those identical through the year.
struct BlockColumns<'a> {
    plan: &'a SketchPlan,
    paths: &'a Paths,
    /// Per (representative scenario, year, group).
    groups: Vec<Vec<f32>>,
    n_groups: usize,
}

impl<'a> BlockColumns<'a> {
    fn new(model: &Model, plan: &'a SketchPlan, paths: &'a Paths) -> BlockColumns<'a> {
        let (years, ng) = (plan.years, model.groups.len());
        let groups = (0..paths.scenarios * years * ng)
            .into_par_iter()
            .map(|x| {
                let (s, k, g) = (x / (years * ng), (x / ng) % years, x % ng);
                if plan.reps[k][s] != s {
                    return Vec::new();
                }
                let mut column = vec![0f32; paths.futures];
                group_column_into(model, paths, g, s, k, &mut column);
                column
            })
            .collect();
        BlockColumns {
            plan,
            paths,
            groups,
            n_groups: ng,
        }
    }

    /// The column of scenario `s` (or its representative), year `k`,
    /// series `j`.
    fn get(&self, s: usize, k: usize, j: usize) -> &[f32] {
        let s = self.plan.reps[k][s];
        match self.plan.series[j] {
            Series::Platform(p) => self.paths.column(s, k, p),
            Series::Market => self.paths.market(s, k),
            Series::Group(g) => &self.groups[(s * self.plan.years + k) * self.n_groups + g],
        }
    }
}

/// The mergeable state of a sketch summary: every sketch, the threshold
/// counts, the clamp counts and the number of futures folded.
#[derive(Debug, Clone, PartialEq)]
pub struct SketchState {
    /// Futures folded.
    pub futures: u64,
    /// Per (scenario, year, series): `Some` where the scenario is the first
    /// of those identical through that year.
    levels: Vec<Option<Sketch>>,
    /// Per impact plan, per (pair, year, series): `Some` where the pair's
    /// two scenarios differ by then.
    diffs: Vec<Vec<Option<Sketch>>>,
    /// Futures per hit pattern, per threshold.
    pub thresholds: ThresholdCounts,
    /// Per prior, how often its draw was clamped.
    pub clamps: Vec<u64>,
}

impl SketchState {
    /// An empty state for `plan`.
    pub fn new(model: &Model, plan: &SketchPlan) -> SketchState {
        let (years, ns) = (plan.years, plan.series.len());
        let n_s = plan.reps[0].len();
        let levels = (0..n_s * years * ns)
            .map(|x| {
                let (s, k, j) = (x / (years * ns), (x / ns) % years, x % ns);
                (plan.reps[k][s] == s)
                    .then(|| Sketch::new(plan.level_axis(k, j), Some(plan.level_scale(k, j))))
            })
            .collect();
        let diffs = plan
            .impacts
            .iter()
            .map(|imp| {
                (0..imp.pairs.len() * years * ns)
                    .map(|x| {
                        let (p, k, j) = (x / (years * ns), (x / ns) % years, x % ns);
                        let (s, b, _) = imp.pairs[p];
                        (plan.reps[k][s] != plan.reps[k][b])
                            .then(|| Sketch::new(plan.diff_axis(k, j), None))
                    })
                    .collect()
            })
            .collect();
        SketchState {
            futures: 0,
            levels,
            diffs,
            thresholds: ThresholdCounts::new(model.thresholds.len(), n_s),
            clamps: vec![0; model.priors.len()],
        }
    }

    /// Folds a block of simulated futures.
    pub fn fold(&mut self, model: &Model, plan: &SketchPlan, paths: &Paths) {
        let (years, ns) = (plan.years, plan.series.len());
        let isa = Isa::detect();
        let columns = BlockColumns::new(model, plan, paths);
        // Every sketch with the columns it reads (one task list, so the
        // threads are kept busy to the end), and the thresholds beside them.
        type Task<'t> = (&'t mut Sketch, &'t [f32], Option<&'t [f32]>);
        let mut tasks: Vec<Task> = Vec::new();
        for (x, sketch) in self.levels.iter_mut().enumerate() {
            if let Some(sketch) = sketch {
                let (s, k, j) = (x / (years * ns), (x / ns) % years, x % ns);
                tasks.push((sketch, columns.get(s, k, j), None));
            }
        }
        for (imp, diffs) in plan.impacts.iter().zip(&mut self.diffs) {
            for (x, sketch) in diffs.iter_mut().enumerate() {
                if let Some(sketch) = sketch {
                    let (p, k, j) = (x / (years * ns), (x / ns) % years, x % ns);
                    let (s, base, _) = imp.pairs[p];
                    tasks.push((sketch, columns.get(s, k, j), Some(columns.get(base, k, j))));
                }
            }
        }
        let thresholds = &mut self.thresholds;
        rayon::join(
            || {
                tasks
                    .into_par_iter()
                    .for_each_init(FoldScratch::default, |scratch, (sketch, x, y)| {
                        sketch.add(x, y, isa, scratch)
                    })
            },
            || {
                for (t, th) in model.thresholds.iter().enumerate() {
                    let k = (th.year - model.start_year) as usize;
                    let j = series_index(&plan.series, th.series);
                    let cols: Vec<&[f32]> =
                        (0..paths.scenarios).map(|s| columns.get(s, k, j)).collect();
                    thresholds.add(t, th, &cols);
                }
            },
        );
        for (a, b) in self.clamps.iter_mut().zip(&paths.clamps) {
            *a += b;
        }
        self.futures += paths.futures as u64;
    }

    /// Adds another state of the same model (another shard).
    pub fn merge(&mut self, other: &SketchState) {
        self.futures += other.futures;
        for (a, b) in self.levels.iter_mut().zip(&other.levels) {
            if let (Some(a), Some(b)) = (a, b) {
                a.merge(b);
            }
        }
        for (da, db) in self.diffs.iter_mut().zip(&other.diffs) {
            for (a, b) in da.iter_mut().zip(db) {
                if let (Some(a), Some(b)) = (a, b) {
                    a.merge(b);
                }
            }
        }
        self.thresholds.merge(&other.thresholds);
        for (a, b) in self.clamps.iter_mut().zip(&other.clamps) {
            *a += b;
        }
    }

    /// The state's numbers, for a shard folder (its shape comes from the
    /// model, [`SketchState::new`]).
    pub fn encode(&self, w: &mut Writer) {
        w.u(u128::from(self.futures));
        let all = self.levels.iter().chain(self.diffs.iter().flatten());
        for sketch in all {
            match sketch {
                Some(s) => {
                    w.u(1);
                    s.encode(w);
                }
                None => w.u(0),
            }
        }
        self.thresholds.encode(w);
        w.counts(&self.clamps);
    }

    /// Reads what [`SketchState::encode`] wrote into an empty state of the
    /// same model.
    pub fn decode(
        model: &Model,
        plan: &SketchPlan,
        r: &mut Reader<'_>,
    ) -> Result<SketchState, Malformed> {
        let mut st = SketchState::new(model, plan);
        st.futures = u64::try_from(r.u()?).map_err(|_| Malformed("a count overflows"))?;
        let SketchState { levels, diffs, .. } = &mut st;
        for sketch in levels.iter_mut().chain(diffs.iter_mut().flatten()) {
            match (r.u()?, sketch) {
                (1, Some(s)) => s.decode(r)?,
                (0, None) => {}
                _ => return Err(Malformed("the state's sketches are not this model's")),
            }
        }
        st.thresholds.decode(r)?;
        r.counts_into(&mut st.clamps)?;
        Ok(st)
    }

    /// The summary of the futures folded so far.
    pub fn finish(&self, model: &Model, plan: &SketchPlan) -> Summary {
        let (years, ns) = (plan.years, plan.series.len());
        let views = &plan.views;
        let occupied = |v: &Vec<Option<Sketch>>| -> Vec<Option<(usize, usize)>> {
            v.par_iter()
                .map(|s| s.as_ref().and_then(Sketch::occupied))
                .collect()
        };
        let level_bins = occupied(&self.levels);
        // A level cell's parts in a view: each member's sketch (or its
        // representative's) with its weight and occupied bins.
        let parts = |view: &View, k: usize, j: usize| -> Vec<(&Sketch, Range)> {
            merged_members(view, &plan.reps, k)
                .into_iter()
                .filter_map(|(s, weight)| {
                    let x = plan.level_index(s, k, j);
                    self.levels[x].as_ref().map(|sk| {
                        (
                            sk,
                            Range {
                                weight,
                                bins: level_bins[x],
                            },
                        )
                    })
                })
                .collect()
        };
        let rows = super::summary_rows(model, views, &plan.series, years, &|view, k, j| {
            stats(plan.level_axis(k, j), &parts(view, k, j))
        });
        let thresholds = self.thresholds.rows(model, views);
        let impact: Vec<ImpactRow> = plan
            .impacts
            .iter()
            .zip(&self.diffs)
            .flat_map(|(imp, diffs)| (0..years * ns).map(move |x| (imp, diffs, x)))
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(imp, diffs, x)| {
                let (k, j) = (x / ns, x % ns);
                let mut parts = Vec::new();
                let mut atom = 0.0;
                // The mean difference is the difference of the means.
                let level_mean = |s: usize| {
                    self.levels[plan.level_index(s, k, j)]
                        .as_ref()
                        .map_or(0.0, |sk| sk.moments().0)
                };
                let mean: f64 = imp
                    .pairs
                    .iter()
                    .map(|&(s, b, w)| w * (level_mean(s) - level_mean(b)))
                    .sum();
                for (p, &(_, _, weight)) in imp.pairs.iter().enumerate() {
                    match &diffs[plan.diff_index(p, k, j)] {
                        Some(sk) => parts.push((
                            sk,
                            Range {
                                weight,
                                bins: sk.occupied(),
                            },
                        )),
                        None => atom += weight,
                    }
                }
                let (mean, q) = if parts.is_empty() {
                    (0.0, [0.0; 3])
                } else {
                    let mix = Mixture::new(plan.diff_axis(k, j), &parts, atom);
                    (mean, mix.quantiles([0.05, 0.5, 0.95]))
                };
                ImpactRow {
                    deal: imp.deal,
                    outcome: imp.outcome,
                    year: model.start_year + k as i32,
                    series: plan.series[j],
                    mean,
                    p05: q[0],
                    p50: q[1],
                    p95: q[2],
                    pairs: imp.pairs.len(),
                }
            })
            .collect();
        let mut horizon = Vec::new();
        for &sr in &model.focus {
            let j = series_index(&plan.series, sr);
            for year in model.horizon_years() {
                let k = (year - model.start_year) as usize;
                // One mixture per view, for its range and every bin's mass.
                let mixtures: Vec<Mixture> = views
                    .par_iter()
                    .map(|v| Mixture::new(plan.level_axis(k, j), &parts(v, k, j), 0.0))
                    .collect();
                horizon.extend(horizon_block(
                    views,
                    sr,
                    year,
                    &|v| {
                        let [a, z] = mixtures[v].quantiles([0.005, 0.995]);
                        (a, z)
                    },
                    &|v, a, z| mixtures[v].cdf(z) - mixtures[v].cdf(a),
                ));
            }
        }
        Summary {
            views: views.clone(),
            rows,
            thresholds,
            impact,
            horizon,
        }
    }
}

/// Statistics of a weighted mixture of sketches.
fn stats(axis: Axis, parts: &[(&Sketch, Range)]) -> Stats {
    let moments: Vec<(f64, f64)> = parts.iter().map(|(s, _)| s.moments()).collect();
    let mean: f64 = parts
        .iter()
        .zip(&moments)
        .map(|((_, r), m)| r.weight * m.0)
        .sum();
    let var: f64 = parts
        .iter()
        .zip(&moments)
        .map(|((_, r), m)| r.weight * (m.1 + (m.0 - mean).powi(2)))
        .sum();
    Stats {
        mean,
        sd: var.max(0.0).sqrt(),
        q: Mixture::new(axis, parts, 0.0).quantiles(QUANTILES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(s: &Sketch) -> Range {
        Range {
            weight: 1.0,
            bins: s.occupied(),
        }
    }

    #[test]
    fn axes_invert_and_bin_where_they_map() {
        for (axis, xs) in [
            (Axis::Sqrt, vec![0.01, 0.3, 0.9]),
            (Axis::SignedSqrt, vec![-0.5, 0.3, 0.7]),
            (Axis::market(0.5, 5000.0), vec![0.6, 17.0, 4000.0]),
            (Axis::market_diff(1e-6, 1e4), vec![-1500.0, 0.3, 17.0]),
        ] {
            for x in xs {
                let t = axis.to_t(x);
                let back = axis.value_at(t);
                assert!(
                    (back - x).abs() < 1e-6 * x.abs().max(1.0),
                    "{axis:?} {x} {back}"
                );
                let mut bins = Vec::new();
                axis.bin_all(&[x as f32], None, &mut bins);
                let want = ((t * axis.bins() as f64) as usize).min(axis.bins() - 1);
                assert!(
                    bins[0] as usize == want || bins[0] as usize + 1 == want,
                    "{axis:?} {x}"
                );
            }
        }
    }

    /// One bin at a share x is dx = 2 sqrt(x) / SHARE_BINS.
    #[test]
    fn sketch_quantiles_are_within_a_bin_of_the_exact_ones() {
        let mut s = Sketch::new(Axis::Sqrt, Some(SHARE_SCALE));
        let xs: Vec<f32> = (0..10_000)
            .map(|i| ((i as f64 + 0.5) / 10_000.0 * 0.3) as f32)
            .collect();
        s.add(&xs, None, Isa::detect(), &mut FoldScratch::default());
        let q = Mixture::new(Axis::Sqrt, &[(&s, whole(&s))], 0.0).quantiles([0.05, 0.5, 0.95]);
        for (got, level) in q.iter().zip([0.05, 0.5, 0.95]) {
            let exact = 0.3 * level;
            assert!(
                (got - exact).abs() < 2.0 * exact.sqrt() / SHARE_BINS as f64 + 1e-6,
                "{level}: {got} vs {exact}"
            );
        }
        let (mean, _) = s.moments();
        assert!((mean - 0.15).abs() < 1e-7, "{mean}");
    }

    /// Values exactly 0 give quantiles exactly 0 where they cover the level.
    #[test]
    fn zeros_are_an_atom() {
        let mut s = Sketch::new(Axis::SignedSqrt, None);
        let x: Vec<f32> = (0..1000)
            .map(|i| {
                if i < 600 {
                    0.0
                } else {
                    (i - 800) as f32 * 1e-4
                }
            })
            .collect();
        s.add(
            &x,
            Some(&vec![0.0; 1000]),
            Isa::detect(),
            &mut FoldScratch::default(),
        );
        let q =
            Mixture::new(Axis::SignedSqrt, &[(&s, whole(&s))], 0.0).quantiles([0.05, 0.5, 0.95]);
        assert!(q[0] < 0.0 && q[1] == 0.0 && q[2] > 0.0, "{q:?}");
    }
}
