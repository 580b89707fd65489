//! HTTP/1.1 written by hand: the request line is sent byte for byte as given, which no URL or HTTP library does
//! (they resolve `..`, decode or re-encode `%2f` and refuse `\`, the very paths the check must send); the answer's
//! head is parsed by `httparse`, its body read by `Content-Length`, chunked framing, or to the end (capped).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::check::judge::Answer;

/// Largest answer head read.
const MAX_HEAD: usize = 64 * 1024;
/// Largest body kept (the rest is not read): enough for any gate or API error and a dashboard's first page.
pub const MAX_BODY: usize = 256 * 1024;
/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("pocketgate-check/", env!("CARGO_PKG_VERSION"));

/// A `GET` request for `path` (sent as is) on `authority`, `Connection: close`, with `extra` headers.
pub fn get(path: &str, authority: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n");
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case("connection")) {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// How the body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// Send `request` and read one answer. `head_only`: stop after the head (a `101` always does).
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &[u8],
    head_only: bool,
) -> Result<Answer, String> {
    stream.write_all(request).await.map_err(|e| format!("sending the request: {e}"))?;
    stream.flush().await.map_err(|e| format!("sending the request: {e}"))?;
    let mut buf = Vec::with_capacity(4096);
    let (answer, head_len, framing) = loop {
        if let Some(parsed) = parse_head(&buf)? {
            break parsed;
        }
        if buf.len() > MAX_HEAD {
            return Err(format!("the answer's head is longer than {MAX_HEAD} bytes"));
        }
        if read_more(stream, &mut buf).await? == 0 {
            return Err(if buf.is_empty() {
                "the connection was closed without an answer".into()
            } else {
                "the connection was closed in the middle of the answer's head".into()
            });
        }
    };
    let mut answer = answer;
    if head_only || answer.status == 101 || framing == Framing::None {
        return Ok(answer);
    }
    let mut body = buf.split_off(head_len);
    loop {
        if let Some(done) = complete(framing, &body) {
            answer.body = done;
            return Ok(answer);
        }
        if body.len() >= MAX_BODY || read_more(stream, &mut body).await? == 0 {
            // Capped, or closed early: judge what came.
            answer.body = match framing {
                Framing::Chunked => dechunk(&body).0,
                _ => body,
            };
            answer.body.truncate(MAX_BODY);
            return Ok(answer);
        }
    }
}

/// Read more bytes; a TLS peer that closes without `close_notify` counts as the end.
async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Result<usize, String> {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !buf.is_empty() => Ok(0),
        Err(e) => Err(format!("reading the answer: {e}")),
    }
}

/// The answer's head, when `buf` holds all of it: the answer (no body yet), the head's length, the framing.
fn parse_head(buf: &[u8]) -> Result<Option<(Answer, usize, Framing)>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut res = httparse::Response::new(&mut headers);
    let len = match res.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP/1.x answer ({e})")),
    };
    let status = res.code.unwrap_or(0);
    let headers: Vec<(String, String)> = res
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).trim().to_owned()))
        .collect();
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let framing = if status == 101 || status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::None
    } else if header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().ends_with("chunked")) {
        Framing::Chunked
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if n == 0 { Framing::None } else { Framing::Length(n) }
    } else {
        Framing::UntilClose
    };
    if (100..200).contains(&status) && status != 101 {
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        return match parse_head(&buf[len..])? {
            Some((a, l, f)) => Ok(Some((a, len + l, f))),
            None => Ok(None),
        };
    }
    Ok(Some((Answer { status, headers, body: Vec::new() }, len, framing)))
}

/// The whole body, when `body` holds all of it.
fn complete(framing: Framing, body: &[u8]) -> Option<Vec<u8>> {
    match framing {
        Framing::None => Some(Vec::new()),
        Framing::Length(n) => (body.len() >= n).then(|| body[..n].to_vec()),
        Framing::Chunked => match dechunk(body) {
            (data, true) => Some(data),
            _ => None,
        },
        Framing::UntilClose => None,
    }
}

/// Decode chunked framing: the data so far, and whether the last chunk was seen.
fn dechunk(mut body: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(body) else {
            return (out, false);
        };
        let Ok(size) = usize::try_from(size) else { return (out, false) };
        if size == 0 {
            return (out, true);
        }
        let rest = &body[start..];
        if rest.len() < size + 2 {
            out.extend_from_slice(&rest[..rest.len().min(size)]);
            return (out, false);
        }
        out.extend_from_slice(&rest[..size]);
        body = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `exchange` against canned server bytes (tokio's in-memory duplex).
    fn run(server_bytes: &'static [u8], head_only: bool) -> (Result<Answer, String>, Vec<u8>) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (mut client, mut server) = tokio::io::duplex(1 << 20);
            let serve = async move {
                let mut req = vec![0u8; 4096];
                let n = server.read(&mut req).await.unwrap();
                server.write_all(server_bytes).await.unwrap();
                drop(server);
                req.truncate(n);
                req
            };
            let server = tokio::spawn(serve);
            let answer = exchange(&mut client, &get("/relay\\..\\api\\users", "q.example.com", &[]), head_only).await;
            (answer, server.await.unwrap())
        })
    }

    #[test]
    fn the_path_goes_out_byte_for_byte() {
        let (_, req) = run(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", false);
        let req = String::from_utf8(req).unwrap();
        assert!(req.starts_with("GET /relay\\..\\api\\users HTTP/1.1\r\nHost: q.example.com\r\n"), "{req}");
        assert!(req.ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn bodies_by_length_chunked_and_close() {
        let (a, _) = run(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Bearer realm=\"pocketgate\"\r\nContent-Length: 14\r\n\r\n{\"code\":\"x\"}..extra", false);
        let a = a.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (401, b"{\"code\":\"x\"}..".as_slice()));
        assert_eq!(a.header("www-authenticate"), Some("Bearer realm=\"pocketgate\""));
        let (a, _) = run(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
            false,
        );
        assert_eq!(a.unwrap().body, b"hello world");
        let (a, _) = run(b"HTTP/1.0 200 OK\r\n\r\nuntil close", false);
        assert_eq!(a.unwrap().body, b"until close");
        let (a, _) = run(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false);
        assert_eq!(a.unwrap().status, 204);
    }

    #[test]
    fn upgrades_and_broken_answers() {
        let (a, _) = run(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00", false);
        let a = a.unwrap();
        assert_eq!((a.status, a.header("upgrade")), (101, Some("websocket")));
        assert!(a.body.is_empty());
        assert_eq!(run(b"", false).0.unwrap_err(), "the connection was closed without an answer");
        assert!(run(b"\x15\x03\x01\x00\x02\x02\x46", false).0.unwrap_err().starts_with("not an HTTP/1.x answer"));
        assert!(run(b"HTTP/1.1 200 OK\r\nContent-", false).0.unwrap_err().contains("middle of the answer's head"));
        let (a, _) = run(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", false);
        assert_eq!(a.unwrap().body, b"short", "closed early: what came is judged");
    }
}
