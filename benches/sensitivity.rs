//! What the sensitivity analysis costs a user, end to end: `sharecast run`
//! of the frozen 36-scenario model (benches/models/ai_accelerators_36.toml)
//! at 10,000 futures with its report, with and without the analysis (the
//! target: at most 25% more); and `sharecast sobol` at N = 4096 on the
//! same model (the target: under a minute on 2 cores).

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::process::Command;

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

fn run(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut g = c.benchmark_group("run_10000_with_report");
    g.sample_size(20);
    g.bench_function("with_sensitivity", |b| {
        b.iter(|| sharecast(&["run", MODEL, "--futures", "10000"], &out))
    });
    g.bench_function("without_sensitivity", |b| {
        b.iter(|| {
            sharecast(
                &["run", MODEL, "--futures", "10000", "--no-sensitivity"],
                &out,
            )
        })
    });
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
