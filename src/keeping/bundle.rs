//! The file format of backups and archives: one zip, readable with any zip
//! tool, whose `manifest.json` lists every other member with its size and
//! SHA-256. An archive's manifest is also signed with the book's key
//! (`manifest.sig`, the hex Ed25519 signature of `archive-manifest:` followed
//! by the manifest's bytes), so that the archive proves itself alone.
//!
//! Written to `<name>.<pid>-<random>.partial` and renamed when complete: a crash never
//! leaves a file that looks whole. Readable by its owner only (a backup
//! holds the signing key).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::KeepingError;
use crate::billing::seal::{hex, BookKey, PublicKey};

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
/// What precedes the manifest's bytes in the signed message (no line,
/// closure or head signature of the book can stand for it).
const SIGNED_PREFIX: &[u8] = b"archive-manifest:";

/// One member of a bundle as its manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// `comptoir-backup/1` or `comptoir-archive/1`.
    pub format: String,
    pub created_at: DateTime<Utc>,
    /// The book's public key (hex) when the manifest is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// What the bundle is of (the year, the database's schema version…).
    #[serde(default)]
    pub details: serde_json::Value,
    pub files: Vec<FileEntry>,
}

/// A bundle written and renamed into place.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub size: u64,
    /// The SHA-256 of the whole zip file.
    pub sha256: String,
    pub files: usize,
}

/// Writes a bundle to `<dest>.<pid>-<random>.partial`, renamed to `dest` by [`BundleWriter::finish`].
pub struct BundleWriter {
    zip: ZipWriter<File>,
    partial: PathBuf,
    dest: PathBuf,
    files: Vec<FileEntry>,
    _cleanup: Cleanup,
}

/// Removes the `.partial` file of a bundle abandoned half-way.
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(partial) = self.0.take() {
            let _ = std::fs::remove_file(partial);
        }
    }
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o600)
        .large_file(false)
}

impl BundleWriter {
    pub fn create(dest: &Path) -> Result<BundleWriter, KeepingError> {
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(KeepingError::io(dir))?;
        }
        // A name of its own: two writers of the same bundle (the nightly job
        // and the command, two workers) never write into one file; the last
        // rename wins, whole.
        let mut partial = dest.as_os_str().to_owned();
        partial.push(format!(".{}-{:08x}.partial", std::process::id(), fastrand::u32(..)));
        let partial = PathBuf::from(partial);
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let file = open.open(&partial).map_err(KeepingError::io(&partial))?;
        Ok(BundleWriter {
            zip: ZipWriter::new(file),
            partial: partial.clone(),
            dest: dest.to_path_buf(),
            files: Vec::new(),
            _cleanup: Cleanup(Some(partial)),
        })
    }

    fn zip_error(&self, e: impl std::fmt::Display) -> KeepingError {
        KeepingError::Zip {
            path: self.partial.clone(),
            message: e.to_string(),
        }
    }

    /// The members added so far, in order.
    pub fn entries(&self) -> &[FileEntry] {
        &self.files
    }

    /// Adds `bytes` as the member `path` (forward slashes, no leading `/`).
    pub fn add(&mut self, path: &str, bytes: &[u8]) -> Result<(), KeepingError> {
        check_member_name(path).map_err(|m| self.zip_error(m))?;
        self.zip.start_file(path, options()).map_err(|e| self.zip_error(e))?;
        self.zip.write_all(bytes).map_err(KeepingError::io(&self.partial))?;
        self.files.push(FileEntry {
            path: path.to_string(),
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
        });
        Ok(())
    }

    /// Adds the file at `source` as the member `path`, streamed.
    pub fn add_file(&mut self, path: &str, source: &Path) -> Result<(), KeepingError> {
        check_member_name(path).map_err(|m| self.zip_error(m))?;
        let mut input = File::open(source).map_err(KeepingError::io(source))?;
        self.zip.start_file(path, options()).map_err(|e| self.zip_error(e))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = input.read(&mut buffer).map_err(KeepingError::io(source))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            self.zip
                .write_all(&buffer[..n])
                .map_err(KeepingError::io(&self.partial))?;
            size += n as u64;
        }
        self.files.push(FileEntry {
            path: path.to_string(),
            size,
            sha256: hex(&hasher.finalize()),
        });
        Ok(())
    }

    /// Writes the manifest (signed when `key` is given), closes the zip,
    /// syncs it and renames it into place.
    pub fn finish(
        mut self,
        format: &str,
        created_at: DateTime<Utc>,
        details: serde_json::Value,
        key: Option<&BookKey>,
    ) -> Result<Written, KeepingError> {
        let manifest = Manifest {
            format: format.to_string(),
            created_at,
            public_key: key.map(|k| k.public().hex()),
            details,
            files: std::mem::take(&mut self.files),
        };
        let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| self.zip_error(e))?;
        self.zip
            .start_file(MANIFEST, options())
            .map_err(|e| self.zip_error(e))?;
        self.zip.write_all(&bytes).map_err(KeepingError::io(&self.partial))?;
        if let Some(key) = key {
            self.zip
                .start_file(SIGNATURE, options())
                .map_err(|e| self.zip_error(e))?;
            let signature = key.sign(&signed_message(&bytes));
            self.zip
                .write_all(format!("{signature}\n").as_bytes())
                .map_err(KeepingError::io(&self.partial))?;
        }
        let file = self.zip.finish().map_err(|e| KeepingError::Zip {
            path: self.partial.clone(),
            message: e.to_string(),
        })?;
        file.sync_all().map_err(KeepingError::io(&self.partial))?;
        drop(file);
        std::fs::rename(&self.partial, &self.dest).map_err(KeepingError::io(&self.dest))?;
        let mut cleanup = self._cleanup;
        cleanup.0 = None;
        let (size, sha256) = digest_file(&self.dest)?;
        Ok(Written {
            path: self.dest,
            size,
            sha256,
            files: manifest.files.len(),
        })
    }
}

fn signed_message(manifest: &[u8]) -> Vec<u8> {
    [SIGNED_PREFIX, manifest].concat()
}

/// A member name the manifest may list: relative, forward slashes, no `..`.
fn check_member_name(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        || path == MANIFEST
        || path == SIGNATURE;
    if bad {
        Err(format!("nom de fichier {path:?} refusé dans une archive"))
    } else {
        Ok(())
    }
}

/// `dir` as an absolute path, for the record: a bundle written with
/// `--to ./copies` must be found again by the web process, whose working
/// directory is another. `dir` exists (a bundle was just written in it).
pub fn absolute_dir(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// The size and SHA-256 of a file on disk.
pub fn digest_file(path: &Path) -> Result<(u64, String), KeepingError> {
    let mut input = File::open(path).map_err(KeepingError::io(path))?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut input, &mut hasher).map_err(KeepingError::io(path))?;
    Ok((size, hex(&hasher.finalize())))
}

/// What checking a bundle found wrong, each naming the member it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The member (`factures/F2026-0001.pdf`), or none for the bundle as a whole.
    pub path: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{path} : {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A bundle opened for reading: its manifest parsed, nothing checked yet.
pub struct Bundle {
    path: PathBuf,
    zip: ZipArchive<File>,
    pub manifest: Manifest,
    manifest_bytes: Vec<u8>,
    signature: Option<String>,
}

impl Bundle {
    pub fn open(path: &Path) -> Result<Bundle, KeepingError> {
        let file = File::open(path).map_err(KeepingError::io(path))?;
        let mut zip = ZipArchive::new(file).map_err(|e| KeepingError::Zip {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let manifest_error = |message: String| KeepingError::Manifest {
            path: path.to_path_buf(),
            message,
        };
        let manifest_bytes = read_member(&mut zip, MANIFEST)
            .map_err(|e| manifest_error(e.to_string()))?
            .ok_or_else(|| {
                manifest_error(format!(
                    "{MANIFEST} absent : ce n'est pas une sauvegarde ni une archive de Comptoir"
                ))
            })?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| manifest_error(e.to_string()))?;
        let signature = read_member(&mut zip, SIGNATURE)
            .map_err(|e| manifest_error(e.to_string()))?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string());
        Ok(Bundle {
            path: path.to_path_buf(),
            zip,
            manifest,
            manifest_bytes,
            signature,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of member `name`, if the zip has it.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, KeepingError> {
        read_member(&mut self.zip, name).map_err(|e| KeepingError::Zip {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Copies member `name` to `dest` (created readable by its owner only),
    /// checking its SHA-256 against the manifest on the way.
    pub fn extract(&mut self, name: &str, dest: &Path) -> Result<(), KeepingError> {
        let entry = self
            .manifest
            .files
            .iter()
            .find(|f| f.path == name)
            .cloned()
            .ok_or_else(|| {
                KeepingError::Refused(format!("{name} n'est pas dans le manifeste de {}", self.path.display()))
            })?;
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(KeepingError::io(dir))?;
        }
        let zip_path = self.path.clone();
        let mut member = self.zip.by_name(name).map_err(|e| KeepingError::Zip {
            path: zip_path,
            message: format!("{name}: {e}"),
        })?;
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let mut out = open.open(dest).map_err(KeepingError::io(dest))?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = member.read(&mut buffer).map_err(KeepingError::io(dest))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(KeepingError::io(dest))?;
        }
        out.sync_all().map_err(KeepingError::io(dest))?;
        if hex(&hasher.finalize()) != entry.sha256 {
            return Err(KeepingError::Refused(format!(
                "{name} : son empreinte SHA-256 n'est pas celle du manifeste (fichier altéré ou abîmé)"
            )));
        }
        Ok(())
    }

    /// Checks every member against the manifest, and the manifest's
    /// signature: with `expected`, that it is that key's; otherwise with the
    /// key the manifest names (which proves integrity, not origin: the caller
    /// says so). A bundle without a signature passes only when `signed` is false.
    pub fn check(&mut self, expected: Option<&PublicKey>, signed: bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        let whole = |message: String| Finding { path: None, message };
        let listed: std::collections::BTreeSet<String> = self.manifest.files.iter().map(|f| f.path.clone()).collect();
        for entry in self.manifest.files.clone() {
            let found = |message: String| Finding {
                path: Some(entry.path.clone()),
                message,
            };
            match self.zip.by_name(&entry.path) {
                Err(_) => findings.push(found("absent de l'archive alors que le manifeste le liste".into())),
                Ok(mut member) => {
                    let mut hasher = Sha256::new();
                    match std::io::copy(&mut member, &mut hasher) {
                        Err(e) => findings.push(found(format!("illisible ({e})"))),
                        Ok(size) => {
                            let sha = hex(&hasher.finalize());
                            if sha != entry.sha256 {
                                findings.push(found(format!(
                                    "contenu modifié : empreinte SHA-256 {sha}, le manifeste dit {}",
                                    entry.sha256
                                )));
                            } else if size != entry.size {
                                findings.push(found(format!("taille {size} octets, le manifeste dit {}", entry.size)));
                            }
                        }
                    }
                }
            }
        }
        let names: Vec<String> = self
            .zip
            .file_names()
            .map(|n| {
                n.map(|n| n.into_owned())
                    .unwrap_or_else(|e| format!("(nom illisible : {e})"))
            })
            .collect();
        for name in names {
            if name != MANIFEST && name != SIGNATURE && !name.ends_with('/') && !listed.contains(&name) {
                findings.push(Finding {
                    path: Some(name),
                    message: "ajouté : absent du manifeste".into(),
                });
            }
        }
        if !signed {
            return findings;
        }
        let named = match self.manifest.public_key.as_deref().map(PublicKey::from_hex) {
            Some(Ok(key)) => Some(key),
            Some(Err(_)) => {
                findings.push(whole("le manifeste nomme une clé publique illisible".into()));
                None
            }
            None => {
                findings.push(whole("le manifeste ne nomme pas la clé qui le signe".into()));
                None
            }
        };
        if let (Some(expected), Some(named)) = (expected, named.as_ref()) {
            if expected != named {
                findings.push(whole(format!(
                    "signé par la clé {}, pas par celle attendue ({})",
                    named.fingerprint(),
                    expected.fingerprint()
                )));
            }
        }
        match (&self.signature, expected.or(named.as_ref())) {
            (None, _) => findings.push(Finding {
                path: Some(SIGNATURE.into()),
                message: "absent : le manifeste n'est pas signé".into(),
            }),
            (Some(signature), Some(key)) => {
                if !key.verifies(&signed_message(&self.manifest_bytes), signature) {
                    findings.push(Finding {
                        path: Some(MANIFEST.into()),
                        message:
                            "la signature du manifeste ne correspond pas : manifeste modifié ou signé par une autre clé"
                                .into(),
                    });
                }
            }
            (Some(_), None) => {}
        }
        findings
    }
}

fn read_member(zip: &mut ZipArchive<File>, name: &str) -> Result<Option<Vec<u8>>, zip::result::ZipError> {
    let mut member = match zip.by_name(name) {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    member.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(dir: &Path, key: Option<&BookKey>) -> PathBuf {
        let dest = dir.join("b.zip");
        let mut w = BundleWriter::create(&dest).unwrap();
        w.add("a/un.txt", b"un").unwrap();
        w.add("deux.txt", b"deux").unwrap();
        w.finish("test/1", Utc::now(), serde_json::json!({"year": 2026}), key)
            .unwrap();
        dest
    }

    #[test]
    fn a_signed_bundle_checks_and_names_a_changed_member() {
        let dir = tempfile::tempdir().unwrap();
        let key = BookKey::generate().unwrap();
        let path = written(dir.path(), Some(&key));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.zip")], "no partial file left");
        let mut b = Bundle::open(&path).unwrap();
        assert_eq!(b.check(Some(&key.public()), true), vec![]);
        assert_eq!(b.manifest.files.len(), 2);

        // Rewrite the zip with one member changed and the manifest kept.
        let changed = dir.path().join("c.zip");
        let mut out = ZipWriter::new(File::create(&changed).unwrap());
        for name in ["a/un.txt", "deux.txt", MANIFEST, SIGNATURE] {
            let bytes = b.read(name).unwrap().unwrap();
            out.start_file(name, options()).unwrap();
            out.write_all(if name == "deux.txt" { b"DEUX" } else { &bytes })
                .unwrap();
        }
        out.finish().unwrap();
        let findings = Bundle::open(&changed).unwrap().check(None, true);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].path.as_deref(), Some("deux.txt"));

        let other = BookKey::generate().unwrap();
        let findings = Bundle::open(&path).unwrap().check(Some(&other.public()), true);
        assert!(
            findings.iter().any(|f| f.message.contains("pas par celle attendue")),
            "{findings:?}"
        );
    }

    #[test]
    fn member_names_cannot_escape() {
        for bad in ["/etc/passwd", "../x", "a/../../x", "a//b", "manifest.json", "a\\b", ""] {
            assert!(check_member_name(bad).is_err(), "{bad}");
        }
        assert!(check_member_name("factures/F2026-0001.pdf").is_ok());
    }
}
