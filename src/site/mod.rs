//! The `site` destination's own web pages: one static page (and its JSON
//! twin) per announced attacker, the index and its archive, the sitemap,
//! robots.txt, the Atom feed and the IndexNow key file, all inside the
//! configured `dir`; and IndexNow, which tells search engines what changed.
//! The options-file part and the `Sink` live in `sink/site.rs`.

pub mod indexnow;
