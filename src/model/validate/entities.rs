//! `[platforms]`, `[groups]` and `[buyers]`.

use super::checker::{join, Checker};
use super::MIX_SUM_TOL;
use crate::model::schema;
use crate::model::source::{Node, Value};
use crate::model::{Buyer, Domain, Group, Platform, PriorScope};

/// `[platforms.ID]`: label, drift, volatility, available_from.
pub fn platforms<'a>(v: &mut Checker<'a>, root: &'a Node) -> Vec<Platform> {
    let mut platforms = Vec::new();
    let entries = v.keyed_table(
        root,
        "platforms",
        schema::PLATFORM,
        Some("a model needs at least one platform"),
    );
    for (id, node, path) in entries {
        let label = v.label(node, &path, id);
        let prior = |v: &mut Checker<'a>, key: &str, domain: Domain| {
            v.field_prior(
                node,
                &path,
                key,
                Some(0.0),
                domain,
                None,
                PriorScope::Always,
            )
        };
        let drift = prior(v, "drift", Domain::Real);
        let volatility = prior(v, "volatility", Domain::NonNegative);
        let available_from = node
            .get("available_from")
            .and_then(|n| v.year(n, &join(&path, "available_from"), 1, 9999, "available_from"));
        platforms.push(Platform {
            id: id.to_string(),
            label,
            drift,
            volatility,
            available_from,
        });
    }
    platforms
}

fn platform_ids(platforms: &[Platform]) -> Vec<String> {
    platforms.iter().map(|p| p.id.clone()).collect()
}

/// `[groups]`: `id = ["platform", ...]`.
pub fn groups<'a>(v: &mut Checker<'a>, root: &'a Node, platforms: &[Platform]) -> Vec<Group> {
    let mut groups = Vec::new();
    let Some(entries) = root.get("groups").and_then(|g| v.table(g, "groups")) else {
        return groups;
    };
    let ids = platform_ids(platforms);
    for (id, node) in entries {
        let path = join("groups", id);
        v.id_key(id, node, &path);
        if ids.contains(id) || id == "market" {
            v.err(&path, Some(node), format!("group id '{id}' is already a platform id or 'market'; series ids must be unique"));
        }
        let Value::Array(items) = &node.value else {
            v.err(
                &path,
                Some(node),
                format!(
                    "expected an array of platform ids, found {}",
                    node.value.type_name()
                ),
            );
            continue;
        };
        if items.is_empty() {
            v.err(
                &path,
                Some(node),
                "a group needs at least one platform".into(),
            );
        }
        let mut members = Vec::new();
        for item in items {
            let Some(pid) = v.string(item, &path) else {
                continue;
            };
            match platforms.iter().position(|p| p.id == pid) {
                Some(p) if members.contains(&p) => v.err(
                    &path,
                    Some(item),
                    format!("platform '{pid}' is listed twice"),
                ),
                Some(p) => members.push(p),
                None => v.err(
                    &path,
                    Some(item),
                    format!("unknown platform '{pid}'; {}", schema::suggest(pid, &ids)),
                ),
            }
        }
        groups.push(Group {
            id: id.clone(),
            members,
        });
    }
    groups
}

/// `[buyers.ID]`: the five priors, the base-year mix and the affinities.
pub fn buyers<'a>(v: &mut Checker<'a>, root: &'a Node, platforms: &[Platform]) -> Vec<Buyer> {
    let mut buyers = Vec::new();
    let entries = v.keyed_table(
        root,
        "buyers",
        schema::BUYER,
        Some("a model needs at least one buyer"),
    );
    for (id, node, path) in entries {
        let label = v.label(node, &path, id);
        let mut prior = |key: &str, default: Option<f64>, domain: Domain| {
            v.field_prior(node, &path, key, default, domain, None, PriorScope::Always)
        };
        let spend = prior("spend", None, Domain::Positive);
        let growth = prior("growth", Some(0.0), Domain::AboveMinusOne);
        let growth_volatility = prior("growth_volatility", Some(0.0), Domain::NonNegative);
        let sensitivity = prior("sensitivity", Some(1.0), Domain::NonNegative);
        let agility = prior("agility", Some(0.2), Domain::Unit);
        let mix = mix(v, node, &path, platforms);
        let mut affinity = vec![None; platforms.len()];
        if let Some(an) = node.get("affinity") {
            let apath = join(&path, "affinity");
            if let Some(ae) = v.table(an, &apath) {
                for (pid, x) in ae {
                    let xp = join(&apath, pid);
                    match platforms.iter().position(|p| p.id == *pid) {
                        Some(p) => {
                            affinity[p] = Some(v.prior(
                                Some(x),
                                &xp,
                                None,
                                Domain::Real,
                                (None, PriorScope::Always),
                                an,
                            ))
                        }
                        None => v.err(
                            &xp,
                            Some(x),
                            format!(
                                "unknown platform '{pid}'; {}",
                                schema::suggest(pid, &platform_ids(platforms))
                            ),
                        ),
                    }
                }
            }
        }
        let accessible = (0..platforms.len())
            .map(|p| mix[p] > 0.0 || affinity[p].is_some())
            .collect();
        buyers.push(Buyer {
            id: id.to_string(),
            label,
            spend,
            growth,
            growth_volatility,
            sensitivity,
            agility,
            mix,
            affinity,
            accessible,
        });
    }
    buyers
}

/// A buyer's base-year `mix`: shares >= 0 summing to 1, none on a platform
/// not yet available in the base year.
fn mix<'a>(v: &mut Checker<'a>, node: &'a Node, path: &str, platforms: &[Platform]) -> Vec<f64> {
    let mut mix = vec![0.0; platforms.len()];
    let mix_path = join(path, "mix");
    let Some(mn) = node.get("mix") else {
        v.err(&mix_path, Some(node), "missing required key 'mix' (the base-year spend mix, e.g. { nvidia = 0.9, amd = 0.1 })".into());
        return mix;
    };
    let Some(entries) = v.table(mn, &mix_path) else {
        return mix;
    };
    let mut sum = 0.0;
    let mut ok = true;
    for (pid, x) in entries {
        let xp = join(&mix_path, pid);
        let Some(val) = v.number(x, &xp) else {
            ok = false;
            continue;
        };
        if val < 0.0 {
            v.err(
                &xp,
                Some(x),
                format!("found {val}; a mix share must be >= 0"),
            );
            ok = false;
        }
        match platforms.iter().position(|p| p.id == *pid) {
            Some(p) => {
                mix[p] = val;
                sum += val;
                if let (Some(y), Some(years)) = (platforms[p].available_from, v.years) {
                    if y > years.start && val > 0.0 {
                        v.err(&xp, Some(x), format!("found {val}; platform '{pid}' is available from {y}, after the base year {}, so its base-year mix must be 0", years.start));
                    }
                }
            }
            None => {
                v.err(
                    &xp,
                    Some(x),
                    format!(
                        "unknown platform '{pid}'; {}",
                        schema::suggest(pid, &platform_ids(platforms))
                    ),
                );
                ok = false;
            }
        }
    }
    if ok && (sum - 1.0).abs() > MIX_SUM_TOL {
        v.err(
            &mix_path,
            Some(mn),
            format!(
                "mix sums to {}; it must sum to 1 (within {MIX_SUM_TOL:e})",
                (sum * 1e12).round() / 1e12
            ),
        );
    }
    mix
}
