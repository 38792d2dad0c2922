//! Step 5 of MODEL.md section 5: commitment floors. The one-future
//! version states the rule; the kernel runs the lanes version, which is
//! tested to give its bits.

// Loops run over lanes and platforms with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use super::lanes::{mask, Lane, Mask, LANES};

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

/// [`apply_floors`] on every lane where `active`, the lanes
/// iterating together: a lane whose pass changed nothing is done (its `c`
/// frozen), and the passes stop when every lane is. Only the platforms in
/// `support` are visited: elsewhere mix and floor are 0, which changes
/// none of the sums and is never floored. Per lane, the same arithmetic in
/// the same order as the one-lane version (tested).
#[inline(always)]
pub fn apply_floors_lanes(
    mix: &mut [Lane],
    floor: &[Lane],
    support: &[usize],
    active: &Mask,
    floored: &mut [Mask],
) {
    let mut fsum = [-0.0; LANES];
    for &p in support {
        for l in 0..LANES {
            fsum[l] += floor[p][l];
        }
    }
    // Lanes still iterating; lanes whose mix becomes the normalised floors.
    let mut open: Mask = std::array::from_fn(|l| active[l] & mask(fsum[l] > 0.0 && fsum[l] < 1.0));
    let mut normalise: Mask = std::array::from_fn(|l| active[l] & mask(fsum[l] >= 1.0));
    let iterating = open;
    for &p in support {
        floored[p] = [0; LANES];
    }
    let mut c = [1.0; LANES];
    for _ in 0..=mix.len() {
        if open.iter().fold(0, |a, &x| a | x) == 0 {
            break;
        }
        // Adding +0 leaves a sum that starts at +0 unchanged: these
        // are the sums of the floored floors and the free shares
        // (masking a value's bits keeps it or gives +0).
        let (mut fixed, mut free) = ([0.0; LANES], [0.0; LANES]);
        for &p in support {
            for l in 0..LANES {
                fixed[l] += f64::from_bits(floor[p][l].to_bits() & floored[p][l]);
                free[l] += f64::from_bits(mix[p][l].to_bits() & !floored[p][l]);
            }
        }
        // Lanes taking a pass now. A lane whose free shares sum to
        // 0 or less has every share floored yet floors summing below 1
        // (only through rounding): its mix becomes the normalised floors.
        let mut step = [0; LANES];
        for l in 0..LANES {
            let empty = open[l] & mask(free[l] <= 0.0);
            normalise[l] |= empty;
            step[l] = open[l] & !empty;
            let next = ((1.0 - fixed[l]) / free[l]).min(1.0);
            c[l] = if step[l] != 0 { next } else { c[l] };
        }
        let mut changed = [0; LANES];
        for &p in support {
            for l in 0..LANES {
                let newly = step[l] & !floored[p][l] & mask(c[l] * mix[p][l] < floor[p][l]);
                floored[p][l] |= newly;
                changed[l] |= newly;
            }
        }
        for l in 0..LANES {
            open[l] = step[l] & changed[l];
        }
    }
    for &p in support {
        for l in 0..LANES {
            let normalised = floor[p][l] / fsum[l];
            let scaled = c[l] * mix[p][l];
            let floored_mix = if floored[p][l] != 0 {
                floor[p][l]
            } else {
                scaled
            };
            mix[p][l] = if normalise[l] != 0 {
                normalised
            } else if iterating[l] != 0 {
                floored_mix
            } else {
                mix[p][l]
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The lane version of the floors equals the one-lane version, bit for
    /// bit, on rows that need zero to several passes, floors past 1 and
    /// inactive lanes.
    #[test]
    fn floors_in_lanes_match_one_lane() {
        let mut rng = crate::test_util::Lcg(99);
        let mut next = || rng.next_f64();
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
                apply_floors(&mut m, &f, &mut vec![false; np]);
                for p in 0..np {
                    want[p][l] = m[p];
                }
            }
            let all: Vec<usize> = (0..np).collect();
            apply_floors_lanes(
                &mut mix,
                &floor,
                &all,
                &active.map(mask),
                &mut vec![[0; LANES]; np],
            );
            for p in 0..np {
                for l in 0..LANES {
                    assert_eq!(mix[p][l].to_bits(), want[p][l].to_bits(), "round {round}");
                }
            }
        }
    }
}
