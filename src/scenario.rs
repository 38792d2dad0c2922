//! The scenario tree (MODEL.md sections 2 and 6): one outcome per deal,
//! the cartesian product of outcomes, conditional probabilities, names.

use crate::model::{Deal, EffectId, Model};

/// Largest number of scenarios (before dropping those of probability 0).
pub const MAX_SCENARIOS: usize = 4096;

/// One scenario: an outcome index for every deal.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// `deal=outcome` joined by `,`, or `base` without deals.
    pub name: String,
    /// Outcome index per deal, in declaration order.
    pub outcomes: Vec<usize>,
    /// Product of the (conditional) outcome probabilities.
    pub probability: f64,
}

impl Scenario {
    /// The effects this scenario applies: the model-wide ones, then its
    /// outcomes' deal by deal in declaration order.
    pub fn effects<'a>(&'a self, model: &'a Model) -> impl Iterator<Item = EffectId> + 'a {
        model.global_effects.iter().copied().chain(
            model
                .deals
                .iter()
                .zip(&self.outcomes)
                .flat_map(|(d, &o)| d.outcomes[o].effects.iter().copied()),
        )
    }
}

/// Checks the cartesian product stays under [`MAX_SCENARIOS`].
pub fn check_count(deals: &[Deal]) -> Result<(), String> {
    let mut n: usize = 1;
    for d in deals {
        n = n.saturating_mul(d.outcomes.len().max(1));
    }
    if n > MAX_SCENARIOS {
        let sizes: Vec<String> = deals.iter().map(|d| d.outcomes.len().to_string()).collect();
        return Err(format!(
            "the deals make {n} scenarios ({}); at most {MAX_SCENARIOS} are allowed: merge outcomes or split the model",
            sizes.join(" x ")
        ));
    }
    Ok(())
}

/// Probability of one full assignment of outcomes.
pub fn probability(deals: &[Deal], outcomes: &[usize]) -> f64 {
    deals
        .iter()
        .zip(outcomes)
        .map(|(d, &o)| {
            let column = d.given.map_or(0, |g| outcomes[g]);
            d.outcomes[o].probability[column]
        })
        .product()
}

/// The name of a scenario.
pub fn name(deals: &[Deal], outcomes: &[usize]) -> String {
    if deals.is_empty() {
        return "base".to_string();
    }
    deals
        .iter()
        .zip(outcomes)
        .map(|(d, &o)| format!("{}={}", d.id, d.outcomes[o].id))
        .collect::<Vec<_>>()
        .join(",")
}

/// Every scenario of positive probability, in lexicographic order of
/// outcome indices (the first deal varies slowest).
pub fn enumerate(model: &Model) -> Vec<Scenario> {
    let deals = &model.deals;
    let mut out = Vec::new();
    let mut idx = vec![0usize; deals.len()];
    loop {
        let p = probability(deals, &idx);
        if p > 0.0 {
            out.push(Scenario {
                name: name(deals, &idx),
                outcomes: idx.clone(),
                probability: p,
            });
        }
        // Odometer increment, last deal fastest.
        let mut d = deals.len();
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < deals[d].outcomes.len() {
                break;
            }
            idx[d] = 0;
        }
    }
}
