"""Single-threaded moto server on loopback.

The stock `moto_server` is threaded and moto's backends take no locks, so two
concurrent conditional writes to one item can both succeed. Real DynamoDB
serialises them; serving one request at a time restores that.

moto backs a table up for rollback once per item of a transaction (a deep
copy of the whole table each time), which makes a 25-item write to a table of
a few hundred items take seconds; one backup per table is the same rollback.
"""
import copy
import sys
import types

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def transact_with_one_backup_per_table(self, transact_items):
    backups = {}

    def deepcopy(value, memo=None):
        if not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in backups:
            backups[id(value)] = copy.deepcopy(value, memo)
        return backups[id(value)]

    # One request at a time: swapping the module's `copy` is safe.
    dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy)
    try:
        return transact_write_items(self, transact_items)
    finally:
        dynamodb_models.copy = copy


dynamodb_models.DynamoDBBackend.transact_write_items = transact_with_one_backup_per_table

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
app = DomainDispatcherApplication(create_backend_app)
run_simple("127.0.0.1", port, app, threaded=False, use_reloader=False)
