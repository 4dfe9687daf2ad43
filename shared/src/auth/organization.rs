//! The active organization of a verified session token, decoded as Clerk's
//! own SDK does (`__experimental_JWTPayloadToAuthObjectProperties` in
//! clerk/javascript `packages/shared/src/jwtPayloadParser.ts`, with
//! `splitByScope` from `authorization.ts`, as of "fix(shared): decode JWT v2
//! permission masks exactly", #9381, 2026-08):
//!
//! - `v` = 2: the `o` claim `{id, slg, rol, per, fpm}` and the top-level
//!   `fea`. `fea` lists features as `<scope>:<key>`; those scoped `o`, `ou`
//!   or `uo` are the organization's, in order. `per` names permissions and
//!   `fpm` holds one decimal bitmask per organization feature: bit `j`
//!   (least significant first) grants `org:<feature>:<per[j]>`. Without
//!   `per` or `fpm` there are none. Masks may exceed 64 bits (the SDK now
//!   decodes them exactly; so do we).
//! - any other `v` (version 1): `org_id`, `org_slug`, `org_role` and the
//!   list `org_permissions`; v2's claims are then ignored, as by the SDK.
//!
//! Where the SDK shrugs at a malformed claim (a mask that is not a decimal,
//! a bit naming no permission, an organization id that is not `org_…`), the
//! token is denied as malformed, like any other claim we cannot read.

use serde::Deserialize;

use super::Denial;
use crate::ids::OrgId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub slug: Option<String>,
    /// As the token carries it: `admin` in v2, `org:admin` in v1.
    pub role: Option<String>,
    /// Clerk's permission keys, `org:<feature>:<permission>`.
    pub permissions: Vec<String>,
    /// The organization's features (v2 `fea`); version 1 names none.
    pub features: Vec<String>,
}

impl Organization {
    /// The member's permissions within `feature` (the part after
    /// `org:<feature>:`), when the token shows the organization defines that
    /// feature: v2 lists it among the organization's features; v1, which
    /// names no features, grants at least one of its permissions.
    pub fn feature_permissions<'a>(&'a self, feature: &str) -> Option<Vec<&'a str>> {
        let granted: Vec<&str> = self
            .permissions
            .iter()
            .filter_map(|key| {
                key.strip_prefix("org:")?
                    .strip_prefix(feature)?
                    .strip_prefix(':')
            })
            .collect();
        let defined = !granted.is_empty() || self.features.iter().any(|f| f == feature);
        defined.then_some(granted)
    }
}

/// Version 2's `o` claim. Any field of the wrong JSON type fails the
/// token's deserialization, which denies it.
#[derive(Deserialize)]
pub(super) struct OrgClaim {
    id: String,
    slg: Option<String>,
    rol: Option<String>,
    per: Option<String>,
    fpm: Option<String>,
}

/// Version 1's organization claims.
pub(super) struct V1Claims {
    pub id: Option<String>,
    pub slug: Option<String>,
    pub role: Option<String>,
    pub permissions: Option<Vec<String>>,
}

pub(super) fn version_2(
    claim: Option<OrgClaim>,
    features: Option<&str>,
) -> Result<Option<Organization>, Denial> {
    let Some(o) = claim else {
        return Ok(None);
    };
    let features = organization_features(features.unwrap_or_default())?;
    let permissions = match (o.per.as_deref(), o.fpm.as_deref()) {
        (Some(per), Some(fpm)) if !per.is_empty() && !fpm.is_empty() => {
            permission_keys(&features, per, fpm)?
        }
        _ => Vec::new(),
    };
    Ok(Some(Organization {
        id: OrgId::parse(&o.id).map_err(|_| Denial::Malformed)?,
        slug: o.slg,
        role: o.rol,
        permissions,
        features,
    }))
}

pub(super) fn version_1(claims: V1Claims) -> Result<Option<Organization>, Denial> {
    let Some(id) = claims.id else {
        return Ok(None);
    };
    Ok(Some(Organization {
        id: OrgId::parse(&id).map_err(|_| Denial::Malformed)?,
        slug: claims.slug,
        role: claims.role,
        permissions: claims.permissions.unwrap_or_default(),
        features: Vec::new(),
    }))
}

/// `splitByScope(fea).org`: an element without a colon is an error there
/// too; scopes other than `o`, `u`, `ou`, `uo` are skipped, as there.
fn organization_features(fea: &str) -> Result<Vec<String>, Denial> {
    if fea.is_empty() {
        return Ok(Vec::new());
    }
    let mut features = Vec::new();
    for element in fea.split(',') {
        let (scope, key) = element.trim().split_once(':').ok_or(Denial::Malformed)?;
        if matches!(scope, "o" | "ou" | "uo") {
            features.push(key.to_owned());
        }
    }
    Ok(features)
}

/// `buildOrgPermissions`: feature `i`'s mask is `fpm`'s entry `i`; a feature
/// without one grants nothing, a mask without a feature is ignored (though
/// it must still be a decimal).
fn permission_keys(features: &[String], per: &str, fpm: &str) -> Result<Vec<String>, Denial> {
    let names: Vec<&str> = per.split(',').map(str::trim).collect();
    let masks: Vec<&str> = fpm.split(',').map(str::trim).collect();
    if !masks.iter().all(|mask| is_decimal(mask)) {
        return Err(Denial::Malformed);
    }
    let mut keys = Vec::new();
    for (feature, mask) in features.iter().zip(masks) {
        for_each_set_bit(mask, |bit| {
            let name = names
                .get(bit)
                .filter(|name| !name.is_empty())
                .ok_or(Denial::Malformed)?;
            keys.push(["org:", feature, ":", name].concat());
            Ok(())
        })?;
    }
    Ok(keys)
}

/// ASCII digits only (`u64::from_str` alone would take a leading `+`).
fn is_decimal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Calls `each` with the index of every set bit of a decimal bitmask of any
/// length, least significant first. A mask within 64 bits (the rule)
/// allocates nothing.
fn for_each_set_bit(
    decimal: &str,
    mut each: impl FnMut(usize) -> Result<(), Denial>,
) -> Result<(), Denial> {
    let mut visit = |index: usize, mut limb: u64| {
        while limb != 0 {
            each(index * 64 + limb.trailing_zeros() as usize)?;
            limb &= limb - 1;
        }
        Ok(())
    };
    if let Ok(value) = decimal.parse::<u64>() {
        return visit(0, value);
    }
    // Little-endian 64-bit limbs, the decimal's digits multiplied in.
    let mut limbs: Vec<u64> = vec![0];
    for digit in decimal.bytes().map(|b| u128::from(b - b'0')) {
        let mut carry = digit;
        for limb in &mut limbs {
            let value = u128::from(*limb) * 10 + carry;
            *limb = value as u64;
            carry = value >> 64;
        }
        if carry > 0 {
            limbs.push(carry as u64);
        }
    }
    limbs
        .into_iter()
        .enumerate()
        .try_for_each(|(index, limb)| visit(index, limb))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(per: Option<&str>, fpm: Option<&str>) -> OrgClaim {
        OrgClaim {
            id: "org_2acme".into(),
            slg: Some("acme".into()),
            rol: Some("admin".into()),
            per: per.map(str::to_owned),
            fpm: fpm.map(str::to_owned),
        }
    }

    fn keys(
        fea: Option<&str>,
        per: Option<&str>,
        fpm: Option<&str>,
    ) -> Result<Vec<String>, Denial> {
        version_2(Some(o(per, fpm)), fea).map(|org| org.unwrap().permissions)
    }

    #[test]
    fn masks_map_least_significant_bit_to_the_first_permission_as_clerks_sdk_does() {
        // The SDK's own case: read,manage with masks 1 and 3.
        let mut granted = keys(
            Some("o:impersonation,o:memberships"),
            Some("read,manage"),
            Some("1,3"),
        )
        .unwrap();
        granted.sort();
        assert_eq!(
            granted,
            [
                "org:impersonation:read",
                "org:memberships:manage",
                "org:memberships:read"
            ]
        );
        // User-scoped features take no mask; `ou`/`uo` are the organization's too.
        let granted = keys(
            Some("u:beta, uo:ads ,o:reports"),
            Some("connect,manage,use,read"),
            Some("15,8"),
        )
        .unwrap();
        assert_eq!(
            granted,
            [
                "org:ads:connect",
                "org:ads:manage",
                "org:ads:use",
                "org:ads:read",
                "org:reports:read"
            ]
        );
    }

    #[test]
    fn without_fea_per_or_fpm_there_are_no_permissions() {
        assert_eq!(
            keys(None, Some("read"), Some("1")).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            keys(Some("o:ads"), None, Some("1")).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            keys(Some("o:ads"), Some("read"), None).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            keys(Some("o:ads"), Some(""), Some("")).unwrap(),
            Vec::<String>::new()
        );
        // A feature without a mask grants nothing; a spare mask is ignored.
        assert_eq!(
            keys(Some("o:ads,o:reports"), Some("read"), Some("1")).unwrap(),
            ["org:ads:read"]
        );
        assert_eq!(
            keys(Some("o:ads"), Some("read"), Some("0,1")).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn masks_beyond_64_bits_are_decoded_exactly() {
        let names: Vec<String> = (0..70).map(|i| format!("p{i}")).collect();
        // 2^69 + 2^64 + 1
        let mask = ((1u128 << 69) + (1u128 << 64) + 1).to_string();
        let granted = keys(Some("o:big"), Some(&names.join(",")), Some(&mask)).unwrap();
        assert_eq!(granted, ["org:big:p0", "org:big:p64", "org:big:p69"]);
        let set_bits = |decimal: &str| {
            let mut bits = Vec::new();
            for_each_set_bit(decimal, |bit| {
                bits.push(bit);
                Ok(())
            })
            .unwrap();
            bits
        };
        assert_eq!(set_bits("18446744073709551616"), [64]);
        assert_eq!(
            set_bits("340282366920938463463374607431768211457"),
            [0, 128]
        );
        assert_eq!(set_bits("0"), Vec::<usize>::new());
    }

    #[test]
    fn malformed_organization_claims_are_denied() {
        let malformed = [
            (Some("o:ads"), Some("read"), Some("2")), // a bit naming no permission
            (Some("o:ads"), Some("read"), Some("+1")),
            (Some("o:ads"), Some("read"), Some("0x1")),
            (Some("o:ads"), Some("read"), Some("1,")),
            (Some("o:ads"), Some("read,,use"), Some("2")), // an empty name
            (Some("ads"), Some("read"), Some("1")),        // no scope
            (Some("o:ads,"), Some("read"), Some("1")),
        ];
        for (fea, per, fpm) in malformed {
            assert_eq!(
                keys(fea, per, fpm),
                Err(Denial::Malformed),
                "{fea:?} {per:?} {fpm:?}"
            );
        }
        let mut bad_id = o(None, None);
        bad_id.id = "acme".into();
        assert_eq!(version_2(Some(bad_id), None), Err(Denial::Malformed));
        let v1 = V1Claims {
            id: Some("user_2notAnOrg".into()),
            slug: None,
            role: None,
            permissions: None,
        };
        assert_eq!(version_1(v1), Err(Denial::Malformed));
    }

    #[test]
    fn a_feature_is_defined_by_fea_in_v2_and_by_a_permission_in_v1() {
        let v2 = version_2(Some(o(Some("read"), Some("0"))), Some("o:ads"))
            .unwrap()
            .unwrap();
        assert_eq!(v2.feature_permissions("ads"), Some(vec![]));
        assert_eq!(v2.feature_permissions("reports"), None);
        let v1 = version_1(V1Claims {
            id: Some("org_2acme".into()),
            slug: Some("acme".into()),
            role: Some("org:member".into()),
            permissions: Some(vec![
                "org:ads:read".into(),
                "org:adsx:use".into(),
                "org:sys_profile:manage".into(),
            ]),
        })
        .unwrap()
        .unwrap();
        assert_eq!(v1.feature_permissions("ads"), Some(vec!["read"]));
        assert_eq!(v1.feature_permissions("billing"), None);
        assert_eq!(
            version_1(V1Claims {
                id: None,
                slug: None,
                role: None,
                permissions: None
            }),
            Ok(None)
        );
        assert_eq!(version_2(None, Some("o:ads")), Ok(None));
    }
}
