//! The stand-in answers as SmartShell's schema says: sign-in and refresh, the open shift with its
//! payments (a top-up as one `DEPOSIT` item, money in roubles), shifts a page at a time, refunds as a
//! flag on the payment, tokens required, unknown fields refused, and each fault mode.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

struct Stub {
    graphql: String,
    control: String,
    child: Child,
    http: reqwest::Client,
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stub {
    fn start() -> Stub {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cyberhub-smartshell-stub"))
            .args(["--listen", "127.0.0.1:0", "--company-id", "7"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addresses: Value = serde_json::from_str(&line).unwrap();
        Stub {
            graphql: addresses["graphql"].as_str().unwrap().to_owned(),
            control: addresses["control"].as_str().unwrap().to_owned(),
            child,
            http: reqwest::Client::new(),
        }
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    async fn query(&self, token: Option<&str>, query: &str, variables: Value) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.graphql)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let answer: Value = self
            .query(token, query, variables)
            .await
            .json()
            .await
            .unwrap();
        assert!(answer.get("errors").is_none(), "{answer}");
        answer["data"].clone()
    }

    async fn login(&self) -> (String, String) {
        let data = self
            .data(
                None,
                "mutation($input: LoginInput!) { login(input: $input) { token_type expires_in access_token refresh_token } }",
                json!({"input": {"login": "79990000000", "password": "stub-password", "company_id": 7}}),
            )
            .await;
        assert_eq!(data["login"]["token_type"], "Bearer");
        (
            data["login"]["access_token"].as_str().unwrap().to_owned(),
            data["login"]["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}

const ACTIVE: &str = "{ activeWorkShift { id created_at finished_at payments { id method status sum bonus created_at is_refunded client { id uuid } items { id payment_id type amount sum } } } }";

#[tokio::test]
async fn a_top_up_shows_in_the_open_shift_as_a_paid_deposit_in_roubles() {
    let stub = Stub::start();
    let (token, _) = stub.login().await;
    stub.control("/clients", json!({"uuid": "c-1", "login": "neo"}))
        .await;
    let paid = stub
        .control("/payments", json!({"client_uuid": "c-1", "amount": 50_050}))
        .await["payment_id"]
        .as_i64()
        .unwrap();
    let shift = stub.data(Some(&token), ACTIVE, json!({})).await["activeWorkShift"].clone();
    let payment = &shift["payments"][0];
    assert_eq!(payment["id"], paid);
    assert_eq!(payment["status"], "PAID");
    assert_eq!(payment["method"], "CASH");
    assert_eq!(payment["sum"], 500.5);
    assert_eq!(payment["client"]["uuid"], "c-1");
    assert_eq!(payment["items"][0]["type"], "DEPOSIT");
    assert_eq!(payment["items"][0]["payment_id"], paid);
    assert_eq!(payment["is_refunded"], false);
    let created = payment["created_at"].as_str().unwrap();
    assert_eq!(created.len(), 19, "YYYY-MM-DD HH:MM:SS: {created}");

    stub.control(&format!("/payments/{paid}/refund"), json!({}))
        .await;
    let shift = stub.data(Some(&token), ACTIVE, json!({})).await["activeWorkShift"].clone();
    assert_eq!(shift["payments"][0]["is_refunded"], true);
}

#[tokio::test]
async fn queries_need_a_token_refresh_uses_up_its_token_and_unknown_fields_are_refused() {
    let stub = Stub::start();
    let anonymous: Value = stub
        .query(None, ACTIVE, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(anonymous["errors"][0]["message"], "Unauthenticated.");
    assert_eq!(
        anonymous["errors"][0]["extensions"]["category"],
        "authentication"
    );

    let (_, refresh) = stub.login().await;
    const REFRESH: &str = "mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { access_token refresh_token } }";
    let fresh = stub
        .data(None, REFRESH, json!({"input": {"refresh_token": refresh}}))
        .await;
    let token = fresh["refreshToken"]["access_token"].as_str().unwrap();
    stub.data(Some(token), ACTIVE, json!({})).await;
    let again: Value = stub
        .query(None, REFRESH, json!({"input": {"refresh_token": refresh}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["errors"][0]["message"], "Unauthenticated.");

    let wrong: Value = stub
        .query(
            Some(token),
            "{ activeWorkShift { id total_deposits } }",
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        wrong["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("total_deposits"),
        "{wrong}"
    );
}

#[tokio::test]
async fn shifts_come_a_page_at_a_time_oldest_first() {
    let stub = Stub::start();
    let (token, _) = stub.login().await;
    for _ in 0..4 {
        stub.control("/shift", json!({"action": "rotate"})).await;
    }
    const SHIFTS: &str = "query($input: WorkShiftInput, $page: Int, $first: Int) { workShifts(input: $input, page: $page, first: $first) { paginatorInfo { currentPage lastPage total hasMorePages } data { id finished_at } } }";
    let page =
        |n: i64| json!({"input": {"created_from": "2000-01-01 00:00:00"}, "page": n, "first": 2});
    let first = stub.data(Some(&token), SHIFTS, page(1)).await["workShifts"].clone();
    assert_eq!(first["paginatorInfo"]["total"], 5);
    assert_eq!(first["paginatorInfo"]["lastPage"], 3);
    assert_eq!(first["paginatorInfo"]["hasMorePages"], true);
    let last = stub.data(Some(&token), SHIFTS, page(3)).await["workShifts"].clone();
    assert_eq!(last["paginatorInfo"]["hasMorePages"], false);
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        last["data"][0]["finished_at"],
        Value::Null,
        "the open shift comes last"
    );
    let ids: Vec<i64> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(ids[0] < ids[1]);
}

#[tokio::test]
async fn each_fault_mode_fails_the_way_it_says() {
    let stub = Stub::start();
    let (token, refresh) = stub.login().await;
    stub.control("/clients", json!({"uuid": "c-1", "login": "neo"}))
        .await;
    stub.control("/payments", json!({"client_uuid": "c-1", "amount": 100}))
        .await;
    let fault = |mode: &str| stub.control("/fault", json!({"mode": mode}));

    fault("down").await;
    assert_eq!(
        stub.query(Some(&token), ACTIVE, json!({})).await.status(),
        502
    );
    fault("error500").await;
    assert_eq!(
        stub.query(Some(&token), ACTIVE, json!({})).await.status(),
        500
    );
    fault("graphql_error").await;
    let answer: Value = stub
        .query(Some(&token), ACTIVE, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"], Value::Null);
    assert!(answer["errors"][0]["message"].is_string());
    fault("malformed").await;
    let shift = stub.data(Some(&token), ACTIVE, json!({})).await;
    assert!(shift["activeWorkShift"]["payments"][0]["sum"].is_string());
    fault("duplicate_pages").await;
    let shift = stub.data(Some(&token), ACTIVE, json!({})).await;
    assert_eq!(
        shift["activeWorkShift"]["payments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    fault("expire_tokens").await;
    let expired: Value = stub
        .query(Some(&token), ACTIVE, json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired["errors"][0]["message"], "Unauthenticated.");
    fault("none").await;
    // The refresh token outlives expire_tokens; expire_sessions takes it too.
    const REFRESH: &str =
        "mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { refresh_token } }";
    let fresh = stub
        .data(None, REFRESH, json!({"input": {"refresh_token": refresh}}))
        .await;
    let refresh = fresh["refreshToken"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    fault("expire_sessions").await;
    fault("none").await;
    let gone: Value = stub
        .query(None, REFRESH, json!({"input": {"refresh_token": refresh}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gone["errors"][0]["message"], "Unauthenticated.");
    stub.login().await;
}
