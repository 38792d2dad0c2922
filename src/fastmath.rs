//! Elementary functions for the engine's inner loops.
//!
//! Written in plain additions and multiplications (no fused multiply-add,
//! no lookup table, no libm call), so that:
//! - results are the same on every machine and compiler setting (IEEE
//!   addition and multiplication are correctly rounded everywhere), and
//! - a loop over an array that calls them compiles to vector code.
//!
//! [`exp_f32`] serves the simulation's yearly exponentials (the softmax
//! terms of the preferred mixes and the spend shock multipliers): their
//! relative error, about 1e-7 (the argument's rounding to `f32` included),
//! is what the paths already lose when they are stored as `f32`, and far
//! below any Monte Carlo error; the value it feeds (spend, mix, market)
//! stays `f64`. [`exp`] serves prior quantiles.

// Coefficients are written as published (AS 241 prints 20 digits).
#![allow(clippy::excessive_precision)]

/// `e^x`, within 2 ulp of the true value for results above `2^-1022`;
/// smaller results are subnormal or 0 (below `e^-745.2`), larger than
/// `f64::MAX` give infinity, NaN gives NaN.
///
/// Method: `x = n ln 2 + r` with `|r| <= ln 2 / 2` (Cody-Waite, `ln 2` split
/// in two), `e^r` by its Taylor series to degree 13 (truncation below
/// `4e-18`), and `2^n` applied in two halves so that neither overflows.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with its last 32 bits zero, so that
    // n * LN2_HI is exact for |n| < 2^20.
    const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    // Adding 1.5 * 2^52 rounds to an integer held in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-746.0, 710.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // n in [-1077, 1025]: two powers of two, each a normal number.
    // (Only additions and logical shifts on the bits: an arithmetic shift
    // of 64-bit lanes has no SSE2 or AVX2 instruction.)
    let ni = t.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(2048);
    let half = ni >> 1;
    // Exponent fields floor(n/2) + 1023 and n - floor(n/2) + 1023.
    let s1 = f64::from_bits((half - 1) << 52);
    let s2 = f64::from_bits((ni - half - 1) << 52);
    p * s1 * s2
}

/// `e^x` in `f32`, within 2 ulp (`f32`) of the true value for results above
/// `2^-126`; smaller results are subnormal or 0 (below about `e^-103.3`),
/// larger than `f32::MAX` give infinity, NaN gives NaN.
///
/// The same method as [`exp`] with `f32` constants: Cody-Waite reduction
/// to `|r| <= ln 2 / 2`, Taylor series to degree 7 (truncation below
/// `6e-9`, a tenth of an ulp), `2^n` applied in two halves. Half the width
/// of an `f64` lane and half the polynomial: four to five times cheaper
/// in vector code.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with its last 12 bits zero, so that
    // n * LN2_HI is exact for |n| < 2^12.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits.
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-104.0, 89.0);
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // n in [-150, 128]: two powers of two, each a normal number.
    let ni = t.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(256);
    let half = ni >> 1;
    // Exponent fields floor(n/2) + 127 and n - floor(n/2) + 127.
    let s1 = f32::from_bits((half - 1) << 23);
    let s2 = f32::from_bits((ni - half - 1) << 23);
    p * s1 * s2
}

/// [`exp_f32`] of `L` values: one loop over the whole array, so that vector
/// code takes as many values per instruction as its registers hold.
#[inline(always)]
pub fn exp_f32_lanes<const L: usize>(mut x: [f32; L]) -> [f32; L] {
    for v in x.iter_mut() {
        *v = exp_f32(*v);
    }
    x
}

/// The standard normal quantile `Phi^-1(u)` for `u` in (0, 1): Wichura's
/// algorithm AS 241 (PPND16, Applied Statistics 37, 1988), accurate to
/// about 1e-16 relative. A rational function of `u` in the centre
/// (`|u - 0.5| <= 0.425`, 85% of draws, no logarithm or square root) and of
/// `sqrt(-ln(min(u, 1 - u)))` in the tails. 0 and 1 give infinities.
pub fn norm_quantile(u: f64) -> f64 {
    let q = u - 0.5;
    if q.abs() <= 0.425 {
        return central(q);
    }
    let tail = if q < 0.0 { u } else { 1.0 - u };
    if tail <= 0.0 {
        return if q < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let mut r = (-tail.ln()).sqrt();
    let z = if r <= 5.0 {
        r -= 1.6;
        let num = ((((((7.745_450_142_783_414_076_4e-4 * r + 2.272_384_498_926_918_458_33e-2)
            * r
            + 2.417_807_251_774_506_117_7e-1)
            * r
            + 1.270_458_252_452_368_382_58)
            * r
            + 3.647_848_324_763_204_605_04)
            * r
            + 5.769_497_221_460_691_405_5)
            * r
            + 4.630_337_846_156_545_295_9)
            * r
            + 1.423_437_110_749_683_577_34;
        let den = ((((((1.050_750_071_644_416_843_24e-9 * r + 5.475_938_084_995_344_946e-4)
            * r
            + 1.519_866_656_361_645_719_66e-2)
            * r
            + 1.481_039_764_274_800_745_9e-1)
            * r
            + 6.897_673_349_851_000_045_5e-1)
            * r
            + 1.676_384_830_183_803_849_4)
            * r
            + 2.053_191_626_637_758_821_87)
            * r
            + 1.0;
        num / den
    } else {
        r -= 5.0;
        let num = ((((((2.010_334_399_292_288_132_65e-7 * r + 2.711_555_568_743_487_578_15e-5)
            * r
            + 1.242_660_947_388_078_438_6e-3)
            * r
            + 2.653_218_952_657_612_309_3e-2)
            * r
            + 2.965_605_718_285_048_912_3e-1)
            * r
            + 1.784_826_539_917_291_335_8)
            * r
            + 5.463_784_911_164_114_369_9)
            * r
            + 6.657_904_643_501_103_777_2;
        let den = ((((((2.044_263_103_389_939_785_64e-15 * r + 1.421_511_758_316_445_888_7e-7)
            * r
            + 1.846_318_317_510_054_681_8e-5)
            * r
            + 7.868_691_311_456_132_591e-4)
            * r
            + 1.487_536_129_085_061_485_25e-2)
            * r
            + 1.369_298_809_227_358_053_1e-1)
            * r
            + 5.998_322_065_558_879_376_9e-1)
            * r
            + 1.0;
        num / den
    };
    if q < 0.0 {
        -z
    } else {
        z
    }
}

/// AS 241's rational function for `|q| <= 0.425`, `q = u - 0.5`.
#[inline(always)]
fn central(q: f64) -> f64 {
    let r = 0.180625 - q * q;
    let num = (((((((2.509_080_928_730_122_672_7e3 * r + 3.343_057_558_358_812_810_5e4) * r
        + 6.726_577_092_700_870_085_3e4)
        * r
        + 4.592_195_393_154_987_145_7e4)
        * r
        + 1.373_169_376_550_946_112_5e4)
        * r
        + 1.971_590_950_306_551_442_7e3)
        * r
        + 1.331_416_678_917_843_774_5e2)
        * r
        + 3.387_132_872_796_366_608_0)
        * q;
    let den = ((((((5.226_495_278_852_854_561_0e3 * r + 2.872_908_573_572_194_267_4e4) * r
        + 3.930_789_580_009_271_061_0e4)
        * r
        + 2.121_379_430_158_659_586_7e4)
        * r
        + 5.394_196_021_424_751_107_7e3)
        * r
        + 6.871_870_074_920_579_083_0e2)
        * r
        + 4.231_333_070_160_091_125_2e1)
        * r
        + 1.0;
    num / den
}

/// [`norm_quantile`] of `L` values at once, bit-identical to it: the
/// central branch in a loop over all values (vector code); the values in
/// the tails (15%) are listed without branches, then taken one by one
/// (a branch per value would be mispredicted for a sixth of them).
#[inline(always)]
pub fn norm_quantile_lanes<const L: usize>(u: &[f64; L]) -> [f64; L] {
    let mut z = [0.0; L];
    for l in 0..L {
        z[l] = central(u[l] - 0.5);
    }
    let mut tails = [0u32; L];
    let mut m = 0;
    for (l, &u) in u.iter().enumerate() {
        // NaN goes to the tails, as in `norm_quantile`.
        let in_centre = (u - 0.5).abs() <= 0.425;
        tails[m] = l as u32;
        m += usize::from(!in_centre);
    }
    for &l in &tails[..m] {
        let l = l as usize;
        z[l] = norm_quantile(u[l]);
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative distance in units of `f64::EPSILON`.
    fn ulps(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs() / f64::EPSILON
    }

    #[test]
    fn exp_matches_libm_within_two_ulp() {
        let mut worst: f64 = 0.0;
        let n = 200_000;
        for i in 0..=n {
            let x = -708.0 + 1417.0 * i as f64 / n as f64;
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        // Small arguments, where the softmax lives.
        for i in 0..=n {
            let x = -20.0 + 20.0 * i as f64 / n as f64;
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }

    #[test]
    fn exp_edges() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-800.0), 0.0);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        // Subnormal results keep about their value.
        assert!((exp(-740.0) / (-740f64).exp() - 1.0).abs() < 1e-3);
        assert!(exp(709.7).is_finite());
    }

    #[test]
    fn exp_f32_matches_libm_within_two_ulp() {
        // Relative distance from the f64 exponential, in f32 ulp.
        let ulps32 = |x: f32| {
            let want = (x as f64).exp();
            ((exp_f32(x) as f64 - want) / want).abs() / f32::EPSILON as f64
        };
        let mut worst: f64 = 0.0;
        let n = 400_000;
        // Normal results: e^-87.3 is about 2^-126.
        for i in 0..=n {
            let x = -87.0 + 175.0 * i as f32 / n as f32;
            worst = worst.max(ulps32(x));
        }
        for i in 0..=n {
            let x = -20.0 + 20.0 * i as f32 / n as f32;
            worst = worst.max(ulps32(x));
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }

    #[test]
    fn exp_f32_edges() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-0.0), 1.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
        // Subnormal results keep about their value.
        assert!((exp_f32(-90.0) as f64 / (-90f64).exp() - 1.0).abs() < 1e-3);
        assert!(exp_f32(88.7).is_finite());
    }

    #[test]
    fn lanes_match_one_at_a_time() {
        let u = [1e-300, 0.01, 0.075, 0.3, 0.5, 0.925, 0.99, 1.0 - 1e-12];
        let z = norm_quantile_lanes(&u);
        for (a, b) in u.iter().zip(z) {
            assert_eq!(norm_quantile(*a).to_bits(), b.to_bits());
        }
    }

    #[test]
    fn norm_quantile_matches_statrs() {
        use statrs::function::erf::erfc_inv;
        let reference = |u: f64| -std::f64::consts::SQRT_2 * erfc_inv(2.0 * u);
        let mut worst: f64 = 0.0;
        let mut us: Vec<f64> = (1..10_000).map(|i| i as f64 / 10_000.0).collect();
        us.extend((1..300).map(|k| 10f64.powf(-(k as f64))));
        us.extend((1..16).map(|k| 1.0 - 10f64.powf(-(k as f64))));
        for u in us {
            let (got, want) = (norm_quantile(u), reference(u));
            let err = if want.abs() < 1e-3 {
                (got - want).abs() / f64::EPSILON
            } else {
                ulps(got, want)
            };
            worst = worst.max(err);
        }
        // Both sides are approximations good to ~1e-16; allow 64 ulp.
        assert!(worst <= 64.0, "worst difference {worst} ulp");
        assert_eq!(norm_quantile(0.5), 0.0);
        assert_eq!(norm_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(norm_quantile(1.0), f64::INFINITY);
    }
}
