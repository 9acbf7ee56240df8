// SPDX-License-Identifier: Apache-2.0
/* Pod plumbing over netlink in private namespaces: the test process moves
 * into a fresh "node" namespace, and each pod namespace is made by a thread
 * and held by a file descriptor, so nothing touches the real host. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "netlink_pod.h"
#include "netlink_pod_internal.h"

static void *new_netns_thread(void *arg)
{
	int *fd = arg;

	*fd = unshare(CLONE_NEWNET) ? -errno : open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	return NULL;
}

/* A new network namespace, alive as long as the returned fd is open. */
static int new_netns(void)
{
	pthread_t t;
	int fd = -1;

	assert_int_equal(pthread_create(&t, NULL, new_netns_thread, &fd), 0);
	pthread_join(t, NULL);
	assert_true(fd >= 0);
	return fd;
}

static void spec_init(struct pf_pod_spec *s, int netns_fd, const char *host, const char *owner,
		      bool dual)
{
	memset(s, 0, sizeof(*s));
	s->netns_fd = netns_fd;
	s->netns_path = "test-pod-netns";
	s->pod_ifname = "eth0";
	s->host_ifname = host;
	s->owner = owner;
	s->mtu = 1400;
	assert_int_equal(pf_ip_parse("10.244.1.5/32", &s->addrs[0]), 0);
	assert_int_equal(pf_ip_parse("169.254.1.1", &s->gateways[0]), 0);
	assert_int_equal(pf_ip_parse("0.0.0.0/0", &s->routes[0].dst), 0);
	s->routes[0].gw = s->gateways[0];
	s->routes[0].has_gw = true;
	s->n_addrs = s->n_gateways = s->n_routes = 1;
	if (dual) {
		assert_int_equal(pf_ip_parse("fd00:10:244:1::5/128", &s->addrs[1]), 0);
		assert_int_equal(pf_ip_parse("fe80::1", &s->gateways[1]), 0);
		assert_int_equal(pf_ip_parse("::/0", &s->routes[1].dst), 0);
		s->routes[1].gw = s->gateways[1];
		s->routes[1].has_gw = true;
		s->n_addrs = s->n_gateways = s->n_routes = 2;
	}
}

static void ip_parse_accepts_prefixes_and_bare_addresses(void **state)
{
	struct pf_ip ip;
	char buf[64];

	(void)state;
	assert_int_equal(pf_ip_parse("10.1.2.3/32", &ip), 0);
	assert_int_equal(ip.family, AF_INET);
	assert_int_equal(ip.prefix, 32);
	assert_string_equal(pf_ip_str(&ip, buf, sizeof(buf)), "10.1.2.3");
	assert_int_equal(pf_ip_parse("fe80::1", &ip), 0);
	assert_int_equal(ip.family, AF_INET6);
	assert_int_equal(ip.prefix, 128);
	assert_int_equal(pf_ip_parse("::/0", &ip), 0);
	assert_int_equal(ip.prefix, 0);
	assert_string_equal(pf_ip_str(&ip, buf, sizeof(buf)), "::/0");
	assert_int_equal(pf_ip_parse("10.1.2.3/33", &ip), -EINVAL);
	assert_int_equal(pf_ip_parse("10.1.2.3/", &ip), -EINVAL);
	assert_int_equal(pf_ip_parse("10.1.2.3/8x", &ip), -EINVAL);
	assert_int_equal(pf_ip_parse("10.1.2/32", &ip), -EINVAL);
	assert_int_equal(pf_ip_parse("fd00::1/129", &ip), -EINVAL);
	assert_int_equal(pf_ip_parse("", &ip), -EINVAL);
}

static void netns_open_names_a_missing_or_wrong_path(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(pf_netns_open("/run/netns/pf-test-no-such-ns", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/run/netns/pf-test-no-such-ns"));
	assert_int_equal(pf_netns_open("/proc/self/status", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/proc/self/status is not a network namespace"));
	assert_int_equal(pf_netns_open("/proc/self/ns/uts", err, sizeof(err)), -EINVAL);
}

static void netns_open_accepts_a_network_namespace(void **state)
{
	char err[256] = "";
	int fd;

	(void)state;
	fd = pf_netns_open("/proc/self/ns/net", err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

static void plumb_makes_every_piece_and_check_finds_them(void **state)
{
	struct pf_pod_links links;
	struct pf_pod_spec s;
	struct rtnl_link *host = NULL;
	struct nl_sock *sk = NULL;
	char err[512] = "";
	bool removed;
	int ns = new_netns();

	(void)state;
	spec_init(&s, ns, "pftest0", "c1/eth0", true);
	if (pf_pod_plumb(&s, &links, err, sizeof(err)))
		fail_msg("plumb: %s", err);
	assert_int_equal((int)if_nametoindex("pftest0"), links.host_ifindex);
	assert_int_equal(strlen(links.host_mac), 17);
	assert_int_equal(strlen(links.pod_mac), 17);
	assert_string_not_equal(links.host_mac, links.pod_mac);
	assert_int_equal(if_nametoindex("eth0"), 0); /* the peer is in the pod only */
	if (pf_pod_check(&s, err, sizeof(err)))
		fail_msg("check: %s", err);

	assert_int_equal(pf_nl_open(&sk, err, sizeof(err)), 0);
	assert_int_equal(pf_nl_link_get(sk, "pftest0", &host, err, sizeof(err)), 0);
	assert_string_equal(rtnl_link_get_ifalias(host), "c1/eth0");
	assert_int_equal(rtnl_link_get_mtu(host), 1400);
	rtnl_link_put(host);
	nl_socket_free(sk);

	assert_int_equal(pf_pod_unplumb("pftest0", "c1/eth0", &removed, err, sizeof(err)), 0);
	assert_true(removed);
	assert_int_equal(if_nametoindex("pftest0"), 0);
	close(ns);
}

static void check_names_what_is_missing(void **state)
{
	struct pf_pod_links links;
	struct pf_pod_spec s, other;
	struct nl_sock *pod_sk = NULL;
	struct rtnl_link *eth0 = NULL, *down = rtnl_link_alloc();
	char err[512] = "";
	bool removed;
	int ns = new_netns();

	(void)state;
	spec_init(&s, ns, "pftest1", "c2/eth0", false);
	assert_int_equal(pf_pod_plumb(&s, &links, err, sizeof(err)), 0);

	other = s;
	assert_int_equal(pf_ip_parse("10.99.0.0/16", &other.routes[0].dst), 0);
	assert_int_equal(pf_pod_check(&other, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "route 10.99.0.0/16 via 169.254.1.1 dev eth0 is missing"));

	other = s;
	assert_int_equal(pf_ip_parse("10.244.1.6/32", &other.addrs[0]), 0);
	assert_int_equal(pf_pod_check(&other, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "address 10.244.1.6 is missing from eth0"));

	other = s;
	other.owner = "c3/eth0";
	assert_int_equal(pf_pod_check(&other, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "belongs to \"c2/eth0\""));

	other = s;
	other.mtu = 1500;
	assert_int_equal(pf_pod_check(&other, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "MTU 1400"));

	assert_int_equal(pf_nl_open_in(ns, "pod", &pod_sk, err, sizeof(err)), 0);
	assert_int_equal(pf_nl_link_get(pod_sk, "eth0", &eth0, err, sizeof(err)), 0);
	rtnl_link_unset_flags(down, IFF_UP);
	assert_int_equal(rtnl_link_change(pod_sk, eth0, down, 0), 0);
	assert_int_equal(pf_pod_check(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "eth0 in test-pod-netns is down"));
	rtnl_link_put(down);
	rtnl_link_put(eth0);
	nl_socket_free(pod_sk);

	assert_int_equal(pf_pod_unplumb("pftest1", "c2/eth0", &removed, err, sizeof(err)), 0);
	assert_int_equal(pf_pod_check(&s, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "pftest1 is missing from the node"));
	close(ns);
}

static void plumb_failure_leaves_nothing_on_the_node(void **state)
{
	struct pf_pod_links links;
	struct pf_pod_spec s;
	struct nl_sock *pod_sk = NULL;
	struct rtnl_link *taken, *peer;
	char err[512] = "";
	int ns = new_netns();

	(void)state;
	/* The pod already has an eth0: the veth cannot be made. */
	assert_int_equal(pf_nl_open_in(ns, "pod", &pod_sk, err, sizeof(err)), 0);
	taken = rtnl_link_veth_alloc();
	peer = rtnl_link_veth_get_peer(taken);
	rtnl_link_set_name(taken, "eth0");
	rtnl_link_set_name(peer, "other0"); /* no namespace given: the pod's too */
	assert_int_equal(rtnl_link_add(pod_sk, taken, NLM_F_CREATE | NLM_F_EXCL), 0);
	rtnl_link_put(peer);
	rtnl_link_veth_release(taken);
	nl_socket_free(pod_sk);
	spec_init(&s, ns, "pftest2", "c4/eth0", false);
	assert_int_equal(pf_pod_plumb(&s, &links, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "an interface named eth0 already exists in test-pod-netns"));
	assert_int_equal(if_nametoindex("pftest2"), 0);

	/* A gateway route the kernel refuses (a gateway no link route
	 * reaches) fails after the veth exists: it must be removed again. */
	close(ns);
	ns = new_netns();
	spec_init(&s, ns, "pftest2", "c4/eth0", false);
	assert_int_equal(pf_ip_parse("192.0.2.1", &s.routes[0].gw), 0);
	assert_int_equal(pf_pod_plumb(&s, &links, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "add route 0.0.0.0/0 via 192.0.2.1 dev eth0"));
	assert_int_equal(if_nametoindex("pftest2"), 0);
	close(ns);
}

/* Routes in the main table of sk's namespace to ip, and addresses equal to
 * ip, as the kernel dumps them now. */
static int routes_to(struct nl_sock *sk, const struct pf_ip *ip)
{
	struct nl_cache *cache = NULL;
	int n = 0;

	assert_int_equal(rtnl_route_alloc_cache(sk, ip->family, 0, &cache), 0);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
		n += pf_nl_addr_is(rtnl_route_get_dst((struct rtnl_route *)o), ip);
	nl_cache_free(cache);
	return n;
}

static int addresses_of(struct nl_sock *sk, const struct pf_ip *ip)
{
	struct nl_cache *cache = NULL;
	int n = 0;

	assert_int_equal(rtnl_addr_alloc_cache(sk, &cache), 0);
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o))
		n += pf_nl_addr_is(rtnl_addr_get_local((struct rtnl_addr *)o), ip);
	nl_cache_free(cache);
	return n;
}

/* pf_pod_unplumb returns before the kernel has freed the veth (see
 * netlink_pod_delete.c): what it returns on must already be all of it. */
static void unplumb_leaves_nothing_seen_and_the_names_free(void **state)
{
	struct pf_pod_links links;
	struct pf_pod_spec s;
	struct nl_sock *sk = NULL, *pod_sk = NULL;
	struct rtnl_link *eth0 = NULL;
	char err[512] = "";
	bool removed;
	int ns = new_netns();

	(void)state;
	spec_init(&s, ns, "pftest5", "c6/eth0", true);
	assert_int_equal(pf_nl_open(&sk, err, sizeof(err)), 0);
	assert_int_equal(pf_nl_open_in(ns, "pod", &pod_sk, err, sizeof(err)), 0);
	for (int round = 0; round < 3; round++) {
		if (pf_pod_plumb(&s, &links, err, sizeof(err)))
			fail_msg("plumb, round %d: %s", round, err);
		assert_int_equal(routes_to(sk, &s.addrs[0]), 1);
		assert_int_equal(addresses_of(pod_sk, &s.addrs[0]), 1);
		if (pf_pod_unplumb("pftest5", "c6/eth0", &removed, err, sizeof(err)))
			fail_msg("unplumb, round %d: %s", round, err);
		assert_true(removed);
		/* At once: no link, route or address on either side. */
		assert_int_equal(if_nametoindex("pftest5"), 0);
		for (size_t i = 0; i < s.n_addrs; i++) {
			assert_int_equal(routes_to(sk, &s.addrs[i]), 0);
			assert_int_equal(addresses_of(pod_sk, &s.addrs[i]), 0);
		}
		assert_int_equal(pf_nl_link_get(pod_sk, "eth0", &eth0, err, sizeof(err)), -ENODEV);
		assert_int_equal(routes_to(pod_sk, &s.routes[0].dst), 0);
	}
	nl_socket_free(pod_sk);
	nl_socket_free(sk);
	close(ns);
}

/* The helper's report decides when no RTM_DELLINK comes: a link the kernel
 * will not delete is an error naming it, one already gone is success. */
static void link_delete_reports_refusal_and_accepts_a_gone_link(void **state)
{
	struct rtnl_link *lo = NULL, *veth, *peer;
	struct nl_sock *sk = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(pf_nl_open(&sk, err, sizeof(err)), 0);
	assert_int_equal(pf_nl_link_get(sk, "lo", &lo, err, sizeof(err)), 0);
	assert_int_equal(pf_nl_link_delete(sk, lo, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "delete link lo: Operation not supported"));
	assert_int_not_equal(if_nametoindex("lo"), 0);
	rtnl_link_put(lo);

	veth = rtnl_link_veth_alloc();
	peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(veth, "pftest6");
	rtnl_link_set_name(peer, "pftest6p");
	assert_int_equal(rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL), 0);
	rtnl_link_put(peer);
	rtnl_link_veth_release(veth);
	assert_int_equal(pf_nl_link_get(sk, "pftest6", &veth, err, sizeof(err)), 0);
	assert_int_equal(rtnl_link_delete(sk, veth), 0);
	assert_int_equal(pf_nl_link_delete(sk, veth, err, sizeof(err)), 0);
	rtnl_link_put(veth);
	nl_socket_free(sk);
}

/* Bytes of anonymous memory mapped in this process (no file, not the heap
 * or a stack): where the veth-delete helper's region lives. */
static unsigned long anonymous_mapped_bytes(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long start, end, inode, sum = 0;
	char line[512];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		int path_at = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %n", &start, &end, &inode, &path_at) == 3 &&
		    inode == 0 && (line[path_at] == '\n' || line[path_at] == '\0'))
			sum += end - start;
	}
	fclose(f);
	return sum;
}

/* Waits for every helper not reaped yet (those still freeing their veth
 * when their call returned): each must have exited 0, not died on its way
 * out. */
static void reap_helpers(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, 0)) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail_msg("helper %d ended with status 0x%x", (int)pid, status);
	assert_int_equal(errno, ECHILD);
}

/* The helper shares the caller's memory (netlink_pod_delete.c): when the
 * call returns it must already hold none of the caller's descriptors, and
 * once it has ended it must have exited 0 (not died on its way out) and
 * left no memory mapped behind. */
static void link_delete_helper_leaves_nothing_to_the_caller(void **state)
{
	struct nl_sock *sk = NULL;
	char err[512] = "", name[IFNAMSIZ], byte;
	unsigned long before;
	int pipe_fds[2];

	(void)state;
	assert_int_equal(pf_nl_open(&sk, err, sizeof(err)), 0);
	reap_helpers(); /* the earlier tests' */
	before = anonymous_mapped_bytes();
	for (int i = 0; i < 4; i++) {
		struct rtnl_link *veth = rtnl_link_veth_alloc(), *peer = rtnl_link_veth_get_peer(veth);

		snprintf(name, sizeof(name), "pftest7%d", i);
		rtnl_link_set_name(veth, name);
		rtnl_link_put(peer);
		assert_int_equal(rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL), 0);
		rtnl_link_veth_release(veth);
		assert_int_equal(pf_nl_link_get(sk, name, &veth, err, sizeof(err)), 0);
		/* Inherited by the helper, which must close it before it sends
		 * the request, so before the call can return. */
		assert_int_equal(pipe2(pipe_fds, O_NONBLOCK), 0);
		if (pf_nl_link_delete(sk, veth, err, sizeof(err)))
			fail_msg("delete %s: %s", name, err);
		rtnl_link_put(veth);
		assert_int_equal(if_nametoindex(name), 0);
		close(pipe_fds[1]);
		assert_int_equal(read(pipe_fds[0], &byte, 1), 0);
		close(pipe_fds[0]);
	}
	reap_helpers();
	assert_int_equal(anonymous_mapped_bytes(), before);
	nl_socket_free(sk);
}

static void stale_veth_of_the_same_name_is_replaced(void **state)
{
	struct pf_pod_links links;
	struct pf_pod_spec old, fresh;
	char err[512] = "";
	bool removed;
	int ns_old = new_netns(), ns_new = new_netns();

	(void)state;
	spec_init(&old, ns_old, "pftest3", "old/eth0", false);
	assert_int_equal(pf_pod_plumb(&old, &links, err, sizeof(err)), 0);
	spec_init(&fresh, ns_new, "pftest3", "new/eth0", false);
	if (pf_pod_plumb(&fresh, &links, err, sizeof(err)))
		fail_msg("plumb over a stale veth: %s", err);
	assert_int_equal(pf_pod_check(&fresh, err, sizeof(err)), 0);

	/* The old sandbox's late DEL must not take the new veth. */
	assert_int_equal(pf_pod_unplumb("pftest3", "old/eth0", &removed, err, sizeof(err)), 0);
	assert_false(removed);
	assert_int_equal(pf_pod_check(&fresh, err, sizeof(err)), 0);
	assert_int_equal(pf_pod_unplumb("pftest3", "new/eth0", &removed, err, sizeof(err)), 0);
	assert_true(removed);
	assert_int_equal(pf_pod_unplumb("pftest3", "new/eth0", &removed, err, sizeof(err)), 0);
	assert_false(removed);
	close(ns_old);
	close(ns_new);
}

static void a_non_veth_of_the_same_name_is_left_alone(void **state)
{
	struct pf_pod_links links;
	struct pf_pod_spec s;
	struct rtnl_link *bridge = rtnl_link_alloc();
	struct nl_sock *sk = NULL;
	char err[512] = "";
	int ns = new_netns();

	(void)state;
	assert_int_equal(pf_nl_open(&sk, err, sizeof(err)), 0);
	rtnl_link_set_name(bridge, "pftest4");
	assert_int_equal(rtnl_link_set_type(bridge, "bridge"), 0);
	assert_int_equal(rtnl_link_add(sk, bridge, NLM_F_CREATE | NLM_F_EXCL), 0);
	spec_init(&s, ns, "pftest4", "c5/eth0", false);
	assert_int_equal(pf_pod_plumb(&s, &links, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "pftest4 exists on the node and is not a veth (bridge)"));
	assert_int_not_equal(if_nametoindex("pftest4"), 0);
	assert_int_equal(rtnl_link_delete(sk, bridge), 0);
	rtnl_link_put(bridge);
	nl_socket_free(sk);
	close(ns);
}

static int enter_private_node(void **state)
{
	(void)state;
	return unshare(CLONE_NEWNET) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ip_parse_accepts_prefixes_and_bare_addresses),
		cmocka_unit_test(netns_open_names_a_missing_or_wrong_path),
		cmocka_unit_test(netns_open_accepts_a_network_namespace),
		cmocka_unit_test(plumb_makes_every_piece_and_check_finds_them),
		cmocka_unit_test(check_names_what_is_missing),
		cmocka_unit_test(plumb_failure_leaves_nothing_on_the_node),
		cmocka_unit_test(unplumb_leaves_nothing_seen_and_the_names_free),
		cmocka_unit_test(link_delete_reports_refusal_and_accepts_a_gone_link),
		cmocka_unit_test(link_delete_helper_leaves_nothing_to_the_caller),
		cmocka_unit_test(stale_veth_of_the_same_name_is_replaced),
		cmocka_unit_test(a_non_veth_of_the_same_name_is_left_alone),
	};

	return cmocka_run_group_tests(tests, enter_private_node, NULL);
}
