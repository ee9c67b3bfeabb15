//! Writes that fail once they have made no progress for a set time, so a connection whose reader
//! stopped reading is closed instead of being held (with its kernel buffers) forever: one function
//! for the fast paths' writes, one socket wrapper for hyper's.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Writes all of `parts`, failing when a write makes no progress for `limit`. A slow client that
/// keeps reading gets everything, however long that takes; one that stopped reading does not hold
/// its connection.
pub async fn write_within(
    stream: &mut TcpStream,
    mut parts: &mut [IoSlice<'_>],
    limit: Duration,
) -> io::Result<()> {
    while !parts.is_empty() {
        let written = tokio::time::timeout(limit, stream.write_vectored(parts))
            .await
            .map_err(|_| {
                metrics::counter!("cyberhub_write_timeouts_total").increment(1);
                io::Error::from(io::ErrorKind::TimedOut)
            })??;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut parts, written);
    }
    Ok(())
}

/// Reads pass through; a write that stays pending for `limit` fails with `TimedOut`.
pub struct WriteDeadline<T> {
    inner: T,
    limit: Duration,
    /// Armed when a write first waits, disarmed by any progress; nothing is held while writes flow.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    pub fn new(inner: T, limit: Duration) -> WriteDeadline<T> {
        WriteDeadline {
            inner,
            limit,
            timer: None,
        }
    }

    /// Call when the inner write is pending: arms the timer, and fails once it has run out.
    fn waiting(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let limit = self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(timer.as_mut().poll(cx));
        metrics::counter!("cyberhub_write_timeouts_total").increment(1);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading",
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                self.timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.waiting(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                self.timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.waiting(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_cannot_progress_fails_after_the_limit() {
        // A pipe of 16 bytes that nobody reads.
        let (_reader, writer) = tokio::io::duplex(16);
        let mut writer = WriteDeadline::new(writer, Duration::from_secs(5));
        writer.write_all(&[0; 16]).await.unwrap();
        let started = tokio::time::Instant::now();
        let err = writer.write_all(&[0; 16]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn progress_resets_the_clock() {
        let (mut reader, writer) = tokio::io::duplex(16);
        let mut writer = WriteDeadline::new(writer, Duration::from_secs(5));
        let drain = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_secs(3)).await;
                tokio::io::AsyncReadExt::read_exact(&mut reader, &mut buf)
                    .await
                    .unwrap();
            }
            reader
        });
        // Each 16-byte write waits 3 s for the reader: slow, but never 5 s without progress.
        for _ in 0..5 {
            writer.write_all(&[1; 16]).await.unwrap();
        }
        drain.await.unwrap();
    }
}
