//! Numbers computed by hand: which scenario pairs a deal's impact compares
//! (and their weights), how often a bounded prior's draws are clamped, and
//! a threshold's probability and Monte Carlo error on a model whose
//! futures are known.

mod common;

use common::{assert_success, sharecast};
use sharecast::model::load;
use sharecast::scenario::enumerate;
use sharecast::summary::impact_pairs;
use std::fs;

/// Weights are ratios of probabilities: exact to rounding.
const WEIGHT_TOL: f64 = 1e-12;

/// every_feature.toml's scenarios, in order: (big, x, p) 0.075,
/// (big, x, q) 0.225, (small, y, p) 0.175, (small, y, q) 0.525 (the
/// others have probability 0). `third`'s outcome `p` against its baseline
/// `q` pairs 0 with 1 and 2 with 3, weighted 0.075 : 0.175. `first` and
/// `second` have no pair: every counterpart has probability 0.
#[test]
fn impact_pairs_by_hand() {
    let m = load(
        "every_feature.toml",
        include_str!("models/every_feature.toml"),
        &[],
    )
    .unwrap();
    let s = enumerate(&m);
    let names: Vec<&str> = s.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "first=big,second=x,third=p",
            "first=big,second=x,third=q",
            "first=small,second=y,third=p",
            "first=small,second=y,third=q",
        ]
    );
    assert!(impact_pairs(&m, &s, 0, 0).is_empty());
    assert!(impact_pairs(&m, &s, 1, 1).is_empty());
    let pairs = impact_pairs(&m, &s, 2, 0);
    assert_eq!(pairs.len(), 2);
    for ((a, b, w), (wa, wb, ww)) in pairs.iter().zip([(0, 1, 0.3), (2, 3, 0.7)]) {
        assert_eq!((*a, *b), (wa, wb));
        assert!((w - ww).abs() < WEIGHT_TOL, "{w} vs {ww}");
    }
}

/// agility = normal(0.5, 1) is clamped to [0, 1] below Phi(-0.5) =
/// 0.308538 and above 0.691462: under Latin hypercube sampling with 500
/// futures, strata 0-153 and 346-499 always, 154 and 345 sometimes, so
/// 308 to 310 clamps.
#[test]
fn clamped_draws_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.toml");
    fs::write(
        &model,
        common::SMALL.replace(
            "agility = \"pert(0.1, 0.2, 0.4)\"",
            "agility = \"normal(0.5, 1)\"",
        ),
    )
    .unwrap();
    let res = sharecast()
        .args(["run", "--quiet", "--no-report", "--futures", "500", "--out"])
        .arg(dir.path().join("o"))
        .arg(&model)
        .output()
        .unwrap();
    assert_success(&res);
    let run: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("o/run.json")).unwrap()).unwrap();
    let n = run["clamped_draws"]["buyers.lab.agility"].as_u64().unwrap();
    assert!((308..=310).contains(&n), "{n} clamps");
    // Nothing else is bounded and drawn past its bound.
    assert_eq!(run["clamped_draws"].as_object().unwrap().len(), 1);
}

/// Two platforms and one buyer with no randomness but its spend, which
/// only scales the market: gpu's share is 0.9 in every future of `none`
/// and, with the deal's fixed floor of 40% on asic, 0.6 in every future of
/// `yes` from 2026. P(gpu below 0.7 in 2027): 1 in `yes`, 0 in `none`,
/// 0.6 in `all` with se = sd(X) / sqrt(N) = 0 (every future's X is 0.6).
#[test]
fn a_threshold_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.toml");
    let text = common::SMALL
        .replace("drift = \"0 to 0.1\"", "drift = 0")
        .replace("drift = \"0.05 to 0.2\"", "drift = 0")
        .replace("volatility = 0.05", "volatility = 0")
        .replace("volatility = 0.1\n", "volatility = 0\n")
        .replace("growth = \"0.2 to 0.5\"", "growth = 0")
        .replace("growth_volatility = 0.1", "growth_volatility = 0")
        .replace("agility = \"pert(0.1, 0.2, 0.4)\"", "agility = 0")
        .replace("spend = \"3 to 6\"", "spend = 10")
        .replace("spend = \"20 to 30\"", "spend = 25")
        + "\n[report]\nthresholds = [ { series = \"gpu\", year = 2027, below = 0.7 } ]\n";
    fs::write(&model, text).unwrap();
    let res = sharecast()
        .args(["run", "--quiet", "--no-report", "--futures", "200", "--out"])
        .arg(dir.path().join("o"))
        .arg(&model)
        .output()
        .unwrap();
    assert_success(&res);
    let csv = fs::read_to_string(dir.path().join("o/thresholds.csv")).unwrap();
    let row = |view: &str| -> (f64, f64) {
        let line = csv
            .lines()
            .find(|l| l.starts_with(&format!("{view},")))
            .unwrap_or_else(|| panic!("{view} in {csv}"));
        let f: Vec<&str> = line.rsplitn(3, ',').collect();
        (f[1].parse().unwrap(), f[0].parse().unwrap())
    };
    assert_eq!(row("deal=yes"), (1.0, 0.0));
    assert_eq!(row("deal=none"), (0.0, 0.0));
    let (p, se) = row("all");
    assert!((p - 0.6).abs() < WEIGHT_TOL && se < WEIGHT_TOL, "{p} {se}");
}
