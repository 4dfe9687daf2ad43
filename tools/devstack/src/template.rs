//! Reads `template.yaml`, the single source of truth: the DynamoDB table
//! definition (and creates the same table in an emulator), the functions,
//! the HTTP API's CORS, and each function's configuration as Lambda gives it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde::Deserialize;

use crate::BoxError;
use crate::runtime_api::FunctionSpec;

/// The logical id of the table in `template.yaml`.
pub const TABLE_RESOURCE: &str = "Table";

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub billing_mode: String,
    pub attribute_definitions: Vec<Attribute>,
    pub key_schema: Vec<Key>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Index>,
    pub time_to_live_specification: Option<Ttl>,
    pub stream_specification: Option<Stream>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Stream {
    pub stream_view_type: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Key {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Index {
    pub index_name: String,
    pub key_schema: Vec<Key>,
    pub projection: IndexProjection,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IndexProjection {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Ttl {
    pub attribute_name: String,
    pub enabled: bool,
}

/// `template.yaml` at the workspace root.
pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}

/// The whole template as YAML; CloudFormation tags (`!Ref`) stay tagged values.
pub fn load_template() -> Result<serde_yaml::Value, BoxError> {
    let text = std::fs::read_to_string(template_path())?;
    Ok(serde_yaml::from_str(&text)?)
}

/// Every function: its `BuildProperties.Binary` and its logical id.
pub fn functions() -> Result<Vec<(String, String)>, BoxError> {
    let template = load_template()?;
    let resources = template
        .get("Resources")
        .and_then(serde_yaml::Value::as_mapping)
        .ok_or("template.yaml has no Resources")?;
    Ok(resources
        .iter()
        .filter_map(|(id, resource)| {
            let binary = resource
                .get("Metadata")?
                .get("BuildProperties")?
                .get("Binary")?
                .as_str()?;
            Some((binary.to_owned(), id.as_str()?.to_owned()))
        })
        .collect())
}

/// The logical id of the function built from `binary` (its
/// `BuildProperties.Binary`): `sam build` puts its bootstrap in
/// `.aws-sam/build/<logical id>/`.
pub fn logical_id_of(binary: &str) -> Result<String, BoxError> {
    functions()?
        .into_iter()
        .find_map(|(built_from, id)| (built_from == binary).then_some(id))
        .ok_or_else(|| format!("template.yaml has no function built from {binary}").into())
}

/// `HttpApi`'s `CorsConfiguration` (its `AllowOrigins` is a parameter; the
/// local stack takes the origins from the variable that parameter sets).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cors {
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: u64,
}

pub fn http_api_cors() -> Result<Cors, BoxError> {
    let template = load_template()?;
    let mut cors = template
        .get("Resources")
        .and_then(|r| r.get("HttpApi"))
        .and_then(|t| t.get("Properties"))
        .and_then(|p| p.get("CorsConfiguration"))
        .cloned()
        .ok_or("template.yaml has no Resources.HttpApi.Properties.CorsConfiguration")?;
    if let Some(map) = cors.as_mapping_mut() {
        map.remove("AllowOrigins");
    }
    Ok(serde_yaml::from_value(cors)?)
}

pub fn table_definition() -> Result<TableDefinition, BoxError> {
    let template = load_template()?;
    let properties = template
        .get("Resources")
        .and_then(|r| r.get(TABLE_RESOURCE))
        .and_then(|t| t.get("Properties"))
        .ok_or("template.yaml has no Resources.Table.Properties")?;
    Ok(serde_yaml::from_value(properties.clone())?)
}

fn key_schema(keys: &[Key]) -> Result<Vec<KeySchemaElement>, BoxError> {
    keys.iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()?)
        })
        .collect()
}

/// Creates the table as the template defines it (and enables its TTL).
/// Whether a created table gets the template's stream: moto keeps every
/// stream record in memory and slows down with them, so tests that do not
/// read the stream leave it off (it changes nothing else about the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithStream {
    Yes,
    No,
}

pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    with_stream: WithStream,
) -> Result<(), BoxError> {
    let definition = table_definition()?;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(definition.billing_mode.as_str()))
        .set_key_schema(Some(key_schema(&definition.key_schema)?));
    for attribute in &definition.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(ScalarAttributeType::from(attribute.attribute_type.as_str()))
                .build()?,
        );
    }
    for index in &definition.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(
                index.projection.projection_type.as_str(),
            ))
            .set_non_key_attributes(
                (!index.projection.non_key_attributes.is_empty())
                    .then(|| index.projection.non_key_attributes.clone()),
            )
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection)
                .build()?,
        );
    }
    if let (Some(stream), WithStream::Yes) = (&definition.stream_specification, with_stream) {
        request = request.stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(
                    stream.stream_view_type.as_str(),
                ))
                .build()?,
        );
    }
    request.send().await?;
    if let Some(ttl) = definition.time_to_live_specification {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

impl FunctionSpec {
    /// The function whose `BuildProperties.Binary` is `binary` in
    /// `template.yaml`: its memory, timeout, log format and environment. Each
    /// variable takes its value from `local` (the local stack's resources and
    /// settings), else the template's literal or its parameter's default;
    /// variables with neither are left unset.
    pub fn from_template(
        binary: &str,
        bootstrap: PathBuf,
        local: &HashMap<String, String>,
    ) -> Result<Self, BoxError> {
        let template = load_template()?;
        let function = template
            .get("Resources")
            .and_then(serde_yaml::Value::as_mapping)
            .and_then(|resources| {
                resources.values().find(|r| {
                    r.get("Metadata")
                        .and_then(|m| m.get("BuildProperties"))
                        .and_then(|b| b.get("Binary"))
                        .and_then(serde_yaml::Value::as_str)
                        == Some(binary)
                })
            })
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| format!("template.yaml has no function built from {binary}"))?;
        let globals = template.get("Globals").and_then(|g| g.get("Function"));
        let property = |name: &str| {
            function
                .get(name)
                .or_else(|| globals.and_then(|g| g.get(name)))
        };
        let parameter_default = |name: &str| {
            template
                .get("Parameters")
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("Default"))
                .and_then(scalar)
        };
        let mut env = Vec::new();
        let variables = [globals, Some(function)]
            .into_iter()
            .flatten()
            .filter_map(|f| {
                f.get("Environment")
                    .and_then(|e| e.get("Variables"))
                    .and_then(serde_yaml::Value::as_mapping)
            });
        for (name, value) in variables.flat_map(|v| v.iter()) {
            let Some(name) = name.as_str() else { continue };
            let value = local.get(name).cloned().or_else(|| match value {
                serde_yaml::Value::Tagged(tagged) if tagged.tag == "Ref" => {
                    tagged.value.as_str().and_then(parameter_default)
                }
                other => scalar(other),
            });
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                env.push((name.to_owned(), value));
            }
        }
        // What Lambda sets for a function with `LoggingConfig: LogFormat: JSON`.
        if let Some(logging) = property("LoggingConfig")
            && logging.get("LogFormat").and_then(serde_yaml::Value::as_str) == Some("JSON")
        {
            let level = logging
                .get("ApplicationLogLevel")
                .and_then(serde_yaml::Value::as_str)
                .unwrap_or("INFO");
            env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
            env.push(("AWS_LAMBDA_LOG_LEVEL".into(), level.into()));
        }
        Ok(Self {
            name: binary.to_owned(),
            bootstrap,
            memory_mb: property("MemorySize")
                .and_then(serde_yaml::Value::as_u64)
                .unwrap_or(128),
            timeout: Duration::from_secs(
                property("Timeout")
                    .and_then(serde_yaml::Value::as_u64)
                    .unwrap_or(3),
            ),
            env,
            log: None,
            runner: Vec::new(),
        })
    }
}

fn scalar(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
