//! The byte plumbing the simulated services share: the 4-byte big-endian length + plist framing
//! of lockdownd and its services, a stream that can give back bytes it already read, and a
//! channel that switches between plaintext and TLS on the same socket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;

pub use synccheck_wire::plist_frame::MAX_FRAME as MAX_PLIST_FRAME;
use synccheck_wire::{plist_frame, FrameError as WireError};

/// How long a client may stay silent between requests before the phone drops it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Once a frame has begun, the rest must follow promptly.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Anything a simulated device connection can run on (Unix or TCP socket, plain or TLS).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub type BoxStream = Box<dyn Stream>;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("no request within {0:?}")]
    Idle(Duration),
    #[error("frame body did not arrive within {0:?}")]
    SlowBody(Duration),
    /// Closed, over-long, not a plist: the codec shared with the client says which.
    #[error(transparent)]
    Wire(#[from] WireError),
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Wire(e.into())
    }
}

impl FrameError {
    /// A client that simply went away is not worth more than a trace line.
    pub fn is_quiet(&self) -> bool {
        match self {
            FrameError::Wire(WireError::Closed) => true,
            FrameError::Wire(WireError::Io(e)) => matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
            ),
            _ => false,
        }
    }
}

/// Reads one length-prefixed plist dictionary: `idle` for the first byte (a client may think
/// between requests), then [`BODY_TIMEOUT`] for the rest.
pub async fn read_plist<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    idle: Duration,
) -> Result<plist::Dictionary, FrameError> {
    let mut prefix = [0u8; 4];
    let first = tokio::time::timeout(idle, stream.read(&mut prefix[..1]))
        .await
        .map_err(|_| FrameError::Idle(idle))??;
    if first == 0 {
        return Err(WireError::Closed.into());
    }
    tokio::time::timeout(BODY_TIMEOUT, async {
        stream.read_exact(&mut prefix[1..]).await?;
        Ok(plist_frame::read_body(stream, prefix, MAX_PLIST_FRAME).await?)
    })
    .await
    .map_err(|_| FrameError::SlowBody(BODY_TIMEOUT))?
}

/// Writes one length-prefixed XML plist, the format lockdownd answers in.
pub async fn write_plist<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    dict: plist::Dictionary,
) -> Result<(), FrameError> {
    Ok(plist_frame::write(stream, &dict).await?)
}

/// A stream that first yields bytes already taken off the socket (after peeking at what the
/// client sent next), then reads on.
pub struct Prefixed {
    prefix: Vec<u8>,
    pos: usize,
    inner: BoxStream,
}

impl Prefixed {
    pub fn new(inner: BoxStream) -> Self {
        Prefixed {
            prefix: Vec::new(),
            pos: 0,
            inner,
        }
    }

    /// Puts bytes back in front of whatever is still unread.
    pub fn unread(&mut self, bytes: &[u8]) {
        let mut rest = bytes.to_vec();
        rest.extend_from_slice(&self.prefix[self.pos..]);
        self.prefix = rest;
        self.pos = 0;
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.prefix[start..start + n]);
            self.pos += n;
            if self.pos == self.prefix.len() {
                self.prefix.clear();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One device connection that lockdown may switch into TLS and back.
pub enum Channel {
    Plain(Prefixed),
    Tls(Box<TlsStream<Prefixed>>),
    /// Only while switching; never observed by a reader or writer.
    Switching,
}

impl Channel {
    pub fn is_tls(&self) -> bool {
        matches!(self, Channel::Tls(_))
    }
}

fn switching() -> io::Error {
    io::Error::other("channel used while switching TLS on or off")
}

impl AsyncRead for Channel {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Channel::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Channel::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Channel::Switching => Poll::Ready(Err(switching())),
        }
    }
}

impl AsyncWrite for Channel {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Channel::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Channel::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Channel::Switching => Poll::Ready(Err(switching())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Channel::Plain(s) => Pin::new(s).poll_flush(cx),
            Channel::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Channel::Switching => Poll::Ready(Err(switching())),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Channel::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Channel::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Channel::Switching => Poll::Ready(Err(switching())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn refuses_a_huge_length_without_allocating() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&0xFFFF_FFF0u32.to_be_bytes()).await.unwrap();
        let err = read_plist(&mut b, IDLE_TIMEOUT).await.unwrap_err();
        assert!(
            matches!(err, FrameError::Wire(WireError::TooLarge { .. })),
            "{err}"
        );
    }

    #[tokio::test]
    async fn round_trips_a_dictionary() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let mut d = plist::Dictionary::new();
        d.insert("Request".into(), "QueryType".into());
        write_plist(&mut a, d.clone()).await.unwrap();
        assert_eq!(read_plist(&mut b, IDLE_TIMEOUT).await.unwrap(), d);
    }

    #[tokio::test]
    async fn garbage_body_is_an_error_not_a_panic() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef])
            .await
            .unwrap();
        assert!(matches!(
            read_plist(&mut b, IDLE_TIMEOUT).await,
            Err(FrameError::Wire(WireError::NotPlist(_)))
        ));
    }

    #[tokio::test]
    async fn prefixed_gives_back_unread_bytes_first() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b"world").await.unwrap();
        drop(a);
        let mut p = Prefixed::new(Box::new(b));
        p.unread(b"hello ");
        let mut s = String::new();
        p.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "hello world");
    }
}
