//! What the benchmarks share: the plain reqwest client a careful user would
//! build, with the same headers the library sends, and their settings from
//! the environment. Each bench uses part of it.

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

/// The environment variable `name` parsed, or `default` when it is unset or
/// does not parse.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
