//! Measures one resize: `resize-once make FORMAT WIDTH HEIGHT [flat] FILE` writes a generated
//! image (FORMAT is jpg, png, gif or bmp; `flat` is a single colour, the largest pixel count a
//! small file can declare), then `resize-once FILE` resizes it in a fresh process and prints the
//! time and the process's peak memory (so the peak is this resize's own).

use std::time::Instant;

use customer_api::logos::ImageFormat;
use customer_api::logos::resize::samples::encoded;
use customer_api::logos::resize::{VariantBoxes, resize};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn make(args: &[String]) {
    let usage = "usage: resize-once make jpg|png|gif|bmp WIDTH HEIGHT [flat] FILE";
    let format = match args.first().map(String::as_str) {
        Some("jpg") => ImageFormat::Jpeg,
        Some("png") => ImageFormat::Png,
        Some("gif") => ImageFormat::Gif,
        Some("bmp") => ImageFormat::Bmp,
        _ => panic!("{usage}"),
    };
    let size = |i: usize| args.get(i).and_then(|v| v.parse::<u32>().ok()).expect(usage);
    let (width, height) = (size(1), size(2));
    let flat = args.get(3).map(String::as_str) == Some("flat");
    let bytes = if flat {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbaImage::from_pixel(width, height, image::Rgba([200, 30, 30, 128]))
            .write_to(&mut out, format.codec())
            .expect("encode");
        out.into_inner()
    } else {
        encoded(format, width, height)
    };
    let file = args.last().expect(usage);
    std::fs::write(file, bytes).expect("write image");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("make") {
        return make(&args[1..]);
    }
    let file = args
        .first()
        .expect("usage: resize-once FILE | resize-once make ...");
    let bytes = std::fs::read(file).expect("read image");
    let format = ImageFormat::sniff(&bytes).expect("an image");
    let before = peak_rss_kib();
    let started = Instant::now();
    let result = resize(&bytes, &VariantBoxes::default());
    let elapsed = started.elapsed();
    match result {
        Ok(variants) => println!(
            "{format:?} ({} KB): {:.1} ms, peak RSS {} MB (before resizing {} MB); medium {}x{} {} KB, small {}x{} {} KB",
            bytes.len() / 1024,
            elapsed.as_secs_f64() * 1000.0,
            peak_rss_kib() / 1024,
            before / 1024,
            variants.medium.width,
            variants.medium.height,
            variants.medium.bytes.len() / 1024,
            variants.small.width,
            variants.small.height,
            variants.small.bytes.len() / 1024,
        ),
        Err(error) => println!("{format:?} ({} KB): refused: {error}", bytes.len() / 1024),
    }
}
