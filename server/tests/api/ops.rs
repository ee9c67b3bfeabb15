use crate::helpers::*;

#[tokio::test]
async fn health_reports_ok_and_counts_stream_connections_up_and_down() {
    let app = spawn_app().await;
    let health = app.health().await;
    assert_eq!(
        (
            health.status.as_str(),
            health.stream.as_str(),
            health.database.as_str()
        ),
        ("ok", "active", "ok")
    );
    assert_eq!(health.clients, 0);

    let a = app.stream(None, None).await;
    let b = app.stream(None, None).await;
    app.wait_for_clients(2, 0).await;

    let head = health.last_event_id;
    let poll = tokio::spawn({
        let url = app.url(&format!("/v1/events/poll?after={head}&timeout=3"));
        async move { reqwest::get(url).await.unwrap().status() }
    });
    app.wait_for_clients(2, 1).await;
    drop(a);
    app.wait_for_clients(1, 1).await;
    drop(b);
    assert!(poll.await.unwrap().is_success());
    app.wait_for_clients(0, 0).await;
}

#[tokio::test]
async fn metrics_expose_streams_events_and_requests_in_prometheus_format() {
    let app = spawn_app().await;
    let mut stream = app.stream(None, None).await;
    stream.next().await;
    app.announce("metrics").await;
    stream.next().await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let text = res.text().await.unwrap();
    for name in [
        "cyberhub_streams_open{transport=\"sse\"}",
        "cyberhub_events_published_total{event=\"announcement\"}",
        "cyberhub_events_delivered_total{transport=\"sse\"}",
        "cyberhub_http_requests_total{",
        "route=\"/v1/admin/announcements\"",
        "cyberhub_http_request_duration_seconds_bucket{",
        "cyberhub_store_batch_requests_bucket{le=\"128\"}",
        "cyberhub_store_commit_seconds_bucket{",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
}

#[tokio::test]
async fn a_graceful_stop_leaves_the_database_as_one_file() {
    let mut app = spawn_app().await;
    if app.uses_postgres() {
        return; // A property of the SQLite file.
    }
    let (user, _) = app.new_user("walker").await;
    app.fund(user.id, 500).await;
    app.stop().await;
    let db = app
        .config
        .database_url
        .trim_start_matches("sqlite://")
        .to_owned();
    assert!(std::path::Path::new(&db).exists());
    assert!(
        !std::path::Path::new(&format!("{db}-wal")).exists(),
        "the write-ahead log was folded back and removed"
    );
}

#[tokio::test]
async fn the_web_page_is_served_at_the_root_and_api_routes_keep_their_json_errors() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>CyberHub</title>",
    )
    .unwrap();
    let dir = web.path().to_owned();
    let app = spawn_app_with(move |c| c.web_dir = dir).await;
    let page = app.get("/", None).await;
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("CyberHub"));
    assert_error(
        app.get("/v1/nothing-here", None).await,
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/missing.js", None).await,
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post("/index.html", None).await,
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/../Cargo.toml", None).await,
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The API is unchanged next to it.
    assert_eq!(app.health().await.status, "ok");
}

#[tokio::test]
async fn without_a_web_directory_the_root_is_a_json_404() {
    let app = spawn_app_with(|c| c.web_dir = "/nonexistent/web/dist".into()).await;
    assert_error(
        app.get("/", None).await,
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let app = spawn_app_with(|c| c.metrics_token = Some("s3cret".into())).await;
    assert_error(
        app.get("/metrics", None).await,
        reqwest::StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/metrics", Some("wrong")).await,
        reqwest::StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let ok = app.get("/metrics", Some("s3cret")).await;
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("cyberhub_"));
}

#[tokio::test]
async fn metrics_can_move_to_an_address_of_their_own() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = free.local_addr().unwrap();
    drop(free);
    let app = spawn_app_with(move |c| c.metrics_listen = Some(metrics_addr)).await;
    assert_error(
        app.get("/metrics", None).await,
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let res = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert_eq!(app.health().await.status, "ok");
}

#[tokio::test]
async fn a_database_url_of_another_kind_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let before: Vec<_> = std::fs::read_dir(".").unwrap().collect();
    for url in [
        "mysql://u:p@localhost/cyberhub",
        "data/cyberhub.db",
        "redis:x",
    ] {
        let err = cyberhub_server::store::Store::open(url)
            .await
            .err()
            .expect("refused");
        let message = err.to_string();
        assert!(
            message.contains("sqlite:") && message.contains("postgres://"),
            "{message}"
        );
        assert!(
            !message.contains("u:p"),
            "no credentials in the message: {message}"
        );
    }
    let after: Vec<_> = std::fs::read_dir(".").unwrap().collect();
    assert_eq!(before.len(), after.len(), "no file was created for the URL");
    drop(dir);
}

#[tokio::test]
async fn the_openapi_document_is_served_and_the_committed_copy_is_current() {
    let app = spawn_app().await;
    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let served: serde_json::Value = res.json().await.unwrap();
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = served["paths"].as_object().unwrap();
    for path in [
        "/v1/auth/login",
        "/v1/auth/logout",
        "/v1/me",
        "/v1/me/inventory",
        "/v1/me/inventory/{id}/sell",
        "/v1/cases",
        "/v1/cases/{id}",
        "/v1/cases/{id}/open",
        "/v1/drops",
        "/v1/chat/messages",
        "/v1/admin/cases",
        "/v1/admin/cases/{id}",
        "/v1/admin/users",
        "/v1/admin/users/{id}/balance",
        "/v1/admin/users/{id}/mute",
        "/v1/admin/chat/messages/{id}",
        "/v1/admin/announcements",
        "/v1/webhooks/topup",
        "/v1/events",
        "/v1/events/poll",
        "/health",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is not described");
    }
    // The committed copy (the default settings) is what the code generates; a stale one is
    // rewritten here, and scripts/test.sh fails on the uncommitted difference.
    let current = cyberhub_server::http::openapi_json(&cyberhub_server::config::Config::defaults());
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");
    if std::fs::read_to_string(committed_path).ok().as_deref() != Some(current.as_str()) {
        std::fs::write(committed_path, &current).unwrap();
    }
    assert_eq!(
        served,
        serde_json::from_str::<serde_json::Value>(&current).unwrap()
    );
}
