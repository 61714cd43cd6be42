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

/// The baseline the benches compare with: what a careful user would write
/// with reqwest alone to erase `ids` from `base` (each user's logs, then
/// the user), `concurrency` ids at a time, with `http` (a
/// [`plain_client`]). The number of users whose delete succeeded.
pub async fn plain_erase(
    http: &reqwest::Client,
    base: &str,
    ids: Vec<String>,
    concurrency: usize,
) -> usize {
    use futures::StreamExt;
    futures::stream::iter(ids)
        .map(|id| async move {
            let logs = http
                .delete(format!("{base}/users/{id}/logs?userId={id}"))
                .send()
                .await
                .ok()?;
            logs.bytes().await.ok()?;
            let user = http
                .delete(format!("{base}/users/{id}"))
                .send()
                .await
                .ok()?;
            let ok = user.status().is_success();
            user.bytes().await.ok()?;
            ok.then_some(())
        })
        .buffer_unordered(concurrency)
        .filter(|r| futures::future::ready(r.is_some()))
        .count()
        .await
}

/// The environment variable `name` parsed, or `default` when it is unset or
/// does not parse.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
