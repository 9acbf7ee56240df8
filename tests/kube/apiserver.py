#!/usr/bin/env python3
"""A small Kubernetes API server for tests (stdlib only).

Plain HTTP, or HTTPS with --tls-cert/--tls-key; --token asks every request
for that bearer token (401 Unauthorized otherwise). One global
resourceVersion counter (like etcd), generic storage for the resources in
RESOURCES, the real wire format for list (paged with limit/continue), get,
create, replace, merge patch, delete and watch (chunked JSON event lines,
bookmarks, 410 Expired once history is compacted). See docs/kube.md.
"""
import argparse
import copy
import datetime
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ALL_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]

# (group, version, plural) -> kind, namespaced, singular, shortNames.
# group "" is the core group under /api.
RESOURCES = {
    ("", "v1", "namespaces"): ("Namespace", False, "namespace", ["ns"]),
    ("", "v1", "pods"): ("Pod", True, "pod", ["po"]),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True, "serviceaccount", ["sa"]),
    ("", "v1", "configmaps"): ("ConfigMap", True, "configmap", ["cm"]),
    ("networking.k8s.io", "v1", "networkpolicies"): ("NetworkPolicy", True, "networkpolicy", ["netpol"]),
    ("podfence.io", "v1alpha1", "policyendpoints"): ("PolicyEndpoint", True, "policyendpoint", ["pfpe"]),
    ("apps", "v1", "daemonsets"): ("DaemonSet", True, "daemonset", ["ds"]),
    ("apps", "v1", "deployments"): ("Deployment", True, "deployment", ["deploy"]),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): ("ClusterRole", False, "clusterrole", []),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"): ("ClusterRoleBinding", False, "clusterrolebinding", []),
    ("rbac.authorization.k8s.io", "v1", "roles"): ("Role", True, "role", []),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): ("RoleBinding", True, "rolebinding", []),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): ("CustomResourceDefinition", False, "customresourcedefinition", ["crd", "crds"]),
}

BOOKMARK_PERIOD_S = 1.0
DEFAULT_WATCH_TIMEOUT_S = 1800
MAX_BODY_BYTES = 3 * 1024 * 1024       # the apiserver's request limit
MAX_OPEN_PAGES = 100                   # paged lists not continued are dropped past this
DEFAULT_MAX_OBJECT_BYTES = 1572864     # etcd's default request limit (1.5 MiB)


def api_version(group, version):
    return f"{group}/{version}" if group else version


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
          "status": "Failure", "message": message, "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.status = status(code, reason, message, details)


# ---- selectors -------------------------------------------------------------

def split_top(s):
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


SET_RE = re.compile(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$")


def parse_label_selector(text):
    """Returns a list of predicates over a labels dict."""
    preds = []
    for req in split_top(text or ""):
        m = SET_RE.match(req)
        if m:
            key, op, vals = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                preds.append(lambda l, k=key, v=vals: l.get(k) in v)
            else:
                preds.append(lambda l, k=key, v=vals: l.get(k) not in v)
        elif "!=" in req:
            k, v = (x.strip() for x in req.split("!=", 1))
            preds.append(lambda l, k=k, v=v: l.get(k) != v)
        elif "=" in req:
            k, v = (x.strip() for x in req.replace("==", "=").split("=", 1))
            preds.append(lambda l, k=k, v=v: l.get(k) == v)
        elif req.startswith("!"):
            preds.append(lambda l, k=req[1:].strip(): k not in l)
        elif re.match(r"^[A-Za-z0-9./_-]+$", req):
            preds.append(lambda l, k=req: k in l)
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {req!r}")
    return preds


def field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    return "" if cur is None else str(cur)


def parse_field_selector(text):
    preds = []
    for req in split_top(text or ""):
        if "!=" in req:
            k, v = req.split("!=", 1)
            preds.append(lambda o, k=k.strip(), v=v.strip(): field_value(o, k) != v)
        elif "=" in req:
            k, v = req.replace("==", "=").split("=", 1)
            preds.append(lambda o, k=k.strip(), v=v.strip(): field_value(o, k) == v)
        else:
            raise ApiError(400, "BadRequest", f"invalid field selector: {req!r}")
    return preds


# ---- patches -----------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386. Strategic merge patch directives ($setElementOrder, $patch,
    $retainKeys...) are dropped: lists are replaced whole."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ---- storage -------------------------------------------------------------------

class Store:
    def __init__(self, history, state_path, max_object_bytes):
        self.cond = threading.Condition()
        self.rv = 0
        self.objects = {}          # (gvr, namespace, name) -> object
        self.history = deque(maxlen=history)   # (rv, gvr, type, object)
        self.compacted_rv = 0      # events at or below this are gone
        self.cut_epoch = 0         # bumped to end every open watch
        self.pages = {}            # continue token -> (gvr, items, rv, offset) of a paged list
        self.state_path = state_path
        self.max_object_bytes = max_object_bytes
        if state_path and os.path.exists(state_path):
            self.load()

    # persistence: a JSON dump rewritten atomically after every change
    def load(self):
        with open(self.state_path) as f:
            dump = json.load(f)
        self.rv = int(dump["resourceVersion"])
        self.compacted_rv = self.rv     # history is not persisted
        for o in dump["objects"]:
            gvr = tuple(o["gvr"])
            obj = o["object"]
            self.objects[(gvr, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj

    def save(self):
        if not self.state_path:
            return
        dump = {"resourceVersion": str(self.rv),
                "objects": [{"gvr": list(k[0]), "object": v} for k, v in sorted(self.objects.items())]}
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dump, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)

    def _record(self, gvr, etype, obj):
        """Caller holds the lock and has bumped self.rv for obj."""
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0][0]
        self.history.append((self.rv, gvr, etype, copy.deepcopy(obj)))
        self.cond.notify_all()

    def compact(self):
        with self.cond:
            self.history.clear()
            self.compacted_rv = self.rv
            self.pages.clear()     # like etcd: a compacted snapshot cannot be continued

    def cut_watches(self):
        with self.cond:
            self.cut_epoch += 1
            self.cond.notify_all()

    def _check_size(self, obj):
        size = len(json.dumps(obj))
        if size > self.max_object_bytes:
            raise ApiError(413, "RequestEntityTooLarge",
                           f"object is {size} bytes, over the limit of {self.max_object_bytes}")

    def _namespace_exists(self, ns):
        return (("", "v1", "namespaces"), "", ns) in self.objects

    def create(self, gvr, ns, obj):
        kind, namespaced, _, _ = RESOURCES[gvr]
        meta = obj.setdefault("metadata", {})
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["name"] = name
        if not name:
            raise ApiError(422, "Invalid", f"{kind} is invalid: metadata.name: Required value")
        if namespaced:
            if meta.get("namespace", ns) != ns:
                raise ApiError(400, "BadRequest", "the namespace of the object does not match the namespace of the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        with self.cond:
            key = (gvr, ns if namespaced else "", name)
            if key in self.objects:
                raise ApiError(409, "AlreadyExists", f'{resource_name(gvr)} "{name}" already exists',
                               {"name": name, "group": gvr[0], "kind": gvr[2]})
            if namespaced and not self._namespace_exists(ns):
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                               {"name": ns, "kind": "namespaces"})
            obj["apiVersion"] = api_version(gvr[0], gvr[1])
            obj["kind"] = kind
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["generation"] = 1
            if gvr == ("", "v1", "namespaces"):
                meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
                obj.setdefault("spec", {"finalizers": ["kubernetes"]})
                obj["status"] = {"phase": "Active"}
            self._check_size(obj)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            self.objects[key] = obj
            self._record(gvr, "ADDED", obj)
            self.save()
            return copy.deepcopy(obj)

    def get(self, gvr, ns, name):
        with self.cond:
            obj = self.objects.get((gvr, ns, name))
            if obj is None:
                raise not_found(gvr, name)
            return copy.deepcopy(obj)

    def list(self, gvr, ns, lsel, fsel):
        with self.cond:
            items = [copy.deepcopy(o) for (g, n, _), o in sorted(self.objects.items())
                     if g == gvr and (ns is None or n == ns) and matches(o, lsel, fsel)]
            return items, str(self.rv)

    def list_page(self, gvr, ns, lsel, fsel, limit, cont):
        """A list of at most limit items (0: all). The rest is kept as a
        snapshot under a continue token, so every page is of the first
        page's resourceVersion, as etcd serves them."""
        if cont:
            with self.cond:
                snap = self.pages.get(cont)
            if snap is None or snap[0] != gvr:
                raise ApiError(410, "Expired", "The provided continue parameter is too old to "
                               "display a consistent list result. You can start a new list "
                               "without the continue parameter.")
            _, items, rv, off = snap
        else:
            (items, rv), off = self.list(gvr, ns, lsel, fsel), 0
        end = off + limit if limit > 0 else len(items)
        meta = {"resourceVersion": rv}
        if end < len(items):
            token = uuid.uuid4().hex
            with self.cond:
                self.pages[token] = (gvr, items, rv, end)
                while len(self.pages) > MAX_OPEN_PAGES:
                    del self.pages[next(iter(self.pages))]
            meta["continue"] = token
            meta["remainingItemCount"] = len(items) - end
        return items[off:end], meta

    def update(self, gvr, ns, name, new, check_rv=True):
        with self.cond:
            key = (gvr, ns, name)
            old = self.objects.get(key)
            if old is None:
                raise not_found(gvr, name)
            meta = new.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            given = meta.get("resourceVersion")
            if check_rv and given and given != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict",
                               f'Operation cannot be fulfilled on {resource_name(gvr)} "{name}": the object has been modified; '
                               "please apply your changes to the latest version and try again",
                               {"name": name, "group": gvr[0], "kind": gvr[2]})
            # the server owns these
            for k in ("uid", "creationTimestamp", "generation", "namespace"):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
                else:
                    meta.pop(k, None)
            meta["name"] = name
            new["apiVersion"] = old["apiVersion"]
            new["kind"] = old["kind"]
            if gvr == ("", "v1", "namespaces"):
                meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            if new.get("spec") != old.get("spec"):
                meta["generation"] = old["metadata"].get("generation", 1) + 1
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            if new == old:
                return copy.deepcopy(old)     # a no-op write does not bump the version
            self._check_size(new)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            self.objects[key] = new
            self._record(gvr, "MODIFIED", new)
            self.save()
            return copy.deepcopy(new)

    def patch(self, gvr, ns, name, patch):
        with self.cond:
            old = self.get(gvr, ns, name)
            new = merge_patch(old, patch)
            return self.update(gvr, ns, name, new,
                               check_rv=bool(patch.get("metadata", {}).get("resourceVersion")))

    def delete(self, gvr, ns, name):
        with self.cond:
            key = (gvr, ns, name)
            if key not in self.objects:
                raise not_found(gvr, name)
            obj = self._delete_key(key)
            self.save()
            return obj

    def _delete_key(self, key):
        gvr, ns, name = key
        obj = self.objects.pop(key)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self._record(gvr, "DELETED", obj)
        if gvr == ("", "v1", "namespaces"):
            # no Terminating phase: the namespace's objects go with it at once
            for k in [k for k in self.objects if k[1] == name and RESOURCES[k[0]][1]]:
                if k in self.objects:
                    self._delete_key(k)
        # garbage collection: dependents whose ownerReferences name this uid
        uid = obj["metadata"].get("uid")
        for k, o in list(self.objects.items()):
            refs = o["metadata"].get("ownerReferences") or []
            if k in self.objects and any(r.get("uid") == uid for r in refs):
                self._delete_key(k)
        return copy.deepcopy(obj)


def resource_name(gvr):
    """As the API server names a resource in messages: plural.group."""
    return gvr[2] + (f".{gvr[0]}" if gvr[0] else "")


def not_found(gvr, name):
    return ApiError(404, "NotFound", f'{resource_name(gvr)} "{name}" not found',
                    {"name": name, "group": gvr[0], "kind": gvr[2]})


def matches(obj, lsel, fsel):
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(p(labels) for p in lsel) and all(p(obj) for p in fsel)


# ---- discovery -------------------------------------------------------------------

def resource_list(group, version):
    res = []
    for (g, v, plural), (kind, namespaced, singular, short) in sorted(RESOURCES.items()):
        if (g, v) != (group, version):
            continue
        r = {"name": plural, "singularName": singular, "namespaced": namespaced,
             "kind": kind, "verbs": ALL_VERBS}
        if short:
            r["shortNames"] = short
        res.append(r)
    if not res:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": api_version(group, version), "resources": res}


def group_list():
    groups = {}
    for (g, v, _) in RESOURCES:
        if g:
            groups.setdefault(g, set()).add(v)
    out = []
    for g in sorted(groups):
        versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in sorted(groups[g])]
        out.append({"name": g, "versions": versions, "preferredVersion": versions[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}


def plural_of(group, version, name):
    return (group, version, name) if (group, version, name) in RESOURCES else None


def parse_resource_path(parts):
    """parts after /api or /apis. Returns (gvr, namespace or None, name or None)."""
    if parts and parts[0] == "api":
        group, rest = "", parts[1:]
    else:
        if len(parts) < 3:
            return None
        group, rest = parts[1], parts[2:]
    if not rest:
        return None
    version, segs = rest[0], rest[1:]
    if len(segs) >= 3 and segs[0] == "namespaces" and plural_of(group, version, segs[2]):
        gvr = (group, version, segs[2])
        if not RESOURCES[gvr][1] or len(segs) > 4:
            return None
        return gvr, segs[1], segs[3] if len(segs) == 4 else None
    if 1 <= len(segs) <= 2 and plural_of(group, version, segs[0]):
        return (group, version, segs[0]), None, segs[1] if len(segs) == 2 else None
    return None


# ---- HTTP ----------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "podfence-test-apiserver"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("apiserver: " + (fmt % args) + "\n")

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLarge", f"request entity too large: limit is {MAX_BODY_BYTES}")
        raw = self.rfile.read(length) if length else b""
        self._body_read = True
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if raw and not ctype.endswith("json"):
            raise ApiError(415, "UnsupportedMediaType",
                           f"only JSON bodies are served here, not {ctype!r} (protobuf is not)")
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"the body is not JSON: {e}")

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        try:
            self.route(method)
        except ApiError as e:
            self.drain()
            self.send_json(e.status["code"], e.status)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def drain(self):
        """Reads an unread body so the keep-alive connection stays in step."""
        if not getattr(self, "_body_read", False):
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= MAX_BODY_BYTES:
                self.rfile.read(length)
        self._body_read = True

    def route(self, method):
        self._body_read = False
        token = self.server.token
        if token and self.headers.get("Authorization") != f"Bearer {token}":
            raise ApiError(401, "Unauthorized", "Unauthorized")
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        store = self.server.store
        if method == "GET":
            doc = self.discovery(url.path)
            if doc is not None:
                self.send_json(200, doc)
                return
        if parts[:1] == ["podfence-test"] and method == "POST":
            self.drain()
            if parts[1:] == ["compact"]:
                store.compact()
            elif parts[1:] == ["cut-watches"]:
                store.cut_watches()
            else:
                raise ApiError(404, "NotFound", f"no test hook {url.path}")
            self.send_json(200, {"resourceVersion": str(store.rv), "compacted": str(store.compacted_rv)})
            return
        target = parse_resource_path(parts) if parts[:1] in (["api"], ["apis"]) else None
        if target is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        gvr, ns, name = target
        namespaced = RESOURCES[gvr][1]
        if namespaced and name is not None and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        obj_ns = (ns or "") if namespaced else ""
        if method == "GET" and name is None:
            lsel = parse_label_selector(q.get("labelSelector"))
            fsel = parse_field_selector(q.get("fieldSelector"))
            if q.get("watch") in ("true", "1"):
                self.watch(gvr, ns, lsel, fsel, q)
                return
            try:
                limit = int(q.get("limit") or 0)
            except ValueError:
                raise ApiError(400, "BadRequest", f"invalid limit {q.get('limit')!r}")
            items, meta = store.list_page(gvr, ns, lsel, fsel, limit, q.get("continue"))
            self.send_json(200, {"kind": RESOURCES[gvr][0] + "List",
                                 "apiVersion": api_version(gvr[0], gvr[1]),
                                 "metadata": meta, "items": items})
        elif method == "GET":
            self.send_json(200, store.get(gvr, obj_ns, name))
        elif method == "POST" and name is None:
            if namespaced and ns is None:
                raise ApiError(405, "MethodNotAllowed", "create needs a namespace in the path")
            body = self.body_object()
            if q.get("dryRun"):
                self.send_json(201, body)
                return
            self.send_json(201, store.create(gvr, obj_ns, body))
        elif method == "PUT" and name is not None:
            body = self.body_object()
            self.send_json(200, store.update(gvr, obj_ns, name, body))
        elif method == "PATCH" and name is not None:
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                raise ApiError(415, "UnsupportedMediaType", f"the patch type {ctype!r} is not supported")
            body = self.body_object()
            self.send_json(200, store.patch(gvr, obj_ns, name, body))
        elif method == "DELETE" and name is not None:
            self.read_body()            # DeleteOptions: propagation is always immediate here
            self._body_read = True
            self.send_json(200, store.delete(gvr, obj_ns, name))
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on {url.path}")

    def body_object(self):
        body = self.read_body()
        self._body_read = True
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body must be a JSON object")
        return body

    def discovery(self, path):
        path = path.rstrip("/") or "/"
        if path == "/version":
            return {"major": "1", "minor": "32", "gitVersion": "v1.32.0-podfence-test",
                    "platform": "linux/amd64", "goVersion": "n/a", "compiler": "n/a",
                    "buildDate": "2026-01-01T00:00:00Z", "gitCommit": "", "gitTreeState": "clean"}
        if path == "/api":
            host, port = self.server.server_address[:2]
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{host}:{port}"}]}
        if path == "/apis":
            return group_list()
        if path == "/openapi/v3":
            return {"paths": {}}
        if path in ("/healthz", "/readyz", "/livez"):
            return "ok"
        m = re.fullmatch(r"/api/(v1)", path)
        if m:
            return resource_list("", "v1")
        m = re.fullmatch(r"/apis/([^/]+)/([^/]+)", path)
        if m:
            return resource_list(m.group(1), m.group(2))
        m = re.fullmatch(r"/apis/([^/]+)", path)
        if m:
            for g in group_list()["groups"]:
                if g["name"] == m.group(1):
                    return dict(g, kind="APIGroup", apiVersion="v1")
        return None

    # watch: chunked JSON lines, one event each
    def watch(self, gvr, ns, lsel, fsel, q):
        store = self.server.store
        timeout = min(int(q.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT_S), DEFAULT_WATCH_TIMEOUT_S)
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        rv_param = q.get("resourceVersion") or "0"
        try:
            from_rv = int(rv_param)
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid resourceVersion {rv_param!r}")
        pending = []
        with store.cond:
            epoch = store.cut_epoch
            if from_rv == 0:
                # like the API server: the current state as ADDED, then changes
                items, _ = store.list(gvr, ns, lsel, fsel)
                pending = [{"type": "ADDED", "object": o} for o in items]
                from_rv = store.rv
            elif from_rv < store.compacted_rv:
                expired = status(410, "Expired",
                                 f"too old resource version: {from_rv} ({store.compacted_rv})")
                if self.server.expired_as_http:
                    raise ApiError(410, "Expired", expired["message"])
                pending = [{"type": "ERROR", "object": expired}]
                timeout = 0
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + BOOKMARK_PERIOD_S
        last_rv = from_rv
        while True:
            for ev in pending:
                self.chunk(json.dumps(ev).encode() + b"\n")
            pending = []
            now = time.monotonic()
            if now >= deadline:
                break
            with store.cond:
                if store.cut_epoch != epoch:
                    break
                events = [e for e in store.history if e[0] > last_rv]
                if not events:
                    store.cond.wait(min(deadline, next_bookmark) - now if bookmarks else deadline - now)
                    events = [e for e in store.history if e[0] > last_rv]
                if last_rv < store.compacted_rv:
                    # this watcher fell behind the retained history
                    pending.append({"type": "ERROR", "object": status(410, "Expired", "too old resource version")})
                    deadline = 0
                for rv, egvr, etype, obj in events:
                    last_rv = rv
                    if egvr != gvr or (ns is not None and obj["metadata"].get("namespace") != ns):
                        continue
                    if matches(obj, lsel, fsel):
                        pending.append({"type": etype, "object": copy.deepcopy(obj)})
                last_rv = max(last_rv, store.rv)
                if bookmarks and time.monotonic() >= next_bookmark:
                    pending.append({"type": "BOOKMARK", "object": {
                        "kind": RESOURCES[gvr][0], "apiVersion": api_version(gvr[0], gvr[1]),
                        "metadata": {"resourceVersion": str(last_rv)}}})
                    next_bookmark = time.monotonic() + BOOKMARK_PERIOD_S
        for ev in pending:
            self.chunk(json.dumps(ev).encode() + b"\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    """With --tls-cert, each connection's TLS handshake runs in its own
    handler thread, so a client that connects and says nothing (or speaks
    plain HTTP) never holds up the accept loop."""
    tls = None   # ssl.SSLContext or None

    def finish_request(self, request, client_address):
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(10)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write(f"apiserver: TLS handshake with {client_address[0]}: {e}\n")
            return
        conn.settimeout(None)
        try:
            super().finish_request(conn, client_address)
        finally:
            # the plain socket was detached into conn: conn is the one to close
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


def main():
    ap = argparse.ArgumentParser(description="A small Kubernetes API server for tests.")
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port and print it")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--state", help="JSON dump to start from and to keep up to date")
    ap.add_argument("--history", type=int, default=1000, help="watch events kept for resuming")
    ap.add_argument("--max-object-bytes", type=int, default=DEFAULT_MAX_OBJECT_BYTES)
    ap.add_argument("--expired-as-http", action="store_true",
                    help="answer a watch from a compacted resourceVersion with HTTP 410 "
                         "instead of a 200 stream holding one ERROR event")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain)")
    ap.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    ap.add_argument("--token", help="every request must carry 'Authorization: Bearer TOKEN', "
                                    "else 401 Unauthorized")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.history < 1:
        ap.error("--history must be at least 1")
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    try:
        store = Store(args.history, args.state, args.max_object_bytes)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"apiserver: cannot load state {args.state}: {e}")
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            sys.exit(f"apiserver: cannot load --tls-cert {args.tls_cert} / --tls-key {args.tls_key}: {e}")
    srv = Server((args.address, args.port), Handler)
    srv.tls = tls
    srv.token = args.token
    srv.daemon_threads = True
    srv.store = store
    srv.verbose = args.verbose
    srv.expired_as_http = args.expired_as_http
    port = srv.server_address[1]
    print(port, flush=True)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
