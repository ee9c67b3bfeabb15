//! SmartShell's GraphQL API, as much of it as the bridge reads, checked against the published
//! schema only (the community SDK `xlsft/smartshell-sdk`, generated from its introspection), not
//! against a live SmartShell:
//!
//! - `login(input: LoginInput!): AccessToken!` with `{login, password, company_id}`, and
//!   `refreshToken(input: RefreshTokenInput!): AccessToken!`; the access token goes in
//!   `Authorization: Bearer`, and selects the club it was issued for;
//! - `activeWorkShift: WorkShift` (the shift open now, `null` between shifts), `workShift(id: Int!)`
//!   and `workShifts(input: WorkShiftInput, page: Int, first: Int)`, each shift with all its
//!   `payments` (not paginated);
//! - of a `Payment`: `id` (SmartShell's own, the key of exactly once), `status`, `method`,
//!   `created_at` (club-local `YYYY-MM-DD HH:MM:SS`), `is_refunded`, `client { uuid }`, and its
//!   `items { payment_id type sum }`, whose `DEPOSIT` items are the top-up (money is `Decimal`
//!   roubles; a number, or a string, both read).
//!
//! Every request is bounded by a timeout. An answer that says the token is no good (HTTP 401/403,
//! or Lighthouse's `Unauthenticated.`) is retried once after a refresh, then once after a new
//! login with the credentials.

use std::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Why a request to SmartShell failed; the poll that made it retries later.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("SmartShell did not answer: {0}")]
    Unreachable(String),
    #[error("SmartShell answered HTTP {0}")]
    Status(u16),
    #[error("SmartShell refused the bridge's credentials: {0}")]
    Auth(String),
    #[error("SmartShell answered with an error: {0}")]
    GraphQl(String),
    #[error("SmartShell sent data the bridge cannot read: {0}")]
    Malformed(String),
    #[error("the database refused the batch: {0}")]
    Store(String),
}

impl BridgeError {
    /// A label for the metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            BridgeError::Unreachable(_) => "unreachable",
            BridgeError::Status(_) => "http_status",
            BridgeError::Auth(_) => "auth",
            BridgeError::GraphQl(_) => "graphql",
            BridgeError::Malformed(_) => "malformed",
            BridgeError::Store(_) => "store",
        }
    }
}

/// What the bridge signs in with.
#[derive(Clone)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// A work shift with its payments.
#[derive(Debug, Clone, Deserialize)]
pub struct Shift {
    pub id: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub payments: Vec<Payment>,
}

/// A payment as the bridge reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub client: Option<Client>,
    pub method: String,
    pub status: String,
    pub created_at: String,
    pub is_refunded: bool,
    pub items: Vec<Option<PaymentItem>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Client {
    pub uuid: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentItem {
    #[serde(rename = "type")]
    pub kind: String,
    /// Kopecks.
    #[serde(default, deserialize_with = "kopecks")]
    pub sum: Option<i64>,
}

/// One page of `workShifts`.
#[derive(Debug, Clone)]
pub struct ShiftPage {
    pub shifts: Vec<Shift>,
    pub has_more: bool,
}

/// `Decimal` roubles, a JSON number or a string of one, as kopecks.
fn kopecks<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    let roubles = match &value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match roubles {
        Some(r) if r.is_finite() && r.abs() < 1e13 => Ok(Some((r * 100.0).round() as i64)),
        _ => Err(serde::de::Error::custom(format!(
            "{} is not an amount of money",
            value.unwrap_or(Value::Null)
        ))),
    }
}

const PAYMENT: &str = "id method status created_at is_refunded client { uuid } items { type sum }";

/// A SmartShell GraphQL endpoint, signed in as the club's staff account.
pub struct SmartShell {
    http: reqwest::Client,
    url: String,
    club: i64,
    credentials: Option<Credentials>,
    tokens: Mutex<Tokens>,
}

#[derive(Default)]
struct Tokens {
    access: Option<String>,
    refresh: Option<String>,
}

#[derive(Deserialize)]
struct AccessToken {
    access_token: String,
    refresh_token: String,
}

impl SmartShell {
    /// A client of `url` for the club `club`, with a token to start from and/or credentials.
    pub fn new(
        url: String,
        club: i64,
        token: Option<String>,
        credentials: Option<Credentials>,
        timeout: Duration,
    ) -> anyhow::Result<SmartShell> {
        Ok(SmartShell {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .build()?,
            url,
            club,
            credentials,
            tokens: Mutex::new(Tokens {
                access: token,
                refresh: None,
            }),
        })
    }

    /// The shift open now, or `None` between shifts.
    pub async fn active_shift(&self) -> Result<Option<Shift>, BridgeError> {
        let query = format!(
            "query ActiveShift {{ activeWorkShift {{ id created_at finished_at payments {{ {PAYMENT} }} }} }}"
        );
        let data: ActiveData = self.query(&query, json!({})).await?;
        Ok(data.active_work_shift)
    }

    /// One shift by id.
    pub async fn shift(&self, id: i64) -> Result<Shift, BridgeError> {
        let query = format!(
            "query Shift($id: Int!) {{ workShift(id: $id) {{ id created_at finished_at payments {{ {PAYMENT} }} }} }}"
        );
        let data: ShiftData = self.query(&query, json!({ "id": id })).await?;
        Ok(data.work_shift)
    }

    /// A page of the shifts opened at or after `from` (club-local), oldest first.
    pub async fn shifts_since(&self, from: &str, page: u32) -> Result<ShiftPage, BridgeError> {
        let query = format!(
            "query Shifts($input: WorkShiftInput, $page: Int, $first: Int) {{ workShifts(input: $input, page: $page, first: $first) {{ paginatorInfo {{ hasMorePages }} data {{ id created_at finished_at payments {{ {PAYMENT} }} }} }} }}"
        );
        let variables = json!({ "input": { "created_from": from }, "page": page, "first": 20 });
        let data: ShiftsData = self.query(&query, variables).await?;
        Ok(ShiftPage {
            shifts: data.work_shifts.data,
            has_more: data.work_shifts.paginator_info.has_more_pages,
        })
    }

    /// Runs a query with the current token; a refused token is refreshed, then replaced by a new
    /// login, each once.
    async fn query<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, BridgeError> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access.is_none() {
            self.sign_in(&mut tokens).await?;
        }
        match self.post(tokens.access.as_deref(), query, &variables).await {
            Err(BridgeError::Auth(_)) => {}
            other => return other,
        }
        if let Some(refresh) = tokens.refresh.take()
            && self.refresh(&mut tokens, &refresh).await.is_ok()
        {
            match self.post(tokens.access.as_deref(), query, &variables).await {
                Err(BridgeError::Auth(_)) => {}
                other => return other,
            }
        }
        tokens.access = None;
        self.sign_in(&mut tokens).await?;
        self.post(tokens.access.as_deref(), query, &variables).await
    }

    async fn sign_in(&self, tokens: &mut Tokens) -> Result<(), BridgeError> {
        let Some(credentials) = &self.credentials else {
            return Err(BridgeError::Auth(
                "the token was refused and no login is configured (CYBERHUB_SMARTSHELL_LOGIN)"
                    .into(),
            ));
        };
        let query = "mutation Login($input: LoginInput!) { login(input: $input) { access_token refresh_token } }";
        let variables = json!({ "input": {
            "login": credentials.login,
            "password": credentials.password,
            "company_id": self.club,
        }});
        let data: LoginData = self.post(None, query, &variables).await?;
        tokens.access = Some(data.login.access_token);
        tokens.refresh = Some(data.login.refresh_token);
        Ok(())
    }

    async fn refresh(&self, tokens: &mut Tokens, refresh: &str) -> Result<(), BridgeError> {
        let query = "mutation Refresh($input: RefreshTokenInput!) { refreshToken(input: $input) { access_token refresh_token } }";
        let variables = json!({ "input": { "refresh_token": refresh } });
        let data: RefreshData = self.post(None, query, &variables).await?;
        tokens.access = Some(data.refresh_token.access_token);
        tokens.refresh = Some(data.refresh_token.refresh_token);
        Ok(())
    }

    /// One GraphQL request: `data` read as `T`, or why not.
    async fn post<T: DeserializeOwned>(
        &self,
        token: Option<&str>,
        query: &str,
        variables: &Value,
    ) -> Result<T, BridgeError> {
        let mut request = self
            .http
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| BridgeError::Unreachable(describe(&e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(BridgeError::Auth(format!("HTTP {}", status.as_u16())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| BridgeError::Unreachable(describe(&e)))?;
        let answer: GraphQlAnswer = match serde_json::from_slice(&body) {
            Ok(answer) => answer,
            Err(_) if !status.is_success() => return Err(BridgeError::Status(status.as_u16())),
            Err(e) => return Err(BridgeError::Malformed(format!("not a GraphQL answer: {e}"))),
        };
        if let Some(error) = answer.errors.first() {
            let message = error.message.clone();
            let auth = error
                .extensions
                .as_ref()
                .and_then(|e| e.get("category"))
                .is_some_and(|c| c == "authentication")
                || message.contains("Unauthenticated");
            return Err(if auth {
                BridgeError::Auth(message)
            } else {
                BridgeError::GraphQl(message)
            });
        }
        if !status.is_success() {
            return Err(BridgeError::Status(status.as_u16()));
        }
        serde_json::from_value(answer.data.unwrap_or(Value::Null))
            .map_err(|e| BridgeError::Malformed(e.to_string()))
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".into();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Deserialize)]
struct GraphQlAnswer {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

#[derive(Deserialize)]
struct GraphQlError {
    message: String,
    extensions: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct ActiveData {
    #[serde(rename = "activeWorkShift")]
    active_work_shift: Option<Shift>,
}

#[derive(Deserialize)]
struct ShiftData {
    #[serde(rename = "workShift")]
    work_shift: Shift,
}

#[derive(Deserialize)]
struct ShiftsData {
    #[serde(rename = "workShifts")]
    work_shifts: Paginated,
}

#[derive(Deserialize)]
struct Paginated {
    #[serde(rename = "paginatorInfo")]
    paginator_info: PaginatorInfo,
    data: Vec<Shift>,
}

#[derive(Deserialize)]
struct PaginatorInfo {
    #[serde(rename = "hasMorePages")]
    has_more_pages: bool,
}

#[derive(Deserialize)]
struct LoginData {
    login: AccessToken,
}

#[derive(Deserialize)]
struct RefreshData {
    #[serde(rename = "refreshToken")]
    refresh_token: AccessToken,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_read_from_numbers_and_strings_of_roubles() {
        let item = |sum: Value| {
            serde_json::from_value::<PaymentItem>(json!({"type": "DEPOSIT", "sum": sum}))
        };
        assert_eq!(item(json!(500)).unwrap().sum, Some(50_000));
        assert_eq!(item(json!(500.5)).unwrap().sum, Some(50_050));
        assert_eq!(item(json!("1250.99")).unwrap().sum, Some(125_099));
        assert_eq!(item(Value::Null).unwrap().sum, None);
        for bad in [json!("n/a"), json!(true), json!({"amount": 5})] {
            assert!(item(bad.clone()).is_err(), "{bad}");
        }
    }
}
