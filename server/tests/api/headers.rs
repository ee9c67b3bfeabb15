//! The headers that keep a browser safe, on every kind of answer and on both paths that answer
//! (the axum router, and the fast path that serves streams and long-polls straight on the socket):
//! the page's Content-Security-Policy, framing refused, no sniffing, private answers never stored,
//! CORS only for an allowed origin, HSTS only behind TLS.

use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::*;
use crate::raw::{head_of, kept_alive};

const ALLOWED: &str = "https://club.example";
const OTHER: &str = "https://evil.example";

/// A built page as Vite leaves it: `index.html` and a content-hashed script.
fn page_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        r#"<!doctype html><div id="root"></div><script type="module" src="/assets/index-3f2a9c.js"></script>"#,
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/index-3f2a9c.js"), "console.log(1)").unwrap();
    dir
}

async fn spawn_with_page(dir: &Path) -> TestApp {
    let web_dir = dir.to_path_buf();
    spawn_app_with(move |c| {
        c.web_dir = web_dir;
        c.cors_origins = vec![ALLOWED.into()];
    })
    .await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_page_allows_only_its_own_scripts_and_no_framing() {
    let dir = page_dir();
    let app = spawn_with_page(dir.path()).await;
    let res = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    let csp = header(h, "content-security-policy").expect("a CSP on the page");
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "style-src 'self';",
        &format!("connect-src 'self' {ALLOWED};"),
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header(h, "x-frame-options"), Some("DENY"));
    assert_eq!(header(h, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(h, "referrer-policy"), Some("same-origin"));
    // Revalidated on every load, so a rebuilt page shows at once.
    assert_eq!(header(h, "cache-control"), Some("no-cache"));
    assert_eq!(
        header(h, "strict-transport-security"),
        None,
        "HSTS on plain HTTP"
    );
}

#[tokio::test]
async fn hashed_assets_are_cached_for_a_year_and_never_sniffed() {
    let dir = page_dir();
    let app = spawn_with_page(dir.path()).await;
    let res = app
        .http
        .get(app.url("/assets/index-3f2a9c.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert!(header(h, "content-type").unwrap().contains("javascript"));
    assert_eq!(header(h, "x-content-type-options"), Some("nosniff"));
    assert_eq!(
        header(h, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(header(h, "content-security-policy").is_some());
    // A name that is not there is not cached for a year: it may be there after the next build.
    let missing = app
        .http
        .get(app.url("/assets/index-000000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(missing.headers(), "cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn a_members_data_is_never_stored_by_a_cache() {
    let app = spawn_app().await;
    let login = app
        .http
        .post(app.url("/v1/auth/login"))
        .json(&serde_json::json!({"username": "root", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(header(login.headers(), "cache-control"), Some("no-store"));
    assert_eq!(
        header(login.headers(), "x-content-type-options"),
        Some("nosniff")
    );
    let me = app
        .http
        .get(app.url("/v1/me"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(header(me.headers(), "cache-control"), Some("no-store"));
    assert_eq!(
        header(me.headers(), "x-content-type-options"),
        Some("nosniff")
    );
    // An API answer is not a page: no CSP or framing rules to carry.
    assert_eq!(header(me.headers(), "content-security-policy"), None);
}

/// The CORS lines of a head (lowercased), and whether it says nosniff.
fn cors_of(head: &[String]) -> (Vec<&str>, bool) {
    let cors = head
        .iter()
        .filter(|l| l.starts_with("access-control-"))
        .map(String::as_str)
        .collect();
    (
        cors,
        head.iter().any(|l| l == "x-content-type-options: nosniff"),
    )
}

#[tokio::test]
async fn cors_headers_go_only_to_an_allowed_origin_on_every_path() {
    let dir = page_dir();
    let app = spawn_with_page(dir.path()).await;
    let (_, token) = app.new_user("alice").await;
    let requests = [
        ("/v1/me", "a private answer"),
        ("/v1/events", "a stream"),
        ("/v1/events/poll", "a long-poll"),
        ("/", "the page"),
    ];
    for (path, what) in requests {
        for origin in [Some(ALLOWED), Some(OTHER), None] {
            let origin_line = origin.map_or(String::new(), |o| format!("origin: {o}\r\n"));
            let request = format!(
                "GET {path} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n{origin_line}\r\n"
            );
            // The first request of a connection (the fast path, for streams and polls), and one
            // after another request on a kept-alive connection (hyper and axum).
            let mut fresh = tokio::net::TcpStream::connect(app.addr).await.unwrap();
            let mut kept = kept_alive(app.addr).await;
            for (conn, which) in [(&mut fresh, "first"), (&mut kept, "kept-alive")] {
                let head = head_of(conn, &request).await;
                assert!(head[0].contains("200"), "{what}, {which}: {head:?}");
                let (cors, nosniff) = cors_of(&head);
                assert!(nosniff, "{what} ({which}) without nosniff: {head:?}");
                assert!(
                    head.contains(&"vary: origin".to_owned()),
                    "{what}: {head:?}"
                );
                if origin == Some(ALLOWED) {
                    assert_eq!(
                        cors,
                        vec![
                            "access-control-allow-credentials: true",
                            &format!("access-control-allow-origin: {ALLOWED}"),
                        ],
                        "{what} ({which}) to an allowed origin"
                    );
                } else {
                    assert!(cors.is_empty(), "{what} ({which}) to {origin:?}: {cors:?}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_preflight_is_answered_for_an_allowed_origin_only() {
    let app = spawn_app_with(|c| c.cors_origins = vec![ALLOWED.into()]).await;
    let preflight = |origin: &str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/v1/cases/1/open"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight(ALLOWED).await.unwrap();
    assert!(allowed.status().is_success());
    let h = allowed.headers();
    assert_eq!(header(h, "access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(header(h, "access-control-allow-credentials"), Some("true"));
    assert!(
        header(h, "access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let allowed_headers = header(h, "access-control-allow-headers").unwrap();
    for name in ["authorization", "content-type", "last-event-id"] {
        assert!(allowed_headers.contains(name), "{allowed_headers}");
    }
    let other = preflight(OTHER).await.unwrap();
    let h = other.headers();
    for name in [
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
    ] {
        assert_eq!(header(h, name), None, "{name} to another origin");
    }
}

#[tokio::test]
async fn hsts_is_sent_behind_tls_and_a_club_may_embed_the_page_in_its_portal() {
    let dir = page_dir();
    let web_dir = dir.path().to_path_buf();
    let app = spawn_app_with(move |c| {
        c.web_dir = web_dir;
        c.cookie_secure = true;
        c.frame_ancestors = "https://portal.club.example".into();
    })
    .await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    let h = page.headers();
    assert_eq!(
        header(h, "strict-transport-security"),
        Some("max-age=31536000")
    );
    let csp = header(h, "content-security-policy").unwrap();
    assert!(
        csp.ends_with("frame-ancestors https://portal.club.example"),
        "{csp}"
    );
    // X-Frame-Options cannot name an origin; DENY would break the portal in older browsers.
    assert_eq!(header(h, "x-frame-options"), None);
    let health = app.http.get(app.url("/health")).send().await.unwrap();
    assert!(header(health.headers(), "strict-transport-security").is_some());
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = head_of(&mut stream, "GET /v1/events HTTP/1.1\r\nhost: test\r\n\r\n").await;
    assert!(
        head.contains(&"strict-transport-security: max-age=31536000".to_owned()),
        "{head:?}"
    );
}
