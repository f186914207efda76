//! Convolution and pooling layers in **row bands** (docs/DESIGN.md §7.4): the plan that cuts a
//! layer into bands of output rows, and the shifters that place a band's rows.
//!
//! A band computes `rows` output rows of a sliding-window layer from the input rows they read
//! (the halo included). Its input tensor is read as a **stream** of commitment blocks
//! ([`crate::commit`]), each block once and in order, exactly as a Dense tile reads its rows; what
//! a band needs again — the halo rows, and up to a block of values read ahead of its rows — is the
//! **tail**: the last `tail` values of the stream so far, carried to the next band (hashed into the
//! folded state). Band `j`'s **window** is its tail followed by the `new_blocks` blocks it reads
//! (zeros past the blocks it really reads), and its input rows start at `offset` in that window.
//! Before the tensor's first value the stream is zeros, so "same" padding above the first row comes
//! from the first band's tail, and padding below the last row from the zeros past the tensor's
//! end; a convolution pads with zeros, so every band of a layer has one geometry (the last one's
//! extra rows are masked). Pooling pads with −∞ or excludes padded taps, so only windows without
//! vertical padding (`valid` along the height) are cut into bands.
//!
//! The outputs leave as a stream too: `carried` values (less than a block) wait from the previous
//! band, the band's outputs are placed after them, and the `emit` whole blocks this makes are
//! appended to the layer's output chain; the rest is carried on. The last band emits its partial
//! block (zero-padded, as [`crate::commit`] pads a tensor), so the output chain ends at the
//! commitment of the layer's output.
//!
//! A recurrent layer is cut the same way, a band a timestep: its sequence is the input stream
//! (a timestep's `features` values are a row), its `h` the output rows (every band's, or the
//! last band's only without `return_sequences`), and the band's op is the cell over one
//! timestep; the caller carries the cell's state from band to band beside the tail
//! ([`BandIo::state`]).
//!
//! Everything that varies between bands — `offset`, `new_blocks`, `carried`, `emit`, the first
//! and last flags — is a [`Band`] field that the caller hashes into the architecture chain, so the
//! verifier fixes it; the shifters ([`shift_left`], [`shift_right`]) place values by an amount
//! given as bits, one constraint per value per bit.

use crate::commit::{
    absorb_block, absorb_block_native, block_len, num_blocks, pack_element, select_onehot,
};
use crate::field::{pack_activations, per_element, Field};
use crate::range::{alloc_bits, one, unsat};
use crate::spec::{Op, RecurrentSpec, Shape3, Window};
use nova_snark::frontend::{
    num::AllocatedNum, AllocatedBit, Boolean, ConstraintSystem, LinearCombination, SynthesisError,
};
use serde::{Deserialize, Serialize};

/// Where one band lies in its layer: what it reads, where its rows are in what it read, and what
/// it writes. Hashed into the architecture chain by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Band {
    /// The layer's first band: its tail is zeros and the input stream starts at the tensor's
    /// blinding, the output chain at the output's.
    pub first: bool,
    /// The layer's last band: the input stream has read the whole tensor (its chain must equal
    /// the tensor's commitment) and the output chain is the output's commitment.
    pub last: bool,
    /// Input blocks read from the stream by this band (at most the plan's `new_blocks`).
    pub new_blocks: usize,
    /// Position of the band's first input row in its window (tail ‖ new blocks).
    pub offset: usize,
    /// Output values carried in from the previous band (fewer than a block).
    pub carried: usize,
    /// Whole output blocks this band appends to the output chain.
    pub emit: usize,
    /// Output rows this band computes (the plan's `rows`, fewer on a short last band).
    pub out_rows: usize,
}

/// A layer cut into row bands: the band's operation and the sizes every band shares, then each
/// band's place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandPlan {
    /// The operation one band runs: the layer's, over `in_rows` input rows, `rows` output rows and
    /// no vertical padding; for a recurrent layer, its cell over one timestep
    /// (`Op::Recurrent` of one timestep, the state handed in and out by the caller).
    pub op: Op,
    /// Output rows per band.
    pub rows: usize,
    /// Input rows a band reads (`(rows − 1)·stride + (kernel − 1)·dilation + 1`).
    pub in_rows: usize,
    /// Values carried from band to band on the input side.
    pub tail: usize,
    /// The most input blocks a band reads (its window is `tail + new_blocks·L` values).
    pub new_blocks: usize,
    /// The most output blocks a band emits.
    pub emit_blocks: usize,
    /// Values per commitment block (`L`).
    pub block: usize,
    /// The bands, in order.
    pub bands: Vec<Band>,
}

/// The sizes of the band IO one step circuit shares among its band slots (the largest of each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BandIo {
    /// Values of the tail.
    pub tail: usize,
    /// Input blocks a band may read.
    pub new_blocks: usize,
    /// Output blocks a band may emit.
    pub emit_blocks: usize,
    /// Values per commitment block.
    pub block: usize,
    /// Input values of the widest band.
    pub rows: usize,
    /// Outputs of the widest band.
    pub outputs: usize,
    /// The largest offset of a band's rows in its window.
    pub max_offset: usize,
    /// State values a band hands to the next besides its streams (a recurrent cell's `h`, and
    /// the LSTM's `c`; 0 for other layers).
    pub state: usize,
}

impl BandIo {
    /// The sizes that hold both `self`'s bands and `other`'s.
    pub fn max(self, other: BandIo) -> BandIo {
        BandIo {
            tail: self.tail.max(other.tail),
            new_blocks: self.new_blocks.max(other.new_blocks),
            emit_blocks: self.emit_blocks.max(other.emit_blocks),
            block: self.block.max(other.block),
            rows: self.rows.max(other.rows),
            outputs: self.outputs.max(other.outputs),
            max_offset: self.max_offset.max(other.max_offset),
            state: self.state.max(other.state),
        }
    }

    /// Values of the shared window (tail and fresh blocks).
    pub fn window_len(&self) -> usize {
        self.tail + self.new_blocks * self.block
    }

    /// Values of the output window (carried values, then the outputs, to the last value the
    /// carry may read).
    pub fn out_window_len(&self) -> usize {
        (self.emit_blocks * self.block + self.block - 1).max(self.block - 1 + self.outputs)
    }
}

/// The sliding window of a layer that can be cut into bands.
pub fn window(op: &Op) -> Option<&Window> {
    match op {
        Op::Conv(c) => Some(&c.window),
        Op::Depthwise(d) => Some(&d.window),
        Op::MaxPool(p) | Op::AvgPool(p) => Some(&p.window),
        _ => None,
    }
}

/// `op` with its window replaced.
fn with_window(op: &Op, w: Window) -> Op {
    let mut op = *op;
    match &mut op {
        Op::Conv(c) => c.window = w,
        Op::Depthwise(d) => d.window = w,
        Op::MaxPool(p) | Op::AvgPool(p) => p.window = w,
        _ => {}
    }
    op
}

/// How a layer's input and output run in rows, as a plan cuts them: a sliding window's rows of
/// `w·c` values, or a recurrent layer's timesteps (its cell reads one row of `features` values
/// and writes `h`, on every timestep or on the last only).
struct Rows {
    /// The sliding window (`None`: a recurrent layer's timesteps).
    window: Option<Window>,
    /// Input rows and values per row.
    in_h: usize,
    row_len: usize,
    /// Input rows between output rows, and input rows one output row reads.
    stride: usize,
    reach: usize,
    /// Zero rows above the input.
    pad_top: usize,
    /// Output rows and values per row.
    out_h: usize,
    out_row: usize,
    /// Only the last band outputs (a recurrent layer without `return_sequences`).
    last_only: bool,
}

impl Rows {
    fn of(op: &Op) -> Result<Self, String> {
        if let Op::Recurrent(r) = op {
            return Ok(Self {
                window: None,
                in_h: r.timesteps,
                row_len: r.cell.input_len(),
                stride: 1,
                reach: 1,
                pad_top: 0,
                out_h: r.timesteps,
                out_row: r.cell.units,
                last_only: !r.return_sequences,
            });
        }
        let w = *window(op).ok_or_else(|| {
            format!(
                "a {} layer has no sliding window to cut into row bands",
                op.kind()
            )
        })?;
        let pooling = matches!(op, Op::MaxPool(_) | Op::AvgPool(_));
        let reach = (w.kh - 1) * w.dh + 1;
        if pooling && (w.pad_top != 0 || (w.out_h - 1) * w.sh + reach > w.input.h) {
            return Err(
                "pooling with vertical padding is not cut into row bands (its padding is not zeros)"
                    .into(),
            );
        }
        let out = op.output_shape();
        Ok(Self {
            window: Some(w),
            in_h: w.input.h,
            row_len: w.input.w * w.input.c,
            stride: w.sh,
            reach,
            pad_top: w.pad_top,
            out_h: w.out_h,
            out_row: out.w * out.c,
            last_only: false,
        })
    }
}

/// Whether [`BandPlan`] cuts `op`'s layer: a sliding window or a recurrent layer's timesteps.
pub fn bandable(op: &Op) -> bool {
    window(op).is_some() || matches!(op, Op::Recurrent(_))
}

impl BandPlan {
    /// Cuts `op` (a convolution or pooling layer over `bits`-bit activations) into bands of
    /// `rows` output rows, or a recurrent layer into bands of one timestep (`rows` = 1): its
    /// sequence is the input stream, one row a timestep, and `h` the output rows. Errors name why
    /// a layer cannot be cut.
    pub fn new(op: &Op, rows: usize, bits: u32) -> Result<Self, String> {
        Self::with_tail(op, rows, bits, 0)
    }

    /// [`BandPlan::new`] with a tail of at least `min_tail` values: the bands of several layers
    /// share one window in a step circuit, so they share its tail length too.
    pub fn with_tail(op: &Op, rows: usize, bits: u32, min_tail: usize) -> Result<Self, String> {
        // validated first: the geometry subtracts from the window's sizes
        op.validate()?;
        let g = Rows::of(op)?;
        if rows == 0 {
            return Err("a band of zero output rows".into());
        }
        if g.window.is_none() && rows != 1 {
            return Err(format!(
                "a recurrent layer's bands are one timestep each, not {rows}"
            ));
        }
        let rows = rows.min(g.out_h);
        let in_rows = (rows - 1) * g.stride + g.reach;
        let block = block_len(bits);
        let row_len = g.row_len as isize;
        let (h, l) = (g.in_h as isize, block as isize);
        let total_blocks = num_blocks(g.in_h * g.row_len, bits) as isize;
        let n_bands = g.out_h.div_ceil(rows);

        // the stream: blocks read after each band, and where each band's rows begin
        let mut read = Vec::with_capacity(n_bands); // blocks read before band j
        let mut start = Vec::with_capacity(n_bands); // flat index of band j's first input row
        let mut done = 0isize;
        for j in 0..n_bands {
            let y0 = (j * rows * g.stride) as isize - g.pad_top as isize;
            let y_end = (y0 + in_rows as isize).clamp(0, h);
            read.push(done);
            start.push(y0 * row_len);
            done = if j + 1 == n_bands {
                total_blocks
            } else {
                done.max((y_end * row_len + l - 1) / l)
            };
        }
        read.push(done);
        // the tail covers each band's rows before what it reads; the window, its rows after
        let tail = (0..n_bands)
            .map(|j| read[j] * l - start[j])
            .max()
            .unwrap_or(0)
            .max(min_tail as isize);
        let span = in_rows as isize * row_len;
        let new_blocks = (0..n_bands)
            .map(|j| {
                let n = read[j + 1] - read[j];
                let reach = start[j] + span - read[j] * l; // past the tail
                n.max((reach + l - 1) / l)
            })
            .max()
            .unwrap_or(0)
            .max(1);

        // the output stream
        let mut carried = 0usize;
        let mut bands = Vec::with_capacity(n_bands);
        for j in 0..n_bands {
            let last = j + 1 == n_bands;
            let out_rows = if g.last_only {
                usize::from(last)
            } else {
                rows.min(g.out_h - j * rows)
            };
            let total = carried + out_rows * g.out_row;
            let emit = if last {
                total.div_ceil(block)
            } else {
                total / block
            };
            bands.push(Band {
                first: j == 0,
                last,
                new_blocks: (read[j + 1] - read[j]) as usize,
                offset: (start[j] - read[j] * l + tail) as usize,
                carried,
                emit,
                out_rows,
            });
            carried = total - (emit * block).min(total);
        }
        let emit_blocks = bands.iter().map(|b| b.emit).max().unwrap_or(0);
        let op = match (g.window, op) {
            (Some(w), _) => with_window(
                op,
                Window {
                    input: Shape3::new(in_rows, w.input.w, w.input.c),
                    pad_top: 0,
                    out_h: rows,
                    ..w
                },
            ),
            (None, Op::Recurrent(r)) => Op::Recurrent(RecurrentSpec {
                timesteps: 1,
                return_sequences: true,
                ..*r
            }),
            (None, _) => return Err(format!("a {} layer has no rows", op.kind())),
        };
        op.validate()
            .map_err(|e| format!("the band's operation: {e}"))?;
        Ok(Self {
            op,
            rows,
            in_rows,
            tail: tail as usize,
            new_blocks: new_blocks as usize,
            emit_blocks,
            block,
            bands,
        })
    }

    /// The sizes of this plan's band IO.
    pub fn io(&self) -> BandIo {
        BandIo {
            tail: self.tail,
            new_blocks: self.new_blocks,
            emit_blocks: self.emit_blocks,
            block: self.block,
            rows: self.input_len(),
            outputs: self.op.output_len(),
            max_offset: self.max_offset(),
            state: self.state_len(),
        }
    }

    /// Output values per output row (a recurrent layer's: its units).
    pub fn out_row(&self) -> usize {
        self.op.output_len() / self.rows
    }

    /// State values a band hands to the next: a recurrent cell's (zero on the first band), none
    /// for a sliding window.
    pub fn state_len(&self) -> usize {
        match self.op {
            Op::Recurrent(r) => r.cell.state_len(),
            _ => 0,
        }
    }

    /// Native twin of [`read`] for band `j` over the layer input `x`: the input chain after the
    /// band's new blocks (from `chain`) and the tail it carries on.
    pub fn read_native<F: Field>(&self, j: usize, x: &[i64], chain: F, bits: u32) -> (F, Vec<i64>) {
        let win = self.window_values(j, x);
        let fresh = &win[self.tail..];
        let chain = fresh
            .chunks(self.block)
            .take(self.bands[j].new_blocks)
            .fold(chain, |h, b| absorb_block_native(h, b, bits));
        (chain, self.next_tail(j, &win))
    }

    /// Native twin of [`write`] for band `j`: `carried` (`block − 1` values, zero past the band's
    /// `carried`) then the band's real outputs `y`; the output chain after its emitted blocks
    /// (from `chain`) and the values it carries on.
    pub fn write_native<F: Field>(
        &self,
        j: usize,
        carried: &[i64],
        y: &[i64],
        chain: F,
        bits: u32,
    ) -> (F, Vec<i64>) {
        let b = &self.bands[j];
        let l = self.block;
        let mut ow: Vec<i64> = carried[..b.carried].to_vec();
        ow.extend_from_slice(y);
        ow.resize((b.emit + 1) * l, 0);
        let chain = ow
            .chunks(l)
            .take(b.emit)
            .fold(chain, |h, blk| absorb_block_native(h, blk, bits));
        (chain, ow[b.emit * l..b.emit * l + l - 1].to_vec())
    }

    /// Values in a band's window: the tail, then the blocks it may read.
    pub fn window_len(&self) -> usize {
        self.tail + self.new_blocks * self.block
    }

    /// Values a band reads as its input rows.
    pub fn input_len(&self) -> usize {
        self.op.input_len()
    }

    /// The largest offset of any band (the input shifter's range).
    pub fn max_offset(&self) -> usize {
        self.bands.iter().map(|b| b.offset).max().unwrap_or(0)
    }

    /// Native twin of band `j`'s window over the layer input `x` (the stream: zeros before the
    /// tensor, its values, the zero padding of its last block; zeros past what the band reads).
    pub fn window_values(&self, j: usize, x: &[i64]) -> Vec<i64> {
        let l = self.block as isize;
        let read: isize = self.bands[..j].iter().map(|b| b.new_blocks as isize).sum();
        let begin = read * l - self.tail as isize;
        let end = (read + self.bands[j].new_blocks as isize) * l;
        (0..self.window_len() as isize)
            .map(|p| {
                let i = begin + p;
                if i < 0 || i >= end || i as usize >= x.len() {
                    0
                } else {
                    x[i as usize]
                }
            })
            .collect()
    }

    /// Native twin of band `j`'s input rows: its window from its offset.
    pub fn input_values(&self, j: usize, x: &[i64]) -> Vec<i64> {
        let win = self.window_values(j, x);
        let off = self.bands[j].offset;
        (0..self.input_len())
            .map(|i| win.get(off + i).copied().unwrap_or(0))
            .collect()
    }

    /// Native twin of the tail band `j` carries on: the last `tail` values of its window's stream
    /// (its window from `new_blocks` whole blocks on).
    pub fn next_tail(&self, j: usize, window: &[i64]) -> Vec<i64> {
        let from = self.bands[j].new_blocks * self.block;
        window[from..from + self.tail].to_vec()
    }
}

/// Number of bits of a shift amount up to `max`.
pub fn amount_bits(max: usize) -> usize {
    (usize::BITS - max.leading_zeros()) as usize
}

/// A value of a shifter: a variable, or the constant zero (free).
type Slot<F> = Option<AllocatedNum<F>>;

/// `v[i]` if `i` is inside, else the constant zero.
fn at<F: ff::PrimeField>(v: &[Slot<F>], i: isize) -> Slot<F> {
    if i < 0 {
        None
    } else {
        v.get(i as usize).cloned().flatten()
    }
}

/// One level of a barrel shifter: `out[i] = cur[i] + b·(cur[i + d] − cur[i])`, one constraint
/// per output that is not a constant zero (`v{i}`, `mux{i}`).
fn level<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    cur: &[Slot<F>],
    bit: &Boolean,
    d: isize,
    len: usize,
) -> Result<Vec<Slot<F>>, SynthesisError> {
    (0..len)
        .map(|i| {
            let (a, c) = (at(cur, i as isize), at(cur, i as isize + d));
            if a.is_none() && c.is_none() {
                return Ok(None);
            }
            let val = |s: &Slot<F>| s.as_ref().map_or(Some(F::ZERO), |n| n.get_value());
            let v = match (bit.get_value(), val(&a), val(&c)) {
                (Some(b), Some(a), Some(c)) => Some(if b { c } else { a }),
                _ => None,
            };
            let out = AllocatedNum::alloc(cs.namespace(|| format!("v{i}")), || {
                v.ok_or(SynthesisError::AssignmentMissing)
            })?;
            cs.enforce(
                || format!("mux{i}"),
                |_| bit.lc(CS::one(), F::ONE),
                |lc| {
                    let lc = match &c {
                        Some(c) => lc + c.get_variable(),
                        None => lc,
                    };
                    match &a {
                        Some(a) => lc - a.get_variable(),
                        None => lc,
                    }
                },
                |lc| {
                    let lc = lc + out.get_variable();
                    match &a {
                        Some(a) => lc - a.get_variable(),
                        None => lc,
                    }
                },
            );
            Ok(Some(out))
        })
        .collect()
}

/// A barrel shifter: `out[i] = v[i + step·amount]` for `i < out_len` (zero where that is outside
/// `v`), `amount = Σ bits_k·2^k`; level `k` under `lvl{k}/`.
fn shift<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: &[AllocatedNum<F>],
    amount: &[Boolean],
    out_len: usize,
    step: isize,
) -> Result<Vec<Slot<F>>, SynthesisError> {
    let sign = step.signum();
    let unit = step.unsigned_abs();
    // before level k, the values levels k.. can still move into the output
    let reach =
        |k: usize| -> usize { (k..amount.len()).map(|i| unit << i).sum::<usize>() + out_len };
    let mut cur: Vec<Slot<F>> = v.iter().cloned().map(Some).collect();
    if sign > 0 {
        cur.truncate(reach(0));
    }
    for (k, bit) in amount.iter().enumerate() {
        let d = step * (1isize << k);
        // values move left by at most what the later levels shift, right only into the output
        let len = if sign > 0 { reach(k + 1) } else { out_len };
        cur = level(&mut cs.namespace(|| format!("lvl{k}")), &cur, bit, d, len)?;
    }
    cur.resize(out_len, None);
    Ok(cur)
}

/// `out[i] = v[i + amount]` for `i < out_len` (zero past `v`): the values from `amount` on.
/// `amount` is given as its bits, least significant first (bound by the caller).
pub fn shift_left<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: &[AllocatedNum<F>],
    amount: &[Boolean],
    out_len: usize,
) -> Result<Vec<Option<AllocatedNum<F>>>, SynthesisError> {
    shift(cs, v, amount, out_len, 1)
}

/// `out[i] = v[i − amount]` for `i < out_len` (zero before `amount` and past `v`): the values
/// placed from `amount` on.
pub fn shift_right<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: &[AllocatedNum<F>],
    amount: &[Boolean],
    out_len: usize,
) -> Result<Vec<Option<AllocatedNum<F>>>, SynthesisError> {
    shift(cs, v, amount, out_len, -1)
}

/// A count `0 ≤ c ≤ max` fixed by a band's descriptor: one-hot bits (`is{c}`, `one_hot`) to
/// select by, and binary bits (`bit{k}`, `binary`) to shift by.
#[derive(Clone, Debug)]
pub struct Count<F: ff::PrimeField> {
    /// `onehot[c]` is set iff the count is `c`.
    pub onehot: Vec<Boolean>,
    /// The count's binary digits, least significant first.
    pub bits: Vec<Boolean>,
    /// The count, `Σ c·onehot[c]`.
    pub lc: LinearCombination<F>,
}

impl<F: Field> Count<F> {
    /// Allocates the count `value` (`None` at shape synthesis) out of `0..=max`.
    pub fn alloc<CS: ConstraintSystem<F>>(
        cs: &mut CS,
        max: usize,
        value: Option<usize>,
    ) -> Result<Self, SynthesisError> {
        if value.is_some_and(|v| v > max) {
            return Err(unsat(format!("a count of {value:?} outside 0..={max}")));
        }
        let mut onehot = Vec::with_capacity(max + 1);
        let mut lc = LinearCombination::<F>::zero();
        let mut sum = LinearCombination::<F>::zero();
        for c in 0..=max {
            let bit =
                AllocatedBit::alloc(cs.namespace(|| format!("is{c}")), value.map(|v| v == c))?;
            lc = lc + (F::from(c as u64), bit.get_variable());
            sum = sum + bit.get_variable();
            onehot.push(Boolean::from(bit));
        }
        cs.enforce(|| "one_hot", |_| sum, |l| l + one(), |l| l + one());
        let bits = alloc_amount(&mut cs.namespace(|| "bin"), max, value)?;
        let bin = bits
            .iter()
            .enumerate()
            .fold(LinearCombination::zero(), |l, (k, b)| {
                l + &b.lc(one(), F::from(1u64 << k))
            });
        cs.enforce(|| "binary", |_| bin, |l| l + one(), |_| lc.clone());
        Ok(Self { onehot, bits, lc })
    }

    /// `[b < count]` as a linear combination of the one-hot bits.
    pub fn above(&self, b: usize) -> LinearCombination<F> {
        self.onehot
            .iter()
            .skip(b + 1)
            .fold(LinearCombination::zero(), |lc, e| lc + &e.lc(one(), F::ONE))
    }

    /// `values[count]` (`sel{c}`, `select`).
    pub fn select<CS: ConstraintSystem<F>>(
        &self,
        cs: &mut CS,
        values: &[AllocatedNum<F>],
    ) -> Result<AllocatedNum<F>, SynthesisError> {
        if values.len() != self.onehot.len() {
            return Err(SynthesisError::IncompatibleLengthVector(format!(
                "{} values for a count up to {}",
                values.len(),
                self.onehot.len() - 1
            )));
        }
        select_onehot(cs, &self.onehot, values)
    }
}

/// Allocates the binary digits of an amount up to `max` (`b{k}`, `bit{k}`); the caller binds
/// their sum `Σ b_k·2^k` (to the architecture chain, or to a [`Count`]).
pub fn alloc_amount<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    max: usize,
    value: Option<usize>,
) -> Result<Vec<Boolean>, SynthesisError> {
    let bits = alloc_bits(cs, value.map(|v| v as u128), amount_bits(max) as u32)?;
    Ok(bits.into_iter().map(Boolean::from).collect())
}

/// A shifter's output as numbers: the constant zeros allocated once as `zero` (constrained).
fn numbers<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    v: Vec<Slot<F>>,
) -> Result<Vec<AllocatedNum<F>>, SynthesisError> {
    let mut zero = None;
    v.into_iter()
        .map(|s| match s {
            Some(n) => Ok(n),
            None => {
                if zero.is_none() {
                    let z = AllocatedNum::alloc(cs.namespace(|| "zero"), || Ok(F::ZERO))?;
                    cs.enforce(|| "zero_is", |l| l + z.get_variable(), |l| l + one(), |l| l);
                    zero = Some(z);
                }
                Ok(zero.clone().expect("allocated above"))
            }
        })
        .collect()
}

/// Native twin of [`carry_digest`]: the Poseidon hash of the values packed as a tensor's are.
pub fn carry_digest_native<F: Field>(values: &[i64], bits: u32) -> F {
    crate::poseidon::hash(&pack_activations::<F>(values, bits))
}

/// The digest of what a band carries to the next (its tail, carried outputs and a recurrent
/// cell's state), as the folded state holds it: the values packed as [`crate::commit`] packs a tensor (`pack{c}`,
/// `pack{c}_eq`), hashed (`hash/…`). Injective on range-checked values only: the caller
/// range-checks what it opens against a digest.
pub fn carry_digest<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    values: &[AllocatedNum<F>],
    bits: u32,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let packed = values
        .chunks(per_element(bits))
        .enumerate()
        .map(|(c, chunk)| pack_element(cs, c, chunk, chunk.len(), bits))
        .collect::<Result<Vec<_>, SynthesisError>>()?;
    crate::poseidon::hash_gadget(cs.namespace(|| "hash"), &packed)
}

/// The chain from `chain` after `count` of `blocks` (`commit/blk{b}/…`, `count/…`).
fn extend<'a, F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    chain: &AllocatedNum<F>,
    blocks: impl Iterator<Item = &'a [AllocatedNum<F>]>,
    count: &Count<F>,
    bits: u32,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let mut hs = vec![chain.clone()];
    let mut commit = cs.namespace(|| "commit");
    for (b, block) in blocks.enumerate() {
        let prev = hs.last().expect("starts with the chain");
        let h = absorb_block(
            &mut commit.namespace(|| format!("blk{b}")),
            prev,
            block,
            bits,
        )?;
        hs.push(h);
    }
    drop(commit);
    count.select(&mut cs.namespace(|| "count"), &hs)
}

/// What a band reads ([`read`]).
#[derive(Clone, Debug)]
pub struct Read<F: ff::PrimeField> {
    /// The band's input rows (`plan.input_len()` values).
    pub rows: Vec<AllocatedNum<F>>,
    /// The input stream's chain after the band's new blocks.
    pub chain: AllocatedNum<F>,
    /// The tail carried to the next band.
    pub tail: Vec<AllocatedNum<F>>,
}

/// The input side of a band. `tail` (`plan.tail` values) and `fresh` (`plan.new_blocks` blocks)
/// are range-checked by the caller; `tail` is the previous band's (bound by the caller through
/// the folded state). When `active` (a band runs; otherwise `new` is zero and `fresh` free),
/// forces `fresh` past `new` blocks to zero (`zero{j}`), extends the stream's
/// chain from `chain` by the `new` blocks (`commit/…`, `count/…`), and shifts the window
/// `tail ‖ fresh` by `offset` to the band's rows (`rows/…`) and by `new` blocks to the next tail
/// (`tail/…`).
#[allow(clippy::too_many_arguments)]
pub fn read<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    plan: &BandIo,
    tail: &[AllocatedNum<F>],
    fresh: &[AllocatedNum<F>],
    chain: &AllocatedNum<F>,
    new: &Count<F>,
    offset: &[Boolean],
    active: &Boolean,
    bits: u32,
) -> Result<Read<F>, SynthesisError> {
    let l = plan.block;
    if tail.len() != plan.tail || fresh.len() != plan.new_blocks * l || l != block_len(bits) {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "a band window of {} + {} values for a plan of {} + {}·{l}",
            tail.len(),
            fresh.len(),
            plan.tail,
            plan.new_blocks
        )));
    }
    for (j, v) in fresh.iter().enumerate() {
        cs.enforce(
            || format!("zero{j}"),
            |lc| lc + v.get_variable(),
            |_| active.lc(one(), F::ONE) - &new.above(j / l),
            |lc| lc,
        );
    }
    let chain = extend(cs, chain, fresh.chunks(l), new, bits)?;
    let window: Vec<_> = tail.iter().chain(fresh).cloned().collect();
    let rows = shift_left(&mut cs.namespace(|| "rows"), &window, offset, plan.rows)?;
    let rows = numbers(&mut cs.namespace(|| "rows_zero"), rows)?;
    let next = shift(
        &mut cs.namespace(|| "tail"),
        &window,
        &new.bits,
        plan.tail,
        l as isize,
    )?;
    let tail = numbers(&mut cs.namespace(|| "tail_zero"), next)?;
    Ok(Read { rows, chain, tail })
}

/// What a band writes ([`write`]).
#[derive(Clone, Debug)]
pub struct Written<F: ff::PrimeField> {
    /// The output chain after the band's emitted blocks.
    pub chain: AllocatedNum<F>,
    /// The outputs carried to the next band (`plan.block − 1` values, zero past their count).
    pub carried: Vec<AllocatedNum<F>>,
}

/// The output side of a band. `carried` (`plan.block − 1` values, zero past their count
/// `carried_bits`) is the previous band's, bound by the caller; `y` are the band's outputs, in
/// range and zero past its real rows. Places `y` after the carried values (`place/…`, `ow{i}`),
/// extends the output chain from `chain` by the `emit` whole blocks (`commit/…`, `count/…`), and
/// carries the rest on (`carry/…`), still zero past its count.
#[allow(clippy::too_many_arguments)]
pub fn write<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    plan: &BandIo,
    carried: &[AllocatedNum<F>],
    carried_bits: &[Boolean],
    y: &[AllocatedNum<F>],
    chain: &AllocatedNum<F>,
    emit: &Count<F>,
    bits: u32,
) -> Result<Written<F>, SynthesisError> {
    let l = plan.block;
    if carried.len() + 1 != l || y.len() != plan.outputs || l != block_len(bits) {
        return Err(SynthesisError::IncompatibleLengthVector(format!(
            "{} carried values and {} outputs for band IO of blocks of {l} and {} outputs",
            carried.len(),
            y.len(),
            plan.outputs
        )));
    }
    let len = plan.out_window_len();
    let placed = shift_right(&mut cs.namespace(|| "place"), y, carried_bits, len)?;
    // the carried values are zero from their count on, the placed outputs before it: a sum
    let ow = placed
        .into_iter()
        .enumerate()
        .map(|(i, p)| match (carried.get(i), p) {
            (None, None) => Ok(None),
            (Some(c), None) => Ok(Some(c.clone())),
            (None, Some(p)) => Ok(Some(p)),
            (Some(c), Some(p)) => {
                let v = c.get_value().zip(p.get_value()).map(|(a, b)| a + b);
                let s = AllocatedNum::alloc(cs.namespace(|| format!("ow{i}")), || {
                    v.ok_or(SynthesisError::AssignmentMissing)
                })?;
                cs.enforce(
                    || format!("ow{i}_sum"),
                    |lc| lc + c.get_variable() + p.get_variable(),
                    |lc| lc + one(),
                    |lc| lc + s.get_variable(),
                );
                Ok(Some(s))
            }
        })
        .collect::<Result<Vec<_>, SynthesisError>>()?;
    let ow = numbers(&mut cs.namespace(|| "ow_zero"), ow)?;
    let chain = extend(cs, chain, ow.chunks(l).take(plan.emit_blocks), emit, bits)?;
    let next = shift(
        &mut cs.namespace(|| "carry"),
        &ow,
        &emit.bits,
        l - 1,
        l as isize,
    )?;
    let carried = numbers(&mut cs.namespace(|| "carry_zero"), next)?;
    Ok(Written { chain, carried })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::native;
    use crate::spec::{Act, CellKind, CellSpec, ConvSpec, Padding, PoolSpec};
    use crate::step::alloc_i64s;
    use nova_snark::frontend::AllocatedBit;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;

    type Fp = <PallasEngine as Engine>::Scalar;

    fn conv(h: usize, w: usize, c: usize, k: usize, s: usize, pad: Padding, c_out: usize) -> Op {
        Op::Conv(ConvSpec {
            window: Window::keras(Shape3::new(h, w, c), (k, k), (s, s), (1, 1), pad).unwrap(),
            c_out,
        })
    }

    fn pool(h: usize, w: usize, c: usize, k: usize, pad: Padding) -> Op {
        Op::MaxPool(PoolSpec {
            window: Window::keras(Shape3::new(h, w, c), (k, k), (k, k), (1, 1), pad).unwrap(),
        })
    }

    fn input(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| (i * 37 % 61) - 30).collect()
    }

    /// The bands of a layer, run natively on their windows, compute the layer, and their output
    /// stream emits the layer's output blocks in order.
    fn bands_compute_the_layer(op: &Op, rows: usize, bits: u32) {
        let plan = BandPlan::new(op, rows, bits).unwrap();
        let x = input(op.input_len());
        let (wl, bl) = op.weight_lens();
        let wt = native::Weights {
            w: (0..wl as i64).map(|i| (i * 53 % 17) - 8).collect(),
            b: (0..bl as i64).map(|o| o * 5 - 20).collect(),
        };
        let whole = eval(op, &x, &wt);
        let out_row = plan.out_row();
        let mut got = vec![];
        let mut emitted = 0;
        let mut carried = 0;
        let mut tail = vec![0; plan.tail];
        let mut state = vec![0; plan.state_len()];
        for (j, band) in plan.bands.iter().enumerate() {
            let win = plan.window_values(j, &x);
            assert_eq!(&win[..plan.tail], &tail[..], "band {j}: the carried tail");
            let rows = plan.input_values(j, &x);
            let y = match plan.op {
                // a timestep: the cell on the state the previous band handed over
                Op::Recurrent(r) => {
                    state = cell(&r.cell, &rows, &state, &wt);
                    state[..r.cell.units].to_vec()
                }
                _ => eval(&plan.op, &rows, &wt),
            };
            got.extend_from_slice(&y[..band.out_rows * out_row]);
            assert_eq!(band.carried, carried, "band {j}");
            let total = carried + band.out_rows * out_row;
            emitted += band.emit;
            assert!(band.emit <= plan.emit_blocks && band.new_blocks <= plan.new_blocks);
            assert!(band.offset + plan.input_len() <= plan.window_len());
            carried = total - (band.emit * plan.block).min(total);
            tail = plan.next_tail(j, &win);
        }
        assert_eq!(got, whole, "{op:?} in bands of {rows}");
        assert_eq!(carried, 0);
        assert_eq!(emitted, num_blocks(op.output_len(), bits));
        let read: usize = plan.bands.iter().map(|b| b.new_blocks).sum();
        assert_eq!(
            read,
            num_blocks(op.input_len(), bits),
            "every block read once"
        );
    }

    fn eval(op: &Op, x: &[i64], wt: &native::Weights) -> Vec<i64> {
        let fp = crate::spec::FixedPoint {
            fa: 4,
            fw: 6,
            bits: 12,
            guard: 8,
        };
        match op {
            Op::Conv(c) => native::conv(c, x, &wt.w, &wt.b, &fp).unwrap().q,
            Op::MaxPool(p) => native::max_pool(p, x).unwrap(),
            Op::Recurrent(r) => native::recurrent(r, &cell_act(), x, wt, &fp).unwrap(),
            _ => unreachable!(),
        }
    }

    /// σ and φ of the test cells: clips (the smooth approximations are tested in `activation`).
    fn cell_act() -> Act {
        Act::Cell {
            gate: Box::new(Act::Clip { hi: 1 << 4 }),
            act: Box::new(Act::Clip { hi: 2 << 4 }),
        }
    }

    fn cell(c: &CellSpec, x: &[i64], state: &[i64], wt: &native::Weights) -> Vec<i64> {
        let Act::Cell { gate, act } = cell_act() else {
            unreachable!()
        };
        let fp = crate::spec::FixedPoint {
            fa: 4,
            fw: 6,
            bits: 12,
            guard: 8,
        };
        native::cell_step(c, &gate, &act, x, state, wt, &fp).unwrap()
    }

    fn recurrent(kind: CellKind, timesteps: usize, return_sequences: bool) -> Op {
        Op::Recurrent(RecurrentSpec {
            cell: CellSpec {
                kind,
                features: 3,
                units: 4,
                masked: false,
            },
            timesteps,
            return_sequences,
        })
    }

    #[test]
    fn bands_of_a_recurrent_layer_are_its_timesteps() {
        for bits in [11, 12, 14] {
            for kind in [
                CellKind::Simple,
                CellKind::Lstm,
                CellKind::Gru { reset_after: true },
                CellKind::Gru { reset_after: false },
            ] {
                for (t, seq) in [(1, true), (5, true), (7, false), (9, true)] {
                    bands_compute_the_layer(&recurrent(kind, t, seq), 1, bits);
                }
            }
        }
        let plan = BandPlan::new(&recurrent(CellKind::Lstm, 7, false), 1, 12).unwrap();
        assert_eq!(plan.bands.len(), 7);
        assert_eq!(plan.state_len(), 8, "h and c");
        assert!(
            plan.bands[..6]
                .iter()
                .all(|b| b.out_rows == 0 && b.emit == 0),
            "only the last timestep outputs h"
        );
        let e = BandPlan::new(&recurrent(CellKind::Simple, 7, true), 2, 12).unwrap_err();
        assert!(e.contains("one timestep"), "{e}");
    }

    #[test]
    fn bands_of_convolutions_and_pooling_compute_the_layer() {
        for bits in [11, 12, 14] {
            for rows in [1, 2, 3, 4, 7, 30] {
                bands_compute_the_layer(&conv(28, 28, 1, 3, 1, Padding::Valid, 4), rows, bits);
                bands_compute_the_layer(&conv(13, 13, 4, 3, 1, Padding::Same, 3), rows, bits);
                bands_compute_the_layer(&conv(9, 7, 2, 3, 2, Padding::Same, 2), rows, bits);
                bands_compute_the_layer(&conv(10, 5, 3, 5, 1, Padding::Same, 2), rows, bits);
                bands_compute_the_layer(&pool(26, 26, 4, 2, Padding::Valid), rows, bits);
                bands_compute_the_layer(&pool(11, 11, 8, 2, Padding::Valid), rows, bits);
            }
        }
    }

    /// Runs every band of `op` through [`read`] and [`write`] in one constraint system each,
    /// carrying the chains, tails and outputs natively between them as the folded state would;
    /// `forge` may change band `j`'s system before it is checked. Returns the final chains.
    fn stream_layer(
        op: &Op,
        rows: usize,
        forge: &dyn Fn(usize, &mut TamperCs<Fp>),
    ) -> Result<(Fp, Fp), (usize, String)> {
        let bits = 12;
        let plan = BandPlan::new(op, rows, bits).unwrap();
        let x = input(op.input_len());
        let wt = native::Weights {
            w: (0..op.weight_lens().0 as i64)
                .map(|i| (i * 53 % 17) - 8)
                .collect(),
            b: (0..op.weight_lens().1 as i64).map(|o| o * 5 - 20).collect(),
        };
        let out_row = op.output_shape().w * op.output_shape().c;
        let (blind_in, blind_out) = (Fp::from(11u64), Fp::from(13u64));
        let (mut chain_in, mut chain_out) = (blind_in, blind_out);
        let mut tail = vec![0i64; plan.tail];
        let mut carried = vec![0i64; plan.block - 1];
        let value = |n: &AllocatedNum<Fp>| crate::field::to_i64(&n.get_value().unwrap()).unwrap();
        for (j, band) in plan.bands.iter().enumerate() {
            let mut cs = TamperCs::<Fp>::new();
            forge(j, &mut cs);
            let win = plan.window_values(j, &x);
            let t = alloc_i64s(&mut cs, "tail", &tail).unwrap();
            let f = alloc_i64s(&mut cs, "fresh", &win[plan.tail..]).unwrap();
            let c_in = AllocatedNum::alloc(cs.namespace(|| "chain_in"), || Ok(chain_in)).unwrap();
            let new = Count::alloc(
                &mut cs.namespace(|| "new"),
                plan.new_blocks,
                Some(band.new_blocks),
            )
            .unwrap();
            let off = alloc_amount(
                &mut cs.namespace(|| "offset"),
                plan.max_offset(),
                Some(band.offset),
            )
            .unwrap();
            let r = read(
                &mut cs.namespace(|| "read"),
                &plan.io(),
                &t,
                &f,
                &c_in,
                &new,
                &off,
                &Boolean::constant(true),
                bits,
            )
            .unwrap();
            let got_rows: Vec<i64> = r.rows.iter().map(value).collect();
            assert_eq!(got_rows, plan.input_values(j, &x), "band {j}'s rows");
            let mut y = eval(&plan.op, &got_rows, &wt);
            y[band.out_rows * out_row..].iter_mut().for_each(|v| *v = 0);
            let ya = alloc_i64s(&mut cs, "y", &y).unwrap();
            let ca = alloc_i64s(&mut cs, "carried", &carried).unwrap();
            let cb = alloc_amount(
                &mut cs.namespace(|| "carried_n"),
                plan.block - 1,
                Some(band.carried),
            )
            .unwrap();
            let c_out =
                AllocatedNum::alloc(cs.namespace(|| "chain_out"), || Ok(chain_out)).unwrap();
            let emit = Count::alloc(
                &mut cs.namespace(|| "emit"),
                plan.emit_blocks,
                Some(band.emit),
            )
            .unwrap();
            let wr = write(
                &mut cs.namespace(|| "write"),
                &plan.io(),
                &ca,
                &cb,
                &ya,
                &c_out,
                &emit,
                bits,
            )
            .unwrap();
            // the native twins agree
            let (nc, nt) = plan.read_native(j, &x, chain_in, bits);
            assert_eq!(
                (Some(nc), r.tail.iter().map(value).collect::<Vec<_>>()),
                (r.chain.get_value(), nt)
            );
            let (oc, ocar) =
                plan.write_native(j, &carried, &y[..band.out_rows * out_row], chain_out, bits);
            assert_eq!(
                (Some(oc), wr.carried.iter().map(value).collect::<Vec<_>>()),
                (wr.chain.get_value(), ocar)
            );
            if !cs.is_satisfied() {
                return Err((j, cs.which_is_unsatisfied().unwrap_or("").to_string()));
            }
            let mut carry: Vec<AllocatedNum<Fp>> = r.tail.clone();
            carry.extend(wr.carried.iter().cloned());
            let d = carry_digest(&mut cs.namespace(|| "digest"), &carry, bits).unwrap();
            let values: Vec<i64> = carry.iter().map(value).collect();
            assert_eq!(
                d.get_value(),
                Some(carry_digest_native::<Fp>(&values, bits))
            );
            chain_in = r.chain.get_value().unwrap();
            chain_out = wr.chain.get_value().unwrap();
            tail = r.tail.iter().map(value).collect();
            carried = wr.carried.iter().map(value).collect();
        }
        let whole = eval(op, &x, &wt);
        assert_eq!(
            chain_in,
            crate::commit::commit_native(&x, bits, blind_in),
            "input read whole"
        );
        assert_eq!(
            chain_out,
            crate::commit::commit_native(&whole, bits, blind_out),
            "output"
        );
        Ok((chain_in, chain_out))
    }

    #[test]
    fn streamed_bands_read_the_input_commitment_and_write_the_output_commitment() {
        let none = |_: usize, _: &mut TamperCs<Fp>| {};
        for rows in [1, 3, 5] {
            stream_layer(&conv(13, 13, 4, 3, 1, Padding::Same, 3), rows, &none).unwrap();
            stream_layer(&pool(26, 26, 4, 2, Padding::Valid), rows, &none).unwrap();
        }
        stream_layer(&conv(28, 28, 1, 3, 1, Padding::Valid, 4), 4, &none).unwrap();
    }

    #[test]
    fn a_band_reading_a_forged_window_or_writing_a_forged_output_is_unsatisfied() {
        let op = conv(13, 13, 4, 3, 1, Padding::Same, 3);
        // a window value the band did not read (past its new blocks) set to non-zero
        let plan = BandPlan::new(&op, 3, 12).unwrap();
        let j = plan
            .bands
            .iter()
            .position(|b| b.new_blocks < plan.new_blocks)
            .unwrap();
        let past = plan.bands[j].new_blocks * plan.block;
        let e = stream_layer(&op, 3, &|b, cs| {
            if b == j {
                cs.override_value(format!("fresh{past}/num"), Fp::from(5u64));
            }
        })
        .unwrap_err();
        assert_eq!(e, (j, format!("read/zero{past}")));
        // a row of the band that is not the window's value at its offset
        let e = stream_layer(&op, 3, &|b, cs| {
            if b == 1 {
                cs.override_value("read/rows/lvl0/v0/num", Fp::from(5u64));
            }
        })
        .unwrap_err();
        assert_eq!(e, (1, "read/rows/lvl0/mux0".to_string()));
        // an emitted output changed after placement
        let e = stream_layer(&op, 3, &|b, cs| {
            if b == 2 {
                cs.override_value("write/ow1/num", Fp::from(5u64));
            }
        })
        .unwrap_err();
        assert_eq!(e, (2, "write/ow1_sum".to_string()));
    }

    #[test]
    fn pooling_with_vertical_padding_and_dense_layers_are_not_banded() {
        let e = BandPlan::new(&pool(11, 11, 8, 2, Padding::Same), 2, 12).unwrap_err();
        assert!(e.contains("vertical padding"), "{e}");
        let dense = Op::Dense(crate::spec::DenseSpec { n_in: 4, n_out: 2 });
        assert!(BandPlan::new(&dense, 2, 12)
            .unwrap_err()
            .contains("no sliding window"));
    }

    /// A band slot's layer comes from an architecture file the prover may hand over: a window of
    /// zero height or no output rows, or a recurrent layer of no timesteps, is an error, not an
    /// underflow in the plan's geometry.
    #[test]
    fn a_malformed_layer_is_refused_before_its_geometry() {
        let Op::Conv(mut c) = conv(8, 8, 1, 3, 1, Padding::Valid, 2) else {
            unreachable!()
        };
        c.window.kh = 0;
        assert!(BandPlan::new(&Op::Conv(c), 1, 12).is_err());
        c.window.kh = 3;
        c.window.out_h = 0;
        assert!(BandPlan::new(&Op::Conv(c), 1, 12).is_err());
        assert!(BandPlan::new(&recurrent(CellKind::Lstm, 0, true), 1, 12).is_err());
    }

    /// Runs a shifter over `v` by `amount` (bits allocated as `amt/b{k}`).
    fn run_shift(
        v: &[i64],
        amount: usize,
        bits: usize,
        out_len: usize,
        left: bool,
    ) -> TamperCs<Fp> {
        let mut cs = TamperCs::<Fp>::new();
        let xs = alloc_i64s(&mut cs, "x", v).unwrap();
        let amt: Vec<Boolean> = (0..bits)
            .map(|k| {
                Boolean::from(
                    AllocatedBit::alloc(
                        cs.namespace(|| format!("amt{k}")),
                        Some(amount >> k & 1 == 1),
                    )
                    .unwrap(),
                )
            })
            .collect();
        let out = if left {
            shift_left(&mut cs.namespace(|| "sh"), &xs, &amt, out_len).unwrap()
        } else {
            shift_right(&mut cs.namespace(|| "sh"), &xs, &amt, out_len).unwrap()
        };
        let got: Vec<i64> = out
            .iter()
            .map(|o| {
                o.as_ref().map_or(0, |n| {
                    crate::field::to_i64(&n.get_value().unwrap()).unwrap()
                })
            })
            .collect();
        let want: Vec<i64> = (0..out_len as isize)
            .map(|i| {
                let j = if left {
                    i + amount as isize
                } else {
                    i - amount as isize
                };
                if j < 0 {
                    0
                } else {
                    v.get(j as usize).copied().unwrap_or(0)
                }
            })
            .collect();
        assert_eq!(got, want, "amount {amount}, left {left}");
        cs
    }

    #[test]
    fn shifters_place_values_by_every_amount() {
        let v = input(23);
        for amount in 0..16 {
            for (out_len, left) in [(9, true), (23, true), (30, false), (12, false)] {
                let cs = run_shift(&v, amount, 4, out_len, left);
                assert!(cs.is_satisfied(), "{:?}", cs.which_is_unsatisfied());
            }
        }
    }

    #[test]
    fn a_forged_shifted_value_fails_its_mux() {
        let v = input(20);
        let mut cs = TamperCs::<Fp>::new();
        cs.override_value("sh/lvl2/v3/num", Fp::from(7u64));
        let mut cs2 = run_shift_into(cs, &v, 5, 3, 8);
        assert_eq!(cs2.which_is_unsatisfied(), Some("sh/lvl2/mux3"));
        assert!(cs2.unused_overrides().is_empty());
        // the honest run satisfies every constraint
        cs2 = run_shift_into(TamperCs::new(), &v, 5, 3, 8);
        assert!(cs2.is_satisfied());
    }

    fn run_shift_into(
        mut cs: TamperCs<Fp>,
        v: &[i64],
        amount: usize,
        bits: usize,
        out_len: usize,
    ) -> TamperCs<Fp> {
        let xs = alloc_i64s(&mut cs, "x", v).unwrap();
        let amt: Vec<Boolean> = (0..bits)
            .map(|k| {
                Boolean::from(
                    AllocatedBit::alloc(
                        cs.namespace(|| format!("amt{k}")),
                        Some(amount >> k & 1 == 1),
                    )
                    .unwrap(),
                )
            })
            .collect();
        shift_left(&mut cs.namespace(|| "sh"), &xs, &amt, out_len).unwrap();
        cs
    }
}
