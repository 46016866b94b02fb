//! Resizing a logo into its `small_` and `medium_` variants: a pure function of bytes.
//!
//! Decode once (JPEG at the smallest DCT scale that still covers the medium box), resize with
//! SIMD Lanczos3 (alpha premultiplied in place), derive `small` from `medium` when medium is at
//! least twice as large, and encode in the original's format (JPEG with 4:2:0 chroma).
//! Never upscales: a variant that would not shrink is the original's bytes.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{ExtendedColorType, ImageEncoder, ImageReader};

use super::ImageFormat;

/// Largest accepted width or height, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Largest accepted pixel count (32 MP: decoded RGBA at most 128 MB).
pub const MAX_PIXELS: u64 = 32_000_000;
/// JPEG quality of the variants, with ImageMagick's quantisation tables: measured against libjpeg's
/// standard tables at quality 80 (what vipsthumbnail writes), 6% smaller and 0.3 dB closer to a
/// reference downscale.
const JPEG_QUALITY: u8 = 78;

/// A bounding box (width × height) a variant must fit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundingBox {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl BoundingBox {
    /// Parses `WIDTHxHEIGHT` (or a single number for a square).
    pub fn parse(text: &str) -> Option<Self> {
        let (w, h) = text.split_once(['x', 'X']).unwrap_or((text, text));
        let (width, height) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
        (width > 0 && height > 0 && width <= 4096 && height <= 4096).then_some(BoundingBox { width, height })
    }

    /// The size of a `width`×`height` image scaled to fit, aspect ratio kept, never upscaled.
    pub fn fit(self, width: u32, height: u32) -> (u32, u32) {
        if width <= self.width && height <= self.height {
            return (width, height);
        }
        let scale = f64::min(
            f64::from(self.width) / f64::from(width),
            f64::from(self.height) / f64::from(height),
        );
        let scaled = |side: u32| ((f64::from(side) * scale).round() as u32).max(1);
        (scaled(width), scaled(height))
    }
}

/// The variant bounding boxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariantBoxes {
    /// `small_`, 128×128 by default.
    pub small: BoundingBox,
    /// `medium_`, 512×512 by default.
    pub medium: BoundingBox,
}

impl Default for VariantBoxes {
    fn default() -> Self {
        VariantBoxes {
            small: BoundingBox {
                width: 128,
                height: 128,
            },
            medium: BoundingBox {
                width: 512,
                height: 512,
            },
        }
    }
}

/// One encoded variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Encoded bytes, in the original's format.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Both variants of a logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variants {
    /// The original's format, shared by the variants.
    pub format: ImageFormat,
    /// `small_`.
    pub small: Variant,
    /// `medium_`.
    pub medium: Variant,
}

/// Why an image cannot be resized. None of these is worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResizeError {
    /// Not a JPEG, PNG, GIF or BMP.
    #[error("not a jpg, png, gif or bmp image")]
    Unsupported,
    /// The header declares more pixels than allowed (a decompression bomb).
    #[error("image declares {width}x{height} pixels, over the limit")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// The image is corrupt or truncated.
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

/// The dimensions an image's header declares, checked against the limits, without decoding.
pub fn checked_dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), ResizeError> {
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format.codec())
        .into_dimensions()
        .map_err(|e| ResizeError::Corrupt(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(ResizeError::Corrupt("empty image".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ResizeError::TooLarge { width, height });
    }
    Ok((width, height))
}

/// Checks that the resizer can read `bytes` whole: the header within the limits, then every
/// pixel decoded (JPEG at the DCT scale the default medium variant reads), so a truncated or
/// corrupt upload is refused before it is stored rather than left without variants.
pub fn verify(bytes: &[u8], format: ImageFormat) -> Result<(), ResizeError> {
    let (width, height) = checked_dimensions(bytes, format)?;
    let at_least = VariantBoxes::default().medium.fit(width, height);
    decode(bytes, format, at_least).map(drop)
}

/// Decoded pixels, 8 bits per channel.
struct Pixels {
    width: u32,
    height: u32,
    kind: PixelType,
    data: Vec<u8>,
}

impl Pixels {
    fn has_alpha(&self) -> bool {
        matches!(self.kind, PixelType::U8x4 | PixelType::U8x2)
    }

    fn color_type(&self) -> ExtendedColorType {
        match self.kind {
            PixelType::U8 => ExtendedColorType::L8,
            PixelType::U8x2 => ExtendedColorType::La8,
            PixelType::U8x3 => ExtendedColorType::Rgb8,
            _ => ExtendedColorType::Rgba8,
        }
    }
}

/// Resizes `bytes` into both variants.
pub fn resize(bytes: &[u8], boxes: &VariantBoxes) -> Result<Variants, ResizeError> {
    let format = ImageFormat::sniff(bytes).ok_or(ResizeError::Unsupported)?;
    let (width, height) = checked_dimensions(bytes, format)?;
    let medium_size = boxes.medium.fit(width, height);
    let small_size = boxes.small.fit(width, height);
    let unchanged = |size: (u32, u32)| Variant {
        bytes: bytes.to_vec(),
        width: size.0,
        height: size.1,
    };
    if medium_size == (width, height) && small_size == (width, height) {
        return Ok(Variants {
            format,
            small: unchanged(small_size),
            medium: unchanged(medium_size),
        });
    }

    let mut source = decode(bytes, format, medium_size)?;
    let premultiplied = source.has_alpha();
    let mul_div = MulDiv::default();
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(false);
    let corrupt = |e: &dyn std::fmt::Display| ResizeError::Corrupt(e.to_string());

    let mut source_image = Image::from_vec_u8(
        source.width,
        source.height,
        std::mem::take(&mut source.data),
        source.kind,
    )
    .map_err(|e| corrupt(&e))?;
    if premultiplied {
        mul_div
            .multiply_alpha_inplace(&mut source_image)
            .map_err(|e| corrupt(&e))?;
    }
    let resize_to =
        |from: &Image, size: (u32, u32), resizer: &mut Resizer| -> Result<Image<'static>, ResizeError> {
            let mut target = Image::new(size.0, size.1, source.kind);
            resizer
                .resize(from, &mut target, &options)
                .map_err(|e| corrupt(&e))?;
            Ok(target)
        };
    let medium_image = (medium_size != (source.width, source.height))
        .then(|| resize_to(&source_image, medium_size, &mut resizer))
        .transpose()?;
    let medium_ref = medium_image.as_ref().unwrap_or(&source_image);
    let from_medium = medium_size.0 >= 2 * small_size.0 && medium_size.1 >= 2 * small_size.1;
    let small_image = resize_to(
        if from_medium { medium_ref } else { &source_image },
        small_size,
        &mut resizer,
    )?;

    let encode = |image: Image, size: (u32, u32)| -> Result<Variant, ResizeError> {
        let mut image = image;
        if premultiplied {
            mul_div
                .divide_alpha_inplace(&mut image)
                .map_err(|e| corrupt(&e))?;
        }
        let pixels = Pixels {
            width: size.0,
            height: size.1,
            kind: source.kind,
            data: image.into_vec(),
        };
        Ok(Variant {
            bytes: encode(&pixels, format)?,
            width: size.0,
            height: size.1,
        })
    };
    let medium = if medium_size == (width, height) {
        unchanged(medium_size)
    } else {
        encode(medium_image.unwrap_or(source_image), medium_size)?
    };
    let small = encode(small_image, small_size)?;
    Ok(Variants {
        format,
        small,
        medium,
    })
}

/// Decodes once; JPEG at the smallest DCT scale covering `at_least`.
fn decode(bytes: &[u8], format: ImageFormat, at_least: (u32, u32)) -> Result<Pixels, ResizeError> {
    if format == ImageFormat::Jpeg {
        return decode_jpeg(bytes, at_least);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.codec());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (1 << 20));
    reader.limits(limits);
    let image = reader.decode().map_err(|e| ResizeError::Corrupt(e.to_string()))?;
    let (width, height) = (image.width(), image.height());
    let (kind, data) = match image {
        image::DynamicImage::ImageLuma8(gray) => (PixelType::U8, gray.into_raw()),
        image::DynamicImage::ImageRgb8(rgb) => (PixelType::U8x3, rgb.into_raw()),
        other if other.color().has_alpha() => (PixelType::U8x4, other.into_rgba8().into_raw()),
        other => (PixelType::U8x3, other.into_rgb8().into_raw()),
    };
    Ok(Pixels {
        width,
        height,
        kind,
        data,
    })
}

fn decode_jpeg(bytes: &[u8], at_least: (u32, u32)) -> Result<Pixels, ResizeError> {
    let corrupt = |e: jpeg_decoder::Error| ResizeError::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    let want = |side: u32| u16::try_from(side).unwrap_or(u16::MAX);
    let (width, height) = decoder
        .scale(want(at_least.0), want(at_least.1))
        .map_err(corrupt)?;
    let data = decoder.decode().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| ResizeError::Corrupt("no JPEG header".into()))?;
    let (width, height) = (u32::from(width), u32::from(height));
    let pixels = usize::try_from(u64::from(width) * u64::from(height)).unwrap_or(usize::MAX);
    let (kind, data) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (PixelType::U8, data),
        jpeg_decoder::PixelFormat::RGB24 => (PixelType::U8x3, data),
        jpeg_decoder::PixelFormat::CMYK32 => (PixelType::U8x3, cmyk_to_rgb(&data)),
        jpeg_decoder::PixelFormat::L16 => (PixelType::U8, data.chunks_exact(2).map(|p| p[0]).collect()),
    };
    if data.len() < pixels * kind.size() {
        return Err(ResizeError::Corrupt("truncated JPEG".into()));
    }
    Ok(Pixels {
        width,
        height,
        kind,
        data,
    })
}

/// CMYK as decoded (Adobe's inverted convention) to RGB.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u16::from(p[3]);
            [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k + 127) / 255) as u8)
        })
        .collect()
}

fn encode(pixels: &Pixels, format: ImageFormat) -> Result<Vec<u8>, ResizeError> {
    let mut out = Vec::new();
    let failed = |e: &dyn std::fmt::Display| ResizeError::Corrupt(format!("encoding failed: {e}"));
    let (w, h) = (pixels.width, pixels.height);
    match format {
        ImageFormat::Jpeg => {
            let color = match pixels.kind {
                PixelType::U8 => jpeg_encoder::ColorType::Luma,
                _ => jpeg_encoder::ColorType::Rgb,
            };
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
            encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
            encoder.set_quantization_tables(
                jpeg_encoder::QuantizationTableType::ImageMagick,
                jpeg_encoder::QuantizationTableType::ImageMagick,
            );
            // Standard Huffman tables: jpeg-encoder writes optimised tables only with one scan per
            // component, which some decoders (zune-jpeg 0.5.15, the `image` crate's) turn green.
            // One interleaved baseline scan is what every decoder reads.
            encoder.set_optimized_huffman_tables(false);
            let (w, h) = (
                u16::try_from(w).map_err(|e| failed(&e))?,
                u16::try_from(h).map_err(|e| failed(&e))?,
            );
            encoder
                .encode(&pixels.data, w, h, color)
                .map_err(|e| failed(&e))?;
        }
        ImageFormat::Png => {
            image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            )
            .write_image(&pixels.data, w, h, pixels.color_type())
            .map_err(|e| failed(&e))?;
        }
        ImageFormat::Gif => {
            let rgba = match pixels.kind {
                PixelType::U8x4 => pixels.data.clone(),
                PixelType::U8x3 => pixels
                    .data
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect(),
                _ => pixels.data.iter().flat_map(|l| [*l, *l, *l, 255]).collect(),
            };
            let buffer = image::RgbaImage::from_raw(w, h, rgba).ok_or_else(|| failed(&"bad buffer"))?;
            let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
            encoder
                .encode_frame(image::Frame::new(buffer))
                .map_err(|e| failed(&e))?;
        }
        ImageFormat::Bmp => {
            image::codecs::bmp::BmpEncoder::new(&mut out)
                .write_image(&pixels.data, w, h, pixels.color_type())
                .map_err(|e| failed(&e))?;
        }
    }
    Ok(out)
}

/// Test images generated in code (no binary fixtures): gradients, shapes and noise.
#[cfg(any(test, feature = "test-images"))]
pub mod samples {
    use super::*;

    /// A `width`×`height` picture with gradients, a disc and noise; `alpha` adds transparency.
    pub fn picture(width: u32, height: u32, alpha: bool) -> image::RgbaImage {
        let mut seed = 0x2545_f491_u32;
        image::RgbaImage::from_fn(width, height, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed % 24) as u8;
            let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
            let inside = (fx - 0.5).powi(2) + (fy - 0.5).powi(2) < 0.09;
            let r = (fx * 255.0) as u8;
            let g = if inside { 220 } else { (fy * 255.0) as u8 };
            let b = 128u8.wrapping_add(noise);
            let a = if alpha && !inside { (fx * 255.0) as u8 } else { 255 };
            image::Rgba([r, g, b, a])
        })
    }

    /// `picture` encoded as `format`.
    pub fn encoded(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let rgba = picture(width, height, format == ImageFormat::Png);
        let mut out = Cursor::new(Vec::new());
        match format {
            ImageFormat::Jpeg | ImageFormat::Bmp => image::DynamicImage::ImageRgba8(rgba)
                .into_rgb8()
                .write_to(&mut out, format.codec()),
            _ => rgba.write_to(&mut out, format.codec()),
        }
        .expect("encode sample");
        out.into_inner()
    }

    /// A PNG whose header declares `width`×`height` pixels but that holds almost no data.
    pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("png header");
        writer
            .write_chunk(png::chunk::IDAT, &[0x78, 0x9c, 0x63, 0x60, 0x18, 0x05])
            .expect("idat");
        drop(writer);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    fn dims(bytes: &[u8]) -> (u32, u32) {
        let format = ImageFormat::sniff(bytes).expect("an image");
        ImageReader::with_format(Cursor::new(bytes), format.codec())
            .into_dimensions()
            .expect("readable")
    }

    #[test]
    fn every_format_keeps_aspect_and_format() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::Bmp,
        ] {
            let original = encoded(format, 1000, 600);
            let variants = resize(&original, &VariantBoxes::default()).expect("resized");
            assert_eq!(variants.format, format);
            assert_eq!(
                (variants.medium.width, variants.medium.height),
                (512, 307),
                "{format:?}"
            );
            assert_eq!(
                (variants.small.width, variants.small.height),
                (128, 77),
                "{format:?}"
            );
            for variant in [&variants.small, &variants.medium] {
                assert_eq!(ImageFormat::sniff(&variant.bytes), Some(format));
                assert_eq!(dims(&variant.bytes), (variant.width, variant.height));
                image::load_from_memory(&variant.bytes).expect("decodes");
            }
        }
    }

    #[test]
    fn never_upscales() {
        let small = encoded(ImageFormat::Png, 100, 50);
        let variants = resize(&small, &VariantBoxes::default()).expect("resized");
        assert_eq!(
            variants.medium.bytes, small,
            "a variant that would not shrink is the original"
        );
        assert_eq!(variants.small.bytes, small);
        let mid = encoded(ImageFormat::Jpeg, 300, 200);
        let variants = resize(&mid, &VariantBoxes::default()).expect("resized");
        assert_eq!((variants.medium.width, variants.medium.height), (300, 200));
        assert_eq!(variants.medium.bytes, mid);
        assert_eq!((variants.small.width, variants.small.height), (128, 85));
    }

    #[test]
    fn alpha_survives() {
        let original = encoded(ImageFormat::Png, 800, 800);
        let variants = resize(&original, &VariantBoxes::default()).expect("resized");
        let medium = image::load_from_memory(&variants.medium.bytes)
            .expect("decodes")
            .into_rgba8();
        assert!(medium.pixels().any(|p| p[3] < 128), "transparent pixels kept");
        assert!(medium.pixels().any(|p| p[3] == 255), "opaque pixels kept");
    }

    #[test]
    fn jpeg_variants_use_four_two_zero_chroma() {
        let variants =
            resize(&encoded(ImageFormat::Jpeg, 2000, 1500), &VariantBoxes::default()).expect("resized");
        let bytes = &variants.medium.bytes;
        let sof = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline SOF0 marker");
        let components = usize::from(bytes[sof + 9]);
        let sampling: Vec<u8> = (0..components).map(|i| bytes[sof + 11 + 3 * i]).collect();
        assert_eq!(sampling, [0x22, 0x11, 0x11], "luma 2x2, chroma 1x1: 4:2:0");
    }

    #[test]
    fn jpeg_variants_are_one_interleaved_scan_with_the_original_colours() {
        let original = encoded(ImageFormat::Jpeg, 1024, 768);
        let variants = resize(&original, &VariantBoxes::default()).expect("resized");
        for variant in [&variants.small, &variants.medium] {
            let bytes = &variant.bytes;
            let scans: Vec<usize> = bytes
                .windows(2)
                .enumerate()
                .filter(|(_, w)| *w == [0xFF, 0xDA])
                .map(|(at, _)| usize::from(bytes[at + 4]))
                .collect();
            assert_eq!(scans, [3], "one scan holding Y, Cb and Cr");
            let source = image::load_from_memory(&original).expect("decodes").into_rgb8();
            let decoded = image::load_from_memory(bytes).expect("decodes").into_rgb8();
            let scale = f64::from(source.width()) / f64::from(decoded.width());
            for (x, y) in [(10, 10), (decoded.width() / 2, decoded.height() / 2), (100, 20)] {
                let at = |v: u32| (f64::from(v) * scale) as u32;
                let (want, got) = (source.get_pixel(at(x), at(y)), decoded.get_pixel(x, y));
                for c in 0..3 {
                    assert!(
                        want[c].abs_diff(got[c]) < 40,
                        "pixel ({x},{y}) of {}px variant: {got:?}, original {want:?}",
                        decoded.width()
                    );
                }
            }
        }
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        assert_eq!(
            resize(&png_bomb(60_000, 60_000), &VariantBoxes::default()),
            Err(ResizeError::TooLarge {
                width: 60_000,
                height: 60_000
            })
        );
        assert_eq!(
            resize(b"not an image at all", &VariantBoxes::default()),
            Err(ResizeError::Unsupported)
        );
        let mut truncated = encoded(ImageFormat::Png, 600, 600);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(
            resize(&truncated, &VariantBoxes::default()),
            Err(ResizeError::Corrupt(_))
        ));
        let mut truncated = encoded(ImageFormat::Jpeg, 600, 600);
        truncated.truncate(400);
        assert!(resize(&truncated, &VariantBoxes::default()).is_err());
    }

    #[test]
    fn bounding_boxes() {
        assert_eq!(
            BoundingBox::parse("128x64"),
            Some(BoundingBox {
                width: 128,
                height: 64
            })
        );
        assert_eq!(
            BoundingBox::parse("200"),
            Some(BoundingBox {
                width: 200,
                height: 200
            })
        );
        assert_eq!(BoundingBox::parse("0x5"), None);
        assert_eq!(BoundingBox::parse("axb"), None);
        let fit = BoundingBox {
            width: 100,
            height: 100,
        };
        assert_eq!(fit.fit(1000, 10), (100, 1));
        assert_eq!(fit.fit(10, 1000), (1, 100));
        assert_eq!(fit.fit(50, 50), (50, 50));
    }
}
