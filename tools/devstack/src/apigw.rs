//! Events exactly as API Gateway (HTTP API, payload 2.0) delivers them, so
//! tests and the local stack exercise the same request path as Lambda.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// A request as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct ClientRequest {
    pub method: String,
    /// Path with an optional `?query`.
    pub target: String,
    /// Header names as sent; repeated names allowed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ClientRequest {
    pub fn new(method: &str, target: &str) -> Self {
        Self {
            method: method.to_owned(),
            target: target.to_owned(),
            ..Self::default()
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw_json(body.to_string().into_bytes())
    }

    pub fn raw_json(self, body: Vec<u8>) -> Self {
        self.body(body).header("content-type", "application/json")
    }

    /// A body sent as it is, with whatever `content-type` the caller sets.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    fn path_and_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }

    /// Headers as API Gateway passes them: lower-case names, repeated values
    /// joined with commas, cookies moved to their own array.
    fn gateway_headers(&self) -> (Map<String, Value>, Vec<Value>) {
        let mut headers: Map<String, Value> = Map::new();
        let mut cookies = Vec::new();
        for (name, value) in &self.headers {
            let name = name.to_ascii_lowercase();
            if name == "cookie" {
                cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())));
                continue;
            }
            let joined = match headers.get(&name).and_then(Value::as_str) {
                Some(existing) => format!("{existing},{value}"),
                None => value.clone(),
            };
            headers.insert(name, Value::String(joined));
        }
        (headers, cookies)
    }

    /// The payload 2.0 proxy event; `authorizer` is the Lambda authorizer's
    /// context (`None` on public routes).
    pub fn http_api_event(
        &self,
        route_key: &str,
        authorizer: Option<&Map<String, Value>>,
    ) -> Value {
        let (path, query) = self.path_and_query();
        let (headers, cookies) = self.gateway_headers();
        let text = std::str::from_utf8(&self.body).ok();
        let mut context = json!({
            "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1",
            "domainPrefix": "local", "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key, "stage": "$default",
            "time": chrono::Utc::now().format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": chrono::Utc::now().timestamp_millis(),
            "http": {"method": self.method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "adsconnect-dev"},
        });
        if let Some(fields) = authorizer {
            context["authorizer"] = json!({"lambda": fields});
        }
        json!({
            "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": query,
            "cookies": cookies, "headers": headers,
            "queryStringParameters": query_parameters(query),
            "requestContext": context,
            "body": match text { Some(t) => Value::String(t.to_owned()), None => Value::String(STANDARD.encode(&self.body)) },
            "isBase64Encoded": text.is_none(),
        })
    }

    /// The Lambda authorizer request (payload 2.0) for this request.
    pub fn authorizer_event(&self, route_key: &str) -> Value {
        let (path, query) = self.path_and_query();
        let (headers, cookies) = self.gateway_headers();
        let identity: Vec<Value> = headers.get("authorization").cloned().into_iter().collect();
        json!({
            "version": "2.0", "type": "REQUEST",
            "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:local/$default/{}", route_key.replace(' ', "")),
            "identitySource": identity, "routeKey": route_key, "rawPath": path,
            "rawQueryString": query, "cookies": cookies, "headers": headers,
            "queryStringParameters": query_parameters(query),
            "requestContext": {
                "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1",
                "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": route_key, "stage": "$default",
                "timeEpoch": chrono::Utc::now().timestamp_millis(),
                "http": {"method": self.method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "adsconnect-dev"},
            },
        })
    }
}

fn query_parameters(query: &str) -> Value {
    let pairs: Map<String, Value> = url_pairs(query)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if pairs.is_empty() {
        Value::Null
    } else {
        Value::Object(pairs)
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| {
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Converts an event into the request `lambda_http` hands to the router.
pub fn to_lambda_request(event: &Value) -> Result<lambda_http::Request, crate::BoxError> {
    Ok(lambda_http::request::from_str(&event.to_string())?)
}
