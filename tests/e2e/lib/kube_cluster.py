"""A simulated Kubernetes cluster of network namespaces (stdlib only).

    from kube_cluster import Cluster
    c = Cluster(build="build", nodes=3)
    c.start()
    c.add_namespace("x", {"ns": "x"})
    ip = c.add_pod("x", "a", {"pod": "a"}, node=1)
    c.kubectl(["apply", "-f", "policy.yaml"])
    ...
    c.stop()

What it builds (docs/kube.md, "Simulated cluster and bench/kube"):
- the underlay: a netns pfk-ul-<tag> holding a Linux bridge with UNDERLAY.1,
  where the test API server (tests/kube/apiserver.py) serves HTTPS with a CA
  of its own (tests/kube/make-certs.sh, the underlay address in the SANs),
  a bearer token and --state, so it can be stopped and started again on the
  same port with every object kept; podfence-controller --source kube: runs
  there too;
- node N (1..nodes): a netns pfk-nN-<tag> joined to the bridge by a veth
  (UNDERLAY.(10+N)), ip_forward on and rp_filter off, its pod CIDR
  10.244.N.0/24 and a route to every other node's pod CIDR via that node's
  underlay address; podfence-ipamd and podfence-agent --source kube: with
  --node-name node-N, each with its own socket, state directory, log and bpffs
  pin root /sys/fs/bpf/podfence-test-<tag>-nodeN;
- a pod: a netns plumbed by the real podfence-cni in its node, then created
  on the API with spec.nodeName, its labels and status.podIP/podIPs.

Each program reaches the API through a kubeconfig of its own (one cluster
with the CA file, one user with the token). The harness talks HTTPS to the
API from threads that entered the underlay namespace (setns through ctypes),
and runs kubectl there. Everything it made (processes, namespaces, pins,
the temporary directory unless KEEP_TMP is set) goes at stop(), which also
runs at exit and on SIGINT, SIGTERM and SIGHUP.

Prober (a long-lived `netprobe.py batch` client) lives here too; the netpol
runner's dir mode uses it as well.
"""
import atexit
import concurrent.futures
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.client import HTTPConnection

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
APISERVER = os.path.join(ROOT, "tests", "kube", "apiserver.py")
MAKE_CERTS = os.path.join(ROOT, "tests", "kube", "make-certs.sh")
PROBE = os.path.join(ROOT, "tests", "e2e", "lib", "netprobe.py")
UNDERLAY = "192.168.240"          # the bridge's /24
API_PORT = 6443
CONTROLLER_HEALTH = "127.0.0.1:18080"
AGENT_METRICS = "127.0.0.1:8162"      # the agent's default, in each node's namespace
CLONE_NEWNET = 0x40000000
NP_PATH = "/apis/networking.k8s.io/v1"
PE_PATH = "/apis/podfence.io/v1alpha1"

_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(path):
    """Moves the calling thread (only it) into the network namespace at path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def in_netns(netns, fn):
    """fn() run by a thread that entered /run/netns/netns; its result."""
    out = {}

    def body():
        try:
            enter_netns(f"/run/netns/{netns}")
            out["value"] = fn()
        except Exception as e:  # handed to the caller's thread
            out["error"] = e
    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def run(cmd, **kw):
    r = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): "
                           f"{(r.stderr or r.stdout).strip()}")
    return r


class UnixHTTPConnection(HTTPConnection):
    """HTTP over a daemon's unix socket (a path works from any namespace)."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def unix_get(path, url, timeout=10):
    """(status, parsed JSON or None) of GET url on the unix socket path."""
    conn = UnixHTTPConnection(path, timeout)
    try:
        conn.request("GET", url)
        r = conn.getresponse()
        body = r.read()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, None
    finally:
        conn.close()


class Prober:
    """A long-lived `netprobe.py batch` process in one namespace: a whole row
    of probes costs no process start."""

    def __init__(self, netns, what, procs):
        self.p = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{netns}", "python3", PROBE,
             "batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        procs.append(self.p)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"prober for {what} did not start")
        self.waiting = {}

    def send(self, proto, targets, port, timeout):
        """Starts probes to targets [(name, ip)] at once; collect() answers."""
        self.waiting = {}
        for i, (name, ip) in enumerate(targets):
            self.waiting[str(i)] = name
            self.p.stdin.write(f"{i} {proto} {ip} {port} {timeout}\n")
        self.p.stdin.flush()

    def collect(self):
        """{name: connected} for the targets of the last send()."""
        out = {}
        while len(out) < len(self.waiting):
            ident, ok = self.p.stdout.readline().split()
            out[self.waiting[ident]] = ok == "1"
        return out

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass


class Api:
    """HTTPS requests to the API server, made from threads in the underlay."""

    def __init__(self, netns_path, server, ca_file, token):
        self.server = server
        self.token = token
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            4, thread_name_prefix="api", initializer=enter_netns, initargs=(netns_path,))
        self.netns_path = netns_path

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)

    def request(self, method, path, body=None, content_type="application/json", timeout=10):
        """(HTTP status, parsed JSON answer); raises OSError when unreachable."""
        return self.pool.submit(self._request, method, path, body, content_type,
                                timeout).result()

    def _request(self, method, path, body, content_type, timeout):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"message": raw.decode(errors="replace")}

    def must(self, method, path, body=None, content_type="application/json", ok=(200, 201)):
        code, obj = self.request(method, path, body, content_type)
        if code not in ok:
            raise RuntimeError(f"{method} {path}: HTTP {code}: {(obj or {}).get('message')}")
        return obj

    def watch(self, path, on_event, resource_version=None):
        """Follows ?watch=true on path from a daemon thread of the underlay:
        on_event(monotonic time of arrival, event) for every event line, until
        the stream ends (the server stopped or cut it). Returns the thread."""
        query = "watch=true&allowWatchBookmarks=true"
        if resource_version:
            query += f"&resourceVersion={resource_version}"
        sep = "&" if "?" in path else "?"

        def follow():
            enter_netns(self.netns_path)
            req = urllib.request.Request(f"{self.server}{path}{sep}{query}")
            req.add_header("Authorization", f"Bearer {self.token}")
            try:
                with urllib.request.urlopen(req, context=self.ctx, timeout=3600) as r:
                    for line in r:
                        if line.strip():
                            on_event(time.monotonic(), json.loads(line))
            except (OSError, ValueError):
                pass
        t = threading.Thread(target=follow, name="api-watch", daemon=True)
        t.start()
        return t


class Node:
    """One node namespace, its daemons and its pods."""

    def __init__(self, cluster, index):
        self.index = index
        self.name = f"node-{index}"
        self.netns = f"pfk-n{index}-{cluster.tag}"
        self.underlay_ip = f"{UNDERLAY}.{10 + index}"
        self.pod_cidr = f"10.244.{index}.0/24"
        self.dir = os.path.join(cluster.tmp, self.name)
        self.pin_root = f"/sys/fs/bpf/podfence-test-{cluster.tag}-node{index}"
        self.ipamd_sock = os.path.join(self.dir, "ipamd.sock")
        self.agent_sock = os.path.join(self.dir, "agent.sock")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.ipamd = self.agent = None
        self.netconf = json.dumps({
            "cniVersion": "1.0.0", "name": "podfence", "type": "podfence-cni",
            "ipamdSocket": self.ipamd_sock, "agentSocket": self.agent_sock,
            "logFile": os.path.join(self.dir, "plugin.log")})

    def cmd(self, argv):
        return ["nsenter", f"--net=/run/netns/{self.netns}"] + argv


class Cluster:
    def __init__(self, build, nodes=2, log=None):
        if nodes < 1 or nodes > 200:
            raise ValueError(f"nodes must be 1..200, not {nodes}")
        self.build = os.path.abspath(build)
        self.tag = str(os.getpid())
        self.tmp = tempfile.mkdtemp(prefix=f"podfence-kube-{self.tag}-")
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.underlay = f"pfk-ul-{self.tag}"
        self.api_ip = f"{UNDERLAY}.1"
        self.server = f"https://{self.api_ip}:{API_PORT}"
        self.token = secrets.token_hex(16)
        self.certs = os.path.join(self.tmp, "certs")
        self.state = os.path.join(self.tmp, "apiserver-state.json")
        self.nodes = [Node(self, i) for i in range(1, nodes + 1)]
        self.pods = {}          # "ns/name" -> {"node", "netns", "container", "ip", "labels"}
        self.namespaces = {}    # name -> labels
        self.procs = []         # every process started, for stop()
        self.netns_made = []
        self.apiserver = self.controller = None
        self.api = None
        self.stopped = False
        atexit.register(self.stop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda signum, _f: sys.exit(128 + signum))

    # --- processes ------------------------------------------------------------
    def spawn(self, logname, argv, netns=None, **kw):
        """Starts argv (in netns) in a session of its own, its output in
        tmp/logname unless kw redirects it."""
        if netns:
            argv = ["nsenter", f"--net=/run/netns/{netns}"] + argv
        if "stdout" not in kw:
            path = os.path.join(self.tmp, logname)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            kw["stdout"] = open(path, "a")
            kw["stderr"] = subprocess.STDOUT
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def kill(self, p, sig=signal.SIGTERM, wait=5):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def log_tail(self, logname, lines=30):
        try:
            with open(os.path.join(self.tmp, logname), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return f"({e})"

    def wait_for(self, what, predicate, timeout=20, proc=None, logname=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = f"; {logname} ends:\n{self.log_tail(logname)}" if logname else ""
        died = f" ({logname or 'it'} exited {proc.returncode})" if proc and proc.poll() is not None else ""
        raise RuntimeError(f"{what}: not within {timeout} s{died}{tail}")

    # --- bring-up ---------------------------------------------------------------
    def start(self):
        t = time.monotonic()
        self.make_underlay()
        run([MAKE_CERTS, self.certs, self.api_ip])
        self.start_apiserver()
        self.api = Api(f"/run/netns/{self.underlay}", self.server,
                       os.path.join(self.certs, "ca.crt"), self.token)
        self.wait_for("the API server answers", self.api_answers, timeout=20,
                      proc=self.apiserver, logname="apiserver.log")
        for node in self.nodes:
            self.make_node(node)
        for node in self.nodes:
            self.start_node(node)
        self.start_controller()
        for node in self.nodes:
            self.wait_for(f"{node.name}'s agent is ready (synced with the API)",
                          lambda n=node: self.agent_ready(n), timeout=30, proc=node.agent,
                          logname=f"{node.name}/agent.log")
        self.wait_for("the controller is ready", self.controller_ready, timeout=30,
                      proc=self.controller, logname="controller.log")
        self.log(f"cluster up in {time.monotonic() - t:.1f} s: API server, controller, "
                 f"{len(self.nodes)} nodes (logs in {self.tmp})")

    def add_netns(self, name):
        run(["ip", "netns", "add", name])
        self.netns_made.append(name)
        run(["ip", "-n", name, "link", "set", "lo", "up"])

    def make_underlay(self):
        self.add_netns(self.underlay)
        run(["ip", "-n", self.underlay, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", self.underlay, "addr", "add", f"{self.api_ip}/24", "dev", "br0"])
        run(["ip", "-n", self.underlay, "link", "set", "br0", "up"])

    def make_node(self, node):
        os.makedirs(node.dir, exist_ok=True)
        self.add_netns(node.netns)
        ul, nn = self.underlay, node.netns
        # Both ends are made inside the namespaces: nothing appears on the host.
        run(["ip", "-n", ul, "link", "add", f"v{node.index}", "type", "veth",
             "peer", "name", "ul0", "netns", nn])
        run(["ip", "-n", ul, "link", "set", f"v{node.index}", "master", "br0", "up"])
        run(["ip", "-n", nn, "addr", "add", f"{node.underlay_ip}/24", "dev", "ul0"])
        run(["ip", "-n", nn, "link", "set", "ul0", "up"])
        # What podfence-init sets on a node (ip_forward); rp_filter off so a
        # reply from another node's pod is never dropped by a reverse-path check.
        for key in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0"):
            run(node.cmd(["sysctl", "-qw", key]))
        for other in self.nodes:
            if other is not node:
                run(["ip", "-n", nn, "route", "add", other.pod_cidr, "via", other.underlay_ip,
                     "dev", "ul0"])
        self.write_kubeconfig(node.kubeconfig, node.name)

    def write_kubeconfig(self, path, user):
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: podfence-test
  cluster:
    server: {self.server}
    certificate-authority: {os.path.join(self.certs, 'ca.crt')}
users:
- name: {user}
  user:
    token: {self.token}
contexts:
- name: podfence-test
  context:
    cluster: podfence-test
    user: {user}
current-context: podfence-test
""")
        os.chmod(path, 0o600)

    def start_apiserver(self):
        port_file = os.path.join(self.tmp, "apiserver.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.apiserver = self.spawn("apiserver.log", [
            "python3", APISERVER, "--address", self.api_ip, "--port", str(API_PORT),
            "--state", self.state, "--port-file", port_file,
            "--tls-cert", os.path.join(self.certs, "server.crt"),
            "--tls-key", os.path.join(self.certs, "server.key"), "--token", self.token],
            netns=self.underlay)
        self.wait_for("the API server listens", lambda: os.path.exists(port_file),
                      proc=self.apiserver, logname="apiserver.log")

    def api_answers(self):
        try:
            return self.api.request("GET", "/version", timeout=2)[0] == 200
        except OSError:
            return False

    def start_node(self, node):
        node.ipamd = self.spawn(f"{node.name}/ipamd.log", node.cmd([
            f"{self.build}/podfence-ipamd", "--pod-cidr", node.pod_cidr,
            "--socket", node.ipamd_sock, "--state-dir", os.path.join(node.dir, "ipamd-state")]))
        self.wait_for(f"{node.name}'s ipamd listens", lambda: os.path.exists(node.ipamd_sock),
                      proc=node.ipamd, logname=f"{node.name}/ipamd.log")
        self.start_agent(node)

    def start_agent(self, node):
        node.agent = self.spawn(f"{node.name}/agent.log", node.cmd([
            f"{self.build}/podfence-agent", "--enable-network-policy=true",
            "--network-policy-mode", "standard", "--node-name", node.name,
            f"--source=kube:{node.kubeconfig}", "--socket", node.agent_sock,
            "--state-dir", os.path.join(node.dir, "agent-state"),
            "--pin-root", node.pin_root]))

    def agent_ready(self, node):
        try:
            return unix_get(node.agent_sock, "/v1/health", timeout=2)[0] == 200
        except OSError:
            return False

    def start_controller(self):
        path = os.path.join(self.tmp, "controller.kubeconfig")
        self.write_kubeconfig(path, "podfence-controller")
        self.controller = self.spawn("controller.log", [
            f"{self.build}/podfence-controller", f"--source=kube:{path}",
            "--health-bind", CONTROLLER_HEALTH], netns=self.underlay)

    def controller_ready(self):
        def get():
            try:
                with urllib.request.urlopen(f"http://{CONTROLLER_HEALTH}/healthz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        return in_netns(self.underlay, get)

    # --- the API server's life ---------------------------------------------------
    def stop_apiserver(self):
        if self.apiserver is not None:
            self.kill(self.apiserver)
            self.procs.remove(self.apiserver)
            self.apiserver = None

    def restart_apiserver(self):
        """Stops the API server (if it runs) and starts it again from --state
        on the same address and port."""
        self.stop_apiserver()
        self.start_apiserver()
        self.wait_for("the API server answers again", self.api_answers, proc=self.apiserver,
                      logname="apiserver.log")

    def edit_stored(self, plural, ns, name, mutate):
        """Changes an object in the stopped API server's --state file, as
        another writer of the store would: mutate(obj) edits it in place; it
        gets the next resourceVersion."""
        if self.apiserver is not None:
            raise RuntimeError("edit_stored needs the API server stopped")
        with open(self.state) as f:
            dump = json.load(f)
        for o in dump["objects"]:
            meta = o["object"]["metadata"]
            if o["gvr"][2] == plural and meta.get("namespace", "") == ns and meta["name"] == name:
                mutate(o["object"])
                rv = str(int(dump["resourceVersion"]) + 1)
                dump["resourceVersion"] = meta["resourceVersion"] = rv
                meta["generation"] = meta.get("generation", 1) + 1
                break
        else:
            raise KeyError(f"no {plural} {ns}/{name} in {self.state}")
        with open(self.state + ".edit", "w") as f:
            json.dump(dump, f)
        os.replace(self.state + ".edit", self.state)

    def cut_watches(self):
        return self.api.must("POST", "/podfence-test/cut-watches")

    def compact(self):
        return self.api.must("POST", "/podfence-test/compact")

    # --- objects -------------------------------------------------------------------
    def kubectl(self, args, input=None, timeout=60):
        """kubectl against the API (from the underlay); apply gets
        --validate=false (the test server serves no OpenAPI schemas)."""
        kcfg = os.path.join(self.tmp, "kubectl.kubeconfig")
        if not os.path.exists(kcfg):
            self.write_kubeconfig(kcfg, "kubectl")
        extra = ["--validate=false"] if args and args[0] == "apply" else []
        argv = ["nsenter", f"--net=/run/netns/{self.underlay}", "kubectl",
                "--kubeconfig", kcfg, "--cache-dir", os.path.join(self.tmp, "kubectl-cache")]
        r = subprocess.run(argv + list(args) + extra, input=input, text=True,
                           capture_output=True, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"kubectl {' '.join(args)}: {(r.stderr or r.stdout).strip()}")
        return r

    def add_namespace(self, name, labels=None):
        self.api.must("POST", "/api/v1/namespaces",
                      {"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": name, "labels": dict(labels or {})}})
        self.namespaces[name] = dict(labels or {})

    def node(self, node):
        """A node by its number (1..N) or its name."""
        for n in self.nodes:
            if node in (n.index, n.name):
                return n
        raise KeyError(f"no node {node}")

    def cni(self, command, key):
        pod = self.pods[key]
        ns, name = key.split("/")
        node = self.node(pod["node"])
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=pod["container"],
                   CNI_NETNS=f"/run/netns/{pod['netns']}", CNI_IFNAME="eth0",
                   CNI_PATH=self.build, CNI_ARGS=f"K8S_POD_NAMESPACE={ns};K8S_POD_NAME={name}")
        return subprocess.run(node.cmd([f"{self.build}/podfence-cni"]), input=node.netconf,
                              env=env, text=True, capture_output=True)

    def add_pod(self, ns, name, labels, node, containers=None):
        """Plumbs pod ns/name in node (number or name) through podfence-cni,
        then creates it on the API (spec.nodeName, labels, containers,
        status.podIP/podIPs). Returns its address."""
        n = self.node(node)
        key = f"{ns}/{name}"
        netns = f"pfk-p{len(self.pods)}-{self.tag}"
        self.add_netns(netns)
        self.pods[key] = {"node": n.index, "netns": netns, "labels": dict(labels),
                          "container": f"kube-{ns}-{name}-{self.tag}"}
        r = self.cni("ADD", key)
        if r.returncode:
            raise RuntimeError(f"CNI ADD {key} on {n.name} failed: {r.stdout} {r.stderr}")
        ip = json.loads(r.stdout)["ips"][0]["address"].split("/")[0]
        self.pods[key]["ip"] = ip
        self.api.must("POST", f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"nodeName": n.name,
                     "containers": containers or [{"name": "main", "image": "podfence-test"}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
        return ip

    def relabel(self, target, add=None, remove=()):
        """target "NS" (a namespace) or "NS/NAME" (a pod): merges add into its
        labels and drops remove, with one merge patch on the API."""
        patch = dict(add or {})
        patch.update({k: None for k in remove})
        if "/" in target:
            ns, name = target.split("/")
            path, labels = f"/api/v1/namespaces/{ns}/pods/{name}", self.pods[target]["labels"]
        else:
            path, labels = f"/api/v1/namespaces/{target}", self.namespaces[target]
        self.api.must("PATCH", path, {"metadata": {"labels": patch}},
                      "application/merge-patch+json")
        labels.update(add or {})
        for k in remove:
            labels.pop(k, None)

    def policy_endpoints(self):
        """The PolicyEndpoints on the API: {"ns/name": object}."""
        obj = self.api.must("GET", f"{PE_PATH}/policyendpoints")
        return {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o
                for o in obj.get("items") or []}

    def agents_current(self):
        """Every agent holds exactly the PolicyEndpoints the API holds (its
        GET /v1/policies "policy_endpoints" against the API's list)."""
        want = {k: pe["spec"] for k, pe in self.policy_endpoints().items()}
        for node in self.nodes:
            code, obj = unix_get(node.agent_sock, "/v1/policies")
            have = {f"{pe['metadata']['namespace']}/{pe['metadata']['name']}": pe["spec"]
                    for pe in (obj or {}).get("policy_endpoints", [])}
            if code != 200 or have != want:
                return False
        return True

    def network_policies(self):
        obj = self.api.must("GET", f"{NP_PATH}/networkpolicies")
        return {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o
                for o in obj.get("items") or []}

    # --- pods ------------------------------------------------------------------------
    def serve(self, key, ports):
        """TCP and UDP echo servers in pod key on ports; returns once listening."""
        logname = f"serve-{self.pods[key]['netns']}.log"
        p = self.spawn(logname, ["python3", PROBE, "serve"] + [str(x) for x in ports],
                       netns=self.pods[key]["netns"])
        self.wait_for(f"the servers in {key}", lambda: "ready" in self.log_tail(logname, 5),
                      timeout=10, proc=p, logname=logname)
        return p

    def agent_metric(self, node, name):
        """The sum of every sample of metric name on node's agent /metrics."""
        def get():
            with urllib.request.urlopen(f"http://{AGENT_METRICS}/metrics", timeout=5) as r:
                return r.read().decode()
        total = 0.0
        for line in in_netns(self.node(node).netns, get).splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def trace(self, node, src, dst, port, protocol):
        """podfence-ctl trace SRC DST in node (its pins, its agent): True
        allowed, False denied, None when no hop of the flow is on that node."""
        n = self.node(node)
        r = subprocess.run(n.cmd([
            f"{self.build}/podfence-ctl", "--pin-root", n.pin_root, "--agent-socket",
            n.agent_sock, "-o", "json", "trace", src, dst, "--port", str(port),
            "--protocol", protocol]), capture_output=True, text=True)
        if r.returncode not in (0, 1, 2) or not r.stdout.strip():
            raise RuntimeError(f"podfence-ctl trace {src} {dst} on {n.name}: {r.stderr.strip()}")
        verdict = json.loads(r.stdout).get("verdict")
        return {"allow": True, "deny": False}.get(verdict)

    def rss_kib(self, proc):
        """VmRSS of a daemon started through nsenter (nsenter execs it, so the
        pid is the daemon's)."""
        with open(f"/proc/{proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    # --- teardown --------------------------------------------------------------------
    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        for key in list(self.pods):
            if "ip" in self.pods[key] and self.node(self.pods[key]["node"]).ipamd:
                self.cni("DEL", key)
        for p in reversed(self.procs):
            self.kill(p)
        if self.api:
            self.api.close()
        for name in reversed(self.netns_made):
            r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for node in self.nodes:
            shutil.rmtree(node.pin_root, ignore_errors=True)
        if os.environ.get("KEEP_TMP"):
            self.log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
