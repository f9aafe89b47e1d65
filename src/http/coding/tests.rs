use super::*;

const ALL: [Coding; 3] = [Coding::Zstd, Coding::Brotli, Coding::Gzip];

fn choose(fields: &[&str], offered: &[Coding]) -> Option<Coding> {
    negotiate(fields.iter().map(|field| field.as_bytes()), offered)
}

#[test]
fn negotiation_follows_rfc_9110_accept_encoding() {
    use Coding::{Brotli, Gzip, Zstd};
    let table: &[(&[&str], &[Coding], Option<Coding>)] = &[
        // No field, or an empty one: the identity.
        (&[], &ALL, None),
        (&[""], &ALL, None),
        (&[" , ,"], &ALL, None),
        // Equal weights: the server's order.
        (&["gzip, deflate, br, zstd"], &ALL, Some(Zstd)),
        (&["gzip, deflate, br"], &ALL, Some(Brotli)),
        (&["gzip, br"], &[Gzip, Brotli], Some(Gzip)),
        // Weights: the heaviest wins; q=1, q=1.0, q=1.000 are all 1.
        (&["gzip;q=1.0, br;q=0.8"], &ALL, Some(Gzip)),
        (&["gzip;q=0.001, br;q=0.002"], &ALL, Some(Brotli)),
        (&["gzip;q=1.000, zstd;q=0.999"], &ALL, Some(Gzip)),
        (&["gzip ; q=0.5 ,br;Q=0.6"], &ALL, Some(Brotli)),
        (&["gzip;\tq=0.7"], &ALL, Some(Gzip)),
        // q=0: not acceptable.
        (&["gzip;q=0"], &ALL, None),
        (&["gzip;q=0.000, br"], &ALL, Some(Brotli)),
        // Malformed weights skip the element.
        (&["gzip;q=1.5"], &ALL, None),
        (&["gzip;q=2"], &ALL, None),
        (&["gzip;q=0.0001"], &ALL, None),
        (&["gzip;q=1.001"], &ALL, None),
        (&["gzip;q=.5"], &ALL, None),
        (&["gzip;q=", "br"], &ALL, Some(Brotli)),
        (&["gzip;q=abc, br;q=0.1"], &ALL, Some(Brotli)),
        // Another parameter is ignored, not the coding.
        (&["gzip;level=9"], &ALL, Some(Gzip)),
        // `*` weighs every coding not named.
        (&["*"], &ALL, Some(Zstd)),
        (&["*;q=0.5, zstd;q=0"], &ALL, Some(Brotli)),
        (&["*;q=0.1, gzip;q=0.2"], &ALL, Some(Gzip)),
        (&["*;q=0"], &ALL, None),
        // The identity wins only when named (or `*` is) with a heavier weight.
        (&["gzip;q=0.5, identity"], &ALL, None),
        (&["gzip;q=0.5, identity;q=0.6"], &ALL, None),
        (&["gzip;q=0.5, identity;q=0.5"], &ALL, Some(Gzip)),
        (&["gzip;q=0.5"], &ALL, Some(Gzip)),
        (&["*;q=0.5, gzip;q=0.4"], &ALL, Some(Zstd)),
        (&["identity;q=0.5, *;q=0.6, br;q=0.4"], &ALL, Some(Zstd)),
        (&["gzip;q=0.5, *;q=0"], &ALL, Some(Gzip)),
        (&["gzip;q=0.5, identity;q=0"], &ALL, Some(Gzip)),
        (&["identity"], &ALL, None),
        // Tokens ignore case; x-gzip is gzip; unknown codings and bad tokens are skipped.
        (&["GZIP"], &ALL, Some(Gzip)),
        (&["X-Gzip"], &ALL, Some(Gzip)),
        (&["compress, deflate"], &ALL, None),
        (&["gz ip, br"], &ALL, Some(Brotli)),
        // Codings the server does not offer are never chosen.
        (&["zstd"], &[Gzip], None),
        (&["br, gzip;q=0.1"], &[Gzip], Some(Gzip)),
        (&["gzip"], &[], None),
        // Several lines are one list; a coding named twice keeps its heavier weight.
        (&["gzip;q=0.1", "br;q=0.2"], &ALL, Some(Brotli)),
        (&["gzip;q=0.1", "gzip;q=0.9, br;q=0.5"], &ALL, Some(Gzip)),
    ];
    for (fields, offered, expected) in table {
        assert_eq!(
            choose(fields, offered),
            *expected,
            "{fields:?} offered {offered:?}"
        );
    }
}

#[test]
fn tokens_round_trip() {
    for coding in ALL {
        assert_eq!(Coding::from_token(coding.token().as_bytes()), Some(coding));
    }
    assert_eq!(Coding::from_token(b"identity"), None);
    assert_eq!(Coding::from_token(b"*"), None);
}

/// What needs a codec.
#[cfg(coding)]
mod codecs {
    use super::*;
    use crate::http::{Body, Response, StatusCode};

    #[test]
    fn media_types_worth_compressing() {
        for (media, expected) in [
            (&b"text/html; charset=utf-8"[..], true),
            (b"application/json", true),
            (b"application/javascript", true),
            (b"text/event-stream", true),
            (b"image/svg+xml", true),
            (b"IMAGE/SVG+XML", true),
            (b"font/ttf", true),
            (b"application/wasm", true),
            (b"application/octet-stream", true),
            (b"image/png", false),
            (b"image/webp", false),
            (b"video/mp4", false),
            (b"audio/ogg", false),
            (b"font/woff2", false),
            (b"application/zip", false),
            (b"application/gzip", false),
            (b"application/zstd", false),
            (b"Application/X-7Z-Compressed", false),
        ] {
            assert_eq!(
                compressible_media_type(media),
                expected,
                "{}",
                media.escape_ascii()
            );
        }
    }

    fn big_text() -> Response {
        Response::text(StatusCode::OK, "hello world, ".repeat(100))
    }

    #[test]
    fn which_responses_compression_applies_to() {
        let compression = Compression::new().min_size(100);
        let with = |resp: Response, name: &'static str, value: &'static str| {
            resp.header(name, value).unwrap()
        };
        let mut status_204 = big_text();
        status_204.set_status(StatusCode::NO_CONTENT);
        let mut status_304 = big_text();
        status_304.set_status(StatusCode::NOT_MODIFIED);
        let mut status_206 = big_text();
        status_206.set_status(StatusCode::PARTIAL_CONTENT);
        let mut status_404 = big_text();
        status_404.set_status(StatusCode::NOT_FOUND);
        let table = [
            (big_text(), true),
            (status_404, true),
            (status_204, false),
            (status_304, false),
            (status_206, false),
            (with(big_text(), "Content-Encoding", "br"), false),
            (with(big_text(), "Content-Range", "bytes 0-9/1300"), false),
            (
                with(big_text(), "Cache-Control", "public, No-Transform"),
                false,
            ),
            (with(big_text(), "Cache-Control", "max-age=60"), true),
            (
                Response::bytes(StatusCode::OK, "image/png", vec![0; 2000].into()),
                false,
            ),
            (Response::text(StatusCode::OK, "x".repeat(99)), false),
            (Response::text(StatusCode::OK, "x".repeat(100)), true),
            (Response::empty(StatusCode::OK), false),
        ];
        for (index, (resp, expected)) in table.into_iter().enumerate() {
            assert_eq!(compression.applies_to(&resp), expected, "case {index}");
            // No coding offered: nothing applies.
            assert!(!Compression::none().applies_to(&resp));
        }
        let mut stream = Response::new(StatusCode::OK);
        stream.set_body(Body::stream(futures_util::stream::empty()));
        assert!(compression.applies_to(&stream));
    }

    #[cfg(feature = "compression-gzip")]
    mod gzip {
        use super::*;
        use std::io::Read;

        fn gunzip(bytes: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
            out
        }

        #[test]
        fn a_response_is_compressed_with_its_headers_adjusted() {
            let compression = Compression::new().codings([Coding::Gzip]);
            let resp = big_text()
                .header("ETag", "\"v1\"")
                .unwrap()
                .header("Accept-Ranges", "bytes")
                .unwrap()
                .header("Vary", "Origin")
                .unwrap();
            let sent = compression.compress([&b"gzip"[..]], resp);
            let headers = sent.headers();
            assert_eq!(headers.get("content-encoding"), Some(&b"gzip"[..]));
            assert_eq!(headers.get("etag"), Some(&b"W/\"v1\""[..]));
            assert!(!headers.contains("accept-ranges"));
            let vary: Vec<&[u8]> = headers.get_all("vary").collect();
            assert_eq!(vary, [&b"Origin"[..], b"Accept-Encoding"]);
            let body = sent.body().as_slice().unwrap();
            assert_eq!(gunzip(body), "hello world, ".repeat(100).as_bytes());

            // Not accepted: the same body, still varying.
            let plain = compression.compress([&b"br"[..]], big_text());
            assert!(!plain.headers().contains("content-encoding"));
            assert_eq!(plain.headers().get("vary"), Some(&b"Accept-Encoding"[..]));
            assert_eq!(plain.body().len(), Some(1300));
            // A Vary listing it already is left alone.
            let varied = big_text()
                .header("Vary", "accept-encoding, origin")
                .unwrap();
            let sent = compression.compress([&b"gzip"[..]], varied);
            assert_eq!(sent.headers().get_all("vary").count(), 1);
        }
    }

    /// What arrived so far decodes to every chunk so far, before the stream ends: an event
    /// of a compressed event stream reaches the client at once.
    #[test]
    fn each_flushed_chunk_decodes_on_its_own() {
        for &coding in Coding::available() {
            let mut encoder = Encoder::new(coding, &Levels::default());
            let mut decoder = Decoder::new(coding, 1 << 20);
            for event in ["data: one\n\n", "data: two\n\n", "data: three\n\n"] {
                let coded = encoder.encode_chunk(event.as_bytes()).unwrap();
                assert_eq!(
                    decoder.decode(&coded).unwrap(),
                    event.as_bytes(),
                    "{coding}"
                );
            }
            let tail = encoder.finish().unwrap();
            assert!(decoder.decode(&tail).unwrap().is_empty(), "{coding}");
            decoder.finish().unwrap();
        }
    }

    /// Every coding of the build: round trips, limits, corrupt and truncated streams.
    #[test]
    fn every_coding_round_trips_and_refuses_what_it_must() {
        let levels = Levels::default();
        let text = "nanoapi compresses this. ".repeat(400);
        for &coding in Coding::available() {
            let coded = Encoder::encode_all(coding, &levels, text.as_bytes()).unwrap();
            assert!(coded.len() < text.len() / 10, "{coding}: {}", coded.len());

            // Fed in small pieces.
            let mut decoder = Decoder::new(coding, text.len() as u64);
            let mut plain = Vec::new();
            for piece in coded.chunks(7) {
                plain.extend_from_slice(&decoder.decode(piece).unwrap());
            }
            plain.extend_from_slice(&decoder.finish().unwrap());
            assert_eq!(plain, text.as_bytes(), "{coding}");

            // One byte over the limit.
            let mut small = Decoder::new(coding, text.len() as u64 - 1);
            let refused = small.decode(&coded).and_then(|_| small.finish());
            assert!(
                matches!(refused, Err(DecodeError::TooLarge)),
                "{coding}: {refused:?}"
            );

            // Cut short.
            let mut cut = Decoder::new(coding, 1 << 20);
            let refused = cut
                .decode(&coded[..coded.len() - 3])
                .and_then(|_| cut.finish());
            assert!(
                matches!(refused, Err(DecodeError::Invalid(_))),
                "{coding}: {refused:?}"
            );

            // Not the coding at all.
            let mut garbage = Decoder::new(coding, 1 << 20);
            let refused = garbage
                .decode(b"this is not compressed at all, not even a little")
                .and_then(|_| garbage.finish());
            assert!(
                matches!(refused, Err(DecodeError::Invalid(_))),
                "{coding}: {refused:?}"
            );
        }
    }

    /// A bomb (a few kilobytes of coded zeros standing for 16 MiB) is refused at the limit, having
    /// produced no more than the limit.
    #[test]
    fn a_decompression_bomb_stops_at_the_limit() {
        let levels = Levels::default();
        let zeros = vec![0u8; 4 << 20];
        for &coding in Coding::available() {
            let mut encoder = Encoder::new(coding, &levels);
            let mut bomb = Vec::new();
            for _ in 0..4 {
                bomb.extend_from_slice(&encoder.encode_chunk(&zeros).unwrap());
            }
            bomb.extend_from_slice(&encoder.finish().unwrap());
            let limit = 1 << 20;
            let mut decoder = Decoder::new(coding, limit);
            let mut produced = 0;
            let mut refused = None;
            for piece in bomb.chunks(16 << 10) {
                match decoder.decode(piece) {
                    Ok(plain) => produced += plain.len() as u64,
                    Err(err) => {
                        refused = Some(err);
                        break;
                    }
                }
            }
            assert!(
                matches!(refused, Some(DecodeError::TooLarge)),
                "{coding}: {refused:?}"
            );
            assert!(produced <= limit, "{coding}: {produced}");
        }
    }
}
