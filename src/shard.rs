//! Sharded runs: shard `I` of `N` simulates futures `[floor(I F / N),
//! floor((I + 1) F / N))` of every scenario (the same futures, draws and
//! strata they have in the whole run) and writes its mergeable state; a
//! merge adds the states in index order and writes exactly the tables the
//! unsharded sketch run writes.
//!
//! A shard folder holds `shard.json` ([`ShardInfo`]: what it belongs to),
//! `state.bin` (the state, [`encode`]), `model.toml` and `run.json`.

use crate::engine::Paths;
use crate::model::Model;
use crate::output::codec::{Malformed, Reader, Writer};
use crate::pipeline::Kept;
use crate::sensitivity::Sample;
use crate::summary::sketch::{SketchPlan, SketchState};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Version of the shard folder's format; a merge refuses any other.
pub const FORMAT: u32 = 1;

/// `shard.json`: what a shard belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// [`FORMAT`].
    pub format: u32,
    /// sharecast version that wrote it.
    pub sharecast_version: String,
    /// Model name.
    pub model_name: String,
    /// Model file path as given.
    pub model_path: String,
    /// SHA-256 of the model file's bytes.
    pub model_sha256: String,
    /// `--set` flags in the order applied.
    pub overrides: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Futures per scenario of the whole run.
    pub futures: usize,
    /// Sampling scheme.
    pub sampling: String,
    /// Whether the run analyses its sensitivity.
    pub sensitivity: bool,
    /// This shard's index, 0-based.
    pub index: usize,
    /// Shards in the run.
    pub count: usize,
    /// The futures it holds: `[first, end)`.
    pub first: usize,
    /// End of its futures.
    pub end: usize,
    /// SHA-256 of `state.bin`.
    pub state_sha256: String,
}

impl ShardInfo {
    /// The first field, of those every shard of one run shares, in which
    /// `other` differs.
    pub fn differs_from(&self, other: &ShardInfo) -> Option<&'static str> {
        [
            (self.format != other.format, "formats"),
            (
                self.model_sha256 != other.model_sha256,
                "model files (SHA-256)",
            ),
            (self.overrides != other.overrides, "overrides"),
            (self.seed != other.seed, "seeds"),
            (self.futures != other.futures, "numbers of futures"),
            (self.sampling != other.sampling, "sampling"),
            (
                self.sensitivity != other.sensitivity,
                "sensitivity settings (--no-sensitivity)",
            ),
            (self.count != other.count, "numbers of shards"),
        ]
        .into_iter()
        .find(|(d, _)| *d)
        .map(|(_, what)| what)
    }
}

/// The futures of shard `index` of `count` in a run of `futures`.
pub fn range(index: usize, count: usize, futures: usize) -> Range<usize> {
    let at = |i: usize| (i as u128 * futures as u128 / count as u128) as usize;
    at(index)..at(index + 1)
}

/// The state of a shard: sketches and the leading futures it kept.
pub fn encode(state: &SketchState, kept: &Kept) -> Vec<u8> {
    let mut w = Writer::default();
    state.encode(&mut w);
    w.u(kept.sample.inputs.len() as u128);
    for v in &kept.sample.inputs {
        w.f64s(v);
    }
    w.u(kept.sample.outputs.len() as u128);
    for v in &kept.sample.outputs {
        w.f32s(v);
    }
    match &kept.paths {
        None => w.u(0),
        Some(p) => {
            w.u(1);
            for x in [p.futures, p.first, p.scenarios, p.years, p.columns, p.kept] {
                w.u(x as u128);
            }
            w.f32s(&p.data);
            w.counts(&p.clamps);
            w.f64s(&p.draws);
        }
    }
    w.bytes
}

/// Reads what [`encode`] wrote, for `model` with `scenarios` scenarios.
pub fn decode(
    model: &Model,
    plan: &SketchPlan,
    scenarios: usize,
    bytes: &[u8],
) -> Result<(SketchState, Kept), Malformed> {
    let mut r = Reader::new(bytes);
    let state = SketchState::decode(model, plan, &mut r)?;
    let mut sample = Sample::new(model, scenarios);
    if r.size()? != sample.inputs.len() {
        return Err(Malformed("the kept draws are not this model's"));
    }
    for v in &mut sample.inputs {
        *v = r.f64s()?;
    }
    if r.size()? != sample.outputs.len() {
        return Err(Malformed("the kept outputs are not this model's"));
    }
    for v in &mut sample.outputs {
        *v = r.f32s()?;
    }
    let paths = match r.u()? {
        0 => None,
        1 => {
            let mut f = [0usize; 6];
            for x in &mut f {
                *x = r.size()?;
            }
            let data = r.f32s()?;
            let mut clamps = vec![0u64; model.priors.len()];
            r.counts_into(&mut clamps)?;
            let draws = r.f64s()?;
            let [futures, first, sc, years, columns, kept] = f;
            if data.len() != futures * sc * years * columns || sc != scenarios {
                return Err(Malformed("the kept paths are not this model's"));
            }
            Some(Paths {
                futures,
                first,
                scenarios: sc,
                years,
                columns,
                data,
                clamps,
                draws,
                kept,
            })
        }
        _ => return Err(Malformed("the kept paths are malformed")),
    };
    if !r.done() {
        return Err(Malformed("bytes are left over"));
    }
    Ok((state, Kept { sample, paths }))
}

/// The shard index and count a scheduler gives this process: Slurm's
/// array variables, or Kubernetes' `JOB_COMPLETION_INDEX` / AWS Batch's
/// `AWS_BATCH_JOB_ARRAY_INDEX` with `shards` (those give no count).
pub fn from_environment(
    env: &dyn Fn(&str) -> Option<String>,
    shards: Option<usize>,
) -> Result<(usize, usize), String> {
    let num = |name: &str| -> Result<Option<usize>, String> {
        match env(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{name}={v} is not a whole number")),
        }
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let count =
            match (num("SLURM_ARRAY_TASK_COUNT")?, shards) {
                (Some(c), _) => c,
                (None, Some(n)) => n,
                (None, None) => return Err(
                    "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shards N"
                        .into(),
                ),
            };
        let index = id.checked_sub(min).ok_or_else(|| {
            format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
        })?;
        return Ok((index, count));
    }
    for name in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
        if let Some(index) = num(name)? {
            let count = shards.ok_or_else(|| {
                format!(
                    "{name} gives this shard's index but not how many there are: add --shards N"
                )
            })?;
            return Ok((index, count));
        }
    }
    Err("--shard auto found no scheduler index: set SLURM_ARRAY_TASK_ID (Slurm arrays), JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch), or give --shard I/N".into())
}

/// Parses `I/N` (0-based `I < N`).
pub fn parse(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard '{s}' must be I/N with 0 <= I < N (0-based, e.g. 0/8), or auto");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_futures_once() {
        for (f, n) in [(10, 3), (7, 7), (5, 8), (100_000_000, 13)] {
            let mut next = 0;
            for i in 0..n {
                let r = range(i, n, f);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, f);
        }
        assert_eq!(range(1, 3, 10), 3..6);
    }

    #[test]
    fn the_environment_gives_the_index() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(from_environment(&slurm, None), Ok((2, 4)));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert_eq!(from_environment(&k8s, Some(3)), Ok((1, 3)));
        assert!(from_environment(&k8s, None)
            .unwrap_err()
            .contains("--shards"));
        assert!(from_environment(&env(&[]), Some(3)).is_err());
        assert_eq!(parse("2/5"), Ok((2, 5)));
        assert!(parse("5/5").is_err() && parse("x").is_err() && parse("0/0").is_err());
    }
}
