// SPDX-License-Identifier: Apache-2.0
/*
 * Deleting a veth without making the caller wait out the kernel's RCU
 * barrier.
 *
 * An RTM_DELLINK runs, in the kernel, in two parts (net/core/dev.c):
 *  1. under RTNL, unregister_netdevice_many_notify(): both ends of the veth
 *     (veth_dellink queues the peer in the same batch) are closed (their
 *     routes flushed), unlisted (their names free, gone from every dump),
 *     told to the protocols with NETDEV_UNREGISTER (addresses, neighbours,
 *     the rest of the routes), and an RTM_DELLINK notification is sent for
 *     each to RTNLGRP_LINK;
 *  2. after RTNL is released, netdev_run_todo() waits in rcu_barrier() for
 *     every pending RCU callback, then waits for the last references and
 *     frees the devices. Only then is the request acknowledged.
 * The second part is freeing memory, and takes one RCU grace period and
 * more: about 22 ms on the development machine, whatever the load, most of
 * a CNI DEL. Deleting the peer instead, or moving either end to another
 * namespace (__dev_change_net_namespace has an rcu_barrier() of its own,
 * under RTNL), costs the same; only a dying namespace's devices are
 * unregistered off the caller's path (cleanup_net, in a kworker), and the
 * pod's namespace is the runtime's to delete, after DEL.
 *
 * So the request is sent by a child process that nobody waits for, while
 * the caller listens on RTNLGRP_LINK and returns at the RTM_DELLINK of the
 * link: at that point everything the caller and its checks can observe is
 * already gone. The helper closes every descriptor it inherited (stdout
 * included), and it is a process of its own, not a thread: a runtime waits
 * for the plugin's exit (all its threads) and the end of its output, and so
 * does not wait for the helper either.
 *
 * The helper is made with clone(CLONE_VM): it shares the caller's memory,
 * so no page table is copied and no page is copied on its first write (a
 * fork cost 2 to 3 ms here: the development machine is a VM whose page
 * tables are shadowed, where a fork and each page first written after it
 * are dear). Sharing memory binds the helper to rules a forked child need
 * not keep; each is kept here:
 *  - It calls no libc function: without CLONE_SETTLS it runs on the
 *    caller's thread-local storage, so a libc call that sets errno (even
 *    syscall()) would overwrite the caller's errno while the caller runs.
 *    Its system calls are made with the instruction itself (pf_raw_syscall)
 *    and its code is built without the stack protector, whose canary is
 *    read through the same thread pointer.
 *  - It touches one region only, mapped for it by the caller: the request,
 *    the buffer for the acknowledgement, its stack. The caller fills the
 *    region before the clone and never reads or writes it again; the helper
 *    unmaps it as its last act, from registers, and exits (the mapping is
 *    the helper's to free: the caller does not know when the helper is done
 *    with it, and has usually returned long before). The caller exiting does
 *    not unmap it: the helper holds its own reference to the memory.
 *  - It starts with every signal blocked and never unblocks one: it has a
 *    copy of the caller's handlers, which, run in the helper, would write
 *    the caller's memory and call libc on the caller's thread storage.
 *  - It has a descriptor table of its own (no CLONE_FILES), which it closes
 *    but for its two sockets, as a forked child did.
 * glibc's clone() wrapper only puts the function and its argument on the
 * new stack and calls it there. Exit signal SIGCHLD, as a fork's child: the
 * caller reaps it with waitpid when it has already ended, else its new
 * parent does.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netlink_pod_internal.h"

/* Code the helper runs: no stack protector (see above). */
#define PF_HELPER_CODE __attribute__((no_stack_protector))

/* A system call without libc: the result, or -errno. The kernel's calling
 * convention: x86_64 number in rax, arguments in rdi rsi rdx r10 r8 r9,
 * rcx and r11 clobbered; aarch64 number in x8, arguments in x0 to x5. */
#if defined(__x86_64__)
static inline PF_HELPER_CODE long pf_raw_syscall(long nr, long a1, long a2, long a3, long a4,
						  long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* munmap(addr, len), then exit(0), with nothing on the stack in between:
 * the stack is in what was unmapped. */
static void PF_HELPER_CODE __attribute__((noreturn)) pf_raw_unmap_and_exit(void *addr,
									    size_t len)
{
	__asm__ volatile("syscall\n\t"
			 "movl %[nr_exit], %%eax\n\t"
			 "xorl %%edi, %%edi\n\t"
			 "syscall"
			 :
			 : "a"((long)SYS_munmap), "D"(addr), "S"(len), [nr_exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory");
	__builtin_unreachable();
}
#elif defined(__aarch64__)
static inline PF_HELPER_CODE long pf_raw_syscall(long nr, long a1, long a2, long a3, long a4,
						  long a5, long a6)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	register long x4 __asm__("x4") = a5;
	register long x5 __asm__("x5") = a6;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}

static void PF_HELPER_CODE __attribute__((noreturn)) pf_raw_unmap_and_exit(void *addr,
									    size_t len)
{
	register long x8 __asm__("x8") = SYS_munmap;
	register long x0 __asm__("x0") = (long)addr;
	register long x1 __asm__("x1") = (long)len;

	__asm__ volatile("svc 0\n\t"
			 "mov x8, %[nr_exit]\n\t"
			 "mov x0, #0\n\t"
			 "svc 0"
			 :
			 : "r"(x8), "r"(x0), "r"(x1), [nr_exit] "i"(SYS_exit)
			 : "memory");
	__builtin_unreachable();
}
#else
#error "netlink_pod_delete.c: raw system calls are written for x86_64 and aarch64 only"
#endif

/* What the helper needs, in the region mapped for it; its stack follows. */
struct pf_link_delete_job {
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
	} req;
	char ack[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	int req_fd, report_fd;
	size_t map_len; /* the whole region, job and stack */
};

/* The helper's region: the job on its first page, then the helper's stack
 * (it uses a few hundred bytes), whose top is the region's end. */
#define PF_HELPER_MAP (4096u + 16u * 1024)
_Static_assert(sizeof(struct pf_link_delete_job) <= 4096, "the job fits its page");

static void pf_link_delete_job_init(struct pf_link_delete_job *job, int req_fd, int report_fd,
				    int ifindex)
{
	job->req.h = (struct nlmsghdr){ .nlmsg_len = sizeof(job->req), .nlmsg_type = RTM_DELLINK,
					.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 };
	job->req.ifi = (struct ifinfomsg){ .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	job->req_fd = req_fd;
	job->report_fd = report_fd;
}

/* Sends the job's RTM_DELLINK: 0 once the kernel acknowledges it (or the
 * link is already gone), else -errno. What the helper does, and what the
 * caller does itself when no helper can be made. */
static PF_HELPER_CODE int pf_link_delete_request(struct pf_link_delete_job *job)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)job->ack;
	const struct nlmsgerr *ack = NLMSG_DATA(h);
	long n;

	n = pf_raw_syscall(SYS_sendto, job->req_fd, (long)&job->req, sizeof(job->req), 0, 0, 0);
	if (n < 0)
		return (int)n;
	if (n != (long)sizeof(job->req))
		return -EIO;
	do
		n = pf_raw_syscall(SYS_recvfrom, job->req_fd, (long)job->ack, sizeof(job->ack), 0,
				   0, 0);
	while (n == -EINTR);
	if (n < 0)
		return (int)n;
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ack)))
		return -EPROTO;
	return ack->error == -ENODEV ? 0 : ack->error;
}

/* The helper keeps the request socket and the report socket and nothing
 * else (not the runtime's stdout, nor the plugin log). The caller may have
 * returned already: the report then goes nowhere, without a SIGPIPE. */
static PF_HELPER_CODE int pf_link_delete_helper(void *arg)
{
	struct pf_link_delete_job *job = arg;
	int lo = job->req_fd < job->report_fd ? job->req_fd : job->report_fd;
	int hi = job->req_fd < job->report_fd ? job->report_fd : job->req_fd;
	int rc;

	if (lo > 0)
		pf_raw_syscall(SYS_close_range, 0, lo - 1, 0, 0, 0, 0);
	if (hi > lo + 1)
		pf_raw_syscall(SYS_close_range, lo + 1, hi - 1, 0, 0, 0, 0);
	pf_raw_syscall(SYS_close_range, hi + 1, ~0U, 0, 0, 0, 0);
	rc = pf_link_delete_request(job);
	pf_raw_syscall(SYS_sendto, job->report_fd, (long)&rc, sizeof(rc), MSG_NOSIGNAL, 0, 0);
	pf_raw_unmap_and_exit(job, job->map_len);
}

/* Maps the helper's region, fills it and starts the helper, which then owns
 * the region: the helper's pid, or -errno when none could be made. */
static pid_t pf_link_delete_helper_start(int req_fd, int report_fd, int ifindex)
{
	struct pf_link_delete_job *job;
	sigset_t all, old;
	pid_t pid;
	int rc;

	job = mmap(NULL, PF_HELPER_MAP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (job == MAP_FAILED)
		return -errno;
	pf_link_delete_job_init(job, req_fd, report_fd, ifindex);
	job->map_len = PF_HELPER_MAP;
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc) {
		munmap(job, PF_HELPER_MAP);
		return -rc;
	}
	pid = clone(pf_link_delete_helper, (char *)job + PF_HELPER_MAP, CLONE_VM | SIGCHLD, job);
	rc = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		munmap(job, PF_HELPER_MAP);
		return rc;
	}
	return pid;
}

/* A socket that hears of every link change in the caller's namespace. */
static int pf_link_monitor_open(const char *name, char *err, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, len, "delete link %s: link monitor: %s", name, strerror(-rc));
		return rc;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, len, "delete link %s: link monitor: bind: %s", name, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

/* Reads what the monitor holds: 1 once the RTM_DELLINK of ifindex is among
 * it, 0 when it is not (yet), -ENOBUFS when notifications were lost (the
 * caller then asks the kernel), or another -errno. */
static int pf_link_monitor_saw_delete(int fd, int ifindex)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(h);

			if (h->nlmsg_type == RTM_DELLINK &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) && ifi->ifi_index == ifindex)
				return 1;
		}
	}
}

/* Is the link still listed? 1 gone, 0 there, or -EIO with err set. */
static int pf_link_is_gone(struct nl_sock *sk, struct rtnl_link *link, char *err, size_t len)
{
	struct rtnl_link *now = NULL;
	int rc = rtnl_link_get_kernel(sk, rtnl_link_get_ifindex(link), NULL, &now);

	rtnl_link_put(now);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return 1;
	if (rc < 0) {
		snprintf(err, len, "look up link %s after deleting it: %s",
			 rtnl_link_get_name(link), nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

/* Waits for the first of: the link's RTM_DELLINK, the helper's report. */
static int pf_link_delete_wait(struct nl_sock *sk, struct rtnl_link *link, int monitor,
			       int report_fd, char *err, size_t len)
{
	const char *name = rtnl_link_get_name(link);

	for (;;) {
		struct pollfd pfd[2] = { { .fd = monitor, .events = POLLIN },
					 { .fd = report_fd, .events = POLLIN } };
		ssize_t n;
		int rc;

		if (poll(pfd, 2, -1) < 0) {
			rc = -errno;
			if (rc == -EINTR)
				continue;
			snprintf(err, len, "delete link %s: poll: %s", name, strerror(-rc));
			return rc;
		}
		if (pfd[0].revents) {
			rc = pf_link_monitor_saw_delete(monitor, rtnl_link_get_ifindex(link));
			if (rc == -ENOBUFS) /* notifications were lost: ask */
				rc = pf_link_is_gone(sk, link, err, len);
			else if (rc < 0)
				snprintf(err, len, "delete link %s: link monitor: %s", name,
					 strerror(-rc));
			if (rc)
				return rc < 0 ? rc : 0;
		}
		if (!pfd[1].revents)
			continue;
		n = recv(report_fd, &rc, sizeof(rc), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(rc)) {
			snprintf(err, len, "delete link %s: the helper process ended without a report",
				 name);
			return -EIO;
		}
		if (rc)
			snprintf(err, len, "delete link %s: %s", name, strerror(-rc));
		return rc;
	}
}

int pf_nl_link_delete(struct nl_sock *sk, struct rtnl_link *link, char *err, size_t len)
{
	const char *name = rtnl_link_get_name(link);
	int ifindex = rtnl_link_get_ifindex(link);
	int monitor, req_fd, report[2], rc;
	pid_t pid;

	monitor = pf_link_monitor_open(name, err, len);
	if (monitor < 0)
		return monitor;
	req_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (req_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report)) {
		rc = -errno;
		snprintf(err, len, "delete link %s: %s: %s", name,
			 req_fd < 0 ? "netlink socket" : "socketpair", strerror(-rc));
		if (req_fd >= 0)
			close(req_fd);
		close(monitor);
		return rc;
	}
	pid = pf_link_delete_helper_start(req_fd, report[1], ifindex);
	close(report[1]);
	if (pid < 0) {
		/* No helper (out of processes or memory): wait here then. */
		struct pf_link_delete_job job;

		pf_link_delete_job_init(&job, req_fd, -1, ifindex);
		rc = pf_link_delete_request(&job);
		if (rc)
			snprintf(err, len, "delete link %s: %s", name, strerror(-rc));
	} else {
		rc = pf_link_delete_wait(sk, link, monitor, report[0], err, len);
	}
	close(report[0]);
	close(req_fd);
	close(monitor);
	/* Reaped when it has already ended; else it is still freeing the link
	 * and stays the caller's child until the caller exits (the plugin, a
	 * moment later), then its new parent reaps it. */
	if (pid > 0)
		waitpid(pid, NULL, WNOHANG);
	return rc;
}
