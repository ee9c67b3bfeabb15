//! Provably fair openings in the store: each member's current seed pair (created on first need),
//! its server seed sealed until the pair ends, the nonce taken in the opening's own transaction (so
//! concurrent openings of one member get distinct, consecutive nonces), the pair revealed when the
//! member starts a new one, and a member's openings with everything a verifier needs. The scheme
//! itself is `cyberhub_protocol::fairness`.
//!
//! Seeds are secrets until revealed: sealed with ChaCha20-Poly1305 under the fairness key, which is
//! kept outside the database, they are never in an event, a log line or a URL.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use cyberhub_protocol::fairness::seed_hash;
use cyberhub_protocol::{
    CaseItem, ErrorCode, FairDraw, Fairness, Opening, Rarity, RevealedSeed, SeedRotation,
};
use hmac::{Hmac, Mac};
use rand::RngExt;
use sha2::Sha256;

use super::tx::Tx;
use super::{Store, StoreError, now_ms};

/// Seals and opens server seeds with the fairness key.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    check: String,
}

impl Sealer {
    pub fn new(key: [u8; 32]) -> Sealer {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
        mac.update(b"cyberhub fairness key check");
        Sealer {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
            check: hex::encode(mac.finalize().into_bytes()),
        }
    }

    /// A value that tells keys apart without revealing them: nodes of one database compare it.
    pub fn check(&self) -> &str {
        &self.check
    }

    /// `hex(nonce || ciphertext)` of a seed.
    fn seal(&self, seed: &str) -> String {
        let nonce: [u8; 12] = rand::random();
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), seed.as_bytes())
            .expect("sealing a short string cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    fn open(&self, sealed: &str) -> Result<String, StoreError> {
        let bytes = hex::decode(sealed).map_err(|e| StoreError::Db(e.into()))?;
        if bytes.len() < 12 {
            return Err(StoreError::Db("a sealed seed too short".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().expect("split at 12");
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| {
                StoreError::Db(
                    "a sealed seed does not open with this fairness key (CYBERHUB_FAIRNESS_KEY)"
                        .into(),
                )
            })?;
        String::from_utf8(plain).map_err(|e| StoreError::Db(e.into()))
    }
}

/// A member's current pair, as stored.
#[derive(Debug, Clone)]
pub struct PairRow {
    pub id: i64,
    pub sealed_seed: String,
    pub server_seed_hash: String,
    pub client_seed: String,
    pub next_nonce: i64,
}

/// What an opening is drawn under: the pair's id and server seed (opened), its client seed and
/// hash, and the nonce taken for this opening.
pub struct Draw {
    pub pair_id: i64,
    pub server_seed: String,
    pub fair: FairDraw,
}

/// A new random client seed: what a member gets until they set their own.
fn random_client_seed() -> String {
    hex::encode(rand::rng().random::<[u8; 8]>())
}

/// A new pair for `user_id` with `next_nonce` nonces taken, stored as the current one; `None`
/// when a concurrent transaction gave the member a pair first.
async fn new_pair(
    tx: &mut impl Tx,
    sealer: &Sealer,
    user_id: i64,
    client_seed: &str,
    next_nonce: i64,
) -> Result<Option<PairRow>, StoreError> {
    let seed = hex::encode(rand::random::<[u8; 32]>());
    let row = PairRow {
        id: 0,
        sealed_seed: sealer.seal(&seed),
        server_seed_hash: seed_hash(&seed),
        client_seed: client_seed.to_owned(),
        next_nonce,
    };
    let id = tx.insert_pair(user_id, &row, now_ms()).await?;
    Ok(id.map(|id| PairRow { id, ..row }))
}

/// The member's current pair, made on first need.
async fn current_pair(
    tx: &mut impl Tx,
    sealer: &Sealer,
    user_id: i64,
) -> Result<PairRow, StoreError> {
    // Twice at most: a pair made concurrently is there on the second read.
    for _ in 0..2 {
        if let Some(pair) = tx.current_pair(user_id).await? {
            return Ok(pair);
        }
        if let Some(pair) = new_pair(tx, sealer, user_id, &random_client_seed(), 0).await? {
            return Ok(pair);
        }
    }
    Err(seeds_changed())
}

fn seeds_changed() -> StoreError {
    StoreError::Conflict {
        code: ErrorCode::SeedsChanged,
        message: "the seed pair changed meanwhile; fetch it and try again".into(),
    }
}

/// Takes the next nonce of the member's current pair for an opening, in the opening's
/// transaction: one statement for an existing pair (the hot path); a member's first opening makes
/// the pair with its first nonce taken.
pub(super) async fn draw(
    tx: &mut impl Tx,
    sealer: &Sealer,
    user_id: i64,
) -> Result<Draw, StoreError> {
    let mut taken = None;
    // Twice at most: a pair made (or rotated) concurrently is there on the second try.
    for _ in 0..2 {
        if let Some(pair) = tx.take_nonce(user_id).await? {
            taken = Some(pair);
            break;
        }
        if let Some(pair) = new_pair(tx, sealer, user_id, &random_client_seed(), 1).await? {
            taken = Some(PairRow {
                next_nonce: 0,
                ..pair
            });
            break;
        }
    }
    let pair = taken.ok_or_else(seeds_changed)?;
    Ok(Draw {
        pair_id: pair.id,
        server_seed: sealer.open(&pair.sealed_seed)?,
        fair: FairDraw {
            server_seed_hash: pair.server_seed_hash,
            client_seed: pair.client_seed,
            nonce: pair.next_nonce,
        },
    })
}

/// Ends the current pair (revealing its seed) and starts a new one with `client_seed`.
async fn rotate(
    tx: &mut impl Tx,
    sealer: &Sealer,
    user_id: i64,
    client_seed: Option<&str>,
) -> Result<SeedRotation, StoreError> {
    if !tx.user_exists(user_id).await? {
        return Err(StoreError::NotFound("user"));
    }
    let old = current_pair(tx, sealer, user_id).await?;
    let seed = sealer.open(&old.sealed_seed)?;
    // Revealed in the same transaction that ends the pair, and only if still current: no opening
    // is drawn from it after (an opening's nonce statement skips a revealed pair), and the last
    // nonce is the one the row holds now, openings committed meanwhile included.
    let next_nonce = tx
        .reveal_pair(old.id, &seed, now_ms())
        .await?
        .ok_or_else(seeds_changed)?;
    let client_seed = match client_seed {
        Some(seed) => seed.to_owned(),
        None => random_client_seed(),
    };
    let next = new_pair(tx, sealer, user_id, &client_seed, 0)
        .await?
        .ok_or_else(seeds_changed)?;
    Ok(SeedRotation {
        revealed: RevealedSeed {
            server_seed: seed,
            server_seed_hash: old.server_seed_hash,
            client_seed: old.client_seed,
            last_nonce: (next_nonce > 0).then(|| next_nonce - 1),
        },
        next: Fairness {
            server_seed_hash: next.server_seed_hash,
            client_seed: next.client_seed,
            nonce: 0,
        },
    })
}

/// An opening's row as stored.
#[derive(sqlx::FromRow)]
struct OpeningRow {
    id: i64,
    case_id: i64,
    case_name: String,
    price: i64,
    opened_at: i64,
    case_item_id: i64,
    nonce: i64,
    items: String,
    server_seed_hash: String,
    client_seed: String,
    revealed_seed: Option<String>,
}

/// An item of a case as the opening kept it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct SnapshotItem {
    pub id: i64,
    pub name: String,
    pub rarity: String,
    pub value: i64,
    pub weight: i64,
}

impl Store {
    /// The fairness key kept in the database (for PostgreSQL without a configured key): the one
    /// stored, or `fresh`, stored now if no node stored one first.
    pub async fn stored_fairness_key(&self, fresh: String) -> Result<String, StoreError> {
        let read = || async {
            let found: Option<(String,)> = on_pool!(self, |pool| {
                sqlx::query_as("SELECT value FROM server_settings WHERE key = 'fairness_key'")
                    .fetch_optional(pool)
                    .await
            })?;
            Ok::<_, StoreError>(found.map(|(v,)| v))
        };
        if let Some(key) = read().await? {
            return Ok(key);
        }
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO server_settings (key, value) VALUES ('fairness_key', $1)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(&fresh)
            .execute(pool)
            .await
            .map(drop)
        })?;
        read()
            .await?
            .ok_or_else(|| StoreError::Db("the fairness key was not stored".into()))
    }

    /// The member's current pair (created on first ask): the commitment, the client seed and the
    /// next opening's nonce.
    pub async fn fairness(&self, user_id: i64) -> Result<Fairness, StoreError> {
        let sealer = self.fair()?.sealer.clone();
        let pair = transact!(self, |tx| current_pair(tx, &sealer, user_id))?;
        Ok(Fairness {
            server_seed_hash: pair.server_seed_hash,
            client_seed: pair.client_seed,
            nonce: pair.next_nonce,
        })
    }

    /// Reveals the current pair and starts a new one: with the member's `client_seed`, or a
    /// random one.
    pub async fn rotate_seeds(
        &self,
        user_id: i64,
        client_seed: Option<&str>,
    ) -> Result<SeedRotation, StoreError> {
        let sealer = self.fair()?.sealer.clone();
        let client_seed = client_seed.map(str::to_owned);
        transact!(self, |tx| rotate(
            tx,
            &sealer,
            user_id,
            client_seed.as_deref()
        ))
    }

    /// A member's provably fair openings, newest first, before the opening id `before`.
    pub async fn openings(
        &self,
        user_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Opening>, StoreError> {
        let rows: Vec<OpeningRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT o.id, o.case_id, o.case_name, o.price, o.opened_at, o.case_item_id,
                        o.nonce, o.items, p.server_seed_hash, p.client_seed, p.revealed_seed
                 FROM openings o JOIN fairness_pairs p ON p.id = o.pair_id
                 WHERE o.user_id = $1 AND o.id < $2 ORDER BY o.id DESC LIMIT $3",
            )
            .bind(user_id)
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|row| {
                let items: Vec<SnapshotItem> =
                    serde_json::from_str(&row.items).map_err(|e| StoreError::Db(e.into()))?;
                Ok(Opening {
                    id: row.id,
                    case_id: row.case_id,
                    case_name: row.case_name,
                    price: row.price,
                    opened_at: row.opened_at,
                    won_item_id: row.case_item_id,
                    fair: FairDraw {
                        server_seed_hash: row.server_seed_hash,
                        client_seed: row.client_seed,
                        nonce: row.nonce,
                    },
                    items: items
                        .into_iter()
                        .map(|i| CaseItem {
                            id: i.id,
                            name: i.name,
                            rarity: Rarity::parse(&i.rarity).unwrap_or(Rarity::Common),
                            value: i.value,
                            weight: i.weight,
                        })
                        .collect(),
                    server_seed: row.revealed_seed,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_seed_opens_with_its_key_only_and_never_shows_in_the_clear() {
        let sealer = Sealer::new([7; 32]);
        let seed = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let sealed = sealer.seal(seed);
        assert!(!sealed.contains(seed));
        assert_ne!(sealed, sealer.seal(seed), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap(), seed);
        assert!(Sealer::new([8; 32]).open(&sealed).is_err());
        assert_ne!(Sealer::new([8; 32]).check(), sealer.check());
    }
}
