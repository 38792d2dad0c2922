//! The engine (MODEL.md section 5): draws every prior once per future,
//! simulates every scenario of that future on the same draws and shocks
//! (paired futures), in parallel over fixed-size chunks of futures, into
//! [`Paths`].
//!
//! - [`plan`]: what the scenarios share (buyer tracks, preferred-mix slots),
//!   built once per run;
//! - [`draws`]: the prior draws of a batch (streams, Latin hypercube
//!   strata, inverse CDFs from [`sampler`], domain clamps);
//! - [`shocks`]: the yearly normal shocks, from [`streams`];
//! - `preference` (steps 1 and 3), [`floors`] (step 5) and `kernel` (steps
//!   2 to 6, the batch loop, compiled once per instruction set);
//! - [`paths`]: the output buffer.

pub mod draws;
pub mod floors;
mod kernel;
mod lanes;
pub mod paths;
mod plan;
mod preference;
pub mod sampler;
mod shocks;
pub mod streams;
mod ziggurat_tables;

use crate::isa::Isa;
use crate::model::Model;
use crate::scenario::Scenario;
pub use draws::Design;
use draws::Draws;
use kernel::Scratch;
use paths::Block;
pub use paths::Paths;
use plan::{Preferences, Track};
use rayon::prelude::*;

/// Futures per parallel work item. Fixed, so the work split never depends
/// on the thread count.
pub const CHUNK: usize = 256;

/// A model and its scenarios prepared for simulation: the prior draws, the
/// preferred-mix slots and buyer tracks the scenarios share. Built once per
/// run; [`Engine::simulate`] then runs any range of futures.
pub struct Engine<'m> {
    model: &'m Model,
    n_scenarios: usize,
    n_platforms: usize,
    n_buyers: usize,
    horizon: usize,
    draws: Draws,
    /// Buyer paths: one per buyer and distinct set of effects reaching it
    /// (see [`plan::Track`]); each scenario's track per buyer, at `s * B + b`.
    tracks: Vec<Track>,
    scenario_tracks: Vec<usize>,
    /// Steps 1 and 3: price-performance paths and preferred mixes.
    prefs: Preferences,
    /// Per buyer, the platforms its mix can ever hold, and the pairs
    /// (platform, buyer that can hold it) (see [`plan::holdings`]).
    support: Vec<Vec<usize>>,
    holdings: Vec<(usize, usize)>,
    /// The compiled copy of the kernel to run.
    isa: Isa,
}

impl<'m> Engine<'m> {
    /// Prepares `model` and its `scenarios`.
    pub fn new(model: &'m Model, scenarios: &[Scenario]) -> Engine<'m> {
        let (np, nb) = (model.platforms.len(), model.buyers.len());
        let prefs = Preferences::new(model, scenarios);
        let (tracks, scenario_tracks) = plan::tracks(model, scenarios, &prefs);
        let support = plan::support(model);
        let holdings = plan::holdings(&support, np);
        Engine {
            model,
            n_scenarios: scenarios.len(),
            n_platforms: np,
            n_buyers: nb,
            horizon: model.horizon(),
            draws: Draws::new(model),
            tracks,
            scenario_tracks,
            prefs,
            support,
            holdings,
            isa: Isa::detect(),
        }
    }

    /// Simulates futures `range` (all of a run, or a block of it): future
    /// `i` of the result is future `range.start + i` of the run, with the
    /// same draws and shocks it has in a full run. `progress` is called
    /// once per finished chunk with its number of futures.
    pub fn simulate(
        &self,
        range: std::ops::Range<usize>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Paths {
        self.simulate_from(range, None, 0, progress)
    }

    /// [`Engine::simulate`], also keeping the draws of the priors that are
    /// not fixed for the futures below run index `keep_below` (for the
    /// sensitivity tables): [`Paths::draws`].
    pub fn simulate_keeping(
        &self,
        range: std::ops::Range<usize>,
        keep_below: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Paths {
        let keep = keep_below.saturating_sub(range.start).min(range.len());
        self.simulate_from(range, None, keep, progress)
    }

    /// Simulates rows `range` of a design (a Sobol study's): each row's
    /// priors at its own uniforms (no Latin hypercube), its shocks from the
    /// stream it names, by the same kernel as a run.
    pub fn simulate_design(
        &self,
        design: &Design,
        range: std::ops::Range<usize>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Paths {
        self.simulate_from(range, Some(design), 0, progress)
    }

    fn simulate_from(
        &self,
        range: std::ops::Range<usize>,
        design: Option<&Design>,
        keep: usize,
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
        let mut draws = vec![0.0; keep * self.draws.sampled()];
        let block = Block {
            out: data.as_mut_ptr(),
            n,
            offset,
            kept: draws.as_mut_ptr(),
            keep,
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
                unsafe {
                    kernel::run_chunk(
                        self,
                        block,
                        chunk.clone(),
                        design,
                        &mut scratch,
                        &mut clamps,
                    )
                };
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
            first: offset,
            scenarios: self.n_scenarios,
            years,
            columns,
            data,
            clamps,
            draws,
            kept: keep,
        }
    }
}

impl Engine<'_> {
    /// The prior draws of futures `range`, prior by prior (`[prior][future]`),
    /// as the simulation uses them (clamped to their domains).
    pub fn prior_draws(&self, range: std::ops::Range<usize>) -> Vec<Vec<f64>> {
        let n_priors = self.model.priors.len();
        // Chunks of futures in parallel, each batch by batch.
        let chunks: Vec<Vec<Vec<f64>>> = range
            .clone()
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let end = (start + CHUNK).min(range.end);
                let mut out = vec![Vec::with_capacity(end - start); n_priors];
                let mut lanes = vec![[0.0; lanes::LANES]; n_priors];
                let mut scratch = draws::DrawScratch::new(n_priors);
                let mut clamps = vec![0; n_priors];
                for first in (start..end).step_by(lanes::LANES) {
                    let count = lanes::LANES.min(end - first);
                    self.draws.draw_batch(
                        first,
                        count,
                        None,
                        &mut lanes,
                        &mut scratch,
                        &mut clamps,
                    );
                    for (o, l) in out.iter_mut().zip(&lanes) {
                        o.extend_from_slice(&l[..count]);
                    }
                }
                out
            })
            .collect();
        let mut out = vec![Vec::with_capacity(range.len()); n_priors];
        for chunk in chunks {
            for (o, c) in out.iter_mut().zip(chunk) {
                o.extend(c);
            }
        }
        out
    }
}

/// Simulates every scenario for `model.simulation.futures` futures.
/// `progress` is called once per finished chunk with its number of futures.
pub fn simulate(model: &Model, scenarios: &[Scenario], progress: &(dyn Fn(usize) + Sync)) -> Paths {
    Engine::new(model, scenarios).simulate(0..model.simulation.futures, progress)
}

#[cfg(test)]
mod tests {
    use super::{Engine, Isa};

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
}
