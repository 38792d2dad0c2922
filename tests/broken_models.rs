//! The corpus of broken model files in `tests/broken/`: each must be
//! refused before anything runs, with an error naming the file, the line
//! and every text its `# expect:` lines give (the TOML path, what was
//! found and what is allowed). The valid model they all break is
//! `tests/models/broken_base.toml`.

use sharecast::model::load;
use std::fs;
use std::path::Path;

#[test]
fn the_base_of_the_corpus_is_valid() {
    let text = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/models/broken_base.toml"
    ))
    .unwrap();
    load("broken_base.toml", &text, &[]).unwrap();
}

#[test]
fn every_broken_model_gets_its_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(path).unwrap();
        let expect: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(!expect.is_empty(), "{name} has no '# expect:' line");
        let err = match load(&name, &text, &[]) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        let msg = err.to_string();
        let first = &err.0[0];
        if first.line.is_none() {
            failures.push(format!("{name}: no line in {msg}"));
        }
        if !msg.contains(&format!("{name}:")) {
            failures.push(format!("{name}: the file is not named in {msg}"));
        }
        for e in expect {
            if !msg.contains(e) {
                failures.push(format!("{name}: '{e}' not in {msg}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
