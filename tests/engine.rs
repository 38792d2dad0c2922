//! Model invariants of the engine (MODEL.md section 5).

mod common;

use common::{F32_TOL, SHARE_SUM_TOL};
use sharecast::engine::{simulate, Paths};
use sharecast::model::{load, Model};
use sharecast::scenario::{enumerate, Scenario};

fn run(text: &str, overrides: &[&str]) -> (Model, Vec<Scenario>, Paths) {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let m = load("t.toml", text, &o).unwrap();
    let s = enumerate(&m);
    let p = simulate(&m, &s, &|_| {});
    (m, s, p)
}

/// Every prior fixed, no volatility: two platforms, one buyer, by hand.
const FIXED: &str = r#"
[model]
name = "fixed"
start_year = 2025
end_year = 2027
[simulation]
futures = 3
[platforms.a]
drift = 0.1
[platforms.b]
drift = 0.3
[buyers.x]
spend = 100
growth = 0.5
sensitivity = 2
agility = 0.5
mix = { a = 0.8, b = 0.2 }
[buyers.y]
spend = 50
growth = 0
agility = 0
mix = { a = 0.5, b = 0.5 }
"#;

#[test]
fn fixed_model_reproduces_hand_computed_shares() {
    let (_, _, p) = run(FIXED, &[]);
    // Hand computation (f64):
    let (ln8, ln2) = (0.8f64.ln(), 0.2f64.ln());
    let mut mix_a = 0.8;
    let mut spend_x = 100.0;
    let mut expected = vec![(100.0 * 0.8 + 25.0) / 150.0];
    let mut markets = vec![150.0];
    for k in 1..=2 {
        let (a_a, a_b) = (0.1 * k as f64, 0.3 * k as f64);
        let (za, zb) = (2.0 * a_a + ln8, 2.0 * a_b + ln2);
        let pi_a = za.exp() / (za.exp() + zb.exp());
        mix_a = 0.5 * mix_a + 0.5 * pi_a;
        spend_x *= 1.5;
        expected.push((spend_x * mix_a + 25.0) / (spend_x + 50.0));
        markets.push(spend_x + 50.0);
    }
    for i in 0..3 {
        let path = p.path(i, 0);
        for k in 0..3 {
            let share_a = path[k * 3] as f64;
            assert!(
                (share_a - expected[k]).abs() < F32_TOL,
                "year {k}: {share_a} vs {}",
                expected[k]
            );
            let market = path[k * 3 + 2] as f64;
            assert!(
                (market - markets[k]).abs() / markets[k] < F32_TOL,
                "year {k}: market {market}"
            );
        }
    }
}

#[test]
fn agility_zero_keeps_the_base_mix() {
    let (m, s, p) = run(
        common::SMALL,
        &[
            "buyers.lab.agility=0",
            "deals.deal.outcomes.yes.probability=0",
            "deals.deal.outcomes.none.probability=1",
        ],
    );
    assert_eq!(s.len(), 1);
    for i in 0..m.simulation.futures {
        let path = p.path(i, 0);
        for k in 0..p.years {
            assert!(
                (path[k * 3] as f64 - 0.9).abs() < F32_TOL,
                "future {i} year {k}: {}",
                path[k * 3]
            );
        }
    }
}

#[test]
fn every_future_shares_sum_to_one() {
    let text = sharecast::model::DEFAULT_MODEL;
    let (m, s, p) = run(text, &["simulation.futures=300"]);
    let np = m.platforms.len();
    for i in 0..p.futures {
        for sc in 0..s.len() {
            let path = p.path(i, sc);
            for k in 0..p.years {
                let sum: f64 = path[k * (np + 1)..k * (np + 1) + np]
                    .iter()
                    .map(|&x| x as f64)
                    .sum();
                assert!(
                    (sum - 1.0).abs() < SHARE_SUM_TOL,
                    "future {i} scenario {sc} year {k}: {sum}"
                );
                assert!(path[k * (np + 1)..k * (np + 1) + np]
                    .iter()
                    .all(|&x| x >= 0.0));
            }
        }
    }
}

#[test]
fn commitments_hold_their_floor() {
    // A fixed 6 bn commitment on a lab spending ~25 bn: share of asic in its
    // spend must be at least 6 / spend every active year.
    let (m, s, p) = run(
        common::SMALL,
        &["deals.deal.outcomes.yes.effects.0.spend=6"],
    );
    let yes = s.iter().position(|x| x.name == "deal=yes").unwrap();
    for i in 0..m.simulation.futures {
        let path = p.path(i, yes);
        for k in 1..p.years {
            let (share, market) = (path[k * 3 + 1] as f64, path[k * 3 + 2] as f64);
            // One buyer: its spend is the market.
            assert!(
                share * market >= 6.0 * (1.0 - 1e-5),
                "future {i} year {k}: {} < 6",
                share * market
            );
        }
    }
}

/// Future `i` draws the same priors and shocks in every scenario: with a
/// deal whose effect does nothing (a commitment of 0), both scenarios'
/// paths are the same bits in every year; with a real effect, they differ
/// once it starts, and only then.
#[test]
fn paired_futures_share_priors_and_shocks_across_scenarios() {
    let (m, s, p) = run(
        common::SMALL,
        &["deals.deal.outcomes.yes.effects.0.spend=0"],
    );
    assert_eq!(s.len(), 2);
    for i in 0..m.simulation.futures {
        let (a, b) = (p.path(i, 0), p.path(i, 1));
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "future {i}"
        );
    }
    let (m, _, p) = run(common::SMALL, &[]);
    let cols = p.columns;
    let mut differ = 0;
    for i in 0..m.simulation.futures {
        let (a, b) = (p.path(i, 0), p.path(i, 1));
        // The commitment starts in 2026, the first simulated year.
        assert_eq!(a[..cols], b[..cols], "base year of future {i}");
        differ += usize::from(a[cols..] != b[cols..]);
    }
    // (A floor below a future's own share changes nothing.)
    assert!(
        differ > m.simulation.futures / 2,
        "the deal moved {differ} futures"
    );
}

#[test]
fn one_thread_and_two_threads_give_identical_paths() {
    let m = load(
        "t.toml",
        sharecast::model::DEFAULT_MODEL,
        &["simulation.futures=700".into()],
    )
    .unwrap();
    let s = enumerate(&m);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| simulate(&m, &s, &|_| {}));
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| simulate(&m, &s, &|_| {}));
    assert!(one
        .data
        .iter()
        .zip(&two.data)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(one.clamps, two.clamps);
}

#[test]
fn latin_hypercube_puts_one_draw_in_each_stratum() {
    // With a uniform(0, 1) prior, the draw of future i lies in stratum
    // floor(u * N); every stratum must be hit exactly once.
    let n = 1000usize;
    let text = common::SMALL.replace("spend = \"20 to 30\"", "spend = \"uniform(0, 1)\"");
    let m = load("t.toml", &text, &[format!("simulation.futures={n}")]).unwrap();
    let s = enumerate(&m);
    let p = simulate(&m, &s, &|_| {});
    let mut hit = vec![0u32; n];
    for i in 0..n {
        let spend = p.path(i, 0)[2] as f64; // base-year market = the lab's spend
        hit[((spend * n as f64) as usize).min(n - 1)] += 1;
    }
    // f32 storage can move a draw across a stratum edge only within 1e-7.
    let misses = hit.iter().filter(|&&h| h != 1).count();
    assert!(misses <= 4, "{misses} strata not hit exactly once");
}

#[test]
fn same_seed_same_paths_and_other_seed_other_paths() {
    let (_, _, a) = run(common::SMALL, &[]);
    let (_, _, b) = run(common::SMALL, &[]);
    let (_, _, c) = run(common::SMALL, &["simulation.seed=12"]);
    assert_eq!(a.data, b.data);
    assert_ne!(a.data, c.data);
}

/// Scenarios whose effects have not diverged by a year have bit-identical
/// paths up to it (summaries share their sorted columns on that basis).
#[test]
fn scenarios_are_identical_until_their_effects_start() {
    let (m, s, p) = run(sharecast::model::DEFAULT_MODEL, &["simulation.futures=64"]);
    let reps = sharecast::summary::identical_through(&m, &s, p.years);
    let mut shared = 0;
    for (k, rep) in reps.iter().enumerate() {
        for (sc, &r) in rep.iter().enumerate() {
            for c in 0..p.columns {
                let (a, b) = (p.column(sc, k, c), p.column(r, k, c));
                assert!(
                    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "scenario {sc} vs {r}, year {k}, column {c}"
                );
            }
            if r != sc {
                shared += 1;
            }
        }
    }
    // The base year is shared by every scenario.
    assert!(reps[0].iter().all(|&r| r == 0));
    assert!(shared >= s.len() - 1);
    // In the final year every scenario differs from the others.
    let last = p.years - 1;
    assert!((0..p.scenarios).all(|sc| reps[last][sc] == sc));
}

/// Scenarios share buyer paths (tracks) and preferred mixes where their
/// effects agree: a scenario simulated on its own, with nothing to share,
/// gives its paths in the full run bit for bit. Default model (every kind
/// of effect, commitment floors), first, middle and last scenarios.
#[test]
fn a_scenario_alone_matches_the_full_run() {
    let (m, s, full) = run(sharecast::model::DEFAULT_MODEL, &["simulation.futures=200"]);
    for sc in [0, s.len() / 2, s.len() - 1] {
        let alone = simulate(&m, &s[sc..sc + 1], &|_| {});
        for i in 0..full.futures {
            let (a, b) = (alone.path(i, 0), full.path(i, sc));
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "scenario {sc} future {i}"
            );
        }
    }
}
