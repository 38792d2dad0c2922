//! `[report]` (focus series and thresholds) and `[observed]` (MODEL.md
//! section 7): both name series and years of the model.

use super::checker::{join, Checker};
use crate::model::source::{Node, Value};
use crate::model::{schema, Model, Observation, Series, Threshold};

fn series_ids(model: &Model) -> Vec<String> {
    model
        .series()
        .iter()
        .map(|s| model.series_id(*s).to_string())
        .collect()
}

/// `[report]`: `focus` (default: the first platform and the first group)
/// and `thresholds`.
pub fn report<'a>(v: &mut Checker<'a>, root: &'a Node, model: &mut Model) {
    let ids = series_ids(model);
    let mut focus_given = false;
    if let Some(rn) = root
        .get("report")
        .filter(|rn| v.table(rn, "report").is_some())
    {
        v.check_keys(rn, "report", schema::REPORT);
        if let Some(fnode) = rn.get("focus") {
            focus_given = true;
            match &fnode.value {
                Value::Array(items) => {
                    for item in items {
                        let Some(sid) = v.string(item, "report.focus") else {
                            continue;
                        };
                        match model.find_series(sid) {
                            Some(s) => model.focus.push(s),
                            None => v.err(
                                "report.focus",
                                Some(item),
                                format!("unknown series '{sid}'; {}", schema::suggest(sid, &ids)),
                            ),
                        }
                    }
                }
                other => v.err(
                    "report.focus",
                    Some(fnode),
                    format!(
                        "expected an array of series ids, found {}",
                        other.type_name()
                    ),
                ),
            }
        }
        if let Some(tn) = rn.get("thresholds") {
            match &tn.value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(t) =
                            threshold(v, item, &format!("report.thresholds.{i}"), model, &ids)
                        {
                            model.thresholds.push(t);
                        }
                    }
                }
                other => v.err(
                    "report.thresholds",
                    Some(tn),
                    format!("expected an array of tables, found {}", other.type_name()),
                ),
            }
        }
    }
    if !focus_given && !model.platforms.is_empty() {
        model.focus.push(Series::Platform(0));
        if !model.groups.is_empty() {
            model.focus.push(Series::Group(0));
        }
    }
}

/// One `{ series, year, above | below }`.
fn threshold<'a>(
    v: &mut Checker<'a>,
    item: &'a Node,
    tp: &str,
    model: &Model,
    ids: &[String],
) -> Option<Threshold> {
    v.table(item, tp)?;
    v.check_keys(item, tp, schema::THRESHOLD);
    let series = match item.get("series") {
        None => {
            v.err(tp, Some(item), "missing required key 'series'".into());
            None
        }
        Some(sn) => {
            v.string(sn, &join(tp, "series"))
                .and_then(|sid| match model.find_series(sid) {
                    Some(Series::Market) => {
                        v.err(
                            &join(tp, "series"),
                            Some(sn),
                            "thresholds apply to shares: name a platform or a group, not 'market'"
                                .into(),
                        );
                        None
                    }
                    Some(s) => Some(s),
                    None => {
                        v.err(
                            &join(tp, "series"),
                            Some(sn),
                            format!("unknown series '{sid}'; {}", schema::suggest(sid, ids)),
                        );
                        None
                    }
                })
        }
    };
    let year = match (item.get("year"), v.years) {
        (None, _) => {
            v.err(tp, Some(item), "missing required key 'year'".into());
            None
        }
        (Some(yn), Some(y)) => v.year(yn, &join(tp, "year"), y.start, y.end, "a threshold year"),
        (Some(yn), None) => v.integer(yn, &join(tp, "year")).map(|y| y as i32),
    };
    let level = match (item.get("above"), item.get("below")) {
        (Some(a), None) => v.number(a, &join(tp, "above")).map(|x| (x, true, a)),
        (None, Some(b)) => v.number(b, &join(tp, "below")).map(|x| (x, false, b)),
        _ => {
            v.err(
                tp,
                Some(item),
                "a threshold needs exactly one of 'above' or 'below'".into(),
            );
            None
        }
    };
    if let Some((x, _, n)) = level {
        if !(0.0..=1.0).contains(&x) {
            v.err(
                tp,
                Some(n),
                format!("found {x}; a share threshold must be in [0, 1]"),
            );
            return None;
        }
    }
    let (series, year, (level, above, _)) = (series?, year?, level?);
    Some(Threshold {
        series,
        year,
        level,
        above,
    })
}

/// What an observation must look like, for messages.
const INTERVAL_HELP: &str = "an observation is a 90% interval \"a to b\" of the realized value (its 5% and 95% ends, a < b), e.g. \"0.78 to 0.84\" for a share or \"310 to 410\" for the market: write down how uncertain the figure is";

/// `[observed.YEAR]`: `series = "a to b"` per observed series.
pub fn observed<'a>(v: &mut Checker<'a>, root: &'a Node, model: &mut Model) {
    let Some(on) = root.get("observed") else {
        return;
    };
    let Some(years) = v.table(on, "observed") else {
        return;
    };
    let ids = series_ids(model);
    for (key, yn) in years {
        let yp = join("observed", key);
        let year = match key.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                v.err(
                    &yp,
                    Some(yn),
                    format!("'{key}' is not a year; write [observed.YEAR], e.g. [observed.2026]"),
                );
                None
            }
        };
        if let (Some(y), Some(range)) = (year, v.years) {
            if y < range.start || y > range.end {
                v.err(
                    &yp,
                    Some(yn),
                    format!(
                        "found {y}; an observed year must be a year of the model, in [{}, {}]",
                        range.start, range.end
                    ),
                );
                continue;
            }
        }
        let Some(entries) = v.table(yn, &yp) else {
            continue;
        };
        for (sid, node) in entries {
            let path = join(&yp, sid);
            let series = model.find_series(sid);
            if series.is_none() {
                v.err(
                    &path,
                    Some(node),
                    format!(
                        "unknown series '{sid}'; an observation names a platform, a group or 'market'; {}",
                        schema::suggest(sid, &ids)
                    ),
                );
            }
            let interval = match &node.value {
                Value::Str(s) => parse_interval(s),
                Value::Int(_) | Value::Float(_) => Err(format!(
                    "found the bare number {}; {INTERVAL_HELP}",
                    match &node.value {
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        _ => String::new(),
                    }
                )),
                other => Err(format!("found {}; {INTERVAL_HELP}", other.type_name())),
            };
            let (low, high) = match interval {
                Ok(x) => x,
                Err(msg) => {
                    v.err(&path, Some(node), msg);
                    continue;
                }
            };
            let Some(series) = series else {
                continue;
            };
            if series == Series::Market {
                if low < 0.0 {
                    v.err(
                        &path,
                        Some(node),
                        format!(
                            "found \"{low} to {high}\"; the market (in {}) is at least 0",
                            model.unit
                        ),
                    );
                    continue;
                }
            } else if low < 0.0 || high > 1.0 {
                v.err(
                    &path,
                    Some(node),
                    format!(
                        "found \"{low} to {high}\"; a share lies in [0, 1] (write 0.8 for 80%)"
                    ),
                );
                continue;
            }
            let (Some(year), Some(_)) = (year, v.years) else {
                continue;
            };
            let at = v.location(Some(node));
            model.observations.push(Observation {
                year,
                series,
                low,
                high,
                path,
                at,
            });
        }
    }
}

/// `"a to b"` with finite `a < b`.
fn parse_interval(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("cannot read \"{s}\"; {INTERVAL_HELP}");
    let (a, b) = s.split_once(" to ").ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    if !a.is_finite() || !b.is_finite() {
        return Err(bad());
    }
    if a >= b {
        return Err(format!("found \"{s}\": a must be below b; {INTERVAL_HELP}"));
    }
    Ok((a, b))
}
