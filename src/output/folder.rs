//! Output folders that never lose a user's data. Every command that writes
//! a folder (a run, a redrawn report, a sweep, a Sobol study, a shard, a
//! merge) goes through [`Staged`]; a single file (a posterior model) goes
//! through [`write_new_file`].
//!
//! The rules, in one place:
//!
//! - **Only sharecast's own folders are replaced.** A target that exists
//!   must be an empty folder, or a folder whose `run.json` says sharecast
//!   wrote it and lists every file in it. A plain file, a device, a
//!   symbolic link, a folder with anything sharecast did not write, a
//!   read-only folder, the current directory or one of its ancestors, and
//!   a folder holding a model file being run are refused, untouched.
//! - **One writer at a time.** An advisory lock on `.NAME.lock` beside the
//!   target (held until the command ends): a second run on the same
//!   folder fails at once, naming the process that holds it.
//! - **All or nothing.** Files are written into `.NAME.partial-HOST-PID`
//!   and renamed into place when complete; the previous folder is moved to
//!   `.NAME.old-HOST-PID` first and deleted only after the new one is in
//!   place. Temporary folders carry a marker file; on SIGINT/SIGTERM the
//!   binary calls [`abort_staging`], and every later command removes the
//!   temporary folders of dead processes *of the same host* (a shared
//!   volume may hold another host's live ones).

use super::{io, OutputError};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file inside every temporary folder that marks it as sharecast's.
const MARKER: &str = ".sharecast-staging";
/// What `run.json` says in `written_by`.
pub const WRITTEN_BY: &str = "sharecast";

/// Temporary folders and files of this process, removed on a signal.
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn refuse(path: &Path, why: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// This machine's host name, in the characters a file name can hold.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let raw = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// Whether process `pid` of this host is alive.
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The parent folder of `target` (`.` for a bare name).
fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn name_of(target: &Path) -> Result<String, OutputError> {
    match target.file_name() {
        Some(n) => Ok(n.to_string_lossy().into_owned()),
        None => Err(refuse(
            target,
            "it names no folder (it ends in '..' or is a root); choose another --out",
        )),
    }
}

/// An advisory lock on `.NAME.lock` beside a folder, held while a command
/// writes the folder. Released, and its file removed, when dropped (the
/// kernel releases it if the process dies).
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Locks `folder` (which need not exist), creating its parent if needed.
    /// Fails at once if another process holds the lock.
    pub fn acquire(folder: &Path) -> Result<Lock, OutputError> {
        use std::os::unix::fs::MetadataExt;
        let parent = parent_of(folder);
        fs::create_dir_all(&parent).map_err(io("create the output folder", &parent))?;
        let path = parent.join(format!(".{}.lock", name_of(folder)?));
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io("open the lock file", &path))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another sharecast process".to_string()
                    } else {
                        format!("sharecast process {holder}")
                    };
                    return Err(refuse(
                        folder,
                        format!(
                            "{who} is writing it (lock file '{}'); wait for it to finish or choose another --out",
                            path.display()
                        ),
                    ));
                }
                Err(fs::TryLockError::Error(e)) => return Err(io("lock", &path)(e)),
            }
            // The holder before us removes the file as it finishes: if the
            // path no longer names the file we locked, lock the new one.
            let same = match (fs::metadata(&path), file.metadata()) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if !same {
                continue;
            }
            // Say who holds it, for the message a second process prints.
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "{} on host {}", std::process::id(), hostname());
            let _ = file.flush();
            register(&path);
            return Ok(Lock { file, path });
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still locked: a process that opened it meanwhile
        // finds the path gone and locks a new file (see `acquire`).
        let _ = fs::remove_file(&self.path);
        unregister(&self.path);
        let _ = self.file.unlock();
    }
}

/// Removes `path`, a lock file left by a dead process of this host (none
/// holds it: it is locked here first, and removed while locked).
fn clean_stale_lock(path: &Path, host: &str) {
    let Ok(mut file) = OpenOptions::new().read(true).write(true).open(path) else {
        return;
    };
    if file.try_lock().is_err() {
        return;
    }
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let mut words = text.split_whitespace();
    let pid = words.next().and_then(|p| p.parse::<u32>().ok());
    let on_host = text.trim_end().ends_with(&format!("on host {host}"));
    if let (Some(pid), true) = (pid, on_host) {
        if pid != std::process::id() && !alive(pid) {
            let _ = fs::remove_file(path);
        }
    }
    let _ = file.unlock();
}

/// Refuses a target that is not a folder, is the current directory or one
/// of its ancestors, or holds one of `protect` (the model files being run).
pub fn check_target(target: &Path, protect: &[PathBuf]) -> Result<(), OutputError> {
    let meta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("inspect", target)(e)),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(refuse(
            target,
            "it is a symbolic link; sharecast replaces only real folders it wrote: give the folder itself or choose another --out",
        ));
    }
    if !kind.is_dir() {
        let what = if kind.is_file() {
            "a file"
        } else {
            "a device or special file"
        };
        return Err(refuse(
            target,
            format!("it is {what}, not a folder; choose another --out"),
        ));
    }
    let canon = fs::canonicalize(target).map_err(io("inspect", target))?;
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize) {
        if cwd.starts_with(&canon) {
            return Err(refuse(
                target,
                "it is the current directory or one of its ancestors; choose a folder inside it, e.g. --out output/run1",
            ));
        }
    }
    for p in protect {
        if let Ok(model) = fs::canonicalize(p) {
            if model.starts_with(&canon) {
                return Err(refuse(
                    target,
                    format!(
                        "it holds the model file '{}' being run; choose another --out",
                        p.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Files a legacy `run.json` (without a `files` list) may stand beside.
const LEGACY_FILES: &[&str] = &[
    "summary.csv",
    "summary.parquet",
    "thresholds.csv",
    "impact.csv",
    "horizon.csv",
    "scenarios.csv",
    "model.toml",
    "paths.parquet",
];

/// The files a sharecast folder's `run.json` lists (paths relative to the
/// folder, `/`-separated), or `None` if `dir` has no `run.json` written by
/// sharecast.
pub fn listed_files(dir: &Path) -> Option<BTreeSet<String>> {
    let text = fs::read_to_string(dir.join("run.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let ours = json.get("written_by").and_then(|v| v.as_str()) == Some(WRITTEN_BY)
        || json.get("sharecast_version").is_some();
    if !ours {
        return None;
    }
    let mut files: BTreeSet<String> = match json.get("files").and_then(|f| f.as_array()) {
        Some(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        None => LEGACY_FILES.iter().map(|s| s.to_string()).collect(),
    };
    files.insert("run.json".into());
    Some(files)
}

/// Every file below `dir` (relative, `/`-separated) that `listed` does not
/// hold. `legacy`: also accept the PNGs and `index.html` of a `report/`
/// folder (a run.json from before runs listed their files).
fn foreign_entries(dir: &Path, listed: &BTreeSet<String>, legacy: bool) -> Vec<String> {
    let mut out = Vec::new();
    super::walk(dir, |e| match e {
        super::Entry::Unreadable(r) => {
            out.push(r);
            false
        }
        super::Entry::Dir(r) => {
            let descend =
                listed.iter().any(|f| f.starts_with(&format!("{r}/"))) || (legacy && r == "report");
            if !descend {
                out.push(format!("{r}/"));
            }
            descend
        }
        super::Entry::File(r, name) => {
            let legacy_chart = legacy
                && r.strip_suffix(name) == Some("report/")
                && (name.ends_with(".png") || name == "index.html");
            if !listed.contains(r) && !legacy_chart {
                out.push(r.to_string());
            }
            false
        }
    });
    out.sort();
    out
}

/// Refuses an existing `target` unless it is empty or sharecast wrote
/// everything in it: `listed` are the files it wrote (`None`: read the
/// target's own `run.json`).
pub fn check_replaceable(
    target: &Path,
    listed: Option<&BTreeSet<String>>,
) -> Result<(), OutputError> {
    let Ok(mut entries) = fs::read_dir(target) else {
        return Ok(()); // absent (check_target refused everything else)
    };
    // Read-only by its mode bits (which also hold for root, whom access()
    // lets write anywhere) or for this user.
    let writable = {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;
        let mode_ok = fs::metadata(target).is_ok_and(|m| m.permissions().mode() & 0o200 != 0);
        let c = std::ffi::CString::new(target.as_os_str().as_bytes()).ok();
        // SAFETY: a NUL-terminated path; access() only reads it.
        mode_ok && c.is_some_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0)
    };
    if !writable {
        return Err(refuse(
            target,
            "it is read-only; sharecast does not replace a folder it may not write: choose another --out",
        ));
    }
    if entries.next().is_none() {
        return Ok(());
    }
    let own;
    let (listed, legacy) = match listed {
        Some(l) => (l, false),
        None => match listed_files(target) {
            Some(l) => {
                let legacy = !fs::read_to_string(target.join("run.json"))
                    .unwrap_or_default()
                    .contains("\"files\"");
                own = l;
                (&own, legacy)
            }
            None => {
                return Err(refuse(
                    target,
                    "it is a folder sharecast did not write (it holds files and no sharecast run.json); sharecast never replaces such a folder: choose another --out, e.g. a new folder name",
                ))
            }
        },
    };
    let foreign = foreign_entries(target, listed, legacy);
    if !foreign.is_empty() {
        let shown: Vec<&str> = foreign.iter().take(5).map(|s| s.as_str()).collect();
        let more = if foreign.len() > 5 {
            format!(" and {} more", foreign.len() - 5)
        } else {
            String::new()
        };
        return Err(refuse(
            target,
            format!(
                "it holds files sharecast did not write ({}{more}); move them out or choose another --out",
                shown.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Host and pid of a temporary folder name `.X.partial-HOST-PID` or
/// `.X.old-HOST-PID`.
fn stale_owner(name: &str) -> Option<(String, u32)> {
    let rest = name.strip_prefix('.')?;
    let (head, pid) = rest.rsplit_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    let at = head.rfind(".partial-").map(|i| i + ".partial-".len());
    let at = at.or_else(|| head.rfind(".old-").map(|i| i + ".old-".len()))?;
    Some((head[at..].to_string(), pid))
}

/// Removes, in `dir`, the temporary folders and lock files left by dead
/// processes of this host (recognised by their names, and their marker
/// file or content); never another host's.
pub fn clean_stale(dir: &Path) {
    let host = hostname();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            && name.ends_with(".lock")
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            clean_stale_lock(&e.path(), &host);
            continue;
        }
        let Some((h, pid)) = stale_owner(&name) else {
            continue;
        };
        let path = e.path();
        if h == host
            && pid != std::process::id()
            && !alive(pid)
            && e.file_type().is_ok_and(|t| t.is_dir())
            && path.join(MARKER).is_file()
        {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

fn register(path: &Path) {
    if let Ok(mut v) = STAGING.lock() {
        v.push(path.to_path_buf());
    }
}

fn unregister(path: &Path) {
    if let Ok(mut v) = STAGING.lock() {
        v.retain(|p| p != path);
    }
}

/// Removes this process's temporary folders and files, and its lock files
/// (called by the binary on SIGINT/SIGTERM before it exits). Waits for a commit under way
/// to finish, so a folder is either fully in place or not at all.
pub fn abort_staging() {
    let Ok(mut v) = STAGING.lock() else {
        return;
    };
    for p in v.drain(..) {
        for _ in 0..5 {
            let gone = if p.is_dir() {
                fs::remove_dir_all(&p).is_ok()
            } else {
                fs::remove_file(&p).is_ok()
            };
            if gone || !p.exists() {
                break;
            }
        }
    }
}

/// A folder being written: a temporary folder beside the target, renamed
/// into place by [`Staged::commit`], removed if dropped uncommitted.
#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    staging: PathBuf,
    /// The files the replaced folder may hold (`None`: its own run.json's).
    listed: Option<BTreeSet<String>>,
    done: bool,
}

impl Staged {
    /// Starts writing `target`, whose lock the caller holds (see
    /// [`Lock::acquire`]). `listed`: the files of an existing target that
    /// sharecast wrote (`None`: those its own `run.json` lists).
    pub fn begin(
        target: &Path,
        protect: &[PathBuf],
        listed: Option<BTreeSet<String>>,
        _lock: &Lock,
    ) -> Result<Staged, OutputError> {
        check_target(target, protect)?;
        let parent = parent_of(target);
        clean_stale(&parent);
        if target.is_dir() {
            clean_stale(target);
        }
        check_replaceable(target, listed.as_ref())?;
        let staging = parent.join(format!(
            ".{}.partial-{}-{}",
            name_of(target)?,
            hostname(),
            std::process::id()
        ));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io("remove", &staging))?;
        }
        fs::create_dir_all(&staging).map_err(io("create the output folder", &staging))?;
        register(&staging);
        let marked = fs::write(
            staging.join(MARKER),
            format!("{} {}\n", std::process::id(), hostname()),
        );
        let staged = Staged {
            target: target.to_path_buf(),
            staging,
            listed,
            done: false,
        };
        marked.map_err(io("write in", &staged.staging))?;
        Ok(staged)
    }

    /// Where files are written until [`Staged::commit`].
    pub fn dir(&self) -> &Path {
        &self.staging
    }

    /// The final folder.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the finished folder into place, replacing sharecast's earlier
    /// one (checked again: the user may have added files meanwhile).
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        // Holding the registry's lock: a signal's clean-up waits for this.
        let mut registry = STAGING.lock().unwrap_or_else(|e| e.into_inner());
        check_replaceable(&self.target, self.listed.as_ref())?;
        let old = parent_of(&self.target).join(format!(
            ".{}.old-{}-{}",
            name_of(&self.target)?,
            hostname(),
            std::process::id()
        ));
        let mut moved_aside = false;
        if fs::symlink_metadata(&self.target).is_ok() {
            if fs::read_dir(&self.target).is_ok_and(|mut e| e.next().is_none()) {
                // An empty folder is replaced by the rename itself.
            } else {
                fs::rename(&self.target, &old)
                    .map_err(io("move the previous output aside", &self.target))?;
                // Marked, so that if this process dies now a later run
                // removes it.
                let _ = fs::write(old.join(MARKER), std::process::id().to_string());
                moved_aside = true;
            }
        }
        let _ = fs::remove_file(self.staging.join(MARKER));
        if let Err(e) = fs::rename(&self.staging, &self.target) {
            let _ = fs::write(self.staging.join(MARKER), std::process::id().to_string());
            if moved_aside {
                // Put the previous run back: nothing is lost.
                let _ = fs::remove_file(old.join(MARKER));
                let _ = fs::rename(&old, &self.target);
            }
            return Err(io("move the new output into place", &self.target)(e));
        }
        registry.retain(|p| p != &self.staging);
        drop(registry);
        if moved_aside {
            let _ = fs::remove_dir_all(&old);
        }
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.staging);
            unregister(&self.staging);
        }
    }
}

/// Writes a new file `path` with `bytes`, all or nothing: refuses an
/// existing path and any of `protect` (the model files being run), writes
/// a temporary file beside it and links it into place (which fails rather
/// than overwrite a file that appeared meanwhile).
pub fn write_new_file(path: &Path, bytes: &[u8], protect: &[PathBuf]) -> Result<(), OutputError> {
    for p in protect {
        let same = match (fs::canonicalize(p), fs::canonicalize(path)) {
            (Ok(a), Ok(b)) => a == b,
            _ => p == path,
        };
        if same {
            return Err(refuse(
                path,
                "it is the model file being run; write the posterior model to a new file",
            ));
        }
    }
    if fs::symlink_metadata(path).is_ok() {
        return Err(refuse(
            path,
            "it already exists; sharecast never overwrites a file: give a new file name",
        ));
    }
    let parent = parent_of(path);
    let name = name_of(path)?;
    let temp = parent.join(format!(
        ".{name}.partial-{}-{}",
        hostname(),
        std::process::id()
    ));
    register(&temp);
    let result = (|| {
        fs::write(&temp, bytes).map_err(io("write", &temp))?;
        fs::hard_link(&temp, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                refuse(
                    path,
                    "it already exists; sharecast never overwrites a file: give a new file name",
                )
            } else {
                io("write", path)(e)
            }
        })
    })();
    let _ = fs::remove_file(&temp);
    unregister(&temp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file the user adds to sharecast's folder while a run is under
    /// way is found at the commit: the run fails, and the folder, the file
    /// in it and nothing else of the run remain.
    #[test]
    fn a_commit_refuses_a_folder_changed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(
            target.join("run.json"),
            r#"{"written_by": "sharecast", "files": ["summary.csv"]}"#,
        )
        .unwrap();
        fs::write(target.join("summary.csv"), "old").unwrap();
        let lock = Lock::acquire(&target).unwrap();
        let staged = Staged::begin(&target, &[], None, &lock).unwrap();
        fs::write(staged.dir().join("summary.csv"), "new").unwrap();
        let staging = staged.dir().to_path_buf();
        fs::write(target.join("notes.txt"), "mine").unwrap();
        let err = staged.commit().unwrap_err().to_string();
        assert!(err.contains("notes.txt"), "{err}");
        assert_eq!(
            fs::read_to_string(target.join("summary.csv")).unwrap(),
            "old"
        );
        assert_eq!(
            fs::read_to_string(target.join("notes.txt")).unwrap(),
            "mine"
        );
        assert!(!staging.exists(), "the temporary folder was left behind");
    }

    #[test]
    fn temporary_names_parse() {
        assert_eq!(
            stale_owner(".ai-accelerators.partial-node-7.cluster-1234"),
            Some(("node-7.cluster".into(), 1234))
        );
        assert_eq!(
            stale_owner(".out.v2.old-host-99"),
            Some(("host".into(), 99))
        );
        assert_eq!(stale_owner("summary.csv"), None);
        assert_eq!(stale_owner(".x.partial-host-abc"), None);
    }
}
