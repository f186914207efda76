//! Float reference inference: runs a [`Graph`] in f64 with Keras' exact semantics.
//!
//! This is the ground truth the quantized model is measured against, and a debugging aid
//! ([`forward_trace`] returns every node's output). Semantics, as Keras/TensorFlow compute them:
//! "same" padding is TensorFlow's (the larger half at the bottom/right), max pooling pads with
//! −∞ (padded taps are skipped), average pooling divides by the number of valid taps, batch
//! normalization is `γ·(x−μ)/√(σ²+ε)+β` on the last axis, depthwise output channel `c·mult+m`
//! reads input channel `c`, separable convolution is depthwise (no bias) then pointwise (with
//! bias), upsampling is nearest-neighbour, Dense applies to the last axis, Flatten/Reshape keep
//! the row-major HWC order, Dropout is the identity; SimpleRNN, GRU (either `reset_after`) and
//! LSTM run Keras' cell equations timestep by timestep from a zero state.

use kerafold_step_circuits::spec::{nearest_source, NormKind, Shape3, Window};

use super::graph::{
    transpose_geometry, Activation, Graph, LayerKind, Merge, Node, Padding, Recurrent,
    RecurrentCell, Smooth, Src,
};
use crate::error::{Error, Result};

/// The result of one inference.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatOutput {
    /// The values before a final softmax (equal to `output` when the model ends otherwise).
    pub logits: Vec<f64>,
    /// The model output.
    pub output: Vec<f64>,
}

/// Every node's output of one inference, for layer-by-layer debugging.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatTrace {
    /// `nodes[i]` is the output of `graph.nodes[i]` (flat, row-major over its output shape).
    pub nodes: Vec<Vec<f64>>,
    /// The values before a final softmax (equal to the output when the model ends otherwise).
    pub logits: Vec<f64>,
}

impl FloatTrace {
    /// The model output (the last node's output).
    pub fn output(&self) -> &[f64] {
        self.nodes.last().map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Runs the model on one input (flat, row-major over `graph.input_shape`).
pub fn forward(graph: &Graph, input: &[f32]) -> Result<FloatOutput> {
    let mut trace = forward_trace(graph, input)?;
    let output = trace.nodes.pop().unwrap_or_default();
    Ok(FloatOutput {
        logits: trace.logits,
        output,
    })
}

/// Runs the model on one input and keeps every node's output.
pub fn forward_trace(graph: &Graph, input: &[f32]) -> Result<FloatTrace> {
    let expected = graph.input_len();
    if input.len() != expected {
        return Err(Error::Shape {
            context: format!("input of model '{}'", graph.name),
            msg: format!(
                "got {} values, expected {expected} (shape {:?})",
                input.len(),
                graph.input_shape
            ),
        });
    }
    let x: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
    let mut nodes: Vec<Vec<f64>> = Vec::with_capacity(graph.nodes.len());
    let mut logits = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let mut ins: Vec<(&[f64], &[usize])> = Vec::with_capacity(node.inputs.len());
        for &src in &node.inputs {
            match src {
                Src::Input => ins.push((&x, &graph.input_shape)),
                Src::Node(j) if j < i => ins.push((&nodes[j], &graph.nodes[j].output_shape)),
                Src::Node(j) => {
                    return Err(node_err(
                        node,
                        format!("reads node {j}, which is not computed before it"),
                    ))
                }
            }
        }
        let pre = eval(node, &ins)?;
        let expected: usize = node.output_shape.iter().product();
        if pre.len() != expected {
            return Err(node_err(
                node,
                format!(
                    "computes {} values but its output shape {:?} holds {expected}",
                    pre.len(),
                    node.output_shape
                ),
            ));
        }
        let last_dim = node.output_shape.last().copied().unwrap_or(1);
        let out = match activation_of(&node.kind) {
            Some(act) => activate(act, &pre, last_dim),
            None => pre.clone(),
        };
        if i + 1 == graph.nodes.len() {
            logits = if ends_in_logits(&node.kind, expected) {
                pre
            } else {
                out.clone()
            };
        }
        nodes.push(out);
    }
    if nodes.is_empty() {
        logits = x.clone();
        nodes.push(x);
    }
    Ok(FloatTrace { nodes, logits })
}

fn node_err(node: &Node, msg: impl Into<String>) -> Error {
    Error::Shape {
        context: format!("layer '{}' ({})", node.name, node.class_name),
        msg: msg.into(),
    }
}

/// The activation a node applies after its operation, if any.
pub(crate) fn activation_of(kind: &LayerKind) -> Option<&Activation> {
    match kind {
        LayerKind::Dense { activation, .. }
        | LayerKind::Conv { activation, .. }
        | LayerKind::ConvTranspose { activation, .. }
        | LayerKind::DepthwiseConv2D { activation, .. }
        | LayerKind::SeparableConv2D { activation, .. }
        | LayerKind::Activation(activation) => Some(activation),
        _ => None,
    }
}

/// Whether a model whose last layer is `kind` (with `outputs` values) exposes the values before
/// its activation as logits: a final softmax, or a sigmoid on one unit (a binary classifier).
pub(crate) fn ends_in_logits(kind: &LayerKind, outputs: usize) -> bool {
    match activation_of(kind) {
        Some(Activation::Softmax | Activation::LogSoftmax) => true,
        Some(Activation::Smooth(Smooth::Sigmoid)) => outputs == 1,
        _ => false,
    }
}

/// Applies an activation element-wise (softmax over groups of `last_dim`).
fn activate(act: &Activation, x: &[f64], last_dim: usize) -> Vec<f64> {
    match *act {
        Activation::Linear => x.to_vec(),
        Activation::Relu => x.iter().map(|&v| v.max(0.0)).collect(),
        Activation::ReluMax(m) => x.iter().map(|&v| v.max(0.0).min(f64::from(m))).collect(),
        Activation::LeakyRelu(a) => x
            .iter()
            .map(|&v| if v >= 0.0 { v } else { f64::from(a) * v })
            .collect(),
        Activation::Poly(c) => x.iter().map(|&v| v * v + f64::from(c) * v).collect(),
        Activation::Smooth(f) => x.iter().map(|&v| f.eval(v)).collect(),
        Activation::Softmax => softmax(x, last_dim),
        Activation::LogSoftmax => log_softmax(x, last_dim),
    }
}

/// Keras' Softmax over the last axis (of length `last_dim`).
pub fn softmax(x: &[f64], last_dim: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(last_dim.max(1)) {
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row.iter().map(|&v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        out.extend(e.iter().map(|&v| v / s));
    }
    out
}

/// Keras' log_softmax over the last axis: `x − max − ln Σ e^(x − max)` per row.
pub fn log_softmax(x: &[f64], last_dim: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(last_dim.max(1)) {
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ln_sum = row.iter().map(|&v| (v - m).exp()).sum::<f64>().ln();
        out.extend(row.iter().map(|&v| v - m - ln_sum));
    }
    out
}

/// Input shape as HWC (`h = 1` for rank-1 layers).
fn shape3(node: &Node, shape: &[usize], rank: usize) -> Result<Shape3> {
    if shape.contains(&0) {
        return Err(node_err(node, format!("input shape {shape:?} is empty")));
    }
    match (rank, shape) {
        (1, &[w, c]) => Ok(Shape3::new(1, w, c)),
        (2, &[h, w, c]) => Ok(Shape3::new(h, w, c)),
        _ => Err(node_err(
            node,
            format!("input shape {shape:?} does not fit a rank-{rank} layer"),
        )),
    }
}

fn window(
    node: &Node,
    input: Shape3,
    k: (usize, usize),
    s: (usize, usize),
    d: (usize, usize),
    padding: Padding,
) -> Result<Window> {
    Window::keras(input, k, s, d, padding).map_err(|e| node_err(node, e))
}

fn check_len(node: &Node, what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(node_err(
            node,
            format!("{what} has {got} values, expected {want}"),
        ));
    }
    Ok(())
}

/// Keras' merge layers: element-wise over inputs of one shape, in Keras' order.
fn eval_merge(node: &Node, merge: Merge, ins: &[(&[f64], &[usize])]) -> Result<Vec<f64>> {
    let (first, shape) = ins
        .first()
        .ok_or_else(|| node_err(node, "a merge without inputs"))?;
    if merge == Merge::Subtract && ins.len() != 2 {
        return Err(node_err(node, "Subtract takes exactly two inputs"));
    }
    let mut out = first.to_vec();
    for (x, s) in &ins[1..] {
        if s != shape || x.len() != out.len() {
            return Err(node_err(node, format!("merges shapes {shape:?} and {s:?}")));
        }
        for (o, &v) in out.iter_mut().zip(x.iter()) {
            *o = match merge {
                Merge::Add | Merge::Average => *o + v,
                Merge::Subtract => *o - v,
                Merge::Multiply => *o * v,
                Merge::Maximum => o.max(v),
                Merge::Minimum => o.min(v),
            };
        }
    }
    if merge == Merge::Average {
        let n = ins.len() as f64;
        out.iter_mut().for_each(|o| *o /= n);
    }
    Ok(out)
}

/// Keras' Concatenate: per index of the axes before `axis`, each input's block of the rest in
/// turn.
fn eval_concat(node: &Node, axis: usize, ins: &[(&[f64], &[usize])]) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(ins.iter().map(|(x, _)| x.len()).sum());
    let (_, shape) = ins
        .first()
        .ok_or_else(|| node_err(node, "Concatenate without inputs"))?;
    if axis >= shape.len() {
        return Err(node_err(node, format!("axis {axis} of shape {shape:?}")));
    }
    let outer: usize = shape[..axis].iter().product();
    for o in 0..outer {
        for (x, s) in ins {
            if s.len() != shape.len() || s[..axis] != shape[..axis] {
                return Err(node_err(node, format!("concatenates {shape:?} and {s:?}")));
            }
            let block: usize = s[axis..].iter().product();
            out.extend_from_slice(&x[o * block..(o + 1) * block]);
        }
    }
    Ok(out)
}

/// The node's operation before its activation.
fn eval(node: &Node, ins: &[(&[f64], &[usize])]) -> Result<Vec<f64>> {
    if let LayerKind::Merge(merge) = node.kind {
        return eval_merge(node, merge, ins);
    }
    if let LayerKind::Concatenate { axis } = node.kind {
        return eval_concat(node, axis, ins);
    }
    let (x, shape) = match ins {
        [one] => *one,
        _ => {
            return Err(node_err(
                node,
                format!("expects one input, has {}", ins.len()),
            ))
        }
    };
    if x.len() != shape.iter().product::<usize>() {
        return Err(node_err(node, "input length does not match its shape"));
    }
    match &node.kind {
        LayerKind::Dense {
            units,
            kernel,
            bias,
            ..
        } => {
            let units = *units;
            let n_in = shape.last().copied().unwrap_or(0);
            check_len(node, "kernel", kernel.len(), n_in * units)?;
            check_len(node, "bias", bias.len(), units)?;
            let rows = x.len().checked_div(n_in).unwrap_or(0);
            let mut out = Vec::with_capacity(rows * units);
            for r in 0..rows {
                let xr = &x[r * n_in..(r + 1) * n_in];
                for u in 0..units {
                    let mut acc = f64::from(bias[u]);
                    for (i, &xi) in xr.iter().enumerate() {
                        acc += xi * f64::from(kernel[i * units + u]);
                    }
                    out.push(acc);
                }
            }
            Ok(out)
        }
        LayerKind::Conv {
            rank,
            filters,
            kernel_size,
            strides,
            dilation,
            padding,
            kernel,
            bias,
            ..
        } => {
            let s3 = shape3(node, shape, *rank)?;
            let win = window(node, s3, *kernel_size, *strides, *dilation, *padding)?;
            let f = *filters;
            check_len(node, "kernel", kernel.len(), win.kh * win.kw * s3.c * f)?;
            check_len(node, "bias", bias.len(), f)?;
            let mut out = Vec::with_capacity(win.out_h * win.out_w * f);
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    let base = out.len();
                    out.extend(bias.iter().map(|&b| f64::from(b)));
                    for ky in 0..win.kh {
                        for kx in 0..win.kw {
                            let Some((y, xx)) = win.tap(oy, ox, ky, kx) else {
                                continue;
                            };
                            for ci in 0..s3.c {
                                let xv = x[s3.index(y, xx, ci)];
                                let k0 = ((ky * win.kw + kx) * s3.c + ci) * f;
                                for (o, &k) in
                                    out[base..base + f].iter_mut().zip(&kernel[k0..k0 + f])
                                {
                                    *o += xv * f64::from(k);
                                }
                            }
                        }
                    }
                }
            }
            Ok(out)
        }
        LayerKind::ConvTranspose {
            filters,
            kernel_size: (kh, kw),
            strides: (sy, sx),
            padding,
            kernel,
            bias,
            ..
        } => {
            let s3 = shape3(node, shape, 2)?;
            let geometry = |n, k, st| {
                transpose_geometry(n, k, st, *padding)
                    .ok_or_else(|| node_err(node, "unsupported transposed-convolution geometry"))
            };
            let (oh, top) = geometry(s3.h, *kh, *sy)?;
            let (ow, left) = geometry(s3.w, *kw, *sx)?;
            let f = *filters;
            check_len(node, "kernel", kernel.len(), kh * kw * f * s3.c)?;
            check_len(node, "bias", bias.len(), f)?;
            let mut out: Vec<f64> = (0..oh * ow)
                .flat_map(|_| bias.iter().map(|&b| f64::from(b)))
                .collect();
            // scatter: input (y, x) adds kernel tap (ky, kx) times itself at output
            // (y·sy + ky − top, x·sx + kx − left)
            for y in 0..s3.h {
                for xx in 0..s3.w {
                    for ky in 0..*kh {
                        for kx in 0..*kw {
                            let (Some(oy), Some(ox)) = (
                                (y * sy + ky).checked_sub(top).filter(|&v| v < oh),
                                (xx * sx + kx).checked_sub(left).filter(|&v| v < ow),
                            ) else {
                                continue;
                            };
                            for ci in 0..s3.c {
                                let xv = x[s3.index(y, xx, ci)];
                                for o in 0..f {
                                    let k = kernel[((ky * kw + kx) * f + o) * s3.c + ci];
                                    out[(oy * ow + ox) * f + o] += xv * f64::from(k);
                                }
                            }
                        }
                    }
                }
            }
            Ok(out)
        }
        LayerKind::DepthwiseConv2D {
            kernel_size,
            strides,
            dilation,
            padding,
            depth_multiplier,
            kernel,
            bias,
            ..
        } => {
            let s3 = shape3(node, shape, shape.len().saturating_sub(1))?;
            let win = window(node, s3, *kernel_size, *strides, *dilation, *padding)?;
            check_len(
                node,
                "kernel",
                kernel.len(),
                win.kh * win.kw * s3.c * depth_multiplier,
            )?;
            check_len(node, "bias", bias.len(), s3.c * depth_multiplier)?;
            Ok(depthwise(
                x,
                s3,
                &win,
                *depth_multiplier,
                kernel,
                Some(bias),
            ))
        }
        LayerKind::SeparableConv2D {
            kernel_size,
            strides,
            dilation,
            padding,
            depth_multiplier,
            filters,
            depthwise: dw,
            pointwise,
            bias,
            ..
        } => {
            let s3 = shape3(node, shape, shape.len().saturating_sub(1))?;
            let win = window(node, s3, *kernel_size, *strides, *dilation, *padding)?;
            let mid_c = s3.c * depth_multiplier;
            check_len(node, "depthwise kernel", dw.len(), win.kh * win.kw * mid_c)?;
            check_len(node, "pointwise kernel", pointwise.len(), mid_c * filters)?;
            check_len(node, "bias", bias.len(), *filters)?;
            let mid = depthwise(x, s3, &win, *depth_multiplier, dw, None);
            let mut out = Vec::with_capacity(win.out_h * win.out_w * filters);
            for px in mid.chunks(mid_c) {
                for f in 0..*filters {
                    let mut acc = f64::from(bias[f]);
                    for (j, &v) in px.iter().enumerate() {
                        acc += v * f64::from(pointwise[j * filters + f]);
                    }
                    out.push(acc);
                }
            }
            Ok(out)
        }
        LayerKind::BatchNorm {
            gamma,
            beta,
            mean,
            var,
            epsilon,
        } => {
            let c = shape.last().copied().unwrap_or(0);
            for (what, v) in [
                ("gamma", gamma),
                ("beta", beta),
                ("mean", mean),
                ("var", var),
            ] {
                check_len(node, what, v.len(), c)?;
            }
            let eps = f64::from(*epsilon);
            let scale: Vec<f64> = (0..c)
                .map(|j| f64::from(gamma[j]) / (f64::from(var[j]) + eps).sqrt())
                .collect();
            Ok(x.iter()
                .enumerate()
                .map(|(i, &v)| {
                    let j = i % c;
                    (v - f64::from(mean[j])) * scale[j] + f64::from(beta[j])
                })
                .collect())
        }
        LayerKind::LayerNorm {
            gamma,
            beta,
            epsilon,
            ..
        }
        | LayerKind::GroupNorm {
            gamma,
            beta,
            epsilon,
            ..
        } => {
            let c = shape.last().copied().unwrap_or(0);
            check_len(node, "gamma", gamma.len(), c)?;
            check_len(node, "beta", beta.len(), c)?;
            let eps = f64::from(*epsilon);
            let mut out = match node.kind {
                LayerKind::GroupNorm { groups, .. } => group_norm(x, c, groups, eps),
                LayerKind::LayerNorm { kind, .. } => layer_norm(x, c, eps, kind),
                _ => unreachable!("a layer or group normalization"),
            };
            for (i, v) in out.iter_mut().enumerate() {
                *v = *v * f64::from(gamma[i % c]) + f64::from(beta[i % c]);
            }
            Ok(out)
        }
        LayerKind::Pool {
            max,
            rank,
            pool,
            strides,
            padding,
        } => {
            let s3 = shape3(node, shape, *rank)?;
            let win = window(node, s3, *pool, *strides, (1, 1), *padding)?;
            let mut out = Vec::with_capacity(win.out_h * win.out_w * s3.c);
            for oy in 0..win.out_h {
                for ox in 0..win.out_w {
                    for ch in 0..s3.c {
                        let mut m = f64::NEG_INFINITY;
                        let mut sum = 0.0;
                        let mut count = 0usize;
                        for ky in 0..win.kh {
                            for kx in 0..win.kw {
                                if let Some((y, xx)) = win.tap(oy, ox, ky, kx) {
                                    let v = x[s3.index(y, xx, ch)];
                                    m = m.max(v);
                                    sum += v;
                                    count += 1;
                                }
                            }
                        }
                        out.push(match (*max, count) {
                            (_, 0) => 0.0,
                            (true, _) => m,
                            (false, n) => sum / n as f64,
                        });
                    }
                }
            }
            Ok(out)
        }
        LayerKind::GlobalPool { max, rank } => {
            let s3 = shape3(node, shape, *rank)?;
            let n = s3.h * s3.w;
            let mut out = Vec::with_capacity(s3.c);
            for ch in 0..s3.c {
                let vals = (0..n).map(|p| x[p * s3.c + ch]);
                out.push(if *max {
                    vals.fold(f64::NEG_INFINITY, f64::max)
                } else {
                    vals.sum::<f64>() / n.max(1) as f64
                });
            }
            Ok(out)
        }
        LayerKind::Flatten | LayerKind::Reshape { .. } | LayerKind::Dropout => Ok(x.to_vec()),
        LayerKind::Activation(_) => Ok(x.to_vec()),
        LayerKind::UpSampling { size: (sy, sx) } => {
            let s3 = match *shape {
                [c] => Shape3::new(1, 1, c),
                _ => shape3(node, shape, shape.len().saturating_sub(1))?,
            };
            let (oh, ow) = (s3.h * sy, s3.w * sx);
            let mut out = Vec::with_capacity(oh * ow * s3.c);
            for y in 0..oh {
                for xx in 0..ow {
                    let i = s3.index(y / sy, xx / sx, 0);
                    out.extend_from_slice(&x[i..i + s3.c]);
                }
            }
            Ok(out)
        }
        LayerKind::Reverse => {
            let &[steps, features] = shape else {
                return Err(node_err(
                    node,
                    format!("input shape {shape:?} is not a sequence [timesteps, features]"),
                ));
            };
            let mut out = Vec::with_capacity(x.len());
            for t in (0..steps).rev() {
                out.extend_from_slice(&x[t * features..(t + 1) * features]);
            }
            Ok(out)
        }
        LayerKind::Permute { dims } => {
            // strides of the input's axes; the output walks its own axes in row-major order
            let mut stride = vec![1; shape.len()];
            for k in (0..shape.len().saturating_sub(1)).rev() {
                stride[k] = stride[k + 1] * shape[k + 1];
            }
            if dims.len() != shape.len() {
                return Err(node_err(
                    node,
                    format!("dims {dims:?} do not fit the input shape {shape:?}"),
                ));
            }
            let out_dims: Vec<usize> = dims.iter().map(|&d| shape[d - 1]).collect();
            let mut out = Vec::with_capacity(x.len());
            let mut at = vec![0; dims.len()];
            for _ in 0..x.len() {
                let src: usize = at.iter().zip(dims).map(|(&i, &d)| i * stride[d - 1]).sum();
                out.push(x[src]);
                for k in (0..at.len()).rev() {
                    at[k] += 1;
                    if at[k] < out_dims[k] {
                        break;
                    }
                    at[k] = 0;
                }
            }
            Ok(out)
        }
        &LayerKind::Resize { height, width } => {
            let s3 = shape3(node, shape, 2)?;
            let mut out = Vec::with_capacity(height * width * s3.c);
            for y in 0..height {
                for xx in 0..width {
                    let src = s3.index(
                        nearest_source(y, s3.h, height),
                        nearest_source(xx, s3.w, width),
                        0,
                    );
                    out.extend_from_slice(&x[src..src + s3.c]);
                }
            }
            Ok(out)
        }
        LayerKind::Cropping {
            top,
            bottom,
            left,
            right,
        } => {
            let s3 = shape3(node, shape, shape.len().saturating_sub(1))?;
            let (oh, ow) = (
                s3.h.saturating_sub(top + bottom),
                s3.w.saturating_sub(left + right),
            );
            let mut out = Vec::with_capacity(oh * ow * s3.c);
            for y in 0..oh {
                let src = s3.index(y + top, *left, 0);
                out.extend_from_slice(&x[src..src + ow * s3.c]);
            }
            Ok(out)
        }
        LayerKind::ZeroPadding2D {
            top,
            bottom,
            left,
            right,
        } => {
            let s3 = shape3(node, shape, shape.len().saturating_sub(1))?;
            let (oh, ow) = (s3.h + top + bottom, s3.w + left + right);
            let mut out = vec![0.0; oh * ow * s3.c];
            for y in 0..s3.h {
                for xx in 0..s3.w {
                    let src = s3.index(y, xx, 0);
                    let dst = ((y + top) * ow + xx + left) * s3.c;
                    out[dst..dst + s3.c].copy_from_slice(&x[src..src + s3.c]);
                }
            }
            Ok(out)
        }
        LayerKind::Embedding { vocab, dim, table } => {
            check_len(node, "table", table.len(), vocab * dim)?;
            let mut out = Vec::with_capacity(x.len() * dim);
            for (j, &v) in x.iter().enumerate() {
                let row = token_id(j, v, *vocab).map_err(|e| node_err(node, e))? * dim;
                out.extend(table[row..row + dim].iter().map(|&t| f64::from(t)));
            }
            Ok(out)
        }
        LayerKind::Recurrent(r) => recurrent(node, r, x, shape),
        LayerKind::Merge(_) | LayerKind::Concatenate { .. } => {
            Err(node_err(node, "a merge is evaluated with all its inputs"))
        }
    }
}

/// A recurrent layer over the sequence `x` of `shape` `[timesteps, features]`, from a zero state:
/// every timestep's state, or the last.
fn recurrent(node: &Node, r: &Recurrent, x: &[f64], shape: &[usize]) -> Result<Vec<f64>> {
    let &[steps, row] = shape else {
        return Err(node_err(
            node,
            format!("input shape {shape:?} is not a sequence [timesteps, features]"),
        ));
    };
    // a masked layer's timesteps end with their token id
    let Some(features) = row.checked_sub(usize::from(r.masked)) else {
        return Err(node_err(node, "a masked layer's input has no token ids"));
    };
    let width = r.cell.gates() * r.units;
    check_len(node, "kernel", r.kernel.len(), features * width)?;
    check_len(
        node,
        "recurrent kernel",
        r.recurrent_kernel.len(),
        r.units * width,
    )?;
    check_len(node, "bias", r.bias.len(), r.cell.bias_rows() * width)?;
    let mut state = CellState {
        h: vec![0.0; r.units],
        c: vec![0.0; r.units],
    };
    let mut out = Vec::with_capacity(if r.return_sequences { steps } else { 1 } * r.units);
    for x_t in x.chunks(row.max(1)).take(steps) {
        // Keras' mask: a timestep of padding leaves the state (and the output) as it was
        if r.masked && x_t[features] == 0.0 {
            if r.return_sequences {
                out.extend_from_slice(&state.h);
            }
            continue;
        }
        let x_t = &x_t[..features];
        // x·W + the input bias, every gate
        let mut gates = times(x_t, &r.kernel, width, 0..width);
        add_f32(&mut gates, &r.bias[..width]);
        match &r.cell {
            RecurrentCell::SimpleRnn => simple_rnn_step(r, &gates, &mut state),
            RecurrentCell::Gru {
                recurrent_activation,
                reset_after,
            } => gru_step(r, recurrent_activation, *reset_after, &gates, &mut state),
            RecurrentCell::Lstm {
                recurrent_activation,
            } => lstm_step(r, recurrent_activation, &gates, &mut state),
        }
        if r.return_sequences {
            out.extend_from_slice(&state.h);
        }
    }
    if !r.return_sequences {
        out = state.h;
    }
    Ok(out)
}

/// The state a recurrent layer carries from one timestep to the next: `h`, and an LSTM's cell
/// state `c`.
struct CellState {
    h: Vec<f64>,
    c: Vec<f64>,
}

/// SimpleRNN: `h = act(x·W + b + h·U)`.
fn simple_rnn_step(r: &Recurrent, gates: &[f64], state: &mut CellState) {
    let mut pre = gates.to_vec();
    add(
        &mut pre,
        &times(&state.h, &r.recurrent_kernel, r.units, 0..r.units),
    );
    state.h = activate(&r.activation, &pre, r.units);
}

/// LSTM (gates i, f, c, o): `c = f⊙c + i⊙act(z_c)`, `h = o⊙act(c)`, each gate `z = x·W + b +
/// h·U` and `i, f, o` through the recurrent activation.
fn lstm_step(r: &Recurrent, recurrent_act: &Activation, gates: &[f64], state: &mut CellState) {
    let u = r.units;
    let mut z = gates.to_vec();
    add(
        &mut z,
        &times(&state.h, &r.recurrent_kernel, 4 * u, 0..4 * u),
    );
    let i = activate(recurrent_act, &z[..u], u);
    let f = activate(recurrent_act, &z[u..2 * u], u);
    let candidate = activate(&r.activation, &z[2 * u..3 * u], u);
    let o = activate(recurrent_act, &z[3 * u..], u);
    for k in 0..u {
        state.c[k] = f[k] * state.c[k] + i[k] * candidate[k];
    }
    let c_act = activate(&r.activation, &state.c, u);
    state.h = (0..u).map(|k| o[k] * c_act[k]).collect();
}

/// GRU (gates z, r, h): `z, r = rec_act(x·W + b_in + h·U + b_rec)` (`b_rec` only with
/// `reset_after`), the candidate `act(x·W_h + b_h^in + r⊙(h·U_h + b_h^rec))` with `reset_after`,
/// else `act(x·W_h + b_h + (r⊙h)·U_h)`, and `h = z⊙h + (1 − z)⊙candidate`.
fn gru_step(
    r: &Recurrent,
    recurrent_act: &Activation,
    reset_after: bool,
    gates: &[f64],
    state: &mut CellState,
) {
    let u = r.units;
    let width = 3 * u;
    // the recurrent bias: the bias' second row with reset_after, none otherwise
    let recurrent_bias = if reset_after {
        &r.bias[width..2 * width]
    } else {
        &[][..]
    };
    let mut zr = gates[..2 * u].to_vec();
    let mut h_zr = times(&state.h, &r.recurrent_kernel, width, 0..2 * u);
    if reset_after {
        add_f32(&mut h_zr, &recurrent_bias[..2 * u]);
    }
    add(&mut zr, &h_zr);
    let z = activate(recurrent_act, &zr[..u], u);
    let reset = activate(recurrent_act, &zr[u..], u);
    let recurrent_h: Vec<f64> = if reset_after {
        let mut h_u = times(&state.h, &r.recurrent_kernel, width, 2 * u..width);
        add_f32(&mut h_u, &recurrent_bias[2 * u..]);
        (0..u).map(|k| reset[k] * h_u[k]).collect()
    } else {
        let reset_h: Vec<f64> = (0..u).map(|k| reset[k] * state.h[k]).collect();
        times(&reset_h, &r.recurrent_kernel, width, 2 * u..width)
    };
    let mut pre = gates[2 * u..].to_vec();
    add(&mut pre, &recurrent_h);
    let candidate = activate(&r.activation, &pre, u);
    state.h = (0..u)
        .map(|k| z[k] * state.h[k] + (1.0 - z[k]) * candidate[k])
        .collect();
}

/// `v·M[:, cols]` for the row-major matrix `m` of `width` columns (and `v.len()` rows).
fn times(v: &[f64], m: &[f32], width: usize, cols: std::ops::Range<usize>) -> Vec<f64> {
    let mut out = vec![0.0; cols.len()];
    for (row, &vi) in m.chunks(width.max(1)).zip(v) {
        for (o, &w) in out.iter_mut().zip(&row[cols.clone()]) {
            *o += vi * f64::from(w);
        }
    }
    out
}

/// `a += b`, element-wise.
fn add(a: &mut [f64], b: &[f64]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

/// `a += b` for float weights `b`, element-wise.
fn add_f32(a: &mut [f64], b: &[f32]) {
    a.iter_mut().zip(b).for_each(|(x, &y)| *x += f64::from(y));
}

/// The id of token `j` of an Embedding's input: `v` must be an integer in `0..vocab` (the float
/// graph and the float program read ids alike).
pub(crate) fn token_id(j: usize, v: f64, vocab: usize) -> std::result::Result<usize, String> {
    if v.fract() != 0.0 || v < 0.0 || v >= vocab as f64 {
        return Err(format!(
            "token {j} = {v} is not an integer id in 0..{vocab}"
        ));
    }
    Ok(v as usize)
}

/// Depthwise convolution: output channel `c·mult + m` reads input channel `c`.
fn depthwise(
    x: &[f64],
    s3: Shape3,
    win: &Window,
    mult: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f64> {
    let c_out = s3.c * mult;
    let mut out = Vec::with_capacity(win.out_h * win.out_w * c_out);
    for oy in 0..win.out_h {
        for ox in 0..win.out_w {
            let base = out.len();
            match bias {
                Some(b) => out.extend(b.iter().map(|&v| f64::from(v))),
                None => out.resize(base + c_out, 0.0),
            }
            for ky in 0..win.kh {
                for kx in 0..win.kw {
                    let Some((y, xx)) = win.tap(oy, ox, ky, kx) else {
                        continue;
                    };
                    for c in 0..s3.c {
                        let xv = x[s3.index(y, xx, c)];
                        let k0 = ((ky * win.kw + kx) * s3.c + c) * mult;
                        for m in 0..mult {
                            out[base + c * mult + m] += xv * f64::from(kernel[k0 + m]);
                        }
                    }
                }
            }
        }
    }
    out
}

/// `(x − mean)/√(variance + ε)` over each run of `n` consecutive values (a layer normalization
/// without its scale and offset; the population variance, as Keras').
pub(crate) fn layer_norm(x: &[f64], n: usize, epsilon: f64, kind: NormKind) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for g in x.chunks(n.max(1)) {
        let mean = g.iter().sum::<f64>() / g.len() as f64;
        let about = |centered: bool| if centered { mean } else { 0.0 };
        let m = about(kind.centers_variance());
        let var = g.iter().map(|v| (v - m).powi(2)).sum::<f64>() / g.len() as f64;
        let inv = 1.0 / (var + epsilon).sqrt();
        let m = about(kind.centers_output());
        out.extend(g.iter().map(|v| (v - m) * inv));
    }
    out
}

/// `(x − mean)/√(variance + ε)` over each of `groups` runs of the `c` channels, statistics over
/// every position (Keras' GroupNormalization without its scale and offset).
pub(crate) fn group_norm(x: &[f64], c: usize, groups: usize, epsilon: f64) -> Vec<f64> {
    let size = c / groups.max(1);
    let group = |i: usize| (i % c.max(1)) / size.max(1);
    let mut sum = vec![0.0; groups];
    let mut count = vec![0usize; groups];
    for (i, v) in x.iter().enumerate() {
        sum[group(i)] += v;
        count[group(i)] += 1;
    }
    let mean: Vec<f64> = (0..groups)
        .map(|g| sum[g] / count[g].max(1) as f64)
        .collect();
    let mut var = vec![0.0; groups];
    for (i, v) in x.iter().enumerate() {
        var[group(i)] += (v - mean[group(i)]).powi(2);
    }
    let inv: Vec<f64> = (0..groups)
        .map(|g| 1.0 / (var[g] / count[g].max(1) as f64 + epsilon).sqrt())
        .collect();
    x.iter()
        .enumerate()
        .map(|(i, v)| (v - mean[group(i)]) * inv[group(i)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_normalizes_its_channels_at_every_position() {
        // 2 positions × 4 channels, 2 groups: group 0 is channels 0, 1 at both positions
        let x = [1.0, 2.0, 10.0, 20.0, 3.0, 5.0, 30.0, 70.0];
        let y = group_norm(&x, 4, 2, 1e-3);
        let g0 = layer_norm(&[1.0, 2.0, 3.0, 5.0], 4, 1e-3, NormKind::Standard);
        let g1 = layer_norm(&[10.0, 20.0, 30.0, 70.0], 4, 1e-3, NormKind::Standard);
        let want = [g0[0], g0[1], g1[0], g1[1], g0[2], g0[3], g1[2], g1[3]];
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{y:?} vs {want:?}");
        }
        // one group a channel: each channel over the positions
        let y = group_norm(&x, 4, 4, 0.0);
        assert_eq!(y, [-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
    }

    /// `r` alone over a sequence `x` of one feature; its output.
    fn run(r: Recurrent, x: &[f32]) -> Vec<f64> {
        let output_shape = if r.return_sequences {
            vec![x.len(), r.units]
        } else {
            vec![r.units]
        };
        let graph = Graph {
            name: "recurrent".into(),
            input_shape: vec![x.len(), 1],
            nodes: vec![Node {
                name: "cell".into(),
                class_name: "Recurrent".into(),
                kind: LayerKind::Recurrent(r),
                inputs: vec![Src::Input],
                output_shape,
            }],
        };
        forward(&graph, x).unwrap().output
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }

    const X: [f32; 3] = [1.0, 2.0, -1.5];

    /// One unit, linear: `h = w·x + u·h + b`; the sequence, or its last state.
    #[test]
    fn simple_rnn_by_hand() {
        let (w, u, b) = (0.5, -0.25, 0.125);
        let r = Recurrent {
            cell: RecurrentCell::SimpleRnn,
            units: 1,
            activation: Activation::Linear,
            return_sequences: true,
            kernel: vec![w as f32],
            recurrent_kernel: vec![u as f32],
            bias: vec![b as f32],
            masked: false,
        };
        let mut h = 0.0;
        let want: Vec<f64> = X
            .iter()
            .map(|&x| {
                h = w * f64::from(x) + u * h + b;
                h
            })
            .collect();
        assert_close(&run(r.clone(), &X), &want);
        let last = Recurrent {
            return_sequences: false,
            ..r
        };
        assert_close(&run(last, &X), &want[2..]);
    }

    /// One unit, gates i, f, c, o; ReLU activation, hard sigmoid gates.
    #[test]
    fn lstm_by_hand() {
        let k = [0.5, -0.75, 1.0, 0.25];
        let rk = [0.125, 0.5, -0.5, 1.5];
        let b = [0.0, 1.0, -0.25, 0.5];
        let gate = Smooth::HardSigmoid;
        let r = Recurrent {
            cell: RecurrentCell::Lstm {
                recurrent_activation: Activation::Smooth(gate),
            },
            units: 1,
            activation: Activation::Relu,
            return_sequences: true,
            kernel: k.map(|v| v as f32).to_vec(),
            recurrent_kernel: rk.map(|v| v as f32).to_vec(),
            bias: b.map(|v| v as f32).to_vec(),
            masked: false,
        };
        let (mut h, mut c) = (0.0f64, 0.0f64);
        let want: Vec<f64> = X
            .iter()
            .map(|&x| {
                let z = |g: usize| k[g] * f64::from(x) + rk[g] * h + b[g];
                let (i, f, o) = (gate.eval(z(0)), gate.eval(z(1)), gate.eval(z(3)));
                c = f * c + i * z(2).max(0.0);
                h = o * c.max(0.0);
                h
            })
            .collect();
        assert_close(&run(r, &X), &want);
    }

    /// One unit, gates z, r, h, both variants: with `reset_after` the reset gate multiplies
    /// `h·U_h + b_h^rec` and every gate has the recurrent bias too; without, it multiplies `h`
    /// and there is one bias.
    #[test]
    fn gru_by_hand() {
        let k = [0.5, -0.75, 1.0];
        let rk = [0.25, 0.5, -1.25];
        let b_in = [0.125, -0.5, 0.25];
        let b_rec = [0.375, 0.25, -0.625];
        let sigmoid = Smooth::Sigmoid;
        for reset_after in [true, false] {
            let bias: Vec<f32> = if reset_after {
                b_in.iter().chain(&b_rec).map(|&v| v as f32).collect()
            } else {
                b_in.map(|v| v as f32).to_vec()
            };
            let r = Recurrent {
                cell: RecurrentCell::Gru {
                    recurrent_activation: Activation::Smooth(sigmoid),
                    reset_after,
                },
                units: 1,
                activation: Activation::Smooth(Smooth::Tanh),
                return_sequences: false,
                kernel: k.map(|v| v as f32).to_vec(),
                recurrent_kernel: rk.map(|v| v as f32).to_vec(),
                bias,
                masked: false,
            };
            let rec = |g: usize| if reset_after { b_rec[g] } else { 0.0 };
            let mut h = 0.0f64;
            for &x in &X {
                let x = f64::from(x);
                let z = sigmoid.eval(k[0] * x + b_in[0] + rk[0] * h + rec(0));
                let reset = sigmoid.eval(k[1] * x + b_in[1] + rk[1] * h + rec(1));
                let recurrent = if reset_after {
                    reset * (rk[2] * h + rec(2))
                } else {
                    rk[2] * (reset * h)
                };
                let candidate = (k[2] * x + b_in[2] + recurrent).tanh();
                h = z * h + (1.0 - z) * candidate;
            }
            assert_close(&run(r, &X), &[h]);
        }
    }

    /// Weights that do not fit the layer's shapes are a shape error naming the layer, not a
    /// panic (a graph built by hand or deserialized).
    #[test]
    fn recurrent_weights_of_the_wrong_size_are_refused() {
        let r = Recurrent {
            cell: RecurrentCell::Lstm {
                recurrent_activation: Activation::Smooth(Smooth::Sigmoid),
            },
            units: 2,
            activation: Activation::Smooth(Smooth::Tanh),
            return_sequences: false,
            kernel: vec![0.5; 8],
            recurrent_kernel: vec![0.5; 16],
            bias: vec![0.0; 7],
            masked: false,
        };
        let graph = Graph {
            name: "recurrent".into(),
            input_shape: vec![3, 1],
            nodes: vec![Node {
                name: "cell".into(),
                class_name: "LSTM".into(),
                kind: LayerKind::Recurrent(r),
                inputs: vec![Src::Input],
                output_shape: vec![2],
            }],
        };
        let e = forward(&graph, &X).unwrap_err().to_string();
        assert!(
            e.contains("'cell'") && e.contains("bias has 7 values"),
            "{e}"
        );
    }
}
