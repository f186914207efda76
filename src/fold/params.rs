//! Public parameters and verifier keys: derived from what the caller trusts, and cached only in
//! files this user's kerafold wrote (docs/DESIGN.md, "Keys").
//!
//! A verifier key decides what a proof proves: the key of another circuit (say, one that outputs
//! whatever final state the verifier expects) makes any claim verify. So a key is never taken
//! from a file as it is. It is **derived** from
//! - the step circuit, which the caller builds from an architecture it trusts (rebuilt from a
//!   model file, or read from a file whose digest is the one the proof claims), and
//! - the SRS the caller names: transparent IPA generators, or HyperKZG powers of tau from a
//!   directory of `.ptau` files,
//!
//! and cached under a key made of everything that determines it (system, SRS identity, circuit
//! digest). A cache file carries an HMAC-SHA256 tag over that key and its bytes, under a secret
//! only this user holds (`$XDG_CONFIG_HOME/kerafold/cache-secret`, else
//! `~/.config/kerafold/cache-secret`, mode 0600). A file without a valid tag — written by another
//! user, another machine, or a prover who can write into the parameter directory — is ignored
//! and the key derived again; the tag covers the circuit digest, so a valid file of one circuit
//! is no key for another. Without a home directory nothing is cached and keys are always derived.
//!
//! The prover reads its public parameters through the same cache: parameters whose commitment
//! generators someone else chose could also break the hiding of its commitments.

use super::backend::{decode, encode, Backend, PpOf, SnarkOf, VkOf};
use crate::{Error, Result};
use hmac::{Hmac, Mac};
use nova_snark::traits::circuit::StepCircuit;
use sha2::{Digest, Sha256};
use std::any::{Any, TypeId};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where the primary curve's commitment key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Srs {
    /// Pedersen generators by hashing to the curve (IPA): transparent.
    Transparent,
    /// HyperKZG powers of tau from snarkjs / PPOT `.ptau` files in this directory.
    Ptau(PathBuf),
    /// HyperKZG with a tau drawn at random on this machine and kept as a `.ptau` file in the
    /// parameter directory (`insecure-random-tau/`), so that a verifier can name it with
    /// `--ptau`. Whoever can read that file can forge proofs: for tests and demos only.
    InsecureRandomTau,
}

/// The directory, under a parameter directory, that holds the insecure random tau.
pub const RANDOM_TAU_DIR: &str = "insecure-random-tau";

impl Srs {
    /// Where an insecure random tau drawn into `params_dir` is kept (`None` for another SRS).
    pub fn random_tau_dir(&self, params_dir: &Path) -> Option<PathBuf> {
        (*self == Srs::InsecureRandomTau).then(|| params_dir.join(RANDOM_TAU_DIR))
    }

    /// What a verifier names for proofs made with this SRS in `params_dir`: the powers of tau
    /// (a random tau's directory there), or `None` for transparent IPA.
    pub fn for_verifier(&self, params_dir: &Path) -> Option<Srs> {
        match self {
            Srs::Transparent => None,
            Srs::Ptau(dir) => Some(Srs::Ptau(dir.clone())),
            Srs::InsecureRandomTau => self.random_tau_dir(params_dir).map(Srs::Ptau),
        }
    }
}

/// Magic prefix of an authenticated cache file; the 32-byte tag follows, then the payload.
const MAGIC: &[u8; 8] = b"kfauth01";

type HmacSha256 = Hmac<Sha256>;

/// This user's cache secret (created on first use), or `None` if there is no place for it.
fn cache_secret() -> Option<&'static [u8; 32]> {
    static SECRET: OnceLock<Option<[u8; 32]>> = OnceLock::new();
    SECRET
        .get_or_init(|| {
            let base = std::env::var_os("XDG_CONFIG_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .filter(|v| !v.is_empty())
                        .map(|h| PathBuf::from(h).join(".config"))
                })?;
            load_or_create_secret(&base.join("kerafold").join("cache-secret")).ok()
        })
        .as_ref()
}

/// Reads the 32-byte secret at `path`, creating it (mode 0600, atomically: concurrent first uses
/// agree on one secret) if it does not exist.
fn load_or_create_secret(path: &Path) -> std::io::Result<[u8; 32]> {
    let read = |p: &Path| -> std::io::Result<[u8; 32]> {
        std::fs::read(p)?.try_into().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not a 32-byte secret")
        })
    };
    match read(path) {
        Ok(s) => return Ok(s),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let dir = path.parent().expect("the secret has a directory");
    std::fs::create_dir_all(dir)?;
    let mut secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let tmp = dir.join(format!(".cache-secret.{}", std::process::id()));
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(&secret)?;
        f.sync_all()?;
    }
    // `hard_link` fails if the secret appeared meanwhile: then the first one wins.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e),
    }
}

/// The identity of an SRS, part of every cache key: `transparent`, or `ptau-` and the SHA-256
/// of the directory's `.ptau` files (names and contents).
pub(crate) fn srs_id(srs: &Srs) -> Result<String> {
    match srs {
        Srs::Transparent => Ok("transparent".into()),
        Srs::Ptau(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ptau"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: no .ptau files (powers of tau, e.g. ppot_pruned_20.ptau)",
                    dir.display()
                )));
            }
            let mut h = Sha256::new();
            for f in &files {
                let mut file = std::fs::File::open(f).map_err(|e| Error::io(f, e))?;
                h.update(f.file_name().expect("a file").as_encoded_bytes());
                h.update([0]);
                std::io::copy(&mut file, &mut h).map_err(|e| Error::io(f, e))?;
            }
            Ok(format!("ptau-{}", hex::encode(&h.finalize()[..8])))
        }
        Srs::InsecureRandomTau => Err(Error::Usage(
            "a random tau is known only to the machine that drew it: name the powers of tau it wrote".into(),
        )),
    }
}

/// Cache of public parameters, verifier keys and architectures, one directory per (system, SRS,
/// circuit).
#[derive(Clone, Debug)]
pub struct ParamsStore {
    /// Root directory of the cache.
    pub dir: PathBuf,
}

impl ParamsStore {
    /// A store rooted at `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory of one architecture's files under one system (where `arch.json` lives).
    pub fn entry(&self, system: &str, digest: &[u8; 32]) -> PathBuf {
        self.dir
            .join(format!("{system}-{}", hex::encode(&digest[..16])))
    }

    /// The directory of one circuit's keys under one system and SRS.
    fn key_entry(&self, system: &str, srs: &str, digest: &[u8; 32]) -> PathBuf {
        match srs {
            "transparent" => self.entry(system, digest),
            _ => self
                .dir
                .join(format!("{system}-{srs}-{}", hex::encode(&digest[..16]))),
        }
    }

    fn read(path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes atomically (a reader never sees half a file).
    fn write(path: &Path, bytes: &[u8]) -> Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// Stores the architecture next to its parameters (verifiers of private models read it; they
    /// check it against the digest the proof claims).
    pub fn save_arch<T: serde::Serialize>(
        &self,
        system: &str,
        digest: &[u8; 32],
        arch: &T,
    ) -> Result<()> {
        let json = serde_json::to_vec_pretty(arch).expect("architecture serializes");
        Self::write(&self.entry(system, digest).join("arch.json"), &json)
    }

    /// Reads the `arch.json` stored for `digest`: `None` if absent; an error if it does not parse
    /// or is not the architecture of that digest. The caller validates what it parsed.
    pub fn load_arch<T: serde::de::DeserializeOwned>(
        &self,
        system: &str,
        digest: &[u8; 32],
        digest_of: impl Fn(&T) -> [u8; 32],
    ) -> Result<Option<T>> {
        let path = self.entry(system, digest).join("arch.json");
        let Some(bytes) = Self::read(&path)? else {
            return Ok(None);
        };
        let arch: T = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(&path, format!("not an architecture file: {e}")))?;
        if &digest_of(&arch) != digest {
            return Err(Error::format(
                &path,
                "the architecture does not match its digest",
            ));
        }
        Ok(Some(arch))
    }

    /// The MAC of cache file `kind` for (system, SRS, circuit), before its payload.
    fn mac(secret: &[u8; 32], kind: &str, key: (&str, &str, &[u8; 32])) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        for part in [
            b"kerafold key cache v1".as_slice(),
            kind.as_bytes(),
            key.0.as_bytes(),
            key.1.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.update(key.2);
        mac
    }

    /// The payload of an authenticated cache file, or `None` if it is absent, has no valid tag,
    /// or there is no cache secret.
    fn read_authenticated(
        &self,
        kind: &str,
        key: (&str, &str, &[u8; 32]),
    ) -> Result<Option<Vec<u8>>> {
        let Some(secret) = cache_secret() else {
            return Ok(None);
        };
        let path = self.key_entry(key.0, key.1, key.2).join(kind);
        let Some(mut bytes) = Self::read(&path)? else {
            return Ok(None);
        };
        if bytes.len() < 40 || &bytes[..8] != MAGIC {
            return Ok(None);
        }
        let mut mac = Self::mac(secret, kind, key);
        mac.update(&bytes[40..]);
        if mac.verify_slice(&bytes[8..40]).is_err() {
            return Ok(None);
        }
        Ok(Some(bytes.split_off(40)))
    }

    /// Writes an authenticated cache file (nothing without a cache secret).
    fn write_authenticated(
        &self,
        kind: &str,
        key: (&str, &str, &[u8; 32]),
        payload: &[u8],
    ) -> Result<()> {
        let Some(secret) = cache_secret() else {
            return Ok(());
        };
        let mut bytes = Vec::with_capacity(40 + payload.len());
        bytes.extend_from_slice(MAGIC);
        let mut mac = Self::mac(secret, kind, key);
        mac.update(payload);
        bytes.extend_from_slice(&mac.finalize().into_bytes());
        bytes.extend_from_slice(payload);
        Self::write(&self.key_entry(key.0, key.1, key.2).join(kind), &bytes)
    }
}

/// The SRS the prover uses: `InsecureRandomTau` becomes the `.ptau` directory in `store` that
/// holds this machine's random taus, a larger one drawn now if none is large enough for `shape`.
///
/// Nova takes the smallest file in the directory that is large enough, and each file is another
/// tau, so a proof verifies only while that choice stays the same: files are only ever added
/// above the largest one, which no circuit that already had a large enough file would take.
///
/// Whether the files are large enough is what setting up `shape` (circuit digest `digest`) under
/// them says; that setup is the proof's own ([`load_or_setup`]: kept and cached, so the proof does
/// not set up again, and a circuit whose parameters are cached under these files sets up nothing).
/// `true` with the SRS if nothing was set up.
pub(crate) fn prover_srs<
    B: Backend,
    C: StepCircuit<<B::E1 as nova_snark::traits::Engine>::Scalar> + 'static,
>(
    store: &ParamsStore,
    srs: &Srs,
    digest: &[u8; 32],
    shape: &C,
) -> Result<(Srs, bool)> {
    if *srs != Srs::InsecureRandomTau {
        return Ok((srs.clone(), true));
    }
    let dir = store.dir.join(RANDOM_TAU_DIR);
    let ptau = Srs::Ptau(dir.clone());
    let largest = || -> Option<u32> {
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_prefix("ppot_pruned_")?
                    .strip_suffix(".ptau")?
                    .parse()
                    .ok()
            })
            .max()
    };
    // (the backend names the directory when its files are too small for the circuit)
    let too_small =
        |e: &Error| matches!(e, Error::Nova { what, .. } if what.contains("powers of tau"));
    let fits = || load_or_setup::<B, C>(store, digest, shape, &ptau).map(|(_, held)| held);
    if largest().is_some() {
        match fits() {
            Ok(held) => return Ok((ptau.clone(), held)),
            Err(e) if too_small(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let (cons, vars) = super::pipeline::circuit_size::<_, C>(shape)?;
    // Nova's augmentation adds about 12k constraints and variables to the step circuit.
    let mut power = (cons.max(vars) + (1 << 14))
        .next_power_of_two()
        .trailing_zeros();
    for _ in 0..3 {
        power = power.max(largest().map_or(0, |p| p + 1));
        write_random_ptau(&dir.join(format!("ppot_pruned_{power:02}.ptau")), power)?;
        match fits() {
            Ok(held) => return Ok((ptau.clone(), held)),
            Err(e) if too_small(&e) => power += 1,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Prover(
        "could not size the random powers of tau for this circuit".into(),
    ))
}

/// Draws a random tau and writes `2^power` powers as a `.ptau` file (insecure: this machine
/// knew tau).
fn write_random_ptau(path: &Path, power: u32) -> Result<()> {
    use ff::Field;
    use nova_snark::provider::hyperkzg::CommitmentEngine;
    use nova_snark::provider::Bn256EngineKZG;
    use nova_snark::traits::commitment::CommitmentEngineTrait;
    let tau = nova_snark::provider::bn256_grumpkin::bn256::Scalar::random(rand_core::OsRng);
    let ck = super::random_tau::key_of_tau(b"kerafold insecure random tau", tau, 1 << power)
        .map_err(|e| Error::Prover(format!("the random powers of tau: {e}")))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    CommitmentEngine::<Bn256EngineKZG>::save_setup(&ck, &mut bytes)
        .map_err(|e| Error::Prover(format!("writing the random powers of tau: {e}")))?;
    write_new(path, bytes.get_ref())
}

/// Writes `bytes` at `path` unless a file is there; of provers racing to draw a tau (shards on
/// one machine, or threads of one process), the first to link its file wins and every one reads
/// that file.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    // a name of this writer's own: two threads sharing one would remove each other's file
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// The public parameters of `shape` (circuit digest `digest`) under `srs`: from this process'
/// memory ([`kept`]), this user's cache, or set up and cached (under powers of tau: set up, never
/// cached in a file). `true` if they were not set up now.
pub(crate) fn load_or_setup<
    B: Backend,
    C: StepCircuit<<B::E1 as nova_snark::traits::Engine>::Scalar> + 'static,
>(
    store: &ParamsStore,
    digest: &[u8; 32],
    shape: &C,
    srs: &Srs,
) -> Result<(Arc<PpOf<B, C>>, bool)> {
    let id = srs_id(srs)?;
    let key = (B::ID, id.as_str(), digest);
    // HyperKZG's key comes from the `.ptau` files, whose points are stored uncompressed: setting
    // up from them takes less than decoding a cached copy, whose points are compressed (a square
    // root each). Measured on a 196k-constraint accuracy step: 2.3 s set up, 4.6 s read.
    let file_cache = !matches!(srs, Srs::Ptau(_));
    let mut cached = true;
    let pp = kept(store, "pp.bin", key, || {
        if file_cache {
            if let Some(bytes) = store.read_authenticated("pp.bin", key)? {
                if let Ok(pp) = decode::<PpOf<B, C>>(&bytes, "public parameters") {
                    return Ok(pp);
                }
            }
        }
        cached = false;
        let pp = B::setup(shape, srs)?;
        if file_cache {
            store.write_authenticated("pp.bin", key, &encode(&pp)?)?;
        }
        Ok(pp)
    })?;
    Ok((pp, cached))
}

/// The verifier key of `shape` (circuit digest `digest`) under `srs`, derived from them: from this
/// process' memory ([`kept`]), this user's cache, or derived (through the public parameters) and
/// cached.
pub(crate) fn verifier_key<
    B: Backend,
    C: StepCircuit<<B::E1 as nova_snark::traits::Engine>::Scalar> + 'static,
>(
    store: &ParamsStore,
    digest: &[u8; 32],
    shape: &C,
    srs: &Srs,
) -> Result<Arc<VkOf<B, C>>> {
    let id = srs_id(srs)?;
    let key = (B::ID, id.as_str(), digest);
    kept(store, "vk.bin", key, || {
        if let Some(bytes) = store.read_authenticated("vk.bin", key)? {
            if let Ok(vk) = decode::<VkOf<B, C>>(&bytes, "verifier key") {
                return Ok(vk);
            }
        }
        let (pp, _) = load_or_setup::<B, C>(store, digest, shape, srs)?;
        let (_, vk) = SnarkOf::<B, C>::setup(&pp).map_err(|e| Error::nova("verifier key", e))?;
        store.write_authenticated("vk.bin", key, &encode(&vk)?)?;
        Ok(vk)
    })
}

/// Caches a verifier key the caller derived from parameters of [`load_or_setup`].
pub(crate) fn cache_verifier_key<
    B: Backend,
    C: StepCircuit<<B::E1 as nova_snark::traits::Engine>::Scalar>,
>(
    store: &ParamsStore,
    digest: &[u8; 32],
    srs: &Srs,
    vk: &VkOf<B, C>,
) -> Result<()> {
    let id = srs_id(srs)?;
    store.write_authenticated("vk.bin", (B::ID, id.as_str(), digest), &encode(vk)?)
}

/// How many parameters and keys [`kept`] holds: each is about the size of its circuit (a
/// 2^18-constraint circuit's are ~200 MB), and a process rarely needs more than a prover's and a
/// verifier's at once.
const KEPT: usize = 4;

/// Identity of a kept value: the parameter directory, its kind, the cache key (system, SRS,
/// circuit digest) and its type.
type KeptKey = (PathBuf, &'static str, String, String, [u8; 32], TypeId);

/// The parameters and keys this process loaded or derived last, newest last.
type Kept = Vec<(KeptKey, Arc<dyn Any + Send + Sync>)>;

/// What [`kept`] holds, for the whole process.
fn held() -> &'static Mutex<Kept> {
    static HELD: OnceLock<Mutex<Kept>> = OnceLock::new();
    HELD.get_or_init(|| Mutex::new(Vec::new()))
}

/// Drops the parameters and keys this process holds: the next proof or verification reads them
/// from the cache again (and checks the files' tags), as a new process would. Frees their memory
/// in a long-running process.
pub fn release_kept() {
    held().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// The value of `kind` for `key` in `store` this process already holds, or `load`'s, then
/// held: reading a 2^18-constraint circuit's key from the cache costs seconds (every point is
/// decompressed), and verifying a combined proof's shards, a claim's accuracy proof and its
/// tamperings, or a library caller's batch reads the same key many times. Only values this
/// process derived or read through [`ParamsStore::read_authenticated`] get here, under the same
/// key as the file cache, so holding them adds no trust.
fn kept<T: Send + Sync + 'static>(
    store: &ParamsStore,
    kind: &'static str,
    key: (&str, &str, &[u8; 32]),
    load: impl FnOnce() -> Result<T>,
) -> Result<Arc<T>> {
    let held = held();
    let id: KeptKey = (
        store.dir.clone(),
        kind,
        key.0.to_string(),
        key.1.to_string(),
        *key.2,
        TypeId::of::<T>(),
    );
    let hit = {
        let held = held.lock().unwrap_or_else(|e| e.into_inner());
        held.iter()
            .rev()
            .find(|(k, _)| *k == id)
            .map(|(_, v)| v.clone())
    };
    if let Some(v) = hit.and_then(|v| v.downcast::<T>().ok()) {
        return Ok(v);
    }
    // Loaded without the lock: two threads may both load one value (the later one is kept).
    let v = Arc::new(load()?);
    let mut held = held.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|(k, _)| *k != id);
    if held.len() >= KEPT {
        held.remove(0);
    }
    held.push((id, v.clone()));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};

    /// A step circuit of `n` constraints (squarings of the state).
    #[derive(Clone)]
    struct Squarings {
        n: usize,
    }

    impl<F: ff::PrimeField> StepCircuit<F> for Squarings {
        fn arity(&self) -> usize {
            1
        }
        fn synthesize<CS: ConstraintSystem<F>>(
            &self,
            cs: &mut CS,
            z: &[AllocatedNum<F>],
        ) -> std::result::Result<Vec<AllocatedNum<F>>, SynthesisError> {
            let mut x = z[0].clone();
            for i in 0..self.n {
                x = x.square(cs.namespace(|| format!("sq{i}")))?;
            }
            Ok(vec![x])
        }
    }

    fn taus(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(RANDOM_TAU_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// Every file called `name` under `dir`, at any depth.
    fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
        let mut found = vec![];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(files_named(&path, name));
            } else if path.file_name().is_some_and(|n| n == name) {
                found.push(path);
            }
        }
        found
    }

    /// Nova proves with the smallest large-enough file, and each file is another tau: a smaller
    /// file drawn later would change the tau an earlier proof's verifier takes. So a circuit that
    /// fits a file already there draws none, and a new one is only drawn above the largest.
    #[test]
    fn random_taus_are_only_added_above_the_largest() {
        use crate::fold::backend::Bn254Kzg;
        let dir = std::env::temp_dir().join(format!("kerafold-taus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = ParamsStore::new(&dir);
        let ptau = Srs::Ptau(dir.join(RANDOM_TAU_DIR));
        let large = Squarings { n: 40_000 };
        let (d_large, d_small) = ([1; 32], [2; 32]);
        assert_eq!(
            prover_srs::<Bn254Kzg, _>(&store, &Srs::InsecureRandomTau, &d_large, &large).unwrap(),
            (ptau.clone(), false)
        );
        let drawn = taus(&dir);
        assert_eq!(drawn.len(), 1, "{drawn:?}");
        // set up from the .ptau file, which is faster than decoding a cached copy: none written
        assert_eq!(files_named(&dir, "pp.bin"), Vec::<PathBuf>::new());
        // the setup that sized the file is the proof's: held, not set up again
        let (_, held) = load_or_setup::<Bn254Kzg, _>(&store, &d_large, &large, &ptau).unwrap();
        assert!(held, "the parameters were set up twice");
        // a smaller circuit, whose own estimate is a smaller power, takes the same file
        let small = Squarings { n: 10 };
        prover_srs::<Bn254Kzg, _>(&store, &Srs::InsecureRandomTau, &d_small, &small).unwrap();
        assert_eq!(taus(&dir), drawn);
        // IPA and named powers of tau are passed through
        assert_eq!(
            prover_srs::<Bn254Kzg, _>(&store, &Srs::Transparent, &d_small, &small).unwrap(),
            (Srs::Transparent, true)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_kept_value_is_loaded_once_per_key_and_type() {
        // Digests no circuit has, so other tests' kept keys cannot collide.
        let d = [0xa5u8; 32];
        let e = [0x5au8; 32];
        let store = ParamsStore::new(Path::new("/nonexistent/kept-test"));
        let other = ParamsStore::new(Path::new("/nonexistent/kept-test-2"));
        let mut loads = 0;
        let mut get = |kind, digest: &[u8; 32], v: u64| {
            kept(&store, kind, ("test", "none", digest), || {
                loads += 1;
                Ok(v)
            })
            .unwrap()
        };
        let first = get("a", &d, 1);
        assert_eq!(*get("a", &d, 2), 1, "held, not loaded again");
        assert!(Arc::ptr_eq(&first, &get("a", &d, 3)));
        assert_eq!(*get("b", &d, 4), 4, "another kind");
        assert_eq!(*get("a", &e, 5), 5, "another circuit");
        assert_eq!(loads, 3);
        // another type under the same key is its own value, as is another directory's
        let s = kept(&store, "a", ("test", "none", &d), || Ok(String::from("x"))).unwrap();
        assert_eq!(*s, "x");
        assert_eq!(
            *kept(&other, "a", ("test", "none", &d), || Ok(7u64)).unwrap(),
            7
        );
        // a failed load holds nothing
        let failed = kept::<u64>(&store, "c", ("test", "none", &d), || {
            Err(Error::Prover("no".into()))
        });
        assert!(failed.is_err());
        assert_eq!(
            *kept(&store, "c", ("test", "none", &d), || Ok(6u64)).unwrap(),
            6
        );
    }

    #[test]
    fn a_cache_file_verifies_only_for_its_own_key_and_bytes() {
        let dir = std::env::temp_dir().join(format!("kerafold-params-test-{}", std::process::id()));
        let store = ParamsStore::new(&dir);
        if cache_secret().is_none() {
            return; // no home directory: nothing is cached, nothing to test
        }
        let d = [7u8; 32];
        let key = ("bn254-ipa", "transparent", &d);
        store
            .write_authenticated("vk.bin", key, b"payload")
            .unwrap();
        assert_eq!(
            store.read_authenticated("vk.bin", key).unwrap().as_deref(),
            Some(&b"payload"[..])
        );
        // another circuit's entry with these bytes: not a key for it
        let other = [8u8; 32];
        let path = store
            .key_entry("bn254-ipa", "transparent", &d)
            .join("vk.bin");
        let bytes = std::fs::read(&path).unwrap();
        let to = store
            .key_entry("bn254-ipa", "transparent", &other)
            .join("vk.bin");
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, &bytes).unwrap();
        assert_eq!(
            store
                .read_authenticated("vk.bin", ("bn254-ipa", "transparent", &other))
                .unwrap(),
            None
        );
        // one changed payload byte
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &bad).unwrap();
        assert_eq!(store.read_authenticated("vk.bin", key).unwrap(), None);
        // a plain file without a tag
        std::fs::write(&path, b"payload").unwrap();
        assert_eq!(store.read_authenticated("vk.bin", key).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
