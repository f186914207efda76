//! Keras import and float inference against real Keras files (tests/fixtures/), and clear errors
//! for bad input. Run with `--nocapture` to see the table of errors.

use crate::common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use common::{max_rel_err, model_path, Fixture, Format, MODELS, RECURRENT};
use kerafold::model::graph::{Activation, Graph, LayerKind, RecurrentCell, Smooth, Src};
use kerafold::model::{forward, forward_trace, load, lower, read_inputs};
use kerafold::Error;

const TOL: f64 = 1e-4;

#[test]
fn float_inference_matches_keras() {
    println!(
        "{:<11} {:<6} {:>6} {:>12} {:>12} {:>8}",
        "model", "format", "nodes", "max err out", "max err lgt", "argmax"
    );
    let mut failures = Vec::new();
    for &name in MODELS {
        let fx = Fixture::load(name);
        for format in Format::ALL {
            let path = model_path(name, format);
            let graph = load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(graph.input_shape, fx.input_shape, "{name}");
            assert_eq!(graph.output_shape(), fx.output_shape.as_slice(), "{name}");
            let (mut err_out, mut err_logits, mut agree) = (0.0f64, 0.0f64, 0);
            for (i, x) in fx.inputs.iter().enumerate() {
                let y = forward(&graph, x).unwrap();
                err_out = err_out.max(max_rel_err(&y.output, &fx.outputs[i]));
                err_logits = err_logits.max(max_rel_err(&y.logits, &fx.logits[i]));
                // the class from the logits: a binary classifier's is [logit > 0]
                if kerafold::model::quant::argmax_f(&y.logits) == fx.keras_class(i) {
                    agree += 1;
                }
            }
            println!(
                "{:<11} {:<6} {:>6} {:>12.3e} {:>12.3e} {:>5}/{}",
                name,
                format.extension(),
                graph.nodes.len(),
                err_out,
                err_logits,
                agree,
                fx.inputs.len()
            );
            if err_out > TOL || err_logits > TOL || agree != fx.inputs.len() {
                failures.push(format!("{name}.{}", format.extension()));
            }
        }
    }
    assert!(failures.is_empty(), "mismatch with Keras: {failures:?}");
}

#[test]
fn keras_and_h5_give_identical_graphs() {
    for &name in MODELS {
        let a = load(&model_path(name, Format::Keras)).unwrap();
        let b = load(&model_path(name, Format::H5)).unwrap();
        assert_eq!(a, b, "{name}");
        // Bit for bit: serde_json prints every distinct f32 (including -0.0) differently.
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap(),
            "{name}"
        );
    }
}

fn kinds(g: &Graph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.class_name.as_str()).collect()
}

#[test]
fn imported_structure() {
    let g = load(&model_path("mlp", Format::Keras)).unwrap();
    assert_eq!(g.name, "mlp");
    assert_eq!(kinds(&g), ["Dense", "Dense", "Activation", "Dense"]);
    assert!(matches!(
        &g.nodes[0].kind,
        LayerKind::Dense { units: 16, activation: Activation::Relu, kernel, bias } if kernel.len() == 256 && bias.len() == 16
    ));
    assert!(matches!(
        &g.nodes[1].kind,
        LayerKind::Dense {
            activation: Activation::Linear,
            ..
        }
    ));
    assert!(matches!(
        &g.nodes[3].kind,
        LayerKind::Dense {
            activation: Activation::Softmax,
            ..
        }
    ));
    assert_eq!(g.nodes[0].inputs, [Src::Input]);
    assert_eq!(g.nodes[3].inputs, [Src::Node(2)]);

    // Functional with an identity skip: Add reads the block's last BN and the stem's ReLU.
    let g = load(&model_path("residual", Format::Keras)).unwrap();
    let add = g.nodes.iter().position(|n| n.class_name == "Add").unwrap();
    let srcs: Vec<&str> = g.nodes[add]
        .inputs
        .iter()
        .map(|s| match s {
            Src::Node(i) => g.nodes[*i].name.as_str(),
            Src::Input => "input",
        })
        .collect();
    assert_eq!(srcs, ["block_bn2", "stem_relu"]);
    assert_eq!(g.nodes[add].output_shape, [12, 12, 4]);
    assert_eq!(g.output_shape(), [10]);

    let g = load(&model_path("cnn", Format::H5)).unwrap();
    let shapes: Vec<Vec<usize>> = g.nodes.iter().map(|n| n.output_shape.clone()).collect();
    assert_eq!(
        shapes,
        [
            vec![12, 12, 4],
            vec![12, 12, 4],
            vec![12, 12, 4],
            vec![6, 6, 4],
            vec![4, 4, 8],
            vec![2, 2, 8],
            vec![32],
            vec![32],
            vec![16],
            vec![10],
            vec![10]
        ]
    );
    assert!(matches!(
        g.nodes.last().unwrap().kind,
        LayerKind::Activation(Activation::Softmax)
    ));
    assert!(matches!(g.nodes[7].kind, LayerKind::Dropout));

    let g = load(&model_path("depthwise", Format::Keras)).unwrap();
    assert!(matches!(
        g.nodes[0].kind,
        LayerKind::DepthwiseConv2D {
            depth_multiplier: 2,
            ..
        }
    ));
    assert_eq!(g.nodes[0].output_shape, [8, 8, 6]);
    assert_eq!(
        g.nodes[1].kind,
        LayerKind::Activation(Activation::ReluMax(6.0))
    );
    assert_eq!(g.nodes[2].output_shape, [4, 4, 8]);
    assert!(matches!(
        g.nodes[4].kind,
        LayerKind::GlobalPool { max: true, rank: 2 }
    ));

    let g = load(&model_path("strided", Format::Keras)).unwrap();
    assert_eq!(g.input_shape, [12, 11, 1]);
    assert_eq!(g.nodes[0].output_shape, [6, 6, 4]);
    assert_eq!(g.nodes[2].output_shape, [3, 3, 4]);
    assert_eq!(
        g.nodes[3].kind,
        LayerKind::ZeroPadding2D {
            top: 1,
            bottom: 2,
            left: 0,
            right: 1
        }
    );
    assert_eq!(g.nodes[3].output_shape, [6, 4, 4]);
    match &g.nodes[4].kind {
        LayerKind::Conv { bias, .. } => assert!(bias.iter().all(|&b| b == 0.0)), // use_bias=False
        k => panic!("{k:?}"),
    }

    let g = load(&model_path("conv1d", Format::H5)).unwrap();
    assert!(matches!(
        g.nodes[0].kind,
        LayerKind::Conv {
            rank: 1,
            kernel_size: (1, 3),
            filters: 4,
            ..
        }
    ));
    assert!(matches!(
        g.nodes[2].kind,
        LayerKind::Conv {
            dilation: (1, 2),
            ..
        }
    ));
    assert_eq!(g.nodes[3].output_shape, [7, 8]);
    assert_eq!(g.nodes[4].output_shape, [7, 6]); // Dense on the last axis
    assert_eq!(g.nodes[5].output_shape, [6]);

    let g = load(&model_path("conv1d_gmp", Format::Keras)).unwrap();
    match &g.nodes[2].kind {
        LayerKind::BatchNorm { beta, .. } => assert!(beta.iter().all(|&b| b == 0.0)), // center=False
        k => panic!("{k:?}"),
    }
    assert_eq!(g.nodes[3].output_shape, [1, 6]); // keepdims

    let g = load(&model_path("poly", Format::H5)).unwrap();
    match &g.nodes[0].kind {
        LayerKind::BatchNorm { gamma, .. } => assert!(gamma.iter().all(|&x| x == 1.0)), // scale=False
        k => panic!("{k:?}"),
    }
    assert_eq!(
        g.nodes[2].kind,
        LayerKind::Activation(Activation::Poly(0.5))
    );
    assert_eq!(g.nodes[2].class_name, "PolyAct");

    let g = load(&model_path("upsample", Format::Keras)).unwrap();
    assert_eq!(
        g.nodes[1].kind,
        LayerKind::Reshape {
            target: vec![4, 4, 2]
        }
    );
    assert_eq!(g.nodes[2].output_shape, [8, 8, 2]);
    assert_eq!(
        g.nodes[4].kind,
        LayerKind::Activation(Activation::LeakyRelu(0.125))
    );

    let g = load(&model_path("deep_mlp", Format::Keras)).unwrap();
    assert_eq!(g.nodes.len(), 13);
}

/// The recurrent fixtures: each layer's cell, options and weight shapes (Keras 3 keeps them in
/// the layer's `cell`, the legacy `.h5` under `layer/…_cell/`; both read alike).
#[test]
fn recurrent_layers_import() {
    let tanh = Activation::Smooth(Smooth::Tanh);
    let sigmoid = Activation::Smooth(Smooth::Sigmoid);
    for format in Format::ALL {
        // (model, layer, cell, units, return_sequences, kernel, recurrent kernel, bias, output)
        let expected = [
            (
                "rnn",
                0,
                RecurrentCell::SimpleRnn,
                6,
                true,
                2 * 6,
                6 * 6,
                6,
                vec![8, 6],
            ),
            (
                "rnn",
                1,
                RecurrentCell::SimpleRnn,
                5,
                false,
                6 * 5,
                5 * 5,
                5,
                vec![5],
            ),
            (
                "gru",
                0,
                RecurrentCell::Gru {
                    recurrent_activation: sigmoid.clone(),
                    reset_after: true,
                },
                6,
                true,
                2 * 18,
                6 * 18,
                2 * 18,
                vec![8, 6],
            ),
            (
                "gru",
                1,
                RecurrentCell::Gru {
                    recurrent_activation: sigmoid.clone(),
                    reset_after: false,
                },
                5,
                false,
                6 * 15,
                5 * 15,
                15,
                vec![5],
            ),
            (
                "lstm_seq",
                0,
                RecurrentCell::Lstm {
                    recurrent_activation: sigmoid.clone(),
                },
                6,
                true,
                2 * 24,
                6 * 24,
                24,
                vec![8, 6],
            ),
            (
                "lstm_seq",
                1,
                RecurrentCell::Lstm {
                    recurrent_activation: sigmoid.clone(),
                },
                5,
                false,
                6 * 20,
                5 * 20,
                20,
                vec![5],
            ),
        ];
        for (model, at, cell, units, sequences, kernel, recurrent, bias, shape) in expected {
            let g = load(&model_path(model, format)).unwrap();
            assert_eq!(g.input_shape, [8, 2], "{model}");
            let node = &g.nodes[at];
            let LayerKind::Recurrent(r) = &node.kind else {
                panic!("{model}.{}: {:?}", format.extension(), node.kind)
            };
            let what = format!("{model}.{} {}", format.extension(), node.name);
            assert_eq!(r.cell, cell, "{what}");
            assert_eq!(r.units, units, "{what}");
            assert_eq!(r.activation, tanh, "{what}");
            assert_eq!(r.return_sequences, sequences, "{what}");
            assert_eq!(
                (r.kernel.len(), r.recurrent_kernel.len(), r.bias.len()),
                (kernel, recurrent, bias),
                "{what}"
            );
            assert_eq!(node.output_shape, shape, "{what}");
        }
    }
}

/// Every recurrent layer lowers to one step of its own: the cell's op over the layer's
/// sequence, both activations kept (the gate's as σ, the layer's as φ), the Dense head after it.
#[test]
fn recurrent_layers_lower_to_one_step_each() {
    use kerafold_step_circuits::spec::Op;
    for &name in RECURRENT {
        for format in Format::ALL {
            let g = load(&model_path(name, format)).unwrap();
            let p = lower(&g).unwrap();
            let recurrent: Vec<_> = p
                .steps
                .iter()
                .filter(|s| matches!(s.op, Op::Recurrent(_)))
                .collect();
            assert_eq!(recurrent.len(), 2, "{name}.{}", format.extension());
            for (s, node) in recurrent.iter().zip(&g.nodes) {
                assert_eq!(s.layers, std::slice::from_ref(&node.name));
                assert_eq!(s.output_shape, node.output_shape, "{}", node.name);
                assert!(s.gate.is_some(), "{}: the gate activation", node.name);
            }
        }
    }
}

#[test]
fn trace_returns_every_node() {
    let fx = Fixture::load("residual");
    let g = load(&model_path("residual", Format::Keras)).unwrap();
    let t = forward_trace(&g, &fx.inputs[0]).unwrap();
    assert_eq!(t.nodes.len(), g.nodes.len());
    for (n, out) in g.nodes.iter().zip(&t.nodes) {
        assert_eq!(
            out.len(),
            n.output_shape.iter().product::<usize>(),
            "{}",
            n.name
        );
    }
    let y = forward(&g, &fx.inputs[0]).unwrap();
    assert_eq!(t.output(), y.output.as_slice());
    assert_eq!(t.logits, y.logits);
    // The skip survives the block: Add = block_bn2 + stem_relu.
    let idx = |name: &str| g.nodes.iter().position(|n| n.name == name).unwrap();
    let (add, bn, skip) = (idx("add"), idx("block_bn2"), idx("stem_relu"));
    for k in 0..t.nodes[add].len() {
        assert!((t.nodes[add][k] - t.nodes[bn][k] - t.nodes[skip][k]).abs() < 1e-12);
    }
}

/// The call's keyword arguments, as Keras 3 and Keras 2 save them: `training=True` (Keras then
/// runs the layer as in training even at inference) and a tensor argument kerafold does not follow
/// are refused, naming the layer; `training=False` changes nothing. A Keras 2 config (inbound
/// nodes as `["layer", node, tensor, {kwargs}]` lists) of the same model runs like it.
#[test]
fn call_keyword_arguments_that_change_inference_are_refused() {
    use serde_json::{json, Value};
    let fx = Fixture::load("residual");
    let want = forward(
        &load(&model_path("residual", Format::Keras)).unwrap(),
        &fx.inputs[0],
    )
    .unwrap()
    .output;
    let runs_like_keras = |path: &Path| {
        let y = forward(&load(path).unwrap(), &fx.inputs[0]).unwrap().output;
        assert_eq!(y, want, "{}", path.display());
    };
    let set_kwarg = |key: &'static str, v: Value| {
        move |c: &mut Value| {
            layer_config(c, "stem_bn")["inbound_nodes"][0]["kwargs"][key] = v.clone();
        }
    };
    runs_like_keras(&with_config(
        "residual",
        "training_false",
        set_kwarg("training", json!(false)),
    ));
    let e = load_err(&with_config(
        "residual",
        "training_true",
        set_kwarg("training", json!(true)),
    ));
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    assert_mentions(&e, &["stem_bn", "BatchNormalization", "training=True"]);

    // the same model in Keras 2's inbound-node format, `extra` the keyword arguments of stem_bn
    let keras2 = |tag: &str, extra: Value| {
        with_config("residual", tag, |c| {
            for layer in c["config"]["layers"].as_array_mut().unwrap() {
                let Some(nodes) = layer["inbound_nodes"].as_array().cloned() else {
                    continue;
                };
                let kwargs = if layer["config"]["name"] == "stem_bn" {
                    extra.clone()
                } else {
                    json!({})
                };
                let node: Vec<Value> = nodes
                    .first()
                    .map(|n| keras3_history(&n["args"]))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(producer, node, tensor)| json!([producer, node, tensor, kwargs]))
                    .collect();
                layer["inbound_nodes"] = if nodes.is_empty() {
                    json!([])
                } else {
                    json!([node])
                };
            }
        })
    };
    runs_like_keras(&keras2("keras2", json!({"training": false})));
    let e = load_err(&keras2("keras2_training", json!({"training": true})));
    assert_mentions(&e, &["stem_bn", "training=True"]);
    let e = load_err(&keras2("keras2_tensor", json!({"y": ["stem_conv", 0, 0]})));
    assert_mentions(&e, &["stem_bn", "'stem_conv'", "'y' argument"]);
}

/// The `keras_history` of every Keras 3 tensor in `args`, in order.
fn keras3_history(args: &serde_json::Value) -> Vec<(String, u64, u64)> {
    let mut out = vec![];
    match args {
        serde_json::Value::Array(items) => items.iter().for_each(|x| out.extend(keras3_history(x))),
        serde_json::Value::Object(o)
            if o.get("class_name").is_some_and(|c| c == "__keras_tensor__") =>
        {
            let h = &o["config"]["keras_history"];
            out.push((
                h[0].as_str().unwrap().to_string(),
                h[1].as_u64().unwrap(),
                h[2].as_u64().unwrap(),
            ));
        }
        _ => {}
    }
    out
}

#[test]
fn inputs_from_files_run_like_the_fixture() {
    let dir = common::scratch_dir("inputs");
    let fx = Fixture::load("cnn");
    let g = load(&model_path("cnn", Format::Keras)).unwrap();
    // JSON with nested samples of shape [12, 12, 1].
    let nested: Vec<serde_json::Value> = fx
        .inputs
        .iter()
        .map(|x| {
            serde_json::json!(x
                .chunks(12)
                .map(|row| row.iter().map(|&v| vec![v]).collect::<Vec<_>>())
                .collect::<Vec<_>>())
        })
        .collect();
    let json = dir.join("cnn_inputs.json");
    std::fs::write(&json, serde_json::json!({ "inputs": nested }).to_string()).unwrap();
    assert_eq!(read_inputs(&json, &g.input_shape).unwrap(), fx.inputs);

    // .npy, float32, shape [32, 12, 12, 1].
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, 12, 12, 1), }}",
        fx.inputs.len()
    );
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((header.len() as u16).to_le_bytes());
    npy.extend(header.as_bytes());
    for x in &fx.inputs {
        for v in x {
            npy.extend(v.to_le_bytes());
        }
    }
    let npy_path = dir.join("cnn_inputs.npy");
    std::fs::write(&npy_path, &npy).unwrap();
    let samples = read_inputs(&npy_path, &g.input_shape).unwrap();
    assert_eq!(samples, fx.inputs);
    let y = forward(&g, &samples[3]).unwrap();
    assert!(max_rel_err(&y.output, &fx.outputs[3]) < TOL);
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

fn scratch(file: &str) -> PathBuf {
    common::shared_dir("bad").join(file)
}

/// The members of a zip archive, in order.
fn read_zip(src: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

/// Writes a zip archive (stored members, as Keras writes them).
fn write_zip(dst: &Path, members: &[(String, Vec<u8>)]) -> PathBuf {
    let mut out = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for (name, bytes) in members {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        out.start_file(name.as_str(), opts).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap();
    dst.to_path_buf()
}

/// Rewrites a `.keras` zip member by member: `edit` returns the new bytes, or `None` to drop it.
fn rewrite_keras(
    src: &Path,
    dst: &Path,
    edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
) -> PathBuf {
    let members: Vec<(String, Vec<u8>)> = read_zip(src)
        .into_iter()
        .filter_map(|(name, bytes)| edit(&name, bytes).map(|b| (name, b)))
        .collect();
    write_zip(dst, &members)
}

/// A copy of fixture `name`.keras whose config.json is changed by `edit`.
fn with_config(name: &str, tag: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    rewrite_keras(
        &model_path(name, Format::Keras),
        &scratch(&format!("{name}_{tag}.keras")),
        |member, bytes| {
            if member == "config.json" {
                let mut cfg: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                edit(&mut cfg);
                Some(serde_json::to_vec(&cfg).unwrap())
            } else {
                Some(bytes)
            }
        },
    )
}

/// The config of layer `layer` in a model config.
fn layer_config<'a>(cfg: &'a mut serde_json::Value, layer: &str) -> &'a mut serde_json::Value {
    cfg["config"]["layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| l["config"]["name"] == layer)
        .unwrap_or_else(|| panic!("no layer {layer}"))
}

fn load_err(path: &Path) -> Error {
    match load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e,
    }
}

fn assert_mentions(e: &Error, words: &[&str]) {
    let msg = e.to_string();
    println!("  {msg}");
    for w in words {
        assert!(msg.contains(w), "'{msg}' does not mention '{w}'");
    }
}

#[test]
fn truncated_files_are_format_errors() {
    for (name, format) in [("cnn", Format::Keras), ("residual", Format::H5)] {
        let bytes = std::fs::read(model_path(name, format)).unwrap();
        let n = bytes.len();
        for cut in [0, 4, 100, 2000, n / 2, n - 200, n - 22, n - 1] {
            let path = scratch(&format!("trunc_{name}_{cut}.{}", format.extension()));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let e = load_err(&path);
            assert!(matches!(e, Error::Format { .. }), "cut {cut}: {e}");
            assert_mentions(&e, &[path.to_str().unwrap()]);
        }
    }
    // A truncated model.weights.h5 inside an intact zip.
    let path = rewrite_keras(
        &model_path("cnn", Format::Keras),
        &scratch("trunc_weights.keras"),
        |m, b| {
            Some(if m == "model.weights.h5" {
                b[..b.len() / 3].to_vec()
            } else {
                b
            })
        },
    );
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["model.weights.h5"]);
}

#[test]
fn missing_members_and_datasets() {
    let no_weights = rewrite_keras(
        &model_path("mlp", Format::Keras),
        &scratch("no_weights.keras"),
        |m, b| (m != "model.weights.h5").then_some(b),
    );
    let e = load_err(&no_weights);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["missing model.weights.h5"]);

    let no_config = rewrite_keras(
        &model_path("mlp", Format::Keras),
        &scratch("no_config.keras"),
        |m, b| (m != "config.json").then_some(b),
    );
    assert_mentions(&load_err(&no_config), &["missing config.json"]);

    let bad_json = rewrite_keras(
        &model_path("mlp", Format::Keras),
        &scratch("bad_json.keras"),
        |m, b| {
            Some(if m == "config.json" {
                b"{\"class_name\": ".to_vec()
            } else {
                b
            })
        },
    );
    let e = load_err(&bad_json);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["config.json", "JSON"]);

    // Weights saved as .npz instead of HDF5.
    let members: Vec<(String, Vec<u8>)> = read_zip(&model_path("mlp", Format::Keras))
        .into_iter()
        .map(|(n, b)| match n.as_str() {
            "model.weights.h5" => ("model.weights.npz".to_string(), b"PK".to_vec()),
            _ => (n, b),
        })
        .collect();
    let e = load_err(&write_zip(&scratch("npz.keras"), &members));
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["npz"]);

    // The config asks for a bias the weights file does not have (a missing dataset).
    let path = with_config("strided", "extra_bias", |cfg| {
        layer_config(cfg, "conv2")["config"]["use_bias"] = true.into();
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["conv2", "2 weights", "kernel, bias", "missing"]);

    // A layer whose weights group is missing.
    let path = with_config("mlp", "renamed", |cfg| {
        layer_config(cfg, "fc2")["config"]["name"] = "fc9".into();
    });
    assert_mentions(&load_err(&path), &["fc9", "no weights group"]);

    // Weights of the wrong shape.
    let path = with_config("mlp", "units", |cfg| {
        layer_config(cfg, "fc2")["config"]["units"] = 13.into();
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["fc2", "kernel", "[16, 12]", "[16, 13]"]);
}

/// PReLU's `shared_axes` must name axes of its input, and its stored slopes must have the
/// shape they give.
#[test]
fn prelu_shared_axes_are_checked() {
    let path = with_config("prelu", "axis_zero", |cfg| {
        layer_config(cfg, "prelu2")["config"]["shared_axes"] = serde_json::json!([0, 1]);
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["prelu2", "shared axis 0", "1..=3"]);
    // per value instead of per channel: the file's slopes are [1, 1, 4]
    let path = with_config("prelu", "unshared", |cfg| {
        layer_config(cfg, "prelu2")["config"]["shared_axes"] = serde_json::Value::Null;
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["prelu2", "alpha", "[1, 1, 4]", "[4, 4, 4]"]);
}

/// GroupNormalization's groups must divide the channels (or be -1, one a channel); other axes
/// than the last are refused.
#[test]
fn group_normalization_options_are_checked() {
    for (tag, groups, words) in [
        (
            "groups3",
            serde_json::json!(3),
            &["gn", "3 groups", "8 channels"][..],
        ),
        ("groups0", serde_json::json!(0), &["gn", "groups 0", "-1"]),
        (
            "default",
            serde_json::Value::Null,
            &["gn", "32 groups", "8 channels"],
        ),
    ] {
        let path = with_config("groupnorm", tag, |cfg| {
            layer_config(cfg, "gn")["config"]["groups"] = groups.clone();
        });
        let e = load_err(&path);
        assert!(matches!(e, Error::Format { .. }), "{tag}: {e}");
        assert_mentions(&e, words);
    }
    let path = with_config("groupnorm", "axis1", |cfg| {
        layer_config(cfg, "gn")["config"]["axis"] = 1.into();
    });
    assert_mentions(&load_err(&path), &["gn", "group normalization over axis 1"]);
}

/// Keras 3's other image augmentation layers (the `augment_color` fixture, `.keras` only: Keras
/// 3.15 cannot save them as `.h5` once reloaded) return their input at inference: each imports
/// as no step, the float model gives Keras' outputs and the quantized one its classes.
#[test]
fn keras3_augmentation_layers_are_identities_at_inference() {
    let fx = Fixture::load("augment_color");
    let g = load(&model_path("augment_color", Format::Keras)).unwrap();
    let identities = g
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, LayerKind::Dropout))
        .count();
    assert_eq!(identities, 19, "{:?}", kinds(&g));
    let mut err = 0.0f64;
    for (x, want) in fx.inputs.iter().zip(&fx.outputs) {
        err = err.max(max_rel_err(&forward(&g, x).unwrap().output, want));
    }
    assert!(err < TOL, "{err}");
    let (q, _) = kerafold::model::calibrate(&lower(&g).unwrap(), &fx.inputs).unwrap();
    let names: Vec<&str> = q.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["conv", "out", "argmax"]);
    let agree = (0..fx.inputs.len())
        .filter(|&i| {
            let x = q.quantize_input(&fx.inputs[i], Some(i)).unwrap();
            q.trace(&x, Some(i)).unwrap().class == fx.keras_class(i)
        })
        .count();
    assert_eq!(agree, fx.inputs.len());
}

/// An Embedding with `mask_zero = true`, as real Keras saves it: a Sequential model (both
/// formats; a Bidirectional LSTM returning sequences stacked under a Bidirectional GRU, its
/// output passed on with the ids), and a Functional one, which Keras 3 saves with the mask as a `NotEqual` op passed
/// to each recurrent layer as its `mask` argument (`.keras` only). As [`mask_is_followed`].
#[test]
fn an_embeddings_mask_is_followed_into_recurrent_layers() {
    let forward_and_backward = [
        "bilstm/forward",
        "bilstm/backward",
        "bigru/forward",
        "bigru/backward",
    ];
    let both = [Format::Keras, Format::H5];
    mask_is_followed("masked_text", &both, &forward_and_backward, 1, 0.0);
    let functional = ["bilstm/forward", "bilstm/backward", "rnn"];
    mask_is_followed("masked_functional", &[Format::Keras], &functional, 1, 0.0);
}

/// A Masking layer, as real Keras saves it (the `masking` fixture, both formats: padding
/// timesteps are −1 in every channel, before a stacked LSTM and SimpleRNN). As
/// [`mask_is_followed`].
#[test]
fn a_masking_layers_mask_is_followed_into_recurrent_layers() {
    let both = [Format::Keras, Format::H5];
    mask_is_followed("masking", &both, &["lstm", "rnn"], 2, -1.0);
}

/// The recurrent layers of fixture `name` reading its mask are those of `want`; Rust's float
/// inference matches Keras'; the quantized classes agree; and the same real timesteps (rows of
/// `row` values, padding ones all `pad`) padded before or after give the same integer logits,
/// since a masked timestep leaves the state exactly as it was.
fn mask_is_followed(name: &str, formats: &[Format], want: &[&str], row: usize, pad: f32) {
    let fx = Fixture::load(name);
    for &format in formats {
        let g = load(&model_path(name, format)).unwrap();
        let masked: Vec<&str> = g
            .nodes
            .iter()
            .filter(|n| matches!(&n.kind, LayerKind::Recurrent(r) if r.masked))
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(masked, want, "{name} {format:?}");
        let mut err = 0.0f64;
        for (x, y) in fx.inputs.iter().zip(&fx.outputs) {
            err = err.max(max_rel_err(&forward(&g, x).unwrap().output, y));
        }
        assert!(err < TOL, "{name} {format:?}: {err}");
        let (q, _) = kerafold::model::calibrate(&lower(&g).unwrap(), &fx.inputs).unwrap();
        let trace = |x: &[f32]| {
            let x = q.quantize_input(x, None).unwrap();
            q.trace(&x, None).unwrap()
        };
        let agree = (0..fx.inputs.len())
            .filter(|&i| trace(&fx.inputs[i]).class == fx.keras_class(i))
            .count();
        assert_eq!(agree, fx.inputs.len(), "{name} {format:?}");
        let mut padded = 0;
        for x in &fx.inputs {
            let real: Vec<f32> = x
                .chunks(row)
                .filter(|t| t.iter().any(|&v| v != pad))
                .flatten()
                .copied()
                .collect();
            if real.len() == x.len() {
                continue;
            }
            let padding = vec![pad; x.len() - real.len()];
            let (before, after) = (
                [&padding[..], &real].concat(),
                [&real[..], &padding].concat(),
            );
            assert_eq!(
                trace(&before).logits,
                trace(&after).logits,
                "{name} {format:?}: {real:?}"
            );
            padded += 1;
        }
        assert!(padded > 10, "{name}: {padded} padded inputs");
    }
}

/// `unsupported.keras` / `.h5` (real Keras: make_fixtures.py) has four layers kerafold cannot
/// prove among supported ones (recurrent layers among them, which it proves); the import names
/// all four, in model order, each with its reason
/// — from the shapes Keras 3 records (`build_config`) in `.keras`, from the layers' supported
/// twins in the legacy `.h5`, which records none.
#[test]
fn every_unsupported_layer_is_named_at_once() {
    for ext in ["keras", "h5"] {
        let e = load_err(&common::fixture_file(&format!("unsupported.{ext}")));
        let Error::UnsupportedLayers(found) = &e else {
            panic!("unsupported.{ext}: {e}")
        };
        let named: Vec<(String, String)> = found
            .iter()
            .map(|f| match f {
                Error::Unsupported { layer, class, .. } => (layer.clone(), class.clone()),
                other => panic!("unsupported.{ext}: {other}"),
            })
            .collect();
        assert_eq!(
            named,
            [
                ("mask", "Masking"),
                ("unitnorm", "UnitNormalization"),
                ("gate", "Dense"),
                ("squash", "Dense")
            ]
            .map(|(l, c)| (l.to_string(), c.to_string())),
            "unsupported.{ext}"
        );
        assert_mentions(
            &e,
            &[
                "4 layers",
                "mask_value 0.5 is not supported",
                "UnitNormalization is not supported",
                "activation 'sparsemax'",
                "log_softmax is supported only as the model's last operation",
            ],
        );
        assert!(
            !e.to_string().contains("'hidden'"),
            "a supported layer named"
        );
    }
}

/// `lstm.keras` (an LSTM, then a Dense head) imports, runs and lowers to the LSTM's step and
/// the head's.
#[test]
fn an_lstm_imports_and_lowers() {
    let g = load(&common::fixture_file("lstm.keras")).unwrap();
    assert!(matches!(g.nodes[0].kind, LayerKind::Recurrent(_)));
    assert_eq!(forward(&g, &[0.25; 12]).unwrap().output.len(), 2);
    let p = lower(&g).unwrap();
    assert_eq!(p.steps.len(), 2);
    assert_eq!(p.steps[0].op.kind(), "lstm");
}

/// What a recurrent layer does that kerafold does not follow is refused at import, naming the
/// layer and what to do; weights that do not fit the config are typed errors.
#[test]
fn recurrent_options_are_refused() {
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let set = |layer: &'static str, key: &'static str, v: serde_json::Value| -> Edit {
        Box::new(move |c| layer_config(c, layer)["config"][key] = v.clone())
    };
    let class = |layer: &'static str, class: &'static str| -> Edit {
        Box::new(move |c| layer_config(c, layer)["class_name"] = class.into())
    };
    let cases: Vec<(&str, &str, Edit, Vec<&str>)> = vec![
        (
            "rnn",
            "go_backwards",
            set("rnn1", "go_backwards", true.into()),
            vec![
                "'rnn1'",
                "SimpleRNN",
                "go_backwards",
                "reverse the sequence",
            ],
        ),
        (
            "gru",
            "stateful",
            set("gru1", "stateful", true.into()),
            vec!["'gru1'", "GRU", "stateful", "zero state"],
        ),
        (
            "lstm_seq",
            "return_state",
            set("lstm2", "return_state", true.into()),
            vec!["'lstm2'", "LSTM", "return_state", "one output"],
        ),
        (
            "lstm_seq",
            "time_major",
            set("lstm1", "time_major", true.into()),
            vec!["'lstm1'", "time_major"],
        ),
        (
            "bidirectional",
            "merge_none",
            set("bi_gru", "merge_mode", serde_json::Value::Null),
            vec!["'bi_gru'", "Bidirectional", "merge_mode None", "one output"],
        ),
        (
            "rnn",
            "generic_rnn",
            class("rnn2", "RNN"),
            vec!["'rnn2'", "RNN", "SimpleRNN, GRU or LSTM layer"],
        ),
        (
            "rnn",
            "masking",
            Box::new(|c| {
                let layer = layer_config(c, "rnn1");
                layer["class_name"] = "Masking".into();
                layer["config"]["mask_value"] = 0.25.into();
            }),
            vec![
                "'rnn1'",
                "Masking",
                "mask_value 0.25",
                "integer mask values",
            ],
        ),
        (
            "lstm_seq",
            "custom_activation",
            set(
                "lstm1",
                "recurrent_activation",
                serde_json::json!({"module": "my_pkg", "config": "gate"}),
            ),
            vec!["'lstm1'", "custom activation"],
        ),
    ];
    for (model, tag, edit, words) in cases {
        // the refused layer alone: the model's other recurrent layer is provable
        let e = load_err(&with_config(model, tag, edit));
        assert!(matches!(e, Error::Unsupported { .. }), "{tag}: {e}");
        assert_mentions(&e, &words);
    }

    // a recurrent layer reading a vector: the first LSTM returns its last state only
    let path = with_config("lstm_seq", "vector_input", |c| {
        layer_config(c, "lstm1")["config"]["return_sequences"] = false.into()
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["lstm2", "[6]", "a sequence [timesteps, features]"]);

    // reset_after decides the bias' shape: [2, 18] stored, [18] expected without it
    let path = with_config("gru", "reset_before", |c| {
        layer_config(c, "gru1")["config"]["reset_after"] = false.into()
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["gru1", "bias", "[2, 18]", "[18]"]);

    // more units than the weights have
    let path = with_config("rnn", "units", |c| {
        layer_config(c, "rnn2")["config"]["units"] = 7.into()
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["rnn2", "kernel", "[6, 5]", "[6, 7]"]);

    // no bias in the config, one in the file
    let path = with_config("lstm_seq", "no_bias", |c| {
        layer_config(c, "lstm2")["config"]["use_bias"] = false.into()
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["lstm2", "needs 2 weights", "has 3"]);

    // a malformed units or flag is a format error naming the layer
    for (tag, key, v) in [
        ("units_text", "units", serde_json::json!("six")),
        ("flag_number", "return_sequences", serde_json::json!(1)),
    ] {
        let path = with_config("gru", tag, |c| {
            layer_config(c, "gru1")["config"][key] = v.clone()
        });
        let e = load_err(&path);
        assert!(matches!(e, Error::Format { .. }), "{tag}: {e}");
        assert_mentions(&e, &["gru1", key]);
    }
}

#[test]
fn unsupported_layers_are_named() {
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, &str, Edit, Vec<&str>)> = vec![
        (
            "mlp",
            "sparsemax",
            Box::new(|c| layer_config(c, "fc1")["config"]["activation"] = "sparsemax".into()),
            vec!["fc1", "Dense", "sparsemax", "relu"],
        ),
        (
            "mlp",
            "log_softmax_layer",
            Box::new(|c| layer_config(c, "act2")["config"]["activation"] = "log_softmax".into()),
            vec!["act2", "Activation", "log_softmax"],
        ),
        (
            "mlp",
            "mid_softmax",
            Box::new(|c| layer_config(c, "act2")["config"]["activation"] = "softmax".into()),
            vec!["act2", "softmax", "last"],
        ),
        (
            "cnn",
            "causal_2d",
            Box::new(|c| layer_config(c, "conv1")["config"]["padding"] = "causal".into()),
            vec!["conv1", "Conv2D", "causal", "1-D convolutions only"],
        ),
        (
            "cnn",
            "channels_first",
            Box::new(|c| {
                layer_config(c, "pool1")["config"]["data_format"] = "channels_first".into()
            }),
            vec!["pool1", "MaxPooling2D", "channels_first"],
        ),
        (
            "cnn",
            "groups",
            Box::new(|c| layer_config(c, "conv2")["config"]["groups"] = 2.into()),
            vec!["conv2", "groups"],
        ),
        (
            "cnn",
            "threshold",
            Box::new(|c| layer_config(c, "relu1")["config"]["threshold"] = 0.5.into()),
            vec!["relu1", "ReLU", "threshold"],
        ),
        (
            "cnn",
            "softmax_axis",
            Box::new(|c| layer_config(c, "softmax")["config"]["axis"] = (-2).into()),
            vec!["softmax", "axis"],
        ),
        (
            "embedding",
            "mask_zero",
            Box::new(|c| layer_config(c, "embed")["config"]["mask_zero"] = true.into()),
            vec!["conv", "Conv1D", "reads the mask", "mask_zero = true"],
        ),
        (
            "masked_text",
            "masked_sequences",
            Box::new(|c| {
                let bigru = layer_config(c, "bigru");
                for wrapped in ["layer", "backward_layer"] {
                    bigru["config"][wrapped]["config"]["return_sequences"] = true.into();
                }
            }),
            vec!["out", "Dense", "reads the mask"],
        ),
        (
            "masked_functional",
            "foreign_mask",
            Box::new(|c| {
                let mask = &mut layer_config(c, "rnn")["inbound_nodes"][0]["kwargs"]["mask"];
                mask["config"]["keras_history"] = serde_json::json!(["drop", 0, 0]);
            }),
            vec!["rnn", "its mask is the output of 'drop'"],
        ),
        (
            "masked_functional",
            "initial_state",
            Box::new(|c| {
                let rnn = layer_config(c, "rnn");
                let tensor = rnn["inbound_nodes"][0]["args"][0].clone();
                rnn["inbound_nodes"][0]["kwargs"]["initial_state"] = tensor;
            }),
            vec!["rnn", "'embed'", "'initial_state' argument"],
        ),
        (
            "embedding",
            "lora",
            Box::new(|c| layer_config(c, "embed")["config"]["lora_rank"] = 4.into()),
            vec!["embed", "Embedding", "LoRA"],
        ),
        (
            "rmsnorm",
            "rms_axis",
            Box::new(|c| layer_config(c, "rms")["config"]["axis"] = serde_json::json!([1])),
            vec!["rms", "RMSNormalization", "axis", "last"],
        ),
        (
            "layernorm",
            "axis",
            Box::new(|c| layer_config(c, "ln2")["config"]["axis"] = (-2).into()),
            vec!["ln2", "LayerNormalization", "axis -2", "last"],
        ),
        (
            "residual",
            "dot",
            Box::new(|c| layer_config(c, "add")["class_name"] = "Dot".into()),
            vec!["'add'", "Dot", "element-wise", "Add"],
        ),
        (
            "mlp",
            "lambda",
            Box::new(|c| layer_config(c, "act2")["class_name"] = "Lambda".into()),
            vec!["act2", "Lambda", "bytecode"],
        ),
        (
            "poly",
            "other_package",
            Box::new(|c| layer_config(c, "poly")["registered_name"] = "zk>PolyAct".into()),
            vec!["poly", "zk>PolyAct", "kerafold>PolyAct"],
        ),
        (
            "crop",
            "center_larger",
            Box::new(|c| layer_config(c, "center")["config"]["height"] = 20.into()),
            vec!["center", "CenterCrop", "20×9", "resizes"],
        ),
        (
            "preprocess",
            "rescale_list",
            Box::new(|c| {
                layer_config(c, "rescale")["config"]["scale"] = serde_json::json!([0.5, 0.25])
            }),
            vec!["rescale", "Rescaling", "'scale' has 2 values", "(16)"],
        ),
        (
            "preprocess",
            "norm_axis",
            Box::new(|c| layer_config(c, "norm")["config"]["axis"] = serde_json::json!([0])),
            vec!["norm", "Normalization", "axis", "last axis"],
        ),
        (
            "preprocess",
            "norm_invert",
            Box::new(|c| layer_config(c, "norm")["config"]["invert"] = true.into()),
            vec!["norm", "invert"],
        ),
        (
            "residual",
            "two_outputs",
            Box::new(|c| {
                c["config"]["output_layers"] = serde_json::json!([["out", 0, 0], ["gap", 0, 0]])
            }),
            vec!["2 outputs", "exactly one"],
        ),
    ];
    for (model, tag, edit, words) in cases {
        let path = with_config(model, tag, edit);
        let e = load_err(&path);
        assert!(matches!(e, Error::Unsupported { .. }), "{tag}: {e}");
        assert_mentions(&e, &words);
    }
    // cropping a whole dimension away is a shape error, not a panic
    let path = with_config("crop", "crop_all", |c| {
        layer_config(c, "crop")["config"]["cropping"] = serde_json::json!([[4, 4], [0, 0]])
    });
    let e = load_err(&path);
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["crop", "leaves nothing"]);
    // Permute's dims must be a permutation of the input's axes
    let path = with_config("views", "permute_twice", |c| {
        layer_config(c, "swap")["config"]["dims"] = serde_json::json!([1, 1])
    });
    assert_mentions(&load_err(&path), &["swap", "not a permutation", "1..=2"]);
}

/// Normalization with its statistics in the config (`Normalization(mean=…, variance=…)`, no
/// weights) instead of adapted weights: the same affine map, `(x − mean) / √variance`, and
/// Rescaling `x·scale + offset`, checked against the formula on one value.
#[test]
fn normalization_from_config_statistics() {
    let g = load(&model_path("preprocess", Format::Keras)).unwrap();
    let LayerKind::BatchNorm { mean, var, .. } = &g.nodes[0].kind else {
        panic!("{:?}", g.nodes[0].kind)
    };
    let (mean, var) = (mean.clone(), var.clone());
    let path = with_config("preprocess", "norm_config", |c| {
        let n = layer_config(c, "norm");
        n["config"]["mean"] = serde_json::json!(mean.iter().map(|&m| m as f64).collect::<Vec<_>>());
        n["config"]["variance"] =
            serde_json::json!(var.iter().map(|&v| v as f64).collect::<Vec<_>>());
    });
    // the weights file still holds the adapted weights: the config's statistics take precedence
    let from_config = load(&path).unwrap();
    assert_eq!(from_config.nodes[0].kind, g.nodes[0].kind);
    let LayerKind::BatchNorm {
        gamma,
        beta,
        mean: m,
        var: v,
        epsilon,
    } = &g.nodes[1].kind
    else {
        panic!("{:?}", g.nodes[1].kind)
    };
    // Rescaling(0.5, offset=0.125)
    assert_eq!(
        (gamma[3], beta[3], m[3], v[3], *epsilon),
        (0.5, 0.125, 0.0, 1.0, 0.0)
    );
}

#[test]
fn nan_weights_are_refused() {
    let e = load_err(&common::fixture_file("nan.keras"));
    assert!(matches!(e, Error::Overflow { .. }), "{e}");
    assert_mentions(&e, &["fc1", "kernel", "NaN", "non-finite"]);
}

#[test]
fn wrong_input_shapes() {
    let g = load(&model_path("cnn", Format::Keras)).unwrap();
    let e = forward(&g, &[0.0; 143]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["143", "144", "[12, 12, 1]"]);
    assert!(matches!(forward_trace(&g, &[]), Err(Error::Shape { .. })));

    let path = scratch("wrong_shape.json");
    std::fs::write(&path, r#"{"input": [[1, 2, 3], [4, 5, 6]]}"#).unwrap();
    let e = read_inputs(&path, &g.input_shape).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert_mentions(&e, &["[2, 3]", "[12, 12, 1]", "144"]);
}

#[test]
fn missing_and_foreign_files() {
    let e = load_err(Path::new("/nonexistent/model.keras"));
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert_mentions(&e, &["/nonexistent/model.keras"]);

    let path = scratch("text.keras");
    std::fs::write(&path, "this is not a model").unwrap();
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["neither", "zip", "HDF5"]);

    let path = scratch("garbage_zip.keras");
    std::fs::write(&path, b"PK\x03\x04garbage").unwrap();
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["zip"]);

    // A directory (an unzipped .keras).
    let e = load_err(&common::scratch_dir("unzipped"));
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["directory"]);

    // An HDF5 file that is not a Keras model: the weights inside a .keras.
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(model_path("mlp", Format::Keras)).unwrap())
            .unwrap();
    let mut weights = Vec::new();
    archive
        .by_name("model.weights.h5")
        .unwrap()
        .read_to_end(&mut weights)
        .unwrap();
    let path = scratch("weights_only.h5");
    std::fs::write(&path, weights).unwrap();
    let e = load_err(&path);
    assert!(matches!(e, Error::Format { .. }), "{e}");
    assert_mentions(&e, &["model_config", "weights-only"]);
}

/// Keras 2 (tf_keras) writes configs differently: list-style `inbound_nodes`,
/// `batch_input_shape`, BN `axis: [3]`, plain-string dtypes, LeakyReLU `alpha`, no InputLayer
/// in older Sequential configs. The same weights must give the same graph.
#[test]
fn keras2_style_configs() {
    use serde_json::{json, Value};
    fn to_keras2(layer: &mut Value) {
        let cfg = &mut layer["config"];
        if let Some(shape) = cfg.as_object_mut().unwrap().remove("batch_shape") {
            cfg["batch_input_shape"] = shape;
        }
        cfg["dtype"] = "float32".into();
        if layer["class_name"] == "BatchNormalization" {
            layer["config"]["axis"] = json!([3]);
        }
        // [{"args": [tensors], "kwargs": {}}] -> [[["producer", 0, 0, {}], ...]]
        if let Some(nodes) = layer
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .cloned()
        {
            let converted: Vec<Value> = nodes
                .iter()
                .map(|node| {
                    let mut producers = Vec::new();
                    collect(&node["args"], &mut producers);
                    Value::Array(producers)
                })
                .collect();
            layer["inbound_nodes"] = Value::Array(converted);
        }
    }
    fn collect(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            Value::Object(o) if o.get("class_name") == Some(&"__keras_tensor__".into()) => {
                let h = &o["config"]["keras_history"];
                out.push(json!([h[0], h[1], h[2], {}]));
            }
            _ => {}
        }
    }

    let residual = with_config("residual", "keras2", |cfg| {
        cfg["config"]["input_layers"] = json!([["image", 0, 0]]);
        cfg["config"]["output_layers"] = json!([["out", 0, 0]]);
        for l in cfg["config"]["layers"].as_array_mut().unwrap() {
            to_keras2(l);
        }
    });
    assert_eq!(
        load(&residual).unwrap(),
        load(&model_path("residual", Format::Keras)).unwrap()
    );

    let upsample = with_config("upsample", "keras2", |cfg| {
        for l in cfg["config"]["layers"].as_array_mut().unwrap() {
            to_keras2(l);
        }
        let leaky = layer_config(cfg, "leaky");
        leaky["config"]
            .as_object_mut()
            .unwrap()
            .remove("negative_slope");
        leaky["config"]["alpha"] = 0.125.into();
    });
    assert_eq!(
        load(&upsample).unwrap(),
        load(&model_path("upsample", Format::Keras)).unwrap()
    );

    // A Sequential config without InputLayer: the first layer carries the input shape.
    let mlp = with_config("mlp", "no_input_layer", |cfg| {
        let layers = cfg["config"]["layers"].as_array_mut().unwrap();
        layers.remove(0);
        layers[0]["config"]["batch_input_shape"] = json!([null, 16]);
    });
    assert_eq!(
        load(&mlp).unwrap(),
        load(&model_path("mlp", Format::Keras)).unwrap()
    );
}

/// Flipping bytes anywhere in a model file gives a model or an error, never a panic.
#[test]
fn corrupted_bytes_never_panic() {
    for (name, format) in [("residual", Format::H5), ("conv1d", Format::Keras)] {
        let bytes = std::fs::read(model_path(name, format)).unwrap();
        let path = scratch(&format!("flip_{name}.{}", format.extension()));
        let (mut ok, mut err) = (0, 0);
        for off in (0..bytes.len()).step_by(101) {
            let mut b = bytes.clone();
            b[off] ^= 0x5a;
            std::fs::write(&path, &b).unwrap();
            match load(&path) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
        println!("{name}.{}: {ok} loads, {err} errors", format.extension());
        assert!(err > 0);
    }
}
