//! IAM roles as `CREDENTIALS_CALLERS` lists them and as STS names a caller
//! that assumed one. An assumed-role ARN drops the role's path, so a role
//! is its partition, account and name.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    partition: String,
    account: String,
    name: String,
}

impl Role {
    /// The role a session of `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`
    /// acts as; `None` for any other principal (an IAM user, the root).
    pub fn of_assumed_role(arn: &str) -> Option<Self> {
        let (partition, account, resource) = split_arn(arn, "sts")?;
        let (name, session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
        (valid_name(name) && !session.is_empty()).then(|| Self {
            partition: partition.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// `arn:<partition>:<service>::<12-digit account>:<resource>`.
fn split_arn<'a>(arn: &'a str, service: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, partition, arn_service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (arn_word == "arn"
        && partition.starts_with("aws")
        && arn_service == service
        && region.is_empty()
        && account_ok)
        .then_some((partition, account, resource))
}

/// IAM's role-name characters.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// `arn:<partition>:iam::<account>:role/<optional path/><name>`.
impl FromStr for Role {
    type Err = String;

    fn from_str(arn: &str) -> Result<Self, String> {
        let expected = || {
            format!("expected an IAM role ARN (arn:aws:iam::<account>:role/<name>), got {arn:?}")
        };
        let (partition, account, resource) = split_arn(arn.trim(), "iam").ok_or_else(expected)?;
        let path_and_name = resource.strip_prefix("role/").ok_or_else(expected)?;
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        if !valid_name(name) {
            return Err(expected());
        }
        Ok(Self {
            partition: partition.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The role's ARN without its path.
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role/{}",
            self.partition, self.account, self.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_role_matches_its_sessions_whatever_its_path() {
        let listed: Role = "arn:aws:iam::111122223333:role/services/backend"
            .parse()
            .unwrap();
        let session = Role::of_assumed_role("arn:aws:sts::111122223333:assumed-role/backend/job-7");
        assert_eq!(session, Some(listed.clone()));
        assert_eq!(listed.to_string(), "arn:aws:iam::111122223333:role/backend");
        for other in [
            "arn:aws:sts::444455556666:assumed-role/backend/job-7",
            "arn:aws:sts::111122223333:assumed-role/backend2/job-7",
            "arn:aws-cn:sts::111122223333:assumed-role/backend/job-7",
        ] {
            assert_ne!(
                Role::of_assumed_role(other),
                Some(listed.clone()),
                "{other}"
            );
        }
    }

    #[test]
    fn users_roots_and_malformed_arns_are_no_roles() {
        for arn in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:root",
            "arn:aws:sts::111122223333:assumed-role/backend",
            "arn:aws:sts::11112222333:assumed-role/backend/s",
            "arn:aws:sts:us-east-1:111122223333:assumed-role/backend/s",
            "arn:aws:sts::111122223333:federated-user/bob",
        ] {
            assert_eq!(Role::of_assumed_role(arn), None, "{arn}");
        }
        for listed in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/",
            "backend",
            "arn:aws:sts::111122223333:assumed-role/backend/s",
        ] {
            assert!(listed.parse::<Role>().is_err(), "{listed}");
        }
    }
}
