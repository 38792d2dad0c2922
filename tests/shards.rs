//! Sharded runs: N shard processes merged in a shuffled order write the
//! same bytes as the unsharded sketch run, on the test models (sensitivity
//! and posterior included); merges that cannot be right are refused.

mod common;

use common::{assert_fails_with, assert_success, sharecast, stderr};
use std::path::Path;

/// Every table a run writes, posterior included.
const TABLES: &[&str] = &[
    "summary.csv",
    "summary.parquet",
    "thresholds.csv",
    "impact.csv",
    "horizon.csv",
    "scenarios.csv",
    "sensitivity.csv",
    "posterior/summary.csv",
    "posterior/thresholds.csv",
    "posterior/impact.csv",
    "posterior/scenarios.csv",
    "posterior/priors.csv",
    "posterior/observations.csv",
];

fn run(args: &[&str], out: &Path) {
    let o = sharecast()
        .args(args)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert_success(&o);
}

fn model(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Shards `0..n` of `model` at `futures`, merged in the order `order`,
/// against the unsharded sketch run.
fn check(model_file: &str, futures: usize, n: usize, order: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let f = futures.to_string();
    for i in 0..n {
        let spec = format!("{i}/{n}");
        run(
            &[
                "run",
                model_file,
                "--futures",
                &f,
                "--no-report",
                "--shard",
                &spec,
            ],
            &dir.path().join(format!("s{i}")),
        );
    }
    let mut merge = sharecast();
    merge.arg("merge");
    for &i in order {
        merge.arg(dir.path().join(format!("s{i}")));
    }
    let o = merge
        .args(["--no-report", "--quiet", "--out"])
        .arg(dir.path().join("merged"))
        .output()
        .unwrap();
    assert_success(&o);
    run(
        &[
            "run",
            model_file,
            "--futures",
            &f,
            "--no-report",
            "--summaries",
            "sketch",
        ],
        &dir.path().join("whole"),
    );
    for t in TABLES {
        let (a, b) = (
            dir.path().join("merged").join(t),
            dir.path().join("whole").join(t),
        );
        assert_eq!(a.exists(), b.exists(), "{model_file} {t}");
        if a.exists() {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{model_file}: {t} differs"
            );
        }
    }
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("merged/run.json")).unwrap())
            .unwrap();
    assert_eq!(run_json["summaries"], "sketch");
}

#[test]
fn three_shards_merged_in_any_order_are_the_unsharded_run() {
    // Effects, a deal, thresholds and observations.
    check(&model("tests/models/broken_base.toml"), 3001, 3, &[2, 0, 1]);
    // Every feature of the model file.
    check(
        &model("tests/models/every_feature.toml"),
        2000,
        3,
        &[1, 2, 0],
    );
}

#[test]
fn uneven_splits_and_more_shards_than_blocks_still_match() {
    check(
        &model("models/minimal.toml"),
        1001,
        7,
        &[6, 5, 4, 3, 2, 1, 0],
    );
}

#[test]
fn merges_that_cannot_be_right_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = model("tests/models/broken_base.toml");
    let other = model("tests/models/two_drivers.toml");
    for i in 0..3 {
        let spec = format!("{i}/3");
        run(
            &["run", &base, "--futures", "300", "--shard", &spec],
            &dir.path().join(format!("s{i}")),
        );
    }
    run(
        &["run", &other, "--futures", "300", "--shard", "1/3"],
        &dir.path().join("other1"),
    );
    run(
        &[
            "run",
            &base,
            "--futures",
            "300",
            "--seed",
            "9",
            "--shard",
            "1/3",
        ],
        &dir.path().join("seed1"),
    );
    let merge = |names: &[&str]| {
        let mut c = sharecast();
        c.arg("merge");
        for n in names {
            c.arg(dir.path().join(n));
        }
        c.arg("--out").arg(dir.path().join("m")).output().unwrap()
    };
    let o = merge(&["s0", "s2"]);
    assert_fails_with(&o, "shard 1 of 3 missing");
    let o = merge(&["s0", "s1", "s1", "s2"]);
    assert_fails_with(&o, "both shard 1 of 3");
    let o = merge(&["s0", "other1", "s2"]);
    assert!(
        !o.status.success()
            && stderr(&o).contains("different runs")
            && stderr(&o).contains("other1"),
        "{}",
        stderr(&o)
    );
    let o = merge(&["s0", "seed1", "s2"]);
    assert_fails_with(&o, "different runs");
    // A damaged state is refused, naming it.
    let state = dir.path().join("s1/state.bin");
    let mut bytes = std::fs::read(&state).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&state, bytes).unwrap();
    let o = merge(&["s0", "s1", "s2"]);
    assert_fails_with(&o, "damaged or truncated");
    assert!(!dir.path().join("m").exists());
    // Not a shard at all.
    let o = merge(&["s0", "nothing"]);
    assert_fails_with(&o, "shard folder");
}

#[test]
fn shard_auto_reads_the_schedulers_index() {
    let dir = tempfile::tempdir().unwrap();
    let base = model("tests/models/broken_base.toml");
    let o = sharecast()
        .args([
            "run",
            &base,
            "--futures",
            "300",
            "--shard",
            "auto",
            "--quiet",
            "--out",
        ])
        .arg(dir.path().join("slurm"))
        .env("SLURM_ARRAY_TASK_ID", "12")
        .env("SLURM_ARRAY_TASK_MIN", "10")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .output()
        .unwrap();
    assert_success(&o);
    let info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("slurm/shard.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (info["index"].as_u64(), info["count"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(
        (info["first"].as_u64(), info["end"].as_u64()),
        (Some(150), Some(225))
    );
    let o = sharecast()
        .args([
            "run",
            &base,
            "--futures",
            "300",
            "--shard",
            "auto",
            "--quiet",
            "--out",
        ])
        .arg(dir.path().join("k8s"))
        .env("JOB_COMPLETION_INDEX", "1")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert_fails_with(&o, "--shards");
    let o = sharecast()
        .args(["run", &base, "--futures", "300", "--shard", "4/4"])
        .output()
        .unwrap();
    assert_fails_with(&o, "0 <= I < N");
}
