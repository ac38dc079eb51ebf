"""service.py - a five-thread program shaped like the services pyflare is
pointed at, for the capture's size figures (bench/capture_size.py --program
service): one thread serves HTTP (http.server on the loopback), two are
clients that post JSON orders to it and check the answers, one restocks an
in-memory SQLite table that the server reads, and the main thread reports on
that table now and then; every request is logged through logging (to
os.devnull: the formatting and the write are done, no file grows). Its stacks are deep (socketserver, http.server,
email's header parser, json, sqlite3, logging) and many, as a real
service's are; five.py is the opposite case (few, shallow stacks that change
at almost every sample). Standard library only. Runs until killed."""
import http.client
import http.server
import json
import logging
import os
import random
import re
import sqlite3
import threading
import time

DB_LOCK = threading.Lock()
DB = sqlite3.connect(":memory:", check_same_thread=False)
DB.execute("create table stock (item text primary key, qty integer, price real)")
DB.executemany("insert into stock values (?, ?, ?)",
               [("item%04d" % i, random.randrange(100), random.random() * 100) for i in range(2000)])
LOG = logging.getLogger("service")
SKU = re.compile(r"^item(\d{4})$")


def price_order(order):
    total = 0.0
    with DB_LOCK:
        for line in order["lines"]:
            m = SKU.match(line["item"])
            if not m:
                raise ValueError(line["item"])
            row = DB.execute("select qty, price from stock where item = ?", (line["item"],)).fetchone()
            total += min(row[0], line["qty"]) * row[1]
    return {"id": order["id"], "total": round(total, 2), "lines": len(order["lines"])}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps(price_order(json.loads(body))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, fmt, *args):
        LOG.info(fmt, *args)


def client(port, seed):
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    n = 0
    while True:
        n += 1
        order = {"id": n, "lines": [{"item": "item%04d" % rnd.randrange(2000), "qty": rnd.randrange(1, 9)}
                                    for _ in range(rnd.randrange(1, 40))]}
        conn.request("POST", "/order", json.dumps(order), {"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        assert answer["id"] == n
        time.sleep(rnd.random() * 0.01)


def restock():
    while True:
        time.sleep(0.05)
        with DB_LOCK:
            DB.executemany("update stock set qty = qty + ? where item = ?",
                           [(random.randrange(5), "item%04d" % random.randrange(2000)) for _ in range(50)])


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
logging.basicConfig(filename=os.devnull, level=logging.INFO,
                    format="%(asctime)s %(threadName)s %(message)s")
threading.Thread(target=server.serve_forever, name="server", daemon=True).start()
for seed in (1, 2):
    threading.Thread(target=client, args=(server.server_address[1], seed), name="client-%d" % seed,
                     daemon=True).start()
threading.Thread(target=restock, name="restock", daemon=True).start()
while True:  # the main thread: a report of the table now and then
    time.sleep(0.2)
    with DB_LOCK:
        DB.execute("select sum(qty * price), count(*) from stock where qty > 0").fetchone()
