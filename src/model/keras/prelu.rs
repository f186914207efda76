//! Keras' PReLU, imported as the graph it computes: `x + relu((α − 1)·x)`, which is `x` where
//! `x ≥ 0` and `α·x` elsewhere when every slope `α ≤ 1`; with a steeper slope,
//! `x + (1 − α)·relu(−x)`. The slopes are the scale of an affine step, per channel or (without
//! `shared_axes`) per value, so a PReLU proves with the affine, ReLU and merge gadgets and its
//! slopes are weights like any other (committed, and private with a private model).

use super::*;

impl Ctx<'_> {
    /// A PReLU: `{name}/slope` (the affine step, per value after a `{name}/flat` reshape when
    /// the slopes are not per channel; `{name}/negate` first when a slope exceeds 1),
    /// `{name}/relu`, and `{name}` adding the result to the input.
    pub(super) fn build_prelu(&self, inputs: &[Vec<usize>]) -> Result<Vec<Part>> {
        let [input] = inputs else {
            return Err(self.unsupported("a PReLU of several inputs"));
        };
        self.not_quantized()?;
        let alpha = self.slopes(input)?;
        let n: usize = input.iter().product();
        let c = *input.last().unwrap_or(&1);
        let per_channel = alpha.len() == c;
        let mut parts = Vec::new();
        let mut part = |suffix: &str, kind: LayerKind, from: PartSrc, shape: Vec<usize>| {
            parts.push(Part {
                name: format!("{}/{suffix}", self.def.name),
                class: self.def.class.clone(),
                kind,
                inputs: vec![from],
                shape,
            });
            PartSrc::Part(parts.len() - 1)
        };
        let mut x = PartSrc::Layer(0);
        let flat = if per_channel { input.clone() } else { vec![n] };
        if !per_channel {
            x = part(
                "flat",
                LayerKind::Reshape {
                    target: flat.clone(),
                },
                x,
                flat.clone(),
            );
        }
        let steep = alpha.iter().any(|&a| a > 1.0);
        let scale = |gamma: Vec<f32>| LayerKind::BatchNorm {
            mean: vec![0.0; gamma.len()],
            var: vec![1.0; gamma.len()],
            beta: vec![0.0; gamma.len()],
            gamma,
            epsilon: 0.0,
        };
        x = if steep {
            // (1 − α)·relu(−x)
            let neg = part("negate", scale(vec![-1.0; alpha.len()]), x, flat.clone());
            let relu = part(
                "relu",
                LayerKind::Activation(Activation::Relu),
                neg,
                flat.clone(),
            );
            let gamma = alpha.iter().map(|&a| 1.0 - a).collect();
            part("slope", scale(gamma), relu, flat.clone())
        } else {
            // relu((α − 1)·x) = (1 − α)·relu(−x) for α ≤ 1
            let gamma = alpha.iter().map(|&a| a - 1.0).collect();
            let slope = part("slope", scale(gamma), x, flat.clone());
            part(
                "relu",
                LayerKind::Activation(Activation::Relu),
                slope,
                flat.clone(),
            )
        };
        if !per_channel {
            let target = input.clone();
            x = part("unflat", LayerKind::Reshape { target }, x, input.clone());
        }
        parts.push(Part {
            name: self.def.name.clone(),
            class: self.def.class.clone(),
            kind: LayerKind::Merge(Merge::Add),
            inputs: vec![PartSrc::Layer(0), x],
            shape: input.clone(),
        });
        Ok(parts)
    }

    /// The slopes `α`: one per channel when every axis but the last is shared (Keras'
    /// `shared_axes`, counting the batch axis), else one per value of the input.
    fn slopes(&self, input: &[usize]) -> Result<Vec<f32>> {
        let rank = input.len();
        let mut shape = input.to_vec();
        let axes = match self.get("shared_axes") {
            None => vec![],
            Some(Value::Array(axes)) => axes.clone(),
            Some(one) => vec![one.clone()],
        };
        for a in &axes {
            match a.as_u64() {
                Some(k) if (1..=rank as u64).contains(&k) => shape[k as usize - 1] = 1,
                _ => {
                    return Err(self.bad_config(format!(
                        "shared axis {a} is not an axis 1..={rank} of the input {input:?}"
                    )))
                }
            }
        }
        let alpha = self
            .weights(&[Want {
                names: &["alpha"],
                shape: shape.clone(),
            }])?
            .pop()
            .unwrap_or_default();
        Ok(broadcast(&alpha, &shape, input))
    }
}

/// Slopes stored in `shape` (the input's, 1 on shared axes) for an `input`: one per channel if
/// only the last axis may differ, else one per value of the input.
fn broadcast(alpha: &[f32], shape: &[usize], input: &[usize]) -> Vec<f32> {
    let rank = input.len();
    let c = *input.last().unwrap_or(&1);
    if shape[..rank - 1].iter().all(|&d| d == 1) {
        // per channel (the last axis shared too: one slope for all)
        return (0..c).map(|i| alpha[i % alpha.len()]).collect();
    }
    let strides = row_major_strides(shape);
    let in_strides = row_major_strides(input);
    (0..input.iter().product::<usize>())
        .map(|i| {
            let at: usize = (0..rank)
                .map(|k| (i / in_strides[k] % input[k]) % shape[k] * strides[k])
                .sum();
            alpha[at]
        })
        .collect()
}

/// Row-major strides of `shape`.
fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * shape[k + 1];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slopes_broadcast_over_the_shared_axes() {
        // shared_axes=[1, 2] of an image: per channel
        assert_eq!(broadcast(&[1.0, 2.0], &[1, 1, 2], &[2, 3, 2]), [1.0, 2.0]);
        // all shared: one slope for every channel
        assert_eq!(broadcast(&[0.5], &[1, 1, 1], &[2, 2, 3]), [0.5; 3]);
        // shared_axes=[1, 3]: per column, repeated over rows and channels
        assert_eq!(
            broadcast(&[1.0, 2.0, 3.0], &[1, 3, 1], &[2, 3, 2]),
            [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
        );
        // none shared: per value, as stored
        let all: Vec<f32> = (0..6).map(|v| v as f32).collect();
        assert_eq!(broadcast(&all, &[3, 2], &[3, 2]), all);
    }
}
