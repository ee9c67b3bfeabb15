//! The deployment's topology without Docker: PostgreSQL, two nodes, and Debian's nginx in front
//! with the proxy configuration docker-compose.yml uses (deploy/nginx/cyberhub.conf, node addresses
//! filled in). Streams pass through unbuffered, long-polls are held, and when a node dies its
//! streams resume on the other one through the same proxy with nothing lost or repeated; the
//! nodes' security headers reach the client unchanged.
//! Needs `TEST_DATABASE_URL` (scripts/with-postgres.sh) and /usr/sbin/nginx (Debian's nginx-light).

#[path = "../nodes/cluster.rs"]
mod cluster;
#[path = "../support/database.rs"]
mod database;
#[path = "../support/sse.rs"]
mod sse;

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use reqwest::StatusCode;

use cluster::{Cluster, eventually, require_postgres};
use sse::EventStream;

const NGINX: &str = "/usr/sbin/nginx";

/// nginx with the deployment's site, in front of `upstreams`, on a free loopback port.
struct Proxy {
    addr: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(upstreams: [std::net::SocketAddr; 2]) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let site = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/nginx/cyberhub.conf"
        ))
        .unwrap()
        .replace("server node1:3000", &format!("server {}", upstreams[0]))
        .replace("server node2:3000", &format!("server {}", upstreams[1]))
        .replace("listen 3000;", &format!("listen 127.0.0.1:{port};"));
        assert!(
            site.contains(&upstreams[1].to_string()),
            "the site names both nodes"
        );
        let prefix = dir.path().display().to_string();
        std::fs::write(dir.path().join("site.conf"), site).unwrap();
        let main = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/error.log warn;\n{user}\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n\
               proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n\
               uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
               include {prefix}/site.conf;\n}}\n",
            // As root, nginx's workers would drop to `nobody`, who cannot use the temp dir.
            user = if is_root() { "user root;\n" } else { "" },
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let check = Command::new(NGINX)
            .args(["-t", "-p", &prefix, "-c", &format!("{prefix}/nginx.conf")])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        // One process (no master and workers), so that killing it leaves nothing behind.
        let child = Command::new(NGINX)
            .args(["-p", &prefix, "-c", &format!("{prefix}/nginx.conf")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Proxy {
            addr: format!("127.0.0.1:{port}"),
            child,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn behind_nginx_streams_flow_unbuffered_and_move_to_the_other_node_when_one_dies() {
    require_postgres();
    assert!(
        Path::new(NGINX).exists(),
        "this test needs {NGINX}: apt-get install nginx-light (scripts/test-deps.sh does)"
    );
    let mut cluster =
        Cluster::start(2, &["--trusted-proxies", "127.0.0.1", "--retry-ms", "200"]).await;
    let proxy = Proxy::start([cluster.nodes[0].addr, cluster.nodes[1].addr]);
    let http = reqwest::Client::new();
    eventually(Duration::from_secs(10), "nginx listening", || async {
        http.get(proxy.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;

    // The nodes' security headers pass through the proxy unchanged.
    let page = http.get(proxy.url("/")).send().await.unwrap();
    let csp = page.headers().get("content-security-policy");
    assert!(
        csp.is_some_and(|v| v.to_str().unwrap().contains("frame-ancestors 'none'")),
        "{:?}",
        page.headers()
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let health = http.get(proxy.url("/health")).send().await.unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    assert_eq!(health.headers()["cache-control"], "no-store");

    // The stream's first frames arrive at once through the proxy: nothing buffers them.
    let res = http.get(proxy.url("/v1/events")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut stream = EventStream::from_response(res);
    let ready = tokio::time::timeout(Duration::from_secs(2), stream.next())
        .await
        .expect("ready at once");
    assert_eq!(ready.event, "ready");
    let first = cluster.announce(0, "through the proxy").await;
    let frame = stream.next().await;
    assert_eq!(
        (frame.id, frame.data["text"].as_str()),
        (Some(first), Some("through the proxy"))
    );

    // A long-poll is held through the proxy and answered when an event comes.
    let poll = {
        let url = proxy.url(&format!("/v1/events/poll?after={first}&timeout=20"));
        let http = http.clone();
        tokio::spawn(async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = cluster.announce(1, "to the waiting poll").await;
    let answer = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer["events"][0]["id"], second);
    assert_eq!(stream.next().await.id, Some(second));

    // Kill the node this stream is on: the stream ends, and the client resumes through the same
    // proxy, on the other node, with exactly the events it missed.
    let serving = if cluster.health(0).await.1["sse_clients"] == 1 {
        0
    } else {
        1
    };
    drop(cluster.nodes.remove(serving));
    assert!(
        stream.next_within(Duration::from_secs(5)).await.is_none(),
        "the stream ended with its node"
    );
    let mut missed = Vec::new();
    for i in 0..5 {
        let res = http
            .post(cluster.nodes[0].url("/v1/admin/announcements"))
            .bearer_auth(&cluster.admin_token)
            .json(&serde_json::json!({ "text": format!("missed {i}") }))
            .send()
            .await
            .unwrap();
        missed.push(
            res.json::<serde_json::Value>().await.unwrap()["event_id"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut resumed = None;
    for _ in 0..20 {
        let res = http
            .get(proxy.url("/v1/events"))
            .header("last-event-id", second.to_string())
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::OK {
            resumed = Some(EventStream::from_response(res));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut resumed = resumed.expect("the proxy sends the client to the surviving node");
    assert_eq!(resumed.next().await.event, "ready");
    let ids: Vec<i64> = resumed
        .take(5)
        .await
        .iter()
        .map(|f| f.id.unwrap())
        .collect();
    assert_eq!(ids, missed);
    resumed.assert_quiet(Duration::from_millis(300)).await;
    // Logins through the proxy work (the nodes take the client's address from X-Forwarded-For).
    let res = http
        .post(proxy.url("/v1/auth/login"))
        .json(&serde_json::json!({ "username": "admin", "password": cluster::ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
