//! The club's live page (web/, built to `web/dist`) served at `/` from a directory, so the demo
//! server shows it without a second process. Files are read at each request, so a page rebuilt
//! while the server runs (or built after it started) is served at once. Every path that is not a
//! file there, and every unknown API route, gets the JSON 404 of the API.

use axum::handler::HandlerWithoutStateExt;
use axum::routing::MethodRouter;
use tower_http::services::ServeDir;

use crate::config::Config;
use crate::error::ApiError;

/// The command that builds the page, for the log line of a server that has none.
pub const BUILD_COMMAND: &str = "scripts/build-web.sh";

/// The router's fallback: the web directory, then the JSON 404.
pub fn service(config: &Config) -> MethodRouter<super::AppState> {
    let not_found = (|| async { ApiError::NotFound("route") }).into_service();
    let files = ServeDir::new(&config.web_dir)
        // A POST to a path of the page is not a file request; it gets the API's answer.
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    axum::routing::any_service(files)
}

/// Says once, at start, when there is no page to serve: an operator without Node still has the
/// whole API, and learns how to add the page.
pub fn log_presence(config: &Config) {
    let index = config.web_dir.join("index.html");
    if index.is_file() {
        tracing::info!(web_dir = %config.web_dir.display(), "serving the live page at /");
    } else {
        tracing::info!(
            web_dir = %config.web_dir.display(),
            "no live page at {} (API only); build it with {BUILD_COMMAND} (needs Node 20 and npm), \
             and the running server serves it at /",
            index.display()
        );
    }
}
