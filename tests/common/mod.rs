//! Shared test helpers and the named tolerances every test uses.
#![allow(dead_code)]

/// Kolmogorov-Smirnov critical value at a 0.1% false-alarm rate:
/// `c(alpha) / sqrt(n)` with `c = sqrt(-ln(alpha / 2) / 2) = 1.9495`.
pub fn ks_critical(n: usize) -> f64 {
    (-(0.001f64 / 2.0).ln() / 2.0).sqrt() / (n as f64).sqrt()
}

/// The sharecast binary, ready for arguments.
pub fn sharecast() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("sharecast").unwrap()
}

/// A finished command's stderr as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a command succeeded, showing its stderr if not.
pub fn assert_success(out: &std::process::Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

/// Asserts a command failed with `needle` in its stderr, showing its
/// stderr if not.
pub fn assert_fails_with(out: &std::process::Output, needle: &str) {
    assert!(
        !out.status.success() && stderr(out).contains(needle),
        "{}",
        stderr(out)
    );
}

/// Shares are stored as f32: a sum of up to ~10 of them is exact to a few
/// f32 ulps of 1.
pub const SHARE_SUM_TOL: f64 = 1e-5;

/// Hand-computed dynamics in f64 against the engine's f32 output: the
/// f32 rounding of a value near 1 (relative 6e-8), with margin.
pub const F32_TOL: f64 = 1e-6;

/// A small valid model used as the base of many tests.
pub const SMALL: &str = r#"
[model]
name = "small"
title = "Small"
unit = "USD bn"
start_year = 2025
end_year = 2028

[simulation]
futures = 500
seed = 11

[groups]
custom = ["asic"]

[platforms.gpu]
drift = "0 to 0.1"
volatility = 0.05

[platforms.asic]
drift = "0.05 to 0.2"
volatility = 0.1

[buyers.lab]
spend = "20 to 30"
growth = "0.2 to 0.5"
growth_volatility = 0.1
agility = "pert(0.1, 0.2, 0.4)"
mix = { gpu = 0.9, asic = 0.1 }

[deals.deal]
baseline = "none"

[deals.deal.outcomes.yes]
probability = 0.6
effects = [ { kind = "commitment", buyer = "lab", platform = "asic", spend = "3 to 6", from = 2026 } ]

[deals.deal.outcomes.none]
probability = 0.4
"#;
