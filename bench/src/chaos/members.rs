//! The chaos run's members: seeded straight into the database, then playing through nginx with the
//! Rust SDK (opening cases, selling what they won, chatting) while the admin tops them up. Every
//! write is logged with what its caller learned: acknowledged, refused, or unknown (no answer).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cyberhub_protocol::Role;
use cyberhub_sdk::{Client, Error};
use cyberhub_server::auth::{hash_password, token_hash};
use cyberhub_server::store::{Store, now_ms};
use rand::RngExt;
use tokio_util::sync::CancellationToken;

pub struct Member {
    pub id: i64,
    pub token: String,
}

pub struct Seeded {
    pub admin_token: String,
    pub members: Vec<Member>,
    pub cases: Vec<i64>,
}

/// What every member has before the run, in the ledger like any credit.
pub const STARTING_BALANCE: i64 = 50_000;

/// An admin, `members` members with a starting balance and a session each, and two cases.
pub async fn seed(url: &str, members: usize) -> anyhow::Result<Seeded> {
    let store = Store::open(url).await?;
    // One argon2 hash for all: nobody logs in with a password here.
    let hash = hash_password("chaos-password")?;
    let session = |store: &Store, user: i64, name: String| {
        let token = format!("chaos-{name}-{:016x}", rand::random::<u64>());
        let hash = token_hash(&token);
        let store = store.clone();
        async move {
            store
                .create_session(&hash, user, now_ms() + 86_400_000)
                .await
                .map(|_| token)
        }
    };
    let admin = store.create_user("admin", &hash, Role::Admin).await?;
    let admin_token = session(&store, admin.id, "admin".into()).await?;
    let mut seeded = Vec::new();
    for i in 0..members {
        let name = format!("member{i}");
        let user = store.create_user(&name, &hash, Role::User).await?;
        store
            .adjust_balance(user.id, STARTING_BALANCE, "chaos starting balance")
            .await?;
        seeded.push(Member {
            id: user.id,
            token: session(&store, user.id, name).await?,
        });
    }
    let mut cases = Vec::new();
    for (name, price, items) in [
        (
            "Budget",
            500,
            serde_json::json!([
                {"name": "Sticker", "rarity": "common", "value": 200, "weight": 70},
                {"name": "Keycap", "rarity": "rare", "value": 900, "weight": 25},
                {"name": "Mousepad", "rarity": "epic", "value": 3000, "weight": 5}
            ]),
        ),
        (
            "Premium",
            2_500,
            serde_json::json!([
                {"name": "Headset", "rarity": "uncommon", "value": 1000, "weight": 60},
                {"name": "Keyboard", "rarity": "epic", "value": 4000, "weight": 35},
                {"name": "Monitor", "rarity": "legendary", "value": 20000, "weight": 5}
            ]),
        ),
    ] {
        let case = store
            .create_case(&serde_json::from_value(serde_json::json!({
                "name": name, "price": price, "image_url": "", "items": items
            }))?)
            .await?;
        cases.push(case.id);
    }
    store.close().await;
    Ok(Seeded {
        admin_token,
        members: seeded,
        cases,
    })
}

#[derive(Clone, Debug)]
pub enum Write {
    Open {
        member: i64,
    },
    Sell {
        member: i64,
        item: i64,
    },
    Chat {
        member: i64,
        text: String,
    },
    /// An admin's credit; its note is unique, so the ledger line can be found.
    Topup {
        member: i64,
        note: String,
    },
}

#[derive(Clone, Debug)]
pub enum Outcome {
    /// A 2xx answer, with the id it named (the item won, the message sent), if any.
    Acked(Option<i64>),
    /// A 4xx answer: the server said it did nothing.
    Refused(String),
    /// No answer, or a 5xx (a node dying mid-request, a database lost mid-commit): either way.
    Unknown(String),
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub write: Write,
    pub outcome: Outcome,
    /// When the answer (or its absence) was known.
    pub at: Instant,
}

pub type WriteLog = Arc<Mutex<Vec<Logged>>>;

fn outcome<T>(result: Result<T, Error>, id: impl FnOnce(&T) -> Option<i64>) -> Outcome {
    match result {
        Ok(answer) => Outcome::Acked(id(&answer)),
        Err(Error::Api { status, code, .. }) if (400..500).contains(&status) => {
            Outcome::Refused(format!("{status} {code}"))
        }
        Err(e) => Outcome::Unknown(e.to_string()),
    }
}

/// A client for REST calls only, with the bounded wait a member's app would have.
pub fn rest_client(url: &str, token: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(url)
        .token(token)
        .request_timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .build()?)
}

/// One member playing until `stop`: a write every `pace` on average (exponential gaps), half of
/// them openings, a quarter sales of an item it won, a quarter chat messages.
pub async fn play(
    client: Client,
    member: i64,
    cases: Vec<i64>,
    pace: Duration,
    log: WriteLog,
    stop: CancellationToken,
) {
    let mut won: Vec<i64> = Vec::new();
    let mut said = 0u32;
    loop {
        let gap = pace.mul_f64(-(1.0 - rand::rng().random_range(0.0..1.0f64)).ln());
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(gap) => {}
        }
        let roll = rand::rng().random_range(0..4u8);
        let (write, outcome) = if roll < 2 || (roll == 2 && won.is_empty()) {
            let case = cases[rand::rng().random_range(0..cases.len())];
            let result = client.open_case(case).await;
            let outcome = outcome(result, |r| Some(r.item.id));
            if let Outcome::Acked(Some(item)) = outcome {
                won.push(item);
            }
            (Write::Open { member }, outcome)
        } else if roll == 2 {
            let item = won.swap_remove(rand::rng().random_range(0..won.len()));
            let result = client.sell(item).await;
            (Write::Sell { member, item }, outcome(result, |_| None))
        } else {
            said += 1;
            let text = format!("chaos m{member} #{said}");
            let result = client.send_chat_message(&text).await;
            (
                Write::Chat { member, text },
                outcome(result, |m| Some(m.id)),
            )
        };
        log.lock().unwrap().push(Logged {
            write,
            outcome,
            at: Instant::now(),
        });
    }
}

/// The admin crediting a random member every `pace` on average.
pub async fn top_up(
    admin: Client,
    members: Vec<i64>,
    pace: Duration,
    log: WriteLog,
    stop: CancellationToken,
) {
    let mut n = 0u32;
    loop {
        let gap = pace.mul_f64(-(1.0 - rand::rng().random_range(0.0..1.0f64)).ln());
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(gap) => {}
        }
        n += 1;
        let member = members[rand::rng().random_range(0..members.len())];
        let note = format!("chaos top-up #{n}");
        let amount = rand::rng().random_range(1..=20) * 500;
        let result = admin.admin().adjust_balance(member, amount, &note).await;
        log.lock().unwrap().push(Logged {
            write: Write::Topup { member, note },
            outcome: outcome(result, |_| None),
            at: Instant::now(),
        });
    }
}
