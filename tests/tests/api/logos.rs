//! Logos end to end: uploads through the HTTP layer on both stores (a directory, or S3 on the
//! local S3 API server), and the resizer on S3 events against the local S3 API server.

use std::io::Cursor;
use std::sync::Arc;

use api_tests::{ENTITY1, LOGO_BASE, Reply, TestApi, fresh_bucket, multipart};
use customer_api::logos::objects::ObjectStore;
use customer_api::logos::resize::VariantBoxes;
use customer_api::logos::resize::samples::{encoded, png_bomb, with_orientation};
use customer_api::logos::resizer::{Resizer, object_created_event};
use customer_api::logos::{ImageFormat, MAX_BYTES, S3ObjectStore};
use serde_json::{Value, json};

const CUSTOMERS: &str = "/api/v1.0/customers";
const FORMATS: [(ImageFormat, &str); 4] = [
    (ImageFormat::Jpeg, "photo.jpg"),
    (ImageFormat::Png, "logo.png"),
    (ImageFormat::Gif, "anim.gif"),
    (ImageFormat::Bmp, "icon.bmp"),
];

async fn upload(
    api: &TestApi,
    method: &str,
    path: &str,
    fields: &[(&str, &str)],
    file: (&str, &[u8]),
) -> Reply {
    let (body, content_type) = multipart(fields, &[("imageFile", file.0, file.1)]);
    api.call(method, path, Some(ENTITY1), &body, &content_type).await
}

/// The stored path behind a logo URL: `<folder>/photoCustomer/<millis>_<name>`.
fn logo_path(reply: &Reply) -> String {
    let url = reply.body["logo"]
        .as_str()
        .unwrap_or_else(|| panic!("a logo URL: {:?}", reply.body));
    url.strip_prefix(LOGO_BASE)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_else(|| panic!("{url} is under {LOGO_BASE}"))
        .to_owned()
}

fn variant_keys(path: &str) -> [String; 2] {
    let (dir, name) = path.rsplit_once('/').expect("a path");
    [
        format!("variants/{dir}/small_{name}"),
        format!("variants/{dir}/medium_{name}"),
    ]
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let format = ImageFormat::sniff(bytes).expect("an image");
    image::ImageReader::with_format(Cursor::new(bytes), format.codec())
        .into_dimensions()
        .expect("readable")
}

async fn object(api: &TestApi, key: &str) -> Vec<u8> {
    api.objects
        .get(key)
        .await
        .expect("storage")
        .unwrap_or_else(|| panic!("{key} exists"))
}

fn error(reply: &Reply, code: &str, description: &str) {
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({"error": code, "error_description": description})
    );
}

pub async fn every_format_uploads_with_both_variants(api: &TestApi) {
    for (i, (format, file_name)) in FORMATS.into_iter().enumerate() {
        let original = encoded(format, 800, 600);
        let reference = format!("L{i}");
        let reply = upload(
            api,
            "POST",
            CUSTOMERS,
            &[("reference", &reference), ("name", "Logo")],
            (file_name, &original),
        )
        .await;
        assert_eq!(reply.status, 201, "{format:?}: {:?}", reply.body);
        let path = logo_path(&reply);
        let (folder, rest) = path.split_once("/photoCustomer/").expect("documented shape");
        assert!(folder.starts_with("entity1-"), "{folder}");
        let (millis, name) = rest.split_once('_').expect("<millis>_<name>");
        assert!(
            millis.len() >= 13 && millis.bytes().all(|b| b.is_ascii_digit()),
            "{millis}"
        );
        assert_eq!(name, file_name);
        assert_eq!(
            object(api, &format!("originals/{path}")).await,
            original,
            "the original is kept as sent"
        );
        let [small, medium] = variant_keys(&path);
        for (key, expected) in [(small, (128, 96)), (medium, (512, 384))] {
            let bytes = object(api, &key).await;
            assert_eq!(ImageFormat::sniff(&bytes), Some(format), "{key}");
            assert_eq!(dimensions(&bytes), expected, "{key}");
        }
        let shown = api.get(&format!("{CUSTOMERS}/reference/{reference}")).await;
        assert_eq!(shown.body["logo"], reply.body["logo"]);
    }
}

/// A phone photo is stored sideways with an EXIF orientation tag; its variants are upright.
pub async fn a_sideways_photo_gets_upright_variants(api: &TestApi) {
    let photo = with_orientation(ImageFormat::Jpeg, 800, 600, 6);
    let reply = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "PHONE-1"), ("name", "Phone")],
        ("phone photo.jpg", &photo),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let [small, medium] = variant_keys(&logo_path(&reply));
    for (key, expected) in [(small, (96, 128)), (medium, (384, 512))] {
        let shown = image::load_from_memory(&object(api, &key).await)
            .expect("decodes")
            .into_rgb8();
        assert_eq!(shown.dimensions(), expected, "{key}: portrait, as the tag says");
        let (x, bottom) = (expected.0 / 2, expected.1 - 3);
        let (top, low) = (shown.get_pixel(x, 2)[0], shown.get_pixel(x, bottom)[0]);
        assert!(top < 40 && low > 215, "{key}: the stored left edge is on top");
    }
}

pub async fn file_names_are_made_safe(api: &TestApi) {
    let png = encoded(ImageFormat::Png, 40, 40);
    let reply = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "N1"), ("name", "n")],
        ("../../Mon Logo été/..\\x.PNG", &png),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert!(logo_path(&reply).ends_with("_x.png"), "{}", logo_path(&reply));
    let reply = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "N2"), ("name", "n")],
        ("Mon Logo été.png", &png),
    )
    .await;
    assert!(
        logo_path(&reply).ends_with("_Mon_Logo_ete.png"),
        "{}",
        logo_path(&reply)
    );
    let [small, medium] = variant_keys(&logo_path(&reply));
    assert_eq!(
        object(api, &small).await,
        png,
        "a logo smaller than the box is never upscaled"
    );
    assert_eq!(object(api, &medium).await, png);
}

pub async fn bad_images_are_refused_and_leave_nothing(api: &TestApi) {
    let mut too_big = encoded(ImageFormat::Bmp, 900, 900);
    too_big.resize(MAX_BYTES + 1, 0);
    let mut cases: Vec<(String, Vec<u8>, &str, &str)> = vec![
        (
            "huge.bmp".to_owned(),
            too_big,
            "exceeded_file_size",
            "image size should not exceed 2Mo",
        ),
        (
            "notes.png".to_owned(),
            b"this is not an image at all".to_vec(),
            "unsupported_file_type",
            "image format not supported.",
        ),
        (
            "vector.png".to_owned(),
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "unsupported_file_type",
            "image format not supported.",
        ),
        (
            "bomb.png".to_owned(),
            png_bomb(60_000, 60_000),
            "unsupported_file_type",
            "image format not supported.",
        ),
        (
            "empty.gif".to_owned(),
            Vec::new(),
            "unsupported_file_type",
            "image format not supported.",
        ),
    ];
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
    ] {
        for (width, height) in [(900, 700), (40, 30)] {
            let mut half = encoded(format, width, height);
            half.truncate(half.len() / 2);
            let name = format!(
                "half-{width}.{}",
                format.content_type().trim_start_matches("image/")
            );
            let (code, description) = ("unsupported_file_type", "image format not supported.");
            cases.push((name, half, code, description));
        }
    }
    for (file_name, bytes, code, description) in cases {
        let reply = upload(
            api,
            "POST",
            CUSTOMERS,
            &[("reference", "R"), ("name", "n")],
            (&file_name, &bytes),
        )
        .await;
        error(&reply, code, description);
    }
    let as_text = api
        .call(
            "POST",
            CUSTOMERS,
            Some(ENTITY1),
            b"reference=R&name=n&imageFile=abc",
            "application/x-www-form-urlencoded",
        )
        .await;
    error(&as_text, "unsupported_file_type", "image format not supported.");
    assert_eq!(
        api.get(CUSTOMERS).await.body["paging"]["total"],
        0,
        "no customer was created"
    );
    assert!(
        api.object_keys().await.is_empty(),
        "no object was stored: {:?}",
        api.object_keys().await
    );
}

pub async fn a_failed_record_write_leaves_no_orphan(api: &TestApi) {
    let png = encoded(ImageFormat::Png, 300, 300);
    let first = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "Taken"), ("name", "n")],
        ("a.png", &png),
    )
    .await;
    assert_eq!(first.status, 201);
    let keys = api.object_keys().await;
    assert_eq!(keys.len(), 3, "original and two variants: {keys:?}");
    let duplicate = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "Taken"), ("name", "n")],
        ("b.png", &png),
    )
    .await;
    error(&duplicate, "not_unique", "reference already used");
    let missing_group = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "Other"), ("name", "n"), ("categoryId", "999")],
        ("c.png", &png),
    )
    .await;
    assert_eq!(missing_group.status, 404);
    assert_eq!(
        api.object_keys().await,
        keys,
        "refused requests left no object behind"
    );
}

pub async fn replacing_and_deleting_remove_old_objects(api: &TestApi) {
    let first = encoded(ImageFormat::Jpeg, 1000, 500);
    let created = upload(
        api,
        "POST",
        CUSTOMERS,
        &[("reference", "R1"), ("name", "n")],
        ("first.jpg", &first),
    )
    .await;
    let old_path = logo_path(&created);
    let path = format!("{CUSTOMERS}/{}", created.body["id"]);
    let second = encoded(ImageFormat::Gif, 600, 600);
    let updated = upload(api, "POST", &path, &[("email", "a@b.c")], ("second.gif", &second)).await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    let new_path = logo_path(&updated);
    assert_ne!(new_path, old_path);
    let mut expected: Vec<String> = variant_keys(&new_path).into_iter().collect();
    expected.push(format!("originals/{new_path}"));
    expected.sort();
    assert_eq!(
        api.object_keys().await,
        expected,
        "the replaced original and its variants are gone"
    );
    assert_eq!(updated.body["email"], "a@b.c");

    let upserted = upload(
        api,
        "POST",
        &format!("{CUSTOMERS}/reference/R1"),
        &[("name", "Upserted"), ("city", "Lyon")],
        ("third.png", &encoded(ImageFormat::Png, 64, 64)),
    )
    .await;
    assert_eq!(upserted.status, 200, "{:?}", upserted.body);
    let third = logo_path(&upserted);
    assert!(third.ends_with("_third.png"));
    assert_eq!(api.object_keys().await.len(), 3);

    let deleted = api.call("DELETE", &path, Some(ENTITY1), b"", "").await;
    assert_eq!(deleted.status, 200);
    assert!(
        api.object_keys().await.is_empty(),
        "deleting the customer removed its logo"
    );

    let fresh = upload(
        api,
        "POST",
        &format!("{CUSTOMERS}/reference/R9"),
        &[("name", "new")],
        ("up.bmp", &encoded(ImageFormat::Bmp, 700, 100)),
    )
    .await;
    assert_eq!(fresh.status, 201, "{:?}", fresh.body);
    assert_eq!(
        dimensions(&object(api, &variant_keys(&logo_path(&fresh))[1]).await),
        (512, 73)
    );
}

pub async fn a_logo_without_other_changes_keeps_the_customer(api: &TestApi) {
    let created = api
        .call(
            "POST",
            CUSTOMERS,
            Some(ENTITY1),
            b"reference=K&name=Kept&city=Nice",
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(created.body["logo"], Value::Null);
    let path = format!("{CUSTOMERS}/{}", created.body["id"]);
    let updated = upload(
        api,
        "PUT",
        &path,
        &[],
        ("k.png", &encoded(ImageFormat::Png, 30, 30)),
    )
    .await;
    assert_eq!(updated.status, 200);
    for field in ["name", "city", "reference", "dateCreated"] {
        assert_eq!(updated.body[field], created.body[field], "{field}");
    }
}

/// Function instances share the bucket: two of them storing `logo.png` for one organization in
/// the same millisecond must not take the same key (one customer would show, and on delete
/// remove, another's logo). Forty uploads from two instances at once: forty keys, each holding
/// the bytes its upload sent.
pub async fn instances_never_share_a_logo_key(api: &Arc<TestApi>) {
    use customer_api::form::FilePart;
    use customer_api::logos::{Logos, Upload};
    use customer_api::model::Organization;

    let org = Organization::parse("entity1").expect("org");
    let instances = [
        Arc::new(Logos::new(Arc::clone(&api.objects), LOGO_BASE)),
        Arc::new(Logos::new(Arc::clone(&api.objects), LOGO_BASE)),
    ];
    let image = encoded(ImageFormat::Png, 8, 8);
    let tasks: Vec<_> = (0..40u8)
        .map(|i| {
            let logos = Arc::clone(&instances[usize::from(i % 2)]);
            let org = org.clone();
            let mut bytes = image.clone();
            bytes.push(i);
            tokio::spawn(async move {
                let part = FilePart {
                    name: "imageFile".into(),
                    file_name: "logo.png".into(),
                    bytes: bytes.clone(),
                };
                let upload = Upload::check(&part).expect("a valid image");
                (logos.store(&org, &upload).await.expect("stored"), bytes)
            })
        })
        .collect();
    let mut keys = std::collections::HashSet::new();
    for task in tasks {
        let (path, bytes) = task.await.expect("task");
        assert!(keys.insert(path.original_key()), "{} taken twice", path.as_str());
        assert_eq!(
            api.objects.get(&path.original_key()).await.expect("get"),
            Some(bytes),
            "{} holds another upload",
            path.as_str()
        );
    }
}

api_tests::on_both_stores!(
    api_tests::TestApi::shared;
    instances_never_share_a_logo_key,
    every_format_uploads_with_both_variants,
    a_sideways_photo_gets_upright_variants,
    file_names_are_made_safe,
    bad_images_are_refused_and_leave_nothing,
    a_failed_record_write_leaves_no_orphan,
    replacing_and_deleting_remove_old_objects,
    a_logo_without_other_changes_keeps_the_customer,
);

/// The resizer on S3 events, against S3 on the local S3 API server.
mod resizer {
    use super::*;

    async fn bucket() -> (Arc<S3ObjectStore>, aws_sdk_s3::Client, String, Resizer) {
        let (client, bucket) = fresh_bucket().await;
        let objects = Arc::new(S3ObjectStore::new(client.clone(), bucket.clone()));
        let resizer = Resizer::new(objects.clone(), VariantBoxes::default());
        (objects, client, bucket, resizer)
    }

    async fn keys(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
        let listed = client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list");
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn encoded_keys_duplicates_and_its_own_output() {
        let (objects, client, bucket, resizer) = bucket().await;
        let key = "originals/org-1/photoCustomer/1700000000000_red flower+1.jpg";
        objects
            .put(key, encoded(ImageFormat::Jpeg, 4000, 3000), "image/jpeg")
            .await
            .expect("put");
        let event = object_created_event(&bucket, key, 0);
        let raw_key = event.records[0].s3.object.key.clone().expect("key");
        assert_eq!(
            raw_key, "originals/org-1/photoCustomer/1700000000000_red+flower%2B1.jpg",
            "S3 encodes keys"
        );
        let report = resizer.handle(event.clone()).await.expect("resized");
        assert_eq!(report.resized, [key]);
        let small = "variants/org-1/photoCustomer/small_1700000000000_red flower+1.jpg";
        let medium = "variants/org-1/photoCustomer/medium_1700000000000_red flower+1.jpg";
        assert_eq!(keys(&client, &bucket).await, [key, medium, small]);
        let first = (
            objects.get(small).await.expect("get"),
            objects.get(medium).await.expect("get"),
        );
        assert_eq!(dimensions(first.1.as_deref().expect("medium")), (512, 384));
        assert_eq!(dimensions(first.0.as_deref().expect("small")), (128, 96));

        let again = resizer.handle(event).await.expect("duplicate delivery");
        assert_eq!(again.resized, [key]);
        let second = (
            objects.get(small).await.expect("get"),
            objects.get(medium).await.expect("get"),
        );
        assert_eq!(
            first, second,
            "deterministic keys and bytes: a duplicate changes nothing"
        );

        for own in [
            small,
            medium,
            "originals/org-1/photoCustomer/small_1700000000000_x.jpg",
        ] {
            let report = resizer
                .handle(object_created_event(&bucket, own, 10))
                .await
                .expect("handled");
            assert!(
                report.resized.is_empty() && report.skipped.len() == 1,
                "{own}: {report:?}"
            );
        }
        assert_eq!(
            keys(&client, &bucket).await.len(),
            3,
            "its own output never produced more output"
        );
    }

    #[tokio::test]
    async fn bad_originals_are_reported_without_retry() {
        let (objects, client, bucket, resizer) = bucket().await;
        let mut truncated = encoded(ImageFormat::Png, 900, 900);
        truncated.truncate(truncated.len() / 3);
        let cases = [
            ("originals/o/photoCustomer/1_bomb.png", png_bomb(60_000, 60_000)),
            (
                "originals/o/photoCustomer/2_fake.png",
                b"not an image, whatever the name".to_vec(),
            ),
            ("originals/o/photoCustomer/3_truncated.png", truncated),
        ];
        for (key, bytes) in &cases {
            objects.put(key, bytes.clone(), "image/png").await.expect("put");
            let report = resizer
                .handle(object_created_event(&bucket, key, bytes.len()))
                .await;
            let report = report.expect("a bad image is not a failed invocation (no retry storm)");
            assert_eq!(report.rejected.len(), 1, "{key}: {report:?}");
        }
        assert_eq!(keys(&client, &bucket).await.len(), 3, "no variant was written");
    }

    #[tokio::test]
    async fn late_events_other_buckets_and_animated_gifs() {
        let (objects, client, bucket, resizer) = bucket().await;
        let gone = resizer
            .handle(object_created_event(
                &bucket,
                "originals/o/photoCustomer/1_deleted.png",
                10,
            ))
            .await
            .expect("handled");
        assert_eq!(
            gone.skipped.len(),
            1,
            "a late event for a deleted original does nothing"
        );
        let elsewhere = resizer
            .handle(object_created_event(
                "someone-elses-bucket",
                "originals/o/photoCustomer/1_x.png",
                10,
            ))
            .await
            .expect("handled");
        assert_eq!(elsewhere.skipped.len(), 1);

        let mut gif = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
            for shade in [0u8, 255] {
                let frame = image::RgbaImage::from_pixel(800, 400, image::Rgba([shade, 64, 128, 255]));
                encoder.encode_frame(image::Frame::new(frame)).expect("frame");
            }
        }
        let key = "originals/o/photoCustomer/2_anim.gif";
        objects.put(key, gif.clone(), "image/gif").await.expect("put");
        let report = resizer
            .handle(object_created_event(&bucket, key, gif.len()))
            .await
            .expect("resized");
        assert_eq!(report.resized, [key]);
        let medium = objects
            .get("variants/o/photoCustomer/medium_2_anim.gif")
            .await
            .expect("get")
            .expect("medium");
        assert_eq!(dimensions(&medium), (512, 256));
        let first_frame = image::load_from_memory(&medium).expect("decodes").into_rgba8();
        assert!(
            first_frame.get_pixel(10, 10)[0] < 40,
            "the first frame is the one resized"
        );
        assert_eq!(keys(&client, &bucket).await.len(), 3);
    }
}
