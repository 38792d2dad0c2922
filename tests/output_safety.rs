//! sharecast never loses a user's data: it replaces only folders it wrote,
//! refuses files, devices, the current directory and the model's own
//! folder, lets one writer at a time into a folder, and leaves nothing
//! half-written behind when interrupted.

mod common;

use common::{assert_success, sharecast, stderr};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Writes the small test model into `dir`.
fn model(dir: &Path) -> PathBuf {
    let m = dir.join("small.toml");
    fs::write(&m, common::SMALL).unwrap();
    m
}

/// `sharecast run MODEL --out OUT` with few futures, in `dir`.
fn run_out(dir: &Path, out: &str) -> std::process::Output {
    sharecast()
        .current_dir(dir)
        .args([
            "run",
            "small.toml",
            "--quiet",
            "--no-report",
            "--futures",
            "50",
            "--out",
            out,
        ])
        .output()
        .unwrap()
}

/// Names in `dir` (hidden ones included), sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file below `dir`, relative, sorted (run.json included).
fn files(dir: &Path) -> Vec<String> {
    let mut v = sharecast::output::list_files(dir);
    v.push("run.json".into());
    v.sort();
    v
}

#[test]
fn a_folder_with_a_users_file_is_refused_and_the_file_survives() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let victim = dir.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("thesis.txt"), "precious").unwrap();
    let out = run_out(dir.path(), "victim");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("'victim'") && err.contains("did not write") && err.contains("--out"),
        "{err}"
    );
    assert_eq!(entries(&victim), ["thesis.txt"]);
    assert_eq!(
        fs::read_to_string(victim.join("thesis.txt")).unwrap(),
        "precious"
    );
    assert_eq!(
        entries(dir.path()),
        ["small.toml", "victim"],
        "nothing left beside it"
    );
}

#[test]
fn a_plain_file_as_out_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    fs::write(dir.path().join("afile"), "keep me").unwrap();
    let out = run_out(dir.path(), "afile");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("it is a file, not a folder"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("afile")).unwrap(),
        "keep me"
    );
}

#[test]
fn the_models_own_folder_and_the_current_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    for (out, why) in [
        (".", "current directory"),
        ("..", "current directory or one of its ancestors"),
    ] {
        let res = run_out(dir.path(), out);
        assert!(!res.status.success(), "{out}");
        assert!(stderr(&res).contains(why), "{}", stderr(&res));
    }
    let sub = dir.path().join("models");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("m.toml"), common::SMALL).unwrap();
    let res = sharecast()
        .current_dir(dir.path())
        .args([
            "run",
            "models/m.toml",
            "--quiet",
            "--futures",
            "50",
            "--out",
            "models",
        ])
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(
        stderr(&res).contains("holds the model file"),
        "{}",
        stderr(&res)
    );
    assert_eq!(entries(&sub), ["m.toml"]);
}

#[test]
fn a_rerun_replaces_its_own_folder_but_not_a_file_added_to_it() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    assert_success(&run_out(dir.path(), "out"));
    let first = fs::read(dir.path().join("out/summary.csv")).unwrap();
    assert_success(&run_out(dir.path(), "out"));
    assert_eq!(fs::read(dir.path().join("out/summary.csv")).unwrap(), first);
    fs::write(dir.path().join("out/notes.txt"), "mine").unwrap();
    let res = run_out(dir.path(), "out");
    assert!(!res.status.success());
    assert!(stderr(&res).contains("notes.txt"), "{}", stderr(&res));
    assert_eq!(
        fs::read_to_string(dir.path().join("out/notes.txt")).unwrap(),
        "mine"
    );
    // Only the output folder and the model: no lock or temporary files.
    assert_eq!(entries(dir.path()), ["out", "small.toml"]);
}

#[test]
fn a_read_only_folder_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let res = run_out(dir.path(), "ro");
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!res.status.success());
    assert!(stderr(&res).contains("read-only"), "{}", stderr(&res));
}

/// A run of the default model long enough to be caught mid-way.
fn slow_run(dir: &Path, out: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_sharecast"))
        .current_dir(dir)
        .args([
            "run",
            "--quiet",
            "--no-report",
            "--futures",
            "400000",
            "--out",
            out,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists (the run has taken its lock or started its
/// temporary folder).
fn wait_for(path: &Path) {
    let t = Instant::now();
    while !path.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn partial_folders(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.contains(".partial-"))
        .collect()
}

#[test]
fn a_second_run_on_the_same_folder_fails_at_once_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let mut first = slow_run(dir.path(), "busy");
    wait_for(&dir.path().join(".busy.lock"));
    let t = Instant::now();
    let second = run_out(dir.path(), "busy");
    let waited = t.elapsed();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(!second.status.success());
    let err = stderr(&second);
    assert!(
        err.contains(&format!("sharecast process {}", first.id())) && err.contains("is writing it"),
        "{err}"
    );
    // "At once": it did not wait for the first run (which takes seconds).
    assert!(waited < Duration::from_secs(30), "{waited:?}");
}

#[test]
fn an_interrupted_run_removes_its_temporary_folder() {
    use std::os::unix::process::ExitStatusExt;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let dir = tempfile::tempdir().unwrap();
        let mut run = slow_run(dir.path(), "out");
        let host = sharecast::output::folder::hostname();
        wait_for(&dir.path().join(format!(".out.partial-{host}-{}", run.id())));
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(run.id() as i32, signal) };
        let status = run.wait().unwrap();
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }
}

/// A run that dies after it started writing (here SIGKILL, mid-way) leaves
/// the previous run's folder exactly as it was.
#[test]
fn a_failed_run_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep");
    let first = sharecast()
        .current_dir(dir.path())
        .args([
            "run",
            "--quiet",
            "--no-report",
            "--futures",
            "300",
            "--out",
            "keep",
        ])
        .output()
        .unwrap();
    assert_success(&first);
    let before: Vec<(String, Vec<u8>)> = files(&out)
        .into_iter()
        .map(|f| {
            let bytes = fs::read(out.join(&f)).unwrap();
            (f, bytes)
        })
        .collect();
    let mut run = slow_run(dir.path(), "keep");
    let host = sharecast::output::folder::hostname();
    wait_for(
        &dir.path()
            .join(format!(".keep.partial-{host}-{}", run.id())),
    );
    run.kill().unwrap();
    run.wait().unwrap();
    for (f, bytes) in &before {
        assert_eq!(&fs::read(out.join(f)).unwrap(), bytes, "{f} changed");
    }
    assert_eq!(files(&out).len(), before.len());
}

#[test]
fn a_later_run_removes_what_a_killed_run_left_on_this_host_only() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let mut run = slow_run(dir.path(), "out");
    let host = sharecast::output::folder::hostname();
    let partial = dir.path().join(format!(".out.partial-{host}-{}", run.id()));
    wait_for(&partial);
    run.kill().unwrap(); // SIGKILL: nothing can clean up
    run.wait().unwrap();
    assert!(partial.exists());
    // Another host's temporary folder on a shared volume: not ours to touch.
    let foreign = dir.path().join(".out.partial-otherhost-1");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join(".sharecast-staging"), "1 otherhost").unwrap();
    assert_success(&run_out(dir.path(), "out"));
    assert!(!partial.exists(), "the dead run's folder is still there");
    assert!(foreign.exists(), "another host's folder was removed");
    assert!(partial_folders(dir.path()) == [".out.partial-otherhost-1"]);
}

#[test]
fn thousands_of_threads_are_capped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let res = sharecast()
        .current_dir(dir.path())
        .args([
            "run",
            "small.toml",
            "--no-report",
            "--futures",
            "200",
            "--threads",
            "10000",
            "--out",
            "o",
        ])
        .output()
        .unwrap();
    assert_success(&res);
    assert!(
        stderr(&res).contains("--threads 10000 capped at"),
        "{}",
        stderr(&res)
    );
}

#[test]
fn seeds_take_exactly_the_documented_range() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    let ok = sharecast()
        .current_dir(dir.path())
        .args([
            "run",
            "small.toml",
            "--quiet",
            "--no-report",
            "--futures",
            "20",
        ])
        .args(["--seed", "9223372036854775807", "--out", "o"])
        .output()
        .unwrap();
    assert_success(&ok);
    let bad = sharecast()
        .args(["check", "--set", "simulation.seed=18446744073709551615"])
        .output()
        .unwrap();
    assert!(
        stderr(&bad).contains("a seed is an integer in [0, 2^63 - 1]"),
        "{}",
        stderr(&bad)
    );
    let bad = sharecast()
        .current_dir(dir.path())
        .args(["run", "--seed", "18446744073709551615"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("0..=9223372036854775807"),
        "{}",
        stderr(&bad)
    );
}

/// A finished run's folder with one thing damaged; `report` must refuse it
/// naming the damaged file, and draw nothing.
#[test]
fn report_checks_the_folder_before_it_draws() {
    let dir = tempfile::tempdir().unwrap();
    model(dir.path());
    assert_success(&run_out(dir.path(), "good"));
    type Damage<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);
    let damage: &[Damage] = &[
        (
            "model swapped",
            &|d| fs::write(d.join("model.toml"), sharecast::model::DEFAULT_MODEL).unwrap(),
            "model.toml",
        ),
        (
            "empty impact",
            &|d| fs::write(d.join("impact.csv"), "").unwrap(),
            "impact.csv",
        ),
        (
            "empty manifest",
            &|d| fs::write(d.join("run.json"), "{}").unwrap(),
            "run.json",
        ),
        (
            "renamed deal",
            &|d| {
                let t = fs::read_to_string(d.join("impact.csv")).unwrap();
                fs::write(d.join("impact.csv"), t.replace("\ndeal,", "\ndael,")).unwrap()
            },
            "impact.csv",
        ),
        (
            "truncated horizon",
            &|d| {
                let t = fs::read_to_string(d.join("horizon.csv")).unwrap();
                fs::write(d.join("horizon.csv"), &t[..t.len() / 2]).unwrap()
            },
            "horizon.csv",
        ),
        (
            "truncated summary.csv",
            &|d| {
                let t = fs::read_to_string(d.join("summary.csv")).unwrap();
                fs::write(d.join("summary.csv"), &t[..t.len() - 40]).unwrap()
            },
            "summary.csv",
        ),
    ];
    for (what, damage, file) in damage {
        let copy = dir.path().join(what.replace(' ', "_"));
        fs::create_dir(&copy).unwrap();
        for e in fs::read_dir(dir.path().join("good")).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
        damage(&copy);
        let res = sharecast().arg("report").arg(&copy).output().unwrap();
        assert!(
            !res.status.success(),
            "{what}: report drew a damaged folder"
        );
        let err = stderr(&res);
        assert!(err.contains(file), "{what}: {err}");
        assert!(!copy.join("report").exists(), "{what}: charts were drawn");
    }
    let res = sharecast()
        .arg("report")
        .arg(dir.path().join("good"))
        .output()
        .unwrap();
    assert_success(&res);
}
