//! Effects (MODEL.md section 3): the reader every effect table goes
//! through, deal outcomes' and model-wide `[[effects]]` alike.

use super::checker::{join, Checker};
use crate::model::source::{Node, Value};
use crate::model::{schema, Buyer, Domain, Effect, EffectId, EffectKind, Platform, PriorScope};

/// Top-level `[[effects]]`: effects applied in every scenario. Appends
/// them to `effects` and returns their ids.
pub fn model_wide<'a>(
    v: &mut Checker<'a>,
    root: &'a Node,
    platforms: &[Platform],
    buyers: &[Buyer],
    effects: &mut Vec<Effect>,
) -> Vec<EffectId> {
    let (owner, scope) = ((root, ""), PriorScope::Always);
    read_effects(v, owner, scope, (platforms, buyers), effects)
}

/// The `effects` array of the table `owner` (node and TOML path: the
/// document's root, or a deal outcome): each effect read with
/// [`read_effect`], its priors registered with `scope`, appended to
/// `effects`; returns their ids.
pub fn read_effects<'a>(
    v: &mut Checker<'a>,
    (node, path): (&'a Node, &str),
    scope: PriorScope,
    (platforms, buyers): (&[Platform], &[Buyer]),
    effects: &mut Vec<Effect>,
) -> Vec<EffectId> {
    let mut ids = Vec::new();
    let Some(en) = node.get("effects") else {
        return ids;
    };
    let ep = join(path, "effects");
    let Value::Array(items) = &en.value else {
        v.err(
            &ep,
            Some(en),
            format!(
                "expected an array of effect tables, found {}",
                en.value.type_name()
            ),
        );
        return ids;
    };
    for (i, item) in items.iter().enumerate() {
        let id = EffectId(effects.len());
        if let Some(e) = read_effect(v, item, &format!("{ep}.{i}"), id, scope, platforms, buyers) {
            effects.push(e);
            ids.push(id);
        }
    }
    ids
}

/// Reads one effect table at `path`; its priors are registered with
/// `scope` (the scenarios that apply it).
fn read_effect<'a>(
    v: &mut Checker<'a>,
    node: &'a Node,
    path: &str,
    id: EffectId,
    scope: PriorScope,
    platforms: &[Platform],
    buyers: &[Buyer],
) -> Option<Effect> {
    v.table(node, path)?;
    let Some(kind_node) = node.get("kind") else {
        v.err(
            path,
            Some(node),
            "an effect needs kind = \"commitment\", \"affinity\", \"drift\" or \"growth\"".into(),
        );
        return None;
    };
    let kind = v.string(kind_node, &join(path, "kind"))?.to_string();
    let allowed: &[&str] = match kind.as_str() {
        "commitment" => &["kind", "buyer", "platform", "spend", "from", "to"],
        "affinity" => &["kind", "buyer", "platform", "shift", "from", "to"],
        "drift" => &["kind", "platform", "shift", "from", "to"],
        "growth" => &["kind", "buyer", "shift", "from", "to"],
        other => {
            v.err(&join(path, "kind"), Some(kind_node), format!("found \"{other}\"; allowed: \"commitment\", \"affinity\", \"drift\", \"growth\""));
            return None;
        }
    };
    v.check_keys(node, path, allowed);
    let need = |v: &mut Checker<'a>, key: &str| -> Option<String> {
        match node.get(key) {
            None => {
                v.err(path, Some(node), format!("a {kind} effect needs '{key}'"));
                None
            }
            Some(n) => v.string(n, &join(path, key)).map(|s| s.to_string()),
        }
    };
    let platform = if allowed.contains(&"platform") {
        let pid = need(v, "platform")?;
        match platforms.iter().position(|p| p.id == pid) {
            Some(p) => Some(p),
            None => {
                let ids: Vec<String> = platforms.iter().map(|p| p.id.clone()).collect();
                v.err(
                    &join(path, "platform"),
                    node.get("platform"),
                    format!("unknown platform '{pid}'; {}", schema::suggest(&pid, &ids)),
                );
                return None;
            }
        }
    } else {
        None
    };
    let buyer_sel: Option<Vec<usize>> = if allowed.contains(&"buyer") {
        let bid = need(v, "buyer")?;
        if bid == "*" && kind != "commitment" {
            Some(match (kind.as_str(), platform) {
                ("affinity", Some(p)) => (0..buyers.len())
                    .filter(|&b| buyers[b].accessible[p])
                    .collect(),
                _ => (0..buyers.len()).collect(),
            })
        } else {
            match buyers.iter().position(|b| b.id == bid) {
                Some(b) => Some(vec![b]),
                None => {
                    let extra = if kind == "commitment" {
                        " (a commitment names one buyer)"
                    } else {
                        " or \"*\""
                    };
                    let ids: Vec<String> = buyers.iter().map(|b| b.id.clone()).collect();
                    v.err(
                        &join(path, "buyer"),
                        node.get("buyer"),
                        format!(
                            "unknown buyer '{bid}'{extra}; {}",
                            schema::suggest(&bid, &ids)
                        ),
                    );
                    return None;
                }
            }
        }
    } else {
        None
    };
    // Active years; checked only when [model]'s years are valid.
    let (mut from, mut to) = v.years.map_or((0, 0), |y| (y.start + 1, y.end));
    if let Some(y) = v.years {
        if let Some(n) = node.get("from") {
            from = v.year(n, &join(path, "from"), y.start + 1, y.end, "'from'")?;
        }
        if let Some(n) = node.get("to") {
            to = v.year(n, &join(path, "to"), y.start + 1, y.end, "'to'")?;
        }
        if from > to {
            v.err(
                path,
                node.get("from"),
                format!("from = {from} is after to = {to}; need from <= to"),
            );
            return None;
        }
    }
    // Every kind but a commitment has one `shift` prior.
    let shift = (kind != "commitment")
        .then(|| v.field_prior(node, path, "shift", None, Domain::Real, Some(id), scope));
    let kind = match kind.as_str() {
        "commitment" => {
            let p = platform?;
            if let (Some(y), Some(_)) = (platforms[p].available_from, v.years) {
                if from < y {
                    v.err(&join(path, "from"), node.get("from").or(Some(node)), format!("the commitment starts in {from}, but platform '{}' is available only from {y}", platforms[p].id));
                }
            }
            let spend = v.field_prior(
                node,
                path,
                "spend",
                None,
                Domain::NonNegative,
                Some(id),
                scope,
            );
            EffectKind::Commitment {
                buyer: buyer_sel?[0],
                platform: p,
                spend,
            }
        }
        "affinity" => {
            let p = platform?;
            let sel = buyer_sel?;
            let star =
                matches!(node.get("buyer").map(|n| &n.value), Some(Value::Str(s)) if s == "*");
            if star && sel.is_empty() {
                v.err(&join(path, "buyer"), node.get("buyer"), format!("no buyer can access platform '{}'; an affinity effect needs an accessible platform (mix > 0 or an affinity entry)", platforms[p].id));
            }
            for &b in &sel {
                if !buyers[b].accessible[p] {
                    v.err(&join(path, "platform"), node.get("platform"), format!("buyer '{}' cannot access platform '{}' (no mix > 0 and no affinity entry); an affinity effect needs an accessible platform", buyers[b].id, platforms[p].id));
                }
            }
            EffectKind::Affinity {
                buyers: sel,
                platform: p,
                shift: shift?,
            }
        }
        "drift" => EffectKind::Drift {
            platform: platform?,
            shift: shift?,
        },
        _ => EffectKind::Growth {
            buyers: buyer_sel?,
            shift: shift?,
        },
    };
    let outcome = match scope {
        PriorScope::Always => None,
        PriorScope::Outcome(d, o) => Some((d, o)),
    };
    Some(Effect {
        kind,
        from,
        to,
        path: path.to_string(),
        outcome,
    })
}
