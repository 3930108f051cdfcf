//! The console's static files, compiled into the binary: htmx (vendored, pinned; see the
//! README on refreshing it) and the stylesheet. Each is served under a name carrying its
//! content hash, so it can be cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub struct Asset {
    /// The file's own name (`htmx-2.0.11.min.js`).
    pub name: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

pub const HTMX: &Asset = &Asset {
    name: "htmx-2.0.11.min.js",
    bytes: include_bytes!("../../../assets/console/htmx-2.0.11.min.js"),
    content_type: "text/javascript; charset=utf-8",
};

pub const CSS: &Asset = &Asset { name: "console.css", bytes: include_bytes!("../../../assets/console/console.css"), content_type: "text/css; charset=utf-8" };

pub const ICON: &Asset = &Asset { name: "favicon.svg", bytes: include_bytes!("../../../assets/console/favicon.svg"), content_type: "image/svg+xml" };

const ALL: [&Asset; 3] = [HTMX, CSS, ICON];

/// `name.<first 10 hex of SHA-256>.ext` for every asset, computed once.
static HASHED: LazyLock<Vec<(String, &'static Asset)>> = LazyLock::new(|| ALL.iter().map(|a| (hashed_name(a), *a)).collect());

fn hashed_name(a: &Asset) -> String {
    let digest = Sha256::digest(a.bytes);
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    // Before the extension (`.min.js` counts as one): `htmx-2.0.11.<hash>.min.js`.
    let split = a.name.strip_suffix(".min.js").map(|stem| (stem, "min.js")).or_else(|| a.name.rsplit_once('.'));
    match split {
        Some((stem, ext)) => format!("{stem}.{hex}.{ext}"),
        None => format!("{}.{hex}", a.name),
    }
}

/// Where a page links the asset.
pub fn url(a: &Asset) -> String {
    let name = HASHED.iter().find(|(_, x)| x.name == a.name).map(|(n, _)| n.as_str()).unwrap_or(a.name);
    format!("/console/assets/{name}")
}

/// `GET /console/assets/{file}`: only the exact hashed names exist.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some((_, asset)) = HASHED.iter().find(|(n, _)| *n == file) else {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    };
    let mut res = asset.bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    res
}
