#!/usr/bin/env python3
"""A minimal CRI client (what kubelet or crictl would send), for the tests:
grpcio's generic unary calls with hand-encoded protobuf, no generated code.

  cri_client.py --socket S version
  cri_client.py --socket S run-sandbox --name N --namespace NS --uid U
                [--attempt A] [--hostname H] --log-dir D [--cgroup-parent P]
                                       prints the new sandbox's id
  cri_client.py --socket S status ID   prints one JSON object: id, state,
                                       ip, additional_ips, pid, netns
  cri_client.py --socket S stop ID
  cri_client.py --socket S remove ID
  cri_client.py --socket S list        one "ID STATE NAMESPACE/NAME" line each

A failed call prints its gRPC status code and details on stderr and exits 1.

Field numbers are those of the CRI API, package runtime.v1:
kubernetes/kubernetes staging/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto
(also published as k8s.io/cri-api pkg/apis/runtime/v1/api.proto).
"""
import argparse
import json
import sys

try:
    import grpc
except ImportError:
    sys.exit("cri_client: python3-grpcio is not installed")

SERVICE = "/runtime.v1.RuntimeService/"
CRI_API_VERSION = "v1"
SANDBOX_STATES = {0: "SANDBOX_READY", 1: "SANDBOX_NOTREADY"}

# ---- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ----
VARINT, LEN = 0, 2


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, value):
    """One field: an int (varint), str, bytes or an already encoded message
    (bytes). proto3 leaves default values (0, "") off the wire."""
    if isinstance(value, int):  # bool too
        return varint(number << 3 | VARINT) + varint(int(value)) if value else b""
    if isinstance(value, str):
        value = value.encode()
        if not value:
            return b""
    return varint(number << 3 | LEN) + varint(len(value)) + value


def message(*fields):
    return b"".join(field(n, v) for n, v in fields)


def read_varint(data, pos):
    n = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, pos
        shift += 7


def decode(data):
    """{field number: [values]}: ints for varints, bytes for length-delimited
    fields (strings and nested messages: the caller knows which); fixed32 and
    fixed64 fields are skipped, the CRI replies read here have none."""
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire == LEN:
            length, pos = read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            pos += 8
            continue
        elif wire == 5:
            pos += 4
            continue
        else:
            raise ValueError(f"unsupported wire type {wire} for field {number}")
        fields.setdefault(number, []).append(value)
    return fields


def first(fields, number, default=None):
    return fields.get(number, [default])[0]


def text(fields, number):
    return first(fields, number, b"").decode()


def string_map(fields, number):
    """A map<string, string> field: repeated entries {key = 1, value = 2}."""
    out = {}
    for entry in fields.get(number, []):
        e = decode(entry)
        out[text(e, 1)] = text(e, 2)
    return out


# ---- the calls ----
class Cri:
    def __init__(self, socket, timeout):
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.timeout = timeout

    def call(self, method, request):
        # No serializers: grpcio sends and returns the raw bytes.
        fn = self.channel.unary_unary(SERVICE + method)
        try:
            return decode(fn(request, timeout=self.timeout))
        except grpc.RpcError as e:
            sys.exit(f"cri_client: {method} failed: {e.code().name}: {e.details()}")

    def version(self):
        # VersionRequest{version = 1}; VersionResponse{version = 1,
        # runtime_name = 2, runtime_version = 3, runtime_api_version = 4}
        r = self.call("Version", message((1, CRI_API_VERSION)))
        return {"version": text(r, 1), "runtime_name": text(r, 2),
                "runtime_version": text(r, 3), "runtime_api_version": text(r, 4)}

    def run_sandbox(self, a):
        # PodSandboxMetadata{name = 1, uid = 2, namespace = 3, attempt = 4}
        metadata = message((1, a.name), (2, a.uid), (3, a.namespace), (4, a.attempt))
        # NamespaceOption{network = 1, pid = 2, ipc = 3}: POD (0) for each, the
        # default; LinuxSandboxSecurityContext{namespace_options = 1}
        security = message((1, message((1, 0), (2, 0), (3, 0))))
        # LinuxPodSandboxConfig{cgroup_parent = 1, security_context = 2}
        linux = message((1, a.cgroup_parent), (2, security))
        # PodSandboxConfig{metadata = 1, hostname = 2, log_directory = 3,
        # labels = 6, linux = 8}; labels map entries {key = 1, value = 2}
        labels = [(6, message((1, k), (2, v))) for k, v in
                  (("io.kubernetes.pod.name", a.name), ("io.kubernetes.pod.namespace", a.namespace),
                   ("io.kubernetes.pod.uid", a.uid))]
        config = message((1, metadata), (2, a.hostname or a.name), (3, a.log_dir), *labels,
                         (8, linux))
        # RunPodSandboxRequest{config = 1}; RunPodSandboxResponse{pod_sandbox_id = 1}
        return text(self.call("RunPodSandbox", message((1, config))), 1)

    def status(self, sandbox_id):
        # PodSandboxStatusRequest{pod_sandbox_id = 1, verbose = 2}
        r = self.call("PodSandboxStatus", message((1, sandbox_id), (2, True)))
        # PodSandboxStatusResponse{status = 1, info = 2 (map)}
        st = decode(first(r, 1, b""))
        # PodSandboxStatus{id = 1, state = 3, network = 5};
        # PodSandboxNetworkStatus{ip = 1, additional_ips = 2 (PodIP{ip = 1})}
        net = decode(first(st, 5, b""))
        out = {"id": text(st, 1), "state": SANDBOX_STATES.get(first(st, 3, 0), "unknown"),
               "ip": text(net, 1),
               "additional_ips": [text(decode(p), 1) for p in net.get(2, [])],
               "pid": 0, "netns": ""}
        # The verbose info is the runtime's own JSON (containerd: key "info"
        # with the pause process's pid and the OCI spec it ran).
        info = string_map(r, 2).get("info")
        if info:
            info = json.loads(info)
            out["pid"] = info.get("pid", 0)
            spec = info.get("runtimeSpec") or {}
            for ns in (spec.get("linux") or {}).get("namespaces") or []:
                if ns.get("type") == "network":
                    out["netns"] = ns.get("path", "")
        return out

    def stop(self, sandbox_id):
        # StopPodSandboxRequest{pod_sandbox_id = 1}
        self.call("StopPodSandbox", message((1, sandbox_id)))

    def remove(self, sandbox_id):
        # RemovePodSandboxRequest{pod_sandbox_id = 1}
        self.call("RemovePodSandbox", message((1, sandbox_id)))

    def list(self):
        # ListPodSandboxRequest{} (no filter); ListPodSandboxResponse{items = 1};
        # PodSandbox{id = 1, metadata = 2, state = 3}
        r = self.call("ListPodSandbox", b"")
        for item in r.get(1, []):
            s = decode(item)
            md = decode(first(s, 2, b""))
            yield (text(s, 1), SANDBOX_STATES.get(first(s, 3, 0), "unknown"),
                   f"{text(md, 3)}/{text(md, 1)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True, help="the runtime's CRI socket")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per call")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("version")
    run = sub.add_parser("run-sandbox")
    run.add_argument("--name", required=True)
    run.add_argument("--namespace", required=True)
    run.add_argument("--uid", required=True)
    run.add_argument("--attempt", type=int, default=0)
    run.add_argument("--hostname", default="")
    run.add_argument("--log-dir", required=True)
    run.add_argument("--cgroup-parent", default="")
    for name in ("status", "stop", "remove"):
        sub.add_parser(name).add_argument("id")
    sub.add_parser("list")
    a = ap.parse_args()

    cri = Cri(a.socket, a.timeout)
    if a.cmd == "version":
        print(json.dumps(cri.version()))
    elif a.cmd == "run-sandbox":
        print(cri.run_sandbox(a))
    elif a.cmd == "status":
        print(json.dumps(cri.status(a.id)))
    elif a.cmd == "stop":
        cri.stop(a.id)
    elif a.cmd == "remove":
        cri.remove(a.id)
    else:
        for line in cri.list():
            print(*line)


if __name__ == "__main__":
    main()
