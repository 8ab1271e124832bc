//! Receiving an uploaded CSV: the multipart body is streamed to a temporary
//! file beside the imports' kept copies (hashed on the way), never held in
//! memory; the file is removed again unless it is kept. The file name and
//! the text fields follow the input policy ([`crate::input`]): a name
//! refused is refused before a byte of the file is written.

use std::io::Write;
use std::path::Path;

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};

use crate::billing::import::{self, ImportError, ImportKind};
use crate::billing::jobs::import::TempFile;
use crate::i18n::{Lang, Text};
use crate::input;
use crate::text;
use crate::web::admin::AdminError;

/// The upload limit, in the reader's units (« 64 Mo », « 64 MB »).
pub(crate) fn limit_text() -> Text {
    text!("{n} Mo", n = UPLOAD_LIMIT / (1024 * 1024))
}

/// An import's refusal as the admin says it.
pub(crate) fn admin_text(e: ImportError) -> Text {
    match AdminError::from(e) {
        AdminError::Invalid(t) | AdminError::Conflict(t) => t,
        other => Text::verbatim(other.message(Lang::Fr)),
    }
}

/// The largest upload accepted (the route's body limit).
pub(crate) const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Bytes gathered before each write to disk.
const WRITE_CHUNK: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum UploadError {
    #[error("formulaire d'envoi de fichier attendu (multipart/form-data)")]
    NotMultipart,
    #[error("fichier trop volumineux")]
    TooLarge,
    #[error("envoi interrompu ou illisible")]
    Malformed,
    #[error("aucun fichier choisi")]
    NoFile,
    #[error("plusieurs fichiers")]
    TwoFiles,
    #[error("le fichier {0:?} est vide")]
    EmptyFile(String),
    #[error("nom de fichier refusé : {0}")]
    BadName(Box<ImportError>),
    #[error("type d'import absent")]
    NoKind,
    #[error("type d'import inconnu : {0:?}")]
    BadKind(String),
    #[error("le fichier n'a pas pu être enregistré : {0}")]
    Io(String),
}

impl UploadError {
    /// What the form says, in the operator's language.
    pub(crate) fn text(self) -> Text {
        match self {
            UploadError::NotMultipart => text!("Un formulaire d'envoi de fichier (multipart/form-data) était attendu."),
            UploadError::TooLarge => text!("Fichier trop volumineux : {size} au plus.").with("size", limit_text()),
            UploadError::Malformed => text!("Envoi interrompu ou illisible : réessayez."),
            UploadError::NoFile => text!("Choisissez un fichier CSV ou un relevé camt.053."),
            UploadError::TwoFiles => text!("Un seul fichier à la fois."),
            UploadError::EmptyFile(name) => text!("Le fichier « {name} » est vide.", name = name),
            // The refusal names the file name's field itself.
            UploadError::BadName(e) => admin_text(*e),
            UploadError::NoKind => text!("Choisissez le type d'import : clients ou relevé bancaire."),
            UploadError::BadKind(kind) => text!(
                "Type d'import inconnu : « {kind} » (clients ou relevé bancaire).",
                kind = kind
            ),
            UploadError::Io(_) => {
                text!("Le fichier n'a pas pu être enregistré : réessayez, ou voyez le journal du serveur.")
            }
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            UploadError::NotMultipart | UploadError::Malformed => StatusCode::BAD_REQUEST,
            UploadError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

fn multipart_error(e: MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge
    } else {
        tracing::info!(error = %e.body_text(), "unreadable upload");
        UploadError::Malformed
    }
}

pub(super) fn io(e: std::io::Error) -> UploadError {
    UploadError::Io(e.kind().to_string())
}

/// A file received whole.
pub(crate) struct Received {
    pub kind: ImportKind,
    /// The name the browser gave.
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    pub file: TempFile,
}

/// Reads the form: `kind` and one `file`, in any order; the file goes to a
/// temporary file in `dir`.
#[tracing::instrument(skip_all, fields(dir = %dir.display()))]
pub(crate) async fn receive(mut multipart: Multipart, dir: &Path) -> Result<Received, UploadError> {
    let mut kind: Option<String> = None;
    let mut file: Option<(String, String, u64, TempFile)> = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("kind") => kind = Some(short_text(field).await?),
            Some("file") => {
                let given = field.file_name().unwrap_or("").trim().to_string();
                if given.is_empty() {
                    // A form sent without choosing a file: an empty part without a name.
                    continue;
                }
                if file.is_some() {
                    return Err(UploadError::TwoFiles);
                }
                let name = import::file_name(&given).map_err(|e| UploadError::BadName(Box::new(e)))?;
                let (sha, size, temp) = stream_to_disk(field, dir).await?;
                file = Some((name, sha, size, temp));
            }
            _ => {} // other fields (none expected) are skipped unread
        }
    }
    let kind = match kind.as_deref().map(str::trim) {
        None | Some("") => return Err(UploadError::NoKind),
        Some(k) => ImportKind::parse(k).ok_or_else(|| UploadError::BadKind(k.chars().take(40).collect()))?,
    };
    let (filename, sha256, size, file) = file.ok_or(UploadError::NoFile)?;
    if size == 0 {
        return Err(UploadError::EmptyFile(filename));
    }
    Ok(Received {
        kind,
        filename,
        sha256,
        size,
        file,
    })
}

/// A small text field (the kind), read at most 256 bytes, one line.
async fn short_text(mut field: Field<'_>) -> Result<String, UploadError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 256 {
            return Err(UploadError::BadKind(String::from_utf8_lossy(&bytes[..40]).into_owned()));
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    input::single_line(&text, 256).map_err(|e| {
        UploadError::BadKind(format!(
            "{}: {e}",
            text.chars().take(40).collect::<String>().escape_debug()
        ))
    })
}

async fn stream_to_disk(mut field: Field<'_>, dir: &Path) -> Result<(String, u64, TempFile), UploadError> {
    // From here on, `temp` removes the file if anything fails.
    let (temp, mut out) = {
        let dir = dir.to_path_buf();
        blocking(move || TempFile::create(&dir)).await?
    };
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut pending: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        hasher.update(&chunk);
        size += chunk.len() as u64;
        pending.extend_from_slice(&chunk);
        if pending.len() >= WRITE_CHUNK {
            let bytes = std::mem::replace(&mut pending, Vec::with_capacity(WRITE_CHUNK));
            out = blocking(move || out.write_all(&bytes).map(|()| out)).await?;
        }
    }
    blocking(move || {
        out.write_all(&pending)?;
        out.sync_all()
    })
    .await?;
    let sha: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((sha, size, temp))
}

/// Runs file I/O off the async threads.
async fn blocking<T, F>(f: F) -> Result<T, UploadError>
where
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| UploadError::Io(e.to_string()))?
        .map_err(io)
}
