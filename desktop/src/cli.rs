//! The command line: the same `CYBERHUB_*` variables as `cyberhub-watch` where they apply, and the
//! app's own.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use cyberhub_sdk::Transport;

use crate::texts::Lang;

/// CyberHub at the club PC: your balance, cases, inventory, the live drops and the chat.
#[derive(Parser, Debug)]
#[command(name = "cyberhub-desk", version)]
pub struct Args {
    /// The club's CyberHub server.
    #[arg(long, env = "CYBERHUB_URL", default_value = "http://localhost:3000")]
    pub url: String,
    /// A bearer token to use instead of the saved sign-in.
    #[arg(long, env = "CYBERHUB_TOKEN", conflicts_with = "username")]
    pub token: Option<String>,
    /// Sign in as this member at start (with --password).
    #[arg(long, env = "CYBERHUB_USER", requires = "password")]
    pub username: Option<String>,
    /// The password for --username.
    #[arg(
        long,
        env = "CYBERHUB_PASSWORD",
        requires = "username",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// SSE with long-poll fallback (auto), SSE only, or long-poll only.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub transport: Mode,
    /// The language (default: Russian when LC_ALL, LC_MESSAGES or LANG says ru, else the system's).
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
    /// Where the sign-in is kept between runs [default: the user's config folder, cyberhub/token].
    #[arg(long, env = "CYBERHUB_DESK_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Write a JSON summary of what the window shows to this file whenever it changes (for tests
    /// and scripts: balance, indicator, user, counts).
    #[arg(long, env = "CYBERHUB_DESK_STATE_FILE")]
    pub state_file: Option<PathBuf>,
}

/// `--transport`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Mode {
    Auto,
    Sse,
    Poll,
}

impl From<Mode> for Transport {
    fn from(mode: Mode) -> Transport {
        match mode {
            Mode::Auto => Transport::Auto,
            Mode::Sse => Transport::Sse,
            Mode::Poll => Transport::Poll,
        }
    }
}
