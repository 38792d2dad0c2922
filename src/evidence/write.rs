//! `--write-posterior FILE`: the model file with every uncertain prior
//! replaced by an interval fitted to its posterior, and `[observed]`
//! commented out (a rerun must not condition on the same evidence twice).
//!
//! The fit is `"p05 to p95"` of the posterior (MODEL.md section 4: a
//! lognormal when both ends are positive, else a normal), truncated to the
//! field's domain where a normal could leave it. It keeps each prior's
//! centre and spread, not its shape, and loses the dependence the evidence
//! put between priors (two priors that can only both be high are written
//! as independent).

use super::Posterior;
use crate::model::{Domain, Model};
use crate::prior::fmt_num;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The posterior model file's text.
pub fn posterior_model(model: &Model, text: &str, post: &Posterior, source: &str) -> String {
    let ess = post.views.first().map_or(0.0, |v| v.1);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Per line: the comments to put above it.
    let mut above: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for r in &post.priors {
        let slot = &model.priors[r.prior];
        let fit = fit(r.after[0], r.after[2], slot.domain);
        let note = format!(
            "# {}: prior 5/50/95% {} / {} / {}, posterior {} / {} / {} (ESS {:.0})",
            slot.path,
            fmt_num(r.before[0]),
            fmt_num(r.before[1]),
            fmt_num(r.before[2]),
            fmt_num(r.after[0]),
            fmt_num(r.after[1]),
            fmt_num(r.after[2]),
            ess
        );
        let key = slot.path.rsplit('.').next().unwrap_or("");
        let placed = slot
            .at
            .line
            .filter(|_| slot.at.via.is_none())
            .and_then(|l| {
                replace_value(lines.get_mut(l.wrapping_sub(1))?, key, &fit).then_some(l - 1)
            });
        match placed {
            Some(l) => above.entry(l).or_default().push(note),
            None => unplaced.push(format!(
                "{note}; set by --set, so not in this file: {} = {fit}",
                slot.path
            )),
        }
    }
    comment_out_observed(&mut lines);
    rename(&mut lines, &model.name);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Posterior fit of '{source}', written by sharecast {} (seed {}, {} futures per scenario).",
        env!("CARGO_PKG_VERSION"),
        model.simulation.seed,
        post.futures
    );
    let _ = writeln!(
        out,
        "# Every uncertain prior is an interval fitted to its posterior 5% and 95% quantiles;\n# the dependence between priors is lost. [observed] is commented out: do not condition twice."
    );
    for n in &unplaced {
        let _ = writeln!(out, "{n}");
    }
    for (i, line) in lines.iter().enumerate() {
        for n in above.get(&i).into_iter().flatten() {
            let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
            let _ = writeln!(out, "{indent}{n}");
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `"a to b"` for a posterior with 5% and 95% quantiles `a` and `b`,
/// truncated to the domain when it is a normal (`a <= 0`) that could
/// leave it.
fn fit(a: f64, b: f64, domain: Domain) -> String {
    let b = if b > a {
        b
    } else {
        a + (a.abs() * 1e-6).max(1e-12)
    };
    let interval = format!("{} to {}", fmt_num(a), fmt_num(b));
    let far = b + 20.0 * (b - a);
    let bounds = match domain {
        _ if a > 0.0 && domain != Domain::Unit => None,
        Domain::Unit => Some((0.0, 1.0)),
        Domain::NonNegative | Domain::Positive => Some((0.0, far)),
        Domain::AboveMinusOne => Some((-1.0, far)),
        Domain::Real => None,
    };
    match bounds {
        Some((lo, hi)) => format!("\"{interval} in [{}, {}]\"", fmt_num(lo), fmt_num(hi)),
        None => format!("\"{interval}\""),
    }
}

/// Replaces the value of `key` on `line` (a string, a number or an inline
/// table) with `value`; `false` if the line has no such key.
fn replace_value(line: &mut String, key: &str, value: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find(key).map(|p| p + from) {
        let before_ok =
            pos == 0 || matches!(bytes[pos - 1], b' ' | b'\t' | b'{' | b',' | b'"' | b'.');
        let mut j = pos + key.len();
        if j < bytes.len() && bytes[j] == b'"' {
            j += 1;
        }
        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
            j += 1;
        }
        if before_ok && j < bytes.len() && bytes[j] == b'=' {
            let mut start = j + 1;
            while start < bytes.len() && (bytes[start] == b' ' || bytes[start] == b'\t') {
                start += 1;
            }
            if let Some(end) = value_end(bytes, start) {
                line.replace_range(start..end, value);
                return true;
            }
        }
        from = pos + key.len();
    }
    false
}

/// Where the TOML value starting at `start` ends.
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match *b.get(start)? {
        q @ (b'"' | b'\'') => {
            let mut i = start + 1;
            while i < b.len() {
                if b[i] == b'\\' && q == b'"' {
                    i += 2;
                    continue;
                }
                if b[i] == q {
                    return Some(i + 1);
                }
                i += 1;
            }
            None
        }
        b'{' => {
            let mut depth = 0;
            let mut quote = None;
            for (i, &c) in b.iter().enumerate().skip(start) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(c),
                    (None, b'{') => depth += 1,
                    (None, b'}') => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        _ => {
            let end = b[start..]
                .iter()
                .position(|&c| matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'#'))
                .map_or(b.len(), |p| start + p);
            (end > start).then_some(end)
        }
    }
}

/// Comments out every `[observed...]` table (and top-level `observed`
/// keys).
fn comment_out_observed(lines: &mut [String]) {
    let mut inside = false;
    let mut top_level = true;
    for line in lines.iter_mut() {
        let t = line.trim_start();
        if t.starts_with('[') {
            top_level = false;
            let header = t.trim_start_matches('[').trim_start();
            inside = header.starts_with("observed")
                && matches!(header.as_bytes().get(8), Some(b'.' | b']' | b' '));
        }
        let top_observed = top_level
            && t.starts_with("observed")
            && matches!(t.as_bytes().get(8), Some(b'.' | b'=' | b' '));
        if (inside || top_observed) && !t.is_empty() && !t.starts_with('#') {
            *line = format!("# {line}");
        }
    }
}

/// `name = "x"` in `[model]` becomes `name = "x-posterior"`, so a rerun
/// writes beside the original's output, not over it.
fn rename(lines: &mut [String], name: &str) {
    let mut in_model = false;
    for line in lines.iter_mut() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_model = t.trim_start_matches('[').trim_start().starts_with("model")
                && t.contains(']')
                && !t.starts_with("[[");
            continue;
        }
        if in_model && t.starts_with("name") {
            let new = format!("\"{name}-posterior\"");
            if replace_value(line, "name", &new) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_replaced_in_place() {
        let mut l = String::from("drift = \"0 to 0.1\"   # comment");
        assert!(replace_value(&mut l, "drift", "\"1 to 2\""));
        assert_eq!(l, "drift = \"1 to 2\"   # comment");
        let mut l = String::from("effects = [ { kind = \"commitment\", spend = { dist = \"normal\", mean = 1, sd = 2 }, from = 2026 } ]");
        assert!(replace_value(&mut l, "spend", "\"3 to 6\""));
        assert_eq!(
            l,
            "effects = [ { kind = \"commitment\", spend = \"3 to 6\", from = 2026 } ]"
        );
        let mut l = String::from("volatility = 0.05");
        assert!(replace_value(&mut l, "volatility", "\"0.04 to 0.06\""));
        assert_eq!(l, "volatility = \"0.04 to 0.06\"");
        let mut l = String::from("growth_volatility = 0.1");
        assert!(!replace_value(&mut l, "volatility", "x"));
    }

    #[test]
    fn observed_tables_are_commented_out() {
        let mut lines: Vec<String> = [
            "[observed.2026]",
            "gpu = \"0.8 to 0.9\"",
            "",
            "[report]",
            "focus = [\"gpu\"]",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        comment_out_observed(&mut lines);
        assert_eq!(lines[0], "# [observed.2026]");
        assert_eq!(lines[1], "# gpu = \"0.8 to 0.9\"");
        assert_eq!(lines[3], "[report]");
    }

    #[test]
    fn fits_respect_the_domain() {
        assert_eq!(fit(0.1, 0.3, Domain::Real), "\"0.1 to 0.3\"");
        assert_eq!(fit(0.1, 0.3, Domain::Unit), "\"0.1 to 0.3 in [0, 1]\"");
        assert_eq!(
            fit(-0.1, 0.3, Domain::AboveMinusOne),
            "\"-0.1 to 0.3 in [-1, 8.3]\""
        );
        assert_eq!(fit(2.0, 5.0, Domain::Positive), "\"2 to 5\"");
    }
}
