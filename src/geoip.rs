//! Who holds an address: the AS number, its name and the country, read
//! offline from the MaxMind databases the options file's `[geoip]` names.
