//! A TCP proxy between a server node and PostgreSQL that the test controls, since loopback cannot be
//! unplugged: it passes bytes both ways, or stalls (holds every connection open and moves nothing,
//! as when packets are dropped on the way: nobody is told), or cuts (closes every connection and
//! refuses new ones at once, as when a firewall rejects them).
// Shared by several test binaries through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Up,
    /// Every byte held where it is, both ways; new connections accepted and left hanging.
    Stalled,
    /// Every connection closed; new ones closed as soon as they are accepted.
    Cut,
}

pub struct Proxy {
    pub addr: SocketAddr,
    link: watch::Sender<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (link, watching) = watch::channel(Link::Up);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream, watching.clone()));
            }
        });
        Proxy { addr, link, task }
    }

    pub fn set(&self, link: Link) {
        self.link.send_replace(link);
    }

    /// `url` (a PostgreSQL URL) with its host and port replaced by the proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap();
        let credentials = authority
            .rsplit_once('@')
            .map(|(c, _)| format!("{c}@"))
            .unwrap_or_default();
        format!("{scheme}://{credentials}{}/{path}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.set(Link::Cut);
    }
}

/// The host and port a PostgreSQL URL names.
pub fn upstream_of(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = host_port.replace("localhost", "127.0.0.1");
    host_port
        .parse()
        .unwrap_or_else(|_| format!("{host_port}:5432").parse().unwrap())
}

/// One connection: waits while stalled, gives up when cut, otherwise pumps both ways.
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut link: watch::Receiver<Link>) {
    // A connection opened while stalled hangs until the link is up again (or cut).
    let up = link.wait_for(|l| *l != Link::Stalled).await.map(|l| *l);
    if !matches!(up, Ok(Link::Up)) {
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let mut to_server = [0u8; 16 * 1024];
    let mut to_client = [0u8; 16 * 1024];
    loop {
        if *link.borrow_and_update() != Link::Up {
            // Stalled: move nothing until the link changes; cut: drop both sockets.
            match link.wait_for(|l| *l != Link::Stalled).await.map(|l| *l) {
                Ok(Link::Up) => continue,
                _ => return,
            }
        }
        tokio::select! {
            read = client_read.read(&mut to_server) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if server_write.write_all(&to_server[..n]).await.is_err() { return },
            },
            read = server_read.read(&mut to_client) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if client_write.write_all(&to_client[..n]).await.is_err() { return },
            },
            _ = link.changed() => {}
        }
    }
}
