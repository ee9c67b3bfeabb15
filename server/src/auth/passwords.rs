//! Password hashing (argon2id) behind a gate: a fixed number of hashes at a time, a short queue, and
//! memory blocks that are reused instead of allocated per check.
//!
//! Each argon2id check fills 19 MiB. Allocated per check, a flood of wrong passwords grew the
//! server to gigabytes: nothing bounded how many ran at once, and glibc kept the freed blocks. Here
//! at most `concurrency` checks run (one per core by default), each in a block taken from a pool
//! that holds at most `concurrency` blocks; a caller that finds `queue` others already waiting is
//! told to come back later (503) rather than queued without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

/// Pooled blocks larger than this many times the default are not kept (an old hash with a larger
/// memory cost gets a block of its own, freed after use).
const MAX_POOLED_FACTOR: usize = 4;

/// Too many password checks are running and waiting: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The gate every password hash and check of the server goes through.
#[derive(Clone)]
pub struct PasswordGate {
    inner: Arc<Gate>,
}

struct Gate {
    running: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    memory: Mutex<Vec<Vec<Block>>>,
    /// When a check last handed its block back.
    last_used: Mutex<Instant>,
}

impl PasswordGate {
    /// At most `concurrency` hashes at once (at least one), at most `queue` callers waiting.
    pub fn new(concurrency: usize, queue: usize) -> PasswordGate {
        let concurrency = concurrency.max(1);
        PasswordGate {
            inner: Arc::new(Gate {
                running: Semaphore::new(concurrency),
                waiting: AtomicUsize::new(0),
                max_waiting: queue,
                memory: Mutex::new(Vec::with_capacity(concurrency)),
                last_used: Mutex::new(Instant::now()),
            }),
        }
    }

    /// Checks `password` against `stored`, or against a dummy hash of the same cost when there is
    /// no such user, so the answer takes as long either way.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, Busy> {
        self.run(move |memory| verify_with(&password, stored.as_deref(), memory))
            .await
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: String) -> Result<anyhow::Result<String>, Busy> {
        self.run(move |memory| hash_with(&password, memory)).await
    }

    /// How many memory blocks the pool holds (never more than the concurrency).
    pub fn pooled_blocks(&self) -> usize {
        self.inner.memory.lock().expect("pool poisoned").len()
    }

    /// Frees the pooled blocks when no check has handed one back for `quiet`, and returns the
    /// memory to the system; how many were freed. A check running meanwhile holds its block outside
    /// the pool and keeps it.
    pub fn release_idle(&self, quiet: Duration) -> usize {
        let gate = &self.inner;
        let mut memory = gate.memory.lock().expect("pool poisoned");
        if memory.is_empty() || gate.last_used.lock().expect("clock poisoned").elapsed() < quiet {
            return 0;
        }
        let freed = memory.len();
        *memory = Vec::new();
        drop(memory);
        return_freed_memory();
        freed
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let gate = &self.inner;
        let permit = match gate.running.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if gate.waiting.fetch_add(1, Ordering::AcqRel) >= gate.max_waiting {
                    gate.waiting.fetch_sub(1, Ordering::AcqRel);
                    metrics::counter!("cyberhub_password_checks_refused_total").increment(1);
                    return Err(Busy);
                }
                let permit = gate.running.acquire().await;
                gate.waiting.fetch_sub(1, Ordering::AcqRel);
                permit.expect("the semaphore is never closed")
            }
        };
        let inner = self.inner.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut memory = inner
                .memory
                .lock()
                .expect("pool poisoned")
                .pop()
                .unwrap_or_default();
            let outcome = work(&mut memory);
            if memory.len() <= Params::DEFAULT.block_count() * MAX_POOLED_FACTOR {
                inner.memory.lock().expect("pool poisoned").push(memory);
            }
            *inner.last_used.lock().expect("clock poisoned") = Instant::now();
            outcome
        })
        .await
        .expect("password hashing does not panic");
        drop(permit);
        Ok(outcome)
    }
}

/// Hashes a password with argon2id, default cost and a random salt, outside the gate (the command
/// line, tests). CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    hash_with(password, &mut Vec::new())
}

/// Checks a password outside the gate; see [`PasswordGate::verify`].
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    verify_with(password, stored, &mut Vec::new())
}

fn hash_with(password: &str, memory: &mut Vec<Block>) -> anyhow::Result<String> {
    let salt: [u8; Salt::RECOMMENDED_LENGTH] = rand::random();
    let params = Params::DEFAULT;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(password, &salt, &params, &mut out, memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("argon2 salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

fn verify_with(password: &str, stored: Option<&str>, memory: &mut Vec<Block>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a real password").expect("argon2 works"));
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy.as_str(), false),
    };
    let ok = check(password, hash, memory).unwrap_or(false);
    ok && real
}

/// Recomputes the hash with the stored salt and cost and compares in constant time.
fn check(password: &str, stored: &str, memory: &mut Vec<Block>) -> Option<bool> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let salt = parsed.salt?;
    let expected = parsed.hash?;
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    fit(memory, params.block_count());
    argon
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory[..])
        .ok()?;
    Some(Output::new(&out).ok()? == expected)
}

fn hash_into(
    password: &str,
    salt: &[u8],
    params: &Params,
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> anyhow::Result<()> {
    fit(memory, params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Hands freed memory back to the system. glibc keeps a freed block of this size in its heap once
/// one such block has been freed before (it raises its thresholds), so it is asked to trim.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Grows `memory` to at least `blocks` blocks (argon2 overwrites them; their content is irrelevant).
fn fit(memory: &mut Vec<Block>, blocks: usize) {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse", Some(&hash)));
        assert!(!verify_password("wrong horse", Some(&hash)));
        assert!(!verify_password("correct horse", None));
        assert!(!verify_password("correct horse", Some("not a hash")));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let hash = Argon2::default()
            .hash_password(b"from before")
            .unwrap()
            .to_string();
        assert!(verify_password("from before", Some(&hash)));
        assert!(!verify_password("from after", Some(&hash)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_runs_a_bounded_number_of_checks_and_refuses_past_its_queue() {
        let gate = PasswordGate::new(2, 3);
        let hash = hash_password("pw-123456").unwrap();
        let attempts = (0..20).map(|_| {
            let (gate, hash) = (gate.clone(), hash.clone());
            tokio::spawn(async move { gate.verify("wrong".into(), Some(hash)).await })
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let refused = outcomes
            .iter()
            .filter(|o| *o.as_ref().unwrap() == Err(Busy))
            .count();
        let checked = outcomes
            .iter()
            .filter(|o| *o.as_ref().unwrap() == Ok(false))
            .count();
        assert_eq!(refused + checked, 20);
        assert!(
            (2..=5).contains(&checked),
            "2 running + 3 queued at most, got {checked}"
        );
        assert!(gate.pooled_blocks() <= 2, "one block per running check");
        // Once the flood has passed, a check goes through again.
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(gate.verify("pw-123456".into(), Some(hash)).await, Ok(true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_pool_is_freed_after_a_quiet_spell_and_filled_again_by_the_next_check() {
        let gate = PasswordGate::new(2, 3);
        let hash = hash_password("pw-123456").unwrap();
        assert_eq!(
            gate.verify("pw-123456".into(), Some(hash.clone())).await,
            Ok(true)
        );
        assert_eq!(gate.pooled_blocks(), 1);
        assert_eq!(
            gate.release_idle(Duration::from_secs(60)),
            0,
            "not quiet yet"
        );
        assert_eq!(gate.pooled_blocks(), 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.release_idle(Duration::from_millis(20)), 1);
        assert_eq!(gate.pooled_blocks(), 0);
        assert_eq!(gate.verify("pw-123456".into(), Some(hash)).await, Ok(true));
        assert_eq!(gate.pooled_blocks(), 1);
    }
}
