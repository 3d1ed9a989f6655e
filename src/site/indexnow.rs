//! IndexNow: telling search engines which of the site's URLs are new or
//! changed, in one POST per 10,000 URLs, and what each answer means.
