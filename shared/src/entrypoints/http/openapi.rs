//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route of
//! every function, generated from the handlers and types themselves.

use axum::Json;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OneOfBuilder, PathItem, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::account_order::AccountSort;
use super::{ErrorBody, ErrorResponse};
use crate::ids::{AccountId, ConnectionId};
use crate::settings::{ItemsPerPage, RefreshIntervalHours, Timezone};

struct SessionSecurity;

impl Modify for SessionSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "clerk_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Clerk session token, verified by the auth-check authorizer",
                    ))
                    .build(),
            ),
        );
        // The body API Gateway itself sends for 401, 403, 404 and 429.
        components.schemas.insert(
            "GatewayMessage".into(),
            ObjectBuilder::new()
                .property("message", ObjectBuilder::new().schema_type(Type::String))
                .required("message")
                .into(),
        );
        // API Gateway answers these itself, before any function runs, with its
        // own body; a function reached without an authorizer context answers
        // 401 with the error envelope.
        let unauthorized = ResponseBuilder::new()
            .description("No session token (API Gateway), or no authorizer context")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(
                        OneOfBuilder::new()
                            .item(Ref::from_schema_name("GatewayMessage"))
                            .item(Ref::from_schema_name("ErrorResponse")),
                    ))
                    .build(),
            )
            .build();
        let forbidden = ResponseBuilder::new()
            .description("Session token refused by the authorizer (API Gateway)")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("GatewayMessage")))
                    .build(),
            )
            .build();
        let over_quota = ResponseBuilder::new()
            .description("Over the caller's quota of writes (RATE_LIMITED): retry after `Retry-After` seconds")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for (method, operation) in operations(item) {
                // Public operations say so with an empty list.
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    let responses = &mut operation.responses.responses;
                    responses.insert("401".into(), unauthorized.clone().into());
                    match responses.get_mut("403") {
                        // The route's own 403 (the error envelope): either body.
                        Some(RefOr::T(own)) => {
                            own.description = format!(
                                "{}. Or the session token was refused by the authorizer (API Gateway, with its own body)",
                                own.description.trim_end_matches('.')
                            );
                            for content in own.content.values_mut() {
                                let mut either = OneOfBuilder::new()
                                    .item(Ref::from_schema_name("GatewayMessage"));
                                if let Some(schema) = content.schema.take() {
                                    either = either.item(schema);
                                }
                                content.schema = Some(either.into());
                            }
                        }
                        _ => {
                            responses.insert("403".into(), forbidden.clone().into());
                        }
                    }
                    if method != "get" {
                        responses
                            .entry("429".into())
                            .or_insert_with(|| over_quota.clone().into());
                    }
                }
            }
        }
    }
}

/// utoipa gives every operation of one handler its name as `operationId`;
/// the proxy's handler serves five methods, and ids must be unique: each
/// such operation gets its method appended (`proxy_call_get`, …).
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let mut operations = operations(item);
            let ids: Vec<_> = operations
                .iter()
                .map(|(_, o)| o.operation_id.clone())
                .collect();
            for (method, operation) in &mut operations {
                let twins = ids
                    .iter()
                    .filter(|id| **id == operation.operation_id)
                    .count();
                if let (2.., Some(id)) = (twins, operation.operation_id.as_mut()) {
                    *id = format!("{id}_{method}");
                }
            }
        }
    }
}

/// The operations of a path item that this API uses, with their methods.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut utoipa::openapi::path::Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation.as_mut()?)))
    .collect()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "AdsConnect", description = "Clerk sign-in and Amazon Advertising connections"),
    // Relative: the API is wherever this document is served from (API
    // Gateway's URL, a custom domain, or the local stack).
    servers((url = "/", description = "The origin serving this document")),
    paths(
        super::health::health,
        openapi_json,
        super::users::me,
        super::users::me_full,
        super::users::my_accounts,
        super::users::session,
        super::settings::get_settings,
        super::settings::patch_settings,
        super::settings::reset_settings,
        super::settings::default_settings,
        super::webhook::receive,
        super::amazon::connect,
        super::amazon::callback,
        super::amazon::complete,
        super::connections::list_connections,
        super::connections::get_connection,
        super::connections::delete_connection,
        super::connections::reauthorize,
        super::connections::sync,
        super::moves::move_connection,
        super::connections::connection_events,
        super::accounts::list_accounts,
        super::accounts::accounts_health,
        super::accounts::get_account,
        super::accounts::delete_account,
        super::accounts::set_default,
        super::seats::get_seats,
        super::seats::refresh_seats,
        super::seats::seat_history,
        super::reports::request_report,
        super::reports::list_reports,
        super::reports::get_report,
        super::report_schedules::list_schedules,
        super::report_schedules::get_schedule,
        super::report_schedules::put_schedule,
        super::report_schedules::delete_schedule,
        super::ads_proxy::proxy_call,
    ),
    components(schemas(
        super::moves::Destination,
        ErrorResponse, ErrorBody, AccountId, ConnectionId, RefreshIntervalHours, ItemsPerPage,
        Timezone, AccountSort,
    )),
    modifiers(&SessionSecurity, &UniqueOperationIds),
)]
pub struct ApiDoc;

/// The description as served; built once per process.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc
    })
}

/// This OpenAPI description
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200, description = "This description", content_type = "application/json")), security())]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}
