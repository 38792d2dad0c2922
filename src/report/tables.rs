//! Reads a run folder's tables back (polars) into rows the charts use, so a
//! report can be redrawn without re-simulating.

use super::ReportError;
use crate::model::{self, Model};
use crate::output::manifest::{sha256_hex, Manifest};
use polars::prelude::*;
use polars_io::prelude::{CsvReadOptions, ParquetReader, SerReader};
use std::collections::BTreeSet;
use std::path::Path;

/// A `summary` row.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// View name.
    pub scenario: String,
    /// Year.
    pub year: i32,
    /// Series id.
    pub series: String,
    /// Mean.
    pub mean: f64,
    /// p05, p25, p50, p75, p95.
    pub q: [f64; 5],
}

/// An `impact` row.
#[derive(Debug, Clone)]
pub struct ImpactRow {
    /// Deal id.
    pub deal: String,
    /// Outcome id.
    pub outcome: String,
    /// Year.
    pub year: i32,
    /// Series id.
    pub series: String,
    /// Mean, p05, p50, p95.
    pub stats: [f64; 4],
}

/// A `thresholds` row.
#[derive(Debug, Clone)]
pub struct ThresholdRow {
    /// View name.
    pub scenario: String,
    /// Series id.
    pub series: String,
    /// Year.
    pub year: i32,
    /// `above` or `below`.
    pub condition: String,
    /// Level.
    pub level: f64,
    /// Probability.
    pub probability: f64,
    /// Standard error.
    pub se: f64,
}

/// A `horizon` row.
#[derive(Debug, Clone)]
pub struct HorizonRow {
    /// View name.
    pub scenario: String,
    /// Series id.
    pub series: String,
    /// Year.
    pub year: i32,
    /// Bin start and end.
    pub lo: f64,
    /// Bin end.
    pub hi: f64,
    /// Density.
    pub density: f64,
}

/// A `sensitivity` row.
#[derive(Debug, Clone)]
pub struct SensitivityRow {
    /// View name.
    pub scenario: String,
    /// Year.
    pub year: i32,
    /// Series id.
    pub series: String,
    /// A prior's dotted path or `deal:<id>`.
    pub input: String,
    /// Output mean in the input's lowest and highest tenth.
    pub swing: (f64, f64),
    /// First-order index.
    pub s1: f64,
    /// Its 90% interval.
    pub interval: (f64, f64),
}

/// A scenario's probability before and after the evidence.
#[derive(Debug, Clone)]
pub struct ScenarioPosterior {
    /// Scenario name.
    pub name: String,
    /// `P(s)`.
    pub prior: f64,
    /// `P(s | obs)`.
    pub posterior: f64,
}

/// A prior's quantiles before and after the evidence.
#[derive(Debug, Clone)]
pub struct PriorMove {
    /// Dotted path.
    pub input: String,
    /// p05, p50, p95, mean before.
    pub before: [f64; 4],
    /// The same after.
    pub after: [f64; 4],
    /// How far the median moved, in sds of the prior.
    pub moved: f64,
}

/// The conditioned tables (`posterior/`).
#[derive(Debug, Clone)]
pub struct PosteriorTables {
    /// Conditioned summary rows.
    pub summary: Vec<SummaryRow>,
    /// Scenario probabilities.
    pub scenarios: Vec<ScenarioPosterior>,
    /// Priors, the most moved first.
    pub priors: Vec<PriorMove>,
}

/// Everything a report needs.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The model as it was run (file plus overrides).
    pub model: Model,
    /// Its scenarios.
    pub scenarios: Vec<crate::scenario::Scenario>,
    /// The run manifest.
    pub run: Manifest,
    /// Summary rows.
    pub summary: Vec<SummaryRow>,
    /// Impact rows.
    pub impact: Vec<ImpactRow>,
    /// Threshold rows.
    pub thresholds: Vec<ThresholdRow>,
    /// Horizon histogram rows.
    pub horizon: Vec<HorizonRow>,
    /// Sensitivity rows, in the file's order (`s1` largest first within
    /// each view, year and series).
    pub sensitivity: Vec<SensitivityRow>,
    /// The conditioned tables, when the model has observations.
    pub posterior: Option<PosteriorTables>,
}

impl Tables {
    /// The summary row of a view, year and series.
    pub fn get(&self, scenario: &str, year: i32, series: &str) -> Option<&SummaryRow> {
        self.summary
            .iter()
            .find(|r| r.year == year && r.series == series && r.scenario == scenario)
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> ReportError {
    ReportError::Table {
        path: path.to_path_buf(),
        message: what.to_string(),
    }
}

fn read_csv(path: &Path) -> Result<DataFrame, ReportError> {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .map_err(|e| bad(path, e))
}

fn strings(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<String>, ReportError> {
    let col = df.column(name).map_err(|e| bad(path, e))?;
    let col = col.cast(&DataType::String).map_err(|e| bad(path, e))?;
    let s = col.str().map_err(|e| bad(path, e))?;
    Ok(s.iter().map(|v| v.unwrap_or("").to_string()).collect())
}

fn numbers(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<f64>, ReportError> {
    let col = df.column(name).map_err(|e| bad(path, e))?;
    let col = col.cast(&DataType::Float64).map_err(|e| bad(path, e))?;
    let s = col.f64().map_err(|e| bad(path, e))?;
    Ok(s.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Reads the tables of a run folder, after checking that they belong
/// together: `model.toml` is the file `run.json` names (its SHA-256), and
/// every table holds exactly the rows of that model's views, years, series
/// and deals. A missing, empty, truncated or foreign table is an error
/// naming the file, never a chart silently left out.
pub fn load(dir: &Path) -> Result<Tables, ReportError> {
    let run_path = dir.join("run.json");
    let run = Manifest::read(dir).map_err(|e| bad(&run_path, e))?;
    let model_path = dir.join("model.toml");
    let text = std::fs::read_to_string(&model_path).map_err(|e| bad(&model_path, e))?;
    if sha256_hex(text.as_bytes()) != run.model_sha256 {
        return Err(bad(
            &model_path,
            "it is not the model this run was made from (its SHA-256 differs from run.json's model_sha256); the folder was edited: rerun the model",
        ));
    }
    let model = model::load(&model_path.display().to_string(), &text, &run.overrides)
        .map_err(|e| bad(&model_path, e))?;

    let summary = summary_rows(&dir.join("summary.parquet"))?;

    let p = dir.join("impact.csv");
    let df = read_csv(&p)?;
    let (deal, outcome, yr, se) = (
        strings(&df, "deal", &p)?,
        strings(&df, "outcome", &p)?,
        numbers(&df, "year", &p)?,
        strings(&df, "series", &p)?,
    );
    let cols: Vec<Vec<f64>> = ["mean", "p05", "p50", "p95"]
        .iter()
        .map(|c| numbers(&df, c, &p))
        .collect::<Result<_, _>>()?;
    let impact = (0..df.height())
        .map(|i| ImpactRow {
            deal: deal[i].clone(),
            outcome: outcome[i].clone(),
            year: yr[i] as i32,
            series: se[i].clone(),
            stats: [cols[0][i], cols[1][i], cols[2][i], cols[3][i]],
        })
        .collect();

    let p = dir.join("thresholds.csv");
    let df = read_csv(&p)?;
    let thresholds = if df.height() == 0 {
        Vec::new()
    } else {
        let (sc, se, yr, cond) = (
            strings(&df, "scenario", &p)?,
            strings(&df, "series", &p)?,
            numbers(&df, "year", &p)?,
            strings(&df, "condition", &p)?,
        );
        let (lv, pr, er) = (
            numbers(&df, "level", &p)?,
            numbers(&df, "probability", &p)?,
            numbers(&df, "se", &p)?,
        );
        (0..df.height())
            .map(|i| ThresholdRow {
                scenario: sc[i].clone(),
                series: se[i].clone(),
                year: yr[i] as i32,
                condition: cond[i].clone(),
                level: lv[i],
                probability: pr[i],
                se: er[i],
            })
            .collect()
    };

    let p = dir.join("horizon.csv");
    let df = read_csv(&p)?;
    let (sc, se, yr) = (
        strings(&df, "scenario", &p)?,
        strings(&df, "series", &p)?,
        numbers(&df, "year", &p)?,
    );
    let (lo, hi, de) = (
        numbers(&df, "lo", &p)?,
        numbers(&df, "hi", &p)?,
        numbers(&df, "density", &p)?,
    );
    let horizon = (0..df.height())
        .map(|i| HorizonRow {
            scenario: sc[i].clone(),
            series: se[i].clone(),
            year: yr[i] as i32,
            lo: lo[i],
            hi: hi[i],
            density: de[i],
        })
        .collect();
    let p = dir.join("sensitivity.csv");
    let df = if run.sensitivity {
        read_csv(&p)?
    } else {
        DataFrame::empty()
    };
    let sensitivity = if df.height() == 0 {
        Vec::new()
    } else {
        let (sc, yr, se, input) = (
            strings(&df, "scenario", &p)?,
            numbers(&df, "year", &p)?,
            strings(&df, "series", &p)?,
            strings(&df, "input", &p)?,
        );
        let cols: Vec<Vec<f64>> = ["swing_low", "swing_high", "s1", "s1_lo", "s1_hi"]
            .iter()
            .map(|c| numbers(&df, c, &p))
            .collect::<Result<_, _>>()?;
        (0..df.height())
            .map(|i| SensitivityRow {
                scenario: sc[i].clone(),
                year: yr[i] as i32,
                series: se[i].clone(),
                input: input[i].clone(),
                swing: (cols[0][i], cols[1][i]),
                s1: cols[2][i],
                interval: (cols[3][i], cols[4][i]),
            })
            .collect()
    };
    let posterior = if run.posterior.is_some() {
        Some(load_posterior(dir)?)
    } else {
        None
    };
    let t = Tables {
        scenarios: crate::scenario::enumerate(&model),
        model,
        run,
        summary,
        impact,
        thresholds,
        horizon,
        sensitivity,
        posterior,
    };
    check_complete(dir, &t)?;
    // Tables the charts do not read must still be whole.
    let lines = |name: &str, rows: usize| -> Result<(), ReportError> {
        let p = dir.join(name);
        let text = std::fs::read_to_string(&p).map_err(|e| bad(&p, e))?;
        if text.lines().count() != rows + 1 || !text.ends_with('\n') {
            return Err(bad(&p, format!("it should hold {rows} rows and a header: it is truncated or from another run; rerun the model")));
        }
        Ok(())
    };
    lines("summary.csv", t.summary.len())?;
    lines("scenarios.csv", t.scenarios.len())?;
    Ok(t)
}

/// Summary rows from a `summary.parquet`.
fn summary_rows(p: &Path) -> Result<Vec<SummaryRow>, ReportError> {
    let file = std::fs::File::open(p).map_err(|e| bad(p, e))?;
    let df = ParquetReader::new(file).finish().map_err(|e| bad(p, e))?;
    let (sc, yr, se) = (
        strings(&df, "scenario", p)?,
        numbers(&df, "year", p)?,
        strings(&df, "series", p)?,
    );
    let cols: Vec<Vec<f64>> = ["mean", "p05", "p25", "p50", "p75", "p95"]
        .iter()
        .map(|c| numbers(&df, c, p))
        .collect::<Result<_, _>>()?;
    Ok((0..df.height())
        .map(|i| SummaryRow {
            scenario: sc[i].clone(),
            year: yr[i] as i32,
            series: se[i].clone(),
            mean: cols[0][i],
            q: [cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i]],
        })
        .collect())
}

/// Reads `posterior/`: the conditioned summary, scenario probabilities
/// and priors (checked whole in [`check_complete`]).
fn load_posterior(dir: &Path) -> Result<PosteriorTables, ReportError> {
    let dir = dir.join("posterior");
    let summary = summary_rows(&dir.join("summary.parquet"))?;
    let p = dir.join("scenarios.csv");
    let df = read_csv(&p)?;
    let (name, prior, post) = (
        strings(&df, "name", &p)?,
        numbers(&df, "prior", &p)?,
        numbers(&df, "posterior", &p)?,
    );
    let scenarios = (0..df.height())
        .map(|i| ScenarioPosterior {
            name: name[i].clone(),
            prior: prior[i],
            posterior: post[i],
        })
        .collect();
    let p = dir.join("priors.csv");
    let df = read_csv(&p)?;
    let input = strings(&df, "input", &p)?;
    let cols: Vec<Vec<f64>> = [
        "prior_p05",
        "prior_p50",
        "prior_p95",
        "prior_mean",
        "post_p05",
        "post_p50",
        "post_p95",
        "post_mean",
        "moved_sd",
    ]
    .iter()
    .map(|c| numbers(&df, c, &p))
    .collect::<Result<_, _>>()?;
    let priors = (0..df.height())
        .map(|i| PriorMove {
            input: input[i].clone(),
            before: [cols[0][i], cols[1][i], cols[2][i], cols[3][i]],
            after: [cols[4][i], cols[5][i], cols[6][i], cols[7][i]],
            moved: cols[8][i],
        })
        .collect();
    Ok(PosteriorTables {
        summary,
        scenarios,
        priors,
    })
}

/// Compares a table's rows (as keys, with their values) with the rows the
/// model calls for: the same keys, each once, and finite values.
fn compare<K: Ord + std::fmt::Debug + Clone>(
    path: &Path,
    want: BTreeSet<K>,
    got: impl Iterator<Item = (K, bool)>,
    what: &str,
) -> Result<(), ReportError> {
    let mut seen = BTreeSet::new();
    for (key, finite) in got {
        if !want.contains(&key) {
            return Err(bad(
                path,
                format!("it has a row the model does not call for ({what} {key:?}): it is from another model or was edited; rerun the model"),
            ));
        }
        if !seen.insert(key.clone()) {
            return Err(bad(
                path,
                format!("it repeats the row {what} {key:?}; rerun the model"),
            ));
        }
        if !finite {
            return Err(bad(path, format!("the row {what} {key:?} holds a value that is not a finite number; rerun the model")));
        }
    }
    if let Some(missing) = want.difference(&seen).next() {
        let n = want.len() - seen.len();
        return Err(bad(
            path,
            if seen.is_empty() {
                "it has no rows: it is empty or truncated; rerun the model".to_string()
            } else {
                format!("it lacks {n} of its {} rows, e.g. {what} {missing:?}: it is truncated or from another model; rerun the model", want.len())
            },
        ));
    }
    Ok(())
}

/// Every table holds exactly the rows the model calls for.
fn check_complete(dir: &Path, t: &Tables) -> Result<(), ReportError> {
    use crate::summary::{impact_pairs, views, ViewKind, HORIZON_BINS};
    let m = &t.model;
    let scenarios = &t.scenarios;
    let views = views(m, scenarios);
    let years: Vec<i32> = (m.start_year..=m.end_year).collect();
    let series: Vec<String> = m
        .series()
        .iter()
        .map(|s| m.series_id(*s).to_string())
        .collect();
    let finite = |xs: &[f64]| xs.iter().all(|x| x.is_finite());

    let mut want = BTreeSet::new();
    for v in &views {
        for &y in &years {
            for s in &series {
                want.insert((v.name.clone(), y, s.clone()));
            }
        }
    }
    let got = t.summary.iter().map(|r| {
        let mut xs = r.q.to_vec();
        xs.push(r.mean);
        ((r.scenario.clone(), r.year, r.series.clone()), finite(&xs))
    });
    compare(
        &dir.join("summary.parquet"),
        want,
        got,
        "(view, year, series)",
    )?;

    let want = views
        .iter()
        .flat_map(|v| {
            m.thresholds.iter().map(move |th| {
                let cond = if th.above { "above" } else { "below" };
                (
                    v.name.clone(),
                    m.series_id(th.series).to_string(),
                    th.year,
                    cond.to_string(),
                )
            })
        })
        .collect();
    let got = t.thresholds.iter().map(|r| {
        (
            (
                r.scenario.clone(),
                r.series.clone(),
                r.year,
                r.condition.clone(),
            ),
            finite(&[r.level, r.probability, r.se]),
        )
    });
    compare(
        &dir.join("thresholds.csv"),
        want,
        got,
        "(view, series, year, condition)",
    )?;

    let mut want = BTreeSet::new();
    for (d, deal) in m.deals.iter().enumerate() {
        for (o, outcome) in deal.outcomes.iter().enumerate() {
            if o == deal.baseline || impact_pairs(m, scenarios, d, o).is_empty() {
                continue;
            }
            for &y in &years {
                for s in &series {
                    want.insert((deal.id.clone(), outcome.id.clone(), y, s.clone()));
                }
            }
        }
    }
    let got = t.impact.iter().map(|r| {
        (
            (r.deal.clone(), r.outcome.clone(), r.year, r.series.clone()),
            finite(&r.stats),
        )
    });
    compare(
        &dir.join("impact.csv"),
        want,
        got,
        "(deal, outcome, year, series)",
    )?;

    let mut want = BTreeSet::new();
    for v in views
        .iter()
        .filter(|v| !matches!(v.kind, ViewKind::Scenario(_)))
    {
        for f in &m.focus {
            for y in m.horizon_years() {
                for b in 0..HORIZON_BINS {
                    want.insert((v.name.clone(), m.series_id(*f).to_string(), y, b));
                }
            }
        }
    }
    let mut bin = std::collections::BTreeMap::new();
    let got = t.horizon.iter().map(|r| {
        let b = bin
            .entry((r.scenario.clone(), r.series.clone(), r.year))
            .or_insert(0usize);
        *b += 1;
        (
            (r.scenario.clone(), r.series.clone(), r.year, *b - 1),
            finite(&[r.lo, r.hi, r.density]),
        )
    });
    compare(
        &dir.join("horizon.csv"),
        want,
        got,
        "(view, series, year, bin)",
    )?;

    if let Some(post) = &t.posterior {
        let mut want = BTreeSet::new();
        for v in &views {
            for &y in &years {
                for s in &series {
                    want.insert((v.name.clone(), y, s.clone()));
                }
            }
        }
        let got = post.summary.iter().map(|r| {
            let mut xs = r.q.to_vec();
            xs.push(r.mean);
            ((r.scenario.clone(), r.year, r.series.clone()), finite(&xs))
        });
        compare(
            &dir.join("posterior/summary.parquet"),
            want,
            got,
            "(view, year, series)",
        )?;
        let want = scenarios.iter().map(|s| s.name.clone()).collect();
        let got = post
            .scenarios
            .iter()
            .map(|r| (r.name.clone(), finite(&[r.prior, r.posterior])));
        compare(&dir.join("posterior/scenarios.csv"), want, got, "scenario")?;
        let want = crate::sensitivity::sampled_priors(m)
            .into_iter()
            .map(|p| m.priors[p].path.clone())
            .collect();
        let got = post.priors.iter().map(|r| {
            let mut xs = r.before.to_vec();
            xs.extend(r.after);
            (r.input.clone(), finite(&xs))
        });
        compare(&dir.join("posterior/priors.csv"), want, got, "input")?;
    }

    // Sensitivity: every sampled prior a view uses (and in `all` every
    // deal), in every focus series and horizon year; none below 4 futures.
    use crate::sensitivity::{cells, sampled_priors, uses};
    // Keys borrow their names (thousands of rows: no allocation each).
    let deal_inputs: Vec<String> = m.deals.iter().map(|d| format!("deal:{}", d.id)).collect();
    let mut want: BTreeSet<(&str, i32, &str, &str)> = BTreeSet::new();
    if t.run.futures >= 4 && t.run.sensitivity {
        for cell in cells(m) {
            let series = m.series_id(cell.series);
            for p in sampled_priors(m) {
                let path = m.priors[p].path.as_str();
                want.insert(("all", cell.year, series, path));
                for sc in scenarios.iter().filter(|sc| uses(sc, m.priors[p].scope)) {
                    want.insert((&sc.name, cell.year, series, path));
                }
            }
            for d in &deal_inputs {
                want.insert(("all", cell.year, series, d));
            }
        }
    }
    let got = t.sensitivity.iter().map(|r| {
        (
            (
                r.scenario.as_str(),
                r.year,
                r.series.as_str(),
                r.input.as_str(),
            ),
            finite(&[r.swing.0, r.swing.1, r.s1, r.interval.0, r.interval.1]),
        )
    });
    if want.is_empty() && t.sensitivity.is_empty() {
        return Ok(());
    }
    compare(
        &dir.join("sensitivity.csv"),
        want,
        got,
        "(view, year, series, input)",
    )
}
