//! Validation: walks the raw document section by section, checks every
//! rule of MODEL.md sections 3, 4 and 7, collects every problem (each
//! with the file, line and TOML path), and builds the indexed [`Model`].
//!
//! One function per section, in file order: [`model_section`],
//! [`simulation_section`], `entities` (platforms, groups, buyers),
//! `effects` (model-wide `[[effects]]` and the effect reader deals share),
//! `deals`, `report` (`[report]` and `[observed]`), then `range` (values
//! the simulation can represent).

mod checker;
mod deals;
mod effects;
mod entities;
pub mod range;
mod report;

use super::source::{Document, Node};
use super::*;
use checker::{join, Checker, Years};

/// Tolerance on a buyer's base-year mix summing to 1 (MODEL.md section 3).
const MIX_SUM_TOL: f64 = 1e-6;
/// Tolerance on a deal's outcome probabilities summing to 1 (MODEL.md section 3).
const PROB_SUM_TOL: f64 = 1e-9;
/// Largest number of futures per scenario accepted.
pub const MAX_FUTURES: i64 = 100_000_000;
/// Longest horizon accepted, in years.
const MAX_HORIZON: i64 = 200;
/// The years a base year may be (four-digit years).
const YEAR_RANGE: (i64, i64) = (1000, 9999);

pub(super) fn validate(doc: &Document) -> Result<Model, ModelError> {
    let mut v = Checker::new(doc);
    let root = &doc.root;
    v.check_keys(root, "", schema::TOP);
    let head = model_section(&mut v, root);
    let simulation = simulation_section(&mut v, root);
    let platforms = entities::platforms(&mut v, root);
    let groups = entities::groups(&mut v, root, &platforms);
    let buyers = entities::buyers(&mut v, root, &platforms);
    let mut effects = Vec::new();
    let global_effects = effects::model_wide(&mut v, root, &platforms, &buyers, &mut effects);
    let deals = deals::deals(&mut v, root, &platforms, &buyers, &mut effects);
    let mut model = Model {
        name: head.name,
        title: head.title,
        unit: head.unit,
        start_year: v.years.map_or(2025, |y| y.start),
        end_year: v.years.map_or(2026, |y| y.end),
        simulation,
        priors: Vec::new(),
        platforms,
        groups,
        buyers,
        effects,
        global_effects,
        deals,
        focus: Vec::new(),
        thresholds: Vec::new(),
        observations: Vec::new(),
    };
    report::report(&mut v, root, &mut model);
    report::observed(&mut v, root, &mut model);
    if let Err(msg) = crate::scenario::check_count(&model.deals) {
        v.err("deals", root.get("deals"), msg);
    }
    model.priors = std::mem::take(&mut v.priors);
    if v.diags.is_empty() {
        range::check(&mut v, &model);
    }
    if v.diags.is_empty() {
        Ok(model)
    } else {
        Err(ModelError(v.diags))
    }
}

/// `[model]`'s text fields.
struct Head {
    name: String,
    title: String,
    unit: String,
}

/// `[model]`: name, title, unit and the years (set on the checker when
/// valid).
fn model_section<'a>(v: &mut Checker<'a>, root: &'a Node) -> Head {
    let mut head = Head {
        name: "model".into(),
        title: String::new(),
        unit: "units".into(),
    };
    let Some(m) = root.get("model") else {
        v.err(
            "model",
            Some(root),
            "missing [model] table (name, start_year, end_year)".into(),
        );
        return head;
    };
    if v.table(m, "model").is_none() {
        return head;
    }
    v.check_keys(m, "model", schema::MODEL);
    match m.get("name") {
        Some(n) => {
            if let Some(s) = v.string(n, "model.name") {
                let ok = !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if ok {
                    head.name = s.to_string();
                } else {
                    v.err("model.name", Some(n), format!("found \"{s}\"; a model name is a folder name: letters, digits, '-' and '_' only"));
                }
            }
        }
        None => v.err("model.name", Some(m), "missing required key 'name'".into()),
    }
    head.title = match m.get("title") {
        Some(t) => v.string(t, "model.title").unwrap_or("").to_string(),
        None => head.name.clone(),
    };
    if head.title.is_empty() {
        head.title = head.name.clone();
    }
    if let Some(u) = m.get("unit") {
        head.unit = v.string(u, "model.unit").unwrap_or("units").to_string();
    }
    let mut year = |key: &str| -> Option<i64> {
        let path = join("model", key);
        match m.get(key) {
            None => {
                v.err(&path, Some(m), format!("missing required key '{key}'"));
                None
            }
            Some(n) => v.integer(n, &path).map(|y| (y, n)).and_then(|(y, n)| {
                if key == "start_year" && !(YEAR_RANGE.0..=YEAR_RANGE.1).contains(&y) {
                    v.err(
                        &path,
                        Some(n),
                        format!(
                            "found {y}; start_year must be a year in [{}, {}]",
                            YEAR_RANGE.0, YEAR_RANGE.1
                        ),
                    );
                    return None;
                }
                Some(y)
            }),
        }
    };
    let start = year("start_year");
    let end = year("end_year");
    if let (Some(s), Some(e)) = (start, end) {
        if e < s + 1 || e - s > MAX_HORIZON {
            v.err(
                "model.end_year",
                m.get("end_year"),
                format!("found start_year = {s}, end_year = {e}; end_year must be at least start_year + 1 and at most start_year + {MAX_HORIZON}"),
            );
        } else {
            v.years = Some(Years {
                start: s as i32,
                end: e as i32,
            });
        }
    }
    head
}

/// `[simulation]` (optional): futures, seed, sampling.
fn simulation_section<'a>(v: &mut Checker<'a>, root: &'a Node) -> Simulation {
    let mut simulation = Simulation {
        futures: 10_000,
        seed: 0,
        sampling: Sampling::Lhs,
    };
    let Some(s) = root.get("simulation") else {
        return simulation;
    };
    if v.table(s, "simulation").is_none() {
        return simulation;
    }
    v.check_keys(s, "simulation", schema::SIMULATION);
    if let Some(n) = s.get("futures") {
        if let Some(f) = v.integer(n, "simulation.futures") {
            if (1..=MAX_FUTURES).contains(&f) {
                simulation.futures = f as usize;
            } else {
                v.err(
                    "simulation.futures",
                    Some(n),
                    format!("found {f}; allowed: 1 to {MAX_FUTURES}"),
                );
            }
        }
    }
    if let Some(n) = s.get("seed") {
        match &n.value {
            source::Value::BigInt(text) => v.err(
                "simulation.seed",
                Some(n),
                format!(
                    "found {text}; a seed is an integer in [0, 2^63 - 1] = [0, {}]",
                    i64::MAX
                ),
            ),
            _ => {
                if let Some(x) = v.integer(n, "simulation.seed") {
                    if x >= 0 {
                        simulation.seed = x as u64;
                    } else {
                        v.err(
                            "simulation.seed",
                            Some(n),
                            format!(
                                "found {x}; a seed is an integer in [0, 2^63 - 1] = [0, {}]",
                                i64::MAX
                            ),
                        );
                    }
                }
            }
        }
    }
    if let Some(n) = s.get("sampling") {
        match v.string(n, "simulation.sampling") {
            Some("lhs") => simulation.sampling = Sampling::Lhs,
            Some("random") => simulation.sampling = Sampling::Random,
            Some(other) => v.err(
                "simulation.sampling",
                Some(n),
                format!("found \"{other}\"; allowed: \"lhs\", \"random\""),
            ),
            None => {}
        }
    }
    simulation
}
