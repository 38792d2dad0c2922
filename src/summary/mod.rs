//! Summaries (MODEL.md section 6): per view (each scenario, each deal
//! outcome's marginal, and the mixture `all`), per year and series:
//! mean, sd and quantiles; threshold probabilities with their Monte Carlo
//! error; paired deal impacts.
//!
//! Quantiles. For one scenario (equal weights) they are type 7 of Hyndman &
//! Fan (1996), numpy's default: linear interpolation between order
//! statistics at `h = (n - 1) q`. For a mixture of scenarios with weights
//! `w_s` (each scenario's `N` futures carry `w_s / N` each) the quantile is
//! the inverse of the weighted empirical CDF, `inf { x : F_w(x) >= q }`,
//! found by bisection over the `f32` values of the merged sample.

pub mod stream;

use crate::engine::Paths;
use crate::isa::Isa;
use crate::model::{Model, Series};
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::borrow::Cow;

/// The quantile levels reported.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// A set of scenarios with weights summing to 1.
#[derive(Debug, Clone)]
pub struct View {
    /// `all`, `deal=outcome`, or a scenario name.
    pub name: String,
    /// What it is.
    pub kind: ViewKind,
    /// `(scenario index, weight)`.
    pub members: Vec<(usize, f64)>,
}

/// What a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// Every scenario weighted by its probability.
    All,
    /// The marginal of outcome `.1` of deal `.0`.
    Outcome(usize, usize),
    /// One scenario.
    Scenario(usize),
}

/// The views in report order: `all`, every deal outcome, every scenario
/// (but a scenario that is also an outcome's marginal, in a one-deal model,
/// appears once, as the marginal).
pub fn views(model: &Model, scenarios: &[Scenario]) -> Vec<View> {
    let mut out = vec![View {
        name: "all".into(),
        kind: ViewKind::All,
        members: scenarios
            .iter()
            .enumerate()
            .map(|(s, sc)| (s, sc.probability))
            .collect(),
    }];
    for (d, deal) in model.deals.iter().enumerate() {
        for (o, outcome) in deal.outcomes.iter().enumerate() {
            let members: Vec<(usize, f64)> = scenarios
                .iter()
                .enumerate()
                .filter(|(_, sc)| sc.outcomes[d] == o)
                .map(|(s, sc)| (s, sc.probability))
                .collect();
            if members.is_empty() {
                continue;
            }
            out.push(View {
                name: format!("{}={}", deal.id, outcome.id),
                kind: ViewKind::Outcome(d, o),
                members,
            });
        }
    }
    for (s, sc) in scenarios.iter().enumerate() {
        // With one deal a scenario is its outcome's marginal, by the same
        // name: its rows are written once.
        if out.iter().any(|v| v.name == sc.name) {
            continue;
        }
        out.push(View {
            name: sc.name.clone(),
            kind: ViewKind::Scenario(s),
            members: vec![(s, 1.0)],
        });
    }
    for v in &mut out {
        let total: f64 = v.members.iter().map(|m| m.1).sum();
        for m in &mut v.members {
            m.1 /= total;
        }
    }
    out
}

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
    fn count_le(&self, x: f32) -> usize {
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

/// Statistics of a weighted mixture of columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Weighted mean.
    pub mean: f64,
    /// Weighted population standard deviation.
    pub sd: f64,
    /// Quantiles at [`QUANTILES`].
    pub q: [f64; 5],
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
fn ordered_bits(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

fn from_ordered_bits(u: u32) -> f32 {
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
fn mixture_quantile(parts: &[(&Column, f64)], q: f64) -> f64 {
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

/// Every (scenario, year, series) column of the paths, at
/// `(s * years + k) * series + j`: a platform's or the market's is the
/// paths' own column, a group's the sum of its members' (in `f64`, then
/// rounded to `f32` like every stored value).
pub fn series_columns<'p>(
    model: &Model,
    paths: &'p Paths,
    series: &[Series],
) -> Vec<Cow<'p, [f32]>> {
    let (years, ns) = (paths.years, series.len());
    (0..paths.scenarios * years * ns)
        .into_par_iter()
        .map(|x| {
            let (s, k, j) = (x / (years * ns), (x / ns) % years, x % ns);
            match series[j] {
                Series::Platform(p) => Cow::Borrowed(paths.column(s, k, p)),
                Series::Market => Cow::Borrowed(paths.column(s, k, paths.columns - 1)),
                Series::Group(g) => {
                    let mut column = vec![0f32; paths.futures];
                    group_column_into(model, paths, g, s, k, &mut Vec::new(), &mut column);
                    Cow::Owned(column)
                }
            }
        })
        .collect()
}

/// One row of `summary`.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// View name.
    pub view: usize,
    /// Year.
    pub year: i32,
    /// Series.
    pub series: Series,
    /// Statistics.
    pub stats: Stats,
}

/// One row of `thresholds`.
#[derive(Debug, Clone)]
pub struct ThresholdRow {
    /// View index.
    pub view: usize,
    /// Threshold index in the model.
    pub threshold: usize,
    /// Probability.
    pub probability: f64,
    /// Monte Carlo standard error.
    pub se: f64,
}

/// One row of `impact`.
#[derive(Debug, Clone)]
pub struct ImpactRow {
    /// Deal index.
    pub deal: usize,
    /// Outcome index.
    pub outcome: usize,
    /// Year.
    pub year: i32,
    /// Series.
    pub series: Series,
    /// Mean difference.
    pub mean: f64,
    /// 5% quantile.
    pub p05: f64,
    /// Median.
    pub p50: f64,
    /// 95% quantile.
    pub p95: f64,
    /// Number of scenario pairs behind it.
    pub pairs: usize,
}

/// One histogram bin of a horizon distribution (report chart 2).
#[derive(Debug, Clone)]
pub struct HorizonRow {
    /// View index (`all` or a deal outcome).
    pub view: usize,
    /// Series.
    pub series: Series,
    /// Year.
    pub year: i32,
    /// Bin start.
    pub lo: f64,
    /// Bin end.
    pub hi: f64,
    /// Probability density in the bin (probability / width).
    pub density: f64,
}

/// Bins of a horizon histogram.
pub const HORIZON_BINS: usize = 40;

/// Everything computed from the paths.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The views.
    pub views: Vec<View>,
    /// Rows by view, year, series.
    pub rows: Vec<SummaryRow>,
    /// Threshold rows by view, threshold.
    pub thresholds: Vec<ThresholdRow>,
    /// Impact rows by deal, outcome, year, series.
    pub impact: Vec<ImpactRow>,
    /// Histograms of the focus series in the final and threshold years,
    /// for `all` and each deal outcome, on bins shared by the views.
    pub horizon: Vec<HorizonRow>,
}

impl Summary {
    /// Checks that every number is finite, naming the first that is not:
    /// a run never writes NaN or infinity.
    pub fn check_finite(&self, model: &Model) -> Result<(), String> {
        let bad = |what: String| {
            Err(format!(
                "the simulation produced a value that is not a finite number ({what}); this is a bug for a model `sharecast check` accepts: please report it with the model file"
            ))
        };
        for r in &self.rows {
            let s = &r.stats;
            if !(s.mean.is_finite() && s.sd.is_finite() && s.q.iter().all(|q| q.is_finite())) {
                return bad(format!(
                    "summary {} {} {}",
                    self.views[r.view].name,
                    r.year,
                    model.series_id(r.series)
                ));
            }
        }
        for r in &self.thresholds {
            if !(r.probability.is_finite() && r.se.is_finite()) {
                return bad(format!("threshold of view {}", self.views[r.view].name));
            }
        }
        for r in &self.impact {
            if ![r.mean, r.p05, r.p50, r.p95].iter().all(|x| x.is_finite()) {
                return bad(format!(
                    "impact of {} {} {}",
                    model.deals[r.deal].id,
                    r.year,
                    model.series_id(r.series)
                ));
            }
        }
        for r in &self.horizon {
            if ![r.lo, r.hi, r.density].iter().all(|x| x.is_finite()) {
                return bad(format!(
                    "horizon histogram of {}",
                    model.series_id(r.series)
                ));
            }
        }
        Ok(())
    }
}

/// Weighted probability of `lo < x <= hi` (or `x <= hi` for the first bin).
fn mass(parts: &[(&Column, f64)], lo: f32, hi: f32, first: bool) -> f64 {
    parts
        .iter()
        .map(|(c, w)| {
            let below = if first { 0 } else { c.count_le(lo) };
            w * (c.count_le(hi) - below) as f64 / c.sorted.len().max(1) as f64
        })
        .sum()
}

/// For each year index `k` and scenario `s`, the first scenario whose
/// paths equal `s`'s in every year up to `k`, bit for bit: the first with
/// the same effects starting by then. (A year's simulation reads only the
/// effects that have started, in the same order, on the same draws.)
pub fn identical_through(model: &Model, scenarios: &[Scenario], years: usize) -> Vec<Vec<usize>> {
    (0..years)
        .map(|k| {
            let year = model.start_year + k as i32;
            let started: Vec<Vec<crate::model::EffectId>> = scenarios
                .iter()
                .map(|sc| {
                    sc.effects(model)
                        .filter(|&e| model.effects[e].from <= year)
                        .collect()
                })
                .collect();
            (0..scenarios.len())
                .map(|s| started.iter().position(|x| *x == started[s]).unwrap_or(s))
                .collect()
        })
        .collect()
}

/// A view's members in year `k`, scenarios with identical columns merged
/// into the first (weights added).
fn merged_members(view: &View, reps: &[Vec<usize>], k: usize) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = Vec::with_capacity(view.members.len());
    for &(s, w) in &view.members {
        let r = reps[k][s];
        match out.iter_mut().find(|m| m.0 == r) {
            Some(m) => m.1 += w,
            None => out.push((r, w)),
        }
    }
    out
}

/// Summarises the paths.
///
/// The work is done cell by cell, a cell being one (year, series): its
/// columns (one per scenario, 40 KB each at 10,000 futures) are sorted
/// into memory the thread reuses, and every view's statistics, threshold,
/// deal impact and horizon histogram that reads that cell is computed
/// while they are in cache. Only then does the thread move on. (Computed
/// view by view instead, a run streamed every sorted column from memory
/// once per mixture view.) The results are put back in the tables' order.
pub fn summarise(model: &Model, scenarios: &[Scenario], paths: &Paths) -> Summary {
    let views = views(model, scenarios);
    let series = model.series();
    let (years, ns) = (paths.years, series.len());
    // Scenarios identical through a year (the base year, years before any
    // deal's effects start) share one sorted column.
    let reps = identical_through(model, scenarios, years);
    let mut impact_plans = Vec::new();
    for (d, deal) in model.deals.iter().enumerate() {
        for o in 0..deal.outcomes.len() {
            if o == deal.baseline {
                continue;
            }
            let pairs = impact_pairs(model, scenarios, d, o);
            if !pairs.is_empty() {
                impact_plans.push(ImpactPlan {
                    deal: d,
                    outcome: o,
                    pairs,
                });
            }
        }
    }
    let plan = CellPlan {
        model,
        paths,
        views: &views,
        series: &series,
        reps: &reps,
        impacts: &impact_plans,
        horizon_years: model.horizon_years(),
    };
    let mut cells: Vec<Cell> = (0..years * ns)
        .into_par_iter()
        .map_init(CellScratch::default, |sc, x| plan.cell(x / ns, x % ns, sc))
        .collect();

    let mut rows = Vec::with_capacity(views.len() * cells.len());
    for v in 0..views.len() {
        for (x, cell) in cells.iter().enumerate() {
            rows.push(SummaryRow {
                view: v,
                year: model.start_year + (x / ns) as i32,
                series: series[x % ns],
                stats: cell.stats[v],
            });
        }
    }
    let mut thresholds: Vec<(usize, ThresholdRow)> = Vec::new();
    let mut impact: Vec<(usize, ImpactRow)> = Vec::new();
    let mut horizon: Vec<(usize, Vec<HorizonRow>)> = Vec::new();
    for cell in &mut cells {
        thresholds.append(&mut cell.thresholds);
        impact.append(&mut cell.impact);
        horizon.append(&mut cell.horizon);
    }
    // Back in the tables' order: each entry carries its position.
    thresholds.sort_by_key(|e| e.0);
    impact.sort_by_key(|e| e.0);
    horizon.sort_by_key(|e| e.0);
    Summary {
        views,
        rows,
        thresholds: thresholds.into_iter().map(|e| e.1).collect(),
        impact: impact.into_iter().map(|e| e.1).collect(),
        horizon: horizon.into_iter().flat_map(|e| e.1).collect(),
    }
}

/// What [`summarise`] computes for one cell, each table row with its
/// position in its table.
struct Cell {
    /// Per view.
    stats: Vec<Stats>,
    thresholds: Vec<(usize, ThresholdRow)>,
    impact: Vec<(usize, ImpactRow)>,
    /// Horizon histograms, by position in focus-series x year order.
    horizon: Vec<(usize, Vec<HorizonRow>)>,
}

/// A thread's reusable memory for [`CellPlan::cell`].
#[derive(Default)]
struct CellScratch {
    /// A group's column per scenario, and the `f64` sum behind one.
    groups: Vec<f32>,
    sum: Vec<f64>,
    /// Sorted columns, one slot per scenario, and the sort's buffers.
    sorted: Vec<f32>,
    sort: SortScratch,
    paired: PairedScratch,
}

/// A deal outcome whose impact is reported, with its
/// [`impact_pairs`].
struct ImpactPlan {
    deal: usize,
    outcome: usize,
    pairs: Vec<(usize, usize, f64)>,
}

/// Everything a cell's computation reads.
struct CellPlan<'a> {
    model: &'a Model,
    paths: &'a Paths,
    views: &'a [View],
    series: &'a [Series],
    reps: &'a [Vec<usize>],
    /// Each deal outcome with an impact, in table order.
    impacts: &'a [ImpactPlan],
    horizon_years: Vec<i32>,
}

impl CellPlan<'_> {
    /// The summaries of year index `k` and series `j`.
    fn cell(&self, k: usize, j: usize, sc: &mut CellScratch) -> Cell {
        let (model, paths, views, reps) = (self.model, self.paths, self.views, self.reps);
        let (n, n_sc) = (paths.futures, paths.scenarios);
        let (years, ns) = (paths.years, self.series.len());
        let CellScratch {
            groups,
            sum,
            sorted,
            sort,
            paired,
        } = sc;
        // A group's column is the sum of its members' (in `f64`, then
        // rounded to `f32` like every stored value).
        if let Series::Group(g) = self.series[j] {
            groups.resize(n_sc * n, 0.0);
            for (s, dst) in groups.chunks_exact_mut(n.max(1)).enumerate() {
                group_column_into(model, paths, g, s, k, sum, dst);
            }
        }
        let groups: &[f32] = groups;
        let raw = |s: usize| -> &[f32] {
            match self.series[j] {
                Series::Platform(p) => paths.column(s, k, p),
                Series::Market => paths.column(s, k, paths.columns - 1),
                Series::Group(_) => &groups[s * n..(s + 1) * n],
            }
        };
        sorted.resize(n_sc * n, 0.0);
        let mut rest: &mut [f32] = sorted;
        let mut own: Vec<Option<Column>> = Vec::with_capacity(n_sc);
        for (s, &r) in reps[k].iter().enumerate() {
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(n);
            rest = tail;
            own.push((r == s).then(|| Column::sorted_into(raw(s), dst, sort)));
        }
        let col = |s: usize| -> &Column {
            own[reps[k][s]]
                .as_ref()
                .expect("a scenario's representative has its own column")
        };
        let parts_of = |view: &View| -> Vec<(&Column, f64)> {
            merged_members(view, reps, k)
                .into_iter()
                .map(|(s, w)| (col(s), w))
                .collect()
        };
        let stats = views
            .iter()
            .map(|view| mixture_stats_of(&parts_of(view), view.members.len() > 1))
            .collect();

        let year = model.start_year + k as i32;
        let nt = model.thresholds.len();
        let mut thresholds = Vec::new();
        for (t, th) in model.thresholds.iter().enumerate() {
            if th.year != year || series_index(self.series, th.series) != j {
                continue;
            }
            for (v, view) in views.iter().enumerate() {
                // Per future, the weight of the view's scenarios past the
                // level (members in order, from -0.0 as an iterator's sum
                // starts).
                let mut hits = vec![-0.0; n];
                for &(s, w) in &view.members {
                    for (h, &x) in hits.iter_mut().zip(raw(s)) {
                        let x = x as f64;
                        let hit = if th.above { x > th.level } else { x < th.level };
                        *h += if hit { w } else { 0.0 };
                    }
                }
                let p = hits.iter().sum::<f64>() / n as f64;
                let var = hits.iter().map(|h| (h - p).powi(2)).sum::<f64>() / n as f64;
                let row = ThresholdRow {
                    view: v,
                    threshold: t,
                    probability: p,
                    se: (var / n as f64).sqrt(),
                };
                thresholds.push((v * nt + t, row));
            }
        }

        let mut impact = Vec::with_capacity(self.impacts.len());
        for (q, plan) in self.impacts.iter().enumerate() {
            let pairs = &plan.pairs;
            let cols: Vec<(&[f32], &[f32], f64)> =
                pairs.iter().map(|&(s, b, w)| (raw(s), raw(b), w)).collect();
            // Before the deal's effects start every pair is one path twice:
            // each difference is exactly 0 (unless a value is not finite).
            let same = pairs.iter().all(|&(s, b, _)| reps[k][s] == reps[k][b])
                && cols.iter().all(|(x, _, _)| x.iter().all(|v| v.is_finite()));
            let (mean, q3) = if same {
                (0.0, [0.0; 3])
            } else {
                paired_stats(&cols, paired)
            };
            let row = ImpactRow {
                deal: plan.deal,
                outcome: plan.outcome,
                year,
                series: self.series[j],
                mean,
                p05: q3[0],
                p50: q3[1],
                p95: q3[2],
                pairs: pairs.len(),
            };
            impact.push(((q * years + k) * ns + j, row));
        }

        let mut horizon = Vec::new();
        let hy = &self.horizon_years;
        for (f, &sr) in model.focus.iter().enumerate() {
            if series_index(self.series, sr) != j {
                continue;
            }
            for (y, _) in hy.iter().enumerate().filter(|e| *e.1 == year) {
                let block = horizon_block(
                    views,
                    sr,
                    year,
                    &|v| {
                        let parts = parts_of(&views[v]);
                        (
                            mixture_quantile(&parts, 0.005),
                            mixture_quantile(&parts, 0.995),
                        )
                    },
                    &|v, a, z| mass(&parts_of(&views[v]), a as f32, z as f32, false),
                );
                horizon.push((f * hy.len() + y, block));
            }
        }
        Cell {
            stats,
            thresholds,
            impact,
            horizon,
        }
    }
}

/// Group `g`'s column of scenario `s`, year index `k`, into `dst`: its
/// members' values summed in `f64` (in `sum`, from 0), rounded to `f32`.
fn group_column_into(
    model: &Model,
    paths: &Paths,
    g: usize,
    s: usize,
    k: usize,
    sum: &mut Vec<f64>,
    dst: &mut [f32],
) {
    sum.clear();
    sum.resize(paths.futures, 0.0);
    for &p in &model.groups[g].members {
        for (acc, &v) in sum.iter_mut().zip(paths.column(s, k, p)) {
            *acc += v as f64;
        }
    }
    for (d, &v) in dst.iter_mut().zip(sum.iter()) {
        *d = v as f32;
    }
}

/// The rows of `summary`, by view, year and series, computed in parallel;
/// `stats(view, year index, series index)` summarises one view's mixture.
pub(crate) fn summary_rows(
    model: &Model,
    views: &[View],
    series: &[Series],
    years: usize,
    stats: &(dyn Fn(&View, usize, usize) -> Stats + Sync),
) -> Vec<SummaryRow> {
    let ns = series.len();
    (0..views.len() * years * ns)
        .into_par_iter()
        .map(|x| {
            let (v, k, j) = (x / (years * ns), (x / ns) % years, x % ns);
            SummaryRow {
                view: v,
                year: model.start_year + k as i32,
                series: series[j],
                stats: stats(&views[v], k, j),
            }
        })
        .collect()
}

/// Horizon histograms (report chart 2): for each focus series in the final
/// and threshold years, [`HORIZON_BINS`] bins shared by `all` and every
/// deal outcome, spanning the union of their 0.5%-99.5% ranges.
/// `range(view, year index, series index)` gives a view's (p0.5, p99.5);
/// `mass(view, year index, series index, lo, hi)` its probability in (lo, hi].
pub(crate) fn horizon_rows(
    model: &Model,
    views: &[View],
    series: &[Series],
    range: &(dyn Fn(usize, usize, usize) -> (f64, f64) + Sync),
    mass: &(dyn Fn(usize, usize, usize, f64, f64) -> f64 + Sync),
) -> Vec<HorizonRow> {
    let mut rows = Vec::new();
    for &sr in &model.focus {
        let j = series_index(series, sr);
        for year in model.horizon_years() {
            let k = (year - model.start_year) as usize;
            rows.extend(horizon_block(
                views,
                sr,
                year,
                &|v| range(v, k, j),
                &|v, a, z| mass(v, k, j, a, z),
            ));
        }
    }
    rows
}

/// One series' horizon histograms in one year, for `all` and every deal
/// outcome: `range(view)` and `mass(view, lo, hi)` as in [`horizon_rows`].
fn horizon_block(
    views: &[View],
    sr: Series,
    year: i32,
    range: &dyn Fn(usize) -> (f64, f64),
    mass: &dyn Fn(usize, f64, f64) -> f64,
) -> Vec<HorizonRow> {
    let shown: Vec<usize> = (0..views.len())
        .filter(|&v| !matches!(views[v].kind, ViewKind::Scenario(_)))
        .collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in &shown {
        let (a, z) = range(v);
        lo = lo.min(a);
        hi = hi.max(z);
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        hi = lo + 1e-6;
    }
    let width = (hi - lo) / HORIZON_BINS as f64;
    let mut rows = Vec::with_capacity(shown.len() * HORIZON_BINS);
    for &v in &shown {
        for b in 0..HORIZON_BINS {
            let (a, z) = (lo + b as f64 * width, lo + (b + 1) as f64 * width);
            rows.push(HorizonRow {
                view: v,
                series: sr,
                year,
                lo: a,
                hi: z,
                density: mass(v, a, z).max(0.0) / width,
            });
        }
    }
    rows
}

/// The scenario pairs of a deal outcome: `(outcome scenario, baseline
/// scenario, weight)`, weights normalised; pairs whose baseline counterpart
/// has probability 0 are dropped.
pub fn impact_pairs(
    model: &Model,
    scenarios: &[Scenario],
    deal: usize,
    outcome: usize,
) -> Vec<(usize, usize, f64)> {
    let base = model.deals[deal].baseline;
    let mut pairs = Vec::new();
    for (s, sc) in scenarios.iter().enumerate() {
        if sc.outcomes[deal] != outcome {
            continue;
        }
        let mut target = sc.outcomes.clone();
        target[deal] = base;
        if let Some(b) = scenarios.iter().position(|x| x.outcomes == target) {
            pairs.push((s, b, sc.probability));
        }
    }
    let total: f64 = pairs.iter().map(|p| p.2).sum();
    for p in &mut pairs {
        p.2 /= total;
    }
    pairs
}

fn series_index(series: &[Series], s: Series) -> usize {
    series.iter().position(|x| *x == s).unwrap_or(0)
}

/// Levels of the impact quantiles (p05, p50, p95).
const IMPACT_LEVELS: [f64; 3] = [0.05, 0.5, 0.95];

/// Bins of the histogram that locates an impact quantile.
const PAIRED_BINS: usize = 2048;

/// Reusable buffers of [`paired_stats`], one set per thread.
#[derive(Default)]
struct PairedScratch {
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
fn paired_stats(pairs: &[(&[f32], &[f32], f64)], sc: &mut PairedScratch) -> (f64, [f64; 3]) {
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
