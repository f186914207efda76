//! The command line: JSON shapes, help, and bad input (a one-line error and exit code 2, never a
//! panic).

use crate::common;

use common::{fixture_file, model_path, scratch_dir, Format};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn kerafold(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .expect("run kerafold")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts exit code 2 with a single `error:` line that mentions every word of `expect`.
fn assert_usage_error(out: &Output, expect: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for w in expect {
        assert!(lines[0].contains(w), "'{w}' not in: {err}");
    }
}

#[test]
fn help_explains_every_command() {
    let out = kerafold(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["inspect", "run", "prove", "verify", "commit", "Examples"] {
        assert!(text.contains(cmd), "--help lacks {cmd}");
    }
    let out = kerafold(&["prove", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--input",
        "private",
        "--curve",
        "--params-dir",
        "--ptau",
        "--insecure-random-tau",
    ] {
        assert!(text.contains(opt), "prove --help lacks {opt}");
    }
}

#[test]
fn inspect_json_reports_every_layer_with_its_constraints() {
    let out = kerafold(&[
        "inspect",
        s(&model_path("cnn", Format::Keras)),
        "--calibrate",
        s(&fixture_file("cnn.json")),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 7);
    for l in layers {
        for k in ["name", "kind", "macs", "outputs", "constraints"] {
            assert!(!l[k].is_null(), "layer lacks {k}: {l}");
        }
        assert!(l["constraints"].as_u64().unwrap() > 0);
    }
    assert_eq!(layers[0]["kind"], "conv");
    assert_eq!(layers[0]["name"], "conv1+bn1+relu1");
    assert_eq!(layers[0]["macs"], 12 * 12 * 9 * 4);
    assert_eq!(layers[6]["kind"], "argmax");
    let sc = &v["step_circuit"];
    assert!(sc["constraints_per_step"].as_u64().unwrap() > 0);
    let breakdown = sc["breakdown"]
        .as_object()
        .expect("a breakdown of the step circuit");
    let parts: u64 = breakdown
        .iter()
        .filter(|(k, _)| *k != "weight_wellformedness")
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert_eq!(parts, sc["constraints_per_step"].as_u64().unwrap());
    let idle = sc["idle_share"].as_array().unwrap();
    // one per step: by default the fixture's convolutions and pooling run in row bands
    assert_eq!(sc["tiling"]["bands"], true);
    assert!(sc["steps"].as_u64().unwrap() > 7);
    assert_eq!(idle.len() as u64, sc["steps"].as_u64().unwrap());
    assert!(breakdown["band_streams"].as_u64().unwrap() > 0);
    assert!(idle
        .iter()
        .all(|x| (0.0..1.0).contains(&x.as_f64().unwrap())));
    assert_eq!(v["quantization"]["fa"], 6);
}

/// `inspect` of a text model without calibration inputs calibrates on token ids (not on 0.5,
/// which no Embedding reads) and says that the numbers come from a neutral input; a masked
/// recurrent layer says that padding keeps its state.
#[test]
fn inspect_calibrates_a_text_model_on_token_ids() {
    let out = kerafold(&["inspect", s(&model_path("masked_text", Format::H5))]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("neutral input"), "{text}");
    assert!(
        text.contains("bilstm/forward: 8 timesteps")
            && text.contains("masked: a masked timestep (token 0, or every feature at the Masking value) keeps the state"),
        "{text}"
    );
}

#[test]
fn run_json_compares_integer_and_float_outputs() {
    let out = kerafold(&[
        "run",
        s(&model_path("mlp", Format::H5)),
        "--input",
        s(&fixture_file("mlp.json")),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("exactly one JSON object");
    let samples = v["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 32);
    for smp in samples {
        assert_eq!(smp["output"].as_array().unwrap().len(), 10);
        assert_eq!(smp["float_output"].as_array().unwrap().len(), 10);
        assert!(smp["class"].is_u64() && smp["float_class"].is_u64());
    }
    assert_eq!(v["top1_agreement"], 1.0);
    let err = v["max_abs_error"].as_f64().unwrap();
    assert!(err > 0.0 && err < 0.05, "{err}");
}

#[test]
fn run_reads_a_single_sample_and_npy() {
    let dir = scratch_dir("cli-npy");
    // one sample as {"input": ...}
    let fx = common::Fixture::load("mlp");
    let one = dir.join("one.json");
    std::fs::write(&one, serde_json::json!({"input": fx.inputs[3]}).to_string()).unwrap();
    let out = kerafold(&[
        "run",
        s(&model_path("mlp", Format::Keras)),
        "--input",
        s(&one),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["samples"][0]["class"].as_u64().unwrap() as usize,
        fx.keras_class(3)
    );
    // .npy, float32, batch of 2
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 16), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    for x in &fx.inputs[..2] {
        for v in x {
            npy.extend(v.to_le_bytes());
        }
    }
    let path = dir.join("two.npy");
    std::fs::write(&path, npy).unwrap();
    let out = kerafold(&[
        "run",
        s(&model_path("mlp", Format::Keras)),
        "--input",
        s(&path),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_inputs_exit_2_with_a_clear_one_line_error() {
    let dir = scratch_dir("cli-bad");
    let cnn = model_path("cnn", Format::Keras);
    let input = fixture_file("cnn.json");

    // truncated zip
    let bytes = std::fs::read(&cnn).unwrap();
    let trunc = dir.join("truncated.keras");
    std::fs::write(&trunc, &bytes[..bytes.len() / 2]).unwrap();
    assert_usage_error(&kerafold(&["inspect", s(&trunc)]), &["truncated.keras"]);

    // not a model at all
    let junk = dir.join("junk.h5");
    std::fs::write(&junk, b"not an hdf5 file").unwrap();
    assert_usage_error(&kerafold(&["inspect", s(&junk)]), &["junk.h5"]);

    // every unsupported layer at once: a heading line, then one line a layer
    let out = kerafold(&["inspect", s(&fixture_file("unsupported.h5"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0], "error: 4 layers of the model cannot be proven:",
        "{err}"
    );
    for (line, layer) in lines[1..]
        .iter()
        .zip(["mask", "unitnorm", "gate", "squash"])
    {
        assert!(line.starts_with(&format!("  layer '{layer}' (")), "{err}");
    }
    assert_eq!(lines.len(), 5, "{err}");

    // NaN weights
    let out = kerafold(&["run", s(&fixture_file("nan.keras")), "--input", s(&input)]);
    assert_usage_error(&out, &["fc1", "non-finite"]);

    // input of the wrong shape (the MLP's 16 values given to the CNN)
    let out = kerafold(&["run", s(&cnn), "--input", s(&fixture_file("mlp.json"))]);
    assert_usage_error(&out, &["16"]);

    // overflow of the activation range: forced 8-bit activations
    let out = kerafold(&[
        "run",
        s(&cnn),
        "--input",
        s(&input),
        "--fa",
        "6",
        "--fw",
        "8",
        "--bits",
        "8",
    ]);
    assert_usage_error(&out, &["sample", "8-bit range"]);

    // missing files
    assert_usage_error(
        &kerafold(&["inspect", "/nonexistent/model.keras"]),
        &["/nonexistent/model.keras"],
    );
    let out = kerafold(&["run", s(&cnn), "--input", "/nonexistent/input.json"]);
    assert_usage_error(&out, &["/nonexistent/input.json"]);

    // a proof file that is not one
    let fake = dir.join("fake.proof");
    std::fs::write(&fake, b"{\"hello\": 1}").unwrap();
    assert_usage_error(
        &kerafold(&["verify", s(&fake)]),
        &["fake.proof", "not a kerafold proof"],
    );

    // a sample index past the end
    let out = kerafold(&[
        "prove",
        s(&cnn),
        "--input",
        s(&input),
        "--sample",
        "99",
        "-o",
        s(&dir.join("x.proof")),
    ]);
    assert_usage_error(&out, &["sample 99"]);
}

/// Calibration reports the fixed point the model really uses (one guard, not two), and the
/// text names the values the flags take, so a bounty host can pass them to `claim-setup`.
#[test]
fn inspect_shows_one_fixed_point_in_the_flags_own_terms() {
    let model = model_path("digits", Format::Keras);
    let out = kerafold(&["inspect", s(&model), "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["calibration"]["fp"], v["quantization"], "{v}");
    let out = kerafold(&["inspect", s(&model)]);
    let text = String::from_utf8_lossy(&out.stdout);
    let fp = &v["quantization"];
    let flags = format!(
        "fa={} fw={} bits={} guard={}",
        fp["fa"], fp["fw"], fp["bits"], fp["guard"]
    );
    assert!(text.contains(&flags), "'{flags}' not in: {text}");
}

/// A model opening whose blindings are not one per step of the model as committed (here a
/// private opening with one blinding dropped, its commitment recomputed to match) is refused
/// when read, naming both counts.
#[test]
fn an_opening_with_the_wrong_blinding_count_is_refused() {
    use kerafold::claim::weights::{ModelOpening, Opening};
    let dir = scratch_dir("opening-blinds");
    let (q, _) = common::quantized_fixture("mlp");
    let o = Opening::private(q).unwrap();
    let n = o.blinds.len();
    let path = dir.join("opening.json");
    let mut file = ModelOpening::new(&o).unwrap();
    file.blinds.pop();
    file.write(&path).unwrap();
    let e = ModelOpening::read(&path).unwrap_err().to_string();
    assert!(
        e.contains(&format!("{} blindings for a model of {n} steps", n - 1)),
        "{e}"
    );
    let out = kerafold(&["inspect", s(&path)]);
    assert_usage_error(&out, &["blindings for a model of"]);
}

/// A model opening (what `decrypt-weights` and `prove-accuracy --opening` write) is a model
/// `run` and `inspect` take: the integer model, as it was proven.
#[test]
fn a_model_opening_runs_and_inspects() {
    use kerafold::claim::weights::{ModelOpening, Opening};
    let dir = scratch_dir("opening");
    let graph = kerafold::model::load(&model_path("digits", Format::Keras)).unwrap();
    let program = kerafold::model::lower(&graph).unwrap();
    let fp = kerafold_step_circuits::FixedPoint {
        fa: 8,
        fw: 8,
        bits: 14,
        guard: 3,
    };
    let model = kerafold::model::quantize(&program, fp).unwrap();
    let path = dir.join("model.json");
    ModelOpening::new(&Opening {
        model: model.clone(),
        blinds: vec![],
        tiling: None,
    })
    .unwrap()
    .write(&path)
    .unwrap();

    let inputs = fixture_file("digits.json");
    let out = kerafold(&["run", s(&path), "--input", s(&inputs), "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let samples = v["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 32);
    let fx = common::Fixture::load("digits");
    for (i, smp) in samples.iter().enumerate() {
        let x = model.quantize_input(&fx.inputs[i], Some(i)).unwrap();
        let want = model.trace(&x, Some(i)).unwrap().class;
        assert_eq!(smp["class"], want, "sample {i}");
        assert!(
            smp.get("float_output").is_none(),
            "an opening has no float model"
        );
    }
    assert_eq!(v["fixed_point"]["guard"], model.fp.guard);

    let out = kerafold(&["inspect", s(&path), "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["quantization"]["fw"], 8);
    assert!(v.get("calibration").is_none());
}

/// Integer features packed with the default scale get a note saying what the bytes mean; an
/// explicit scale gets none.
#[test]
fn packing_integer_features_at_the_default_scale_says_what_they_mean() {
    let dir = scratch_dir("pack-default-scale");
    let out = dir.join("d.kfd");
    let (x, y) = (
        fixture_file("digits_test_x.npy"),
        fixture_file("digits_test_y.npy"),
    );
    for (scale, noted) in [(None, true), (Some("4"), false)] {
        let mut args = vec!["dataset", "pack", "--features", s(&x), "--labels", s(&y)];
        args.extend(scale.map(|v| ["--scale-shift", v]).into_iter().flatten());
        args.extend(["-o", s(&out)]);
        let o = kerafold(&args);
        assert!(o.status.success(), "{o:?}");
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(text.contains("note: integer features"), noted, "{text}");
        assert_eq!(text.contains("--scale-shift 8"), noted, "{text}");
    }
}

/// `--input` takes a file; a visibility word there says where it belongs.
#[test]
fn prove_flags_are_named_for_what_they_are() {
    let out = kerafold(&[
        "prove",
        s(&model_path("mlp", Format::Keras)),
        "--input",
        "private",
        "-o",
        "/nonexistent/x.proof",
    ]);
    assert_usage_error(&out, &["--input-visibility"]);
    let text = String::from_utf8_lossy(&kerafold(&["prove", "--help"]).stdout).to_string();
    for f in [
        "--input-visibility",
        "--model-visibility",
        "--output-visibility",
    ] {
        assert!(text.contains(f), "prove --help lacks {f}");
    }
}

/// A file that is not a model opening is a one-line error naming it, for `run` and `inspect`.
#[test]
fn a_broken_model_opening_is_a_clear_error() {
    let dir = scratch_dir("bad-opening");
    let path = dir.join("model.json");
    std::fs::write(
        &path,
        br#"{"format": "kerafold-model-opening", "version": 1"#,
    )
    .unwrap();
    let out = kerafold(&["inspect", s(&path)]);
    assert_usage_error(&out, &["model.json", "not a model opening"]);
    let out = kerafold(&["run", s(&path), "--input", s(&fixture_file("mlp.json"))]);
    assert_usage_error(&out, &["model.json", "not a model opening"]);
}
