"""Checkout clients: threads that place orders through POST /api/orders the way a real
checkout page does, each checkout with its own Idempotency-Key, retried with the SAME key
and body on a time-out, a connection error, a 5xx or a 409 (the first request still in
flight), with a growing pause, until an answer or `give_up` seconds."""

import collections
import http.client
import json
import queue
import random
import socket
import threading
import time


def email_of(run_id, n):
    return f"chaos.{run_id}.{n}@example.fr"


def checkout_of(run_id, email):
    """The checkout number a customer's e-mail stands for, else None."""
    prefix = f"chaos.{run_id}."
    if email and email.startswith(prefix):
        head = email[len(prefix):].split("@", 1)[0]
        if head.isdigit():
            return int(head)
    return None


class Checkouts:
    def __init__(self, port, api_key, count, clients, timeout, give_up, run_id):
        self.port = port
        self.api_key = api_key
        self.count = count
        self.timeout = timeout
        self.give_up = give_up
        self.run_id = run_id
        self.todo = queue.Queue()
        for n in range(count):
            self.todo.put(n)
        self.lock = threading.Lock()
        self.results = {}
        self.seen = collections.Counter()  # failures met on the way, by kind
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def body(self, n):
        return {
            "customer": {"kind": "person", "name": f"Client chaos {n}", "address": "3 place du Marché\n69002 Lyon",
                         "email": email_of(self.run_id, n)},
            "items": [{"sku": "MUG", "quantity": 1}, {"sku": "ATELIER", "quantity": 1}],
            "provider": "stripe",
            "payment_method": "pm_card_visa",
        }

    def key(self, n):
        return f"chaos-{self.run_id}-{n}"

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def finished(self):
        return not any(t.is_alive() for t in self.threads)

    def answered(self):
        with self.lock:
            return len(self.results)

    def _client(self):
        while True:
            try:
                n = self.todo.get_nowait()
            except queue.Empty:
                return
            result = self._place(n)
            with self.lock:
                self.results[n] = result

    def _post(self, n, payload):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request("POST", "/api/orders", body=payload, headers={
                "Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json",
                "Idempotency-Key": self.key(n)})
            r = conn.getresponse()
            return r.status, r.getheader("Idempotent-Replayed"), r.read()
        finally:
            conn.close()

    def _place(self, n):
        payload = json.dumps(self.body(n)).encode()
        began = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            failure = None
            try:
                status, replayed, raw = self._post(n, payload)
            except (socket.timeout, TimeoutError):
                failure = "timeout"
            except (OSError, http.client.HTTPException):
                failure = "connection"
            else:
                if status in (200, 201, 202):
                    answer = json.loads(raw)
                    return {"status": status, "attempts": attempts, "replayed": replayed == "true",
                            "order_id": answer["order"]["id"], "payment_id": answer["payment"]["id"]}
                if status >= 500 or status == 409:
                    failure = str(status)
                else:
                    return {"status": status, "attempts": attempts, "refused": raw[:300].decode(errors="replace")}
            with self.lock:
                self.seen[failure] += 1
            if time.monotonic() - began > self.give_up:
                return {"status": None, "attempts": attempts, "abandoned": failure}
            time.sleep(min(2.0, 0.2 * attempts) * (0.5 + random.random()))
