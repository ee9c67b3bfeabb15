//! A minimal desktop-style app loop that keeps a balance label current.
//!
//! The shape of a Tauri or egui app: the UI thread owns the label and never blocks on the network;
//! a tokio runtime in the background runs the client; hooks only send messages to the UI thread.
//! The label is loaded over REST once the stream's starting position is fixed and then follows
//! `balance:updated` (an event that arrives during the load wins, being at least as new).
//!
//! ```sh
//! cargo run -p cyberhub-server -- serve --demo          # another terminal
//! cargo run -p cyberhub-sdk --example desktop           # type q + Enter to quit
//! CYBERHUB_URL=http://club.example:3000 CYBERHUB_USER=bob CYBERHUB_PASSWORD=... cargo run -p cyberhub-sdk --example desktop
//! ```

use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::Duration;

use cyberhub_sdk::{Client, ConnectionState};

/// What the background side tells the UI thread.
enum UiMessage {
    /// A `balance:updated` from the stream (absolute balance).
    Balance(i64),
    /// The REST load of the balance at start.
    Loaded(i64),
    /// The connection indicator.
    Connection(ConnectionState),
    /// Something went wrong that the user should see.
    Problem(String),
    /// The user asked to quit.
    Quit,
}

/// The label's state, as a UI framework would keep it.
#[derive(Default)]
struct BalanceLabel {
    balance: Option<i64>,
    /// A live event already set the balance: a slower REST load must not overwrite it.
    live: bool,
    connection: Option<ConnectionState>,
    problem: Option<String>,
}

impl BalanceLabel {
    fn apply(&mut self, message: UiMessage) {
        match message {
            UiMessage::Balance(balance) => {
                self.balance = Some(balance);
                self.live = true;
            }
            UiMessage::Loaded(balance) if !self.live => self.balance = Some(balance),
            UiMessage::Loaded(_) => {}
            UiMessage::Connection(state) => self.connection = Some(state),
            UiMessage::Problem(text) => self.problem = Some(text),
            UiMessage::Quit => {}
        }
    }

    fn render(&self) -> String {
        let balance = match self.balance {
            Some(kopecks) => format!("{}.{:02} ₽", kopecks / 100, kopecks % 100),
            None => "…".to_owned(),
        };
        let connection = self
            .connection
            .map_or_else(|| "offline".to_owned(), |c| c.to_string());
        let problem = self.problem.as_deref().unwrap_or("");
        format!("Balance: {balance:>14}   [{connection}] {problem}")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CYBERHUB_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let user = std::env::var("CYBERHUB_USER").unwrap_or_else(|_| "alice".into());
    let password = std::env::var("CYBERHUB_PASSWORD").unwrap_or_else(|_| "alice-demo-1".into());

    // The network side: its own runtime, off the UI thread.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = Client::builder(&url)
        .runtime(runtime.handle().clone())
        .build()?;
    let (ui, inbox) = mpsc::channel::<UiMessage>();

    // Hooks first, then the load, so nothing falls between the two.
    let tx = ui.clone();
    let _balance = client.on_balance_updated(move |e, _meta| {
        let _ = tx.send(UiMessage::Balance(e.balance));
    });
    let tx = ui.clone();
    let _connection = client.on_connection_change(move |state| {
        let _ = tx.send(UiMessage::Connection(state));
    });

    let background = client.clone();
    let tx = ui.clone();
    runtime.spawn(async move {
        if let Err(e) = background.login(&user, &password).await {
            let _ = tx.send(UiMessage::Problem(format!("login failed: {e}")));
            return;
        }
        background.connect().await;
        match background.me().await {
            Ok(me) => {
                let _ = tx.send(UiMessage::Loaded(me.balance));
            }
            Err(e) => {
                let _ = tx.send(UiMessage::Problem(e.to_string()));
            }
        }
    });

    // A stand-in for the window's close button: q + Enter (or the end of stdin).
    let tx = ui.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) if line.trim() != "q" => continue,
                _ => break,
            }
        }
        let _ = tx.send(UiMessage::Quit);
    });

    // The UI loop: redraw when something changed, never wait on the network.
    let mut label = BalanceLabel::default();
    let mut shown = String::new();
    loop {
        match inbox.recv_timeout(Duration::from_millis(100)) {
            Ok(UiMessage::Quit) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Ok(message) => label.apply(message),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let text = label.render();
        if text != shown {
            print!("\r{text:<80}");
            std::io::stdout().flush()?;
            shown = text;
        }
    }
    println!();
    // Clean shutdown: the stream task ends before the runtime goes.
    runtime.block_on(client.close());
    Ok(())
}
