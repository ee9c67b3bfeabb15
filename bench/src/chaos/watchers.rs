//! The chaos run's onlookers: several Rust SDK clients per member (one of them on long-poll), each
//! following its stream through everything and logging what its hooks received, in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cyberhub_protocol::{ServerEvent, SyncReason};
use cyberhub_sdk::{Backoff, Client, ConnectionStatus, Transport};

/// One thing a client's hooks were given.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A wire event, with its outbox id.
    Event(i64, ServerEvent),
    /// `sync:required`: the stream goes on after `last_event_id`.
    Sync {
        reason: SyncReason,
        last_event_id: i64,
    },
    /// The state refetched after a `sync:required` (the balance, and the inventory's item ids
    /// when they could be loaded).
    Refetched {
        balance: i64,
        inventory: Option<Vec<i64>>,
    },
}

pub struct Watcher {
    pub member: i64,
    pub transport: Transport,
    pub client: Client,
    /// Where its stream started: every event after it is the client's to see.
    pub start: i64,
    pub log: Arc<Mutex<Vec<Seen>>>,
    pub reconnects: Arc<Mutex<u32>>,
}

impl Watcher {
    /// Connects and waits until the stream stands somewhere; quick reconnects, so a fault is
    /// followed within seconds.
    pub async fn start(
        url: &str,
        member: i64,
        token: &str,
        transport: Transport,
    ) -> anyhow::Result<Watcher> {
        let client = Client::builder(url)
            .token(token)
            .transport(transport)
            .backoff(Backoff {
                base: Duration::from_millis(250),
                cap: Duration::from_secs(3),
            })
            .sse_retry(Duration::from_secs(5))
            .request_timeout(Duration::from_secs(15))
            .build()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let events = log.clone();
        client
            .on_event(move |event, meta| {
                let seen = match event {
                    ServerEvent::SyncRequired(sync) => Seen::Sync {
                        reason: sync.reason,
                        last_event_id: sync.last_event_id,
                    },
                    event => Seen::Event(meta.id, event.clone()),
                };
                events.lock().unwrap().push(seen);
            })
            .detach();
        let refetched = log.clone();
        client
            .on_balance_updated(move |balance, meta| {
                if let Some(snapshot) = &meta.resync {
                    refetched.lock().unwrap().push(Seen::Refetched {
                        balance: balance.balance,
                        inventory: snapshot
                            .inventory
                            .as_ref()
                            .map(|items| items.iter().map(|i| i.id).collect()),
                    });
                }
            })
            .detach();
        let reconnects = Arc::new(Mutex::new(0));
        let counted = reconnects.clone();
        client
            .on_connection_change(move |state| {
                if state.state == ConnectionStatus::Reconnecting {
                    *counted.lock().unwrap() += 1;
                }
            })
            .detach();
        client.connect().await;
        let start = client
            .last_event_id()
            .ok_or_else(|| anyhow::anyhow!("a client of member {member} did not connect"))?;
        Ok(Watcher {
            member,
            transport,
            client,
            start,
            log,
            reconnects,
        })
    }

    /// The newest outbox id its hooks have seen.
    pub fn position(&self) -> i64 {
        self.client.last_event_id().unwrap_or(self.start)
    }
}
