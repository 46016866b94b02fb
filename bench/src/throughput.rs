//! Local API throughput: requests per second for show and list at concurrency 16, against the
//! `local-api` binary on loopback (keep-alive HTTP/1.1 connections, bounded in time). Reported
//! only: it measures the machine as much as the code.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Options;

const CONCURRENCY: usize = 16;

struct LocalApi {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for LocalApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(options: &Options) -> Result<LocalApi, String> {
    let binary = options.bin_dir.join("local-api");
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut child = Command::new(&binary)
        .args(["--port", "0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e} (build it with `{}`)", binary.display(), crate::BUILD))?;
    let mut banner = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut banner)
        .map_err(|e| e.to_string())?;
    let port = banner
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| format!("no port in {banner:?}"))?;
    Ok(LocalApi {
        child,
        port,
        _dir: dir,
    })
}

/// Sends one request on a keep-alive connection and reads the whole response; returns the status.
fn exchange(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    request: &[u8],
) -> Result<u16, String> {
    stream.write_all(request).map_err(|e| e.to_string())?;
    let mut status_line = String::new();
    reader.read_line(&mut status_line).map_err(|e| e.to_string())?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("bad status line")?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok(status)
}

fn request(method: &str, path: &str, body: &str, content_type: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer entity1-dev-token\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Requests per second of `request` over `CONCURRENCY` connections for `duration`.
fn load(port: u16, request: &[u8], duration: Duration) -> Result<f64, String> {
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let request = request.to_vec();
            std::thread::spawn(move || -> Result<u64, String> {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
                let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
                let mut done = 0;
                while started.elapsed() < duration {
                    let status = exchange(&mut stream, &mut reader, &request)?;
                    if status != 200 {
                        return Err(format!("status {status}"));
                    }
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.join().map_err(|_| "a load thread panicked")??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Runs the throughput section and prints its table.
pub fn run(options: &Options) -> Result<(), String> {
    let api = start(options)?;
    let duration = Duration::from_secs(if options.quick { 1 } else { 5 });
    let mut stream = TcpStream::connect(("127.0.0.1", api.port)).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    for i in 0..100 {
        let body = format!("reference=T-{i}&name=Throughput+{i}&billingCity=Nice&creditLimit=100");
        let status = exchange(
            &mut stream,
            &mut reader,
            &request(
                "POST",
                "/api/v1.0/customers",
                &body,
                "application/x-www-form-urlencoded",
            ),
        )?;
        if status != 201 {
            return Err(format!("seeding answered {status}"));
        }
    }
    let show = load(
        api.port,
        &request("GET", "/api/v1.0/customers/reference/T-7", "", "application/json"),
        duration,
    )?;
    let list = load(
        api.port,
        &request("GET", "/api/v1.0/customers?max=100", "", "application/json"),
        duration,
    )?;
    println!(
        "## Local API throughput (local-api on the embedded store, {CONCURRENCY} keep-alive connections, {}s each; reported only)\n",
        duration.as_secs()
    );
    println!("| request | requests/s |");
    println!("| --- | --- |");
    println!("| show a customer | {show:.0} |");
    println!("| list a page of 100 customers | {list:.0} |\n");
    Ok(())
}
