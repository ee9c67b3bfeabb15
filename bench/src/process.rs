//! The bench's helper processes (one process may open at most 20,000 files here, so load and
//! attacking connections are spread over processes of their own), both sides of their small
//! protocol: the bench starts the same binary with a hidden command, writes the job as one JSON line
//! on its stdin, and then exchanges one line per command and answer.

use std::io::{BufRead, Write};
use std::process::Stdio;

use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc::UnboundedReceiver;

/// A helper process, seen from the bench.
pub struct Helper {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Helper {
    /// Starts this binary's hidden `command` and hands it `job`; killed when dropped.
    pub async fn start(command: &str, job: &impl Serialize) -> anyhow::Result<Helper> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let mut helper = Helper {
            _child: child,
            stdin,
            lines,
        };
        helper.send(&serde_json::to_string(job)?).await?;
        Ok(helper)
    }

    /// Sends one command line.
    pub async fn send(&mut self, command: &str) -> anyhow::Result<()> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await?;
        Ok(())
    }

    /// Reads the next answer line as JSON.
    pub async fn answer<T: DeserializeOwned>(&mut self) -> anyhow::Result<T> {
        let line = self
            .lines
            .next_line()
            .await?
            .context("the helper process ended")?;
        Ok(serde_json::from_str(&line)?)
    }

    /// Asks the process to end and waits until it has (its connections close with it).
    pub async fn quit(&mut self) {
        let _ = self.send("quit").await;
        let _ = self.lines.next_line().await;
    }
}

/// In the helper process: reads the job, the first line of stdin.
pub fn read_job<T: DeserializeOwned>() -> anyhow::Result<T> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(serde_json::from_str(&line)?)
}

/// In the helper process: writes one answer line.
pub fn answer<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(value)?)?;
    out.flush()?;
    Ok(())
}

/// In the helper process: the command lines that follow the job, read on a thread of their own
/// so the connections keep running on the runtime's thread meanwhile. Call inside the runtime.
pub fn commands() -> UnboundedReceiver<String> {
    let (tx, commands) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    commands
}
