//! The response headers that keep a browser safe, by what an answer is, written once for both
//! paths that answer: the axum middleware ([`apply`]) and the SSE and long-poll fast path in
//! `crate::net`, which asks [`HeaderPolicy::for_answer`] for the same list.
//!
//! - **The page** (`/` and its files): a Content-Security-Policy that allows the page's own scripts,
//!   styles and images and its connections to the API and nothing else (no inline script, no
//!   `eval`), framing by nobody (`frame-ancestors`, and `X-Frame-Options` for older browsers) so
//!   no other site can lay the page's money buttons under a decoy, `Referrer-Policy: same-origin`,
//!   and caching: Vite's content-hashed files under `/assets/` for a year, the rest revalidated.
//! - **Every answer**: `X-Content-Type-Options: nosniff`; `Strict-Transport-Security` when the
//!   server knows it is reached over TLS; API answers (`/v1/...`) never stored by a cache unless
//!   they say otherwise (the stream's `no-cache, no-transform`).
//! - **CORS**: only for an origin on the allow-list (`CYBERHUB_CORS_ORIGINS`), which is echoed with
//!   `Access-Control-Allow-Credentials`; nothing for any other origin. tower-http's CORS layer
//!   sends the credentials header on every answer and cannot serve the fast path, which writes its
//!   own heads: one small policy here serves both.
//!
//! SECURITY.md says why each header is there.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName, ORIGIN, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use std::sync::Arc;

use crate::config::Config;

/// What an answer is, for the headers it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The live page: `index.html`, or another file of the web directory.
    Page,
    /// A content-hashed file of the page (`/assets/...`): never changes under its name.
    HashedAsset,
    /// Anything of the API, the streams included.
    Api,
}

impl Answer {
    /// What the answer to `path` is.
    pub fn of(path: &str) -> Answer {
        let api = path.starts_with("/v1/")
            || matches!(path, "/v1" | "/health" | "/metrics" | "/openapi.json");
        if api {
            Answer::Api
        } else if path.starts_with("/assets/") {
            Answer::HashedAsset
        } else {
            Answer::Page
        }
    }
}

/// The methods and request headers a browser on an allowed origin may use.
const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE";
const ALLOWED_HEADERS: &str = "authorization, content-type, last-event-id";
/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";
const PREFLIGHT_VARY: &str =
    "origin, access-control-request-method, access-control-request-headers";

/// The header policy, built once from the settings.
#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    cors_origins: Vec<String>,
    csp: HeaderValue,
    frame_options: Option<HeaderValue>,
    hsts: Option<HeaderValue>,
}

impl HeaderPolicy {
    /// Builds the policy; a CORS origin or a frame ancestor that is not one (a path, a `;` that
    /// would end the policy's directive) is refused by name.
    pub fn new(config: &Config) -> anyhow::Result<HeaderPolicy> {
        let cors_origins: Vec<String> = config
            .cors_origins
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &cors_origins {
            anyhow::ensure!(
                is_origin(origin, false),
                "CYBERHUB_CORS_ORIGINS: {origin:?} is not an origin like https://club.example \
                 (scheme, host and port only)"
            );
        }
        let ancestors: Vec<&str> = config.frame_ancestors.split_whitespace().collect();
        anyhow::ensure!(!ancestors.is_empty(), "CYBERHUB_FRAME_ANCESTORS is empty");
        for source in &ancestors {
            anyhow::ensure!(
                matches!(*source, "'none'" | "'self'") || is_origin(source, true),
                "CYBERHUB_FRAME_ANCESTORS: {source:?} is not 'none', 'self' or an origin like \
                 https://club.example"
            );
        }
        anyhow::ensure!(
            !(ancestors.contains(&"'none'") && ancestors.len() > 1),
            "CYBERHUB_FRAME_ANCESTORS: 'none' cannot be combined with other sources"
        );
        let mut connect = String::from("'self'");
        for origin in &cors_origins {
            connect.push(' ');
            connect.push_str(origin);
        }
        let ancestors = ancestors.join(" ");
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; connect-src {connect}; manifest-src 'self'; base-uri 'none'; \
             form-action 'self'; frame-ancestors {ancestors}"
        );
        // X-Frame-Options has no allow-list: older browsers get the strictest it can say, and a
        // list of origins is left to the CSP of every browser since 2016.
        let frame_options = match ancestors.as_str() {
            "'none'" => Some("DENY"),
            "'self'" => Some("SAMEORIGIN"),
            _ => None,
        };
        let hsts = (config.cookie_secure && config.hsts_max_age_secs > 0)
            .then(|| format!("max-age={}", config.hsts_max_age_secs));
        Ok(HeaderPolicy {
            cors_origins,
            csp: HeaderValue::try_from(csp)?,
            frame_options: frame_options.map(HeaderValue::from_static),
            hsts: hsts.map(HeaderValue::try_from).transpose()?,
        })
    }

    /// The request's origin when it is on the allow-list.
    pub fn allowed_origin<'a>(&self, origin: Option<&'a HeaderValue>) -> Option<&'a HeaderValue> {
        let origin = origin?;
        let text = origin.to_str().ok()?;
        self.cors_origins
            .iter()
            .any(|allowed| allowed == text)
            .then_some(origin)
    }

    /// Every header this policy puts on an answer of `kind` to a request from `origin`, in one
    /// list for both paths. `Cache-Control` is in it only when `own_cache_control` is false (the
    /// streams and long-polls say their own).
    pub fn for_answer(
        &self,
        kind: Answer,
        origin: Option<&HeaderValue>,
        own_cache_control: bool,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut headers = Vec::with_capacity(9);
        headers.push((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")));
        if let Some(hsts) = &self.hsts {
            headers.push((STRICT_TRANSPORT_SECURITY, hsts.clone()));
        }
        match kind {
            Answer::Page | Answer::HashedAsset => {
                headers.push((CONTENT_SECURITY_POLICY, self.csp.clone()));
                if let Some(frame) = &self.frame_options {
                    headers.push((X_FRAME_OPTIONS, frame.clone()));
                }
                headers.push((REFERRER_POLICY, HeaderValue::from_static("same-origin")));
            }
            Answer::Api => {}
        }
        if !own_cache_control {
            let cache = match kind {
                Answer::HashedAsset => "public, max-age=31536000, immutable",
                // Revalidated each time (the files carry an ETag): a rebuilt page shows at once.
                Answer::Page => "no-cache",
                Answer::Api => "no-store",
            };
            headers.push((CACHE_CONTROL, HeaderValue::from_static(cache)));
        }
        if let Some(origin) = self.allowed_origin(origin) {
            headers.push((ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()));
            headers.push((
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        // Whether the CORS headers are there depends on the origin: caches must key on it.
        headers.push((VARY, HeaderValue::from_static("origin")));
        headers
    }

    /// The answer to a CORS preflight: the methods and headers allowed, for an allowed origin;
    /// for any other, no permission at all (the browser then refuses the request).
    fn preflight(&self, origin: Option<&HeaderValue>) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(VARY, HeaderValue::from_static(PREFLIGHT_VARY));
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if let Some(origin) = self.allowed_origin(origin) {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOWED_METHODS),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            headers.insert(
                ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(PREFLIGHT_MAX_AGE),
            );
        }
        response
    }
}

/// Whether `s` is a serialized origin, `scheme://host[:port]` with nothing after it; with
/// `wildcard`, a CSP host source's wildcards as well (`https://*.club.example`, `http://host:*`).
fn is_origin(s: &str, wildcard: bool) -> bool {
    let Some((scheme, host)) = s.split_once("://") else {
        return false;
    };
    let host = match host.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => host,
    };
    let host = match host.strip_suffix(":*") {
        Some(rest) if wildcard => rest,
        _ => host,
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    scheme_ok && host_ok
}

/// The middleware of the axum path: answers CORS preflights, and puts the policy's headers on
/// every other answer.
pub async fn apply(
    State(policy): State<Arc<HeaderPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(ORIGIN).cloned();
    let is_preflight = request.method() == Method::OPTIONS
        && origin.is_some()
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if is_preflight {
        return policy.preflight(origin.as_ref());
    }
    let kind = Answer::of(request.uri().path());
    let mut response = next.run(request).await;
    // A hashed name is immutable only for the file itself; a miss under /assets/ is revalidated.
    let kind = match kind {
        Answer::HashedAsset if !response.status().is_success() => Answer::Page,
        kind => kind,
    };
    let own_cache_control = response.headers().contains_key(CACHE_CONTROL);
    let headers = response.headers_mut();
    for (name, value) in policy.for_answer(kind, origin.as_ref(), own_cache_control) {
        headers.insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(tweak: impl FnOnce(&mut Config)) -> anyhow::Result<HeaderPolicy> {
        let mut config = Config::defaults();
        tweak(&mut config);
        HeaderPolicy::new(&config)
    }

    #[test]
    fn paths_are_sorted_into_page_assets_and_api() {
        assert_eq!(Answer::of("/"), Answer::Page);
        assert_eq!(Answer::of("/index.html"), Answer::Page);
        assert_eq!(Answer::of("/assets/index-3f2a.js"), Answer::HashedAsset);
        assert_eq!(Answer::of("/v1/me"), Answer::Api);
        assert_eq!(Answer::of("/v1/events"), Answer::Api);
        assert_eq!(Answer::of("/health"), Answer::Api);
        assert_eq!(Answer::of("/openapi.json"), Answer::Api);
    }

    #[test]
    fn origins_and_frame_ancestors_that_would_bend_the_policy_are_refused() {
        for bad in [
            "https://a.example/path",
            "a.example",
            "https://a.example; script-src *",
        ] {
            let refused = policy(|c| c.cors_origins = vec![bad.into()]);
            assert!(refused.is_err(), "{bad:?} was accepted as an origin");
        }
        for bad in [
            "",
            "*; script-src *",
            "'none' https://a.example",
            "'unsafe-inline'",
        ] {
            let refused = policy(|c| c.frame_ancestors = bad.into());
            assert!(refused.is_err(), "{bad:?} was accepted as frame ancestors");
        }
        let allowed = policy(|c| {
            c.cors_origins = vec![
                "https://club.example".into(),
                "http://127.0.0.1:5173".into(),
            ];
            c.frame_ancestors = "'self' https://kiosk.club.example".into();
        });
        assert!(allowed.is_ok());
    }

    #[test]
    fn the_csp_lists_the_cors_origins_to_connect_to_and_the_frame_ancestors() {
        let p = policy(|c| {
            c.cors_origins = vec!["https://club.example".into()];
            c.frame_ancestors = "https://kiosk.example".into();
        })
        .unwrap();
        let csp = p.csp.to_str().unwrap();
        assert!(
            csp.contains("connect-src 'self' https://club.example;"),
            "{csp}"
        );
        assert!(
            csp.ends_with("frame-ancestors https://kiosk.example"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        // An allow-list cannot be said in X-Frame-Options: it is left out, not set to DENY.
        assert!(p.frame_options.is_none());
        let default = policy(|_| {}).unwrap();
        assert_eq!(default.frame_options.as_ref().unwrap(), "DENY");
        assert!(
            default
                .csp
                .to_str()
                .unwrap()
                .ends_with("frame-ancestors 'none'")
        );
    }

    #[test]
    fn hsts_only_when_the_server_knows_it_is_behind_tls() {
        assert!(policy(|_| {}).unwrap().hsts.is_none());
        let tls = policy(|c| c.cookie_secure = true).unwrap();
        assert_eq!(tls.hsts.as_ref().unwrap(), "max-age=31536000");
        let off = policy(|c| {
            c.cookie_secure = true;
            c.hsts_max_age_secs = 0;
        })
        .unwrap();
        assert!(off.hsts.is_none());
    }
}
