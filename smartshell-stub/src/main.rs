//! `cyberhub-smartshell-stub`: a stand-in for SmartShell's GraphQL billing API, so the CyberHub
//! billing bridge can be tried without a SmartShell account and its tests have something real to
//! talk to. It serves the subset of the schema the bridge uses ([`schema`]) at `/api/graphql`, as
//! SmartShell does at `https://billing.smartshell.gg/api/graphql`, and control endpoints under
//! `/_stub/` that play the club's desk and its bad days:
//!
//! - `POST /_stub/clients` `{uuid, login}`: a client of the club (201);
//! - `POST /_stub/payments` `{client_uuid, amount}` (kopecks): a top-up at the desk in the open shift
//!   (201 `{payment_id}`, the id SmartShell assigns);
//! - `POST /_stub/payments/{payment_id}/refund`: the payment is refunded (200);
//! - `POST /_stub/shift` `{action: open|close|rotate}`: the cashier's shift;
//! - `POST /_stub/fault` `{mode}`: how the next requests fail (see [`world::Fault`]);
//! - `GET /_stub/state`: what the club holds.
//!
//! On start it prints one JSON line, `{"graphql": URL, "control": URL}`, and serves until killed.

mod schema;
mod world;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use clap::Parser;
use serde::Deserialize;
use serde_json::json;
use time::UtcOffset;
use time::macros::format_description;

use schema::{Bearer, StubSchema};
use world::{Fault, Staff, TokenKind, World};

/// A stand-in for SmartShell's GraphQL billing API (the subset the CyberHub bridge uses).
#[derive(Parser)]
#[command(name = "cyberhub-smartshell-stub", version)]
struct Cli {
    /// Address to listen on (port 0: any free port; the line printed at start says which).
    #[arg(long, default_value = "127.0.0.1:4000")]
    listen: std::net::SocketAddr,
    /// The staff login the bridge signs in with (SmartShell uses the phone number).
    #[arg(long, default_value = "79990000000")]
    login: String,
    /// The staff password.
    #[arg(long, default_value = "stub-password")]
    password: String,
    /// The club (SmartShell's company id) the login is for.
    #[arg(long, default_value_t = 1)]
    company_id: i64,
    /// The club's UTC offset, in which SmartShell writes times (`+03:00`: Moscow).
    #[arg(long, default_value = "+03:00")]
    utc_offset: String,
    /// Seconds an access token lives.
    #[arg(long, default_value_t = 86_400)]
    token_lifetime_secs: u64,
    /// Create the clients CyberHub's demo links alice and bob to (`cyberhub serve --demo`).
    #[arg(long)]
    demo: bool,
}

/// The clients of CyberHub's demo members (the server's `demo::seed::SMARTSHELL_CLIENTS`).
const DEMO_CLIENTS: [(&str, &str); 2] = [
    ("0a11ce00-0000-4000-8000-000000000002", "alice"),
    ("0b0b0000-0000-4000-8000-000000000003", "bob"),
];

#[derive(Clone)]
struct Stub {
    world: Arc<Mutex<World>>,
    schema: StubSchema,
}

impl Stub {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("the world lock")
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let offset = UtcOffset::parse(
        &cli.utc_offset,
        format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .map_err(|e| anyhow::anyhow!("--utc-offset {:?}: {e}", cli.utc_offset))?;
    let world = Arc::new(Mutex::new(World::new(
        Staff {
            login: cli.login,
            password: cli.password,
            company_id: cli.company_id,
        },
        offset,
        Duration::from_secs(cli.token_lifetime_secs),
    )));
    if cli.demo {
        let mut world = world.lock().expect("the world lock");
        for (uuid, login) in DEMO_CLIENTS {
            world
                .add_client(uuid.into(), login.into())
                .map_err(anyhow::Error::msg)?;
        }
    }
    let stub = Stub {
        schema: schema::schema(world.clone()),
        world,
    };
    let app = Router::new()
        .route("/api/graphql", post(graphql))
        .route("/_stub/clients", post(add_client))
        .route("/_stub/payments", post(add_payment))
        .route("/_stub/payments/{id}/refund", post(refund))
        .route("/_stub/shift", post(shift))
        .route("/_stub/fault", post(set_fault))
        .route("/_stub/state", get(state))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    let addr = listener.local_addr()?;
    println!(
        "{}",
        json!({"graphql": format!("http://{addr}/api/graphql"), "control": format!("http://{addr}/_stub")})
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// An HTML error page, as the proxy in front of a failing API answers.
fn html_error(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<html><head><title>{} {reason}</title></head><body><center><h1>{} {reason}</h1></center><hr><center>nginx</center></body></html>",
        status.as_u16(),
        status.as_u16()
    );
    (status, [(CONTENT_TYPE, "text/html")], page).into_response()
}

async fn graphql(State(stub): State<Stub>, headers: HeaderMap, body: Bytes) -> Response {
    let fault = stub.world().fault;
    match fault {
        Fault::Down => return html_error(StatusCode::BAD_GATEWAY),
        Fault::Error500 => return html_error(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::Slow => tokio::time::sleep(Duration::from_secs(30)).await,
        Fault::GraphqlError => {
            return Json(json!({
                "errors": [{"message": "Internal server error", "extensions": {"category": "internal"}}],
                "data": null
            }))
            .into_response();
        }
        Fault::None
        | Fault::DuplicatePages
        | Fault::Malformed
        | Fault::ExpireTokens
        | Fault::ExpireSessions => {}
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let error = json!({"errors": [{"message": format!("invalid request: {e}")}]});
            return (StatusCode::BAD_REQUEST, Json(error)).into_response();
        }
    };
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let response = stub.schema.execute(request.data(Bearer(token))).await;
    Json(response).into_response()
}

fn refused(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

#[derive(Deserialize)]
struct NewClient {
    uuid: String,
    login: String,
}

async fn add_client(State(stub): State<Stub>, Json(client): Json<NewClient>) -> Response {
    match stub.world().add_client(client.uuid.clone(), client.login) {
        Ok(()) => (StatusCode::CREATED, Json(json!({"uuid": client.uuid}))).into_response(),
        Err(e) => refused(StatusCode::CONFLICT, e),
    }
}

#[derive(Deserialize)]
struct NewPayment {
    client_uuid: String,
    /// Kopecks.
    amount: i64,
}

async fn add_payment(State(stub): State<Stub>, Json(payment): Json<NewPayment>) -> Response {
    if payment.amount <= 0 {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount must be positive".into(),
        );
    }
    match stub
        .world()
        .add_payment(&payment.client_uuid, payment.amount)
    {
        Ok(id) => (StatusCode::CREATED, Json(json!({"payment_id": id}))).into_response(),
        Err(e) => refused(StatusCode::CONFLICT, e),
    }
}

async fn refund(State(stub): State<Stub>, Path(id): Path<i64>) -> Response {
    match stub.world().refund(id) {
        Ok(()) => Json(json!({"payment_id": id, "is_refunded": true})).into_response(),
        Err(e) => refused(StatusCode::NOT_FOUND, e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ShiftAction {
    Open,
    Close,
    Rotate,
}

#[derive(Deserialize)]
struct ShiftCommand {
    action: ShiftAction,
}

async fn shift(State(stub): State<Stub>, Json(command): Json<ShiftCommand>) -> Response {
    let mut world = stub.world();
    match command.action {
        ShiftAction::Open if world.active_shift().is_some() => {
            return refused(StatusCode::CONFLICT, "a shift is open already".into());
        }
        ShiftAction::Open => {
            world.open_shift();
        }
        ShiftAction::Close => {
            world.close_shift();
        }
        ShiftAction::Rotate => {
            world.close_shift();
            world.open_shift();
        }
    }
    Json(json!({"active": world.active_shift().map(|s| s.id)})).into_response()
}

#[derive(Deserialize)]
struct FaultCommand {
    mode: Fault,
}

async fn set_fault(State(stub): State<Stub>, Json(command): Json<FaultCommand>) -> Response {
    let mut world = stub.world();
    // Tokens expire when told, once: tokens issued later work.
    match command.mode {
        Fault::ExpireTokens => world.expire(&[TokenKind::Access]),
        Fault::ExpireSessions => world.expire(&[TokenKind::Access, TokenKind::Refresh]),
        _ => {}
    }
    world.fault = command.mode;
    Json(json!({"mode": command.mode})).into_response()
}

async fn state(State(stub): State<Stub>) -> Response {
    let world = stub.world();
    Json(json!({
        "clients": world.clients.len(),
        "payments": world.payments.len(),
        "shifts": world.shifts.iter().map(|s| json!({"id": s.id, "open": s.finished_at.is_none(), "payments": s.payments.len()})).collect::<Vec<_>>(),
        "fault": world.fault,
    }))
    .into_response()
}
