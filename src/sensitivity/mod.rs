//! Sensitivity: which priors and which deals drive the forecast.
//!
//! On every run, from the futures already simulated ("given data"), for
//! each focus series in the final and threshold years, in the view `all`
//! and in every scenario: per input (every prior that is not fixed, named
//! by its dotted path; in `all` also every deal, `deal:<id>`), Spearman's
//! rank correlation, the swing (the output's mean among the futures with
//! the lowest and the highest tenth of the input), and the first-order
//! index `S1` with a bootstrap 90% interval ([`estimate`]).
//!
//! In `all` the sample is the (future, scenario) pairs weighted `P(s)/N`;
//! a prior's bins hold futures (all their scenarios), so its `S1` is the
//! variance of the bins' means of each future's mixture `sum_s P(s) y` over
//! the variance of the pairs. A deal's `S1` is the share of that variance
//! its outcome explains: `sum_o P(o) (E[Y | o] - E[Y])^2 / Var(Y)`.
//!
//! The bootstrap resamples futures with Poisson(1) weights (`REPLICATES`
//! replicates, seeded from the run's seed and the input's path): per
//! replicate, each bin's count of resampled futures is drawn from
//! `rand_distr::Poisson` and their sums from the bin's normal
//! approximation (each bin holds 100 or more futures in runs of 1,000 and
//! more), which costs a fixed amount per bin rather than per future.
//!
//! Latin hypercube futures are used as a plain sample. Sketch runs keep the
//! first `min(N, KEEP)` futures for this, future by future, so the result
//! is the same however a run is split.

mod bootstrap;
pub mod estimate;
mod labels;
mod sample;
pub mod sobol;

use bootstrap::{interval_of, Bootstrap, DealDraws, Moments};
pub use labels::input_label;
pub use sample::{
    cell_columns, cells, push_outputs, sampled_priors, uses, Cell, Sample, SampleRef,
};

use crate::engine::streams::{hash_str, key, tag};
use crate::isa::Isa;
use crate::model::{Model, Series};
use crate::scenario::Scenario;
use estimate::{binned_s1, centred_ranks_f32, cholesky, ranks, swing, BinSums};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rayon::prelude::*;

/// Futures a sketch run keeps for the sensitivity tables.
pub const KEEP: usize = 100_000;
/// Bootstrap replicates.
pub const REPLICATES: usize = 100;

/// One row of `sensitivity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivityRow {
    /// View: `all` or a scenario's name.
    pub view: String,
    /// Year.
    pub year: i32,
    /// Series.
    pub series: Series,
    /// A prior's dotted path, or `deal:<id>`.
    pub input: String,
    /// Spearman's rank correlation (none for a deal).
    pub spearman: Option<f64>,
    /// Mean output among the lowest and highest tenth of the input (for a
    /// deal: the lowest and highest outcome means).
    pub swing: (f64, f64),
    /// First-order index.
    pub s1: f64,
    /// Its bootstrap 90% interval.
    pub interval: (f64, f64),
}

impl SensitivityRow {
    /// Whether every number in the row is finite.
    pub fn is_finite(&self) -> bool {
        [
            self.swing.0,
            self.swing.1,
            self.s1,
            self.interval.0,
            self.interval.1,
        ]
        .iter()
        .chain(self.spearman.as_ref())
        .all(|x| x.is_finite())
    }
}

/// Bins of the given-data estimator: ten per 2,000 futures, 10 to 100, a
/// multiple of ten so the swing's tenths are whole bins (and at most half
/// the futures, so a bin holds two or more).
pub fn bins_for(n: usize) -> usize {
    (10 * (n / 2000).clamp(1, 10)).min(n / 2).max(1)
}

/// One view's output in one cell.
struct Output {
    view: String,
    /// Index of the view's scenario (`None`: `all`).
    scenario: Option<usize>,
    cell: usize,
    /// Where its sums start in a future's row of moments ([`Rows`]).
    offset: usize,
    /// Its mean over the sample, taken off every value in the rows (so
    /// their sums keep their precision in `f32`).
    center: f64,
}

/// Per future, one row of every output's moments, in `f32`, of the values
/// less the output's mean `m`: for a scenario's output `y`: `a = y - m`
/// and `a^2`; for `all`: `a = sum_s P(s) (y - m)`, `a^2`,
/// `c = sum_s P(s) (y - m)^2`, `a c`, `c^2`. Adding a future's row into its
/// bin is one vector loop, for every output at once.
struct Rows {
    data: Vec<f32>,
}

/// The whole analysis: rows by view (`all`, then each scenario), year and
/// series, each group sorted by `S1`, largest first.
pub fn analyse(model: &Model, scenarios: &[Scenario], sample: &SampleRef) -> Vec<SensitivityRow> {
    let n = sample.futures();
    if n < 4 {
        return Vec::new();
    }
    let cells = cells(model);
    let nc = cells.len();
    let priors = sampled_priors(model);
    let seed = model.simulation.seed;
    let (outputs, width) = outputs(scenarios, sample, nc);
    let rows = moment_rows(scenarios, sample, &outputs, width, nc);
    // Ranks of the outputs (for `all`, each future's mean pair rank and the
    // pairs' rank variance), once each.
    let output_ranks: Vec<(Vec<f32>, f64)> = outputs
        .par_iter()
        .map(|o| match o.scenario {
            Some(s) => centred_ranks_f32(sample.outputs[s * nc + o.cell]),
            None => pair_ranks(scenarios, &sample.outputs, o.cell, nc),
        })
        .collect();
    let m = bins_for(n);
    // Per input: its bins, bootstrap draws and every output's row.
    // Each input's ranks and bins, then every bin's sums of every output.
    let binned: Vec<(Vec<f64>, Vec<usize>)> = sample
        .inputs
        .par_iter()
        .map(|x| {
            let xr = ranks(x);
            let bin_of = xr
                .iter()
                .map(|r| (((r - 0.5) as usize) * m / n).min(m - 1))
                .collect();
            (xr, bin_of)
        })
        .collect();
    let bin_sums = bin_all(&rows, &binned, m, width, n);
    // The bootstrap's draws depend only on the bins' sizes, the same for
    // every input without ties: drawn once (as one resampling of the
    // futures serves every input).
    let regular = {
        let mut size = vec![0.0; m];
        for r in 0..n {
            size[(r * m / n).min(m - 1)] += 1.0;
        }
        let boot = Bootstrap::new(&size, key(&[seed, tag::BOOTSTRAP]));
        (size, boot)
    };
    let centred_inputs: Vec<(Vec<f32>, f64)> =
        binned.par_iter().map(|(xr, _)| centred(xr)).collect();
    let spearman = rank_correlations(&centred_inputs, &output_ranks);
    let mut table: Vec<(usize, SensitivityRow)> = priors
        .par_iter()
        .enumerate()
        .zip(binned)
        .zip(bin_sums)
        .flat_map_iter(|(((j, &p), (_, bin_of)), acc)| {
            let slot = &model.priors[p];
            let mut size = vec![0.0; m];
            for &b in &bin_of {
                size[b] += 1.0;
            }
            let own;
            let boot = if size == regular.0 {
                &regular.1
            } else {
                own = Bootstrap::new(&size, key(&[seed, tag::BOOTSTRAP]));
                &own
            };
            let mut out = Vec::new();
            let mut bins = vec![Moments::default(); m];
            let mut sums = vec![BinSums::default(); m];
            for (o, output) in outputs.iter().enumerate() {
                if let Some(s) = output.scenario {
                    if !uses(&scenarios[s], slot.scope) {
                        continue;
                    }
                }
                for (b, (bin, sum)) in bins.iter_mut().zip(sums.iter_mut()).enumerate() {
                    let v = &acc[b * width + output.offset..];
                    *bin = match output.scenario {
                        Some(_) => Moments::of_one_scenario(size[b], v[0] as f64, v[1] as f64),
                        None => Moments::of_mixture(size[b], &v[..5]),
                    };
                    *sum = bin.sums();
                }
                let s1 = binned_s1(&sums);
                let spearman = spearman[j * outputs.len() + o];
                let cell = cells[output.cell];
                out.push((
                    o,
                    SensitivityRow {
                        view: output.view.clone(),
                        year: cell.year,
                        series: cell.series,
                        input: slot.path.clone(),
                        spearman: Some(spearman),
                        swing: {
                            let (lo, hi) = swing(&sums);
                            (lo + output.center, hi + output.center)
                        },
                        s1,
                        interval: boot.interval(&bins, s1),
                    },
                ));
            }
            out
        })
        .collect();
    table.extend(deal_rows(model, scenarios, sample, &outputs));
    // By view, year and series (the outputs' order), S1 largest first.
    table.sort_by(|(a, ra), (b, rb)| a.cmp(b).then(rb.s1.total_cmp(&ra.s1)));
    table.into_iter().map(|(_, r)| r).collect()
}

/// Every view's output in every cell, in the tables' order (`all`, then
/// each scenario; by year and focus within), each with its mean; and the
/// width of a future's row of moments ([`Rows`]).
fn outputs(scenarios: &[Scenario], sample: &SampleRef, nc: usize) -> (Vec<Output>, usize) {
    let column = |s: usize, c: usize| sample.outputs[s * nc + c];
    let mut outputs = Vec::new();
    let mut width = 0;
    for cell in 0..nc {
        let center = scenarios
            .iter()
            .enumerate()
            .map(|(s, sc)| sc.probability * mean(column(s, cell)))
            .sum();
        outputs.push(Output {
            view: "all".into(),
            scenario: None,
            cell,
            offset: width,
            center,
        });
        width += 5;
    }
    for (s, sc) in scenarios.iter().enumerate() {
        for cell in 0..nc {
            outputs.push(Output {
                view: sc.name.clone(),
                scenario: Some(s),
                cell,
                offset: width,
                center: mean(column(s, cell)),
            });
            width += 2;
        }
    }
    (outputs, width)
}

/// Every deal's rows, in `all`, tagged with their output's index.
fn deal_rows(
    model: &Model,
    scenarios: &[Scenario],
    sample: &SampleRef,
    outputs: &[Output],
) -> Vec<(usize, SensitivityRow)> {
    let (n, seed, cells) = (sample.futures(), model.simulation.seed, cells(model));
    let nc = cells.len();
    model
        .deals
        .par_iter()
        .enumerate()
        .flat_map_iter(|(d, deal)| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(key(&[
                seed,
                tag::BOOTSTRAP,
                hash_str(&format!("deal:{}", deal.id)),
            ]));
            let draws = DealDraws::new(&mut rng, n, deal.outcomes.len() + 2);
            outputs
                .iter()
                .enumerate()
                .filter(|(_, o)| o.scenario.is_none())
                .map(|(o, output)| {
                    let cell = cells[output.cell];
                    let (s1, interval, swing) =
                        deal_s1(scenarios, d, sample, output.cell, nc, &draws);
                    let row = SensitivityRow {
                        view: "all".into(),
                        year: cell.year,
                        series: cell.series,
                        input: format!("deal:{}", deal.id),
                        spearman: None,
                        swing,
                        s1,
                        interval,
                    };
                    (o, row)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Per input, every bin's sums of every future's row: `acc[b * width + x]`.
/// The inputs are split between the threads, and each thread takes the
/// rows a block at a time through all its inputs ([`bin_group`]), so that
/// each row is read from memory once per thread rather than once per input.
fn bin_all(
    rows: &Rows,
    binned: &[(Vec<f64>, Vec<usize>)],
    m: usize,
    width: usize,
    n: usize,
) -> Vec<Vec<f32>> {
    let per_thread = binned
        .len()
        .div_ceil(rayon::current_num_threads().max(1))
        .max(1);
    binned
        .par_chunks(per_thread)
        .flat_map_iter(|group| bin_group(rows, group, m, width, n))
        .collect()
}

/// The bins' sums of one group of inputs (see [`bin_all`]).
fn bin_group(
    rows: &Rows,
    group: &[(Vec<f64>, Vec<usize>)],
    m: usize,
    width: usize,
    n: usize,
) -> Vec<Vec<f32>> {
    match Isa::detect() {
        // SAFETY: `Isa::detect` chooses AVX2 only on a processor with it.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { bin_group_avx2(rows, group, m, width, n) },
        Isa::Portable => bin_group_body(rows, group, m, width, n),
    }
}

/// [`bin_group`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn bin_group_avx2(
    rows: &Rows,
    group: &[(Vec<f64>, Vec<usize>)],
    m: usize,
    width: usize,
    n: usize,
) -> Vec<Vec<f32>> {
    bin_group_body(rows, group, m, width, n)
}

/// [`bin_group`]'s body, inlined into each compiled copy (a plain loop: a
/// closure would not inherit the copy's instruction set).
#[inline(always)]
fn bin_group_body(
    rows: &Rows,
    group: &[(Vec<f64>, Vec<usize>)],
    m: usize,
    width: usize,
    n: usize,
) -> Vec<Vec<f32>> {
    const BLOCK: usize = 64;
    let mut accs = vec![vec![0f32; m * width]; group.len()];
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        for ((_, bin_of), acc) in group.iter().zip(accs.iter_mut()) {
            for (i, &b) in bin_of.iter().enumerate().take(end).skip(start) {
                let row = &rows.data[i * width..(i + 1) * width];
                for (x, y) in acc[b * width..(b + 1) * width].iter_mut().zip(row) {
                    *x += y;
                }
            }
        }
    }
    accs
}

/// Every future's row of moments (see [`Rows`]).
fn moment_rows(
    scenarios: &[Scenario],
    sample: &SampleRef,
    outputs: &[Output],
    width: usize,
    nc: usize,
) -> Rows {
    // A block of futures at a time, output by output: each column is read
    // in order (for `all`, the scenarios summed in the same order as one
    // future at a time would).
    const BLOCK: usize = 64;
    let n = sample.futures();
    let mut data = vec![0f32; n * width];
    data.par_chunks_mut(width * BLOCK)
        .enumerate()
        .for_each(|(blk, rows)| {
            let (start, len) = (blk * BLOCK, rows.len() / width);
            let column = |s: usize, cell: usize| &sample.outputs[s * nc + cell][start..start + len];
            for o in outputs {
                match o.scenario {
                    Some(s) => {
                        for (i, &y) in column(s, o.cell).iter().enumerate() {
                            let y = y as f64 - o.center;
                            let v = &mut rows[i * width + o.offset..];
                            v[0] = y as f32;
                            v[1] = (y * y) as f32;
                        }
                    }
                    None => {
                        let (mut a, mut c) = ([0.0; BLOCK], [0.0; BLOCK]);
                        for (s, sc) in scenarios.iter().enumerate() {
                            let p = sc.probability;
                            for ((a, c), &y) in
                                a.iter_mut().zip(c.iter_mut()).zip(column(s, o.cell))
                            {
                                let y = y as f64 - o.center;
                                *a += p * y;
                                *c += p * y * y;
                            }
                        }
                        for (i, (&a, &c)) in a.iter().zip(&c).take(len).enumerate() {
                            let v5 = [a, a * a, c, a * c, c * c];
                            for (d, x) in rows[i * width + o.offset..].iter_mut().zip(v5) {
                                *d = x as f32;
                            }
                        }
                    }
                }
            }
        });
    Rows { data }
}

/// Per future and scenario, the mid-point of the weighted CDF of the pairs
/// `(future, scenario)` of cell `c` at its value, averaged over the
/// scenarios with their probabilities: each future's mean pair rank; and
/// the pairs' rank spread. For the weighted Spearman correlation of `all`.
/// The CDF is counted on [`PAIR_BINS`] equal bins over the values' range
/// (values in one bin count as tied), which costs one pass over the pairs
/// instead of a sort.
fn pair_ranks(scenarios: &[Scenario], outputs: &[&[f32]], c: usize, nc: usize) -> (Vec<f32>, f64) {
    let n = outputs[c].len();
    let columns: Vec<(&[f32], f64)> = scenarios
        .iter()
        .enumerate()
        .map(|(s, sc)| (outputs[s * nc + c], sc.probability))
        .collect();
    let (lo, hi) = columns
        .iter()
        .flat_map(|(v, _)| v.iter())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let scale = if hi > lo {
        (PAIR_BINS - 1) as f64 / (hi as f64 - lo as f64)
    } else {
        0.0
    };
    let bin = |y: f32| ((y as f64 - lo as f64) * scale) as usize;
    let mut mass = vec![0.0; PAIR_BINS];
    for &(v, p) in &columns {
        for &y in v {
            mass[bin(y)] += p;
        }
    }
    let total: f64 = mass.iter().sum();
    // Mid-CDF of each bin.
    let mut mid = vec![0.0; PAIR_BINS];
    let (mut below, mut sum, mut square) = (0.0, 0.0, 0.0);
    for (m, x) in mid.iter_mut().zip(&mass) {
        *m = (below + 0.5 * x) / total;
        sum += x * *m;
        square += x * *m * *m;
        below += x;
    }
    let mut out = vec![0.0; n];
    for &(v, p) in &columns {
        for (o, &y) in out.iter_mut().zip(v) {
            *o += p * mid[bin(y)];
        }
    }
    // The input is constant within a future, so the weighted covariance
    // over the pairs is that of each future's mean pair rank; the pairs'
    // own spread, per future, is the variance's share of the futures.
    let mean = sum / total;
    let var = square / total - mean * mean;
    let (centred, _) = centred(&out);
    (centred, var * n as f64)
}

/// Bins of the pairs' CDF in `all` (see [`pair_ranks`]).
const PAIR_BINS: usize = 1 << 16;

/// The mean of `f32` values, in `f64`.
fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}

/// `v` less its mean, in `f32` (exact for centred ranks, which are
/// multiples of one half below 2^22), and its sum of squares.
fn centred(v: &[f64]) -> (Vec<f32>, f64) {
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let ss = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    (v.iter().map(|x| (x - mean) as f32).collect(), ss)
}

/// `sum x y` of a block of at most [`RANK_BLOCK`] values, in `f32` with
/// 32 partial sums (four vector registers, so the additions do not wait on
/// each other), returned in `f64` for the sum over blocks.
#[inline(always)]
fn dot_f32(x: &[f32], y: &[f32]) -> f64 {
    dot_lanes::<f32, 32>(x, y)
}

/// `sum x y` with `L` partial sums, so that it compiles to vector code; the
/// order is fixed, so the result too.
#[inline(always)]
fn dot_lanes<T, const L: usize>(x: &[T], y: &[T]) -> f64
where
    T: Copy + Default + std::ops::Mul<Output = T> + std::ops::AddAssign + Into<f64>,
{
    let mut acc = [T::default(); L];
    let (xc, yc) = (x.chunks_exact(L), y.chunks_exact(L));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(&a, &b)| (a * b).into())
        .sum();
    for (a, b) in xc.zip(yc) {
        for l in 0..L {
            acc[l] += a[l] * b[l];
        }
    }
    acc.iter().map(|&a| a.into()).sum::<f64>() + tail
}

/// Adds `x . y` of every output `y` to `row`, a block of futures at a
/// time (see [`rank_correlations`]).
fn dot_row(row: &mut [f64], x: &[f32], outputs: &[(Vec<f32>, f64)]) {
    match Isa::detect() {
        // SAFETY: `Isa::detect` chooses AVX2 only on a processor with it.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { dot_row_avx2(row, x, outputs) },
        Isa::Portable => dot_row_body(row, x, outputs),
    }
}

/// [`dot_row`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_row_avx2(row: &mut [f64], x: &[f32], outputs: &[(Vec<f32>, f64)]) {
    dot_row_body(row, x, outputs)
}

/// [`dot_row`]'s body, inlined into each compiled copy.
#[inline(always)]
fn dot_row_body(row: &mut [f64], x: &[f32], outputs: &[(Vec<f32>, f64)]) {
    let n = x.len();
    for start in (0..n).step_by(RANK_BLOCK) {
        let end = (start + RANK_BLOCK).min(n);
        let xb = &x[start..end];
        for (d, (y, _)) in row.iter_mut().zip(outputs) {
            *d += dot_f32(xb, &y[start..end]);
        }
    }
}

/// Futures per block of the rank correlations: every output's block of
/// ranks (`f32`) stays in the second-level cache while each input passes.
const RANK_BLOCK: usize = 4096;

/// `sum x y`, with eight partial sums (see [`dot_lanes`]).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    dot_lanes::<f64, 8>(x, y)
}

/// Spearman's correlation of every input with every output (`[input *
/// outputs + output]`), from centred ranks and their sums of squares (in
/// `all`: the input's rank against each future's mean pair rank, over the
/// pairs' spread). The dot products run a block of futures at a time
/// through every input and output, so each rank is read from memory once.
fn rank_correlations(inputs: &[(Vec<f32>, f64)], outputs: &[(Vec<f32>, f64)]) -> Vec<f64> {
    let no = outputs.len();
    let mut dots = vec![0.0; inputs.len() * no];
    dots.par_chunks_mut(no)
        .zip(inputs)
        .for_each(|(row, (x, _))| dot_row(row, x, outputs));
    for (j, (_, x_ss)) in inputs.iter().enumerate() {
        for (o, (_, y_ss)) in outputs.iter().enumerate() {
            let d = &mut dots[j * no + o];
            *d = if *x_ss > 0.0 && *y_ss > 0.0 {
                *d / (x_ss * y_ss).sqrt()
            } else {
                0.0
            };
        }
    }
    dots
}

/// A deal's `S1` in `all`, its interval and its outcome means' range.
fn deal_s1(
    scenarios: &[Scenario],
    d: usize,
    sample: &SampleRef,
    cell: usize,
    nc: usize,
    draws: &DealDraws,
) -> (f64, (f64, f64), (f64, f64)) {
    let n = sample.futures();
    let n_out = scenarios.iter().map(|s| s.outcomes[d]).max().unwrap_or(0) + 1;
    let p_out: Vec<f64> = (0..n_out)
        .map(|o| {
            scenarios
                .iter()
                .filter(|s| s.outcomes[d] == o)
                .map(|s| s.probability)
                .sum()
        })
        .collect();
    let live: Vec<usize> = (0..n_out).filter(|&o| p_out[o] > 0.0).collect();
    // Per future, column by column: each live outcome's conditional mean,
    // then a = sum_s P(s) y and c = sum_s P(s) y^2.
    let dims = live.len() + 2;
    let mut v = vec![vec![0.0; n]; dims];
    for (s, sc) in scenarios.iter().enumerate() {
        let o = sc.outcomes[d];
        let y = &sample.outputs[s * nc + cell][..n];
        if let Some(pos) = live.iter().position(|&l| l == o) {
            let w = sc.probability / p_out[o];
            for (x, &y) in v[pos].iter_mut().zip(y) {
                *x += w * y as f64;
            }
        }
        let p = sc.probability;
        let (head, tail) = v.split_at_mut(dims - 1);
        for ((a, c), &y) in head[dims - 2].iter_mut().zip(tail[0].iter_mut()).zip(y) {
            let y = y as f64;
            *a += p * y;
            *c += p * y * y;
        }
    }
    let mut mu: Vec<f64> = v.iter().map(|col| col.iter().sum()).collect();
    let mut second = vec![0.0; dims * dims];
    for x in 0..dims {
        for y in x..dims {
            let s = dot(&v[x], &v[y]);
            second[x * dims + y] = s;
            second[y * dims + x] = s;
        }
    }
    let nf = n as f64;
    mu.iter_mut().for_each(|x| *x /= nf);
    let mut cov = vec![0.0; dims * dims];
    for x in 0..dims {
        for y in 0..dims {
            cov[x * dims + y] = second[x * dims + y] / nf - mu[x] * mu[y];
        }
    }
    let s1_of = |means: &[f64]| -> f64 {
        let mean = means[dims - 2];
        let var = means[dims - 1] - mean * mean;
        if var.is_nan() || var <= 0.0 {
            return 0.0;
        }
        live.iter()
            .enumerate()
            .map(|(k, &o)| p_out[o] * (means[k] - mean).powi(2))
            .sum::<f64>()
            / var
    };
    let s1 = s1_of(&mu);
    let l = cholesky(&cov, dims);
    let mut reps: Vec<f64> = (0..REPLICATES)
        .map(|r| {
            let k = draws.counts[r].max(1.0);
            let z = &draws.normals[r];
            let means: Vec<f64> = (0..dims)
                .map(|x| mu[x] + (0..dims).map(|y| l[x * dims + y] * z[y]).sum::<f64>() / k.sqrt())
                .collect();
            s1_of(&means)
        })
        .collect();
    let outcome_means = &mu[..live.len()];
    let lo = outcome_means.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = outcome_means
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    (s1, interval_of(&mut reps, s1), (lo, hi))
}
