//! The demo seed: on an empty database, an admin, two members with money, and three cases, so the
//! README's first command shows something real.

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

/// Seeds the demo data unless the database already has users. Returns whether it seeded.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    if store.count_users().await? > 0 {
        return Ok(false);
    }
    for login in &LOGINS {
        let password = login.password;
        let hash = tokio::task::spawn_blocking(move || hash_password(password)).await??;
        let user = store.create_user(login.username, &hash, login.role).await?;
        if login.balance > 0 {
            store
                .adjust_balance(user.id, login.balance, "demo starting balance")
                .await?;
        }
    }
    for case in cases() {
        store.create_case(&case).await?;
    }
    Ok(true)
}

fn item(name: &str, rarity: Rarity, value: i64, weight: i64) -> CaseItemInput {
    CaseItemInput {
        name: name.into(),
        rarity,
        value,
        weight,
    }
}

fn cases() -> Vec<CaseInput> {
    vec![
        CaseInput {
            name: "Starter Case".into(),
            price: 5_000,
            image_url: "/img/cases/starter.png".into(),
            items: vec![
                item("30 min of PC time", Rarity::Common, 2_000, 600),
                item("Energy drink", Rarity::Uncommon, 4_000, 300),
                item("1 hour of PC time", Rarity::Rare, 8_000, 90),
                item("Gaming mouse pad", Rarity::Epic, 20_000, 9),
                item("Night pass", Rarity::Legendary, 100_000, 1),
            ],
        },
        CaseInput {
            name: "Night Owl Case".into(),
            price: 15_000,
            image_url: "/img/cases/night-owl.png".into(),
            items: vec![
                item("2 hours of PC time", Rarity::Common, 8_000, 500),
                item("Snack combo", Rarity::Uncommon, 12_000, 300),
                item("Night pass", Rarity::Rare, 30_000, 150),
                item("Headset", Rarity::Epic, 60_000, 45),
                item("Weekend pass", Rarity::Legendary, 250_000, 5),
            ],
        },
        CaseInput {
            name: "VIP Case".into(),
            price: 50_000,
            image_url: "/img/cases/vip.png".into(),
            items: vec![
                item("VIP room, 1 hour", Rarity::Uncommon, 30_000, 500),
                item("Mechanical keyboard", Rarity::Rare, 80_000, 300),
                item("Monthly pass", Rarity::Epic, 200_000, 150),
                item("Gaming chair", Rarity::Legendary, 1_000_000, 50),
            ],
        },
    ]
}
