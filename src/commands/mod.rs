//! The commands: each reads like the pipeline it runs.

mod shard;
mod sobol;
mod sweep;
pub use shard::merge;
pub use sobol::sobol;
pub use sweep::sweep;

use crate::cli::{CommonArgs, RunArgs, SamplingArg, SimulationArgs, SummariesArg};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sharecast::model::{self, Model, Series};
use sharecast::output::manifest::PosteriorInfo;
use sharecast::output::{self, Lock, Manifest, Staged};
use sharecast::pipeline::{self, Summaries};
use sharecast::{check as describe, scenario, summary};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A model file read from disk (or the built-in default).
struct Source {
    name: String,
    text: String,
    /// The file, when it is one (protected from `--out`).
    path: Option<PathBuf>,
}

fn read_source(path: Option<&Path>) -> Result<Source> {
    match path {
        None => Ok(Source {
            name: model::DEFAULT_MODEL_NAME.to_string(),
            text: model::DEFAULT_MODEL.to_string(),
            path: None,
        }),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read model file '{}'", p.display()))?;
            Ok(Source {
                name: p.display().to_string(),
                text,
                path: Some(p.to_path_buf()),
            })
        }
    }
}

fn load(source: &Source, overrides: &[String]) -> Result<Model> {
    model::load(&source.name, &source.text, overrides).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `sharecast check`.
pub fn check(path: Option<&Path>, set: &[String]) -> Result<()> {
    let source = read_source(path)?;
    let model = load(&source, set)?;
    let scenarios = scenario::enumerate(&model);
    let mut text = describe::describe(&model, &scenarios, &source.name);
    text.push_str(&describe::observations(&model, &scenarios));
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    writeln!(out, "\nok: {} is valid", source.name)?;
    Ok(())
}

/// The overrides `run` and `sweep` apply: `--set` flags first, then
/// `--futures`, `--seed` and `--sampling` as the overrides they stand for
/// (which therefore win).
fn flag_overrides(sim: &SimulationArgs) -> Vec<String> {
    let mut v = sim.set.clone();
    if let Some(f) = sim.futures {
        v.push(format!("simulation.futures={f}"));
    }
    if let Some(s) = sim.seed {
        v.push(format!("simulation.seed={s}"));
    }
    if let Some(s) = sim.sampling {
        let name = match s {
            SamplingArg::Lhs => "lhs",
            SamplingArg::Random => "random",
        };
        v.push(format!("simulation.sampling=\"{name}\""));
    }
    v
}

/// A command's one output folder, ready to write, and its workers.
struct Prepared {
    threads: usize,
    pool: rayon::ThreadPool,
    /// Removes its partial folder when dropped uncommitted; declared
    /// before the lock, so dropped while the lock is still held.
    staged: Staged,
    _lock: Lock,
}

/// Checks that a command may write `out` (never a folder sharecast did
/// not write, nor the model files in `protect`), starts its workers, then
/// locks the folder and opens its temporary copy.
fn prepare(out: &Path, protect: &[PathBuf], common: &CommonArgs) -> Result<Prepared> {
    output::folder::check_target(out, protect)?;
    output::folder::check_replaceable(out, None)?;
    let (threads, pool) = start_workers(common)?;
    let lock = Lock::acquire(out)?;
    let staged = Staged::begin(out, protect, None, &lock)?;
    Ok(Prepared {
        threads,
        pool,
        staged,
        _lock: lock,
    })
}

/// The worker threads of a command.
fn start_workers(common: &CommonArgs) -> Result<(usize, rayon::ThreadPool)> {
    let threads = thread_count(common)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    Ok((threads, pool))
}

/// `DIR` of `--out DIR`, else `output/<model name><suffix>`.
fn out_dir(out: &Option<PathBuf>, model: &Model, suffix: &str) -> PathBuf {
    out.clone()
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}{suffix}", model.name)))
}

/// The most worker threads a run starts: a few per core, since more only
/// add overhead (and thousands took minutes to start and stop).
fn thread_count(common: &CommonArgs) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = (4 * cores).min(256);
    match common.threads {
        None => Ok(cores),
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) if n > cap => {
            if !common.quiet {
                eprintln!("note: --threads {n} capped at {cap} (4 per core, at most 256; this machine has {cores} cores)");
            }
            Ok(cap)
        }
        Some(n) => Ok(n),
    }
}

/// `sharecast run`.
pub fn run(args: &RunArgs) -> Result<()> {
    if args.shard.is_some() {
        return shard::run_shard(args);
    }
    if args.shards.is_some() {
        bail!("--shards N goes with --shard auto (it gives the number of shards a scheduler does not)");
    }
    let overrides = flag_overrides(&args.sim);
    let paths: Vec<Option<&Path>> = if args.models.is_empty() {
        vec![None]
    } else {
        args.models.iter().map(|p| Some(p.as_path())).collect()
    };
    // Validate every model before simulating any.
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for p in &paths {
        match read_source(*p).and_then(|s| load(&s, &overrides).map(|m| (s, m))) {
            Ok(job) => jobs.push(job),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let batch = jobs.len() > 1;
    if let Some(file) = &args.write_posterior {
        if batch {
            bail!(
                "--write-posterior writes one model file: run one model with it, not {}",
                jobs.len()
            );
        }
        if jobs[0].1.observations.is_empty() {
            bail!(
                "model '{}' has no [observed] values, so it has no posterior to write; add an [observed.YEAR] table or drop --write-posterior",
                jobs[0].1.name
            );
        }
        if std::fs::symlink_metadata(file).is_ok() {
            bail!(
                "will not write '{}': it already exists; sharecast never overwrites a file: give --write-posterior a new file name",
                file.display()
            );
        }
    }
    let mut outs: Vec<PathBuf> = Vec::new();
    for (_, m) in &jobs {
        let dir = match (&args.out, batch) {
            (Some(d), false) => d.clone(),
            (Some(d), true) => d.join(&m.name),
            (None, _) => out_dir(&None, m, ""),
        };
        if outs.contains(&dir) {
            bail!(
                "two models in this batch would write to '{}': give them different [model].name",
                dir.display()
            );
        }
        outs.push(dir);
    }
    // Refuse unsafe output folders before simulating anything.
    let protect: Vec<PathBuf> = jobs.iter().filter_map(|(s, _)| s.path.clone()).collect();
    for out in &outs {
        output::folder::check_target(out, &protect)?;
        output::folder::check_replaceable(out, None)?;
    }
    for (_, m) in &jobs {
        // Exact summaries keep every future in memory.
        if summaries_for(m, args)? == Summaries::Exact
            && (args.paths || !matches!(args.summaries, SummariesArg::Auto))
        {
            check_memory(m)?;
        }
    }
    let (threads, pool) = start_workers(&args.common)?;
    for ((source, model), out) in jobs.iter().zip(&outs) {
        let job = Job {
            source,
            model,
            out,
            overrides: &overrides,
            threads,
            protect: &protect,
            args,
        };
        let line = pool.install(|| run_one(&job))?;
        if !args.common.quiet {
            println!("{line}");
        }
    }
    Ok(())
}

/// One model of a run and where it goes.
struct Job<'a> {
    source: &'a Source,
    model: &'a Model,
    out: &'a Path,
    overrides: &'a [String],
    threads: usize,
    protect: &'a [PathBuf],
    args: &'a RunArgs,
}

/// The pipeline of one model: plan, simulate and summarise, check, write
/// the tables and the manifest, draw the report, move the folder into
/// place.
fn run_one(job: &Job<'_>) -> Result<String> {
    let (model, args) = (job.model, job.args);
    let t0 = Instant::now();
    let lock = Lock::acquire(job.out)?;
    let staged = Staged::begin(job.out, job.protect, None, &lock)?;
    let scenarios = scenario::enumerate(model);

    let bar = progress_bar(
        args.common.quiet,
        model.simulation.futures as u64,
        &model.name,
    );
    let summaries = summaries_for(model, args)?;
    let outcome = pipeline::run(model, &scenarios, (summaries, !args.no_sensitivity), &|n| {
        bar.inc(n as u64)
    });
    bar.finish_and_clear();
    let done = write_run(
        &Finish {
            dir: staged.dir(),
            source: job.source,
            model,
            scenarios: &scenarios,
            overrides: job.overrides,
            threads: job.threads,
            summaries: summaries.name(),
            sensitivity: !args.no_sensitivity,
            paths: args.paths,
            report: (!args.no_report).then_some(args.common.chart_size),
            t0,
        },
        outcome,
    )?;
    let final_dir = staged.commit()?;
    if let (Some(file), Some(post)) = (&args.write_posterior, &done.1) {
        let text = sharecast::evidence::write::posterior_model(
            model,
            &job.source.text,
            post,
            &job.source.name,
        );
        output::write_new_file(file, text.as_bytes(), job.protect)?;
        if !args.common.quiet {
            eprintln!("posterior model -> {}", file.display());
        }
    }
    Ok(format!(
        "{}: {} scenarios x {} futures in {:.2} s -> {}{}",
        model.name,
        scenarios.len(),
        model.simulation.futures,
        t0.elapsed().as_secs_f64(),
        final_dir.display(),
        headline(model, &done.0)
    ))
}

/// Where and how a run's results are written (by `run` and `merge`).
struct Finish<'a> {
    /// The staging folder.
    dir: &'a Path,
    source: &'a Source,
    model: &'a Model,
    scenarios: &'a [sharecast::scenario::Scenario],
    overrides: &'a [String],
    threads: usize,
    summaries: &'a str,
    sensitivity: bool,
    /// Write `paths.parquet` (exact runs only).
    paths: bool,
    /// Draw the report at this size.
    report: Option<(u32, u32)>,
    t0: Instant,
}

/// Writes a run's tables (each refused if it holds a value that is not a
/// finite number: [`output::frame`]), the model, `run.json` and the report
/// into the staging folder; returns the summary and the posterior.
fn write_run(
    f: &Finish<'_>,
    outcome: pipeline::Outcome,
) -> Result<(summary::Summary, Option<sharecast::evidence::Posterior>)> {
    let model = f.model;
    let (summary, clamps, paths) = (outcome.summary, outcome.clamps, outcome.paths);
    let sensitivity = outcome.sensitivity;
    let posterior = outcome.posterior;
    let mut seconds = outcome.seconds;

    let t = Instant::now();
    let dir = f.dir;
    let keep_paths = if f.paths { paths.as_ref() } else { None };
    let rows = f.sensitivity.then_some(sensitivity.as_slice());
    output::write_tables(dir, model, f.scenarios, (&summary, rows), keep_paths)?;
    if let Some(post) = &posterior {
        output::write_posterior(dir, model, post)?;
        warn_low_ess(model, post);
    }
    // The model as read, so `sharecast report` can redraw from this folder alone.
    let p = dir.join("model.toml");
    std::fs::write(&p, &f.source.text)
        .with_context(|| format!("cannot write '{}'", p.display()))?;
    seconds.insert("write_tables".to_string(), t.elapsed().as_secs_f64());

    let mut manifest = Manifest::for_model(
        "run",
        (&f.source.name, &f.source.text),
        f.overrides,
        model,
        (f.threads, f.scenarios.len()),
    );
    manifest.path_years = (model.simulation.futures * f.scenarios.len() * model.horizon()) as u64;
    manifest.seconds = seconds;
    manifest.clamped_draws = model
        .priors
        .iter()
        .zip(&clamps)
        .filter(|(_, &c)| c > 0)
        .map(|(p, &c)| (p.path.clone(), c))
        .collect();
    manifest.summaries = f.summaries.into();
    manifest.sensitivity = f.sensitivity;
    manifest.posterior = posterior.as_ref().map(|p| PosteriorInfo {
        futures: p.futures,
        ess: p.views.iter().map(|(v, e)| (v.name.clone(), *e)).collect(),
        low_ess: p.low_ess().iter().map(|(v, _)| v.to_string()).collect(),
        hardest_observation: p
            .hardest()
            .map(|o| model.observations[o.observation].path.clone()),
    });
    manifest.write(dir)?;
    if let Some(size) = f.report {
        let t = Instant::now();
        sharecast::report::render(dir, &dir.join("report"), size)
            .context("cannot draw the report")?;
        manifest
            .seconds
            .insert("report".to_string(), t.elapsed().as_secs_f64());
    }
    manifest
        .seconds
        .insert("total".to_string(), f.t0.elapsed().as_secs_f64());
    manifest.write(dir)?;
    Ok((summary, posterior))
}

/// Warns (on stderr, even with `--quiet`) when conditioning leaves views
/// with an effective sample size below 100, naming the observation that is
/// hardest to reproduce.
fn warn_low_ess(model: &Model, post: &sharecast::evidence::Posterior) {
    let low = post.low_ess();
    if low.is_empty() {
        return;
    }
    let (worst, ess) = low
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .copied()
        .unwrap_or(("all", 0.0));
    let hardest = post.hardest().map(|o| {
        let obs = &model.observations[o.observation];
        format!(
            "; the observation hardest to reproduce is {} ({} to {}): its centre lies at percentile {:.1} of the unconditioned forecast, and it alone leaves an ESS of {:.0}",
            obs.path,
            obs.low,
            obs.high,
            100.0 * o.percentile,
            o.ess_alone
        )
    });
    eprintln!(
        "warning: model '{}': conditioning on [observed] leaves {} of {} views with an effective sample size below {} (lowest: {worst}, {ess:.1}); their posterior tables are noisy{}. Widen the observations' intervals, revisit the priors, or run more --futures.",
        model.name,
        low.len(),
        post.views.len(),
        sharecast::evidence::LOW_ESS,
        hardest.unwrap_or_default()
    );
}

/// `sharecast report DIR`: redraws the charts of a finished run, replacing
/// its `report/` folder (only if sharecast wrote everything in it).
pub fn report(dir: &Path, size: (u32, u32)) -> Result<()> {
    let lock = Lock::acquire(dir)?;
    let mut manifest = Manifest::read(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    if manifest.command != "run" {
        bail!(
            "'{}' holds the output of `sharecast {}`, not of a run: its charts are drawn when it is written; rerun that command to redraw them",
            dir.display(),
            manifest.command
        );
    }
    let target = dir.join("report");
    let listed = manifest
        .files
        .iter()
        .filter_map(|f| f.strip_prefix("report/").map(String::from))
        .collect();
    let listed = if manifest.files.is_empty() {
        None // a run.json from before runs listed their files
    } else {
        Some(listed)
    };
    let staged = Staged::begin(&target, &[], listed, &lock)?;
    let charts = sharecast::report::render(dir, staged.dir(), size)
        .with_context(|| format!("cannot draw the report of '{}'", dir.display()))?;
    let report_files = output::list_files(staged.dir());
    staged.commit()?;
    manifest.files.retain(|f| !f.starts_with("report/"));
    manifest
        .files
        .extend(report_files.iter().map(|f| format!("report/{f}")));
    let path = dir.join("run.json");
    let text = serde_json::to_string_pretty(&manifest)? + "\n";
    output::write_replacing(&path, text.as_bytes())?;
    println!(
        "{} charts and index.html -> {}",
        charts.len(),
        target.display()
    );
    Ok(())
}

/// "; custom_silicon 2030: median 18.2% (90%: 12.1-25.3%)" for the
/// second focus series (the first group by default) in the first
/// threshold year, else the final year.
fn headline(model: &Model, summary: &summary::Summary) -> String {
    let series = model
        .focus
        .iter()
        .rev()
        .find(|s| **s != Series::Market)
        .copied();
    let Some(series) = series else {
        return String::new();
    };
    let year = model.thresholds.first().map_or(model.end_year, |t| t.year);
    summary
        .rows
        .iter()
        .find(|r| r.view == 0 && r.year == year && r.series == series)
        .map(|r| {
            format!(
                "; {} {year}: median {:.1}% (90%: {:.1}-{:.1}%)",
                model.series_id(series),
                100.0 * r.stats.q[2],
                100.0 * r.stats.q[0],
                100.0 * r.stats.q[4]
            )
        })
        .unwrap_or_default()
}

/// The summaries a run uses: `--summaries`, where `auto` is exact when
/// every path fits the budget; `--paths` needs exact ones.
fn summaries_for(model: &Model, args: &RunArgs) -> Result<Summaries> {
    let chosen = match args.summaries {
        SummariesArg::Auto if args.paths => Summaries::Exact,
        SummariesArg::Auto => pipeline::auto(model),
        SummariesArg::Exact => Summaries::Exact,
        SummariesArg::Sketch => Summaries::Sketch,
    };
    if args.paths && chosen == Summaries::Sketch {
        bail!("--paths writes every path, which needs exact summaries: drop --summaries sketch or --paths");
    }
    Ok(chosen)
}

/// Refuses a run that cannot fit in the memory available now, instead of
/// letting the operating system kill it half-way.
fn check_memory(model: &Model) -> Result<()> {
    let need = pipeline::exact_bytes(model);
    let Some(available) = available_memory() else {
        return Ok(());
    };
    if need > available * 9 / 10 {
        let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
        bail!(
            "model '{}' needs about {:.1} GiB of memory for {} futures per scenario, but {:.1} GiB is available; lower --futures (memory grows with futures x scenarios x years x series)",
            model.name,
            gib(need),
            model.simulation.futures,
            gib(available)
        );
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, when the system has it.
fn available_memory() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn progress_bar(quiet: bool, futures: u64, name: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(futures), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} futures ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}
