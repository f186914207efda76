//! Piecewise-linear approximations of smooth activations (docs/DESIGN.md §3).
//!
//! [`fit`] cuts the activation range into at most [`MAX_SEGMENTS`] segments and gives each the
//! line that is closest to the function on it (the chord, moved by half its spread), so that the
//! worst error over the whole range is as small as that many segments allow: a binary search on
//! the tolerance, with segments grown greedily as long as they stay within it. Flat and straight
//! stretches (sigmoid's tails, GELU's right half) get one long segment each, curved ones many
//! short ones. [`worst_error`] then measures the integer map against the function.

use super::graph::{Activation, Smooth};
use super::lower::Program;
use super::quant::QuantizedModel;
use kerafold_step_circuits::spec::{Act, FixedPoint, Pwl, Segment};
use serde::Serialize;

/// Segments per approximation: one selector bit per output each (`step-circuits` activation.rs).
pub const MAX_SEGMENTS: usize = 32;

/// Fractional bits of slopes and offsets.
const SHIFT: u32 = 16;

/// Sample points per candidate segment when growing segments.
const SAMPLES: i64 = 48;

/// Inputs up to which [`fit`] tabulates the function once (8 MiB of f64).
const TABLE_LEN: i64 = 1 << 20;

/// How far an integer approximation is from its function, in real units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PwlError {
    /// Largest `|approximation − f|` over the inputs checked.
    pub worst: f64,
    /// The input (real) where it occurs.
    pub at: f64,
    /// Whether every input of the range was checked (else an evenly spaced sample of 2^20).
    pub exhaustive: bool,
}

/// The line `y = s·x + c` (in integer units: activations at scale `2^fa`) closest to `f` on
/// `[a, b]` over sample points, and its worst error there.
fn best_line(f: &dyn Fn(i64) -> f64, a: i64, b: i64) -> (f64, f64, f64) {
    let (fa_, fb) = (f(a), f(b));
    let s = if b > a {
        (fb - fa_) / (b - a) as f64
    } else {
        0.0
    };
    let n = (b - a).min(SAMPLES);
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for i in 0..=n {
        let x = if n == 0 { a } else { a + (b - a) * i / n };
        let d = f(x) - (fa_ + s * (x - a) as f64);
        lo = lo.min(d);
        hi = hi.max(d);
    }
    // the chord through (a, f(a)), moved by the middle of its spread
    let c = fa_ - s * a as f64 + (lo + hi) / 2.0;
    (s, c, (hi - lo) / 2.0)
}

/// Greedy segments within `tol`, or `None` if that takes more than `max` of them.
fn cut(f: &dyn Fn(i64) -> f64, min: i64, max: i64, tol: f64, max_n: usize) -> Option<Vec<i64>> {
    let mut starts = vec![];
    let mut a = min;
    while a <= max {
        if starts.len() == max_n {
            return None;
        }
        starts.push(a);
        // the furthest end within tol: double the length, then bisect
        let fits = |b: i64| best_line(f, a, b).2 <= tol;
        let mut good = a;
        let mut len = 1i64;
        let mut bad = loop {
            let b = a.saturating_add(len).min(max);
            if !fits(b) {
                break b;
            }
            good = b;
            if b == max {
                break max + 1;
            }
            len *= 2;
        };
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            if fits(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        a = good + 1;
    }
    Some(starts)
}

/// The inputs around 0 where `g` stays in the activation range: the fit ignores the rest (e^x,
/// SELU's top), where the first or last line continues and the result overflows, as it must.
fn domain(g: &dyn Fn(i64) -> f64, fp: &FixedPoint) -> (i64, i64) {
    let inside = |q: i64| g(q).abs() <= fp.max() as f64;
    // the last input from 0 towards `end` that is inside, assuming one crossing at most
    let reach = |end: i64| {
        if inside(end) {
            return end;
        }
        let (mut good, mut bad) = (0i64, end);
        while (bad - good).abs() > 1 {
            let mid = good + (bad - good) / 2;
            if inside(mid) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        good
    };
    (reach(fp.min()), reach(fp.max()))
}

/// The piecewise-linear integer map for `f` at the fixed point `fp`, with at most
/// [`MAX_SEGMENTS`] segments; `f(0)` is kept exact (an odd function keeps mapping 0 to 0).
pub fn fit(f: Smooth, fp: &FixedPoint) -> Act {
    let scale = (1u64 << fp.fa) as f64;
    let g = move |q: i64| f.eval(q as f64 / scale) * scale;
    // the fitted inputs
    let (min, max) = domain(&g, fp);
    // The search below evaluates `g` millions of times on the same inputs: on a range of at most
    // TABLE_LEN inputs, each is evaluated once, into a table (the same values, so the same fit).
    let table: Option<Vec<f64>> = (max - min < TABLE_LEN).then(|| (min..=max).map(&g).collect());
    let g = |q: i64| match &table {
        Some(t) => t[(q - min) as usize],
        None => g(q),
    };
    // smallest tolerance (in ulps) that MAX_SEGMENTS segments reach
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while cut(&g, min, max, hi, MAX_SEGMENTS).is_none() {
        hi *= 2.0;
    }
    for _ in 0..24 {
        let mid = (lo + hi) / 2.0;
        if cut(&g, min, max, mid, MAX_SEGMENTS).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let starts = cut(&g, min, max, hi, MAX_SEGMENTS).expect("hi fits");
    let one = (1u64 << SHIFT) as f64;
    let segments: Vec<Segment> = starts
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let b = starts.get(i + 1).map_or(max, |&n| n - 1);
            let (s, c, _) = best_line(&g, a, b);
            // anchor the rounded slope in the middle of the segment
            let mid = a + (b - a) / 2;
            let slope = (s * one).round() as i64;
            let offset = ((s * mid as f64 + c) * one).round() as i64 - slope * mid;
            Segment {
                // the first segment reaches down to the bottom of the range
                from: if i == 0 { fp.min() } else { a },
                slope,
                offset,
            }
        })
        .collect();
    let mut pwl = Pwl {
        label: f.name().into(),
        shift: SHIFT,
        segments,
    };
    let error_at_zero = g(0).round() as i64 - eval(&pwl, 0);
    let i = pwl.segment(0);
    pwl.segments[i].offset += error_at_zero << SHIFT;
    Act::Pwl(pwl)
}

/// The integer map at `q` (before the range check the circuit adds).
pub fn eval(p: &Pwl, q: i64) -> i64 {
    let t = p.line(q) + (1i128 << (p.shift - 1));
    (t >> p.shift) as i64
}

/// The worst error of `p` against `f` over the activation range (every input if there are at
/// most 2^20, else 2^20 evenly spaced ones), in real units.
pub fn worst_error(f: Smooth, p: &Pwl, fp: &FixedPoint) -> PwlError {
    let scale = (1u64 << fp.fa) as f64;
    let (min, max) = (fp.min(), fp.max());
    let span = (max - min) as u64 + 1;
    let step = span.div_ceil(1 << 20).max(1) as i64;
    let mut e = PwlError {
        worst: 0.0,
        at: 0.0,
        exhaustive: step == 1,
    };
    let mut q = min;
    while q <= max {
        let x = q as f64 / scale;
        let y = f.eval(x);
        let got = (eval(p, q).clamp(min, max)) as f64 / scale;
        let d = (got - y).abs();
        if d > e.worst && y.abs() <= max as f64 / scale {
            e.worst = d;
            e.at = x;
        }
        q += step;
    }
    e
}

/// One step's approximated activation, as `inspect` reports it.
#[derive(Clone, Debug, Serialize)]
pub struct Approximation {
    /// The step (Keras layers it covers).
    pub step: String,
    /// The function (`elu(alpha=0.5)` with its parameter).
    pub function: String,
    /// Number of linear segments.
    pub segments: usize,
    /// Worst error against the function over the activation range, in real units.
    pub worst_error: f64,
    /// The input where it occurs.
    pub worst_at: f64,
    /// The worst error in units of the activation scale `2^−fa` (rounding alone costs 0.5).
    pub worst_ulps: f64,
    /// Every input of the range was checked (else an evenly spaced sample of 2^20).
    pub exhaustive: bool,
}

/// The approximated activations of `q`, measured against the float activations of `program`
/// (the program `q` was quantized from: its steps in the same order); a recurrent step's gate
/// activation, then its state activation.
pub fn approximations(program: &Program, q: &QuantizedModel) -> Vec<Approximation> {
    let mut out = vec![];
    for (fs, qs) in program.steps.iter().zip(&q.steps) {
        let pairs: Vec<(&Activation, &Act)> = match (&fs.gate, &qs.act) {
            (Some(gate), Act::Cell { gate: g, act: a }) => vec![(gate, g), (&fs.act, a)],
            _ => vec![(&fs.act, &qs.act)],
        };
        for (float, int) in pairs {
            let (Activation::Smooth(f), Act::Pwl(p)) = (float, int) else {
                continue;
            };
            let e = worst_error(*f, p, &q.fp);
            out.push(Approximation {
                step: qs.name.clone(),
                function: match f {
                    Smooth::Elu(a) => format!("elu(alpha={a})"),
                    _ => f.name().into(),
                },
                segments: p.segments.len(),
                worst_error: e.worst,
                worst_at: e.at,
                worst_ulps: e.worst * (1u64 << q.fp.fa) as f64,
                exhaustive: e.exhaustive,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: FixedPoint = FixedPoint {
        fa: 8,
        fw: 8,
        bits: 14,
        guard: 1,
    };

    fn table(f: Smooth) -> Pwl {
        match fit(f, &FP) {
            Act::Pwl(p) => p,
            a => panic!("fit gave {a:?}"),
        }
    }

    /// A recurrent layer's two approximations are reported, the gate's first.
    #[test]
    fn recurrent_layers_report_both_approximations() {
        let (graph, inputs) = crate::model::test_fixture("gru");
        let program = crate::model::lower(&graph).unwrap();
        let (q, _) = crate::model::calibrate(&program, &inputs).unwrap();
        let found: Vec<(String, String)> = approximations(&program, &q)
            .into_iter()
            .map(|a| (a.step, a.function))
            .collect();
        let want: Vec<(String, String)> = ["gru1", "gru2"]
            .iter()
            .flat_map(|s| {
                [
                    (s.to_string(), "sigmoid".into()),
                    (s.to_string(), "tanh".into()),
                ]
            })
            .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn every_smooth_activation_is_fitted_within_a_few_ulps() {
        let ulp = 1.0 / 256.0;
        for f in [
            Smooth::Sigmoid,
            Smooth::Tanh,
            Smooth::HardSigmoid,
            Smooth::HardSilu,
            Smooth::Silu,
            Smooth::Softplus,
            Smooth::Softsign,
            Smooth::Elu(1.0),
            Smooth::Selu,
            Smooth::Gelu,
            Smooth::Mish,
            Smooth::LogSigmoid,
            Smooth::TanhShrink,
            Smooth::Squareplus,
            Smooth::SparsePlus,
            Smooth::SparseSigmoid,
            Smooth::HardTanh,
            Smooth::HardShrink,
            Smooth::SoftShrink,
        ] {
            let p = table(f);
            p.validate(&FP).unwrap();
            assert!(p.segments.len() <= MAX_SEGMENTS);
            let e = worst_error(f, &p, &FP);
            assert!(e.exhaustive);
            assert!(e.worst <= 3.0 * ulp, "{}: worst error {e:?}", f.name());
            // 0 stays exact
            assert_eq!(
                eval(&p, 0),
                (f.eval(0.0) * 256.0).round() as i64,
                "{}",
                f.name()
            );
        }
    }

    #[test]
    fn sigmoid_is_monotone_and_saturates() {
        let p = table(Smooth::Sigmoid);
        let ys: Vec<i64> = (FP.min()..=FP.max()).map(|q| eval(&p, q)).collect();
        assert!(ys.windows(2).all(|w| w[0] <= w[1] + 1));
        assert!(ys[0].abs() <= 1 && (ys[ys.len() - 1] - 256).abs() <= 1);
    }

    #[test]
    fn the_error_report_finds_a_damaged_segment() {
        let mut p = table(Smooth::Tanh);
        let good = worst_error(Smooth::Tanh, &p, &FP).worst;
        let i = p.segment(100);
        p.segments[i].offset += 20 << SHIFT;
        let bad = worst_error(Smooth::Tanh, &p, &FP);
        assert!(bad.worst >= good + 19.0 / 256.0, "{good} -> {bad:?}");
    }
}
