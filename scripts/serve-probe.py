#!/usr/bin/env python3
"""Probes a `groundlmm serve` binary as the hostile client of issue 19 did, on loopback with the tiny golden models,
and prints one line per row: the status a client saw, the time, and the server's memory (VmRSS / VmHWM of its
process). Not a test (tests/test-serve-hostile.cpp is): it reproduces the issue's numbers at full size.

    /usr/bin/python3 scripts/serve-probe.py [build/bin/groundlmm]
"""
import base64
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "bin", "groundlmm")
llava = os.path.join(root, "tests", "golden", "llava")


def start():
    p = subprocess.Popen([binary, "serve", "-m", f"{llava}/llava-tiny-f32.gguf", "--mmproj",
                          f"{llava}/mmproj-llava-tiny-f32.gguf", "--refiner", "none", "--port", "0", "--queue", "4",
                          "-t", "1"], stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"listening on http://[^:]+:(\d+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()  # drain the log
            return p, int(m.group(1))
    raise SystemExit("the server did not start")


def mem(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return 0.0


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_reply(s, timeout=30.0):
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return 0, buf
            buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        m = re.search(rb"content-length: *(\d+)", head, re.I)
        n = int(m.group(1)) if m else 0
        while len(body) < n:
            d = s.recv(65536)
            if not d:
                break
            body += d
        return int(head.split()[1]), body
    except (socket.timeout, ConnectionError):
        return 0, buf


def roundtrip(port, data, timeout=30.0):
    s = connect(port)
    try:
        s.sendall(data)
    except ConnectionError:
        pass
    r = read_reply(s, timeout)
    s.close()
    return r


def post(path, body, ctype="application/json", extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: p\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" %
            (path.encode(), ctype.encode(), len(body), extra)) + body


def health_ms(port):
    t = time.time()
    st, _ = roundtrip(port, b"GET /health HTTP/1.1\r\nHost: p\r\n\r\n", 120)
    return (time.time() - t) * 1000.0 if st == 200 else float("inf")


def push_until_reply(s, chunk, limit):
    sent = 0
    s.setblocking(False)
    while sent < limit:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            break
        try:
            off = sent % len(chunk)  # the stream stays a repetition of whole chunks
            sent += s.send(chunk[off:])
        except BlockingIOError:
            select.select([s], [s], [], 1.0)
        except ConnectionError:
            break
    s.setblocking(True)
    return sent


def png_grey(side):
    raw = b"".join(b"\x00" + bytes(side) for _ in range(side))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def row(n, what, status, secs, extra=""):
    print(f"| {n} | {what} | {status} | {secs:.2f} s | {extra} |", flush=True)


def main():
    image = open(f"{llava}/image.png", "rb").read()
    b64 = base64.b64encode(image).decode()
    p, port = start()
    pid = p.pid
    print("| # | attack | status | time | server memory |\n| --- | --- | --- | --- | --- |")

    # 1: a gzip bomb, 300 MiB inflated
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    gz = bomb.compress(bytes(300 << 20)) + bomb.flush()
    reset_peak(pid); rss0 = mem(pid, "VmRSS"); t = time.time()
    st, _ = roundtrip(port, post("/ground", gz, extra=b"Content-Encoding: gzip\r\n"))
    row(1, f"gzip body of {len(gz) // 1024} KB inflating to 300 MiB", st, time.time() - t,
        f"peak +{mem(pid, 'VmHWM') - rss0:.0f} MiB")

    # 2: 200 MiB chunked
    reset_peak(pid); rss0 = mem(pid, "VmRSS"); t = time.time()
    s = connect(port)
    s.sendall(b"POST /ground HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent = push_until_reply(s, b"100000\r\n" + b"A" * (1 << 20) + b"\r\n", 200 << 20)
    st, _ = read_reply(s)
    s.close()
    row(2, f"200 MiB chunked body (sent {sent >> 20} MiB before the reply)", st, time.time() - t,
        f"peak +{mem(pid, 'VmHWM') - rss0:.0f} MiB")

    # 3: 64 MiB request line
    reset_peak(pid); rss0 = mem(pid, "VmRSS"); t = time.time()
    s = connect(port)
    sent = push_until_reply(s, b"GET /" + b"a" * (1 << 20), 64 << 20)
    st, _ = read_reply(s)
    s.close()
    row(3, f"64 MiB request line without newline (sent {sent >> 20} MiB before the reply)", st, time.time() - t,
        f"peak +{mem(pid, 'VmHWM') - rss0:.0f} MiB")

    # 4-5: 8 trickling clients (1 byte / 2 s for 10 s); /health meanwhile; then SIGTERM while 8 others trickle
    tricklers = [connect(port) for _ in range(8)]
    for c in tricklers:
        c.sendall(b"POST /ground HTTP/1.1\r\n")
    worst = 0.0; t = time.time()
    while time.time() - t < 10:
        for c in tricklers:
            c.sendall(b"x")
        for _ in range(10):
            worst = max(worst, health_ms(port))
        time.sleep(2)
    row(4, "8 clients trickling 1 byte / 2 s: worst /health of 50", 200, worst / 1000.0,
        f"(the tricklers get 408 at --request-timeout-s 60)")
    for c in tricklers:
        c.close()

    # 6: 8 idle keep-alive clients
    idle = [connect(port) for _ in range(8)]
    for c in idle:
        c.sendall(b"GET /health HTTP/1.1\r\n\r\n"); read_reply(c)
    lat = sorted(health_ms(port) for _ in range(100))
    row(6, "8 keep-alive clients: /health p50 / p95 of 100", 200, lat[94] / 1000.0, f"p50 {lat[49]:.1f} ms")
    for c in idle:
        c.close()

    # 7: a client hangs up while its job waits
    slow = json.dumps({"image_b64": b64, "n_predict": 3000, "prompt": "Describe.", "maps": "none"}).encode()
    first = connect(port); first.sendall(post("/attend", slow))
    time.sleep(0.3)
    second = connect(port); second.sendall(post("/attend", slow))
    time.sleep(0.3)
    second.close(); t = time.time()
    while json.loads(roundtrip(port, b"GET /health HTTP/1.1\r\n\r\n")[1])["withdrawn"] < 1 and time.time() - t < 10:
        time.sleep(0.01)
    h = json.loads(roundtrip(port, b"GET /health HTTP/1.1\r\n\r\n")[1])
    row(7, "client hangs up while its job waits", "-", time.time() - t, f"withdrawn {h['withdrawn']}, queue {h['queue']}")
    read_reply(first, 120); first.close()

    # 8: 5 concurrent 6000x6000 PNGs
    big = png_grey(6000)
    body = json.dumps({"image_b64": base64.b64encode(big).decode(), "answer": "A grey square.", "maps": "none"}).encode()
    reset_peak(pid); rss0 = mem(pid, "VmRSS"); t = time.time()
    cs = [connect(port) for _ in range(5)]
    for c in cs:
        c.sendall(post("/attend", body))
    for _ in range(400):
        hh = json.loads(roundtrip(port, b"GET /health HTTP/1.1\r\n\r\n")[1])
        waiting_rss = mem(pid, "VmRSS") - rss0  # now: the running job and the waiting ones
        if hh["queue"] >= 3:
            break
        time.sleep(0.02)
    sts = [read_reply(c, 300)[0] for c in cs]
    row(8, f"5 concurrent 6000x6000 PNGs of {len(big) // 1024} KB", sts, time.time() - t,
        f"queue_bytes {hh['queue_bytes']}; RSS +{waiting_rss:.0f} MiB with {hh['queue']} waiting; "
        f"peak +{mem(pid, 'VmHWM') - rss0:.0f} MiB")

    # 9-10: refused before queueing
    cases = [
        ("n_predict 3800", {"n_predict": 3800}),
        ("16 KiB prompt", {"prompt": "cat " * 4096}),
        ("answer of 4000 tokens", {"answer": "cat " * 4000}),
        ('"temp": "0x10"', {"temp": "0x10"}),
        ('"prompt": null', {"prompt": None}),
    ]
    for what, extra in cases:
        body = json.dumps({"image_b64": b64, **extra}).encode()
        t = time.time()
        st, rb = roundtrip(port, post("/ground", body))
        row("9-10", what, st, time.time() - t, rb.decode()[:90])
    for what, data in [("JSON as text/plain", post("/ground", b"{}", "text/plain")),
                       ("two Content-Length", b"POST /ground HTTP/1.1\r\nContent-Type: application/json\r\n"
                                              b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"),
                       ("Content-Length: -5", b"POST /ground HTTP/1.1\r\nContent-Type: application/json\r\n"
                                              b"Content-Length: -5\r\n\r\n")]:
        t = time.time()
        st, rb = roundtrip(port, data)
        row(10, what, st, time.time() - t, rb.decode()[:90])

    # 5: SIGTERM while 8 clients trickle
    tricklers = [connect(port) for _ in range(8)]
    for c in tricklers:
        c.sendall(b"POST /ground HTTP/1.1\r\nX: ")
    time.sleep(0.2)
    t = time.time()
    p.send_signal(signal.SIGTERM)
    rc = p.wait(60)
    row(5, "SIGTERM while 8 clients trickle", f"exit {rc}", time.time() - t)


if __name__ == "__main__":
    main()
