//! `/assets/{file}`: the stylesheet, the page script and the vendored chart library, embedded in
//! the binary so Kizuna never loads anything from the internet.

use crate::extract::Path;
use crate::problem::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    ("kizuna.css", "text/css; charset=utf-8", include_bytes!("../../assets/kizuna.css")),
    ("kizuna.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/kizuna.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../../assets/favicon.svg")),
    (
        "chart-4.6.1.umd.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/chart-4.6.1.umd.min.js"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, bytes) = FILES.iter().find(|(name, _, _)| *name == file).ok_or(ApiError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=3600")], *bytes)
        .into_response())
}

/// `/js/kizuna.js`: the tech-touch snippet customers' products load from their own pages.
pub async fn snippet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_bytes!("../../assets/snippet.js").as_slice(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn the_snippet_stays_small_enough_to_load_in_every_page() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(include_bytes!("../../assets/snippet.js")).unwrap();
        let size = gzip.finish().unwrap().len();
        assert!(size <= 15 * 1024, "kizuna.js is {size} bytes gzipped; the target is 15 KB");
    }
}
