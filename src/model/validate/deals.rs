//! `[deals.ID]` and their outcomes: `given`, probabilities (one per
//! outcome of the given deal when conditional), effects, `baseline`.

use super::checker::{join, Checker};
use super::effects::read_effects;
use super::PROB_SUM_TOL;
use crate::model::source::{Node, Value};
use crate::model::{schema, Buyer, Deal, Effect, Outcome, Platform, PriorScope};

pub fn deals<'a>(
    v: &mut Checker<'a>,
    root: &'a Node,
    platforms: &[Platform],
    buyers: &[Buyer],
    effects: &mut Vec<Effect>,
) -> Vec<Deal> {
    let mut deals: Vec<Deal> = Vec::new();
    let all_ids: Vec<String> = root
        .get("deals")
        .map(|d| d.entries().iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    for (id, node, path) in v.keyed_table(root, "deals", schema::DEAL, None) {
        let label = v.label(node, &path, id);
        let given = given(v, node, &path, id, &deals, &all_ids);
        let given_outcomes: Option<Vec<String>> =
            given.map(|g| deals[g].outcomes.iter().map(|o| o.id.clone()).collect());
        let opath = join(&path, "outcomes");
        let d = deals.len();
        let mut outcomes = Vec::new();
        match node.get("outcomes") {
            None => v.err(
                &opath,
                Some(node),
                "a deal needs at least one outcome under outcomes".into(),
            ),
            Some(on) => {
                if let Some(oe) = v.table(on, &opath) {
                    if oe.is_empty() {
                        v.err(&opath, Some(on), "a deal needs at least one outcome".into());
                    }
                    for (oid, onode) in oe {
                        let op = join(&opath, oid);
                        v.id_key(oid, onode, &op);
                        if v.table(onode, &op).is_none() {
                            continue;
                        }
                        v.check_keys(onode, &op, schema::OUTCOME);
                        let olabel = v.label(onode, &op, oid);
                        // A `given` that failed was reported: its tables are not
                        // checked against nothing.
                        let probability = if given.is_none() && node.get("given").is_some() {
                            Vec::new()
                        } else {
                            probability(
                                v,
                                onode,
                                &join(&op, "probability"),
                                given_outcomes.as_deref(),
                            )
                        };
                        let scope = PriorScope::Outcome(d, outcomes.len());
                        let ids =
                            read_effects(v, (onode, &op), scope, (platforms, buyers), effects);
                        outcomes.push(Outcome {
                            id: oid.clone(),
                            label: olabel,
                            probability,
                            effects: ids,
                        });
                    }
                }
            }
        }
        // Sums to one, per outcome of the given deal when conditional.
        if !outcomes.is_empty() && outcomes.iter().all(|o| !o.probability.is_empty()) {
            let columns = given_outcomes.as_ref().map_or(1, |g| g.len());
            for c in 0..columns {
                let sum: f64 = outcomes.iter().map(|o| o.probability[c]).sum();
                if (sum - 1.0).abs() > PROB_SUM_TOL {
                    let when = match (&given_outcomes, given) {
                        (Some(g), Some(gd)) => format!(" when {} = {}", deals[gd].id, g[c]),
                        _ => String::new(),
                    };
                    v.err(&opath, node.get("outcomes"), format!("outcome probabilities{when} sum to {}; they must sum to 1 (within {PROB_SUM_TOL:e})", (sum * 1e12).round() / 1e12));
                }
            }
        }
        let baseline = baseline(v, node, &path, &outcomes);
        deals.push(Deal {
            id: id.to_string(),
            label,
            given,
            baseline,
            outcomes,
        });
    }
    deals
}

/// `given`: a deal declared earlier.
fn given<'a>(
    v: &mut Checker<'a>,
    node: &'a Node,
    path: &str,
    id: &str,
    earlier: &[Deal],
    all_ids: &[String],
) -> Option<usize> {
    let g = node.get("given")?;
    let gp = join(path, "given");
    let gid = v.string(g, &gp)?;
    if let Some(i) = earlier.iter().position(|d| d.id == gid) {
        return Some(i);
    }
    let msg = if all_ids.iter().any(|d| d == gid) {
        format!("deal '{gid}' is declared after '{id}' (or is '{id}' itself); given must name a deal declared earlier")
    } else {
        let ids: Vec<String> = earlier.iter().map(|d| d.id.clone()).collect();
        format!("unknown deal '{gid}'; {}", schema::suggest(gid, &ids))
    };
    v.err(&gp, Some(g), msg);
    None
}

/// `baseline`: one of the deal's outcomes (default: the last).
fn baseline<'a>(v: &mut Checker<'a>, node: &'a Node, path: &str, outcomes: &[Outcome]) -> usize {
    let Some(b) = node.get("baseline") else {
        return outcomes.len().saturating_sub(1);
    };
    let bp = join(path, "baseline");
    let Some(bid) = v.string(b, &bp) else {
        return 0;
    };
    match outcomes.iter().position(|o| o.id == bid) {
        Some(i) => i,
        None => {
            let ids: Vec<String> = outcomes.iter().map(|o| o.id.clone()).collect();
            v.err(
                &bp,
                Some(b),
                format!("unknown outcome '{bid}'; {}", schema::suggest(bid, &ids)),
            );
            0
        }
    }
}

/// One probability in [0, 1], or (for a conditional deal) one per outcome
/// of the given deal, as a table or a single number used for all. Empty
/// when invalid (and an error is recorded).
fn probability<'a>(
    v: &mut Checker<'a>,
    onode: &'a Node,
    pp: &str,
    given: Option<&[String]>,
) -> Vec<f64> {
    let Some(pn) = onode.get("probability") else {
        v.err(pp, Some(onode), "missing required key 'probability'".into());
        return Vec::new();
    };
    // NaN and infinities fail the range check too.
    let check = |v: &mut Checker<'a>, x: f64, path: &str, n: &'a Node| -> bool {
        if (0.0..=1.0).contains(&x) {
            true
        } else {
            v.err(
                path,
                Some(n),
                format!("found {x}; a probability must be a number in [0, 1]"),
            );
            false
        }
    };
    let number = |value: &Value| match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match (&pn.value, given) {
        (Value::Int(_) | Value::Float(_), _) => {
            let x = number(&pn.value).unwrap_or(f64::NAN);
            if !check(v, x, pp, pn) {
                return Vec::new();
            }
            vec![x; given.map_or(1, |g| g.len())]
        }
        (Value::Table(entries), Some(g)) => {
            let mut out = vec![None; g.len()];
            let mut ok = true;
            for (k, n) in entries {
                let kp = join(pp, k);
                let Some(i) = g.iter().position(|o| o == k) else {
                    v.err(
                        &kp,
                        Some(n),
                        format!(
                            "unknown outcome '{k}' of the given deal; {}",
                            schema::suggest(k, g)
                        ),
                    );
                    ok = false;
                    continue;
                };
                let Some(x) = number(&n.value) else {
                    v.err(
                        &kp,
                        Some(n),
                        format!("expected a number, found {}", n.value.type_name()),
                    );
                    ok = false;
                    continue;
                };
                if !check(v, x, &kp, n) {
                    ok = false;
                    continue;
                }
                out[i] = Some(x);
            }
            if ok {
                if let Some(i) = out.iter().position(|x| x.is_none()) {
                    v.err(pp, Some(pn), format!("missing the probability for given outcome '{}'; a conditional deal needs one per outcome of the deal it is given", g[i]));
                    ok = false;
                }
            }
            if ok {
                out.into_iter().flatten().collect()
            } else {
                Vec::new()
            }
        }
        (Value::Table(_), None) => {
            v.err(pp, Some(pn), "a table of probabilities needs 'given' on the deal; an unconditional outcome takes a number in [0, 1]".into());
            Vec::new()
        }
        (other, _) => {
            v.err(pp, Some(pn), format!("expected a number in [0, 1] (or a table per outcome of the given deal), found {}", other.type_name()));
            Vec::new()
        }
    }
}
