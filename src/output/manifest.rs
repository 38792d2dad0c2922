//! `run.json`: what produced a run's files (sharecast's mark, the model's
//! SHA-256, overrides, seed, futures), how long each stage took, how often
//! a bounded prior's draw was clamped, and the list of files written. It is
//! written last into the staging folder, and `sharecast report` reads it
//! back (typed) before it draws anything.

use super::folder::WRITTEN_BY;
use super::OutputError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The run manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"sharecast"`: how sharecast recognises its own folders.
    pub written_by: String,
    /// The command that wrote the folder: `run`, `sobol`, `sweep`.
    #[serde(default = "run_command")]
    pub command: String,
    /// sharecast version.
    pub sharecast_version: String,
    /// Model file path (or the built-in default's name).
    pub model_path: String,
    /// SHA-256 of the model file's bytes (`model.toml` in the folder).
    pub model_sha256: String,
    /// `--set` flags in the order applied (flags such as `--futures` are
    /// recorded as the override they stand for).
    pub overrides: Vec<String>,
    /// Model name.
    pub model_name: String,
    /// Seed.
    pub seed: u64,
    /// Futures per scenario.
    pub futures: usize,
    /// Sampling scheme.
    pub sampling: String,
    /// Worker threads.
    pub threads: usize,
    /// Number of scenarios.
    pub scenarios: usize,
    /// Path-years simulated (futures x scenarios x simulated years).
    pub path_years: u64,
    /// Wall time per stage, in seconds.
    pub seconds: BTreeMap<String, f64>,
    /// `exact` (every path held, exact sample quantiles) or `sketch`
    /// (futures folded block by block into fixed-bin sketches).
    pub summaries: String,
    /// Per prior path, how many draws were clamped to its domain (only
    /// priors with at least one clamp are listed).
    pub clamped_draws: BTreeMap<String, u64>,
    /// Whether the run analysed its sensitivity (`sensitivity.csv`).
    #[serde(default = "yes")]
    pub sensitivity: bool,
    /// The conditioning on `[observed]`, when the model has observations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorInfo>,
    /// Every file of the folder sharecast wrote (relative paths), so that
    /// a later run replaces the folder only if nothing else was added.
    #[serde(default)]
    pub files: Vec<String>,
}

impl Manifest {
    /// A manifest for `command` run on a model (its file's path and text,
    /// the overrides applied): the model's identity and simulation
    /// settings filled in, the rest empty for the command to fill.
    pub fn for_model(
        command: &str,
        (model_path, model_text): (&str, &str),
        overrides: &[String],
        model: &crate::model::Model,
        (threads, scenarios): (usize, usize),
    ) -> Manifest {
        Manifest {
            written_by: String::new(),
            command: command.into(),
            sharecast_version: env!("CARGO_PKG_VERSION").to_string(),
            model_path: model_path.into(),
            model_sha256: sha256_hex(model_text.as_bytes()),
            overrides: overrides.to_vec(),
            model_name: model.name.clone(),
            seed: model.simulation.seed,
            futures: model.simulation.futures,
            sampling: model.simulation.sampling.name().to_string(),
            threads,
            scenarios,
            path_years: 0,
            seconds: BTreeMap::new(),
            summaries: String::new(),
            clamped_draws: BTreeMap::new(),
            sensitivity: false,
            posterior: None,
            files: Vec::new(),
        }
    }

    /// Reads and checks `dir/run.json`.
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join("run.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read '{}': {e}; is '{}' the output folder of a run?",
                path.display(),
                dir.display()
            )
        })?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            format!(
                "'{}' is not a sharecast run manifest: {e}; rerun the model to write the folder again",
                path.display()
            )
        })?;
        if m.written_by != WRITTEN_BY {
            return Err(format!(
                "'{}' was not written by sharecast (written_by = \"{}\")",
                path.display(),
                m.written_by
            ));
        }
        Ok(m)
    }

    /// Writes `dir/run.json`, listing every other file in `dir`.
    pub fn write(&mut self, dir: &Path) -> Result<(), OutputError> {
        self.written_by = WRITTEN_BY.to_string();
        self.files = super::list_files(dir);
        let text = serde_json::to_string_pretty(self).expect("a manifest serialises") + "\n";
        super::write_replacing(&dir.join("run.json"), text.as_bytes())
    }
}

/// What `run.json` records of the conditioning.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PosteriorInfo {
    /// Futures it was computed from (all, or a sketch run's first ones).
    pub futures: usize,
    /// Effective sample size of every view.
    pub ess: BTreeMap<String, f64>,
    /// The views whose ESS is below 100.
    pub low_ess: Vec<String>,
    /// The observation hardest to reproduce (the smallest ESS alone).
    pub hardest_observation: Option<String>,
}

fn yes() -> bool {
    true
}

fn run_command() -> String {
    "run".into()
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
