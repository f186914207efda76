//! `kerafold bench` through the binary: the acceptance command, on a temporary
//! parameter directory. Proves 3 depths plus the raw-Nova baseline (about a minute in release;
//! skipped in debug builds, where Nova is too slow).

use std::process::Command;

#[test]
#[cfg_attr(debug_assertions, ignore = "proves for real: run with --release")]
fn bench_writes_one_csv_row_per_depth() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let params = dir.path().join("params");
    let out = Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args([
            "bench", "--kind", "dense", "--width", "16", "--depths", "1,2,4", "--csv",
        ])
        .arg(&csv)
        .arg("--params-dir")
        .arg(&params)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kerafold bench failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("targets:"), "{stdout}");

    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "depth,setup_s,prove_s,per_step_s,compress_s,verify_s,proof_bytes,peak_rss_mb,constraints_per_step,baseline_step_s"
    );
    assert_eq!(lines.len(), 4, "{text}");
    let mut constraints = vec![];
    for (line, depth) in lines[1..].iter().zip([1, 2, 4]) {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        assert_eq!(cells.len(), 10, "{line}");
        assert_eq!(cells[0], depth as f64);
        assert!(cells.iter().all(|&v| v > 0.0), "{line}");
        constraints.push(cells[8]);
    }
    // one uniform step circuit, whatever the depth
    assert!(constraints.iter().all(|&c| c == constraints[0]));
    // per-depth parameter directories are removed after each run
    let left: Vec<_> = std::fs::read_dir(&params)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
