//! A fresh database per test: a SQLite file, or a database of its own on the PostgreSQL server that
//! `TEST_DATABASE_URL` names (`scripts/with-postgres.sh` starts one), dropped when the test ends.
// Shared by several test binaries through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::time::Duration;

use sqlx::{ConnectOptions, Connection};

/// The database of one test: a SQLite file in a temporary directory, or a database of its own on
/// the PostgreSQL server of `TEST_DATABASE_URL`, dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    _dir: tempfile::TempDir,
    /// The server's URL and the database's name, on PostgreSQL.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(server) => {
                let name = format!("cyberhub_test_{:016x}", rand::random::<u64>());
                let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
                let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"));
                sqlx::raw_sql(create).execute(&mut admin).await.unwrap();
                let url = match server.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("TEST_DATABASE_URL must end in /DATABASE: {server}"),
                };
                TestDatabase {
                    url,
                    _dir: dir,
                    postgres: Some((server, name)),
                }
            }
            None => TestDatabase {
                url: format!("sqlite://{}", dir.path().join("cyberhub.db").display()),
                _dir: dir,
                postgres: None,
            },
        }
    }

    /// A SQLite file in `dir` (a file system the test controls), whatever `TEST_DATABASE_URL` says.
    pub fn sqlite_in(dir: &std::path::Path) -> TestDatabase {
        TestDatabase {
            url: format!("sqlite://{}", dir.join("cyberhub.db").display()),
            _dir: tempfile::tempdir().unwrap(),
            postgres: None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    pub async fn sqlite_connection(&self) -> sqlx::SqliteConnection {
        use std::str::FromStr;
        sqlx::sqlite::SqliteConnectOptions::from_str(&self.url)
            .unwrap()
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Dropped from a thread of its own: this runs inside the test's runtime, which cannot
        // block on a future.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let drop =
                        sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                    let _ = sqlx::raw_sql(drop).execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}
