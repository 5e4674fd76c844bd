//! The HTTP client every API importer uses: bearer token, JSON, pagination by
//! `Link: <…>; rel="next"`, and patience with rate limits (`Retry-After`,
//! `X-RateLimit-Remaining`/`X-RateLimit-Reset`) and passing server errors.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ImportError;

/// The longest single wait for a rate limit before giving up with a clear error.
const MAX_WAIT: Duration = Duration::from_secs(3_600);
const RETRIES: u32 = 5;

#[derive(Clone)]
pub struct ApiClient {
    http: Client,
    base: String,
    token: Option<String>,
    /// The `Authorization` scheme the token is sent with: `Bearer`, Discord's `Bot`,
    /// Weblate's `Token`.
    scheme: &'static str,
    /// How the API is named in messages: `GitHub`, `Discourse`, ….
    pub name: &'static str,
}

impl ApiClient {
    pub fn new(
        name: &'static str,
        base: &str,
        token: Option<String>,
        extra: HeaderMap,
    ) -> Result<ApiClient, ImportError> {
        // One TLS crypto library in the whole binary: ring (installing twice is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .user_agent(concat!("fairshare/", env!("CARGO_PKG_VERSION")))
            .default_headers(extra)
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| {
                ImportError::invalid(base, None, None, format!("cannot set up HTTP: {e}"))
            })?;
        Ok(ApiClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            scheme: "Bearer",
            name,
        })
    }

    /// Sends the token as `Authorization: SCHEME TOKEN` instead of `Bearer`.
    pub fn with_scheme(mut self, scheme: &'static str) -> ApiClient {
        self.scheme = scheme;
        self
    }

    /// `path` joined to the base URL, unless it is already absolute (a `next` link).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// `path` as [`ApiClient::url`] makes it, refused when an absolute address (a
    /// `next` link the answer gave) leads to another site: the token goes only where
    /// it was configured to go, and never back to plain HTTP.
    fn checked_url(&self, path: &str) -> Result<String, ImportError> {
        let url = self.url(path);
        if path.starts_with("http://") || path.starts_with("https://") {
            let (Ok(base), Ok(next)) = (reqwest::Url::parse(&self.base), reqwest::Url::parse(&url))
            else {
                return Err(self.error(&url, "not a web address"));
            };
            let downgraded = base.scheme() == "https" && next.scheme() != "https";
            if next.host_str() != base.host_str()
                || next.port_or_known_default() != base.port_or_known_default()
                || downgraded
            {
                return Err(self.error(
                    &url,
                    format!(
                        "the answer points to another site than {}; not followed",
                        self.base
                    ),
                ));
            }
        }
        Ok(url)
    }

    /// GET with retries; returns the body parsed and the `next` page link, if any.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, Option<String>), ImportError> {
        let url = self.checked_url(path)?;
        let response = self.send(|| self.http.get(&url)).await?;
        let next = next_link(response.headers());
        let url = response.url().to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.error(&url, format!("reading the answer failed: {e}")))?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            self.error(
                &url,
                format!("unexpected answer (not the expected JSON: {e})"),
            )
        })?;
        Ok((value, next))
    }

    /// A GraphQL query: the `data` of the answer, or its first error as an error.
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<Option<T>, ImportError> {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let answer: GraphqlAnswer<T> = self.post(path, &body).await?;
        match answer.errors.first() {
            Some(error) => Err(self.error(path, format!("GraphQL error: {}", error.message))),
            None => Ok(answer.data),
        }
    }

    /// GET a whole file (reference data), with the same patience; larger than
    /// `max_bytes` is an error, not a truncated file.
    pub async fn download(&self, path: &str, max_bytes: usize) -> Result<Vec<u8>, ImportError> {
        let mut response = self.send(|| self.http.get(self.url(path))).await?;
        let url = response.url().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.error(&url, format!("reading the answer failed: {e}")))?
        {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(self.error(
                    &url,
                    format!("the file is larger than {} MiB", max_bytes >> 20),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// POST a JSON body (GraphQL) with the same patience.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ImportError> {
        let response = self
            .send(|| self.http.post(self.url(path)).json(body))
            .await?;
        let url = response.url().to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.error(&url, format!("reading the answer failed: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            self.error(
                &url,
                format!("unexpected answer (not the expected JSON: {e})"),
            )
        })
    }

    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Response, ImportError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = build();
            if let Some(token) = &self.token {
                // Marked sensitive: never printed in a debug or log line.
                let mut value = HeaderValue::from_str(&format!("{} {token}", self.scheme))
                    .map_err(|_| self.error(&self.base, "the token is not valid in a header"))?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
            let request = request
                .build()
                .map_err(|e| self.error(&self.base, e.to_string()))?;
            let url = request.url().to_string();
            let response = match self.http.execute(request).await {
                Ok(r) => r,
                Err(e) if attempt < RETRIES => {
                    tracing::warn!(%url, error = %e, attempt, "request failed, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
                Err(e) => return Err(self.error(&url, format!("no answer: {e}"))),
            };
            let status = response.status();
            if status.is_success() {
                if let Some(wait) = exhausted_wait(response.headers()) {
                    tracing::warn!(
                        seconds = wait.as_secs(),
                        "rate limit used up; waiting before the next request"
                    );
                    // The answer is good: wait after reading it, before the next call.
                    let body = response;
                    tokio::time::sleep(wait.min(MAX_WAIT)).await;
                    return Ok(body);
                }
                return Ok(response);
            }
            if let Some(wait) = rate_limit_wait(status, response.headers()) {
                if wait > MAX_WAIT {
                    return Err(self.error(&url, format!("rate limited for {} s; try again later (the import resumes where it stopped)", wait.as_secs())));
                }
                tracing::warn!(%url, seconds = wait.as_secs(), "rate limited; waiting");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() && attempt < RETRIES {
                tracing::warn!(%url, %status, attempt, "server error, retrying");
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            let body = response.text().await.unwrap_or_default();
            let detail: String = body.chars().take(300).collect();
            return Err(self.error(
                &url,
                match status {
                    StatusCode::UNAUTHORIZED => format!("401: the token was refused ({detail})"),
                    StatusCode::NOT_FOUND => {
                        format!("404: not found, or not visible with this token ({detail})")
                    }
                    _ => format!("{status}: {detail}"),
                },
            ));
        }
    }

    pub fn error(&self, url: &str, message: impl Into<String>) -> ImportError {
        ImportError::invalid(&format!("{} {url}", self.name), None, None, message)
    }
}

#[derive(serde::Deserialize)]
struct GraphqlAnswer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(serde::Deserialize)]
struct GraphqlError {
    message: String,
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 * 2u64.pow(attempt.min(6)))
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long to wait after a refusal for rate limiting, if it was one.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::FORBIDDEN {
        return None;
    }
    if let Some(seconds) = header_u64(headers, "retry-after") {
        return Some(Duration::from_secs(seconds.max(1)));
    }
    exhausted_wait(headers)
        .or((status == StatusCode::TOO_MANY_REQUESTS).then(|| Duration::from_secs(60)))
}

/// When the remaining requests are 0: the time until the limit resets. GitHub and
/// Discord say `X-RateLimit-*`, GitLab `RateLimit-*`; Discord also gives the wait
/// itself in `X-RateLimit-Reset-After` (seconds, with a fraction).
fn exhausted_wait(headers: &HeaderMap) -> Option<Duration> {
    let remaining = header_u64(headers, "x-ratelimit-remaining")
        .or_else(|| header_u64(headers, "ratelimit-remaining"))?;
    if remaining != 0 {
        return None;
    }
    if let Some(after) = headers
        .get("x-ratelimit-reset-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
    {
        return Some(Duration::from_millis((after * 1000.0) as u64 + 1));
    }
    let reset = header_u64(headers, "x-ratelimit-reset")
        .or_else(|| header_u64(headers, "ratelimit-reset"))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    Some(Duration::from_secs(reset.saturating_sub(now) + 1))
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

pub fn header(
    name: &'static str,
    value: &str,
) -> Option<(reqwest::header::HeaderName, HeaderValue)> {
    Some((
        reqwest::header::HeaderName::from_static(name),
        HeaderValue::from_str(value).ok()?,
    ))
}

/// One item of a list an API returned, read on its own: an item that does not parse
/// (a review whose `user` lacks `login`) is kept as its id and the reason, so one odd
/// item never fails its page — and a re-run never stops at the same page for ever.
pub enum Lenient<T> {
    Read(T),
    Unreadable { id: String, reason: String },
}

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(match T::deserialize(&value) {
            Ok(item) => Lenient::Read(item),
            Err(error) => Lenient::Unreadable {
                id: ["id", "node_id", "number", "slug", "answer_id", "event_id"]
                    .iter()
                    .find_map(|field| match &value[*field] {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    })
                    .map(|id| fairshare_engine::money::excerpt(&id))
                    .unwrap_or_else(|| "without an id".into()),
                reason: error.to_string(),
            },
        })
    }
}

impl<T> Lenient<T> {
    /// The item, or `None` after noting the unreadable one in `skips` and the log,
    /// naming its id and the page it came from.
    pub fn read(self, source: &str, page: &str, skips: &mut crate::record::Skips) -> Option<T> {
        match self {
            Lenient::Read(item) => Some(item),
            Lenient::Unreadable { id, reason } => {
                tracing::warn!(
                    source,
                    page,
                    id,
                    reason,
                    "an item that does not parse was skipped"
                );
                skips.add(format!(
                    "unreadable {source} item {id} on {page}: {}",
                    fairshare_engine::money::excerpt(&reason)
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_followed_only_on_the_configured_site() {
        let client = ApiClient::new(
            "GitLab",
            "https://gitlab.example.org/api/v4",
            None,
            HeaderMap::new(),
        )
        .unwrap();
        let ok = "https://gitlab.example.org/api/v4/projects/1/issues?page=2";
        assert_eq!(client.checked_url(ok).unwrap(), ok);
        assert!(client.checked_url("projects/1/issues").is_ok());
        for elsewhere in [
            "https://attacker.example/api/v4/projects/1/issues?page=2",
            "http://gitlab.example.org/api/v4/projects/1/issues?page=2",
            "https://gitlab.example.org:8443/api/v4/projects/1/issues?page=2",
        ] {
            let error = client.checked_url(elsewhere).unwrap_err().to_string();
            assert!(error.contains("another site"), "{elsewhere}: {error}");
        }
    }

    #[test]
    fn link_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://api.github.com/x?page=2>; rel=\"next\", <https://api.github.com/x?page=5>; rel=\"last\""),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.github.com/x?page=2")
        );
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static("<https://a/x?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&headers), None);
    }
}
