//! The throttles on a connection item (`crate::model::throttle`): one map
//! attribute, each unit written on its own by a conditional UpdateItem that
//! expects no version and advances none — a throttle is a shared hint, not
//! part of the connection's state, so it never makes a refresh's or a
//! sync's write fail. Only the proxy's throttled path writes here.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::connections::connection_key;
use super::{Item, Store, StoreError, is_condition_failure, keys, number};
use crate::model::connection::DueConnection;
use crate::model::throttle::Throttle;

const THROTTLES: &str = "throttles";
const UNTIL: &str = "until_ms";
const STEP: &str = "step_ms";

/// How a claim of a unit's next slot ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller's slot (epoch milliseconds); the unit's next free one is
    /// a step later.
    Slot { at_ms: i64, step_ms: i64 },
    /// The queue reaches past what the caller can wait: the unit as it is.
    TooLate(Throttle),
    /// The unit is no longer throttled.
    Ended,
}

/// The throttle map of the connection items.
#[derive(Clone, Copy)]
pub struct Throttles<'a>(pub(super) &'a Store);

impl Throttles<'_> {
    /// An UpdateItem of `connection`'s item, where every write here starts.
    fn update(&self, connection: &DueConnection) -> UpdateItemFluentBuilder {
        self.0
            .client
            .update_item()
            .table_name(self.0.table())
            .set_key(Some(connection_key(
                &connection.owner,
                &connection.connection_id,
            )))
    }

    /// Records that Amazon throttles `unit` until `throttle.until_ms`,
    /// unless a later end is already recorded, removing the units in
    /// `ended` on the way so the map stays small. Returns the unit as it
    /// now stands; `None` when the connection is gone.
    pub async fn record(
        &self,
        connection: &DueConnection,
        unit: &str,
        throttle: Throttle,
        ended: &[String],
    ) -> Result<Option<Throttle>, StoreError> {
        let ended: Vec<&String> = ended.iter().filter(|e| *e != unit).collect();
        let mut update = "SET #t.#u = :throttle".to_owned();
        if !ended.is_empty() {
            let paths: Vec<String> = (0..ended.len()).map(|i| format!("#t.#e{i}")).collect();
            update.push_str(&format!(" REMOVE {}", paths.join(", ")));
        }
        let mut request = self
            .update(connection)
            .update_expression(update)
            .condition_expression(
                "attribute_exists(#pk) AND attribute_exists(#t) \
                 AND (attribute_not_exists(#t.#u) OR #t.#u.#until < :until)",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#t", THROTTLES)
            .expression_attribute_names("#u", unit)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":throttle", serde_dynamo::to_attribute_value(throttle)?)
            .expression_attribute_values(":until", number(throttle.until_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (i, name) in ended.iter().enumerate() {
            request = request.expression_attribute_names(format!("#e{i}"), name.as_str());
        }
        let old = match request.send().await {
            Ok(_) => return Ok(Some(throttle)),
            Err(error) => failed_item(error)?,
        };
        let Some(old) = old else {
            return Ok(None);
        };
        if old.contains_key(THROTTLES) {
            // A later end was recorded first: that one stands.
            return Ok(unit_of(&old, unit).or(Some(throttle)));
        }
        self.start_map(connection, unit, throttle).await
    }

    /// The connection's first throttle: the map is created holding it.
    async fn start_map(
        &self,
        connection: &DueConnection,
        unit: &str,
        throttle: Throttle,
    ) -> Result<Option<Throttle>, StoreError> {
        let map = AttributeValue::M(
            [(unit.to_owned(), serde_dynamo::to_attribute_value(throttle)?)]
                .into_iter()
                .collect(),
        );
        let sent = self
            .update(connection)
            .update_expression("SET #t = :map")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#t)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#t", THROTTLES)
            .expression_attribute_values(":map", map)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Some(throttle)),
            // Gone, or another instance created the map first: its unit
            // (or, if it recorded another unit, this one is not yet there
            // and the next throttled answer records it).
            Err(error) => {
                Ok(failed_item(error)?.map(|old| unit_of(&old, unit).unwrap_or(throttle)))
            }
        }
    }

    /// Takes the next free slot of `unit` if it is no later than
    /// `latest_ms`: one atomic increment, so however many instances claim
    /// at once each gets its own slot, a step apart, with one write.
    pub async fn claim(
        &self,
        connection: &DueConnection,
        unit: &str,
        now_ms: i64,
        latest_ms: i64,
    ) -> Result<Claim, StoreError> {
        let sent = self
            .update(connection)
            .update_expression("SET #t.#u.#until = #t.#u.#until + #t.#u.#step")
            .condition_expression("#t.#u.#until > :now AND #t.#u.#until <= :latest")
            .expression_attribute_names("#t", THROTTLES)
            .expression_attribute_names("#u", unit)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_names("#step", STEP)
            .expression_attribute_values(":now", number(now_ms))
            .expression_attribute_values(":latest", number(latest_ms))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let (item, claimed) = match sent {
            Ok(output) => (output.attributes, true),
            Err(error) => (failed_item(error)?, false),
        };
        Ok(match item.and_then(|item| unit_of(&item, unit)) {
            Some(old) if claimed => Claim::Slot {
                at_ms: old.until_ms,
                step_ms: old.step_ms,
            },
            Some(now) if now.until_ms > now_ms => Claim::TooLate(now),
            _ => Claim::Ended,
        })
    }

    /// Amazon answered normally the call that held the slot before
    /// `next_ms`: when nobody queued after it, `unit` is no longer
    /// throttled (with others queued, they keep their slots).
    pub async fn clear(
        &self,
        connection: &DueConnection,
        unit: &str,
        next_ms: i64,
    ) -> Result<(), StoreError> {
        let sent = self
            .update(connection)
            .update_expression("REMOVE #t.#u")
            .condition_expression("#t.#u.#until = :next")
            .expression_attribute_names("#t", THROTTLES)
            .expression_attribute_names("#u", unit)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":next", number(next_ms))
            .send()
            .await;
        match sent {
            Err(error) if !is_condition_failure(&error) => Err(error.into()),
            _ => Ok(()),
        }
    }
}

/// The item a failed condition saw (`None`: there was none); any other
/// failure is the store's error.
fn failed_item<R>(error: SdkError<UpdateItemError, R>) -> Result<Option<Item>, StoreError>
where
    SdkError<UpdateItemError, R>: Into<StoreError>,
{
    match error {
        SdkError::ServiceError(e) if e.err().is_conditional_check_failed_exception() => {
            Ok(match e.err() {
                UpdateItemError::ConditionalCheckFailedException(failed) => failed.item().cloned(),
                _ => None,
            })
        }
        other => Err(other.into()),
    }
}

fn unit_of(item: &Item, unit: &str) -> Option<Throttle> {
    let value = item.get(THROTTLES)?.as_m().ok()?.get(unit)?.clone();
    serde_dynamo::from_attribute_value(value).ok()
}
