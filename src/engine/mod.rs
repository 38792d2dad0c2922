//! The engine (MODEL.md section 5): draws every prior once per future,
//! simulates every scenario of that future on the same draws and shocks
//! (paired futures), in parallel over fixed-size chunks of futures.
//!
//! Output: [`Paths`], one `f32` per scenario x year x column x future (the
//! columns being every platform's share and then the market `M(k)`):
//! column-major, so that everything downstream reads one contiguous run of
//! futures per statistic.

mod kernel;
mod preference;
pub mod sampler;
mod shocks;
pub mod streams;
mod ziggurat_tables;

use crate::fastmath;
use crate::model::{EffectId, EffectKind, Model, Sampling};
use crate::scenario::Scenario;
pub use kernel::Isa;
use kernel::{Lane, Scratch, LANES};
use preference::Preferences;
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

/// Where a simulation writes: a block of `n` futures whose first is future
/// `offset` of the run, value `col` of future `i` at `out[col * n + i]`.
/// Shared by the parallel chunks, each of which writes only its own
/// futures' positions.
#[derive(Clone, Copy)]
pub(crate) struct Block {
    out: *mut f32,
    n: usize,
    offset: usize,
}

// SAFETY: chunks write disjoint sets of indices (their own futures), and
// the buffer outlives the parallel loop that writes it.
unsafe impl Sync for Block {}

/// An effect resolved for fast application in the inner loop.
#[derive(Debug, Clone, PartialEq)]
struct Active {
    effect: EffectId,
    from: usize,
    to: usize,
}

impl Active {
    /// Effect `e` with its first and last year as year indices.
    fn new(model: &Model, e: EffectId) -> Active {
        let year0 = model.start_year;
        Active {
            effect: e,
            from: (model.effects[e].from - year0) as usize,
            to: (model.effects[e].to - year0) as usize,
        }
    }
}

/// One buyer's path (spend and mix, year by year) under one set of the
/// effects that reach it: its preferred-mix slot (drift and affinity
/// effects), the growth effects that list it and its commitments. A
/// buyer's path depends on a scenario only through these, so scenarios
/// that agree on them share one track: in the default model 36 scenarios
/// x 7 buyers need 32 tracks, and in a one-deal model only the buyers the
/// deal reaches are simulated twice.
#[derive(Debug, Clone)]
struct Track {
    buyer: usize,
    /// Index into `Preferences::slots`.
    slot: usize,
    /// Growth effects listing the buyer, once per listing, and the
    /// buyer's commitments, each in the scenario's order (the order the
    /// arithmetic adds them in).
    growth: Vec<Active>,
    commits: Vec<Active>,
}

/// The tracks of `scenarios`, and each scenario's track per buyer.
fn tracks(model: &Model, scenarios: &[Scenario], prefs: &Preferences) -> (Vec<Track>, Vec<usize>) {
    let nb = model.buyers.len();
    let mut tracks: Vec<Track> = Vec::new();
    let mut of_scenario = Vec::with_capacity(scenarios.len() * nb);
    for (s, sc) in scenarios.iter().enumerate() {
        let active: Vec<Active> = sc.effects(model).map(|e| Active::new(model, e)).collect();
        for b in 0..nb {
            let mut track = Track {
                buyer: b,
                slot: prefs.scenario_slots[s * nb + b],
                growth: Vec::new(),
                commits: Vec::new(),
            };
            for a in &active {
                match &model.effects[a.effect].kind {
                    EffectKind::Growth { buyers, .. } => {
                        for _ in buyers.iter().filter(|&&x| x == b) {
                            track.growth.push(a.clone());
                        }
                    }
                    EffectKind::Commitment { buyer, .. } if *buyer == b => {
                        track.commits.push(a.clone());
                    }
                    _ => {}
                }
            }
            let same = |t: &Track| {
                t.buyer == b
                    && t.slot == track.slot
                    && t.growth == track.growth
                    && t.commits == track.commits
            };
            of_scenario.push(match tracks.iter().position(same) {
                Some(i) => i,
                None => {
                    tracks.push(track);
                    tracks.len() - 1
                }
            });
        }
    }
    (tracks, of_scenario)
}

/// A model and its scenarios prepared for simulation: stream keys, LHS
/// permutations, tabulated priors, the preferred-mix slots and buyer
/// tracks the scenarios share. Built once per run; [`Engine::simulate`]
/// then runs any range of futures.
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
    /// Buyer paths: one per buyer and distinct set of effects reaching it
    /// (see [`Track`]); each scenario's track per buyer, at `s * B + b`.
    tracks: Vec<Track>,
    scenario_tracks: Vec<usize>,
    /// Steps 1 and 3: price-performance paths and preferred mixes.
    prefs: Preferences,
    /// Per buyer, the platforms its mix can ever hold (accessible or
    /// committed to), ascending; outside them its share stays exactly 0,
    /// so the kernel skips them. The pairs (platform, buyer that can hold
    /// it), by platform then buyer: one flat list, so that step 6 runs one
    /// loop rather than one per platform (whose varying lengths the
    /// processor mispredicted).
    support: Vec<Vec<usize>>,
    holdings: Vec<(usize, usize)>,
    /// The compiled copy of the kernel to run.
    isa: Isa,
}

impl<'m> Engine<'m> {
    /// Prepares `model` and its `scenarios`.
    pub fn new(model: &'m Model, scenarios: &[Scenario]) -> Engine<'m> {
        // At most `MAX_FUTURES` (checked when the model was loaded).
        let n = u32::try_from(model.simulation.futures).expect("futures fit in u32");
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
        let horizon = model.horizon();
        let (np, nb) = (model.platforms.len(), model.buyers.len());
        let prefs = Preferences::new(model, scenarios);
        let (tracks, scenario_tracks) = tracks(model, scenarios, &prefs);
        let support: Vec<Vec<usize>> = (0..nb)
            .map(|b| {
                (0..np)
                    .filter(|&p| {
                        model.buyers[b].accessible[p]
                            || model.effects.iter().any(|e| {
                                matches!(e.kind, EffectKind::Commitment { buyer, platform, .. }
                                    if buyer == b && platform == p)
                            })
                    })
                    .collect()
            })
            .collect();
        let support_ref = &support;
        let holdings = (0..np)
            .flat_map(|p| {
                (0..nb)
                    .filter(move |&b| support_ref[b].contains(&p))
                    .map(move |b| (p, b))
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
            tracks,
            scenario_tracks,
            prefs,
            support,
            holdings,
            isa: Isa::detect(),
        }
    }

    /// Draws every prior of futures `first .. first + count` into `draws`
    /// (one lane per future; lanes past `count` repeat the last future),
    /// counting clamps. (Inlined into each compiled copy of the kernel.)
    ///
    /// In three passes over the priors: uniforms (and LHS strata) and the
    /// probabilities they give; the normal scores that normal, lognormal
    /// and tabulated priors need, all priors' together (so that their
    /// tails, 15% of them, fill vectors); the values.
    #[inline(always)]
    fn draw_batch(
        &self,
        first: usize,
        count: usize,
        draws: &mut [Lane],
        ds: &mut DrawScratch,
        clamps: &mut [u64],
    ) {
        let n = self.model.simulation.futures as f64;
        let index: [u64; LANES] = std::array::from_fn(|l| (first + l.min(count - 1)) as u64);
        // LHS strata of every sampled prior (all permutations share one
        // grid, so the futures are split into pairs once); fixed priors get 0.
        if let Some(perms) = self.perms.as_ref().filter(|p| !p.is_empty()) {
            let pairs: [(u32, u32); LANES] =
                std::array::from_fn(|l| perms[0].split(index[l] as u32));
            let hi: [u32; LANES] = std::array::from_fn(|l| pairs[l].0);
            let lo: [u32; LANES] = std::array::from_fn(|l| pairs[l].1);
            for (j, sampler) in self.samplers.iter().enumerate() {
                ds.strata[j] = match sampler {
                    Some(_) => perms[j].apply_lanes(&hi, &lo),
                    None => [0; LANES],
                };
            }
        }
        let mut scored = 0;
        for (j, sampler) in self.samplers.iter().enumerate() {
            let Some(sampler) = sampler else { continue };
            let mut u: [f64; LANES] =
                std::array::from_fn(|l| open01(splitmix_at(self.prior_keys[j], index[l])));
            if self.perms.is_some() {
                for (u, &stratum) in u.iter_mut().zip(&ds.strata[j]) {
                    // (stratum + v) / N can round up to 1.0: keep it open.
                    *u = ((stratum as f64 + *u) / n).min(streams::BELOW_ONE);
                }
            }
            let p = sampler.probabilities_lanes(&u);
            ds.probabilities[j] = p;
            if sampler.uses_normal_score() {
                ds.scores[scored] = p;
                scored += 1;
            }
        }
        fastmath::norm_quantile_rows(&mut ds.scores[..scored], &mut ds.tails);
        // The scores are in the priors' order: the next one is this prior's.
        let mut next_score = 0;
        for (j, slot) in self.model.priors.iter().enumerate() {
            // A fixed value needs no uniform (and was checked against its
            // domain when the model was loaded).
            let Some(sampler) = &self.samplers[j] else {
                draws[j] = [slot.prior.as_fixed().unwrap_or(f64::NAN); LANES];
                continue;
            };
            let unused = [0.0; LANES];
            let z = if sampler.uses_normal_score() {
                next_score += 1;
                &ds.scores[next_score - 1]
            } else {
                &unused
            };
            let x = sampler.quantile_lanes_scored(&ds.probabilities[j], z);
            let y = slot.domain.clamp_lanes(x);
            // Clamps of the batch's own futures (`Domain::clamp`'s flag).
            clamps[j] += (0..LANES)
                .map(|l| u64::from(y[l] != x[l] && l < count))
                .sum::<u64>();
            draws[j] = y;
        }
    }
}

/// Working memory of [`Engine::draw_batch`]: per prior, LHS strata and
/// probabilities, and (for the priors that use them) normal scores.
pub(crate) struct DrawScratch {
    strata: Vec<[u32; LANES]>,
    probabilities: Vec<Lane>,
    scores: Vec<Lane>,
    tails: fastmath::TailScratch,
}

impl DrawScratch {
    /// Sized for `n_priors` priors.
    pub(crate) fn new(n_priors: usize) -> DrawScratch {
        DrawScratch {
            strata: vec![[0; LANES]; n_priors],
            probabilities: vec![[0.0; LANES]; n_priors],
            scores: vec![[0.0; LANES]; n_priors],
            tails: fastmath::TailScratch::default(),
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
        let len = n * per_future;
        let mut data: Vec<f32> = crate::hugepages::with_capacity(len);
        let n_priors = self.model.priors.len();
        let block = Block {
            out: data.as_mut_ptr(),
            n,
            offset,
        };
        let block = &block;
        let chunk_clamps: Vec<Vec<u64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut scratch = Scratch::new(self);
                let mut clamps = vec![0u64; n_priors];
                let chunk = c * CHUNK..((c + 1) * CHUNK).min(n);
                // SAFETY: `data` holds `per_future * n` values and outlives
                // this loop; chunks are disjoint, so only this call writes
                // the positions of futures `chunk`.
                unsafe { kernel::run_chunk(self, block, chunk.clone(), &mut scratch, &mut clamps) };
                progress(chunk.len());
                clamps
            })
            .collect();
        // SAFETY: each chunk wrote all `per_future` values of each of its
        // futures (`run_chunk`), and the chunks cover `0..n`.
        unsafe { data.set_len(len) };
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

#[cfg(test)]
mod tests {
    use super::{apply_floors, Engine, Isa};

    /// The AVX2 copy of the kernel (where this processor has AVX2) and the
    /// portable one give bit-identical paths, on the default model (every
    /// kind of effect, commitment floors) with a partial last batch.
    #[test]
    fn kernels_agree_bit_for_bit() {
        let n = 300;
        let m = crate::model::load(
            "default",
            crate::model::DEFAULT_MODEL,
            &[format!("simulation.futures={n}")],
        )
        .unwrap();
        let s = crate::scenario::enumerate(&m);
        let mut engine = Engine::new(&m, &s);
        let detected = engine.simulate(0..n, &|_| {});
        engine.isa = Isa::Portable;
        let portable = engine.simulate(0..n, &|_| {});
        assert_eq!(detected.data.len(), portable.data.len());
        for (i, (a, b)) in detected.data.iter().zip(&portable.data).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "value {i}");
        }
        if Isa::detect() == Isa::Portable {
            eprintln!("no AVX2 on this processor: only the portable kernel ran");
        }
    }

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
