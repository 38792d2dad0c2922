//! The shared machinery of validation: collecting diagnostics with their
//! file, line and path; reading typed values; keyed tables; priors.

use super::super::schema::{self, is_id};
use super::super::source::{line_of, Document, Node, Origin, Value};
use super::super::{Diagnostic, Domain, EffectId, Location, PriorId, PriorScope, PriorSlot};
use crate::prior::{parse_prior_str, Family, Prior, Spec};

/// The model's years, once `[model]` gave valid ones. Checks of other
/// years are skipped without them, so one bad year gives one error.
#[derive(Debug, Clone, Copy)]
pub struct Years {
    /// Base year.
    pub start: i32,
    /// Last simulated year.
    pub end: i32,
}

/// `path.key`, or `key` at the top.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The state of one validation: the document, every problem found so far,
/// and the priors registered so far (in file order).
pub struct Checker<'a> {
    pub doc: &'a Document,
    pub diags: Vec<Diagnostic>,
    pub priors: Vec<PriorSlot>,
    pub years: Option<Years>,
}

impl<'a> Checker<'a> {
    pub fn new(doc: &'a Document) -> Checker<'a> {
        Checker {
            doc,
            diags: Vec::new(),
            priors: Vec::new(),
            years: None,
        }
    }

    /// Where a node came from.
    pub fn location(&self, node: Option<&Node>) -> Location {
        match node.map(|n| &n.origin) {
            Some(Origin::File(r)) => Location {
                line: Some(line_of(&self.doc.text, r.start)),
                via: None,
            },
            Some(Origin::Override(flag)) => Location {
                line: None,
                via: Some(flag.clone()),
            },
            _ => Location::default(),
        }
    }

    /// Records a problem at `path`, located at `node`.
    pub fn err(&mut self, path: &str, node: Option<&Node>, message: String) {
        let at = self.location(node);
        self.err_at(path, &at, message);
    }

    /// Records a problem at `path`, located at `at`.
    pub fn err_at(&mut self, path: &str, at: &Location, message: String) {
        self.diags.push(Diagnostic {
            file: self.doc.file.clone(),
            path: path.to_string(),
            line: at.line,
            via: at.via.clone(),
            message,
        });
    }

    /// The entries of a table node, or an error.
    pub fn table(&mut self, node: &'a Node, path: &str) -> Option<&'a [(String, Node)]> {
        match &node.value {
            Value::Table(e) => Some(e),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// Reports every key of a table that is not in `allowed`.
    pub fn check_keys(&mut self, node: &'a Node, path: &str, allowed: &[&str]) {
        for (k, v) in node.entries() {
            if !allowed.contains(&k.as_str()) {
                let known: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
                let msg = format!("unknown key '{k}'; {}", schema::suggest(k, &known));
                self.err(&join(path, k), Some(v), msg);
            }
        }
    }

    /// A table whose keys are ids of entities (`[platforms.ID]`): each
    /// entry that is a table, with its id checked and its known `fields`,
    /// and its path. `required`: the message when the table is missing or
    /// empty (`None`: optional).
    pub fn keyed_table(
        &mut self,
        parent: &'a Node,
        key: &str,
        fields: &[&str],
        required: Option<&str>,
    ) -> Vec<(&'a str, &'a Node, String)> {
        let Some(node) = parent.get(key) else {
            if let Some(msg) = required {
                self.err(key, Some(parent), format!("missing [{key}]: {msg}"));
            }
            return Vec::new();
        };
        let Some(entries) = self.table(node, key) else {
            return Vec::new();
        };
        if entries.is_empty() {
            if let Some(msg) = required {
                self.err(key, Some(node), msg.to_string());
            }
        }
        let mut out = Vec::new();
        for (id, entry) in entries {
            let path = join(key, id);
            self.id_key(id, entry, &path);
            if self.table(entry, &path).is_none() {
                continue;
            }
            self.check_keys(entry, &path, fields);
            out.push((id.as_str(), entry, path));
        }
        out
    }

    pub fn string(&mut self, node: &'a Node, path: &str) -> Option<&'a str> {
        match &node.value {
            Value::Str(s) => Some(s),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn integer(&mut self, node: &'a Node, path: &str) -> Option<i64> {
        match &node.value {
            Value::Int(i) => Some(*i),
            Value::BigInt(s) => {
                self.err(
                    path,
                    Some(node),
                    format!(
                        "found {s}, outside the integers a TOML file can hold (-2^63 to 2^63 - 1)"
                    ),
                );
                None
            }
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected an integer, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// A finite number (an integer or a float; NaN and infinities refused).
    pub fn number(&mut self, node: &'a Node, path: &str) -> Option<f64> {
        let x = match &node.value {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected a number, found {}", other.type_name()),
                );
                return None;
            }
        };
        if !x.is_finite() {
            self.err(
                path,
                Some(node),
                format!("expected a finite number, found {x}"),
            );
            return None;
        }
        Some(x)
    }

    pub fn label(&mut self, node: &'a Node, path: &str, id: &str) -> String {
        match node.get("label") {
            Some(l) => self
                .string(l, &join(path, "label"))
                .unwrap_or(id)
                .to_string(),
            None => id.to_string(),
        }
    }

    pub fn id_key(&mut self, key: &str, node: &'a Node, path: &str) {
        if !is_id(key) {
            self.err(
                path,
                Some(node),
                format!("'{key}' is not a valid id; ids are a lowercase letter followed by lowercase letters, digits or '_'"),
            );
        }
    }

    /// A year in `[lo, hi]`.
    pub fn year(
        &mut self,
        node: &'a Node,
        path: &str,
        lo: i32,
        hi: i32,
        what: &str,
    ) -> Option<i32> {
        let y = self.integer(node, path)?;
        if y < lo as i64 || y > hi as i64 {
            self.err(
                path,
                Some(node),
                format!("found {y}; {what} must be a year in [{lo}, {hi}]"),
            );
            return None;
        }
        Some(y as i32)
    }

    /// Reads the prior `key` of table `parent` at `path` and registers it.
    #[allow(clippy::too_many_arguments)]
    pub fn field_prior(
        &mut self,
        parent: &'a Node,
        path: &str,
        key: &str,
        default: Option<f64>,
        domain: Domain,
        effect: Option<EffectId>,
        scope: PriorScope,
    ) -> PriorId {
        self.prior(
            parent.get(key),
            &join(path, key),
            default,
            domain,
            (effect, scope),
            parent,
        )
    }

    /// Reads a prior field (number, string or table) and registers it. A
    /// missing field takes `default` (or is an error without one).
    pub fn prior(
        &mut self,
        node: Option<&'a Node>,
        path: &str,
        default: Option<f64>,
        domain: Domain,
        (effect, scope): (Option<EffectId>, PriorScope),
        parent: &'a Node,
    ) -> PriorId {
        let prior = match node {
            None => match default {
                Some(d) => Prior::fixed(d),
                None => {
                    let key = path.rsplit('.').next().unwrap_or(path);
                    self.err(
                        path,
                        Some(parent),
                        format!("missing required prior '{key}' (a number, or a distribution such as \"1 to 2\")"),
                    );
                    Prior::fixed(1.0)
                }
            },
            Some(n) => self.read_prior(n, path).unwrap_or(Prior::fixed(1.0)),
        };
        if let (Some(v), Some(n)) = (prior.as_fixed(), node) {
            if !domain.allows(v) {
                self.err(
                    path,
                    Some(n),
                    format!("found {v}; allowed: {}", domain.describe()),
                );
            }
        }
        let at = self.location(node.or(Some(parent)));
        self.priors.push(PriorSlot {
            path: path.to_string(),
            prior,
            domain,
            effect,
            scope,
            at,
        });
        PriorId(self.priors.len() - 1)
    }

    fn read_prior(&mut self, node: &'a Node, path: &str) -> Option<Prior> {
        match &node.value {
            Value::Int(_) | Value::Float(_) => self.number(node, path).map(Prior::fixed),
            Value::Str(s) => match parse_prior_str(s) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.err(path, Some(node), e.0);
                    None
                }
            },
            Value::Table(_) => self.read_prior_table(node, path),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!(
                        "expected a prior (a number, a string like \"1 to 2\", or a table with dist = ...), found {}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }

    fn read_prior_table(&mut self, node: &'a Node, path: &str) -> Option<Prior> {
        let dist_node = match node.get("dist") {
            Some(d) => d,
            None => {
                self.err(path, Some(node), "a prior table needs dist = \"interval\", \"normal\", \"lognormal\", \"uniform\", \"triangular\", \"pert\", \"beta\" or \"gamma\"".into());
                return None;
            }
        };
        let dist = self.string(dist_node, &join(path, "dist"))?;
        let params: &[&str] = match dist {
            "interval" => &["low", "high"],
            "normal" => &["mean", "sd"],
            "lognormal" => &["mu", "sigma"],
            "uniform" => &["min", "max"],
            "triangular" | "pert" => &["min", "mode", "max"],
            "beta" => &["alpha", "beta"],
            "gamma" => &["shape", "scale"],
            other => {
                self.err(
                    &join(path, "dist"),
                    Some(dist_node),
                    format!("unknown dist \"{other}\"; allowed: interval, normal, lognormal, uniform, triangular, pert, beta, gamma"),
                );
                return None;
            }
        };
        let mut allowed = vec!["dist", "truncate"];
        allowed.extend_from_slice(params);
        self.check_keys(node, path, &allowed);
        let mut values = Vec::new();
        for p in params {
            match node.get(p) {
                Some(n) => values.push(self.number(n, &join(path, p))?),
                None => {
                    self.err(
                        path,
                        Some(node),
                        format!("dist = \"{dist}\" needs {}", params.join(", ")),
                    );
                    return None;
                }
            }
        }
        let truncate = match node.get("truncate") {
            None => None,
            Some(t) => {
                let tp = join(path, "truncate");
                match &t.value {
                    Value::Array(items) if items.len() == 2 => {
                        let lo = self.number(&items[0], &tp)?;
                        let hi = self.number(&items[1], &tp)?;
                        Some((lo, hi))
                    }
                    _ => {
                        self.err(&tp, Some(t), "truncate must be [lo, hi]".into());
                        return None;
                    }
                }
            }
        };
        let built = if dist == "interval" {
            Family::interval(values[0], values[1]).map(|f| {
                (
                    f,
                    Spec::Interval {
                        low: values[0],
                        high: values[1],
                    },
                )
            })
        } else {
            Family::new(dist, &values).map(|f| (f, Spec::Direct))
        };
        match built.and_then(|(f, s)| Prior::new(f, s, truncate)) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(path, Some(node), e.0);
                None
            }
        }
    }
}
