//! Flags shared by several commands, and how they become library options.

use clap::{Args, ValueEnum};
use kerafold::commands::QuantOptions;
use kerafold::fold::{Srs, System, Visibility};
use kerafold_step_circuits::FixedPoint;
use std::path::PathBuf;

/// Quantization flags.
#[derive(Args, Clone, Default)]
pub(crate) struct QuantArgs {
    /// Calibration inputs (same formats as --input). Default: the inputs being run or proven.
    #[arg(long)]
    calibrate: Option<PathBuf>,
    /// Fractional bits of activations (overrides calibration).
    #[arg(long, requires_all = ["fw", "bits"])]
    fa: Option<u32>,
    /// Fractional bits of weights (overrides calibration).
    #[arg(long, requires_all = ["fa", "bits"])]
    fw: Option<u32>,
    /// Activation range in bits (overrides calibration).
    #[arg(long, requires_all = ["fa", "fw"])]
    bits: Option<u32>,
    /// Least number of guard bits between packed weight lanes (with --fa/--fw/--bits): fixes the
    /// architecture in advance, e.g. for a bounty; the weights may need more.
    #[arg(long, requires_all = ["fa", "fw", "bits"])]
    guard: Option<u32>,
    /// Quantize exactly as this architecture file says (e.g. a bounty setup's
    /// architecture.json), and check the model has that very architecture.
    #[arg(long, conflicts_with_all = ["fa", "fw", "bits", "guard", "calibrate"])]
    arch: Option<PathBuf>,
}

impl QuantArgs {
    /// `--guard` was given (a bounty host fixes the guard hunters' weights must fit).
    pub(crate) fn guard_given(&self) -> bool {
        self.guard.is_some()
    }

    pub(crate) fn options(&self) -> QuantOptions {
        QuantOptions {
            calibrate: self.calibrate.clone(),
            fixed: match (self.fa, self.fw, self.bits) {
                (Some(fa), Some(fw), Some(bits)) => Some(FixedPoint {
                    fa,
                    fw,
                    bits,
                    guard: self.guard.unwrap_or(1),
                }),
                _ => None,
            },
            arch: self.arch.clone(),
        }
    }
}

/// Where the primary curve's commitment key comes from: transparent IPA generators (default), or
/// HyperKZG powers of tau (faster compression and verification; the verifier names the tau).
#[derive(Args, Clone, Default)]
pub(crate) struct SrsArgs {
    /// Use HyperKZG on BN254 with powers of tau from this directory (snarkjs/PPOT .ptau files;
    /// verify with the same --ptau).
    #[arg(long, conflicts_with = "insecure_random_tau")]
    pub(crate) ptau: Option<PathBuf>,
    /// Use HyperKZG with a random tau drawn here and kept in PARAMS_DIR/insecure-random-tau/
    /// (verify with --ptau that directory). INSECURE: whoever reads it can forge proofs; for
    /// tests and demos only.
    #[arg(long)]
    pub(crate) insecure_random_tau: bool,
}

impl SrsArgs {
    /// HyperKZG was asked for.
    pub(crate) fn kzg(&self) -> bool {
        self.ptau.is_some() || self.insecure_random_tau
    }

    /// The SRS, warning on stderr about an insecure random tau.
    pub(crate) fn srs(&self) -> Srs {
        let srs = self.srs_unwarned();
        if srs == Srs::InsecureRandomTau {
            eprintln!(
                "warning: --insecure-random-tau: anyone who saw this machine's tau can forge \
                 proofs; for tests only"
            );
        }
        srs
    }

    /// The SRS, without the warning (a child process of a command that warned).
    pub(crate) fn srs_unwarned(&self) -> Srs {
        match (&self.ptau, self.insecure_random_tau) {
            (Some(d), _) => Srs::Ptau(d.clone()),
            (None, true) => Srs::InsecureRandomTau,
            _ => Srs::Transparent,
        }
    }

    /// The proof system on `curve` with this SRS: HyperKZG is on BN254 only.
    pub(crate) fn system(&self, curve: Curve) -> kerafold::Result<System> {
        if curve == Curve::Pasta && self.kzg() {
            return Err(kerafold::Error::Usage(
                "--ptau and --insecure-random-tau apply to --curve bn254 only".into(),
            ));
        }
        Ok(curve.system(self.kzg()))
    }
}

/// The curve cycle.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Curve {
    /// BN254/Grumpkin (the field of Groth16 and the EVM).
    Bn254,
    /// Pallas/Vesta.
    Pasta,
}

impl Curve {
    /// The proof system on this curve: IPA, or HyperKZG on BN254.
    pub(crate) fn system(self, kzg: bool) -> System {
        match (self, kzg) {
            (Curve::Pasta, _) => System::PastaIpa,
            (Curve::Bn254, true) => System::Bn254Kzg,
            (Curve::Bn254, false) => System::Bn254Ipa,
        }
    }
}

/// Who may see a value.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Vis {
    Public,
    Private,
}

impl From<Vis> for Visibility {
    fn from(v: Vis) -> Self {
        match v {
            Vis::Public => Visibility::Public,
            Vis::Private => Visibility::Private,
        }
    }
}

/// The parameter cache flag.
#[derive(Args, Clone, Default)]
pub(crate) struct ParamsArgs {
    /// Parameter cache [default: ./kerafold-params, or $KERAFOLD_PARAMS].
    #[arg(long)]
    params_dir: Option<PathBuf>,
}

impl ParamsArgs {
    pub(crate) fn dir(&self) -> PathBuf {
        self.params_dir
            .clone()
            .unwrap_or_else(kerafold::fold::default_params_dir)
    }
}
