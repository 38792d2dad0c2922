//! Evidence (MODEL.md section 7): the forecast conditioned on the model's
//! `[observed.YEAR]` values.
//!
//! Each future `i` of scenario `s` gets the log-likelihood of the
//! observations, `lw(i, s) = sum_o -z^2 / 2` (`z = (y_o(i, s) - m_o) /
//! sd_o`; the constants cancel), kept per future so that more futures
//! (another block, another shard) only append to it. Its weight in a view
//! is `P(s) exp(lw(i, s))`, normalised within the view. Every exponent is
//! taken less a maximum (per scenario, then per view), so no view
//! underflows to zero: a scenario's column holds `exp(lw - m_s) <= 1`, and
//! a view scales column `s` by `exp(ln P(s) + m_s - M_view)`.
//!
//! [`Posterior`] holds every conditioned table: summaries, thresholds and
//! deal impacts per view as in section 6, scenario probabilities, how each
//! prior moved, and how surprising each observation is.

pub mod weighted;
pub mod write;

use crate::engine::Paths;
use crate::model::{Model, Observation, PriorId};
use crate::scenario::Scenario;
use crate::sensitivity::{sampled_priors, uses};
use crate::summary::thresholds::hit;
use crate::summary::views::impact_plans;
use crate::summary::{identical_through, series_column, views, Stats, View};
use rayon::prelude::*;
use std::borrow::Cow;
use weighted::{ess, pooled_stats, stats, WeightedColumn};

/// A view's ESS below which it is flagged.
pub const LOW_ESS: f64 = 100.0;

/// The log-likelihoods of a run's futures: per scenario, per future.
#[derive(Debug, Clone)]
pub struct LogWeights {
    /// `[s][i]`.
    pub lw: Vec<Vec<f64>>,
}

/// `-z^2 / 2` of observation `o` for every future of scenario `s`.
fn observation_terms(model: &Model, paths: &Paths, o: &Observation, s: usize) -> Vec<f64> {
    let k = (o.year - model.start_year) as usize;
    let (m, sd) = (o.mean(), o.sd());
    series_column(model, paths, o.series, s, k)
        .iter()
        .map(|&y| {
            let z = (y as f64 - m) / sd;
            -0.5 * z * z
        })
        .collect()
}

impl LogWeights {
    /// The log-likelihood of every future of `paths` under the model's
    /// observations.
    pub fn new(model: &Model, paths: &Paths) -> LogWeights {
        let lw = (0..paths.scenarios)
            .into_par_iter()
            .map(|s| {
                let mut acc = vec![0.0; paths.futures];
                for o in &model.observations {
                    for (a, t) in acc.iter_mut().zip(observation_terms(model, paths, o, s)) {
                        *a += t;
                    }
                }
                acc
            })
            .collect();
        LogWeights { lw }
    }
}

/// Per scenario: its largest log-weight `m_s`, the column weights
/// `exp(lw - m_s)`, and their sum and sum of squares.
struct Columns {
    max: Vec<f64>,
    e: Vec<Vec<f64>>,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Columns {
    fn new(lw: &LogWeights) -> Columns {
        let mut c = Columns {
            max: Vec::new(),
            e: Vec::new(),
            sum: Vec::new(),
            sum_sq: Vec::new(),
        };
        for l in &lw.lw {
            let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = l.iter().map(|x| (x - m).exp()).collect();
            c.sum.push(e.iter().sum());
            c.sum_sq.push(e.iter().map(|x| x * x).sum());
            c.max.push(m);
            c.e.push(e);
        }
        c
    }

    /// A view's factor per member, `exp(ln w_s + m_s - M)`, with `M` the
    /// largest exponent among the members.
    fn factors(&self, members: &[(usize, f64)]) -> Vec<(usize, f64)> {
        let exps: Vec<(usize, f64)> = members
            .iter()
            .filter(|(s, w)| *w > 0.0 && self.sum[*s] > 0.0)
            .map(|&(s, w)| (s, w.ln() + self.max[s]))
            .collect();
        let top = exps.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
        exps.into_iter()
            .map(|(s, x)| (s, (x - top).exp()))
            .collect()
    }

    /// ESS of a view with these factors.
    fn ess(&self, factors: &[(usize, f64)]) -> f64 {
        let sum: f64 = factors.iter().map(|&(s, f)| f * self.sum[s]).sum();
        let sq: f64 = factors.iter().map(|&(s, f)| f * f * self.sum_sq[s]).sum();
        ess(sum, sq)
    }
}

/// A conditioned summary row: the unconditioned row's type, weighted.
pub use crate::summary::SummaryRow as Row;
/// A conditioned threshold row (its `se` as in section 7).
pub use crate::summary::ThresholdRow;

/// A conditioned deal-impact row: the summary's row and the ESS of the
/// pairs' weights.
#[derive(Debug, Clone)]
pub struct ImpactRow {
    /// Deal, outcome, year, series, statistics and pairs.
    pub row: crate::summary::ImpactRow,
    /// ESS of the pairs' weights.
    pub ess: f64,
}

/// A scenario's probability before and after the evidence.
#[derive(Debug, Clone)]
pub struct ScenarioRow {
    /// Name.
    pub name: String,
    /// `P(s)`.
    pub prior: f64,
    /// `P(s | obs)`.
    pub posterior: f64,
    /// ESS of its futures' weights.
    pub ess: f64,
}

/// How the evidence moved a prior: 5/50/95% quantiles and mean, before
/// and after.
#[derive(Debug, Clone)]
pub struct PriorRow {
    /// The prior.
    pub prior: PriorId,
    /// p05, p50, p95, mean of its draws.
    pub before: [f64; 4],
    /// The same, weighted.
    pub after: [f64; 4],
    /// `|after p50 - before p50|` in sds of the draws.
    pub moved: f64,
}

/// An observation against the unconditioned forecast.
#[derive(Debug, Clone)]
pub struct ObservationRow {
    /// Index into the model's observations.
    pub observation: usize,
    /// Unconditioned p05, p50, p95 in `all`.
    pub before: [f64; 3],
    /// Conditioned median in `all`.
    pub after_p50: f64,
    /// The unconditioned CDF at the interval's centre.
    pub percentile: f64,
    /// ESS of `all` conditioned on this observation alone.
    pub ess_alone: f64,
}

/// Every conditioned table of a run.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// The views (as in the unconditioned summary) and their ESS.
    pub views: Vec<(View, f64)>,
    /// Summary rows, by view, year and series.
    pub rows: Vec<Row>,
    /// Threshold rows, by view and threshold.
    pub thresholds: Vec<ThresholdRow>,
    /// Deal-impact rows.
    pub impact: Vec<ImpactRow>,
    /// Scenario probabilities.
    pub scenarios: Vec<ScenarioRow>,
    /// Priors, the most moved first.
    pub priors: Vec<PriorRow>,
    /// Observations, in the model's order.
    pub observations: Vec<ObservationRow>,
    /// Futures the posterior was computed from.
    pub futures: usize,
}

impl Posterior {
    /// The observation hardest to reproduce: the one whose weights alone
    /// leave the smallest ESS in `all`.
    pub fn hardest(&self) -> Option<&ObservationRow> {
        self.observations
            .iter()
            .min_by(|a, b| a.ess_alone.total_cmp(&b.ess_alone))
    }

    /// The views whose ESS is below [`LOW_ESS`].
    pub fn low_ess(&self) -> Vec<(&str, f64)> {
        self.views
            .iter()
            .filter(|(_, e)| *e < LOW_ESS)
            .map(|(v, e)| (v.name.as_str(), *e))
            .collect()
    }
}

/// Conditions the futures of `paths` (simulated keeping their prior
/// draws: [`crate::engine::Engine::simulate_keeping`]) on the model's
/// observations.
pub fn condition(model: &Model, scenarios: &[Scenario], paths: &Paths) -> Posterior {
    let lw = LogWeights::new(model, paths);
    let cols = Columns::new(&lw);
    let all_views = views(model, scenarios);
    let factors: Vec<Vec<(usize, f64)>> =
        all_views.iter().map(|v| cols.factors(&v.members)).collect();
    let view_ess: Vec<f64> = factors.iter().map(|f| cols.ess(f)).collect();
    let series = model.series();
    let (years, ns) = (paths.years, series.len());
    // Scenarios identical through year k and through every observed year
    // have the same values and the same weights: one column serves them.
    let reps = identical_through(model, scenarios, years);
    let k_obs = model
        .observations
        .iter()
        .map(|o| (o.year - model.start_year) as usize)
        .max()
        .unwrap_or(0);

    // Summaries: per year and series, every scenario's weighted column,
    // then each view's mixture of them.
    let cells: Vec<Vec<Option<Stats>>> = (0..years * ns)
        .into_par_iter()
        .map(|x| {
            let (k, se) = (x / ns, series[x % ns]);
            let rep = &reps[k.max(k_obs)];
            let columns: Vec<Option<WeightedColumn>> = (0..paths.scenarios)
                .map(|s| {
                    (rep[s] == s).then(|| {
                        WeightedColumn::new(&series_column(model, paths, se, s, k), &cols.e[s])
                    })
                })
                .collect();
            factors
                .iter()
                .map(|f| {
                    let mut merged: Vec<(usize, f64)> = Vec::with_capacity(f.len());
                    for &(s, w) in f {
                        match merged.iter_mut().find(|m| m.0 == rep[s]) {
                            Some(m) => m.1 += w,
                            None => merged.push((rep[s], w)),
                        }
                    }
                    let parts: Vec<(&WeightedColumn, f64)> = merged
                        .iter()
                        .filter_map(|&(s, w)| columns[s].as_ref().map(|c| (c, w)))
                        .collect();
                    stats(&parts)
                })
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    for v in 0..all_views.len() {
        for (x, cell) in cells.iter().enumerate() {
            if let Some(stats) = cell[v] {
                rows.push(Row {
                    view: v,
                    year: model.start_year + (x / ns) as i32,
                    series: series[x % ns],
                    stats,
                });
            }
        }
    }

    let thresholds = threshold_rows(model, paths, &cols, &factors);
    let impact = impact_rows(model, scenarios, paths, &cols);

    let all = &factors[0];
    let w_all: f64 = all.iter().map(|&(s, f)| f * cols.sum[s]).sum();
    let scenario_rows = scenarios
        .iter()
        .enumerate()
        .map(|(s, sc)| ScenarioRow {
            name: sc.name.clone(),
            prior: sc.probability,
            posterior: all
                .iter()
                .find(|(x, _)| *x == s)
                .map_or(0.0, |&(_, f)| f * cols.sum[s] / w_all),
            ess: ess(cols.sum[s], cols.sum_sq[s]),
        })
        .collect();

    let priors = prior_rows(model, scenarios, &cols, all, paths);
    let observations = observation_rows(model, scenarios, paths, &rows);
    Posterior {
        views: all_views.into_iter().zip(view_ess).collect(),
        rows,
        thresholds,
        impact,
        scenarios: scenario_rows,
        priors,
        observations,
        futures: paths.futures,
    }
}

/// Conditioned thresholds: `p` the view's weighted share of hits, and
/// `se = sqrt(sum_i (sum_{s in view} w~(i, s) (hit - p))^2)`.
fn threshold_rows(
    model: &Model,
    paths: &Paths,
    cols: &Columns,
    factors: &[Vec<(usize, f64)>],
) -> Vec<ThresholdRow> {
    let mut out = Vec::new();
    let hits: Vec<Vec<Vec<bool>>> = model
        .thresholds
        .iter()
        .map(|th| {
            let k = (th.year - model.start_year) as usize;
            (0..paths.scenarios)
                .map(|s| {
                    series_column(model, paths, th.series, s, k)
                        .iter()
                        .map(|&y| hit(th, y))
                        .collect()
                })
                .collect()
        })
        .collect();
    for (v, f) in factors.iter().enumerate() {
        let total: f64 = f.iter().map(|&(s, w)| w * cols.sum[s]).sum();
        for (t, h) in hits.iter().enumerate() {
            if total.is_nan() || total <= 0.0 {
                continue;
            }
            let p: f64 = f
                .iter()
                .map(|&(s, w)| {
                    w * cols.e[s]
                        .iter()
                        .zip(&h[s])
                        .filter(|(_, &hit)| hit)
                        .map(|(e, _)| e)
                        .sum::<f64>()
                })
                .sum::<f64>()
                / total;
            let mut per_future = vec![0.0; paths.futures];
            for &(s, w) in f {
                for ((a, e), &hit) in per_future.iter_mut().zip(&cols.e[s]).zip(&h[s]) {
                    *a += w * e / total * (f64::from(u8::from(hit)) - p);
                }
            }
            let se = per_future.iter().map(|a| a * a).sum::<f64>().sqrt();
            out.push(ThresholdRow {
                view: v,
                threshold: t,
                probability: p,
                se,
            });
        }
    }
    out
}

/// A pair's outcome and baseline values, every future.
type Pair<'a> = (Cow<'a, [f32]>, Cow<'a, [f32]>);

/// Conditioned deal impacts: each pair's differences weighted by its
/// outcome scenario's futures' weights.
fn impact_rows(
    model: &Model,
    scenarios: &[Scenario],
    paths: &Paths,
    cols: &Columns,
) -> Vec<ImpactRow> {
    let series = model.series();
    let (years, ns) = (paths.years, series.len());
    let plans = impact_plans(model, scenarios);
    let jobs: Vec<(usize, usize)> = (0..plans.len())
        .flat_map(|p| (0..years * ns).map(move |x| (p, x)))
        .collect();
    jobs.par_iter()
        .filter_map(|&(p, x)| {
            let plan = &plans[p];
            let (k, se) = (x / ns, series[x % ns]);
            let members: Vec<(usize, f64)> = plan.pairs.iter().map(|&(s, _, w)| (s, w)).collect();
            let f = cols.factors(&members);
            // Each pair's outcome and baseline values.
            let values: Vec<Pair> = f
                .iter()
                .map(|&(s, _)| {
                    let b = plan.pairs.iter().find(|x| x.0 == s).map_or(s, |x| x.1);
                    (
                        series_column(model, paths, se, s, k),
                        series_column(model, paths, se, b, k),
                    )
                })
                .collect();
            let st = if !f.is_empty() && values.iter().all(|(ys, yb)| ys == yb) {
                // Every difference is exactly 0 (the series does not move
                // with this deal, or has not yet): what pooling the zeros
                // gives, without the passes.
                Stats {
                    mean: 0.0,
                    sd: 0.0,
                    q: [0.0; 5],
                }
            } else {
                let diffs: Vec<Vec<f32>> = values
                    .iter()
                    .map(|(ys, yb)| ys.iter().zip(yb.iter()).map(|(a, b)| a - b).collect())
                    .collect();
                let parts: Vec<(&[f32], &[f64], f64)> = diffs
                    .iter()
                    .zip(&f)
                    .map(|(d, &(s, w))| (d.as_slice(), cols.e[s].as_slice(), w))
                    .collect();
                pooled_stats(&parts)?
            };
            Some(ImpactRow {
                row: crate::summary::ImpactRow {
                    deal: plan.deal,
                    outcome: plan.outcome,
                    year: model.start_year + k as i32,
                    series: se,
                    mean: st.mean,
                    p05: st.q[0],
                    p50: st.q[2],
                    p95: st.q[4],
                    pairs: paths.futures * plan.pairs.len(),
                },
                ess: cols.ess(&f),
            })
        })
        .collect()
}

/// Each sampled prior before and after: its draws weighted by the futures'
/// weights summed over the scenarios that use it (in `all`).
fn prior_rows(
    model: &Model,
    scenarios: &[Scenario],
    cols: &Columns,
    all: &[(usize, f64)],
    paths: &Paths,
) -> Vec<PriorRow> {
    let mut rows: Vec<PriorRow> = sampled_priors(model)
        .par_iter()
        .enumerate()
        .filter_map(|(d, &p)| {
            let x = paths.draws_of(d);
            let scope = model.priors[p].scope;
            let n = x.len();
            let mut w = vec![0.0; n];
            for &(s, f) in all {
                if uses(&scenarios[s], scope) {
                    for (a, e) in w.iter_mut().zip(&cols.e[s]) {
                        *a += f * e;
                    }
                }
            }
            let values: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let before = weighted::sample_stats(&values, &vec![1.0; n])?;
            let after = weighted::sample_stats(&values, &w)?;
            let four = |s: &Stats| [s.q[0], s.q[2], s.q[4], s.mean];
            let moved = if before.sd > 0.0 {
                (after.q[2] - before.q[2]).abs() / before.sd
            } else {
                0.0
            };
            Some(PriorRow {
                prior: p,
                before: four(&before),
                after: four(&after),
                moved,
            })
        })
        .collect();
    rows.sort_by(|a, b| b.moved.total_cmp(&a.moved));
    rows
}

/// Each observation against the unconditioned `all` view of `paths`: its
/// quantiles and the percentile of its centre (the conditioned fields are
/// left empty).
pub fn place_observations(
    model: &Model,
    scenarios: &[Scenario],
    paths: &Paths,
) -> Vec<ObservationRow> {
    observation_rows(model, scenarios, paths, &[])
}

/// Each observation against the unconditioned `all` view: its quantiles,
/// the centre's percentile, the conditioned median, and the ESS the
/// observation alone leaves.
fn observation_rows(
    model: &Model,
    scenarios: &[Scenario],
    paths: &Paths,
    rows: &[Row],
) -> Vec<ObservationRow> {
    model
        .observations
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let k = (o.year - model.start_year) as usize;
            let ones = vec![1.0; paths.futures];
            let columns: Vec<WeightedColumn> = (0..paths.scenarios)
                .map(|s| WeightedColumn::new(&series_column(model, paths, o.series, s, k), &ones))
                .collect();
            let parts: Vec<(&WeightedColumn, f64)> = columns
                .iter()
                .zip(scenarios)
                .map(|(c, sc)| (c, sc.probability))
                .collect();
            let before = stats(&parts).map_or([f64::NAN; 3], |s| [s.q[0], s.q[2], s.q[4]]);
            let total: f64 = parts.iter().map(|(c, w)| w * c.total).sum();
            let percentile = parts
                .iter()
                .map(|(c, w)| w * c.weight_le_value(o.mean() as f32))
                .sum::<f64>()
                / total;
            let after_p50 = rows
                .iter()
                .find(|r| r.view == 0 && r.year == o.year && r.series == o.series)
                .map_or(f64::NAN, |r| r.stats.q[2]);
            // This observation alone.
            let alone = LogWeights {
                lw: (0..paths.scenarios)
                    .map(|s| observation_terms(model, paths, o, s))
                    .collect(),
            };
            let c = Columns::new(&alone);
            let members: Vec<(usize, f64)> = scenarios
                .iter()
                .enumerate()
                .map(|(s, sc)| (s, sc.probability))
                .collect();
            ObservationRow {
                observation: i,
                before,
                after_p50,
                percentile,
                ess_alone: c.ess(&c.factors(&members)),
            }
        })
        .collect()
}
