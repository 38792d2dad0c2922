//! The simulation kernel: [`LANES`] consecutive futures at a time, every
//! quantity held as one value per future (a [`Lane`]).
//!
//! Each future's arithmetic is exactly the one-future-at-a-time arithmetic
//! (same operations, same order; branches become per-lane selects), so
//! results do not depend on how futures are grouped. What the lanes buy is
//! speed: the loops over lanes compile to vector instructions, and the
//! bookkeeping (effect lists, slot lookups, index arithmetic) is paid once
//! per batch instead of once per future. The integer parts of the prior
//! draws (stream hashing, the LHS permutation) and the shocks (rejection
//! sampling) run lane by lane; the commitment floors iterate all lanes
//! together until the last one settles.

// Loops run over lanes and platforms with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::{streams, Active, Engine};
use crate::fastmath;
use crate::model::EffectKind;
use rand_distr::{Distribution, StandardNormal};

/// Futures simulated together.
pub const LANES: usize = 8;

/// One value per future of a batch.
pub type Lane = [f64; LANES];

/// Working memory of one batch, reused across batches.
pub struct Scratch {
    /// Per prior.
    draws: Vec<Lane>,
    /// Price-performance shocks per year and platform.
    eps: Vec<Lane>,
    /// Spend shock multipliers `exp(nu eta - nu^2/2)` per year and buyer.
    eta: Vec<Lane>,
    /// Price-performance paths, preferred mixes and their `ok` flags (see
    /// `Preferences::compute`).
    a_paths: Vec<Lane>,
    pi: Vec<Lane>,
    pi_ok: Vec<Lane>,
    /// Per buyer; per buyer and platform.
    spend: Vec<Lane>,
    growth_shift: Vec<Lane>,
    mix: Vec<Lane>,
    floor: Vec<Lane>,
    has_floor: Vec<[bool; LANES]>,
    floored: Vec<[bool; LANES]>,
    platform_spend: Vec<Lane>,
    /// Output values: `[column][lane]`, columns in `Paths` order.
    pub out: Vec<f32>,
}

impl Scratch {
    /// Working memory sized for `e`.
    pub fn new(e: &Engine<'_>) -> Scratch {
        let (np, nb, t) = (e.n_platforms, e.n_buyers, e.horizon);
        let zero = [0.0; LANES];
        let per_future = e.n_scenarios * (t + 1) * (np + 1);
        Scratch {
            draws: vec![zero; e.model.priors.len()],
            eps: vec![zero; t * np],
            eta: vec![zero; t * nb],
            a_paths: vec![zero; e.prefs.path_len(e.model)],
            pi: vec![zero; e.prefs.len],
            pi_ok: vec![zero; e.prefs.n_slots() * t],
            spend: vec![zero; nb],
            growth_shift: vec![zero; nb],
            mix: vec![zero; nb * np],
            floor: vec![zero; nb * np],
            has_floor: vec![[false; LANES]; nb],
            floored: vec![[false; LANES]; np],
            platform_spend: vec![zero; np],
            out: vec![0.0; per_future * LANES],
        }
    }
}

/// Simulates futures `first .. first + count` (`count <= LANES`) in every
/// scenario into `sc.out`. Lanes past `count` repeat the last future (their
/// values are never written out).
pub fn simulate_batch(
    e: &Engine<'_>,
    first: usize,
    count: usize,
    sc: &mut Scratch,
    clamps: &mut [u64],
) {
    let model = e.model;
    let (np, nb, t) = (e.n_platforms, e.n_buyers, e.horizon);
    e.draw_batch(first, count, &mut sc.draws, clamps);
    for l in 0..LANES {
        let i = first + l.min(count - 1);
        let mut rng = streams::shock_rng(model.simulation.seed, i as u64);
        for k in 0..t {
            for p in 0..np {
                sc.eps[k * np + p][l] = StandardNormal.sample(&mut rng);
            }
            for b in 0..nb {
                sc.eta[k * nb + b][l] = StandardNormal.sample(&mut rng);
            }
        }
    }
    let d = &sc.draws;
    // The spend shock multiplier exp(nu eta - nu^2 / 2) is the same in every
    // scenario of a future: computed once.
    for (b, buyer) in model.buyers.iter().enumerate() {
        let nu = d[buyer.growth_volatility];
        for k in 0..t {
            let shock = &mut sc.eta[k * nb + b];
            for l in 0..LANES {
                let m = fastmath::exp(nu[l] * shock[l] - 0.5 * nu[l] * nu[l]);
                shock[l] = if nu[l] > 0.0 { m } else { 1.0 };
            }
        }
    }
    e.prefs.compute(
        model,
        &sc.draws,
        &sc.eps,
        &mut sc.a_paths,
        &mut sc.pi,
        &mut sc.pi_ok,
    );
    for (s, active) in e.scenario_effects.iter().enumerate() {
        simulate_scenario(e, sc, active, s);
    }
}

/// Steps 2, 4, 5 and 6 of MODEL.md section 5 for scenario `s`. (Kept out
/// of line: inlined into the batch loop it measured up to a third slower.)
#[inline(never)]
fn simulate_scenario(e: &Engine<'_>, sc: &mut Scratch, active: &[Active], s: usize) {
    let model = e.model;
    let (np, nb, t) = (e.n_platforms, e.n_buyers, e.horizon);
    let cols = np + 1;
    let d = &sc.draws;
    for (b, buyer) in model.buyers.iter().enumerate() {
        sc.spend[b] = d[buyer.spend];
        for p in 0..np {
            sc.mix[b * np + p] = [buyer.mix[p]; LANES];
        }
    }
    let column = |k: usize| (s * (t + 1) + k) * cols;
    write_year(
        &sc.spend,
        &sc.mix,
        &e.holders,
        &mut sc.platform_spend,
        &mut sc.out[column(0) * LANES..(column(0) + cols) * LANES],
    );
    for k in 1..=t {
        // Active growth shifts and commitments this year.
        sc.growth_shift.iter_mut().for_each(|x| *x = [0.0; LANES]);
        let mut any_commit = false;
        for a in active {
            if k < a.from || k > a.to {
                continue;
            }
            match &model.effects[a.effect].kind {
                EffectKind::Growth { buyers, shift } => {
                    for &b in buyers {
                        for l in 0..LANES {
                            sc.growth_shift[b][l] += d[*shift][l];
                        }
                    }
                }
                EffectKind::Commitment { .. } => any_commit = true,
                _ => {}
            }
        }
        // 2. Spend (a buyer whose spend reached 0 stays at 0).
        for (b, buyer) in model.buyers.iter().enumerate() {
            let (g, gs, eta) = (
                &d[buyer.growth],
                &sc.growth_shift[b],
                &sc.eta[(k - 1) * nb + b],
            );
            let spend = &mut sc.spend[b];
            let mut next = [0.0; LANES];
            for l in 0..LANES {
                let growth = 1.0 + g[l] + gs[l];
                // max(0, growth), as a select (NaN gives 0 either way).
                let growth = if growth > 0.0 { growth } else { 0.0 };
                next[l] = spend[l] * (growth * eta[l]);
            }
            for l in 0..LANES {
                spend[l] = if spend[l] == 0.0 { spend[l] } else { next[l] };
            }
        }
        // 4. Inertia towards the slot's preferred mix (steps 1 and 3); a
        // platform outside the buyer's list has preferred share 0. Buyers
        // with no spend, or no defined preferred mix (whose row `compute`
        // leaves at 0), keep their mix: their rate is 0, and
        // `m * (1 - 0) + 0 * 0` is `m` exactly.
        for (b, buyer) in model.buyers.iter().enumerate() {
            let slot_id = e.prefs.scenario_slots[s * nb + b];
            let ok = &sc.pi_ok[slot_id * t + k - 1];
            let list = &e.prefs.platforms[b];
            let slot = &e.prefs.slots[slot_id];
            let pref = &sc.pi[slot.offset + (k - 1) * list.len()..][..list.len()];
            let mut rate = [0.0; LANES];
            let mut keep = [0.0; LANES];
            let (lambda, spend) = (&d[buyer.agility], &sc.spend[b]);
            for l in 0..LANES {
                // ok is 1 or 0, lambda finite: lambda * ok is lambda or 0.
                rate[l] = if spend[l] != 0.0 {
                    lambda[l] * ok[l]
                } else {
                    0.0
                };
                keep[l] = 1.0 - rate[l];
            }
            let mix = &mut sc.mix[b * np..(b + 1) * np];
            for &p in &e.support[b] {
                let m = &mut mix[p];
                for l in 0..LANES {
                    m[l] *= keep[l];
                }
            }
            for (&p, x) in list.iter().zip(pref) {
                let m = &mut mix[p];
                for l in 0..LANES {
                    m[l] += rate[l] * x[l];
                }
            }
        }
        // 5. Commitment floors.
        if any_commit {
            // Only committed (buyer, platform) cells can hold a floor.
            for &(b, p) in &e.committed {
                sc.floor[b * np + p] = [0.0; LANES];
                sc.has_floor[b] = [false; LANES];
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
                    for l in 0..LANES {
                        if sc.spend[*buyer][l] > 0.0 {
                            sc.floor[buyer * np + platform][l] +=
                                d[*spend][l] / sc.spend[*buyer][l];
                            sc.has_floor[*buyer][l] = true;
                        }
                    }
                }
            }
            for b in 0..nb {
                if sc.has_floor[b].iter().any(|&x| x) {
                    apply_floors_lanes(
                        &mut sc.mix[b * np..(b + 1) * np],
                        &sc.floor[b * np..(b + 1) * np],
                        &e.support[b],
                        &sc.has_floor[b],
                        &mut sc.floored,
                    );
                }
            }
        }
        write_year(
            &sc.spend,
            &sc.mix,
            &e.holders,
            &mut sc.platform_spend,
            &mut sc.out[column(k) * LANES..(column(k) + cols) * LANES],
        );
    }
}

/// [`super::apply_floors`] on every lane where `active`, the lanes
/// iterating together: a lane whose pass changed nothing is done (its `c`
/// frozen), and the passes stop when every lane is. Only the platforms in
/// `support` are visited: elsewhere mix and floor are 0, which changes
/// none of the sums and is never floored. Per lane, the same arithmetic in
/// the same order as the one-lane version (tested).
fn apply_floors_lanes(
    mix: &mut [Lane],
    floor: &[Lane],
    support: &[usize],
    active: &[bool; LANES],
    floored: &mut [[bool; LANES]],
) {
    let mut fsum = [-0.0; LANES];
    for &p in support {
        for l in 0..LANES {
            fsum[l] += floor[p][l];
        }
    }
    // Lanes still iterating; lanes whose mix becomes the normalised floors.
    let mut open = [false; LANES];
    let mut normalise = [false; LANES];
    for l in 0..LANES {
        open[l] = active[l] && fsum[l] > 0.0 && fsum[l] < 1.0;
        normalise[l] = active[l] && fsum[l] >= 1.0;
    }
    let iterating = open;
    floored.iter_mut().for_each(|x| *x = [false; LANES]);
    let mut c = [1.0; LANES];
    for _ in 0..=mix.len() {
        if !open.iter().any(|&x| x) {
            break;
        }
        let (mut fixed, mut free) = ([0.0; LANES], [0.0; LANES]);
        for &p in support {
            for l in 0..LANES {
                if floored[p][l] {
                    fixed[l] += floor[p][l];
                } else {
                    free[l] += mix[p][l];
                }
            }
        }
        for l in 0..LANES {
            if !open[l] {
                continue;
            }
            if free[l] <= 0.0 {
                // Every share floored yet the floors sum below 1 (only
                // through rounding): normalise the floors.
                open[l] = false;
                normalise[l] = true;
                continue;
            }
            c[l] = ((1.0 - fixed[l]) / free[l]).min(1.0);
            let mut changed = false;
            for &p in support {
                if !floored[p][l] && c[l] * mix[p][l] < floor[p][l] {
                    floored[p][l] = true;
                    changed = true;
                }
            }
            open[l] = changed;
        }
    }
    for &p in support {
        for l in 0..LANES {
            if normalise[l] {
                mix[p][l] = floor[p][l] / fsum[l];
            } else if iterating[l] {
                mix[p][l] = if floored[p][l] {
                    floor[p][l]
                } else {
                    c[l] * mix[p][l]
                };
            }
        }
    }
}

/// Step 6: platform spend, market and shares of one year, into `out`
/// (`[platform shares..., market][lane]`). A buyer with no spend adds
/// `0 x mix = 0` (mixes are finite).
fn write_year(
    spend: &[Lane],
    mix: &[Lane],
    holders: &[Vec<usize>],
    platform_spend: &mut [Lane],
    out: &mut [f32],
) {
    let np = platform_spend.len();
    for (p, ps) in platform_spend.iter_mut().enumerate() {
        // Buyers in order, as a sum from 0 (a buyer that cannot hold the
        // platform would add exactly 0).
        let mut acc = [0.0; LANES];
        for &b in &holders[p] {
            let (s, m) = (&spend[b], &mix[b * np + p]);
            for l in 0..LANES {
                acc[l] += s[l] * m[l];
            }
        }
        *ps = acc;
    }
    let mut market = [-0.0; LANES];
    for ps in platform_spend.iter() {
        for l in 0..LANES {
            market[l] += ps[l];
        }
    }
    let mut inv = [0.0; LANES];
    for l in 0..LANES {
        inv[l] = if market[l] > 0.0 {
            1.0 / market[l]
        } else {
            0.0
        };
    }
    for (o, ps) in out.chunks_exact_mut(LANES).zip(platform_spend.iter()) {
        for l in 0..LANES {
            o[l] = (ps[l] * inv[l]) as f32;
        }
    }
    for l in 0..LANES {
        out[np * LANES + l] = market[l] as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lane version of the floors equals the one-lane version, bit for
    /// bit, on rows that need zero to several passes, floors past 1 and
    /// inactive lanes.
    #[test]
    fn floors_in_lanes_match_one_lane() {
        let mut x: u64 = 99;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let np = 6;
        for round in 0..200 {
            let mut mix = vec![[0.0; LANES]; np];
            let mut floor = vec![[0.0; LANES]; np];
            let mut active = [false; LANES];
            for l in 0..LANES {
                let raw: Vec<f64> = (0..np).map(|_| next().powi(3)).collect();
                let total: f64 = raw.iter().sum();
                let scale = [0.3, 0.9, 1.4][(round + l) % 3];
                for p in 0..np {
                    mix[p][l] = raw[p] / total;
                    floor[p][l] = if next() < 0.4 {
                        scale * next() / 2.0
                    } else {
                        0.0
                    };
                }
                active[l] = next() < 0.8;
            }
            let mut want = mix.clone();
            for l in 0..LANES {
                if !active[l] {
                    continue;
                }
                let mut m: Vec<f64> = (0..np).map(|p| want[p][l]).collect();
                let f: Vec<f64> = (0..np).map(|p| floor[p][l]).collect();
                super::super::apply_floors(&mut m, &f, &mut vec![false; np]);
                for p in 0..np {
                    want[p][l] = m[p];
                }
            }
            let all: Vec<usize> = (0..np).collect();
            apply_floors_lanes(
                &mut mix,
                &floor,
                &all,
                &active,
                &mut vec![[false; LANES]; np],
            );
            for p in 0..np {
                for l in 0..LANES {
                    assert_eq!(mix[p][l].to_bits(), want[p][l].to_bits(), "round {round}");
                }
            }
        }
    }
}
