//! Priors prepared for millions of draws.
//!
//! Most inverse CDFs are cheap (normal and lognormal by AS 241, uniform,
//! triangular) and are used as they are. Beta, PERT and gamma quantiles need
//! an iterative solve of the incomplete beta or gamma function (about 1 µs
//! each, more than a whole simulated year): for those, the engine
//! tabulates the prior's quantile function once per run and interpolates.
//!
//! The table is laid out in the normal score `w = Phi^-1(u)` rather than in
//! `u`: quantile functions are steep near `u = 0` and `u = 1` (a gamma's
//! grows like `-ln(1 - u)`) but smooth in `w`. [`KNOTS`] equally spaced
//! knots cover `w` in `[Phi^-1(TAIL), Phi^-1(1 - TAIL)]`; a draw computes
//! `w` (AS 241, a rational function for 85% of draws) and takes the cubic
//! through the four nearest knots. Draws in the outer tails (`u < TAIL` or
//! `u > 1 - TAIL`, 2 in a million) use the exact inverse CDF.
//!
//! Accuracy check, at build time: the interpolated value at the midpoint of
//! every cell (where a cubic's error peaks) must be within
//! `TOLERANCE x (x(1 - TAIL) - x(TAIL))` of the exact quantile, or the prior
//! falls back to the exact inverse CDF. Measured on beta, PERT and gamma
//! shapes from U-shaped to J-shaped: worst 4e-11, the noise of the exact
//! quantile itself. A relative error of 1e-9 moves a share by less than
//! the `f32` it is stored in, far below Monte Carlo error at any run size.

// Loops run over lanes with one index into several arrays.
#![allow(clippy::needless_range_loop)]

use crate::fastmath::{self, norm_quantile};
use crate::prior::{Family, Prior};
use rayon::prelude::*;

/// Knots of the table.
pub const KNOTS: usize = 2048;
/// Probability in each tail drawn exactly.
pub const TAIL: f64 = 1e-6;
/// Accepted interpolation error, relative to the prior's central range.
pub const TOLERANCE: f64 = 1e-9;

/// One prior, ready to draw.
#[derive(Debug, Clone)]
pub enum Sampler {
    /// The exact inverse CDF.
    Exact(Prior),
    /// Interpolated inverse CDF, exact in the tails.
    Table(Table),
}

/// A quantile function tabulated against the normal score.
#[derive(Debug, Clone)]
pub struct Table {
    prior: Prior,
    /// The first knot `Phi^-1(TAIL)` and `1 / spacing`.
    w0: f64,
    inv_h: f64,
    /// `x(Phi(w0 + i h))` for `i` in `0..KNOTS`.
    knots: Vec<f64>,
}

/// The standard normal CDF (build time only).
fn normal_cdf(w: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-w / std::f64::consts::SQRT_2)
}

impl Table {
    /// Tabulates `prior`; `None` when the interpolation misses
    /// [`TOLERANCE`] somewhere.
    pub fn new(prior: &Prior) -> Option<Table> {
        let w0 = norm_quantile(TAIL);
        let h = -2.0 * w0 / (KNOTS - 1) as f64;
        let at = |w: f64| prior.quantile(normal_cdf(w));
        // Each knot and check is an iterative solve (about 1 µs): 4,095 of
        // them, spread over the threads (a model's distinct tabulated
        // priors are also built in parallel; nested, rayon shares the work).
        let knots: Vec<f64> = (0..KNOTS)
            .into_par_iter()
            .map(|i| at(w0 + i as f64 * h))
            .collect();
        let table = Table {
            prior: *prior,
            w0,
            inv_h: 1.0 / h,
            knots,
        };
        let scale = prior.quantile(1.0 - TAIL) - prior.quantile(TAIL);
        if !scale.is_finite() || scale <= 0.0 {
            return None;
        }
        let within = (0..KNOTS - 1).into_par_iter().all(|i| {
            let w = w0 + (i as f64 + 0.5) * h;
            let err = (table.interpolate(w) - at(w)).abs();
            !err.is_nan() && err <= TOLERANCE * scale
        });
        within.then_some(table)
    }

    /// The cubic through the four knots around `w` (the three nearest at
    /// either end of the table), for `w` within the table.
    #[inline(always)]
    fn interpolate(&self, w: f64) -> f64 {
        let s = (w - self.w0) * self.inv_h;
        // The cubic's first knot: one below the cell, kept inside the table.
        let i = (s as usize).clamp(1, KNOTS - 3) - 1;
        let f = s - (i + 1) as f64;
        let y = &self.knots[i..i + 4];
        let (fm1, fm2, fp1) = (f - 1.0, f - 2.0, f + 1.0);
        let w0 = -f * fm1 * fm2 / 6.0;
        let w1 = fp1 * fm1 * fm2 / 2.0;
        let w2 = -fp1 * f * fm2 / 2.0;
        let w3 = fp1 * f * fm1 / 6.0;
        w0 * y[0] + w1 * y[1] + w2 * y[2] + w3 * y[3]
    }
}

impl Sampler {
    /// Prepares `prior`: tabulated when its inverse CDF is iterative.
    pub fn new(prior: &Prior) -> Sampler {
        match prior.family() {
            Family::Pert { .. } | Family::Beta { .. } | Family::Gamma { .. } => {
                match Table::new(prior) {
                    Some(t) => Sampler::Table(t),
                    None => Sampler::Exact(*prior),
                }
            }
            _ => Sampler::Exact(*prior),
        }
    }

    /// The prior's value at probability `u` in (0, 1).
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        match self {
            Sampler::Exact(p) => p.quantile(u),
            Sampler::Table(t) => {
                if (TAIL..=1.0 - TAIL).contains(&u) {
                    t.interpolate(norm_quantile(u))
                } else {
                    t.prior.quantile(u)
                }
            }
        }
    }

    /// Whether its draws use normal scores: a normal or lognormal prior's,
    /// or a table's (laid out in the normal score).
    pub fn uses_normal_score(&self) -> bool {
        match self {
            Sampler::Exact(p) => {
                matches!(p.family(), Family::Normal { .. } | Family::LogNormal { .. })
            }
            Sampler::Table(_) => true,
        }
    }

    /// The probabilities at which its draws at uniforms `u` are taken: an
    /// exact prior's `F(lo) + u (F(hi) - F(lo))` (`u` itself when not
    /// truncated), or `u` for a table (whose knots include any truncation).
    /// Where [`Sampler::uses_normal_score`], their normal quantiles are the
    /// scores [`Sampler::quantile_lanes_scored`] reads.
    #[inline(always)]
    pub fn probabilities_lanes<const L: usize>(&self, u: &[f64; L]) -> [f64; L] {
        match self {
            Sampler::Exact(p) => {
                let (a, b) = p.cdf_range();
                std::array::from_fn(|l| a + u[l] * (b - a))
            }
            Sampler::Table(_) => *u,
        }
    }

    /// [`Sampler::quantile`] of `L` uniforms at once, bit-identical to it,
    /// from their probabilities `p` ([`Sampler::probabilities_lanes`]) and
    /// the normal quantiles `z` of `p` (read only where
    /// [`Sampler::uses_normal_score`]). The engine computes the scores of
    /// all its priors together ([`crate::fastmath::norm_quantile_rows`]).
    #[inline(always)]
    pub fn quantile_lanes_scored<const L: usize>(&self, p: &[f64; L], z: &[f64; L]) -> [f64; L] {
        match self {
            Sampler::Exact(prior) => {
                let mut x = family_quantile_scored(prior.family(), p, z);
                if let Some((lo, hi)) = prior.truncation() {
                    for v in x.iter_mut() {
                        *v = v.clamp(lo, hi);
                    }
                }
                x
            }
            Sampler::Table(t) => {
                let mut x = [0.0; L];
                // A table's probabilities are its uniforms.
                for ((x, &u), &w) in x.iter_mut().zip(p).zip(z) {
                    *x = if (TAIL..=1.0 - TAIL).contains(&u) {
                        t.interpolate(w)
                    } else {
                        t.prior.quantile(u)
                    };
                }
                x
            }
        }
    }

    /// Whether draws come from a table.
    pub fn is_tabulated(&self) -> bool {
        matches!(self, Sampler::Table(_))
    }
}

/// [`Family::quantile`] of `L` probabilities `p` at once, bit-identical to
/// it, given their normal scores `z = norm_quantile(p)`, which only normal
/// and lognormal priors read (the engine computes the scores of all its
/// priors together). Normal, lognormal and uniform in loops that compile to
/// vector code, the rest value by value.
#[inline(always)]
fn family_quantile_scored<const L: usize>(family: &Family, p: &[f64; L], z: &[f64; L]) -> [f64; L] {
    let mut x = [0.0; L];
    match *family {
        Family::Normal { mean, sd } => {
            for l in 0..L {
                x[l] = mean + sd * z[l];
            }
        }
        Family::LogNormal { mu, sigma } => {
            for l in 0..L {
                x[l] = fastmath::exp(mu + sigma * z[l]);
            }
        }
        Family::Uniform { min, max } => {
            for l in 0..L {
                x[l] = min + p[l] * (max - min);
            }
        }
        _ => {
            for l in 0..L {
                x[l] = family.quantile(p[l]);
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prior::parse_prior_str;

    /// Every tabulated family, including steep and skewed shapes and a
    /// truncation: the table holds its tolerance at 200,000 points, not
    /// only at the cell midpoints it was checked on.
    #[test]
    fn tables_match_the_exact_quantile() {
        for text in [
            "pert(0.05, 0.25, 0.5)",
            "pert(0, 0, 1)",
            "pert(0, 0.95, 1)",
            "beta(0.5, 0.5)",
            "beta(2, 8)",
            "beta(0.3, 3)",
            "gamma(2.5, 0.4)",
            "gamma(0.4, 1)",
            "gamma(30, 2)",
            "gamma(0.05, 1)",
            "pert(0.05, 0.2, 0.5) in [0.1, 0.3]",
        ] {
            let prior = parse_prior_str(text).unwrap();
            let s = Sampler::new(&prior);
            let scale = prior.quantile(1.0 - TAIL) - prior.quantile(TAIL);
            let n = 200_000;
            let mut worst: f64 = 0.0;
            for i in 0..n {
                let u = (i as f64 + 0.37) / n as f64;
                worst = worst.max((s.quantile(u) - prior.quantile(u)).abs() / scale);
            }
            assert!(worst <= TOLERANCE, "{text}: worst relative error {worst:e}");
        }
    }

    /// The engine's path (probabilities, then every prior's normal scores
    /// together, then the values) equals one draw at a time, bit for bit.
    #[test]
    fn lanes_match_one_at_a_time() {
        let u = [1e-9, 0.01, 0.2, 0.5, 0.77, 0.95, 0.999_999_5, 0.6];
        let texts = [
            "pert(0.05, 0.25, 0.5)",
            "25 to 40",
            "-1 to 2",
            "uniform(1, 3)",
            "triangular(0, 1, 3)",
            "1 to 3 in [1.2, 2.5]",
        ];
        let samplers: Vec<Sampler> = texts
            .iter()
            .map(|text| Sampler::new(&parse_prior_str(text).unwrap()))
            .collect();
        let p: Vec<[f64; 8]> = samplers.iter().map(|s| s.probabilities_lanes(&u)).collect();
        let mut scores = p.clone();
        crate::fastmath::norm_quantile_rows(&mut scores, &mut Default::default());
        for (((s, p), z), text) in samplers.iter().zip(&p).zip(&scores).zip(texts) {
            let x = s.quantile_lanes_scored(p, z);
            for (u, x) in u.iter().zip(x) {
                assert_eq!(s.quantile(*u).to_bits(), x.to_bits(), "{text} at {u}");
            }
        }
    }

    #[test]
    fn common_priors_are_tabulated() {
        for text in ["pert(0.05, 0.25, 0.5)", "gamma(2.5, 0.4)", "beta(2, 3)"] {
            let s = Sampler::new(&parse_prior_str(text).unwrap());
            assert!(s.is_tabulated(), "{text} fell back to the exact quantile");
        }
    }
}
