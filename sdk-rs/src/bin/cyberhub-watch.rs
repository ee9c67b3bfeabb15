//! `cyberhub-watch`: follows a CyberHub stream and prints it, for operators debugging a club's
//! network. Every event on one line on stdout (`ID EVENT PAYLOAD`, or with `--json` one
//! `{"id":..,"event":..,"data":..}` object per line); every connection change and transport notice
//! on stderr ("connected over SSE", "fell back to long-poll ...", "reconnecting over SSE in 1.8 s
//! ..."). Exits 0 on ctrl-c (or SIGTERM).

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use cyberhub_sdk::protocol::EventEnvelope;
use cyberhub_sdk::{Client, Transport};
use futures_util::StreamExt;

/// Follows a CyberHub event stream and prints every event on one line.
#[derive(Parser, Debug)]
#[command(name = "cyberhub-watch", version, about)]
struct Args {
    /// The server, e.g. `http://club.example:3000`.
    #[arg(long, env = "CYBERHUB_URL")]
    url: String,
    /// A bearer token (without one, and without --username, the stream carries global events only).
    #[arg(long, env = "CYBERHUB_TOKEN", conflicts_with = "username")]
    token: Option<String>,
    /// Log in as this user (with --password).
    #[arg(long, requires = "password")]
    username: Option<String>,
    /// The password for --username.
    #[arg(long, env = "CYBERHUB_PASSWORD", requires = "username")]
    password: Option<String>,
    /// SSE with long-poll fallback (auto), SSE only, or long-poll only.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    transport: Mode,
    /// Resume after this event id (replays what came after it).
    #[arg(long)]
    last_event_id: Option<i64>,
    /// One JSON object per line: {"id":..,"event":..,"data":..}.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Auto,
    Sse,
    Poll,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cyberhub-watch: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(watch(args))
}

async fn watch(args: Args) -> ExitCode {
    let mut builder = Client::builder(&args.url).transport(match args.transport {
        Mode::Auto => Transport::Auto,
        Mode::Sse => Transport::Sse,
        Mode::Poll => Transport::Poll,
    });
    if let Some(token) = args.token {
        builder = builder.token(token);
    }
    if let Some(id) = args.last_event_id {
        builder = builder.last_event_id(id);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cyberhub-watch: {e}");
            return ExitCode::from(2);
        }
    };
    if let (Some(username), Some(password)) = (&args.username, &args.password) {
        match client.login(username, password).await {
            Ok(answer) => eprintln!(
                "logged in as {} (user {})",
                answer.user.username, answer.user.id
            ),
            Err(e) => {
                eprintln!("cyberhub-watch: login failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    client
        .on_connection_change(|state| eprintln!("{state}"))
        .detach();
    client
        .on_transport_notice(|notice| eprintln!("{notice}"))
        .detach();
    client
        .on_token_change(|token| {
            if token.is_none() {
                eprintln!("the session ended (401): going on anonymously, global events only");
            }
        })
        .detach();
    let mut events = client.events();
    client.connect();

    let json = args.json;
    let printing = async {
        while let Some((meta, event)) = events.next().await {
            let line = if json {
                let envelope = EventEnvelope { id: meta.id, event };
                serde_json::to_string(&envelope).unwrap_or_default()
            } else {
                format!("{} {} {}", meta.id, event.name(), event.data_json())
            };
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) ends the watch like ctrl-c.
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = printing => {}
        _ = shutdown_signal() => {}
    }
    client.close().await;
    ExitCode::SUCCESS
}

/// Ctrl-c, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
