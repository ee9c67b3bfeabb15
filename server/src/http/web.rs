//! The club's live page (web/, built to `web/dist`) served at `/` from a directory, so the demo
//! server shows it without a second process. Every path that is not a file there, and every
//! unknown API route, gets the JSON 404 of the API.

use axum::handler::HandlerWithoutStateExt;
use axum::routing::MethodRouter;
use tower_http::services::ServeDir;

use crate::config::Config;
use crate::error::ApiError;

/// The router's fallback: the web directory if it exists, else the JSON 404 alone.
pub fn service(config: &Config) -> MethodRouter<super::AppState> {
    let not_found = (|| async { ApiError::NotFound("route") }).into_service();
    if !config.web_dir.is_dir() {
        return axum::routing::any_service(not_found);
    }
    let files = ServeDir::new(&config.web_dir)
        // A POST to a path of the page is not a file request; it gets the API's answer.
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    axum::routing::any_service(files)
}
