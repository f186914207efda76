//! Lowering: a Keras [`Graph`] becomes a linear *program* of compute steps with float weights.
//!
//! Each step is one fold of the proof (docs/DESIGN.md §4): an operation (Dense, Conv, pooling, Add, ...)
//! with the relabelling that precedes it (UpSampling2D, ZeroPadding2D as constant wiring; Flatten,
//! Reshape and Dropout as nothing at all) and the activation that follows it. A BatchNormalization
//! right after a linear layer is folded into that layer's weights; elsewhere it is a per-channel
//! affine step. A final Softmax is not a step: the program exposes logits, and an ArgMax step
//! (added at quantization) proves the class.
//!
//! Merges (Add, Subtract, Multiply, Average, Maximum, Minimum): the fold state holds a stack of
//! saved tensors (a commitment to it). A tensor used both by the next step and by a later merge
//! is pushed by the step that consumes it (`save_input`); a merge pops the last saved tensor and
//! combines the current one with it, so skips may nest (the innermost merged first). Skips may
//! also cross: a save goes under the saved tensors merged before its own (`save_depth`), so the
//! stack stays in merge order. Where two
//! branches of a fork both have layers, a swap step between them pushes the first branch's
//! output and pops the fork's tensor for the second (`Lowering::resume`).

use super::graph::{transpose_geometry, Activation, Graph, LayerKind, Node, Smooth, Src};
use crate::{Error, Result};
use kerafold_step_circuits::saved::MAX_SAVE_DEPTH;
use kerafold_step_circuits::spec::{
    AffineSpec, ConcatSpec, ConvSpec, DenseSpec, DepthwiseSpec, Merge, NormSpec, Op, Padding,
    PoolSpec, Shape3, ViewOp, Window,
};
use serde::{Deserialize, Serialize};

/// One compute step with float weights (layout as the op's spec documents).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloatStep {
    /// Keras layers this step covers, in order (`conv1`, `bn1`, `relu1`).
    pub layers: Vec<String>,
    /// Relabellings applied to the step's input before the op.
    pub views: Vec<ViewOp>,
    /// The operation.
    pub op: Op,
    /// Activation after the op (never Softmax); a recurrent step's state activation φ.
    pub act: Activation,
    /// A recurrent step's gate activation σ (its `act` and this one apply inside the cell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<Activation>,
    /// Kernel (or affine scale) and bias (or affine offset), real values.
    pub w: Vec<f64>,
    /// Bias (or affine offset), real values.
    pub b: Vec<f64>,
    /// Save this step's input as the residual tensor for a later merge.
    pub save_input: bool,
    /// How many saved tensors, merged before this one, stay above it when it is saved
    /// (crossed skips; 0: on top).
    #[serde(default, skip_serializing_if = "kerafold_step_circuits::saved::on_top")]
    pub save_depth: usize,
    /// Output shape as Keras sees it (after the fused layers).
    pub output_shape: Vec<usize>,
}

impl FloatStep {
    /// Where the step saves its input: `Some(depth)` under the top, `None` if it does not.
    pub fn save(&self) -> Option<usize> {
        self.save_input.then_some(self.save_depth)
    }

    /// The name shown to users: the covered layers joined with `+`.
    pub fn name(&self) -> String {
        self.layers.join("+")
    }
}

/// A lowered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// The Keras model's name.
    pub name: String,
    /// Input shape without the batch axis.
    pub input_shape: Vec<usize>,
    /// The compute steps, in order (one fold each).
    pub steps: Vec<FloatStep>,
    /// The model ends in a Softmax: the last step's output are logits.
    pub softmax: bool,
    /// That Softmax is a log_softmax.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_softmax: bool,
    /// The model ends in a sigmoid on one unit (a binary classifier): the last step's output is
    /// its logit, class `[logit > 0]` (the ArgMax of one logit), without the approximation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sigmoid: bool,
    /// Shape of the logits (the last step's output, or the input if there is no step).
    pub output_shape: Vec<usize>,
}

/// Interprets a Keras shape as height × width × channels.
pub fn shape3(shape: &[usize]) -> Shape3 {
    match shape {
        [] => Shape3::vector(1),
        [n] => Shape3::vector(*n),
        [l, c] => Shape3::new(1, *l, *c),
        [h, w, c] => Shape3::new(*h, *w, *c),
        _ => {
            let c = *shape.last().unwrap_or(&1);
            let rest: usize = shape[..shape.len() - 1].iter().product();
            Shape3::new(1, rest, c)
        }
    }
}

/// Where a node's data is: the output of a step (or the model input) seen through views.
#[derive(Clone, Debug, PartialEq)]
struct Tensor {
    /// `None`: the model input; `Some(i)`: the output of step `i`.
    raw: Option<usize>,
    views: Vec<ViewOp>,
    shape: Vec<usize>,
}

/// An operand of a merge that was saved on the stack.
struct SavedOperand {
    tensor: Tensor,
    /// It comes before the operands merged so far in Keras' order.
    saved_first: bool,
    /// A later layer reads it again: the merge leaves it saved.
    keep: bool,
    /// How many saved tensors, read again sooner, the kept tensor goes under (0: it stays).
    keep_depth: usize,
}

struct Lowering<'g> {
    graph: &'g Graph,
    steps: Vec<FloatStep>,
    tensors: Vec<Option<Tensor>>,
    input: Tensor,
    /// Raw tensors saved for later merges or branches, the last saved on top.
    saved: Vec<Option<usize>>,
    /// The raw tensor the next step reads: the last step's output, the input, or after a branch
    /// point the tensor it resumed.
    current: Option<usize>,
    /// The final activation, when it is a Softmax or a log_softmax.
    head: Option<Activation>,
    /// For each node, the node whose data it passes through unchanged (itself if it computes):
    /// Flatten, Reshape, Dropout, views, linear activations and Softmax pass through. The model
    /// input is index `nodes.len()`.
    base: Vec<usize>,
    /// For each base, how many computing layers read it.
    readers: Vec<usize>,
    /// For each node, whether it is a step of its own (a view read by a merge after other
    /// layers ran is one too, see [`materialized_views`]).
    computes: Vec<bool>,
}

fn unsupported(node: &Node, msg: impl Into<String>) -> Error {
    Error::Unsupported {
        layer: node.name.clone(),
        class: node.class_name.clone(),
        msg: msg.into(),
    }
}

fn shape_err(node: &Node, msg: impl Into<String>) -> Error {
    Error::Shape {
        context: format!("layer '{}' ({})", node.name, node.class_name),
        msg: msg.into(),
    }
}

impl<'g> Lowering<'g> {
    fn tensor(&self, src: Src) -> &Tensor {
        match src {
            Src::Input => &self.input,
            Src::Node(i) => self.tensors[i]
                .as_ref()
                .expect("graph nodes are topologically ordered"),
        }
    }

    /// The single input of `node`, which must be the current tensor or, at a branch point, the
    /// tensor saved at the fork (then a swap step resumes it).
    fn current_input(&mut self, at: usize, node: &Node) -> Result<Tensor> {
        let [src] = node.inputs[..] else {
            return Err(unsupported(node, "expected exactly one input"));
        };
        let t = self.tensor(src).clone();
        if t.raw != self.current {
            self.resume(at, node, t.raw)?;
        }
        Ok(t)
    }

    /// A branch point before `node`, which reads `raw`, saved at a fork: a swap step sets the
    /// current tensor aside (it is read later, by the merge that joins the branches) and
    /// resumes `raw`.
    fn resume(&mut self, at: usize, node: &Node, raw: Option<usize>) -> Result<()> {
        if self.saved.last() != Some(&raw) {
            let why = if self.saved.contains(&raw) {
                "this layer reads a tensor saved before another that is still waiting for its \
                 merge; kerafold keeps saved tensors as a stack, so branches must close innermost \
                 first"
            } else {
                "this layer reads a tensor computed before the previous layer that is not a \
                 branch of a fork kerafold can follow (one layer reads a tensor first, one more \
                 layer or merge reads it later)"
            };
            return Err(unsupported(node, why));
        }
        let cur = self.current;
        match self.later_readers(at, cur) {
            1 => {}
            0 => {
                return Err(unsupported(
                    node,
                    "the previous layer's output is not used by any later layer; kerafold \
                     proves models with one output",
                ))
            }
            k => {
                return Err(unsupported(
                    node,
                    format!(
                        "the previous layer's output is read by {k} later layers; kerafold \
                         keeps one copy of a tensor set aside"
                    ),
                ))
            }
        }
        // The fork's tensor read again later: if the branch set aside is merged first and the
        // fork's tensor then sits in merge order (read before the tensors under it), the swap
        // keeps it saved under the branch; otherwise the branch's first step saves it again
        // where it belongs (`push_step`). The branch set aside goes under the tensors read
        // before it.
        self.saved.pop();
        let next_of = |r| self.readers_after(at, r).next();
        let keep = match (next_of(raw), next_of(cur)) {
            (Some(x), Some(c)) => c < x && self.save_depth(at, raw, 0) == 0,
            _ => false,
        };
        if keep {
            self.saved.push(raw);
        }
        let save_depth = self.insert_saved(at, node, cur, 0)?;
        self.steps.push(FloatStep {
            layers: vec![format!("{}/branch", node.name)],
            views: vec![],
            op: Op::Swap {
                n: self.raw_len(cur),
                saved: self.raw_len(raw),
                keep,
            },
            act: Activation::Linear,
            gate: None,
            w: vec![],
            b: vec![],
            save_input: true,
            save_depth,
            output_shape: self.raw_shape(raw),
        });
        self.current = raw;
        Ok(())
    }

    /// The Keras shape of a raw tensor.
    fn raw_shape(&self, raw: Option<usize>) -> Vec<usize> {
        raw.map_or(self.input.shape.clone(), |i| {
            self.steps[i].output_shape.clone()
        })
    }

    /// The number of values of a raw tensor.
    fn raw_len(&self, raw: Option<usize>) -> usize {
        self.raw_shape(raw).iter().product()
    }

    /// The current tensor seen through one more view (`view` of its shape): no step, the next
    /// step reads through it.
    fn view(
        &mut self,
        at: usize,
        node: &Node,
        out_shape: Vec<usize>,
        view: impl FnOnce(Shape3) -> ViewOp,
    ) -> Result<Tensor> {
        let mut t = self.current_input(at, node)?;
        t.views.push(view(shape3(&t.shape)));
        t.shape = out_shape;
        Ok(t)
    }

    /// The depth at which saving `raw` keeps the stack sorted by the next read after node `at`:
    /// under the top `above` entries (operands the merge at `at` still takes), then under the
    /// saved tensors read again before `raw` is (a tie, the same layer reading both, stays on
    /// top as a nested skip does).
    fn save_depth(&self, at: usize, raw: Option<usize>, above: usize) -> usize {
        let next = |r| self.readers_after(at, r).next().unwrap_or(usize::MAX);
        let mine = next(raw);
        above
            + self
                .saved
                .iter()
                .rev()
                .skip(above)
                .take_while(|&&s| next(s) < mine)
                .count()
    }

    /// Saves `raw` under the top `above` entries and the saved tensors read again before it
    /// after node `at` (crossed skips), so every merge still finds its operand on top; returns
    /// that depth.
    fn insert_saved(
        &mut self,
        at: usize,
        node: &Node,
        raw: Option<usize>,
        above: usize,
    ) -> Result<usize> {
        let depth = self.save_depth(at, raw, above);
        if depth > MAX_SAVE_DEPTH {
            return Err(unsupported(
                node,
                format!(
                    "a tensor saved for a later layer would go under {depth} others read again \
                     sooner; kerafold crosses at most {MAX_SAVE_DEPTH} skips"
                ),
            ));
        }
        self.saved.insert(self.saved.len() - depth, raw);
        Ok(depth)
    }

    /// How many computing layers after node `at` (merges and the first layers of branches)
    /// read the raw tensor `raw`.
    fn later_readers(&self, at: usize, raw: Option<usize>) -> usize {
        self.readers_after(at, raw).count()
    }

    /// The computing layers after node `at` that read the raw tensor `raw`, in graph order.
    fn readers_after(&self, at: usize, raw: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        let n = self.graph.nodes.len();
        (at + 1..n).filter(move |&i| {
            let m = &self.graph.nodes[i];
            self.computes[i]
                && m.inputs.iter().any(|&s| {
                    let b = self.base[src_index(s, n)];
                    if b == n {
                        raw.is_none()
                    } else {
                        b <= at && self.tensors[b].as_ref().is_some_and(|t| t.raw == raw)
                    }
                })
        })
    }

    /// The operands of a merge or concatenation `node`: the current tensor, and the others,
    /// saved on top of the stack, in the order they are popped (the last saved first). An
    /// ordered merge (a concatenation) pops only operands next to those merged so far, so that
    /// each pairwise step keeps Keras' order. The last operand popped may be read again by a
    /// later layer: its step keeps it saved.
    fn pop_operands(
        &mut self,
        at: usize,
        node: &Node,
        name: &str,
        ordered: bool,
    ) -> Result<(Tensor, Vec<SavedOperand>)> {
        if node.inputs.len() < 2 {
            return Err(unsupported(node, format!("{name} of one tensor")));
        }
        let ops: Vec<Tensor> = node
            .inputs
            .iter()
            .map(|&s| self.tensor(s).clone())
            .collect();
        let cur = self.current;
        let at_cur: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].raw == cur).collect();
        let [c] = at_cur[..] else {
            return Err(unsupported(
                node,
                format!(
                    "one operand of {name} must be the previous layer's output and the others \
                     tensors saved earlier, each read once"
                ),
            ));
        };
        // the current operand's views are the merge step's own; a saved one is read as saved
        if ops
            .iter()
            .enumerate()
            .any(|(i, t)| i != c && !t.views.is_empty())
        {
            return Err(unsupported(node, format!("the operands of {name} must be tensors saved before the branch (skip connections without a view of their own)")));
        }
        let (mut lo, mut hi) = (c, c);
        let mut merged = vec![false; ops.len()];
        merged[c] = true;
        let mut popped = Vec::with_capacity(ops.len() - 1);
        for _ in 1..ops.len() {
            let top = self.saved.last().copied();
            let next = (0..ops.len())
                .filter(|&j| !merged[j] && (!ordered || j + 1 == lo || j == hi + 1))
                .find(|&j| top.is_some() && Some(ops[j].raw) == top);
            let Some(j) = next else {
                let saved = (0..ops.len())
                    .filter(|&j| !merged[j])
                    .all(|j| self.saved.contains(&ops[j].raw));
                return Err(unsupported(
                    node,
                    if saved {
                        format!("{name} merges a tensor saved under another that is still waiting for its merge; kerafold keeps saved tensors sorted by the layer that reads them next (a save or a kept tensor goes under those read sooner), and this merge's operands are not the ones on top in that order (a concatenation takes its operands in Keras' order)")
                    } else {
                        format!("the saved operands of {name} must be tensors saved before the branch (a skip connection without layers of its own)")
                    },
                ));
            };
            let keep = self.later_readers(at, ops[j].raw) > 0;
            // a kept tensor goes back under the operands this merge still takes and the
            // tensors read again before it (a crossed skip)
            self.saved.pop();
            let keep_depth = if keep {
                let still = ops.len() - 2 - popped.len();
                self.insert_saved(at, node, ops[j].raw, still)?
            } else {
                0
            };
            merged[j] = true;
            popped.push(SavedOperand {
                tensor: ops[j].clone(),
                saved_first: j < c,
                keep,
                keep_depth,
            });
            lo = lo.min(j);
            hi = hi.max(j);
        }
        Ok((ops[c].clone(), popped))
    }

    /// Appends a step reading `input`; returns the output tensor.
    #[allow(clippy::too_many_arguments)]
    fn push_step(
        &mut self,
        at: usize,
        node: &Node,
        input: Tensor,
        op: Op,
        act: Activation,
        w: Vec<f64>,
        b: Vec<f64>,
    ) -> Result<Tensor> {
        let mut save_input = false;
        let mut save_depth = 0;
        let later = if op.reads_saved() {
            0
        } else {
            self.later_readers(at, input.raw)
        };
        // one saved copy: a later branch resumes it with a swap and, if more layers read it
        // after that, saves it again (unless the swap kept it saved)
        // (the step saves its input as it was computed, before its views)
        if later >= 1 && !self.saved.contains(&input.raw) {
            save_depth = self.insert_saved(at, node, input.raw, 0)?;
            save_input = true;
        }
        if op.input_len() != input_len(&input) {
            return Err(shape_err(
                node,
                format!(
                    "op reads {} values, its input has {}",
                    op.input_len(),
                    input_len(&input)
                ),
            ));
        }
        self.steps.push(FloatStep {
            layers: vec![node.name.clone()],
            views: input.views,
            op,
            act,
            gate: None,
            w,
            b,
            save_input,
            save_depth,
            output_shape: node.output_shape.clone(),
        });
        self.current = Some(self.steps.len() - 1);
        Ok(Tensor {
            raw: self.current,
            views: vec![],
            shape: node.output_shape.clone(),
        })
    }

    /// A normalization step (`spec`), read back through `back` (a group normalization's
    /// permutation), then `γ` and `β` as a per-channel affine step (none when both are
    /// trivial).
    #[allow(clippy::too_many_arguments)]
    fn normalize(
        &mut self,
        at: usize,
        node: &Node,
        input: Tensor,
        spec: NormSpec,
        back: Option<ViewOp>,
        gamma: &[f32],
        beta: &[f32],
    ) -> Result<Tensor> {
        let c = *input.shape.last().unwrap_or(&1);
        if gamma.len() != c || beta.len() != c {
            return Err(shape_err(
                node,
                format!("parameters do not have {c} channels"),
            ));
        }
        let n = input_len(&input);
        let op = Op::LayerNorm(spec);
        op.validate().map_err(|e| shape_err(node, e))?;
        let mut normed = self.push_step(at, node, input, op, Activation::Linear, vec![], vec![])?;
        if let Some(view) = back {
            // the step's output is the permuted tensor the view reads
            if let (ViewOp::Permute { input: raw, .. }, Some(s)) = (view, self.steps.last_mut()) {
                s.output_shape = vec![raw.h, raw.w, raw.c];
            }
            normed.views.push(view);
        }
        let trivial = gamma.iter().all(|&g| g == 1.0) && beta.iter().all(|&b| b == 0.0);
        if trivial && normed.views.is_empty() {
            return Ok(normed);
        }
        if let Some(s) = self.steps.last_mut() {
            s.layers = vec![format!("{}/normalize", node.name)];
        }
        if trivial {
            // The permutation back as a step of its own, so the layer's output is in Keras'
            // order when saved: a merge takes a saved operand as it was saved, without views.
            let op = Op::Identity { n };
            return self.push_step(at, node, normed, op, Activation::Linear, vec![], vec![]);
        }
        let op = Op::Affine(AffineSpec { n, channels: c });
        let scale = gamma.iter().map(|&g| f64::from(g)).collect();
        let shift = beta.iter().map(|&b| f64::from(b)).collect();
        self.push_step(at, node, normed, op, Activation::Linear, scale, shift)
    }

    /// Whether the last step can take `node` fused in: `node` reads the last step's output and
    /// nothing else reads that output.
    fn fusable(&self, node: &Node, input: &Tensor) -> bool {
        let [src] = node.inputs[..] else { return false };
        !self.steps.is_empty()
            && input.raw == Some(self.steps.len() - 1)
            && self.current == input.raw
            && self.readers[self.base[src_index(src, self.graph.nodes.len())]] == 1
    }

    fn activation_step(&mut self, at: usize, node: &Node, act: Activation) -> Result<Tensor> {
        let input = self.current_input(at, node)?;
        if matches!(act, Activation::Softmax | Activation::LogSoftmax) {
            if at + 1 != self.graph.nodes.len() {
                return Err(unsupported(node, "Softmax is supported only as the model's last operation (the proof exposes logits and their ArgMax)"));
            }
            self.head = Some(act);
            return Ok(Tensor {
                shape: node.output_shape.clone(),
                ..input
            });
        }
        if act == Activation::Linear {
            return Ok(Tensor {
                shape: node.output_shape.clone(),
                ..input
            });
        }
        // Element-wise activations commute with the views, and with zero padding if they map 0
        // to 0 (sigmoid does not).
        if self.fusable(node, &input)
            && (act.fixes_zero() || input.views.is_empty())
            && self
                .steps
                .last()
                .is_some_and(|s| s.act == Activation::Linear)
        {
            let last = self.steps.last_mut().expect("fusable implies a step");
            last.act = act;
            last.layers.push(node.name.clone());
            last.output_shape = node.output_shape.clone();
            return Ok(Tensor {
                shape: node.output_shape.clone(),
                ..input
            });
        }
        let n = input_len(&input);
        self.push_step(at, node, input, Op::Identity { n }, act, vec![], vec![])
    }

    fn lower_node(&mut self, at: usize) -> Result<Tensor> {
        let graph = self.graph;
        let node = &graph.nodes[at];
        let out_shape = node.output_shape.clone();
        match &node.kind {
            LayerKind::Flatten | LayerKind::Reshape { .. } | LayerKind::Dropout => {
                let [src] = node.inputs[..] else {
                    return Err(unsupported(node, "expected exactly one input"));
                };
                let t = self.tensor(src).clone();
                Ok(Tensor {
                    shape: out_shape,
                    ..t
                })
            }
            LayerKind::UpSampling { size } => {
                self.view(at, node, out_shape, |input| ViewOp::UpSample {
                    input,
                    sy: size.0,
                    sx: size.1,
                })
            }
            LayerKind::Reverse => self.view(at, node, out_shape, |input| ViewOp::Reverse { input }),
            LayerKind::Permute { dims } => {
                // a sequence [length, channels] is one row of the view's image: its axes 1, 2
                let rows = usize::from(dims.len() == 2);
                let mut axes = [0; 3];
                for (k, d) in dims.iter().enumerate() {
                    axes[k + rows] = d - 1 + rows;
                }
                self.view(at, node, out_shape, |input| ViewOp::Permute { input, axes })
            }
            &LayerKind::ZeroPadding2D {
                top,
                bottom,
                left,
                right,
            } => self.view(at, node, out_shape, |input| ViewOp::ZeroPad {
                input,
                top,
                bottom,
                left,
                right,
            }),
            &LayerKind::Resize { height, width } => {
                self.view(at, node, out_shape, |input| ViewOp::Resize {
                    input,
                    out_h: height,
                    out_w: width,
                })
            }
            &LayerKind::Cropping {
                top,
                bottom,
                left,
                right,
            } => self.view(at, node, out_shape, |input| ViewOp::Crop {
                input,
                top,
                bottom,
                left,
                right,
            }),
            LayerKind::Activation(act) => self.activation_step(at, node, act.clone()),
            LayerKind::Dense {
                units,
                kernel,
                bias,
                activation,
            } => {
                let input = self.current_input(at, node)?;
                let s = shape3(&input.shape);
                let op = if input.shape.len() <= 1 {
                    Op::Dense(DenseSpec {
                        n_in: s.c,
                        n_out: *units,
                    })
                } else {
                    let window = Window::keras(s, (1, 1), (1, 1), (1, 1), Padding::Valid)
                        .map_err(|e| shape_err(node, e))?;
                    Op::Conv(ConvSpec {
                        window,
                        c_out: *units,
                    })
                };
                self.linear(at, node, input, op, kernel, bias, activation)
            }
            LayerKind::Conv {
                filters,
                kernel_size,
                strides,
                dilation,
                padding,
                kernel,
                bias,
                activation,
                ..
            } => {
                let input = self.current_input(at, node)?;
                let window = Window::keras(
                    shape3(&input.shape),
                    *kernel_size,
                    *strides,
                    *dilation,
                    *padding,
                )
                .map_err(|e| shape_err(node, e))?;
                let op = Op::Conv(ConvSpec {
                    window,
                    c_out: *filters,
                });
                self.linear(at, node, input, op, kernel, bias, activation)
            }
            LayerKind::ConvTranspose {
                filters,
                kernel_size,
                strides,
                padding,
                kernel,
                bias,
                activation,
            } => {
                let mut input = self.current_input(at, node)?;
                let (views, window) = transpose_as_conv(
                    node,
                    shape3(&input.shape),
                    *kernel_size,
                    *strides,
                    *padding,
                )?;
                let p = window.input;
                input.views.extend(views);
                input.shape = vec![p.h, p.w, p.c];
                let kernel = flip_transposed_kernel(node, kernel, *kernel_size, *filters, p.c)?;
                let op = Op::Conv(ConvSpec {
                    window,
                    c_out: *filters,
                });
                self.linear(at, node, input, op, &kernel, bias, activation)
            }
            LayerKind::DepthwiseConv2D {
                kernel_size,
                strides,
                dilation,
                padding,
                depth_multiplier,
                kernel,
                bias,
                activation,
            } => {
                let input = self.current_input(at, node)?;
                let window = Window::keras(
                    shape3(&input.shape),
                    *kernel_size,
                    *strides,
                    *dilation,
                    *padding,
                )
                .map_err(|e| shape_err(node, e))?;
                let op = Op::Depthwise(DepthwiseSpec {
                    window,
                    mult: *depth_multiplier,
                });
                self.linear(at, node, input, op, kernel, bias, activation)
            }
            LayerKind::SeparableConv2D {
                kernel_size,
                strides,
                dilation,
                padding,
                depth_multiplier,
                filters,
                depthwise,
                pointwise,
                bias,
                activation,
            } => {
                // Depthwise (no bias, linear, requantized) then a pointwise 1×1 convolution.
                let input = self.current_input(at, node)?;
                let window = Window::keras(
                    shape3(&input.shape),
                    *kernel_size,
                    *strides,
                    *dilation,
                    *padding,
                )
                .map_err(|e| shape_err(node, e))?;
                let mid = Shape3::new(
                    window.out_h,
                    window.out_w,
                    window.input.c * depth_multiplier,
                );
                let dw = Op::Depthwise(DepthwiseSpec {
                    window,
                    mult: *depth_multiplier,
                });
                let zeros = vec![0.0; mid.c];
                let mut mid_t =
                    self.linear(at, node, input, dw, depthwise, &zeros, &Activation::Linear)?;
                mid_t.shape = vec![mid.h, mid.w, mid.c];
                if let Some(s) = self.steps.last_mut() {
                    s.layers = vec![format!("{}/depthwise", node.name)];
                    s.output_shape = vec![mid.h, mid.w, mid.c];
                }
                let pw_window = Window::keras(mid, (1, 1), (1, 1), (1, 1), Padding::Valid)
                    .map_err(|e| shape_err(node, e))?;
                let pw = Op::Conv(ConvSpec {
                    window: pw_window,
                    c_out: *filters,
                });
                let t = self.linear(at, node, mid_t, pw, pointwise, bias, activation)?;
                if let Some(s) = self.steps.last_mut() {
                    s.layers = vec![format!("{}/pointwise", node.name)];
                }
                Ok(t)
            }
            LayerKind::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                epsilon,
            } => {
                let input = self.current_input(at, node)?;
                let c = *input.shape.last().unwrap_or(&1);
                if [gamma.len(), beta.len(), mean.len(), var.len()] != [c; 4] {
                    return Err(shape_err(
                        node,
                        format!("parameters do not have {c} channels"),
                    ));
                }
                let scale: Vec<f64> = (0..c)
                    .map(|i| gamma[i] as f64 / (var[i] as f64 + *epsilon as f64).sqrt())
                    .collect();
                let shift: Vec<f64> = (0..c)
                    .map(|i| beta[i] as f64 - mean[i] as f64 * scale[i])
                    .collect();
                let foldable = self.fusable(node, &input)
                    && input.views.is_empty()
                    && self
                        .steps
                        .last()
                        .is_some_and(|s| s.op.is_linear() && s.act == Activation::Linear);
                if foldable {
                    let last = self.steps.last_mut().expect("foldable implies a step");
                    fold_affine(last, &scale, &shift);
                    last.layers.push(node.name.clone());
                    return Ok(Tensor {
                        shape: out_shape,
                        ..input
                    });
                }
                let n = input_len(&input);
                let op = Op::Affine(AffineSpec { n, channels: c });
                self.push_step(at, node, input, op, Activation::Linear, scale, shift)
            }
            LayerKind::LayerNorm {
                gamma,
                beta,
                epsilon,
                kind,
            } => {
                // the statistics of each position's channels
                let input = self.current_input(at, node)?;
                let c = *input.shape.last().unwrap_or(&1);
                let n = input_len(&input);
                let spec = NormSpec {
                    groups: n / c.max(1),
                    n: c,
                    eps: NormSpec::eps_fixed(f64::from(*epsilon))
                        .map_err(|e| shape_err(node, e))?,
                    kind: *kind,
                };
                self.normalize(at, node, input, spec, None, gamma, beta)
            }
            LayerKind::GroupNorm {
                groups,
                gamma,
                beta,
                epsilon,
            } => {
                // A group's values are its channels at every position: read as positions ×
                // groups × channels of a group, the permutation to groups × positions × channels
                // makes each group one run for the normalization, and back for what follows.
                let mut input = self.current_input(at, node)?;
                let c = *input.shape.last().unwrap_or(&1);
                let n = input_len(&input);
                let (g, positions) = (*groups, n / c.max(1));
                if g == 0 || !c.is_multiple_of(g) {
                    return Err(shape_err(node, format!("{g} groups of {c} channels")));
                }
                let mut back = None;
                if g > 1 && positions > 1 {
                    let swap = |h, w| ViewOp::Permute {
                        input: Shape3::new(h, w, c / g),
                        axes: [1, 0, 2],
                    };
                    input.views.push(swap(positions, g));
                    back = Some(swap(g, positions));
                }
                let spec = NormSpec {
                    groups: g,
                    n: n / g,
                    eps: NormSpec::eps_fixed(f64::from(*epsilon))
                        .map_err(|e| shape_err(node, e))?,
                    kind: Default::default(),
                };
                self.normalize(at, node, input, spec, back, gamma, beta)
            }
            LayerKind::Pool {
                max,
                pool,
                strides,
                padding,
                ..
            } => {
                let input = self.current_input(at, node)?;
                let window = Window::keras(shape3(&input.shape), *pool, *strides, (1, 1), *padding)
                    .map_err(|e| shape_err(node, e))?;
                let spec = PoolSpec { window };
                let op = if *max {
                    Op::MaxPool(spec)
                } else {
                    Op::AvgPool(spec)
                };
                self.push_step(at, node, input, op, Activation::Linear, vec![], vec![])
            }
            LayerKind::GlobalPool { max, .. } => {
                let input = self.current_input(at, node)?;
                let s = shape3(&input.shape);
                let window = Window::keras(s, (s.h, s.w), (s.h, s.w), (1, 1), Padding::Valid)
                    .map_err(|e| shape_err(node, e))?;
                let spec = PoolSpec { window };
                let op = if *max {
                    Op::MaxPool(spec)
                } else {
                    Op::AvgPool(spec)
                };
                self.push_step(at, node, input, op, Activation::Linear, vec![], vec![])
            }
            &LayerKind::Merge(merge) => {
                let name = merge.keras_name();
                if node.inputs.len() > 2 && merge == Merge::Average {
                    return Err(unsupported(
                        node,
                        format!(
                            "Average of {} tensors: kerafold averages two (a mean of more is not \
                             a chain of pairwise means)",
                            node.inputs.len()
                        ),
                    ));
                }
                let (mut x, others) = self.pop_operands(at, node, name, false)?;
                let last = others.len() - 1;
                for (k, other) in others.into_iter().enumerate() {
                    if input_len(&x) != input_len(&other.tensor) {
                        return Err(shape_err(node, "operands have different sizes"));
                    }
                    let op = Op::Merge {
                        merge,
                        n: input_len(&x),
                        saved_first: other.saved_first && merge.ordered(),
                        keep: other.keep,
                    };
                    x = self.push_step(at, node, x, op, Activation::Linear, vec![], vec![])?;
                    self.moved_kept(other.keep_depth);
                    self.name_partial(node, k, last);
                }
                Ok(x)
            }
            LayerKind::Embedding { vocab, dim, table } => {
                // a one-hot step, then the table as a 1×1 convolution (no bias)
                let input = self.current_input(at, node)?;
                let [n] = input.shape[..] else {
                    return Err(unsupported(
                        node,
                        format!(
                            "an Embedding of input shape {:?}; kerafold embeds a sequence of \
                             token ids (input shape [length])",
                            input.shape
                        ),
                    ));
                };
                let op = Op::OneHot { n, vocab: *vocab };
                op.validate().map_err(|e| shape_err(node, e))?;
                let mut hot =
                    self.push_step(at, node, input, op, Activation::Linear, vec![], vec![])?;
                hot.shape = vec![n, *vocab];
                let step = self.steps.last_mut().expect("just pushed");
                step.layers = vec![format!("{}/one_hot", node.name)];
                step.output_shape = hot.shape.clone();
                let window = Window::keras(
                    Shape3::new(1, n, *vocab),
                    (1, 1),
                    (1, 1),
                    (1, 1),
                    Padding::Valid,
                )
                .map_err(|e| shape_err(node, e))?;
                let op = Op::Conv(ConvSpec {
                    window,
                    c_out: *dim,
                });
                self.linear(
                    at,
                    node,
                    hot,
                    op,
                    table,
                    &vec![0.0; *dim],
                    &Activation::Linear,
                )
            }
            &LayerKind::Concatenate { axis } => {
                let (mut x, others) = self.pop_operands(at, node, "Concatenate", true)?;
                let last = others.len() - 1;
                for (
                    k,
                    SavedOperand {
                        tensor: other,
                        saved_first,
                        keep,
                        keep_depth,
                    },
                ) in others.into_iter().enumerate()
                {
                    if x.shape.len() > 3 || x.shape.len() != other.shape.len() {
                        return Err(unsupported(
                            node,
                            format!(
                                "concatenation of shapes {:?} and {:?}; kerafold concatenates \
                                 tensors of up to three axes",
                                x.shape, other.shape
                            ),
                        ));
                    }
                    let mut shape = x.shape.clone();
                    shape[axis] += other.shape[axis];
                    // the sample's axes are the last of height × width × channels
                    let op = Op::Concat(ConcatSpec {
                        x: shape3(&x.shape),
                        saved: shape3(&other.shape),
                        axis: 3 - x.shape.len() + axis,
                        saved_first,
                        keep,
                    });
                    op.validate().map_err(|e| shape_err(node, e))?;
                    x = self.push_step(at, node, x, op, Activation::Linear, vec![], vec![])?;
                    self.moved_kept(keep_depth);
                    if k < last {
                        x.shape = shape.clone();
                        if let Some(s) = self.steps.last_mut() {
                            s.output_shape = shape;
                        }
                    }
                    self.name_partial(node, k, last);
                }
                Ok(x)
            }
            LayerKind::Recurrent(r) => {
                let input = self.current_input(at, node)?;
                let cell = super::recurrent::lower_cell(&node.name, r, &input.shape)?;
                let t = self.push_step(at, node, input, cell.op, cell.act, cell.w, cell.b)?;
                if let Some(s) = self.steps.last_mut() {
                    s.gate = Some(cell.gate);
                }
                Ok(t)
            }
        }
    }

    /// A view a merge reads after other layers ran (see [`materialized_views`]) becomes an
    /// identity step applying it; other tensors are returned as they are.
    fn materialize(&mut self, at: usize, t: Tensor) -> Result<Tensor> {
        if !self.computes[at] || t.views.is_empty() || !passes_through(&self.graph.nodes[at].kind) {
            return Ok(t);
        }
        let node = &self.graph.nodes[at];
        let op = Op::Identity { n: input_len(&t) };
        self.push_step(at, node, t, op, Activation::Linear, vec![], vec![])
    }

    /// The last step, a merge that keeps its operand, moves it `depth` under the top.
    fn moved_kept(&mut self, depth: usize) {
        if let Some(s) = self.steps.last_mut() {
            s.save_depth = depth;
        }
    }

    /// A merge of more than two tensors is a chain of pairwise steps: all but the last are named
    /// `{layer}/{k}`.
    fn name_partial(&mut self, node: &Node, k: usize, last: usize) {
        if k < last {
            if let Some(s) = self.steps.last_mut() {
                s.layers = vec![format!("{}/{}", node.name, k + 1)];
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn linear(
        &mut self,
        at: usize,
        node: &Node,
        input: Tensor,
        op: Op,
        kernel: &[f32],
        bias: &[f32],
        activation: &Activation,
    ) -> Result<Tensor> {
        let (wl, bl) = op.weight_lens();
        if kernel.len() != wl || bias.len() != bl {
            return Err(shape_err(
                node,
                format!(
                    "weights have {} + {} values, the layer needs {wl} + {bl}",
                    kernel.len(),
                    bias.len()
                ),
            ));
        }
        let w = kernel.iter().map(|&v| v as f64).collect();
        let b = bias.iter().map(|&v| v as f64).collect();
        let act = match activation {
            Activation::Softmax | Activation::LogSoftmax => {
                if at + 1 != self.graph.nodes.len() {
                    return Err(unsupported(
                        node,
                        "a softmax activation is supported only on the model's last layer",
                    ));
                }
                self.head = Some(activation.clone());
                Activation::Linear
            }
            a => a.clone(),
        };
        self.push_step(at, node, input, op, act, w, b)
    }
}

/// A transposed convolution as a convolution: zeros inserted between the inputs (`sy − 1`
/// between rows, `sx − 1` between columns), `k − 1 − pad_before` zeros before them and what the
/// output length needs after, then a `valid` window of stride 1 over the flipped kernel
/// ([`flip_transposed_kernel`]). Output `o` then reads input `i` through tap `o + pad_before −
/// i·s` exactly as the scatter writes it.
fn transpose_as_conv(
    node: &Node,
    input: Shape3,
    kernel_size: (usize, usize),
    strides: (usize, usize),
    padding: Padding,
) -> Result<(Vec<ViewOp>, Window)> {
    let bad = || shape_err(node, "unsupported transposed-convolution geometry");
    // zeros before and after the dilated axis of `n` inputs
    let axis = |n: usize, k: usize, s: usize| -> Result<(usize, usize)> {
        let (out, before) = transpose_geometry(n, k, s, padding).ok_or_else(bad)?;
        let dilated = (n - 1) * s + 1;
        let lead = (k - 1).checked_sub(before).ok_or_else(bad)?;
        let trail = (out + k - 1).checked_sub(dilated + lead).ok_or_else(bad)?;
        Ok((lead, trail))
    };
    let (top, bottom) = axis(input.h, kernel_size.0, strides.0)?;
    let (left, right) = axis(input.w, kernel_size.1, strides.1)?;
    let dilate = ViewOp::Dilate {
        input,
        sy: strides.0,
        sx: strides.1,
    };
    let pad = ViewOp::ZeroPad {
        input: dilate.output_shape(),
        top,
        bottom,
        left,
        right,
    };
    let window = Window::keras(
        pad.output_shape(),
        kernel_size,
        (1, 1),
        (1, 1),
        Padding::Valid,
    )
    .map_err(|e| shape_err(node, e))?;
    Ok((vec![dilate, pad], window))
}

/// A Conv2DTranspose kernel `[kh][kw][filters][c_in]` as the kernel `[kh][kw][c_in][filters]`
/// of the convolution [`transpose_as_conv`] builds: turned half a circle in space.
fn flip_transposed_kernel(
    node: &Node,
    kernel: &[f32],
    (kh, kw): (usize, usize),
    filters: usize,
    c_in: usize,
) -> Result<Vec<f32>> {
    if kernel.len() != kh * kw * filters * c_in {
        return Err(shape_err(node, "kernel size does not match its shape"));
    }
    let mut out = vec![0f32; kernel.len()];
    for u in 0..kh {
        for v in 0..kw {
            for ci in 0..c_in {
                for o in 0..filters {
                    out[((u * kw + v) * c_in + ci) * filters + o] =
                        kernel[(((kh - 1 - u) * kw + (kw - 1 - v)) * filters + o) * c_in + ci];
                }
            }
        }
    }
    Ok(out)
}

fn src_index(src: Src, n: usize) -> usize {
    match src {
        Src::Input => n,
        Src::Node(i) => i,
    }
}

/// Layers that create no step and keep their input's data.
/// Views (UpSampling, Permute, ZeroPadding, Cropping, Resize) whose tensor a merge reads after
/// other layers ran in between. A merge's step applies views to the operand it reads as its
/// input, the tensor computed last, but takes a saved operand as it was saved; such a view is
/// therefore a step of its own (an identity step with the view), whose output is saved.
fn materialized_views(graph: &Graph) -> Vec<bool> {
    let n = graph.nodes.len();
    let mut materialized = vec![false; n];
    for (m, node) in graph.nodes.iter().enumerate() {
        if !matches!(
            node.kind,
            LayerKind::Merge(_) | LayerKind::Concatenate { .. }
        ) {
            continue;
        }
        for &src in &node.inputs {
            // back through the layers passing the operand on, to the nearest view
            let mut chain = vec![];
            let mut at = src;
            while let Src::Node(i) = at {
                let kind = &graph.nodes[i].kind;
                if !passes_through(kind) {
                    break;
                }
                if is_view(kind) {
                    // the view rides on the merge's step only if nothing else runs between them
                    materialized[i] |= !(i + 1..m).all(|k| chain.contains(&k));
                    break;
                }
                chain.push(i);
                let [next] = graph.nodes[i].inputs[..] else {
                    break;
                };
                at = next;
            }
        }
    }
    materialized
}

/// Layers that relabel their input's values (constant wiring a later step applies).
fn is_view(kind: &LayerKind) -> bool {
    matches!(
        kind,
        LayerKind::UpSampling { .. }
            | LayerKind::Reverse
            | LayerKind::Permute { .. }
            | LayerKind::ZeroPadding2D { .. }
            | LayerKind::Cropping { .. }
            | LayerKind::Resize { .. }
    )
}

fn passes_through(kind: &LayerKind) -> bool {
    matches!(
        kind,
        LayerKind::Flatten
            | LayerKind::Reshape { .. }
            | LayerKind::Dropout
            | LayerKind::UpSampling { .. }
            | LayerKind::Reverse
            | LayerKind::Permute { .. }
            | LayerKind::ZeroPadding2D { .. }
            | LayerKind::Cropping { .. }
            | LayerKind::Resize { .. }
            | LayerKind::Activation(Activation::Linear)
            | LayerKind::Activation(Activation::Softmax | Activation::LogSoftmax)
    )
}

fn input_len(t: &Tensor) -> usize {
    match t.views.last() {
        Some(v) => v.output_shape().len(),
        None => t.shape.iter().product(),
    }
}

/// Folds `y = scale[c]·x + shift[c]` (per output channel) into a linear step with linear act.
fn fold_affine(step: &mut FloatStep, scale: &[f64], shift: &[f64]) {
    let c = scale.len();
    match step.op {
        Op::Affine(_) => {
            for ch in 0..step.w.len() {
                // the affine step's channels equal the BN's channels
                step.w[ch] *= scale[ch % c];
                step.b[ch] = step.b[ch] * scale[ch % c] + shift[ch % c];
            }
        }
        _ => {
            // kernel layouts put the output channel last: w[.., co], b[co]
            for (i, w) in step.w.iter_mut().enumerate() {
                *w *= scale[i % c];
            }
            for (co, b) in step.b.iter_mut().enumerate() {
                *b = *b * scale[co % c] + shift[co % c];
            }
        }
    }
}

/// Lowers `graph` into a step program.
pub fn lower(graph: &Graph) -> Result<Program> {
    let n = graph.nodes.len();
    for (at, node) in graph.nodes.iter().enumerate() {
        for &s in &node.inputs {
            if let Src::Node(j) = s {
                if j >= at {
                    return Err(Error::Shape {
                        context: format!("layer '{}'", node.name),
                        msg: "layers are not in topological order".into(),
                    });
                }
            }
        }
    }
    let materialized = materialized_views(graph);
    let computes: Vec<bool> = (graph.nodes.iter().zip(&materialized))
        .map(|(node, &m)| m || !passes_through(&node.kind))
        .collect();
    let mut base: Vec<usize> = (0..=n).collect();
    for (at, node) in graph.nodes.iter().enumerate() {
        if !computes[at] {
            if let [s] = node.inputs[..] {
                base[at] = base[src_index(s, n)];
            }
        }
    }
    let mut readers = vec![0usize; n + 1];
    for (_, node) in graph.nodes.iter().enumerate().filter(|&(i, _)| computes[i]) {
        for &s in &node.inputs {
            readers[base[src_index(s, n)]] += 1;
        }
    }
    let mut l = Lowering {
        graph,
        steps: vec![],
        tensors: vec![None; n],
        input: Tensor {
            raw: None,
            views: vec![],
            shape: graph.input_shape.clone(),
        },
        saved: vec![],
        current: None,
        head: None,
        base,
        readers,
        computes,
    };
    // every layer kerafold cannot lower is reported at once: past one, the graph goes on with a
    // stand-in of its output shape as the current tensor (as import does)
    let mut unsupported = vec![];
    for at in 0..n {
        let t = match l.lower_node(at).and_then(|t| l.materialize(at, t)) {
            Ok(t) => t,
            Err(e @ Error::Unsupported { .. }) => {
                unsupported.push(e);
                Tensor {
                    raw: l.current,
                    views: vec![],
                    shape: graph.nodes[at].output_shape.clone(),
                }
            }
            // past a stand-in, an error may come from the stand-in: report what is certain
            Err(_) if !unsupported.is_empty() => break,
            Err(e) => return Err(e),
        };
        l.tensors[at] = Some(t);
    }
    if let Some(e) = Error::unsupported_layers(unsupported) {
        return Err(e);
    }
    let out = match graph.nodes.last() {
        Some(_) => l.tensors[n - 1].clone().expect("lowered"),
        None => l.input.clone(),
    };
    if out.raw != l.current {
        return Err(Error::Shape {
            context: "model output".into(),
            msg: "the output is not the last computed tensor".into(),
        });
    }
    let mut output_shape = out.shape.clone();
    if !out.views.is_empty() {
        // trailing relabelling with no op after it: materialize it with an identity step
        let len = input_len(&out);
        l.steps.push(FloatStep {
            layers: vec!["output".into()],
            views: out.views,
            op: Op::Identity { n: len },
            act: Activation::Linear,
            gate: None,
            w: vec![],
            b: vec![],
            save_input: false,
            save_depth: 0,
            output_shape: out.shape.clone(),
        });
        output_shape = out.shape;
    }
    if !l.saved.is_empty() {
        return Err(Error::Shape {
            context: "model".into(),
            msg: "a saved residual tensor is never added".into(),
        });
    }
    // a final sigmoid on one unit stays outside the proof, as a softmax does
    let mut steps = l.steps;
    let sigmoid = graph.nodes.last().is_some_and(|n| {
        super::float::activation_of(&n.kind) == Some(&Activation::Smooth(Smooth::Sigmoid))
            && super::float::ends_in_logits(&n.kind, output_shape.iter().product())
    }) && steps
        .last()
        .is_some_and(|s| s.act == Activation::Smooth(Smooth::Sigmoid));
    if sigmoid {
        steps.last_mut().expect("checked").act = Activation::Linear;
    }
    Ok(Program {
        name: graph.name.clone(),
        input_shape: graph.input_shape.clone(),
        steps,
        softmax: l.head.is_some(),
        log_softmax: l.head == Some(Activation::LogSoftmax),
        sigmoid,
        output_shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lowering changes the form, never the function: the program's float execution equals the
    /// graph's on every fixture input.
    #[test]
    fn lowering_preserves_the_float_model() {
        for name in ["cnn", "residual", "mlp", "strided", "upsample", "conv1d"] {
            let (graph, inputs) = crate::model::test_fixture(name);
            let program = lower(&graph).unwrap();
            for x in inputs.iter().take(4) {
                computes_the_graph(&graph, &program, x, name);
            }
        }
    }

    /// The program's float execution on `x` equals the graph's (within 1e-6, relative).
    fn computes_the_graph(graph: &Graph, program: &Program, x: &[f32], what: &str) {
        let want = crate::model::float::forward(graph, x).unwrap().logits;
        let xf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let got = crate::model::quant::run_float(program, &xf).unwrap();
        let got = got.last().map(|(_, post)| post.clone()).unwrap_or(xf);
        assert_eq!(got.len(), want.len(), "{what}");
        for (a, b) in got.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "{what}: {a} vs {b}"
            );
        }
    }

    /// The step of `program` named `name` (its layers joined with `+`).
    fn step_named<'p>(program: &'p Program, name: &str) -> &'p FloatStep {
        program
            .steps
            .iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no step {name}"))
    }

    /// Merges of views (the `unet` fixture): an UpSampling2D read by the Concatenate right
    /// after it is the merge step's view; an UpSampling2D set aside for a residual path and a
    /// Cropping2D of a fork's tensor, read by merges later, are identity steps of their own
    /// (the crop's saves the uncropped tensor for the pooling); the program computes the graph.
    #[test]
    fn merges_read_views_through_their_step_or_an_identity_step() {
        let (graph, inputs) = crate::model::test_fixture("unet");
        let program = lower(&graph).unwrap();
        let step = |name: &str| step_named(&program, name);
        assert!(matches!(
            step("cat_up2").views[..],
            [ViewOp::UpSample { .. }]
        ));
        for (name, saves) in [("crop_skip", true), ("up1", false)] {
            let s = step(name);
            assert!(matches!(s.op, Op::Identity { .. }), "{name}");
            assert_eq!(s.views.len(), 1, "{name}");
            assert_eq!(s.save_input, saves, "{name}");
        }
        assert!(step("res_proj").views.len() == 1 && step("add_up").views.is_empty());
        for x in inputs.iter().take(4) {
            computes_the_graph(&graph, &program, x, "unet");
        }
        // a view read by the merge right after it stays a view of the merge's step
        assert!(
            !materialized_views(&graph)[graph.nodes.iter().position(|n| n.name == "up2").unwrap()]
        );
    }

    /// A Bidirectional wrapper (the `bidirectional` fixture) folds as a fork: the forward layer
    /// saves the sequence, a swap resumes it for the backward layer, which reads it reversed
    /// (its step's view); a sequence output is put back in order by the merge's view; the
    /// program computes the graph.
    #[test]
    fn a_bidirectional_layer_is_a_fork_with_a_reversed_branch() {
        let (graph, inputs) = crate::model::test_fixture("bidirectional");
        let program = lower(&graph).unwrap();
        let step = |name: &str| step_named(&program, name);
        let reversed = |s: &FloatStep| matches!(s.views[..], [ViewOp::Reverse { .. }]);
        for layer in ["bi_lstm", "bi_rnn", "bi_gru"] {
            let forward = step(&format!("{layer}/forward"));
            assert!(forward.save_input && forward.views.is_empty(), "{layer}");
            assert!(matches!(
                step(&format!("{layer}/reverse/branch")).op,
                Op::Swap { .. }
            ));
            assert!(reversed(step(&format!("{layer}/backward"))), "{layer}");
        }
        // sequences are put back in order by the merge's view, a last state is not
        assert!(reversed(step("bi_lstm")) && reversed(step("bi_rnn")));
        assert!(step("bi_gru").views.is_empty());
        for x in inputs.iter().take(4) {
            computes_the_graph(&graph, &program, x, "bidirectional");
        }
    }

    /// BatchNormalization after a convolution and the activation after it become one step;
    /// Flatten and Dropout become nothing; a final Softmax is a flag, not a step.
    #[test]
    fn normalization_and_activations_fuse_into_their_compute_step() {
        let (graph, _) = crate::model::test_fixture("cnn");
        let program = lower(&graph).unwrap();
        assert_eq!(program.steps[0].layers, ["conv1", "bn1", "relu1"]);
        assert!(program.softmax);
        assert!(program
            .steps
            .iter()
            .all(|s| s.layers.iter().all(|l| l != "flat" && l != "drop")));
        assert_eq!(program.output_shape, [10]);
    }

    /// A residual block saves the tensor its Add reads.
    #[test]
    fn a_residual_add_reads_the_saved_input() {
        let (graph, _) = crate::model::test_fixture("residual");
        let program = lower(&graph).unwrap();
        let saved = program.steps.iter().position(|s| s.save_input).unwrap();
        let add = program
            .steps
            .iter()
            .position(|s| s.op.reads_saved())
            .unwrap();
        assert!(saved < add, "saved at {saved}, added at {add}");
    }

    /// A group normalization without scale and offset whose output a merge reads after another
    /// layer: the permutation back is a step of its own, so the merge's saved operand is in
    /// Keras' order; the program computes the graph.
    #[test]
    fn a_group_normalization_read_by_a_later_merge_is_put_back_in_order() {
        let node = |name: &str, kind, inputs| Node {
            name: name.into(),
            class_name: name.into(),
            kind,
            inputs,
            output_shape: vec![2, 3, 4],
        };
        let graph = Graph {
            name: "gn_skip".into(),
            input_shape: vec![2, 3, 4],
            nodes: vec![
                node(
                    "gn",
                    LayerKind::GroupNorm {
                        groups: 2,
                        gamma: vec![1.0; 4],
                        beta: vec![0.0; 4],
                        epsilon: 1e-3,
                    },
                    vec![Src::Input],
                ),
                node(
                    "relu",
                    LayerKind::Activation(Activation::Relu),
                    vec![Src::Node(0)],
                ),
                node(
                    "add",
                    LayerKind::Merge(kerafold_step_circuits::spec::Merge::Add),
                    vec![Src::Node(0), Src::Node(1)],
                ),
            ],
        };
        let program = lower(&graph).unwrap();
        let names: Vec<String> = program.steps.iter().map(FloatStep::name).collect();
        assert_eq!(names, ["gn/normalize", "gn", "relu", "add"]);
        assert!(matches!(
            step_named(&program, "gn").views[..],
            [ViewOp::Permute {
                axes: [1, 0, 2],
                ..
            }]
        ));
        let x: Vec<f32> = (0..24).map(|i| ((i * 7) % 11) as f32 / 4.0 - 1.0).collect();
        computes_the_graph(&graph, &program, &x, "gn_skip");
    }

    /// A chain of Dense 2→2 layers and merges: `links[k]` is node `k`'s inputs (`None`: the
    /// model input), a merge when it has two.
    fn dense_graph(links: &[&[Option<usize>]]) -> Graph {
        let src = |s: &Option<usize>| s.map_or(Src::Input, Src::Node);
        let nodes = links
            .iter()
            .enumerate()
            .map(|(k, ins)| Node {
                name: format!("n{k}"),
                class_name: if ins.len() >= 2 { "Add" } else { "Dense" }.into(),
                kind: if ins.len() >= 2 {
                    LayerKind::Merge(kerafold_step_circuits::spec::Merge::Add)
                } else {
                    LayerKind::Dense {
                        units: 2,
                        kernel: vec![0.5, -0.25 * k as f32, 0.125 + 0.25 * k as f32, 1.0],
                        bias: vec![0.0; 2],
                        activation: Activation::Linear,
                    }
                },
                inputs: ins.iter().map(src).collect(),
                output_shape: vec![2],
            })
            .collect();
        Graph {
            name: "merges".into(),
            input_shape: vec![2],
            nodes,
        }
    }

    /// Nested skips lower (the innermost closes first); crossed skips lower with the later
    /// save under the earlier one's tensor, and a merge that keeps a tensor moves it under one
    /// read sooner; a tensor merged twice is kept saved by its first merge; a merge of three
    /// that keeps the operand it takes first moves it under the one it takes next.
    #[test]
    fn saved_tensors_are_a_stack() {
        // x0 = n0; n1 saves x0, n2 saves n1; n3 = n2 + n1 closes first, n5 = n4 + n0 last
        let nested = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(2), Some(1)],
            &[Some(3)],
            &[Some(4), Some(0)],
        ]);
        let p = lower(&nested).unwrap();
        let saves: Vec<bool> = p.steps.iter().map(|s| s.save_input).collect();
        assert_eq!(saves, [false, true, true, false, false, false]);
        // crossed: the outer tensor (n0) merged while n1 is still waiting; n2 saves n1 under
        // it, so each merge reads its top
        let crossed = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(2), Some(0)],
            &[Some(3)],
            &[Some(4), Some(1)],
        ]);
        let p = lower(&crossed).unwrap();
        let saves: Vec<Option<usize>> = p.steps.iter().map(|s| s.save()).collect();
        assert_eq!(saves, [None, Some(0), Some(1), None, None, None]);
        computes_the_graph(&crossed, &p, &[0.75, -1.5], "crossed");
        // a crossing through a kept tensor: n3 merges n0 and keeps it (n5 reads it again)
        // while n1, saved under it, is merged first by n4: n3 moves n0 one under n1
        let kept_crossed = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(2), Some(0)],
            &[Some(3), Some(1)],
            &[Some(4), Some(0)],
        ]);
        let p = lower(&kept_crossed).unwrap();
        let moves: Vec<(bool, usize)> = p
            .steps
            .iter()
            .map(|s| (s.op.keeps_saved(), s.save_depth))
            .collect();
        assert_eq!(
            moves,
            [
                (false, 0),
                (false, 0),
                (false, 1),
                (true, 1),
                (false, 0),
                (false, 0)
            ]
        );
        computes_the_graph(&kept_crossed, &p, &[0.75, -1.5], "kept crossed");
        // n0 merged twice: the first merge keeps it, the second takes it
        let twice = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1), Some(0)],
            &[Some(2)],
            &[Some(3), Some(0)],
        ]);
        let p = lower(&twice).unwrap();
        let keeps: Vec<(bool, bool)> = p
            .steps
            .iter()
            .map(|s| (s.op.reads_saved(), s.op.keeps_saved()))
            .collect();
        assert_eq!(
            keeps,
            [
                (false, false),
                (false, false),
                (true, true),
                (false, false),
                (true, false)
            ]
        );
        computes_the_graph(&twice, &p, &[0.75, -1.5], "twice");
        // n3 = n2 + n1 + n0 takes n1 off the stack before n0, and n5 reads n1 again
        let three = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(2), Some(1), Some(0)],
            &[Some(3)],
            &[Some(4), Some(1)],
        ]);
        // the first pairwise step keeps n1 and moves it under n0, which the second step takes
        let p = lower(&three).unwrap();
        let moves: Vec<(bool, usize)> = p
            .steps
            .iter()
            .filter(|s| s.op.reads_saved())
            .map(|s| (s.op.keeps_saved(), s.save_depth))
            .collect();
        assert_eq!(moves, [(true, 1), (false, 0), (false, 0)]);
        computes_the_graph(&three, &p, &[0.75, -1.5], "three");
    }

    /// Branches with layers on both sides: a swap step sets the first branch's output aside and
    /// resumes the fork's tensor; the merge joins them. The program computes what the graph does.
    #[test]
    fn branches_swap_at_the_branch_point() {
        let kinds = |p: &Program| p.steps.iter().map(|s| s.op.kind()).collect::<Vec<_>>();
        let saves = |p: &Program| p.steps.iter().map(|s| s.save_input).collect::<Vec<_>>();
        let same_as_graph = |g: &Graph, p: &Program| {
            let x = [0.75f32, -1.5];
            let want = crate::model::float::forward(g, &x).unwrap().logits;
            let got = crate::model::quant::run_float(p, &[0.75, -1.5]).unwrap();
            let got = &got.last().unwrap().1;
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
            }
        };
        // a projection shortcut: n1 and n2 both read n0, n3 = n1 + n2
        let projection = dense_graph(&[&[None], &[Some(0)], &[Some(0)], &[Some(1), Some(2)]]);
        let p = lower(&projection).unwrap();
        assert_eq!(kinds(&p), ["dense", "dense", "swap", "dense", "add"]);
        assert_eq!(saves(&p), [false, true, true, false, false]);
        assert_eq!(p.steps[2].name(), "n2/branch");
        same_as_graph(&projection, &p);
        // a fork at the model input, branches of two layers interleaved in the graph's order
        let interleaved = dense_graph(&[
            &[None],
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(2), Some(3)],
        ]);
        let p = lower(&interleaved).unwrap();
        assert_eq!(
            kinds(&p),
            ["dense", "swap", "dense", "swap", "dense", "swap", "dense", "add"]
        );
        same_as_graph(&interleaved, &p);
        // three branches of n0 joined by one merge (an Inception block): n0 is saved again by
        // the second branch after the swap that resumes it, the merge pops both branches
        let three = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(0)],
            &[Some(0)],
            &[Some(1), Some(2), Some(3)],
        ]);
        let p = lower(&three).unwrap();
        assert_eq!(
            kinds(&p),
            ["dense", "dense", "swap", "dense", "swap", "dense", "add", "add"]
        );
        assert_eq!(
            saves(&p),
            [false, true, true, true, true, false, false, false]
        );
        assert_eq!(p.steps[6].name(), "n4/1");
        assert_eq!(p.steps[7].name(), "n4");
        same_as_graph(&three, &p);
        // three readers of n0 where two branches merge before the third reads n0 (an
        // Inception-ResNet block): the swap before n2 keeps n0 saved under n1, which the merge
        // n3 pops; the swap before n4 then takes n0 off
        let late = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(0)],
            &[Some(1), Some(2)],
            &[Some(0)],
            &[Some(3), Some(4)],
        ]);
        let p = lower(&late).unwrap();
        assert_eq!(
            kinds(&p),
            ["dense", "dense", "swap", "dense", "add", "swap", "dense", "add"]
        );
        assert_eq!(
            saves(&p),
            [false, true, true, false, false, true, false, false]
        );
        let keeps: Vec<bool> = p.steps.iter().map(|s| s.op.keeps_saved()).collect();
        assert_eq!(
            keeps,
            [false, false, true, false, false, false, false, false]
        );
        same_as_graph(&late, &p);
        // the same fork read by a merge after the join (a residual around the block)
        let residual = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(0)],
            &[Some(1), Some(2)],
            &[Some(3)],
            &[Some(4), Some(0)],
        ]);
        let p = lower(&residual).unwrap();
        assert_eq!(
            kinds(&p),
            ["dense", "dense", "swap", "dense", "add", "dense", "add"]
        );
        assert!(p.steps[2].op.keeps_saved());
        same_as_graph(&residual, &p);
        // crossings through a swap: n0, saved at n1, is merged (n5) after the branches join
        // (n4) and before the fork's n1 is read again (n6), so the swap does not keep n1 under
        // the branch set aside; the second branch's first layer saves it again, two deep
        let refork = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(1)],
            &[Some(3), Some(2)],
            &[Some(4), Some(0)],
            &[Some(5), Some(1)],
        ]);
        let p = lower(&refork).unwrap();
        assert_eq!(
            kinds(&p),
            ["dense", "dense", "dense", "swap", "dense", "add", "add", "add"]
        );
        let placed: Vec<(bool, bool, usize)> = p
            .steps
            .iter()
            .map(|s| (s.save_input, s.op.keeps_saved(), s.save_depth))
            .collect();
        assert_eq!(placed[3], (true, false, 0), "the swap drops the fork's n1");
        assert_eq!(placed[4], (true, false, 2), "n3 saves n1 under n0 and n2");
        same_as_graph(&refork, &p);
        // the branch set aside (n2) is merged after n0, which the second branch merges first:
        // the swap saves n2 under n0
        let aside = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(1)],
            &[Some(3), Some(0)],
            &[Some(4), Some(2)],
        ]);
        let p = lower(&aside).unwrap();
        assert_eq!(
            kinds(&p),
            ["dense", "dense", "dense", "swap", "dense", "add", "add"]
        );
        assert_eq!((p.steps[3].save_input, p.steps[3].save_depth), (true, 1));
        same_as_graph(&aside, &p);
        // a branch whose output nothing reads
        let dead = dense_graph(&[&[None], &[Some(0)], &[Some(0)], &[Some(2)]]);
        let err = lower(&dead).unwrap_err().to_string();
        assert!(
            err.contains("n2") && err.contains("not used by any later layer"),
            "{err}"
        );
    }

    /// Recurrent layers lower to one step each (a sequence, then its last state), and the
    /// refusals of other layers are not hidden by them: a softmax before the last layer is named.
    #[test]
    fn recurrent_layers_lower_and_other_refusals_remain() {
        use crate::model::graph::{Recurrent, RecurrentCell};
        let rnn = |units: usize, sequences: bool, features: usize| {
            LayerKind::Recurrent(Recurrent {
                cell: RecurrentCell::SimpleRnn,
                units,
                activation: Activation::Smooth(Smooth::Tanh),
                return_sequences: sequences,
                kernel: vec![0.5; features * units],
                recurrent_kernel: vec![0.25; units * units],
                bias: vec![0.0; units],
                masked: false,
            })
        };
        let mut g = dense_graph(&[&[None], &[Some(0)], &[Some(1)], &[Some(2)], &[Some(3)]]);
        // the input is a sequence [3, 2]: n0 a SimpleRNN of its sequence, n1 one of its last state
        g.input_shape = vec![3, 2];
        g.nodes[0].kind = rnn(2, true, 2);
        g.nodes[0].class_name = "SimpleRNN".into();
        g.nodes[0].output_shape = vec![3, 2];
        g.nodes[1].kind = rnn(2, false, 2);
        g.nodes[1].class_name = "SimpleRNN".into();
        let p = lower(&g).unwrap();
        assert_eq!(p.steps[0].op.kind(), "simple_rnn");
        assert_eq!(p.steps[0].op.output_len(), 6);
        assert_eq!(p.steps[1].op.kind(), "simple_rnn");
        assert_eq!(p.steps[1].op.output_len(), 2);
        g.nodes[3].kind = LayerKind::Activation(Activation::Softmax);
        g.nodes[3].class_name = "Softmax".into();
        let e = lower(&g).unwrap_err().to_string();
        assert!(e.contains("'n3'") && e.contains("last operation"), "{e}");
        assert!(!e.contains("'n0'") && !e.contains("'n1'"), "{e}");
    }

    /// Every layer that cannot be lowered is named at once, each with its reason (a merge of
    /// which no operand is the previous layer's output, and an unused branch here), not only
    /// the first.
    #[test]
    fn every_structure_error_is_reported_at_once() {
        let g = dense_graph(&[
            &[None],
            &[Some(0)],
            &[Some(1)],
            &[Some(1), Some(0)],
            &[Some(3)],
            &[Some(4)],
            &[Some(4)],
            &[Some(6)],
        ]);
        let Err(Error::UnsupportedLayers(found)) = lower(&g) else {
            panic!("two unsupported layers expected");
        };
        let found: Vec<String> = found.iter().map(|e| e.to_string()).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("n3") && found[0].contains("must be the previous layer's output"),
            "{found:?}"
        );
        assert!(
            found[1].contains("n6") && found[1].contains("not used"),
            "{found:?}"
        );
    }
}
