//! Resizing a logo into its `small_` and `medium_` variants: a pure function of bytes.
//!
//! Decode once (JPEG at the smallest DCT scale that still covers the medium box), resize with
//! SIMD Lanczos3 (alpha premultiplied in place), derive `small` from `medium` when medium is at
//! least twice as large, turn the result upright as the image's EXIF orientation says (phone
//! photos are stored sideways and tagged), and encode in the original's format (JPEG with 4:2:0
//! chroma, GIF through a median-cut + k-means palette). Never upscales: a variant that would not
//! shrink is the original's bytes (which keep their EXIF tag, so viewers turn them).

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{ExtendedColorType, ImageDecoder, ImageEncoder, ImageReader};

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

    /// `fit` for an image stored `width`×`height` and shown turned by `orientation`: the box
    /// bounds the image as shown; the size returned is as stored.
    fn fit_turned(self, (width, height): (u32, u32), orientation: Orientation) -> (u32, u32) {
        if turns(orientation) {
            let (shown_width, shown_height) = self.fit(height, width);
            (shown_height, shown_width)
        } else {
            self.fit(width, height)
        }
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
    header(bytes, format).map(|(width, height, _)| (width, height))
}

/// The stored dimensions, checked against the limits, and the EXIF orientation (JPEG and PNG
/// carry one; an unreadable tag counts as none), from the header alone.
fn header(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32, Orientation), ResizeError> {
    let corrupt = |e: image::ImageError| ResizeError::Corrupt(e.to_string());
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format.codec())
        .into_decoder()
        .map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ResizeError::Corrupt("empty image".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ResizeError::TooLarge { width, height });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok((width, height, orientation))
}

/// Whether `orientation` swaps width and height.
fn turns(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Checks that the resizer can read `bytes` whole: the header within the limits, then every
/// pixel decoded (JPEG at the DCT scale the default medium variant reads), so a truncated or
/// corrupt upload is refused before it is stored rather than left without variants.
pub fn verify(bytes: &[u8], format: ImageFormat) -> Result<(), ResizeError> {
    let (width, height, orientation) = header(bytes, format)?;
    let at_least = VariantBoxes::default()
        .medium
        .fit_turned((width, height), orientation);
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
    let (width, height, orientation) = header(bytes, format)?;
    // Sizes as stored (what is decoded and resized); the boxes apply to the image as shown.
    let medium_size = boxes.medium.fit_turned((width, height), orientation);
    let small_size = boxes.small.fit_turned((width, height), orientation);
    let unchanged = |(width, height): (u32, u32)| {
        let (width, height) = if turns(orientation) {
            (height, width)
        } else {
            (width, height)
        };
        Variant {
            bytes: bytes.to_vec(),
            width,
            height,
        }
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
        let pixels = orient(
            Pixels {
                width: size.0,
                height: size.1,
                kind: source.kind,
                data: image.into_vec(),
            },
            orientation,
        );
        Ok(Variant {
            bytes: encode(&pixels, format)?,
            width: pixels.width,
            height: pixels.height,
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

/// `pixels` turned upright as `orientation` says (the EXIF meanings: flips, quarter turns and
/// their combinations).
fn orient(pixels: Pixels, orientation: Orientation) -> Pixels {
    if orientation == Orientation::NoTransforms {
        return pixels;
    }
    let size = pixels.kind.size();
    let (w, h) = (pixels.width as usize, pixels.height as usize);
    let (width, height) = if turns(orientation) { (h, w) } else { (w, h) };
    let mut data = Vec::with_capacity(pixels.data.len());
    for y in 0..height {
        for x in 0..width {
            let (from_x, from_y) = match orientation {
                Orientation::NoTransforms => (x, y),
                Orientation::FlipHorizontal => (w - 1 - x, y),
                Orientation::Rotate180 => (w - 1 - x, h - 1 - y),
                Orientation::FlipVertical => (x, h - 1 - y),
                Orientation::Rotate90 => (y, h - 1 - x),
                Orientation::Rotate270 => (w - 1 - y, x),
                Orientation::Rotate90FlipH => (y, x),
                Orientation::Rotate270FlipH => (w - 1 - y, h - 1 - x),
            };
            let at = (from_y * w + from_x) * size;
            if let Some(pixel) = pixels.data.get(at..at + size) {
                data.extend_from_slice(pixel);
            }
        }
    }
    Pixels {
        width: width as u32,
        height: height as u32,
        kind: pixels.kind,
        data,
    }
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
        ImageFormat::Gif => out = encode_gif(pixels).map_err(|e| failed(&e))?,
        ImageFormat::Bmp => {
            image::codecs::bmp::BmpEncoder::new(&mut out)
                .write_image(&pixels.data, w, h, pixels.color_type())
                .map_err(|e| failed(&e))?;
        }
    }
    Ok(out)
}

/// A GIF of `pixels`: alpha cut at half (GIF has one transparent index), colours reduced to a
/// palette by `quantizr` (median cut refined by k-means, Floyd–Steinberg dithering, as
/// libimagequant in vipsthumbnail), one frame.
fn encode_gif(pixels: &Pixels) -> Result<Vec<u8>, String> {
    let rgba: Vec<u8> = match pixels.kind {
        PixelType::U8x4 => pixels
            .data
            .chunks_exact(4)
            .flat_map(|p| {
                if p[3] < 128 {
                    [0; 4]
                } else {
                    [p[0], p[1], p[2], 255]
                }
            })
            .collect(),
        PixelType::U8x3 => pixels
            .data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        PixelType::U8x2 => pixels
            .data
            .chunks_exact(2)
            .flat_map(|p| {
                if p[1] < 128 {
                    [0; 4]
                } else {
                    [p[0], p[0], p[0], 255]
                }
            })
            .collect(),
        _ => pixels.data.iter().flat_map(|l| [*l, *l, *l, 255]).collect(),
    };
    let (width, height) = (pixels.width as usize, pixels.height as usize);
    let image = quantizr::Image::new(&rgba, width, height).map_err(|e| format!("{e:?}"))?;
    let mut result = quantizr::QuantizeResult::quantize(&image, &quantizr::Options::default());
    result.set_dithering_level(1.0).map_err(|e| format!("{e:?}"))?;
    let mut indexes = vec![0u8; width * height];
    result
        .remap_image(&image, &mut indexes)
        .map_err(|e| format!("{e:?}"))?;
    let used = result.get_palette();
    let entries = used.entries.iter().take(used.count as usize);
    let palette: Vec<u8> = entries.clone().flat_map(|c| [c.r, c.g, c.b]).collect();
    let transparent = entries.clone().position(|c| c.a < 128);
    let side = |n: u32| u16::try_from(n).map_err(|e| e.to_string());
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, side(pixels.width)?, side(pixels.height)?, &palette)
            .map_err(|e| e.to_string())?;
        let frame = gif::Frame {
            width: side(pixels.width)?,
            height: side(pixels.height)?,
            buffer: std::borrow::Cow::Owned(indexes),
            transparent: transparent.and_then(|i| u8::try_from(i).ok()),
            ..gif::Frame::default()
        };
        encoder.write_frame(&frame).map_err(|e| e.to_string())?;
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

    /// `picture` as a JPEG (opaque) or PNG (with alpha) whose EXIF orientation tag is
    /// `orientation` (1–8).
    pub fn with_orientation(format: ImageFormat, width: u32, height: u32, orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0; 6]);
        let rgba = picture(width, height, format == ImageFormat::Png);
        let mut out = Vec::new();
        if format == ImageFormat::Jpeg {
            let rgb = image::DynamicImage::ImageRgba8(rgba).into_rgb8();
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
            encoder
                .add_app_segment(1, [b"Exif\0\0".as_slice(), &tiff].concat())
                .expect("exif segment");
            let side = |n: u32| u16::try_from(n).expect("small sample");
            encoder
                .encode(
                    rgb.as_raw(),
                    side(width),
                    side(height),
                    jpeg_encoder::ColorType::Rgb,
                )
                .expect("encode sample");
        } else {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("png header");
            writer.write_chunk(png::chunk::eXIf, &tiff).expect("exif chunk");
            writer.write_image_data(rgba.as_raw()).expect("png data");
            drop(writer);
        }
        out
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
    fn orientations_turn_pixels_as_the_image_crate_does() {
        let rgb = image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8, y as u8, 7]));
        for tag in 1..=8 {
            let orientation = Orientation::from_exif(tag).expect("an orientation");
            let mut expected = image::DynamicImage::ImageRgb8(rgb.clone());
            expected.apply_orientation(orientation);
            let turned = orient(
                Pixels {
                    width: 3,
                    height: 2,
                    kind: PixelType::U8x3,
                    data: rgb.as_raw().clone(),
                },
                orientation,
            );
            assert_eq!(
                (turned.width, turned.height, &turned.data),
                (
                    expected.width(),
                    expected.height(),
                    expected.as_bytes().to_vec().as_ref()
                ),
                "orientation {tag}"
            );
        }
    }

    #[test]
    fn variants_are_turned_upright_as_the_exif_orientation_says() {
        for format in [ImageFormat::Jpeg, ImageFormat::Png] {
            let sideways = with_orientation(format, 1000, 600, 6);
            verify(&sideways, format).expect("readable");
            let variants = resize(&sideways, &VariantBoxes::default()).expect("resized");
            for (variant, size) in [(&variants.medium, (307, 512)), (&variants.small, (77, 128))] {
                assert_eq!((variant.width, variant.height), size, "{format:?}");
                let shown = image::load_from_memory(&variant.bytes)
                    .expect("decodes")
                    .into_rgba8();
                assert_eq!(
                    shown.dimensions(),
                    size,
                    "{format:?}: no tag left to turn it again"
                );
                // Red grows left to right in the stored picture: turned a quarter clockwise,
                // it grows top to bottom.
                let (middle, bottom) = (size.0 / 2, size.1 - 3);
                let (top, low) = (shown.get_pixel(middle, 2)[0], shown.get_pixel(middle, bottom)[0]);
                assert!(
                    top < 40 && low > 215,
                    "{format:?}: red {top} at the top, {low} at the bottom"
                );
            }
            let upside_down = with_orientation(format, 1000, 600, 3);
            let variants = resize(&upside_down, &VariantBoxes::default()).expect("resized");
            let shown = image::load_from_memory(&variants.small.bytes)
                .expect("decodes")
                .into_rgba8();
            assert_eq!(shown.dimensions(), (128, 77));
            let (left, right) = (shown.get_pixel(2, 38)[0], shown.get_pixel(125, 38)[0]);
            assert!(
                left > 215 && right < 40,
                "{format:?}: red {left} left, {right} right"
            );
        }
        let small_turned = with_orientation(ImageFormat::Jpeg, 300, 200, 8);
        let variants = resize(&small_turned, &VariantBoxes::default()).expect("resized");
        assert_eq!(
            variants.medium.bytes, small_turned,
            "fits: the original, tag and all"
        );
        assert_eq!((variants.medium.width, variants.medium.height), (200, 300));
        assert_eq!((variants.small.width, variants.small.height), (85, 128));
    }

    #[test]
    fn gif_variants_keep_the_colours_and_the_transparency() {
        // The same pixels as a GIF and as a PNG: the variants differ by the palette alone.
        let gif = Cursor::new(encoded(ImageFormat::Gif, 1000, 600));
        let mut png = Cursor::new(Vec::new());
        image::load_from_memory(gif.get_ref())
            .expect("decodes")
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("png");
        let boxes = VariantBoxes::default();
        let (from_gif, from_png) = (
            resize(gif.get_ref(), &boxes).expect("resized"),
            resize(png.get_ref(), &boxes).expect("resized"),
        );
        let decode = |bytes: &[u8]| image::load_from_memory(bytes).expect("decodes").into_rgb8();
        let (paletted, full) = (decode(&from_gif.medium.bytes), decode(&from_png.medium.bytes));
        let squared: f64 = paletted
            .as_raw()
            .iter()
            .zip(full.as_raw())
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum();
        let psnr = 10.0 * (255.0f64.powi(2) * full.as_raw().len() as f64 / squared).log10();
        // NeuQuant (the `image` crate's GIF encoder) scored 35.6 dB here.
        assert!(psnr > 40.0, "the palette costs {psnr:.1} dB");

        let mut cut = picture(600, 600, true);
        for pixel in cut.pixels_mut() {
            pixel[3] = if pixel[3] < 128 { 0 } else { 255 };
        }
        let mut gif = Cursor::new(Vec::new());
        cut.write_to(&mut gif, image::ImageFormat::Gif).expect("gif");
        let variants = resize(gif.get_ref(), &boxes).expect("resized");
        let small = image::load_from_memory(&variants.small.bytes)
            .expect("decodes")
            .into_rgba8();
        assert_eq!(
            small.get_pixel(3, 64)[3],
            0,
            "the transparent left edge stays transparent"
        );
        assert_eq!(small.get_pixel(64, 64)[3], 255, "the disc stays opaque");
        assert_eq!(
            small.get_pixel(124, 64)[3],
            255,
            "the opaque right edge stays opaque"
        );
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
