"""A Stripe stand-in that speaks what src/providers/stripe/ sends: form-encoded
POST /v1/payment_intents (confirm=true) and .../{id}/capture, GET /v1/payment_intents/{id},
GET /v1/payment_intents/search (metadata queries), POST /v1/refunds. Like Stripe it honours
Idempotency-Key: the same key and parameters answer the first answer again (same
PaymentIntent, header Idempotent-Replayed: true), other parameters are refused (400
idempotency_error), a new key makes a new object. Every PaymentIntent is recorded with its
key, amount and metadata, for counting charges per checkout afterwards. JSON shapes follow
tests/providers_replay/fixtures/stripe_*.json."""

import copy
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

SECRET_KEY = "sk_test_51ChaosHarnessStandIn0000"


def stripe_error(status, kind, message, code=None):
    return status, {"error": {"type": kind, "code": code, "message": message}}


class StripeStandIn:
    def __init__(self, delay_ms=0):
        self.delay = delay_ms / 1000.0
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.intents = {}        # id -> PaymentIntent (dict)
        self.keyed = {}          # Idempotency-Key -> (method path params, status, body)
        self.key_of_intent = {}  # id -> the key that created it
        self.requests = 0
        self.replays = 0
        self.mismatches = 0
        self.unexpected = []     # requests outside the documented API
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def do_GET(self):
                stand_in.serve(self, "GET")

            def do_POST(self):
                stand_in.serve(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- HTTP --------------------------------------------------------------------------

    def serve(self, h, method):
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode() if length else ""
        url = urlsplit(h.path)
        params = parse_qsl(raw if method == "POST" else url.query, keep_blank_values=True)
        replayed = False
        if h.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
            status, body = stripe_error(401, "invalid_request_error", "Invalid API Key provided")
        elif method == "POST":
            status, body, replayed = self.post(url.path, params, h.headers.get("Idempotency-Key"))
        else:
            status, body = self.get(url.path, params)
        if self.delay:
            time.sleep(self.delay)
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Request-Id", f"req_chaos{next(self.ids)}")
        if replayed:
            h.send_header("Idempotent-Replayed", "true")
        h.end_headers()
        h.wfile.write(data)

    def post(self, path, params, key):
        with self.lock:
            self.requests += 1
            if not key:
                self.unexpected.append(f"POST {path} without Idempotency-Key")
                return (*stripe_error(400, "invalid_request_error", "Idempotency-Key required by this stand-in"), False)
            fingerprint = (path, sorted(params))
            if key in self.keyed:
                first, status, body = self.keyed[key]
                if first != fingerprint:
                    self.mismatches += 1
                    return (*stripe_error(400, "idempotency_error",
                                          "Keys for idempotent requests can only be used with the same parameters "
                                          "they were first used with.", "idempotency_key_reused"), False)
                self.replays += 1
                return status, copy.deepcopy(body), True
            status, body = self.act(path, dict(params), params, key)
            body = copy.deepcopy(body)
            if status < 500:
                self.keyed[key] = (fingerprint, status, copy.deepcopy(body))
            return status, body, False

    def act(self, path, form, params, key):
        if path == "/v1/payment_intents":
            return 200, self.create_intent(form, params, key)
        m = re.fullmatch(r"/v1/payment_intents/([^/]+)/capture", path)
        if m:
            intent = self.intents.get(m.group(1))
            if intent is None:
                return stripe_error(404, "invalid_request_error", "No such payment_intent", "resource_missing")
            if intent["status"] == "requires_capture":
                intent["status"] = "succeeded"
                intent["amount_received"] = intent["amount"]
            return 200, intent
        if path == "/v1/refunds":
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None:
                return stripe_error(404, "invalid_request_error", "No such payment_intent", "resource_missing")
            return 200, {"id": f"re_chaos{next(self.ids)}", "object": "refund", "amount": int(form.get("amount", 0)),
                         "currency": intent["currency"], "payment_intent": intent["id"], "status": "succeeded",
                         "metadata": metadata_of(params)}
        self.unexpected.append(f"POST {path}")
        return stripe_error(404, "invalid_request_error", f"Unrecognized request URL (POST: {path})")

    def create_intent(self, form, params, key):
        amount = int(form["amount"])
        pid = f"pi_chaos{next(self.ids):08d}"
        manual = form.get("capture_method") == "manual"
        fee = round(amount * 0.015) + 25
        intent = {
            "id": pid, "object": "payment_intent", "amount": amount,
            "amount_received": 0 if manual else amount, "capture_method": form.get("capture_method", "automatic"),
            "client_secret": f"{pid}_secret_chaos", "confirmation_method": "automatic", "created": int(time.time()),
            "currency": form.get("currency", "eur"), "customer": form.get("customer"),
            "description": form.get("description"), "last_payment_error": None, "livemode": False,
            "latest_charge": {
                "id": pid.replace("pi_", "ch_"), "object": "charge", "amount": amount, "captured": not manual,
                "balance_transaction": {"id": pid.replace("pi_", "txn_"), "object": "balance_transaction",
                                        "amount": amount, "currency": form.get("currency", "eur"), "fee": fee,
                                        "net": amount - fee, "status": "pending", "type": "charge"},
                "paid": True, "payment_intent": pid, "status": "succeeded",
            },
            "metadata": metadata_of(params), "next_action": None, "payment_method": form.get("payment_method"),
            "payment_method_types": ["card"], "status": "requires_capture" if manual else "succeeded",
            "cancellation_reason": None,
        }
        self.intents[pid] = intent
        self.key_of_intent[pid] = key
        return intent

    def get(self, path, params):
        with self.lock:
            self.requests += 1
            if path == "/v1/payment_intents/search":
                query = dict(params).get("query", "")
                found = [copy.deepcopy(i) for i in self.intents.values() if matches(i, query)]
                return 200, {"object": "search_result", "data": found, "has_more": False, "next_page": None,
                             "url": "/v1/payment_intents/search"}
            m = re.fullmatch(r"/v1/payment_intents/([^/]+)", path)
            if m and unquote(m.group(1)) in self.intents:
                return 200, copy.deepcopy(self.intents[unquote(m.group(1))])
            if not m:
                self.unexpected.append(f"GET {path}")
            return stripe_error(404, "invalid_request_error", f"No such payment_intent: {path}", "resource_missing")

    # -- what was charged -------------------------------------------------------------

    def snapshot(self):
        """Every PaymentIntent: (id, status, amount, the key that created it, metadata)."""
        with self.lock:
            return [(i["id"], i["status"], i["amount"], self.key_of_intent[i["id"]], dict(i["metadata"]))
                    for i in self.intents.values()]


def metadata_of(params):
    return {k[len("metadata["):-1]: v for k, v in params if k.startswith("metadata[") and k.endswith("]")}


def matches(intent, query):
    """Stripe's search syntax for what a client may ask: metadata['k']:'v' clauses
    joined by AND (also status:'succeeded')."""
    for clause in re.split(r"\s+AND\s+", query.strip()):
        m = re.fullmatch(r"metadata\[['\"](.+?)['\"]\]:['\"](.*)['\"]", clause.strip())
        if m:
            if intent["metadata"].get(m.group(1)) != m.group(2):
                return False
            continue
        m = re.fullmatch(r"(\w+):['\"](.*)['\"]", clause.strip())
        if m and str(intent.get(m.group(1))) == m.group(2):
            continue
        return False
    return bool(query.strip())
