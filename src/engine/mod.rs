//! The engine (MODEL.md section 5): draws every prior once per future,
//! simulates every scenario of that future on the same draws and shocks
//! (paired futures), in parallel over fixed-size chunks of futures.
//!
//! Output: [`Paths`], one `f32` per scenario x year x column x future (the
//! columns being every platform's share and then the market `M(k)`):
//! column-major, so that everything downstream reads one contiguous run of
//! futures per statistic.

// The inner loop indexes several per-platform arrays with one index.
#![allow(clippy::needless_range_loop)]

mod preference;
pub mod sampler;
pub mod streams;

use crate::fastmath;
use crate::model::{EffectKind, Model, Sampling};
use crate::scenario::Scenario;
use preference::Preferences;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use sampler::Sampler;
use streams::{hash_str, key, open01, splitmix_at, tag, Permutation};

/// Futures per parallel work item. Fixed, so the work split never depends
/// on the thread count.
pub const CHUNK: usize = 256;

/// Simulated paths: `scenarios x years x columns x futures`, one
/// contiguous run of futures per (scenario, year, column).
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
        ((s * self.years + k) * self.columns + c) * self.futures + i
    }

    /// Every future's value of one scenario, year and column.
    pub fn column(&self, s: usize, k: usize, c: usize) -> &[f32] {
        let start = self.index(0, s, k, c);
        &self.data[start..start + self.futures]
    }

    /// Values of one future and scenario: `years x columns` (a copy).
    pub fn path(&self, i: usize, s: usize) -> Vec<f32> {
        (0..self.years * self.columns)
            .map(|kc| self.data[self.index(i, s, kc / self.columns, kc % self.columns)])
            .collect()
    }
}

/// The output buffer, shared by the parallel chunks: each writes only its
/// own futures' positions.
struct SharedOut(*mut f32);

// SAFETY: chunks write disjoint sets of indices (their own futures), and
// the buffer outlives the parallel loop that writes it.
unsafe impl Sync for SharedOut {}

/// Futures simulated together before their values are written out: one
/// 64-byte cache line of each output column.
const TILE: usize = 16;

/// An effect resolved for fast application in the inner loop.
#[derive(Debug, Clone)]
struct Active {
    effect: usize,
    from: usize,
    to: usize,
}

/// A model and its scenarios prepared for simulation: stream keys, LHS
/// permutations, tabulated priors, each scenario's effects. Built once per
/// run; [`Engine::simulate`] then runs any range of futures.
pub struct Engine<'m> {
    model: &'m Model,
    n_scenarios: usize,
    n_platforms: usize,
    n_buyers: usize,
    horizon: usize,
    /// Per prior: its stream key, sampler (`None` for a fixed value) and
    /// LHS permutation.
    prior_keys: Vec<u64>,
    samplers: Vec<Option<Sampler>>,
    perms: Option<Vec<Permutation>>,
    /// Per scenario, its growth and commitment effects with year indices.
    scenario_effects: Vec<Vec<Active>>,
    /// Steps 1 and 3: price-performance paths and preferred mixes.
    prefs: Preferences,
}

impl<'m> Engine<'m> {
    /// Prepares `model` and its `scenarios`.
    pub fn new(model: &'m Model, scenarios: &[Scenario]) -> Engine<'m> {
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
        // Growth and commitment effects, per scenario; the effects that
        // shape preferences are planned by `Preferences`.
        let scenario_effects = scenarios
            .iter()
            .map(|sc| {
                model
                    .deals
                    .iter()
                    .zip(&sc.outcomes)
                    .flat_map(|(d, &o)| d.outcomes[o].effects.iter())
                    .filter(|&&e| {
                        matches!(
                            model.effects[e].kind,
                            EffectKind::Growth { .. } | EffectKind::Commitment { .. }
                        )
                    })
                    .map(|&e| Active {
                        effect: e,
                        from: (model.effects[e].from - year0) as usize,
                        to: (model.effects[e].to - year0) as usize,
                    })
                    .collect()
            })
            .collect();
        Engine {
            model,
            n_scenarios: scenarios.len(),
            samplers: samplers(model),
            n_platforms: np,
            n_buyers: nb,
            horizon,
            prior_keys,
            perms,
            scenario_effects,
            prefs: Preferences::new(model, scenarios),
        }
    }

    /// Draws every prior of future `i` into `out`, counting clamps.
    fn draw_priors(&self, i: usize, out: &mut [f64], clamps: &mut [u64]) {
        let n = self.model.simulation.futures as f64;
        for (j, slot) in self.model.priors.iter().enumerate() {
            // A fixed value needs no uniform (and was checked against its
            // domain when the model was loaded).
            let Some(sampler) = &self.samplers[j] else {
                out[j] = slot.prior.as_fixed().unwrap_or(f64::NAN);
                continue;
            };
            let v = open01(splitmix_at(self.prior_keys[j], i as u64));
            let u = match &self.perms {
                // (stratum + v) / N can round up to 1.0: keep it open.
                Some(perms) => ((perms[j].apply(i as u64) as f64 + v) / n).min(streams::BELOW_ONE),
                None => v,
            };
            let (x, clamped) = slot.domain.clamp(sampler.quantile(u));
            if clamped {
                clamps[j] += 1;
            }
            out[j] = x;
        }
    }
}

/// One sampler per prior, `None` for fixed values. Identical priors (the
/// same PERT agility for several buyers, say) share one table, and tables
/// are built in parallel.
fn samplers(model: &Model) -> Vec<Option<Sampler>> {
    let mut distinct: Vec<crate::prior::Prior> = Vec::new();
    let index: Vec<Option<usize>> = model
        .priors
        .iter()
        .map(|slot| {
            slot.prior.as_fixed().is_none().then(|| {
                distinct
                    .iter()
                    .position(|p| *p == slot.prior)
                    .unwrap_or_else(|| {
                        distinct.push(slot.prior);
                        distinct.len() - 1
                    })
            })
        })
        .collect();
    let built: Vec<Sampler> = distinct.par_iter().map(Sampler::new).collect();
    index.iter().map(|i| i.map(|i| built[i].clone())).collect()
}

/// Per-thread working memory for one future.
struct Scratch {
    draws: Vec<f64>,
    eps: Vec<f64>,
    /// Spend shock multipliers `exp(nu eta - nu^2/2)` per year and buyer.
    eta: Vec<f64>,
    /// Price-performance paths, preferred mixes and their `ok` flags (see
    /// [`Preferences::compute`]).
    a_paths: Vec<f64>,
    pi: Vec<f64>,
    pi_ok: Vec<bool>,
    spend: Vec<f64>,
    mix: Vec<f64>,
    floor: Vec<f64>,
    floored: Vec<bool>,
    has_floor: Vec<bool>,
    growth_shift: Vec<f64>,
    platform_spend: Vec<f64>,
}

impl Scratch {
    fn new(plan: &Engine<'_>) -> Scratch {
        let (np, nb, t) = (plan.n_platforms, plan.n_buyers, plan.horizon);
        Scratch {
            draws: vec![0.0; plan.model.priors.len()],
            eps: vec![0.0; t * np],
            eta: vec![0.0; t * nb],
            a_paths: vec![0.0; plan.prefs.path_len(plan.model)],
            pi: vec![0.0; plan.prefs.len],
            pi_ok: vec![false; plan.prefs.n_slots() * t],
            spend: vec![0.0; nb],
            mix: vec![0.0; nb * np],
            floor: vec![0.0; nb * np],
            floored: vec![false; np],
            has_floor: vec![false; nb],
            growth_shift: vec![0.0; nb],
            platform_spend: vec![0.0; np],
        }
    }
}

/// Simulates every scenario for `model.simulation.futures` futures.
/// `progress` is called once per finished chunk with its number of futures.
pub fn simulate(model: &Model, scenarios: &[Scenario], progress: &(dyn Fn(usize) + Sync)) -> Paths {
    Engine::new(model, scenarios).simulate(0..model.simulation.futures, progress)
}

impl Engine<'_> {
    /// Simulates futures `range` (all of a run, or a block of a streamed
    /// run): future `i` of the result is future `range.start + i` of the
    /// run, with the same draws and shocks it has in a full run. `progress`
    /// is called once per finished chunk with its number of futures.
    pub fn simulate(
        &self,
        range: std::ops::Range<usize>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Paths {
        let offset = range.start;
        let n = range.len();
        let years = self.horizon + 1;
        let columns = self.n_platforms + 1;
        let per_future = self.n_scenarios * years * columns;
        let mut data = vec![0f32; n * per_future];
        let n_priors = self.model.priors.len();
        let out = SharedOut(data.as_mut_ptr());
        let out = &out;
        let chunk_clamps: Vec<Vec<u64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut scratch = Scratch::new(self);
                let mut clamps = vec![0u64; n_priors];
                let mut tile = vec![0f32; TILE * per_future];
                let chunk = c * CHUNK..((c + 1) * CHUNK).min(n);
                for start in chunk.clone().step_by(TILE) {
                    let count = TILE.min(chunk.end - start);
                    for local in 0..count {
                        simulate_future(
                            self,
                            offset + start + local,
                            &mut scratch,
                            &mut clamps,
                            &mut tile[local * per_future..(local + 1) * per_future],
                        );
                    }
                    // Transpose the tile: each column gets `count`
                    // consecutive futures.
                    for col in 0..per_future {
                        for local in 0..count {
                            // SAFETY: `col * n + start + local` is below
                            // `per_future * n`, and only this chunk writes
                            // futures `start..start + count`.
                            unsafe {
                                *out.0.add(col * n + start + local) =
                                    tile[local * per_future + col];
                            }
                        }
                    }
                }
                progress(chunk.len());
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
            scenarios: self.n_scenarios,
            years,
            columns,
            data,
            clamps,
        }
    }
}

/// One future: draws, shocks, then every scenario.
fn simulate_future(
    plan: &Engine<'_>,
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
                fastmath::exp(nu * *e - 0.5 * nu * nu)
            } else {
                1.0
            };
        }
    }
    plan.prefs.compute(
        model,
        &sc.draws,
        &sc.eps,
        &mut sc.a_paths,
        &mut sc.pi,
        &mut sc.pi_ok,
    );
    let years = t + 1;
    let cols = np + 1;
    for (s, active) in plan.scenario_effects.iter().enumerate() {
        let out_s = &mut out[s * years * cols..(s + 1) * years * cols];
        simulate_scenario(plan, sc, active, s, out_s);
    }
}

fn simulate_scenario(
    plan: &Engine<'_>,
    sc: &mut Scratch,
    active: &[Active],
    s: usize,
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
        // A platform outside the buyer's list has preferred share 0.
        for (b, buyer) in model.buyers.iter().enumerate() {
            let slot_id = plan.prefs.scenario_slots[s * nb + b];
            if sc.spend[b] == 0.0 || !sc.pi_ok[slot_id * t + k - 1] {
                continue;
            }
            let lambda = d[buyer.agility];
            let list = &plan.prefs.platforms[b];
            let slot = &plan.prefs.slots[slot_id];
            let pref = &sc.pi[slot.offset + (k - 1) * list.len()..][..list.len()];
            let mix = &mut sc.mix[b * np..(b + 1) * np];
            mix.iter_mut().for_each(|m| *m *= 1.0 - lambda);
            for (&p, &x) in list.iter().zip(pref) {
                mix[p] += lambda * x;
            }
        }
        // 5. Commitment floors.
        if any_commit {
            for b in 0..nb {
                if sc.has_floor[b] {
                    sc.floor[b * np..(b + 1) * np].fill(0.0);
                    sc.has_floor[b] = false;
                }
            }
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
                        sc.has_floor[*buyer] = true;
                    }
                }
            }
            for b in 0..nb {
                if sc.has_floor[b] {
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
    let inv = if market > 0.0 { 1.0 / market } else { 0.0 };
    for p in 0..np {
        out[p] = (platform_spend[p] * inv) as f32;
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
