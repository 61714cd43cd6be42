//! What the benchmarks share: the plain reqwest client a careful user would
//! build, with the same headers the library sends.

use runalloy_embedded::API_VERSION;

/// A reqwest client that sends `Authorization: Bearer <key>` and
/// `x-api-version` on every request, and nothing more.
pub fn plain_client(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
    headers.insert("x-api-version", API_VERSION.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}
