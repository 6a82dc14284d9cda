//! Tiny loopback HTTP servers that stand in for application servers, and a
//! load generator that drives traffic through the lab's frontend.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a lab server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers `200 OK` at once.
    Healthy,
    /// Answers `200 OK` after the delay (health checks too).
    Slow(Duration),
    /// Nothing listens on its port: connections are refused, checks fail.
    Refusing,
}

/// Serve HTTP/1.1 keep-alive on `listener` forever.
pub async fn serve(listener: TcpListener, behaviour: Behaviour, name: String) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let name = name.clone();
        tokio::spawn(async move {
            let _ = handle(stream, behaviour, &name).await;
        });
    }
}

async fn handle(mut stream: TcpStream, behaviour: Behaviour, name: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Read one request head; bodies are not used by the lab.
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.len() > 64 * 1024 {
                return Ok(());
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
        buf.drain(..end);
        if let Behaviour::Slow(d) = behaviour {
            tokio::time::sleep(d).await;
        }
        let body = format!("{name}\n");
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nX-Served-By: {name}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(resp.as_bytes()).await?;
    }
}

/// One GET through the frontend, with an optional `X-Backend` routing header.
/// Returns the status line and headers.
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    backend: Option<&str>,
) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    let route = backend
        .map(|b| format!("X-Backend: {b}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: lab\r\n{route}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Keep `concurrency` requests in flight against `backend` until the task is dropped.
pub async fn load(addr: SocketAddr, backend: String, concurrency: usize) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let b = backend.clone();
        set.spawn(async move {
            loop {
                if http_get(addr, "/load", Some(&b)).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}
