//! The prior draws of a batch of futures (MODEL.md section 4): each prior
//! has its own random stream and, under Latin hypercube sampling, its own
//! permutation of the strata (see [`super::streams`]); every draw is an
//! inverse CDF of one uniform ([`super::sampler`]), clamped to its field's
//! domain, with the clamps counted for the run manifest.

// Loops run over lanes with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::lanes::{Lane, LANES};
use super::sampler::Sampler;
use super::streams::{self, hash_str, key, open01, splitmix_at, tag, Permutation};
use crate::fastmath;
use crate::model::{Domain, Model, PriorSlot, Sampling, MIN_SPEND};
use rayon::prelude::*;

/// Every prior of a model prepared to draw: its stream key, its sampler
/// (`None` for a fixed value) and, under Latin hypercube sampling, its
/// permutation of the strata.
pub(crate) struct Draws {
    slots: Vec<PriorSlot>,
    futures: usize,
    keys: Vec<u64>,
    /// Per prior, its column among the sampled priors (a design's
    /// dimension); `None` for fixed priors.
    dims: Vec<Option<usize>>,
    samplers: Vec<Option<Sampler>>,
    perms: Option<Vec<Permutation>>,
}

impl Draws {
    /// Prepares the priors of `model`.
    pub fn new(model: &Model) -> Draws {
        // At most `MAX_FUTURES` (checked when the model was loaded).
        let n = u32::try_from(model.simulation.futures).expect("futures fit in u32");
        let seed = model.simulation.seed;
        let keys = model
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
        let mut next = 0;
        let dims = model
            .priors
            .iter()
            .map(|p| {
                p.prior.as_fixed().is_none().then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Draws {
            slots: model.priors.clone(),
            futures: model.simulation.futures,
            keys,
            dims,
            samplers: samplers(model),
            perms,
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
    pub(crate) fn draw_batch(
        &self,
        first: usize,
        count: usize,
        design: Option<&Design>,
        draws: &mut [Lane],
        ds: &mut DrawScratch,
        clamps: &mut [u64],
    ) {
        let n = self.futures as f64;
        let index: [u64; LANES] = std::array::from_fn(|l| (first + l.min(count - 1)) as u64);
        // LHS strata of every sampled prior (all permutations share one
        // grid, so the futures are split into pairs once); fixed priors get 0.
        let perms = self
            .perms
            .as_ref()
            .filter(|p| !p.is_empty() && design.is_none());
        if let Some(perms) = perms {
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
            let mut u: [f64; LANES] = match design {
                // A design's own uniforms (its rows are the futures).
                Some(d) => {
                    std::array::from_fn(|l| d.uniform(index[l] as usize, self.dims[j].unwrap_or(0)))
                }
                None => std::array::from_fn(|l| open01(splitmix_at(self.keys[j], index[l]))),
            };
            if perms.is_some() {
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
        for (j, slot) in self.slots.iter().enumerate() {
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
            let y = clamp_lanes(slot.domain, x);
            // Clamps of the batch's own futures (`Domain::clamp`'s flag).
            clamps[j] += (0..LANES)
                .map(|l| u64::from(y[l] != x[l] && l < count))
                .sum::<u64>();
            draws[j] = y;
        }
    }
}

impl Draws {
    /// Per prior, its index among the priors that are not fixed.
    pub(crate) fn dims(&self) -> &[Option<usize>] {
        &self.dims
    }

    /// Number of priors that are not fixed.
    pub(crate) fn sampled(&self) -> usize {
        self.dims.iter().flatten().count()
    }
}

/// Futures given as a design (a Sobol study's): per row, a uniform in
/// (0, 1) for every prior that is not fixed (in the model's order), and the
/// index of the shock stream the row uses.
#[derive(Debug, Clone)]
pub struct Design {
    /// `rows x dims` uniforms, row by row.
    pub uniforms: Vec<f64>,
    /// Priors that are not fixed.
    pub dims: usize,
    /// Per row, its shock stream (rows that share one share their shocks).
    pub shocks: Vec<u64>,
}

impl Design {
    /// Row `row`'s uniform of dimension `d`.
    #[inline]
    pub fn uniform(&self, row: usize, d: usize) -> f64 {
        self.uniforms[row * self.dims + d]
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.shocks.len()
    }
}

/// Working memory of [`Draws::draw_batch`]: per prior, LHS strata and
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

/// [`Domain::clamp`] of `L` draws (the domain matched once, not per draw,
/// so the loop compiles to vector code); a draw's clamp fired where the
/// result differs from it. (Loops in place rather than `map`, which the
/// AVX2 kernel called out of line, in portable code.)
#[inline(always)]
pub fn clamp_lanes<const L: usize>(domain: Domain, mut x: [f64; L]) -> [f64; L] {
    match domain {
        Domain::Real => {}
        Domain::NonNegative => x.iter_mut().for_each(|v| *v = v.max(0.0)),
        Domain::Positive => x.iter_mut().for_each(|v| *v = v.max(MIN_SPEND)),
        Domain::AboveMinusOne => x.iter_mut().for_each(|v| *v = v.max(-1.0)),
        Domain::Unit => x.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0)),
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lanes version gives `clamp`'s values, and differs from its input
    /// exactly where `clamp` says it fired, for every domain.
    #[test]
    fn clamp_lanes_matches_clamp() {
        let x = [
            -2.0,
            -1.0,
            -0.5,
            0.0,
            1e-12,
            0.5,
            1.0,
            3.0,
            f64::NAN,
            f64::INFINITY,
        ];
        for d in [
            Domain::Real,
            Domain::NonNegative,
            Domain::Positive,
            Domain::AboveMinusOne,
            Domain::Unit,
        ] {
            let y = clamp_lanes(d, x);
            for (x, y) in x.iter().zip(y) {
                let (want, fired) = d.clamp(*x);
                assert_eq!(y.to_bits(), want.to_bits(), "{d:?} at {x}");
                assert_eq!(y != *x, fired, "{d:?} at {x}");
            }
        }
    }
}
