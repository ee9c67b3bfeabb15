//! The desktop app's test harness: the real server and the conformance proxy come from the Rust
//! SDK's harness (the same processes, started the same way); this adds an X server (Xvfb, Mesa's
//! software GL), the app itself as a process, its state file, and screenshots.
#![allow(dead_code)]

#[path = "../../../sdk-rs/tests/support/mod.rs"]
pub mod server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cyberhub_sdk::Client;
use cyberhub_sdk::protocol::{CreateUserRequest, Role, User};
use serde_json::Value;

pub use server::TestServer;

/// What the tests need besides Rust, and which Debian package brings it.
const TOOLS: [(&str, &str); 3] = [
    ("Xvfb", "xvfb"),
    ("import", "imagemagick"),
    ("identify", "imagemagick"),
];

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Fails (never skips) when a tool is missing, saying how to get it.
fn require_tools() {
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, package)| format!("{tool} (Debian package {package})"))
        .collect();
    assert!(
        missing.is_empty(),
        "the desktop tests need {}: run scripts/test-deps.sh (it installs xvfb, xauth and \
         imagemagick), then run the tests again",
        missing.join(", ")
    );
}

/// A virtual X server on a free display number (Xvfb picks it: `-displayfd`).
pub struct Display {
    pub name: String,
    pub size: (u32, u32),
    child: Child,
}

impl Display {
    pub fn start(width: u32, height: u32) -> Display {
        require_tools();
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        // Xvfb writes the display number it took once it accepts clients.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read Xvfb's display number");
        let number = line.trim();
        assert!(!number.is_empty(), "Xvfb exited without taking a display");
        Display {
            name: format!(":{number}"),
            size: (width, height),
            child,
        }
    }

    /// Takes a screenshot of the whole screen (ImageMagick's `import`), as the member sees it:
    /// again until two in a row have the same pixels, so that the X server has drawn all the app
    /// sent (it serves `import` in its own order).
    pub async fn screenshot(&self, path: &Path) {
        let mut last = None;
        for _ in 0..50 {
            let status = Command::new("import")
                .args(["-display", &self.name, "-window", "root"])
                .arg(path)
                .status()
                .expect("run import");
            assert!(status.success(), "import failed: {status}");
            let pixels = identify(path, "%#");
            if last.as_ref() == Some(&pixels) {
                return;
            }
            last = Some(pixels);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the screen did not settle within 5 s");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ImageMagick's `identify -format FORMAT` of an image.
fn identify(path: &Path, format: &str) -> String {
    let output = Command::new("identify")
        .args(["-format", format])
        .arg(path)
        .output()
        .expect("run identify");
    assert!(
        output.status.success(),
        "identify failed on {}",
        path.display()
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The width, height and number of distinct colours of a PNG: the size from its header, the
/// colours from ImageMagick.
pub fn png_facts(path: &Path) -> (u32, u32, u64) {
    let bytes = std::fs::read(path).expect("read the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "{} is not a PNG",
        path.display()
    );
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let colours = identify(path, "%k")
        .parse()
        .expect("identify's colour count");
    (be(16), be(20), colours)
}

/// Where a test keeps its screenshot after it ends: `target/tmp/`.
pub fn keep_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// The wall clock in Unix milliseconds, with the fraction.
pub fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// `cyberhub-desk` under Xvfb, with its own token file and state file.
pub struct Desk {
    child: Child,
    dir: tempfile::TempDir,
}

/// How the app signs in at start.
pub enum SignIn<'a> {
    /// Anonymous.
    Nobody,
    /// `CYBERHUB_USER` and `CYBERHUB_PASSWORD`, as a club's launcher would pass them.
    Credentials(&'a str, &'a str),
    /// A token file kept from an earlier run.
    SavedToken(&'a str),
}

impl Desk {
    pub fn start(display: &Display, url: &str, sign_in: SignIn, args: &[&str]) -> Desk {
        let dir = tempfile::Builder::new()
            .prefix("cyberhub-desk-")
            .tempdir()
            .expect("temporary directory");
        let mut command = Command::new(env!("CARGO_BIN_EXE_cyberhub-desk"));
        command
            .args(args)
            .env("DISPLAY", &display.name)
            // Mesa's software renderer: no GPU under Xvfb.
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env("CYBERHUB_URL", url)
            .env("CYBERHUB_DESK_STATE_FILE", dir.path().join("state.json"))
            .env("CYBERHUB_DESK_TOKEN_FILE", dir.path().join("token"))
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("CYBERHUB_TOKEN")
            .env_remove("CYBERHUB_USER")
            .env_remove("CYBERHUB_PASSWORD");
        match sign_in {
            SignIn::Nobody => {}
            SignIn::Credentials(user, password) => {
                command
                    .env("CYBERHUB_USER", user)
                    .env("CYBERHUB_PASSWORD", password);
            }
            SignIn::SavedToken(token) => {
                std::fs::write(dir.path().join("token"), token).expect("write the token file")
            }
        }
        let log = std::fs::File::create(dir.path().join("app.log")).expect("app log");
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start cyberhub-desk");
        Desk { child, dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn token_file(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    /// The app's last snapshot, if it wrote one.
    pub fn state(&self) -> Option<Value> {
        let text = std::fs::read(self.dir.path().join("state.json")).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Polls the state file (every 2 ms) until `test` holds; fails after `within` with the last
    /// state and the app's log.
    pub async fn wait_for(
        &mut self,
        what: &str,
        within: Duration,
        test: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let state = self.state();
            if let Some(state) = state.as_ref().filter(|s| test(s)) {
                return state.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "cyberhub-desk exited ({status}) waiting for {what}\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the window did not show {what} within {within:?}; it shows {}\n{}",
                state.map_or_else(|| "nothing yet".into(), |s| s.to_string()),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("app.log")).unwrap_or_default();
        format!("app log:\n{log}")
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new member with `balance` kopecks, created and credited through the admin API as a club's
/// admin would; returns them and a client signed in as them.
pub async fn member(server: &TestServer, username: &str, balance: i64) -> (User, Client) {
    let admin = Client::builder(&server.url).build().expect("admin client");
    admin
        .login("admin", "admin-demo-1")
        .await
        .expect("admin login");
    let password = format!("{username}-pass-1");
    let user = admin
        .admin()
        .create_user(&CreateUserRequest {
            username: username.to_owned(),
            password: password.clone(),
            role: Role::User,
        })
        .await
        .expect("create the member");
    admin
        .admin()
        .adjust_balance(user.id, balance, "test credit")
        .await
        .expect("credit the member");
    let client = Client::builder(&server.url).build().expect("member client");
    let answer = client
        .login(username, &password)
        .await
        .expect("member login");
    (answer.user, client)
}

/// The state's `indicator.colour`.
pub fn colour(state: &Value) -> &str {
    state["indicator"]["colour"].as_str().unwrap_or_default()
}
