"""Single-threaded moto server on loopback.

The stock `moto_server` is threaded and moto's backends take no locks, so two
concurrent conditional writes to one item can both succeed. Real DynamoDB
serialises them; serving one request at a time restores that.
"""
import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
app = DomainDispatcherApplication(create_backend_app)
run_simple("127.0.0.1", port, app, threaded=False, use_reloader=False)
