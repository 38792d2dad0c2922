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
pub fn check(v: &mut Checker<'_>, model: &Model) {
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
    // Each buyer's largest reachable log-spend, year by year: its largest
    // base spend, growth plus every growth shift that could be active, and
    // a six-sigma sum of shocks.
    for (b, buyer) in model.buyers.iter().enumerate() {
        let ln_spend = hi(buyer.spend).ln();
        let g = hi(buyer.growth);
        let nu = hi(buyer.growth_volatility).max(0.0);
        let mut ln_growth = 0.0;
        for k in 1..=model.horizon() {
            let year = model.start_year + k as i32;
            let shifts: f64 = model
                .effects
                .iter()
                .filter(|e| e.from <= year && year <= e.to)
                .filter_map(|e| match &e.kind {
                    EffectKind::Growth { buyers, shift } if buyers.contains(&b) => Some(
                        hi(*shift).max(0.0) * buyers.iter().filter(|&&x| x == b).count() as f64,
                    ),
                    _ => None,
                })
                .sum();
            let factor = 1.0 + g.max(-1.0) + shifts;
            if factor <= 0.0 {
                break; // spend stops
            }
            ln_growth += factor.ln();
            let shock = SHOCK_SIGMAS * nu * (k as f64).sqrt();
            if ln_spend + ln_growth + shock > SPEND_LIMIT.ln() {
                let blame = if ln_growth >= shock {
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
                        power_of_ten(ln_spend + ln_growth + shock),
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
                break;
            }
        }
    }
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
