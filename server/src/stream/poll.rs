//! One long-poll: the events after the client's cursor at once if there are any, else the first
//! to arrive within the timeout, as one JSON answer with the cursor to pass next.

use cyberhub_protocol::ErrorCode;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{StreamRequest, parse_cursor};
use crate::error::ApiError;
use crate::hub::{ClientGuard, Encoded, Feed, FeedItem, Transport};
use crate::state::AppState;

/// At most this many events in one long-poll answer; the client polls again at once for more.
const POLL_BATCH: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollParams {
    /// The last event id seen (`next` of the previous answer); without it the answer comes at once
    /// with no events and the current cursor.
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
    /// Seconds to wait for a first event (default 25); more than the server's maximum (60) waits
    /// that maximum.
    #[param(value_type = Option<u32>)]
    timeout: Option<String>,
}

/// One long-poll request, independent of the HTTP stack that carries it.
pub struct PollSession {
    feed: Feed,
    /// How long to wait for a first event; `None` answers at once (no cursor given).
    wait: Option<Duration>,
    _guard: ClientGuard,
}

impl PollSession {
    /// Opens the poll ([`super::open`]): the cursor is `after`; `timeout` is capped at the
    /// server's maximum.
    pub async fn open(
        state: &AppState,
        request: &StreamRequest<'_>,
    ) -> Result<PollSession, ApiError> {
        let config = &state.config;
        let opened = super::open(state, request, Transport::LongPoll, |_, uri| {
            let params = axum::extract::Query::<PollParams>::try_from_uri(uri)?.0;
            let after = parse_cursor(params.after.as_deref(), "after")?;
            let timeout = match params.timeout.as_deref() {
                None => config.poll_timeout_secs,
                Some(t) => t
                    .parse::<u32>()
                    .map(u64::from)
                    .map_err(|_| ApiError::BadRequest {
                        status: StatusCode::BAD_REQUEST,
                        code: ErrorCode::InvalidTimeout,
                        message: "timeout must be a whole number of seconds".into(),
                    })?,
            }
            .min(config.poll_max_timeout_secs);
            Ok((after, timeout))
        })
        .await?;
        Ok(PollSession {
            wait: opened.cursor.map(|_| Duration::from_secs(opened.query)),
            feed: opened.feed,
            _guard: opened.guard,
        })
    }

    /// Waits as the request asks and returns the JSON answer `{"events":[...],"next":N}`.
    pub async fn answer(self) -> Result<String, ApiError> {
        let (events, next) = match self.wait {
            Some(wait) => collect(self.feed, wait).await?,
            None => (Vec::new(), self.feed.cursor()),
        };
        metrics::counter!("cyberhub_events_delivered_total", "transport" => "longpoll")
            .increment(events.len() as u64);
        let mut body =
            String::with_capacity(64 + events.iter().map(|e| e.data.len() + 48).sum::<usize>());
        body.push_str(r#"{"events":["#);
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&event.envelope_json());
        }
        body.push_str(&format!(r#"],"next":{next}}}"#));
        Ok(body)
    }
}

/// Takes what the feed has without waiting; if that is nothing, waits up to `wait` for the first
/// event, then takes whatever else is already queued with it.
async fn collect(mut feed: Feed, wait: Duration) -> Result<(Vec<Arc<Encoded>>, i64), ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut events = Vec::new();
    while events.len() < POLL_BATCH {
        let item = if events.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                item = feed.next() => item?,
            }
        } else {
            // Only what is there now; more history waits for the client's next poll.
            match feed.try_next() {
                Some(item) => item,
                None => break,
            }
        };
        match item {
            FeedItem::Event(event) => events.push(event),
            FeedItem::Sync(sync) => {
                // Nothing before a resync matters to the client any more.
                events.clear();
                events.push(sync);
                break;
            }
            FeedItem::Heartbeat => {}
            FeedItem::Shutdown => break,
            // Signed out while waiting: nothing of theirs goes out any more.
            FeedItem::Revoked => return Err(ApiError::Unauthenticated),
        }
    }
    let next = feed.cursor();
    Ok((events, next))
}
