//! Variant quality: PSNR of a resized variant against a high-quality reference downscale of the
//! original (Lanczos3 on 32-bit float pixels with premultiplied alpha, to the variant's own size),
//! so ours and vipsthumbnail's are judged by the same yardstick even when their sizes differ by a
//! pixel of rounding.

use image::imageops::FilterType;
use image::{DynamicImage, Rgba32FImage};

/// Premultiplied RGBA on the 0–1 scale (what `imageops` keeps float pixels to): colour under
/// full transparency does not count.
fn premultiplied(image: &DynamicImage) -> Rgba32FImage {
    let mut pixels = image.to_rgba32f();
    for pixel in pixels.pixels_mut() {
        let alpha = pixel.0[3];
        for channel in &mut pixel.0[..3] {
            *channel *= alpha;
        }
    }
    pixels
}

/// The reference a variant is judged against: `original` downscaled to `width`×`height`.
pub struct Reference {
    original: Rgba32FImage,
}

impl Reference {
    /// Decodes the original once.
    pub fn new(original: &[u8]) -> Result<Self, String> {
        let image = image::load_from_memory(original).map_err(|e| format!("original: {e}"))?;
        Ok(Reference {
            original: premultiplied(&image),
        })
    }

    /// PSNR (dB) of the encoded `variant` against the reference at the variant's size; `None`
    /// when the variant was not downscaled (same size as the original: nothing to judge).
    pub fn psnr(&self, variant: &[u8]) -> Result<Option<f64>, String> {
        let image = image::load_from_memory(variant).map_err(|e| format!("variant: {e}"))?;
        let (width, height) = (image.width(), image.height());
        if (width, height) == self.original.dimensions() {
            return Ok(None);
        }
        let reference = image::imageops::resize(&self.original, width, height, FilterType::Lanczos3);
        let candidate = premultiplied(&image);
        let mut squared = 0.0f64;
        for (a, b) in reference.pixels().zip(candidate.pixels()) {
            for (x, y) in a.0.iter().zip(b.0.iter()) {
                let d = f64::from(x - y) * 255.0;
                squared += d * d;
            }
        }
        let mse = squared / (f64::from(width) * f64::from(height) * 4.0);
        Ok(Some(if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0f64 * 255.0 / mse).log10()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use customer_api::logos::ImageFormat;
    use customer_api::logos::resize::samples::encoded;
    use customer_api::logos::resize::{VariantBoxes, resize};

    #[test]
    fn a_good_downscale_scores_well_and_a_crude_one_worse() {
        let original = encoded(ImageFormat::Png, 600, 400);
        let reference = Reference::new(&original).expect("reference");
        let ours = resize(&original, &VariantBoxes::default()).expect("resize");
        let good = reference.psnr(&ours.small.bytes).expect("psnr").expect("resized");
        let crude = image::load_from_memory(&original).expect("decode").resize_exact(
            ours.small.width,
            ours.small.height,
            FilterType::Nearest,
        );
        let mut bytes = std::io::Cursor::new(Vec::new());
        crude
            .write_to(&mut bytes, image::ImageFormat::Png)
            .expect("encode");
        let bad = reference
            .psnr(&bytes.into_inner())
            .expect("psnr")
            .expect("resized");
        assert!(good > 30.0, "{good}");
        assert!(good > bad + 3.0, "good {good} vs nearest {bad}");
        assert_eq!(reference.psnr(&original).expect("psnr"), None);
    }
}
