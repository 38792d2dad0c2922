//! `run.json`: what produced a run's files, how long each stage took, and
//! how often a bounded prior's draw was clamped.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The run manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// sharecast version.
    pub sharecast_version: String,
    /// Model file path (or the built-in default's name).
    pub model_path: String,
    /// SHA-256 of the model file's bytes.
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
    /// `exact` (every path held, exact sample quantiles) or `streamed`
    /// (blocks folded into 16384-bin sketches; see `summary::stream`).
    pub summaries: String,
    /// Per prior path, how many draws were clamped to its domain (only
    /// priors with at least one clamp are listed).
    pub clamped_draws: BTreeMap<String, u64>,
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
