//! The report engine's deployment: the template wires the worker, its
//! queue, dead-letter queue, alarm, bucket and key as the engine expects,
//! each role with only its share of them; the local stack's queue delivers
//! like Lambda's event source mapping, and its bucket keeps every pull.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use adsconnect_dev::provision;
use adsconnect_dev::queue::{BATCH_SIZE, Delivered, QueueDelivery};
use serde_json::{Value, json};

use super::*;

/// The template as JSON: a tag reads `{"!Ref": "Name"}`.
fn template() -> Value {
    serde_json::to_value(load_template().unwrap()).unwrap()
}

fn get_att(resource: &str, attribute: &str) -> Value {
    json!({ "!GetAtt": format!("{resource}.{attribute}") })
}

fn reference(name: &str) -> Value {
    json!({ "!Ref": name })
}

/// Every `Allow` statement of the function's inline policies.
fn statements<'a>(template: &'a Value, function: &str) -> Vec<&'a Value> {
    template["Resources"][function]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|policy| policy["Statement"].as_array().into_iter().flatten())
        .collect()
}

fn actions(statement: &Value) -> BTreeSet<&str> {
    match &statement["Action"] {
        Value::Array(actions) => actions.iter().filter_map(Value::as_str).collect(),
        action => action.as_str().into_iter().collect(),
    }
}

/// The actions of `prefix` (`"s3:"`) the function's policies grant.
fn granted<'a>(template: &'a Value, function: &str, prefix: &str) -> BTreeSet<&'a str> {
    statements(template, function)
        .into_iter()
        .flat_map(actions)
        .filter(|action| action.starts_with(prefix))
        .collect()
}

#[test]
fn the_worker_is_fed_by_its_queue_in_bounded_batches() {
    let template = template();
    let resources = &template["Resources"];
    let mapping = &resources["ReportWorkerQueue"]["Properties"];
    assert_eq!(
        resources["ReportWorkerQueue"]["Type"],
        "AWS::Lambda::EventSourceMapping"
    );
    assert_eq!(mapping["EventSourceArn"], get_att("ReportQueue", "Arn"));
    assert_eq!(mapping["FunctionName"], reference("ReportWorkerFunction"));
    assert_eq!(
        mapping["BatchSize"],
        json!(BATCH_SIZE),
        "queue.rs delivers as many"
    );
    assert_eq!(mapping["MaximumBatchingWindowInSeconds"], 0);
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        mapping["ScalingConfig"]["MaximumConcurrency"],
        reference("ReportWorkerConcurrency")
    );
    let concurrency = &template["Parameters"]["ReportWorkerConcurrency"];
    assert!(concurrency["MinValue"].as_u64() >= Some(2), "SQS's minimum");

    let worker = &resources["ReportWorkerFunction"]["Properties"];
    assert_eq!(worker["CodeUri"], "functions/report-worker");
    let timeout = worker["Timeout"].as_u64().unwrap();
    let queue = &resources["ReportQueue"]["Properties"];
    assert!(
        queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout,
        "a batch in progress is not delivered again"
    );
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        get_att("ReportDeadLetterQueue", "Arn")
    );
    for name in ["ReportQueue", "ReportDeadLetterQueue"] {
        assert!(
            resources[name]["Properties"]["KmsMasterKeyId"].is_string(),
            "{name} encrypted"
        );
    }
    let alarm = &resources["ReportDeadLetterAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], "AWS/SQS");
    assert_eq!(
        alarm["Dimensions"][0]["Value"],
        get_att("ReportDeadLetterQueue", "QueueName")
    );

    // SAM's `SQS` event would attach AWSLambdaSQSQueueExecutionRole: every
    // queue of the account.
    for (id, resource) in resources.as_object().unwrap() {
        for (_, event) in resource["Properties"]["Events"]
            .as_object()
            .into_iter()
            .flatten()
        {
            assert_ne!(event["Type"], "SQS", "{id}");
        }
    }
}

#[test]
fn the_report_bucket_is_private_versioned_and_encrypted_with_its_own_key() {
    let template = template();
    let resources = &template["Resources"];
    let bucket = &resources["ReportBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    let encryption = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        encryption["ServerSideEncryptionByDefault"],
        json!({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": get_att("ReportKey", "Arn")})
    );
    assert_eq!(encryption["BucketKeyEnabled"], true);
    for (setting, value) in bucket["PublicAccessBlockConfiguration"]
        .as_object()
        .unwrap()
    {
        assert_eq!(value, true, "{setting}");
    }
    assert_eq!(
        bucket["PublicAccessBlockConfiguration"]
            .as_object()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        resources["ReportKey"]["Properties"]["EnableKeyRotation"],
        true
    );
    let policy = &resources["ReportBucketPolicy"]["Properties"];
    assert_eq!(policy["Bucket"], reference("ReportBucket"));
    assert!(
        policy["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
        "TLS only"
    );
}

/// The worker reads and writes reports; `users` queues jobs and signs
/// download links (reads); no other function touches either.
#[test]
fn only_the_worker_and_users_reach_the_report_queue_and_bucket() {
    let template = template();
    let resources = template["Resources"].as_object().unwrap();
    let functions: Vec<&str> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, _)| id.as_str())
        .collect();
    for function in functions {
        let variables = &resources[function]["Properties"]["Environment"]["Variables"];
        let (s3, sqs, named): (&[&str], &[&str], bool) = match function {
            "ReportWorkerFunction" => (
                &[
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:ListBucket",
                    "s3:PutObject",
                ],
                &[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                true,
            ),
            "UsersFunction" => (
                &["s3:GetObject", "s3:GetObjectVersion"],
                &["sqs:SendMessage"],
                true,
            ),
            // Its dead-letter destination, not the report queue.
            "EventsPublisherFunction" => (&[], &["sqs:SendMessage"], false),
            _ => (&[], &[], false),
        };
        assert_eq!(
            granted(&template, function, "s3:"),
            s3.iter().copied().collect(),
            "{function}"
        );
        assert_eq!(
            granted(&template, function, "sqs:"),
            sqs.iter().copied().collect(),
            "{function}"
        );
        if named {
            assert_eq!(
                variables["REPORT_QUEUE_URL"],
                reference("ReportQueue"),
                "{function}"
            );
            assert_eq!(
                variables["REPORT_BUCKET"],
                reference("ReportBucket"),
                "{function}"
            );
        } else {
            assert!(variables.get("REPORT_BUCKET").is_none(), "{function}");
        }
        for statement in statements(&template, function) {
            let actions = actions(statement);
            if actions.iter().any(|a| a.starts_with("s3:")) {
                let resource = statement["Resource"].to_string();
                assert!(resource.contains("ReportBucket"), "{function}: {resource}");
            }
            if actions.contains("kms:Decrypt")
                && statement["Resource"] == get_att("ReportKey", "Arn")
            {
                assert_eq!(
                    statement["Condition"]["StringEquals"]["kms:ViaService"],
                    json!({"!Sub": "s3.${AWS::Region}.amazonaws.com"}),
                    "{function}: the report key through S3 only"
                );
            }
        }
    }
}

/// The token key's policy names each role allowed to use it: every function
/// whose policy grants the token key's use (by its alias) is named there for
/// the same actions, or its first token would fail with AccessDenied.
#[test]
fn every_role_using_the_token_key_is_named_in_its_key_policy() {
    let template = template();
    let resources = template["Resources"].as_object().unwrap();
    let key_statements = resources["TokenKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap();
    let named_for = |action: &str| -> BTreeSet<String> {
        key_statements
            .iter()
            .filter(|s| actions(s).contains(action))
            .flat_map(|s| s["Principal"]["AWS"].as_array().into_iter().flatten())
            .filter_map(|principal| principal["!GetAtt"].as_str())
            .map(|att| att.trim_end_matches(".Arn").to_owned())
            .collect()
    };
    for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
        let using: BTreeSet<String> = resources
            .keys()
            .filter(|function| {
                statements(&template, function).into_iter().any(|s| {
                    actions(s).contains(action)
                        && s["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
                            .is_object()
                })
            })
            .map(|function| format!("{function}Role"))
            .collect();
        assert!(using.contains("ReportWorkerFunctionRole"), "{action}");
        assert_eq!(named_for(action), using, "{action}");
    }
}

/// A queue made by `provision` (as `scripts/dev` makes it), three messages
/// (one delayed), a handler that fails one of them.
#[tokio::test]
async fn the_local_queue_delivers_like_lambdas_event_source_mapping() {
    let sdk = provision::emulator_config(&moto_endpoint());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = format!("reports-{}", uuid::Uuid::new_v4().simple());
    let url = provision::ensure_report_queue(&sqs, &name).await.unwrap();
    assert_eq!(
        provision::ensure_report_queue(&sqs, &name).await.unwrap(),
        url,
        "idempotent"
    );
    assert_eq!(provision::queue_name(&url).unwrap(), name);
    for (body, delay) in [("first", 0), ("failing", 0), ("delayed", 2)] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(json!({ "job_id": body }).to_string())
            .delay_seconds(delay)
            .send()
            .await
            .unwrap();
    }
    let delivery = QueueDelivery::attach(sqs.clone(), &url)
        .await
        .unwrap()
        .with_visibility_timeout(StdDuration::from_secs(1));

    // Fails the message whose body says so; records what it was given.
    let seen: RefCell<Vec<Value>> = RefCell::default();
    let mut handler = |event: Value| {
        let failures: Vec<Value> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["body"].as_str().unwrap().contains("failing"))
            .map(|r| json!({ "itemIdentifier": r["messageId"] }))
            .collect();
        seen.borrow_mut().push(event);
        std::future::ready(json!({ "batchItemFailures": failures }))
    };

    let first = delivery.deliver(&mut handler).await.unwrap();
    assert_eq!(
        first,
        Delivered {
            messages: 2,
            failed: 1
        },
        "the delayed one waits"
    );
    let record = seen.borrow().last().unwrap()["Records"][0].clone();
    assert_eq!(record["eventSource"], "aws:sqs");
    assert!(record["eventSourceARN"].as_str().unwrap().ends_with(&name));
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    assert!(record["receiptHandle"].is_string());

    tokio::time::sleep(StdDuration::from_millis(2_200)).await;
    let second = delivery.deliver(&mut handler).await.unwrap();
    assert_eq!(
        second,
        Delivered {
            messages: 2,
            failed: 1
        },
        "the failed one again, and the delayed one"
    );
    let last = seen.borrow().last().unwrap().clone();
    let bodies: BTreeSet<String> = last["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("delayed")), "{bodies:?}");
    let failing = last["Records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["body"].as_str().unwrap().contains("failing"))
        .unwrap();
    assert_eq!(failing["attributes"]["ApproximateReceiveCount"], "2");

    // An answer naming a message not in the batch fails the whole batch.
    tokio::time::sleep(StdDuration::from_millis(1_200)).await;
    let mut unknown = |_event: Value| {
        std::future::ready(
            json!({ "batchItemFailures": [{ "itemIdentifier": "not-in-the-batch" }] }),
        )
    };
    assert_eq!(
        delivery.deliver(&mut unknown).await.unwrap(),
        Delivered {
            messages: 1,
            failed: 1
        }
    );

    // Five receives in all: the sixth moves it to the dead-letter queue.
    for _ in 0..2 {
        tokio::time::sleep(StdDuration::from_millis(1_200)).await;
        assert_eq!(delivery.deliver(&mut handler).await.unwrap().failed, 1);
    }
    tokio::time::sleep(StdDuration::from_millis(1_200)).await;
    assert_eq!(
        delivery.deliver(&mut handler).await.unwrap(),
        Delivered::default()
    );
    let dead_letter = sqs
        .get_queue_url()
        .queue_name(format!("{name}-dead-letter"))
        .send()
        .await
        .unwrap();
    let moved = sqs
        .receive_message()
        .queue_url(dead_letter.queue_url().unwrap())
        .send()
        .await
        .unwrap();
    let moved = moved.messages();
    assert_eq!(moved.len(), 1);
    assert!(moved[0].body().unwrap().contains("failing"));
}

/// `provision`'s bucket, like the template's: a key written twice keeps
/// both pulls.
#[tokio::test]
async fn the_local_report_bucket_keeps_every_pull_as_a_version() {
    let s3 = adsconnect::startup::s3_client(&provision::emulator_config(&moto_endpoint()));
    let bucket = format!("reports-{}", uuid::Uuid::new_v4().simple());
    provision::ensure_report_bucket(&s3, &bucket).await.unwrap();
    provision::ensure_report_bucket(&s3, &bucket).await.unwrap();
    let key = "user_2abc/account/campaigns/date=2026-12-01/report.json.gz";
    for pull in ["first pull", "restated"] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(pull.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let versions = s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix(key)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);
}
