//! Names of the marketplaces Amazon Ads serves, by marketplace id.

/// `marketplace id → name`, as Amazon lists them for sellers and Ads.
const MARKETPLACES: &[(&str, &str)] = &[
    ("ATVPDKIKX0DER", "Amazon.com"),
    ("A2EUQ1WTGCTBG2", "Amazon.ca"),
    ("A1AM78C64UM0Y8", "Amazon.com.mx"),
    ("A2Q3Y263D00KWC", "Amazon.com.br"),
    ("A1F83G8C2ARO7P", "Amazon.co.uk"),
    ("A1PA6795UKMFR9", "Amazon.de"),
    ("A13V1IB3VIYZZH", "Amazon.fr"),
    ("APJ6JRA9NG5V4", "Amazon.it"),
    ("A1RKKUPIHCS9HS", "Amazon.es"),
    ("A1805IZSGTT6HS", "Amazon.nl"),
    ("A2NODRKZP88ZB9", "Amazon.se"),
    ("A1C3SOZRARQ6R3", "Amazon.pl"),
    ("AMEN7PMS3EDWL", "Amazon.com.be"),
    ("A33AVAJ2PDY3EV", "Amazon.com.tr"),
    ("A2VIGQ35RCS4UG", "Amazon.ae"),
    ("A17E79C6D8DWNP", "Amazon.sa"),
    ("ARBP9OOSHTCHU", "Amazon.eg"),
    ("A21TJRUUN4KGV", "Amazon.in"),
    ("A1VC38T7YXB528", "Amazon.co.jp"),
    ("A39IBJ37TRP1C6", "Amazon.com.au"),
    ("A19VAU5U5O7RUS", "Amazon.sg"),
];

/// The marketplace's name, when it is one Amazon Ads serves.
pub fn name(marketplace_id: &str) -> Option<&'static str> {
    MARKETPLACES
        .iter()
        .find(|(id, _)| *id == marketplace_id)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_marketplaces_have_names_and_others_none() {
        assert_eq!(super::name("ATVPDKIKX0DER"), Some("Amazon.com"));
        assert_eq!(super::name("A1PA6795UKMFR9"), Some("Amazon.de"));
        assert_eq!(super::name("A1VC38T7YXB528"), Some("Amazon.co.jp"));
        assert_eq!(super::name("NOPE"), None);
    }
}
