//! Where the fairness key comes from: `CYBERHUB_FAIRNESS_KEY`, else a key file (created, readable
//! by the server's user only, when missing; by default beside the SQLite database), else, on
//! PostgreSQL with neither, a key kept in the database itself with a warning at every start, since
//! a dump of the database would then reveal unrevealed seeds.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::store::Store;

/// The 32-byte key the configuration names (or a new one, stored where it says).
pub async fn resolve(config: &Config, store: &Store) -> anyhow::Result<[u8; 32]> {
    if let Some(text) = &config.fairness_key {
        return parse(text.trim())
            .ok_or_else(|| anyhow::anyhow!("CYBERHUB_FAIRNESS_KEY must be 64 hex digits"));
    }
    let file = config
        .fairness_key_file
        .clone()
        .or_else(|| beside_sqlite(&config.database_url));
    match file {
        Some(path) => from_file(&path),
        None => {
            tracing::warn!(
                "CYBERHUB_FAIRNESS_KEY is not set: the key that seals unrevealed seeds is kept in \
                 the database, so a dump of it would reveal them; set the same key on every node"
            );
            let key = store.stored_fairness_key(random_key()).await?;
            parse(&key).ok_or_else(|| anyhow::anyhow!("the stored fairness key is malformed"))
        }
    }
}

fn random_key() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn parse(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

/// `fairness.key` in the directory of a `sqlite:` database file.
fn beside_sqlite(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    let dir = Path::new(path).parent().unwrap_or(Path::new(""));
    Some(dir.join("fairness.key"))
}

fn from_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return parse(text.trim()).ok_or_else(|| {
            anyhow::anyhow!(
                "{} does not hold a fairness key (64 hex digits)",
                path.display()
            )
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = random_key();
    // Written whole and synced under a temporary name, then linked into place: a reader (another
    // node starting at once) never sees a half-written file, and a crash or a disk error right
    // after start never leaves an empty key beside seeds sealed with it (both happened: an ext4
    // error after start left a 0-byte key behind).
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let draft = dir.join(format!(
        ".fairness.key.{}.{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&draft).and_then(|mut file| {
        std::io::Write::write_all(&mut file, key.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => {
            // The new name is durable once the directory is.
            std::fs::File::open(dir)?.sync_all()?;
            tracing::info!(file = %path.display(), "created the fairness key; keep it with the database");
            Ok(parse(&key).expect("fresh hex"))
        }
        // Another process created it meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => from_file(path),
        Err(e) => Err(anyhow::anyhow!("creating {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_the_sqlite_database() {
        assert_eq!(
            beside_sqlite("sqlite://data/cyberhub.db"),
            Some(PathBuf::from("data/fairness.key"))
        );
        assert_eq!(
            beside_sqlite("sqlite:///tmp/x/c.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/fairness.key"))
        );
        assert_eq!(beside_sqlite("postgres://u@h/db"), None);
    }

    #[test]
    fn a_key_file_is_created_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/fairness.key");
        let key = from_file(&path).unwrap();
        assert_eq!(from_file(&path).unwrap(), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(from_file(&path).is_err());
    }
}
