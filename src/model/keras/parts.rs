//! The nodes a Keras layer imports as: most layers are one node; a layer imported as the graph
//! it computes (a Bidirectional wrapper, a PReLU) is several, which read the layer's inputs and
//! each other.

use super::*;

/// One node a layer imports as: most layers are one, a Bidirectional wrapper or a PReLU several.
pub(super) struct Part {
    pub(super) name: String,
    pub(super) class: String,
    pub(super) kind: LayerKind,
    pub(super) inputs: Vec<PartSrc>,
    pub(super) shape: Vec<usize>,
}

/// Where a [`Part`] reads from.
pub(super) enum PartSrc {
    /// The layer's input `k`.
    Layer(usize),
    /// The output of part `j` of the same layer (an earlier one).
    Part(usize),
    /// Graph node `i`, built before the layer (an Embedding's ids, which a masked recurrent
    /// layer returning sequences passes on: `mask`).
    Node(usize),
}

impl Part {
    /// A layer imported as one node reading all of its inputs.
    pub(super) fn whole(
        def: &LayerDef,
        n_inputs: usize,
        (kind, shape): (LayerKind, Vec<usize>),
    ) -> Part {
        Part {
            name: def.name.clone(),
            class: def.class.clone(),
            kind,
            inputs: (0..n_inputs).map(PartSrc::Layer).collect(),
            shape,
        }
    }
}
