#!/usr/bin/env python3
"""Traffic for the end-to-end tests, in whatever network namespace it runs in.

  netprobe.py serve PORT...              TCP and UDP echo on every PORT (IPv4 and IPv6)
  netprobe.py probe tcp|udp HOST PORT [--timeout S]
                                         exit 0 when connected (TCP) or when
                                         the echo came back (UDP), 1 when not
  netprobe.py batch                      reads "ID tcp|udp HOST PORT TIMEOUT"
                                         lines, probes each in its own thread,
                                         answers "ID 1" or "ID 0" per line: one
                                         long-lived prober per namespace, so a
                                         truth table costs no process start
"""
import argparse
import selectors
import socket
import sys
import threading


def serve(ports):
    sel = selectors.DefaultSelector()
    for port in ports:
        for family, any_addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            try:
                t = socket.socket(family, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                t.bind((any_addr, port))
                t.listen(128)
                t.setblocking(False)
                sel.register(t, selectors.EVENT_READ, "accept")
                u = socket.socket(family, socket.SOCK_DGRAM)
                if family == socket.AF_INET6:
                    u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                u.bind((any_addr, port))
                u.setblocking(False)
                sel.register(u, selectors.EVENT_READ, "udp")
            except OSError as e:
                if family == socket.AF_INET:
                    sys.exit(f"netprobe: cannot serve port {port}: {e}")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "accept":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "conn")
            elif key.data == "udp":
                try:
                    data, peer = sock.recvfrom(2048)
                    sock.sendto(data, peer)
                except OSError:
                    pass
            else:
                try:
                    data = sock.recv(2048)
                except OSError:
                    data = b""
                if data:
                    try:
                        sock.send(data)
                    except OSError:
                        pass
                else:
                    sel.unregister(sock)
                    sock.close()


def probe(proto, host, port, timeout):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            s.send(b"podfence-probe")
            return s.recv(64) == b"podfence-probe"
        except OSError:
            return False


def batch():
    lock = threading.Lock()

    def one(line):
        ident, proto, host, port, timeout = line.split()
        ok = probe(proto, host, int(port), float(timeout))
        with lock:
            sys.stdout.write(f"{ident} {1 if ok else 0}\n")
            sys.stdout.flush()

    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip():
            threading.Thread(target=one, args=(line,), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("ports", type=int, nargs="+")
    p = sub.add_parser("probe")
    p.add_argument("proto", choices=["tcp", "udp"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=1.0)
    sub.add_parser("batch")
    a = ap.parse_args()
    if a.cmd == "serve":
        serve(a.ports)
    if a.cmd == "batch":
        batch()
        return
    sys.exit(0 if probe(a.proto, a.host, a.port, a.timeout) else 1)


if __name__ == "__main__":
    main()
