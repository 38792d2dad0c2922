//! Threshold probabilities (MODEL.md section 6) and their Monte Carlo
//! error, one implementation for exact and sketch summaries.
//!
//! Futures are shared by every scenario (paired), so the unit of the Monte
//! Carlo error is the future: in a view with scenario weights `w_s`,
//! `X_i = sum_s w_s 1[hit(i, s)]`, `p = mean(X)`, `se = sd(X) / sqrt(N)`.
//! `X_i` depends on future `i` only through which scenarios it hits, so the
//! state is a count of futures per hit pattern (a bit per scenario): exact
//! integers, the same however the futures are split into blocks or shards,
//! and every view's `p` and `se` follow from it.

use super::{ThresholdRow, View};
use crate::model::{Model, Threshold};
use std::collections::{BTreeMap, HashMap};

/// Futures counted per hit pattern, for each threshold of a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThresholdCounts {
    /// Words of a pattern (scenarios / 64, rounded up).
    words: usize,
    /// Per threshold: pattern -> futures.
    counts: Vec<HashMap<Vec<u64>, u64>>,
}

/// Whether `x` passes the threshold ("above" and "below" are strict).
#[inline]
pub fn hit(th: &Threshold, x: f32) -> bool {
    let x = x as f64;
    if th.above {
        x > th.level
    } else {
        x < th.level
    }
}

impl ThresholdCounts {
    /// Empty counts for `thresholds` thresholds over `scenarios` scenarios.
    pub fn new(thresholds: usize, scenarios: usize) -> ThresholdCounts {
        ThresholdCounts {
            words: scenarios.div_ceil(64).max(1),
            counts: vec![HashMap::new(); thresholds],
        }
    }

    /// Counts the futures of threshold `t`: `columns[s]` holds scenario
    /// `s`'s values of the threshold's series and year, one per future.
    pub fn add(&mut self, t: usize, th: &Threshold, columns: &[&[f32]]) {
        let n = columns.first().map_or(0, |c| c.len());
        let mut pattern = vec![0u64; self.words];
        let counts = &mut self.counts[t];
        for i in 0..n {
            pattern.iter_mut().for_each(|w| *w = 0);
            for (s, column) in columns.iter().enumerate() {
                pattern[s / 64] |= u64::from(hit(th, column[i])) << (s % 64);
            }
            match counts.get_mut(pattern.as_slice()) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(pattern.clone(), 1);
                }
            }
        }
    }

    /// The counts, pattern by pattern in sorted order, for a shard folder.
    pub fn encode(&self, w: &mut crate::output::codec::Writer) {
        w.u(self.counts.len() as u128);
        for t in 0..self.counts.len() {
            let sorted = self.sorted(t);
            w.u(sorted.len() as u128);
            for (pattern, n) in sorted {
                w.counts(pattern);
                w.u(u128::from(n));
            }
        }
    }

    /// Reads what [`ThresholdCounts::encode`] wrote.
    pub fn decode(
        &mut self,
        r: &mut crate::output::codec::Reader<'_>,
    ) -> Result<(), crate::output::codec::Malformed> {
        use crate::output::codec::Malformed;
        if r.size()? != self.counts.len() {
            return Err(Malformed("the state's thresholds are not this model's"));
        }
        for t in 0..self.counts.len() {
            let n = r.size()?;
            for _ in 0..n {
                let mut pattern = vec![0u64; self.words];
                r.counts_into(&mut pattern)?;
                let c = u64::try_from(r.u()?).map_err(|_| Malformed("a count overflows"))?;
                *self.counts[t].entry(pattern).or_insert(0) += c;
            }
        }
        Ok(())
    }

    /// Adds another set of counts (another block or shard of futures).
    pub fn merge(&mut self, other: &ThresholdCounts) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            for (p, c) in theirs {
                *mine.entry(p.clone()).or_insert(0) += c;
            }
        }
    }

    /// Threshold `t`'s counts in pattern order (the order sums are taken in).
    pub fn sorted(&self, t: usize) -> BTreeMap<&[u64], u64> {
        self.counts[t]
            .iter()
            .map(|(p, &c)| (p.as_slice(), c))
            .collect()
    }

    /// Every view's row for every threshold, by view then threshold.
    pub fn rows(&self, model: &Model, views: &[View]) -> Vec<ThresholdRow> {
        let mut rows = Vec::with_capacity(views.len() * model.thresholds.len());
        let sorted: Vec<_> = (0..model.thresholds.len())
            .map(|t| self.sorted(t))
            .collect();
        for (v, view) in views.iter().enumerate() {
            for (t, counts) in sorted.iter().enumerate() {
                let (probability, se) = view_probability(view, counts);
                rows.push(ThresholdRow {
                    view: v,
                    threshold: t,
                    probability,
                    se,
                });
            }
        }
        rows
    }
}

/// `p` and its standard error in one view, from the counts of one
/// threshold: `X` of a pattern is the weight of the view's scenarios it
/// hits (members in order).
pub fn view_probability(view: &View, counts: &BTreeMap<&[u64], u64>) -> (f64, f64) {
    let n: u64 = counts.values().sum();
    if n == 0 {
        return (0.0, 0.0);
    }
    let x = |pattern: &[u64]| -> f64 {
        view.members
            .iter()
            .map(|&(s, w)| {
                if pattern[s / 64] >> (s % 64) & 1 == 1 {
                    w
                } else {
                    0.0
                }
            })
            .sum()
    };
    let xs: Vec<(f64, f64)> = counts.iter().map(|(p, &c)| (x(p), c as f64)).collect();
    let n = n as f64;
    let p = xs.iter().map(|(x, c)| c * x).sum::<f64>() / n;
    let var = xs.iter().map(|(x, c)| c * (x - p) * (x - p)).sum::<f64>() / n;
    (p, (var / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Series;
    use crate::summary::ViewKind;

    /// Hand-computed: three futures, two scenarios of weights 0.25/0.75,
    /// hits (s0, s1) = (1, 1), (0, 1), (0, 0): X = 1, 0.75, 0;
    /// p = 1.75 / 3, var = mean((X - p)^2), se = sqrt(var / 3).
    #[test]
    fn probability_and_error_by_hand() {
        let th = Threshold {
            series: Series::Platform(0),
            year: 2030,
            level: 0.5,
            above: true,
        };
        let s0 = [0.9f32, 0.1, 0.2];
        let s1 = [0.8f32, 0.7, 0.5]; // 0.5 is not above 0.5
        let mut c = ThresholdCounts::new(1, 2);
        c.add(0, &th, &[&s0, &s1]);
        let view = View {
            name: "all".into(),
            kind: ViewKind::All,
            members: vec![(0, 0.25), (1, 0.75)],
        };
        let (p, se) = view_probability(&view, &c.sorted(0));
        let want_p: f64 = 1.75 / 3.0;
        let var = [1.0, 0.75, 0.0]
            .iter()
            .map(|x: &f64| (x - want_p).powi(2))
            .sum::<f64>()
            / 3.0;
        assert!((p - want_p).abs() < 1e-15, "{p}");
        assert!((se - (var / 3.0).sqrt()).abs() < 1e-15, "{se}");
        // One scenario: sqrt(p (1 - p) / N).
        let one = View {
            name: "s1".into(),
            kind: ViewKind::Scenario(1),
            members: vec![(1, 1.0)],
        };
        let (p, se) = view_probability(&one, &c.sorted(0));
        assert!((p - 2.0 / 3.0).abs() < 1e-15);
        assert!((se - (p * (1.0 - p) / 3.0).sqrt()).abs() < 1e-15);
    }

    /// Counting in two blocks and merging equals counting at once.
    #[test]
    fn split_counts_merge_to_the_whole() {
        let th = Threshold {
            series: Series::Platform(0),
            year: 2030,
            level: 0.3,
            above: false,
        };
        let a: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).fract()).collect();
        let b: Vec<f32> = (0..100).map(|i| (i as f32 * 0.61).fract()).collect();
        let mut whole = ThresholdCounts::new(1, 2);
        whole.add(0, &th, &[&a, &b]);
        let mut first = ThresholdCounts::new(1, 2);
        first.add(0, &th, &[&a[..37], &b[..37]]);
        let mut second = ThresholdCounts::new(1, 2);
        second.add(0, &th, &[&a[37..], &b[37..]]);
        second.merge(&first);
        assert_eq!(whole, second);
    }
}
