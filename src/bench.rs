//! Benchmarks by layer count (`kerafold bench`).
//!
//! [`synth`] builds deterministic synthetic models of any depth; [`measure`] proves, compresses
//! and verifies one of them in this process; [`run`] measures each depth **in its own child
//! process** (the hidden `kerafold bench-run` subcommand, which prints one JSON line) so each
//! depth has its own peak RSS and its own fresh parameter setup, and runs the raw-Nova
//! [`baseline`] of the same step size once. [`write_csv`], [`table`], [`targets`] and
//! [`plot::plot_svg`] report the results.

pub mod baseline;
pub mod fixture;
pub mod measure;
pub mod plot;
pub mod profile;
pub mod synth;

pub use baseline::BaselineResult;
pub use measure::{measure, peak_rss_mb, Measurement};
pub use profile::WitnessProfile;
pub use synth::{Kind, SynthSpec};

use crate::fold::{Srs, StepSize, Stepping, System};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 10] = [
    "depth",
    "setup_s",
    "prove_s",
    "per_step_s",
    "compress_s",
    "verify_s",
    "proof_bytes",
    "peak_rss_mb",
    "constraints_per_step",
    "baseline_step_s",
];

/// Steps profiled to shape the baseline: one of each kind of step in a residual block.
pub const PROFILE_STEPS: usize = 3;

/// The curve name on the command line (`bn254`, `pasta`) of a system.
pub fn curve_name(system: System) -> &'static str {
    match system {
        System::PastaIpa => "pasta",
        _ => "bn254",
    }
}

/// The system `kerafold bench --curve NAME` measures: the transparent default of each curve.
pub fn system_for_curve(curve: &str) -> Result<System> {
    match curve {
        "bn254" => Ok(System::Bn254Ipa),
        "pasta" => Ok(System::PastaIpa),
        c => Err(Error::Usage(format!("unknown curve '{c}' (bn254, pasta)"))),
    }
}

/// One row of the results: one depth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Layers (or residual blocks).
    pub depth: usize,
    /// What the child process measured.
    #[serde(flatten)]
    pub m: Measurement,
    /// The raw-Nova baseline's steady-state seconds per fold for the same step size.
    pub baseline_step_s: f64,
}

impl Row {
    /// `per_step_s / baseline_step_s`.
    pub fn overhead(&self) -> f64 {
        self.m.per_step_s / self.baseline_step_s
    }
}

/// What `kerafold bench` measures.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Which synthetic network.
    pub kind: Kind,
    /// Dense units, or channels of the convolutional kinds.
    pub width: usize,
    /// Height and width of the convolutional kinds' input.
    pub size: usize,
    /// The depths to measure, in order.
    pub depths: Vec<usize>,
    /// The proof system.
    pub system: System,
    /// Where HyperKZG's powers of tau come from ([`Srs::Transparent`] for IPA).
    pub srs: Srs,
    /// Seed of the synthetic weights and input.
    pub seed: u64,
    /// Where each depth's fresh parameter directory is made (a temporary directory if `None`).
    pub params_dir: Option<PathBuf>,
    /// Keep each depth's parameters and proof instead of deleting them.
    pub keep_params: bool,
    /// Steady-state folds the baseline times.
    pub baseline_steps: usize,
    /// Dense tiles and steps a fold (`prove --step-size`, `--steps-per-fold`).
    pub stepping: Stepping,
}

/// All results of one `kerafold bench` run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// Which synthetic network.
    pub kind: Kind,
    /// Dense units, or channels of the convolutional kinds.
    pub width: usize,
    /// Height and width of the convolutional kinds' input.
    pub size: usize,
    /// Proof system id.
    pub system: String,
    /// Seed of the synthetic weights and input.
    pub seed: u64,
    /// The step size Dense layers were tiled at and the steps a fold, if given.
    #[serde(flatten)]
    pub stepping: Stepping,
    /// The machine: `nproc` and the CPU model.
    pub machine: String,
    /// The raw-Nova baseline of the same step size.
    pub baseline: BaselineResult,
    /// One row per depth.
    pub rows: Vec<Row>,
    /// The targets checked on `rows`.
    pub targets: Vec<Target>,
}

/// `nproc` and the CPU model, as far as this platform tells.
pub(crate) fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {cpu}")
}

/// Parses `1,2,4,8` (or `1-32` for the powers of two from 1 to 32).
pub fn parse_depths(s: &str) -> Result<Vec<usize>> {
    let bad = || {
        Error::Usage(format!(
            "--depths '{s}': expected a list like 1,2,4,8 or a range of powers of two like 1-256"
        ))
    };
    let mut out = vec![];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let (a, b): (usize, usize) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            if a == 0 || !a.is_power_of_two() || a > b {
                return Err(bad());
            }
            let mut d = a;
            while d <= b {
                out.push(d);
                d *= 2;
            }
        } else {
            let d: usize = part.parse().map_err(|_| bad())?;
            if d == 0 {
                return Err(Error::Usage("depths must be at least 1".into()));
            }
            out.push(d);
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// The last JSON object line a child printed.
fn child_json<T: serde::de::DeserializeOwned>(stdout: &[u8], what: &str) -> Result<T> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| Error::Prover(format!("{what}: the child printed no result")))?;
    serde_json::from_str(line).map_err(|e| Error::Prover(format!("{what}: bad result line: {e}")))
}

fn run_child(exe: &Path, args: &[String], what: &str) -> Result<Vec<u8>> {
    let out = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::io(exe, e))?;
    if !out.status.success() {
        return Err(Error::Prover(format!("{what} failed ({})", out.status)));
    }
    Ok(out.stdout)
}

/// The arguments of `kerafold bench-run` for `spec`.
fn child_args(spec: &SynthSpec, system: System, srs: &Srs, stepping: Stepping) -> Vec<String> {
    let mut args = vec![
        "bench-run".into(),
        "--kind".into(),
        spec.kind.as_str().into(),
        "--width".into(),
        spec.width.to_string(),
        "--size".into(),
        spec.size.to_string(),
        "--depth".into(),
        spec.depth.to_string(),
        "--seed".into(),
        spec.seed.to_string(),
        "--curve".into(),
        curve_name(system).into(),
    ];
    match srs {
        Srs::Transparent => {}
        Srs::Ptau(dir) => args.extend(["--ptau".into(), dir.display().to_string()]),
        Srs::InsecureRandomTau => args.push("--insecure-random-tau".into()),
    }
    args.extend(["--step-size".into(), stepping.step_size.to_string()]);
    if let Some(k) = stepping.steps_per_fold {
        args.extend(["--steps-per-fold".into(), k.to_string()]);
    }
    args
}

/// The depth whose model shapes the baseline: enough steps for [`PROFILE_STEPS`] folds (of the
/// steps a fold asked for; an automatic number may profile fewer folds).
pub(crate) fn profile_depth(kind: Kind, stepping: Stepping) -> usize {
    (PROFILE_STEPS * stepping.steps_per_fold.unwrap_or(1)).div_ceil(kind.steps_per_depth())
}

/// Profiles the model of `spec` and runs the raw-Nova baseline of the same size in this process.
pub fn run_baseline(
    spec: &SynthSpec,
    system: System,
    steady: usize,
    stepping: Stepping,
) -> Result<BaselineResult> {
    let model = spec.model()?;
    let input = spec.input();
    let p = match system {
        System::PastaIpa => profile::profile::<
            crate::fold::backend::Scalar<crate::fold::backend::PastaIpa>,
        >(&model, &input, PROFILE_STEPS, stepping, system)?,
        _ => profile::profile::<crate::fold::backend::Scalar<crate::fold::backend::Bn254Ipa>>(
            &model,
            &input,
            PROFILE_STEPS,
            stepping,
            system,
        )?,
    };
    baseline::run(system, &p, steady)
}

/// Runs the benchmark: the baseline, then every depth, each in a child process of `exe` (the
/// `kerafold` binary). `log` receives progress lines.
pub fn run(opts: &BenchOptions, exe: &Path, log: &mut dyn FnMut(&str)) -> Result<BenchReport> {
    if opts.depths.is_empty() {
        return Err(Error::Usage("no depths to measure".into()));
    }
    let spec = |depth| SynthSpec {
        kind: opts.kind,
        width: opts.width,
        size: opts.size,
        depth,
        seed: opts.seed,
    };
    // check every model before spending minutes on the first
    for &d in &opts.depths {
        let s = spec(d);
        s.model()?.trace(&s.input(), None)?;
    }
    let (base_dir, temp) = match &opts.params_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("kerafold-bench-{}", std::process::id())),
            true,
        ),
    };
    let result = (|| {
        log(&format!(
            "baseline: raw Nova, same step size as {} ({} steady folds)",
            spec(profile_depth(opts.kind, opts.stepping)).name(),
            opts.baseline_steps
        ));
        let mut args = child_args(
            &spec(profile_depth(opts.kind, opts.stepping)),
            opts.system,
            &opts.srs,
            opts.stepping,
        );
        args.extend([
            "--baseline".into(),
            "--baseline-steps".into(),
            opts.baseline_steps.to_string(),
        ]);
        let baseline: BaselineResult = child_json(&run_child(exe, &args, "baseline")?, "baseline")?;
        if !baseline.verified {
            return Err(Error::Prover(
                "the baseline's folds do not verify: its timing would be meaningless".into(),
            ));
        }
        log(&format!(
            "baseline: {} constraints, {:.3} s per fold",
            baseline.profile.constraints, baseline.step_s
        ));
        let mut rows = vec![];
        for &d in &opts.depths {
            let s = spec(d);
            let dir = base_dir.join(format!("{}-{}", s.name(), curve_name(opts.system)));
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            log(&format!(
                "depth {d}: {} steps, proving in a child process",
                s.steps()
            ));
            let mut args = child_args(&s, opts.system, &opts.srs, opts.stepping);
            args.extend(["--params-dir".into(), dir.display().to_string()]);
            let what = format!("depth {d}");
            let m: Measurement = child_json(&run_child(exe, &args, &what)?, &what)?;
            if !opts.keep_params {
                let _ = std::fs::remove_dir_all(&dir);
            }
            if m.constraints_per_step != baseline.profile.constraints {
                log(&format!(
                    "warning: depth {d} has {} constraints per step, the baseline {}",
                    m.constraints_per_step, baseline.profile.constraints
                ));
            }
            log(&format!(
                "depth {d}: setup {:.1} s, prove {:.1} s ({:.3} s/step), compress {:.1} s, verify {:.2} s, {:.0} MB; {:.0} CPU-s, load {:.1}",
                m.setup_s, m.prove_s, m.per_step_s, m.compress_s, m.verify_s, m.peak_rss_mb, m.cpu_s, m.load_avg
            ));
            rows.push(Row {
                depth: d,
                m,
                baseline_step_s: baseline.step_s,
            });
        }
        Ok((baseline, rows))
    })();
    if temp {
        let _ = std::fs::remove_dir_all(&base_dir);
    }
    let (baseline, rows) = result?;
    let targets = targets(&rows);
    Ok(BenchReport {
        kind: opts.kind,
        width: opts.width,
        size: opts.size,
        system: opts.system.id().into(),
        seed: opts.seed,
        stepping: opts.stepping,
        machine: machine_description(),
        baseline,
        rows,
        targets,
    })
}

/// Writes the CSV: the header ([`CSV_COLUMNS`]) and one line per row.
pub fn write_csv(rows: &[Row], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    for r in rows {
        let m = &r.m;
        writeln!(
            out,
            "{},{:.4},{:.4},{:.4},{:.4},{:.4},{},{:.1},{},{:.4}",
            r.depth,
            m.setup_s,
            m.prove_s,
            m.per_step_s,
            m.compress_s,
            m.verify_s,
            m.proof_bytes,
            m.peak_rss_mb,
            m.constraints_per_step,
            r.baseline_step_s
        )?;
    }
    Ok(())
}

/// Writes a step-size sweep's CSV: a `step_size` column (empty: a step per layer), then
/// [`CSV_COLUMNS`], one line per depth of every report.
pub fn write_sweep_csv(reports: &[BenchReport], out: &mut dyn Write) -> std::io::Result<()> {
    for (i, r) in reports.iter().enumerate() {
        let mut body = vec![];
        write_csv(&r.rows, &mut body)?;
        let text = String::from_utf8(body).expect("the CSV is ASCII");
        let size = match r.stepping.step_size {
            StepSize::Rows(n) => n.to_string(),
            StepSize::PerLayer | StepSize::Auto => String::new(),
        };
        for (j, line) in text.lines().enumerate() {
            match (i, j) {
                (0, 0) => writeln!(out, "step_size,{line}")?,
                (_, 0) => {}
                _ => writeln!(out, "{size},{line}")?,
            }
        }
    }
    Ok(())
}

/// A step-size sweep compared at its deepest depth: per step size, the step circuit, the folds,
/// time, verification and memory, and each against the first size.
pub fn sweep_table(reports: &[BenchReport]) -> String {
    let mut s = String::from(
        "step-size sweep, deepest depth:\n\
         step size  constraints/fold  steps  prove s  compress s  verify s  peak MB  total vs first\n",
    );
    let total = |m: &Measurement| m.setup_s + m.prove_s + m.compress_s;
    let first = reports
        .first()
        .and_then(|r| r.rows.last())
        .map(|r| total(&r.m));
    for r in reports {
        let Some(row) = r.rows.last() else { continue };
        let m = &row.m;
        s.push_str(&format!(
            "{:>9}  {:>16}  {:>5}  {:>7.1}  {:>10.1}  {:>8.2}  {:>7.0}  {:>14}\n",
            r.stepping.step_size.to_string(),
            m.constraints_per_step,
            m.steps,
            m.prove_s,
            m.compress_s,
            m.verify_s,
            m.peak_rss_mb,
            first.map_or("–".into(), |f| format!("{:.2}×", total(m) / f)),
        ));
    }
    s
}

/// One of the targets, checked on a set of rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// What is checked.
    pub name: String,
    /// Whether the rows meet it.
    pub holds: bool,
    /// The numbers behind the verdict.
    pub detail: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Largest relative deviation from the median, and the depth where it occurs.
fn spread(rows: &[Row], f: impl Fn(&Row) -> f64) -> (f64, usize, f64) {
    let med = median(rows.iter().map(&f).collect());
    rows.iter()
        .map(|r| ((f(r) - med).abs() / med, r.depth, med))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, 0, med))
}

/// Checks the targets: peak memory at the deepest run ≤ 1.1× depth 8 (or the shallowest
/// run without depth 8); verify time and proof size within ±10% of their median; per-step prove
/// time within ±15% of its median; per-step prove time ≤ 1.3× the raw-Nova baseline at every
/// depth.
pub fn targets(rows: &[Row]) -> Vec<Target> {
    if rows.is_empty() {
        return vec![];
    }
    let mut t = vec![];
    let deepest = rows.iter().max_by_key(|r| r.depth).expect("non-empty");
    let reference = rows
        .iter()
        .find(|r| r.depth == 8)
        .unwrap_or_else(|| rows.iter().min_by_key(|r| r.depth).expect("non-empty"));
    let ratio = deepest.m.peak_rss_mb / reference.m.peak_rss_mb;
    t.push(Target {
        name: format!(
            "peak memory at depth {} <= 1.1x depth {}",
            deepest.depth, reference.depth
        ),
        holds: ratio <= 1.1,
        detail: format!(
            "{:.0} MB vs {:.0} MB: {ratio:.2}x",
            deepest.m.peak_rss_mb, reference.m.peak_rss_mb
        ),
    });
    for (name, tol, f) in [
        (
            "verify time flat (+-10%)",
            0.10,
            Box::new(|r: &Row| r.m.verify_s) as Box<dyn Fn(&Row) -> f64>,
        ),
        (
            "proof size flat (+-10%)",
            0.10,
            Box::new(|r: &Row| r.m.proof_bytes as f64),
        ),
        (
            "per-step prove time flat (+-15%)",
            0.15,
            Box::new(|r: &Row| r.m.per_step_s),
        ),
    ] {
        let (dev, at, med) = spread(rows, f);
        t.push(Target {
            name: name.into(),
            holds: dev <= tol,
            detail: format!(
                "largest deviation from the median ({med:.4}) {:.1}% at depth {at}",
                dev * 100.0
            ),
        });
    }
    let worst = rows
        .iter()
        .max_by(|a, b| a.overhead().total_cmp(&b.overhead()))
        .expect("non-empty");
    t.push(Target {
        name: "per-step prove time <= 1.3x raw Nova".into(),
        holds: worst.overhead() <= 1.3,
        detail: format!(
            "largest ratio {:.2}x at depth {} ({:.3} s vs {:.3} s)",
            worst.overhead(),
            worst.depth,
            worst.m.per_step_s,
            worst.baseline_step_s
        ),
    });
    t
}

/// The results as a text table, with the targets below it.
pub fn table(report: &BenchReport) -> String {
    let mut s = String::new();
    let b = &report.baseline;
    s.push_str(&format!(
        "kerafold bench: {} width {}{}, {}, seed {}, {}\n",
        report.kind,
        report.width,
        if report.kind.is_dense() {
            String::new()
        } else {
            format!(" on {0}x{0}", report.size)
        },
        report.system,
        report.seed,
        report.machine
    ));
    s.push_str(&format!(
        "raw-Nova baseline: {} constraints, {} variables, {} non-zeros per step; setup {:.1} s, {:.3} s per fold\n\n",
        b.profile.constraints, b.profile.aux, b.profile.nnz, b.setup_s, b.step_s
    ));
    s.push_str(&format!(
        "{:>6} {:>6} {:>8} {:>9} {:>10} {:>10} {:>8} {:>11} {:>11} {:>11} {:>11} {:>8}\n",
        "depth",
        "steps",
        "setup_s",
        "prove_s",
        "per_step_s",
        "compress_s",
        "verify_s",
        "proof_bytes",
        "peak_rss_mb",
        "constraints",
        "baseline_s",
        "ratio"
    ));
    for r in &report.rows {
        let m = &r.m;
        s.push_str(&format!(
            "{:>6} {:>6} {:>8.2} {:>9.2} {:>10.3} {:>10.2} {:>8.3} {:>11} {:>11.1} {:>11} {:>11.3} {:>7.2}x\n",
            r.depth,
            m.steps,
            m.setup_s,
            m.prove_s,
            m.per_step_s,
            m.compress_s,
            m.verify_s,
            m.proof_bytes,
            m.peak_rss_mb,
            m.constraints_per_step,
            r.baseline_step_s,
            r.overhead()
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let busy: Vec<String> = report
        .rows
        .iter()
        .filter(|r| r.m.load_avg > cores + 0.5)
        .map(|r| format!("{} ({:.1})", r.depth, r.m.load_avg))
        .collect();
    if !busy.is_empty() {
        s.push_str(&format!(
            "\nnote: other processes shared the CPU (load average above {cores:.0}) at depth {}: wall times there are inflated\n",
            busy.join(", ")
        ));
    }
    if !report.targets.is_empty() {
        s.push_str("\ntargets:\n");
        for t in &report.targets {
            s.push_str(&format!(
                "  [{}] {}: {}\n",
                if t.holds { " ok " } else { "MISS" },
                t.name,
                t.detail
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(depth: usize) -> Row {
        let spec = SynthSpec::new(Kind::Dense, 8, 0, depth);
        Row {
            depth,
            m: Measurement {
                spec,
                system: "bn254-ipa".into(),
                steps: depth + 1,
                setup_s: 1.5,
                params_cached: false,
                prove_s: 0.5 * (depth + 1) as f64,
                per_step_s: 0.5,
                fold_s: 0.4 * depth as f64,
                fold_step_s: 0.4,
                compress_s: 10.0,
                verify_s: 0.3,
                proof_bytes: 30_000,
                peak_rss_mb: 200.0,
                cpu_s: 30.0,
                fold_cpu_s: 0.7 * depth as f64,
                fold_step_cpu_s: 0.7,
                load_avg: 1.0,
                constraints_per_step: 12345,
                primary_constraints: 22345,
                secondary_constraints: 10000,
            },
            baseline_step_s: 0.45,
        }
    }

    #[test]
    fn csv_has_the_header_and_one_row_per_depth() {
        let rows: Vec<Row> = [1, 2, 4].into_iter().map(row).collect();
        let mut out = vec![];
        write_csv(&rows, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "depth,setup_s,prove_s,per_step_s,compress_s,verify_s,proof_bytes,peak_rss_mb,constraints_per_step,baseline_step_s"
        );
        assert_eq!(lines.len(), 1 + rows.len());
        for (line, r) in lines[1..].iter().zip(&rows) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), CSV_COLUMNS.len());
            assert_eq!(cells[0], r.depth.to_string());
            assert_eq!(cells[6], "30000");
            assert_eq!(cells[8], "12345");
            assert!(cells.iter().all(|c| c.parse::<f64>().unwrap() > 0.0));
        }
    }

    fn report(step_size: StepSize, constraints: usize) -> BenchReport {
        let mut rows: Vec<Row> = [1, 4].into_iter().map(row).collect();
        for r in &mut rows {
            r.m.constraints_per_step = constraints;
        }
        BenchReport {
            kind: Kind::Dense,
            width: 8,
            size: 0,
            system: "bn254-ipa".into(),
            seed: 1,
            stepping: Stepping {
                step_size,
                steps_per_fold: Some(1),
            },
            machine: "test".into(),
            baseline: BaselineResult {
                profile: WitnessProfile {
                    constraints,
                    aux: 0,
                    nnz: 0,
                    classes: [0; 7],
                },
                primary_constraints: 0,
                secondary_constraints: 0,
                setup_s: 0.0,
                new_s: 0.0,
                steps_s: vec![],
                step_s: 0.45,
                step_cpu_s: 0.0,
                verified: true,
            },
            targets: targets(&rows),
            rows,
        }
    }

    /// `bench --step-size 60,120`: one CSV with the step size in front of every row, and a table
    /// comparing the sizes at the deepest depth.
    #[test]
    fn a_sweep_writes_every_size_and_compares_them() {
        let mut big = report(StepSize::Rows(120), 50_000);
        big.rows[1].m.compress_s = 30.0;
        let reports = [
            report(StepSize::PerLayer, 12_345),
            report(StepSize::Rows(60), 20_000),
            big,
        ];
        let mut out = vec![];
        write_sweep_csv(&reports, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 3 * 2);
        assert!(
            lines[0].starts_with("step_size,depth,setup_s"),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with(",1,") && lines[3].starts_with("60,1,"));
        assert!(lines[6].starts_with("120,4,"), "{}", lines[6]);
        let t = sweep_table(&reports);
        let rows: Vec<&str> = t.lines().skip(2).collect();
        assert_eq!(rows.len(), 3, "{t}");
        assert!(rows[0].trim_start().starts_with("layer") && rows[0].contains("1.00×"));
        assert!(
            rows[1].contains("20000") && rows[1].contains("1.00×"),
            "{t}"
        );
        // depth 4: setup 1.5 + prove 2.5 + compression 10 = 14 s, and 34 s with 30 s compression
        assert!(
            rows[2].contains("50000") && rows[2].contains("2.43×"),
            "{t}"
        );
    }

    #[test]
    fn targets_flag_what_misses() {
        let mut rows: Vec<Row> = [1, 8, 256].into_iter().map(row).collect();
        assert!(
            targets(&rows).iter().all(|t| t.holds),
            "{:?}",
            targets(&rows)
        );
        rows[2].m.peak_rss_mb = 300.0;
        rows[2].m.per_step_s = 0.7;
        let t = targets(&rows);
        assert!(!t[0].holds && t[0].name.contains("depth 256") && t[0].name.contains("depth 8"));
        assert!(t[1].holds && t[2].holds);
        assert!(!t[3].holds, "{:?}", t[3]);
        assert!(!t[4].holds, "0.7 / 0.45 > 1.3");
    }

    #[test]
    fn depth_lists_and_ranges() {
        assert_eq!(parse_depths("1,2,4").unwrap(), vec![1, 2, 4]);
        assert_eq!(parse_depths("1-32").unwrap(), vec![1, 2, 4, 8, 16, 32]);
        assert_eq!(parse_depths("3, 5").unwrap(), vec![3, 5]);
        assert!(parse_depths("0").is_err());
        assert!(parse_depths("").is_err());
        assert!(parse_depths("3-8").is_err());
    }
}
