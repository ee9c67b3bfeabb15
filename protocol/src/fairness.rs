//! Provably fair openings: the scheme, written once in Rust for the server (which draws with it) and
//! the Rust SDK (which checks with it), and the wire types of its endpoints. The TypeScript SDK and
//! the page implement the same steps with WebCrypto; fixed vectors in `conformance/` hold all
//! three to the same answers.
//!
//! Per member there is one current pair: a `server_seed` (32 random bytes, hex) whose
//! `server_seed_hash` (hex SHA-256 of the seed's hex string) is published before any opening, a
//! `client_seed` the member may set, and a `nonce` that counts the openings under the pair from 0.
//! An opening's roll is `h = hex HMAC-SHA256(key = server_seed, message = "{client_seed}:{nonce}")`,
//! `roll = int(h[0..13], 16) / 16^13`; the item is, of the case's items ordered by id, the first
//! whose cumulative weight exceeds `floor(roll × total_weight)`. When the member starts a new pair
//! the old seed is revealed, and every opening under it can be recomputed by anyone.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::CaseItem;

/// The hex SHA-256 of a server seed's hex string: the commitment published before openings.
pub fn seed_hash(server_seed: &str) -> String {
    hex::encode(Sha256::digest(server_seed.as_bytes()))
}

/// The roll of the opening `nonce` under a pair, in `[0, 1)`.
pub fn roll(server_seed: &str, client_seed: &str, nonce: i64) -> f64 {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(server_seed.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{client_seed}:{nonce}").as_bytes());
    let h = hex::encode(mac.finalize().into_bytes());
    let r = u64::from_str_radix(&h[..13], 16).expect("hex digits");
    // r < 2^52: the division by 16^13 = 2^52 is exact.
    r as f64 / (1u64 << 52) as f64
}

/// The item a roll draws from `(item id, weight)` pairs: ordered by id, the first whose cumulative
/// weight exceeds `floor(roll × total_weight)`. `None` when there is nothing to draw.
pub fn pick(roll: f64, items: &[(i64, i64)]) -> Option<i64> {
    let mut ordered: Vec<(i64, i64)> = items.iter().copied().filter(|(_, w)| *w > 0).collect();
    ordered.sort_by_key(|(id, _)| *id);
    let total: i64 = ordered.iter().map(|(_, w)| w).sum();
    if total <= 0 {
        return None;
    }
    // One IEEE-754 multiplication, as JavaScript's `Math.floor(roll * total)` does it.
    let ticket = (roll * total as f64).floor() as i64;
    let mut cumulative = 0;
    ordered.iter().find_map(|(id, weight)| {
        cumulative += weight;
        (cumulative > ticket).then_some(*id)
    })
}

/// What an opening was drawn under.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct FairDraw {
    pub server_seed_hash: String,
    pub client_seed: String,
    pub nonce: i64,
}

/// `GET /v1/me/fairness`: the member's current pair; `nonce` is the next opening's.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct Fairness {
    pub server_seed_hash: String,
    pub client_seed: String,
    pub nonce: i64,
}

/// `PUT /v1/me/fairness/client-seed`: 1 to 64 printable ASCII characters.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct ClientSeedRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub client_seed: String,
}

/// A server seed revealed when its pair ended: every opening under it can be checked now.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct RevealedSeed {
    pub server_seed: String,
    pub server_seed_hash: String,
    pub client_seed: String,
    /// The nonce of the last opening drawn under the pair; `None` when there was none.
    pub last_nonce: Option<i64>,
}

/// The answer to rotating the seeds (or setting the client seed): the old pair, revealed, and the
/// new one's commitment.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct SeedRotation {
    pub revealed: RevealedSeed,
    pub next: Fairness,
}

/// One of a member's openings, with all a verifier needs: what was drawn under which pair, and the
/// case's items and weights as they were then.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct Opening {
    pub id: i64,
    pub case_id: i64,
    pub case_name: String,
    pub price: i64,
    pub opened_at: i64,
    /// The case item drawn (an id of `items`).
    pub won_item_id: i64,
    pub fair: FairDraw,
    /// The case's items at the opening, by id.
    pub items: Vec<CaseItem>,
    /// The pair's server seed, once revealed; until then `null`.
    pub server_seed: Option<String>,
}

/// `GET /v1/me/openings`, newest first.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct OpeningList {
    pub openings: Vec<Opening>,
}

/// Whether an opening's result follows from its revealed seeds.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq)]
#[ts(export)]
pub struct Verification {
    pub valid: bool,
    /// The seed's hash matches the commitment published before the opening.
    pub hash_matches: bool,
    pub roll: f64,
    /// The item the roll draws.
    pub item_id: Option<i64>,
}

/// Checks an opening against its revealed server seed: the seed must hash to the published
/// commitment, and the roll it gives must draw the item that was won.
pub fn verify(opening: &Opening, server_seed: &str) -> Verification {
    let hash_matches = seed_hash(server_seed) == opening.fair.server_seed_hash;
    let roll = roll(server_seed, &opening.fair.client_seed, opening.fair.nonce);
    let weights: Vec<(i64, i64)> = opening.items.iter().map(|i| (i.id, i.weight)).collect();
    let item_id = pick(roll, &weights);
    Verification {
        valid: hash_matches && item_id == Some(opening.won_item_id),
        hash_matches,
        roll,
        item_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed vectors every implementation must agree on, computed independently (Python's
    /// hmac and hashlib): `conformance/fairness.json`.
    #[test]
    fn the_scheme_gives_the_fixed_vectors() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../conformance/fairness.json")).unwrap();
        let vectors = doc["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 5);
        for v in vectors {
            let seed = v["server_seed"].as_str().unwrap();
            let client = v["client_seed"].as_str().unwrap();
            let nonce = v["nonce"].as_i64().unwrap();
            assert_eq!(seed_hash(seed), v["server_seed_hash"].as_str().unwrap());
            let r = roll(seed, client, nonce);
            assert_eq!(r, v["roll"].as_f64().unwrap(), "roll of {client}:{nonce}");
            let items: Vec<(i64, i64)> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| (i["id"].as_i64().unwrap(), i["weight"].as_i64().unwrap()))
                .collect();
            assert_eq!(
                pick(r, &items),
                v["item_id"].as_i64(),
                "item of {client}:{nonce}"
            );
        }
    }

    #[test]
    fn the_ticket_falls_on_the_first_item_whose_cumulative_weight_exceeds_it() {
        let items = [(30, 1), (10, 600), (20, 399)];
        // By id: 10 (0..600), 20 (600..999), 30 (999..1000).
        assert_eq!(pick(0.0, &items), Some(10));
        assert_eq!(pick(0.5999, &items), Some(10));
        assert_eq!(pick(0.6, &items), Some(20));
        assert_eq!(pick(0.998, &items), Some(20));
        assert_eq!(pick(0.999, &items), Some(30));
        assert_eq!(pick(0.999_999_9, &items), Some(30));
        assert_eq!(pick(0.5, &[]), None);
        assert_eq!(pick(0.5, &[(1, 0)]), None);
    }

    #[test]
    fn a_tampered_seed_or_result_fails_verification() {
        let seed = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let items = vec![
            CaseItem {
                id: 1,
                name: "a".into(),
                rarity: crate::Rarity::Common,
                value: 1,
                weight: 50,
            },
            CaseItem {
                id: 2,
                name: "b".into(),
                rarity: crate::Rarity::Rare,
                value: 9,
                weight: 50,
            },
        ];
        let r = roll(seed, "c", 7);
        let won = pick(r, &[(1, 50), (2, 50)]).unwrap();
        let opening = Opening {
            id: 1,
            case_id: 1,
            case_name: "case".into(),
            price: 1,
            opened_at: 0,
            won_item_id: won,
            fair: FairDraw {
                server_seed_hash: seed_hash(seed),
                client_seed: "c".into(),
                nonce: 7,
            },
            items,
            server_seed: None,
        };
        assert!(verify(&opening, seed).valid);
        let other_seed = "f0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(!verify(&opening, other_seed).hash_matches);
        let mut claimed = opening.clone();
        claimed.won_item_id = if won == 1 { 2 } else { 1 };
        assert!(!verify(&claimed, seed).valid);
    }
}
