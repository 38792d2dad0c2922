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
    /// The first `n` futures (all of them if fewer), draws included.
    pub fn first_futures(&self, n: usize) -> Paths {
        let n = n.min(self.futures);
        let mut data = Vec::with_capacity(n * self.scenarios * self.years * self.columns);
        for col in self.data.chunks_exact(self.futures.max(1)) {
            data.extend_from_slice(&col[..n]);
        }
        let kept = self.kept.min(n);
        let mut draws = Vec::with_capacity(kept * self.draws.len() / self.kept.max(1));
        if self.kept > 0 {
            for d in self.draws.chunks_exact(self.kept) {
                draws.extend_from_slice(&d[..kept]);
            }
        }
        Paths {
            futures: n,
            data,
            draws,
            kept,
            ..self.clone_shape()
        }
    }

    /// Appends the futures of `other`, which follow these (same scenarios,
    /// years and columns; draws kept for all futures of both, or none).
    pub fn append(&mut self, other: &Paths) {
        let (a, b) = (self.futures, other.futures);
        let mut data = Vec::with_capacity((a + b) * self.scenarios * self.years * self.columns);
        for (x, y) in self
            .data
            .chunks_exact(a.max(1))
            .zip(other.data.chunks_exact(b.max(1)))
        {
            data.extend_from_slice(&x[..a]);
            data.extend_from_slice(&y[..b]);
        }
        let mut draws = Vec::with_capacity(self.draws.len() + other.draws.len());
        if let Some(dims) =
            (self.draws.len() + other.draws.len()).checked_div(self.kept + other.kept)
        {
            for d in 0..dims {
                draws.extend_from_slice(&self.draws[d * self.kept..(d + 1) * self.kept]);
                draws.extend_from_slice(&other.draws[d * other.kept..(d + 1) * other.kept]);
            }
        }
        for (x, y) in self.clamps.iter_mut().zip(&other.clamps) {
            *x += y;
        }
        self.data = data;
        self.draws = draws;
        self.kept += other.kept;
        self.futures = a + b;
    }

    /// An empty copy of the shape (no futures).
    fn clone_shape(&self) -> Paths {
        Paths {
            futures: 0,
            first: self.first,
            scenarios: self.scenarios,
            years: self.years,
            columns: self.columns,
            data: Vec::new(),
            clamps: self.clamps.clone(),
            draws: Vec::new(),
            kept: 0,
        }
    }

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
