//! Who is asking: the address the connection comes from, or, when that is a trusted proxy, the
//! client it names in `X-Forwarded-For`. Rate limits key on it; an untrusted peer cannot pick its
//! own key by sending the header.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

pub use crate::config::IpRange;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// The socket address of the connection a request came on; the accept loop puts it in every
/// request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The client's address for limits and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // Requests that did not come through the accept loop (none in the server) count as one
        // unknown client.
        let peer = parts
            .extensions
            .get::<PeerAddr>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

/// The peer itself, unless it is a trusted proxy: then the right-most address in
/// `X-Forwarded-For` that is not one of the trusted proxies (the left part is the client's own
/// say and can be forged).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| is_trusted_proxy(ip, trusted);
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| {
            hop.trim()
                .parse::<IpAddr>()
                .ok()
                .map(|ip| ip.to_canonical())
        })
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in forwarded.into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => client = ip,
            Some(ip) => return ip,
            // Garbage in the chain: trust nothing to its left.
            None => return client,
        }
    }
    client
}

/// Whether `ip` is one of the trusted proxies.
pub fn is_trusted_proxy(ip: IpAddr, trusted: &[IpRange]) -> bool {
    trusted.iter().any(|range| range.contains(ip))
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:a.b.c.d`) as plain IPv4.
#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let trusted: Vec<IpRange> =
            vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        let forged = headers("1.2.3.4");
        assert_eq!(
            client_ip(ip("203.0.113.9"), &forged, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &forged, &trusted), ip("1.2.3.4"));
        // A client that prepends its own entry does not choose its address.
        let chain = headers("6.6.6.6, 198.51.100.7, 10.1.2.3");
        assert_eq!(
            client_ip(ip("10.0.0.1"), &chain, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers("nonsense, 10.0.0.9"), &trusted),
            ip("10.0.0.9")
        );
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &forged, &trusted),
            ip("1.2.3.4")
        );
        assert!("not an ip".parse::<IpRange>().is_err());
    }
}
