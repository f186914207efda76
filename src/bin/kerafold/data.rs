//! `dataset pack`, `dataset inspect`, `cid`.

use crate::print;
use clap::{Args, Subcommand};
use kerafold::commands::data;
use kerafold::Result;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum DatasetCommand {
    /// Pack features and labels (.npy) into a dataset file.
    #[command(
        after_help = "Features: an array [n, ...sample shape] (rank 1 to 3 per sample). Integer \
    arrays are stored as they are (values 0..255); float arrays are stored as round(x·2^s), which \
    must fit a byte. A feature byte b stands for the model input b / 2^s.\n\
    Labels: an integer array [n] with values below the number of classes."
    )]
    Pack {
        /// Features, .npy.
        #[arg(long)]
        features: PathBuf,
        /// Labels, .npy.
        #[arg(long)]
        labels: PathBuf,
        /// Scale shift s: feature byte b stands for b / 2^s [default: 8].
        #[arg(long)]
        scale_shift: Option<u8>,
        /// Number of classes (default: the largest label + 1).
        #[arg(long)]
        classes: Option<usize>,
        /// Dataset file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a dataset file and show its shape, labels and CID.
    Inspect {
        /// Dataset file (.kfd).
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn dataset(c: DatasetCommand) -> Result<()> {
    match c {
        DatasetCommand::Pack {
            features,
            labels,
            scale_shift,
            classes,
            out,
            json,
        } => print(
            &data::pack(&features, &labels, scale_shift, classes, &out)?,
            json,
        ),
        DatasetCommand::Inspect { file, json } => print(&data::inspect(&file)?, json),
    }
}

#[derive(Args)]
#[command(
    after_help = "The CIDv1 (base32 'b…') of the file added to IPFS with raw leaves and the \
    default chunking (262144-byte chunks, balanced DAG of at most 174 links per node): a raw \
    block (bafkrei…) for files up to 256 KiB, a dag-pb root (bafybei…) for larger ones."
)]
pub(crate) struct CidArgs {
    /// Any file.
    file: PathBuf,
    /// Print one JSON object (CID, size, leaves, nodes, depth) instead of the CID alone.
    #[arg(long)]
    json: bool,
}

pub(crate) fn cid(a: CidArgs) -> Result<()> {
    print(&data::cid(&a.file)?, a.json)
}
