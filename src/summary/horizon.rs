//! Horizon histograms (report chart 2): for each focus series in the final
//! and threshold years, [`HORIZON_BINS`] bins shared by `all` and every
//! deal outcome, spanning the union of their 0.5%-99.5% ranges.

use super::{HorizonRow, View, ViewKind, HORIZON_BINS};
use crate::model::Series;

/// One series' horizon histograms in one year, for `all` and every deal
/// outcome: `range(view)` and `mass(view, lo, hi)` as in [`horizon_rows`].
pub(super) fn horizon_block(
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
