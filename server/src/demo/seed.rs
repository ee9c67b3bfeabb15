//! The demo seed: on an empty database, an admin, two members for the visitor to sign in as, and
//! three cases; and the club's demo members, created when their activity starts
//! ([`super::activity`]).

use cyberhub_protocol::{CaseInput, CaseItemInput, Rarity, Role};

use crate::auth::hash_password;
use crate::store::Store;

/// A demo login, printed at start.
pub struct DemoLogin {
    pub username: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub balance: i64,
}

/// The SmartShell clients the demo links its members to (`cyberhub-smartshell-stub --demo`
/// creates them), so that a payment at the stand-in's desk shows on the member's page.
pub const SMARTSHELL_CLIENTS: [(&str, &str); 2] = [
    ("alice", "0a11ce00-0000-4000-8000-000000000002"),
    ("bob", "0b0b0000-0000-4000-8000-000000000003"),
];

/// The accounts the demo creates.
pub const LOGINS: [DemoLogin; 3] = [
    DemoLogin {
        username: "admin",
        password: "admin-demo-1",
        role: Role::Admin,
        balance: 0,
    },
    DemoLogin {
        username: "alice",
        password: "alice-demo-1",
        role: Role::User,
        balance: 150_000,
    },
    DemoLogin {
        username: "bob",
        password: "bob-demo-1",
        role: Role::User,
        balance: 50_000,
    },
];

/// The club's demo members: ordinary accounts whose password nobody knows, played by
/// [`super::activity`]; the visitor's own accounts are [`LOGINS`].
pub const MEMBERS: [&str; 3] = ["masha", "dimon", "kostya_pro"];

/// Seeds the demo data unless the database already has users. Returns whether it seeded.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    if store.count_users().await? > 0 {
        return Ok(false);
    }
    for login in &LOGINS {
        let user = create(store, login.username, login.password.to_owned(), login.role).await?;
        if login.balance > 0 {
            store
                .adjust_balance(user, login.balance, "demo starting balance")
                .await?;
        }
        if let Some((_, client)) = SMARTSHELL_CLIENTS
            .iter()
            .find(|(name, _)| *name == login.username)
        {
            store.link_smartshell(user, client).await?;
        }
    }
    for case in cases() {
        store.create_case(&case).await?;
    }
    Ok(true)
}

/// The ids of the demo members, creating those missing (a database seeded by an older version
/// has none). Their passwords are random and never shown: nobody signs in as them.
pub async fn members(store: &Store) -> anyhow::Result<Vec<(i64, &'static str)>> {
    let mut ids = Vec::with_capacity(MEMBERS.len());
    for name in MEMBERS {
        let id = match store.user_with_password(name).await? {
            Some((user, _)) => user.id,
            None => {
                let password = hex::encode(rand::random::<[u8; 16]>());
                create(store, name, password, Role::User).await?
            }
        };
        ids.push((id, name));
    }
    Ok(ids)
}

async fn create(store: &Store, name: &str, password: String, role: Role) -> anyhow::Result<i64> {
    let hash = tokio::task::spawn_blocking(move || hash_password(&password)).await??;
    Ok(store.create_user(name, &hash, role).await?.id)
}

fn item(name: &str, rarity: Rarity, value: i64, weight: i64) -> CaseItemInput {
    CaseItemInput {
        name: name.into(),
        rarity,
        value,
        weight,
    }
}

/// The demo's cases, named as a Russian club would name them (the page speaks Russian first).
fn cases() -> Vec<CaseInput> {
    vec![
        CaseInput {
            name: "Стартовый кейс".into(),
            price: 5_000,
            image_url: "/img/cases/starter.png".into(),
            items: vec![
                item("30 минут за ПК", Rarity::Common, 2_000, 600),
                item("Энергетик", Rarity::Uncommon, 4_000, 300),
                item("Час за ПК", Rarity::Rare, 8_000, 90),
                item("Игровой коврик", Rarity::Epic, 20_000, 9),
                item("Ночной пакет", Rarity::Legendary, 100_000, 1),
            ],
        },
        CaseInput {
            name: "Ночная сова".into(),
            price: 15_000,
            image_url: "/img/cases/night-owl.png".into(),
            items: vec![
                item("2 часа за ПК", Rarity::Common, 8_000, 500),
                item("Снек-комбо", Rarity::Uncommon, 12_000, 300),
                item("Ночной пакет", Rarity::Rare, 30_000, 150),
                item("Гарнитура", Rarity::Epic, 60_000, 45),
                item("Пакет на выходные", Rarity::Legendary, 250_000, 5),
            ],
        },
        CaseInput {
            name: "VIP-кейс".into(),
            price: 50_000,
            image_url: "/img/cases/vip.png".into(),
            items: vec![
                item("VIP-комната, 1 час", Rarity::Uncommon, 30_000, 500),
                item("Механическая клавиатура", Rarity::Rare, 80_000, 300),
                item("Абонемент на месяц", Rarity::Epic, 200_000, 150),
                item("Игровое кресло", Rarity::Legendary, 1_000_000, 50),
            ],
        },
    ]
}
