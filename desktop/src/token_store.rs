//! The sign-in kept between runs: the bearer token in a file only the user can read. On Unix the
//! file is created with mode 0600 in a 0700 folder; on Windows it sits in the user's roaming
//! application data, which only that user (and administrators) can read by default.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the token is kept.
#[derive(Clone, Debug)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    pub fn new(path: PathBuf) -> TokenStore {
        TokenStore { path }
    }

    /// The user's config folder plus `cyberhub/token`: `%APPDATA%\CyberHub\token` on Windows,
    /// `~/Library/Application Support/CyberHub/token` on macOS, `$XDG_CONFIG_HOME/cyberhub/token`
    /// (or `~/.config/cyberhub/token`) elsewhere. `None` when no such folder is known.
    pub fn default_path() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = if cfg!(windows) {
            PathBuf::from(var("APPDATA")?).join("CyberHub")
        } else if cfg!(target_os = "macos") {
            PathBuf::from(var("HOME")?).join("Library/Application Support/CyberHub")
        } else if let Some(config) = var("XDG_CONFIG_HOME") {
            PathBuf::from(config).join("cyberhub")
        } else {
            PathBuf::from(var("HOME")?).join(".config/cyberhub")
        };
        Some(dir.join("token"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved token, if there is a readable, non-empty one.
    pub fn load(&self) -> Option<String> {
        let text = fs::read_to_string(&self.path).ok()?;
        let token = text.trim();
        (!token.is_empty()).then(|| token.to_owned())
    }

    /// Saves the token, replacing the file whole (a new file renamed over the old one), so a
    /// reader never sees half a token and the file never exists with looser permissions.
    pub fn save(&self, token: &str) -> io::Result<()> {
        if let Some(dir) = self.path.parent() {
            create_private_dir(dir)?;
        }
        let fresh = self.path.with_extension("new");
        // A leftover from a crash would make create_new fail.
        let _ = fs::remove_file(&fresh);
        let mut file = private_file().open(&fresh)?;
        file.write_all(token.as_bytes())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&fresh, &self.path)
    }

    /// Forgets the token (signed out, or the server ended the session).
    pub fn clear(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn private_file() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_replaces_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("cyberhub/token"));
        assert_eq!(store.load(), None);
        store.save("first").unwrap();
        store.save("second").unwrap();
        assert_eq!(store.load().as_deref(), Some("second"));
        store.clear().unwrap();
        store.clear().unwrap();
        assert_eq!(store.load(), None);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_user_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("cyberhub/token"));
        store.save("secret").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(store.path().parent().unwrap()), 0o700);
    }
}
