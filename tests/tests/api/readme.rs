//! The README's examples, run as a newcomer would paste them: every `sh` block of its "Try it"
//! section, top to bottom, against a fresh `local-api`. Each command must answer the status the
//! comment above it names (`(201)`), and every logo a reply shows must be served with its
//! `small_` and `medium_` variants. The commands are read from the README itself, so the two
//! cannot drift; they are interpreted here (the subset of shell and curl the README uses, any
//! other option is an error) rather than by a shell, so the test needs no curl.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::local_api::Server;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `sh` blocks of the README section `heading`, in order.
fn sh_blocks(readme: &str, heading: &str) -> Vec<String> {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .expect("the README has the section");
    let section = &readme[start + heading.len() + 2..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("\n```").expect("closed block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 4..];
    }
    blocks
}

/// One shell word list per command, with the expected status from the comment above it.
struct Command {
    words: Vec<String>,
    status: Option<u16>,
    line: String,
}

/// Splits a block into commands: comments set the expected status, `\` continues a line,
/// `NAME=value` lines set variables, the rest are commands (words after quote removal and
/// `$NAME` expansion).
fn commands(block: &str, vars: &mut HashMap<String, String>) -> Vec<Command> {
    let joined = block.replace("\\\n", " ");
    let mut status = None;
    let mut out = Vec::new();
    for line in joined.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let named: Vec<u16> = comment
                .split('(')
                .skip(1)
                .filter_map(|s| {
                    let (code, after) = (s.get(..3)?, s.get(3..)?);
                    after.starts_with(')').then(|| code.parse().ok()).flatten()
                })
                .collect();
            assert!(named.len() <= 1, "one (status) per comment: {line}");
            status = named.first().copied().or(status);
            continue;
        }
        let words = split_words(line, vars);
        if words.len() == 1 && is_assignment(line) {
            let (name, value) = words[0].split_once('=').expect("assignment");
            vars.insert(name.to_owned(), value.to_owned());
            continue;
        }
        out.push(Command {
            words,
            status,
            line: line.to_owned(),
        });
    }
    out
}

fn is_assignment(line: &str) -> bool {
    let name_end = line.find('=').unwrap_or(0);
    name_end > 0
        && line[..name_end]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_')
}

/// Shell word splitting for the README's subset: single quotes, double quotes with `$NAME`,
/// backslash escapes, and `$NAME` / `${NAME}` expansion.
fn split_words(line: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars>, word: &mut String| {
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced {
            assert_eq!(chars.next(), Some('}'), "unclosed ${{ in {line}");
        }
        let value = vars
            .get(&name)
            .unwrap_or_else(|| panic!("${name} is not set before: {line}"));
        word.push_str(value);
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '$' => expand(&mut chars, &mut word),
                        '\\' => word.push(chars.next().expect("escaped character")),
                        c => word.push(c),
                    }
                }
            }
            '$' => {
                in_word = true;
                expand(&mut chars, &mut word);
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().expect("escaped character"));
            }
            '#' if !in_word => break,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// A request, as curl would send it for the README's options.
struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// curl's `--data-urlencode` encoding: everything but unreserved characters percent-encoded.
fn curl_encode(text: &str) -> String {
    api_tests::encode(text)
}

fn curl(words: &[String], line: &str) -> Request {
    assert_eq!(
        words.first().map(String::as_str),
        Some("curl"),
        "only curl commands: {line}"
    );
    let mut method = None;
    let mut url = None;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut data: Vec<String> = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut args = words[1..].iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{arg} needs a value: {line}"))
                .clone()
        };
        match arg.as_str() {
            "-s" => {}
            "-X" => method = Some(value()),
            "-H" => {
                let header = value();
                let (name, content) = header.split_once(':').expect("Name: value");
                headers.push((name.trim().to_owned(), content.trim().to_owned()));
            }
            "-d" => data.push(value()),
            "--data-urlencode" => {
                let pair = value();
                data.push(match pair.split_once('=') {
                    Some((name, content)) => format!("{name}={}", curl_encode(content)),
                    None => curl_encode(&pair),
                });
            }
            "-F" => {
                let field = value();
                let (name, content) = field.split_once('=').expect("name=value");
                fields.push((name.to_owned(), content.to_owned()));
            }
            other if other.starts_with('-') => panic!("the README runner does not know {other}: {line}"),
            other => {
                assert!(url.is_none(), "one URL per command: {line}");
                url = Some(other.to_owned());
            }
        }
    }
    let has_type = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    let body = if !fields.is_empty() {
        let text: Vec<(&str, &str)> = fields
            .iter()
            .filter(|(_, v)| !v.starts_with('@'))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let files: Vec<(String, String, Vec<u8>)> = fields
            .iter()
            .filter_map(|(n, v)| v.strip_prefix('@').map(|path| (n, path)))
            .map(|(name, path)| {
                let bytes = std::fs::read(repo_root().join(path))
                    .unwrap_or_else(|e| panic!("{path} (from the repository root): {e}"));
                let file_name = Path::new(path)
                    .file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned();
                (name.clone(), file_name, bytes)
            })
            .collect();
        let files: Vec<(&str, &str, &[u8])> = files
            .iter()
            .map(|(n, f, b)| (n.as_str(), f.as_str(), b.as_slice()))
            .collect();
        let (body, content_type) = api_tests::multipart(&text, &files);
        headers.push(("Content-Type".into(), content_type));
        body
    } else if !data.is_empty() {
        if !has_type {
            headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
        }
        data.join("&").into_bytes()
    } else {
        Vec::new()
    };
    let default = if body.is_empty() { "GET" } else { "POST" };
    Request {
        method: method.unwrap_or_else(|| default.to_owned()),
        url: url.unwrap_or_else(|| panic!("no URL: {line}")),
        headers,
        body,
    }
}

/// Sends `request` over a fresh loopback connection; the status and the JSON body.
fn send(request: &Request) -> (u16, Value) {
    let rest = request.url.strip_prefix("http://").expect("http URL");
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    assert!(
        host.starts_with("127.0.0.1:"),
        "examples stay on loopback: {}",
        request.url
    );
    let mut stream = TcpStream::connect(host).expect("connect");
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        request.body.len()
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(&request.body).expect("write body");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (
        status,
        serde_json::from_slice(&answer[split + 4..]).unwrap_or(Value::Null),
    )
}

/// Whether the logo at `url` (or a variant) is served.
fn served(url: &str) -> u16 {
    let request = Request {
        method: "GET".into(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    send(&request).0
}

#[test]
fn the_readme_examples_answer_as_the_readme_says() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let blocks = sh_blocks(&readme, "## Try it");
    assert!(blocks.len() >= 2, "the groups and the customers examples");
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&["--data-dir", dir.path().to_str().expect("path")]);
    let port = format!("127.0.0.1:{}", server.port);
    let mut vars = HashMap::new();
    let mut ran = 0;
    for block in blocks {
        let block = block.replace("127.0.0.1:3000", &port);
        for command in commands(&block, &mut vars) {
            let expected = command
                .status
                .unwrap_or_else(|| panic!("no (status) in a comment above: {}", command.line));
            let request = curl(&command.words, &command.line);
            let (status, body) = send(&request);
            assert_eq!(status, expected, "{}\n{body}", command.line);
            if let Some(logo) = body["logo"].as_str() {
                let (folder, file) = logo.rsplit_once('/').expect("a file name");
                for url in [
                    logo.to_owned(),
                    format!("{folder}/small_{file}"),
                    format!("{folder}/medium_{file}"),
                ] {
                    assert_eq!(served(&url), 200, "{url} after {}", command.line);
                }
            }
            ran += 1;
        }
    }
    assert!(ran >= 25, "{ran} commands ran");
}
