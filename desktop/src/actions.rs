//! The REST side: sign-in and sign-out, the loads, and the member's calls (open, sell, chat). Each
//! runs as a task on the app's tokio runtime and reports into the shared model, which asks for a
//! repaint; the UI thread only starts them and never waits.

use std::future::Future;
use std::time::Duration;

use cyberhub_sdk::Client;
use cyberhub_sdk::protocol::ErrorCode;
use tokio::runtime::Handle;

use crate::state::{FEED_LEN, Loaded, Problem, Shared};

/// Starts calls on the runtime; cheap to clone into hooks.
#[derive(Clone)]
pub struct Actions {
    client: Client,
    shared: Shared,
    runtime: Handle,
}

/// A username and password to sign in with at start (`--username`, `CYBERHUB_PASSWORD`).
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Actions {
    pub fn new(client: Client, shared: Shared, runtime: Handle) -> Actions {
        Actions {
            client,
            shared,
            runtime,
        }
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    /// At start: signs in when credentials were given, opens the stream, and once its starting
    /// position is fixed (every later change reaches the hooks) loads what the window shows.
    pub fn start(&self, credentials: Option<Credentials>) {
        let this = self.clone();
        self.spawn(async move {
            if let Some(Credentials { username, password }) = credentials {
                this.log_in(&username, &password, true).await;
            }
            this.client.connect().await;
            this.reload_cases();
            this.load_drops();
            this.load_chat();
            if this.client.token().is_some() {
                this.load_member();
            }
        });
    }

    /// Loads again what failed to load, once the connection is back.
    pub fn retry_failed(&self) {
        let (cases, drops, chat, member) = {
            let model = self.shared.lock();
            let member = model.signed_in && (model.me.failed() || model.inventory.failed());
            (
                model.cases.failed(),
                model.drops.failed(),
                model.chat.failed(),
                member,
            )
        };
        if cases {
            self.reload_cases();
        }
        if drops {
            self.load_drops();
        }
        if chat {
            self.load_chat();
        }
        if member {
            self.load_member();
        }
    }

    /// One REST load into the model. The ticket is taken before the request leaves, so every event
    /// that the answer may have missed is journaled.
    fn load<T, F>(&self, fetch: impl FnOnce(Client) -> F, into: fn(Result<T, Problem>) -> Loaded)
    where
        T: Send + 'static,
        F: Future<Output = cyberhub_sdk::Result<T>> + Send + 'static,
    {
        let ticket = self.shared.lock().begin_load();
        let request = fetch(self.client.clone());
        let (client, shared) = (self.client.clone(), self.shared.clone());
        self.spawn(async move {
            let result = request.await;
            if let Err(e) = &result
                && e.api_code() == Some(&ErrorCode::Unauthenticated)
            {
                // A saved token the server no longer knows (revoked, expired, a new database):
                // forget it and show the sign-in.
                client.set_token(None);
            }
            shared.update(|m| m.finish_load(ticket, into(result.map_err(Problem::from))));
        });
    }

    /// The member's own data: who they are (with the balance), the inventory, a mute in force.
    pub fn load_member(&self) {
        self.load(|c| async move { c.me().await }, Loaded::Me);
        self.load(|c| async move { c.inventory().await }, Loaded::Inventory);
        self.load(|c| async move { c.chat_mute().await }, Loaded::Mute);
    }

    /// The live feed's recent history (also after `sync:required`, which has no drops of its own).
    pub fn load_drops(&self) {
        self.load(
            |c| async move { c.drops(Some(FEED_LEN as u32)).await },
            Loaded::Drops,
        );
    }

    /// The newest page of the chat.
    fn load_chat(&self) {
        self.load(
            |c| async move { c.chat_history(Default::default()).await },
            Loaded::Chat,
        );
    }

    /// The case list, again: `cases:updated` names the case only.
    pub fn reload_cases(&self) {
        let fetch = self.shared.lock().begin_cases_fetch();
        let (client, shared) = (self.client.clone(), self.shared.clone());
        self.spawn(async move {
            let result = client.cases().await.map_err(Problem::from);
            shared.update(|m| m.finish_cases_fetch(fetch, result));
        });
    }

    /// Signs in; reports whether it worked. A `patient` sign-in (the launcher's, at start) tries
    /// again every 2 s while the server cannot be reached (the PC booted before the network)
    /// rather than leaving the member at the sign-in form.
    async fn log_in(&self, username: &str, password: &str, patient: bool) -> bool {
        self.shared.update(|m| m.begin_sign_in());
        let result = loop {
            match self.client.login(username, password).await {
                Err(e) if patient && e.is_transient() => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                result => break result,
            }
        };
        let signed_in = result.is_ok();
        self.shared
            .update(|m| m.finish_sign_in(result.map(|answer| answer.user).map_err(Problem::from)));
        signed_in
    }

    /// Signs in from the form; the stream goes on as the member from the same position.
    pub fn sign_in(&self, username: String, password: String) {
        let this = self.clone();
        self.spawn(async move {
            if this.log_in(&username, &password, false).await {
                this.load_member();
            }
        });
    }

    /// Signs out: the token is revoked on the server and forgotten here. When the server cannot
    /// be reached it is forgotten all the same: the next member at this PC must not be signed in.
    pub fn sign_out(&self) {
        let client = self.client.clone();
        self.spawn(async move {
            if client.logout().await.is_err() {
                client.set_token(None);
            }
        });
    }

    pub fn open_case(&self, case_id: i64) {
        let ticket = self.shared.update(|m| m.begin_open(case_id));
        let (client, shared) = (self.client.clone(), self.shared.clone());
        self.spawn(async move {
            // The balance and the inventory move with their events; the answer gives the outcome.
            let result = client.open_case(case_id).await;
            let outcome = result.map(|opened| opened.item).map_err(Problem::from);
            shared.update(|m| m.finish_open(ticket, case_id, outcome));
        });
    }

    pub fn sell(&self, item_id: i64) {
        let ticket = self.shared.update(|m| m.begin_sell(item_id));
        let (client, shared) = (self.client.clone(), self.shared.clone());
        self.spawn(async move {
            let result = client.sell(item_id).await;
            let result = result.map(drop).map_err(Problem::from);
            shared.update(|m| m.finish_sell(ticket, item_id, result));
        });
    }

    /// Sends a chat message; the message itself arrives with its event, like everyone else's.
    pub fn send_chat(&self, text: String) {
        let ticket = self.shared.update(|m| m.begin_send());
        let (client, shared) = (self.client.clone(), self.shared.clone());
        self.spawn(async move {
            let result = client.send_chat_message(&text).await;
            let result = result.map(drop).map_err(Problem::from);
            shared.update(|m| m.finish_send(ticket, text, result));
        });
    }
}
