//! What the analysis reads: the outputs (focus series in the final and
//! threshold years), the inputs (the priors that are not fixed), and the
//! sample of both, future by future.

use crate::engine::Paths;
use crate::model::{Model, PriorId, PriorScope, Series};
use crate::scenario::Scenario;
use crate::summary::series_column;
use rayon::prelude::*;
use std::borrow::Cow;

/// An output analysed: a focus series in one year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Series.
    pub series: Series,
    /// Year.
    pub year: i32,
}

/// The outputs: every focus series in the final and threshold years,
/// by year then focus order.
pub fn cells(model: &Model) -> Vec<Cell> {
    let mut years = model.horizon_years();
    years.sort_unstable();
    years
        .iter()
        .flat_map(|&year| model.focus.iter().map(move |&series| Cell { series, year }))
        .collect()
}

/// The priors that are not fixed, in the model's order: the inputs.
pub fn sampled_priors(model: &Model) -> Vec<PriorId> {
    (0..model.priors.len())
        .map(PriorId)
        .filter(|&p| model.priors[p].prior.as_fixed().is_none())
        .collect()
}

/// Whether scenario `sc` uses prior `p`.
pub fn uses(sc: &Scenario, scope: PriorScope) -> bool {
    match scope {
        PriorScope::Always => true,
        PriorScope::Outcome(d, o) => sc.outcomes[d] == o,
    }
}

/// What the analysis reads, future by future: the draws of the sampled
/// priors and every scenario's outputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Per sampled prior ([`sampled_priors`]): its draw in each future.
    pub inputs: Vec<Vec<f64>>,
    /// Per scenario and cell (`s * cells + c`): the output in each future.
    pub outputs: Vec<Vec<f32>>,
}

impl Sample {
    /// An empty sample of `model` with `scenarios` scenarios.
    pub fn new(model: &Model, scenarios: usize) -> Sample {
        Sample {
            inputs: vec![Vec::new(); sampled_priors(model).len()],
            outputs: vec![Vec::new(); scenarios * cells(model).len()],
        }
    }

    /// Futures held.
    pub fn futures(&self) -> usize {
        self.outputs.first().map_or(0, |o| o.len())
    }

    /// Appends the futures of `paths` whose draws it kept (simulated by
    /// [`crate::engine::Engine::simulate_keeping`]; they must follow the
    /// ones held) and whose run index is below `limit`.
    pub fn extend(&mut self, model: &Model, paths: &Paths, limit: usize) {
        let n = paths.kept.min(limit.saturating_sub(paths.first));
        if n == 0 {
            return;
        }
        self.inputs
            .par_iter_mut()
            .enumerate()
            .for_each(|(d, dst)| dst.extend_from_slice(&paths.draws_of(d)[..n]));
        push_outputs(&mut self.outputs, model, paths, n);
    }

    /// The sample as the analysis reads it.
    pub fn view(&self) -> SampleRef<'_> {
        SampleRef {
            inputs: self.inputs.iter().map(Vec::as_slice).collect(),
            outputs: self.outputs.iter().map(Vec::as_slice).collect(),
        }
    }

    /// Appends another sample's futures (the next shard's).
    pub fn append(&mut self, other: &Sample) {
        for (a, b) in self.inputs.iter_mut().zip(&other.inputs) {
            a.extend_from_slice(b);
        }
        for (a, b) in self.outputs.iter_mut().zip(&other.outputs) {
            a.extend_from_slice(b);
        }
    }
}

/// A sample as [`analyse`] reads it, borrowed: from a [`Sample`], or
/// straight from a run's paths (an exact run keeps every future, and
/// copying them would only cost time).
#[derive(Debug, Clone)]
pub struct SampleRef<'a> {
    /// Per sampled prior: its draw in each future.
    pub inputs: Vec<&'a [f64]>,
    /// Per scenario and cell (`s * cells + c`): the output in each future.
    pub outputs: Vec<&'a [f32]>,
}

impl<'a> SampleRef<'a> {
    /// The futures of `paths` whose draws it kept, the outputs read from
    /// `columns` ([`cell_columns`] of the same paths).
    pub fn of_paths(
        model: &Model,
        paths: &'a Paths,
        columns: &'a [Cow<'a, [f32]>],
    ) -> SampleRef<'a> {
        let n = paths.kept.min(paths.futures);
        SampleRef {
            inputs: (0..sampled_priors(model).len())
                .map(|d| &paths.draws_of(d)[..n])
                .collect(),
            outputs: columns.iter().map(|c| &c[..n]).collect(),
        }
    }

    /// Futures held.
    pub fn futures(&self) -> usize {
        self.outputs.first().map_or(0, |o| o.len())
    }
}

/// Every scenario's and cell's column of `paths` (`s * cells + c`), every
/// future (see [`crate::summary::series_column`]).
pub fn cell_columns<'p>(model: &Model, paths: &'p Paths) -> Vec<Cow<'p, [f32]>> {
    let cells = cells(model);
    (0..paths.scenarios * cells.len())
        .into_par_iter()
        .map(|x| {
            let (s, cell) = (x / cells.len(), cells[x % cells.len()]);
            let k = (cell.year - model.start_year) as usize;
            series_column(model, paths, cell.series, s, k)
        })
        .collect()
}

/// Appends the first `n` futures of `paths` to `outputs`, one column per
/// scenario and cell (`s * cells + c`, [`cells`]).
pub fn push_outputs(outputs: &mut [Vec<f32>], model: &Model, paths: &Paths, n: usize) {
    outputs
        .par_iter_mut()
        .zip(cell_columns(model, paths))
        .for_each(|(out, values)| out.extend_from_slice(&values[..n]));
}
