//! A loopback TCP proxy in front of the AWS emulator that can simulate an outage: on command it
//! resets every open connection and stops listening (new connections are refused) for a while,
//! then listens again. Clients see what they would see if the emulator process were killed and
//! restarted, while moto keeps its in-memory state (as AWS keeps its data through an outage).
//! It can also stall: connections stay open and new ones complete their handshake (the kernel's
//! backlog), but no byte moves until the stall ends, as with a process stopped by SIGSTOP.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Counters of what the proxy did.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    reset: AtomicU64,
    outages: AtomicU64,
    stalls: AtomicU64,
}

/// What the proxy counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted and forwarded.
    pub accepted: u64,
    /// Open connections reset by outages.
    pub reset: u64,
    /// Outages simulated.
    pub outages: u64,
    /// Stalls simulated.
    pub stalls: u64,
}

/// A running proxy; dropping it stops it (open connections are closed).
pub struct FaultProxy {
    port: u16,
    /// `true` while listening; every change to `false` also resets open connections.
    up: watch::Sender<bool>,
    /// `true` while stalled: nothing is accepted or forwarded.
    stalled: watch::Sender<bool>,
    counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `127.0.0.1:port` and forwards every connection to `upstream`.
    pub async fn start(port: u16, upstream: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding the emulator proxy on 127.0.0.1:{port}"))?;
        let (up, up_rx) = watch::channel(true);
        let (stalled, stalled_rx) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(serve(
            listener,
            Target { port, upstream },
            up_rx,
            stalled_rx,
            Arc::clone(&counters),
        ));
        Ok(FaultProxy {
            port,
            up,
            stalled,
            counters,
            task,
        })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Resets every open connection and refuses new ones until [`FaultProxy::resume`].
    pub fn interrupt(&self) {
        self.counters.outages.fetch_add(1, Ordering::SeqCst);
        self.up.send_replace(false);
    }

    /// Listens again after [`FaultProxy::interrupt`].
    pub fn resume(&self) {
        self.up.send_replace(true);
    }

    /// An outage of `duration`: [`FaultProxy::interrupt`], wait, [`FaultProxy::resume`].
    pub async fn outage(&self, duration: Duration) {
        self.interrupt();
        tokio::time::sleep(duration).await;
        self.resume();
    }

    /// A stall of `duration`: open connections and new ones hang (nothing is read, written or
    /// accepted), then everything carries on where it stopped.
    pub async fn stall(&self, duration: Duration) {
        self.counters.stalls.fetch_add(1, Ordering::SeqCst);
        self.stalled.send_replace(true);
        tokio::time::sleep(duration).await;
        self.stalled.send_replace(false);
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            accepted: self.counters.accepted.load(Ordering::SeqCst),
            reset: self.counters.reset.load(Ordering::SeqCst),
            outages: self.counters.outages.load(Ordering::SeqCst),
            stalls: self.counters.stalls.load(Ordering::SeqCst),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stalled.send_replace(false);
        self.up.send_replace(false);
        self.task.abort();
    }
}

/// Where the proxy listens and where it forwards to.
#[derive(Debug, Clone, Copy)]
struct Target {
    port: u16,
    upstream: SocketAddr,
}

async fn serve(
    mut listener: TcpListener,
    target: Target,
    mut up: watch::Receiver<bool>,
    mut stalled: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let (up_out, stalled_out) = (up.clone(), stalled.clone());
    let port = target.port;
    loop {
        loop {
            // While stalled, connections wait in the listen backlog, unaccepted.
            if stalled.wait_for(|s| !*s).await.is_err() {
                return;
            }
            tokio::select! {
                changed = up.wait_for(|up| !*up) => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                _ = stalled.wait_for(|s| *s) => continue,
                accepted = listener.accept() => {
                    let Ok((client, _)) = accepted else { continue };
                    counters.accepted.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(forward(
                        client,
                        target.upstream,
                        up_out.clone(),
                        stalled_out.clone(),
                        Arc::clone(&counters),
                    ));
                }
            }
        }
        // Down: stop listening, so connection attempts are refused.
        drop(listener);
        if up.wait_for(|up| *up).await.is_err() {
            return;
        }
        listener = loop {
            // The listening socket has SO_REUSEADDR (tokio sets it), so rebinding works.
            match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(listener) => break listener,
                Err(error) => {
                    tracing::warn!(target: "proxy", "rebinding 127.0.0.1:{port}: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
    }
}

/// Copies bytes both ways until either side closes, or resets both sides when the proxy goes down.
async fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    mut up: watch::Receiver<bool>,
    stalled: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let both = async {
        tokio::join!(
            pump(&mut client_read, &mut server_write, stalled.clone()),
            pump(&mut server_read, &mut client_write, stalled.clone()),
        )
    };
    tokio::select! {
        _ = both => {}
        _ = up.wait_for(|up| !*up) => {
            counters.reset.fetch_add(1, Ordering::SeqCst);
            // SO_LINGER 0: closing sends a RST, as the kernel does for a killed process's
            // sockets with unread data.
            for stream in [
                client_read.reunite(client_write),
                server_read.reunite(server_write),
            ]
            .into_iter()
            .flatten()
            {
                let _ = stream.set_zero_linger();
            }
        }
    }
}

/// Copies one direction until end of file or an error; holds what it read while stalled.
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if stalled.wait_for(|s| !*s).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stalled.wait_for(|s| !*s).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server on a free loopback port.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, text: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(text).await?;
        let mut buf = vec![0u8; text.len()];
        stream.read_exact(&mut buf).await?;
        Ok(buf)
    }

    #[tokio::test]
    async fn an_outage_resets_open_connections_and_refuses_new_ones_until_it_ends() {
        let port = crate::emulator::free_port().unwrap();
        let proxy = FaultProxy::start(port, echo().await).await.unwrap();
        let mut open = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut open, b"hello").await.unwrap(), b"hello");

        proxy.interrupt();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            round_trip(&mut open, b"again").await.is_err(),
            "the open connection was reset"
        );
        assert!(
            TcpStream::connect(("127.0.0.1", port)).await.is_err(),
            "new connections are refused"
        );

        proxy.resume();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut fresh = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut fresh, b"back").await.unwrap(), b"back");
        let stats = proxy.stats();
        assert_eq!((stats.outages, stats.reset), (1, 1));
    }

    #[tokio::test]
    async fn a_stall_holds_bytes_until_it_ends() {
        let port = crate::emulator::free_port().unwrap();
        let proxy = FaultProxy::start(port, echo().await).await.unwrap();
        let mut open = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(round_trip(&mut open, b"one").await.unwrap(), b"one");

        let started = std::time::Instant::now();
        let stall = proxy.stall(Duration::from_millis(500));
        let (_, answer) = tokio::join!(stall, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            round_trip(&mut open, b"two").await
        });
        assert_eq!(answer.unwrap(), b"two", "nothing lost");
        assert!(
            started.elapsed() >= Duration::from_millis(450),
            "held until the stall ended"
        );
        assert_eq!(proxy.stats().stalls, 1);
    }
}
