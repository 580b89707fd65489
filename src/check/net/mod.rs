//! The check's network side: TCP (with `--connect-to`), TLS (rustls: the system's roots or `--ca`, the server's
//! name verified, ALPN), HTTP/1.1 by hand ([`http1`]), gRPC over HTTP/2 ([`grpc`], the `h2` crate), and the
//! WebSocket upgrade. Every exchange is bounded by the timeout; every connection carries one request.

pub mod grpc;
pub mod http1;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::args::{ConnectTo, UsageError};
use super::judge::Answer;

/// The GUID of RFC 6455 §1.3 that `Sec-WebSocket-Accept` hashes with the key.
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Where trust comes from, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// The system's roots (this many certificates).
    System(usize),
    /// `--ca` files (this many certificates).
    Files(usize),
}

/// What a TLS handshake agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1_3`, …
    pub version: String,
    /// The ALPN protocol, if any.
    pub alpn: Option<String>,
}

/// How a connection failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// No connection: the name did not resolve, the port refused or dropped it, or nothing answered in time.
    Unreachable(String),
    /// The TLS handshake failed because the server answered with something that is not TLS (plain HTTP).
    NotTls(String),
    /// Any other failure (resolving, connecting, TLS, reading, the timeout), in words.
    Other(String),
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Unreachable(s) | NetError::NotTls(s) | NetError::Other(s) => f.write_str(s),
        }
    }
}

impl From<NetError> for String {
    fn from(e: NetError) -> String {
        e.to_string()
    }
}

/// One client for the whole run.
pub struct Client {
    http1: Arc<ClientConfig>,
    h2: Arc<ClientConfig>,
    connect_to: Vec<ConnectTo>,
    timeout: Duration,
    /// Where trust comes from.
    pub roots: Roots,
}

/// The trusted roots: the certificates in `ca` files, or the system's.
pub fn load_roots(ca: &[std::path::PathBuf]) -> Result<(rustls::RootCertStore, Roots), UsageError> {
    let mut store = rustls::RootCertStore::empty();
    if ca.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(UsageError {
                setting: "--ca".into(),
                message: "no system root certificates found: install the ca-certificates package, or give the CA \
                          with --ca FILE"
                    .into(),
            });
        }
        return Ok((store, Roots::System(added)));
    }
    for file in ca {
        let certs = read_pem_certs(file)?;
        let (added, _) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(UsageError {
                setting: "--ca".into(),
                message: "the file holds no usable CA certificate (PEM, -----BEGIN CERTIFICATE-----)".into(),
            });
        }
    }
    let n = store.len();
    Ok((store, Roots::Files(n)))
}

fn read_pem_certs(file: &Path) -> Result<Vec<CertificateDer<'static>>, UsageError> {
    let bad = |what: &str| UsageError { setting: "--ca".into(), message: format!("cannot read the file: {what}") };
    let iter = CertificateDer::pem_file_iter(file).map_err(|e| bad(&pem_error(&e)))?;
    iter.collect::<Result<Vec<_>, _>>().map_err(|e| bad(&pem_error(&e)))
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => format!("{}", io.kind()),
        _ => "not a PEM file".into(),
    }
}

impl Client {
    /// A client trusting `roots`, connecting per `connect_to`, each exchange within `timeout`.
    pub fn new(roots: (rustls::RootCertStore, Roots), connect_to: Vec<ConnectTo>, timeout: Duration) -> Client {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = |alpn: &[&[u8]]| {
            let mut c = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots.0.clone())
                .with_no_client_auth();
            c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Arc::new(c)
        };
        Client { http1: config(&[b"http/1.1"]), h2: config(&[b"h2"]), connect_to, timeout, roots: roots.1 }
    }

    /// The per-exchange timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn tcp(&self, host: &str, port: u16) -> Result<TcpStream, NetError> {
        // The last --connect-to for a name wins (the command line's over the config file's).
        let (addr, to_port) = match self.connect_to.iter().rev().find(|c| c.host == host && c.port == port) {
            Some(c) => (c.addr.as_str(), c.addr_port),
            None => (host, port),
        };
        TcpStream::connect((addr, to_port))
            .await
            .map_err(|e| NetError::Unreachable(format!("connecting to {host}:{port}: {e}")))
    }

    async fn tls(&self, host: &str, port: u16, h2: bool) -> Result<(TlsStream<TcpStream>, TlsInfo), NetError> {
        let tcp = self.tcp(host, port).await?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| NetError::Other(format!("{host} is not a valid TLS server name")))?;
        let connector = TlsConnector::from(if h2 { self.h2.clone() } else { self.http1.clone() });
        let stream = connector.connect(name, tcp).await.map_err(|e| tls_error(host, port, &e))?;
        let (_, conn) = stream.get_ref();
        let info = TlsInfo {
            version: conn.protocol_version().map(|v| format!("{v:?}").replace("TLSv1_", "TLS 1.")).unwrap_or_default(),
            alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        };
        Ok((stream, info))
    }

    /// Bound `f` by the timeout.
    async fn bounded<T>(&self, what: &str, f: impl Future<Output = Result<T, NetError>>) -> Result<T, NetError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(NetError::Unreachable(format!("{what}: no answer within {} s", self.timeout.as_secs()))),
        }
    }

    /// A TLS handshake alone (ALPN `http/1.1`).
    pub async fn handshake(&self, host: &str, port: u16) -> Result<TlsInfo, NetError> {
        self.bounded("TLS handshake", async { self.tls(host, port, false).await.map(|(_, info)| info) }).await
    }

    /// One HTTP/1.1 exchange of `request` (raw bytes) with `host:port`, over TLS or, with `tls` false, in plain
    /// text (loopback issuers; the plain-HTTP check on the TLS port).
    pub async fn http1(&self, host: &str, port: u16, tls: bool, request: &[u8]) -> Result<Answer, NetError> {
        self.bounded("HTTP request", async {
            if tls {
                let (mut s, _) = self.tls(host, port, false).await?;
                http1::exchange(&mut s, request, false).await.map_err(NetError::Other)
            } else {
                let mut s = self.tcp(host, port).await?;
                http1::exchange(&mut s, request, false).await.map_err(NetError::Other)
            }
        })
        .await
    }

    /// `GET url` (an `https://` URL, or `http://` on a loopback host).
    pub async fn fetch(&self, url: &str) -> Result<Answer, NetError> {
        let parts = crate::url::split(url).ok_or_else(|| NetError::Other(format!("{url} is not a URL")))?;
        let tls = parts.scheme == "https";
        let port = match parts.port {
            Some(p) => p.parse().map_err(|_| NetError::Other(format!("{url}: bad port")))?,
            None if tls => 443,
            None => 80,
        };
        let host = parts.host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let path = if parts.rest.is_empty() { "/" } else { parts.rest };
        let request = http1::get(path, parts.authority, &[("Accept", "application/json")]);
        self.http1(&host, port, tls, &request).await
    }

    /// An HTTP/1.1 WebSocket upgrade of `path`: the answer's head, and the `Sec-WebSocket-Accept` a real
    /// WebSocket server must send back.
    pub async fn websocket(
        &self,
        host: &str,
        port: u16,
        authority: &str,
        path: &str,
    ) -> Result<(Answer, String), NetError> {
        let mut nonce = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| NetError::Other("no randomness for the WebSocket key".into()))?;
        let key = STANDARD.encode(nonce);
        let request = http1::get(
            path,
            authority,
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", &key),
                ("Sec-WebSocket-Version", "13"),
            ],
        );
        let answer = self
            .bounded("WebSocket upgrade", async {
                let (mut s, _) = self.tls(host, port, false).await?;
                http1::exchange(&mut s, &request, true).await.map_err(NetError::Other)
            })
            .await?;
        Ok((answer, websocket_accept(&key)))
    }

    /// One unary gRPC call of `path` with an empty message over HTTP/2 (TLS, ALPN `h2`); `Err` when HTTP/2 was
    /// not negotiated (the words say what ALPN gave).
    pub async fn grpc(
        &self,
        host: &str,
        port: u16,
        authority: &str,
        path: &str,
    ) -> Result<(super::judge::GrpcAnswer, String), NetError> {
        self.bounded("gRPC call", async {
            let (stream, info) = self.tls(host, port, true).await?;
            match info.alpn.as_deref() {
                Some("h2") => {}
                other => {
                    return Err(NetError::Other(format!(
                        "HTTP/2 was not negotiated (ALPN offered h2, the server chose {})",
                        other.unwrap_or("none")
                    )));
                }
            }
            grpc::call(stream, authority, path).await.map(|g| (g, "h2".to_owned())).map_err(NetError::Other)
        })
        .await
    }
}

/// `Sec-WebSocket-Accept` for `key` (RFC 6455 §4.2.2): base64 of SHA-1 over the key and the GUID.
pub fn websocket_accept(key: &str) -> String {
    let digest =
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, format!("{key}{WEBSOCKET_GUID}").as_bytes());
    STANDARD.encode(digest.as_ref())
}

/// A handshake error in words; an answer that is not TLS at all is [`NetError::NotTls`].
fn tls_error(host: &str, port: u16, e: &std::io::Error) -> NetError {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidMessage(_)) => {
            NetError::NotTls(format!("{host}:{port} did not answer with TLS ({e})"))
        }
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => NetError::Other(format!(
            "{host}:{port}: the certificate is not valid: its chain does not lead to a trusted CA (UnknownIssuer)"
        )),
        Some(rustls::Error::InvalidCertificate(c)) => {
            NetError::Other(format!("{host}:{port}: the certificate is not valid: {c}"))
        }
        Some(other) => NetError::Other(format!("{host}:{port}: TLS failed: {other}")),
        None => NetError::Other(format!("{host}:{port}: TLS failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_accept_of_rfc_6455() {
        // RFC 6455 §1.3's example.
        assert_eq!(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn ca_files() {
        let dir = std::env::temp_dir().join(format!("pocketgate-check-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = load_roots(&[empty]).unwrap_err();
        assert_eq!(e.setting, "--ca");
        let e = load_roots(&[dir.join("missing.pem")]).unwrap_err();
        assert!(e.message.contains("cannot read the file"), "{e}");
        assert!(!e.message.contains("missing.pem"), "never echoes the value");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
