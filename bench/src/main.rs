//! `bench`: the product's performance, each figure beside a baseline measured in the same run
//! (the machines are shared and noisy, so ratios are what compare).
//!
//! ```sh
//! cargo build --release -p functions -p bench -p local-api -p api-tests --bins && ./target/release/bench
//! cargo run -p bench -- --quick                                                  # a few seconds
//! ./target/release/bench --only resize,list-cost                                 # some sections
//! ```
//!
//! It needs the local DynamoDB/S3 API server that `./tests/run` installs into `.venv` (or
//! `TEST_DYNAMODB_ENDPOINT`). It installs nothing itself, prints markdown tables, and exits
//! non-zero only when it cannot run.

mod cold_start;
mod environment;
mod handlers;
mod list_cost;
mod quality;
mod resize;
mod spikes;
mod throughput;

use std::path::PathBuf;
use std::process::ExitCode;

use peak_alloc::PeakAlloc;

/// Counts the heap in use and its peak, so a section can measure what one request allocates.
#[global_allocator]
pub static HEAP: PeakAlloc = PeakAlloc;

/// How the benchmark runs.
pub struct Options {
    /// A few seconds, for CI: one sample each, small data.
    pub quick: bool,
    /// Where the function binaries are (`target/release` by default, else `target/debug`).
    pub bin_dir: PathBuf,
    /// The sections to run (`--only a,b`); all when empty.
    pub only: Vec<String>,
}

/// What builds every binary the full benchmark runs.
pub const BUILD: &str = "cargo build --release -p functions -p bench -p local-api -p api-tests --bins";

/// The sections, in the order they run.
const SECTIONS: [&str; 6] = [
    "cold-start",
    "handlers",
    "resize",
    "list-cost",
    "write-spikes",
    "throughput",
];

impl Options {
    fn runs(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

fn parse_args() -> Result<Options, String> {
    let mut quick = false;
    let mut bin_dir = None;
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--bin-dir" => bin_dir = Some(PathBuf::from(args.next().ok_or("--bin-dir needs a directory")?)),
            "--only" => {
                let list = args.next().ok_or("--only needs a section list")?;
                for section in list.split(',') {
                    if !SECTIONS.contains(&section) {
                        return Err(format!(
                            "unknown section {section}; sections: {}",
                            SECTIONS.join(", ")
                        ));
                    }
                    only.push(section.to_owned());
                }
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: bench [--quick] [--bin-dir DIR] [--only {}]",
                    SECTIONS.join(",")
                ));
            }
        }
    }
    let bin_dir = bin_dir.unwrap_or_else(|| {
        let release = environment::workspace().join("target/release");
        if release.join("hello-lambda").exists() && release.join("group-list").exists() && !quick {
            release
        } else {
            environment::workspace().join("target/debug")
        }
    });
    Ok(Options { quick, bin_dir, only })
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let server = match environment::DynamoServer::start() {
        Ok(server) => server,
        Err(message) => {
            eprintln!("bench: {message}");
            return ExitCode::from(2);
        }
    };
    println!(
        "# Benchmarks ({}; binaries from {})\n",
        if options.quick { "quick" } else { "full" },
        options.bin_dir.display()
    );
    if options.runs("cold-start")
        && let Err(message) = cold_start::run(&options, &server.endpoint).await
    {
        eprintln!("bench: cold start: {message}");
        return ExitCode::from(1);
    }
    if options.runs("handlers")
        && let Err(message) = handlers::run(&options).await
    {
        eprintln!("bench: handler cost: {message}");
        return ExitCode::from(1);
    }
    if options.runs("resize")
        && let Err(message) = resize::run(&options)
    {
        eprintln!("bench: resize: {message}");
        return ExitCode::from(1);
    }
    if options.runs("list-cost")
        && let Err(message) = list_cost::run(&options, &server.endpoint).await
    {
        eprintln!("bench: list cost: {message}");
        return ExitCode::from(1);
    }
    if options.runs("write-spikes")
        && let Err(message) = spikes::run(&options, &server.endpoint).await
    {
        eprintln!("bench: write spikes: {message}");
        return ExitCode::from(1);
    }
    if options.runs("throughput")
        && let Err(message) = throughput::run(&options)
    {
        eprintln!("bench: throughput: {message}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
