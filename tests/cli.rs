//! The command line end to end, in a temporary folder.

mod common;

use common::{assert_success, sharecast, stderr};
use std::fs;

#[test]
fn check_accepts_the_built_in_default_model() {
    let out = sharecast().arg("check").output().unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Scenarios (48)") && text.contains("1.0000  (sum)"),
        "{text}"
    );
}

#[test]
fn check_fails_when_probabilities_do_not_sum_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    fs::write(
        &f,
        common::SMALL.replace("probability = 0.6", "probability = 0.7"),
    )
    .unwrap();
    let out = sharecast().arg("check").arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml:")
            && err.contains("deals.deal.outcomes")
            && err.contains("sum to 1.1"),
        "{err}"
    );
}

#[test]
fn check_fails_on_a_bad_set_path_and_suggests_the_key() {
    let out = sharecast()
        .args(["check", "--set", "simulation.futurs=10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("did you mean 'futures'"), "{err}");
}

/// `--futures` out of range is refused before anything runs, naming the
/// flag the user typed (not the override it stands for) and the range.
#[test]
fn run_refuses_futures_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["0", "100000001"] {
        let out = sharecast()
            .current_dir(dir.path())
            .args(["run", "--futures", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "usage errors exit with 2");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("invalid value '{bad}' for '--futures"))
                && err.contains("1..=100000000"),
            "{err}"
        );
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn run_fails_on_a_missing_model_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = sharecast()
        .current_dir(dir.path())
        .args(["run", "nope.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read model file 'nope.toml'"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("output").exists());
}

fn run_into(dir: &std::path::Path, name: &str, threads: &str) -> std::path::PathBuf {
    let model = dir.join("small.toml");
    fs::write(&model, common::SMALL).unwrap();
    let out_dir = dir.join(name);
    let out = sharecast()
        .args([
            "run",
            "--quiet",
            "--futures",
            "400",
            "--threads",
            threads,
            "--paths",
            "--out",
        ])
        .arg(&out_dir)
        .arg(&model)
        .output()
        .unwrap();
    assert_success(&out);
    out_dir
}

#[test]
fn run_writes_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_into(dir.path(), "out", "2");
    for f in [
        "summary.csv",
        "summary.parquet",
        "thresholds.csv",
        "impact.csv",
        "scenarios.csv",
        "run.json",
        "paths.parquet",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.starts_with("scenario,year,series,mean,sd,p05,p25,p50,p75,p95\n"));
    // views: all, deal=yes, deal=none (marginals), then the two scenarios.
    assert!(summary.contains("\nall,2028,custom,"));
    let scen = fs::read_to_string(out.join("scenarios.csv")).unwrap();
    assert!(scen.contains("deal=yes,0.6,400"), "{scen}");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["futures"], 400);
    assert_eq!(manifest["overrides"][0], "simulation.futures=400");
    // No staging folder is left behind.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn one_thread_and_two_threads_write_byte_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    let a = run_into(dir.path(), "one", "1");
    let b = run_into(dir.path(), "two", "2");
    // run.json differs by design (thread count, wall times).
    for f in [
        "summary.csv",
        "summary.parquet",
        "thresholds.csv",
        "impact.csv",
        "scenarios.csv",
        "paths.parquet",
    ] {
        assert_eq!(
            fs::read(a.join(f)).unwrap(),
            fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn a_batch_runs_every_model_into_its_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let m1 = dir.path().join("a.toml");
    let m2 = dir.path().join("b.toml");
    fs::write(&m1, common::SMALL).unwrap();
    fs::write(
        &m2,
        common::SMALL.replace("name = \"small\"", "name = \"other\""),
    )
    .unwrap();
    let out = sharecast()
        .args(["run", "--futures", "100", "--out"])
        .arg(dir.path().join("batch"))
        .arg(&m1)
        .arg(&m2)
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(dir.path().join("batch/small/summary.csv").is_file());
    assert!(dir.path().join("batch/other/summary.csv").is_file());
}

#[test]
fn a_model_using_every_feature_checks_and_runs() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/models/every_feature.toml"
    );
    let out = sharecast().args(["check", model]).output().unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    // first: big 0.3 / small 0.7; second is decided by first; third 0.25 / 0.75.
    for line in [
        "0.0750  first=big,second=x,third=p",
        "0.2250  first=big,second=x,third=q",
        "0.1750  first=small,second=y,third=p",
        "0.5250  first=small,second=y,third=q",
    ] {
        assert!(text.contains(line), "missing '{line}' in:\n{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let res = sharecast()
        .args(["run", "--quiet", "--futures", "300", "--out"])
        .arg(dir.path().join("o"))
        .arg(model)
        .output()
        .unwrap();
    assert_success(&res);
    let scen = fs::read_to_string(dir.path().join("o/scenarios.csv")).unwrap();
    assert_eq!(scen.lines().count(), 5, "{scen}");
}
