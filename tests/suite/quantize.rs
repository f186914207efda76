//! Quantization fidelity on every real-Keras fixture, in both file formats.
//!
//! The table this test prints is the one in FIDELITY.md; the test fails if the file is stale.
//! Regenerate it with `KERAFOLD_BLESS=1 cargo test --release --test suite quantize::`.

use crate::common;

use common::{Fixture, Format, MODELS};
use kerafold::model::{self, QuantizedModel};
use kerafold::Error;
use kerafold_step_circuits::FixedPoint;

struct Row {
    model: String,
    float_err: [f64; 2],
    fp: FixedPoint,
    agree: usize,
    n: usize,
    max_abs: f64,
    rel_logit: f64,
    steps: usize,
    approximations: Vec<model::pwl::Approximation>,
}

/// Loads, lowers and calibrates a fixture on its own inputs (the default: "fixture inputs").
fn quantized(name: &str, format: Format, fx: &Fixture) -> QuantizedModel {
    let graph = model::load(&common::model_path(name, format)).expect("fixture loads");
    let program = model::lower(&graph).expect("fixture lowers");
    model::calibrate(&program, &fx.inputs)
        .expect("calibrates")
        .0
}

fn row(name: &str) -> Row {
    let fx = Fixture::load(name);
    let mut float_err = [0.0f64; 2];
    let mut models = vec![];
    for (k, format) in Format::ALL.into_iter().enumerate() {
        let graph = model::load(&common::model_path(name, format)).unwrap();
        for (x, want) in fx.inputs.iter().zip(&fx.outputs) {
            let out = model::forward(&graph, x).unwrap();
            float_err[k] = float_err[k].max(common::max_rel_err(&out.output, want));
        }
        models.push(quantized(name, format, &fx));
    }
    assert_eq!(
        models[0], models[1],
        "{name}: .keras and .h5 give different quantized models"
    );
    let q = &models[0];
    let program = model::lower(&model::load(&common::model_path(name, Format::Keras)).unwrap());
    let approximations = model::pwl::approximations(&program.unwrap(), q);
    let (mut agree, mut max_abs, mut rel_logit) = (0, 0f64, 0f64);
    for (i, x) in fx.inputs.iter().enumerate() {
        let t = q
            .trace(&q.quantize_input(x, Some(i)).unwrap(), Some(i))
            .unwrap();
        let logits: Vec<f64> = t.logits.iter().map(|&v| q.dequantize(v)).collect();
        let out = q.output(&t.logits);
        if t.class == fx.keras_class(i) {
            agree += 1;
        }
        for (a, b) in out.iter().zip(&fx.outputs[i]) {
            max_abs = max_abs.max((a - *b as f64).abs());
        }
        rel_logit = rel_logit.max(common::max_rel_err(&logits, &fx.logits[i]));
    }
    Row {
        model: name.into(),
        float_err,
        fp: q.fp,
        agree,
        n: fx.inputs.len(),
        max_abs,
        rel_logit,
        steps: q.steps.len(),
        approximations,
    }
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| model | Rust float vs Keras (.keras / .h5, rel.) | fixed point (fa, fw, bits, guard) | steps | integer top-1 = Keras | max abs output error | max rel. logit error |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {:.1e} / {:.1e} | {}, {}, {}, {} | {} | {}/{} | {:.1e} | {:.1e} |\n",
            r.model,
            r.float_err[0],
            r.float_err[1],
            r.fp.fa,
            r.fp.fw,
            r.fp.bits,
            r.fp.guard,
            r.steps,
            r.agree,
            r.n,
            r.max_abs,
            r.rel_logit
        ));
    }
    s.push_str(
        "\nSmooth activations are proven as piecewise-linear approximations (`model::pwl`); their \
         worst error against the exact function over the whole activation range, at the fixed \
         point above:\n\n| model | step | function | segments | worst error | in units of 2^-fa \
         | at x |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        for a in &r.approximations {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {:.1e} | {:.2} | {:.2} |\n",
                r.model, a.step, a.function, a.segments, a.worst_error, a.worst_ulps, a.worst_at
            ));
        }
    }
    s
}

const BEGIN: &str = "<!-- fidelity:begin -->\n";
const END: &str = "<!-- fidelity:end -->";

#[test]
fn every_fixture_quantizes_faithfully_and_fidelity_md_is_current() {
    let rows: Vec<Row> = MODELS.iter().map(|m| row(m)).collect();
    let t = table(&rows);
    println!("{t}");
    for r in &rows {
        assert!(
            r.float_err.iter().all(|&e| e <= 1e-4),
            "{}: Rust float inference is {:?} from Keras",
            r.model,
            r.float_err
        );
        assert!(
            r.agree * 100 >= r.n * 99,
            "{}: integer top-1 agrees with Keras on {}/{}",
            r.model,
            r.agree,
            r.n
        );
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("FIDELITY.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (a, b) = (doc.find(BEGIN), doc.find(END));
    let current = match (a, b) {
        (Some(a), Some(b)) if a < b => &doc[a + BEGIN.len()..b],
        _ => "",
    };
    if current != t {
        if std::env::var_os("KERAFOLD_BLESS").is_some() {
            let (a, b) = (a.expect("begin marker"), b.expect("end marker"));
            let new = format!("{}{BEGIN}{t}{}", &doc[..a], &doc[b..]);
            std::fs::write(&path, new).unwrap();
        } else {
            panic!(
                "FIDELITY.md is stale; regenerate with `KERAFOLD_BLESS=1 cargo test --release --test suite quantize::`"
            );
        }
    }
}

/// An Embedding reads token ids: a value that is not an id of its vocabulary (half an id, one
/// past the table) is an error naming the layer, the sample and the token, in the float program
/// and in the integer model alike.
#[test]
fn an_embedding_refuses_values_that_are_not_token_ids() {
    let fx = Fixture::load("embedding");
    let graph = model::load(&common::model_path("embedding", Format::Keras)).unwrap();
    let program = model::lower(&graph).unwrap();
    let q = model::calibrate(&program, &fx.inputs).unwrap().0;
    for (k, bad) in [(3, 2.5f32), (7, 16.0)] {
        let mut x = fx.inputs[0].clone();
        x[k] = bad;
        let err = q
            .quantize_input(&x, Some(5))
            .and_then(|v| q.trace(&v, Some(5)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("embed/one_hot")
                && err.contains("sample 5")
                && err.contains(&format!("token {k} = {bad}"))
                && err.contains("not an integer id in 0..16"),
            "{err}"
        );
        let xf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let err = model::quant::run_float(&program, &xf)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not an integer id in 0..16"), "{err}");
    }
}

#[test]
fn an_activation_leaving_the_range_is_an_error_naming_layer_and_sample() {
    let fx = Fixture::load("cnn");
    let graph = model::load(&common::model_path("cnn", Format::Keras)).unwrap();
    let program = model::lower(&graph).unwrap();
    // 8-bit activations at scale 2^6 hold ±2: the CNN's logits reach ~60
    let fp = FixedPoint {
        fa: 6,
        fw: 8,
        bits: 8,
        guard: 1,
    };
    let q = model::quantize(&program, fp).unwrap();
    let mut seen = false;
    for (i, x) in fx.inputs.iter().enumerate() {
        match q
            .quantize_input(x, Some(i))
            .and_then(|v| q.trace(&v, Some(i)))
        {
            Err(Error::Overflow { layer, sample, msg }) => {
                assert_eq!(sample, Some(i));
                assert!(!layer.is_empty(), "names the layer");
                assert!(msg.contains("8-bit range"), "{msg}");
                seen = true;
                break;
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => {}
        }
    }
    assert!(seen, "an 8-bit CNN must overflow on some fixture input");
}

#[test]
fn quantize_sizes_the_lane_guard_from_the_weights() {
    let graph = model::load(&common::model_path("mlp", Format::Keras)).unwrap();
    let program = model::lower(&graph).unwrap();
    let q = model::quantize(
        &program,
        FixedPoint {
            fa: 8,
            fw: 8,
            bits: 16,
            guard: 1,
        },
    )
    .unwrap();
    assert_eq!(
        q.fp.guard,
        model::quant::required_guard(&q.steps, &q.fp),
        "quantize replaces the guard by the one the weights need"
    );
    assert!(q.fp.guard >= 1);
}

/// A model read back from JSON (model openings, ciphertext skeletons, proof files) is checked by
/// `QuantizedModel::validate`: every fixture's model, and its weightless skeleton, pass it.
#[test]
fn every_quantized_fixture_passes_validation_and_round_trips_through_json() {
    for name in MODELS {
        let fx = Fixture::load(name);
        let q = quantized(name, Format::Keras, &fx);
        q.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = serde_json::to_string(&q).unwrap();
        let back: QuantizedModel = serde_json::from_str(&json).unwrap();
        assert_eq!(back, q, "{name}");
        let skeleton = kerafold::claim::weights::skeleton(&q);
        skeleton
            .validate()
            .unwrap_or_else(|e| panic!("{name} skeleton: {e}"));
        let mut bad = q.clone();
        if let Some(s) = bad.steps.iter_mut().find(|s| !s.weights.b.is_empty()) {
            s.weights.b.push(0);
            let json = serde_json::to_string(&bad).unwrap();
            let e = serde_json::from_str::<QuantizedModel>(&json).unwrap_err();
            assert!(e.to_string().contains("biases"), "{name}: {e}");
        }
    }
}
