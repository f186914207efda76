//! The library's modules form layers that only point down (docs/DESIGN.md §2): a module may use
//! the modules of the layers below it and nothing beside or above it. This test reads every
//! source file of the library and fails on any `crate::<module>` reference that breaks the
//! order, or any `super::super` that could climb out of a module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer (lower numbers are lower layers). `error` is usable by
/// everyone.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("sys", 0),
    ("model", 1),
    ("data", 2),
    ("crypto", 2),
    ("fold", 3),
    ("inference", 4),
    ("accuracy", 5),
    ("claim", 6),
    ("proofs", 7),
    ("inspect", 7),
    ("bench", 7),
    ("commands", 8),
    ("serve", 9),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn library_modules_only_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut violations = vec![];
    let mut checked = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let module = first.trim_end_matches(".rs");
        if ["lib", "bin"].contains(&module) {
            continue; // the crate root and the binary sit on top
        }
        let Some(&own) = layer.get(module) else {
            violations.push(format!("{}: module '{module}' has no layer", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("super::super") {
                violations.push(format!("{}:{}: super::super", rel.display(), n + 1));
            }
            for (i, _) in code.match_indices("crate::") {
                let used: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if used.is_empty() || used == module || used == "Error" || used == "Result" {
                    continue;
                }
                checked += 1;
                match layer.get(used.as_str()) {
                    Some(&l) if l < own || used == "error" => {}
                    Some(&l) => violations.push(format!(
                        "{}:{}: '{module}' (layer {own}) uses '{used}' (layer {l})",
                        rel.display(),
                        n + 1
                    )),
                    None => violations.push(format!(
                        "{}:{}: '{used}' is not a known module",
                        rel.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} cross-module references found");
    assert!(
        violations.is_empty(),
        "modules that point up or sideways:\n{}",
        violations.join("\n")
    );
}
