//! Resize: the resizer's own code against `vipsthumbnail` producing the same two variants of every
//! file of a generated corpus. Both run as child processes, measured the same way: CPU time from
//! `getrusage(RUSAGE_CHILDREN)`, peak memory from the child's `VmHWM`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use customer_api::logos::ImageFormat;
use customer_api::logos::resize::samples::encoded;
use customer_api::logos::{MAX_BYTES, resize::VariantBoxes};

use crate::Options;
use crate::quality::Reference;

const CPU_TARGET: f64 = 0.3;
const FORMAT_TARGET: f64 = 0.5;
const RSS_TARGET: f64 = 0.6;
/// Target: variant PSNR at most this many dB below vipsthumbnail's.
const PSNR_TARGET_DB: f64 = 1.0;

fn children_cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    use nix::sys::time::TimeValLike;
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|usage| {
            (usage.user_time().num_microseconds() + usage.system_time().num_microseconds()) as f64 / 1e6
        })
        .unwrap_or(0.0)
}

/// Runs a command; returns (CPU seconds, peak RSS in MB) or why it failed.
fn run_measured(command: &mut Command) -> Result<(f64, f64), String> {
    let before = children_cpu_seconds();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            if !status.success() {
                let mut message = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut message);
                }
                return Err(format!("{status}: {}", message.trim()));
            }
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok((children_cpu_seconds() - before, peak_kb as f64 / 1024.0))
}

struct Row {
    format: ImageFormat,
    ours_cpu: f64,
    vips_cpu: f64,
    ours_rss: f64,
    vips_rss: f64,
    ours_jpeg_bytes: u64,
    vips_jpeg_bytes: u64,
    /// PSNR (dB) of each downscaled variant against the reference: ours, vipsthumbnail's.
    psnr: Vec<(f64, f64)>,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if count == 0 { f64::NAN } else { sum / count as f64 }
}

fn extension(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Png => "png",
        ImageFormat::Gif => "gif",
        ImageFormat::Bmp => "bmp",
    }
}

/// Runs the resize section and prints its table (skipped, saying why, without vipsthumbnail).
pub fn run(options: &Options) -> Result<(), String> {
    println!("## Resize (both variants of every corpus file; ours vs vipsthumbnail)\n");
    let vips_version = Command::new("vipsthumbnail").arg("--version").output();
    let Ok(vips_version) = vips_version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
        println!("Skipped: needs `vipsthumbnail` (Debian: `apt-get install libvips-tools`).\n");
        return Ok(());
    };
    let resize_once = options.bin_dir.join("resize-once");
    if !resize_once.exists() {
        return Err(format!(
            "{} is missing: build with `{}`",
            resize_once.display(),
            crate::BUILD
        ));
    }
    let boxes = VariantBoxes::default();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let sizes: &[(u32, u32)] = if options.quick {
        &[(256, 256), (1024, 768)]
    } else {
        &[(256, 256), (1024, 768), (2000, 2000), (4000, 3000)]
    };
    let mut rows = Vec::new();
    let mut dropped = Vec::new();
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Bmp,
    ] {
        for &(width, height) in sizes {
            let bytes = encoded(format, width, height);
            let name = format!("{width}x{height}.{}", extension(format));
            if bytes.len() > MAX_BYTES {
                dropped.push(name);
                continue;
            }
            let file: PathBuf = dir.path().join(&name);
            std::fs::write(&file, &bytes).map_err(|e| e.to_string())?;
            let (ours_cpu, ours_rss) = run_measured(Command::new(&resize_once).arg(&file))?;
            let out = dir.path().join(format!("vips-{name}"));
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            // vipsthumbnail writes BMP only through ImageMagick: its BMP variants are PNG.
            let vips_ext = if format == ImageFormat::Bmp {
                "png"
            } else {
                extension(format)
            };
            let quality = if format == ImageFormat::Jpeg {
                "[Q=80,strip]"
            } else {
                "[strip]"
            };
            let mut vips_cpu = 0.0;
            let mut vips_rss: f64 = 0.0;
            for (prefix, bounds) in [("small", boxes.small), ("medium", boxes.medium)] {
                let (cpu, rss) = run_measured(
                    Command::new("vipsthumbnail")
                        .arg(&file)
                        .args(["--size", &format!("{}x{}>", bounds.width, bounds.height)])
                        .arg("-o")
                        .arg(out.join(format!("{prefix}_%s.{vips_ext}{quality}"))),
                )?;
                vips_cpu += cpu;
                vips_rss = vips_rss.max(rss);
            }
            let ours = customer_api::logos::resize::resize(&bytes, &boxes).map_err(|e| e.to_string())?;
            let stem = name.trim_end_matches(&format!(".{}", extension(format)));
            let vips_small =
                std::fs::read(out.join(format!("small_{stem}.{vips_ext}"))).map_err(|e| e.to_string())?;
            let vips_medium =
                std::fs::read(out.join(format!("medium_{stem}.{vips_ext}"))).map_err(|e| e.to_string())?;
            let (ours_jpeg_bytes, vips_jpeg_bytes) = if format == ImageFormat::Jpeg {
                (
                    (ours.medium.bytes.len() + ours.small.bytes.len()) as u64,
                    (vips_medium.len() + vips_small.len()) as u64,
                )
            } else {
                (0, 0)
            };
            let reference = Reference::new(&bytes)?;
            let mut psnr = Vec::new();
            for (ours, vips) in [
                (&ours.small.bytes, &vips_small),
                (&ours.medium.bytes, &vips_medium),
            ] {
                if let (Some(o), Some(v)) = (reference.psnr(ours)?, reference.psnr(vips)?) {
                    psnr.push((o, v));
                }
            }
            rows.push(Row {
                format,
                ours_cpu,
                vips_cpu,
                ours_rss,
                vips_rss,
                ours_jpeg_bytes,
                vips_jpeg_bytes,
                psnr,
            });
        }
    }

    println!(
        "{vips_version}; corpus: {} files (gradients, a disc, noise; PNG with alpha){}\n",
        rows.len(),
        if dropped.is_empty() {
            String::new()
        } else {
            format!(", dropped over 2 MB: {}", dropped.join(", "))
        }
    );
    println!(
        "| format | files | CPU ours (ms) | CPU vips (ms) | ratio | peak RSS ours / vips (MB) | JPEG variant bytes ours / vips | PSNR ours / vips (dB) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut totals = (0.0, 0.0, 0.0f64, 0.0f64);
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Bmp,
    ] {
        let of: Vec<&Row> = rows.iter().filter(|r| r.format == format).collect();
        if of.is_empty() {
            continue;
        }
        let ours: f64 = of.iter().map(|r| r.ours_cpu).sum();
        let vips: f64 = of.iter().map(|r| r.vips_cpu).sum();
        let rss_ours = of.iter().map(|r| r.ours_rss).fold(0.0, f64::max);
        let rss_vips = of.iter().map(|r| r.vips_rss).fold(0.0, f64::max);
        totals = (
            totals.0 + ours,
            totals.1 + vips,
            totals.2.max(rss_ours),
            totals.3.max(rss_vips),
        );
        let ratio = ours / vips;
        let flag = if ratio > FORMAT_TARGET { " ⚠" } else { "" };
        let jpeg = if format == ImageFormat::Jpeg {
            let (o, v): (u64, u64) = (
                of.iter().map(|r| r.ours_jpeg_bytes).sum(),
                of.iter().map(|r| r.vips_jpeg_bytes).sum(),
            );
            format!("{o} / {v}{}", if o > v { " ⚠" } else { "" })
        } else {
            "—".to_owned()
        };
        let psnr_ours = mean(of.iter().flat_map(|r| r.psnr.iter().map(|p| p.0)));
        let psnr_vips = mean(of.iter().flat_map(|r| r.psnr.iter().map(|p| p.1)));
        let psnr_flag = if psnr_ours < psnr_vips - PSNR_TARGET_DB {
            " ⚠"
        } else {
            ""
        };
        println!(
            "| {format:?} | {} | {:.1} | {:.1} | {ratio:.2}×{flag} | {rss_ours:.0} / {rss_vips:.0} | {jpeg} | {psnr_ours:.1} / {psnr_vips:.1}{psnr_flag} |",
            of.len(),
            ours * 1e3,
            vips * 1e3
        );
    }
    let ratio = totals.0 / totals.1;
    let rss_ratio = totals.2 / totals.3;
    println!(
        "| **all** | {} | {:.1} | {:.1} | {ratio:.2}×{} | {:.0} / {:.0} ({rss_ratio:.2}×{}) | | |",
        rows.len(),
        totals.0 * 1e3,
        totals.1 * 1e3,
        if ratio > CPU_TARGET { " ⚠" } else { "" },
        totals.2,
        totals.3,
        if rss_ratio > RSS_TARGET { " ⚠" } else { "" }
    );
    println!(
        "\nTargets: total CPU ≤ {CPU_TARGET}× vipsthumbnail's, each format ≤ {FORMAT_TARGET}×, peak RSS ≤ {RSS_TARGET}×, JPEG variants no larger; \
         variant PSNR (each downscaled variant against a Lanczos3 float downscale of the original) at most {PSNR_TARGET_DB} dB below vipsthumbnail's. \
         Both sides are whole processes (start-up included). ⚠ marks a miss.\n"
    );
    Ok(())
}
