//! Values a run can represent. MODEL.md sets no limit on spend or growth,
//! but a table with NaN or infinity helps nobody: a model is refused up
//! front, naming the prior and the year, when the spend it allows could
//! leave the range sharecast simulates in. The bound is deliberately
//! generous (the one-in-a-billion ends of every prior, six-sigma shocks),
//! and a run checks its tables again before writing them.

use super::checker::Checker;
use crate::model::{EffectKind, Model, PriorId, MIN_SPEND};
use crate::prior::fmt_num;

/// The largest spend (in the model's unit) a run may reach: far inside
/// `f64` and the `f32` the paths are stored in (3.4e38), so that sums and
/// squares in the summaries stay finite.
pub const SPEND_LIMIT: f64 = 1e30;
/// The tail probability of a prior taken as its practical end.
const TAIL: f64 = 1e-9;
/// Standard deviations of the spend shocks' sum over `k` years.
const SHOCK_SIGMAS: f64 = 6.0;

/// Checks every spend figure and every buyer's reachable spend.
pub(super) fn check(v: &mut Checker<'_>, model: &Model) {
    let hi = |id: PriorId| model.priors[id].prior.quantile(1.0 - TAIL);
    let unit = &model.unit;
    for b in &model.buyers {
        let slot = &model.priors[b.spend];
        let median = slot.prior.quantile(0.5);
        if median < MIN_SPEND {
            v.err_at(
                &slot.path,
                &slot.at,
                format!(
                    "a base-year spend of {median:e} {unit} is below the smallest spend sharecast simulates ({MIN_SPEND:e} {unit}; less is rounding noise): give spend in a smaller unit (e.g. millions instead of billions)"
                ),
            );
        }
        if hi(b.spend) > SPEND_LIMIT {
            v.err_at(
                &slot.path,
                &slot.at,
                format!(
                    "a base-year spend of up to {} {unit} is above the largest sharecast simulates ({SPEND_LIMIT:e} {unit}): give spend in a larger unit",
                    fmt_num(hi(b.spend))
                ),
            );
        }
    }
    for e in &model.effects {
        if let EffectKind::Commitment { spend, .. } = e.kind {
            if hi(spend) > SPEND_LIMIT {
                let slot = &model.priors[spend];
                v.err_at(
                    &slot.path,
                    &slot.at,
                    format!(
                        "a committed spend of up to {} {unit} a year is above the largest sharecast simulates ({SPEND_LIMIT:e} {unit})",
                        fmt_num(hi(spend))
                    ),
                );
            }
        }
    }
    if !v.diags.is_empty() {
        return;
    }
    // Each buyer's largest reachable spend, year by year.
    for (b, buyer) in model.buyers.iter().enumerate() {
        let bound = log_spend_bound(model, b);
        let Some(k) = bound.iter().position(|x| *x > SPEND_LIMIT.ln()) else {
            continue;
        };
        let year = model.start_year + k as i32;
        let (g, nu) = (hi(buyer.growth), hi(buyer.growth_volatility).max(0.0));
        let shifts = growth_shifts(model, b, year);
        // Blame growth when compounding got it there, else the shocks.
        let ln_growth = bound[k] - hi(buyer.spend).ln() - SHOCK_SIGMAS * nu * (k as f64).sqrt();
        let blame = if ln_growth >= SHOCK_SIGMAS * nu * (k as f64).sqrt() {
            buyer.growth
        } else {
            buyer.growth_volatility
        };
        let slot = &model.priors[blame];
        v.err_at(
            &slot.path,
            &slot.at,
            format!(
                "buyer '{}' could reach a spend of {} {unit} by {year} (base spend up to {}, growth up to {} a year{}, growth_volatility up to {}: the one-in-a-billion ends of their priors), past the largest spend sharecast simulates ({SPEND_LIMIT:e} {unit}); narrow these priors or end the model earlier (model.end_year)",
                buyer.id,
                power_of_ten(bound[k]),
                fmt_num(hi(buyer.spend)),
                fmt_num(g),
                if shifts > 0.0 {
                    format!(" plus shifts up to {}", fmt_num(shifts))
                } else {
                    String::new()
                },
                fmt_num(nu),
            ),
        );
    }
}

/// The sum of the largest shifts of the growth effects (of every deal
/// outcome and model-wide) that list buyer `b` and are active in `year`.
fn growth_shifts(model: &Model, b: usize, year: i32) -> f64 {
    model
        .effects
        .iter()
        .filter(|e| e.from <= year && year <= e.to)
        .filter_map(|e| match &e.kind {
            EffectKind::Growth { buyers, shift } if buyers.contains(&b) => {
                let hi = model.priors[*shift].prior.quantile(1.0 - TAIL).max(0.0);
                Some(hi * buyers.iter().filter(|&&x| x == b).count() as f64)
            }
            _ => None,
        })
        .sum()
}

/// Buyer `b`'s largest reachable log-spend in each year index `0..=T`:
/// its largest base spend, grown by its largest growth plus every growth
/// shift that could be active, and a six-sigma sum of its shocks
/// (`-inf` once the growth factor reaches 0: the spend stops).
pub fn log_spend_bound(model: &Model, b: usize) -> Vec<f64> {
    let buyer = &model.buyers[b];
    let hi = |id: PriorId| model.priors[id].prior.quantile(1.0 - TAIL);
    let g = hi(buyer.growth).max(-1.0);
    let nu = hi(buyer.growth_volatility).max(0.0);
    let mut out = vec![hi(buyer.spend).ln()];
    let mut ln_growth = 0.0;
    for k in 1..=model.horizon() {
        let factor = 1.0 + g + growth_shifts(model, b, model.start_year + k as i32);
        ln_growth += if factor > 0.0 {
            factor.ln()
        } else {
            f64::NEG_INFINITY
        };
        out.push(out[0] + ln_growth + SHOCK_SIGMAS * nu * (k as f64).sqrt());
    }
    out
}

/// The range of market values a run of `model` can reach: above 0, at
/// least a billionth of the central base-year market (smaller values are
/// shown as that), and in each year index at most the sum of the buyers'
/// [`log_spend_bound`]s. From the model alone, so that sketch axes are the
/// same for every shard.
pub fn market_range(model: &Model) -> (f64, Vec<f64>) {
    let central: f64 = model
        .buyers
        .iter()
        .map(|b| model.priors[b.spend].prior.quantile(0.5))
        .sum();
    let bounds: Vec<Vec<f64>> = (0..model.buyers.len())
        .map(|b| log_spend_bound(model, b))
        .collect();
    let lo = central * 1e-9;
    let hi = (0..=model.horizon())
        .map(|k| {
            let hi: f64 = bounds.iter().map(|v| v[k].exp()).sum();
            hi.clamp(lo * 2.0, SPEND_LIMIT * model.buyers.len() as f64)
        })
        .collect();
    (lo, hi)
}

/// `e^x` as text: `2.5e30`, or `10^400` past `f64`.
fn power_of_ten(x: f64) -> String {
    let v = x.exp();
    if v.is_finite() {
        format!("{v:.1e}")
    } else {
        format!("10^{:.0}", x / std::f64::consts::LN_10)
    }
}
