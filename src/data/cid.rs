//! IPFS content identifiers (CIDv1) of files, as `ipfs add --cid-version 1 --raw-leaves`
//! computes them with IPFS' default chunking: fixed-size chunks of 262144 bytes, raw leaves, the
//! balanced layout with at most 174 links per node, CIDv1, sha2-256. The test vectors
//! (`tests/vectors/cid/`) were computed by ipfs-unixfs-importer (the importer of Helia and
//! js-ipfs) configured with exactly these settings.
//!
//! # The DAG of a file
//!
//! * The file is cut into **leaves** of [`CHUNK_SIZE`] bytes (the last one shorter). An empty
//!   file has one empty leaf. Each leaf is a raw block: its CID is `raw(sha256(leaf bytes))`.
//! * A file of **one leaf** is that leaf: its CID is `raw(sha256(file))` (`bafkrei…`).
//! * Otherwise leaves are grouped, in file order, [`MAX_LINKS`] at a time (the last group may be
//!   smaller), each group under a dag-pb **node**; the nodes of one level are grouped the same
//!   way under the next level, until one node is left: the root, whose CID is
//!   `dag-pb(sha256(root node bytes))` (`bafybei…`). A group of one child still gets a node.
//!
//! # Bytes of a dag-pb node (protobuf; the circuit rebuilds them from these rules)
//!
//! ```text
//! node    = link* data                       (links first, in child order)
//! link    = 0x12 varint(len(pblink)) pblink
//! pblink  = 0x0a 0x24 cid(child)             Hash: the child's 36-byte binary CID
//!           0x12 0x00                        Name: the empty string
//!           0x18 varint(tsize(child))        Tsize
//! data    = 0x0a varint(len(unixfs)) unixfs
//! unixfs  = 0x08 0x02                        Type: File
//!           0x18 varint(filesize)            the bytes of the file under this node
//!           (0x20 varint(blocksize(child)))* one per link: the file bytes under that child
//! cid(c)  = 0x01 codec(c) 0x12 0x20 sha256   codec 0x55 (raw) for leaves, 0x70 (dag-pb) for nodes
//! tsize   = leaf: its length; node: len(node bytes) + Σ tsize of its links
//! varint  = unsigned LEB128 (7 bits per byte, least significant first, high bit = more)
//! ```
//!
//! [`FileDag`] lists every leaf (offset, length, digest) and every node (its exact bytes and the
//! offset of each child's 32-byte digest inside them), so an in-circuit SHA-256 can rebuild each
//! node from its children's digests and public constants.
//!
//! # Text form
//! `b` (multibase base32, RFC 4648 lower case, no padding) followed by the base32 of the binary
//! CID `0x01 codec 0x12 0x20 digest`.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::sha256;
use crate::{Error, Result};

/// Bytes per leaf (IPFS' default chunker `size-262144`).
pub const CHUNK_SIZE: usize = 262_144;
/// Most links of a dag-pb node in the balanced layout (IPFS' default).
pub const MAX_LINKS: usize = 174;
/// CID version byte.
pub(crate) const CID_VERSION: u8 = 0x01;
/// Multihash code of sha2-256.
pub(crate) const SHA2_256: u8 = 0x12;
/// Length of a binary CID: version, codec, hash code, digest length, 32-byte digest.
pub(crate) const CID_LEN: usize = 36;

/// Multicodec of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// `raw` (0x55): the block is file bytes.
    Raw,
    /// `dag-pb` (0x70): the block is a protobuf node.
    DagPb,
}

impl Codec {
    /// The multicodec code (a one-byte varint for both).
    pub const fn code(self) -> u8 {
        match self {
            Codec::Raw => 0x55,
            Codec::DagPb => 0x70,
        }
    }
}

/// A CIDv1 with a sha2-256 digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cid {
    /// What the block is.
    pub codec: Codec,
    /// SHA-256 of the block.
    pub digest: [u8; 32],
}

impl Cid {
    /// The CID of a raw block with this digest.
    pub const fn raw(digest: [u8; 32]) -> Self {
        Cid {
            codec: Codec::Raw,
            digest,
        }
    }

    /// The CID of a dag-pb block with this digest.
    pub const fn dag_pb(digest: [u8; 32]) -> Self {
        Cid {
            codec: Codec::DagPb,
            digest,
        }
    }

    /// The binary CID: `0x01 codec 0x12 0x20 digest`.
    pub fn to_bytes(&self) -> [u8; CID_LEN] {
        let mut b = [0u8; CID_LEN];
        b[..4].copy_from_slice(&self.prefix());
        b[4..].copy_from_slice(&self.digest);
        b
    }

    /// The four bytes before the digest: `0x01 codec 0x12 0x20`.
    pub const fn prefix(&self) -> [u8; 4] {
        [CID_VERSION, self.codec.code(), SHA2_256, 32]
    }

    /// Parses a binary CID (CIDv1, raw or dag-pb, sha2-256).
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bad = |m: &str| Error::Usage(format!("not a kerafold CID: {m}"));
        if b.len() != CID_LEN {
            return Err(bad(&format!(
                "{} bytes, a CIDv1 with a sha2-256 digest has {CID_LEN}",
                b.len()
            )));
        }
        if b[0] != CID_VERSION {
            return Err(bad(
                "only CIDv1 is supported (CIDv0 'Qm…' hashes other bytes)",
            ));
        }
        let codec = match b[1] {
            0x55 => Codec::Raw,
            0x70 => Codec::DagPb,
            c => {
                return Err(bad(&format!(
                    "codec 0x{c:02x}, expected raw (0x55) or dag-pb (0x70)"
                )))
            }
        };
        if b[2] != SHA2_256 || b[3] != 32 {
            return Err(bad("the multihash is not sha2-256"));
        }
        Ok(Cid {
            codec,
            digest: b[4..].try_into().expect("32 bytes"),
        })
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}", base32_encode(&self.to_bytes()))
    }
}

impl FromStr for Cid {
    type Err = Error;

    /// Parses the text form `b…` (multibase base32 lower case); upper case `B…` is accepted too.
    fn from_str(s: &str) -> Result<Self> {
        let body = match s.as_bytes().first() {
            Some(b'b') => s[1..].to_string(),
            Some(b'B') => s[1..].to_ascii_lowercase(),
            _ => {
                return Err(Error::Usage(format!(
                    "'{s}' is not a base32 CIDv1 (it should start with 'b', as bafkrei… or \
                     bafybei…)"
                )))
            }
        };
        let bytes = base32_decode(&body)
            .ok_or_else(|| Error::Usage(format!("'{s}' is not valid base32")))?;
        Cid::from_bytes(&bytes).map_err(|e| Error::Usage(format!("'{s}': {e}")))
    }
}

impl Serialize for Cid {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32, lower case, without padding.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Inverse of [`base32_encode`]; `None` on a foreign character or non-zero trailing bits.
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = BASE32.iter().position(|&x| x == c)? as u32;
        acc = ((acc << 5) | v) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // At most 4 leftover bits, all zero (a canonical encoding).
    (bits < 5 && acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// Appends the unsigned LEB128 varint of `v`.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited protobuf field (wire type 2).
fn put_bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// How a file is cut into leaves and grouped into nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    /// Bytes per leaf.
    pub chunk_size: usize,
    /// Most links per node.
    pub max_links: usize,
}

impl Chunking {
    /// # Panics
    /// If `chunk_size` is 0 or `max_links` < 2.
    fn assert_valid(&self) {
        assert!(self.chunk_size > 0, "chunk size must be positive");
        assert!(self.max_links >= 2, "a node needs room for two links");
    }

    /// Number of leaves of a file of `size` bytes (one, empty, for an empty file).
    pub fn leaf_count(&self, size: u64) -> u64 {
        size.div_ceil(self.chunk_size as u64).max(1)
    }
}

impl Default for Chunking {
    /// IPFS' defaults: [`CHUNK_SIZE`], [`MAX_LINKS`].
    fn default() -> Self {
        Chunking {
            chunk_size: CHUNK_SIZE,
            max_links: MAX_LINKS,
        }
    }
}

/// One leaf: a slice of the file, stored as a raw block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// Offset of its first byte in the file.
    pub offset: u64,
    /// Its length in bytes (`chunk_size`, except for the last leaf).
    pub len: u64,
    /// SHA-256 of its bytes.
    pub digest: [u8; 32],
}

impl Leaf {
    /// Its CID (raw).
    pub fn cid(&self) -> Cid {
        Cid::raw(self.digest)
    }
}

/// A block of the DAG: a leaf or a node, by index into [`FileDag::leaves`] / [`FileDag::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// `FileDag::leaves[i]`.
    Leaf(usize),
    /// `FileDag::nodes[i]`.
    Node(usize),
}

/// One link of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The child.
    pub child: Block,
    /// The child's CID.
    pub cid: Cid,
    /// Offset in the node's bytes of the child's 32-byte digest (its 4-byte CID prefix sits
    /// just before it).
    pub digest_offset: usize,
    /// The link's Tsize (the child's total block bytes).
    pub tsize: u64,
    /// The file bytes under the child (its entry in the node's UnixFS `blocksizes`).
    pub blocksize: u64,
}

/// A dag-pb node (UnixFS File).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Its exact bytes (the block whose SHA-256 is [`Node::digest`]).
    pub bytes: Vec<u8>,
    /// Its links, in order.
    pub links: Vec<Link>,
    /// SHA-256 of [`Node::bytes`].
    pub digest: [u8; 32],
    /// The file bytes under it.
    pub filesize: u64,
    /// Its Tsize: `bytes.len()` plus the Tsize of every link.
    pub tsize: u64,
    /// Its height: 1 for a node over leaves, 2 for a node over such nodes, ...
    pub height: usize,
}

impl Node {
    /// Its CID (dag-pb).
    pub fn cid(&self) -> Cid {
        Cid::dag_pb(self.digest)
    }

    /// Its bytes with every child digest zeroed: the public constant part of the node, into which
    /// the circuit writes the children's digests at [`Link::digest_offset`].
    pub fn template(&self) -> Vec<u8> {
        let mut t = self.bytes.clone();
        for l in &self.links {
            t[l.digest_offset..l.digest_offset + 32].fill(0);
        }
        t
    }

    /// Encodes a UnixFS File node over `links` (child CIDs, Tsizes and blocksizes), filling in
    /// each link's [`Link::digest_offset`].
    fn encode(mut links: Vec<Link>, height: usize) -> Node {
        let mut bytes = Vec::new();
        for l in &mut links {
            let mut pb = Vec::with_capacity(CID_LEN + 12);
            put_bytes_field(&mut pb, 1, &l.cid.to_bytes()); // Hash
            put_bytes_field(&mut pb, 2, b""); // Name
            pb.push(3 << 3); // Tsize, varint
            put_varint(&mut pb, l.tsize);
            bytes.push(2 << 3 | 2); // Links
            put_varint(&mut bytes, pb.len() as u64);
            // Within pb: tag, length (36 < 128: one byte), then the 4-byte CID prefix.
            l.digest_offset = bytes.len() + 2 + 4;
            bytes.extend_from_slice(&pb);
        }
        let filesize: u64 = links.iter().map(|l| l.blocksize).sum();
        let mut unixfs = vec![1 << 3, 2]; // Type = File
        unixfs.push(3 << 3); // filesize
        put_varint(&mut unixfs, filesize);
        for l in &links {
            unixfs.push(4 << 3); // blocksizes
            put_varint(&mut unixfs, l.blocksize);
        }
        put_bytes_field(&mut bytes, 1, &unixfs); // Data
        let digest = sha256::digest(&bytes);
        let tsize = bytes.len() as u64 + links.iter().map(|l| l.tsize).sum::<u64>();
        debug_assert!(links
            .iter()
            .all(|l| bytes[l.digest_offset..l.digest_offset + 32] == l.cid.digest));
        Node {
            bytes,
            links,
            digest,
            filesize,
            tsize,
            height,
        }
    }
}

/// The IPFS DAG of a file: its leaves, its nodes and its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDag {
    /// The chunking it was built with.
    pub chunking: Chunking,
    /// File size in bytes.
    pub size: u64,
    /// Leaves in file order (one empty leaf for an empty file).
    pub leaves: Vec<Leaf>,
    /// Nodes, level by level from the leaves up, each level in file order: every child comes
    /// before its parent, and the root (if it is a node) is last. Empty for a one-leaf file.
    pub nodes: Vec<Node>,
    /// The root block: `Leaf(0)` for a one-leaf file, else the last node.
    pub root: Block,
}

impl FileDag {
    /// The DAG of `bytes` with IPFS' default chunking.
    pub fn of_bytes(bytes: &[u8]) -> FileDag {
        Self::from_reader(bytes, Chunking::default()).expect("reading a slice cannot fail")
    }

    /// The DAG of a file with IPFS' default chunking (reads it one chunk at a time).
    pub fn of_file(path: &Path) -> Result<FileDag> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(std::io::BufReader::new(f), Chunking::default())
            .map_err(|e| Error::io(path, e))
    }

    /// The DAG of the bytes of `r` with the given chunking.
    ///
    /// # Panics
    /// If `chunking.chunk_size` is 0 or `chunking.max_links` < 2.
    pub fn from_reader(mut r: impl Read, chunking: Chunking) -> std::io::Result<FileDag> {
        chunking.assert_valid();
        let mut leaves = Vec::new();
        let mut buf = vec![0u8; chunking.chunk_size];
        let mut offset = 0u64;
        loop {
            let n = read_full(&mut r, &mut buf)?;
            if n == 0 && !leaves.is_empty() {
                break;
            }
            leaves.push(Leaf {
                offset,
                len: n as u64,
                digest: sha256::digest(&buf[..n]),
            });
            offset += n as u64;
            if n < buf.len() {
                break;
            }
        }
        Ok(Self::from_leaves(leaves, chunking))
    }

    /// The DAG of a file of `size` bytes rebuilt from its leaves' digests alone — what a verifier
    /// holds after a proof that hashed the file leaf by leaf: the leaves' lengths follow from the
    /// size and the chunking, the nodes are re-encoded, so the root CID is the file's exactly when
    /// every digest is its leaf's.
    ///
    /// # Panics
    /// If `chunking.chunk_size` is 0 or `chunking.max_links` < 2.
    pub fn from_leaf_digests(
        digests: &[[u8; 32]],
        size: u64,
        chunking: Chunking,
    ) -> Result<FileDag> {
        chunking.assert_valid();
        let chunk = chunking.chunk_size as u64;
        let want = chunking.leaf_count(size);
        if digests.len() as u64 != want {
            return Err(Error::Invalid(format!(
                "a file of {size} bytes has {want} leaves of up to {chunk} bytes, not {}",
                digests.len()
            )));
        }
        let leaves = digests
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let offset = i as u64 * chunk;
                Leaf {
                    offset,
                    len: (size - offset).min(chunk),
                    digest: *d,
                }
            })
            .collect();
        Ok(Self::from_leaves(leaves, chunking))
    }

    /// Builds the balanced layout over `leaves`.
    fn from_leaves(leaves: Vec<Leaf>, chunking: Chunking) -> FileDag {
        let size = leaves.iter().map(|l| l.len).sum();
        if leaves.len() == 1 {
            return FileDag {
                chunking,
                size,
                leaves,
                nodes: vec![],
                root: Block::Leaf(0),
            };
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut level: Vec<Link> = leaves
            .iter()
            .enumerate()
            .map(|(i, l)| Link {
                child: Block::Leaf(i),
                cid: l.cid(),
                digest_offset: 0,
                tsize: l.len,
                blocksize: l.len,
            })
            .collect();
        let mut height = 1;
        loop {
            let mut next = Vec::with_capacity(level.len().div_ceil(chunking.max_links));
            for group in level.chunks(chunking.max_links) {
                let node = Node::encode(group.to_vec(), height);
                next.push(Link {
                    child: Block::Node(nodes.len()),
                    cid: node.cid(),
                    digest_offset: 0,
                    tsize: node.tsize,
                    blocksize: node.filesize,
                });
                nodes.push(node);
            }
            if next.len() == 1 {
                break;
            }
            level = next;
            height += 1;
        }
        FileDag {
            chunking,
            size,
            leaves,
            root: Block::Node(nodes.len() - 1),
            nodes,
        }
    }

    /// The file's CID.
    pub fn cid(&self) -> Cid {
        match self.root {
            Block::Leaf(i) => self.leaves[i].cid(),
            Block::Node(i) => self.nodes[i].cid(),
        }
    }

    /// Levels of links from the root to the leaves (0 for a one-leaf file).
    pub fn depth(&self) -> usize {
        match self.root {
            Block::Leaf(_) => 0,
            Block::Node(i) => self.nodes[i].height,
        }
    }
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The CID IPFS gives `bytes` (`ipfs add --cid-version 1 --raw-leaves`).
pub fn cid_of_bytes(bytes: &[u8]) -> Cid {
    FileDag::of_bytes(bytes).cid()
}

/// The CID IPFS gives the file at `path`.
pub fn cid_of_file(path: &Path) -> Result<Cid> {
    Ok(FileDag::of_file(path)?.cid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips() {
        // RFC 4648 test vectors (lower case, unpadded).
        for (raw, enc) in [
            ("", ""),
            ("f", "my"),
            ("fo", "mzxq"),
            ("foo", "mzxw6"),
            ("foob", "mzxw6yq"),
            ("fooba", "mzxw6ytb"),
            ("foobar", "mzxw6ytboi"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), raw.as_bytes());
        }
        assert_eq!(base32_decode("mz"), None); // non-zero trailing bits
        assert_eq!(base32_decode("m1"), None);
    }

    #[test]
    fn varints() {
        for (v, enc) in [
            (0u64, &[0u8][..]),
            (1, &[1]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (262144, &[0x80, 0x80, 0x10]),
        ] {
            let mut out = vec![];
            put_varint(&mut out, v);
            assert_eq!(out, enc, "{v}");
        }
    }

    #[test]
    fn empty_file() {
        // The well-known CID of an empty raw block.
        let c = cid_of_bytes(b"");
        assert_eq!(
            c.to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
        assert_eq!(c.to_string().parse::<Cid>().unwrap(), c);
    }

    #[test]
    fn cid_text_errors() {
        for bad in [
            "",
            "Qmabc",
            "b!!",
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvy",
            "bafyqaaa",
        ] {
            assert!(matches!(bad.parse::<Cid>(), Err(Error::Usage(_))), "{bad}");
        }
        let up = "BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU";
        assert_eq!(up.parse::<Cid>().unwrap(), cid_of_bytes(b""));
        let json = serde_json::to_string(&cid_of_bytes(b"x")).unwrap();
        assert_eq!(
            serde_json::from_str::<Cid>(&json).unwrap(),
            cid_of_bytes(b"x")
        );
    }

    #[test]
    fn node_digest_offsets_and_template() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31) as u8).collect();
        let dag = FileDag::from_reader(
            &data[..],
            Chunking {
                chunk_size: 100,
                max_links: 3,
            },
        )
        .unwrap();
        assert_eq!(dag.leaves.len(), 10);
        // 10 leaves -> 4 nodes -> 2 nodes -> root.
        assert_eq!(dag.nodes.len(), 7);
        assert_eq!(dag.depth(), 3);
        for (i, n) in dag.nodes.iter().enumerate() {
            let t = n.template();
            let mut rebuilt = t.clone();
            for l in &n.links {
                let child_digest = match l.child {
                    Block::Leaf(j) => dag.leaves[j].digest,
                    Block::Node(j) => {
                        assert!(j < i, "children come first");
                        dag.nodes[j].digest
                    }
                };
                assert_eq!(&t[l.digest_offset - 4..l.digest_offset], &l.cid.prefix());
                rebuilt[l.digest_offset..l.digest_offset + 32].copy_from_slice(&child_digest);
            }
            assert_eq!(rebuilt, n.bytes);
            assert_eq!(sha256::digest_blockwise(&rebuilt), n.digest);
        }
        assert_eq!(dag.size, 1000);
        assert_eq!(dag.leaves[9].offset, 900);
    }
}
