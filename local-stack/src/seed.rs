//! Sample catalog for the local stack: products in several categories, with stock, and a small
//! generated PNG image of each uploaded to the images bucket under `products/<id>/`.

use anyhow::{Context, Result};

use shop_model::{Product, CURRENCY};

use crate::Clients;

/// One sample product: id, name, description, category, price in cents, stock, image colour.
pub struct Sample {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub price_cents: i64,
    pub stock: i64,
    pub rgb: [u8; 3],
}

/// The sample catalog.
pub const PRODUCTS: &[Sample] = &[
    Sample {
        id: "mug-classic",
        name: "Classic mug",
        description: "A 350 ml stoneware mug.",
        category: "kitchen",
        price_cents: 1299,
        stock: 100,
        rgb: [200, 60, 40],
    },
    Sample {
        id: "mug-travel",
        name: "Travel mug",
        description: "Insulated, with a lid.",
        category: "kitchen",
        price_cents: 2499,
        stock: 40,
        rgb: [40, 90, 200],
    },
    Sample {
        id: "tee-logo",
        name: "Logo T-shirt",
        description: "Organic cotton, unisex.",
        category: "apparel",
        price_cents: 1999,
        stock: 60,
        rgb: [30, 30, 30],
    },
    Sample {
        id: "hoodie-grey",
        name: "Grey hoodie",
        description: "Heavy fleece hoodie.",
        category: "apparel",
        price_cents: 4999,
        stock: 25,
        rgb: [150, 150, 150],
    },
    Sample {
        id: "sticker-pack",
        name: "Sticker pack",
        description: "Ten vinyl stickers.",
        category: "stationery",
        price_cents: 499,
        stock: 500,
        rgb: [250, 200, 0],
    },
    Sample {
        id: "notebook-a5",
        name: "A5 notebook",
        description: "Dotted, 120 pages.",
        category: "stationery",
        price_cents: 899,
        stock: 80,
        rgb: [0, 150, 100],
    },
    Sample {
        id: "poster-limited",
        name: "Limited poster",
        description: "Signed, numbered print.",
        category: "art",
        price_cents: 3500,
        stock: 3,
        rgb: [120, 0, 160],
    },
];

/// The local stack's staff user: made at every start, with a fresh password.
#[derive(Clone)]
pub struct StaffUser {
    pub email: String,
    /// Random per start; printed and written to the outputs file (never to a committed file).
    pub password: String,
}

impl std::fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffUser")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The e-mail of the local stack's staff user.
pub const STAFF_EMAIL: &str = "staff@example.com";

/// Makes the staff user as the README tells an operator to on AWS: `AdminCreateUser` (no
/// invitation), `AdminSetUserPassword` (permanent) and `AdminAddUserToGroup` (the staff group).
pub async fn staff_user(clients: &Clients, user_pool_id: &str, group: &str) -> Result<StaffUser> {
    // The pool's policy: 12+ characters with upper case, lower case and digits.
    let password = format!("Staff-{}-A1", uuid::Uuid::new_v4().simple());
    let cognito = &clients.cognito;
    cognito
        .admin_create_user()
        .user_pool_id(user_pool_id)
        .username(STAFF_EMAIL)
        .user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name("email")
                .value(STAFF_EMAIL)
                .build()?,
        )
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .context("AdminCreateUser for the staff user")?;
    cognito
        .admin_set_user_password()
        .user_pool_id(user_pool_id)
        .username(STAFF_EMAIL)
        .password(&password)
        .permanent(true)
        .send()
        .await
        .context("AdminSetUserPassword for the staff user")?;
    cognito
        .admin_add_user_to_group()
        .user_pool_id(user_pool_id)
        .username(STAFF_EMAIL)
        .group_name(group)
        .send()
        .await
        .with_context(|| format!("AdminAddUserToGroup {group} for the staff user"))?;
    Ok(StaffUser {
        email: STAFF_EMAIL.to_string(),
        password,
    })
}

/// The image key of a sample product.
pub fn image_key(id: &str) -> String {
    format!("products/{id}/main.png")
}

/// Writes the products and uploads their images.
pub async fn seed(clients: &Clients, table: &str, bucket: &str) -> Result<usize> {
    for product in PRODUCTS {
        let key = image_key(product.id);
        clients
            .s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .content_type("image/png")
            .body(png(16, 16, product.rgb).into())
            .send()
            .await
            .with_context(|| format!("uploading {key}"))?;
        let sample = Product {
            id: product.id.into(),
            name: product.name.into(),
            description: product.description.into(),
            category: product.category.into(),
            price_cents: product.price_cents,
            currency: CURRENCY.into(),
            image_key: Some(key),
            stock: product.stock,
            version: 1,
            archived: false,
        };
        put_product(&clients.dynamodb, table, &sample).await?;
    }
    Ok(PRODUCTS.len())
}

/// Writes `product` (with its stock) into the Products table `table` through the API's own
/// adapter (`CatalogAdmin::create_product`, version 1): the seed, and the test products of the
/// end-to-end tests and the load run, go in this way. An id that exists already is an error.
pub async fn put_product(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    product: &Product,
) -> Result<()> {
    use api::ports::CatalogAdmin;
    let catalog = api::aws::DynamoCatalog::new(dynamodb.clone(), table);
    let created = catalog
        .create_product(product)
        .await
        .with_context(|| format!("writing product {}", product.id))?;
    anyhow::ensure!(created, "product {} exists already in {table}", product.id);
    Ok(())
}

/// A solid-colour RGB PNG (deflate "stored" blocks, so no compressor is needed).
/// Format: <https://www.w3.org/TR/png/>; zlib: RFC 1950; stored blocks: RFC 1951 §3.2.4.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    // Each scanline: filter type 0 (none), then the pixels.
    let mut line = vec![0u8];
    line.extend(std::iter::repeat_n(rgb, width as usize).flatten());
    let raw: Vec<u8> = std::iter::repeat_n(line, height as usize)
        .flatten()
        .collect();
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn png_has_signature_header_and_end() {
        let image = png(2, 3, [1, 2, 3]);
        assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&image[12..16], b"IHDR");
        assert_eq!(&image[16..20], &2u32.to_be_bytes());
        assert_eq!(&image[20..24], &3u32.to_be_bytes());
        assert!(image.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]));
    }

    #[test]
    fn catalog_has_several_categories_and_plain_ids() {
        let categories: std::collections::BTreeSet<_> =
            PRODUCTS.iter().map(|p| p.category).collect();
        assert!(categories.len() >= 3);
        for p in PRODUCTS {
            assert!(api::http::is_plain_id(p.id), "{}", p.id);
            assert!(p.stock > 0 && p.price_cents > 0);
        }
    }
}
