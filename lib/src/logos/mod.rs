//! Customer logos: upload checks, safe names, the key layout, and storing or removing a logo
//! with its variants. The resizer (`resizer`) writes the variants from S3 events.
//!
//! Key layout (one bucket):
//!
//! | object | key | public URL |
//! | --- | --- | --- |
//! | original | `originals/<folder>/photoCustomer/<millis>_<name>` | `<base>/<folder>/photoCustomer/<millis>_<name>` |
//! | variant | `variants/<folder>/photoCustomer/small_<millis>_<name>` (and `medium_`) | `<base>/<folder>/photoCustomer/small_<millis>_<name>` |
//!
//! The S3 notification only covers `originals/`, and the resizer only writes under `variants/`:
//! it can never trigger itself. The public URLs keep the reference's shape ("add prefix small_
//! or medium_ to the link url before the image's name"); the CDN maps `small_`/`medium_` names
//! to `variants/` and the rest to `originals/` (locally, `local-api` does the same).

pub mod objects;
pub mod resize;
pub mod resizer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use objects::{ObjectStore, S3ObjectStore};

use crate::error::ApiError;
use crate::form::FilePart;
use crate::model::{Organization, StoreError};

/// The largest accepted logo: 2 MB ("image size should not exceed 2Mo").
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Prefix of originals in the bucket.
pub const ORIGINALS: &str = "originals/";
/// Prefix of variants in the bucket.
pub const VARIANTS: &str = "variants/";
/// The variant name prefixes.
pub const VARIANT_PREFIXES: [&str; 2] = ["small_", "medium_"];
const FOLDER: &str = "photoCustomer";
const MAX_NAME_CHARS: usize = 100;
/// How many keys a logo upload tries before giving up (each taken one means another upload of
/// the same name in the same millisecond).
const KEY_ATTEMPTS: usize = 16;

/// An accepted image format, recognised from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 P N G \r \n 1A \n`).
    Png,
    /// GIF (`GIF87a` / `GIF89a`).
    Gif,
    /// BMP (`BM`).
    Bmp,
}

impl ImageFormat {
    /// The format whose magic number `bytes` start with.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageFormat::Png)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageFormat::Gif)
        } else if bytes.len() >= 26 && bytes.starts_with(b"BM") {
            Some(ImageFormat::Bmp)
        } else {
            None
        }
    }

    /// The `image` crate's format.
    pub fn codec(self) -> image::ImageFormat {
        match self {
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Gif => image::ImageFormat::Gif,
            ImageFormat::Bmp => image::ImageFormat::Bmp,
        }
    }

    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Bmp => "image/bmp",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            ImageFormat::Jpeg => &["jpg", "jpeg"],
            ImageFormat::Png => &["png"],
            ImageFormat::Gif => &["gif"],
            ImageFormat::Bmp => &["bmp"],
        }
    }
}

/// A checked upload: the bytes are an accepted image within the limits.
#[derive(Debug, Clone)]
pub struct Upload {
    /// A safe, readable file name with the format's extension.
    pub name: String,
    /// The format.
    pub format: ImageFormat,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Upload {
    /// Checks an `imageFile` part: at most 2 MB, a jpg/gif/png/bmp by its magic number, a
    /// header within the pixel limits (a decompression bomb is refused without decoding it),
    /// and pixels the resizer can decode whole (a truncated file is refused).
    pub fn check(part: &FilePart) -> Result<Self, ApiError> {
        if part.bytes.len() > MAX_BYTES {
            return Err(ApiError::ExceededFileSize);
        }
        let format = ImageFormat::sniff(&part.bytes).ok_or(ApiError::UnsupportedFileType)?;
        resize::verify(&part.bytes, format).map_err(|_| ApiError::UnsupportedFileType)?;
        Ok(Upload {
            name: safe_file_name(&part.file_name, format),
            format,
            bytes: part.bytes.clone(),
        })
    }
}

/// A readable, URL- and key-safe file name: transliterated to ASCII, runs of anything but
/// letters, digits, `-` and `.` turned into `_`, no `..`, no path, the format's extension.
pub fn safe_file_name(original: &str, format: ImageFormat) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or("");
    let ascii = deunicode::deunicode(base);
    let mut name = String::new();
    for c in ascii.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            c
        } else {
            '_'
        };
        match (name.chars().last(), c) {
            (Some('_' | '.'), '_') => {}
            (Some('_'), '.') => {
                name.pop();
                name.push('.');
            }
            (Some('.'), '.') => {}
            _ => name.push(c),
        }
    }
    let name = name.trim_matches(['_', '.', '-']);
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if format.extensions().contains(&ext.to_ascii_lowercase().as_str()) => {
            (stem.to_owned(), ext.to_ascii_lowercase())
        }
        _ => (name.to_owned(), format.extensions()[0].to_owned()),
    };
    let mut stem: String = stem
        .trim_matches(['_', '.', '-'])
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    if stem.is_empty() {
        stem = "logo".into();
    }
    format!("{stem}.{extension}")
}

/// The organization's folder: its identifier made safe, plus a short stable hash so that two
/// organizations never share a folder.
pub fn organization_folder(org: &Organization) -> String {
    let safe: String = org
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = org.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{safe}-{:08x}", hash >> 32)
}

/// Where one logo lives: its public path `<folder>/photoCustomer/<millis>_<name>`, stored in the
/// customer record as that text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct LogoPath(String);

impl LogoPath {
    /// The path stored in the customer record.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored path, if it has the layout's shape.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts = path.split('/');
        let (folder, photos, name) = (parts.next()?, parts.next()?, parts.next()?);
        let valid = parts.next().is_none()
            && !folder.is_empty()
            && !folder.starts_with('.')
            && photos == FOLDER
            && name
                .split_once('_')
                .is_some_and(|(millis, _)| !millis.is_empty() && millis.bytes().all(|b| b.is_ascii_digit()));
        valid.then(|| LogoPath(path.to_owned()))
    }

    /// The original's object key.
    pub fn original_key(&self) -> String {
        format!("{ORIGINALS}{}", self.0)
    }

    /// The variants' object keys.
    pub fn variant_keys(&self) -> Vec<String> {
        let (dir, name) = self.0.rsplit_once('/').unwrap_or(("", &self.0));
        VARIANT_PREFIXES
            .iter()
            .map(|prefix| format!("{VARIANTS}{dir}/{prefix}{name}"))
            .collect()
    }

    /// The public URL under `base`.
    pub fn url(&self, base: &str) -> String {
        format!("{}/{}", base.trim_end_matches('/'), self.0)
    }
}

/// Storing and removing customers' logos.
pub struct Logos {
    objects: Arc<dyn ObjectStore>,
    base_url: String,
    last_millis: AtomicU64,
}

impl Logos {
    /// Logos in `objects`, served under `base_url`.
    pub fn new(objects: Arc<dyn ObjectStore>, base_url: impl Into<String>) -> Self {
        Logos {
            objects,
            base_url: base_url.into(),
            last_millis: AtomicU64::new(0),
        }
    }

    /// No logo storage configured: uploads fail as a server fault (functions that store logos
    /// require `LOGO_BUCKET`, so this only serves functions that never touch logos).
    pub fn unavailable() -> Self {
        Self::new(Arc::new(objects::Unavailable), "")
    }

    /// The public URL of a stored logo.
    pub fn url(&self, path: &LogoPath) -> String {
        path.url(&self.base_url)
    }

    /// Milliseconds since the epoch, strictly increasing within this process.
    fn unique_millis(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut last = self.last_millis.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self
                .last_millis
                .compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Stores an upload as the organization's new original and returns its path. Function
    /// instances share the bucket, so the key is taken with a conditional write: when another
    /// instance took it in the same millisecond, a later millisecond is tried.
    pub async fn store(&self, org: &Organization, upload: &Upload) -> Result<LogoPath, StoreError> {
        for _ in 0..KEY_ATTEMPTS {
            let path = LogoPath(format!(
                "{}/{FOLDER}/{}_{}",
                organization_folder(org),
                self.unique_millis(),
                upload.name
            ));
            let created = self
                .objects
                .create(
                    &path.original_key(),
                    upload.bytes.clone(),
                    upload.format.content_type(),
                )
                .await?;
            if created {
                return Ok(path);
            }
            // Another instance took this millisecond. Its counter may be walking the same
            // milliseconds as ours (both uploading this name at once): jump a random distance
            // ahead, so that the two stop meeting on the same keys.
            let jump = crate::retry::random_below(32) + 1;
            self.last_millis.fetch_add(jump, Ordering::Relaxed);
        }
        Err(StoreError::Backend("no free logo key".into()))
    }

    /// Removes a logo's original and variants; failures are logged, never returned (the
    /// record no longer points at them).
    pub async fn remove(&self, path: &LogoPath) {
        let mut keys = path.variant_keys();
        keys.push(path.original_key());
        if let Err(error) = self.objects.delete(&keys).await {
            tracing::warn!(%error, path = path.as_str(), "could not remove a replaced logo");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_decide_the_format() {
        assert_eq!(
            ImageFormat::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageFormat::Png)
        );
        assert_eq!(ImageFormat::sniff(b"GIF89a..."), Some(ImageFormat::Gif));
        assert_eq!(
            ImageFormat::sniff(&[
                b'B', b'M', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]),
            Some(ImageFormat::Bmp)
        );
        assert_eq!(ImageFormat::sniff(b"<svg>"), None);
        assert_eq!(ImageFormat::sniff(b"BM"), None);
    }

    #[test]
    fn file_names_are_safe_and_readable() {
        let png = ImageFormat::Png;
        assert_eq!(
            safe_file_name("logo_color_272x92dp.png", png),
            "logo_color_272x92dp.png"
        );
        assert_eq!(safe_file_name("Logo Café été.PNG", png), "Logo_Cafe_ete.png");
        assert_eq!(safe_file_name("../../etc/passwd", png), "passwd.png");
        assert_eq!(safe_file_name("C:\\Users\\me\\my logo.png", png), "my_logo.png");
        assert_eq!(safe_file_name("a..b...png", png), "a.b.png");
        assert_eq!(safe_file_name("..", png), "logo.png");
        assert_eq!(safe_file_name("", png), "logo.png");
        assert_eq!(safe_file_name("北京.png", png), "Bei_Jing.png");
        assert_eq!(safe_file_name("photo.jpeg", ImageFormat::Jpeg), "photo.jpeg");
        assert_eq!(safe_file_name("photo.png", ImageFormat::Jpeg), "photo.png.jpg");
        assert!(safe_file_name(&"x".repeat(500), png).len() <= MAX_NAME_CHARS + 4);
    }

    #[test]
    fn key_layout() {
        let path = LogoPath::parse("entity1-1a2b3c4d/photoCustomer/1471338230737_logo.png").expect("valid");
        assert_eq!(
            path.original_key(),
            "originals/entity1-1a2b3c4d/photoCustomer/1471338230737_logo.png"
        );
        assert_eq!(
            path.variant_keys(),
            [
                "variants/entity1-1a2b3c4d/photoCustomer/small_1471338230737_logo.png",
                "variants/entity1-1a2b3c4d/photoCustomer/medium_1471338230737_logo.png"
            ]
        );
        assert_eq!(
            path.url("https://cdn.example.com/"),
            "https://cdn.example.com/entity1-1a2b3c4d/photoCustomer/1471338230737_logo.png"
        );
        assert!(LogoPath::parse("x/photoCustomer/small_1.png").is_none());
        assert!(LogoPath::parse("x/other/1_a.png").is_none());
        assert!(LogoPath::parse("../photoCustomer/1_a.png").is_none());
    }

    #[test]
    fn organization_folders_are_safe_and_distinct() {
        let folder = |org: &str| organization_folder(&Organization::parse(org).expect("org"));
        assert!(folder("entity1").starts_with("entity1-"));
        assert_ne!(folder("a/b"), folder("a_b"));
        assert!(!folder("a/b").contains('/'));
        assert_eq!(folder("entity1"), folder("entity1"));
    }
}
