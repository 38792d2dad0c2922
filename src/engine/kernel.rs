//! The simulation kernel: [`LANES`] consecutive futures at a time, every
//! quantity held as one value per future (a [`Lane`]).
//!
//! Each future's arithmetic is exactly the one-future-at-a-time arithmetic
//! (same operations, same order; branches become per-lane selects), so
//! results do not depend on how futures are grouped. What the lanes buy is
//! speed: the loops over lanes compile to vector instructions, and the
//! bookkeeping (effect lists, slot lookups, index arithmetic) is paid once
//! per batch instead of once per future. The prior draws' stream hashing
//! (64-bit multiplications) runs lane by lane, the LHS permutation (32-bit)
//! on all lanes together except its rare cycle walks; the shocks run all
//! lanes together except the ziggurat's rare slow path
//! ([`super::shocks`]); the commitment floors iterate all lanes together
//! until the last one settles.
//!
//! The kernel is compiled twice (see [`run_chunk`]): portable x86-64 code,
//! and AVX2 code chosen at run time where the processor has it. Both use
//! the same IEEE operations in the same order, without fused multiply-add,
//! so their results are the same bits (tested).

// Loops run over lanes and platforms with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::draws::{Design, DrawScratch};
use super::floors;
use super::lanes::{lane_add, lane_mul, mask, Lane, Mask, LANES};
use super::paths::Block;
use super::plan::{Active, Track};
use super::shocks::ShockLanes;
use super::{streams, Engine};
use crate::fastmath;
use crate::isa::Isa;
use crate::model::EffectKind;
use std::ops::Range;

/// The smallest spend a buyer keeps (in the model's unit); below it, its
/// spend is 0. Far below any real spend (draws start at
/// [`crate::model::MIN_SPEND`]) and far above the numbers whose inverse
/// overflows.
pub const SPEND_FLOOR: f64 = 1e-200;

/// Working memory of one batch, reused across batches.
pub struct Scratch {
    /// Per prior: draws, and the draws' working memory.
    draws: Vec<Lane>,
    draw: DrawScratch,
    /// Price-performance shocks per year and platform.
    eps: Vec<Lane>,
    /// Spend shock multipliers `exp(nu eta - nu^2/2)` per year and buyer.
    eta: Vec<Lane>,
    /// Price-performance paths, preferred mixes and their `ok` flags (see
    /// `Preferences::compute`).
    a_paths: Vec<Lane>,
    pi: Vec<Lane>,
    pi_ok: Vec<Lane>,
    /// Per track (see `Engine::tracks`); per track and platform.
    spend: Vec<Lane>,
    mix: Vec<Lane>,
    floor: Vec<Lane>,
    /// Per platform: which lanes' shares are floored (scratch of
    /// `apply_floors_lanes`), and platform spend.
    floored: Vec<Mask>,
    platform_spend: Vec<Lane>,
    /// Output values: `[column][lane]`, columns in `Paths` order.
    pub out: Vec<f32>,
}

impl Scratch {
    /// Working memory sized for `e`.
    pub fn new(e: &Engine<'_>) -> Scratch {
        let (np, nb, t) = (e.n_platforms, e.n_buyers, e.horizon);
        let nr = e.tracks.len();
        let zero = [0.0; LANES];
        let per_future = e.n_scenarios * (t + 1) * (np + 1);
        Scratch {
            draws: vec![zero; e.model.priors.len()],
            draw: DrawScratch::new(e.model.priors.len()),
            eps: vec![zero; t * np],
            eta: vec![zero; t * nb],
            a_paths: vec![zero; e.prefs.path_len(e.model)],
            pi: vec![zero; e.prefs.len],
            pi_ok: vec![zero; e.prefs.n_slots() * t],
            spend: vec![zero; nr],
            mix: vec![zero; nr * np],
            floor: vec![zero; nr * np],
            floored: vec![[0; LANES]; np],
            platform_spend: vec![zero; np],
            out: vec![0.0; per_future * LANES],
        }
    }
}

/// Simulates futures `chunk` of `block` into it.
///
/// # Safety
/// `block.out` must be valid for `per_future * block.n` writes
/// (initialised or not), and no one else may write the positions of
/// futures `chunk` meanwhile.
#[inline(always)]
unsafe fn run_chunk_body<V: Variant>(
    e: &Engine<'_>,
    block: &Block,
    chunk: Range<usize>,
    design: Option<&Design>,
    sc: &mut Scratch,
    clamps: &mut [u64],
) {
    let (n, out) = (block.n, block.out);
    for start in chunk.clone().step_by(LANES) {
        let count = LANES.min(chunk.end - start);
        simulate_batch::<V>(e, block.offset + start, count, design, sc, clamps);
        if start < block.keep {
            let kept = count.min(block.keep - start);
            for (lanes, d) in sc.draws.iter().zip(e.draws.dims()) {
                if let Some(d) = d {
                    // SAFETY: `d * keep + start + kept <= dims * keep` and
                    // only this chunk writes futures `start..start + kept`.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            lanes.as_ptr(),
                            block.kept.add(d * block.keep + start),
                            kept,
                        )
                    };
                }
            }
        }
        // Transpose: each column gets `count` consecutive futures.
        for (col, lanes) in sc.out.chunks_exact(LANES).enumerate() {
            // SAFETY: `col * n + start + count <= per_future * n`
            // (`col < per_future`, `start + count <= n`), and only
            // this chunk writes futures `start..start + count`. (A
            // copy through pointers: the buffer is not initialised
            // before this writes it.)
            unsafe {
                std::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(col * n + start), count)
            };
        }
    }
}

/// Simulates futures `first .. first + count` (`count <= LANES`) in every
/// scenario into `sc.out`. Lanes past `count` repeat the last future (their
/// values are never written out).
#[inline(always)]
fn simulate_batch<V: Variant>(
    e: &Engine<'_>,
    first: usize,
    count: usize,
    design: Option<&Design>,
    sc: &mut Scratch,
    clamps: &mut [u64],
) {
    let model = e.model;
    let (np, nb, t) = (e.n_platforms, e.n_buyers, e.horizon);
    e.draws
        .draw_batch(first, count, design, &mut sc.draws, &mut sc.draw, clamps);
    let keys: [u64; LANES] = std::array::from_fn(|l| {
        let row = first + l.min(count - 1);
        let stream = design.map_or(row as u64, |d| d.shocks[row]);
        streams::shock_key(model.simulation.seed, stream)
    });
    let mut shocks = ShockLanes::seeded(&keys);
    for k in 0..t {
        for p in 0..np {
            sc.eps[k * np + p] = shocks.normals();
        }
        for b in 0..nb {
            sc.eta[k * nb + b] = shocks.normals();
        }
    }
    let d = &sc.draws;
    // The spend shock multiplier exp(nu eta - nu^2 / 2) is the same in every
    // scenario of a future: computed once, in `f32` (see `fastmath`; a
    // multiplier below about e^-103 is 0, as it is below e^-745 in `f64`).
    for (b, buyer) in model.buyers.iter().enumerate() {
        let nu = d[buyer.growth_volatility];
        for k in 0..t {
            let shock = &mut sc.eta[k * nb + b];
            let arg: [f32; LANES] =
                std::array::from_fn(|l| (nu[l] * shock[l] - 0.5 * nu[l] * nu[l]) as f32);
            let m = fastmath::exp_f32_lanes(arg);
            for l in 0..LANES {
                shock[l] = if nu[l] > 0.0 { m[l] as f64 } else { 1.0 };
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
    // SAFETY: this copy runs only where `V`'s instructions exist.
    unsafe { V::simulate_scenarios(e, sc) };
}

/// Steps 2, 4, 5 and 6 of MODEL.md section 5 for every scenario:
/// year by year, every track (buyer path) advances, then every
/// scenario's shares are written from its buyers' tracks. (Called out of
/// line, through [`Variant::simulate_scenarios`]: inlined into the batch
/// loop it measured up to a third slower.)
#[inline(always)]
fn simulate_scenarios_body<V: Variant>(e: &Engine<'_>, sc: &mut Scratch) {
    let model = e.model;
    let (np, nb, t) = (e.n_platforms, e.n_buyers, e.horizon);
    let cols = np + 1;
    let d = &sc.draws;
    for (i, track) in e.tracks.iter().enumerate() {
        let buyer = &model.buyers[track.buyer];
        sc.spend[i] = d[buyer.spend];
        for p in 0..np {
            sc.mix[i * np + p] = [buyer.mix[p]; LANES];
        }
    }
    for k in 0..=t {
        if k > 0 {
            for (i, track) in e.tracks.iter().enumerate() {
                advance::<V>(e, sc, i, track, k);
            }
        }
        for s in 0..e.n_scenarios {
            let column = (s * (t + 1) + k) * cols;
            write_year(
                &sc.spend,
                &sc.mix,
                &e.holdings,
                &e.scenario_tracks[s * nb..(s + 1) * nb],
                &mut sc.platform_spend,
                &mut sc.out[column * LANES..(column + cols) * LANES],
            );
        }
    }
}

/// Year `k` (from 1) of track `i`: steps 2, 4 and 5 for its buyer.
/// (`inline`, not `inline(always)`: the compiler inlines it either way,
/// and forced early it generates about a tenth more instructions.)
#[inline]
fn advance<V: Variant>(e: &Engine<'_>, sc: &mut Scratch, i: usize, track: &Track, k: usize) {
    let model = e.model;
    let (np, t) = (e.n_platforms, e.horizon);
    let d = &sc.draws;
    let b = track.buyer;
    let buyer = &model.buyers[b];
    let live = |a: &&Active| k >= a.from && k <= a.to;
    // 2. Spend (a buyer whose spend reached 0 stays at 0). Growth
    // shifts added from 0 in the scenario's order.
    let mut gs = [0.0; LANES];
    for a in track.growth.iter().filter(live) {
        if let EffectKind::Growth { shift, .. } = &model.effects[a.effect].kind {
            for l in 0..LANES {
                gs[l] += d[*shift][l];
            }
        }
    }
    let (g, eta) = (&d[buyer.growth], &sc.eta[(k - 1) * e.n_buyers + b]);
    let spend = &mut sc.spend[i];
    let mut next = [0.0; LANES];
    for l in 0..LANES {
        let growth = 1.0 + g[l] + gs[l];
        // max(0, growth), as a select (NaN gives 0 either way).
        let growth = if growth > 0.0 { growth } else { 0.0 };
        next[l] = spend[l] * (growth * eta[l]);
    }
    // A spend that shrinks below SPEND_FLOOR stops at 0, so that a
    // buyer's floors (commitment / spend) and the shares (platform
    // spend / market) never divide by a number that is almost 0.
    for l in 0..LANES {
        let s = if spend[l] == 0.0 { spend[l] } else { next[l] };
        spend[l] = if s < SPEND_FLOOR { 0.0 } else { s };
    }
    // 4. Inertia towards the slot's preferred mix (steps 1 and 3); a
    // platform outside the buyer's list has preferred share 0. Buyers
    // with no spend, or no defined preferred mix (whose row `compute`
    // leaves at 0), keep their mix: their rate is 0, and
    // `m * (1 - 0) + 0 * 0` is `m` exactly.
    let ok = &sc.pi_ok[track.slot * t + k - 1];
    let list = &e.prefs.platforms[b];
    let slot = &e.prefs.slots[track.slot];
    let pref = &sc.pi[slot.offset + (k - 1) * list.len()..][..list.len()];
    let mut rate = [0.0; LANES];
    let mut keep = [0.0; LANES];
    let (lambda, spend) = (&d[buyer.agility], &sc.spend[i]);
    for l in 0..LANES {
        // ok is 1 or 0, lambda finite: lambda * ok is lambda or 0.
        // (Both sides computed, then selected: a select
        // vectorises where a branch would not.)
        let r = lambda[l] * ok[l];
        rate[l] = if spend[l] != 0.0 { r } else { 0.0 };
        keep[l] = 1.0 - rate[l];
    }
    let mix = &mut sc.mix[i * np..(i + 1) * np];
    for &p in &e.support[b] {
        mix[p] = lane_mul(mix[p], keep);
    }
    for (&p, x) in list.iter().zip(pref) {
        mix[p] = lane_add(mix[p], lane_mul(rate, *x));
    }
    // 5. Commitment floors, summed from 0 in the scenario's order.
    if !track.commits.iter().any(|a| live(&a)) {
        return;
    }
    // Only the cells of the track's commitments are ever written
    // (the others stay 0): those are cleared, live or not.
    let floor = &mut sc.floor[i * np..(i + 1) * np];
    for a in &track.commits {
        if let EffectKind::Commitment { platform, .. } = &model.effects[a.effect].kind {
            floor[*platform] = [0.0; LANES];
        }
    }
    // Lanes with spend get floors (and are floored below).
    let mut has_floor: Mask = [0; LANES];
    for a in track.commits.iter().filter(live) {
        if let EffectKind::Commitment {
            platform,
            spend: committed,
            ..
        } = &model.effects[a.effect].kind
        {
            let f = &mut floor[*platform];
            for l in 0..LANES {
                let on = mask(spend[l] > 0.0);
                let added = f[l] + d[*committed][l] / spend[l];
                f[l] = if on != 0 { added } else { f[l] };
                has_floor[l] |= on;
            }
        }
    }
    if has_floor.iter().any(|&x| x != 0) {
        floors::apply_floors_lanes(mix, floor, &e.support[b], &has_floor, &mut sc.floored);
    }
}

/// Step 6: platform spend, market and shares of one year, into `out`
/// (`[platform shares..., market][lane]`); buyer `b`'s spend and mix
/// are those of track `track[b]`. A buyer with no spend adds
/// `0 x mix = 0` (mixes are finite).
#[inline(always)]
fn write_year(
    spend: &[Lane],
    mix: &[Lane],
    holdings: &[(usize, usize)],
    track: &[usize],
    platform_spend: &mut [Lane],
    out: &mut [f32],
) {
    let np = platform_spend.len();
    // Per platform, its buyers in order, as a sum from 0 (a buyer
    // that cannot hold the platform would add exactly 0).
    for ps in platform_spend.iter_mut() {
        *ps = [0.0; LANES];
    }
    for &(p, b) in holdings {
        let i = track[b];
        platform_spend[p] = lane_add(platform_spend[p], lane_mul(spend[i], mix[i * np + p]));
    }
    let mut market = [-0.0; LANES];
    for ps in platform_spend.iter() {
        market = lane_add(market, *ps);
    }
    let inv: Lane = std::array::from_fn(|l| {
        let r = 1.0 / market[l];
        if market[l] > 0.0 {
            r
        } else {
            0.0
        }
    });
    for (o, ps) in out.chunks_exact_mut(LANES).zip(platform_spend.iter()) {
        let share: [f32; LANES] = std::array::from_fn(|l| (ps[l] * inv[l]) as f32);
        o.copy_from_slice(&share);
    }
    // (`from_fn`, not `market.map`: the AVX2 copy left that call out
    // of line, in portable code, with a copy of its result.)
    let market: [f32; LANES] = std::array::from_fn(|l| market[l] as f32);
    out[np * LANES..(np + 1) * LANES].copy_from_slice(&market);
}

/// A compiled copy of the kernel: its bodies are `#[inline(always)]`
/// functions generic over the variant, and each variant's methods are the
/// thin wrappers that give them their instruction set. Only the vector
/// width differs: the same IEEE operations in the same order (no fused
/// multiply-add, which would round differently), so the copies give the
/// same bits (tested).
pub(crate) trait Variant {
    /// Simulates futures `chunk` of `block` into it.
    ///
    /// # Safety
    /// The processor has the variant's instructions; `block.out` is valid
    /// for `per_future * block.n` writes, and no one else writes the
    /// positions of futures `chunk` meanwhile.
    unsafe fn run_chunk(
        e: &Engine<'_>,
        block: &Block,
        chunk: Range<usize>,
        design: Option<&Design>,
        sc: &mut Scratch,
        clamps: &mut [u64],
    );

    /// [`simulate_scenarios_body`], out of line.
    ///
    /// # Safety
    /// The processor has the variant's instructions.
    unsafe fn simulate_scenarios(e: &Engine<'_>, sc: &mut Scratch);
}

/// The kernel in portable code (SSE2 on x86-64).
struct Portable;

impl Variant for Portable {
    unsafe fn run_chunk(
        e: &Engine<'_>,
        block: &Block,
        chunk: Range<usize>,
        design: Option<&Design>,
        sc: &mut Scratch,
        clamps: &mut [u64],
    ) {
        // SAFETY: the caller's contract.
        unsafe { run_chunk_body::<Self>(e, block, chunk, design, sc, clamps) }
    }

    #[inline(never)]
    unsafe fn simulate_scenarios(e: &Engine<'_>, sc: &mut Scratch) {
        simulate_scenarios_body::<Self>(e, sc)
    }
}

/// The kernel compiled for AVX2, used when the processor has it.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Variant for Avx2 {
    #[target_feature(enable = "avx2")]
    unsafe fn run_chunk(
        e: &Engine<'_>,
        block: &Block,
        chunk: Range<usize>,
        design: Option<&Design>,
        sc: &mut Scratch,
        clamps: &mut [u64],
    ) {
        // SAFETY: the caller's contract.
        unsafe { run_chunk_body::<Self>(e, block, chunk, design, sc, clamps) }
    }

    #[inline(never)]
    #[target_feature(enable = "avx2")]
    unsafe fn simulate_scenarios(e: &Engine<'_>, sc: &mut Scratch) {
        simulate_scenarios_body::<Self>(e, sc)
    }
}

/// Simulates futures `chunk` of `block` with the kernel `e.isa` names.
///
/// # Safety
/// `block.out` valid for the block's writes, and the positions of futures
/// `chunk` written by this call only.
pub(crate) unsafe fn run_chunk(
    e: &Engine<'_>,
    block: &Block,
    chunk: Range<usize>,
    design: Option<&Design>,
    sc: &mut Scratch,
    clamps: &mut [u64],
) {
    match e.isa {
        // SAFETY: the caller's contract; `Isa::Avx2` is only ever chosen by
        // `Isa::detect` on a processor with AVX2.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { Avx2::run_chunk(e, block, chunk, design, sc, clamps) },
        // SAFETY: the caller's contract.
        Isa::Portable => unsafe { Portable::run_chunk(e, block, chunk, design, sc, clamps) },
    }
}
