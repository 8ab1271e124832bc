//! The key that seals the livre de recettes: an Ed25519 key kept outside
//! the database (a PEM file in the data directory, created on first start,
//! or one the operator supplies with `COMPTOIR_BOOK_KEY`, e.g. made by
//! `openssl genpkey -algorithm ed25519`). Every line of the book and every
//! closure is signed with it, so whoever holds only the database can no
//! longer rewrite the book and recompute its SHA-256 chain unseen.
//!
//! Written on `ed25519-dalek` (RustCrypto's maintained Ed25519, PKCS#8 PEM
//! files that OpenSSL reads and writes); only the file handling and the
//! check that every process signs with the book's one key are Comptoir's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::billing::sql::closures as sql;
use crate::store::Store;

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "livre-de-recettes.key";
/// The environment variable naming a key file the operator supplies.
pub const KEY_ENV: &str = "COMPTOIR_BOOK_KEY";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("clé du livre de recettes {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("la clé du livre de recettes n'est pas chargée dans ce processus")]
    NotLoaded,
    #[error(
        "la clé de ce poste ({this}) n'est pas celle qui signe ce livre de recettes ({book}) : \
         copiez le fichier {KEY_FILE} du premier poste dans le répertoire de données, ou donnez son chemin \
         dans {KEY_ENV}"
    )]
    ForeignKey { this: String, book: String },
    #[error(
        "la clé du livre de recettes manque ({path}) alors que ce livre est signé par la clé {book} : \
         restaurez le fichier depuis une sauvegarde (ou donnez son chemin dans {KEY_ENV}) ; \
         une nouvelle clé ne signerait pas ce livre"
    )]
    Missing { path: PathBuf, book: String },
    #[error("clé publique illisible: {0}")]
    BadPublicKey(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The book's signing key. Attached to the [`Store`] the processes use
/// ([`attach`]), so that whatever appends a line signs it.
pub struct BookKey {
    signing: SigningKey,
}

impl std::fmt::Debug for BookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BookKey({})", self.public().fingerprint())
    }
}

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    Created(PathBuf),
    Loaded(PathBuf),
}

impl BookKey {
    /// A new random key.
    pub fn generate() -> Result<BookKey, SealError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| SealError::File {
            path: PathBuf::new(),
            message: format!("pas d'aléa du système: {e}"),
        })?;
        Ok(BookKey {
            signing: SigningKey::from_bytes(&secret),
        })
    }

    /// Reads a PKCS#8 PEM Ed25519 private key.
    pub fn from_pem(text: &str) -> Result<BookKey, String> {
        SigningKey::from_pkcs8_pem(text)
            .map(|signing| BookKey { signing })
            .map_err(|e| format!("pas une clé privée Ed25519 PKCS#8 PEM ({e})"))
    }

    pub fn to_pem(&self) -> String {
        self.signing
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .expect("an Ed25519 key always encodes")
    }

    /// The key `COMPTOIR_BOOK_KEY` names if set, else `<data_dir>/livre-de-recettes.key`,
    /// created (readable by its owner only) when it does not exist.
    pub fn load_or_create(data_dir: &Path, supplied: Option<&Path>) -> Result<(BookKey, KeyOrigin), SealError> {
        if let Some(path) = supplied {
            return Ok((read(path)?, KeyOrigin::Loaded(path.to_path_buf())));
        }
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            return Ok((read(&path)?, KeyOrigin::Loaded(path)));
        }
        let key = BookKey::generate()?;
        write_new(&path, &key.to_pem())?;
        tracing::info!(path = %path.display(), fingerprint = %key.public().fingerprint(), "livre de recettes signing key created");
        Ok((key, KeyOrigin::Created(path)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// The signature of `message`, in hex (128 characters).
    pub fn sign(&self, message: &[u8]) -> String {
        hex(&self.signing.sign(message).to_bytes())
    }
}

/// The file that holds this process's key: the one `COMPTOIR_BOOK_KEY` names,
/// else `<data_dir>/livre-de-recettes.key` (which may not exist yet).
pub fn key_path(data_dir: &Path) -> PathBuf {
    std::env::var_os(KEY_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join(KEY_FILE))
}

/// Reads the key file at `path` (a PKCS#8 PEM Ed25519 private key).
pub fn read(path: &Path) -> Result<BookKey, SealError> {
    let file_error = |message: String| SealError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    BookKey::from_pem(&text).map_err(file_error)
}

fn write_new(path: &Path, pem: &str) -> Result<(), SealError> {
    use std::io::Write;
    let file_error = |e: std::io::Error| SealError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(file_error)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(file_error)?;
    file.write_all(pem.as_bytes()).map_err(file_error)?;
    file.sync_all().map_err(file_error)
}

/// The public half: what checks the book, printed in every export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn from_hex(text: &str) -> Result<PublicKey, SealError> {
        let bytes: [u8; 32] = unhex(text.trim())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SealError::BadPublicKey(text.to_string()))?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|e| SealError::BadPublicKey(e.to_string()))
    }

    /// The 32 bytes in hex.
    pub fn hex(&self) -> String {
        hex(self.0.as_bytes())
    }

    /// The SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`) that
    /// `openssl pkeyutl -verify -pubin -inkey` reads.
    pub fn to_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 public key always encodes")
    }

    /// A public key from its PEM (as [`PublicKey::to_pem`] writes it).
    pub fn from_pem(text: &str) -> Result<PublicKey, SealError> {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        VerifyingKey::from_public_key_pem(text.trim())
            .map(PublicKey)
            .map_err(|e| SealError::BadPublicKey(e.to_string()))
    }

    /// A short name for people: the first 16 hex digits of its SHA-256, in groups of 4.
    pub fn fingerprint(&self) -> String {
        let digest = hex(&Sha256::digest(self.0.as_bytes()));
        digest.as_bytes()[..16]
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Whether `signature` (hex) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = unhex(signature).and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        self.0.verify(message, &Signature::from_bytes(&bytes)).is_ok()
    }
}

/// `store` with `key` attached: lines and closures written through it are signed.
pub fn attach(store: &Store, key: BookKey) -> Store {
    store.with_extension(Arc::new(key))
}

/// The key attached to `store`.
pub fn key_of(store: &Store) -> Result<Arc<BookKey>, SealError> {
    store.extension::<BookKey>().ok_or(SealError::NotLoaded)
}

/// Records `key` as the book's on first use; refuses a key the book does not know
/// (a second machine that made a key of its own).
pub async fn register(store: &Store, key: &BookKey) -> Result<(), SealError> {
    let public = key.public().hex();
    let mut tx = store.begin().await?;
    let known = sql::keys(&mut tx).await?;
    if known.is_empty() {
        sql::register_key(&mut tx, &public).await?;
    } else if !known.contains(&public) {
        let book = PublicKey::from_hex(&known[0])
            .map(|k| k.fingerprint())
            .unwrap_or_default();
        return Err(SealError::ForeignKey {
            this: key.public().fingerprint(),
            book,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Loads (or creates) the key of a process, checks it is the book's, and attaches it.
/// A key is created only for a book that has none: when the book is signed
/// already and the file is missing, it refuses, naming the book's key.
pub async fn open(store: &Store, data_dir: &Path) -> Result<(Store, KeyOrigin), SealError> {
    let supplied = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
    let path = data_dir.join(KEY_FILE);
    if supplied.is_none() && !path.exists() {
        let mut tx = store.begin().await?;
        let known = sql::keys(&mut tx).await?;
        tx.rollback().await?;
        if let Some(book) = known.first() {
            return Err(SealError::Missing {
                path,
                book: PublicKey::from_hex(book).map(|k| k.fingerprint()).unwrap_or_default(),
            });
        }
    }
    let (key, origin) = BookKey::load_or_create(data_dir, supplied.as_deref())?;
    register(store, &key).await?;
    Ok((attach(store, key), origin))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let key = BookKey::generate().unwrap();
        let other = BookKey::generate().unwrap();
        let signature = key.sign(b"ligne 1");
        assert!(key.public().verifies(b"ligne 1", &signature));
        assert!(!key.public().verifies(b"ligne 2", &signature));
        assert!(!other.public().verifies(b"ligne 1", &signature));
        assert!(!key.public().verifies(b"ligne 1", "zz"));
    }

    #[test]
    fn the_key_file_is_created_once_then_read_back() {
        let dir = std::env::temp_dir().join(format!("comptoir-seal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (first, origin) = BookKey::load_or_create(&dir, None).unwrap();
        assert_eq!(origin, KeyOrigin::Created(dir.join(KEY_FILE)));
        let (again, origin) = BookKey::load_or_create(&dir, None).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded(dir.join(KEY_FILE)));
        assert_eq!(first.public(), again.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.join("bad.pem"), "not a key").unwrap();
        let e = BookKey::load_or_create(&dir, Some(&dir.join("bad.pem"))).unwrap_err();
        assert!(e.to_string().contains("bad.pem"), "{e}");
        assert_eq!(PublicKey::from_hex(&first.public().hex()).unwrap(), first.public());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
