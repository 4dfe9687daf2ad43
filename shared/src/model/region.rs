//! Amazon Ads regions: each has its own consent host and Ads API host.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Na,
    Eu,
    Fe,
}

impl Region {
    pub const ALL: [Self; 3] = [Self::Na, Self::Eu, Self::Fe];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Na => "na",
            Self::Eu => "eu",
            Self::Fe => "fe",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "na" => Ok(Self::Na),
            "eu" => Ok(Self::Eu),
            "fe" => Ok(Self::Fe),
            _ => Err(()),
        }
    }
}
