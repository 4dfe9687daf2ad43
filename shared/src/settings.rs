//! Per-user preferences: the original system's fifteen settings, their
//! defaults and ranges. Invalid values cannot be represented, so a PATCH that
//! deserialises is a PATCH that is valid.

use serde::{Deserialize, Deserializer, Serialize};

use crate::ids::AccountId;

macro_rules! bounded_int {
    ($name:ident, $min:literal, $max:literal, $default:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "u8")]
        pub struct $name(u8);

        impl Default for $name {
            fn default() -> Self {
                Self($default)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(value: i64) -> Result<Self, String> {
                if ($min..=$max).contains(&value) {
                    Ok(Self(value as u8))
                } else {
                    Err(format!(
                        "must be between {} and {}, got {value}",
                        $min, $max
                    ))
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .minimum(Some($min))
                    .maximum(Some($max))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                value.0
            }
        }
    };
}

bounded_int!(RefreshIntervalHours, 1, 24, 6);
bounded_int!(ItemsPerPage, 5, 100, 20);

impl ItemsPerPage {
    pub fn get(self) -> u8 {
        self.0
    }
}

/// An IANA time zone name, e.g. `Europe/Berlin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timezone(String);

impl Default for Timezone {
    fn default() -> Self {
        Self("UTC".into())
    }
}

impl TryFrom<String> for Timezone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        value
            .parse::<chrono_tz::Tz>()
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| "must be an IANA time zone name such as `Europe/Berlin`".to_owned())
    }
}

impl utoipa::PartialSchema for Timezone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An IANA time zone name"))
            .examples(["Europe/Berlin"])
            .into()
    }
}

impl utoipa::ToSchema for Timezone {}

impl From<Timezone> for String {
    fn from(value: Timezone) -> String {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DashboardLayout {
    #[default]
    Grid,
    List,
    Compact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DateFormat {
    #[default]
    #[serde(rename = "MM/DD/YYYY")]
    MonthDayYear,
    #[serde(rename = "DD/MM/YYYY")]
    DayMonthYear,
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum TimeFormat {
    #[default]
    #[serde(rename = "12h")]
    TwelveHour,
    #[serde(rename = "24h")]
    TwentyFourHour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
    #[default]
    System,
}

/// Resolved settings. Stored as a map on the user's profile item holding only
/// what the user changed; `#[serde(default)]` fills in the rest on read, so a
/// new default reaches every user who never touched that setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Settings {
    pub notifications_enabled: bool,
    pub email_notifications: bool,
    pub auto_refresh_tokens: bool,
    pub refresh_interval_hours: RefreshIntervalHours,
    pub default_account_id: Option<AccountId>,
    pub dashboard_layout: DashboardLayout,
    pub items_per_page: ItemsPerPage,
    pub timezone: Timezone,
    pub date_format: DateFormat,
    pub time_format: TimeFormat,
    pub theme: Theme,
    pub show_expired_accounts: bool,
    pub show_disconnected_accounts: bool,
    pub auto_expand_details: bool,
    pub enable_keyboard_shortcuts: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            notifications_enabled: true,
            email_notifications: true,
            auto_refresh_tokens: true,
            refresh_interval_hours: RefreshIntervalHours::default(),
            default_account_id: None,
            dashboard_layout: DashboardLayout::default(),
            items_per_page: ItemsPerPage::default(),
            timezone: Timezone::default(),
            date_format: DateFormat::default(),
            time_format: TimeFormat::default(),
            theme: Theme::default(),
            show_expired_accounts: true,
            show_disconnected_accounts: false,
            auto_expand_details: false,
            enable_keyboard_shortcuts: true,
        }
    }
}

/// A partial update. Absent fields are left alone; `null` is accepted only for
/// `default_account_id` (clearing it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub notifications_enabled: Option<bool>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub email_notifications: Option<bool>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_refresh_tokens: Option<bool>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_interval_hours: Option<RefreshIntervalHours>,
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_account_id: Option<Option<AccountId>>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub dashboard_layout: Option<DashboardLayout>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub items_per_page: Option<ItemsPerPage>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub timezone: Option<Timezone>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_format: Option<DateFormat>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub time_format: Option<TimeFormat>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub theme: Option<Theme>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_expired_accounts: Option<bool>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_disconnected_accounts: Option<bool>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_expand_details: Option<bool>,
    #[schema(nullable = false)]
    #[serde(
        default,
        deserialize_with = "not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_keyboard_shortcuts: Option<bool>,
}

/// Refuses `"field": null`: only an absent field means "leave alone".
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Tells `"field": null` (Some(None)) apart from an absent field (None).
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Every preference a reset returns to its default. `default_account_id` is
/// not one: it mirrors which account is marked default and changes with it.
pub const RESETTABLE: [&str; 14] = [
    "notifications_enabled",
    "email_notifications",
    "auto_refresh_tokens",
    "refresh_interval_hours",
    "dashboard_layout",
    "items_per_page",
    "timezone",
    "date_format",
    "time_format",
    "theme",
    "show_expired_accounts",
    "show_disconnected_accounts",
    "auto_expand_details",
    "enable_keyboard_shortcuts",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: &str) -> Result<SettingsPatch, String> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| format!("{} :: {}", e.path(), e.inner()))
    }

    #[test]
    fn defaults_match_the_original_system() {
        let json = serde_json::to_value(Settings::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "notifications_enabled": true, "email_notifications": true,
                "auto_refresh_tokens": true, "refresh_interval_hours": 6,
                "default_account_id": null, "dashboard_layout": "grid", "items_per_page": 20,
                "timezone": "UTC", "date_format": "MM/DD/YYYY", "time_format": "12h",
                "theme": "system", "show_expired_accounts": true,
                "show_disconnected_accounts": false, "auto_expand_details": false,
                "enable_keyboard_shortcuts": true
            })
        );
    }

    #[test]
    fn resettable_names_every_preference_but_the_default_account() {
        let json = serde_json::to_value(Settings::default()).unwrap();
        let mut names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.retain(|n| *n != "default_account_id");
        let mut resettable = RESETTABLE.to_vec();
        names.sort_unstable();
        resettable.sort_unstable();
        assert_eq!(names, resettable);
    }

    #[test]
    fn ranges_and_names_are_enforced_with_the_field_named() {
        for (body, field) in [
            (r#"{"refresh_interval_hours": 0}"#, "refresh_interval_hours"),
            (
                r#"{"refresh_interval_hours": 25}"#,
                "refresh_interval_hours",
            ),
            (r#"{"items_per_page": 4}"#, "items_per_page"),
            (r#"{"items_per_page": 101}"#, "items_per_page"),
            (r#"{"items_per_page": 20.5}"#, "items_per_page"),
            (r#"{"timezone": "Mars/Olympus"}"#, "timezone"),
            (r#"{"theme": "blue"}"#, "theme"),
            (r#"{"date_format": "DD-MM-YYYY"}"#, "date_format"),
            (
                r#"{"notifications_enabled": "yes"}"#,
                "notifications_enabled",
            ),
            (r#"{"theme": null}"#, "theme"),
            (r#"{"default_account_id": "user_1"}"#, "default_account_id"),
        ] {
            let err = patch(body).expect_err(body);
            assert!(err.starts_with(field), "{body}: {err}");
        }
        let err = patch(r#"{"colour": "red"}"#).unwrap_err();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn valid_patch_keeps_absent_fields_absent_and_null_distinct() {
        let p = patch(r#"{"theme": "dark", "items_per_page": 100, "timezone": "Europe/Berlin", "default_account_id": null}"#).unwrap();
        assert_eq!(p.theme, Some(Theme::Dark));
        assert_eq!(p.items_per_page.map(ItemsPerPage::get), Some(100));
        assert_eq!(p.default_account_id, Some(None));
        assert_eq!(p.notifications_enabled, None);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 4);
    }

    #[test]
    fn stored_partial_map_fills_defaults() {
        let s: Settings = serde_json::from_str(r#"{"theme": "light"}"#).unwrap();
        assert_eq!(s.theme, Theme::Light);
        assert_eq!(s.items_per_page, ItemsPerPage::default());
    }
}
