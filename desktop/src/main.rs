//! `cyberhub-desk`: the club PC's window on CyberHub. A member signs in (the token is kept between
//! runs in a file only they can read) and sees what the club's page shows, live: the balance in the
//! top bar, the connection indicator (green on SSE, amber on long-poll, red while reconnecting, the
//! reason on hover), the cases with an Open button and the item won, the inventory with Sell, the
//! live drop feed, announcements as a banner, and the chat. Russian and English, as the page.
//!
//! Everything that talks to the server goes through the Rust SDK (`cyberhub-sdk`): its hooks feed
//! one shared model (`state`), the REST calls run on a tokio runtime the app owns (`actions`), and
//! each change asks egui for a repaint. The UI thread never waits on the network and does nothing
//! while nothing changes.
//!
//! # Why eframe (egui)
//!
//! Pure Rust from the window to the pixels: one `cargo build` gives a single executable for Linux
//! and Windows, with no web view, no Node toolchain and no C++ GUI library to install on the club's
//! PCs (Tauri would need WebView2 on Windows and WebKitGTK on Linux). Its immediate-mode UI reads
//! the shared model every frame, which is exactly the shape of "hooks update state, the window
//! shows it"; it repaints only when asked, so an idle window costs nothing. It renders through
//! OpenGL (the `glow` backend, far lighter to build than wgpu), which Mesa's software renderer
//! provides under Xvfb for the tests.

// A release build on Windows is a GUI program: no console window opens beside it. Debug builds
// keep the console, for their messages.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

mod actions;
mod app;
mod cli;
mod format;
mod hooks;
mod snapshot;
mod state;
mod texts;
mod token_store;
mod ui;

use std::process::ExitCode;

use clap::Parser;
use cyberhub_sdk::Client;
use eframe::egui;

use crate::actions::Credentials;
use crate::app::{App, Setup};
use crate::cli::Args;
use crate::format::Clock;
use crate::texts::Lang;
use crate::token_store::TokenStore;

fn main() -> ExitCode {
    let args = Args::parse();
    // First, while the process still has one thread (see `Clock`).
    let clock = Clock::local();
    let lang = args.lang.unwrap_or_else(Lang::from_environment);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("cyberhub-net")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cyberhub-desk: cannot start the network runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tokens = args
        .token_file
        .clone()
        .or_else(TokenStore::default_path)
        .map(TokenStore::new);
    let credentials = args
        .username
        .clone()
        .zip(args.password.clone())
        .map(|(username, password)| Credentials { username, password });
    // Credentials given on the command line start a fresh sign-in; otherwise an explicit token,
    // else the one kept from the last run.
    let token = match credentials {
        Some(_) => None,
        None => args
            .token
            .clone()
            .or_else(|| tokens.as_ref().and_then(TokenStore::load)),
    };
    let mut builder = Client::builder(&args.url)
        .transport(args.transport.into())
        .runtime(runtime.handle().clone());
    if let Some(token) = token {
        builder = builder.token(token);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cyberhub-desk: {e}");
            return ExitCode::from(2);
        }
    };

    let setup = Setup {
        runtime,
        client,
        lang,
        clock,
        tokens,
        credentials,
        state_file: args.state_file,
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("CyberHub")
            .with_app_id("cyberhub-desk")
            .with_inner_size([1100.0, 700.0])
            .with_min_inner_size([860.0, 540.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    match eframe::run_native(
        "CyberHub",
        options,
        Box::new(|cc| Ok(Box::new(App::new(cc, setup)))),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cyberhub-desk: cannot open the window: {e}");
            ExitCode::FAILURE
        }
    }
}
