//! The tables a run writes: polars frames of the summaries, written as CSV
//! and Parquet.

use crate::engine::Paths;
use crate::evidence::Posterior;
use crate::model::Model;
use crate::scenario::Scenario;
use crate::sensitivity::sobol::SobolRow;
use crate::sensitivity::SensitivityRow;
use crate::summary::{ImpactRow, Summary, SummaryRow, ThresholdRow};
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, ParquetWriter, SerWriter};
use std::fs;
use std::path::Path;

use super::{io, OutputError};

/// A text column with one value per row.
fn text<'a, R>(name: &str, rows: &'a [R], f: impl Fn(&'a R) -> &'a str) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<&str>>())
}

/// A year (or other i32) column.
fn ints<'a, R>(name: &str, rows: &'a [R], f: impl Fn(&'a R) -> i32) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<i32>>())
}

/// A float column.
fn floats<'a, R>(name: &str, rows: &'a [R], f: impl Fn(&'a R) -> f64) -> Column {
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<f64>>())
}

/// The columns `scenario, year, series, mean, sd, p05..p95` of summary
/// rows, `view` naming each row's view.
fn summary_columns<'a>(
    model: &'a Model,
    rows: &'a [SummaryRow],
    view: &dyn Fn(usize) -> &'a str,
) -> Vec<Column> {
    let mut columns = vec![
        text("scenario", rows, |r| view(r.view)),
        ints("year", rows, |r| r.year),
        text("series", rows, |r| model.series_id(r.series)),
        floats("mean", rows, |r| r.stats.mean),
        floats("sd", rows, |r| r.stats.sd),
    ];
    for (i, name) in ["p05", "p25", "p50", "p75", "p95"].into_iter().enumerate() {
        columns.push(floats(name, rows, |r| r.stats.q[i]));
    }
    columns
}

/// The columns `scenario, series, year, condition, level, probability,
/// se` of threshold rows.
fn threshold_columns<'a>(
    model: &'a Model,
    rows: &'a [ThresholdRow],
    view: &dyn Fn(usize) -> &'a str,
) -> Vec<Column> {
    let th = |r: &ThresholdRow| &model.thresholds[r.threshold];
    vec![
        text("scenario", rows, |r| view(r.view)),
        text("series", rows, |r| model.series_id(th(r).series)),
        ints("year", rows, |r| th(r).year),
        text("condition", rows, |r| {
            if th(r).above {
                "above"
            } else {
                "below"
            }
        }),
        floats("level", rows, |r| th(r).level),
        floats("probability", rows, |r| r.probability),
        floats("se", rows, |r| r.se),
    ]
}

/// The long summary frame: `scenario, year, series, mean, sd, p05..p95`.
pub fn summary_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let view = |v: usize| summary.views[v].name.as_str();
    DataFrame::new(
        summary.rows.len(),
        summary_columns(model, &summary.rows, &view),
    )
}

/// `scenario, series, year, condition, level, probability, se`.
pub fn thresholds_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let view = |v: usize| summary.views[v].name.as_str();
    DataFrame::new(
        summary.thresholds.len(),
        threshold_columns(model, &summary.thresholds, &view),
    )
}

/// The columns `deal, outcome, baseline, year, series, mean, p05, p50,
/// p95, pairs` of impact rows, `row` reaching each row's statistics.
fn impact_columns<'a, R>(
    model: &'a Model,
    rows: &'a [R],
    row: impl Fn(&'a R) -> &'a ImpactRow + Copy,
) -> Vec<Column> {
    let deal = move |r: &'a R| &model.deals[row(r).deal];
    vec![
        text("deal", rows, |r| &deal(r).id),
        text("outcome", rows, |r| &deal(r).outcomes[row(r).outcome].id),
        text("baseline", rows, |r| &deal(r).outcomes[deal(r).baseline].id),
        ints("year", rows, |r| row(r).year),
        text("series", rows, |r| model.series_id(row(r).series)),
        floats("mean", rows, |r| row(r).mean),
        floats("p05", rows, |r| row(r).p05),
        floats("p50", rows, |r| row(r).p50),
        floats("p95", rows, |r| row(r).p95),
        Column::new(
            "pairs".into(),
            rows.iter()
                .map(|r| row(r).pairs as u32)
                .collect::<Vec<u32>>(),
        ),
    ]
}

/// `deal, outcome, baseline, year, series, mean, p05, p50, p95, pairs`.
pub fn impact_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let rows = &summary.impact;
    DataFrame::new(rows.len(), impact_columns(model, rows, |r| r))
}

/// `scenario, series, year, lo, hi, density`: horizon histograms.
pub fn horizon_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let rows = &summary.horizon;
    DataFrame::new(
        rows.len(),
        vec![
            text("scenario", rows, |r| &summary.views[r.view].name),
            text("series", rows, |r| model.series_id(r.series)),
            ints("year", rows, |r| r.year),
            floats("lo", rows, |r| r.lo),
            floats("hi", rows, |r| r.hi),
            floats("density", rows, |r| r.density),
        ],
    )
}

/// `scenario, year, series, input, spearman, swing_low, swing_high, s1,
/// s1_lo, s1_hi`: the sensitivity rows in their order (by view, year and
/// series, `s1` largest first); `spearman` is empty for a deal.
pub fn sensitivity_frame(model: &Model, rows: &[SensitivityRow]) -> PolarsResult<DataFrame> {
    DataFrame::new(
        rows.len(),
        vec![
            text("scenario", rows, |r| &r.view),
            ints("year", rows, |r| r.year),
            text("series", rows, |r| model.series_id(r.series)),
            text("input", rows, |r| &r.input),
            Column::new(
                "spearman".into(),
                rows.iter()
                    .map(|r| r.spearman)
                    .collect::<Vec<Option<f64>>>(),
            ),
            floats("swing_low", rows, |r| r.swing.0),
            floats("swing_high", rows, |r| r.swing.1),
            floats("s1", rows, |r| r.s1),
            floats("s1_lo", rows, |r| r.interval.0),
            floats("s1_hi", rows, |r| r.interval.1),
        ],
    )
}

/// `scenario, year, series, input, s1, s1_lo, s1_hi, st, st_lo, st_hi`.
pub fn sobol_frame(model: &Model, rows: &[SobolRow]) -> PolarsResult<DataFrame> {
    DataFrame::new(
        rows.len(),
        vec![
            text("scenario", rows, |r| &r.scenario),
            ints("year", rows, |r| r.year),
            text("series", rows, |r| model.series_id(r.series)),
            text("input", rows, |r| &r.input),
            floats("s1", rows, |r| r.s1.0),
            floats("s1_lo", rows, |r| r.s1.1),
            floats("s1_hi", rows, |r| r.s1.2),
            floats("st", rows, |r| r.st.0),
            floats("st_lo", rows, |r| r.st.1),
            floats("st_hi", rows, |r| r.st.2),
        ],
    )
}

/// `name, probability, futures`.
pub fn scenarios_frame(scenarios: &[Scenario], futures: usize) -> PolarsResult<DataFrame> {
    DataFrame::new(
        scenarios.len(),
        vec![
            text("name", scenarios, |s| &s.name),
            floats("probability", scenarios, |s| s.probability),
            Column::new("futures".into(), vec![futures as u64; scenarios.len()]),
        ],
    )
}

/// One row per future x scenario x year: `scenario, future, year`, one
/// share column per platform, and `market`.
pub fn paths_frame(
    model: &Model,
    scenarios: &[Scenario],
    paths: &Paths,
) -> PolarsResult<DataFrame> {
    let rows = paths.futures * paths.scenarios * paths.years;
    let mut scen = Vec::with_capacity(rows);
    let mut fut = Vec::with_capacity(rows);
    let mut year = Vec::with_capacity(rows);
    let mut cols: Vec<Vec<f32>> = vec![Vec::with_capacity(rows); paths.columns];
    for (s, scenario) in scenarios.iter().enumerate() {
        for i in 0..paths.futures {
            for k in 0..paths.years {
                scen.push(scenario.name.as_str());
                fut.push(i as u32);
                year.push(model.start_year + k as i32);
                for (c, col) in cols.iter_mut().enumerate() {
                    col.push(paths.column(s, k, c)[i]);
                }
            }
        }
    }
    let mut columns = vec![
        Column::new("scenario".into(), scen),
        Column::new("future".into(), fut),
        Column::new("year".into(), year),
    ];
    for (c, values) in cols.into_iter().enumerate() {
        let name = if c < model.platforms.len() {
            model.platforms[c].id.clone()
        } else {
            "market".to_string()
        };
        columns.push(Float32Chunked::from_vec(name.as_str().into(), values).into_column());
    }
    DataFrame::new(rows, columns)
}

/// The conditioned summary: [`summary_frame`]'s columns and `ess`.
pub fn posterior_summary_frame(model: &Model, post: &Posterior) -> PolarsResult<DataFrame> {
    let view = |v: usize| post.views[v].0.name.as_str();
    let mut columns = summary_columns(model, &post.rows, &view);
    columns.push(floats("ess", &post.rows, |r| post.views[r.view].1));
    DataFrame::new(post.rows.len(), columns)
}

/// The conditioned thresholds: [`thresholds_frame`]'s columns and `ess`.
pub fn posterior_thresholds_frame(model: &Model, post: &Posterior) -> PolarsResult<DataFrame> {
    let view = |v: usize| post.views[v].0.name.as_str();
    let mut columns = threshold_columns(model, &post.thresholds, &view);
    columns.push(floats("ess", &post.thresholds, |r| post.views[r.view].1));
    DataFrame::new(post.thresholds.len(), columns)
}

/// The conditioned deal impacts: [`impact_frame`]'s columns and `ess`.
pub fn posterior_impact_frame(model: &Model, post: &Posterior) -> PolarsResult<DataFrame> {
    let rows = &post.impact;
    let mut columns = impact_columns(model, rows, |r| &r.row);
    columns.push(floats("ess", rows, |r| r.ess));
    DataFrame::new(rows.len(), columns)
}

/// `name, prior, posterior, ess`.
pub fn posterior_scenarios_frame(post: &Posterior) -> PolarsResult<DataFrame> {
    let rows = &post.scenarios;
    DataFrame::new(
        rows.len(),
        vec![
            text("name", rows, |r| &r.name),
            floats("prior", rows, |r| r.prior),
            floats("posterior", rows, |r| r.posterior),
            floats("ess", rows, |r| r.ess),
        ],
    )
}

/// `input, prior_p05, prior_p50, prior_p95, prior_mean, post_p05,
/// post_p50, post_p95, post_mean, moved_sd`, the most moved first.
pub fn posterior_priors_frame(model: &Model, post: &Posterior) -> PolarsResult<DataFrame> {
    let rows = &post.priors;
    let mut columns = vec![text("input", rows, |r| &model.priors[r.prior].path)];
    for (i, name) in ["prior_p05", "prior_p50", "prior_p95", "prior_mean"]
        .into_iter()
        .enumerate()
    {
        columns.push(floats(name, rows, |r| r.before[i]));
    }
    for (i, name) in ["post_p05", "post_p50", "post_p95", "post_mean"]
        .into_iter()
        .enumerate()
    {
        columns.push(floats(name, rows, |r| r.after[i]));
    }
    columns.push(floats("moved_sd", rows, |r| r.moved));
    DataFrame::new(rows.len(), columns)
}

/// `observation, series, year, low, high, p05, p50, p95, post_p50,
/// percentile, ess_alone`: each observation against the unconditioned
/// forecast (`all`).
pub fn observations_frame(model: &Model, post: &Posterior) -> PolarsResult<DataFrame> {
    let rows = &post.observations;
    let obs = |r: &crate::evidence::ObservationRow| &model.observations[r.observation];
    DataFrame::new(
        rows.len(),
        vec![
            text("observation", rows, |r| &obs(r).path),
            text("series", rows, |r| model.series_id(obs(r).series)),
            ints("year", rows, |r| obs(r).year),
            floats("low", rows, |r| obs(r).low),
            floats("high", rows, |r| obs(r).high),
            floats("p05", rows, |r| r.before[0]),
            floats("p50", rows, |r| r.before[1]),
            floats("p95", rows, |r| r.before[2]),
            floats("post_p50", rows, |r| r.after_p50),
            floats("percentile", rows, |r| r.percentile),
            floats("ess_alone", rows, |r| r.ess_alone),
        ],
    )
}

/// Writes the conditioned tables into `dir/posterior/`.
pub fn write_posterior(dir: &Path, model: &Model, post: &Posterior) -> Result<(), OutputError> {
    let dir = dir.join("posterior");
    fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let csv = |name: &str, df| csv_table(&dir, name, df);
    let mut df = csv("summary.csv", posterior_summary_frame(model, post))?;
    write_parquet(&mut df, &dir.join("summary.parquet"))?;
    csv("thresholds.csv", posterior_thresholds_frame(model, post))?;
    csv("impact.csv", posterior_impact_frame(model, post))?;
    csv("scenarios.csv", posterior_scenarios_frame(post))?;
    csv("priors.csv", posterior_priors_frame(model, post))?;
    csv("observations.csv", observations_frame(model, post))?;
    Ok(())
}

/// Writes a frame as CSV (header, names with commas quoted).
pub fn write_csv(df: &mut DataFrame, path: &Path) -> Result<(), OutputError> {
    let mut f = fs::File::create(path).map_err(io("create", path))?;
    CsvWriter::new(&mut f)
        .include_header(true)
        .finish(df)
        .map_err(|source| OutputError::Polars {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes a frame as Parquet.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> Result<(), OutputError> {
    let f = fs::File::create(path).map_err(io("create", path))?;
    ParquetWriter::new(f)
        .finish(df)
        .map(|_| ())
        .map_err(|source| OutputError::Polars {
            path: path.to_path_buf(),
            source,
        })
}

/// A built frame, ready to be written to `path`: polars errors mapped to
/// the path, and refused if a float column holds a value that is not a
/// finite number, naming the column and the row (no table is ever written
/// with NaN or infinity, whichever command writes it).
pub fn frame(result: PolarsResult<DataFrame>, path: &Path) -> Result<DataFrame, OutputError> {
    let polars = |source| OutputError::Polars {
        path: path.to_path_buf(),
        source,
    };
    let df = result.map_err(polars)?;
    for column in df.columns() {
        if !column.dtype().is_float() {
            continue;
        }
        let values = column.cast(&DataType::Float64).map_err(polars)?;
        let bad = values
            .f64()
            .map_err(polars)?
            .iter()
            .enumerate()
            .find_map(|(i, v)| v.filter(|x| !x.is_finite()).map(|x| (i, x)));
        if let Some((i, x)) = bad {
            let keys: Vec<String> = df
                .columns()
                .iter()
                .filter(|c| !c.dtype().is_float())
                .filter_map(|c| c.get(i).ok().map(|v| format!("{}={v}", c.name())))
                .collect();
            return Err(OutputError::NotFinite {
                path: path.to_path_buf(),
                what: format!("{} is {x} in the row {}", column.name(), keys.join(", ")),
            });
        }
    }
    Ok(df)
}

/// Builds, checks ([`frame`]) and writes `dir/name` as CSV.
fn csv_table(
    dir: &Path,
    name: &str,
    df: PolarsResult<DataFrame>,
) -> Result<DataFrame, OutputError> {
    let p = dir.join(name);
    let mut df = frame(df, &p)?;
    write_csv(&mut df, &p)?;
    Ok(df)
}

/// Writes every table of a run into `dir`: `summary.csv` and
/// `summary.parquet`, `thresholds.csv`, `impact.csv`, `horizon.csv`,
/// `scenarios.csv`, `sensitivity.csv` when the sensitivity was analysed,
/// and `paths.parquet` when `paths` are given.
pub fn write_tables(
    dir: &Path,
    model: &Model,
    scenarios: &[Scenario],
    (summary, sensitivity): (&Summary, Option<&[SensitivityRow]>),
    paths: Option<&Paths>,
) -> Result<(), OutputError> {
    let csv = |name: &str, df| csv_table(dir, name, df);
    let mut df = csv("summary.csv", summary_frame(model, summary))?;
    write_parquet(&mut df, &dir.join("summary.parquet"))?;
    csv("thresholds.csv", thresholds_frame(model, summary))?;
    csv("impact.csv", impact_frame(model, summary))?;
    csv("horizon.csv", horizon_frame(model, summary))?;
    csv(
        "scenarios.csv",
        scenarios_frame(scenarios, model.simulation.futures),
    )?;
    if let Some(rows) = sensitivity {
        csv("sensitivity.csv", sensitivity_frame(model, rows))?;
    }
    if let Some(paths) = paths {
        let p = dir.join("paths.parquet");
        write_parquet(&mut frame(paths_frame(model, scenarios, paths), &p)?, &p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_a_value_that_is_not_finite_is_refused_naming_it() {
        let df = |x: f64| {
            DataFrame::new(
                2,
                vec![
                    Column::new("scenario".into(), ["all", "deal=yes"]),
                    Column::new("year".into(), [2030i32, 2031]),
                    Column::new("mean".into(), [0.5, x]),
                    Column::new("spearman".into(), [Some(0.1), None::<f64>]),
                ],
            )
        };
        let path = Path::new("out/summary.csv");
        // Finite values and nulls (a deal's empty Spearman) pass.
        assert!(frame(df(0.25), path).is_ok());
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = frame(df(x), path).unwrap_err().to_string();
            assert!(
                err.contains("out/summary.csv")
                    && err.contains(&format!("mean is {x}"))
                    && err.contains("deal=yes")
                    && err.contains("2031"),
                "{err}"
            );
        }
    }
}
