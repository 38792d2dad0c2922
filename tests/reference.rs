//! The specification as a test: a scalar simulator of MODEL.md section 5,
//! one future at a time, written to read like the contract, with the
//! yearly shocks drawn from rand's `Xoshiro256PlusPlus` and rand_distr's
//! `StandardNormal`. It takes the engine's prior draws (their streams and
//! strata are tested elsewhere) and must reproduce every path of the
//! engine, share by share and year by year, on models with every kind of
//! effect.

mod common;

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use sharecast::engine::streams::shock_key;
use sharecast::engine::Engine;
use sharecast::model::{load, EffectKind, Model};
use sharecast::scenario::{enumerate, Scenario};

/// The engine takes its yearly exponentials in `f32` (about 1e-7 relative)
/// and stores values as `f32` (6e-8 relative): a share agrees within 1e-6
/// (measured: 5e-8), the market within 1e-6 relative.
const TOL: f64 = 1e-6;

/// One future's path in one scenario: per year, the platform shares and
/// the market.
fn reference_path(
    m: &Model,
    sc: &Scenario,
    draws: &[f64],
    seed: u64,
    i: u64,
) -> Vec<(Vec<f64>, f64)> {
    let d = |id: sharecast::model::PriorId| draws[id.0];
    let (np, nb, t) = (m.platforms.len(), m.buyers.len(), m.horizon());
    let effects: Vec<_> = sc.effects(m).map(|e| &m.effects[e.0]).collect();
    let active = |e: &&sharecast::model::Effect, year: i32| e.from <= year && year <= e.to;

    // The shocks: every year, one per platform, then one per buyer.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(shock_key(seed, i));
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };

    let mut a = vec![0.0; np]; // A_p(0) = 0
    let mut spend: Vec<f64> = m.buyers.iter().map(|b| d(b.spend)).collect();
    let mut mix: Vec<Vec<f64>> = m.buyers.iter().map(|b| b.mix.clone()).collect();
    let mut out = vec![shares(m, &spend, &mix)];
    for k in 1..=t {
        let year = m.start_year + k as i32;
        let eps: Vec<f64> = (0..np).map(|_| normal()).collect();
        let eta: Vec<f64> = (0..nb).map(|_| normal()).collect();
        // 1. Price-performance.
        for (p, plat) in m.platforms.iter().enumerate() {
            let shift: f64 = effects
                .iter()
                .filter(|e| active(e, year))
                .filter_map(|e| match e.kind {
                    EffectKind::Drift { platform, shift } if platform == p => Some(d(shift)),
                    _ => None,
                })
                .sum();
            a[p] += d(plat.drift) + shift + d(plat.volatility) * eps[p];
        }
        for (b, buyer) in m.buyers.iter().enumerate() {
            // 2. Spend.
            let h: f64 = effects
                .iter()
                .filter(|e| active(e, year))
                .map(|e| match &e.kind {
                    EffectKind::Growth { buyers, shift } => {
                        buyers.iter().filter(|&&x| x == b).count() as f64 * d(*shift)
                    }
                    _ => 0.0,
                })
                .sum();
            let nu = d(buyer.growth_volatility);
            let growth = (1.0 + d(buyer.growth) + h).max(0.0);
            spend[b] *= growth * (nu * eta[b] - nu * nu / 2.0).exp();
            if spend[b] == 0.0 {
                continue; // a buyer with no spend keeps last year's mix
            }
            // 3. Preferred mix over the platforms it can access this year.
            let can = |p: usize| {
                buyer.accessible[p] && m.platforms[p].available_from.is_none_or(|y| year >= y)
            };
            let z: Vec<Option<f64>> = (0..np)
                .map(|p| {
                    can(p).then(|| {
                        let phi = buyer.affinity[p].map_or(buyer.mix[p].ln(), d);
                        let c: f64 = effects
                            .iter()
                            .filter(|e| active(e, year))
                            .filter_map(|e| match &e.kind {
                                EffectKind::Affinity {
                                    buyers,
                                    platform,
                                    shift,
                                } if *platform == p && buyers.contains(&b) => Some(d(*shift)),
                                _ => None,
                            })
                            .sum();
                        d(buyer.sensitivity) * a[p] + phi + c
                    })
                })
                .collect();
            let zmax = z.iter().flatten().fold(f64::NEG_INFINITY, |x, &y| x.max(y));
            let total: f64 = z.iter().flatten().map(|v| (v - zmax).exp()).sum();
            // 4. Inertia (no platform to choose from: the mix stays).
            if total > 0.0 {
                let lambda = d(buyer.agility);
                for p in 0..np {
                    let pi = z[p].map_or(0.0, |v| (v - zmax).exp() / total);
                    mix[b][p] = (1.0 - lambda) * mix[b][p] + lambda * pi;
                }
            }
            // 5. Commitment floors.
            let mut f = vec![0.0; np];
            for e in effects.iter().filter(|e| active(e, year)) {
                if let EffectKind::Commitment {
                    buyer: cb,
                    platform,
                    spend: s,
                } = e.kind
                {
                    if cb == b {
                        f[platform] += d(s) / spend[b];
                    }
                }
            }
            floor(&mut mix[b], &f);
        }
        out.push(shares(m, &spend, &mix));
    }
    out
}

/// Step 5: the floors normalised if they sum to 1 or more; otherwise
/// `max(f_p, c a_p)` with the one `c` in (0, 1] that makes the mix sum to
/// 1, found here by bisection.
fn floor(mix: &mut [f64], f: &[f64]) {
    let fsum: f64 = f.iter().sum();
    if fsum <= 0.0 {
        return;
    }
    if fsum >= 1.0 {
        for (x, fp) in mix.iter_mut().zip(f) {
            *x = fp / fsum;
        }
        return;
    }
    let total = |c: f64| -> f64 { mix.iter().zip(f).map(|(x, fp)| fp.max(c * x)).sum() };
    let (mut lo, mut hi) = (0.0, 1.0);
    if total(1.0) > 1.0 {
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if total(mid) > 1.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
    } else {
        lo = 1.0;
    }
    for (x, fp) in mix.iter_mut().zip(f) {
        *x = fp.max(lo * *x);
    }
}

/// Step 6: platform spend, market and shares.
fn shares(m: &Model, spend: &[f64], mix: &[Vec<f64>]) -> (Vec<f64>, f64) {
    let v: Vec<f64> = (0..m.platforms.len())
        .map(|p| spend.iter().zip(mix).map(|(s, a)| s * a[p]).sum())
        .collect();
    let market: f64 = v.iter().sum();
    let shares = v
        .iter()
        .map(|x| if market > 0.0 { x / market } else { 0.0 })
        .collect();
    (shares, market)
}

fn compare(name: &str, text: &str, futures: usize) {
    let m = load(name, text, &[format!("simulation.futures={futures}")]).unwrap();
    let s = enumerate(&m);
    let engine = Engine::new(&m, &s);
    let paths = engine.simulate(0..futures, &|_| {});
    let draws = engine.prior_draws(0..futures);
    let np = m.platforms.len();
    let mut worst = 0.0f64;
    for i in 0..futures {
        let d: Vec<f64> = draws.iter().map(|p| p[i]).collect();
        for (si, sc) in s.iter().enumerate() {
            let want = reference_path(&m, sc, &d, m.simulation.seed, i as u64);
            let got = paths.path(i, si);
            for (k, (shares, market)) in want.iter().enumerate() {
                for p in 0..np {
                    let err = (got[k * (np + 1) + p] as f64 - shares[p]).abs();
                    worst = worst.max(err);
                    assert!(
                        err < TOL,
                        "{name}: future {i} {} year {k} platform {p}: engine {} reference {}",
                        sc.name,
                        got[k * (np + 1) + p],
                        shares[p]
                    );
                }
                let err = (got[k * (np + 1) + np] as f64 - market).abs() / market.max(1e-300);
                assert!(
                    err < TOL,
                    "{name}: future {i} {} year {k} market: engine {} reference {market}",
                    sc.name,
                    got[k * (np + 1) + np]
                );
            }
        }
    }
    eprintln!("{name}: worst share difference {worst:e}");
}

#[test]
fn the_engine_is_the_contract_on_the_small_model() {
    compare("small", common::SMALL, 64);
}

#[test]
fn the_engine_is_the_contract_with_every_kind_of_effect() {
    compare(
        "every_feature",
        include_str!("models/every_feature.toml"),
        48,
    );
    compare("broken_base", include_str!("models/broken_base.toml"), 48);
}

#[test]
fn the_engine_is_the_contract_on_the_frozen_default_model() {
    compare(
        "ai_accelerators_36",
        include_str!("../benches/models/ai_accelerators_36.toml"),
        24,
    );
}
