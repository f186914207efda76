//! Baby Jubjub in circomlib's form (EIP-2494: `a·x² + y² = 1 + d·x²·y²` over BN254's scalar
//! field, `a = 168700`, `d = 168696`, generator `Base8` of the prime-order subgroup), keys and
//! ECDH.
//!
//! **Key derivation** (that of `@zk-kit/eddsa-poseidon` 1.x and circomlibjs' `eddsa.prv2pub`, as
//! used by MACI and Semaphore): a private key is 32 random bytes; its secret scalar is
//! `s = (prune(BLAKE-512(private_key)[0..32]) as a little-endian integer >> 3) mod l`, where
//! `prune` clears the low 3 bits of byte 0, clears bit 7 and sets bit 6 of byte 31, and `l` is
//! the subgroup order; the public key is `s·Base8` (`@zk-kit/baby-jubjub`'s
//! `mulPointEscalar(Base8, s)`). ECDH: the shared point of `(s_a, P_b)` is `s_a·P_b =
//! s_b·P_a`; the Poseidon cipher key is its two coordinates (as in MACI).

use super::blake512::blake512;
use super::bn254::{from_ark, from_dec, to_ark, to_dec, Fr};
use crate::{Error, Result};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField as _};
use ff::Field;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::path::Path;
use taceo_ark_babyjubjub::{EdwardsAffine, EdwardsProjective, Fr as Subgroup};

/// Curve coefficient `a`.
pub const A: u64 = 168700;
/// Curve coefficient `d`.
pub const D: u64 = 168696;
/// Bits of a secret scalar (`l < 2^251`).
pub const SCALAR_BITS: usize = 251;

/// An affine point `(x, y)`; the identity is `(0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// x coordinate.
    pub x: Fr,
    /// y coordinate.
    pub y: Fr,
}

impl Point {
    /// The identity `(0, 1)`.
    pub fn identity() -> Self {
        Self {
            x: Fr::ZERO,
            y: Fr::ONE,
        }
    }

    /// circomlib's `Base8`, the generator of the prime-order subgroup.
    pub fn base8() -> Self {
        Self::from_ark(&EdwardsAffine::generator())
    }

    /// Whether the point satisfies the curve equation.
    pub fn is_on_curve(&self) -> bool {
        let (x2, y2) = (self.x.square(), self.y.square());
        Fr::from(A) * x2 + y2 == Fr::ONE + Fr::from(D) * x2 * y2
    }

    /// Whether the point is on the curve and in the prime-order subgroup.
    pub fn is_in_subgroup(&self) -> bool {
        self.is_on_curve() && self.to_ark().is_in_correct_subgroup_assuming_on_curve()
    }

    /// Twisted Edwards addition (complete on this curve).
    pub fn add(&self, o: &Point) -> Point {
        let (a, d) = (Fr::from(A), Fr::from(D));
        let t = d * self.x * o.x * self.y * o.y;
        let x = (self.x * o.y + self.y * o.x) * (Fr::ONE + t).invert().expect("complete law");
        let y = (self.y * o.y - a * self.x * o.x) * (Fr::ONE - t).invert().expect("complete law");
        Point { x, y }
    }

    /// `k·P` for a scalar given by its little-endian bits.
    pub fn mul_bits(&self, bits: &[bool]) -> Point {
        let mut acc = Point::identity();
        for b in bits.iter().rev() {
            acc = acc.add(&acc);
            if *b {
                acc = acc.add(self);
            }
        }
        acc
    }

    /// `s·P` for a subgroup scalar.
    pub fn mul(&self, s: &Subgroup) -> Point {
        let p: EdwardsProjective = self.to_ark().into_group() * s;
        Self::from_ark(&p.into_affine())
    }

    /// As taceo-ark-babyjubjub's affine point (unchecked).
    pub fn to_ark(&self) -> EdwardsAffine {
        EdwardsAffine::new_unchecked(to_ark(&self.x), to_ark(&self.y))
    }

    /// From taceo-ark-babyjubjub's affine point.
    pub fn from_ark(p: &EdwardsAffine) -> Self {
        if p.is_zero() {
            return Self::identity();
        }
        Self {
            x: from_ark(&p.x),
            y: from_ark(&p.y),
        }
    }

    /// Decimal coordinates, as circomlibjs and @zk-kit print them.
    pub fn to_dec(&self) -> [String; 2] {
        [to_dec(&self.x), to_dec(&self.y)]
    }

    /// Parses decimal coordinates and checks the point is a valid public key: on the curve, in
    /// the prime-order subgroup, not the identity.
    pub fn from_dec(c: &[String; 2], what: &str) -> Result<Self> {
        let p = Self {
            x: from_dec(&c[0], what)?,
            y: from_dec(&c[1], what)?,
        };
        if !p.is_in_subgroup() || p == Self::identity() {
            return Err(Error::Invalid(format!(
                "{what} is not a point of Baby Jubjub's prime-order subgroup"
            )));
        }
        Ok(p)
    }
}

/// A secret key: the private key bytes and the secret scalar derived from them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey {
    /// The private key (32 bytes; what `@zk-kit/eddsa-poseidon` takes).
    pub private_key: Vec<u8>,
    /// The secret scalar `s < l`.
    pub scalar: Subgroup,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A fresh key from the operating system's randomness.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        OsRng.fill_bytes(&mut k);
        Self::from_private_key(&k)
    }

    /// The key of `private_key` (module docs: `@zk-kit/eddsa-poseidon`'s derivation).
    pub fn from_private_key(private_key: &[u8]) -> Self {
        let h = blake512(private_key);
        let mut b: [u8; 32] = h[..32].try_into().expect("32 bytes");
        b[0] &= 0xf8;
        b[31] &= 0x7f;
        b[31] |= 0x40;
        // little-endian integer >> 3
        let mut shifted = [0u8; 32];
        for i in 0..32 {
            let hi = if i + 1 < 32 { b[i + 1] } else { 0 };
            shifted[i] = (b[i] >> 3) | (hi << 5);
        }
        Self {
            private_key: private_key.to_vec(),
            scalar: Subgroup::from_le_bytes_mod_order(&shifted),
        }
    }

    /// The public key `s·Base8`.
    pub fn public(&self) -> Point {
        Point::base8().mul(&self.scalar)
    }

    /// The ECDH shared point with `other`'s public key.
    pub fn ecdh(&self, other: &Point) -> Point {
        other.mul(&self.scalar)
    }

    /// The secret scalar's [`SCALAR_BITS`] little-endian bits.
    pub fn scalar_bits(&self) -> Vec<bool> {
        let mut bits = self.scalar.into_bigint().to_bits_le();
        bits.truncate(SCALAR_BITS);
        bits
    }

    /// The secret scalar in decimal.
    pub fn scalar_dec(&self) -> String {
        self.scalar.into_bigint().to_string()
    }
}

/// Format tag of key files.
pub const KEY_FORMAT: &str = "kerafold-babyjubjub-key";

/// A key file (JSON). The secret file has every field; a public key file (what `kerafold keygen`
/// prints, or any JSON object with `public_key`) only `public_key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    /// [`KEY_FORMAT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// How `secret_scalar` derives from `private_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<String>,
    /// Hex of the 32-byte private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The secret scalar (decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_scalar: Option<String>,
    /// The public key `[x, y]` (decimal).
    pub public_key: [String; 2],
}

/// The derivation, as written into key files.
pub const DERIVATION: &str = "@zk-kit/eddsa-poseidon: secret_scalar = (prune(blake512(private_key)[0..32]) as LE integer >> 3) mod l; public_key = secret_scalar * Base8";

impl KeyFile {
    /// The secret key file of `key`.
    pub fn secret(key: &SecretKey) -> Self {
        Self {
            format: Some(KEY_FORMAT.into()),
            derivation: Some(DERIVATION.into()),
            private_key: Some(hex::encode(&key.private_key)),
            secret_scalar: Some(key.scalar_dec()),
            public_key: key.public().to_dec(),
        }
    }

    /// The public key file of `p`.
    pub fn public(p: &Point) -> Self {
        Self {
            format: Some(KEY_FORMAT.into()),
            derivation: None,
            private_key: None,
            secret_scalar: None,
            public_key: p.to_dec(),
        }
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Parses the bytes of a key file (what [`KeyFile::read`] does after reading); `origin`
    /// names the file in errors.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::format(origin, format!("not a key file: {e}")))
    }

    /// Writes the key file. A secret key file is created with mode 0600 (owner only), and an
    /// existing file is never replaced unless `overwrite` (a host that loses its key cannot
    /// decrypt what it was paid for).
    pub fn write(&self, path: &Path, overwrite: bool) -> Result<()> {
        use std::io::Write;
        let json = serde_json::to_vec_pretty(self).expect("key serializes");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true);
        if overwrite {
            opts.create(true).truncate(true);
        } else {
            opts.create_new(true);
        }
        #[cfg(unix)]
        if self.private_key.is_some() {
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        }
        let mut f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Usage(format!(
                    "{} exists: refusing to replace a key file",
                    path.display()
                ))
            } else {
                Error::io(path, e)
            }
        })?;
        #[cfg(unix)]
        if self.private_key.is_some() {
            // an overwritten file keeps its old mode: narrow it
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(path, e))?;
        }
        f.write_all(&json).map_err(|e| Error::io(path, e))
    }

    /// The public key file written next to secret key file `path`: `host.json` →
    /// `host.pub.json`.
    pub fn public_path(path: &Path) -> std::path::PathBuf {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "key".into());
        path.with_file_name(format!("{stem}.pub.json"))
    }

    /// The public key, validated.
    pub fn public_key(&self) -> Result<Point> {
        Point::from_dec(&self.public_key, "public key")
    }

    /// The secret key, checked against the derivation and the public key.
    pub fn secret_key(&self, path: &Path) -> Result<SecretKey> {
        let pk = self
            .private_key
            .as_deref()
            .ok_or_else(|| Error::format(path, "not a secret key file (no private_key)"))?;
        let bytes = hex::decode(pk).map_err(|_| Error::format(path, "private_key is not hex"))?;
        let key = SecretKey::from_private_key(&bytes);
        if let Some(s) = &self.secret_scalar {
            if *s != key.scalar_dec() {
                return Err(Error::format(
                    path,
                    "secret_scalar does not derive from private_key",
                ));
            }
        }
        if key.public() != self.public_key()? {
            return Err(Error::format(path, "public_key does not match private_key"));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base8_is_circomlibs() {
        let b = Point::base8();
        assert_eq!(
            b.to_dec(),
            [
                "5299619240641551281634865583518297030282874472190772894086521144482721001553",
                "16950150798460657717958625567821834550301663161624707787222815936182638968203"
            ]
        );
        assert!(b.is_in_subgroup());
    }

    #[test]
    fn ecdh_agrees_and_mul_bits_matches() {
        let (a, b) = (
            SecretKey::from_private_key(&[1; 32]),
            SecretKey::from_private_key(&[2; 32]),
        );
        assert_eq!(a.ecdh(&b.public()), b.ecdh(&a.public()));
        assert_eq!(Point::base8().mul_bits(&a.scalar_bits()), a.public());
        let id = Point::identity();
        assert_eq!(id.add(&Point::base8()), Point::base8());
    }

    #[test]
    fn key_file_round_trip() {
        let k = SecretKey::random();
        let f = KeyFile::secret(&k);
        let json = serde_json::to_string(&f).unwrap();
        let g: KeyFile = serde_json::from_str(&json).unwrap();
        assert_eq!(g.secret_key(Path::new("k")).unwrap(), k);
        let p: KeyFile =
            serde_json::from_str(&serde_json::to_string(&KeyFile::public(&k.public())).unwrap())
                .unwrap();
        assert_eq!(p.public_key().unwrap(), k.public());
        assert!(p.secret_key(Path::new("p")).is_err());
    }
}
