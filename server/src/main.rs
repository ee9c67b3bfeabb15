//! `cyberhub`: parse the configuration, start tracing, and run the chosen command.

use anyhow::Context;
use clap::Parser;
use cyberhub_server::config::{Cli, Command, Config, UserCommand};
use cyberhub_server::http::validate;
use cyberhub_server::{App, auth, demo, net, store::Store};
use tracing_subscriber::EnvFilter;

/// The top-up secret the demo uses when none is configured, printed at start.
const DEMO_TOPUP_SECRET: &str = "demo-topup-secret";

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_tracing(&cli.config);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let command = cli.command.unwrap_or(Command::Serve {
                demo: false,
                demo_activity: demo::Pace(None),
            });
            match command {
                Command::Serve {
                    demo,
                    demo_activity,
                } => {
                    let activity = if demo { demo_activity.0 } else { None };
                    serve(cli.config, demo, activity).await
                }
                Command::User {
                    command:
                        UserCommand::Add {
                            name,
                            password,
                            admin,
                        },
                } => add_user(&cli.config, &name, &password, admin).await,
                Command::User {
                    command: UserCommand::Revoke { name },
                } => revoke_user(&cli.config, &name).await,
                Command::User {
                    command:
                        UserCommand::Link {
                            name,
                            smartshell_client,
                        },
                } => link_user(&cli.config, &name, &smartshell_client).await,
                Command::User {
                    command: UserCommand::Unlink { name },
                } => unlink_user(&cli.config, &name).await,
            }
        })
}

async fn serve(
    mut config: Config,
    demo: bool,
    activity: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    if demo && config.topup_secret.is_none() {
        config.topup_secret = Some(DEMO_TOPUP_SECRET.to_owned());
    }
    if config.topup_secret.is_none() {
        tracing::warn!("CYBERHUB_TOPUP_SECRET is not set: the top-up webhook refuses every call");
    }
    let listener =
        net::bind(config.listen).with_context(|| format!("binding {}", config.listen))?;
    let app = App::build(config.clone())
        .await
        .context("starting the server")?;
    let addr = listener.local_addr()?;
    if demo {
        print_demo(&app, &config, addr, activity.is_some()).await?;
    }
    if let Some(pace) = activity {
        let (store, shutdown) = (app.state.store.clone(), app.state.shutdown.clone());
        tokio::spawn(demo::activity::run(store, pace, shutdown));
    }
    tracing::info!(%addr, database = %config.database_url, "CyberHub realtime listening");
    let shutdown = app.state.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: ending streams with a jittered retry hint");
        shutdown.cancel();
    });
    app.serve(listener).await
}

async fn print_demo(
    app: &App,
    config: &Config,
    addr: std::net::SocketAddr,
    playing: bool,
) -> anyhow::Result<()> {
    if demo::seed(&app.state.store).await? {
        println!("Demo data created. Logins:");
        for login in &demo::LOGINS {
            println!(
                "  {:<6} password {:<13} role {:<5} balance {} kopecks",
                login.username,
                login.password,
                login.role.as_str(),
                login.balance
            );
        }
    } else {
        println!(
            "Database already has users; demo data not added again. Demo logins, if seeded before:"
        );
        for login in &demo::LOGINS {
            println!("  {} / {}", login.username, login.password);
        }
    }
    if config.topup_secret.as_deref() == Some(DEMO_TOPUP_SECRET) {
        println!("Top-up webhook secret: {DEMO_TOPUP_SECRET}");
    }
    if playing {
        println!(
            "Demo members {} open cases, sell and chat on their own (--demo-activity off stops them).",
            demo::MEMBERS.join(", ")
        );
    }
    let at = if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    };
    if config.web_dir.join("index.html").is_file() {
        println!("The live page: http://{at}/");
    }
    Ok(())
}

async fn add_user(config: &Config, name: &str, password: &str, admin: bool) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url).await?;
    let role = if admin {
        cyberhub_protocol::Role::Admin
    } else {
        cyberhub_protocol::Role::User
    };
    validate::check_username(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    validate::check_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password)).await??;
    let user = store.create_user(name, &hash, role).await?;
    println!(
        "created {:?} with id {} and role {}",
        user.username,
        user.id,
        role.as_str()
    );
    store.close().await;
    Ok(())
}

async fn revoke_user(config: &Config, name: &str) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url).await?;
    let ended = store.end_sessions_of(name).await?;
    store.close().await;
    println!("{name:?}: {ended} session(s) ended; their open streams close within a second");
    Ok(())
}

async fn link_user(config: &Config, name: &str, client: &str) -> anyhow::Result<()> {
    validate::client_uuid(client).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::open(&config.database_url).await?;
    let linked = async {
        let (user, _) = store
            .user_with_password(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no account named {name:?}"))?;
        anyhow::Ok(store.link_smartshell(user.id, client.trim()).await?)
    }
    .await;
    store.close().await;
    let linked = linked?;
    let credited: i64 = linked.credited.iter().map(|c| c.amount).sum();
    println!(
        "{name:?} is linked to SmartShell client {}; {} waiting payment(s) credited ({credited} kopecks), balance {}",
        linked.client_uuid,
        linked.credited.len(),
        linked.balance
    );
    Ok(())
}

async fn unlink_user(config: &Config, name: &str) -> anyhow::Result<()> {
    let store = Store::open(&config.database_url).await?;
    let unlinked = async {
        let (user, _) = store
            .user_with_password(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no account named {name:?}"))?;
        anyhow::Ok(store.unlink_smartshell(user.id).await?)
    }
    .await;
    store.close().await;
    unlinked?;
    println!("{name:?} is no longer linked to SmartShell");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// glibc gives every thread that allocates its own arena (up to 8 per core). Memory freed in one
/// arena is not reused by another, so short-lived allocations on the runtime's workers and sqlx's
/// connection threads leave holes that idle streams then pay for. Two arenas halve the resident
/// memory of an idle stream (BENCHMARKS.md). `MALLOC_ARENA_MAX` in the environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread exists; mallopt only
        // changes an allocator parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
