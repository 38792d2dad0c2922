//! Reads a run folder's tables back (polars) into rows the charts use, so a
//! report can be redrawn without re-simulating.

use super::ReportError;
use crate::model::{self, Model};
use polars::prelude::*;
use polars_io::prelude::{CsvReadOptions, ParquetReader, SerReader};
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

/// Everything a report needs.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The model as it was run (file plus overrides).
    pub model: Model,
    /// The run manifest.
    pub run: serde_json::Value,
    /// Summary rows.
    pub summary: Vec<SummaryRow>,
    /// Impact rows.
    pub impact: Vec<ImpactRow>,
    /// Threshold rows.
    pub thresholds: Vec<ThresholdRow>,
    /// Horizon histogram rows.
    pub horizon: Vec<HorizonRow>,
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
    Ok((0..s.len())
        .map(|i| s.get(i).unwrap_or("").to_string())
        .collect())
}

fn numbers(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<f64>, ReportError> {
    let col = df.column(name).map_err(|e| bad(path, e))?;
    let col = col.cast(&DataType::Float64).map_err(|e| bad(path, e))?;
    let s = col.f64().map_err(|e| bad(path, e))?;
    Ok((0..s.len()).map(|i| s.get(i).unwrap_or(f64::NAN)).collect())
}

/// Reads the tables of a run folder.
pub fn load(dir: &Path) -> Result<Tables, ReportError> {
    let run_path = dir.join("run.json");
    let run_text = std::fs::read_to_string(&run_path).map_err(|e| {
        bad(
            &run_path,
            format!("{e}; is '{}' the output folder of a run?", dir.display()),
        )
    })?;
    let run: serde_json::Value = serde_json::from_str(&run_text).map_err(|e| bad(&run_path, e))?;
    let model_path = dir.join("model.toml");
    let text = std::fs::read_to_string(&model_path).map_err(|e| bad(&model_path, e))?;
    let overrides: Vec<String> = run["overrides"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let model = model::load(&model_path.display().to_string(), &text, &overrides)
        .map_err(|e| bad(&model_path, e))?;

    let p = dir.join("summary.parquet");
    let file = std::fs::File::open(&p).map_err(|e| bad(&p, e))?;
    let df = ParquetReader::new(file).finish().map_err(|e| bad(&p, e))?;
    let (sc, yr, se) = (
        strings(&df, "scenario", &p)?,
        numbers(&df, "year", &p)?,
        strings(&df, "series", &p)?,
    );
    let cols: Vec<Vec<f64>> = ["mean", "p05", "p25", "p50", "p75", "p95"]
        .iter()
        .map(|c| numbers(&df, c, &p))
        .collect::<Result<_, _>>()?;
    let summary = (0..df.height())
        .map(|i| SummaryRow {
            scenario: sc[i].clone(),
            year: yr[i] as i32,
            series: se[i].clone(),
            mean: cols[0][i],
            q: [cols[1][i], cols[2][i], cols[3][i], cols[4][i], cols[5][i]],
        })
        .collect();

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
    Ok(Tables {
        model,
        run,
        summary,
        impact,
        thresholds,
        horizon,
    })
}
