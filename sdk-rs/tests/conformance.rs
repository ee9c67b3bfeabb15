//! The Rust runner of the language-neutral conformance scenarios (conformance/README.md has the
//! format; the TypeScript SDK runs the same files). Every file in `conformance/scenarios/` becomes
//! one test per transport it names, found at run time, so a scenario added there is run here without
//! a code change. Each run drives real clients of this SDK against the real server binary (and the
//! Node proxy where a client goes `via: proxy`), records every hook call, and matches the recordings
//! against the scenario's expectations.
//!
//! `cargo test -p cyberhub-sdk --test conformance -- every-hook` runs the matching scenarios only;
//! `CONFORMANCE_TRACE=1` prints each step's duration on stderr.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cyberhub_sdk::protocol::{CaseInput, CreateUserRequest, ServerEvent};
use cyberhub_sdk::{
    Backoff, ChatHistoryQuery, Client, ConnectionState, EventMeta, Subscription, Transport,
};
use hmac::{Hmac, KeyInit, Mac};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use sha2::Sha256;
use support::{DEMO_TOPUP_SECRET, Proxy, TestServer, demo_password, repo_root};

fn main() {
    let mut args = Arguments::from_args();
    // Each run is mostly waiting (timeouts, reconnects), so a few at once fit two cores.
    if args.test_threads.is_none() {
        args.test_threads = Some(
            std::env::var("CONFORMANCE_THREADS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(3),
        );
    }
    let mut trials = vec![Trial::test(
        "runner rules (matching, variables)",
        runner_rules,
    )];
    for scenario in load_scenarios() {
        let scenario = Arc::new(scenario);
        let transports = scenario
            .transports
            .clone()
            .unwrap_or_else(|| vec!["auto".into()]);
        for mode in transports {
            let scenario = scenario.clone();
            let name = format!("{} [{mode}]", scenario.name);
            trials.push(Trial::test(name, move || run_trial(&scenario, &mode)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

// ----- the scenario format -----

#[derive(Debug, Deserialize)]
struct Scenario {
    name: String,
    transports: Option<Vec<String>>,
    #[serde(default)]
    server_args: Vec<String>,
    clients: Ordered<ClientSpec>,
    steps: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ClientSpec {
    user: Option<String>,
    #[serde(default)]
    via: Option<String>,
    transport: Option<String>,
    #[serde(default)]
    options: ClientOptions,
}

#[derive(Debug, Default, Deserialize)]
struct ClientOptions {
    ready_timeout_ms: Option<u64>,
    sse_retry_ms: Option<u64>,
    watchdog_heartbeats: Option<u32>,
    poll_timeout_secs: Option<u64>,
    last_event_id: Option<i64>,
}

/// A JSON object kept in file order (clients are created in the order given).
#[derive(Debug)]
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// Every scenario file under conformance/scenarios/, sorted by name.
fn load_scenarios() -> Vec<Scenario> {
    let dir = repo_root().join("conformance/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

// ----- recording -----

#[derive(Debug, Clone)]
struct HookCall {
    hook: &'static str,
    data: Value,
    id: i64,
    resync: bool,
}

impl HookCall {
    fn json(&self) -> Value {
        json!({ "hook": self.hook, "data": self.data, "meta": { "id": self.id, "resync": self.resync } })
    }
}

#[derive(Debug, Default)]
struct Recording {
    calls: Vec<HookCall>,
    calls_seen: usize,
    /// What `on_event` got: (id, hook name of the event).
    events: Vec<(i64, &'static str)>,
    connections: Vec<ConnectionState>,
    connections_seen: usize,
    violations: Vec<String>,
    /// Ids must rise; a sync_required moves the floor to where the server goes on.
    floor: i64,
}

impl Recording {
    fn record(&mut self, hook: &'static str, data: Value, meta: &EventMeta) {
        let resync = meta.is_resync();
        if hook == "sync_required" {
            self.floor = data["last_event_id"].as_i64().unwrap_or(-1);
        } else if !resync {
            if meta.id <= self.floor {
                self.violations.push(format!(
                    "{hook} id {} not above {} (repeat or out of order)",
                    meta.id, self.floor
                ));
            }
            self.floor = meta.id;
        }
        self.calls.push(HookCall {
            hook,
            data,
            id: meta.id,
            resync,
        });
    }

    fn unseen(&self) -> Value {
        Value::Array(
            self.calls[self.calls_seen..]
                .iter()
                .map(HookCall::json)
                .collect(),
        )
    }
}

/// The conformance name of the hook an event reaches. Exhaustive on purpose, like the SDK's own.
fn hook_name(event: &ServerEvent) -> &'static str {
    match event {
        ServerEvent::CasesUpdated(_) => "cases_updated",
        ServerEvent::BalanceUpdated(_) => "balance_updated",
        ServerEvent::InventoryUpdated(_) => "inventory_updated",
        ServerEvent::DropNew(_) => "drop",
        ServerEvent::Announcement(_) => "announcement",
        ServerEvent::SyncRequired(_) => "sync_required",
        ServerEvent::ChatMessage(_) => "chat_message",
        ServerEvent::ChatDeleted(_) => "chat_deleted",
        ServerEvent::ChatMuted(_) => "chat_muted",
        ServerEvent::Ready(_) => "ready",
    }
}

const HOOKS: [&str; 9] = [
    "cases_updated",
    "balance_updated",
    "inventory_updated",
    "drop",
    "announcement",
    "sync_required",
    "chat_message",
    "chat_deleted",
    "chat_muted",
];

struct Recorder {
    client: Client,
    recording: Arc<Mutex<Recording>>,
    _subscriptions: Vec<Subscription>,
}

fn subscribe_all(client: &Client, rec: &Arc<Mutex<Recording>>) -> Vec<Subscription> {
    macro_rules! hook {
        ($method:ident, $name:literal) => {{
            let rec = rec.clone();
            client.$method(move |data, meta| {
                let value = serde_json::to_value(data).expect("payloads serialize");
                rec.lock().unwrap().record($name, value, &meta);
            })
        }};
    }
    let mut subs = vec![
        hook!(on_cases_updated, "cases_updated"),
        hook!(on_balance_updated, "balance_updated"),
        hook!(on_inventory_updated, "inventory_updated"),
        hook!(on_drop, "drop"),
        hook!(on_announcement, "announcement"),
        hook!(on_sync_required, "sync_required"),
        hook!(on_chat_message, "chat_message"),
        hook!(on_chat_deleted, "chat_deleted"),
        hook!(on_chat_muted, "chat_muted"),
    ];
    let events = rec.clone();
    subs.push(client.on_event(move |event, meta| {
        events
            .lock()
            .unwrap()
            .events
            .push((meta.id, hook_name(event)));
    }));
    let states = rec.clone();
    subs.push(client.on_connection_change(move |state| {
        states.lock().unwrap().connections.push(state);
    }));
    subs
}

async fn create_recorder(
    spec: &ClientSpec,
    mode: &str,
    base_url: &str,
) -> Result<Recorder, String> {
    let o = &spec.options;
    let transport = match spec.transport.as_deref().unwrap_or(mode) {
        "auto" => Transport::Auto,
        "sse" => Transport::Sse,
        "poll" => Transport::Poll,
        other => return Err(format!("unknown transport {other}")),
    };
    let mut builder = Client::builder(base_url)
        .transport(transport)
        .sse_retry(Duration::from_millis(o.sse_retry_ms.unwrap_or(1000)))
        .poll_timeout_secs(o.poll_timeout_secs.unwrap_or(5))
        .backoff(Backoff {
            base: Duration::from_millis(200),
            cap: Duration::from_millis(2000),
        });
    if let Some(ms) = o.ready_timeout_ms {
        builder = builder.ready_timeout(Duration::from_millis(ms));
    }
    if let Some(n) = o.watchdog_heartbeats {
        builder = builder.watchdog_heartbeats(n);
    }
    if let Some(id) = o.last_event_id {
        builder = builder.last_event_id(id);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let recording = Arc::new(Mutex::new(Recording {
        floor: -1,
        ..Recording::default()
    }));
    let subscriptions = subscribe_all(&client, &recording);
    if let Some(user) = &spec.user {
        let password = demo_password(user).ok_or_else(|| format!("unknown demo user {user}"))?;
        client
            .login(user, password)
            .await
            .map_err(|e| format!("login as {user}: {e}"))?;
    }
    Ok(Recorder {
        client,
        recording,
        _subscriptions: subscriptions,
    })
}

// ----- running -----

fn run_trial(scenario: &Scenario, mode: &str) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(run_scenario(scenario, mode))
        .map_err(Failed::from)
}

struct Context {
    server: TestServer,
    proxy: Option<Proxy>,
    recorders: HashMap<String, Recorder>,
    vars: HashMap<String, Value>,
    marks: HashMap<String, Instant>,
    started: Instant,
}

async fn run_scenario(scenario: &Scenario, mode: &str) -> Result<(), String> {
    let server = TestServer::start(&scenario.server_args).await;
    let needs_proxy = scenario
        .clients
        .0
        .iter()
        .any(|(_, c)| c.via.as_deref() == Some("proxy"));
    let proxy = match needs_proxy {
        true => Some(Proxy::start(&server.url).await),
        false => None,
    };
    let mut ctx = Context {
        server,
        proxy,
        recorders: HashMap::new(),
        vars: HashMap::from([(
            "transport".to_owned(),
            json!(if mode == "poll" { "poll" } else { "sse" }),
        )]),
        marks: HashMap::new(),
        started: Instant::now(),
    };
    let outcome = drive(scenario, mode, &mut ctx).await;
    for recorder in ctx.recorders.values() {
        recorder.client.close().await;
    }
    if let Some(proxy) = ctx.proxy.take() {
        proxy.close().await;
    }
    let log = match &outcome {
        Err(_) => ctx.server.log(),
        Ok(()) => String::new(),
    };
    ctx.server.stop(libc::SIGKILL).await;
    outcome.map_err(|e| format!("{e}\n--- server log (tail)\n{log}"))
}

async fn drive(scenario: &Scenario, mode: &str, ctx: &mut Context) -> Result<(), String> {
    for (name, spec) in &scenario.clients.0 {
        let base = match spec.via.as_deref() {
            Some("proxy") => ctx.proxy.as_ref().unwrap().url.clone(),
            _ => ctx.server.url.clone(),
        };
        let recorder = create_recorder(spec, mode, &base).await?;
        if spec.user.is_some() {
            let me = recorder.client.me().await.map_err(|e| e.to_string())?;
            ctx.vars.insert(format!("{name}.user_id"), json!(me.id));
        }
        ctx.recorders.insert(name.clone(), recorder);
    }
    let trace = std::env::var_os("CONFORMANCE_TRACE").is_some();
    for (index, raw) in scenario.steps.iter().enumerate() {
        if let Some(only) = raw.get("only").and_then(Value::as_array)
            && !only.iter().any(|m| m == mode)
        {
            continue;
        }
        let step =
            substitute(raw, &ctx.vars).map_err(|e| format!("step {} {raw}: {e}", index + 1))?;
        ctx.started = Instant::now();
        if let Some(mark) = step.get("mark").and_then(Value::as_str) {
            ctx.marks.insert(mark.to_owned(), ctx.started);
        }
        run_step(&step, ctx)
            .await
            .map_err(|e| format!("step {} {raw}: {e}", index + 1))?;
        if trace {
            let text = raw.to_string();
            eprintln!(
                "  [{}] {:>5} ms  step {} {}",
                scenario.name,
                ctx.started.elapsed().as_millis(),
                index + 1,
                &text[..text.floor_char_boundary(100)]
            );
        }
        check_violations(ctx)?;
    }
    // Nothing left over: no event a scenario did not expect, no late duplicate.
    tokio::time::sleep(Duration::from_millis(300)).await;
    check_violations(ctx)?;
    for (name, r) in &ctx.recorders {
        let rec = r.recording.lock().unwrap();
        if rec.calls.len() > rec.calls_seen {
            return Err(format!(
                "client {name} got unexpected hook calls: {}",
                rec.unseen()
            ));
        }
    }
    Ok(())
}

fn check_violations(ctx: &Context) -> Result<(), String> {
    for (name, r) in &ctx.recorders {
        let rec = r.recording.lock().unwrap();
        if !rec.violations.is_empty() {
            return Err(format!("client {name}: {}", rec.violations.join("; ")));
        }
    }
    Ok(())
}

fn recorder<'a>(ctx: &'a Context, name: &Value) -> Result<&'a Recorder, String> {
    let name = name.as_str().ok_or("a client name must be a string")?;
    ctx.recorders
        .get(name)
        .ok_or_else(|| format!("unknown client {name}"))
}

/// The time left for a waiting step: `within_ms` (default `fallback`) from the mark `since`, or from
/// the step's start.
fn deadline(ctx: &Context, step: &Value, fallback_ms: u64) -> Result<Instant, String> {
    let within = step
        .get("within_ms")
        .and_then(Value::as_u64)
        .unwrap_or(fallback_ms);
    let from = match step.get("since").and_then(Value::as_str) {
        Some(mark) => *ctx
            .marks
            .get(mark)
            .ok_or_else(|| format!("unknown mark {mark}"))?,
        None => ctx.started,
    };
    Ok(from + Duration::from_millis(within))
}

async fn run_step(step: &Value, ctx: &mut Context) -> Result<(), String> {
    if let Some(name) = step.get("connect") {
        recorder(ctx, name)?.client.connect().await;
    } else if let Some(name) = step.get("close") {
        recorder(ctx, name)?.client.close().await;
    } else if step.get("call").is_some() {
        call_step(step, ctx).await?;
    } else if let Some(body) = step.get("topup") {
        topup(ctx, body).await?;
    } else if let Some(name) = step.get("revoke") {
        revoke(ctx, name).await?;
    } else if let Some(name) = step.get("expect_token") {
        let r = recorder(ctx, name)?;
        let present = step.get("present").and_then(Value::as_bool).unwrap_or(true);
        let until = deadline(ctx, step, 5000)?;
        while r.client.token().is_some() != present {
            if Instant::now() > until {
                return Err(format!(
                    "the client still holds {} token",
                    if present { "no" } else { "a" }
                ));
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    } else if step.get("expect").is_some() {
        expect_hooks(step, ctx).await?;
    } else if step.get("expect_connection").is_some() {
        expect_connection(step, ctx).await?;
    } else if let Some(name) = step.get("expect_quiet") {
        let r = recorder(ctx, name)?;
        let ms = step.get("ms").and_then(Value::as_u64).unwrap_or(500);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let rec = r.recording.lock().unwrap();
        if rec.calls.len() > rec.calls_seen {
            return Err(format!("unexpected hook calls: {}", rec.unseen()));
        }
    } else if let Some(action) = step.get("server").and_then(Value::as_str) {
        let signal = match step
            .get("signal")
            .and_then(Value::as_str)
            .unwrap_or("SIGTERM")
        {
            "SIGTERM" => libc::SIGTERM,
            "SIGKILL" => libc::SIGKILL,
            other => return Err(format!("unknown signal {other}")),
        };
        match action {
            "stop" => ctx.server.stop(signal).await,
            "start" => ctx.server.launch().await,
            "restart" => ctx.server.restart(signal).await,
            other => return Err(format!("unknown server action {other}")),
        }
    } else if let Some(mode) = step.get("proxy").and_then(Value::as_str) {
        let proxy = ctx.proxy.as_ref().ok_or("no client uses the proxy")?;
        let body = match mode {
            "cut" => json!({ "action": "cut" }),
            mode => match step.get("buffer_kb") {
                Some(kb) => json!({ "mode": mode, "buffer_kb": kb }),
                None => json!({ "mode": mode }),
            },
        };
        proxy.command(body).await;
    } else if let Some(ms) = step.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    } else if step.get("mark").is_none() {
        return Err("unknown step".into());
    }
    Ok(())
}

/// Ends the client's session from outside the SDK, as another device would; the client is not told.
async fn revoke(ctx: &Context, name: &Value) -> Result<(), String> {
    let r = recorder(ctx, name)?;
    let token = r
        .client
        .token()
        .ok_or("the client holds no token to revoke")?;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/auth/logout", ctx.server.url))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("revoke: {e}"))?;
    if answer.status().as_u16() != 204 {
        return Err(format!("revoke answered {}", answer.status()));
    }
    Ok(())
}

async fn topup(ctx: &Context, body: &Value) -> Result<(), String> {
    let body = body.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(DEMO_TOPUP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/webhooks/topup", ctx.server.url))
        .header("content-type", "application/json")
        .header("x-cyberhub-signature", format!("sha256={signature}"))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("topup: {e}"))?;
    if !answer.status().is_success() {
        let status = answer.status();
        return Err(format!(
            "topup answered {status}: {}",
            answer.text().await.unwrap_or_default()
        ));
    }
    Ok(())
}

async fn call_step(step: &Value, ctx: &mut Context) -> Result<(), String> {
    let r = recorder(ctx, &step["call"])?;
    let method = step["method"].as_str().ok_or("method must be a string")?;
    let args = step
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let expected_error = step.get("error");
    let result = match call(&r.client, method, &args).await? {
        Ok(result) => result,
        Err(error) => {
            let Some(expected) = expected_error else {
                return Err(format!("call failed: {error}"));
            };
            let got = json!({ "status": error.status(), "code": error.code() });
            if !matches(&got, expected) {
                return Err(format!("expected error {expected}, got {got} ({error})"));
            }
            return Ok(());
        }
    };
    if let Some(expected) = expected_error {
        return Err(format!(
            "expected error {expected}, call succeeded: {result}"
        ));
    }
    if let Some(expected) = step.get("result")
        && !matches(&result, expected)
    {
        return Err(format!("result {result} does not match {expected}"));
    }
    if let Some(save) = step.get("save").and_then(Value::as_object) {
        for (name, path) in save {
            let path = path.as_str().ok_or("save paths are strings")?;
            let value =
                pick(&result, path).ok_or_else(|| format!("result has no {path}: {result}"))?;
            ctx.vars.insert(name.clone(), value.clone());
        }
    }
    Ok(())
}

/// Calls the SDK method a scenario names with its positional JSON arguments; the outer error is a
/// bad step, the inner one the SDK's answer.
async fn call(
    client: &Client,
    method: &str,
    args: &[Value],
) -> Result<Result<Value, cyberhub_sdk::Error>, String> {
    fn arg<T: DeserializeOwned>(args: &[Value], i: usize) -> Result<T, String> {
        let value = args.get(i).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|e| format!("argument {}: {e}", i + 1))
    }
    fn done<T: serde::Serialize>(
        r: cyberhub_sdk::Result<T>,
    ) -> Result<Result<Value, cyberhub_sdk::Error>, String> {
        Ok(r.map(|v| serde_json::to_value(v).expect("results serialize")))
    }
    let admin = client.admin();
    match method {
        "login" => done(
            client
                .login(&arg::<String>(args, 0)?, &arg::<String>(args, 1)?)
                .await,
        ),
        "logout" => done(client.logout().await),
        "me" => done(client.me().await),
        "cases" => done(client.cases().await),
        "get_case" => done(client.get_case(arg(args, 0)?).await),
        "open_case" => done(client.open_case(arg(args, 0)?).await),
        "inventory" => done(client.inventory().await),
        "sell" => done(client.sell(arg(args, 0)?).await),
        "send_chat_message" => done(client.send_chat_message(&arg::<String>(args, 0)?).await),
        "chat_history" => {
            #[derive(Deserialize, Default)]
            struct Query {
                before: Option<i64>,
                limit: Option<u32>,
            }
            let q: Option<Query> = arg(args, 0)?;
            let q = q.unwrap_or_default();
            done(
                client
                    .chat_history(ChatHistoryQuery {
                        before: q.before,
                        limit: q.limit,
                    })
                    .await,
            )
        }
        "chat_mute" => done(client.chat_mute().await),
        "drops" => done(client.drops(arg(args, 0)?).await),
        "admin.create_case" => done(admin.create_case(&arg::<CaseInput>(args, 0)?).await),
        "admin.update_case" => done(
            admin
                .update_case(arg(args, 0)?, &arg::<CaseInput>(args, 1)?)
                .await,
        ),
        "admin.delete_case" => done(admin.delete_case(arg(args, 0)?).await),
        "admin.create_user" => done(admin.create_user(&arg::<CreateUserRequest>(args, 0)?).await),
        "admin.adjust_balance" => done(
            admin
                .adjust_balance(arg(args, 0)?, arg(args, 1)?, &arg::<String>(args, 2)?)
                .await,
        ),
        "admin.announce" => done(admin.announce(&arg::<String>(args, 0)?).await),
        "admin.delete_chat_message" => done(admin.delete_chat_message(arg(args, 0)?).await),
        "admin.mute_user" => done(
            admin
                .mute_user(arg(args, 0)?, arg(args, 1)?, &arg::<String>(args, 2)?)
                .await,
        ),
        other => Err(format!("no SDK call {other}")),
    }
}

async fn expect_hooks(step: &Value, ctx: &Context) -> Result<(), String> {
    let r = recorder(ctx, &step["expect"])?;
    let expected = step["hooks"].as_array().ok_or("hooks must be a list")?;
    for e in expected {
        let hook = e["hook"].as_str().unwrap_or_default();
        if !HOOKS.contains(&hook) {
            return Err(format!("unknown hook {hook}"));
        }
    }
    let until = deadline(ctx, step, 5000)?;
    let start = r.recording.lock().unwrap().calls_seen;
    loop {
        let got = r.recording.lock().unwrap().calls.len() - start;
        if got >= expected.len() {
            break;
        }
        if Instant::now() > until {
            let rec = r.recording.lock().unwrap();
            return Err(format!(
                "expected {} hook calls, got {got} (waited until the deadline)\nrecorded since the last expectation: {}",
                expected.len(),
                rec.unseen()
            ));
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    {
        let mut rec = r.recording.lock().unwrap();
        for (i, e) in expected.iter().enumerate() {
            let got = &rec.calls[start + i];
            let ok = e["hook"] == got.hook
                && e.get("data").is_none_or(|data| matches(&got.data, data))
                && e.get("resync").is_none_or(|resync| *resync == got.resync);
            if !ok {
                return Err(format!(
                    "hook call {}: expected {e}, got {}\nrecorded since the last expectation: {}",
                    i + 1,
                    got.json(),
                    rec.unseen()
                ));
            }
        }
        rec.calls_seen = start + expected.len();
    }
    // on_event mirrors every wire event the other hooks got, in the same order. The SDK calls an
    // event's hook and then on_event, from its firing task: give on_event a moment to catch up with
    // a hook call recorded an instant ago.
    let mirror_deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let mirrored = {
            let rec = r.recording.lock().unwrap();
            let wire: Vec<(i64, &str)> = rec
                .calls
                .iter()
                .filter(|c| !c.resync)
                .map(|c| (c.id, c.hook))
                .collect();
            let behind = rec.events.len() < wire.len() && wire.starts_with(&rec.events);
            if rec.events == wire {
                Ok(true)
            } else if !behind || Instant::now() > mirror_deadline {
                Err(format!(
                    "on_event does not mirror the hooks: events {:?} vs hooks {wire:?}",
                    rec.events
                ))
            } else {
                Ok(false)
            }
        };
        if mirrored? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn expect_connection(step: &Value, ctx: &Context) -> Result<(), String> {
    let r = recorder(ctx, &step["expect_connection"])?;
    let mut want = json!({ "state": step["state"] });
    if let Some(transport) = step.get("transport") {
        want["transport"] = transport.clone();
    }
    let until = deadline(ctx, step, 5000)?;
    loop {
        {
            let mut rec = r.recording.lock().unwrap();
            let found = rec
                .connections
                .iter()
                .enumerate()
                .skip(rec.connections_seen)
                .find(|(_, c)| matches(&state_json(c), &want))
                .map(|(i, _)| i);
            if let Some(i) = found {
                rec.connections_seen = i + 1;
                return Ok(());
            }
            if Instant::now() > until {
                let seen: Vec<Value> = rec.connections[rec.connections_seen..]
                    .iter()
                    .map(state_json)
                    .collect();
                return Err(format!(
                    "no connection change to {want} (waited until the deadline)\nconnection changes since the last expectation: {}",
                    Value::Array(seen)
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

fn state_json(state: &ConnectionState) -> Value {
    json!({ "state": state.state.as_str(), "transport": state.transport.map(|t| t.as_str()) })
}

// ----- matching and variables -----

/// Subset match: objects by the expected keys, arrays element-wise with equal length, the rest equal.
fn matches(actual: &Value, expected: &Value) -> bool {
    match expected {
        Value::Object(fields) => fields
            .iter()
            .all(|(k, v)| actual.get(k).is_some_and(|a| matches(a, v))),
        Value::Array(items) => actual.as_array().is_some_and(|a| {
            a.len() == items.len() && a.iter().zip(items).all(|(a, e)| matches(a, e))
        }),
        other => actual == other,
    }
}

/// The value at a dotted path (`item.id`, `0.id`).
fn pick<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        other => other.get(key),
    })
}

/// Replaces every string that is exactly `$name` by the variable (keeping its JSON type), and
/// `${name}` inside a longer string by its text; an unknown variable is an error.
fn substitute(value: &Value, vars: &HashMap<String, Value>) -> Result<Value, String> {
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    };
    Ok(match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('$').filter(|n| is_name(n)) {
                vars.get(name)
                    .cloned()
                    .ok_or_else(|| format!("unknown variable ${name}"))?
            } else {
                let mut out = String::new();
                let mut rest = s.as_str();
                while let Some(at) = rest.find("${") {
                    let Some(end) = rest[at..].find('}') else {
                        break;
                    };
                    let name = &rest[at + 2..at + end];
                    if !is_name(name) {
                        out.push_str(&rest[..at + 2]);
                        rest = &rest[at + 2..];
                        continue;
                    }
                    let value = vars
                        .get(name)
                        .ok_or_else(|| format!("unknown variable ${{{name}}}"))?;
                    out.push_str(&rest[..at]);
                    match value {
                        Value::String(text) => out.push_str(text),
                        other => out.push_str(&other.to_string()),
                    }
                    rest = &rest[at + end + 1..];
                }
                out.push_str(rest);
                Value::String(out)
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), substitute(v, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The runner's own rules, run as a test before the scenarios: a matcher that accepted everything
/// would let every scenario pass.
fn runner_rules() -> Result<(), Failed> {
    let actual = json!({"a": 1, "b": {"c": [1, 2], "d": null}, "e": "x"});
    let cases = [
        (json!({"a": 1}), true),
        (json!({"b": {"c": [1, 2]}}), true),
        (json!({"b": {"c": [1]}}), false),
        (json!({"b": {"d": null}}), true),
        (json!({"z": null}), false),
        (json!({"a": 2}), false),
        (json!({"e": "x", "a": 1}), true),
        (json!([1]), false),
    ];
    for (expected, want) in cases {
        if matches(&actual, &expected) != want {
            return Err(format!("matches({actual}, {expected}) should be {want}").into());
        }
    }
    let vars = HashMap::from([
        ("n".to_owned(), json!(7)),
        ("who.user_id".to_owned(), json!(2)),
    ]);
    let step = json!({"args": ["$n", "id ${n} of ${who.user_id}", "$$", {"k": "$who.user_id"}]});
    let got = substitute(&step, &vars)?;
    if got != json!({"args": [7, "id 7 of 2", "$$", {"k": 2}]}) {
        return Err(format!("substitute gave {got}").into());
    }
    if substitute(&json!("$missing"), &vars).is_ok() {
        return Err("an unknown variable must fail the run".into());
    }
    if pick(
        &json!({"item": {"id": 5}, "list": [{"id": 9}]}),
        "list.0.id",
    ) != Some(&json!(9))
    {
        return Err("pick".into());
    }
    Ok(())
}
