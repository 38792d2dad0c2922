//! Golden tables: a small seeded run of each test model, compared byte for
//! byte with the tables checked in under `tests/golden/<model>/`. A change
//! that moves numbers must update them deliberately, in a commit that says
//! why: run `SHARECAST_BLESS=1 cargo test --release --test golden` and
//! review the diff.

mod common;

use common::{assert_success, sharecast};
use std::fs;
use std::path::Path;

/// The tables compared (the Parquet copy of the summary holds the same
/// numbers as its CSV; run.json holds wall times).
const TABLES: &[&str] = &[
    "summary.csv",
    "thresholds.csv",
    "impact.csv",
    "horizon.csv",
    "scenarios.csv",
];

/// (golden folder, model file, extra flags)
const RUNS: &[(&str, &str, &[&str])] = &[
    ("minimal", "models/minimal.toml", &[]),
    ("every_feature", "tests/models/every_feature.toml", &[]),
    ("broken_base", "tests/models/broken_base.toml", &[]),
    ("amazon_openai_2025", "models/amazon_openai_2025.toml", &[]),
    (
        "ai_accelerators_36",
        "benches/models/ai_accelerators_36.toml",
        &[],
    ),
    (
        "minimal_random",
        "models/minimal.toml",
        &["--sampling", "random"],
    ),
    (
        "ai_accelerators_36_sketch",
        "benches/models/ai_accelerators_36.toml",
        &["--summaries", "sketch"],
    ),
    (
        "every_feature_sketch",
        "tests/models/every_feature.toml",
        &["--summaries", "sketch"],
    ),
];

#[test]
fn tables_match_the_golden_copies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("SHARECAST_BLESS").is_some();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, model, extra) in RUNS {
        let out = dir.path().join(name);
        let res = sharecast()
            .args([
                "run",
                "--quiet",
                "--no-report",
                "--futures",
                "400",
                "--seed",
                "17",
            ])
            .args(*extra)
            .arg("--out")
            .arg(&out)
            .arg(root.join(model))
            .output()
            .unwrap();
        assert_success(&res);
        let golden = root.join("tests/golden").join(name);
        for table in TABLES {
            let got = fs::read(out.join(table)).unwrap();
            let path = golden.join(table);
            if bless {
                fs::create_dir_all(&golden).unwrap();
                fs::write(&path, &got).unwrap();
                continue;
            }
            match fs::read(&path) {
                Ok(want) if want == got => {}
                Ok(_) => failures.push(format!("{name}/{table} differs from {}", path.display())),
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(if the change is deliberate: SHARECAST_BLESS=1 cargo test --release --test golden)",
        failures.join("\n")
    );
}
