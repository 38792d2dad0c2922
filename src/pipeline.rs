//! One model's run, as a pipeline: plan the engine, simulate the futures,
//! hand the simulated blocks to the summaries. Exact summaries take every
//! path at once; sketch summaries fold block after block into mergeable
//! state (and a shard folds only its slice of the futures). The summary
//! stage never drives the engine: this module does.

use crate::engine::{Engine, Paths};
use crate::evidence::{condition, Posterior};
use crate::model::Model;
use crate::scenario::{self, Scenario};
use crate::sensitivity::{self, Sample, SensitivityRow};
use crate::summary::sketch::{block_size, SketchPlan, SketchState};
use crate::summary::{self, Summary};
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

/// How a run is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summaries {
    /// Every path held in memory; exact sample quantiles.
    Exact,
    /// Futures folded block by block into fixed-bin sketches.
    Sketch,
}

impl Summaries {
    /// The name written in `run.json`.
    pub fn name(self) -> &'static str {
        match self {
            Summaries::Exact => "exact",
            Summaries::Sketch => "sketch",
        }
    }
}

/// Largest memory footprint for exact summaries (every path held).
pub const EXACT_BUDGET: u128 = 1 << 30;

/// Bytes an exact run is budgeted at: the paths (`f32` per future x
/// scenario x year x platform share and market), plus a group column and a
/// sorted copy for every series' column. (The summaries hold those only for
/// one year and series per thread at a time, so this over-counts; it is
/// kept so that the same runs stay exact.)
pub fn exact_bytes(model: &Model) -> u128 {
    let cells = model.simulation.futures as u128
        * scenario::enumerate(model).len() as u128
        * (model.horizon() as u128 + 1);
    let columns = model.platforms.len() as u128
        + 1
        + model.groups.len() as u128
        + model.series().len() as u128;
    cells * columns * 4
}

/// `auto`: exact summaries when the paths fit [`EXACT_BUDGET`].
pub fn auto(model: &Model) -> Summaries {
    if exact_bytes(model) <= EXACT_BUDGET {
        Summaries::Exact
    } else {
        Summaries::Sketch
    }
}

/// What a run computed.
pub struct Outcome {
    /// The summary tables.
    pub summary: Summary,
    /// How often each prior's draw was clamped.
    pub clamps: Vec<u64>,
    /// Every path (exact summaries only).
    pub paths: Option<Paths>,
    /// The sensitivity tables.
    pub sensitivity: Vec<SensitivityRow>,
    /// The tables conditioned on the model's observations, if it has any.
    pub posterior: Option<Posterior>,
    /// Seconds per stage: `simulate`, `summarise`, `sensitivity`,
    /// `condition`.
    pub seconds: BTreeMap<String, f64>,
}

/// Futures a sketch run keeps whole for the posterior at most.
pub const POSTERIOR_KEEP: usize = 100_000;

/// How many leading futures a sketch run keeps whole (every path and
/// draw) to condition on the observations: none without observations,
/// else [`POSTERIOR_KEEP`] or as many as fit a quarter of
/// [`EXACT_BUDGET`], whichever is fewer.
pub fn posterior_keep(model: &Model, scenarios: usize) -> usize {
    if model.observations.is_empty() {
        return 0;
    }
    let per_future = (scenarios * (model.horizon() + 1) * (model.platforms.len() + 1) * 4) as u128;
    let fit = (EXACT_BUDGET / 4 / per_future.max(1)) as usize;
    POSTERIOR_KEEP.min(fit).max(1000)
}

/// The leading futures a sketch run keeps, as they are simulated: the
/// sensitivity's sample and the posterior's whole paths. Both grow by
/// appending the next futures, so any split of the run keeps the same.
pub struct Kept {
    /// Draws and focus outputs of the first `min(N, KEEP)` futures.
    pub sample: Sample,
    /// Every path of the first [`posterior_keep`] futures.
    pub paths: Option<Paths>,
}

/// How many leading futures [`Kept`] takes for each use.
#[derive(Debug, Clone, Copy)]
pub struct Keep {
    /// For the sensitivity (at most [`sensitivity::KEEP`]).
    pub sample: usize,
    /// For the posterior.
    pub paths: usize,
}

/// Simulates and summarises every future of `model`, analyses its
/// sensitivity unless `with_sensitivity` is false, and conditions it on
/// its observations when it has any.
pub fn run(
    model: &Model,
    scenarios: &[Scenario],
    (summaries, with_sensitivity): (Summaries, bool),
    progress: &(dyn Fn(usize) + Sync),
) -> Outcome {
    let observed = !model.observations.is_empty();
    let engine = Engine::new(model, scenarios);
    let mut seconds = BTreeMap::new();
    match summaries {
        Summaries::Exact => {
            let t = Instant::now();
            let keep = if with_sensitivity || observed {
                usize::MAX
            } else {
                0
            };
            let paths = engine.simulate_keeping(0..model.simulation.futures, keep, progress);
            seconds.insert("simulate".into(), t.elapsed().as_secs_f64());
            // The summaries and the sensitivity read the same paths and
            // neither waits for the other: run side by side, each filling
            // the other's idle moments.
            let ((summary, t_sum), (sensitivity, t_sens)) = rayon::join(
                || {
                    let t = Instant::now();
                    (summary::summarise(model, scenarios, &paths), t.elapsed())
                },
                || {
                    let t = Instant::now();
                    let rows = if with_sensitivity {
                        let columns = sensitivity::cell_columns(model, &paths);
                        let sample = sensitivity::SampleRef::of_paths(model, &paths, &columns);
                        sensitivity::analyse(model, scenarios, &sample)
                    } else {
                        Vec::new()
                    };
                    (rows, t.elapsed())
                },
            );
            seconds.insert("summarise".into(), t_sum.as_secs_f64());
            seconds.insert("sensitivity".into(), t_sens.as_secs_f64());
            let t = Instant::now();
            let posterior = observed.then(|| condition(model, scenarios, &paths));
            if observed {
                seconds.insert("condition".into(), t.elapsed().as_secs_f64());
            }
            Outcome {
                summary,
                clamps: paths.clamps.clone(),
                paths: Some(paths),
                sensitivity,
                posterior,
                seconds,
            }
        }
        Summaries::Sketch => {
            let shard = run_shard(
                model,
                scenarios,
                0..model.simulation.futures,
                with_sensitivity,
                progress,
            );
            let mut out = finish(
                model,
                scenarios,
                (shard.state, shard.kept),
                with_sensitivity,
            );
            // The folding counts as summarising, the keeping as the
            // sensitivity's.
            for (stage, from) in [
                ("simulate", "simulate"),
                ("summarise", "summarise"),
                ("sensitivity", "keep"),
            ] {
                *out.seconds.entry(stage.into()).or_insert(0.0) += shard.seconds[from];
            }
            out
        }
    }
}

/// Simulates futures `range` block by block, folds each block into the
/// sketch state and keeps its leading futures ([`Keep`]); returns the time
/// spent simulating, folding and keeping.
pub fn fold(
    engine: &Engine<'_>,
    (model, plan): (&Model, &SketchPlan),
    (state, kept): (&mut SketchState, &mut Kept),
    range: Range<usize>,
    keep: Keep,
    progress: &(dyn Fn(usize) + Sync),
) -> (Duration, Duration, Duration) {
    let (mut simulate, mut summarise, mut keeping) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let block = block_size(model, plan.scenarios());
    let mut start = range.start;
    while start < range.end {
        let end = (start + block).min(range.end);
        let t = Instant::now();
        let paths = engine.simulate_keeping(start..end, keep.sample.max(keep.paths), progress);
        simulate += t.elapsed();
        let t = Instant::now();
        state.fold(model, plan, &paths);
        summarise += t.elapsed();
        let t = Instant::now();
        kept.sample.extend(model, &paths, keep.sample);
        if start < keep.paths {
            let part = paths.first_futures(keep.paths - start);
            match kept.paths.as_mut() {
                Some(p) => p.append(&part),
                None => kept.paths = Some(part),
            }
        }
        keeping += t.elapsed();
        start = end;
    }
    (simulate, summarise, keeping)
}

/// What a shard computed: its state and kept futures, and seconds per
/// stage.
pub struct ShardOutcome {
    /// Sketches, counts and sums of its futures.
    pub state: SketchState,
    /// Its share of the leading futures kept whole.
    pub kept: Kept,
    /// Seconds: `simulate`, `summarise`, `keep`.
    pub seconds: BTreeMap<String, f64>,
}

/// Simulates futures `range` of `model` and folds them as a sketch run
/// would, keeping those among the run's leading futures.
pub fn run_shard(
    model: &Model,
    scenarios: &[Scenario],
    range: Range<usize>,
    with_sensitivity: bool,
    progress: &(dyn Fn(usize) + Sync),
) -> ShardOutcome {
    let engine = Engine::new(model, scenarios);
    let plan = SketchPlan::new(model, scenarios);
    let mut state = SketchState::new(model, &plan);
    let mut kept = Kept {
        sample: Sample::new(model, scenarios.len()),
        paths: None,
    };
    let keep = Keep {
        sample: if with_sensitivity {
            sensitivity::KEEP
        } else {
            0
        },
        paths: posterior_keep(model, scenarios.len()),
    };
    let times = fold(
        &engine,
        (model, &plan),
        (&mut state, &mut kept),
        range,
        keep,
        progress,
    );
    let seconds = [
        ("simulate", times.0),
        ("summarise", times.1),
        ("keep", times.2),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_string(), t.as_secs_f64()))
    .collect();
    ShardOutcome {
        state,
        kept,
        seconds,
    }
}

/// The outcome of a run whose futures were folded elsewhere (the merged
/// shards): the summaries, the sensitivity and the posterior, exactly as
/// [`run`] computes them from the same state.
pub fn finish(
    model: &Model,
    scenarios: &[Scenario],
    (state, kept): (SketchState, Kept),
    with_sensitivity: bool,
) -> Outcome {
    let plan = SketchPlan::new(model, scenarios);
    let mut seconds = BTreeMap::new();
    let t = Instant::now();
    let summary = state.finish(model, &plan);
    seconds.insert("summarise".into(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let rows = if with_sensitivity {
        sensitivity::analyse(model, scenarios, &kept.sample.view())
    } else {
        Vec::new()
    };
    seconds.insert("sensitivity".into(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let posterior = kept.paths.as_ref().map(|p| condition(model, scenarios, p));
    if posterior.is_some() {
        seconds.insert("condition".into(), t.elapsed().as_secs_f64());
    }
    Outcome {
        summary,
        clamps: state.clamps.clone(),
        paths: None,
        sensitivity: rows,
        posterior,
        seconds,
    }
}
