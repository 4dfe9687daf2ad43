//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route of
//! every function, generated from the handlers and types themselves.

use axum::Json;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OneOfBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{ErrorBody, ErrorResponse};
use crate::ids::{AccountId, ConnectionId, OrgId, SessionId, UserId};
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
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.security.is_some() {
                    let responses = &mut operation.responses.responses;
                    responses.insert("401".into(), unauthorized.clone().into());
                    responses.insert("403".into(), forbidden.clone().into());
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "AdsConnect", description = "Clerk sign-in and Amazon Advertising connections"),
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
        super::connections::connection_events,
        super::accounts::list_accounts,
        super::accounts::accounts_health,
        super::accounts::get_account,
        super::accounts::delete_account,
        super::accounts::set_default,
        super::seats::get_seats,
        super::seats::refresh_seats,
        super::seats::seat_history,
        super::ads_proxy::proxy_call,
    ),
    components(schemas(
        ErrorResponse, ErrorBody, UserId, SessionId, OrgId, AccountId, ConnectionId,
        RefreshIntervalHours, ItemsPerPage, Timezone,
    )),
    modifiers(&SessionSecurity),
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

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200, description = "This description", content_type = "application/json")))]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}
