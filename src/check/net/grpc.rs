//! One unary gRPC call over HTTP/2 (the `h2` crate): `POST` with `content-type: application/grpc`,
//! `te: trailers` and one length-prefixed empty message (gRPC's HTTP/2 protocol, PROTOCOL-HTTP2.md), as a NetBird
//! peer's `GetServerKey` (NetBird `shared/management/proto/management.proto`: `GetServerKey(Empty)`). The answer
//! counts as gRPC when it carries a `grpc-status`, in its headers (trailers-only) or its trailers.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::http1::{MAX_BODY, USER_AGENT};
use crate::check::judge::{Answer, GrpcAnswer};

/// An empty protobuf message as a gRPC frame: not compressed (0), length 0.
const EMPTY_MESSAGE: [u8; 5] = [0, 0, 0, 0, 0];

/// Make the call on a fresh HTTP/2 connection over `io`.
pub async fn call<T>(io: T, authority: &str, path: &str) -> Result<GrpcAnswer, String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = h2::client::handshake(io).await.map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = exchange(client, authority, path).await;
    driver.abort();
    result
}

async fn exchange(client: h2::client::SendRequest<Bytes>, authority: &str, path: &str) -> Result<GrpcAnswer, String> {
    let mut client = client.ready().await.map_err(|e| format!("HTTP/2: {e}"))?;
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("https://{authority}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", USER_AGENT)
        .body(())
        .map_err(|e| format!("building the gRPC request: {e}"))?;
    let (response, mut send) = client.send_request(request, false).map_err(|e| format!("HTTP/2: {e}"))?;
    send.send_data(Bytes::from_static(&EMPTY_MESSAGE), true).map_err(|e| format!("HTTP/2: {e}"))?;
    let response = response.await.map_err(|e| format!("HTTP/2 answer: {e}"))?;
    let (parts, mut body) = response.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| format!("HTTP/2 body: {e}"))?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if data.len() < MAX_BODY {
            data.extend_from_slice(&chunk);
        }
    }
    let trailers = body.trailers().await.map_err(|e| format!("HTTP/2 trailers: {e}"))?;
    let grpc_status = header("grpc-status").or_else(|| {
        trailers.as_ref().and_then(|t| t.get("grpc-status")).and_then(|v| v.to_str().ok()).map(str::to_owned)
    });
    let content_type = header("content-type").unwrap_or_default().to_ascii_lowercase();
    let status = parts.status.as_u16();
    let as_answer = Answer { status, headers: vec![("content-type".to_owned(), content_type.clone())], body: data };
    Ok(GrpcAnswer {
        status,
        content_type,
        grpc_status,
        gate_code: as_answer.gate_code(),
        challenge: header("www-authenticate"),
    })
}
