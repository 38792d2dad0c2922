//! Elementary functions for the engine's inner loops.
//!
//! Written in plain IEEE arithmetic (additions, multiplications, divisions
//! and square roots; no fused multiply-add, no lookup table, no libm call),
//! so that:
//! - results are the same on every machine and compiler setting (those
//!   operations are correctly rounded everywhere), and
//! - a loop over an array that calls them compiles to vector code.
//!
//! [`exp_f32`] serves the simulation's yearly exponentials (the softmax
//! terms of the preferred mixes and the spend shock multipliers): their
//! relative error, about 1e-7 (the argument's rounding to `f32` included),
//! is what the paths already lose when they are stored as `f32`, and far
//! below any Monte Carlo error; the value it feeds (spend, mix, market)
//! stays `f64`. [`exp`] serves prior quantiles, [`ln`] the normal
//! quantile's tails.

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
/// `sqrt(-ln(min(u, 1 - u)))` in the tails ([`ln`] is this module's, so
/// the tails too are the same bits on every machine). 0 and 1 give
/// infinities.
pub fn norm_quantile(u: f64) -> f64 {
    let q = u - 0.5;
    if q.abs() <= 0.425 {
        central(q)
    } else {
        tail(u)
    }
}

/// AS 241 outside the centre (`|u - 0.5| > 0.425`, or NaN), without
/// branches (both rational functions computed, one selected), so that a
/// loop over many tail values compiles to vector code.
#[inline(always)]
fn tail(u: f64) -> f64 {
    let q = u - 0.5;
    let t = if q < 0.0 { u } else { 1.0 - u };
    let r = (-ln(t)).sqrt();
    let near = {
        let r = r - 1.6;
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
    };
    let far = {
        let r = r - 5.0;
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
    let z = if r <= 5.0 { near } else { far };
    // t = 0: r is infinite and both functions NaN.
    let z = if t <= 0.0 { f64::INFINITY } else { z };
    if q < 0.0 {
        -z
    } else {
        z
    }
}

/// The natural logarithm, within 1 ulp, in plain IEEE arithmetic (no
/// branch, no table): 0 gives -infinity, +infinity itself, negative
/// numbers and NaN give NaN.
///
/// Method (fdlibm's `e_log.c`, as in musl): `x = 2^k (1 + f)` with
/// `1 + f` in `[sqrt(2)/2, sqrt(2))`, `s = f / (2 + f)`, and
/// `ln(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2))` with fdlibm's degree-14
/// polynomial `R` (error below `2^-58.45`).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const LG1: f64 = 6.666_666_666_666_735_130e-1;
    const LG2: f64 = 3.999_999_999_940_941_908e-1;
    const LG3: f64 = 2.857_142_874_366_239_149e-1;
    const LG4: f64 = 2.222_219_843_214_978_396e-1;
    const LG5: f64 = 1.818_357_216_161_805_012e-1;
    const LG6: f64 = 1.531_383_769_920_937_332e-1;
    const LG7: f64 = 1.479_819_860_511_658_591e-1;
    // 2^52 as a double: its bits OR an integer below 2^52, minus itself,
    // is that integer (no integer-to-float conversion, which 64-bit
    // vector lanes lack before AVX-512).
    const TWO52: f64 = 4_503_599_627_370_496.0;
    // Subnormals scaled by 2^54 into the normal range.
    let subnormal = x < f64::MIN_POSITIVE;
    let scaled = if subnormal {
        x * 18_014_398_509_481_984.0
    } else {
        x
    };
    let bits = scaled.to_bits();
    let mantissa = bits & 0x000f_ffff_ffff_ffff;
    // 1 where 1.mantissa >= sqrt(2) (fdlibm's test on the high word): that
    // mantissa is halved and the exponent raised by one.
    let up = ((mantissa >> 32) + 0x9_5f64) >> 20;
    let exponent = (bits >> 52) + up;
    let bias = if subnormal { 1077.0 } else { 1023.0 };
    let k = (f64::from_bits(TWO52.to_bits() | exponent) - TWO52) - bias;
    let f = f64::from_bits(mantissa | ((0x3ff - up) << 52)) - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let y = s * (hfsq + r) + k * LN2_LO - hfsq + f + k * LN2_HI;
    let y = if x == 0.0 { f64::NEG_INFINITY } else { y };
    let y = if x == f64::INFINITY { x } else { y };
    if x >= 0.0 {
        y
    } else {
        f64::NAN
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

/// Working memory of [`norm_quantile_rows`], reused across calls.
#[derive(Debug, Default)]
pub struct TailScratch {
    /// Positions (`row * L + lane`) of the values in the tails.
    at: Vec<u32>,
    /// Their values, then their quantiles.
    values: Vec<f64>,
}

/// [`norm_quantile`] of every value of `rows`, in place, bit-identical to
/// it. The central branch runs row by row; the values in the tails (15%)
/// of all rows are listed and taken together in one loop, which compiles
/// to vector code (a few rows' tails, a handful of values each, would not
/// fill vectors).
#[inline(always)]
pub fn norm_quantile_rows<const L: usize>(rows: &mut [[f64; L]], scratch: &mut TailScratch) {
    const { assert!(L <= 64) };
    let TailScratch { at, values } = scratch;
    at.clear();
    values.clear();
    for (j, row) in rows.iter().enumerate() {
        // Bit `l` set: value `l` is in a tail (NaN too, as in
        // `norm_quantile`). A mask, visited bit by bit, rather than a
        // branch per value, which would be mispredicted for a sixth.
        let mut outside = 0u64;
        for (l, &u) in row.iter().enumerate() {
            let in_centre = (u - 0.5).abs() <= 0.425;
            outside |= u64::from(!in_centre) << l;
        }
        while outside != 0 {
            let l = outside.trailing_zeros() as usize;
            at.push((j * L + l) as u32);
            values.push(row[l]);
            outside &= outside - 1;
        }
    }
    for v in values.iter_mut() {
        *v = tail(*v);
    }
    for row in rows.iter_mut() {
        for u in row.iter_mut() {
            *u = central(*u - 0.5);
        }
    }
    for (&i, &z) in at.iter().zip(values.iter()) {
        rows[i as usize / L][i as usize % L] = z;
    }
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

    /// Against libm (itself within about half an ulp) over the whole
    /// positive range, subnormals included, and densely near 1 (where the
    /// result is small) and over the normal quantile's tails.
    #[test]
    fn ln_matches_libm_within_one_ulp() {
        let mut xs: Vec<f64> = (0..200_000)
            .map(|i| 2f64.powf(-1074.0 + 2097.0 * (i as f64 + 0.5) / 200_000.0))
            .collect();
        xs.extend((0..200_000).map(|i| 0.5 + 1.5 * i as f64 / 200_000.0));
        xs.extend((1..200_000).map(|i| 0.075 * i as f64 / 200_000.0));
        let mut worst: f64 = 0.0;
        for x in xs {
            let (got, want) = (ln(x), x.ln());
            // Distance in units of the spacing of doubles at `want`.
            let spacing = f64::from_bits(want.abs().to_bits() + 1) - want.abs();
            worst = worst.max((got - want).abs() / spacing);
        }
        assert!(worst <= 1.0, "worst difference {worst} ulp");
    }

    #[test]
    fn ln_edges() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f64::NEG_INFINITY).is_nan());
        assert!(ln(f64::NAN).is_nan());
        assert_eq!(ln(std::f64::consts::E), 1.0);
        assert_eq!(ln(2.0), std::f64::consts::LN_2);
        // The smallest subnormal and the largest double.
        assert!((ln(f64::from_bits(1)) / -744.440_071_921_381_3 - 1.0).abs() < 1e-15);
        assert!((ln(f64::MAX) / 709.782_712_893_384 - 1.0).abs() < 1e-15);
    }

    /// Many rows at once equal one value at a time, tails, centre, the
    /// boundary between them, 0, 1 and NaN included.
    #[test]
    fn rows_match_one_at_a_time() {
        let special = [0.0, 1.0, 0.075, 0.925, 0.075 + 1e-17, 1e-300, f64::NAN, 0.5];
        let mut rng = crate::test_util::Lcg(5);
        let mut rows: Vec<[f64; 8]> = (0..40)
            .map(|_| std::array::from_fn(|_| rng.next_f64()))
            .collect();
        rows.push(special);
        let want: Vec<[f64; 8]> = rows.iter().map(|r| r.map(norm_quantile)).collect();
        let mut scratch = TailScratch::default();
        norm_quantile_rows(&mut rows, &mut scratch);
        for (got, want) in rows.iter().zip(&want) {
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g.to_bits(), w.to_bits());
            }
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
