//! What the sensitivity analysis costs a user, end to end: `sharecast run`
//! of the frozen 36-scenario model (benches/models/ai_accelerators_36.toml)
//! at 10,000 futures with its report, with and without the analysis (the
//! target: at most 25% more); and `sharecast sobol` at N = 4096 on the
//! same model (the target: under a minute on 2 cores).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/models/ai_accelerators_36.toml"
);

fn sharecast(args: &[&str], out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_sharecast"))
        .args(args)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .status()
        .expect("sharecast runs");
    assert!(status.success());
}

/// Each benchmark times its own runs with the other's interleaved (run
/// but not timed): the shared 2-core machine's speed drifts by 10% or more
/// within minutes, and two groups measured one after the other would
/// compare two different machines.
fn run(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let with: &[&str] = &["run", MODEL, "--futures", "10000"];
    let without: &[&str] = &["run", MODEL, "--futures", "10000", "--no-sensitivity"];
    let mut g = c.benchmark_group("run_10000_with_report");
    g.sample_size(20);
    for (name, timed, other) in [
        ("with_sensitivity", with, without),
        ("without_sensitivity", without, with),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    sharecast(timed, &out);
                    total += t.elapsed();
                    sharecast(other, &out);
                }
                total
            })
        });
    }
    g.finish();
}

fn sobol(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sobol");
    let mut g = c.benchmark_group("sobol");
    g.sample_size(10);
    g.bench_function("base_4096", |b| {
        b.iter(|| sharecast(&["sobol", MODEL, "--base", "4096"], &out))
    });
    g.finish();
}

criterion_group!(benches, run, sobol);
criterion_main!(benches);
