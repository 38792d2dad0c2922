//! The views a summary reports (MODEL.md section 6): `all`, each deal
//! outcome's marginal and each scenario, as weighted sets of scenarios; the
//! scenario pairs behind each deal's impact; and which scenarios are
//! identical through a year (so their columns are summarised once).

use crate::model::{EffectId, Model};
use crate::scenario::Scenario;

/// A set of scenarios with weights summing to 1.
#[derive(Debug, Clone)]
pub struct View {
    /// `all`, `deal=outcome`, or a scenario name.
    pub name: String,
    /// What it is.
    pub kind: ViewKind,
    /// `(scenario index, weight)`.
    pub members: Vec<(usize, f64)>,
}

/// What a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// Every scenario weighted by its probability.
    All,
    /// The marginal of outcome `.1` of deal `.0`.
    Outcome(usize, usize),
    /// One scenario.
    Scenario(usize),
}

/// The views in report order: `all`, every deal outcome, every scenario
/// (but a scenario that is also an outcome's marginal, in a one-deal model,
/// appears once, as the marginal).
pub fn views(model: &Model, scenarios: &[Scenario]) -> Vec<View> {
    let mut out = vec![View {
        name: "all".into(),
        kind: ViewKind::All,
        members: scenarios
            .iter()
            .enumerate()
            .map(|(s, sc)| (s, sc.probability))
            .collect(),
    }];
    for (d, deal) in model.deals.iter().enumerate() {
        for (o, outcome) in deal.outcomes.iter().enumerate() {
            let members: Vec<(usize, f64)> = scenarios
                .iter()
                .enumerate()
                .filter(|(_, sc)| sc.outcomes[d] == o)
                .map(|(s, sc)| (s, sc.probability))
                .collect();
            if members.is_empty() {
                continue;
            }
            out.push(View {
                name: format!("{}={}", deal.id, outcome.id),
                kind: ViewKind::Outcome(d, o),
                members,
            });
        }
    }
    for (s, sc) in scenarios.iter().enumerate() {
        // With one deal a scenario is its outcome's marginal, by the same
        // name: its rows are written once.
        if out.iter().any(|v| v.name == sc.name) {
            continue;
        }
        out.push(View {
            name: sc.name.clone(),
            kind: ViewKind::Scenario(s),
            members: vec![(s, 1.0)],
        });
    }
    for v in &mut out {
        let total: f64 = v.members.iter().map(|m| m.1).sum();
        for m in &mut v.members {
            m.1 /= total;
        }
    }
    out
}

/// For each year index `k` and scenario `s`, the first scenario whose
/// paths equal `s`'s in every year up to `k`, bit for bit: the first with
/// the same effects starting by then. (A year's simulation reads only the
/// effects that have started, in the same order, on the same draws.)
pub fn identical_through(model: &Model, scenarios: &[Scenario], years: usize) -> Vec<Vec<usize>> {
    (0..years)
        .map(|k| {
            let year = model.start_year + k as i32;
            let started: Vec<Vec<EffectId>> = scenarios
                .iter()
                .map(|sc| {
                    sc.effects(model)
                        .filter(|&e| model.effects[e].from <= year)
                        .collect()
                })
                .collect();
            (0..scenarios.len())
                .map(|s| started.iter().position(|x| *x == started[s]).unwrap_or(s))
                .collect()
        })
        .collect()
}

/// A view's members in year `k`, scenarios with identical columns merged
/// into the first (weights added).
pub(super) fn merged_members(view: &View, reps: &[Vec<usize>], k: usize) -> Vec<(usize, f64)> {
    let mut out: Vec<(usize, f64)> = Vec::with_capacity(view.members.len());
    for &(s, w) in &view.members {
        let r = reps[k][s];
        match out.iter_mut().find(|m| m.0 == r) {
            Some(m) => m.1 += w,
            None => out.push((r, w)),
        }
    }
    out
}

/// The scenario pairs of a deal outcome: `(outcome scenario, baseline
/// scenario, weight)`, weights normalised; pairs whose baseline counterpart
/// has probability 0 are dropped.
pub fn impact_pairs(
    model: &Model,
    scenarios: &[Scenario],
    deal: usize,
    outcome: usize,
) -> Vec<(usize, usize, f64)> {
    let base = model.deals[deal].baseline;
    let mut pairs = Vec::new();
    for (s, sc) in scenarios.iter().enumerate() {
        if sc.outcomes[deal] != outcome {
            continue;
        }
        let mut target = sc.outcomes.clone();
        target[deal] = base;
        if let Some(b) = scenarios.iter().position(|x| x.outcomes == target) {
            pairs.push((s, b, sc.probability));
        }
    }
    let total: f64 = pairs.iter().map(|p| p.2).sum();
    for p in &mut pairs {
        p.2 /= total;
    }
    pairs
}

/// A deal outcome whose impact is reported, with its [`impact_pairs`].
#[derive(Debug, Clone)]
pub struct ImpactPlan {
    /// Deal index.
    pub deal: usize,
    /// Outcome index.
    pub outcome: usize,
    /// `(outcome scenario, baseline scenario, weight)`.
    pub pairs: Vec<(usize, usize, f64)>,
}

/// Every non-baseline outcome with at least one pair, deal by deal, in
/// the order of `impact.csv`.
pub fn impact_plans(model: &Model, scenarios: &[Scenario]) -> Vec<ImpactPlan> {
    let mut plans = Vec::new();
    for (d, deal) in model.deals.iter().enumerate() {
        for o in 0..deal.outcomes.len() {
            if o == deal.baseline {
                continue;
            }
            let pairs = impact_pairs(model, scenarios, d, o);
            if !pairs.is_empty() {
                plans.push(ImpactPlan {
                    deal: d,
                    outcome: o,
                    pairs,
                });
            }
        }
    }
    plans
}
