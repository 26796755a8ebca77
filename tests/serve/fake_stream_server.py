"""A stand-in completions server for serve_bench_test.sh with known timing and no `usage`: each
streamed request gets max_tokens chunks of text "t", the first after FIRST_S seconds and the others
GAP_S apart, then a finish chunk and [DONE]. Every request body is appended, one JSON a line, to
the log file. GET /v1/models names the model "fake". Prints its URL on stderr, then serves until
killed.

    python3 fake_stream_server.py LOG_FILE
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIRST_S = 0.2
GAP_S = 0.05


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(sys.argv[1], "a") as log:
            log.write(json.dumps(request) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

        def event(data):
            self.wfile.write(f"data: {data}\n\n".encode())
            self.wfile.flush()

        def chunk(text, finish):
            return json.dumps({"object": "text_completion",
                               "choices": [{"index": 0, "text": text, "finish_reason": finish}]})

        time.sleep(FIRST_S)
        for i in range(request["max_tokens"]):
            if i > 0:
                time.sleep(GAP_S)
            event(chunk("t", None))
        event(chunk("", "length"))
        event("[DONE]")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"fake_stream_server: on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
server.serve_forever()
