//! Sketch summaries agree with exact ones on the same futures (means to
//! rounding, quantiles within a bin, thresholds exactly), and give the same
//! state however the futures are split into blocks or shards.

mod common;

use sharecast::engine::{simulate, Engine};
use sharecast::model::{load, Series};
use sharecast::pipeline;
use sharecast::scenario::enumerate;
use sharecast::summary::sketch::{SketchPlan, SketchState};
use sharecast::summary::summarise;

/// Means: fixed-point sums (each share within 5e-13) against f64 sums.
const MEAN_TOL: f64 = 1e-9;
/// One bin on the square-root axis near a share x is 2 sqrt(x) / 16384
/// <= 1.3e-4; the exact side is type 7 or the weighted inverse CDF, which
/// differ by at most one order-statistic gap, here well under 1e-3.
const SHARE_Q_TOL: f64 = 1.5e-3;
/// Market quantiles: one bin of the log axis is ln(hi / lo) / 65536 in
/// relative terms (under 0.1% for this model), plus the gap.
const MARKET_Q_REL_TOL: f64 = 1e-2;

fn model(futures: usize) -> sharecast::model::Model {
    load(
        "frozen",
        include_str!("../benches/models/ai_accelerators_36.toml"),
        &[
            format!("simulation.futures={futures}"),
            "simulation.seed=5".into(),
        ],
    )
    .unwrap()
}

#[test]
fn sketch_summaries_match_exact_ones() {
    // (Several blocks: see the next test.)
    let m = model(10_000);
    let s = enumerate(&m);
    let paths = simulate(&m, &s, &|_| {});
    let exact = summarise(&m, &s, &paths);
    let sketch = pipeline::run(&m, &s, (pipeline::Summaries::Sketch, true), &|_| {});
    assert_eq!(sketch.clamps, paths.clamps);
    let sketch = sketch.summary;
    assert_eq!(exact.rows.len(), sketch.rows.len());
    for (a, b) in exact.rows.iter().zip(&sketch.rows) {
        assert_eq!((a.view, a.year, a.series), (b.view, b.year, b.series));
        let scale = a.stats.mean.abs().max(1.0);
        assert!(
            (a.stats.mean - b.stats.mean).abs() < MEAN_TOL * scale,
            "{a:?} {b:?}"
        );
        assert!(
            (a.stats.sd - b.stats.sd).abs() < 1e-6 * scale,
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
                "view {} {} {:?} q{i}: exact {x} sketch {y}",
                exact.views[a.view].name, a.year, a.series
            );
        }
    }
    // The same counts behind both: the same probabilities and errors.
    for (a, b) in exact.thresholds.iter().zip(&sketch.thresholds) {
        assert_eq!((a.probability, a.se), (b.probability, b.se), "{a:?} {b:?}");
    }
    assert_eq!(exact.impact.len(), sketch.impact.len());
    for (a, b) in exact.impact.iter().zip(&sketch.impact) {
        let scale = a.mean.abs().max(1.0);
        assert!((a.mean - b.mean).abs() < MEAN_TOL * scale, "{a:?} {b:?}");
        for (x, y) in [(a.p05, b.p05), (a.p50, b.p50), (a.p95, b.p95)] {
            let ok = if a.series == Series::Market {
                (x - y).abs() <= MARKET_Q_REL_TOL * x.abs().max(1e-3)
            } else {
                (x - y).abs() <= SHARE_Q_TOL
            };
            assert!(ok, "{a:?} {b:?}");
        }
    }
}

/// Folding the futures in one pass, in blocks split at odd places, or as
/// three shards merged in another order gives the same state, bit for bit.
#[test]
fn any_split_of_the_futures_gives_the_same_state() {
    let n = 3000;
    let m = model(n);
    let s = enumerate(&m);
    let plan = SketchPlan::new(&m, &s);
    let engine = Engine::new(&m, &s);
    let mut whole = SketchState::new(&m, &plan);
    whole.fold(&m, &plan, &engine.simulate(0..n, &|_| {}));
    let mut parts: Vec<SketchState> = [0..1001, 1001..1002, 1002..n]
        .into_iter()
        .map(|r| {
            let mut st = SketchState::new(&m, &plan);
            let mut kept = pipeline::Kept {
                sample: sharecast::sensitivity::Sample::new(&m, s.len()),
                paths: None,
            };
            let keep = pipeline::Keep {
                sample: sharecast::sensitivity::KEEP,
                paths: 0,
            };
            pipeline::fold(&engine, (&m, &plan), (&mut st, &mut kept), r, keep, &|_| {});
            st
        })
        .collect();
    let mut merged = parts.pop().unwrap();
    merged.merge(&parts[0]);
    merged.merge(&parts[1]);
    assert!(merged == whole, "a split state differs from the whole");
    let a = whole.finish(&m, &plan);
    let b = merged.finish(&m, &plan);
    assert_eq!(format!("{:?}", a.rows), format!("{:?}", b.rows));
}
