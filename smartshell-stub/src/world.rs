//! What the stand-in remembers: the club's clients, its work shifts and the payments taken in them,
//! the tokens it issued, and the fault it is told to show. Everything is in memory: a restart is a
//! new club.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// How the stand-in misbehaves, for the next requests (`POST /_stub/fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answers as SmartShell does.
    #[default]
    None,
    /// The API is down behind its proxy: `502 Bad Gateway` with an HTML page.
    Down,
    /// Every answer takes 30 s.
    Slow,
    /// `500 Internal Server Error` with an HTML page.
    Error500,
    /// `200` with a GraphQL `errors` list and no data.
    GraphqlError,
    /// Every access token issued until now stops working (refresh tokens, and tokens issued
    /// later, still work).
    ExpireTokens,
    /// Every access and refresh token issued until now stops working: only a new login helps.
    ExpireSessions,
    /// Pages overlap (each page of `workShifts` repeats the last shift of the one before) and a
    /// shift lists each of its payments twice.
    DuplicatePages,
    /// Payments come with a `sum` that is not a number.
    Malformed,
}

/// A client of the club (a member's SmartShell account).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: i64,
    pub uuid: String,
    pub login: String,
}

/// A top-up taken at the desk: one `DEPOSIT` item.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: i64,
    pub item_id: i64,
    pub client_uuid: String,
    /// Kopecks; SmartShell shows roubles.
    pub sum: i64,
    pub created_at: String,
    pub is_refunded: bool,
}

/// A cashier's work shift: payments are taken in the open one.
#[derive(Debug, Clone)]
pub struct Shift {
    pub id: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub payments: Vec<i64>,
}

/// A token the stand-in issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The staff account the bridge signs in with.
#[derive(Debug, Clone)]
pub struct Staff {
    pub login: String,
    pub password: String,
    pub company_id: i64,
}

pub struct World {
    pub staff: Staff,
    pub offset: UtcOffset,
    pub token_lifetime: Duration,
    pub clients: HashMap<String, Client>,
    pub payments: BTreeMap<i64, Payment>,
    pub shifts: Vec<Shift>,
    tokens: HashMap<String, (TokenKind, Instant)>,
    pub fault: Fault,
    next_id: i64,
}

impl World {
    /// A club with one shift open and no clients.
    pub fn new(staff: Staff, offset: UtcOffset, token_lifetime: Duration) -> World {
        let mut world = World {
            staff,
            offset,
            token_lifetime,
            clients: HashMap::new(),
            payments: BTreeMap::new(),
            shifts: Vec::new(),
            tokens: HashMap::new(),
            fault: Fault::None,
            // Ids that look like a real club's, far from 1, so a bridge that confused them with
            // its own row ids would show it.
            next_id: 9_870_000,
        };
        world.open_shift();
        world
    }

    fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Now, as SmartShell writes times: club-local, `YYYY-MM-DD HH:MM:SS`, no offset.
    pub fn now(&self) -> String {
        let now = OffsetDateTime::from(SystemTime::now()).to_offset(self.offset);
        now.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .expect("a fixed format")
    }

    pub fn open_shift(&mut self) -> i64 {
        let id = self.next();
        let created_at = self.now();
        self.shifts.push(Shift {
            id,
            created_at,
            finished_at: None,
            payments: Vec::new(),
        });
        id
    }

    pub fn close_shift(&mut self) -> Option<i64> {
        let now = self.now();
        let open = self.shifts.iter_mut().find(|s| s.finished_at.is_none())?;
        open.finished_at = Some(now);
        Some(open.id)
    }

    pub fn active_shift(&self) -> Option<&Shift> {
        self.shifts.iter().find(|s| s.finished_at.is_none())
    }

    pub fn add_client(&mut self, uuid: String, login: String) -> Result<(), String> {
        if self.clients.contains_key(&uuid) {
            return Err(format!("client {uuid} exists"));
        }
        let id = self.next();
        self.clients
            .insert(uuid.clone(), Client { id, uuid, login });
        Ok(())
    }

    /// Takes a top-up of `sum` kopecks from a client in the open shift; its id.
    pub fn add_payment(&mut self, client_uuid: &str, sum: i64) -> Result<i64, String> {
        if !self.clients.contains_key(client_uuid) {
            return Err(format!("no client {client_uuid}"));
        }
        if self.active_shift().is_none() {
            return Err("no shift is open: payments are taken in an open shift".into());
        }
        let (id, item_id) = (self.next(), self.next());
        let created_at = self.now();
        self.payments.insert(
            id,
            Payment {
                id,
                item_id,
                client_uuid: client_uuid.to_owned(),
                sum,
                created_at,
                is_refunded: false,
            },
        );
        let open = self
            .shifts
            .iter_mut()
            .find(|s| s.finished_at.is_none())
            .expect("checked above");
        open.payments.push(id);
        Ok(id)
    }

    pub fn refund(&mut self, payment_id: i64) -> Result<(), String> {
        let payment = self
            .payments
            .get_mut(&payment_id)
            .ok_or_else(|| format!("no payment {payment_id}"))?;
        payment.is_refunded = true;
        Ok(())
    }

    pub fn issue(&mut self, kind: TokenKind) -> String {
        let token = hex::encode(rand::random::<[u8; 24]>());
        self.tokens.insert(token.clone(), (kind, Instant::now()));
        token
    }

    /// Whether `token` is a live token of `kind`.
    pub fn valid(&self, token: &str, kind: TokenKind) -> bool {
        self.tokens.get(token).is_some_and(|(k, issued)| {
            *k == kind && (kind == TokenKind::Refresh || issued.elapsed() < self.token_lifetime)
        })
    }

    /// Forgets the tokens of `kinds` issued so far.
    pub fn expire(&mut self, kinds: &[TokenKind]) {
        self.tokens.retain(|_, (kind, _)| !kinds.contains(kind));
    }

    /// Uses up a refresh token (SmartShell issues a new one with each refresh).
    pub fn take_refresh(&mut self, token: &str) -> bool {
        self.valid(token, TokenKind::Refresh) && self.tokens.remove(token).is_some()
    }
}
