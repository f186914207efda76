//! The files of one API request: uploads written where the library's file-based commands read
//! them, removed when the request is answered, and named as uploads (never by their temporary
//! path) in what is sent back.

use crate::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A private directory for one request's uploads.
pub(crate) struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    /// A new, empty directory under the system's temporary directory.
    pub(crate) fn new() -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kerafold-serve-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Self { dir })
    }

    /// The workspace's path of `name` (a fixed name chosen by the server, never the client's).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `bytes` as `name` (directories created) and returns its path.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// `text` with the workspace's paths replaced by what they hold (`upload:NAME`).
    pub(crate) fn scrub(&self, text: &str) -> String {
        let root = format!("{}{}", self.dir.display(), std::path::MAIN_SEPARATOR);
        text.replace(&root, "upload:")
            .replace(&self.dir.display().to_string(), "upload")
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_as_uploads_and_removed_with_the_workspace() {
        let ws = Workspace::new().unwrap();
        let path = ws.write("setup/setup.json", b"{}").unwrap();
        assert!(path.exists());
        let msg = format!("{}: not JSON", path.display());
        assert_eq!(ws.scrub(&msg), "upload:setup/setup.json: not JSON");
        let dir = ws.dir.clone();
        drop(ws);
        assert!(!dir.exists());
    }
}
