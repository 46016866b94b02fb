//! The connection under `local-api`'s HTTP server. hyper answers a request it cannot parse (a
//! path with raw non-ASCII or NUL bytes, a head over its buffer) with a bodiless `400`/`431`
//! and closes the connection; this wrapper gives those answers the API's JSON error body, so
//! a client always gets the documented error shape.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use customer_api::error::ApiError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose bodiless error responses are rewritten with a JSON body.
pub struct JsonErrors<T> {
    inner: T,
    /// A rewritten response still to be written (bytes, how many are written).
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrors<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> Self {
        JsonErrors { inner, pending: None }
    }
}

/// The JSON error for a bodiless error response hyper wrote itself, if `bytes` is one.
pub fn rewrite(bytes: &[u8]) -> Option<Vec<u8>> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let headers: Vec<&str> = lines.collect();
    let has = |wanted: &str| headers.iter().any(|h| h.eq_ignore_ascii_case(wanted));
    let (bodiless, closing) = (has("content-length: 0"), has("connection: close"));
    if !(bodiless && closing) || bytes.len() != head_end + 4 {
        return None;
    }
    let error = match status {
        400 => ApiError::MalformedRequest,
        413 => ApiError::PayloadTooLarge,
        414 | 431 => ApiError::HeadTooLarge,
        _ => return None,
    };
    let body = serde_json::to_string(&error.body()).ok()?;
    let date = headers
        .iter()
        .find(|h| h.to_ascii_lowercase().starts_with("date: "));
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json;charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n",
        status_line.get(13..).unwrap_or(""),
        body.len()
    );
    if let Some(date) = date {
        response.push_str(date);
        response.push_str("\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    Some(response.into_bytes())
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Err(error)) = self.drain(cx) {
            return Poll::Ready(Err(error));
        }
        if self.pending.is_some() {
            return Poll::Pending;
        }
        if let Some(replacement) = rewrite(buf) {
            self.pending = Some((replacement, 0));
            return match self.drain(cx) {
                Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_own_bodiless_errors_are_rewritten() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 11:36:16 GMT\r\n\r\n";
        let rewritten = String::from_utf8(rewrite(hyper).expect("rewritten")).expect("text");
        let (head, body) = rewritten.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("date: Mon, 30 Nov 2026 11:36:16 GMT"));
        let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(json["error"], "invalid_request");
        let large =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(
            String::from_utf8_lossy(&rewrite(large).expect("rewritten")).contains("request_header_too_large")
        );
        for kept in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(rewrite(kept), None, "{}", String::from_utf8_lossy(kept));
        }
    }
}
