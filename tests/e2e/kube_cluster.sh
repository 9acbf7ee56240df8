#!/usr/bin/env bash
# Kubernetes mode end to end on a simulated 3-node cluster
# (tests/e2e/lib/kube_cluster.py): the API server over HTTPS with a token,
# podfence-controller and one podfence-agent per node, all --source kube:.
# Servers web/s1..s3 (one per node) and clients cli/c1..c3, cli/o1, cli/o3
# spread over the nodes; every check is real TCP between pods of different
# nodes as well as of the same node, so a node enforces policies whose peers
# live elsewhere and are known to it only through the API:
# - open before any policy; an ingress policy applied with kubectl admits
#   only the clients, on every node; its PolicyEndpoints are owned by it;
# - the API server stopped: enforcement unchanged on every node, and an agent
#   restarted meanwhile keeps what it pinned;
# - the policy changed in the stopped server's store, the server started
#   again from --state: every node converges (the watches relist);
# - cut-watches, then a pod relabelled: converges; cut-watches, a policy
#   created and the history compacted at once (the watches resume from a
#   compacted version, 410, relist): converges;
# - the policies deleted: their PolicyEndpoints go, everything is open again.
# Ends with "N passed, N failed"; everything made is removed on exit.
set -u
if ! command -v kubectl >/dev/null; then
	echo "SKIP: kubectl is not installed, so policies cannot be applied with it"
	echo "0 passed, 0 failed"
	exit 0
fi
BUILD=$(realpath "${BUILD:-build}")
LIB=$(realpath "$(dirname "$0")/lib")
py=""
trap '[ -n "$py" ] && kill "$py" 2>/dev/null; wait' EXIT
trap 'exit 130' INT TERM
python3 - "$BUILD" "$LIB" <<'EOF' &
import json
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[2])
from kube_cluster import Cluster, Prober  # noqa: E402

SERVERS = ["web/s1", "web/s2", "web/s3"]
SOURCES = ["cli/c1", "cli/c2", "cli/c3", "cli/o1", "cli/o3"]
CONVERGE_S = 15
RESTART_CONVERGE_S = 40
passed = failed = 0


def log(msg):
    print(msg, flush=True)


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        log(f"ok   {name}")
    else:
        failed += 1
        log(f"FAIL {name}" + (f"\n     {detail}" if detail else ""))


c = Cluster(sys.argv[1], nodes=3, log=log)
probers = {}


def app(src):
    return c.pods[src]["labels"]["app"]


def matrix():
    for src in SOURCES:
        probers[src].send("tcp", [(d, c.pods[d]["ip"]) for d in SERVERS], 80, 0.5)
    return {(src, d): ok for src in SOURCES for d, ok in probers[src].collect().items()}


def wrong(want):
    got = matrix()
    return [f"{s}->{d} ({'allowed' if got[(s, d)] else 'denied'})"
            for s in SOURCES for d in SERVERS if got[(s, d)] != want(s, d)]


def converges(name, want, limit=CONVERGE_S):
    """Probes until every pair is as want(src, dst) says, for limit seconds."""
    t = time.monotonic()
    while True:
        bad = wrong(want)
        if not bad or time.monotonic() - t > limit:
            break
        time.sleep(0.1)
    took = f" (in {time.monotonic() - t:.2f} s)" if not bad else ""
    check(f"{name}{took}", not bad, "wrong after %d s: %s" % (limit, ", ".join(bad)))


def holds(name, want, seconds=3.0):
    """Every pair stays as want says for seconds."""
    end, rounds, bad = time.monotonic() + seconds, 0, []
    while time.monotonic() < end and not bad:
        bad = wrong(want)
        rounds += 1
        time.sleep(0.2)
    check(f"{name} ({rounds} rounds of {len(SOURCES) * len(SERVERS)} probes)", not bad,
          ", ".join(bad))


def policy(name, ns, spec):
    return json.dumps({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": name, "namespace": ns}, "spec": spec})


ALLOW_CLIENTS = {"podSelector": {"matchLabels": {"app": "server"}},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "cli"}},
                                        "podSelector": {"matchLabels": {"app": "client"}}}],
                              "ports": [{"protocol": "TCP", "port": 80}]}]}
OTHERS_TO_S1 = {"podSelector": {"matchLabels": {"app": "other"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": "web"}},
                                    "podSelector": {"matchLabels": {"name": "s1"}}}],
                            "ports": [{"protocol": "TCP", "port": 80}]}]}


def lists():
    """Per node: full lists its agent's watches made (podfence_kube_watch_lists_total)."""
    return [c.agent_metric(n.index, "podfence_kube_watch_lists_total") for n in c.nodes]


def pes_of(policy_key):
    return [pe for pe in c.policy_endpoints().values()
            if "{namespace}/{name}".format(**pe["spec"]["policyRef"]) == policy_key]


try:
    c.start()
    c.add_namespace("web", {"team": "web"})
    c.add_namespace("cli", {"team": "cli"})
    for i in (1, 2, 3):
        c.add_pod("web", f"s{i}", {"app": "server", "name": f"s{i}"}, node=i)
        c.serve(f"web/s{i}", [80])
        c.add_pod("cli", f"c{i}", {"app": "client"}, node=i)
    c.add_pod("cli", "o1", {"app": "other"}, node=1)
    c.add_pod("cli", "o3", {"app": "other"}, node=3)
    for src in SOURCES:
        probers[src] = Prober(c.pods[src]["netns"], src, c.procs)
    check("3 nodes ready, 8 pods plumbed and on the API", True)

    converges("no policy: every source reaches every server, across nodes", lambda s, d: True)

    c.kubectl(["apply", "-f", "-"], input=policy("allow-clients", "web", ALLOW_CLIENTS))
    converges("web/allow-clients applied with kubectl: only app=client reaches the servers, "
              "on every node", lambda s, d: app(s) == "client")
    np_uid = c.network_policies()["web/allow-clients"]["metadata"]["uid"]
    pes = pes_of("web/allow-clients")
    check("its PolicyEndpoints are labelled with and owned by the policy",
          pes and all(pe["metadata"].get("labels", {}).get("podfence.io/policy") ==
                      "allow-clients" and
                      any(r.get("uid") == np_uid and r.get("controller")
                          for r in pe["metadata"].get("ownerReferences") or [])
                      for pe in pes), json.dumps([pe["metadata"] for pe in pes])[:600])

    c.stop_apiserver()
    holds("API server stopped: enforcement unchanged on every node",
          lambda s, d: app(s) == "client")
    node2 = c.node(2)
    c.kill(node2.agent)
    c.procs.remove(node2.agent)
    c.start_agent(node2)
    holds("node-2's agent restarted while the API server is down: what it pinned holds",
          lambda s, d: app(s) == "client")
    check("every agent still runs", all(n.agent.poll() is None for n in c.nodes))

    def admit_others(obj):
        obj["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app"] = "other"
    before = lists()
    c.edit_stored("networkpolicies", "web", "allow-clients", admit_others)
    c.restart_apiserver()
    # The clients' reconnect backoff grew while the server was down (250 ms
    # doubling, with jitter): the first retry after the restart may be
    # seconds away.
    converges("allow-clients changed in the store while the server was down (app=other "
              "instead of app=client), server started again from --state: every node "
              "converges", lambda s, d: app(s) == "other", limit=RESTART_CONVERGE_S)
    after = lists()
    check(f"every agent listed again (podfence_kube_watch_lists_total {before} -> {after}; "
          "the restarted server has no history: a resume gets 410 and lists again)",
          all(a > b for a, b in zip(after, before)))

    c.cut_watches()
    c.relabel("cli/c2", {"app": "other"})
    converges("every watch cut, then cli/c2 relabelled app=other: converges",
              lambda s, d: app(s) == "other")

    # Written straight to the API, not through kubectl, so the change and the
    # compaction land as early as they can: a watch that comes back after
    # them resumes from a compacted version (410) and relists, one that came
    # back before sees the change as an event. Either way: converge.
    c.cut_watches()
    c.api.must("POST", "/apis/networking.k8s.io/v1/namespaces/cli/networkpolicies",
               json.loads(policy("others-to-s1", "cli", OTHERS_TO_S1)))
    c.compact()
    converges("every watch cut, cli/others-to-s1 created, history compacted at once: "
              "converges", lambda s, d: app(s) == "other" and d == "web/s1")

    c.kubectl(["delete", "networkpolicy", "-n", "web", "allow-clients"])
    c.kubectl(["delete", "networkpolicy", "-n", "cli", "others-to-s1"])
    converges("both policies deleted with kubectl: open again on every node",
              lambda s, d: True)
    check("their PolicyEndpoints are gone from the API", not c.policy_endpoints(),
          ", ".join(c.policy_endpoints()))
    check("the controller and every agent still run",
          c.controller.poll() is None and all(n.agent.poll() is None for n in c.nodes))
except (RuntimeError, OSError, KeyError) as e:
    check("the run went through", False, str(e))
finally:
    if failed:
        for logname in ["controller.log"] + [f"{n.name}/agent.log" for n in c.nodes]:
            log(f"--- {logname} (last lines)\n{c.log_tail(logname, 15)}")
    for p in probers.values():
        p.close()
    c.stop()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
py=$!
wait "$py"
rc=$?
py=""
exit "$rc"
