//! The `site` destination's own web pages: one static page (and its JSON
//! twin) per announced attacker, the index and its archive, the sitemap,
//! robots.txt, the Atom feed and the IndexNow key file, all inside the
//! configured `dir`. Below the sinks: the options-file part and the `Sink`
//! live in `sink/site.rs`, and IndexNow, an HTTP client like the other
//! destinations', in `sink/indexnow.rs`.
//!
//! - `slug`: where a page lives; `page`, `index`, `sitemap`: the files, pure;
//! - `manifest`: the site's record of its pages, its commit point;
//! - `write`: writing inside the folder only, each file all at once;
//! - `store`: a writing of the site, pages, manifest, derived files in that order.

pub mod index;
pub mod manifest;
pub mod page;
pub mod sitemap;
pub mod slug;
pub mod store;
pub mod write;

pub use store::Site;
