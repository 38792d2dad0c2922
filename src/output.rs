//! Tables written by a run (polars frames to CSV and Parquet), the run
//! manifest, and the all-or-nothing output folder.

use crate::engine::Paths;
use crate::model::Model;
use crate::scenario::Scenario;
use crate::summary::Summary;
use polars::prelude::*;
use polars_io::prelude::{CsvWriter, ParquetWriter, SerWriter};
use std::fs;
use std::path::{Path, PathBuf};

/// Errors while writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file-system operation failed.
    #[error("cannot {action} '{path}'")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// polars failed to build or write a frame.
    #[error("cannot write '{path}'")]
    Polars {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: PolarsError,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> OutputError + 'a {
    move |source| OutputError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The long summary frame: `scenario, year, series, mean, sd, p05..p95`.
pub fn summary_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let rows = &summary.rows;
    let n = rows.len();
    let get = |f: &dyn Fn(&crate::summary::SummaryRow) -> f64| -> Vec<f64> {
        rows.iter().map(f).collect()
    };
    DataFrame::new(
        n,
        vec![
            Column::new(
                "scenario".into(),
                rows.iter()
                    .map(|r| summary.views[r.view].name.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "year".into(),
                rows.iter().map(|r| r.year).collect::<Vec<i32>>(),
            ),
            Column::new(
                "series".into(),
                rows.iter()
                    .map(|r| model.series_id(r.series))
                    .collect::<Vec<_>>(),
            ),
            Column::new("mean".into(), get(&|r| r.stats.mean)),
            Column::new("sd".into(), get(&|r| r.stats.sd)),
            Column::new("p05".into(), get(&|r| r.stats.q[0])),
            Column::new("p25".into(), get(&|r| r.stats.q[1])),
            Column::new("p50".into(), get(&|r| r.stats.q[2])),
            Column::new("p75".into(), get(&|r| r.stats.q[3])),
            Column::new("p95".into(), get(&|r| r.stats.q[4])),
        ],
    )
}

/// `scenario, series, year, condition, level, probability, se`.
pub fn thresholds_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let rows = &summary.thresholds;
    let th = |r: &crate::summary::ThresholdRow| &model.thresholds[r.threshold];
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "scenario".into(),
                rows.iter()
                    .map(|r| summary.views[r.view].name.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "series".into(),
                rows.iter()
                    .map(|r| model.series_id(th(r).series))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "year".into(),
                rows.iter().map(|r| th(r).year).collect::<Vec<i32>>(),
            ),
            Column::new(
                "condition".into(),
                rows.iter()
                    .map(|r| if th(r).above { "above" } else { "below" })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "level".into(),
                rows.iter().map(|r| th(r).level).collect::<Vec<f64>>(),
            ),
            Column::new(
                "probability".into(),
                rows.iter().map(|r| r.probability).collect::<Vec<f64>>(),
            ),
            Column::new("se".into(), rows.iter().map(|r| r.se).collect::<Vec<f64>>()),
        ],
    )
}

/// `deal, outcome, baseline, year, series, mean, p05, p50, p95, pairs`.
pub fn impact_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let rows = &summary.impact;
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "deal".into(),
                rows.iter()
                    .map(|r| model.deals[r.deal].id.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "outcome".into(),
                rows.iter()
                    .map(|r| model.deals[r.deal].outcomes[r.outcome].id.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "baseline".into(),
                rows.iter()
                    .map(|r| {
                        model.deals[r.deal].outcomes[model.deals[r.deal].baseline]
                            .id
                            .as_str()
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "year".into(),
                rows.iter().map(|r| r.year).collect::<Vec<i32>>(),
            ),
            Column::new(
                "series".into(),
                rows.iter()
                    .map(|r| model.series_id(r.series))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "mean".into(),
                rows.iter().map(|r| r.mean).collect::<Vec<f64>>(),
            ),
            Column::new(
                "p05".into(),
                rows.iter().map(|r| r.p05).collect::<Vec<f64>>(),
            ),
            Column::new(
                "p50".into(),
                rows.iter().map(|r| r.p50).collect::<Vec<f64>>(),
            ),
            Column::new(
                "p95".into(),
                rows.iter().map(|r| r.p95).collect::<Vec<f64>>(),
            ),
            Column::new(
                "pairs".into(),
                rows.iter().map(|r| r.pairs as u32).collect::<Vec<u32>>(),
            ),
        ],
    )
}

/// `scenario, series, year, lo, hi, density`: horizon histograms.
pub fn horizon_frame(model: &Model, summary: &Summary) -> PolarsResult<DataFrame> {
    let rows = &summary.horizon;
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                "scenario".into(),
                rows.iter()
                    .map(|r| summary.views[r.view].name.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "series".into(),
                rows.iter()
                    .map(|r| model.series_id(r.series))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "year".into(),
                rows.iter().map(|r| r.year).collect::<Vec<i32>>(),
            ),
            Column::new("lo".into(), rows.iter().map(|r| r.lo).collect::<Vec<f64>>()),
            Column::new("hi".into(), rows.iter().map(|r| r.hi).collect::<Vec<f64>>()),
            Column::new(
                "density".into(),
                rows.iter().map(|r| r.density).collect::<Vec<f64>>(),
            ),
        ],
    )
}

/// `name, probability, futures`.
pub fn scenarios_frame(scenarios: &[Scenario], futures: usize) -> PolarsResult<DataFrame> {
    DataFrame::new(
        scenarios.len(),
        vec![
            Column::new(
                "name".into(),
                scenarios
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "probability".into(),
                scenarios
                    .iter()
                    .map(|s| s.probability)
                    .collect::<Vec<f64>>(),
            ),
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
            let path = paths.path(i, s);
            for k in 0..paths.years {
                scen.push(scenario.name.as_str());
                fut.push(i as u32);
                year.push(model.start_year + k as i32);
                for (c, col) in cols.iter_mut().enumerate() {
                    col.push(path[k * paths.columns + c]);
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

/// Writes a frame-building result, mapping polars errors to the path.
pub fn frame(result: PolarsResult<DataFrame>, path: &Path) -> Result<DataFrame, OutputError> {
    result.map_err(|source| OutputError::Polars {
        path: path.to_path_buf(),
        source,
    })
}

/// A folder filled under a temporary name and renamed into place only when
/// complete, so an interrupted run never leaves a folder that looks done.
pub struct Staging {
    target: PathBuf,
    temp: PathBuf,
    done: bool,
}

impl Staging {
    /// Creates `<target>.partial-<pid>` next to the target.
    pub fn new(target: &Path) -> Result<Staging, OutputError> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io("create the output folder", &parent))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let temp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if temp.exists() {
            fs::remove_dir_all(&temp).map_err(io("remove", &temp))?;
        }
        fs::create_dir_all(&temp).map_err(io("create the output folder", &temp))?;
        Ok(Staging {
            target: target.to_path_buf(),
            temp,
            done: false,
        })
    }

    /// Where files are written until [`Staging::commit`].
    pub fn dir(&self) -> &Path {
        &self.temp
    }

    /// Moves the finished folder into place, replacing an earlier run.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        let old = self.temp.with_extension("old");
        if self.target.exists() {
            fs::rename(&self.target, &old)
                .map_err(io("move the previous output aside", &self.target))?;
        }
        if let Err(e) = fs::rename(&self.temp, &self.target) {
            // Put the previous run back: nothing is lost.
            let _ = fs::rename(&old, &self.target);
            return Err(io("move the new output into place", &self.target)(e));
        }
        let _ = fs::remove_dir_all(&old);
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}
