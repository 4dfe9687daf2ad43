//! Svix / Standard Webhooks header parsing and signature verification.
//!
//! Input: `PREFIX \n ID \n TIMESTAMP \n SIGNATURES \n BODY…` (raw bytes; the
//! seeds are readable). The three header names are `PREFIX` + `id`,
//! `timestamp`, `signature`, so the fuzzer explores `svix-`, `webhook-` and
//! names that are neither.
//!
//! Properties:
//! - nothing panics, whatever the headers, body, or configured secret;
//! - a delivery is accepted only if one `v1,` entry of the signature header
//!   decodes to the true HMAC (computed independently via `signature_header`),
//!   its id is a valid delivery id and its timestamp is within the tolerance;
//! - appending the true signature as a further entry makes any delivery with
//!   a valid id and a fresh canonical timestamp pass, whatever decoys precede it.

#![no_main]

use adsconnect::clerk::svix::{SignatureError, SvixVerifier, TOLERANCE_SECONDS, signature_header};
use adsconnect::ids::DeliveryId;
use adsconnect::secrets::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// Svix's published example secret (also used by the unit tests).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// When the timestamp header is not a number: a fixed "now".
const FALLBACK_NOW: i64 = 1_795_694_400;

fn split_fields(data: &[u8]) -> Option<[&[u8]; 5]> {
    let mut parts = data.splitn(5, |&b| b == b'\n');
    Some([
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next().unwrap_or_default(),
    ])
}

fn header_map(prefix: &[u8], id: &[u8], timestamp: &[u8], signatures: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("id", id),
        ("timestamp", timestamp),
        ("signature", signatures),
    ] {
        let name = [prefix, name.as_bytes()].concat();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&name),
            HeaderValue::from_bytes(value),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The true tag, as bytes, for the headers the verifier will read.
fn true_tag(secret: &Secret, id: &str, timestamp: &str, body: &[u8]) -> Option<Vec<u8>> {
    let ts: i64 = timestamp.parse().ok()?;
    // `signature_header` signs the decimal form of `ts`; only when the header
    // is already that form is it the tag the verifier must compute.
    if ts.to_string() != timestamp {
        return None;
    }
    let header = signature_header(secret, id, ts, body)?;
    STANDARD.decode(header.strip_prefix("v1,")?).ok()
}

fn family<'a>(headers: &'a HeaderMap, prefix: &str) -> Option<[&'a str; 3]> {
    let get = |name: &str| headers.get(format!("{prefix}{name}"))?.to_str().ok();
    Some([get("id")?, get("timestamp")?, get("signature")?])
}

fuzz_target!(|data: &[u8]| {
    // Arbitrary configured secrets: refused or accepted, never a panic.
    let _ = SvixVerifier::new(&Secret::new(String::from_utf8_lossy(data)));

    let Some([prefix, id, timestamp, signatures, body]) = split_fields(data) else {
        return;
    };
    let secret = Secret::new(SECRET);
    let verifier = SvixVerifier::new(&secret).expect("the example secret is valid");
    let headers = header_map(prefix, id, timestamp, signatures);

    // Reach the signature comparison: "now" is the claimed timestamp when it
    // is a number, so fuzzed deliveries are not simply stale.
    let ts_text = std::str::from_utf8(timestamp).unwrap_or_default();
    let now = ts_text
        .parse::<i64>()
        .ok()
        .filter(|ts| *ts >= 0)
        .unwrap_or(FALLBACK_NOW);
    let result = verifier.verify(&headers, body, now);

    // The header family the verifier reads: svix-* first, then webhook-*.
    let read = family(&headers, "svix-").or_else(|| family(&headers, "webhook-"));
    match (&result, read) {
        (Ok(delivery), Some([id, ts, sigs])) => {
            assert_eq!(delivery.as_str(), id);
            assert!(DeliveryId::parse(id).is_some());
            let sent: i64 = ts.parse().expect("accepted timestamp is a number");
            assert!((now - sent).abs() <= TOLERANCE_SECONDS);
            let tag = true_tag(&secret, id, ts, body)
                .expect("accepted timestamp is canonical and signable");
            let carries_tag = sigs.split(' ').any(|entry| {
                entry.split_once(',').is_some_and(|(v, sig)| {
                    v == "v1" && STANDARD.decode(sig).ok() == Some(tag.clone())
                })
            });
            assert!(carries_tag, "accepted without the true signature: {sigs:?}");
        }
        (Ok(_), None) => panic!("accepted without signature headers"),
        (Err(SignatureError::MissingHeaders), Some(_)) => {
            panic!("headers present but reported missing")
        }
        (Err(_), _) => {}
    }

    // Positive control: the true signature after any decoys must pass.
    let Some([id, ts, sigs]) = read else { return };
    let Some(tag) = true_tag(&secret, id, ts, body) else {
        return;
    };
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|sent| (now - sent).abs() <= TOLERANCE_SECONDS);
    if DeliveryId::parse(id).is_none() || !fresh {
        return;
    }
    let with_true = format!("{sigs} v1,{}", STANDARD.encode(&tag));
    let Ok(value) = HeaderValue::from_str(&with_true) else {
        return;
    };
    let mut signed = headers.clone();
    let name = if family(&headers, "svix-").is_some() {
        "svix-signature"
    } else {
        "webhook-signature"
    };
    signed.insert(name, value);
    assert_eq!(
        verifier
            .verify(&signed, body, now)
            .map(|d| d.as_str().to_owned()),
        Ok(id.to_owned()),
        "a correctly signed delivery was refused"
    );
});
