//! Inputs in words, for charts and the report.

use crate::model::{EffectKind, Model};

/// An input in words, for charts: "OpenAI growth", "Google TPU drift",
/// "Deal: OpenAI-Broadcom", "Tranche paid: OpenAI commitment to Trainium,
/// 2027-30".
pub fn input_label(model: &Model, input: &str) -> String {
    if let Some(id) = input.strip_prefix("deal:") {
        return match model.deals.iter().find(|d| d.id == id) {
            Some(d) => format!("Deal: {}", d.label),
            None => input.to_string(),
        };
    }
    let Some(slot) = model.priors.iter().find(|p| p.path == input) else {
        return input.to_string();
    };
    if let Some(e) = slot.effect {
        let effect = &model.effects[e];
        let what = effect_words(model, &effect.kind, effect.from, effect.to);
        return match effect.outcome {
            Some((d, o)) => format!("{}: {what}", model.deals[d].outcomes[o].label),
            None => what,
        };
    }
    let parts: Vec<&str> = input.split('.').collect();
    let field = |f: &str| f.replace('_', " ");
    let platform = |id: &str| {
        let p = model.platforms.iter().find(|p| p.id == id);
        p.map_or(id.to_string(), |p| p.label.clone())
    };
    let buyer = |id: &str| {
        let b = model.buyers.iter().find(|b| b.id == id);
        b.map_or(id.to_string(), |b| b.label.clone())
    };
    match parts.as_slice() {
        ["platforms", id, f] => format!("{} {}", platform(id), field(f)),
        ["buyers", id, "affinity", p] => format!("{} affinity for {}", buyer(id), platform(p)),
        ["buyers", id, f] => format!("{} {}", buyer(id), field(f)),
        _ => input.to_string(),
    }
}

/// What an effect does, in words, with its years.
fn effect_words(model: &Model, kind: &EffectKind, from: i32, to: i32) -> String {
    let years = if from == to {
        from.to_string()
    } else if from / 100 == to / 100 {
        format!("{from}–{:02}", to % 100)
    } else {
        format!("{from}–{to}")
    };
    let buyers = |bs: &[usize]| {
        if bs.len() == model.buyers.len() && bs.len() > 1 {
            "all buyers".to_string()
        } else {
            bs.iter()
                .map(|&b| model.buyers[b].label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let platform = |p: usize| model.platforms[p].label.as_str();
    match kind {
        EffectKind::Commitment {
            buyer, platform: p, ..
        } => format!(
            "{} commitment to {}, {years}",
            model.buyers[*buyer].label,
            platform(*p)
        ),
        EffectKind::Affinity {
            buyers: bs,
            platform: p,
            ..
        } => {
            format!("{} preference for {}, {years}", buyers(bs), platform(*p))
        }
        EffectKind::Drift { platform: p, .. } => format!("{} drift shift, {years}", platform(*p)),
        EffectKind::Growth { buyers: bs, .. } => format!("{} growth shift, {years}", buyers(bs)),
    }
}
