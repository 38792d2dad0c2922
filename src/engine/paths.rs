//! The simulated paths: one `f32` per scenario x year x column x future
//! (the columns being every platform's share and then the market `M(k)`),
//! column-major so that a statistic reads one contiguous run of futures.

/// Simulated paths: `scenarios x years x columns x futures`, one
/// contiguous run of futures per (scenario, year, column).
#[derive(Debug, Clone)]
pub struct Paths {
    /// Futures held (all of a run, or a block of it).
    pub futures: usize,
    /// The run's index of the first future held.
    pub first: usize,
    /// Number of scenarios.
    pub scenarios: usize,
    /// Years reported, base year included (`T + 1`).
    pub years: usize,
    /// Columns: one share per platform, then the market.
    pub columns: usize,
    /// The values.
    pub data: Vec<f32>,
    /// How often each prior's draw was clamped to its domain.
    pub clamps: Vec<u64>,
    /// The draws of the priors that are not fixed, prior by prior
    /// (`[d * kept + i]` for the `d`-th such prior), of the first `kept`
    /// futures held (see [`crate::engine::Engine::simulate_keeping`]).
    pub draws: Vec<f64>,
    /// Futures whose draws `draws` holds.
    pub kept: usize,
}

impl Paths {
    /// The kept draws of the `d`-th prior that is not fixed.
    pub fn draws_of(&self, d: usize) -> &[f64] {
        &self.draws[d * self.kept..(d + 1) * self.kept]
    }
}

impl Paths {
    /// Index of (future, scenario, year, column).
    #[inline]
    pub fn index(&self, i: usize, s: usize, k: usize, c: usize) -> usize {
        ((s * self.years + k) * self.columns + c) * self.futures + i
    }

    /// Every future's value of one scenario, year and column.
    pub fn column(&self, s: usize, k: usize, c: usize) -> &[f32] {
        let start = self.index(0, s, k, c);
        &self.data[start..start + self.futures]
    }

    /// The market column of one scenario and year.
    pub fn market(&self, s: usize, k: usize) -> &[f32] {
        self.column(s, k, self.columns - 1)
    }

    /// Values of one future and scenario: `years x columns` (a copy).
    pub fn path(&self, i: usize, s: usize) -> Vec<f32> {
        (0..self.years * self.columns)
            .map(|kc| self.data[self.index(i, s, kc / self.columns, kc % self.columns)])
            .collect()
    }
}

/// Where a simulation writes: a block of `n` futures whose first is future
/// `offset` of the run, value `col` of future `i` at `out[col * n + i]`.
/// Shared by the parallel chunks, each of which writes only its own
/// futures' positions.
#[derive(Clone, Copy)]
pub(crate) struct Block {
    pub out: *mut f32,
    pub n: usize,
    pub offset: usize,
    /// Where the draws of the block's first `keep` futures go: the `d`-th
    /// sampled prior's draw of future `i` at `kept[d * keep + i]`.
    pub kept: *mut f64,
    pub keep: usize,
}

// SAFETY: chunks write disjoint sets of indices (their own futures), and
// the buffer outlives the parallel loop that writes it.
unsafe impl Sync for Block {}
