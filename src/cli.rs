//! Command-line definitions (clap). Parsing only: no work is done here.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Monte Carlo forecaster of AI-accelerator spend shares under uncertain deals.
#[derive(Debug, Parser)]
#[command(name = "sharecast", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a model file and print what it means: priors with their
    /// quantiles, base-year shares, deals and the scenario table.
    Check {
        /// Model file (default: the built-in AI-accelerator model).
        model: Option<PathBuf>,
        /// Override a field: PATH=VALUE with a TOML value, e.g.
        /// --set buyers.openai.growth='"0.2 to 0.5"'. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Simulate one or more models and write tables and the report.
    Run(RunArgs),
    /// Sobol study: first- and total-order indices of every uncertain prior
    /// from a Saltelli design simulated by the run's engine.
    Sobol(SobolArgs),
    /// Sweep one or two fields over values: one run per value (or pair),
    /// all on the same futures, tabled and charted side by side.
    Sweep(SweepArgs),
    /// Merge the shard folders of a sharded run into the tables and report
    /// of the unsharded run (byte for byte).
    Merge(MergeArgs),
    /// Redraw the report of a finished run from its tables (no simulation).
    Report {
        /// The run's output folder (e.g. output/ai-accelerators).
        dir: PathBuf,
        /// Chart size in pixels, WxH.
        #[arg(long, value_name = "WxH", default_value = "1600x1000", value_parser = parse_size)]
        chart_size: (u32, u32),
    },
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    sharecast::report::parse_size(s)
}

/// Sampling scheme flag.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SamplingArg {
    /// Latin hypercube over the priors.
    Lhs,
    /// Plain random sampling.
    Random,
}

/// How a run is summarised.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SummariesArg {
    /// Exact when every path fits in 1 GiB of memory, sketches beyond.
    Auto,
    /// Every path held in memory: exact sample quantiles.
    Exact,
    /// Fixed-bin sketches, block by block: memory independent of futures.
    Sketch,
}

/// The flags that override the model's simulation settings, and `--set`:
/// `run` and `sweep`.
#[derive(Debug, clap::Args)]
pub struct SimulationArgs {
    /// Futures per scenario (overrides simulation.futures).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=sharecast::model::MAX_FUTURES as u64))]
    pub futures: Option<u64>,
    /// Seed, an integer in [0, 2^63 - 1] (overrides simulation.seed).
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub seed: Option<u64>,
    /// Sampling scheme (overrides simulation.sampling).
    #[arg(long, value_enum)]
    pub sampling: Option<SamplingArg>,
    /// Override a field: PATH=VALUE with a TOML value. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

/// Workers, chart size and terminal output: every command that simulates
/// or draws.
#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// Worker threads (default: all cores; at most 4 per core, 256 in all).
    /// Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Chart size in pixels, WxH.
    #[arg(long, value_name = "WxH", default_value = "1600x1000", value_parser = parse_size)]
    pub chart_size: (u32, u32),
    /// No progress bar and no summary lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Model files (default: the built-in AI-accelerator model). Several
    /// files make a batch: each gets its own output folder.
    pub models: Vec<PathBuf>,
    /// Overrides of the model's fields.
    #[command(flatten)]
    pub sim: SimulationArgs,
    /// Output folder (default: output/<model name>). With several models,
    /// each run goes to <DIR>/<model name>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write paths.parquet with every future (large; needs exact
    /// summaries).
    #[arg(long)]
    pub paths: bool,
    /// Summaries: exact (every path in memory), sketch (block by block,
    /// within one bin of exact quantiles) or auto.
    #[arg(long, value_enum, default_value = "auto")]
    pub summaries: SummariesArg,
    /// Skip the PNG report (tables only).
    #[arg(long)]
    pub no_report: bool,
    /// Skip the sensitivity analysis (sensitivity.csv and the tornado
    /// charts).
    #[arg(long)]
    pub no_sensitivity: bool,
    /// Run one shard of the futures and write its mergeable state: I/N
    /// (0-based), or auto (the index from Slurm, Kubernetes or AWS Batch
    /// array variables). Merge the shards with `sharecast merge`.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// With --shard auto where the scheduler gives no count (Kubernetes,
    /// AWS Batch): how many shards there are.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub shards: Option<u64>,
    /// Also write FILE: a copy of the model whose priors are fitted to
    /// their posterior under [observed], with [observed] commented out
    /// (one model with observations; never overwrites a file).
    #[arg(long, value_name = "FILE")]
    pub write_posterior: Option<PathBuf>,
    /// Workers, charts and terminal output.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shard folders, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output folder of the merged run.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Skip the PNG report (tables only).
    #[arg(long)]
    pub no_report: bool,
    /// Workers, charts and terminal output.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Model file (default: the built-in AI-accelerator model).
    pub model: Option<PathBuf>,
    /// A field and its values, PATH=v1,v2,... in --set syntax (values split
    /// at top-level commas: "pert(0.05, 0.2, 0.5)" is one value). Once or
    /// twice (a grid of two fields).
    #[arg(long = "vary", value_name = "PATH=V1,V2,...", required = true)]
    pub vary: Vec<String>,
    /// Overrides of the model's fields, in every variant.
    #[command(flatten)]
    pub sim: SimulationArgs,
    /// Output folder (default: output/<model name>.sweep).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Workers, charts and terminal output.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `sobol`.
#[derive(Debug, clap::Args)]
pub struct SobolArgs {
    /// Model file (default: the built-in AI-accelerator model).
    pub model: Option<PathBuf>,
    /// Base sample size N, a power of two: the study simulates N x (d + 2)
    /// futures per scenario for d uncertain priors.
    #[arg(long, value_name = "N", default_value_t = sharecast::sensitivity::sobol::DEFAULT_BASE)]
    pub base: usize,
    /// Study one scenario only (its name as in scenarios.csv); default:
    /// every scenario, on the same design.
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Override a field: PATH=VALUE with a TOML value. Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Output folder (default: output/<model name>.sobol).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Workers, charts and terminal output.
    #[command(flatten)]
    pub common: CommonArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
