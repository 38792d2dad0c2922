//! Everything a command writes: the tables (polars frames to CSV and
//! Parquet), the run manifest `run.json`, and the folders they go into,
//! which never replace or delete what sharecast did not write
//! ([`folder`]).

pub mod codec;
pub mod folder;
pub mod manifest;
pub mod tables;

pub use folder::{abort_staging, write_new_file, Lock, Staged};
pub use manifest::Manifest;
pub use tables::*;

use polars::prelude::PolarsError;
use std::path::{Path, PathBuf};

/// Errors while writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file-system operation failed.
    #[error("cannot {action} '{path}'")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// polars failed to build or write a frame.
    #[error("cannot write '{path}'")]
    Polars {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: PolarsError,
    },
    /// A table holding a value that is not a finite number.
    #[error("'{path}': {what}: not a finite number, so nothing was written (a bug for a model `sharecast check` accepts: please report it with the model file)")]
    NotFinite {
        /// The table.
        path: PathBuf,
        /// The column, the value and the row's keys.
        what: String,
    },
    /// A path sharecast will not write or replace.
    #[error("will not write '{path}': {why}")]
    Refused {
        /// The path.
        path: PathBuf,
        /// Why, and what to do instead.
        why: String,
    },
}

pub(crate) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> OutputError + 'a {
    move |source| OutputError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Replaces sharecast's own file `path` (a run's `run.json`) all at once:
/// written beside it, then renamed over it.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy());
    let temp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    std::fs::write(&temp, bytes).map_err(io("write", &temp))?;
    std::fs::rename(&temp, path).map_err(io("write", path))
}

/// One entry met by [`walk`].
pub(crate) enum Entry<'a> {
    /// A folder that could not be read (`"."` for `dir` itself).
    Unreadable(String),
    /// A folder: its relative path; return true to descend into it.
    Dir(&'a str),
    /// A file (or anything that is not a folder): relative path and name.
    File(&'a str, &'a str),
}

/// Walks the tree below `dir`, naming every entry by its path relative to
/// `dir`, `/`-separated; `visit` says which folders to descend into.
pub(crate) fn walk(dir: &Path, mut visit: impl FnMut(Entry) -> bool) {
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            visit(Entry::Unreadable(if rel.is_empty() {
                ".".into()
            } else {
                rel
            }));
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if visit(Entry::Dir(&r)) {
                    stack.push((e.path(), r));
                }
            } else {
                visit(Entry::File(&r, &name));
            }
        }
    }
}

/// Every file below `dir`, relative and `/`-separated, sorted, leaving out
/// `run.json` and the temporary folder's marker: what a manifest lists.
pub fn list_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(dir, |e| match e {
        Entry::Unreadable(_) => false,
        Entry::Dir(_) => true,
        Entry::File(r, name) => {
            if r != "run.json" && name != ".sharecast-staging" {
                out.push(r.to_string());
            }
            false
        }
    });
    out.sort();
    out
}
