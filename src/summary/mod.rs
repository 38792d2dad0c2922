//! Summaries (MODEL.md section 6): per view (each scenario, each deal
//! outcome's marginal, and the mixture `all`), per year and series: mean,
//! sd and quantiles; threshold probabilities with their Monte Carlo error;
//! paired deal impacts; horizon histograms.
//!
//! - [`views`]: the views, the impact pairs, identical scenarios;
//! - [`column`]: sorted columns, type-7 and mixture quantiles;
//! - [`exact`]: the exact summaries of paths held in memory;
//! - [`sketch`]: mergeable fixed-bin sketches for runs too large for that,
//!   and for shards;
//! - [`thresholds`] and `paired` (deal impact), `horizon`: the parts both
//!   share.

pub mod column;
pub mod exact;
mod horizon;
mod paired;
pub mod sketch;
pub mod thresholds;
pub mod views;

use crate::engine::Paths;
use crate::model::{Model, Series};
use rayon::prelude::*;
use std::borrow::Cow;

pub use exact::summarise;
pub use views::{identical_through, impact_pairs, views, View, ViewKind};

/// The quantile levels reported.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

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

/// One (scenario `s`, year index `k`, series) column of the paths, every
/// future: a platform's or the market's is the paths' own column, read in
/// place; a group's the sum of its members' (in `f64`, then rounded to
/// `f32` like every stored value).
pub fn series_column<'p>(
    model: &Model,
    paths: &'p Paths,
    series: Series,
    s: usize,
    k: usize,
) -> Cow<'p, [f32]> {
    match series {
        Series::Platform(p) => Cow::Borrowed(paths.column(s, k, p)),
        Series::Market => Cow::Borrowed(paths.market(s, k)),
        Series::Group(g) => {
            let mut column = vec![0f32; paths.futures];
            exact::group_column_into(model, paths, g, s, k, &mut column);
            Cow::Owned(column)
        }
    }
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
    /// Checks that every number is finite, naming the first row that is
    /// not. (Every table is also checked as it is written:
    /// [`crate::output::frame`].)
    pub fn check_finite(&self, model: &Model) -> Result<(), String> {
        let finite = |xs: &[f64]| xs.iter().all(|x| x.is_finite());
        let view = |v: usize| self.views[v].name.as_str();
        let summary = self.rows.iter().find_map(|r| {
            let s = &r.stats;
            (!(finite(&[s.mean, s.sd]) && finite(&s.q))).then(|| {
                let series = model.series_id(r.series);
                format!("summary {} {} {series}", view(r.view), r.year)
            })
        });
        let threshold = || {
            self.thresholds.iter().find_map(|r| {
                (!finite(&[r.probability, r.se]))
                    .then(|| format!("threshold of view {}", view(r.view)))
            })
        };
        let impact = || {
            self.impact.iter().find_map(|r| {
                (!finite(&[r.mean, r.p05, r.p50, r.p95])).then(|| {
                    let (deal, series) = (&model.deals[r.deal].id, model.series_id(r.series));
                    format!("impact of {deal} {} {series}", r.year)
                })
            })
        };
        let horizon = || {
            self.horizon.iter().find_map(|r| {
                (!finite(&[r.lo, r.hi, r.density]))
                    .then(|| format!("horizon histogram of {}", model.series_id(r.series)))
            })
        };
        match summary.or_else(threshold).or_else(impact).or_else(horizon) {
            Some(what) => Err(format!("{what} is not a finite number")),
            None => Ok(()),
        }
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
