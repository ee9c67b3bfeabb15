//! The chaos run's serving side: three `cyberhub` nodes, each reaching both PostgreSQL servers
//! through TCP proxies the run controls (to stall a node's database link), and Debian's nginx in
//! front with the deployment's own site (`deploy/nginx/cyberhub.conf`).

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use super::database::{Pair, is_root};
use super::proxy::{Link, Proxy};
use crate::target::{LOAD_CLIENT_LIMITS, free_port};

pub struct Node {
    pub index: usize,
    pub addr: SocketAddr,
    bin: PathBuf,
    database_url: String,
    /// The key sealing unrevealed fairness seeds: every node of one database shares it.
    fairness_key: String,
    log: PathBuf,
    child: Option<Child>,
    /// The node's links to the two PostgreSQL servers.
    links: [Proxy; 2],
}

impl Node {
    /// A node whose `DATABASE_URL` names both servers, each through a proxy of its own.
    pub async fn new(
        index: usize,
        bin: &Path,
        pair: &Pair,
        fairness_key: &str,
        dir: &Path,
    ) -> anyhow::Result<Node> {
        let links = [
            Proxy::start(([127, 0, 0, 1], pair.primary.port).into()).await,
            Proxy::start(([127, 0, 0, 1], pair.replica.port).into()).await,
        ];
        let database_url = format!(
            "postgres://postgres@{},{}/cyberhub?target_session_attrs=read-write",
            links[0].addr, links[1].addr
        );
        Ok(Node {
            index,
            addr: ([127, 0, 0, 1], free_port()?).into(),
            bin: bin.to_owned(),
            database_url,
            fairness_key: fairness_key.to_owned(),
            log: dir.join(format!("node{index}.log")),
            child: None,
            links,
        })
    }

    /// Starts the process and waits until it answers HTTP. A node that exits while starting (its
    /// database mid-failover) is started again.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        let http = reqwest::Client::new();
        'spawn: loop {
            let log = File::options().create(true).append(true).open(&self.log)?;
            let mut child = Command::new(&self.bin)
                .args(["serve", "--listen", &self.addr.to_string()])
                .args(["--database-url", &self.database_url])
                .args(["--shutdown-grace-secs", "2"])
                // Every request of the run comes from 127.0.0.1 (through nginx).
                .envs(LOAD_CLIENT_LIMITS)
                .env("CYBERHUB_FAIRNESS_KEY", &self.fairness_key)
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .kill_on_drop(true)
                .spawn()
                .with_context(|| format!("starting {}", self.bin.display()))?;
            loop {
                if tokio::time::Instant::now() > deadline {
                    bail!("node {} did not start within 90 s", self.index);
                }
                if child.try_wait()?.is_some() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue 'spawn;
                }
                let health = http
                    .get(format!("http://{}/health", self.addr))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await;
                if health.is_ok() {
                    self.child = Some(child);
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// kill -9.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM, and the wait for its graceful end (killed after 20 s).
    pub async fn terminate(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await?;
        }
        if tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
            bail!("node {} did not end within 20 s of SIGTERM", self.index);
        }
        Ok(())
    }

    /// Both database links at once: up, stalled or cut.
    pub fn set_database_link(&self, link: Link) {
        for proxy in &self.links {
            proxy.set(link);
        }
    }
}

/// nginx with the deployment's site in front of the nodes, on a free loopback port; one process
/// (no master), killed when dropped.
pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
}

pub const NGINX: &str = "/usr/sbin/nginx";

impl Nginx {
    pub async fn start(nodes: &[SocketAddr], dir: &Path) -> anyhow::Result<Nginx> {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let site = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/nginx/cyberhub.conf"
        ))?;
        // The site names two nodes (node1, node2); the run has one more, configured alike.
        let second = site
            .lines()
            .find(|l| l.contains("server node2:3000"))
            .context("the deployment's site names node2")?;
        let servers: Vec<String> = nodes
            .iter()
            .map(|n| second.replace("node2:3000", &n.to_string()))
            .collect();
        let site = site
            .lines()
            .filter(|l| !l.contains("server node1:3000"))
            .map(|l| {
                if l == second {
                    servers.join("\n")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            .replace("listen 3000;", &format!("listen {addr};"));
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(&prefix)?;
        let p = prefix.display();
        std::fs::write(prefix.join("site.conf"), site)?;
        let main = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {p}/nginx.pid;\n\
             error_log {p}/error.log warn;\n{user}\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {p}/body;\n\
               proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n\
               uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n\
               include {p}/site.conf;\n}}\n",
            // As root, nginx's worker would drop to `nobody`, who cannot use the temp dir.
            user = if is_root() { "user root;\n" } else { "" },
        );
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, main)?;
        let args = ["-p", &p.to_string(), "-c", &conf.display().to_string()];
        let check = Command::new(NGINX).arg("-t").args(args).output().await?;
        if !check.status.success() {
            bail!("nginx -t: {}", String::from_utf8_lossy(&check.stderr));
        }
        let child = Command::new(NGINX)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("http://{addr}/health"))
                .send()
                .await
                .is_ok()
            {
                return Ok(Nginx { addr, child });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("nginx did not answer within 10 s")
    }

    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}
