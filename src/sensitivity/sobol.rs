//! A Sobol study (`sharecast sobol`): first-order (Saltelli et al. 2010)
//! and total-order (Jansen 1999) indices from one `A`, `B`, `AB_i` design
//! over the uniforms of every prior that is not fixed, simulated by the
//! run's engine.
//!
//! The design has `N (d + 2)` rows: `A` (rows `0..N`), `B` (`N..2N`) and
//! for each input `i` the matrix `AB_i` (`A` with column `i` from `B`).
//! `A`'s and `B`'s uniforms come from `rand` (Xoshiro256++ seeded from the
//! model's seed, `rand_distr::Open01`). Row `j` of `A` and of every `AB_i`
//! share shock stream `j`, so the shocks cancel in `f(AB_i) - f(A)`; `B`'s
//! rows have their own (`N + j`). Intervals: a Poisson(1) bootstrap over
//! the base rows `j` (all `d + 2` rows of one `j` resampled together),
//! [`REPLICATES`] replicates, percentile intervals. Outputs are centred on
//! the mean of `f(A)` and `f(B)` first, which leaves the estimators
//! unbiased and lowers their variance.

use super::estimate::quantile;
use super::{cells, push_outputs, sampled_priors, uses, Cell, REPLICATES};
use crate::engine::streams::{hash_str, key, tag};
use crate::engine::{Design, Engine};
use crate::model::{Model, Sampling, Series};
use crate::scenario::Scenario;
use crate::summary::sketch::block_size;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rand_distr::{Distribution, Open01, Poisson};
use rayon::prelude::*;

/// Default base sample size `N`.
pub const DEFAULT_BASE: usize = 4096;

/// One row of `sobol.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolRow {
    /// Scenario name.
    pub scenario: String,
    /// Year.
    pub year: i32,
    /// Series.
    pub series: Series,
    /// The prior's dotted path.
    pub input: String,
    /// First-order index and its 90% interval.
    pub s1: (f64, f64, f64),
    /// Total-order index and its 90% interval.
    pub st: (f64, f64, f64),
}

/// The design of a study with base size `base` over `dims` inputs.
pub fn design(seed: u64, base: usize, dims: usize) -> Design {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(key(&[seed, tag::DESIGN]));
    let ab: Vec<f64> = (0..2 * base * dims)
        .map(|_| Open01.sample(&mut rng))
        .collect();
    let (a, b) = ab.split_at(base * dims);
    let rows = base * (dims + 2);
    let mut uniforms = Vec::with_capacity(rows * dims);
    uniforms.extend_from_slice(a);
    uniforms.extend_from_slice(b);
    for i in 0..dims {
        for j in 0..base {
            let start = uniforms.len();
            uniforms.extend_from_slice(&a[j * dims..(j + 1) * dims]);
            uniforms[start + i] = b[j * dims + i];
        }
    }
    let shocks = (0..rows)
        .map(|r| {
            let (block, j) = (r / base, r % base);
            (if block == 1 { base + j } else { j }) as u64
        })
        .collect();
    Design {
        uniforms,
        dims,
        shocks,
    }
}

/// What a study found: the rows (by scenario, year and series, `ST`
/// largest first) and, per scenario and cell, the sum of `S1`.
pub struct Study {
    /// The rows of `sobol.csv`.
    pub rows: Vec<SobolRow>,
    /// `(scenario, cell, sum of S1 over the inputs)`.
    pub sums: Vec<(String, Cell, f64)>,
    /// Rows of the design simulated (per scenario).
    pub design_rows: usize,
}

/// Runs a study of `model` over `scenarios` with base size `base` (a power
/// of two).
pub fn study(
    model: &Model,
    scenarios: &[Scenario],
    base: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Study {
    let inputs = sampled_priors(model);
    let d = inputs.len();
    let design = design(model.simulation.seed, base, d);
    let rows = design.rows();
    // The design replaces the sampling; the engine needs no permutations.
    let mut plain = model.clone();
    plain.simulation.sampling = Sampling::Random;
    plain.simulation.futures = rows;
    let engine = Engine::new(&plain, scenarios);
    let cells = cells(model);
    let nc = cells.len();
    let mut outputs = vec![Vec::with_capacity(rows); scenarios.len() * nc];
    let block = block_size(model, scenarios.len());
    let mut start = 0;
    while start < rows {
        let end = (start + block).min(rows);
        let paths = engine.simulate_design(&design, start..end, progress);
        push_outputs(&mut outputs, model, &paths, end - start);
        start = end;
    }
    let weights = bootstrap_weights(model.simulation.seed, base);
    let work: Vec<(usize, usize)> = (0..scenarios.len())
        .flat_map(|s| (0..nc).map(move |c| (s, c)))
        .collect();
    let results: Vec<(Vec<SobolRow>, (String, Cell, f64))> = work
        .par_iter()
        .map(|&(s, c)| {
            // Centred on the mean of f(A) and f(B): the estimators' values
            // do not change in expectation, their variance falls (a share
            // near 0.7 would otherwise multiply every term's noise).
            let raw = &outputs[s * nc + c];
            let centre = raw[..2 * base].iter().map(|&v| v as f64).sum::<f64>() / (2 * base) as f64;
            let y: Vec<f64> = raw.iter().map(|&v| v as f64 - centre).collect();
            let cell = cells[c];
            let mut out = Vec::new();
            let mut sum = 0.0;
            let moments = Pooled::new(&y[..base], &y[base..2 * base], &weights);
            for (i, &p) in inputs.iter().enumerate() {
                if !uses(&scenarios[s], model.priors[p].scope) {
                    continue;
                }
                let ab = &y[(2 + i) * base..(3 + i) * base];
                let (s1, st) = indices(&y[..base], &y[base..2 * base], ab, &moments, &weights);
                sum += s1.0;
                out.push(SobolRow {
                    scenario: scenarios[s].name.clone(),
                    year: cell.year,
                    series: cell.series,
                    input: model.priors[p].path.clone(),
                    s1,
                    st,
                });
            }
            out.sort_by(|a, b| b.st.0.total_cmp(&a.st.0));
            (out, (scenarios[s].name.clone(), cell, sum))
        })
        .collect();
    let mut all = Vec::new();
    let mut sums = Vec::new();
    for (r, s) in results {
        all.extend(r);
        sums.push(s);
    }
    Study {
        rows: all,
        sums,
        design_rows: rows,
    }
}

/// Per replicate, each base row's Poisson(1) weight (`REPLICATES x base`).
fn bootstrap_weights(seed: u64, base: usize) -> Vec<Vec<f64>> {
    let mut rng =
        Xoshiro256PlusPlus::seed_from_u64(key(&[seed, tag::BOOTSTRAP, hash_str("sobol")]));
    let poisson = Poisson::new(1.0).expect("Poisson(1) is valid");
    (0..REPLICATES)
        .map(|_| (0..base).map(|_| poisson.sample(&mut rng)).collect())
        .collect()
}

/// The pooled variance of `f(A)` and `f(B)`, of the sample and of each
/// replicate.
struct Pooled {
    sample: f64,
    replicates: Vec<f64>,
}

impl Pooled {
    fn new(fa: &[f64], fb: &[f64], weights: &[Vec<f64>]) -> Pooled {
        let var = |w: &dyn Fn(usize) -> f64| {
            let (mut n, mut s, mut ss) = (0.0, 0.0, 0.0);
            for j in 0..fa.len() {
                let wj = w(j);
                n += 2.0 * wj;
                s += wj * (fa[j] + fb[j]);
                ss += wj * (fa[j] * fa[j] + fb[j] * fb[j]);
            }
            let mean = s / n.max(1.0);
            ss / n.max(1.0) - mean * mean
        };
        Pooled {
            sample: var(&|_| 1.0),
            replicates: weights.iter().map(|w| var(&|j| w[j])).collect(),
        }
    }
}

/// `S1` (Saltelli 2010: `mean(f_B (f_ABi - f_A)) / V`) and `ST` (Jansen
/// 1999: `mean((f_A - f_ABi)^2) / 2V`) with their bootstrap 90%
/// intervals; `0` for an output that does not vary. Estimates are not
/// clipped: a negative `S1` is noise around a small index.
fn indices(
    fa: &[f64],
    fb: &[f64],
    fab: &[f64],
    v: &Pooled,
    weights: &[Vec<f64>],
) -> ((f64, f64, f64), (f64, f64, f64)) {
    let t1: Vec<f64> = (0..fa.len()).map(|j| fb[j] * (fab[j] - fa[j])).collect();
    let t2: Vec<f64> = (0..fa.len())
        .map(|j| 0.5 * (fa[j] - fab[j]).powi(2))
        .collect();
    let ratio = |num: f64, n: f64, var: f64| {
        if var > 0.0 && n > 0.0 {
            num / n / var
        } else {
            0.0
        }
    };
    let n = fa.len() as f64;
    let s1 = ratio(t1.iter().sum(), n, v.sample);
    let st = ratio(t2.iter().sum(), n, v.sample);
    let (mut r1, mut rt) = (
        Vec::with_capacity(REPLICATES),
        Vec::with_capacity(REPLICATES),
    );
    for (w, &var) in weights.iter().zip(&v.replicates) {
        let n: f64 = w.iter().sum();
        r1.push(ratio(super::dot(w, &t1), n, var));
        rt.push(ratio(super::dot(w, &t2), n, var));
    }
    let interval = |reps: &mut Vec<f64>, estimate: f64| {
        reps.sort_by(|a, b| a.total_cmp(b));
        (estimate, quantile(reps, 0.05), quantile(reps, 0.95))
    };
    (interval(&mut r1, s1), interval(&mut rt, st))
}
