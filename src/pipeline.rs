//! One model's run, as a pipeline: plan the engine, simulate the futures,
//! hand the simulated blocks to the summaries. Exact summaries take every
//! path at once; sketch summaries fold block after block into mergeable
//! state (and a shard folds only its slice of the futures). The summary
//! stage never drives the engine: this module does.

use crate::engine::{Engine, Paths};
use crate::model::Model;
use crate::scenario::{self, Scenario};
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
    /// Seconds per stage: `simulate`, `summarise`.
    pub seconds: BTreeMap<String, f64>,
}

/// Simulates and summarises every future of `model`.
pub fn run(
    model: &Model,
    scenarios: &[Scenario],
    summaries: Summaries,
    progress: &(dyn Fn(usize) + Sync),
) -> Outcome {
    let engine = Engine::new(model, scenarios);
    let mut seconds = BTreeMap::new();
    match summaries {
        Summaries::Exact => {
            let t = Instant::now();
            let paths = engine.simulate(0..model.simulation.futures, progress);
            seconds.insert("simulate".into(), t.elapsed().as_secs_f64());
            let t = Instant::now();
            let summary = summary::summarise(model, scenarios, &paths);
            seconds.insert("summarise".into(), t.elapsed().as_secs_f64());
            Outcome {
                summary,
                clamps: paths.clamps.clone(),
                paths: Some(paths),
                seconds,
            }
        }
        Summaries::Sketch => {
            let plan = SketchPlan::new(model, scenarios);
            let mut state = SketchState::new(model, &plan);
            let times = fold(
                &engine,
                model,
                &plan,
                &mut state,
                0..model.simulation.futures,
                progress,
            );
            let t = Instant::now();
            let summary = state.finish(model, &plan);
            seconds.insert("simulate".into(), times.0.as_secs_f64());
            seconds.insert("summarise".into(), (times.1 + t.elapsed()).as_secs_f64());
            Outcome {
                summary,
                clamps: state.clamps.clone(),
                paths: None,
                seconds,
            }
        }
    }
}

/// Simulates futures `range` block by block and folds each block into
/// `state`; returns the time spent simulating and folding.
pub fn fold(
    engine: &Engine<'_>,
    model: &Model,
    plan: &SketchPlan,
    state: &mut SketchState,
    range: Range<usize>,
    progress: &(dyn Fn(usize) + Sync),
) -> (Duration, Duration) {
    let (mut simulate, mut summarise) = (Duration::ZERO, Duration::ZERO);
    let block = block_size(model, plan.scenarios());
    let mut start = range.start;
    while start < range.end {
        let end = (start + block).min(range.end);
        let t = Instant::now();
        let paths = engine.simulate(start..end, progress);
        simulate += t.elapsed();
        let t = Instant::now();
        state.fold(model, plan, &paths);
        summarise += t.elapsed();
        start = end;
    }
    (simulate, summarise)
}
