//! Streamed summaries (large runs) agree with exact ones (small runs) on
//! the same futures: means to rounding, quantiles within one sketch bin.

mod common;

use sharecast::engine::simulate;
use sharecast::model::{load, Series};
use sharecast::scenario::enumerate;
use sharecast::summary::{stream, summarise};

/// Means: both are sums of the same f32 values in f64, in different order.
const MEAN_TOL: f64 = 1e-9;
/// One sketch bin on the square-root axis near a share x is 2 sqrt(x) / 16384
/// <= 1.3e-4; the exact side is type 7 vs the weighted inverse CDF, which
/// differ by at most one order-statistic gap, here well under 1e-3.
const SHARE_Q_TOL: f64 = 1.5e-3;
/// Market quantiles: one log bin with the pilot's x100 margins is < 0.2%
/// relative; plus the order-statistic gap.
const MARKET_Q_REL_TOL: f64 = 1e-2;

#[test]
fn streamed_summaries_match_exact_ones() {
    // More futures than one block, so several blocks are folded.
    let futures = stream::BLOCK + 1500;
    let m = load(
        "default",
        sharecast::model::DEFAULT_MODEL,
        &[
            format!("simulation.futures={futures}"),
            "simulation.seed=5".into(),
        ],
    )
    .unwrap();
    let s = enumerate(&m);
    let paths = simulate(&m, &s, &|_| {});
    let exact = summarise(&m, &s, &paths);
    let (streamed, clamps) = stream::summarise_streamed(&m, &s, &|_| {});
    assert_eq!(clamps, paths.clamps);
    assert_eq!(exact.rows.len(), streamed.rows.len());
    for (a, b) in exact.rows.iter().zip(&streamed.rows) {
        assert_eq!((a.view, a.year, a.series), (b.view, b.year, b.series));
        let scale = a.stats.mean.abs().max(1.0);
        assert!(
            (a.stats.mean - b.stats.mean).abs() < MEAN_TOL * scale,
            "{a:?} {b:?}"
        );
        for i in 0..5 {
            let (x, y) = (a.stats.q[i], b.stats.q[i]);
            let ok = if a.series == Series::Market {
                (x - y).abs() <= MARKET_Q_REL_TOL * x.abs()
            } else {
                (x - y).abs() <= SHARE_Q_TOL
            };
            assert!(
                ok,
                "view {} {} {:?} q{i}: exact {x} streamed {y}",
                exact.views[a.view].name, a.year, a.series
            );
        }
    }
    for (a, b) in exact.thresholds.iter().zip(&streamed.thresholds) {
        assert!(
            (a.probability - b.probability).abs() < MEAN_TOL,
            "{a:?} {b:?}"
        );
        assert!((a.se - b.se).abs() < 1e-6, "{a:?} {b:?}");
    }
    assert_eq!(exact.impact.len(), streamed.impact.len());
    for (a, b) in exact.impact.iter().zip(&streamed.impact) {
        if a.series == Series::Market {
            continue;
        }
        assert!((a.mean - b.mean).abs() < MEAN_TOL, "{a:?} {b:?}");
        for (x, y) in [(a.p05, b.p05), (a.p50, b.p50), (a.p95, b.p95)] {
            assert!((x - y).abs() <= SHARE_Q_TOL, "{a:?} {b:?}");
        }
    }
}
