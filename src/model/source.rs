//! The raw model document: a TOML tree that remembers where each value came
//! from (file line or `--set` flag), and `--set` overrides applied to it.

use super::schema;
use super::Diagnostic;
use std::ops::Range;
use toml::de::{DeTable, DeValue};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A byte range of the model file.
    File(Range<usize>),
    /// The n-th `--set` flag (its full text).
    Override(String),
    /// Not written anywhere (a default).
    None,
}

/// A TOML value with its origin.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it came from.
    pub origin: Origin,
}

/// A TOML value; tables keep declaration order.
#[derive(Debug, Clone)]
pub enum Value {
    /// String.
    Str(String),
    /// Integer.
    Int(i64),
    /// An integer outside TOML's 64-bit range (kept as written, to say so).
    BigInt(String),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// Date or time (never valid in a model; kept to say so).
    Datetime(String),
    /// Array.
    Array(Vec<Node>),
    /// Table in declaration order.
    Table(Vec<(String, Node)>),
}

impl Value {
    /// Name of the TOML type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::BigInt(_) => "an integer outside TOML's 64-bit range",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a datetime",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }
}

impl Node {
    /// Looks up a key of a table node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Table(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The entries of a table node (empty for other types).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Table(entries) => entries,
            _ => &[],
        }
    }
}

/// A parsed model document together with its file name and text.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file name shown in messages.
    pub file: String,
    /// The file's text (for line numbers).
    pub text: String,
    /// The root table.
    pub root: Node,
}

impl Document {
    /// Parses TOML text. A syntax error becomes one diagnostic with its line.
    pub fn parse(file: &str, text: &str) -> Result<Document, Diagnostic> {
        match DeTable::parse(text) {
            Ok(table) => {
                let span = table.span();
                let root = Node {
                    value: convert_table(table.into_inner()),
                    origin: Origin::File(span),
                };
                Ok(Document {
                    file: file.to_string(),
                    text: text.to_string(),
                    root,
                })
            }
            Err(e) => {
                let line = e.span().map(|s| line_of(text, s.start));
                Err(Diagnostic {
                    file: file.to_string(),
                    path: String::new(),
                    line,
                    via: None,
                    message: format!("invalid TOML: {}", e.message().trim()),
                })
            }
        }
    }

    /// The 1-based line of a node, when it came from the file.
    pub fn line(&self, origin: &Origin) -> Option<usize> {
        match origin {
            Origin::File(r) => Some(line_of(&self.text, r.start)),
            _ => None,
        }
    }

    /// Applies one `--set PATH=VALUE` flag (VALUE in TOML syntax). The path
    /// must exist in the schema; new keys are created only where the schema
    /// allows them.
    pub fn apply_override(&mut self, flag: &str) -> Result<(), Diagnostic> {
        let fail = |path: &str, msg: String| Diagnostic {
            file: self.file.clone(),
            path: path.to_string(),
            line: None,
            via: Some(flag.to_string()),
            message: msg,
        };
        let Some((path, raw)) = flag.split_once('=') else {
            return Err(fail(
                "",
                "--set takes PATH=VALUE, for example --set simulation.futures=50000".into(),
            ));
        };
        let path = path.trim();
        let raw = raw.trim();
        if path.is_empty() {
            return Err(fail("", "--set has an empty PATH before '='".into()));
        }
        let parsed = DeValue::parse(raw).map_err(|e| {
            // A field that takes a number gets a number as its example;
            // otherwise the likeliest slip is text without its TOML quotes,
            // so the example is the value quoted (in the shell's single
            // quotes).
            let segments: Vec<&str> = path.split('.').collect();
            let hint = match schema::number_example(&segments) {
                Some(n) => format!("{path} takes a number, e.g. --set {path}={n}"),
                None if raw.contains(['"', '\'', '\\']) => {
                    format!("text needs quotes, e.g. --set {path}='\"0.2 to 0.5\"'")
                }
                None => format!("text needs quotes, e.g. --set {path}='\"{raw}\"'"),
            };
            fail(
                path,
                format!(
                    "value `{raw}` is not a TOML value ({}); {hint}",
                    e.message().trim()
                ),
            )
        })?;
        // Every part of the new value points at the flag it came from.
        let mut new = Node {
            value: convert_value(parsed.into_inner()),
            origin: Origin::None,
        };
        set_origin(&mut new, &Origin::Override(flag.to_string()));
        let segments: Vec<&str> = path.split('.').collect();
        let mut node = &mut self.root;
        for (depth, seg) in segments.iter().enumerate() {
            let here = segments[..depth].join(".");
            let last = depth + 1 == segments.len();
            match &mut node.value {
                Value::Table(entries) => {
                    if let Some(pos) = entries.iter().position(|(k, _)| k == seg) {
                        if last {
                            entries[pos].1 = new;
                            return Ok(());
                        }
                        node = &mut entries[pos].1;
                    } else {
                        let existing: Vec<String> =
                            entries.iter().map(|(k, _)| k.clone()).collect();
                        let creatable = schema::may_create(&segments[..depth], seg, last);
                        if creatable {
                            let child = if last {
                                new.clone()
                            } else {
                                Node {
                                    value: Value::Table(Vec::new()),
                                    origin: Origin::Override(flag.to_string()),
                                }
                            };
                            entries.push((seg.to_string(), child));
                            if last {
                                return Ok(());
                            }
                            let len = entries.len();
                            node = &mut entries[len - 1].1;
                        } else {
                            let mut known = existing;
                            for f in schema::fields_at(&segments[..depth]) {
                                if !known.iter().any(|k| k == f) {
                                    known.push(f.to_string());
                                }
                            }
                            let full = if here.is_empty() {
                                seg.to_string()
                            } else {
                                format!("{here}.{seg}")
                            };
                            return Err(fail(
                                &full,
                                format!(
                                    "no such key '{seg}' {}; {}",
                                    if here.is_empty() {
                                        "at the top level".to_string()
                                    } else {
                                        format!("in '{here}'")
                                    },
                                    schema::suggest(seg, &known)
                                ),
                            ));
                        }
                    }
                }
                Value::Array(items) => {
                    let idx: usize = seg.parse().map_err(|_| {
                        fail(
                            path,
                            format!(
                                "'{here}' is an array: index it with a number 0..{}",
                                items.len()
                            ),
                        )
                    })?;
                    if idx >= items.len() {
                        return Err(fail(
                            path,
                            format!(
                                "'{here}' has {} entries; index {idx} is out of range",
                                items.len()
                            ),
                        ));
                    }
                    if last {
                        items[idx] = new;
                        return Ok(());
                    }
                    node = &mut items[idx];
                }
                other => {
                    return Err(fail(
                        path,
                        format!(
                            "'{here}' is {}, which has no key '{seg}'",
                            other.type_name()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn set_origin(node: &mut Node, origin: &Origin) {
    node.origin = origin.clone();
    match &mut node.value {
        Value::Array(items) => items.iter_mut().for_each(|n| set_origin(n, origin)),
        Value::Table(entries) => entries.iter_mut().for_each(|(_, n)| set_origin(n, origin)),
        _ => {}
    }
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn convert_table(table: DeTable<'_>) -> Value {
    Value::Table(
        table
            .into_iter()
            .map(|(k, v)| {
                // Point at the key: that is where a reader looks for the entry.
                let key_span = k.span();
                let key = k.into_inner().into_owned();
                let span = v.span();
                let start = if key_span.start < span.start || span.is_empty() {
                    key_span.start
                } else {
                    span.start
                };
                let value = convert_value(v.into_inner());
                (
                    key,
                    Node {
                        value,
                        origin: Origin::File(start..span.end.max(start)),
                    },
                )
            })
            .collect(),
    )
}

fn convert_value(v: DeValue<'_>) -> Value {
    match v {
        DeValue::String(s) => Value::Str(s.into_owned()),
        DeValue::Integer(i) => {
            let parsed = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .or_else(|_| i.as_str().replace('_', "").parse::<i64>());
            match parsed {
                Ok(n) => Value::Int(n),
                Err(_) => Value::BigInt(i.as_str().to_string()),
            }
        }
        DeValue::Float(f) => Value::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| {
                    let span = item.span();
                    Node {
                        value: convert_value(item.into_inner()),
                        origin: Origin::File(span),
                    }
                })
                .collect(),
        ),
        DeValue::Table(t) => convert_table(t),
    }
}
