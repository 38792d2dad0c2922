//! Exact summaries, from every path held in memory: sample quantiles of
//! each view, threshold probabilities, deal impact and horizon histograms.
//!
//! The work is done cell by cell, a cell being one (year, series): its
//! columns (one per scenario) are sorted into memory the thread reuses, and
//! every view's statistics, threshold, deal impact and horizon histogram
//! that reads that cell is computed while they are in cache. The results
//! are put back in the tables' order.

use super::column::{mixture_quantile, mixture_stats_of, Column, SortScratch};
use super::horizon::horizon_block;
use super::paired::{paired_stats, PairedScratch};
use super::thresholds::{view_probability, ThresholdCounts};
use super::views::{identical_through, impact_plans, merged_members, ImpactPlan};
use super::{HorizonRow, ImpactRow, Stats, Summary, SummaryRow, ThresholdRow, View};
use crate::engine::Paths;
use crate::model::{Model, Series};
use crate::scenario::Scenario;
use rayon::prelude::*;

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
    let views = super::views(model, scenarios);
    let series = model.series();
    let (years, ns) = (paths.years, series.len());
    // Scenarios identical through a year (the base year, years before any
    // deal's effects start) share one sorted column.
    let reps = identical_through(model, scenarios, years);
    let impact_plans = impact_plans(model, scenarios);
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
    /// A group's column per scenario.
    groups: Vec<f32>,
    /// Sorted columns, one slot per scenario, and the sort's buffers.
    sorted: Vec<f32>,
    sort: SortScratch,
    paired: PairedScratch,
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
            sorted,
            sort,
            paired,
        } = sc;
        // A group's column is the sum of its members' (in `f64`, then
        // rounded to `f32` like every stored value).
        if let Series::Group(g) = self.series[j] {
            groups.resize(n_sc * n, 0.0);
            for (s, dst) in groups.chunks_exact_mut(n.max(1)).enumerate() {
                group_column_into(model, paths, g, s, k, dst);
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
            let columns: Vec<&[f32]> = (0..n_sc).map(raw).collect();
            let mut counts = ThresholdCounts::new(1, n_sc);
            counts.add(0, th, &columns);
            let counts = counts.sorted(0);
            for (v, view) in views.iter().enumerate() {
                let (probability, se) = view_probability(view, &counts);
                let row = ThresholdRow {
                    view: v,
                    threshold: t,
                    probability,
                    se,
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

/// Group `g`'s column of scenario `s`, year index `k`, into `dst` (as
/// long as the paths' futures): its members' values summed in `f64` (from
/// 0, members in order), rounded to `f32` like every stored value. In
/// chunks, so the sums stay in the first-level cache.
pub fn group_column_into(
    model: &Model,
    paths: &Paths,
    g: usize,
    s: usize,
    k: usize,
    dst: &mut [f32],
) {
    const CHUNK: usize = 512;
    let members: Vec<&[f32]> = model.groups[g]
        .members
        .iter()
        .map(|&p| paths.column(s, k, p))
        .collect();
    let mut sum = [0f64; CHUNK];
    for (c, out) in dst.chunks_mut(CHUNK).enumerate() {
        let sum = &mut sum[..out.len()];
        sum.iter_mut().for_each(|x| *x = 0.0);
        for m in &members {
            for (acc, &v) in sum.iter_mut().zip(&m[c * CHUNK..]) {
                *acc += v as f64;
            }
        }
        for (d, &v) in out.iter_mut().zip(sum.iter()) {
            *d = v as f32;
        }
    }
}

pub(super) fn series_index(series: &[Series], s: Series) -> usize {
    series.iter().position(|x| *x == s).unwrap_or(0)
}
