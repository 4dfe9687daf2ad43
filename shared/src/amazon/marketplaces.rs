//! Names and countries of the marketplaces Amazon Ads serves, by
//! marketplace id, and the region whose host serves each country.

use crate::model::region::Region;

/// `marketplace id → name, country code` as Amazon Ads profiles spell the
/// country (the United Kingdom is `UK`).
const MARKETPLACES: &[(&str, &str, &str)] = &[
    ("ATVPDKIKX0DER", "Amazon.com", "US"),
    ("A2EUQ1WTGCTBG2", "Amazon.ca", "CA"),
    ("A1AM78C64UM0Y8", "Amazon.com.mx", "MX"),
    ("A2Q3Y263D00KWC", "Amazon.com.br", "BR"),
    ("A1F83G8C2ARO7P", "Amazon.co.uk", "UK"),
    ("A1PA6795UKMFR9", "Amazon.de", "DE"),
    ("A13V1IB3VIYZZH", "Amazon.fr", "FR"),
    ("APJ6JRA9NG5V4", "Amazon.it", "IT"),
    ("A1RKKUPIHCS9HS", "Amazon.es", "ES"),
    ("A1805IZSGTT6HS", "Amazon.nl", "NL"),
    ("A2NODRKZP88ZB9", "Amazon.se", "SE"),
    ("A1C3SOZRARQ6R3", "Amazon.pl", "PL"),
    ("AMEN7PMS3EDWL", "Amazon.com.be", "BE"),
    ("A33AVAJ2PDY3EV", "Amazon.com.tr", "TR"),
    ("A2VIGQ35RCS4UG", "Amazon.ae", "AE"),
    ("A17E79C6D8DWNP", "Amazon.sa", "SA"),
    ("ARBP9OOSHTCHU", "Amazon.eg", "EG"),
    ("A21TJRUUN4KGV", "Amazon.in", "IN"),
    ("A1VC38T7YXB528", "Amazon.co.jp", "JP"),
    ("A39IBJ37TRP1C6", "Amazon.com.au", "AU"),
    ("A19VAU5U5O7RUS", "Amazon.sg", "SG"),
];

/// The marketplace's name, when it is one Amazon Ads serves.
pub fn name(marketplace_id: &str) -> Option<&'static str> {
    MARKETPLACES
        .iter()
        .find(|(id, ..)| *id == marketplace_id)
        .map(|(_, name, _)| *name)
}

/// The region whose Ads API host serves a country's profiles (Amazon's
/// three hosts: North America with Brazil, Europe with the Middle East and
/// India, the Far East).
pub fn region_of_country(country: &str) -> Option<Region> {
    let known = MARKETPLACES.iter().any(|(.., c)| *c == country) || country == "GB";
    let region = match country {
        "US" | "CA" | "MX" | "BR" => Region::Na,
        "JP" | "AU" | "SG" => Region::Fe,
        _ => Region::Eu,
    };
    known.then_some(region)
}

/// The marketplace's country code, when it is one Amazon Ads serves.
pub fn country(marketplace_id: &str) -> Option<&'static str> {
    MARKETPLACES
        .iter()
        .find(|(id, ..)| *id == marketplace_id)
        .map(|(.., country)| *country)
}

#[cfg(test)]
mod tests {
    use super::Region;

    #[test]
    fn known_marketplaces_have_names_and_others_none() {
        assert_eq!(super::name("ATVPDKIKX0DER"), Some("Amazon.com"));
        assert_eq!(super::name("A1PA6795UKMFR9"), Some("Amazon.de"));
        assert_eq!(super::name("A1VC38T7YXB528"), Some("Amazon.co.jp"));
        assert_eq!(super::name("NOPE"), None);
        assert_eq!(super::country("A1F83G8C2ARO7P"), Some("UK"));
        assert_eq!(super::country("NOPE"), None);
        assert_eq!(super::region_of_country("BR"), Some(Region::Na));
        assert_eq!(super::region_of_country("IN"), Some(Region::Eu));
        assert_eq!(super::region_of_country("SG"), Some(Region::Fe));
        assert_eq!(super::region_of_country("XX"), None);
    }
}
