//! The model file (MODEL.md section 3): reading the TOML, applying `--set`
//! overrides, and validating it into the resolved, indexed [`Model`] the
//! engine receives. The engine never sees TOML.

pub mod schema;
pub mod source;
mod validate;

use crate::prior::Prior;
use std::fmt;

pub use source::Document;
pub use validate::range::{market_range, SPEND_LIMIT};
pub use validate::MAX_FUTURES;

/// The default model, built into the binary.
pub const DEFAULT_MODEL: &str = include_str!("../../models/ai_accelerators.toml");
/// File name shown for the built-in default model.
pub const DEFAULT_MODEL_NAME: &str = "models/ai_accelerators.toml (built in)";

/// One problem found in a model file or an override.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The model file.
    pub file: String,
    /// Dotted TOML path (`buyers.openai.mix`), empty for the whole file.
    pub path: String,
    /// 1-based line in the file, when the value came from it.
    pub line: Option<usize>,
    /// The `--set` flag the value came from, if any.
    pub via: Option<String>,
    /// What was found and what is allowed.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        if let Some(via) = &self.via {
            write!(f, " (from --set {via})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one model file; displayed one per line.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ModelError(pub Vec<Diagnostic>);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{} problem{} in the model:",
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for (i, d) in self.0.iter().enumerate() {
            if i + 1 < n {
                writeln!(f, "  {d}")?;
            } else {
                write!(f, "  {d}")?;
            }
        }
        Ok(())
    }
}

/// How priors are sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Latin hypercube: one stratum per future in each prior dimension.
    Lhs,
    /// Independent uniform draws.
    Random,
}

impl Sampling {
    /// The name used in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Sampling::Lhs => "lhs",
            Sampling::Random => "random",
        }
    }
}

/// `[simulation]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Futures per scenario.
    pub futures: usize,
    /// Seed.
    pub seed: u64,
    /// Sampling scheme.
    pub sampling: Sampling,
}

/// The range a drawn value is clamped to at run time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Domain {
    /// Any real number.
    Real,
    /// `>= 0`.
    NonNegative,
    /// `> 0` (draws clamped to [`MIN_SPEND`]).
    Positive,
    /// `> -1` (draws clamped to -1, where spend stops).
    AboveMinusOne,
    /// `[0, 1]`.
    Unit,
}

/// Smallest spend a draw is clamped to (spend must be > 0).
pub const MIN_SPEND: f64 = 1e-9;

impl Domain {
    /// Clamps a draw into the domain; `true` when the clamp fired.
    #[inline]
    pub fn clamp(self, x: f64) -> (f64, bool) {
        let y = match self {
            Domain::Real => x,
            Domain::NonNegative => x.max(0.0),
            Domain::Positive => x.max(MIN_SPEND),
            Domain::AboveMinusOne => x.max(-1.0),
            Domain::Unit => x.clamp(0.0, 1.0),
        };
        (y, y != x)
    }

    /// Whether a fixed value is allowed.
    pub fn allows(self, x: f64) -> bool {
        match self {
            Domain::Real => true,
            Domain::NonNegative => x >= 0.0,
            Domain::Positive => x > 0.0,
            Domain::AboveMinusOne => x > -1.0,
            Domain::Unit => (0.0..=1.0).contains(&x),
        }
    }

    /// Text for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Domain::Real => "any number",
            Domain::NonNegative => ">= 0",
            Domain::Positive => "> 0",
            Domain::AboveMinusOne => "> -1",
            Domain::Unit => "in [0, 1]",
        }
    }
}

/// Index of a prior in [`Model::priors`] (and of its draws in the engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PriorId(pub usize);

/// Index of an effect in [`Model::effects`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EffectId(pub usize);

impl<T> std::ops::Index<PriorId> for [T] {
    type Output = T;
    #[inline]
    fn index(&self, id: PriorId) -> &T {
        &self[id.0]
    }
}

impl<T> std::ops::Index<PriorId> for Vec<T> {
    type Output = T;
    #[inline]
    fn index(&self, id: PriorId) -> &T {
        &self[id.0]
    }
}

impl<T> std::ops::Index<EffectId> for [T] {
    type Output = T;
    #[inline]
    fn index(&self, id: EffectId) -> &T {
        &self[id.0]
    }
}

impl<T> std::ops::Index<EffectId> for Vec<T> {
    type Output = T;
    #[inline]
    fn index(&self, id: EffectId) -> &T {
        &self[id.0]
    }
}

/// Which scenarios use a prior: every one (platforms, buyers, model-wide
/// effects), or those with one deal outcome (that outcome's effects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorScope {
    /// Every scenario.
    Always,
    /// Scenarios with outcome `.1` of deal `.0`.
    Outcome(usize, usize),
}

/// Where in the model file (or which `--set` flag) a value came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    /// 1-based line in the model file.
    pub line: Option<usize>,
    /// The `--set` flag it came from.
    pub via: Option<String>,
}

/// One prior field of the model: a dimension of the sampling.
#[derive(Debug, Clone)]
pub struct PriorSlot {
    /// Dotted TOML path of the field.
    pub path: String,
    /// The prior.
    pub prior: Prior,
    /// Run-time domain of its draws.
    pub domain: Domain,
    /// `None` for platform and buyer priors, or the effect it belongs to.
    pub effect: Option<EffectId>,
    /// The scenarios that use it.
    pub scope: PriorScope,
    /// Where it was written (for messages about it).
    pub at: Location,
}

/// A platform.
#[derive(Debug, Clone)]
pub struct Platform {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Mean yearly change of the price-performance index.
    pub drift: PriorId,
    /// Sd of the yearly shock.
    pub volatility: PriorId,
    /// First year it can be bought.
    pub available_from: Option<i32>,
}

/// A group of platforms reported together.
#[derive(Debug, Clone)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Member platform indices.
    pub members: Vec<usize>,
}

/// A buyer segment.
#[derive(Debug, Clone)]
pub struct Buyer {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Base-year spend.
    pub spend: PriorId,
    /// Mean yearly growth rate.
    pub growth: PriorId,
    /// Sd of the yearly log-growth shock.
    pub growth_volatility: PriorId,
    /// Weight of price-performance in its choice.
    pub sensitivity: PriorId,
    /// Share of the gap to the preferred mix closed per year.
    pub agility: PriorId,
    /// Base-year mix per platform (0 where absent).
    pub mix: Vec<f64>,
    /// Affinity prior per platform, where given.
    pub affinity: Vec<Option<PriorId>>,
    /// Platforms it can access (ignoring `available_from`).
    pub accessible: Vec<bool>,
}

/// What an effect does.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectKind {
    /// Floor on a buyer's spend on a platform, per year, in the model's unit.
    Commitment {
        /// Buyer index.
        buyer: usize,
        /// Platform index.
        platform: usize,
        /// Spend prior.
        spend: PriorId,
    },
    /// Added to the buyers' preference for a platform.
    Affinity {
        /// Buyer indices.
        buyers: Vec<usize>,
        /// Platform index.
        platform: usize,
        /// Shift prior.
        shift: PriorId,
    },
    /// Added to a platform's drift.
    Drift {
        /// Platform index.
        platform: usize,
        /// Shift prior.
        shift: PriorId,
    },
    /// Added to the buyers' mean growth rate.
    Growth {
        /// Buyer indices.
        buyers: Vec<usize>,
        /// Shift prior.
        shift: PriorId,
    },
}

/// An effect of a deal outcome or a model-wide effect, active in years
/// `from..=to`.
#[derive(Debug, Clone)]
pub struct Effect {
    /// What it does.
    pub kind: EffectKind,
    /// First active year.
    pub from: i32,
    /// Last active year.
    pub to: i32,
    /// Dotted path, for display.
    pub path: String,
    /// The deal outcome it belongs to (`None`: a model-wide effect).
    pub outcome: Option<(usize, usize)>,
}

/// One outcome of a deal.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Probability; one entry, or one per outcome of the `given` deal.
    pub probability: Vec<f64>,
    /// Its effects.
    pub effects: Vec<EffectId>,
}

/// A deal.
#[derive(Debug, Clone)]
pub struct Deal {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// The earlier deal its probabilities are conditional on.
    pub given: Option<usize>,
    /// Index of the baseline outcome.
    pub baseline: usize,
    /// Outcomes in declaration order.
    pub outcomes: Vec<Outcome>,
}

/// A reported series: a platform, a group or the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Series {
    /// Platform index.
    Platform(usize),
    /// Group index.
    Group(usize),
    /// Total market spend.
    Market,
}

/// A `[report].thresholds` entry.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// The series (a platform or a group share).
    pub series: Series,
    /// Year.
    pub year: i32,
    /// The level.
    pub level: f64,
    /// `true` for `above`, `false` for `below`.
    pub above: bool,
}

/// The validated, indexed model.
#[derive(Debug, Clone)]
pub struct Model {
    /// Output folder name.
    pub name: String,
    /// Title.
    pub title: String,
    /// Unit of every spend figure.
    pub unit: String,
    /// Base year.
    pub start_year: i32,
    /// Last simulated year.
    pub end_year: i32,
    /// Simulation settings.
    pub simulation: Simulation,
    /// Every prior of the model, in file order.
    pub priors: Vec<PriorSlot>,
    /// Platforms in declaration order.
    pub platforms: Vec<Platform>,
    /// Groups in declaration order.
    pub groups: Vec<Group>,
    /// Buyers in declaration order.
    pub buyers: Vec<Buyer>,
    /// Every effect: the model-wide ones first, then every outcome's.
    pub effects: Vec<Effect>,
    /// The model-wide effects (`[[effects]]`), applied in every scenario.
    pub global_effects: Vec<EffectId>,
    /// Deals in declaration order.
    pub deals: Vec<Deal>,
    /// Series drawn in the headline charts.
    pub focus: Vec<Series>,
    /// Threshold probabilities to report.
    pub thresholds: Vec<Threshold>,
    /// What has been observed (`[observed]`), to condition the forecast on.
    pub observations: Vec<Observation>,
}

/// One `[observed.YEAR]` entry: a 90% interval for a series' realized value.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Year.
    pub year: i32,
    /// Series.
    pub series: Series,
    /// The interval's ends.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Dotted path (`observed.2026.nvidia`).
    pub path: String,
    /// Where it was written.
    pub at: Location,
}

impl Observation {
    /// `(b - a) / 3.2897`: the normal sd whose 5%-95% width is the interval
    /// (MODEL.md section 7).
    pub const SD_DIVISOR: f64 = 3.2897;

    /// Mean of the likelihood: the interval's centre.
    pub fn mean(&self) -> f64 {
        0.5 * (self.low + self.high)
    }

    /// Sd of the likelihood.
    pub fn sd(&self) -> f64 {
        (self.high - self.low) / Self::SD_DIVISOR
    }
}

impl Model {
    /// Number of simulated years after the base year.
    pub fn horizon(&self) -> usize {
        (self.end_year - self.start_year) as usize
    }

    /// The years of the horizon charts and of the sensitivity tables: the
    /// final year, then each threshold's year not already listed.
    pub fn horizon_years(&self) -> Vec<i32> {
        let mut years = vec![self.end_year];
        for t in &self.thresholds {
            if !years.contains(&t.year) {
                years.push(t.year);
            }
        }
        years
    }

    /// Every series in report order: platforms, groups, market.
    pub fn series(&self) -> Vec<Series> {
        let mut s: Vec<Series> = (0..self.platforms.len()).map(Series::Platform).collect();
        s.extend((0..self.groups.len()).map(Series::Group));
        s.push(Series::Market);
        s
    }

    /// The id of a series as written in tables.
    pub fn series_id(&self, s: Series) -> &str {
        match s {
            Series::Platform(p) => &self.platforms[p].id,
            Series::Group(g) => &self.groups[g].id,
            Series::Market => "market",
        }
    }

    /// A series' label for charts.
    pub fn series_label(&self, s: Series) -> String {
        match s {
            Series::Platform(p) => self.platforms[p].label.clone(),
            Series::Group(g) => {
                let words = self.groups[g].id.replace('_', " ");
                let mut chars = words.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
            Series::Market => "market".into(),
        }
    }

    /// The label of the series with table id `id` (the id itself if there
    /// is none).
    pub fn series_label_of(&self, id: &str) -> String {
        self.find_series(id)
            .map_or(id.to_string(), |s| self.series_label(s))
    }

    /// Finds a series by id.
    pub fn find_series(&self, id: &str) -> Option<Series> {
        if id == "market" {
            return Some(Series::Market);
        }
        if let Some(p) = self.platforms.iter().position(|p| p.id == id) {
            return Some(Series::Platform(p));
        }
        self.groups
            .iter()
            .position(|g| g.id == id)
            .map(Series::Group)
    }
}

/// Reads, overrides and validates a model: every problem is reported, not
/// just the first.
pub fn load(file: &str, text: &str, overrides: &[String]) -> Result<Model, ModelError> {
    let mut doc = Document::parse(file, text).map_err(|d| ModelError(vec![d]))?;
    let mut diags = Vec::new();
    for flag in overrides {
        if let Err(d) = doc.apply_override(flag) {
            diags.push(d);
        }
    }
    if !diags.is_empty() {
        return Err(ModelError(diags));
    }
    validate::validate(&doc)
}
