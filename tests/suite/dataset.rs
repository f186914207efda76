//! Dataset files (`.kfd`): packing from `.npy` against the independent Python writer of
//! `tests/fixtures/make_fixtures.py`, the strict reader on every kind of malformed file (library
//! and CLI), and the digits model on its dataset against Keras.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    argmax, fixture_file, max_rel_err, model_path, scratch_dir, write_npy, Fixture, Format,
};
use kerafold::data::dataset::{self, pack_npy, Dataset};
use kerafold::data::FileDag;
use kerafold::model::{calibrate, forward, load, lower};
use kerafold::Error;
use serde::Deserialize;

/// The dataset part of `digits.json`.
#[derive(Deserialize)]
struct DigitsExtra {
    scale_shift: u8,
    datasets: BTreeMap<String, DatasetEntry>,
}

#[derive(Deserialize)]
struct DatasetEntry {
    samples: usize,
    keras_predictions: Vec<usize>,
    keras_correct: usize,
    keras_accuracy: f64,
}

fn digits_extra() -> DigitsExtra {
    let text = std::fs::read_to_string(fixture_file("digits.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn kerafold(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kerafold"))
        .args(args)
        .output()
        .expect("run kerafold")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn labels_npy(dir: &Path, name: &str, labels: &[u8]) -> PathBuf {
    let p = dir.join(name);
    let data: Vec<u8> = labels
        .iter()
        .flat_map(|&l| i64::from(l).to_le_bytes())
        .collect();
    write_npy(&p, "<i8", &[labels.len()], &data);
    p
}

#[test]
fn pack_from_npy_matches_the_python_writer() {
    let dir = scratch_dir("dataset-pack");
    // Integer features (the raw pixels 0..16) and int64 labels.
    let p = pack_npy(
        &fixture_file("digits_test_x.npy"),
        &fixture_file("digits_test_y.npy"),
        4,
        Some(10),
    )
    .unwrap();
    assert!(!p.from_float);
    let want = std::fs::read(fixture_file("digits_test.kfd")).unwrap();
    assert_eq!(p.dataset.as_bytes(), &want[..], "digits_test.kfd");

    // Float features (pixel / 16) scaled by 2^4: the same bytes, nothing rounded.
    let test = Dataset::read(&fixture_file("digits_test.kfd")).unwrap();
    let y16 = labels_npy(&dir, "y16.npy", &test.labels()[..16]);
    let p = pack_npy(&fixture_file("digits_16_x.npy"), &y16, 4, None).unwrap();
    assert!(p.from_float);
    assert_eq!(p.rounded, 0);
    let want16 = std::fs::read(fixture_file("digits_16.kfd")).unwrap();
    assert_eq!(p.dataset.as_bytes(), &want16[..], "digits_16.kfd");

    // The CLI writes the same file.
    let out = dir.join("cli.kfd");
    let o = kerafold(&[
        "dataset",
        "pack",
        "--features",
        s(&fixture_file("digits_test_x.npy")),
        "--labels",
        s(&fixture_file("digits_test_y.npy")),
        "--scale-shift",
        "4",
        "-o",
        s(&out),
    ]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(std::fs::read(&out).unwrap(), want);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("64 samples"), "{text}");
    assert!(
        text.contains(&FileDag::of_bytes(&want).cid().to_string()),
        "{text}"
    );

    // Floats that are not multiples of 2^-s are rounded half up, and reported.
    let xs: Vec<u8> = [0.1f32, 0.5 / 256.0, 0.25, 0.99]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let xp = dir.join("xf.npy");
    write_npy(&xp, "<f4", &[2, 2], &xs);
    let y = labels_npy(&dir, "y2.npy", &[1, 0]);
    let p = pack_npy(&xp, &y, 8, Some(3)).unwrap();
    assert_eq!(p.dataset.sample(0), (&[26u8, 1][..], 1));
    assert_eq!(p.dataset.sample(1), (&[64u8, 253][..], 0));
    assert_eq!(p.rounded, 3);
    assert!(p.max_rounding_error < 0.5 / 256.0 + 1e-9);
}

#[test]
fn read_back_identically() {
    let dir = scratch_dir("dataset-read");
    let d = Dataset::read(&fixture_file("digits_test.kfd")).unwrap();
    let h = *d.header();
    assert_eq!(
        (h.shape, h.count, h.classes, h.scale_shift),
        ([8, 8, 1], 64, 10, 4)
    );
    assert_eq!(h.record_size(), 128);
    assert_eq!(d.as_bytes().len(), 128 * 65);
    let features: Vec<u8> = d.samples().flat_map(|(x, _)| x.to_vec()).collect();
    let again = Dataset::pack(&features, &d.labels(), &[8, 8, 1], 10, 4).unwrap();
    assert_eq!(again, d);
    let p = dir.join("copy.kfd");
    again.write(&p).unwrap();
    assert_eq!(Dataset::read(&p).unwrap(), d);
    // digits_16 is the first 16 samples.
    let d16 = Dataset::read(&fixture_file("digits_16.kfd")).unwrap();
    assert_eq!(d16.len(), 16);
    for i in 0..16 {
        assert_eq!(d16.sample(i), d.sample(i));
        assert_eq!(d16.record(i), d.record(i));
    }
    assert_eq!(d.label_histogram().iter().sum::<usize>(), 64);
    // Each record is features, label, zero padding, at offset R·(i + 1).
    let b = d.as_bytes();
    let (x, y) = d.sample(7);
    assert_eq!(&b[128 * 8..128 * 8 + 64], x);
    assert_eq!(b[128 * 8 + 64], y);
    assert!(b[128 * 8 + 65..128 * 9].iter().all(|&v| v == 0));
}

/// The bytes of digits_16.kfd with `edit` applied.
fn edited(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = std::fs::read(fixture_file("digits_16.kfd")).unwrap();
    edit(&mut b);
    b
}

#[test]
fn malformed_files_are_format_errors() {
    let dir = scratch_dir("dataset-bad");
    let r = 128; // record size of digits_16.kfd (64 features + label)
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        ("empty", Box::new(|b| b.clear()), &["truncated"]),
        ("short_header", Box::new(|b| b.truncate(40)), &["truncated"]),
        (
            "truncated",
            Box::new(|b| {
                b.pop();
            }),
            &["truncated", "2175 bytes"],
        ),
        (
            "one_record_short",
            Box::new(move |b| b.truncate(b.len() - r)),
            &["truncated"],
        ),
        ("trailing", Box::new(|b| b.push(0)), &["trailing bytes"]),
        ("magic", Box::new(|b| b[0] = b'X'), &["magic", "KFDS"]),
        (
            "npy",
            Box::new(|b| b[..6].copy_from_slice(b"\x93NUMPY")),
            &["magic"],
        ),
        ("version", Box::new(|b| b[4] = 2), &["version 2"]),
        ("features", Box::new(|b| b[12] = 65), &["65 features"]),
        ("record_size", Box::new(|b| b[16] = 64), &["record size 64"]),
        (
            "zero_count",
            Box::new(|b| b[20..24].fill(0)),
            &["no samples"],
        ),
        (
            "count",
            Box::new(|b| b[20] = 17),
            &["truncated", "17 samples"],
        ),
        ("zero_classes", Box::new(|b| b[24] = 0), &["0 classes"]),
        ("many_classes", Box::new(|b| b[25] = 2), &["522 classes"]),
        ("scale_shift", Box::new(|b| b[26] = 17), &["scale shift 17"]),
        ("zero_dim", Box::new(|b| b[6] = 0), &["zero dimension"]),
        (
            "header_padding",
            Box::new(|b| b[40] = 1),
            &["header padding", "offset 40"],
        ),
        (
            "header_tail",
            Box::new(move |b| b[r - 1] = 9),
            &["header padding"],
        ),
        (
            "record_padding",
            Box::new(move |b| b[r * 4 + 70] = 1),
            &["sample 3", "record padding", "offset 582"],
        ),
        (
            "label",
            Box::new(move |b| b[r * 6 + 64] = 10),
            &["sample 5", "label 10", "classes 10"],
        ),
        (
            "label_255",
            Box::new(move |b| b[r * 16 + 64] = 255),
            &["sample 15", "label 255"],
        ),
    ];
    println!("{:<16} error", "case");
    for (name, edit, words) in &cases {
        let path = dir.join(format!("{name}.kfd"));
        std::fs::write(&path, edited(edit)).unwrap();
        let e = Dataset::read(&path).unwrap_err();
        println!("{name:<16} {e}");
        match &e {
            Error::Format { path: p, msg } => {
                assert_eq!(p, &path, "{name}");
                for w in *words {
                    assert!(msg.contains(w), "{name}: '{msg}' lacks '{w}'");
                }
            }
            other => panic!("{name}: not a format error: {other:?}"),
        }
        assert_eq!(e.exit_code(), 2);
        let o = kerafold(&["dataset", "inspect", s(&path)]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(s(&path)) && err.contains(words[0]),
            "{name}: {err}"
        );
        assert!(o.stdout.is_empty(), "{name}");
    }
    // The untouched file reads.
    Dataset::from_bytes(edited(|_| {}), Path::new("ok")).unwrap();
    let o = kerafold(&["dataset", "inspect", "/nonexistent.kfd"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn pack_errors() {
    let dir = scratch_dir("dataset-pack-bad");
    let x16 = fixture_file("digits_16_x.npy");
    let y64 = fixture_file("digits_test_y.npy");
    let y16 = labels_npy(&dir, "y16.npy", &[3; 16]);
    let err = |r: kerafold::Result<dataset::Packed>| r.unwrap_err().to_string();

    // Floats that do not fit a byte at the default scale shift (1.0 · 2^8 = 256).
    let o = kerafold(&[
        "dataset",
        "pack",
        "--features",
        s(&x16),
        "--labels",
        s(&y16),
        "-o",
        s(&dir.join("o.kfd")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("does not fit a byte") && e.contains("256"),
        "{e}"
    );
    assert!(!dir.join("o.kfd").exists());

    assert!(err(pack_npy(&x16, &y64, 4, None)).contains("expected [16]"));
    assert!(err(pack_npy(&x16, &y16, 4, Some(3))).contains("not below the number of classes, 3"));
    assert!(err(pack_npy(&x16, &y16, 17, None)).contains("at most 16"));
    // Integer features must be bytes.
    let xi = dir.join("xi.npy");
    write_npy(&xi, "<i2", &[1, 2], &[0, 1, 0, 0]);
    let y1 = labels_npy(&dir, "y1.npy", &[0]);
    assert!(err(pack_npy(&xi, &y1, 8, None)).contains("256 does not fit a byte"));
    // Labels must be integers.
    let yf = dir.join("yf.npy");
    write_npy(&yf, "<f4", &[1], &1f32.to_le_bytes());
    let xb = dir.join("xb.npy");
    write_npy(&xb, "|u1", &[1, 2], &[1, 2]);
    assert!(err(pack_npy(&xb, &yf, 8, None)).contains("integer"));
    // A one-dimensional feature array has no sample shape.
    write_npy(&xb, "|u1", &[2], &[1, 2]);
    assert!(err(pack_npy(&xb, &y1, 8, None)).contains("sample shape"));
    // Negative labels.
    let yn = dir.join("yn.npy");
    write_npy(&yn, "<i8", &[1], &(-1i64).to_le_bytes());
    write_npy(&xb, "|u1", &[1, 2], &[1, 2]);
    assert!(err(pack_npy(&xb, &yn, 8, None)).contains("outside"));
    // Not a .npy file.
    let e = pack_npy(&fixture_file("digits_16.kfd"), &y1, 8, None).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e}");
}

#[test]
fn inspect_json() {
    let o = kerafold(&[
        "dataset",
        "inspect",
        "--json",
        s(&fixture_file("digits_test.kfd")),
    ]);
    assert!(o.status.success(), "{o:?}");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["count"], 64);
    assert_eq!(j["classes"], 10);
    assert_eq!(j["shape"], serde_json::json!([8, 8, 1]));
    assert_eq!(j["record_size"], 128);
    assert_eq!(j["scale_shift"], 4);
    let hist: Vec<u64> = serde_json::from_value(j["label_histogram"].clone()).unwrap();
    assert_eq!(hist.iter().sum::<u64>(), 64);
    let d = Dataset::read(&fixture_file("digits_test.kfd")).unwrap();
    assert_eq!(
        j["cid"].as_str().unwrap(),
        FileDag::of_bytes(d.as_bytes()).cid().to_string()
    );
}

#[test]
fn digits_model_matches_keras_on_its_dataset() {
    let fx = Fixture::load("digits");
    let extra = digits_extra();
    assert_eq!(extra.scale_shift, 4);
    for format in Format::ALL {
        let graph = load(&model_path("digits", format)).unwrap();
        assert_eq!(graph.input_shape, fx.input_shape);
        let (mut err_out, mut err_logits) = (0f64, 0f64);
        for (i, x) in fx.inputs.iter().enumerate() {
            let y = forward(&graph, x).unwrap();
            err_out = err_out.max(max_rel_err(&y.output, &fx.outputs[i]));
            err_logits = err_logits.max(max_rel_err(&y.logits, &fx.logits[i]));
            assert_eq!(argmax(&y.output), fx.keras_class(i), "sample {i}");
        }
        println!(
            "digits.{}: max error out {err_out:.2e}, logits {err_logits:.2e}",
            format.extension()
        );
        assert!(err_out < 1e-4 && err_logits < 1e-4, "{format:?}");
    }

    let graph = load(&model_path("digits", Format::Keras)).unwrap();
    for (file, entry) in &extra.datasets {
        let d = Dataset::read(&fixture_file(file)).unwrap();
        d.check_input_shape(&graph.input_shape).unwrap();
        assert_eq!(d.len(), entry.samples);
        let inputs = d.inputs_f32();
        // The dataset's features are the fixture's inputs, exactly.
        for (i, x) in inputs.iter().enumerate().take(fx.inputs.len()) {
            assert_eq!(x, &fx.inputs[i], "{file}: sample {i}");
            assert_eq!(
                usize::from(d.sample(i).1),
                fx.labels[i],
                "{file}: label {i}"
            );
        }
        let mut correct = 0;
        for (i, x) in inputs.iter().enumerate() {
            let class = argmax(&forward(&graph, x).unwrap().output);
            assert_eq!(class, entry.keras_predictions[i], "{file}: sample {i}");
            if class == usize::from(d.sample(i).1) {
                correct += 1;
            }
        }
        assert_eq!(correct, entry.keras_correct, "{file}");
        assert!((entry.keras_accuracy - correct as f64 / d.len() as f64).abs() < 1e-12);
        println!("{file}: Keras float accuracy {correct}/{}", d.len());
        assert!(
            correct < d.len(),
            "{file}: a few wrong answers make a better accuracy test"
        );
    }
}

#[test]
fn quantized_inputs_follow_the_dataset_rule() {
    let graph = load(&model_path("digits", Format::Keras)).unwrap();
    let program = lower(&graph).unwrap();
    let d = Dataset::read(&fixture_file("digits_test.kfd")).unwrap();
    let inputs = d.inputs_f32();
    let (q, _) = calibrate(&program, &inputs).unwrap();
    let s = u32::from(d.header().scale_shift);
    assert!(q.fp.fa >= s, "calibrated fa {} < scale shift {s}", q.fp.fa);
    let mut correct = 0;
    for (i, x) in inputs.iter().enumerate() {
        let xq = d.quantized_input(i, q.fp.fa);
        assert_eq!(q.quantize_input(x, Some(i)).unwrap(), xq, "sample {i}");
        if q.trace(&xq, Some(i)).unwrap().class == usize::from(d.sample(i).1) {
            correct += 1;
        }
    }
    println!(
        "digits_test.kfd: integer reference (fa={} fw={} bits={}) gets {correct}/{} right",
        q.fp.fa,
        q.fp.fw,
        q.fp.bits,
        d.len()
    );
}
