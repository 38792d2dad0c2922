//! The yearly shocks (`eps`, `eta`) of a batch of futures: standard normal
//! draws, one generator per future, computed for all futures of a batch at
//! once.
//!
//! Future `i`'s generator is rand's `Xoshiro256PlusPlus::seed_from_u64(k)`
//! (`k` from [`super::streams::shock_key`]) and its normals are
//! rand_distr's `StandardNormal` (the 256-layer ziggurat). Both are
//! reimplemented here over lanes, one future per lane, because the scalar
//! versions cannot be vectorised and were a fifth of the simulation's
//! instructions: the generator step and the ziggurat's common case (about
//! 99% of draws) run on all lanes together, and a lane that needs the
//! ziggurat's rare slow path finishes its draw on its own, consuming its
//! own stream exactly as rand_distr would. Each lane's numbers are
//! therefore bit for bit those of rand and rand_distr (tested), which
//! remain the definition.

// Loops run over lanes with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::lanes::{Lane, LANES};
use super::ziggurat_tables::{ZIG_NORM_F, ZIG_NORM_R, ZIG_NORM_X};

/// The Xoshiro256++ states of a batch's futures, `s[word][lane]`.
pub struct ShockLanes {
    s: [[u64; LANES]; 4],
}

impl ShockLanes {
    /// The generators `Xoshiro256PlusPlus::seed_from_u64(keys[l])`: the
    /// four state words are SplitMix64 outputs of the key.
    #[inline(always)]
    pub fn seeded(keys: &[u64; LANES]) -> ShockLanes {
        const PHI: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut s = [[0u64; LANES]; 4];
        for l in 0..LANES {
            let mut state = keys[l];
            for word in s.iter_mut() {
                state = state.wrapping_add(PHI);
                word[l] = super::streams::mix64(state);
            }
        }
        ShockLanes { s }
    }

    /// The next output of every lane's generator.
    #[inline(always)]
    fn next(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = xoshiro_step(&mut s0[l], &mut s1[l], &mut s2[l], &mut s3[l]);
        }
        out
    }

    /// The next output of lane `l`'s generator alone.
    fn next_lane(&mut self, l: usize) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        xoshiro_step(&mut s0[l], &mut s1[l], &mut s2[l], &mut s3[l])
    }

    /// One standard normal per lane.
    #[inline(always)]
    pub fn normals(&mut self) -> Lane {
        const { assert!(LANES <= 64) };
        let bits = self.next();
        let mut x = [0.0; LANES];
        // Bit `l` set: lane `l`'s first candidate was rejected. (A bit
        // mask rather than flags: the lanes that need the slow path are
        // visited without a branch per lane, which the processor would
        // mispredict for the one lane in a hundred.)
        let mut rejected = 0u64;
        for l in 0..LANES {
            let (i, u) = layer_and_u(bits[l]);
            x[l] = u * ZIG_NORM_X[i];
            // (x is never NaN: u is in [-1, 1), the table finite.)
            rejected |= u64::from(x[l].abs() >= ZIG_NORM_X[i + 1]) << l;
        }
        while rejected != 0 {
            let l = rejected.trailing_zeros() as usize;
            x[l] = self.rest_of_draw(l, bits[l]);
            rejected &= rejected - 1;
        }
        x
    }

    /// rand_distr's ziggurat for lane `l`, from its rejected first
    /// candidate `bits` on: the base strip's tail, the wedge test, and new
    /// candidates until one is accepted.
    #[cold]
    #[inline(never)]
    fn rest_of_draw(&mut self, l: usize, mut bits: u64) -> f64 {
        loop {
            let (i, u) = layer_and_u(bits);
            let x = u * ZIG_NORM_X[i];
            if x.abs() < ZIG_NORM_X[i + 1] {
                return x;
            }
            if i == 0 {
                return self.tail(l, u);
            }
            // rand's `random::<f64>()`: 53 bits in [0, 1).
            let v = (self.next_lane(l) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            if ZIG_NORM_F[i + 1] + (ZIG_NORM_F[i] - ZIG_NORM_F[i + 1]) * v < (-x * x / 2.0).exp() {
                return x;
            }
            bits = self.next_lane(l);
        }
    }

    /// The tail beyond `R` (Marsaglia 1964), as rand_distr draws it.
    fn tail(&mut self, l: usize, u: f64) -> f64 {
        let (mut x, mut y) = (1.0f64, 0.0f64);
        while -2.0 * y < x * x {
            let x_ = self.open01(l);
            let y_ = self.open01(l);
            x = x_.ln() / ZIG_NORM_R;
            y = y_.ln();
        }
        if u < 0.0 {
            x - ZIG_NORM_R
        } else {
            ZIG_NORM_R - x
        }
    }

    /// rand's `Open01` for `f64`: 52 bits, in (0, 1).
    fn open01(&mut self, l: usize) -> f64 {
        let fraction = self.next_lane(l) >> 12;
        f64::from_bits(fraction | (1023u64 << 52)) - (1.0 - f64::EPSILON / 2.0)
    }
}

/// One Xoshiro256++ step on the state words `s0..s3`: its output, and the
/// state advanced (Blackman & Vigna; as rand's `Xoshiro256PlusPlus`).
#[inline(always)]
fn xoshiro_step(s0: &mut u64, s1: &mut u64, s2: &mut u64, s3: &mut u64) -> u64 {
    let out = s0.wrapping_add(*s3).rotate_left(23).wrapping_add(*s0);
    let t = *s1 << 17;
    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = s3.rotate_left(45);
    out
}

/// The ziggurat layer (8 low bits) and the symmetric uniform in [-1, 1)
/// (52 high bits) of one generator output.
#[inline(always)]
fn layer_and_u(bits: u64) -> (usize, f64) {
    let i = (bits & 0xff) as usize;
    let u = f64::from_bits((bits >> 12) | (1024u64 << 52)) - 3.0;
    (i, u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};

    /// Every lane's normals are rand_distr's, bit for bit, over enough
    /// draws (800,000) to take the slow path tens of thousands of times and
    /// the tail beyond R hundreds of times.
    #[test]
    fn lanes_reproduce_rand_distr() {
        let keys: [u64; LANES] =
            std::array::from_fn(|l| super::super::streams::mix64(l as u64 + 7));
        let mut lanes = ShockLanes::seeded(&keys);
        let mut rngs: Vec<Xoshiro256PlusPlus> = keys
            .iter()
            .map(|&k| Xoshiro256PlusPlus::seed_from_u64(k))
            .collect();
        let mut beyond_r = 0;
        for _ in 0..100_000 {
            let x = lanes.normals();
            for l in 0..LANES {
                let want: f64 = StandardNormal.sample(&mut rngs[l]);
                assert_eq!(x[l].to_bits(), want.to_bits());
                beyond_r += (x[l].abs() > ZIG_NORM_R) as usize;
            }
        }
        assert!(beyond_r > 100, "tail reached {beyond_r} times");
        // The streams are still in step afterwards.
        for l in 0..LANES {
            assert_eq!(lanes.next_lane(l), rngs[l].random::<u64>());
        }
    }
}
