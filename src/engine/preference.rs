//! Steps 1 and 3 of MODEL.md section 5: price-performance paths and each
//! buyer's preferred mix, the softmax
//! `pi_{b,p}(k) ∝ exp(beta_b A_p(k) + phi_{b,p} + affinity shifts)` over the
//! platforms the buyer can access in year `k`, for every slot of the plan
//! ([`super::plan`]: one per buyer and distinct set of the effects that
//! reach its softmax).
//!
//! Most of a run's exponentials are here. Only the platforms a buyer can
//! access are computed, and the exponentials of all slots of a future are
//! taken in one pass over one flat array (which compiles to vector code).
//! They are taken in `f32` (eight per AVX2 instruction, a polynomial of
//! half the degree; see [`crate::fastmath`]), then normalised in `f64`, so
//! each row still sums to 1 to `f64` rounding.

// Loops run over lanes and platforms with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::lanes::{Lane, LANES};
use super::plan::Preferences;
use crate::fastmath;
use crate::model::{EffectKind, Model};

impl Preferences {
    /// Scratch sizes: price-performance paths and `ok` flags.
    pub fn path_len(&self, model: &Model) -> usize {
        self.drift_sets.len() * model.horizon() * model.platforms.len()
    }

    /// Number of slots.
    pub fn n_slots(&self) -> usize {
        self.slots.len()
    }

    /// Computes every slot's preferred mixes for one batch of futures:
    /// `pi` gets the shares (0 for a platform not yet available),
    /// `ok[slot * T + k - 1]` 1 where year `k`'s softmax is defined and 0
    /// where it is not (if not,
    /// the mix stays as it was). `a` is scratch for the price-performance
    /// paths. (Inlined into each compiled copy of the kernel.)
    #[inline(always)]
    pub fn compute(
        &self,
        model: &Model,
        d: &[Lane],
        eps: &[Lane],
        a: &mut [Lane],
        pi: &mut [Lane],
        ok: &mut [Lane],
    ) {
        let np = model.platforms.len();
        let t = model.horizon();
        // 1. Price-performance paths, one per drift set.
        for (set, drifts) in self.drift_sets.iter().enumerate() {
            let path = &mut a[set * t * np..(set + 1) * t * np];
            for k in 1..=t {
                for (p, plat) in model.platforms.iter().enumerate() {
                    let mut step = d[plat.drift];
                    for x in drifts {
                        if let EffectKind::Drift { platform, shift } = &model.effects[x.effect].kind
                        {
                            if *platform == p && k >= x.from && k <= x.to {
                                for l in 0..LANES {
                                    step[l] += d[*shift][l];
                                }
                            }
                        }
                    }
                    let prev = if k > 1 {
                        path[(k - 2) * np + p]
                    } else {
                        [0.0; LANES]
                    };
                    let (vol, e) = (&d[plat.volatility], &eps[(k - 1) * np + p]);
                    let next = &mut path[(k - 1) * np + p];
                    for l in 0..LANES {
                        next[l] = prev[l] + (step[l] + vol[l] * e[l]);
                    }
                }
            }
        }
        // 3. Softmax arguments with the row maximum subtracted.
        for slot in &self.slots {
            let b = slot.buyer;
            let list = &self.platforms[b];
            let beta = &d[model.buyers[b].sensitivity];
            let path = &a[slot.drift_set * t * np..(slot.drift_set + 1) * t * np];
            for k in 1..=t {
                let z = &mut pi[slot.offset + (k - 1) * list.len()..][..list.len()];
                for (j, &p) in list.iter().enumerate() {
                    if !self.available[k * np + p] {
                        z[j] = [f64::NEG_INFINITY; LANES];
                        continue;
                    }
                    let phi = match self.base_phi[b][j] {
                        Ok(v) => [v; LANES],
                        Err(id) => d[id],
                    };
                    let ap = &path[(k - 1) * np + p];
                    for l in 0..LANES {
                        z[j][l] = beta[l] * ap[l] + phi[l];
                    }
                }
                for &(j, shift, from, to) in &slot.affinity {
                    if k >= from && k <= to {
                        for l in 0..LANES {
                            z[j][l] += d[shift][l];
                        }
                    }
                }
                let mut zmax = [f64::NEG_INFINITY; LANES];
                for zj in z.iter() {
                    for l in 0..LANES {
                        zmax[l] = zmax[l].max(zj[l]);
                    }
                }
                for zj in z.iter_mut() {
                    for l in 0..LANES {
                        zj[l] -= zmax[l];
                    }
                }
            }
        }
        // The exponentials in `f32` (arguments at most 0; see the module
        // notes), then normalised in `f64`.
        for v in pi.iter_mut() {
            let z: [f32; LANES] = std::array::from_fn(|l| v[l] as f32);
            let e = fastmath::exp_f32_lanes(z);
            *v = std::array::from_fn(|l| e[l] as f64);
        }
        for (s, slot) in self.slots.iter().enumerate() {
            let n = self.platforms[slot.buyer].len();
            for k in 0..t {
                let row = &mut pi[slot.offset + k * n..][..n];
                let mut total = [-0.0; LANES];
                for x in row.iter() {
                    for l in 0..LANES {
                        total[l] += x[l];
                    }
                }
                // No platform available, or an infinite or NaN argument:
                // not defined, and the row is set to 0.
                let fine = &mut ok[s * t + k];
                let mut inv = [0.0; LANES];
                for l in 0..LANES {
                    let defined = total[l] > 0.0 && total[l].is_finite();
                    fine[l] = if defined { 1.0 } else { 0.0 };
                    let r = 1.0 / total[l];
                    inv[l] = if defined { r } else { 0.0 };
                }
                for x in row.iter_mut() {
                    for l in 0..LANES {
                        // (0 * NaN would be NaN: select, not multiply.)
                        let y = x[l] * inv[l];
                        x[l] = if fine[l] == 1.0 { y } else { 0.0 };
                    }
                }
            }
        }
    }
}
