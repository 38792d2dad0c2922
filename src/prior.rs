//! Priors (MODEL.md section 4): parsing the string and table forms, and
//! drawing by inverse CDF from one uniform number.
//!
//! A [`Prior`] is a value type that cannot be wrong once built: its
//! constructor checks every parameter (NaN-safe) and sampling cannot fail.

// NaN-safe parameter checks read `!(x > 0.0)` on purpose: NaN fails them.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::fastmath;
use statrs::function::beta::{beta_reg, ln_beta};
use statrs::function::erf::erfc;
use statrs::function::gamma::{gamma_lr, ln_gamma};
use std::fmt;

/// Shape parameters accepted for beta and gamma priors: their inverse CDFs
/// (iterative solves of the incomplete beta and gamma functions) are exact
/// and quick there; far outside it, the functions lose their accuracy.
pub const SHAPES: std::ops::RangeInclusive<f64> = 0.01..=10_000.0;

/// The standard normal 95% quantile, used by `"a to b"` (a 90% interval).
pub const Z95: f64 = 1.644_853_626_951_472_2;

/// The forms a prior string may take, shown in error messages.
pub const ACCEPTED_FORMS: &str = "a number, \"a to b\", \"normal(mean, sd)\", \"lognormal(mu, sigma)\", \
\"uniform(min, max)\", \"triangular(min, mode, max)\", \"pert(min, mode, max)\", \"beta(alpha, beta)\", \
\"gamma(shape, scale)\", each optionally followed by \" in [lo, hi]\"";

/// A distribution family with checked parameters.
// Variant fields are the parameters named in each variant's doc.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// A fixed number.
    Fixed(f64),
    /// Normal with mean and standard deviation.
    Normal { mean: f64, sd: f64 },
    /// Lognormal: parameters of the underlying normal.
    LogNormal { mu: f64, sigma: f64 },
    /// Uniform on `[min, max]`.
    Uniform { min: f64, max: f64 },
    /// Triangular on `[min, max]` with the given mode.
    Triangular { min: f64, mode: f64, max: f64 },
    /// Beta-PERT with shape 4.
    Pert { min: f64, mode: f64, max: f64 },
    /// Beta on `[0, 1]`.
    Beta { alpha: f64, beta: f64 },
    /// Gamma with shape and scale.
    Gamma { shape: f64, scale: f64 },
}

/// How the prior was written, kept for display (`check` shows the implied
/// parameters of an interval).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spec {
    /// Written as a family directly.
    Direct,
    /// Written as a 90% interval `"low to high"`.
    Interval { low: f64, high: f64 },
}

/// A checked prior: a family, optionally truncated to `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    family: Family,
    spec: Spec,
    truncate: Option<(f64, f64)>,
    /// `F(lo)` and `F(hi)` when truncated, else `(0, 1)`.
    cdf_range: (f64, f64),
}

/// Why a prior could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PriorError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, PriorError> {
    Err(PriorError(msg.into()))
}

/// What a triangular or PERT prior needs of its parameters.
const TRI_NEEDS: &str = "min <= mode <= max and min < max";

fn finite(name: &str, x: f64) -> Result<f64, PriorError> {
    if x.is_finite() {
        Ok(x)
    } else {
        err(format!("{name} must be a finite number, found {x}"))
    }
}

impl Family {
    /// Checks parameters and builds a family (NaN and infinities rejected).
    pub fn new(name: &str, params: &[f64]) -> Result<Family, PriorError> {
        type Check = fn(&[f64]) -> bool;
        type Make = fn(&[f64]) -> Family;
        let shapes = format!(
            "in [{}, {}] (where its inverse CDF is exact)",
            SHAPES.start(),
            SHAPES.end()
        );
        let tri: Check = |p| p[0] <= p[1] && p[1] <= p[2] && p[0] < p[2];
        let (sig, needs, ok, make): (&str, String, Check, Make) = match name {
            "normal" => (
                "mean, sd",
                "sd > 0".into(),
                |p| p[1] > 0.0,
                |p| Family::Normal {
                    mean: p[0],
                    sd: p[1],
                },
            ),
            "lognormal" => (
                "mu, sigma",
                "sigma > 0".into(),
                |p| p[1] > 0.0,
                |p| Family::LogNormal {
                    mu: p[0],
                    sigma: p[1],
                },
            ),
            "uniform" => (
                "min, max",
                "min < max".into(),
                |p| p[0] < p[1],
                |p| Family::Uniform {
                    min: p[0],
                    max: p[1],
                },
            ),
            "triangular" => ("min, mode, max", TRI_NEEDS.into(), tri, |p| {
                Family::Triangular {
                    min: p[0],
                    mode: p[1],
                    max: p[2],
                }
            }),
            "pert" => ("min, mode, max", TRI_NEEDS.into(), tri, |p| Family::Pert {
                min: p[0],
                mode: p[1],
                max: p[2],
            }),
            "beta" => (
                "alpha, beta",
                format!("both {shapes}"),
                |p| SHAPES.contains(&p[0]) && SHAPES.contains(&p[1]),
                |p| Family::Beta {
                    alpha: p[0],
                    beta: p[1],
                },
            ),
            "gamma" => (
                "shape, scale",
                format!("a shape {shapes} and a scale > 0"),
                |p| SHAPES.contains(&p[0]) && p[1] > 0.0,
                |p| Family::Gamma {
                    shape: p[0],
                    scale: p[1],
                },
            ),
            other => return err(format!("unknown distribution '{other}'")),
        };
        let names: Vec<&str> = sig.split(", ").collect();
        if params.len() != names.len() {
            return err(format!(
                "{name} takes {} parameters ({sig}), found {}",
                names.len(),
                params.len()
            ));
        }
        for (i, p) in params.iter().enumerate() {
            finite(&format!("{name} parameter {}", i + 1), *p)?;
        }
        if !ok(params) {
            let found: Vec<String> = names
                .iter()
                .zip(params)
                .map(|(n, p)| format!("{n} = {p}"))
                .collect();
            return err(format!(
                "{name}({sig}) needs {needs}, found {}",
                found.join(", ")
            ));
        }
        Ok(make(params))
    }

    /// The family implied by a 90% interval: lognormal when `0 < low < high`,
    /// else normal, with the 5% and 95% quantiles at `low` and `high`.
    pub fn interval(low: f64, high: f64) -> Result<Family, PriorError> {
        finite("interval low", low)?;
        finite("interval high", high)?;
        if !(low < high) {
            return err(format!(
                "\"a to b\" needs a < b, found a = {low}, b = {high}"
            ));
        }
        if low > 0.0 {
            let (l, h) = (low.ln(), high.ln());
            Ok(Family::LogNormal {
                mu: 0.5 * (l + h),
                sigma: (h - l) / (2.0 * Z95),
            })
        } else {
            Ok(Family::Normal {
                mean: 0.5 * (low + high),
                sd: (high - low) / (2.0 * Z95),
            })
        }
    }

    /// Cumulative distribution function.
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Family::Fixed(v) => {
                if x < v {
                    0.0
                } else {
                    1.0
                }
            }
            Family::Normal { mean, sd } => std_normal_cdf((x - mean) / sd),
            Family::LogNormal { mu, sigma } => {
                if x <= 0.0 {
                    0.0
                } else {
                    std_normal_cdf((x.ln() - mu) / sigma)
                }
            }
            Family::Uniform { min, max } => ((x - min) / (max - min)).clamp(0.0, 1.0),
            Family::Triangular { min, mode, max } => {
                if x <= min {
                    0.0
                } else if x >= max {
                    1.0
                } else if x <= mode {
                    (x - min) * (x - min) / ((max - min) * (mode - min))
                } else {
                    1.0 - (max - x) * (max - x) / ((max - min) * (max - mode))
                }
            }
            Family::Pert { min, mode, max } => {
                let (a, b) = pert_shape(min, mode, max);
                beta_cdf(a, b, (x - min) / (max - min))
            }
            Family::Beta { alpha, beta } => beta_cdf(alpha, beta, x),
            Family::Gamma { shape, scale } => {
                let t = x / scale;
                if t <= 0.0 {
                    0.0
                } else if t.is_finite() {
                    gamma_lr(shape, t)
                } else {
                    1.0
                }
            }
        }
    }

    /// Inverse CDF at `u` in `[0, 1]`.
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Family::Fixed(v) => v,
            Family::Normal { mean, sd } => mean + sd * std_normal_quantile(u),
            Family::LogNormal { mu, sigma } => fastmath::exp(mu + sigma * std_normal_quantile(u)),
            Family::Uniform { min, max } => min + u * (max - min),
            Family::Triangular { min, mode, max } => {
                let fc = (mode - min) / (max - min);
                if u < fc {
                    min + (u * (max - min) * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * (max - min) * (max - mode)).sqrt()
                }
            }
            Family::Pert { min, mode, max } => {
                let (a, b) = pert_shape(min, mode, max);
                min + (max - min) * beta_quantile(a, b, u)
            }
            Family::Beta { alpha, beta } => beta_quantile(alpha, beta, u),
            Family::Gamma { shape, scale } => scale * gamma_quantile(shape, u),
        }
    }

    /// Short display of the family and its parameters.
    pub fn describe(&self) -> String {
        match *self {
            Family::Fixed(v) => format!("fixed {}", fmt_num(v)),
            Family::Normal { mean, sd } => {
                format!("normal(mean={}, sd={})", fmt_num(mean), fmt_num(sd))
            }
            Family::LogNormal { mu, sigma } => {
                format!("lognormal(mu={}, sigma={})", fmt_num(mu), fmt_num(sigma))
            }
            Family::Uniform { min, max } => format!("uniform({}, {})", fmt_num(min), fmt_num(max)),
            Family::Triangular { min, mode, max } => format!(
                "triangular({}, {}, {})",
                fmt_num(min),
                fmt_num(mode),
                fmt_num(max)
            ),
            Family::Pert { min, mode, max } => {
                let (a, b) = pert_shape(min, mode, max);
                format!(
                    "pert({}, {}, {}) = {}+{}*beta({}, {})",
                    fmt_num(min),
                    fmt_num(mode),
                    fmt_num(max),
                    fmt_num(min),
                    fmt_num(max - min),
                    fmt_num(a),
                    fmt_num(b)
                )
            }
            Family::Beta { alpha, beta } => format!("beta({}, {})", fmt_num(alpha), fmt_num(beta)),
            Family::Gamma { shape, scale } => {
                format!("gamma(shape={}, scale={})", fmt_num(shape), fmt_num(scale))
            }
        }
    }
}

/// Formats a number compactly (up to 6 significant digits).
pub fn fmt_num(x: f64) -> String {
    // Rounding noise such as 1e-17 from a quantile of 0 shows as 0.
    if x.abs() < 1e-12 {
        return "0".into();
    }
    let s = format!("{:.6}", x);
    let a = x.abs();
    if !(1e-4..1e7).contains(&a) {
        return format!("{:.4e}", x);
    }
    let digits = 6 - (a.log10().floor() as i32 + 1);
    let s2 = format!("{:.*}", digits.max(0) as usize, x);
    let t = if s2.contains('.') {
        s2.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s2
    };
    if t.is_empty() {
        s
    } else {
        t
    }
}

/// Beta-PERT shape parameters (shape 4).
fn pert_shape(min: f64, mode: f64, max: f64) -> (f64, f64) {
    let r = max - min;
    (1.0 + 4.0 * (mode - min) / r, 1.0 + 4.0 * (max - mode) / r)
}

fn std_normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn std_normal_quantile(u: f64) -> f64 {
    fastmath::norm_quantile(u)
}

fn beta_cdf(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        0.0
    } else if x >= 1.0 {
        1.0
    } else {
        beta_reg(a, b, x)
    }
}

/// Inverse of the regularized incomplete beta function: Newton steps
/// (the density is `x^(a-1) (1-x)^(b-1) / B(a, b)`) kept inside a
/// shrinking bracket of `[0, 1]`, falling back to bisection when a step
/// leaves it; at most 300 steps, so it always ends.
fn beta_quantile(a: f64, b: f64, u: f64) -> f64 {
    if u <= 0.0 {
        return 0.0;
    }
    if u >= 1.0 {
        return 1.0;
    }
    let lb = ln_beta(a, b);
    let x = (a / (a + b)).clamp(1e-12, 1.0 - 1e-12);
    newton_in_bracket(
        |x| beta_reg(a, b, x) - u,
        |x| ((a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - lb).exp(),
        x,
        (0.0, 1.0),
        300,
    )
}

/// The root of an increasing `f` in the bracket `(lo, hi)`, from `x`: Newton
/// steps (`slope` the derivative of `f`) while they stay inside the bracket,
/// which shrinks around the root at every step; bisection when a step
/// leaves it. At most `steps` steps, so it always ends.
fn newton_in_bracket(
    f: impl Fn(f64) -> f64,
    slope: impl Fn(f64) -> f64,
    mut x: f64,
    (mut lo, mut hi): (f64, f64),
    steps: usize,
) -> f64 {
    for _ in 0..steps {
        let fx = f(x);
        if fx < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let mut next = x - fx / slope(x);
        if !(next > lo && next < hi && next.is_finite()) {
            next = 0.5 * (lo + hi);
        }
        if (next - x).abs() <= 1e-15 * x.abs().max(1e-300) || hi - lo <= 1e-15 * hi {
            return next;
        }
        x = next;
    }
    x
}

/// Inverse of the regularized lower incomplete gamma function: Newton steps
/// (the density is `x^(a-1) e^-x / Gamma(a)`) kept inside a shrinking
/// bracket, falling back to bisection when a step leaves it.
fn gamma_quantile(shape: f64, u: f64) -> f64 {
    if u <= 0.0 {
        return 0.0;
    }
    if u >= 1.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0_f64, shape.max(1.0));
    while hi < 1e300 && gamma_lr(shape, hi) < u {
        lo = hi;
        hi *= 2.0;
    }
    // Wilson-Hilferty start, clamped into the bracket.
    let z = std_normal_quantile(u);
    let c = 1.0 / (9.0 * shape);
    let mut x = shape * (1.0 - c + z * c.sqrt()).powi(3);
    if !(x > lo && x < hi) {
        x = 0.5 * (lo + hi);
    }
    let lg = ln_gamma(shape);
    newton_in_bracket(
        |x| gamma_lr(shape, x) - u,
        |x| ((shape - 1.0) * x.ln() - x - lg).exp(),
        x,
        (lo, hi),
        200,
    )
}

impl Prior {
    /// A fixed value.
    pub fn fixed(v: f64) -> Prior {
        Prior {
            family: Family::Fixed(v),
            spec: Spec::Direct,
            truncate: None,
            cdf_range: (0.0, 1.0),
        }
    }

    /// Builds a prior, checking the truncation interval holds probability.
    pub fn new(
        family: Family,
        spec: Spec,
        truncate: Option<(f64, f64)>,
    ) -> Result<Prior, PriorError> {
        let mut cdf_range = (0.0, 1.0);
        if let Some((lo, hi)) = truncate {
            if lo.is_nan() || hi.is_nan() || !(lo < hi) {
                return err(format!(
                    "truncation [lo, hi] needs lo < hi, found [{lo}, {hi}]"
                ));
            }
            if let Family::Fixed(v) = family {
                if !(v >= lo && v <= hi) {
                    return err(format!(
                        "fixed value {v} lies outside its truncation [{lo}, {hi}]"
                    ));
                }
            } else {
                let (a, b) = (family.cdf(lo), family.cdf(hi));
                if !(b - a > 1e-12) {
                    return err(format!(
                        "truncation [{lo}, {hi}] holds no probability under {}",
                        family.describe()
                    ));
                }
                cdf_range = (a, b);
            }
        }
        Ok(Prior {
            family,
            spec,
            truncate,
            cdf_range,
        })
    }

    /// The family.
    pub fn family(&self) -> &Family {
        &self.family
    }

    /// How it was written.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The truncation interval, if any.
    pub fn truncation(&self) -> Option<(f64, f64)> {
        self.truncate
    }

    /// `Some(v)` when the prior is a fixed number.
    pub fn as_fixed(&self) -> Option<f64> {
        match self.family {
            Family::Fixed(v) => Some(v),
            _ => None,
        }
    }

    /// Draws by inverse CDF: the value at probability `u` in `(0, 1)`,
    /// restricted to `[F(lo), F(hi)]` when truncated.
    pub fn quantile(&self, u: f64) -> f64 {
        let (a, b) = self.cdf_range;
        let x = self.family.quantile(a + u * (b - a));
        match self.truncate {
            Some((lo, hi)) => x.clamp(lo, hi),
            None => x,
        }
    }

    /// `(F(lo), F(hi))` of the truncation, `(0, 1)` without one: a draw at
    /// uniform `u` is the family's quantile at `F(lo) + u (F(hi) - F(lo))`.
    pub fn cdf_range(&self) -> (f64, f64) {
        self.cdf_range
    }

    /// CDF of the (possibly truncated) prior.
    pub fn cdf(&self, x: f64) -> f64 {
        let (a, b) = self.cdf_range;
        if let Some((lo, hi)) = self.truncate {
            if x < lo {
                return 0.0;
            }
            if x >= hi {
                return 1.0;
            }
        }
        ((self.family.cdf(x) - a) / (b - a)).clamp(0.0, 1.0)
    }
}

impl fmt::Display for Prior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Spec::Interval { low, high } = self.spec {
            write!(f, "\"{} to {}\" = ", fmt_num(low), fmt_num(high))?;
        }
        write!(f, "{}", self.family.describe())?;
        if let Some((lo, hi)) = self.truncate {
            write!(f, " in [{}, {}]", fmt_num(lo), fmt_num(hi))?;
        }
        Ok(())
    }
}

/// Parses a prior string: `"a to b"`, `"name(p1, p2, ...)"`, or a number,
/// each optionally followed by ` in [lo, hi]`.
pub fn parse_prior_str(text: &str) -> Result<Prior, PriorError> {
    let bad = |why: &str| {
        PriorError(format!(
            "cannot read prior \"{text}\": {why}; accepted forms: {ACCEPTED_FORMS}"
        ))
    };
    let s = text.trim();
    let (body, truncate) = match s.rfind(" in ") {
        Some(pos) if s[pos + 4..].trim_start().starts_with('[') => {
            let t = s[pos + 4..].trim();
            let inner = t
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .ok_or_else(|| bad("the truncation must look like \"in [lo, hi]\""))?;
            let nums = parse_numbers(inner).map_err(|e| bad(&e))?;
            if nums.len() != 2 {
                return Err(bad("the truncation must have two numbers [lo, hi]"));
            }
            (s[..pos].trim(), Some((nums[0], nums[1])))
        }
        _ => (s, None),
    };
    let (family, spec) = if let Some((a, b)) = body.split_once(" to ") {
        let low = parse_number(a.trim()).map_err(|e| bad(&e))?;
        let high = parse_number(b.trim()).map_err(|e| bad(&e))?;
        (
            Family::interval(low, high).map_err(|e| bad(&e.0))?,
            Spec::Interval { low, high },
        )
    } else if let Some(open) = body.find('(') {
        let name = body[..open].trim();
        let inner = body[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| bad("missing closing ')'"))?;
        let nums = parse_numbers(inner).map_err(|e| bad(&e))?;
        (
            Family::new(name, &nums).map_err(|e| bad(&e.0))?,
            Spec::Direct,
        )
    } else if let Ok(v) = parse_number(body) {
        (Family::Fixed(v), Spec::Direct)
    } else {
        return Err(bad("not a number, an interval or a distribution"));
    };
    Prior::new(family, spec, truncate).map_err(|e| bad(&e.0))
}

fn parse_number(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number", s.trim()))?;
    if !v.is_finite() {
        return Err(format!("'{}' is not a finite number", s.trim()));
    }
    Ok(v)
}

fn parse_numbers(s: &str) -> Result<Vec<f64>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(parse_number).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_string_form() {
        for s in [
            "0.1",
            "-3",
            "1 to 2",
            "-1 to 2",
            "normal(0.1, 0.05)",
            "lognormal(0, 1)",
            "uniform(0, 1)",
            "triangular(0, 0.2, 1)",
            "pert(0, 0.1, 0.3)",
            "beta(2, 3)",
            "gamma(2, 0.5)",
            "normal(0.1, 0.05) in [0, 1]",
            "0 to 0.1 in [0, 0.08]",
        ] {
            parse_prior_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
    }

    #[test]
    fn rejects_bad_parameters_including_nan_and_infinity() {
        for s in [
            "normal(0, 0)",
            "normal(0, -1)",
            "normal(0, NaN)",
            "normal(inf, 1)",
            "lognormal(0, 0)",
            "uniform(1, 1)",
            "triangular(0, 2, 1)",
            "pert(1, 1, 1)",
            "beta(0, 1)",
            "gamma(1, -1)",
            "2 to 1",
            "1 to 1",
            "NaN to 1",
            "normal(0, 1) in [1, 0]",
            "normal(0, 1) in [40, 50]",
            "weibull(1, 2)",
            "normal(0, 1",
            "normal(0)",
            "bogus",
            "",
        ] {
            let e = parse_prior_str(s).expect_err(s);
            assert!(e.0.contains(s.trim()), "{e}");
            assert!(e.0.contains("accepted forms"), "{e}");
        }
    }

    #[test]
    fn interval_sets_its_5_and_95_percent_quantiles() {
        for (a, b) in [(0.5, 2.0), (25.0, 40.0), (-1.0, 1.0), (0.0, 0.1)] {
            let f = Family::interval(a, b).unwrap();
            assert!((f.quantile(0.05) - a).abs() < 1e-9, "{a} {b}");
            assert!((f.quantile(0.95) - b).abs() < 1e-9, "{a} {b}");
        }
    }

    #[test]
    fn gamma_quantile_inverts_the_cdf() {
        for shape in [0.3, 1.0, 2.5, 40.0] {
            for u in [1e-6, 0.01, 0.3, 0.5, 0.9, 0.999999] {
                let x = gamma_quantile(shape, u);
                assert!((gamma_lr(shape, x) - u).abs() < 1e-10, "{shape} {u} {x}");
            }
        }
    }
}
