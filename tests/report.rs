//! The report: every PNG decodes at the requested size and is not blank,
//! the numbers behind a fan chart are the summary's rows, `report DIR`
//! redraws without re-simulating, and `--no-report` skips it.

mod common;

use common::{assert_success, sharecast, stderr};
use sharecast::report::{charts::fan_data, tables};
use std::fs;
use std::path::{Path, PathBuf};

/// Quantiles are written to CSV with full f64 precision; comparing the
/// parquet-read value scaled by 100 against the CSV text allows for one
/// rounding of the scaling.
const SCALED_TOL: f64 = 1e-12;

/// Runs `model` with 300 futures and `extra` flags into `<dir>/out`.
fn run_model(dir: &Path, model: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("out");
    let res = sharecast()
        .args(["run", "--quiet", "--futures", "300", "--out"])
        .arg(&out)
        .args(extra)
        .arg(model)
        .output()
        .unwrap();
    assert_success(&res);
    out
}

/// Runs the small test model.
fn run(dir: &Path, extra: &[&str]) -> PathBuf {
    let model = dir.join("small.toml");
    fs::write(&model, common::SMALL).unwrap();
    run_model(dir, &model, extra)
}

fn check_png(path: &Path, size: (u32, u32)) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(img.dimensions(), size, "{}", path.display());
    let non_white = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    let share = non_white as f64 / (size.0 * size.1) as f64;
    // A drawn chart covers a few percent of its pixels at least (axes, text,
    // bands); a blank or failed one covers none.
    assert!(
        share > 0.02,
        "{} looks blank ({:.3} non-white)",
        path.display(),
        share
    );
}

#[test]
fn run_draws_every_chart_at_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--chart-size", "900x560"]);
    let report = out.join("report");
    let expected = [
        "fan_gpu.png",
        "fan_custom.png",
        "horizon_gpu_2028.png",
        "horizon_custom_2028.png",
        "mix.png",
        "impact_deal.png",
        "market.png",
    ];
    for f in expected {
        check_png(&report.join(f), (900, 560));
    }
    let html = fs::read_to_string(report.join("index.html")).unwrap();
    for f in expected {
        assert!(
            html.contains(&format!("src=\"{f}\"")),
            "{f} not in index.html"
        );
    }
    assert!(
        !html.contains("<script"),
        "index.html must not need scripts"
    );
}

#[test]
fn fan_chart_numbers_are_the_summary_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--no-report"]);
    assert!(
        !out.join("report").exists(),
        "--no-report still drew a report"
    );
    let t = tables::load(&out).unwrap();
    let csv = fs::read_to_string(out.join("summary.csv")).unwrap();
    for (view, pts) in fan_data(&t, "custom") {
        for (year, q) in pts {
            let prefix = format!("{view},{year},custom,");
            let line = csv
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("{prefix}"));
            let f: Vec<f64> = line[prefix.len()..]
                .split(',')
                .map(|x| x.parse().unwrap())
                .collect();
            // mean, sd, p05, p25, p50, p75, p95
            for i in 0..5 {
                assert!(
                    (q[i] - 100.0 * f[2 + i]).abs() < SCALED_TOL * 100.0,
                    "{prefix} q{i}: {} vs {}",
                    q[i],
                    f[2 + i]
                );
            }
        }
    }
}

#[test]
fn report_redraws_from_the_tables_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--no-report"]);
    let res = sharecast()
        .args(["report", "--chart-size", "700x450"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&res);
    check_png(&out.join("report/fan_custom.png"), (700, 450));
}

#[test]
fn report_on_a_folder_that_is_not_a_run_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let res = sharecast().arg("report").arg(dir.path()).output().unwrap();
    assert!(!res.status.success());
    let err = stderr(&res);
    assert!(
        err.contains("run.json") && err.contains("output folder of a run"),
        "{err}"
    );
}

#[test]
fn a_bad_chart_size_is_rejected_with_the_allowed_form() {
    let res = sharecast()
        .args(["run", "--chart-size", "big"])
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(stderr(&res).contains("must look like 1600x1000"));
}

#[test]
fn index_threshold_table_shows_the_thresholds_table() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models/every_feature.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = run_model(dir.path(), &model, &["--chart-size", "800x500"]);
    check_png(&out.join("report/thresholds.png"), (800, 500));
    let html = fs::read_to_string(out.join("report/index.html")).unwrap();
    let csv = fs::read_to_string(out.join("thresholds.csv")).unwrap();
    // The `all` row of the page lists each threshold as "p ± se" to 3 decimals.
    let all_row = html
        .lines()
        .find(|l| l.starts_with("<tr><td>all</td>"))
        .expect("no 'all' row");
    for line in csv.lines().skip(1).filter(|l| l.starts_with("all,")) {
        let f: Vec<&str> = line.split(',').collect();
        let (p, se): (f64, f64) = (f[5].parse().unwrap(), f[6].parse().unwrap());
        let cell = format!("{p:.3} ± {se:.3}");
        assert!(all_row.contains(&cell), "'{cell}' not in {all_row}");
    }
}
