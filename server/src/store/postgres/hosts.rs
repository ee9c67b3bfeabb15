//! `DATABASE_URL` naming several PostgreSQL servers, libpq style:
//! `postgres://user:pass@db1:5432,db2:5432/cyberhub?target_session_attrs=read-write`. sqlx connects
//! to one host, so the list is split here, and the node writes to whichever of them is the primary
//! (answers `pg_is_in_recovery()` with false): at start, and again whenever the one it uses stops
//! answering or turns out to be a standby (a failover promoted another).

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// One server of the list: how to reach it, and its `host:port` for the log.
#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    pub options: PgConnectOptions,
}

/// Splits `url` into one set of options per host, in the order given. `target_session_attrs`, if
/// present, must be `read-write` (or `primary`): the node always writes, so it always looks for
/// the primary.
pub fn parse(url: &str) -> anyhow::Result<Vec<Host>> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no scheme://"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), authority),
    };
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("target_session_attrs", "read-write" | "primary")) => {}
            Some(("target_session_attrs", other)) => anyhow::bail!(
                "DATABASE_URL asks for target_session_attrs={other}; a node writes, so it always \
                 connects to the primary (read-write)"
            ),
            _ => kept.push(pair),
        }
    }
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    hosts
        .split(',')
        .map(|host| {
            anyhow::ensure!(
                !host.is_empty(),
                "DATABASE_URL has an empty host in its list"
            );
            let options = PgConnectOptions::from_str(&format!(
                "{scheme}://{credentials}{host}{path}{query}"
            ))?;
            Ok(Host {
                name: host.to_owned(),
                options,
            })
        })
        .collect()
}

/// The first host, in the list's order, that is a primary and answers within `within`.
pub async fn find_primary(hosts: &[Host], within: Duration) -> Option<usize> {
    for (i, host) in hosts.iter().enumerate() {
        if tokio::time::timeout(within, is_primary(&host.options))
            .await
            .is_ok_and(|primary| primary)
        {
            return Some(i);
        }
    }
    None
}

async fn is_primary(options: &PgConnectOptions) -> bool {
    let Ok(mut conn) = PgConnection::connect_with(options).await else {
        return false;
    };
    let standby = is_standby(&mut conn).await;
    let _ = conn.close().await;
    matches!(standby, Ok(false))
}

/// Whether the server on `conn` is a standby (in recovery) rather than the primary.
pub async fn is_standby(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_hosts_becomes_one_url_each_with_the_rest_kept() {
        let hosts = parse(
            "postgres://u:p%40ss@db1:5433,db2/cyberhub?target_session_attrs=read-write&sslmode=disable",
        )
        .unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["db1:5433", "db2"]);
        assert_eq!(hosts[0].options.get_host(), "db1");
        assert_eq!(hosts[0].options.get_port(), 5433);
        assert_eq!(hosts[1].options.get_port(), 5432);
        for host in &hosts {
            assert_eq!(host.options.get_database(), Some("cyberhub"));
            assert_eq!(host.options.get_username(), "u");
        }
    }

    #[test]
    fn one_host_stays_one_and_other_session_attrs_are_refused() {
        assert_eq!(parse("postgresql://db/x").unwrap().len(), 1);
        assert!(parse("postgres://a,b/x?target_session_attrs=read-only").is_err());
        assert!(parse("postgres://a,,b/x").is_err());
    }
}
