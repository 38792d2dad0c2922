//! The engine (MODEL.md section 5): draws every prior once per future,
//! simulates every scenario of that future on the same draws and shocks
//! (paired futures), in parallel over fixed-size chunks of futures.
//!
//! Output: [`Paths`], one `f32` per future x scenario x year x column, the
//! columns being every platform's share and then the market `M(k)`.

// The inner loop indexes several per-platform arrays with one index.
#![allow(clippy::needless_range_loop)]

pub mod streams;

use crate::model::{EffectKind, Model, Sampling};
use crate::scenario::Scenario;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use streams::{hash_str, key, open01, splitmix_at, tag, Permutation};

/// Futures per parallel work item. Fixed, so the work split never depends
/// on the thread count.
pub const CHUNK: usize = 256;

/// Simulated paths: `futures x scenarios x years x columns`, future-major.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Futures per scenario.
    pub futures: usize,
    /// Number of scenarios.
    pub scenarios: usize,
    /// Years reported, base year included (`T + 1`).
    pub years: usize,
    /// Columns: one share per platform, then the market.
    pub columns: usize,
    /// The values.
    pub data: Vec<f32>,
    /// How often each prior's draw was clamped to its domain.
    pub clamps: Vec<u64>,
}

impl Paths {
    /// Index of (future, scenario, year, column).
    #[inline]
    pub fn index(&self, i: usize, s: usize, k: usize, c: usize) -> usize {
        ((i * self.scenarios + s) * self.years + k) * self.columns + c
    }

    /// Values of one future and scenario: `years x columns`.
    pub fn path(&self, i: usize, s: usize) -> &[f32] {
        let start = self.index(i, s, 0, 0);
        &self.data[start..start + self.years * self.columns]
    }
}

/// An effect resolved for fast application in the inner loop.
#[derive(Debug, Clone)]
struct Active {
    effect: usize,
    from: usize,
    to: usize,
}

/// Everything the inner loop needs, precomputed from the model.
struct Plan<'m> {
    model: &'m Model,
    n_platforms: usize,
    n_buyers: usize,
    horizon: usize,
    /// Per prior: its stream key and LHS permutation.
    prior_keys: Vec<u64>,
    perms: Option<Vec<Permutation>>,
    /// Per scenario, its growth and commitment effects with year indices.
    scenario_effects: Vec<Vec<Active>>,
    /// Scenarios with the same drift and affinity effects share their
    /// price-performance paths and preferred mixes: the effects of each
    /// such group, and each scenario's group.
    pref_groups: Vec<Vec<Active>>,
    scenario_group: Vec<usize>,
    /// `accessible[k][b * P + p]`.
    accessible: Vec<Vec<bool>>,
}

impl<'m> Plan<'m> {
    fn new(model: &'m Model, scenarios: &[Scenario]) -> Plan<'m> {
        let n = model.simulation.futures as u64;
        let seed = model.simulation.seed;
        let prior_keys: Vec<u64> = model
            .priors
            .iter()
            .map(|p| key(&[seed, tag::PRIOR, hash_str(&p.path)]))
            .collect();
        let perms = match model.simulation.sampling {
            Sampling::Lhs => Some(
                model
                    .priors
                    .iter()
                    .map(|p| Permutation::new(n, key(&[seed, tag::LHS, hash_str(&p.path)])))
                    .collect(),
            ),
            Sampling::Random => None,
        };
        let year0 = model.start_year;
        let horizon = model.horizon();
        let (np, nb) = (model.platforms.len(), model.buyers.len());
        let accessible = (0..=horizon)
            .map(|k| {
                let year = year0 + k as i32;
                let mut acc = vec![false; nb * np];
                for (b, buyer) in model.buyers.iter().enumerate() {
                    for (p, plat) in model.platforms.iter().enumerate() {
                        acc[b * np + p] =
                            buyer.accessible[p] && plat.available_from.is_none_or(|y| year >= y);
                    }
                }
                acc
            })
            .collect();
        // Each scenario's effects split into those that shape preferences
        // (drift, affinity: shared by a group of scenarios) and the rest
        // (growth, commitments: simulated per scenario).
        let mut pref_groups: Vec<Vec<Active>> = Vec::new();
        let mut group_keys: Vec<Vec<usize>> = Vec::new();
        let mut scenario_group = Vec::new();
        let mut scenario_effects = Vec::new();
        for sc in scenarios {
            let active = model.deals.iter().zip(&sc.outcomes).flat_map(|(d, &o)| {
                d.outcomes[o].effects.iter().map(|&e| Active {
                    effect: e,
                    from: (model.effects[e].from - year0) as usize,
                    to: (model.effects[e].to - year0) as usize,
                })
            });
            let (shaping, rest): (Vec<Active>, Vec<Active>) = active.partition(|a| {
                matches!(
                    model.effects[a.effect].kind,
                    EffectKind::Drift { .. } | EffectKind::Affinity { .. }
                )
            });
            let key: Vec<usize> = shaping.iter().map(|a| a.effect).collect();
            let g = group_keys
                .iter()
                .position(|k| *k == key)
                .unwrap_or_else(|| {
                    group_keys.push(key);
                    pref_groups.push(shaping);
                    pref_groups.len() - 1
                });
            scenario_group.push(g);
            scenario_effects.push(rest);
        }
        Plan {
            model,
            n_platforms: np,
            n_buyers: nb,
            horizon,
            prior_keys,
            perms,
            scenario_effects,
            pref_groups,
            scenario_group,
            accessible,
        }
    }

    /// Draws every prior of future `i` into `out`, counting clamps.
    fn draw_priors(&self, i: usize, out: &mut [f64], clamps: &mut [u64]) {
        let n = self.model.simulation.futures as f64;
        for (j, slot) in self.model.priors.iter().enumerate() {
            // A fixed value needs no uniform (and was checked against its
            // domain when the model was loaded).
            if let Some(x) = slot.prior.as_fixed() {
                out[j] = x;
                continue;
            }
            let v = open01(splitmix_at(self.prior_keys[j], i as u64));
            let u = match &self.perms {
                // (stratum + v) / N can round up to 1.0: keep it open.
                Some(perms) => ((perms[j].apply(i as u64) as f64 + v) / n).min(streams::BELOW_ONE),
                None => v,
            };
            let (x, clamped) = slot.domain.clamp(slot.prior.quantile(u));
            if clamped {
                clamps[j] += 1;
            }
            out[j] = x;
        }
    }
}

/// Per-thread working memory for one future.
struct Scratch {
    draws: Vec<f64>,
    eps: Vec<f64>,
    /// Spend shock multipliers `exp(nu eta - nu^2/2)` per year and buyer.
    eta: Vec<f64>,
    phi: Vec<f64>,
    a_idx: Vec<f64>,
    spend: Vec<f64>,
    mix: Vec<f64>,
    floor: Vec<f64>,
    floored: Vec<bool>,
    drift_shift: Vec<f64>,
    growth_shift: Vec<f64>,
    aff_shift: Vec<f64>,
    platform_spend: Vec<f64>,
    /// Unnormalised preferred mix `exp(z - max z)` per group, year, buyer,
    /// platform, and `1 / sum` per group, year, buyer (NaN when the softmax
    /// is not finite: the mix then stays as it was).
    pi: Vec<f64>,
    pi_inv: Vec<f64>,
}

impl Scratch {
    fn new(plan: &Plan<'_>) -> Scratch {
        let (np, nb, t) = (plan.n_platforms, plan.n_buyers, plan.horizon);
        Scratch {
            draws: vec![0.0; plan.model.priors.len()],
            eps: vec![0.0; t * np],
            eta: vec![0.0; t * nb],
            phi: vec![0.0; nb * np],
            a_idx: vec![0.0; np],
            spend: vec![0.0; nb],
            mix: vec![0.0; nb * np],
            floor: vec![0.0; nb * np],
            floored: vec![false; np],
            drift_shift: vec![0.0; np],
            growth_shift: vec![0.0; nb],
            aff_shift: vec![0.0; nb * np],
            platform_spend: vec![0.0; np],
            pi: vec![0.0; plan.pref_groups.len() * t * nb * np],
            pi_inv: vec![0.0; plan.pref_groups.len() * t * nb],
        }
    }
}

/// Simulates every scenario for `model.simulation.futures` futures.
/// `progress` is called once per finished chunk with its number of futures.
pub fn simulate(model: &Model, scenarios: &[Scenario], progress: &(dyn Fn(usize) + Sync)) -> Paths {
    simulate_range(model, scenarios, 0..model.simulation.futures, progress)
}

/// Simulates futures `range` only (a block of a streamed run): future `i`
/// of the block is future `range.start + i` of the run, with the same draws
/// and shocks it has in a full run.
pub fn simulate_range(
    model: &Model,
    scenarios: &[Scenario],
    range: std::ops::Range<usize>,
    progress: &(dyn Fn(usize) + Sync),
) -> Paths {
    let plan = Plan::new(model, scenarios);
    let offset = range.start;
    let n = range.len();
    let years = plan.horizon + 1;
    let columns = plan.n_platforms + 1;
    let per_future = scenarios.len() * years * columns;
    let mut data = vec![0f32; n * per_future];
    let n_priors = model.priors.len();
    let chunk_clamps: Vec<Vec<u64>> = data
        .par_chunks_mut(CHUNK * per_future)
        .enumerate()
        .map(|(c, out)| {
            let mut scratch = Scratch::new(&plan);
            let mut clamps = vec![0u64; n_priors];
            let first = offset + c * CHUNK;
            let count = out.len() / per_future;
            for local in 0..count {
                let i = first + local;
                simulate_future(
                    &plan,
                    i,
                    &mut scratch,
                    &mut clamps,
                    &mut out[local * per_future..(local + 1) * per_future],
                );
            }
            progress(count);
            clamps
        })
        .collect();
    let mut clamps = vec![0u64; n_priors];
    for cc in chunk_clamps {
        for (a, b) in clamps.iter_mut().zip(cc) {
            *a += b;
        }
    }
    Paths {
        futures: n,
        scenarios: scenarios.len(),
        years,
        columns,
        data,
        clamps,
    }
}

/// One future: draws, shocks, then every scenario.
fn simulate_future(
    plan: &Plan<'_>,
    i: usize,
    sc: &mut Scratch,
    clamps: &mut [u64],
    out: &mut [f32],
) {
    let model = plan.model;
    let (np, nb, t) = (plan.n_platforms, plan.n_buyers, plan.horizon);
    plan.draw_priors(i, &mut sc.draws, clamps);
    let mut rng = streams::shock_rng(model.simulation.seed, i as u64);
    for k in 0..t {
        for p in 0..np {
            sc.eps[k * np + p] = StandardNormal.sample(&mut rng);
        }
        for b in 0..nb {
            sc.eta[k * nb + b] = StandardNormal.sample(&mut rng);
        }
    }
    let d = &sc.draws;
    // The spend shock multiplier exp(nu eta - nu^2 / 2) is the same in every
    // scenario of this future: compute it once.
    for (b, buyer) in model.buyers.iter().enumerate() {
        let nu = d[buyer.growth_volatility];
        for k in 0..t {
            let e = &mut sc.eta[k * nb + b];
            *e = if nu > 0.0 {
                (nu * *e - 0.5 * nu * nu).exp()
            } else {
                1.0
            };
        }
    }
    for (b, buyer) in model.buyers.iter().enumerate() {
        for p in 0..np {
            sc.phi[b * np + p] = match buyer.affinity[p] {
                Some(id) => d[id],
                None if buyer.mix[p] > 0.0 => buyer.mix[p].ln(),
                None => f64::NEG_INFINITY,
            };
        }
    }
    for g in 0..plan.pref_groups.len() {
        preferred_mixes(plan, sc, g);
    }
    let years = t + 1;
    let cols = np + 1;
    for (s, active) in plan.scenario_effects.iter().enumerate() {
        let out_s = &mut out[s * years * cols..(s + 1) * years * cols];
        simulate_scenario(plan, sc, active, plan.scenario_group[s], out_s);
    }
}

/// Steps 1 and 3 for one group of scenarios sharing drift and affinity
/// effects: the price-performance path and every buyer's preferred mix,
/// stored in `sc.pi` / `sc.pi_inv`.
fn preferred_mixes(plan: &Plan<'_>, sc: &mut Scratch, g: usize) {
    let model = plan.model;
    let (np, nb, t) = (plan.n_platforms, plan.n_buyers, plan.horizon);
    let active = &plan.pref_groups[g];
    let d = &sc.draws;
    sc.a_idx.iter_mut().for_each(|x| *x = 0.0);
    for k in 1..=t {
        sc.drift_shift.iter_mut().for_each(|x| *x = 0.0);
        let mut any_aff = false;
        for a in active {
            if k < a.from || k > a.to {
                continue;
            }
            match &model.effects[a.effect].kind {
                EffectKind::Drift { platform, shift } => sc.drift_shift[*platform] += d[*shift],
                EffectKind::Affinity { .. } => any_aff = true,
                _ => {}
            }
        }
        if any_aff {
            sc.aff_shift.iter_mut().for_each(|x| *x = 0.0);
            for a in active {
                if k < a.from || k > a.to {
                    continue;
                }
                if let EffectKind::Affinity {
                    buyers,
                    platform,
                    shift,
                } = &model.effects[a.effect].kind
                {
                    for &b in buyers {
                        sc.aff_shift[b * np + platform] += d[*shift];
                    }
                }
            }
        }
        // 1. Price-performance.
        for (p, plat) in model.platforms.iter().enumerate() {
            sc.a_idx[p] +=
                d[plat.drift] + sc.drift_shift[p] + d[plat.volatility] * sc.eps[(k - 1) * np + p];
        }
        // 3. Preferred mix (softmax with the max subtracted).
        let acc = &plan.accessible[k];
        for (b, buyer) in model.buyers.iter().enumerate() {
            let beta = d[buyer.sensitivity];
            let row = b * np;
            let base = ((g * t + (k - 1)) * nb + b) * np;
            let pref = &mut sc.pi[base..base + np];
            let mut zmax = f64::NEG_INFINITY;
            for p in 0..np {
                if acc[row + p] {
                    let mut z = beta * sc.a_idx[p] + sc.phi[row + p];
                    if any_aff {
                        z += sc.aff_shift[row + p];
                    }
                    pref[p] = z;
                    if z > zmax {
                        zmax = z;
                    }
                }
            }
            let mut total = 0.0;
            for p in 0..np {
                if acc[row + p] {
                    let e = (pref[p] - zmax).exp();
                    pref[p] = e;
                    total += e;
                } else {
                    pref[p] = 0.0;
                }
            }
            sc.pi_inv[(g * t + (k - 1)) * nb + b] = if total > 0.0 && total.is_finite() {
                1.0 / total
            } else {
                f64::NAN
            };
        }
    }
}

fn simulate_scenario(
    plan: &Plan<'_>,
    sc: &mut Scratch,
    active: &[Active],
    g: usize,
    out: &mut [f32],
) {
    let model = plan.model;
    let (np, nb, t) = (plan.n_platforms, plan.n_buyers, plan.horizon);
    let cols = np + 1;
    let d = &sc.draws;
    for (b, buyer) in model.buyers.iter().enumerate() {
        sc.spend[b] = d[buyer.spend];
        sc.mix[b * np..(b + 1) * np].copy_from_slice(&buyer.mix);
    }
    write_year(
        &sc.spend,
        &sc.mix,
        &mut sc.platform_spend,
        &mut out[0..cols],
    );
    for k in 1..=t {
        // Active growth shifts and commitments this year.
        sc.growth_shift.iter_mut().for_each(|x| *x = 0.0);
        let mut any_commit = false;
        for a in active {
            if k < a.from || k > a.to {
                continue;
            }
            match &model.effects[a.effect].kind {
                EffectKind::Growth { buyers, shift } => {
                    for &b in buyers {
                        sc.growth_shift[b] += d[*shift];
                    }
                }
                EffectKind::Commitment { .. } => any_commit = true,
                _ => {}
            }
        }
        // 2. Spend.
        for (b, buyer) in model.buyers.iter().enumerate() {
            if sc.spend[b] == 0.0 {
                continue;
            }
            let growth = (1.0 + d[buyer.growth] + sc.growth_shift[b]).max(0.0);
            sc.spend[b] *= growth * sc.eta[(k - 1) * nb + b];
        }
        // 4. Inertia towards the group's preferred mix (steps 1 and 3).
        for (b, buyer) in model.buyers.iter().enumerate() {
            let inv = sc.pi_inv[(g * t + (k - 1)) * nb + b];
            if sc.spend[b] == 0.0 || inv.is_nan() {
                continue;
            }
            let lambda = d[buyer.agility];
            let base = ((g * t + (k - 1)) * nb + b) * np;
            let pref = &sc.pi[base..base + np];
            let mix = &mut sc.mix[b * np..(b + 1) * np];
            for p in 0..np {
                mix[p] = (1.0 - lambda) * mix[p] + lambda * pref[p] * inv;
            }
        }
        // 5. Commitment floors.
        if any_commit {
            sc.floor.iter_mut().for_each(|x| *x = 0.0);
            for a in active {
                if k < a.from || k > a.to {
                    continue;
                }
                if let EffectKind::Commitment {
                    buyer,
                    platform,
                    spend,
                } = &model.effects[a.effect].kind
                {
                    if sc.spend[*buyer] > 0.0 {
                        sc.floor[buyer * np + platform] += d[*spend] / sc.spend[*buyer];
                    }
                }
            }
            for b in 0..nb {
                if sc.spend[b] > 0.0 {
                    let row = b * np;
                    apply_floors(
                        &mut sc.mix[row..row + np],
                        &sc.floor[row..row + np],
                        &mut sc.floored,
                    );
                }
            }
        }
        write_year(
            &sc.spend,
            &sc.mix,
            &mut sc.platform_spend,
            &mut out[k * cols..(k + 1) * cols],
        );
    }
}

/// Step 5 of MODEL.md: if the floors sum to 1 or more the mix becomes the
/// floors normalised; otherwise `a_p = max(f_p, c * a_p)` with the one `c`
/// in (0, 1] that makes the mix sum to 1. Found by flooring, one pass at a
/// time, every platform whose scaled share falls below its floor: each pass
/// lowers `c`, so a floored platform stays floored and at most `P` passes run.
pub fn apply_floors(mix: &mut [f64], floor: &[f64], floored: &mut [bool]) {
    let fsum: f64 = floor.iter().sum();
    if fsum <= 0.0 {
        return;
    }
    if fsum >= 1.0 {
        for (m, f) in mix.iter_mut().zip(floor) {
            *m = f / fsum;
        }
        return;
    }
    let np = mix.len();
    floored[..np].iter_mut().for_each(|x| *x = false);
    let mut c = 1.0;
    for _ in 0..=np {
        let (mut fixed, mut free) = (0.0, 0.0);
        for p in 0..np {
            if floored[p] {
                fixed += floor[p];
            } else {
                free += mix[p];
            }
        }
        if free <= 0.0 {
            // Every share is floored yet the floors sum below 1: only
            // possible through rounding; normalise the floors.
            for (m, f) in mix.iter_mut().zip(floor) {
                *m = f / fsum;
            }
            return;
        }
        c = ((1.0 - fixed) / free).min(1.0);
        let mut changed = false;
        for p in 0..np {
            if !floored[p] && c * mix[p] < floor[p] {
                floored[p] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for p in 0..np {
        mix[p] = if floored[p] { floor[p] } else { c * mix[p] };
    }
}

/// Step 6: platform spend, market and shares of one year.
#[inline]
fn write_year(spend: &[f64], mix: &[f64], platform_spend: &mut [f64], out: &mut [f32]) {
    let np = platform_spend.len();
    platform_spend.iter_mut().for_each(|x| *x = 0.0);
    for (b, &s) in spend.iter().enumerate() {
        if s == 0.0 {
            continue;
        }
        let row = &mix[b * np..(b + 1) * np];
        for p in 0..np {
            platform_spend[p] += s * row[p];
        }
    }
    let market: f64 = platform_spend.iter().sum();
    for p in 0..np {
        out[p] = if market > 0.0 {
            (platform_spend[p] / market) as f32
        } else {
            0.0
        };
    }
    out[np] = market as f32;
}

#[cfg(test)]
mod tests {
    use super::apply_floors;

    #[test]
    fn floors_hold_and_mix_sums_to_one() {
        let mut mix = vec![0.7, 0.2, 0.1, 0.0];
        let floor = vec![0.0, 0.0, 0.3, 0.1];
        apply_floors(&mut mix, &floor, &mut [false; 4]);
        let sum: f64 = mix.iter().sum();
        assert!((sum - 1.0).abs() < 1e-12, "{mix:?}");
        assert!(mix[2] >= 0.3 - 1e-15 && mix[3] >= 0.1 - 1e-15);
        // Unfloored shares keep their ratio.
        assert!((mix[0] / mix[1] - 3.5).abs() < 1e-12);
    }

    #[test]
    fn floors_past_one_are_normalised() {
        let mut mix = vec![0.5, 0.5];
        apply_floors(&mut mix, &[0.9, 0.6], &mut [false; 2]);
        assert!((mix[0] - 0.6).abs() < 1e-12 && (mix[1] - 0.4).abs() < 1e-12);
    }
}
