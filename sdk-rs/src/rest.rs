//! The REST side: one JSON request with the bearer token and the error mapping every typed call
//! shares, the typed calls themselves, and the long-poll request the transport uses.

use std::sync::RwLock;
use std::time::Duration;

use cyberhub_protocol::{
    AnnouncementRequest, AnnouncementResponse, BalanceAdjustRequest, BalanceAdjustResponse, Case,
    CaseInput, CaseList, ChatHistory, ChatMessage, ChatMessageResponse, ChatMuteStatus,
    ClientSeedRequest, CreateUserRequest, DropList, Fairness, Inventory, InventoryItem,
    LoginRequest, LoginResponse, MuteRequest, MuteResponse, OpenCaseResponse, Opening, OpeningList,
    RecentDrop, SeedRotation, SellResponse, SendChatMessage, User,
};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::{Error, Result, retry_after};

/// Paging of [`Client::chat_history`](crate::Client::chat_history).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChatHistoryQuery {
    /// Only messages with an id below this one (page back through history).
    pub before: Option<i64>,
    /// How many, newest first (server default 50, at most 200).
    pub limit: Option<u32>,
}

/// One event as it comes off the wire, before the dispatcher parses its payload.
#[derive(Debug, Deserialize)]
pub(crate) struct WireEvent {
    pub id: i64,
    pub event: String,
    #[serde(deserialize_with = "raw_text")]
    pub data: String,
}

fn raw_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw: Box<RawValue> = Deserialize::deserialize(d)?;
    Ok(Box::<str>::from(raw).into_string())
}

/// `GET /v1/events/poll`, with the events kept raw so an event newer than this SDK is skipped rather
/// than failing the whole answer.
#[derive(Debug, Deserialize)]
pub(crate) struct PollAnswer {
    pub events: Vec<WireEvent>,
    pub next: i64,
}

/// Where and as whom: shared by the client, its stream task and its resyncs.
pub(crate) struct Rest {
    base: String,
    client: reqwest::Client,
    token: RwLock<Option<String>>,
    request_timeout: Duration,
}

impl Rest {
    pub(crate) fn new(
        base: String,
        client: reqwest::Client,
        token: Option<String>,
        request_timeout: Duration,
    ) -> Self {
        Rest {
            base,
            client,
            token: RwLock::new(token),
            request_timeout,
        }
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn token(&self) -> Option<String> {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the token; returns whether it changed.
    pub(crate) fn set_token(&self, token: Option<String>) -> bool {
        let mut slot = self.token.write().unwrap_or_else(|e| e.into_inner());
        if *slot == token {
            return false;
        }
        *slot = token;
        true
    }

    /// A request to `path` with the bearer token (when there is one).
    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.base));
        match self.token() {
            Some(token) => builder.header(AUTHORIZATION, format!("Bearer {token}")),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder, timeout: Option<Duration>) -> Result<Vec<u8>> {
        let builder = builder.header(ACCEPT, "application/json");
        let builder = match timeout {
            Some(t) => builder.timeout(t),
            None => builder,
        };
        let response = builder.send().await.map_err(Error::network)?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.map_err(Error::network)?;
        if !(200..300).contains(&status) {
            return Err(Error::from_answer(status, wait, &body));
        }
        Ok(body.to_vec())
    }

    /// Sends a REST call and parses its JSON answer.
    async fn call<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T> {
        let body = self.send(builder, Some(self.request_timeout)).await?;
        parse(&body)
    }

    /// Sends a REST call whose answer has no body (204).
    async fn call_empty(&self, builder: RequestBuilder) -> Result<()> {
        self.send(builder, Some(self.request_timeout)).await?;
        Ok(())
    }

    /// One long-poll. Without `after` the server answers at once with no events and its current
    /// position in `next`, which is how a client fixes its starting point.
    pub(crate) async fn poll(&self, after: Option<i64>, hold_secs: u64) -> Result<PollAnswer> {
        let mut builder = self.request(Method::GET, "/v1/events/poll");
        if let Some(after) = after {
            builder = builder.query(&[("after", after), ("timeout", hold_secs as i64)]);
        }
        // No request timeout: the transport bounds every poll by its hold plus the ready timeout.
        let body = self.send(builder, None).await?;
        parse(&body)
    }

    pub(crate) async fn login(&self, username: &str, password: &str) -> Result<LoginResponse> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        self.call(self.request(Method::POST, "/v1/auth/login").json(&body))
            .await
    }

    pub(crate) async fn logout(&self) -> Result<()> {
        self.call_empty(self.request(Method::POST, "/v1/auth/logout"))
            .await
    }

    pub(crate) async fn me(&self) -> Result<User> {
        self.call(self.request(Method::GET, "/v1/me")).await
    }

    pub(crate) async fn cases(&self) -> Result<Vec<Case>> {
        let list: CaseList = self.call(self.request(Method::GET, "/v1/cases")).await?;
        Ok(list.cases)
    }

    pub(crate) async fn get_case(&self, id: i64) -> Result<Case> {
        self.call(self.request(Method::GET, &format!("/v1/cases/{id}")))
            .await
    }

    pub(crate) async fn open_case(&self, id: i64) -> Result<OpenCaseResponse> {
        self.call(self.request(Method::POST, &format!("/v1/cases/{id}/open")))
            .await
    }

    pub(crate) async fn inventory(&self) -> Result<Vec<InventoryItem>> {
        let inventory: Inventory = self
            .call(self.request(Method::GET, "/v1/me/inventory"))
            .await?;
        Ok(inventory.items)
    }

    pub(crate) async fn sell(&self, item_id: i64) -> Result<SellResponse> {
        let path = format!("/v1/me/inventory/{item_id}/sell");
        self.call(self.request(Method::POST, &path)).await
    }

    pub(crate) async fn send_chat_message(&self, text: &str) -> Result<ChatMessage> {
        let body = SendChatMessage {
            text: text.to_owned(),
        };
        let answer: ChatMessageResponse = self
            .call(self.request(Method::POST, "/v1/chat/messages").json(&body))
            .await?;
        Ok(answer.message)
    }

    pub(crate) async fn chat_history(&self, query: ChatHistoryQuery) -> Result<Vec<ChatMessage>> {
        let mut builder = self.request(Method::GET, "/v1/chat/messages");
        if let Some(before) = query.before {
            builder = builder.query(&[("before", before)]);
        }
        if let Some(limit) = query.limit {
            builder = builder.query(&[("limit", limit)]);
        }
        let history: ChatHistory = self.call(builder).await?;
        Ok(history.messages)
    }

    pub(crate) async fn fairness(&self) -> Result<Fairness> {
        self.call(self.request(Method::GET, "/v1/me/fairness"))
            .await
    }

    pub(crate) async fn set_client_seed(&self, client_seed: &str) -> Result<SeedRotation> {
        let body = ClientSeedRequest {
            client_seed: client_seed.to_owned(),
        };
        self.call(
            self.request(Method::PUT, "/v1/me/fairness/client-seed")
                .json(&body),
        )
        .await
    }

    pub(crate) async fn rotate_seeds(&self) -> Result<SeedRotation> {
        self.call(self.request(Method::POST, "/v1/me/fairness/rotate"))
            .await
    }

    pub(crate) async fn openings(
        &self,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<Opening>> {
        let mut builder = self.request(Method::GET, "/v1/me/openings");
        if let Some(before) = before {
            builder = builder.query(&[("before", before)]);
        }
        if let Some(limit) = limit {
            builder = builder.query(&[("limit", limit)]);
        }
        let list: OpeningList = self.call(builder).await?;
        Ok(list.openings)
    }

    pub(crate) async fn chat_mute(&self) -> Result<ChatMuteStatus> {
        self.call(self.request(Method::GET, "/v1/chat/mute")).await
    }

    pub(crate) async fn drops(&self, limit: Option<u32>) -> Result<Vec<RecentDrop>> {
        let mut builder = self.request(Method::GET, "/v1/drops");
        if let Some(limit) = limit {
            builder = builder.query(&[("limit", limit)]);
        }
        let list: DropList = self.call(builder).await?;
        Ok(list.drops)
    }

    pub(crate) async fn create_case(&self, input: &CaseInput) -> Result<Case> {
        self.call(self.request(Method::POST, "/v1/admin/cases").json(input))
            .await
    }

    pub(crate) async fn update_case(&self, id: i64, input: &CaseInput) -> Result<Case> {
        let path = format!("/v1/admin/cases/{id}");
        self.call(self.request(Method::PUT, &path).json(input))
            .await
    }

    pub(crate) async fn delete_case(&self, id: i64) -> Result<()> {
        let path = format!("/v1/admin/cases/{id}");
        self.call_empty(self.request(Method::DELETE, &path)).await
    }

    pub(crate) async fn create_user(&self, input: &CreateUserRequest) -> Result<User> {
        self.call(self.request(Method::POST, "/v1/admin/users").json(input))
            .await
    }

    pub(crate) async fn adjust_balance(
        &self,
        user_id: i64,
        delta: i64,
        reason: &str,
    ) -> Result<BalanceAdjustResponse> {
        let body = BalanceAdjustRequest {
            delta,
            reason: reason.to_owned(),
        };
        let path = format!("/v1/admin/users/{user_id}/balance");
        self.call(self.request(Method::POST, &path).json(&body))
            .await
    }

    pub(crate) async fn announce(&self, text: &str) -> Result<AnnouncementResponse> {
        let body = AnnouncementRequest {
            text: text.to_owned(),
        };
        self.call(
            self.request(Method::POST, "/v1/admin/announcements")
                .json(&body),
        )
        .await
    }

    pub(crate) async fn delete_chat_message(&self, id: i64) -> Result<()> {
        let path = format!("/v1/admin/chat/messages/{id}");
        self.call_empty(self.request(Method::DELETE, &path)).await
    }

    pub(crate) async fn mute_user(
        &self,
        user_id: i64,
        minutes: i64,
        reason: &str,
    ) -> Result<MuteResponse> {
        let body = MuteRequest {
            minutes,
            reason: reason.to_owned(),
        };
        let path = format!("/v1/admin/users/{user_id}/mute");
        self.call(self.request(Method::POST, &path).json(&body))
            .await
    }
}

/// `Content-Type` of an SSE answer, checked by the stream session.
pub(crate) fn is_event_stream(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::InvalidResponse {
        status: 200,
        message: format!("not the expected JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_answer_keeps_unknown_events_raw() {
        let body = br#"{"events":[
            {"id":7,"event":"announcement","data":{"text":"hi"}},
            {"id":8,"event":"from:the-future","data":{"x":[1,2]}}
        ],"next":8}"#;
        let answer: PollAnswer = serde_json::from_slice(body).unwrap();
        assert_eq!(answer.next, 8);
        assert_eq!(answer.events.len(), 2);
        assert_eq!(answer.events[0].data, r#"{"text":"hi"}"#);
        assert_eq!(answer.events[1].event, "from:the-future");
        assert_eq!(answer.events[1].data, r#"{"x":[1,2]}"#);
    }
}
