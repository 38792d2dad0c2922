//! `sharecast check`: a plain-text account of what a model file means.

use crate::model::{EffectId, EffectKind, Model, PriorId, Series};
use crate::prior::{fmt_num, Family};
use crate::scenario::Scenario;
use std::fmt::Write;

/// Base-year platform shares implied by each buyer's central (median)
/// spend and its mix.
pub fn base_year_shares(model: &Model) -> Vec<f64> {
    let mut v = vec![0.0; model.platforms.len()];
    for b in &model.buyers {
        let spend = model.priors[b.spend].prior.quantile(0.5);
        for (p, m) in b.mix.iter().enumerate() {
            v[p] += spend * m;
        }
    }
    let total: f64 = v.iter().sum();
    v.iter()
        .map(|x| if total > 0.0 { x / total } else { 0.0 })
        .collect()
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// A prior, its quantiles, and its dotted path (the name `--set` and
/// `sensitivity.csv` use).
fn prior_line(model: &Model, id: PriorId) -> String {
    let slot = &model.priors[id];
    let p = &slot.prior;
    match p.family() {
        Family::Fixed(v) => format!("{} (fixed)  {}", fmt_num(*v), slot.path),
        _ => format!(
            "{}  [5% {}, 50% {}, 95% {}]  {}",
            p,
            fmt_num(p.quantile(0.05)),
            fmt_num(p.quantile(0.5)),
            fmt_num(p.quantile(0.95)),
            slot.path
        ),
    }
}

/// One effect: what it does, to whom, when, and its prior.
fn effect_line(model: &Model, e: EffectId) -> String {
    let eff = &model.effects[e];
    let years = format!("{}-{}", eff.from, eff.to);
    let buyers = |bs: &[usize]| -> String {
        if bs.len() == model.buyers.len() && bs.len() > 1 {
            "*".into()
        } else {
            bs.iter()
                .map(|&b| model.buyers[b].id.as_str())
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    match &eff.kind {
        EffectKind::Commitment {
            buyer,
            platform,
            spend,
        } => format!(
            "commitment {} -> {}, {years}: spend a year ({}) {}",
            model.buyers[*buyer].id,
            model.platforms[*platform].id,
            model.unit,
            prior_line(model, *spend)
        ),
        EffectKind::Affinity {
            buyers: bs,
            platform,
            shift,
        } => format!(
            "affinity {} -> {}, {years}: shift {}",
            buyers(bs),
            model.platforms[*platform].id,
            prior_line(model, *shift)
        ),
        EffectKind::Drift { platform, shift } => format!(
            "drift {}, {years}: shift {}",
            model.platforms[*platform].id,
            prior_line(model, *shift)
        ),
        EffectKind::Growth { buyers: bs, shift } => format!(
            "growth {}, {years}: shift {}",
            buyers(bs),
            prior_line(model, *shift)
        ),
    }
}

/// Futures `check` simulates to place the observations.
pub const CHECK_FUTURES: usize = 2000;

/// The observations, each with its likelihood's mean and sd and where its
/// centre falls in the unconditioned forecast (`all`), from a short
/// simulation of at most [`CHECK_FUTURES`] futures.
pub fn observations(model: &Model, scenarios: &[Scenario]) -> String {
    let mut o = String::new();
    if model.observations.is_empty() {
        return o;
    }
    let n = model.simulation.futures.min(CHECK_FUTURES);
    let mut short = model.clone();
    short.simulation.futures = n;
    let paths = crate::engine::simulate(&short, scenarios, &|_| {});
    let rows = crate::evidence::place_observations(&short, scenarios, &paths);
    let _ = writeln!(
        o,
        "\nObserved (a normal likelihood per interval; where its centre falls in the unconditioned forecast, from a short simulation of {n} futures per scenario):"
    );
    for (obs, r) in model.observations.iter().zip(&rows) {
        let show = |x: f64| {
            if obs.series == Series::Market {
                fmt_num(x)
            } else {
                pct(x)
            }
        };
        let _ = writeln!(
            o,
            "  {:<28} {} to {}: mean {}, sd {}; forecast 5/50/95% {} / {} / {}; its centre at percentile {:.1}",
            obs.path,
            show(obs.low),
            show(obs.high),
            show(obs.mean()),
            show(obs.sd()),
            show(r.before[0]),
            show(r.before[1]),
            show(r.before[2]),
            100.0 * r.percentile
        );
    }
    o
}

/// The full description printed by `check`.
pub fn describe(model: &Model, scenarios: &[Scenario], file: &str) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "{}  ({file})", model.title);
    let _ = writeln!(
        w,
        "name {}, years {}-{} (base year {}), unit {}",
        model.name, model.start_year, model.end_year, model.start_year, model.unit
    );
    let sim = &model.simulation;
    let _ = writeln!(
        w,
        "simulation: {} futures per scenario, seed {}, sampling {}",
        sim.futures,
        sim.seed,
        sim.sampling.name()
    );
    let _ = writeln!(w, "\nPlatforms ({}):", model.platforms.len());
    for p in &model.platforms {
        let avail = p
            .available_from
            .map(|y| format!(", available from {y}"))
            .unwrap_or_default();
        let _ = writeln!(w, "  {} \"{}\"{avail}", p.id, p.label);
        let _ = writeln!(w, "    drift       {}", prior_line(model, p.drift));
        let _ = writeln!(w, "    volatility  {}", prior_line(model, p.volatility));
    }
    if !model.groups.is_empty() {
        let _ = writeln!(w, "\nGroups:");
        for g in &model.groups {
            let members: Vec<&str> = g
                .members
                .iter()
                .map(|&p| model.platforms[p].id.as_str())
                .collect();
            let _ = writeln!(w, "  {} = {}", g.id, members.join(" + "));
        }
    }
    let _ = writeln!(
        w,
        "\nBuyers ({}), spend in {} a year:",
        model.buyers.len(),
        model.unit
    );
    for b in &model.buyers {
        let _ = writeln!(w, "  {} \"{}\"", b.id, b.label);
        let _ = writeln!(w, "    spend              {}", prior_line(model, b.spend));
        let _ = writeln!(w, "    growth             {}", prior_line(model, b.growth));
        let _ = writeln!(
            w,
            "    growth_volatility  {}",
            prior_line(model, b.growth_volatility)
        );
        let _ = writeln!(
            w,
            "    sensitivity        {}",
            prior_line(model, b.sensitivity)
        );
        let _ = writeln!(w, "    agility            {}", prior_line(model, b.agility));
        let mix: Vec<String> = b
            .mix
            .iter()
            .enumerate()
            .filter(|(_, m)| **m > 0.0)
            .map(|(p, m)| format!("{} {}", model.platforms[p].id, pct(*m)))
            .collect();
        let _ = writeln!(w, "    mix                {}", mix.join(", "));
        for (p, a) in b.affinity.iter().enumerate() {
            if let Some(id) = a {
                let _ = writeln!(
                    w,
                    "    affinity {:<10} {}",
                    model.platforms[p].id,
                    prior_line(model, *id)
                );
            }
        }
    }
    let shares = base_year_shares(model);
    let _ = writeln!(
        w,
        "\nBase-year {} shares implied by central spend x mix:",
        model.start_year
    );
    for (p, s) in shares.iter().enumerate() {
        let _ = writeln!(w, "  {:<24} {:>6}", model.platforms[p].id, pct(*s));
    }
    for (g, grp) in model.groups.iter().enumerate() {
        let s: f64 = grp.members.iter().map(|&p| shares[p]).sum();
        let _ = writeln!(w, "  {:<24} {:>6}  (group)", model.groups[g].id, pct(s));
    }
    let market: f64 = model
        .buyers
        .iter()
        .map(|b| model.priors[b.spend].prior.quantile(0.5))
        .sum();
    let _ = writeln!(
        w,
        "  market (sum of central spends) {} {}",
        fmt_num(market),
        model.unit
    );

    if !model.global_effects.is_empty() {
        let _ = writeln!(
            w,
            "\nEffects in every scenario ({}):",
            model.global_effects.len()
        );
        for &e in &model.global_effects {
            let _ = writeln!(w, "  - {}", effect_line(model, e));
        }
    }
    if !model.deals.is_empty() {
        let _ = writeln!(w, "\nDeals ({}):", model.deals.len());
    }
    for d in &model.deals {
        let given = d
            .given
            .map(|g| format!(", given {}", model.deals[g].id))
            .unwrap_or_default();
        let _ = writeln!(
            w,
            "  {} \"{}\" (baseline {}{given})",
            d.id, d.label, d.outcomes[d.baseline].id
        );
        for o in &d.outcomes {
            let prob = match d.given {
                None => fmt_num(o.probability[0]),
                Some(g) => model.deals[g]
                    .outcomes
                    .iter()
                    .zip(&o.probability)
                    .map(|(go, p)| format!("{}: {}", go.id, fmt_num(*p)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let _ = writeln!(w, "    {} \"{}\"  p = {prob}", o.id, o.label);
            for &e in &o.effects {
                let _ = writeln!(w, "      - {}", effect_line(model, e));
            }
        }
    }
    let _ = writeln!(w, "\nScenarios ({}):", scenarios.len());
    for s in scenarios {
        let _ = writeln!(w, "  {:>8.4}  {}", s.probability, s.name);
    }
    let total: f64 = scenarios.iter().map(|s| s.probability).sum();
    let _ = writeln!(w, "  {:>8.4}  (sum)", total);
    let focus: Vec<&str> = model.focus.iter().map(|s| model.series_id(*s)).collect();
    let _ = writeln!(w, "\nReport focus: {}", focus.join(", "));
    for t in &model.thresholds {
        let kind = if t.above { "above" } else { "below" };
        let what = match t.series {
            Series::Market => "market",
            s => model.series_id(s),
        };
        let _ = writeln!(
            w,
            "  threshold: P({what} share {kind} {}) in {}",
            pct(t.level),
            t.year
        );
    }
    o
}
