//! Caps on open connections: per client address and in total, so one client cannot take every file
//! descriptor, and the process never runs out of them (an `accept` that fails for want of one
//! stalls every client).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// This address holds its share already.
    PerAddress,
    /// The server holds as many as it may.
    Total,
}

/// Counts open connections; cheap to clone.
#[derive(Clone)]
pub struct ConnectionLimits {
    inner: Arc<Inner>,
}

struct Inner {
    per_address: usize,
    total: usize,
    open: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, u32>>,
}

impl ConnectionLimits {
    /// At most `per_address` connections from one address (0: no such cap) and `total` in all.
    pub fn new(per_address: usize, total: usize) -> ConnectionLimits {
        ConnectionLimits {
            inner: Arc::new(Inner {
                per_address,
                total,
                open: AtomicUsize::new(0),
                by_address: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Admits a connection from `ip` or says why not. A trusted proxy carries many clients, so only
    /// the total applies to it.
    pub fn admit(&self, ip: IpAddr, trusted_proxy: bool) -> Result<Admitted, Full> {
        let inner = &self.inner;
        if inner.open.fetch_add(1, Ordering::AcqRel) >= inner.total {
            inner.open.fetch_sub(1, Ordering::AcqRel);
            metrics::counter!("cyberhub_connections_refused_total", "why" => "total").increment(1);
            return Err(Full::Total);
        }
        let per_address = inner.per_address > 0 && !trusted_proxy;
        if per_address {
            let mut by_address = inner.by_address.lock().expect("connection counts poisoned");
            let count = by_address.entry(ip).or_insert(0);
            if *count as usize >= inner.per_address {
                drop(by_address);
                inner.open.fetch_sub(1, Ordering::AcqRel);
                metrics::counter!("cyberhub_connections_refused_total", "why" => "address")
                    .increment(1);
                return Err(Full::PerAddress);
            }
            *count += 1;
        }
        Ok(Admitted {
            limits: self.clone(),
            ip: per_address.then_some(ip),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// The total cap.
    pub fn total(&self) -> usize {
        self.inner.total
    }
}

/// An admitted connection; counted until dropped.
pub struct Admitted {
    limits: ConnectionLimits,
    /// The address it counts against, if a per-address cap applies.
    ip: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let inner = &self.limits.inner;
        if let Some(ip) = self.ip {
            let mut by_address = inner.by_address.lock().expect("connection counts poisoned");
            if let Some(count) = by_address.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    by_address.remove(&ip);
                }
            }
        }
        inner.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How many files this process may open: raises the soft limit to the hard one first (the usual
/// soft default of 1,024 is far below what a stream server needs), then returns it.
pub fn raise_file_limit() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return 1024;
            }
            if limit.rlim_cur < limit.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: limit.rlim_max,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    limit = raised;
                }
            }
        }
        usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
    }
    #[cfg(not(unix))]
    {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_apply_per_address_and_in_total_and_free_up_on_drop() {
        let limits = ConnectionLimits::new(2, 3);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = limits.admit(a, false).unwrap();
        let _a2 = limits.admit(a, false).unwrap();
        assert_eq!(limits.admit(a, false).err(), Some(Full::PerAddress));
        let _b1 = limits.admit(b, false).unwrap();
        assert_eq!(limits.admit(b, false).err(), Some(Full::Total));
        assert_eq!(limits.open(), 3);
        drop(a1);
        assert_eq!(limits.open(), 2);
        let _a3 = limits.admit(a, false).unwrap();
        // A trusted proxy is held to the total only.
        let limits = ConnectionLimits::new(1, 10);
        let _p1 = limits.admit(a, true).unwrap();
        let _p2 = limits.admit(a, true).unwrap();
        assert_eq!(limits.open(), 2);
    }
}
